/* linux.resources written into the container's cgroup: at create, before
 * init runs anything, and again by `hrun update` on a live container.
 * One writer for both cgroup v2 (unified files) and v1 (per-controller
 * files); each controller goes to the hierarchy that serves it. */
#ifndef HRUN_CGROUP_RESOURCES_H
#define HRUN_CGROUP_RESOURCES_H

#include "cgroup.h"
#include "error.h"
#include "launch.h"
#include "spec.h"

/* Write RES into CG. On v2 the controllers RES needs are first enabled in
 * cgroup.subtree_control of every ancestor, from the root down. A failed
 * write names the config field and the file ("linux.resources.memory.limit:
 * write memory.max: Device or resource busy"); the caller removes the
 * cgroup. Fields the kernel has no file for here are ignored with a
 * warning where runc ignores them; so is a pids limit of exactly
 * HRUN_DEFAULT_PIDS_LIMIT (the policy's default) that cannot be set. */
int hrun_cgroup_apply_resources(const struct hrun_cgroup *cg, const struct hrun_resources *res,
				struct hrun_error *err);

/* Copy every field SRC sets into DST (unified keys and hugepage sizes are
 * merged by name), as `update` changes only what it is given. DST's
 * strings and lists are malloc'd, as hrun_spec_free expects. */
int hrun_resources_merge(struct hrun_resources *dst, const struct hrun_resources *src,
			 struct hrun_error *err);

/* `hrun update`: merge into the saved config of container ID (created,
 * running or paused) the linux.resources object JSON (LEN bytes; NULL for
 * none) and then FLAGS, write the result into its cgroup and save it, so
 * `state` and later updates see it. */
int hrun_container_update(const struct hrun_context *ctx, const char *id, const char *json, size_t len,
			  const struct hrun_resources *flags, struct hrun_error *err);

/* A size as runc reads it (docker's RAMInBytes): "512", "64m", "1.5g",
 * "2GiB"; binary multiples; "-1" is unlimited. */
int hrun_parse_size(const char *s, int64_t *out);

#endif
