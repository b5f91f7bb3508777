/* sd_notify through the container, as runc does it: when hrun runs with
 * NOTIFY_SOCKET set, the container gets a socket of hrun's at
 * /run/notify/notify.sock; start (or run) waits for the process's
 * READY=1 and tells the caller's socket, with MAINPID the container's
 * init. */
#ifndef HRUN_NOTIFY_H
#define HRUN_NOTIFY_H

#include <sys/types.h>

#include "error.h"

#define HRUN_NOTIFY_DIR "/run/notify"
#define HRUN_NOTIFY_SOCKET HRUN_NOTIFY_DIR "/notify.sock"

/* The caller's NOTIFY_SOCKET when it is a path we can forward to, or NULL. */
const char *hrun_notify_host_socket(void);

/* Make the directory "notify" in the state directory STATE_FD, to be
 * bound on HRUN_NOTIFY_DIR; returns it opened O_PATH. */
int hrun_notify_make_dir(int state_fd, struct hrun_error *err);

/* Bind the socket in that directory (from `start` or `run`, before the
 * process runs). Returns the socket. */
int hrun_notify_listen(int state_fd, struct hrun_error *err);

/* Wait for READY=1 on SOCK (giving up when the process of PIDFD exits) and
 * pass it to the caller's socket with MAINPID=PID. */
int hrun_notify_forward_ready(int sock, int pidfd, pid_t pid, struct hrun_error *err);

#endif
