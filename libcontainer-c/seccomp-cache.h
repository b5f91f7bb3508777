/* Compiled seccomp filters kept ready, so that starting a container does
 * not run libseccomp's compiler: the build's precompiled profiles (hrun's
 * default, seccomp-profiles/) and a host cache of configs' own profiles.
 *
 * Both are keyed by the profile's canonical text (hrun_seccomp_to_json):
 * a filter is used only for a profile whose text is byte-for-byte the one
 * it was compiled from, never for one that merely hashes alike. */
#ifndef HRUN_SECCOMP_CACHE_H
#define HRUN_SECCOMP_CACHE_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "seccomp.h"
#include "spec.h"

/* A profile compiled at build time (seccomp-profiles/precompile). */
struct hrun_seccomp_builtin {
	const char *name;		 /* "default", "default+sys-admin" */
	const char *json;		 /* its canonical text */
	const struct sock_filter *insns;
	unsigned short len;
	unsigned int flags;
};

/* Defined by the generated seccomp-profiles/builtin-profiles.c in what
 * hrun links, and as an empty table by the tool that generates it. */
extern const struct hrun_seccomp_builtin hrun_seccomp_builtins[];
extern const size_t hrun_seccomp_builtins_n;

#define HRUN_SECCOMP_DEFAULT_PROFILE "default"
#define HRUN_SECCOMP_SYS_ADMIN_PROFILE "default+sys-admin"
/* Where configs' own compiled profiles are kept (hrun.conf
 * seccomp_cache_dir; an empty value turns the cache off). */
#define HRUN_SECCOMP_CACHE_DIR "/run/hrun-seccomp"

/* Fill OUT (a model) with the builtin profile NAME. */
int hrun_seccomp_builtin_profile(const char *name, struct hrun_seccomp *out, struct hrun_error *err);

/* Copy into OUT the builtin filter compiled from exactly JSON. Returns
 * 1 when there is one, 0 when not, -1 on error. */
int hrun_seccomp_builtin_lookup(const char *json, struct hrun_seccomp_prog *out, struct hrun_error *err);

/* The filter cached in DIR for exactly JSON: 1 found (OUT filled), 0 not.
 * A cache entry that is not the runtime's own (owner, mode, format) is
 * ignored, never trusted. */
int hrun_seccomp_cache_load(const char *dir, const char *json, struct hrun_seccomp_prog *out);

/* Keep PROG, compiled from JSON, in DIR. Best effort: a cache that cannot
 * be written only costs the next start a compile (logged at debug). */
void hrun_seccomp_cache_store(const char *dir, const char *json, const struct hrun_seccomp_prog *prog);

#endif
