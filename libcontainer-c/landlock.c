#define _GNU_SOURCE
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "safepath.h"

/* Debian 12's headers are Linux 6.1's (ABI 2): what later kernels added
 * is defined here with the kernel's values (include/uapi/linux/landlock.h).
 * The syscall numbers are the same on every architecture. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)	/* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)	/* ABI 5 */
#endif
/* ABI 4: TCP ports. Defined under our own names, as the rule type is an
 * enum in newer headers and cannot be tested with #ifndef. */
#define HRUN_LANDLOCK_RULE_NET_PORT 2
#define HRUN_LANDLOCK_NET_BIND_TCP (1ULL << 0)
#define HRUN_LANDLOCK_NET_CONNECT_TCP (1ULL << 1)

/* The ruleset attribute as ABI 4 has it; older kernels take the first
 * member only (the size passed says which). */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
};

struct net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

/* "read": list directories, read and execute files. */
#define RIGHTS_READ (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* "write": read, plus change anything in the tree: write and truncate
 * files, create and remove entries (no device nodes), move and link
 * within and across write trees, and ioctl on its device files. */
#define RIGHTS_WRITE                                                                                        \
	(RIGHTS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                      \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |       \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM |        \
	 LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* What a rule on a file (not a directory) may hold. */
#define RIGHTS_FILE                                                                                 \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
	 LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* The devices runtime-spec gives every container, and its terminals:
 * usable (read, write, ioctl) in every layer that restricts the
 * filesystem. They reach nothing of the host. A rule holds whatever
 * inode its path leads to, and the image or the config's mounts decide
 * that: each is granted only if it is what its name promises (a
 * character device with runtime-spec's numbers; the terminal a pty of a
 * devpts; /dev/pts a devpts), else it is skipped. */
#define RIGHTS_DEVICE (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
enum dev_kind {
	DEV_NODE,	/* a character device MAJOR:MINOR */
	DEV_PTY,	/* a character device on a devpts */
	DEV_DEVPTS,	/* a devpts' root directory */
};
static const struct {
	const char *path;
	enum dev_kind kind;
	unsigned int major, minor;
} default_devices[] = {
	{ "/dev/null", DEV_NODE, 1, 3 },   { "/dev/zero", DEV_NODE, 1, 5 },    { "/dev/full", DEV_NODE, 1, 7 },
	{ "/dev/random", DEV_NODE, 1, 8 }, { "/dev/urandom", DEV_NODE, 1, 9 }, { "/dev/tty", DEV_NODE, 5, 0 },
	/* Usually a symlink to pts/ptmx, which the /dev/pts rule covers. */
	{ "/dev/ptmx", DEV_NODE, 5, 2 },   { "/dev/console", DEV_PTY, 0, 0 },  { "/dev/pts", DEV_DEVPTS, 0, 0 },
};

int hrun_landlock_abi(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi > 0 ? (int)abi : 0;
}

/* Every filesystem right this ABI knows: what a layer does not grant is
 * denied, device node creation included. */
static uint64_t fs_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

static uint64_t net_rights(const struct hrun_landlock_policy *p, int abi)
{
	if (abi < 4)
		return 0;
	return (p->tcp_bind.set ? HRUN_LANDLOCK_NET_BIND_TCP : 0) |
	       (p->tcp_connect.set ? HRUN_LANDLOCK_NET_CONNECT_TCP : 0);
}

struct layer {
	const struct hrun_landlock_policy *p;
	int rootfd;
	int ruleset;
	uint64_t handled_fs;
};

/* Allow ACCESS (as far as the layer restricts it) beneath FD. */
static int add_rule(const struct layer *l, const char *key, const char *path, int fd, uint64_t access,
		    struct hrun_error *err)
{
	struct landlock_path_beneath_attr attr = { .allowed_access = access & l->handled_fs, .parent_fd = fd };

	if (!attr.allowed_access)
		return 0;
	if (syscall(__NR_landlock_add_rule, l->ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) < 0)
		return hrun_error_errno(err, "%s: %s: Landlock rule for \"%s\"", l->p->origin, key, path);
	return 0;
}

/* The rule for PATH: the inode the path names itself, never one a
 * symlink of the image redirects it to (tmp -> / would turn a write tree
 * into the whole root). */
static int add_path(const struct layer *l, const char *key, const char *path, uint64_t access,
		    struct hrun_error *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = hrun_open_in_root_nosymlinks(l->rootfd, path, O_PATH | O_CLOEXEC, err);
	/* The host writes one policy for every image: what one image lacks
	 * or redirects grants nothing there. A symlink is worth a word: the
	 * policy should name the real tree. */
	if (fd < 0 && err->code == ELOOP) {
		hrun_error_clear(err);
		if (l->p->skip_missing) {
			hrun_warn("%s: %s: \"%s\" is a symlink or lies below one in the container; skipped (policy paths follow no symlinks)",
				  l->p->origin, key, path);
			return 0;
		}
		return hrun_error_plain(err, ELOOP,
					"%s: %s: \"%s\" is a symlink or lies below one in the container; name the real path (policy paths follow no symlinks)",
					l->p->origin, key, path);
	}
	if (fd < 0 && err->code == ENOENT && l->p->skip_missing) {
		hrun_error_clear(err);
		return 0;
	}
	if (fd < 0)
		return hrun_error_prefix(err, "%s: %s", l->p->origin, key);
	if (fstat(fd, &st) < 0)
		return hrun_error_errno(err, "%s: %s: stat \"%s\"", l->p->origin, key, path);
	return add_rule(l, key, path, fd, S_ISDIR(st.st_mode) ? access : access & RIGHTS_FILE, err);
}

static int add_paths(const struct layer *l, const char *key, const struct hrun_strv *paths, uint64_t access,
		     struct hrun_error *err)
{
	for (size_t i = 0; i < paths->n; i++)
		if (add_path(l, key, paths->v[i], access, err) < 0)
			return -1;
	return 0;
}

static bool on_devpts(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) == 0 && sfs.f_type == DEVPTS_SUPER_MAGIC;
}

