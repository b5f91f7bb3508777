#define _GNU_SOURCE
#include "safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>

#include "cleanup.h"
#include "syscalls.h"

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

static bool have_openat2 = true;

/* Without openat2 (kernels before 5.6) we walk the path one component at
 * a time and refuse what we cannot resolve safely: symlinks and "..".
 * Images that need either still work on any kernel hrun supports well. */
static int open_in_root_fallback(int rootfd, const char *path, int flags)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int cur = -1;
	char *save = NULL;
	bool opened = false;
	char *comp;
	char *next;

	if (!copy)
		return -1;
	cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -1;
	comp = strtok_r(copy, "/", &save);
	while (comp) {
		int fd;

		next = strtok_r(NULL, "/", &save);
		if (strcmp(comp, ".") == 0) {
			comp = next;
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			errno = EXDEV;
			return -1;
		}
		fd = openat(cur, comp, (next ? O_PATH | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		close(cur);
		cur = fd;
		opened = true;
		comp = next;
	}
	/* The path named the root itself ("/", "."): reopen it as asked. */
	if (!opened)
		return openat(rootfd, ".", flags | O_CLOEXEC);
	return hrun_steal_fd(&cur);
}

int hrun_open_in_root(int rootfd, const char *path, int flags, struct hrun_error *err)
{
	int fd = -1;

	if (have_openat2) {
		/* EAGAIN: a rename or mount raced the resolution of "..". */
		for (int tries = 0; tries < 16; tries++) {
			fd = hrun_openat2(rootfd, path, (uint64_t)(flags | O_CLOEXEC), 0, IN_ROOT);
			if (fd >= 0 || errno != EAGAIN)
				break;
		}
		if (fd < 0 && errno == ENOSYS)
			have_openat2 = false;
	}
	if (!have_openat2)
		fd = open_in_root_fallback(rootfd, path, flags);
	if (fd < 0)
		return hrun_error_errno(err, "open \"%s\" in the container rootfs", path);
	return fd;
}

/* Split "a/b/c" into the parent "a/b" and the name "c" (in place). */
static const char *split_last(char *path, const char **parent)
{
	char *slash;
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	slash = strrchr(path, '/');
	if (!slash) {
		*parent = ".";
		return path;
	}
	*slash = '\0';
	*parent = slash == path ? "/" : path;
	return slash + 1;
}

static int mkpath_dir(int rootfd, const char *path, struct hrun_error *err);

/* For messages: the shortest prefix of PATH that does not resolve in the
 * root (malloc'd), or NULL. */
static char *first_missing(int rootfd, const char *path)
{
	char *prefix = strdup(path);

	if (!prefix)
		return NULL;
	for (size_t i = 1, len = strlen(path); i <= len; i++) {
		int fd;

		if (path[i] != '/' && path[i] != '\0')
			continue;
		prefix[i] = '\0';
		fd = hrun_openat2(rootfd, prefix, O_PATH | O_CLOEXEC, 0, IN_ROOT);
		if (fd < 0 && errno == ENOENT)
			return prefix;
		if (fd >= 0)
			close(fd);
		prefix[i] = path[i];
	}
	free(prefix);
	return NULL;
}

/* Create NAME in the directory PARENT resolved in the root. The parent is
 * an fd, so whatever the path says, the new entry is made inside the root. */
static int create_in_parent(int rootfd, const char *path, bool as_file, struct hrun_error *err)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int parentfd = -1;
	const char *parent;
	const char *name;

	if (!copy)
		return hrun_error_errno(err, "strdup");
	name = split_last(copy, &parent);
	/* PATH's lookup failed, so PARENT is missing: making it only to
	 * leave it again by ".." would invent a tree the image lacks. */
	if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0) {
		_cleanup_free_ char *missing = first_missing(rootfd, path);
		return hrun_error_plain(err, ENOENT,
					"\"%s\" does not exist in the container rootfs and \"..\" follows it: "
					"missing directories are made along a path, never just to be left by \"..\"",
					missing ? missing : parent);
	}
	if (*name == '\0')
		return hrun_error_set(err, EINVAL, "create \"%s\" in the container rootfs", path);
	parentfd = mkpath_dir(rootfd, parent, err);
	if (parentfd < 0)
		return -1;
	if (as_file) {
		int fd = openat(parentfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			return hrun_error_errno(err, "create file \"%s\" in the container rootfs", path);
		if (fd >= 0)
			close(fd);
	} else if (mkdirat(parentfd, name, 0755) < 0 && errno != EEXIST) {
		return hrun_error_errno(err, "mkdir \"%s\" in the container rootfs", path);
	}
	return 0;
}

