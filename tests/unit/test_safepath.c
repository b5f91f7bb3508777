/* Tests for the resolver safepath falls back to where openat2 is missing
 * (hrun_open_in_root_walk): on hostile trees made in a tmpdir (absolute
 * symlinks, ".." beyond the root, loops, long chains, dangling links, a
 * file used as a directory) and on the host's /proc (magic links), its
 * answer must be openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)'s: the
 * same errno, or an fd to the same object. Nothing outside the root may
 * ever be reached: a "secret" next to the root is never opened. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safepath.h"
#include "syscalls.h"

static char top[] = "/tmp/hrun-safepath.XXXXXX";
static int rootfd = -1;
static struct stat secret;

static void mk(const char *kind, const char *path, const char *target)
{
	char full[4096];
	int fd;

	snprintf(full, sizeof(full), "%s/%s", top, path);
	if (strcmp(kind, "dir") == 0) {
		assert_int_equal(mkdir(full, 0755), 0);
	} else if (strcmp(kind, "file") == 0) {
		fd = open(full, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
	} else {
		assert_int_equal(symlink(target, full), 0);
	}
}

/* TOP/secret sits next to the root TOP/root: reaching it is an escape. */
static int setup_tree(void **state)
{
	char name[4096];
	char target[16];

	(void)state;
	assert_non_null(mkdtemp(top));
	mk("file", "secret", NULL);
	mk("dir", "root", NULL);
	mk("dir", "root/dir", NULL);
	mk("dir", "root/dir/sub", NULL);
	mk("file", "root/dir/file", NULL);
	mk("link", "root/abs", "/dir");
	mk("link", "root/escape", "/../../../..");
	mk("link", "root/dotdot", "../../..");
	mk("link", "root/dir/up", "..");
	mk("link", "root/dir/sub/rootlink", "/");
	mk("link", "root/dir/sub/secretlink", "../../../secret");
	mk("link", "root/abssecret", "/../secret");
	mk("link", "root/hostpath", "/etc/passwd");
	mk("link", "root/filelink", "dir/file");
	mk("link", "root/loop1", "loop2");
	mk("link", "root/loop2", "loop1");
	mk("link", "root/self", "self");
	mk("link", "root/dangling", "nowhere");
	mk("link", "root/empty-ish", "./");
	/* c0 -> c1 -> ... -> c44 -> dir: 45 links, past the kernel's 40;
	 * from c10 it takes 35, within it. */
	for (int i = 0; i < 45; i++) {
		snprintf(name, sizeof(name), "root/c%d", i);
		snprintf(target, sizeof(target), i == 44 ? "dir" : "c%d", i + 1);
		mk("link", name, target);
	}
	snprintf(name, sizeof(name), "%s/secret", top);
	assert_int_equal(stat(name, &secret), 0);
	rootfd = openat(AT_FDCWD, top, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	{
		int r = openat(rootfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
		assert_true(r >= 0);
		close(rootfd);
		rootfd = r;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown_tree(void **state)
{
	(void)state;
	close(rootfd);
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static bool have_openat2(void)
{
	int fd = hrun_openat2(AT_FDCWD, "/", O_PATH | O_CLOEXEC, 0, 0);

	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno != ENOSYS;
}

/* The walk's answer for PATH is openat2's; WANT_ERR, when non-zero, is
 * the errno both must give (so that the test says what is expected, not
 * only that the two agree). Returns the walk's fd for more checks. */
static void same_answer(int root, const char *path, int flags, int want_err)
{
	int walk_fd, kernel_fd, walk_errno, kernel_errno;
	struct stat a, b;

	errno = 0;
	walk_fd = hrun_open_in_root_walk(root, path, flags);
	walk_errno = errno;
	if (want_err && walk_fd >= 0)
		fail_msg("%s (flags %#x): the walk opened it, want %s", path, flags, strerror(want_err));
	if (want_err && walk_errno != want_err)
		fail_msg("%s (flags %#x): the walk says %s, want %s", path, flags, strerror(walk_errno),
			 strerror(want_err));
	if (walk_fd >= 0) {
		assert_int_equal(fstat(walk_fd, &a), 0);
		if (a.st_dev == secret.st_dev && a.st_ino == secret.st_ino)
			fail_msg("%s: the walk reached the secret outside the root", path);
		/* Every fd hrun gets is close-on-exec. */
		assert_true(fcntl(walk_fd, F_GETFD) & FD_CLOEXEC);
	}
	if (!have_openat2()) {
		if (walk_fd >= 0)
			close(walk_fd);
		return;
	}
	kernel_fd = hrun_openat2(root, path, (uint64_t)(flags | O_CLOEXEC), 0,
				 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	kernel_errno = errno;
	if ((walk_fd >= 0) != (kernel_fd >= 0))
		fail_msg("%s (flags %#x): the walk %s (%s), openat2 %s (%s)", path, flags,
			 walk_fd >= 0 ? "opened it" : "failed", strerror(walk_errno),
			 kernel_fd >= 0 ? "opened it" : "failed", strerror(kernel_errno));
	if (walk_fd < 0) {
		if (walk_errno != kernel_errno)
			fail_msg("%s (flags %#x): the walk says %s, openat2 %s", path, flags,
				 strerror(walk_errno), strerror(kernel_errno));
		return;
	}
	assert_int_equal(fstat(kernel_fd, &b), 0);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino || (a.st_mode & S_IFMT) != (b.st_mode & S_IFMT))
		fail_msg("%s (flags %#x): the walk and openat2 opened different objects", path, flags);
	close(walk_fd);
	close(kernel_fd);
}

static const int flag_sets[] = { O_PATH, O_PATH | O_NOFOLLOW, O_PATH | O_DIRECTORY, O_RDONLY };

static void every_flag_set(const char *path)
{
	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++)
		same_answer(rootfd, path, flag_sets[i], 0);
}

static void test_plain_paths(void **state)
{
	static const char *const paths[] = {
		"/", ".", "dir", "/dir/", "dir/./sub/../file", "//dir//sub///", "dir/file",
		"dir/file/", "missing", "dir/missing/x", "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		every_flag_set(paths[i]);
	same_answer(rootfd, "", O_PATH, ENOENT);
	same_answer(rootfd, "dir/file/x", O_PATH, ENOTDIR);
	same_answer(rootfd, "dir/file", O_PATH | O_DIRECTORY, ENOTDIR);
}

/* ".." and absolute symlinks stay inside the root: the secret next to
 * it is out of reach, whichever way the path tries. */
static void test_dotdot_and_absolute_links_stay_inside(void **state)
{
	static const char *const paths[] = {
		"..", "../secret", "/../secret", "/../../../secret", "dir/../../secret",
		"escape", "escape/secret", "escape/dir", "dotdot/secret", "dotdot/dir/file",
		"abs", "abs/file", "abs/../../secret", "dir/up/up/up/secret", "dir/sub/rootlink/dir",
		"dir/sub/rootlink/../secret", "dir/sub/secretlink", "abssecret", "hostpath",
		"empty-ish/dir",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		every_flag_set(paths[i]);
	same_answer(rootfd, "../secret", O_PATH, ENOENT);
	same_answer(rootfd, "dir/sub/secretlink", O_RDONLY, ENOENT);
	same_answer(rootfd, "abssecret", O_PATH, ENOENT);
	/* /etc/passwd of the host is not the root's (it has no etc). */
	same_answer(rootfd, "hostpath", O_RDONLY, ENOENT);
}

static void test_symlink_kinds(void **state)
{
	static const char *const paths[] = {
		"filelink", "filelink/", "abs/", "dangling", "dangling/", "loop1", "loop1/x",
		"self", "c0", "c10", "c10/file", "c0/file",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		every_flag_set(paths[i]);
	same_answer(rootfd, "loop1", O_PATH, ELOOP);
	same_answer(rootfd, "self/x", O_PATH, ELOOP);
	same_answer(rootfd, "c0", O_PATH, ELOOP);
	same_answer(rootfd, "filelink/", O_PATH, ENOTDIR);
	same_answer(rootfd, "dangling", O_RDONLY, ENOENT);
}

/* With the host's root as the root, /proc's magic links are refused
 * (ELOOP) and its plain symlinks (self, mounts, thread-self) followed. */
static void test_proc_magic_links(void **state)
{
	static const char *const paths[] = {
		"/proc/self/exe", "/proc/self/cwd", "/proc/self/root", "/proc/self/root/etc",
		"/proc/self/fd/0", "/proc/self/ns/net", "/proc/self/cwd/x", "/proc/self/status",
		"/proc/mounts", "/proc/thread-self/comm", "/proc/self/task",
	};
	int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	(void)state;
	assert_true(host >= 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		for (size_t j = 0; j < sizeof(flag_sets) / sizeof(flag_sets[0]); j++)
			same_answer(host, paths[i], flag_sets[j], 0);
	same_answer(host, "/proc/self/exe", O_PATH, ELOOP);
	same_answer(host, "/proc/self/root/etc", O_PATH, ELOOP);
	same_answer(host, "/proc/self/fd/0", O_RDONLY, ELOOP);
	close(host);
}

/* hrun_open_in_root_nosymlinks (Landlock policy paths): a symlink
 * anywhere on the way is ELOOP, whether it stays inside the root or not;
 * paths without one open as usual. */
static void test_no_symlinks(void **state)
{
	static const char *const refused[] = {
		"abs", "abs/file", "filelink", "dir/up", "dir/up/file", "dir/sub/rootlink/dir", "escape",
		"dangling",
	};
	static const char *const opened[] = { "/", "dir", "/dir/sub", "dir/file", "dir/sub/.." };
	struct hrun_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int fd = hrun_open_in_root_nosymlinks(rootfd, refused[i], O_PATH, &err);

		if (fd >= 0)
			fail_msg("%s: opened through a symlink", refused[i]);
		assert_int_equal(err.code, ELOOP);
		assert_non_null(strstr(err.msg, "is a symlink or lies below one"));
		hrun_error_clear(&err);
	}
	for (size_t i = 0; i < sizeof(opened) / sizeof(opened[0]); i++) {
		int fd = hrun_open_in_root_nosymlinks(rootfd, opened[i], O_PATH, &err);

		if (fd < 0)
			fail_msg("%s: %s", opened[i], err.msg);
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
	/* Missing stays ENOENT: the host's policy skips it silently. */
	assert_true(hrun_open_in_root_nosymlinks(rootfd, "missing", O_PATH, &err) < 0);
	assert_int_equal(err.code, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_paths),
		cmocka_unit_test(test_dotdot_and_absolute_links_stay_inside),
		cmocka_unit_test(test_symlink_kinds),
		cmocka_unit_test(test_proc_magic_links),
		cmocka_unit_test(test_no_symlinks),
	};

	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
