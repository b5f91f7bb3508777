/* The container process's own attributes: rlimits, user and groups,
 * umask, no_new_privs, cwd, environment and the final exec. */
#ifndef HRUN_PROCESS_H
#define HRUN_PROCESS_H

#include "error.h"
#include "spec.h"

int hrun_process_set_rlimits(const struct hrun_process *proc, struct hrun_error *err);

/* setgroups, setresgid, setresuid, keeping the permitted capabilities
 * across the change so hrun_caps_set can shape them afterwards. */
int hrun_process_set_user(const struct hrun_process *proc, struct hrun_error *err);

void hrun_process_set_umask(const struct hrun_process *proc);

int hrun_process_set_no_new_privs(const struct hrun_process *proc, struct hrun_error *err);

/* Close every fd above 2 except the N_KEEP fds of KEEP (hrun's own, all
 * close-on-exec; -1 entries ignored) and the preserved ones
 * (3 .. 3+PRESERVE-1). */
int hrun_process_close_fds(const int *keep, size_t n_keep, unsigned int preserve,
			   struct hrun_error *err);

/* Enter the process's cwd, as its user, and check it is inside the
 * container: with the fds closed no leaked host fd can be named. */
int hrun_process_chdir(const struct hrun_process *proc, struct hrun_error *err);

/* Resolve args[0] with the container's PATH (as execvp would); the result
 * is malloc'd. */
char *hrun_process_find_exec(const struct hrun_process *proc, struct hrun_error *err);

/* execve; returns only on failure. */
int hrun_process_exec(const struct hrun_process *proc, const char *path, struct hrun_error *err);

#endif