static bool is_default_device(size_t i, int fd, const struct stat *st)
{
	switch (default_devices[i].kind) {
	case DEV_NODE:
		return S_ISCHR(st->st_mode) &&
		       st->st_rdev == makedev(default_devices[i].major, default_devices[i].minor);
	case DEV_PTY:
		return S_ISCHR(st->st_mode) && on_devpts(fd);
	case DEV_DEVPTS:
		return S_ISDIR(st->st_mode) && on_devpts(fd);
	}
	return false;
}

/* The default devices that are there and are what they should be; any
 * other is left out, silently: the image or config chose not to offer
 * it (a symlink /dev/ptmx is one of those). */
static int add_default_devices(const struct layer *l, struct hrun_error *err)
{
	for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
		const char *path = default_devices[i].path;
		_cleanup_close_ int fd = hrun_open_in_root_nosymlinks(l->rootfd, path, O_PATH | O_CLOEXEC, err);
		struct stat st;

		if (fd < 0 && (err->code == ENOENT || err->code == ELOOP || err->code == ENOTDIR)) {
			hrun_error_clear(err);
			continue;
		}
		if (fd < 0)
			return hrun_error_prefix(err, "%s: default devices", l->p->origin);
		if (fstat(fd, &st) < 0)
			return hrun_error_errno(err, "%s: default devices: stat \"%s\"", l->p->origin, path);
		if (!is_default_device(i, fd, &st))
			continue;
		if (add_rule(l, "default devices", path, fd, RIGHTS_DEVICE, err) < 0)
			return -1;
	}
	return 0;
}

/* The file at FD (opened by the runtime, outside the container's
 * root), which the confined process must still open for writing. */
