/* A container's cgroup statistics as runc's `events --stats` prints them
 * (its types.Stats): cpu, memory, pids, blkio and hugetlb, read from the
 * v2 files where the unified hierarchy serves the controller, else v1. */
#ifndef HRUN_CGROUP_STATS_H
#define HRUN_CGROUP_STATS_H

#include "cgroup.h"
#include "json.h"

/* Emit the stats object (the event's "data") into G. */
void hrun_cgroup_stats_json(struct hrun_jgen *g, const struct hrun_cgroup *cg);

#endif
