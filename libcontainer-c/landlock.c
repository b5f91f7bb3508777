#define _GNU_SOURCE
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
 * filesystem. They reach nothing of the host. */
#define RIGHTS_DEVICE (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
static const char *const default_devices[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
	"/dev/tty",  "/dev/console", "/dev/ptmx", "/dev/pts",
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

static int add_path(const struct layer *l, const char *key, const char *path, uint64_t access,
		    bool skip_missing, struct hrun_error *err)
{
	struct landlock_path_beneath_attr attr = { 0 };
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = hrun_open_in_root(l->rootfd, path, O_PATH | O_CLOEXEC, err);
	if (fd < 0) {
		if (skip_missing && err->code == ENOENT) {
			hrun_error_clear(err);
			return 0;
		}
		return hrun_error_prefix(err, "%s: %s", l->p->origin, key);
	}
	if (fstat(fd, &st) < 0)
		return hrun_error_errno(err, "%s: %s: stat \"%s\"", l->p->origin, key, path);
	if (!S_ISDIR(st.st_mode))
		access &= RIGHTS_FILE;
	attr.allowed_access = access & l->handled_fs;
	attr.parent_fd = fd;
	if (!attr.allowed_access)
		return 0;
	if (syscall(__NR_landlock_add_rule, l->ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) < 0)
		return hrun_error_errno(err, "%s: %s: Landlock rule for \"%s\"", l->p->origin, key, path);
	return 0;
}

static int add_paths(const struct layer *l, const char *key, const struct hrun_strv *paths, uint64_t access,
		     struct hrun_error *err)
{
	for (size_t i = 0; i < paths->n; i++)
		if (add_path(l, key, paths->v[i], access, l->p->skip_missing, err) < 0)
			return -1;
	return 0;
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
static int build_layer(const struct hrun_landlock_policy *p, int abi, int rootfd, int *out,
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
	for (size_t i = 0; p->fs && i < sizeof(default_devices) / sizeof(default_devices[0]); i++)
		if (add_path(&l, "default devices", default_devices[i], RIGHTS_DEVICE, true, err) < 0)
			return -1;
	if (add_ports(&l, "tcpBind", &p->tcp_bind, HRUN_LANDLOCK_NET_BIND_TCP, attr.handled_access_net, err) < 0 ||
	    add_ports(&l, "tcpConnect", &p->tcp_connect, HRUN_LANDLOCK_NET_CONNECT_TCP, attr.handled_access_net,
		      err) < 0)
		return -1;
	*out = fd;
	fd = -1;
	return 0;
}

int hrun_landlock_prepare(const struct hrun_landlock *ll, int *fds, struct hrun_error *err)
{
	_cleanup_close_ int rootfd = -1;

	if (!ll || !ll->n)
		return 0;
	for (size_t i = 0; i < ll->n; i++)
		fds[i] = -1;
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return hrun_error_errno(err, "landlock: open the container's root");
	for (size_t i = 0; i < ll->n; i++) {
		if (build_layer(&ll->layers[i], ll->abi, rootfd, &fds[i], err) < 0) {
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
