#define _GNU_SOURCE
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cleanup.h"
#include "mounts.h"
#include "safepath.h"

struct default_dev {
	const char *path;
	unsigned int major, minor;
};

/* runtime-spec config-linux.md "Default Devices". */
static const struct default_dev default_devs[] = {
	{ "/dev/null", 1, 3 },    { "/dev/zero", 1, 5 },	{ "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static const struct {
	const char *target;
	const char *link;
} dev_links[] = {
	{ "/proc/self/fd", "fd" },
	{ "/proc/self/fd/0", "stdin" },
	{ "/proc/self/fd/1", "stdout" },
	{ "/proc/self/fd/2", "stderr" },
	{ "pts/ptmx", "ptmx" },
};

static bool config_mounts(const struct hrun_spec *spec, const char *dest)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const char *d = spec->mounts[i].destination;
		size_t n = strlen(dest);
		/* "/dev" and "/dev/" name the same place. */
		if (strncmp(d, dest, n) == 0 && (d[n] == '\0' || (d[n] == '/' && d[n + 1] == '\0')))
			return true;
	}
	return false;
}

int hrun_dev_mount_tmpfs(int rootfd, const struct hrun_spec *spec, struct hrun_error *err)
{
	char *data[] = { "mode=755", "size=65536k" };
	struct hrun_mount_opts o = {
		.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME,
		.n_data = 2,
		.data = data,
		.context = hrun_mount_context(spec, "tmpfs"),
	};
	_cleanup_close_ int fd = -1;

	if (config_mounts(spec, "/dev"))
		return 0;
	fd = hrun_mkpath_in_root(rootfd, "/dev", false, err);
	if (fd < 0)
		return -1;
	return hrun_mount_fs_at("tmpfs", "tmpfs", "/dev", fd, &o, err);
}

/* The host's node for DEV, opened as a bind source: the one udev lists
 * under /dev/char or /dev/block, else the one at the config's PATH. The
 * config's path is not trusted: whatever it names must be a device node
 * of exactly the wanted type and numbers, never a file or a symlink. */
static int open_host_node(const char *path, mode_t type, dev_t dev, struct hrun_error *err)
{
	char by_number[64];
	const char *candidates[2];

	snprintf(by_number, sizeof(by_number), "/dev/%s/%u:%u", type == S_IFBLK ? "block" : "char",
		 major(dev), minor(dev));
	candidates[0] = by_number;
	candidates[1] = path;
	for (size_t i = 0; i < 2; i++) {
		/* udev's entries are symlinks to the node; the config's
		 * path must be the node itself. */
		int fd = open(candidates[i], O_PATH | O_CLOEXEC | (i ? O_NOFOLLOW : 0));
		struct stat st;

		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type && st.st_rdev == dev)
			return fd;
		close(fd);
	}
	return hrun_error_plain(err, ENOENT,
				"device \"%s\" (%u:%u): no such device node on the host to bind (in a user namespace nodes cannot be made)",
				path, major(dev), minor(dev));
}

static int bind_host_node(int rootfd, const char *path, mode_t type, dev_t dev,
			  struct hrun_error *err)
{
	_cleanup_close_ int src = open_host_node(path, type, dev, err);
	_cleanup_close_ int target = -1;

	if (src < 0)
		return -1;
	target = hrun_mkpath_in_root(rootfd, path, true, err);
	if (target < 0)
		return -1;
	return hrun_mount_bind_fd(src, target, false, 0, err);
}

/* A node at NAME in PARENT that is not exactly the wanted one (a file or
 * link in the image, a node with other numbers) is replaced. */
static int mknod_exact(int parent, const char *name, mode_t mode, dev_t dev)
{
	struct stat st;

	if (mknodat(parent, name, mode, dev) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if ((st.st_mode & S_IFMT) == (mode & S_IFMT) && st.st_rdev == dev)
		return fchmodat(parent, name, mode & 07777, 0);
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (unlinkat(parent, name, 0) < 0)
		return -1;
	return mknodat(parent, name, mode, dev);
}

static int make_node(int rootfd, const char *path, mode_t mode, dev_t dev, bool in_userns,
		     struct hrun_error *err)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int parent = -1;
	char *slash;

	if (!copy)
		return hrun_error_errno(err, "strdup");
	/* A user namespace may make FIFOs, no other node. */
	if (in_userns && !S_ISFIFO(mode))
		return bind_host_node(rootfd, path, mode & S_IFMT, dev, err);
	slash = strrchr(copy, '/');
	if (!slash || slash[1] == '\0')
		return hrun_error_set(err, EINVAL, "device path \"%s\"", path);
	*slash = '\0';
	parent = hrun_mkpath_in_root(rootfd, *copy ? copy : "/", false, err);
	if (parent < 0)
		return -1;
	if (mknod_exact(parent, slash + 1, mode, dev) < 0)
		return hrun_error_errno(err, "mknod \"%s\"", path);
	return 0;
}

static mode_t device_type(const char *type)
{
	switch (type ? type[0] : 'c') {
	case 'b':
		return S_IFBLK;
	case 'p':
		return S_IFIFO;
	default:
		return S_IFCHR;
	}
}

static int create_config_device(int rootfd, const struct hrun_device *d, bool in_userns,
				struct hrun_error *err)
{
	mode_t perm = d->file_mode.set ? (mode_t)(d->file_mode.v & 07777) : 0666;
	dev_t dev = makedev((unsigned int)d->major, (unsigned int)d->minor);
	_cleanup_close_ int fd = -1;

	if (make_node(rootfd, d->path, device_type(d->type) | perm, dev, in_userns, err) < 0)
		return -1;
	if (in_userns)
		return 0;
	fd = hrun_open_in_root(rootfd, d->path, O_PATH | O_NOFOLLOW, err);
	if (fd < 0)
		return -1;
	if (fchownat(fd, "", d->uid.set ? (uid_t)d->uid.v : 0, d->gid.set ? (gid_t)d->gid.v : 0,
		     AT_EMPTY_PATH) < 0)
		return hrun_error_errno(err, "chown \"%s\"", d->path);
	return 0;
}

static int make_links(int rootfd, struct hrun_error *err)
{
	_cleanup_close_ int devfd = hrun_open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, err);

	if (devfd < 0)
		return -1;
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		if (symlinkat(dev_links[i].target, devfd, dev_links[i].link) < 0 && errno != EEXIST)
			return hrun_error_errno(err, "symlink \"/dev/%s\"", dev_links[i].link);
	}
	return 0;
}

int hrun_dev_populate(int rootfd, const struct hrun_spec *spec, bool in_userns,
		      struct hrun_error *err)
{
	for (size_t i = 0; i < sizeof(default_devs) / sizeof(default_devs[0]); i++) {
		const struct default_dev *d = &default_devs[i];
		if (make_node(rootfd, d->path, S_IFCHR | 0666, makedev(d->major, d->minor), in_userns,
			      err) < 0)
			return -1;
	}
	for (size_t i = 0; i < spec->linux_.n_devices; i++)
		if (create_config_device(rootfd, &spec->linux_.devices[i], in_userns, err) < 0)
			return -1;
	return make_links(rootfd, err);
}
