/* Tests for the console module: a pty allocated from a root's own devpts
 * (and refused when the root plants a symlink or a fake ptmx), the console
 * socket (one fd and the name; anything else refused, no fd leaked; paths
 * longer than sun_path), /dev/console bound to the peer without ever
 * following a symlink out of the root, and the foreground proxy helpers.
 *
 * The whole program runs in a private mount namespace of its own, so every
 * mount it makes goes away with it even if a test dies half-way. Tests
 * that need to mount a devpts skip, saying why, where that is not allowed
 * (not root). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static bool mountns_ok;
static bool devpts_ok;
static char devpts_why[256];

/* --- fixtures -------------------------------------------------------------- */

struct root {
	char path[1024];
	char outside[1024]; /* a directory beside the root, for escapes */
	int fd;
};

static void at(const struct root *r, const char *rel, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", r->path, rel);

	assert_true(n > 0 && n < PATH_MAX);
}

static void mk(const struct root *r, const char *rel)
{
	char p[PATH_MAX];

	at(r, rel, p);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void ln(const struct root *r, const char *target, const char *rel)
{
	char p[PATH_MAX];

	at(r, rel, p);
	assert_int_equal(symlink(target, p), 0);
}

static void touch(const char *p)
{
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	close(fd);
}

static int mount_devpts(const char *p)
{
	return mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666");
}

/* A devpts of its own at REL inside the root, or the test is skipped. */
static void need_devpts(const struct root *r, const char *rel)
{
	char p[PATH_MAX];

	if (!devpts_ok) {
		print_message("skipped: cannot mount a devpts instance: %s\n", devpts_why);
		skip();
	}
	at(r, rel, p);
	assert_int_equal(mount_devpts(p), 0);
}

/* Children that bind need a mount namespace of their own. */
static void need_mountns(void)
{
	if (!mountns_ok) {
		print_message("skipped: no mount namespace: %s\n", devpts_why);
		skip();
	}
}

static int setup_root(void **state)
{
	struct root *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	strcpy(r->path, "/tmp/hrun-console-XXXXXX");
	if (!mkdtemp(r->path))
		return -1;
	/* root at T/root, the escape target at T/outside */
	snprintf(r->outside, sizeof(r->outside), "%s/outside", r->path);
	if (mkdir(r->outside, 0755) < 0)
		return -1;
	strcat(r->path, "/root");
	if (mkdir(r->path, 0755) < 0)
		return -1;
	r->fd = open(r->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return -1;
	*state = r;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(p) < 0 ? -1 : 0;
	return unlink(p) < 0 ? -1 : 0;
}

static int teardown_root(void **state)
{
	struct root *r = *state;
	static const char *const mounts[] = { "dev/console", "dev/pts", "dev/pts2" };
	char top[PATH_MAX];
	char p[PATH_MAX];
	int rc;

	struct stat st;

	/* Through a dev that is a symlink these would name host mounts. */
	snprintf(p, sizeof(p), "%s/dev", r->path);
	if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
		for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", r->path, mounts[i]);
			while (umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
				;
		}
	}
	close(r->fd);
	snprintf(top, sizeof(top), "%s", r->path);
	*strrchr(top, '/') = '\0';
	/* FTW_MOUNT: never into a mount that is still there. */
	rc = nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	free(r);
	return rc;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static bool cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	assert_true(flags >= 0);
	return flags & FD_CLOEXEC;
}

/* A pty from the host's /dev/ptmx, for the helpers that do not care where
 * it came from. */
static int host_pty(int *peer)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (master < 0)
		print_message("posix_openpt: %s\n", strerror(errno));
	assert_true(master >= 0);
	assert_int_equal(unlockpt(master), 0);
	*peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(*peer >= 0);
	return master;
}

static ssize_t read_timeout(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 5000), 1);
	return read(fd, buf, len);
}

/* Run FN in a child; returns its exit status (0 = all checks passed; any
 * other value is the number of the check that failed). */
static int in_child(int (*fn)(struct root *), struct root *r)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(r));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* --- pty allocation -------------------------------------------------------- */

