/* Tests for seccomp user notification: the flags a notifying profile is
 * compiled with; a real round trip (a child loads the filter, sends the
 * listener over a sync socketpair, getppid is notified and answered
 * here); the container process state document and its delivery to an
 * agent's socket. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "seccomp.h"
#include "seccomp-notify.h"
#include "spec.h"
#include "sync.h"

#define BASE "{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"rootfs\"},\"linux\":{\"seccomp\":"
#define NOTIFY_GETPPID "'listenerPath':'/run/agent.sock','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_NOTIFY'}]"

/* Test documents use single quotes; SECCOMP is linux.seccomp's value. */
static struct hrun_spec *spec_of(const char *seccomp)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *spec;
	char *doc;

	assert_true(asprintf(&doc, BASE "%s}}", seccomp) > 0);
	for (char *p = doc; *p; p++)
		if (*p == '\'')
			*p = '"';
	spec = hrun_spec_parse(doc, strlen(doc), "config.json", &err);
	if (!spec)
		fail_msg("parse: %s", err.msg);
	free(doc);
	return spec;
}

static unsigned int flags_of(const char *seccomp)
{
	struct hrun_spec *spec = spec_of(seccomp);
	struct hrun_seccomp_prog prog = { 0 };
	struct hrun_error err = { 0 };
	unsigned int flags;

	if (hrun_seccomp_compile(spec, NULL, &prog, &err) < 0)
		fail_msg("compile %s: %s", seccomp, err.msg);
	flags = prog.flags;
	assert_int_equal(hrun_seccomp_has_listener(&prog), (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0);
	hrun_seccomp_prog_free(&prog);
	hrun_spec_free(spec);
	return flags;
}

static void test_listener_flags(void **state)
{
	(void)state;
	/* A NOTIFY rule asks for a listener. */
	assert_int_equal(flags_of("{'defaultAction':'SCMP_ACT_ALLOW'," NOTIFY_GETPPID "}"),
			 SECCOMP_FILTER_FLAG_NEW_LISTENER);
	/* Without one, listenerPath is ignored (runtime-spec) and so is
	 * WAIT_KILLABLE_RECV, which the kernel takes only with a listener. */
	assert_int_equal(flags_of("{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/run/agent.sock'}"), 0);
	assert_int_equal(flags_of("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']}"),
			 0);
	if (!hrun_seccomp_flag_supported("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))
		return; /* before Linux 5.19 */
	assert_int_equal(flags_of("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],"
				  NOTIFY_GETPPID "}"),
			 SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
	/* The load returns the listener, so TSYNC reports failure as ESRCH. */
	assert_int_equal(flags_of("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_TSYNC'],"
				  NOTIFY_GETPPID "}"),
			 SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC |
				 SECCOMP_FILTER_FLAG_TSYNC_ESRCH);
}

/* The child loads a notifying filter, sends the listener as the init
 * does, then calls getppid; we receive the notification and make the call
 * fail with 77 (the child's exit status). */
static void round_trip(const char *seccomp)
{
	struct hrun_spec *spec = spec_of(seccomp);
	struct hrun_seccomp_prog prog = { 0 };
	struct hrun_error err = { 0 };
	struct seccomp_notif_sizes sz;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	int pair[2], listener, status;
	pid_t pid;

	if (hrun_seccomp_compile(spec, NULL, &prog, &err) < 0)
		fail_msg("compile: %s", err.msg);
	assert_int_equal(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz), 0);
	req = calloc(1, sz.seccomp_notif > sizeof(*req) ? sz.seccomp_notif : sizeof(*req));
	resp = calloc(1, sz.seccomp_notif_resp > sizeof(*resp) ? sz.seccomp_notif_resp : sizeof(*resp));
	assert_non_null(req);
	assert_non_null(resp);
	assert_int_equal(hrun_sync_pair(pair, &err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = -1;
		long r;

		close(pair[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || hrun_seccomp_load(spec, &prog, &fd, &err) < 0 ||
		    fd < 0 || hrun_sync_send_fd(pair[1], HRUN_SYNC_SECCOMP_LISTENER, fd, &err) < 0)
			_exit(250);
		close(fd);
		r = syscall(SYS_getppid);
		_exit(r < 0 && errno > 0 && errno < 250 ? errno : 251);
	}
	close(pair[1]);
	listener = hrun_sync_expect_fd(pair[0], HRUN_SYNC_SECCOMP_LISTENER, "child", &err);
	if (listener < 0)
		fail_msg("expect the listener: %s", err.msg);
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req), 0);
	assert_int_equal(req->pid, pid);
	assert_int_equal(req->data.nr, SYS_getppid);
	resp->id = req->id;
	resp->error = -77;
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 77);
	close(listener);
	close(pair[0]);
	free(req);
	free(resp);
	hrun_seccomp_prog_free(&prog);
	hrun_spec_free(spec);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip("{'defaultAction':'SCMP_ACT_ALLOW'," NOTIFY_GETPPID "}");
	/* The kernel takes the flags hrun adds for TSYNC. */
	round_trip("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_TSYNC']," NOTIFY_GETPPID "}");
	if (hrun_seccomp_flag_supported("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))
		round_trip("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],"
			   NOTIFY_GETPPID "}");
}

/* A step that should carry an fd and does not is a protocol error. */
static void test_expect_fd_without_fd(void **state)
{
	struct hrun_error err = { 0 };
	int pair[2];

	(void)state;
	assert_int_equal(hrun_sync_pair(pair, &err), 0);
	assert_int_equal(hrun_sync_send(pair[1], HRUN_SYNC_SECCOMP_LISTENER, &err), 0);
	assert_int_equal(hrun_sync_expect_fd(pair[0], HRUN_SYNC_SECCOMP_LISTENER, "child", &err), -1);
	assert_string_equal(err.msg, "sync protocol: step \"seccomp-listener\" from child carried 0 fds, expected one");
	/* An error record is the peer's error, as with hrun_sync_expect. */
	err = (struct hrun_error){ .code = EPERM };
	snprintf(err.msg, sizeof(err.msg), "load the seccomp filter: Permission denied");
	assert_true(hrun_sync_send_error(pair[1], &err));
	hrun_error_clear(&err);
	assert_int_equal(hrun_sync_expect_fd(pair[0], HRUN_SYNC_SECCOMP_LISTENER, "child", &err), -1);
	assert_string_equal(err.msg, "load the seccomp filter: Permission denied");
	close(pair[1]);
	assert_int_equal(hrun_sync_expect_fd(pair[0], HRUN_SYNC_SECCOMP_LISTENER, "child", &err), -1);
	assert_string_equal(err.msg, "child exited before step \"seccomp-listener\"");
	close(pair[0]);
}

static const struct hrun_kv annotation = { .key = "k", .value = "v" };
static const struct hrun_map annotations = { .set = true, .n = 1, .v = (struct hrun_kv *)&annotation };

static const struct hrun_seccomp_agent_msg exec_msg = {
	.pid = 4422,
	.id = "c1",
	.status = "running",
	.init_pid = 4400,
	.bundle = "/b",
	.annotations = &annotations,
};

static void test_state_document(void **state)
{
	struct hrun_seccomp sc = { .listener_path = "/run/agent.sock", .listener_metadata = "MKNOD=/dev/null" };
	struct hrun_error err = { 0 };
	char *json;

	(void)state;
	json = hrun_seccomp_agent_json(&sc, &exec_msg, &err);
	assert_non_null(json);
	assert_string_equal(json, "{\"ociVersion\":\"1.3.0\",\"fds\":[\"seccompFd\"],\"pid\":4422,"
				  "\"metadata\":\"MKNOD=/dev/null\",\"state\":{\"ociVersion\":\"1.3.0\",\"id\":\"c1\","
				  "\"status\":\"running\",\"pid\":4400,\"bundle\":\"/b\",\"annotations\":{\"k\":\"v\"}}}");
	free(json);
	/* No listenerMetadata: no metadata member. */
	sc.listener_metadata = NULL;
	json = hrun_seccomp_agent_json(&sc, &exec_msg, &err);
	assert_non_null(json);
	assert_null(strstr(json, "metadata"));
	free(json);
}

/* A listening socket in a fresh directory; its path in PATH. */
static int agent_socket(char *dir, char *path, size_t len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, len, "%s/agent.sock", dir);
	assert_true(strlen(path) < sizeof(addr.sun_path));
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

/* The agent's side: one connection, its data (to the end of the stream)
 * and its fds. Returns the fd count; DATA gets the document. */
static int agent_receive(int lfd, char *data, size_t len, int *fd)
{
	char control[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = data, .iov_len = len - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), n = 0;
	size_t got;
	ssize_t r;

	assert_true(conn >= 0);
	r = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	assert_true(r > 0);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		n += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
	for (got = (size_t)r; (r = read(conn, data + got, len - 1 - got)) > 0; got += (size_t)r)
		;
	/* The runtime closed its end: the read ended on end of stream. */
	assert_int_equal(r, 0);
	data[got] = '\0';
	close(conn);
	return n;
}

static void test_send_to_agent(void **state)
{
	char dir[] = "/tmp/hrun-notify-XXXXXX", path[128], data[4096];
	struct hrun_seccomp sc = { .listener_metadata = "m" };
	struct hrun_error err = { 0 };
	struct hrun_seccomp_agent_msg m = exec_msg;
	int lfd, pipefd[2], got = -1;
	struct stat a, b;

	(void)state;
	lfd = agent_socket(dir, path, sizeof(path));
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	sc.listener_path = path;
	assert_int_equal(hrun_seccomp_notify_agent(&sc, pipefd[0], &m, &err), 0);
	assert_int_equal(agent_receive(lfd, data, sizeof(data), &got), 1);
	assert_non_null(strstr(data, "\"fds\":[\"seccompFd\"],\"pid\":4422,\"metadata\":\"m\""));
	/* The very fd we passed. */
	assert_int_equal(fstat(got, &a), 0);
	assert_int_equal(fstat(pipefd[0], &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(got);
	/* A relative listenerPath is the bundle's. */
	sc.listener_path = "agent.sock";
	m.bundle = dir;
	assert_int_equal(hrun_seccomp_notify_agent(&sc, pipefd[0], &m, &err), 0);
	assert_int_equal(agent_receive(lfd, data, sizeof(data), &got), 1);
	close(got);
	/* Nobody listening: the error names the path. */
	close(lfd);
	unlink(path);
	sc.listener_path = path;
	assert_int_equal(hrun_seccomp_notify_agent(&sc, pipefd[0], &m, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "connect to the seccomp agent at linux.seccomp.listenerPath \""));
	assert_int_equal(rmdir(dir), 0);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listener_flags),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_expect_fd_without_fd),
		cmocka_unit_test(test_state_document),
		cmocka_unit_test(test_send_to_agent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
