/* What a `cgroup` mount shows the container on a host with v1
 * hierarchies: a tmpfs holding, per hierarchy the host mounts, the
 * container's own cgroup of it (and the unified one under "unified/" on
 * a hybrid host), the way runc lays it out. A pure cgroup v2 host gets a
 * cgroup2 mount instead (mounts.c). */
#ifndef HRUN_CGROUP_MOUNT_H
#define HRUN_CGROUP_MOUNT_H

#include <stdbool.h>

#include "error.h"
#include "mounts.h"

/* Build the layout on TARGETFD (resolved inside the rootfs; WHAT names
 * it in messages). IN_CGROUPNS: the hierarchies are mounted afresh from
 * inside the container's cgroup namespace, whose root is its cgroup;
 * otherwise the container's cgroup directories of the host are bound.
 * Every hierarchy, and the tmpfs itself, is read-only unless O says
 * "rw"; O's other per-mount attributes apply to each of them. Must run
 * before the pivot (it reads the host's /proc and, without a cgroup
 * namespace, binds host paths). Returns the tmpfs's mount fd. */
int hrun_cgroup_mount_v1(int targetfd, const char *what, const struct hrun_mount_opts *o,
			 bool in_cgroupns, struct hrun_error *err);

#endif
