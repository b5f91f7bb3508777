#define _GNU_SOURCE
#include "sync.h"
#include "unix-socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *step_name(uint32_t step)
{
	switch (step) {
	case HRUN_SYNC_MAPS_WRITTEN:
		return "maps-written";
	case HRUN_SYNC_HOOKS:
		return "hooks";
	case HRUN_SYNC_HOOKS_DONE:
		return "hooks-done";
	case HRUN_SYNC_CREATED:
		return "created";
	case HRUN_SYNC_ERROR:
		return "error";
	case HRUN_SYNC_INIT_PID:
		return "init-pid";
	case HRUN_SYNC_SECCOMP_LISTENER:
		return "seccomp-listener";
	case HRUN_SYNC_LISTENER_TAKEN:
		return "listener-taken";
	}
	return "unknown";
}

int hrun_sync_pair(int fds[2], struct hrun_error *err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return hrun_error_errno(err, "socketpair");
	return 0;
}

static int send_msg(int fd, const struct hrun_sync_msg *msg, struct hrun_error *err)
{
	ssize_t n;

	do
		n = send(fd, msg, sizeof(*msg), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hrun_error_errno(err, "send sync step \"%s\"", step_name(msg->step));
	if ((size_t)n != sizeof(*msg))
		return hrun_error_set(err, 0, "send sync step \"%s\": short write", step_name(msg->step));
	return 0;
}

int hrun_sync_send(int fd, enum hrun_sync_step step, struct hrun_error *err)
{
	struct hrun_sync_msg msg = { .step = step };

	return send_msg(fd, &msg, err);
}

int hrun_sync_send_pid(int fd, enum hrun_sync_step step, pid_t pid, struct hrun_error *err)
{
	struct hrun_sync_msg msg = { .step = step, .pid = pid };

	return send_msg(fd, &msg, err);
}

bool hrun_sync_send_error(int fd, const struct hrun_error *failure)
{
	struct hrun_sync_msg msg = { .step = HRUN_SYNC_ERROR };
	struct hrun_error ignored;

	msg.err = *failure;
	msg.err.msg[sizeof(msg.err.msg) - 1] = '\0';
	return send_msg(fd, &msg, &ignored) == 0;
}

int hrun_sync_send_fd(int fd, enum hrun_sync_step step, int passfd, struct hrun_error *err)
{
	struct hrun_sync_msg rec = { .step = step };

	if (hrun_unix_send_fd(fd, &rec, sizeof(rec), passfd) < 0)
		return hrun_error_errno(err, "send sync step \"%s\"", step_name(step));
	return 0;
}

/* The fds a received record carried: at most MAX kept in FDS, the count
 * of all of them returned (those past MAX are closed). */
static size_t take_fds(struct msghdr *msg, int *fds, size_t max)
{
	size_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++, n++) {
			int one;

			memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n] = one;
			else
				close(one);
		}
	}
	return n;
}

int hrun_sync_expect_fd(int fd, enum hrun_sync_step step, const char *peer, struct hrun_error *err)
{
	struct hrun_sync_msg rec;
	/* Room for a few: fds beyond it would be dropped unseen (MSG_CTRUNC). */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = &rec, .iov_len = sizeof(rec) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	int fds[4];
	size_t nfds;
	ssize_t n;

	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hrun_error_errno(err, "receive sync step \"%s\"", step_name(step));
	nfds = take_fds(&msg, fds, 4);
	if (nfds != 1 || (msg.msg_flags & MSG_CTRUNC) || (size_t)n != sizeof(rec) || rec.step != step) {
		for (size_t i = 0; i < nfds && i < 4; i++)
			close(fds[i]);
		if (n == 0)
			return hrun_error_set(err, 0, "%s exited before step \"%s\"", peer, step_name(step));
		if ((size_t)n != sizeof(rec))
			return hrun_error_set(err, 0, "receive sync step: truncated record");
		rec.err.msg[sizeof(rec.err.msg) - 1] = '\0';
		if (rec.step == HRUN_SYNC_ERROR) {
			*err = rec.err;
			return -1;
		}
		if (rec.step != step)
			return hrun_error_set(err, 0, "sync protocol: expected \"%s\" from %s, got \"%s\"",
					      step_name(step), peer, step_name(rec.step));
		return hrun_error_set(err, 0, "sync protocol: step \"%s\" from %s carried %zu fds, expected one",
				      step_name(step), peer, nfds);
	}
	return fds[0];
}

/* Returns 1 with MSG filled, 0 on end of stream, -1 on error. */
static int recv_msg(int fd, struct hrun_sync_msg *msg, struct hrun_error *err)
{
	ssize_t n;

	do
		n = recv(fd, msg, sizeof(*msg), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hrun_error_errno(err, "receive sync step");
	if (n == 0)
		return 0;
	if ((size_t)n != sizeof(*msg))
		return hrun_error_set(err, 0, "receive sync step: truncated record");
	/* The peer may be the container's init: never trust its string. */
	msg->err.msg[sizeof(msg->err.msg) - 1] = '\0';
	return 1;
}

int hrun_sync_expect(int fd, enum hrun_sync_step step, const char *peer, pid_t *pid,
		     struct hrun_error *err)
{
	struct hrun_sync_msg msg;
	int r = recv_msg(fd, &msg, err);

	if (r < 0)
		return -1;
	if (r == 0)
		return hrun_error_set(err, 0, "%s exited before step \"%s\"", peer, step_name(step));
	if (msg.step == HRUN_SYNC_ERROR) {
		*err = msg.err;
		return -1;
	}
	if (msg.step != step)
		return hrun_error_set(err, 0, "sync protocol: expected \"%s\" from %s, got \"%s\"",
				      step_name(step), peer, step_name(msg.step));
	if (pid)
		*pid = msg.pid;
	return 0;
}

int hrun_sync_wait_close(int fd, struct hrun_error *err)
{
	struct hrun_sync_msg msg;
	int r = recv_msg(fd, &msg, err);

	if (r <= 0)
		return r < 0 ? -1 : 1;
	if (msg.step == HRUN_SYNC_ERROR) {
		*err = msg.err;
		return 0;
	}
	return hrun_error_set(err, 0, "sync protocol: unexpected step \"%s\"", step_name(msg.step));
}
