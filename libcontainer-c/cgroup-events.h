/* OOM notifications of a container's cgroup, for `hrun events`: cgroup v2
 * through inotify on memory.events (its oom_kill counter), v1 through an
 * eventfd registered on memory.oom_control in cgroup.event_control. */
#ifndef HRUN_CGROUP_EVENTS_H
#define HRUN_CGROUP_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"
#include "error.h"

struct hrun_oom_watch {
	int fd;			/* poll it for POLLIN; -1: nothing to watch */
	int v2_events_fd;	/* memory.events, re-read on each notification */
	int v2_state_fd;	/* cgroup.events: "populated 0" ends the watch */
	int v1_control_fd;	/* memory.oom_control, held for the registration */
	uint64_t last;		/* oom_kill count already reported (v2) */
};

/* Start watching CG. Without a memory controller for it there is nothing
 * to watch: W->fd is -1 and 0 is returned. */
int hrun_oom_watch_open(const struct hrun_cgroup *cg, struct hrun_oom_watch *w, struct hrun_error *err);

/* After W->fd polled readable: how many OOM kills happened since the last
 * call (0: none, a spurious wake-up), or -1 on error. *GONE is set when
 * the container's processes are all gone (v2: the cgroup is unpopulated;
 * v1: the cgroup was removed): nothing more will come. */
int hrun_oom_watch_read(struct hrun_oom_watch *w, bool *gone);

void hrun_oom_watch_close(struct hrun_oom_watch *w);

#endif