static int add_write_file(const struct layer *l, int fd, struct hrun_error *err)
{
	if (fd < 0)
		return 0;
	return add_rule(l, "exec FIFO", "exec.fifo", fd, LANDLOCK_ACCESS_FS_WRITE_FILE, err);
}

static int add_ports(const struct layer *l, const char *key, const struct hrun_landlock_ports *ports,
		     uint64_t access, uint64_t handled_net, struct hrun_error *err)
{
	if (!(handled_net & access))
		return 0;
	for (size_t i = 0; i < ports->n; i++) {
		struct net_port_attr attr = { .allowed_access = access, .port = ports->v[i] };

		if (syscall(__NR_landlock_add_rule, l->ruleset, HRUN_LANDLOCK_RULE_NET_PORT, &attr, 0) < 0)
			return hrun_error_errno(err, "%s: %s: Landlock rule for port %u", l->p->origin, key,
						(unsigned)ports->v[i]);
	}
	return 0;
}

/* *OUT gets P's ruleset, or -1 when this kernel leaves nothing of P to
 * restrict (bestEffort TCP rules before ABI 4). */
static int build_layer(const struct hrun_landlock_policy *p, int abi, int rootfd, int write_fd, int *out,
		       struct hrun_error *err)
{
	struct ruleset_attr attr = {
		.handled_access_fs = p->fs ? fs_rights(abi) : 0,
		.handled_access_net = net_rights(p, abi),
	};
	struct layer l = { .p = p, .rootfd = rootfd, .handled_fs = attr.handled_access_fs };
	_cleanup_close_ int fd = -1;

	*out = -1;
	if (!attr.handled_access_fs && !attr.handled_access_net)
		return 0;
	/* Only the members this kernel knows (it refuses unknown non-zero ones). */
	fd = (int)syscall(__NR_landlock_create_ruleset, &attr,
			  abi >= 4 ? sizeof(attr) : sizeof(attr.handled_access_fs), 0);
	if (fd < 0)
		return hrun_error_errno(err, "%s: create a Landlock ruleset", p->origin);
	l.ruleset = fd;
	if (add_paths(&l, "read", &p->read, RIGHTS_READ, err) < 0 ||
	    add_paths(&l, "write", &p->write, RIGHTS_WRITE, err) < 0)
		return -1;
	if (p->fs && (add_default_devices(&l, err) < 0 || add_write_file(&l, write_fd, err) < 0))
		return -1;
	if (add_ports(&l, "tcpBind", &p->tcp_bind, HRUN_LANDLOCK_NET_BIND_TCP, attr.handled_access_net, err) < 0 ||
	    add_ports(&l, "tcpConnect", &p->tcp_connect, HRUN_LANDLOCK_NET_CONNECT_TCP, attr.handled_access_net,
		      err) < 0)
		return -1;
	*out = fd;
	fd = -1;
	return 0;
}

int hrun_landlock_prepare(const struct hrun_landlock *ll, int write_fd, int *fds, struct hrun_error *err)
{
	_cleanup_close_ int rootfd = -1;

	for (size_t i = 0; i < HRUN_LANDLOCK_MAX_LAYERS; i++)
		fds[i] = -1;
	if (!ll || !ll->n)
		return 0;
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return hrun_error_errno(err, "landlock: open the container's root");
	for (size_t i = 0; i < ll->n; i++) {
		if (build_layer(&ll->layers[i], ll->abi, rootfd, write_fd, &fds[i], err) < 0) {
			for (size_t j = 0; j < i; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			return -1;
		}
	}
	return 0;
}

int hrun_landlock_restrict(int *fds, size_t n, struct hrun_error *err)
{
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (r == 0 && syscall(__NR_landlock_restrict_self, fds[i], 0) < 0)
			r = hrun_error_errno(err, "landlock: restrict the process");
		close(fds[i]);
		fds[i] = -1;
	}
	return r;
}
