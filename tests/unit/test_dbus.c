/* Tests for the D-Bus client (dbus.c) and the systemd driver's name
 * rules: exact wire bytes of a method call, decoding and refusing
 * malformed messages, a whole conversation with a fake peer on a
 * socketpair (EXTERNAL auth, Hello, a signal before the reply, an error
 * reply), and cgroupsPath "slice:prefix:name". */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-systemd.h"
#include "dbus.h"

/* StopUnit("a.scope", "replace") as systemd accepted it from hrun. */
static void test_encode_exact(void **state)
{
	static const uint8_t want[] = {
		'l', 1, 0, 1, 24, 0, 0, 0, 1, 0, 0, 0, 0xa0, 0, 0, 0,
		/* PATH */
		1, 1, 'o', 0, 25, 0, 0, 0, '/', 'o', 'r', 'g', '/', 'f', 'r', 'e', 'e', 'd', 'e', 's', 'k', 't',
		'o', 'p', '/', 's', 'y', 's', 't', 'e', 'm', 'd', '1', 0, 0, 0, 0, 0, 0, 0,
	};
	struct hrun_dbus_header h = {
		.type = HRUN_DBUS_METHOD_CALL,
		.serial = 1,
		.path = "/org/freedesktop/systemd1",
		.interface = "org.freedesktop.systemd1.Manager",
		.member = "StopUnit",
		.destination = "org.freedesktop.systemd1",
		.signature = "ss",
	};
	struct hrun_dbus_buf body = { 0 }, out;
	struct hrun_error err = { 0 };
	(void)state;

	hrun_dbus_put_string(&body, "a.scope");
	hrun_dbus_put_string(&body, "replace");
	/* 4+8 ("a.scope\0"), 4+8 ("replace\0"): no padding between. */
	assert_int_equal(body.len, 24);
	assert_int_equal(hrun_dbus_encode(&h, &body, &out, &err), 0);
	assert_int_equal(out.len, 16 + 160 + 24);
	assert_memory_equal(out.data, want, sizeof(want));
	/* The body sits at an 8-byte boundary, right after the fields. */
	assert_memory_equal(out.data + out.len - 24, body.data, 24);
	hrun_dbus_buf_free(&out);
	hrun_dbus_buf_free(&body);
}

/* a(sv) with a struct after a 4-byte value: padding inside the array is
 * part of its length, padding before the first element is not. */
static void test_array_padding(void **state)
{
	struct hrun_dbus_buf b = { 0 };
	struct hrun_dbus_array a, pids;
	struct hrun_dbus_reader r;
	const char *sig = "a(sv)";
	uint32_t len;
	(void)state;

	hrun_dbus_put_byte(&b, 7); /* puts the array's length at 4 */
	a = hrun_dbus_array_begin(&b, 8);
	assert_int_equal(a.len_at, 4);
	assert_int_equal(a.start, 8);
	hrun_dbus_align(&b, 8);
	hrun_dbus_put_string(&b, "PIDs");
	hrun_dbus_put_signature(&b, "au");
	pids = hrun_dbus_array_begin(&b, 4);
	hrun_dbus_put_u32(&b, 42);
	hrun_dbus_array_end(&b, pids);
	hrun_dbus_align(&b, 8);
	hrun_dbus_put_string(&b, "Delegate");
	hrun_dbus_put_signature(&b, "b");
	hrun_dbus_put_bool(&b, true);
	hrun_dbus_array_end(&b, a);
	assert_false(b.failed);
	memcpy(&len, b.data + 4, 4);
	assert_int_equal(len, b.len - 8);
	/* The reader walks it back to the end exactly. */
	r = (struct hrun_dbus_reader){ .data = b.data, .len = b.len, .pos = 1 };
	hrun_dbus_skip(&r, &sig);
	assert_false(r.failed);
	assert_int_equal(r.pos, b.len);
	assert_string_equal(sig, "");
	hrun_dbus_buf_free(&b);
}

static int encode_msg(const struct hrun_dbus_header *h, const char *s, struct hrun_dbus_buf *out)
{
	struct hrun_dbus_buf body = { 0 };
	struct hrun_error err;
	int r;

	if (s)
		hrun_dbus_put_string(&body, s);
	r = hrun_dbus_encode(h, s ? &body : NULL, out, &err);
	hrun_dbus_buf_free(&body);
	return r;
}