static void test_open_pty(void **state)
{
	struct root *r = *state;
	struct winsize ws;
	struct stat pst;
	struct stat nst;
	struct stat dst;
	struct statfs sfs;
	struct hrun_error err = { 0 };
	char p[PATH_MAX];
	char rel[64];
	char buf[64];
	char *name = NULL;
	unsigned int n;
	int peer = -1;
	int master;

	mk(r, "dev");
	mk(r, "dev/pts");
	need_devpts(r, "dev/pts");
	master = hrun_console_open_pty(r->fd, 33, 101, &peer, &name, &err);
	assert_true(master >= 0);
	assert_true(peer >= 0);
	assert_true(cloexec(master));
	assert_true(cloexec(peer));

	/* The name is that of the peer, in the root's own devpts. */
	assert_non_null(name);
	assert_int_equal(sscanf(name, "/dev/pts/%u", &n), 1);
	snprintf(rel, sizeof(rel), "dev/pts/%u", n);
	at(r, rel, p);
	assert_int_equal(stat(p, &nst), 0);
	assert_int_equal(fstat(peer, &pst), 0);
	assert_int_equal(nst.st_dev, pst.st_dev);
	assert_int_equal(nst.st_ino, pst.st_ino);
	at(r, "dev/pts", p);
	assert_int_equal(stat(p, &dst), 0);
	assert_int_equal(pst.st_dev, dst.st_dev);
	assert_int_equal(fstatfs(peer, &sfs), 0);
	assert_int_equal(sfs.f_type, DEVPTS_SUPER_MAGIC);

	assert_int_equal(ioctl(peer, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 33);
	assert_int_equal(ws.ws_col, 101);

	/* Both ways through. */
	assert_int_equal(write(peer, "ping", 4), 4);
	assert_int_equal(read_timeout(master, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(write(master, "pong\n", 5), 5);
	assert_int_equal(read_timeout(peer, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "pong\n", 5);

	free(name);
	close(peer);
	close(master);
}

static void test_open_pty_size(void **state)
{
	struct root *r = *state;
	struct hrun_error err = { 0 };
	struct winsize ws;
	int peer = -1;
	int master;

	mk(r, "dev");
	mk(r, "dev/pts");
	need_devpts(r, "dev/pts");

	/* 0 leaves the size alone; the name may be skipped. */
	master = hrun_console_open_pty(r->fd, 0, 0, &peer, NULL, &err);
	assert_true(master >= 0);
	assert_int_equal(ioctl(peer, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 0);
	assert_int_equal(ws.ws_col, 0);
	close(peer);
	close(master);

	master = hrun_console_open_pty(r->fd, 0, 80, &peer, NULL, &err);
	assert_true(master >= 0);
	assert_int_equal(ioctl(peer, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 0);
	assert_int_equal(ws.ws_col, 80);
	close(peer);
	close(master);

	peer = -1;
	assert_int_equal(hrun_console_open_pty(r->fd, 70000, 80, &peer, NULL, &err), -1);
	assert_int_equal(err.code, EINVAL);
	assert_int_equal(peer, -1);
}

/* No devpts at dev/pts, but dev/ptmx leads to one inside the root. */
static void test_open_pty_fallback(void **state)
{
	struct root *r = *state;
	struct hrun_error err = { 0 };
	struct stat pst;
	struct stat dst;
	char p[PATH_MAX];
	char *name = NULL;
	int peer = -1;
	int master;

	mk(r, "dev");
	mk(r, "dev/pts2");
	need_devpts(r, "dev/pts2");
	ln(r, "pts2/ptmx", "dev/ptmx");
	master = hrun_console_open_pty(r->fd, 0, 0, &peer, &name, &err);
	if (master < 0)
		print_message("%s\n", err.msg);
	assert_true(master >= 0);
	assert_true(cloexec(master));
	assert_int_equal(fstat(peer, &pst), 0);
	at(r, "dev/pts2", p);
	assert_int_equal(stat(p, &dst), 0);
	assert_int_equal(pst.st_dev, dst.st_dev);
	assert_int_equal(strncmp(name, "/dev/pts/", 9), 0);
	free(name);
	close(peer);
	close(master);
}

struct hostile {
	const char *what;
	void (*make)(const struct root *r);
	bool mknod; /* needs CAP_MKNOD */
};

static void ptmx_abs_symlink(const struct root *r)
{
	mk(r, "dev");
	mk(r, "dev/pts");
	ln(r, "/dev/ptmx", "dev/pts/ptmx");
}

static void ptmx_dotdot_symlink(const struct root *r)
{
	mk(r, "dev");
	mk(r, "dev/pts");
	ln(r, "../../../../../../../../../../dev/ptmx", "dev/pts/ptmx");
}

static void ptmx_regular_file(const struct root *r)
{
	char p[PATH_MAX];

	mk(r, "dev");
	mk(r, "dev/pts");
	at(r, "dev/pts/ptmx", p);
	touch(p);
}

static void ptmx_fake_node(const struct root *r)
{
	char p[PATH_MAX];

	mk(r, "dev");
	mk(r, "dev/pts");
	at(r, "dev/pts/ptmx", p);
	assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(5, 2)), 0);
}

static void pts_dir_to_host(const struct root *r)
{
	mk(r, "dev");
	ln(r, "/dev/pts", "dev/pts");
}

static void dev_ptmx_to_host(const struct root *r)
{
	mk(r, "dev");
	ln(r, "/dev/pts/ptmx", "dev/ptmx");
}

static void dev_ptmx_fake_node(const struct root *r)
{
	char p[PATH_MAX];

	mk(r, "dev");
	at(r, "dev/ptmx", p);
	assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(5, 2)), 0);
}

static void dev_to_host(const struct root *r)
{
	ln(r, "/dev", "dev");
}

static void nothing(const struct root *r)
{
	(void)r;
}

static const struct hostile hostile_roots[] = {
	{ "dev/pts/ptmx -> /dev/ptmx", ptmx_abs_symlink },
	{ "dev/pts/ptmx -> ../../../dev/ptmx", ptmx_dotdot_symlink },
	{ "dev/pts/ptmx a regular file", ptmx_regular_file },
	{ "dev/pts/ptmx a char 5:2 not on devpts", ptmx_fake_node, true },
	{ "dev/pts -> /dev/pts", pts_dir_to_host },
	{ "dev/ptmx -> /dev/pts/ptmx", dev_ptmx_to_host },
	{ "dev/ptmx a char 5:2 not on devpts", dev_ptmx_fake_node, true },
	{ "dev -> /dev", dev_to_host },
	{ "no dev at all", nothing },
};

/* Each of these leads a naive open (a path string under the root, with
 * at most an fstatfs check) to the host's devpts, or opens a node the
 * image planted. */
static void test_open_pty_hostile(void **state)
{
	for (size_t i = 0; i < sizeof(hostile_roots) / sizeof(hostile_roots[0]); i++) {
		struct root *r = NULL;
		struct hrun_error err = { 0 };
		char *name = NULL;
		int peer = -1;
		int before;

		(void)state;
		if (hostile_roots[i].mknod && geteuid() != 0) {
			print_message("%s: not tried, mknod needs root\n", hostile_roots[i].what);
			continue;
		}
		assert_int_equal(setup_root((void **)&r), 0);
		hostile_roots[i].make(r);
		before = count_fds();
		assert_int_equal(hrun_console_open_pty(r->fd, 0, 0, &peer, &name, &err), -1);
		print_message("%s: %s\n", hostile_roots[i].what, err.msg);
		assert_int_equal(peer, -1);
		assert_null(name);
		assert_true(err.msg[0] != '\0');
		assert_int_equal(count_fds(), before);
		assert_int_equal(teardown_root((void **)&r), 0);
	}
}

/* --- the console socket ---------------------------------------------------- */

static void test_send_recv(void **state)
{
	struct hrun_error err = { 0 };
	struct stat a;
	struct stat b;
	char *name = NULL;
	int sv[2];
	int peer;
	int master;
	int got;

	(void)state;
	master = host_pty(&peer);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(hrun_console_send(sv[0], master, "/dev/pts/7", &err), 0);
	got = hrun_console_recv(sv[1], &name, &err);
	assert_true(got >= 0);
	assert_string_equal(name, "/dev/pts/7");
	assert_true(cloexec(got));
	assert_int_equal(fstat(master, &a), 0);
	assert_int_equal(fstat(got, &b), 0);
	assert_int_equal(a.st_dev, b.st_dev);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_rdev, b.st_rdev);
	/* It is the very same open file: it reaches the same peer. */
	assert_int_equal(write(peer, "x", 1), 1);
	{
		char c;

		assert_int_equal(read_timeout(got, &c, 1), 1);
		assert_int_equal(c, 'x');
	}

	/* Without a name there is nothing to carry the fd on a stream. */
	assert_int_equal(hrun_console_send(sv[0], master, "", &err), -1);
	assert_int_equal(err.code, EINVAL);
	assert_int_equal(hrun_console_send(sv[0], master, NULL, &err), -1);

	free(name);
	close(got);
	close(sv[0]);
	close(sv[1]);
	close(peer);
	close(master);
}

static void send_fds(int sock, const int *fds, size_t n, const char *data)
{
	char buf[CMSG_SPACE(sizeof(int) * 64)];
	struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	assert_true(n <= 64);
	memset(buf, 0, sizeof(buf));
	if (n) {
		msg.msg_control = buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)strlen(data));
}

