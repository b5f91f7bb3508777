/* Unix sockets to peers outside the container (console socket, seccomp
 * agent) and fds passed over them. */
#ifndef HRUN_UNIX_SOCKET_H
#define HRUN_UNIX_SOCKET_H

#include <stddef.h>

#include "error.h"

/* Connect a SOCK_STREAM unix socket to PATH, which may be longer than
 * sun_path (its directory is then opened and reached as /proc/self/fd/N;
 * the cwd is never changed). Connect and sends time out after 30 s. WHAT
 * names the peer in messages ("console socket", "seccomp agent at ...").
 * Returns the connected fd, O_CLOEXEC. */
int hrun_unix_connect(const char *path, const char *what, struct hrun_error *err);

/* Send all LEN (> 0) bytes of DATA on SOCK, FD passed (SCM_RIGHTS) with the
 * first of them. A SOCK_SEQPACKET record goes whole. 0, or -1 with errno. */
int hrun_unix_send_fd(int sock, const void *data, size_t len, int fd);

#endif