static void test_decode_roundtrip_and_refusals(void **state)
{
	struct hrun_dbus_header h = {
		.type = HRUN_DBUS_ERROR,
		.serial = 9,
		.reply_serial = 3,
		.error_name = "org.freedesktop.systemd1.NoSuchUnit",
		.sender = ":1.1",
		.signature = "s",
	};
	struct hrun_dbus_buf out;
	struct hrun_dbus_message m;
	struct hrun_error err = { 0 };
	uint8_t *bad;
	(void)state;

	assert_int_equal(encode_msg(&h, "Unit x.scope not loaded.", &out), 0);
	assert_int_equal(hrun_dbus_message_size(out.data, out.len, &err), (long)out.len);
	assert_int_equal(hrun_dbus_message_size(out.data, 15, &err), 0);
	assert_int_equal(hrun_dbus_decode(out.data, out.len, &m, &err), 0);
	assert_int_equal(m.type, HRUN_DBUS_ERROR);
	assert_int_equal(m.serial, 9);
	assert_int_equal(m.reply_serial, 3);
	assert_string_equal(m.error_name, "org.freedesktop.systemd1.NoSuchUnit");
	assert_string_equal(m.sender, ":1.1");
	assert_string_equal(m.signature, "s");
	assert_int_equal(m.body_len, 4 + 25);
	hrun_dbus_message_free(&m);

	bad = malloc(out.len);
	assert_non_null(bad);
	/* Truncated. */
	assert_int_equal(hrun_dbus_decode(out.data, out.len - 1, &m, &err), -1);
	/* Big-endian. */
	memcpy(bad, out.data, out.len);
	bad[0] = 'B';
	assert_int_equal(hrun_dbus_decode(bad, out.len, &m, &err), -1);
	/* A string without its NUL (the body's last byte). */
	memcpy(bad, out.data, out.len);
	bad[out.len - 1] = 'x';
	assert_int_equal(hrun_dbus_decode(bad, out.len, &m, &err), -1);
	/* Non-zero padding after the fields. */
	memcpy(bad, out.data, out.len);
	{
		uint32_t fields;
		memcpy(&fields, bad + 12, 4);
		if ((16 + fields) % 8) {
			bad[16 + fields] = 1;
			assert_int_equal(hrun_dbus_decode(bad, out.len, &m, &err), -1);
		}
	}
	/* A field array longer than the message. */
	memcpy(bad, out.data, out.len);
	bad[13] = 0x10;
	assert_int_equal(hrun_dbus_decode(bad, out.len, &m, &err), -1);
	/* An error without its name is not an error message. */
	free(bad);
	hrun_dbus_buf_free(&out);
	h.error_name = NULL;
	assert_int_equal(encode_msg(&h, "x", &out), 0);
	assert_int_equal(hrun_dbus_decode(out.data, out.len, &m, &err), -1);
	hrun_dbus_buf_free(&out);
	/* Too large to take. */
	{
		uint8_t head[16] = { 'l', 2, 0, 1, 0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0, 0, 0, 0, 0 };
		assert_int_equal(hrun_dbus_message_size(head, 16, &err), -1);
		assert_int_equal(err.code, EMSGSIZE);
	}
}

/* --- a fake peer -------------------------------------------------------- */

static void peer_send(int fd, const struct hrun_dbus_header *h, const char *s)
{
	struct hrun_dbus_buf out;

	if (encode_msg(h, s, &out) < 0 || write(fd, out.data, out.len) != (ssize_t)out.len)
		_exit(10);
	hrun_dbus_buf_free(&out);
}

static void peer_read(int fd, struct hrun_dbus_message *m)
{
	static uint8_t buf[65536];
	static size_t len;
	struct hrun_error err;
	long size;

	while ((size = hrun_dbus_message_size(buf, len, &err)) == 0 || (size > 0 && len < (size_t)size)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n <= 0)
			_exit(11);
		len += (size_t)n;
	}
	if (size < 0 || hrun_dbus_decode(buf, (size_t)size, m, &err) < 0)
		_exit(12);
	memmove(buf, buf + size, len - (size_t)size);
	len -= (size_t)size;
}

