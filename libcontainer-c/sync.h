/* The parent/child protocol: a SOCK_SEQPACKET socketpair carrying one
 * fixed-size record per step. Both sides use the same step names; a step
 * is either the expected one or an error record from the other side. */
#ifndef HRUN_SYNC_H
#define HRUN_SYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum hrun_sync_step {
	/* parent -> init: uid/gid maps written and cgroups joined; set up */
	HRUN_SYNC_MAPS_WRITTEN = 1,
	/* init -> parent: mounts are made, before pivot: run the
	 * createRuntime, prestart and createContainer hooks */
	HRUN_SYNC_HOOKS,
	/* parent -> init: the hooks succeeded, go on */
	HRUN_SYNC_HOOKS_DONE,
	/* init -> parent: everything is set up, init waits on the exec FIFO */
	HRUN_SYNC_CREATED,
	/* either way: the sender failed; the record carries its error */
	HRUN_SYNC_ERROR,
	/* helper -> parent: pid of the init it cloned (namespace joining) */
	HRUN_SYNC_INIT_PID,
	/* init or exec'd process -> parent: the seccomp filter is loaded;
	 * the record carries its notify listener fd (SCM_RIGHTS) */
	HRUN_SYNC_SECCOMP_LISTENER,
	/* parent -> init or exec'd process: the agent has the listener, go
	 * on (before it, the process must not reach its execve) */
	HRUN_SYNC_LISTENER_TAKEN,
};

struct hrun_sync_msg {
	uint32_t step;
	int32_t pid;
	struct hrun_error err;
};

/* Make the pair; both ends O_CLOEXEC. */
int hrun_sync_pair(int fds[2], struct hrun_error *err);

int hrun_sync_send(int fd, enum hrun_sync_step step, struct hrun_error *err);
/* STEP carrying a pid (INIT_PID; MAPS_WRITTEN tells init its host pid). */
int hrun_sync_send_pid(int fd, enum hrun_sync_step step, pid_t pid, struct hrun_error *err);

/* STEP carrying one fd, passed with SCM_RIGHTS; the sender keeps its copy. */
int hrun_sync_send_fd(int fd, enum hrun_sync_step step, int passfd, struct hrun_error *err);

/* Wait for STEP carrying exactly one fd, returned (O_CLOEXEC). As
 * hrun_sync_expect otherwise; a record with no fd or several is a
 * protocol error, and every fd it carried is closed. */
int hrun_sync_expect_fd(int fd, enum hrun_sync_step step, const char *peer, struct hrun_error *err);

/* Tell the other side why we failed. Best effort: the caller is failing;
 * false when nobody received it. */
bool hrun_sync_send_error(int fd, const struct hrun_error *failure);

/* Wait for STEP. An error record from the peer becomes ERR (as is); end of
 * stream becomes "PEER exited before STEP"; anything else is a protocol
 * error. On success returns 0 and stores the record's pid in PID if given. */
int hrun_sync_expect(int fd, enum hrun_sync_step step, const char *peer, pid_t *pid,
		     struct hrun_error *err);

/* 1 when the peer closed its end (exec happened), 0 when it sent an error
 * record (copied to ERR), -1 on a receive failure or a stray record. */
int hrun_sync_wait_close(int fd, struct hrun_error *err);

#endif
