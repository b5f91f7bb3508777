/* linux.seccomp (libseccomp): compiled to classic BPF on the host side
 * before the clone (the prepare stage), loaded by the container's process
 * with the raw seccomp(2) call as its last step before execve. */
#ifndef HRUN_SECCOMP_H
#define HRUN_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* A compiled filter. Plain memory: init and the exec'd process are clones
 * of the process that compiled it (no exec between), so they have it. */
struct hrun_seccomp_prog {
	struct sock_filter *insns; /* NULL when the config has no linux.seccomp */
	unsigned short len;	   /* instructions */
	unsigned int flags;	   /* SECCOMP_FILTER_FLAG_* given to the load */
};

/* Compile SPEC's linux.seccomp into OUT (left empty when the config has
 * none). Messages name the JSON path ("linux.seccomp.flags[0]: ...").
 * Syscall names this libseccomp does not know are skipped with a debug
 * line, as runc does. A profile the build precompiled, or one found in
 * CACHE_DIR (NULL: no cache), is not compiled again; a newly compiled one
 * is stored there. OUT is owned by the caller: hrun_seccomp_prog_free. */
int hrun_seccomp_compile(const struct hrun_spec *spec, const char *cache_dir, struct hrun_seccomp_prog *out,
			 struct hrun_error *err);

/* Compile SC with libseccomp, always (no precompiled filter, no cache). */
int hrun_seccomp_compile_profile(const struct hrun_seccomp *sc, struct hrun_seccomp_prog *out,
				 struct hrun_error *err);

void hrun_seccomp_prog_free(struct hrun_seccomp_prog *prog);

/* In the container's process: load PROG with seccomp(SECCOMP_SET_MODE_FILTER).
 * Without no_new_privs the caller needs CAP_SYS_ADMIN in its user namespace.
 * A spec with linux.seccomp and no compiled PROG is an error: the
 * container never runs without the filter it asked for. *LISTENER gets
 * the notify listener fd (O_CLOEXEC) when PROG has one, else -1. */
int hrun_seccomp_load(const struct hrun_spec *spec, const struct hrun_seccomp_prog *prog, int *listener,
		      struct hrun_error *err);

/* PROG has an SCMP_ACT_NOTIFY rule: its load makes a listener fd that
 * goes to the agent at linux.seccomp.listenerPath. */
bool hrun_seccomp_has_listener(const struct hrun_seccomp_prog *prog);

/* For `hrun features`: NULL-terminated lists of what hrun_seccomp_compile
 * accepts with this libseccomp. */
extern const char *const hrun_seccomp_actions[];
extern const char *const hrun_seccomp_operators[];
extern const char *const hrun_seccomp_archs[];
extern const char *const hrun_seccomp_known_flags[];

/* Whether FLAG (a known one) can be applied on this kernel. */
bool hrun_seccomp_flag_supported(const char *flag);

/* "2.5.4": the libseccomp in use. */
const char *hrun_seccomp_libseccomp_version(void);

#endif
