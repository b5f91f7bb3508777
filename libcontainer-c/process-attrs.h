/* Kernel attributes of the container's process that survive execve: oom
 * score, scheduling policy, I/O priority, personality, CPU affinity, and
 * the time namespace's clock offsets. */
#ifndef HRUN_PROCESS_ATTRS_H
#define HRUN_PROCESS_ATTRS_H

#include <sched.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* Parse a CPU list ("0-3,7") into SET. Returns -1 on a malformed list or
 * a CPU beyond CPU_SETSIZE. */
int hrun_cpu_list_parse(const char *list, cpu_set_t *set);

/* process.oomScoreAdj of PID, written by the parent through the verified
 * host procfs PROCFD: the child's own /proc entries belong to the host's
 * root once it is undumpable. */
int hrun_process_write_oom_score(int procfd, pid_t pid, const struct hrun_process *proc,
				 struct hrun_error *err);

/* While still privileged (raising priorities needs CAP_SYS_NICE) and
 * before seccomp: the process's scheduler and ioPriority, and
 * linux.personality, for the calling process (all kept across exec). */
int hrun_process_set_attrs(const struct hrun_spec *spec, struct hrun_error *err);

/* execCPUAffinity: WHICH is its "initial" or "final" list, or NULL (no
 * change). */
int hrun_process_set_affinity(const char *which, const char *list, struct hrun_error *err);

/* linux.timeOffsets: a time namespace takes offsets only while no process
 * is in it, and a process cloned into a new one is in it at once. So the
 * caller makes it for its children (unshare), writes the offsets, clones
 * init (which enters it), then returns with hrun_time_ns_restore. Returns
 * the fd of the caller's time namespace, -2 when there are no offsets,
 * -1 on failure. */
int hrun_time_ns_prepare(const struct hrun_time_offsets *t, struct hrun_error *err);
void hrun_time_ns_restore(int saved);

#endif
