#define _GNU_SOURCE
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cleanup.h"
#include "mounts.h"

static uint64_t root_propagation(const struct hrun_spec *spec, bool *recursive)
{
	*recursive = true;
	if (spec->linux_.rootfs_propagation)
		return hrun_propagation_flag(spec->linux_.rootfs_propagation, recursive);
	/* runc's default: receive host mount events, never send any back. */
	return MS_SLAVE;
}

int hrun_rootfs_prepare(const struct hrun_spec *spec, int idmapped_tree, struct hrun_error *err)
{
	_cleanup_close_ int tree = idmapped_tree;
	struct mount_attr attr = { 0 };
	bool recursive;

	attr.propagation = root_propagation(spec, &recursive);
	/* Shared would leak our mounts to the host before pivot; the chosen
	 * propagation of / is applied once the tree is built. */
	if (attr.propagation == MS_SHARED)
		attr.propagation = MS_SLAVE;
	/* Unbindable now would forbid binding the rootfs onto itself. */
	if (attr.propagation == MS_UNBINDABLE)
		attr.propagation = MS_PRIVATE;
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return hrun_error_errno(err, "set propagation of \"/\"");

	/* The parent cloned us with the rootfs as our cwd, and the kernel
	 * moved that cwd into our copy of the mount tree: "." is the rootfs
	 * in this namespace, found without looking up any path, with the
	 * container's credentials or otherwise. With the default user
	 * namespace the parent made an idmapped clone of it instead, which
	 * goes on the same place. */
	if (tree < 0)
		tree = open_tree(AT_FDCWD, ".", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return hrun_error_errno(err, "clone the rootfs mount");
	if (move_mount(tree, "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hrun_error_errno(err, "attach the rootfs mount");
	/* TREE now names the attached mount's root: the container's root. */
	attr = (struct mount_attr){ .propagation = MS_PRIVATE };
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return hrun_error_errno(err, "make the rootfs mount private");
	return hrun_steal_fd(&tree);
}

static bool root_is_ramdisk(void)
{
	struct statfs sfs;

	return statfs("/", &sfs) == 0 && (sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC);
}

static int pivot(int rootfd, struct hrun_error *err)
{
	if (fchdir(rootfd) < 0)
		return hrun_error_errno(err, "chdir into rootfs");
	/* pivot_root(".", ".") stacks the old root on the new one at the
	 * same place; detaching "." (umount looks up the mount on top) then
	 * drops it without a directory for it in the image. Its unmount
	 * cannot reach the host: hrun_rootfs_prepare made every old mount a
	 * slave or private. (A mount_setattr of "." here would name the new
	 * root, not the old, and reset the config's propagation.) */
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		/* The kernel refuses to pivot away the initial ramdisk, the
		 * root of every mount namespace, when a host runs from it. */
		if (errno == EINVAL && root_is_ramdisk())
			return hrun_error_plain(err, EINVAL,
						"pivot_root: the host's root is a ramdisk (initramfs), which "
						"cannot be pivoted away: run with --no-pivot");
		return hrun_error_errno(err, "pivot_root");
	}
	if (umount2(".", MNT_DETACH) < 0)
		return hrun_error_errno(err, "detach the old root");
	if (chdir("/") < 0)
		return hrun_error_errno(err, "chdir \"/\"");
	return 0;
}

static int move_root(int rootfd, struct hrun_error *err)
{
	if (fchdir(rootfd) < 0)
		return hrun_error_errno(err, "chdir into rootfs");
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return hrun_error_errno(err, "move rootfs over \"/\"");
	if (chroot(".") < 0)
		return hrun_error_errno(err, "chroot");
	if (chdir("/") < 0)
		return hrun_error_errno(err, "chdir \"/\"");
	return 0;
}

int hrun_rootfs_enter(int rootfd, bool no_pivot, struct hrun_error *err)
{
	return no_pivot ? move_root(rootfd, err) : pivot(rootfd, err);
}

int hrun_rootfs_finish(const struct hrun_spec *spec, struct hrun_error *err)
{
	struct mount_attr attr = { 0 };
	bool recursive;

	if (spec->linux_.rootfs_propagation) {
		attr.propagation = root_propagation(spec, &recursive);
		if (mount_setattr(AT_FDCWD, "/", recursive ? AT_RECURSIVE : 0, &attr, sizeof(attr)) < 0)
			return hrun_error_errno(err, "set rootfsPropagation \"%s\"",
						spec->linux_.rootfs_propagation);
	}
	if (spec->root.readonly) {
		attr = (struct mount_attr){ .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof(attr)) < 0)
			return hrun_error_errno(err, "make the root read-only");
	}
	return 0;
}