/* Reads the auth, answers Hello, then for a call "Ping" sends a signal
 * first and the reply after; for "Fail" an error. */
static void fake_bus(int fd, bool check_hello)
{
	char line[256];
	size_t len = 0;
	struct hrun_dbus_message m;
	char want[64];

	/* "\0AUTH EXTERNAL <hex uid>\r\nBEGIN\r\n" in one go. */
	snprintf(want, sizeof(want), "%u", (unsigned)geteuid());
	while (len < sizeof(line) - 1 && !(len > 7 && memcmp(line + len - 7, "BEGIN\r\n", 7) == 0))
		if (read(fd, line + len, 1) == 1)
			len++;
		else
			_exit(2);
	line[len] = '\0';
	if (line[0] != '\0' || strncmp(line + 1, "AUTH EXTERNAL ", 14))
		_exit(3);
	{
		char hex[32] = "";
		for (size_t i = 0; want[i]; i++)
			sprintf(hex + strlen(hex), "%02x", (unsigned char)want[i]);
		if (strncmp(line + 15, hex, strlen(hex)))
			_exit(4);
	}
	if (write(fd, "OK 0123456789abcdef0123456789abcdef\r\n", 37) != 37)
		_exit(5);
	if (check_hello) {
		peer_read(fd, &m);
		if (strcmp(m.member, "Hello") || strcmp(m.destination, "org.freedesktop.DBus"))
			_exit(6);
		peer_send(fd, &(struct hrun_dbus_header){ .type = HRUN_DBUS_METHOD_RETURN, .serial = 1,
							  .reply_serial = m.serial, .signature = "s" },
			  ":1.42");
		hrun_dbus_message_free(&m);
	}
	for (;;) {
		peer_read(fd, &m);
		if (strcmp(m.member, "Ping") == 0) {
			peer_send(fd, &(struct hrun_dbus_header){ .type = HRUN_DBUS_SIGNAL, .serial = 2,
								  .path = "/x", .interface = "x.Y",
								  .member = "Early", .signature = "s" },
				  "signal first");
			peer_send(fd, &(struct hrun_dbus_header){ .type = HRUN_DBUS_METHOD_RETURN, .serial = 3,
								  .reply_serial = m.serial, .signature = "s" },
				  "pong");
		} else if (strcmp(m.member, "Fail") == 0) {
			peer_send(fd, &(struct hrun_dbus_header){ .type = HRUN_DBUS_ERROR, .serial = 4,
								  .reply_serial = m.serial,
								  .error_name = "x.Error.Nope", .signature = "s" },
				  "not today");
		} else {
			_exit(0);
		}
		hrun_dbus_message_free(&m);
	}
}

static int signals_seen;
static char signal_arg[64];

static void on_signal(struct hrun_dbus *bus, const struct hrun_dbus_message *msg, void *data)
{
	struct hrun_dbus_reader r = { .data = msg->body, .len = msg->body_len };
	const char *s = hrun_dbus_get_string(&r);

	(void)bus;
	(void)data;
	signals_seen++;
	snprintf(signal_arg, sizeof(signal_arg), "%s:%s", msg->member, s ? s : "?");
}

static void converse(bool via_bus)
{
	int sv[2];
	pid_t pid;
	struct hrun_dbus bus = { .fd = -1 };
	struct hrun_dbus_message reply;
	struct hrun_dbus_reader r;
	struct hrun_error err = { 0 };
	int status;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		fake_bus(sv[1], via_bus);
		_exit(0);
	}
	close(sv[1]);
	assert_int_equal(hrun_dbus_open_fd(&bus, sv[0], via_bus, &err), 0);
	assert_int_equal(bus.via_bus, via_bus);
	signals_seen = 0;
	bus.on_signal = on_signal;
	assert_int_equal(hrun_dbus_call(&bus, "x.Dest", "/x", "x.Y", "Ping", NULL, NULL, &reply, &err), 0);
	assert_int_equal(signals_seen, 1);
	assert_string_equal(signal_arg, "Early:signal first");
	r = (struct hrun_dbus_reader){ .data = reply.body, .len = reply.body_len };
	assert_string_equal(hrun_dbus_get_string(&r), "pong");
	hrun_dbus_message_free(&reply);
	assert_int_equal(hrun_dbus_call(&bus, "x.Dest", "/x", "x.Y", "Fail", NULL, NULL, NULL, &err), -1);
	assert_string_equal(bus.last_error, "x.Error.Nope");
	assert_non_null(strstr(err.msg, "Fail: x.Error.Nope: not today"));
	/* The peer hangs up after "Bye": a clear error, not a hang. */
	assert_int_equal(hrun_dbus_call(&bus, "x.Dest", "/x", "x.Y", "Bye", NULL, NULL, NULL, &err), -1);
	assert_int_equal(err.code, ECONNRESET);
	hrun_dbus_close(&bus);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_conversation_peer(void **state)
{
	(void)state;
	converse(false);
}

