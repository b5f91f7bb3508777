/* Seccomp user notification, the runtime's part. A profile with
 * SCMP_ACT_NOTIFY rules is loaded with a listener (seccomp.h); the
 * container's process sends the listener fd to hrun over the sync socket
 * (step "seccomp-listener"), and hrun hands it to the agent listening on
 * linux.seccomp.listenerPath with the container process state
 * (runtime-spec config-linux.md, "The Container Process State"). The
 * agent answers the notified syscalls from then on. */
#ifndef HRUN_SECCOMP_NOTIFY_H
#define HRUN_SECCOMP_NOTIFY_H

#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* What the agent is told besides the fd. */
struct hrun_seccomp_agent_msg {
	pid_t pid;		/* the process that loaded the filter, as the host sees it */
	const char *id;		/* the container's state: */
	const char *status;	/* "creating" for init, the live status for exec */
	pid_t init_pid;
	const char *bundle;
	const struct hrun_map *annotations;
};

/* The container process state as JSON: ociVersion, fds ["seccompFd"],
 * pid, metadata (listenerMetadata, when set) and state. Malloc'd. */
char *hrun_seccomp_agent_json(const struct hrun_seccomp *sc, const struct hrun_seccomp_agent_msg *m,
			      struct hrun_error *err);

/* Connect to SC's listenerPath (AF_UNIX, SOCK_STREAM; a relative path is
 * the bundle's), send the state with LISTENER as its one SCM_RIGHTS fd,
 * and close the connection. Any failure is an error: the caller fails the
 * create or exec, as the runtime-spec requires. LISTENER stays open. */
int hrun_seccomp_notify_agent(const struct hrun_seccomp *sc, int listener,
			      const struct hrun_seccomp_agent_msg *m, struct hrun_error *err);

#endif