static int mkpath_dir(int rootfd, const char *path, struct hrun_error *err)
{
	int fd = hrun_open_in_root(rootfd, path, O_PATH | O_DIRECTORY, err);

	if (fd >= 0 || err->code != ENOENT)
		return fd;
	if (create_in_parent(rootfd, path, false, err) < 0)
		return -1;
	/* Resolve again from the root: whatever now stands there (even a
	 * symlink raced in) resolves inside the root. */
	return hrun_open_in_root(rootfd, path, O_PATH | O_DIRECTORY, err);
}

int hrun_mkpath_in_root(int rootfd, const char *path, bool as_file, struct hrun_error *err)
{
	int fd;

	if (!as_file)
		return mkpath_dir(rootfd, path, err);
	fd = hrun_open_in_root(rootfd, path, O_PATH, err);
	if (fd >= 0 || err->code != ENOENT)
		return fd;
	if (create_in_parent(rootfd, path, true, err) < 0)
		return -1;
	return hrun_open_in_root(rootfd, path, O_PATH, err);
}

int hrun_procfs_open(const char *path, struct hrun_error *err)
{
	_cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct statfs sfs;

	if (fd < 0)
		return hrun_error_errno(err, "open \"%s\"", path);
	if (fstatfs(fd, &sfs) < 0)
		return hrun_error_errno(err, "fstatfs \"%s\"", path);
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return hrun_error_plain(err, EXDEV, "\"%s\" is not a procfs", path);
	return hrun_steal_fd(&fd);
}

int hrun_procfs_open_in_root(int rootfd, const char *path, struct hrun_error *err)
{
	_cleanup_close_ int fd = hrun_open_in_root(rootfd, path, O_PATH | O_DIRECTORY, err);
	struct statfs sfs;

	if (fd < 0)
		return -1;
	if (fstatfs(fd, &sfs) < 0)
		return hrun_error_errno(err, "fstatfs \"%s\" in the container rootfs", path);
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return hrun_error_plain(err, EXDEV, "\"%s\" in the container rootfs is not a procfs", path);
	return hrun_steal_fd(&fd);
}

int hrun_proc_write(int procfd, const char *rel, const char *data, size_t len,
		    struct hrun_error *err)
{
	_cleanup_close_ int fd = -1;
	struct statfs sfs;
	ssize_t w;

	fd = hrun_openat2(procfd, rel, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0,
			  RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
	if (fd < 0 && errno == ENOSYS)
		fd = openat(procfd, rel, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return hrun_error_errno(err, "open \"/proc/%s\"", rel);
	if (fstatfs(fd, &sfs) < 0)
		return hrun_error_errno(err, "fstatfs \"/proc/%s\"", rel);
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return hrun_error_plain(err, EXDEV, "\"/proc/%s\" is not on procfs", rel);
	do
		w = write(fd, data, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return hrun_error_errno(err, "write \"/proc/%s\"", rel);
	if ((size_t)w != len)
		return hrun_error_set(err, 0, "write \"/proc/%s\": short write", rel);
	return 0;
}

int hrun_open_dev_null(struct hrun_error *err)
{
	_cleanup_close_ int fd = open("/dev/null", O_PATH | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return hrun_error_errno(err, "open \"/dev/null\"");
	if (fstat(fd, &st) < 0)
		return hrun_error_errno(err, "fstat \"/dev/null\"");
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
		return hrun_error_plain(err, EXDEV, "\"/dev/null\" is not the null device (char 1:3)");
	return hrun_steal_fd(&fd);
}
