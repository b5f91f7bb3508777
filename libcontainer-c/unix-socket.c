#define _GNU_SOURCE
#include "unix-socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

/* Put PATH in ADDR, through /proc/self/fd/N of its directory (opened into
 * *DIRFD) when it does not fit in sun_path. */
static int socket_addr(const char *path, const char *what, struct sockaddr_un *addr, int *dirfd,
		       struct hrun_error *err)
{
	_cleanup_free_ char *dir = NULL;
	const char *base;
	char *slash;
	int n;

	if (strlen(path) < sizeof(addr->sun_path)) {
		strcpy(addr->sun_path, path);
		return 0;
	}
	dir = strdup(path);
	if (!dir)
		return hrun_error_errno(err, "strdup");
	slash = strrchr(dir, '/');
	if (!slash || slash[1] == '\0')
		return hrun_error_plain(err, EINVAL, "%s \"%s\": not a socket path", what, path);
	base = path + (slash - dir) + 1;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return hrun_error_errno(err, "open the directory of the %s \"%s\"", what, path);
	n = snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", *dirfd, base);
	if (n < 0 || (size_t)n >= sizeof(addr->sun_path))
		return hrun_error_set(err, ENAMETOOLONG, "%s \"%s\"", what, path);
	return 0;
}

int hrun_unix_connect(const char *path, const char *what, struct hrun_error *err)
{
	const struct timeval timeout = { .tv_sec = 30 };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	_cleanup_close_ int dirfd = -1;
	_cleanup_close_ int fd = -1;
	int r;

	if (!path || !*path)
		return hrun_error_plain(err, EINVAL, "%s: empty path", what);
	if (socket_addr(path, what, &addr, &dirfd, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hrun_error_errno(err, "create a unix socket");
	/* A peer that never accepts (a full backlog) or never reads must not
	 * hang create: the send timeout bounds connect and send alike. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0)
		return hrun_error_errno(err, "set a send timeout on the %s socket", what);
	do
		r = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return hrun_error_errno(err, "connect to the %s \"%s\"", what, path);
	return hrun_steal_fd(&fd);
}

int hrun_unix_send_fd(int sock, const void *data, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	ssize_t w;

	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		w = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1;
	/* The fd went with the first bytes; on a stream the rest follows. */
	for (size_t off = (size_t)w; off < len; off += (size_t)w) {
		do
			w = send(sock, (const char *)data + off, len - off, MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0)
			return -1;
	}
	return 0;
}