static void test_conversation_bus(void **state)
{
	(void)state;
	converse(true);
}

/* A listener that never accepts, its backlog full: connect gives up after
 * the timeout instead of blocking create for good. */
static void test_connect_timeout(void **state)
{
	char dir[] = "/tmp/hrun-dbus-XXXXXX", path[128], address[160];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hrun_dbus bus = { .fd = -1, .timeout_ms = 300 };
	struct hrun_error err = { 0 };
	int lfd, fds[64], n = 0;
	struct timespec t0, t1;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	snprintf(address, sizeof(address), "unix:path=%s", path);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	for (n = 0; n < 64; n++) {
		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
	}
	assert_true(n < 64);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(hrun_dbus_open(&bus, address, false, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(err.code, ETIMEDOUT);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	for (int i = 0; i <= n; i++)
		close(fds[i]);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

/* JobRemoved counts only from systemd: its path, and on a bus its unique
 * name (any local user can send a unicast signal to ours). */
static void test_signal_trusted(void **state)
{
	struct hrun_dbus_message msg = { .path = "/org/freedesktop/systemd1", .sender = ":1.5" };
	(void)state;

	assert_true(hrun_systemd_signal_trusted(&msg, ":1.5"));
	assert_false(hrun_systemd_signal_trusted(&msg, ":1.6"));
	msg.sender = NULL;
	assert_false(hrun_systemd_signal_trusted(&msg, ":1.5"));
	/* On a bus before systemd's name is known: nothing is trusted. */
	msg.sender = ":1.5";
	assert_false(hrun_systemd_signal_trusted(&msg, ""));
	/* A peer connection: only systemd is at the other end. */
	msg.sender = NULL;
	assert_true(hrun_systemd_signal_trusted(&msg, NULL));
	msg.path = "/org/freedesktop/systemd1/unit/x";
	assert_false(hrun_systemd_signal_trusted(&msg, NULL));
	msg.path = NULL;
	assert_false(hrun_systemd_signal_trusted(&msg, NULL));
}

/* The cgroup systemd reports for a scope must be that scope's, in its
 * slice: never "/" or another unit's, which hrun would limit and kill. */
static void test_check_cgroup(void **state)
{
	static const struct {
		const char *cgroup, *slice;
		bool ok;
	} cases[] = {
		{ "/system.slice/u.scope", "system.slice", true },
		{ "/mgr/a.slice/a-b.slice/u.scope", "a-b.slice", true },
		{ "/a.slice/a-b.slice/a-b-c.slice/u.scope", "a-b-c.slice", true },
		{ "/u.scope", "-.slice", true },
		{ "/user.slice/u.scope", "-.slice", true },
		{ "/", "system.slice", false },
		{ "/", "-.slice", false },
		{ "/system.slice", "system.slice", false },
		{ "/system.slice/other.scope", "system.slice", false },
		{ "/a-b.slice/u.scope", "a-b.slice", false },
		{ "/other.slice/u.scope", "system.slice", false },
		{ "/x/../system.slice/u.scope", "system.slice", false },
		{ "/x//system.slice/u.scope", "system.slice", false },
		{ "/./system.slice/u.scope", "system.slice", false },
		{ "system.slice/u.scope", "system.slice", false },
		{ "/system.slice/xu.scope", "system.slice", false },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hrun_error err = { 0 };
		int r = hrun_systemd_check_cgroup(cases[i].cgroup, cases[i].slice, "u.scope", &err);
		if ((r == 0) != cases[i].ok)
			fail_msg("%s in %s: got %d", cases[i].cgroup, cases[i].slice, r);
	}
}

/* A peer that never answers: the call times out. */
static void test_timeout(void **state)
{
	int sv[2];
	struct hrun_dbus bus = { .fd = -1 };
	struct hrun_error err = { 0 };
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[1], "OK 0123\r\n", 9), 9);
	assert_int_equal(hrun_dbus_open_fd(&bus, sv[0], false, &err), 0);
	bus.timeout_ms = 100;
	assert_int_equal(hrun_dbus_call(&bus, "x", "/x", "x.Y", "Ping", NULL, NULL, NULL, &err), -1);
	assert_int_equal(err.code, ETIMEDOUT);
	hrun_dbus_close(&bus);
	close(sv[1]);
}

static void test_auth_refused(void **state)
{
	int sv[2];
	struct hrun_dbus bus = { .fd = -1 };
	struct hrun_error err = { 0 };
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[1], "REJECTED EXTERNAL\r\n", 19), 19);
	assert_int_equal(hrun_dbus_open_fd(&bus, sv[0], false, &err), -1);
	assert_int_equal(err.code, EACCES);
	close(sv[1]);
}

