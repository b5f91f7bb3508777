/* An existing container, found through its state directory: its live
 * status and the lifecycle operations after create (start, kill, delete,
 * pause, resume), each serialised by the container's lock. */
#ifndef HRUN_CONTAINER_H
#define HRUN_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"
#include "launch.h"
#include "spec.h"
#include "state.h"

enum hrun_status {
	HRUN_STATUS_CREATING,
	HRUN_STATUS_CREATED,
	HRUN_STATUS_RUNNING,
	HRUN_STATUS_PAUSED,
	HRUN_STATUS_STOPPED,
};

struct hrun_container {
	char *root;
	int dirfd;
	struct hrun_state state;
	struct hrun_cgroup cgroup;
	struct hrun_spec *spec;	/* the effective config saved at create */
	enum hrun_status status;
};

/* Open container ID under the context's root, read its state and config
 * and work out its live status. With LOCK, holds the container's lock
 * until hrun_container_close. */
int hrun_container_open(const struct hrun_context *ctx, const char *id, bool lock,
			struct hrun_container *c, struct hrun_error *err);
void hrun_container_close(struct hrun_container *c);

const char *hrun_status_name(enum hrun_status s);

/* The state as runtime-spec defines it (what `state` prints and hooks
 * read on stdin). */
char *hrun_container_state_json(const struct hrun_container *c, bool pretty, struct hrun_error *err);

/* The same document for a container not saved yet (hooks during create
 * and inside init). */
char *hrun_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
		      const struct hrun_map *annotations, bool pretty, struct hrun_error *err);

/* The same object written into G (as a value: after a key, in an array
 * or alone), for documents that embed the state. */
struct hrun_jgen;
void hrun_state_gen(struct hrun_jgen *g, const char *id, const char *status, pid_t pid, const char *bundle,
		    const struct hrun_map *annotations);

/* A pidfd for the container's init, checked against pid reuse. */
int hrun_container_pidfd(const struct hrun_container *c, struct hrun_error *err);

/* Release a created container's init: it is blocked opening the exec
 * FIFO for writing; read its byte, then remove the FIFO. PIDFD tells us
 * if init dies instead. */
int hrun_exec_fifo_release(int dirfd, int pidfd, struct hrun_error *err);

int hrun_container_start(const struct hrun_context *ctx, const char *id, struct hrun_error *err);
int hrun_container_kill(const struct hrun_context *ctx, const char *id, int sig, bool all,
			struct hrun_error *err);
int hrun_container_delete(const struct hrun_context *ctx, const char *id, bool force,
			  struct hrun_error *err);
int hrun_container_pause(const struct hrun_context *ctx, const char *id, bool pause,
			 struct hrun_error *err);

/* Remove what is left of a container whose init is gone: cgroup,
 * poststop hooks (failures only warn), state directory. */
int hrun_container_destroy(struct hrun_container *c, const struct hrun_context *ctx,
			   struct hrun_error *err);

/* pid file as runc writes it: decimal, no newline, via rename. */
int hrun_write_pid_file(const char *path, pid_t pid, struct hrun_error *err);

#endif
