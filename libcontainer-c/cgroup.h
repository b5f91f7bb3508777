/* cgroup placement: create the container's cgroup before it starts, put
 * init in it (cloned straight into the unified one), remove it after.
 * Limits and the other managers build on this interface. */
#ifndef HRUN_CGROUP_H
#define HRUN_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* What a delegated cgroup lets the container make below it (written to
 * cgroup.max.depth and cgroup.max.descendants, which stay root's): room
 * for a nested runtime or systemd (a handful of levels, some hundreds of
 * units), bounded so that delete always reaches and removes all of it. */
#define HRUN_CGROUP_MAX_DEPTH 32
#define HRUN_CGROUP_MAX_DESCENDANTS 4096

enum hrun_cgroup_mode {
	HRUN_CGROUP_NONE,    /* nothing usable (rootless without delegation) */
	HRUN_CGROUP_UNIFIED, /* cgroup2 at /sys/fs/cgroup */
	HRUN_CGROUP_HYBRID,  /* v1 controllers plus cgroup2 at .../unified */
	HRUN_CGROUP_LEGACY,  /* v1 only */
};

struct hrun_cgroup {
	enum hrun_cgroup_mode mode;
	char *path;   /* absolute inside each hierarchy, e.g. "/hrun/web" */
	int v2_fd;    /* the unified cgroup's directory, for CLONE_INTO_CGROUP */
	char *unit;   /* --systemd-cgroup: the scope systemd made, else NULL */
	char *bus;    /* and the D-Bus address of the manager that made it */
	pid_t anchor; /* a process of ours holding that scope until init is in */
};

/* Which layout this host mounted, read from the filesystems themselves. */
enum hrun_cgroup_mode hrun_cgroup_detect(void);

/* The cgroup path for CGROUPS_PATH as runc reads it: absolute as given,
 * relative to hrun's own cgroup; unset means "/hrun/<ID>". */
char *hrun_cgroup_resolve_path(const char *cgroups_path, const char *id, struct hrun_error *err);

int hrun_cgroup_create(const char *path, struct hrun_cgroup *cg, struct hrun_error *err);

/* Take PATH, a cgroup another manager (systemd) made, as the container's:
 * the v1 hierarchies that lack it get it from us. */
int hrun_cgroup_adopt(const char *path, struct hrun_cgroup *cg, struct hrun_error *err);

/* Put PID in every v1 hierarchy (the unified one was joined by clone). */
int hrun_cgroup_enter_v1(const struct hrun_cgroup *cg, pid_t pid, struct hrun_error *err);

/* Kill what is left and remove the cgroup everywhere (and stop its
 * systemd unit). */
int hrun_cgroup_destroy(struct hrun_cgroup *cg, struct hrun_error *err);

/* cgroup v2 delegation: the container's cgroup directory and its
 * cgroup.procs, cgroup.threads and cgroup.subtree_control become UID:GID's
 * (the host ids of the container's root), so that root in its user
 * namespace can make and fill sub-cgroups. Nothing on v1. */
int hrun_cgroup_delegate(const struct hrun_cgroup *cg, uid_t uid, gid_t gid, struct hrun_error *err);

/* An existing container's cgroup at PATH (as hrun_cgroup_create made it). */
int hrun_cgroup_open(const char *path, struct hrun_cgroup *cg, struct hrun_error *err);

/* The processes in the cgroup (malloc'd array). */
int hrun_cgroup_pids(const struct hrun_cgroup *cg, pid_t **pids, size_t *n, struct hrun_error *err);

/* Freeze or thaw every process (v2 cgroup.freeze where the unified
 * hierarchy has the cgroup, else the v1 freezer) and wait until the
 * kernel reports the new state. */
int hrun_cgroup_freeze(const struct hrun_cgroup *cg, bool frozen, struct hrun_error *err);
bool hrun_cgroup_is_frozen(const struct hrun_cgroup *cg);

/* Read one control file of the cgroup (first hierarchy that has it:
 * unified, then v1 CONTROLLER); malloc'd, trailing newline removed. */
char *hrun_cgroup_read(const struct hrun_cgroup *cg, const char *controller, const char *file);

/* Send SIG to every process in the cgroup: SIGKILL through cgroup.kill
 * where the kernel has it, else with the cgroup frozen meanwhile so that
 * no pid is reused between reading and signalling it. */
int hrun_cgroup_signal(const struct hrun_cgroup *cg, int sig, struct hrun_error *err);

/* The root of the unified hierarchy ("/sys/fs/cgroup", or ".../unified"
 * on a hybrid host); NULL when there is none. */
const char *hrun_cgroup_v2_root(const struct hrun_cgroup *cg);

/* Whether the unified hierarchy serves CONTROLLER for CG: always on a
 * unified host, on a hybrid one only for what its root offers. */
bool hrun_cgroup_v2_serves(const struct hrun_cgroup *cg, const char *controller);

/* The directory of CG that holds CONTROLLER's files: the unified one when
 * it serves CONTROLLER, else the v1 hierarchy named CONTROLLER. */
int hrun_cgroup_controller_dir(const struct hrun_cgroup *cg, const char *controller, char *out,
			       size_t len);

void hrun_cgroup_release(struct hrun_cgroup *cg);

#endif
