/* The container's root: make it a private mount point, pivot into it (or
 * move it over / for ramdisk roots), then apply root propagation and
 * read-only. */
#ifndef HRUN_ROOTFS_H
#define HRUN_ROOTFS_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* In the container's new mount namespace, with the rootfs as the cwd: stop
 * propagation to the host, bind the rootfs onto itself (or attach
 * IDMAPPED_TREE, the parent's idmapped clone of it, when not -1; it is
 * consumed) and return an fd of that new mount's root. */
int hrun_rootfs_prepare(const struct hrun_spec *spec, int idmapped_tree, struct hrun_error *err);

/* Make ROOTFD the root: pivot_root and detach the old root, or with
 * NO_PIVOT move it over / and chroot. Leaves the cwd at the new /. */
int hrun_rootfs_enter(int rootfd, bool no_pivot, struct hrun_error *err);

/* After everything is mounted: rootfsPropagation and root.readonly. */
int hrun_rootfs_finish(const struct hrun_spec *spec, struct hrun_error *err);

#endif
