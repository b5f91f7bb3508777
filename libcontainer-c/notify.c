#define _GNU_SOURCE
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

const char *hrun_notify_host_socket(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	/* Abstract sockets ("@...") live in the caller's network namespace
	 * and cannot be bound into a container; runc ignores them too. */
	if (!path || path[0] != '/' || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return NULL;
	return path;
}

int hrun_notify_make_dir(int state_fd, struct hrun_error *err)
{
	int fd;

	/* Searchable by the container's (mapped) root: it reaches the
	 * directory through the bind mount only. */
	if (mkdirat(state_fd, "notify", 0700) < 0 || fchmodat(state_fd, "notify", 0755, 0) < 0)
		return hrun_error_errno(err, "create the notify directory");
	fd = openat(state_fd, "notify", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return hrun_error_errno(err, "open the notify directory");
	return fd;
}

/* A unix address for NAME inside the directory DIRFD, whatever the length
 * of the directory's own path. */
static socklen_t address_in(int dirfd, const char *name, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	return (socklen_t)sizeof(*addr);
}

int hrun_notify_listen(int state_fd, struct hrun_error *err)
{
	_cleanup_close_ int dirfd = openat(state_fd, "notify", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int sock = -1;
	struct sockaddr_un addr;
	socklen_t len;

	if (dirfd < 0)
		return hrun_error_errno(err, "open the notify directory");
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return hrun_error_errno(err, "notify socket");
	len = address_in(dirfd, "notify.sock", &addr);
	unlinkat(dirfd, "notify.sock", 0);
	if (bind(sock, (struct sockaddr *)&addr, len) < 0)
		return hrun_error_errno(err, "bind the notify socket");
	/* Any uid of the container may notify, as with systemd's own socket. */
	if (fchmodat(dirfd, "notify.sock", 0777, 0) < 0)
		return hrun_error_errno(err, "chmod the notify socket");
	return hrun_steal_fd(&sock);
}

static int send_host(const char *path, const char *msg, struct hrun_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	size_t len = strlen(msg);

	if (fd < 0)
		return hrun_error_errno(err, "socket");
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, sizeof(addr)) != (ssize_t)len)
		return hrun_error_errno(err, "notify \"%s\"", path);
	return 0;
}

static int has_ready(const char *msg)
{
	for (const char *p = msg; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, "READY=1", 7) == 0 && (p[7] == '\n' || p[7] == '\0'))
			return 1;
	return 0;
}

int hrun_notify_forward_ready(int sock, int pidfd, pid_t pid, struct hrun_error *err)
{
	struct pollfd fds[2] = { { .fd = sock, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
	const char *host = hrun_notify_host_socket();
	char msg[4096];
	char ready[64];

	if (!host)
		return 0;
	for (;;) {
		ssize_t n;
		int r = poll(fds, 2, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return hrun_error_errno(err, "poll the notify socket");
		if (fds[0].revents) {
			n = recv(sock, msg, sizeof(msg) - 1, MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return hrun_error_errno(err, "receive from the notify socket");
			if (n >= 0) {
				msg[n] = '\0';
				if (has_ready(msg))
					break;
			}
			continue;
		}
		if (fds[1].revents)
			return hrun_error_plain(err, ESRCH, "the container exited before it was ready");
	}
	snprintf(ready, sizeof(ready), "READY=1\nMAINPID=%d\n", pid);
	return send_host(host, ready, err);
}
