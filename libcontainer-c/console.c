#define _GNU_SOURCE
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "mounts.h"
#include "safepath.h"
#include "unix-socket.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* Every devpts has its ptmx as char device 5:2 (TTYAUX_MAJOR, 2). */
#define PTMX_MAJOR 5
#define PTMX_MINOR 2

/* Room for the one fd we accept and a few more, so that a message
 * carrying extras is seen as such (and its fds closed) rather than cut. */
#define RECV_MAX_FDS 8

/* The name is "/dev/pts/N"; anything longer is not ours to keep. */
#define NAME_MAX_LEN 4096

static int check_ptmx(int fd, const char *what, struct hrun_error *err)
{
	struct statfs sfs;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hrun_error_errno(err, "fstat \"%s\" in the container rootfs", what);
	if (fstatfs(fd, &sfs) < 0)
		return hrun_error_errno(err, "fstatfs \"%s\" in the container rootfs", what);
	if (sfs.f_type != DEVPTS_SUPER_MAGIC || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) != PTMX_MAJOR || minor(st.st_rdev) != PTMX_MINOR)
		return hrun_error_plain(err, EXDEV,
					"\"%s\" in the container rootfs is not the ptmx of a devpts", what);
	return 0;
}

/* The ptmx of the devpts mounted at dev/pts. The directory is checked to
 * be a devpts before anything in it is opened: a devpts holds only nodes
 * the kernel made, so nothing planted by the image can be opened. */
