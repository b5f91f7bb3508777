/* OCI hooks (runtime-spec config.md#posix-platform-hooks): run one list of
 * hooks in order, each with the container state on its stdin. */
#ifndef HRUN_HOOKS_H
#define HRUN_HOOKS_H

#include "error.h"
#include "spec.h"

/* Run every hook of LIST in order. Each hook's path is executed with its
 * args (args[0] is argv[0]; when args is empty argv[0] is the path), its
 * env exactly as given (an empty environment when there is none), the
 * container state STATE_JSON on stdin followed by end of file, stdout and
 * stderr both on hrun's stderr, and its timeout when it has one (the hook is
 * then SIGKILLed and reaped). Every fd but 0-2 is closed and the signal mask
 * and dispositions are reset in the hook, whatever the caller blocked.
 *
 * Stops at the first hook that cannot start, exits non-zero, is killed by a
 * signal or times out, with an error such as
 *   error running prestart hook #1 (/usr/bin/hook): exit status 3
 * KIND names the list in that message ("prestart", "poststop", ...); the
 * index counts from 0, as runc's does.
 *
 * Each hook is waited for by pidfd and reaped here, so the caller must not
 * reap children behind our back (a SIGCHLD handler calling waitpid(-1));
 * a SIGCHLD per hook may still reach the caller's signalfd, for a child
 * already gone. SIGCHLD ignored is set to default while the hooks run, so
 * their exit status is not lost. No SIGPIPE is left pending when a hook
 * does not read its stdin. */
int hrun_hooks_run(const struct hrun_hooklist *list, const char *kind, const char *state_json,
		   struct hrun_error *err);

/* For poststart and poststop (runtime.md): every hook runs; each failure
 * is logged as a warning and the next hook still runs. */
void hrun_hooks_run_warn(const struct hrun_hooklist *list, const char *kind, const char *state_json);

#endif
