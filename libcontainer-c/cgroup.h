/* cgroup placement: create the container's cgroup before it starts, put
 * init in it (cloned straight into the unified one), remove it after.
 * Limits and the other managers build on this interface. */
#ifndef HRUN_CGROUP_H
#define HRUN_CGROUP_H

#include <sys/types.h>

#include "error.h"

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
};

/* Which layout this host mounted, read from the filesystems themselves. */
enum hrun_cgroup_mode hrun_cgroup_detect(void);

/* The cgroup path for CGROUPS_PATH as runc reads it: absolute as given,
 * relative to hrun's own cgroup; unset means "/hrun/<ID>". */
char *hrun_cgroup_resolve_path(const char *cgroups_path, const char *id, struct hrun_error *err);

int hrun_cgroup_create(const char *path, struct hrun_cgroup *cg, struct hrun_error *err);

/* Put PID in every v1 hierarchy (the unified one was joined by clone). */
int hrun_cgroup_enter_v1(const struct hrun_cgroup *cg, pid_t pid, struct hrun_error *err);

/* Kill what is left and remove the cgroup everywhere. */
int hrun_cgroup_destroy(struct hrun_cgroup *cg, struct hrun_error *err);

void hrun_cgroup_release(struct hrun_cgroup *cg);

#endif