static int open_ptmx_in_devpts(int rootfd, struct hrun_error *err)
{
	_cleanup_close_ int dirfd = hrun_open_in_root(rootfd, "dev/pts", O_PATH | O_DIRECTORY, err);
	_cleanup_close_ int fd = -1;
	struct statfs sfs;

	if (dirfd < 0)
		return -1;
	if (fstatfs(dirfd, &sfs) < 0)
		return hrun_error_errno(err, "fstatfs \"dev/pts\" in the container rootfs");
	if (sfs.f_type != DEVPTS_SUPER_MAGIC)
		return hrun_error_plain(err, ENODEV,
					"\"dev/pts\" in the container rootfs is not a devpts: mount one there "
					"(newinstance,ptmxmode=0666) to use a terminal");
	fd = openat(dirfd, "ptmx", O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hrun_error_errno(err, "open \"dev/pts/ptmx\" in the container rootfs");
	if (check_ptmx(fd, "dev/pts/ptmx", err) < 0)
		return -1;
	return hrun_steal_fd(&fd);
}

/* Without a devpts at dev/pts, dev/ptmx may still lead to one (a symlink
 * to pts/ptmx resolved inside the root, or a bind of a ptmx). It is
 * checked through an O_PATH fd, then that very inode is reopened through
 * a verified procfs, so nothing swapped in between is ever opened. */
static int open_ptmx_fallback(int rootfd, struct hrun_error *err)
{
	_cleanup_close_ int pathfd = hrun_open_in_root(rootfd, "dev/ptmx", O_PATH, err);
	_cleanup_close_ int procfd = -1;
	_cleanup_close_ int fd = -1;
	struct stat a;
	struct stat b;
	char rel[64];

	if (pathfd < 0)
		return -1;
	if (check_ptmx(pathfd, "dev/ptmx", err) < 0)
		return -1;
	procfd = hrun_procfs_open("/proc", err);
	if (procfd < 0)
		return hrun_error_prefix(err, "reopen \"dev/ptmx\"");
	snprintf(rel, sizeof(rel), "thread-self/fd/%d", pathfd);
	fd = openat(procfd, rel, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return hrun_error_errno(err, "reopen \"dev/ptmx\" in the container rootfs");
	if (fstat(pathfd, &a) < 0 || fstat(fd, &b) < 0)
		return hrun_error_errno(err, "fstat \"dev/ptmx\" in the container rootfs");
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return hrun_error_plain(err, EXDEV, "\"dev/ptmx\" in the container rootfs changed while opened");
	return hrun_steal_fd(&fd);
}

static int open_ptmx(int rootfd, struct hrun_error *err)
{
	struct hrun_error first;
	int fd;

	fd = open_ptmx_in_devpts(rootfd, err);
	if (fd >= 0)
		return fd;
	first = *err;
	fd = open_ptmx_fallback(rootfd, err);
	/* Nothing at dev/ptmx either: the reason about dev/pts says more. */
	if (fd < 0 && err->code == ENOENT)
		*err = first;
	return fd;
}

static int set_winsize(int master, unsigned rows, unsigned cols, struct hrun_error *err)
{
	struct winsize ws;

	if (!rows && !cols)
		return 0;
	if (rows > USHRT_MAX || cols > USHRT_MAX)
		return hrun_error_plain(err, EINVAL, "console size %ux%u is out of range (at most %u)",
					cols, rows, USHRT_MAX);
	if (ioctl(master, TIOCGWINSZ, &ws) < 0)
		return hrun_error_errno(err, "get the pty window size");
	if (rows)
		ws.ws_row = (unsigned short)rows;
	if (cols)
		ws.ws_col = (unsigned short)cols;
	if (ioctl(master, TIOCSWINSZ, &ws) < 0)
		return hrun_error_errno(err, "set the pty window size to %ux%u", cols, rows);
	return 0;
}

int hrun_console_open_pty(int rootfd, unsigned rows, unsigned cols, int *peer, char **name,
			  struct hrun_error *err)
{
	_cleanup_close_ int master = -1;
	_cleanup_close_ int pfd = -1;
	unsigned int n;

	*peer = -1;
	if (name)
		*name = NULL;
	master = open_ptmx(rootfd, err);
	if (master < 0)
		return hrun_error_prefix(err, "allocate the container's terminal");
	if (unlockpt(master) < 0)
		return hrun_error_errno(err, "unlock the pty");
	if (ioctl(master, TIOCGPTN, &n) < 0)
		return hrun_error_errno(err, "get the pty number");
	/* The peer comes from the master itself: a path could be raced. */
	pfd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (pfd < 0)
		return hrun_error_errno(err, "open the peer of /dev/pts/%u", n);
	if (set_winsize(master, rows, cols, err) < 0)
		return -1;
	if (name && asprintf(name, "/dev/pts/%u", n) < 0) {
		*name = NULL;
		return hrun_error_errno(err, "asprintf");
	}
	*peer = hrun_steal_fd(&pfd);
	return hrun_steal_fd(&master);
}

int hrun_console_set_stdio(int peer, struct hrun_error *err)
{
	if (ioctl(peer, TIOCSCTTY, 0) < 0)
		return hrun_error_errno(err, "make the pty the controlling terminal");
	for (int fd = 0; fd <= 2; fd++) {
		if (fd == peer) {
			/* Already in place: it only has to survive exec. */
			int flags = fcntl(fd, F_GETFD);

			if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
				return hrun_error_errno(err, "keep the pty as fd %d", fd);
		} else if (dup3(peer, fd, 0) < 0) {
			return hrun_error_errno(err, "dup the pty to fd %d", fd);
		}
	}
	return 0;
}

/* dev/console as a mount point: never a symlink, whose target the bind
 * would land on; made as an empty file inside the root when missing. */
static int open_console_target(int rootfd, struct hrun_error *err)
{
	_cleanup_close_ int fd = hrun_open_in_root(rootfd, "dev/console", O_PATH | O_NOFOLLOW, err);
	struct stat st;

	if (fd < 0 && err->code == ENOENT) {
		_cleanup_close_ int made = hrun_mkpath_in_root(rootfd, "dev/console", true, err);

		if (made < 0)
			return -1;
		fd = hrun_open_in_root(rootfd, "dev/console", O_PATH | O_NOFOLLOW, err);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return hrun_error_errno(err, "fstat \"dev/console\" in the container rootfs");
	if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
		return hrun_error_plain(err, EXDEV, "\"dev/console\" in the container rootfs is a %s",
					S_ISLNK(st.st_mode) ? "symlink" : "directory");
	return hrun_steal_fd(&fd);
}

int hrun_console_bind_dev_console(int rootfd, int peer, struct hrun_error *err)
{
	_cleanup_close_ int targetfd = open_console_target(rootfd, err);

	if (targetfd < 0)
		return hrun_error_prefix(err, "bind the terminal on /dev/console");
	if (hrun_mount_bind_fd(peer, targetfd, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err) < 0)
		return hrun_error_prefix(err, "bind the terminal on /dev/console");
	return 0;
}

int hrun_console_send(int sock, int master, const char *name, struct hrun_error *err)
{
	size_t len = name ? strlen(name) : 0;

	/* A stream socket carries no fd without at least one byte of data. */
	if (len == 0)
		return hrun_error_plain(err, EINVAL, "send the pty master: no pty name");
	if (hrun_unix_send_fd(sock, name, len, master) < 0)
		return hrun_error_errno(err, "send the pty master over the console socket");
	return 0;
}

int hrun_console_connect(const char *path, struct hrun_error *err)
{
	return hrun_unix_connect(path, "console socket", err);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* Every fd the message carried, in FDS (at most RECV_MAX_FDS: the buffer
 * we gave the kernel holds no more). */
static size_t take_fds(struct msghdr *msg, int *fds)
{
	size_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && n < RECV_MAX_FDS; i++)
			memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	return n;
}

int hrun_console_recv(int sock, char **name, struct hrun_error *err)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * RECV_MAX_FDS)];
	} ctl;
	_cleanup_free_ char *data = malloc(NAME_MAX_LEN);
	struct iovec iov = { .iov_base = data, .iov_len = NAME_MAX_LEN - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[RECV_MAX_FDS];
	size_t nfds;
	ssize_t r;

	if (name)
		*name = NULL;
	if (!data)
		return hrun_error_errno(err, "allocate the console message buffer");
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return hrun_error_errno(err, "receive the pty master");
	nfds = take_fds(&msg, fds);
	if (r == 0 && nfds == 0)
		return hrun_error_plain(err, EPIPE, "receive the pty master: the console socket was closed");
	if (nfds != 1 || (msg.msg_flags & MSG_CTRUNC)) {
		close_all(fds, nfds);
		return hrun_error_plain(err, EBADMSG,
					"receive the pty master: expected exactly one fd, got %s",
					nfds == 0 ? "none" : "more");
	}
	data[r] = '\0';
	if (name) {
		*name = strdup(data);
		if (!*name) {
			close_all(fds, nfds);
			return hrun_error_errno(err, "strdup");
		}
	}
	return fds[0];
}