static void test_address(void **state)
{
	struct hrun_dbus bus = { .fd = -1 };
	struct hrun_error err = { 0 };
	(void)state;

	assert_int_equal(hrun_dbus_open(&bus, "tcp:host=localhost,port=1", false, &err), -1);
	assert_non_null(strstr(err.msg, "no usable unix: entry"));
	assert_int_equal(hrun_dbus_open(&bus, "unix:path=/nonexistent%2fsock", false, &err), -1);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_int_equal(hrun_dbus_open(&bus, "unix:path=/x%zz", false, &err), -1);
}

static void parses(const char *path, const char *slice, const char *unit)
{
	char *s = NULL, *u = NULL;
	struct hrun_error err = { 0 };

	assert_int_equal(hrun_systemd_parse_path(path, "ctr", false, &s, &u, &err), 0);
	assert_string_equal(s, slice);
	assert_string_equal(u, unit);
	free(s);
	free(u);
}

static void refuses(const char *path)
{
	char *s = NULL, *u = NULL;
	struct hrun_error err = { 0 };

	assert_int_equal(hrun_systemd_parse_path(path, "ctr", false, &s, &u, &err), -1);
	assert_non_null(strstr(err.msg, "cgroupsPath"));
	assert_null(s);
	assert_null(u);
}

static void test_parse_path(void **state)
{
	char *s = NULL, *u = NULL;
	struct hrun_error err = { 0 };
	(void)state;

	parses("machine.slice:libpod:abc", "machine.slice", "libpod-abc.scope");
	parses("a-b.slice:crio:x", "a-b.slice", "crio-x.scope");
	parses(":hrun:x", "system.slice", "hrun-x.scope");
	parses("-:p:n", "-.slice", "p-n.scope");
	parses("system.slice::n", "system.slice", "n.scope");
	parses(NULL, "system.slice", "hrun-ctr.scope");
	parses("", "system.slice", "hrun-ctr.scope");
	assert_int_equal(hrun_systemd_parse_path(NULL, "ctr", true, &s, &u, &err), 0);
	assert_string_equal(s, "user.slice");
	free(s);
	free(u);
	refuses("/abs/path");
	refuses("a:b");
	refuses("a:b:c:d");
	refuses("x.slice:p:");
	refuses("x.slice:p:n.slice");
	refuses("nodot:p:n");
	refuses("a--b.slice:p:n");
	refuses("-a.slice:p:n");
	refuses("a-.slice:p:n");
	refuses("a/b.slice:p:n");
	refuses("x.slice:p/q:n");
	refuses("x.slice:p:n n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_exact),
		cmocka_unit_test(test_array_padding),
		cmocka_unit_test(test_decode_roundtrip_and_refusals),
		cmocka_unit_test(test_conversation_peer),
		cmocka_unit_test(test_conversation_bus),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_signal_trusted),
		cmocka_unit_test(test_check_cgroup),
		cmocka_unit_test(test_auth_refused),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_parse_path),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