/* A message with N fds (0, 2, more than the receive buffer holds) is
 * refused, and none of what it carried stays open. */
static void recv_refuses(size_t n)
{
	struct hrun_error err = { 0 };
	char *name = NULL;
	int fds[64];
	int sv[2];
	int before;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	for (size_t i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	send_fds(sv[0], fds, n, "/dev/pts/0");
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	before = count_fds();
	assert_int_equal(hrun_console_recv(sv[1], &name, &err), -1);
	print_message("%zu fds: %s\n", n, err.msg);
	assert_int_equal(err.code, EBADMSG);
	assert_null(name);
	assert_int_equal(count_fds(), before);
	close(sv[0]);
	close(sv[1]);
}

static void test_recv_refuses(void **state)
{
	(void)state;
	recv_refuses(0);
	recv_refuses(2);
	recv_refuses(3);
	recv_refuses(40);
}

static void test_recv_eof(void **state)
{
	struct hrun_error err = { 0 };
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[0]);
	assert_int_equal(hrun_console_recv(sv[1], NULL, &err), -1);
	assert_int_equal(err.code, EPIPE);
	close(sv[1]);
}

/* A listening socket at DIR/NAME, bound from inside DIR so that the path
 * length does not matter to the test itself. */
static int listen_at(const char *dir, const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(cwd >= 0 && fd >= 0);
	strcpy(addr.sun_path, name);
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void connect_and_send(const char *dir, const char *sock_name)
{
	struct hrun_error err = { 0 };
	char path[1024];
	char *name = NULL;
	struct stat a;
	struct stat b;
	int lfd = listen_at(dir, sock_name);
	int peer;
	int master;
	int cfd;
	int afd;
	int got;

	snprintf(path, sizeof(path), "%s/%s", dir, sock_name);
	cfd = hrun_console_connect(path, &err);
	if (cfd < 0)
		print_message("%s\n", err.msg);
	assert_true(cfd >= 0);
	assert_true(cloexec(cfd));
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(afd >= 0);

	master = host_pty(&peer);
	assert_int_equal(hrun_console_send(cfd, master, "/dev/pts/3", &err), 0);
	got = hrun_console_recv(afd, &name, &err);
	assert_true(got >= 0);
	assert_string_equal(name, "/dev/pts/3");
	assert_int_equal(fstat(master, &a), 0);
	assert_int_equal(fstat(got, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);

	free(name);
	close(got);
	close(master);
	close(peer);
	close(afd);
	close(cfd);
	close(lfd);
}

static void test_connect(void **state)
{
	struct root *r = *state;
	struct hrun_error err = { 0 };
	char dir[PATH_MAX];
	char cwd_before[PATH_MAX];
	char cwd_after[PATH_MAX];
	char missing[PATH_MAX];

	assert_non_null(getcwd(cwd_before, sizeof(cwd_before)));

	/* short: as is */
	connect_and_send(r->outside, "s.sock");

	/* longer than sun_path (108 bytes) */
	snprintf(dir, sizeof(dir), "%s/%0100d", r->outside, 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_true(strlen(dir) + strlen("/console.sock") >= sizeof(((struct sockaddr_un *)0)->sun_path));
	connect_and_send(dir, "console.sock");

	/* a relative long path */
	assert_int_equal(chdir(r->outside), 0);
	{
		char rel[PATH_MAX];
		char rel_dir[256];
		int lfd;
		int cfd;

		snprintf(rel_dir, sizeof(rel_dir), "%0120d", 1);
		assert_int_equal(mkdir(rel_dir, 0755), 0);
		lfd = listen_at(rel_dir, "c.sock");
		snprintf(rel, sizeof(rel), "%s/c.sock", rel_dir);
		cfd = hrun_console_connect(rel, &err);
		assert_true(cfd >= 0);
		close(cfd);
		close(lfd);
	}
	assert_int_equal(chdir(cwd_before), 0);

	/* missing, short and long; the cwd is never changed */
	snprintf(missing, sizeof(missing), "%s/nope.sock", r->outside);
	assert_int_equal(hrun_console_connect(missing, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, missing));
	snprintf(missing, sizeof(missing), "%s/nope.sock", dir);
	assert_int_equal(hrun_console_connect(missing, &err), -1);
	assert_int_equal(err.code, ENOENT);
	snprintf(missing, sizeof(missing), "%s/%0100d/x.sock", r->outside, 2);
	assert_int_equal(hrun_console_connect(missing, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_int_equal(hrun_console_connect("", &err), -1);
	assert_int_equal(err.code, EINVAL);
	assert_non_null(getcwd(cwd_after, sizeof(cwd_after)));
	assert_string_equal(cwd_before, cwd_after);
}

/* --- /dev/console ---------------------------------------------------------- */

/* In a mount namespace of the child's own, so the bind dies with it. */
static int private_ns(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

static int bind_console_child(struct root *r)
{
	struct hrun_error err = { 0 };
	struct stat cst;
	struct stat pst;
	char p[PATH_MAX];
	char c = 0;
	int rootfd;
	int master;
	int peer = -1;
	int fd;

	if (private_ns() < 0)
		return 1;
	/* Our root fd must name the root in this namespace. */
	rootfd = open(r->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return 2;
	master = hrun_console_open_pty(rootfd, 0, 0, &peer, NULL, &err);
	if (master < 0)
		return 3;
	snprintf(p, sizeof(p), "%s/dev/console", r->path);
	if (lstat(p, &cst) == 0)
		return 4; /* it is made by the bind */
	if (hrun_console_bind_dev_console(rootfd, peer, &err) < 0) {
		fprintf(stderr, "bind: %s\n", err.msg);
		return 5;
	}
	if (stat(p, &cst) < 0 || fstat(peer, &pst) < 0)
		return 6;
	if (!S_ISCHR(cst.st_mode) || cst.st_rdev != pst.st_rdev)
		return 7;
	/* What is written to /dev/console reaches the master. */
	fd = open(p, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || write(fd, "c", 1) != 1)
		return 8;
	if (read(master, &c, 1) != 1 || c != 'c')
		return 9;
	return 0;
}

static void test_bind_dev_console(void **state)
{
	struct root *r = *state;
	char p[PATH_MAX];
	struct stat st;

	mk(r, "dev");
	mk(r, "dev/pts");
	need_devpts(r, "dev/pts");
	assert_int_equal(in_child(bind_console_child, r), 0);
	/* Made as an empty regular file; the bind went with the namespace. */
	at(r, "dev/console", p);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
}

static int existing_console_child(struct root *r)
{
	struct hrun_error err = { 0 };
	struct stat cst;
	struct stat pst;
	char p[PATH_MAX];
	int rootfd;
	int master;
	int peer = -1;

	if (private_ns() < 0)
		return 1;
	rootfd = open(r->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return 2;
	master = hrun_console_open_pty(rootfd, 0, 0, &peer, NULL, &err);
	if (master < 0)
		return 3;
	if (hrun_console_bind_dev_console(rootfd, peer, &err) < 0)
		return 4;
	snprintf(p, sizeof(p), "%s/dev/console", r->path);
	if (stat(p, &cst) < 0 || fstat(peer, &pst) < 0 || cst.st_rdev != pst.st_rdev)
		return 5;
	return 0;
}

/* An image's own dev/console (a char device, here /dev/null's) is
 * covered. */
static void test_bind_dev_console_existing(void **state)
{
	struct root *r = *state;
	char p[PATH_MAX];

	mk(r, "dev");
	mk(r, "dev/pts");
	need_devpts(r, "dev/pts");
	at(r, "dev/console", p);
	assert_int_equal(mknod(p, S_IFCHR | 0600, makedev(1, 3)), 0);
	assert_int_equal(in_child(existing_console_child, r), 0);
}

static int hostile_console_child(struct root *r)
{
	struct hrun_error err = { 0 };
	int master;
	int peer = -1;
	int rootfd;

	if (private_ns() < 0)
		return 1;
	rootfd = open(r->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return 2;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || unlockpt(master) < 0)
		return 3;
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		return 4;
	if (hrun_console_bind_dev_console(rootfd, peer, &err) == 0)
		return 5;
	fprintf(stderr, "refused as expected: %s\n", err.msg);
	/* Seen from this namespace, where a bind would be: no pty anywhere. */
	for (int i = 0; i < 2; i++) {
		char p[PATH_MAX];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", i ? r->path : r->outside, i ? "etc/shadow" : "console");
		if (lstat(p, &st) == 0 && !S_ISREG(st.st_mode))
			return 6;
	}
	return 0;
}

/* The host-side target is untouched: still an empty regular file, and
 * nothing new appeared beside it. */
static void assert_outside_untouched(const struct root *r, const char *target)
{
	struct stat st;
	DIR *d;
	int n = 0;

	assert_int_equal(lstat(target, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	d = opendir(r->outside);
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	assert_int_equal(n, 3); /* ".", "..", "console" */
}

static void test_bind_dev_console_symlink(void **state)
{
	struct root *r = *state;
	char target[PATH_MAX];

	need_mountns();
	snprintf(target, sizeof(target), "%s/console", r->outside);
	touch(target);
	mk(r, "dev");

	/* absolute, which a plain path would follow to the host */
	ln(r, target, "dev/console");
	assert_int_equal(in_child(hostile_console_child, r), 0);
	assert_outside_untouched(r, target);

	/* relative, climbing out */
	{
		char p[PATH_MAX];

		at(r, "dev/console", p);
		assert_int_equal(unlink(p), 0);
	}
	ln(r, "../../outside/console", "dev/console");
	assert_int_equal(in_child(hostile_console_child, r), 0);
	assert_outside_untouched(r, target);

	/* Even inside the root, the bind never lands on a symlink's target
	 * (an image's /dev/console -> /etc/shadow). */
	{
		char p[PATH_MAX];
		struct stat st;

		at(r, "dev/console", p);
		assert_int_equal(unlink(p), 0);
		mk(r, "etc");
		at(r, "etc/shadow", p);
		touch(p);
		ln(r, "/etc/shadow", "dev/console");
		assert_int_equal(in_child(hostile_console_child, r), 0);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}
}

/* dev itself leads out: the file must not be made, nor bound, there. */
static void test_bind_dev_console_dev_symlink(void **state)
{
	struct root *r = *state;
	char target[PATH_MAX];

	need_mountns();
	snprintf(target, sizeof(target), "%s/console", r->outside);
	touch(target);
	ln(r, r->outside, "dev");
	assert_int_equal(in_child(hostile_console_child, r), 0);
	assert_outside_untouched(r, target);
}

/* --- stdio and controlling terminal --------------------------------------- */

static int set_stdio_child(struct root *r)
{
	struct hrun_error err = { 0 };
	struct stat a;
	struct stat b;
	char c = 0;
	int master;
	int peer;
	int tty;

	(void)r;
	if (setsid() < 0)
		return 1;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || unlockpt(master) < 0)
		return 2;
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		return 3;
	if (hrun_console_set_stdio(peer, &err) < 0)
		return 4;
	if (fstat(peer, &a) < 0)
		return 5;
	for (int fd = 0; fd <= 2; fd++) {
		int flags = fcntl(fd, F_GETFD);

		if (!isatty(fd) || flags < 0 || (flags & FD_CLOEXEC))
			return 6;
		if (fstat(fd, &b) < 0 || b.st_rdev != a.st_rdev)
			return 7;
	}
	/* It is our controlling terminal. */
	if (tcgetsid(0) != getpid())
		return 8;
	tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (tty < 0 || write(tty, "t", 1) != 1)
		return 9;
	if (read(master, &c, 1) != 1 || c != 't')
		return 10;
	return 0;
}

static int no_setsid_child(struct root *r)
{
	struct hrun_error err = { 0 };
	int master;
	int peer;

	(void)r;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || unlockpt(master) < 0)
		return 2;
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		return 3;
	/* Not a session leader: the pty cannot become our terminal. */
	if (hrun_console_set_stdio(peer, &err) == 0)
		return 4;
	return 0;
}

static void test_set_stdio(void **state)
{
	(void)state;
	assert_int_equal(in_child(set_stdio_child, NULL), 0);
	assert_int_equal(in_child(no_setsid_child, NULL), 0);
}

/* --- foreground proxy helpers --------------------------------------------- */

static void test_pump_pipe(void **state)
{
	char buf[16];
	int in[2];
	int out[2];

	(void)state;
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(write(in[1], "hello", 5), 5);
	assert_int_equal(hrun_console_pump(in[0], out[1]), 5);
	assert_int_equal(read(out[0], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);

	/* Nothing readable on a non-blocking source: EAGAIN, not EOF. */
	assert_int_equal(fcntl(in[0], F_SETFL, O_NONBLOCK), 0);
	errno = 0;
	assert_int_equal(hrun_console_pump(in[0], out[1]), -1);
	assert_int_equal(errno, EAGAIN);

	close(in[1]);
	assert_int_equal(hrun_console_pump(in[0], out[1]), 0);

	/* A bad target is an error, not a silent loss. */
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(write(in[1], "x", 1), 1);
	assert_int_equal(hrun_console_pump(in[0], -1), -1);
	assert_int_equal(errno, EBADF);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}

static void test_pump_pty_eof(void **state)
{
	char buf[16];
	int out[2];
	int peer;
	int master;

	(void)state;
	master = host_pty(&peer);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(write(peer, "abc", 3), 3);
	{
		struct pollfd p = { .fd = master, .events = POLLIN };

		assert_int_equal(poll(&p, 1, 5000), 1);
	}
	assert_int_equal(hrun_console_pump(master, out[1]), 3);
	assert_int_equal(read(out[0], buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "abc", 3);
	/* The peer closed everywhere: the master reads EIO, which is EOF. */
	close(peer);
	assert_int_equal(hrun_console_pump(master, out[1]), 0);
	close(master);
	close(out[0]);
	close(out[1]);
}

/* A target that takes less than one read: the rest waits for room. */
static void test_pump_partial_writes(void **state)
{
	enum { TOTAL = 256 * 1024 };
	int in[2];
	int out[2];
	size_t moved = 0;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_true(fcntl(in[1], F_SETPIPE_SZ, TOTAL) >= TOTAL);
	assert_true(fcntl(out[1], F_SETPIPE_SZ, 4096) >= 0);
	assert_int_equal(fcntl(out[1], F_SETFL, O_NONBLOCK), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A slow reader that checks every byte. */
		size_t got = 0;
		char buf[1000];

		close(out[1]);
		close(in[0]);
		close(in[1]);
		usleep(50000);
		for (;;) {
			ssize_t n = read(out[0], buf, sizeof(buf));

			if (n < 0)
				_exit(1);
			if (n == 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != (char)((got + (size_t)i) % 251))
					_exit(2);
			got += (size_t)n;
		}
		_exit(got == TOTAL ? 0 : 3);
	}
	close(out[0]);
	{
		char *data = malloc(TOTAL);

		assert_non_null(data);
		for (size_t i = 0; i < TOTAL; i++)
			data[i] = (char)(i % 251);
		assert_int_equal(write(in[1], data, TOTAL), TOTAL);
		free(data);
	}
	close(in[1]);
	for (;;) {
		ssize_t n = hrun_console_pump(in[0], out[1]);

		assert_true(n >= 0);
		if (n == 0)
			break;
		moved += (size_t)n;
	}
	assert_int_equal(moved, TOTAL);
	close(out[1]);
	close(in[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_raw_restore(void **state)
{
	struct hrun_error err = { 0 };
	struct termios saved;
	struct termios t;
	bool changed = true;
	int p[2];
	int peer;
	int master;

	(void)state;
	master = host_pty(&peer);
	assert_int_equal(hrun_console_raw(peer, &saved, &changed, &err), 0);
	assert_true(changed);
	assert_true(saved.c_lflag & ICANON);
	assert_int_equal(tcgetattr(peer, &t), 0);
	assert_false(t.c_lflag & (ICANON | ECHO | ISIG));
	assert_false(t.c_oflag & OPOST);
	hrun_console_restore(peer, &saved, changed);
	assert_int_equal(tcgetattr(peer, &t), 0);
	assert_true(t.c_lflag & ICANON);
	assert_true(t.c_lflag & ECHO);

	/* Not a terminal: nothing to do, nothing to restore. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(hrun_console_raw(p[0], &saved, &changed, &err), 0);
	assert_false(changed);
	hrun_console_restore(p[0], &saved, changed);
	/* A closed fd is an error. */
	assert_int_equal(hrun_console_raw(-1, &saved, &changed, &err), -1);
	assert_int_equal(err.code, EBADF);
	close(p[0]);
	close(p[1]);
	close(peer);
	close(master);
}

static void test_copy_winsize(void **state)
{
	struct winsize ws = { .ws_row = 42, .ws_col = 132 };
	struct winsize got;
	int p[2];
	int apeer;
	int bpeer;
	int amaster;
	int bmaster;

	(void)state;
	amaster = host_pty(&apeer);
	bmaster = host_pty(&bpeer);
	assert_int_equal(ioctl(apeer, TIOCSWINSZ, &ws), 0);
	hrun_console_copy_winsize(apeer, bmaster);
	assert_int_equal(ioctl(bpeer, TIOCGWINSZ, &got), 0);
	assert_int_equal(got.ws_row, 42);
	assert_int_equal(got.ws_col, 132);

	/* From a non-tty: left as it was. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	hrun_console_copy_winsize(p[0], bmaster);
	assert_int_equal(ioctl(bpeer, TIOCGWINSZ, &got), 0);
	assert_int_equal(got.ws_row, 42);
	close(p[0]);
	close(p[1]);
	close(apeer);
	close(bpeer);
	close(amaster);
	close(bmaster);
}

/* --- main ------------------------------------------------------------------ */

/* A private mount namespace for the whole run, and whether a devpts
 * instance can be mounted in it. */
static int group_setup(void **state)
{
	char dir[] = "/tmp/hrun-console-probe-XXXXXX";

	(void)state;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		snprintf(devpts_why, sizeof(devpts_why), "private mount namespace: %s", strerror(errno));
		return 0;
	}
	mountns_ok = true;
	if (!mkdtemp(dir))
		return -1;
	if (mount_devpts(dir) < 0) {
		snprintf(devpts_why, sizeof(devpts_why), "mount devpts: %s", strerror(errno));
	} else {
		devpts_ok = true;
		umount2(dir, MNT_DETACH);
	}
	rmdir(dir);
	return 0;
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_root, teardown_root)
	const struct CMUnitTest tests[] = {
		T(test_open_pty),
		T(test_open_pty_size),
		T(test_open_pty_fallback),
		cmocka_unit_test(test_open_pty_hostile),
		cmocka_unit_test(test_send_recv),
		cmocka_unit_test(test_recv_refuses),
		cmocka_unit_test(test_recv_eof),
		T(test_connect),
		T(test_bind_dev_console),
		T(test_bind_dev_console_existing),
		T(test_bind_dev_console_symlink),
		T(test_bind_dev_console_dev_symlink),
		cmocka_unit_test(test_set_stdio),
		cmocka_unit_test(test_pump_pipe),
		cmocka_unit_test(test_pump_pty_eof),
		cmocka_unit_test(test_pump_partial_writes),
		cmocka_unit_test(test_raw_restore),
		cmocka_unit_test(test_copy_winsize),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