int hrun_console_raw(int fd, struct termios *saved, bool *changed, struct hrun_error *err)
{
	struct termios raw;
	int r;

	*changed = false;
	if (tcgetattr(fd, saved) < 0) {
		if (errno == ENOTTY)
			return 0;
		return hrun_error_errno(err, "get the terminal settings of fd %d", fd);
	}
	raw = *saved;
	/* Output processing too: the container's pty already did it. */
	cfmakeraw(&raw);
	do
		r = tcsetattr(fd, TCSANOW, &raw);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return hrun_error_errno(err, "put fd %d in raw mode", fd);
	*changed = true;
	return 0;
}

void hrun_console_restore(int fd, const struct termios *saved, bool changed)
{
	int r;

	if (!changed)
		return;
	do
		r = tcsetattr(fd, TCSANOW, saved);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		hrun_warn("restore the terminal settings of fd %d: %s", fd, strerror(errno));
}

void hrun_console_copy_winsize(int from, int master)
{
	struct winsize ws;

	if (ioctl(from, TIOCGWINSZ, &ws) < 0)
		return;
	if (ioctl(master, TIOCSWINSZ, &ws) < 0)
		hrun_debug("copy the window size to the container's terminal: %s", strerror(errno));
}

/* Write all of BUF, waiting for room when FD is non-blocking. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				return -1;
			/* Hung up and full: waiting would never end. */
			if (!(p.revents & POLLOUT) && (p.revents & (POLLERR | POLLHUP | POLLNVAL))) {
				errno = EPIPE;
				return -1;
			}
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t hrun_console_pump(int from, int to)
{
	char buf[16384];
	ssize_t n;

	do
		n = read(from, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int saved = errno;

		/* A pty master reads EIO once its peer is closed everywhere. */
		if (saved == EIO && isatty(from))
			return 0;
		errno = saved;
		return -1;
	}
	if (n == 0)
		return 0;
	if (write_all(to, buf, (size_t)n) < 0)
		return -1;
	return n;
}
