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

/* The most symlinks one resolution follows, as the kernel's MAXSYMLINKS. */
#define MAX_LINKS 40
/* procfs's root directory: its symlinks (self, thread-self, mounts, net)
 * are plain ones; those below it (fd/N, exe, cwd, root, ns/...) jump. */
#define PROC_ROOT_INO 1

struct walk {
	int rootfd;
	int cur;	   /* O_PATH fd of the directory reached */
	size_t depth;	   /* how many directories below the root it is */
	size_t cap;
	struct stat *up;   /* up[i]: the directory at depth i, for ".." */
	int links;
	bool no_symlinks;  /* any symlink to follow is ELOOP (RESOLVE_NO_SYMLINKS) */
};

static int walk_push(struct walk *w, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (w->depth + 1 >= w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct stat *up = realloc(w->up, cap * sizeof(*up));

		if (!up)
			return -1;
		w->up = up;
		w->cap = cap;
	}
	w->up[++w->depth] = st;
	close(w->cur);
	w->cur = fd;
	return 0;
}

static int walk_to_root(struct walk *w)
{
	int fd = openat(w->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (w->cur >= 0)
		close(w->cur);
	w->cur = fd;
	w->depth = 0;
	return 0;
}

/* "..": never above the root, and only back to the directory we came
 * down from; anything else means a rename moved the tree meanwhile
 * (EAGAIN, as openat2 says, and the caller retries). */
static int walk_up(struct walk *w)
{
	struct stat st;
	int fd;

	if (w->depth <= 1)
		return walk_to_root(w);
	fd = openat(w->cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_dev != w->up[w->depth - 1].st_dev ||
	    st.st_ino != w->up[w->depth - 1].st_ino) {
		close(fd);
		errno = EAGAIN;
		return -1;
	}
	close(w->cur);
	w->cur = fd;
	w->depth--;
	return 0;
}

/* A symlink on procfs below its root is a magic link (or might be): it
 * is refused as RESOLVE_NO_MAGICLINKS refuses it, with ELOOP. */
static bool is_magic_dir(int dirfd)
{
	struct statfs sfs;
	struct stat st;

	if (fstatfs(dirfd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
		return false;
	return fstat(dirfd, &st) < 0 || st.st_ino != PROC_ROOT_INO;
}

/* Replace *REST by TARGET/REST: the link's target is resolved next. A
 * last component keeps its trailing "/" (SLASH): it must be a directory. */
static int splice_link(struct walk *w, int linkfd, char **rest, bool slash)
{
	char target[PATH_MAX];
	ssize_t n;
	char *joined;

	if (w->no_symlinks || is_magic_dir(w->cur) || ++w->links > MAX_LINKS) {
		errno = ELOOP;
		return -1;
	}
	n = readlinkat(linkfd, "", target, sizeof(target));
	if (n < 0)
		return -1;
	if (n == 0 || (size_t)n >= sizeof(target)) {
		errno = n == 0 ? ENOENT : ENAMETOOLONG;
		return -1;
	}
	target[n] = '\0';
	if (asprintf(&joined, "%s%s%s", target, **rest || slash ? "/" : "", *rest) < 0)
		return -1;
	free(*rest);
	*rest = joined;
	return target[0] == '/' ? walk_to_root(w) : 0;
}

/* The last component NAME, found as the O_PATH fd FD (not a symlink to
 * follow): hand it out as FLAGS ask. */
static int walk_finish(struct walk *w, int fd, const char *name, int flags, bool want_dir)
{
	struct stat st, again;
	int out;

	if (fstat(fd, &st) < 0)
		return -1;
	if ((want_dir || (flags & O_DIRECTORY)) && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (flags & O_PATH)
		return fcntl(fd, F_DUPFD_CLOEXEC, 0);
	/* Reopened by name: it must still be what was resolved. */
	out = openat(name ? w->cur : fd, name ? name : ".", flags | O_NOFOLLOW | O_CLOEXEC, 0);
	if (out < 0)
		return -1;
	if (fstat(out, &again) < 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
		close(out);
		errno = EAGAIN;
		return -1;
	}
	return out;
}

static int walk(struct walk *w, const char *path, int flags)
{
	_cleanup_free_ char *rest = strdup(path);

	if (!rest)
		return -1;
	if (*path == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (strlen(path) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (walk_to_root(w) < 0)
		return -1;
	for (;;) {
		_cleanup_free_ char *name = NULL;
		_cleanup_close_ int fd = -1;
		char *p = rest, *next;
		bool last, slash;
		struct stat st;

		while (*p == '/')
			p++;
		if (*p == '\0')
			return walk_finish(w, w->cur, NULL, flags, false);
		next = p + strcspn(p, "/");
		name = strndup(p, (size_t)(next - p));
		if (!name)
			return -1;
		slash = *next == '/';
		while (*next == '/')
			next++;
		last = *next == '\0';
		memmove(rest, next, strlen(next) + 1);
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (walk_up(w) < 0)
				return -1;
			continue;
		}
		fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			return -1;
		/* A trailing symlink is followed unless O_NOFOLLOW, and always
		 * when a "/" after it asks for a directory. */
		if (S_ISLNK(st.st_mode) && (!last || slash || !(flags & O_NOFOLLOW))) {
			if (splice_link(w, fd, &rest, slash) < 0)
				return -1;
			continue;
		}
		if (last)
			return walk_finish(w, fd, name, flags, slash);
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		if (walk_push(w, fd) < 0)
			return -1;
		fd = -1;
	}
}

static int walk_in_root(int rootfd, const char *path, int flags, bool no_symlinks)
{
	struct walk w = { .rootfd = rootfd, .cur = -1, .no_symlinks = no_symlinks };
	int fd, saved;

	/* The last step reopens by name and only then checks it is what was
	 * resolved: nothing may have happened to the file by then. */
	if (flags & (O_CREAT | O_TRUNC | O_WRONLY | O_RDWR)) {
		errno = EINVAL;
		return -1;
	}
	fd = walk(&w, path, flags);
	saved = errno;

	if (w.cur >= 0)
		close(w.cur);
	free(w.up);
	errno = saved;
	return fd;
}

int hrun_open_in_root_walk(int rootfd, const char *path, int flags)
{
	return walk_in_root(rootfd, path, flags, false);
}

/* openat2 where the kernel has it, the walk above where it does not.
 * NO_SYMLINKS: follow none at all. */
static int resolve(int rootfd, const char *path, int flags, bool no_symlinks)
{
	uint64_t how = IN_ROOT | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
	int fd = -1;

	/* EAGAIN: a rename or mount raced the resolution of "..". */
	for (int tries = 0; tries < 16; tries++) {
		if (have_openat2) {
			fd = hrun_openat2(rootfd, path, (uint64_t)(flags | O_CLOEXEC), 0, how);
			if (fd < 0 && errno == ENOSYS)
				have_openat2 = false;
		}
		if (!have_openat2)
			fd = walk_in_root(rootfd, path, flags, no_symlinks);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd;
}

int hrun_open_in_root(int rootfd, const char *path, int flags, struct hrun_error *err)
{
	int fd = resolve(rootfd, path, flags, false);

	if (fd < 0)
		return hrun_error_errno(err, "open \"%s\" in the container rootfs", path);
	return fd;
}

int hrun_open_in_root_nosymlinks(int rootfd, const char *path, int flags, struct hrun_error *err)
{
	int fd = resolve(rootfd, path, flags, true);

	if (fd < 0 && errno == ELOOP)
		return hrun_error_plain(err, ELOOP,
					"\"%s\" in the container rootfs is a symlink or lies below one", path);
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
		fd = resolve(rootfd, prefix, O_PATH, false);
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
