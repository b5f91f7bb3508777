#define _GNU_SOURCE
#include "process-attrs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "safepath.h"

/* The kernel's struct sched_attr (linux/sched/types.h clashes with
 * glibc's sched.h), version 1 layout with the utilization clamps. */
struct hrun_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_SHIFT 13

struct name_value {
	const char *name;
	unsigned long value;
};

static bool lookup(const struct name_value *table, size_t n, const char *name, unsigned long *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(table[i].name, name) == 0) {
			*out = table[i].value;
			return true;
		}
	}
	return false;
}

#define LOOKUP(table, name, out) lookup(table, sizeof(table) / sizeof(table[0]), name, out)

int hrun_cpu_list_parse(const char *list, cpu_set_t *set)
{
	const char *p = list;

	CPU_ZERO(set);
	if (!*p)
		return -1;
	while (*p) {
		char *end;
		unsigned long lo, hi;

		if (*p < '0' || *p > '9')
			return -1;
		lo = hi = strtoul(p, &end, 10);
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				return -1;
			hi = strtoul(end + 1, &end, 10);
		}
		if (lo > hi || hi >= CPU_SETSIZE)
			return -1;
		for (unsigned long c = lo; c <= hi; c++)
			CPU_SET(c, set);
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -1;
		p = end;
	}
	return 0;
}

int hrun_process_write_oom_score(int procfd, pid_t pid, const struct hrun_process *proc,
				 struct hrun_error *err)
{
	char text[16], rel[64];
	int len;

	if (!proc->oom_score_adj.set)
		return 0;
	len = snprintf(text, sizeof(text), "%lld", (long long)proc->oom_score_adj.v);
	snprintf(rel, sizeof(rel), "%d/oom_score_adj", pid);
	if (hrun_proc_write(procfd, rel, text, (size_t)len, err) < 0)
		return hrun_error_prefix(err, "process.oomScoreAdj %s", text);
	return 0;
}

static int set_scheduler(const struct hrun_scheduler *s, struct hrun_error *err)
{
	static const struct name_value policies[] = {
		{ "SCHED_OTHER", SCHED_OTHER }, { "SCHED_FIFO", SCHED_FIFO },
		{ "SCHED_RR", SCHED_RR },	{ "SCHED_BATCH", SCHED_BATCH },
		{ "SCHED_ISO", 4 },		{ "SCHED_IDLE", SCHED_IDLE },
		{ "SCHED_DEADLINE", 6 },
	};
	static const struct name_value flags[] = {
		{ "SCHED_FLAG_RESET_ON_FORK", 0x01 },  { "SCHED_FLAG_RECLAIM", 0x02 },
		{ "SCHED_FLAG_DL_OVERRUN", 0x04 },     { "SCHED_FLAG_KEEP_POLICY", 0x08 },
		{ "SCHED_FLAG_KEEP_PARAMS", 0x10 },    { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
		{ "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
	};
	struct hrun_sched_attr attr = { .size = sizeof(attr) };
	unsigned long v;

	if (!s->set)
		return 0;
	/* Names were checked when the config was validated. */
	if (!LOOKUP(policies, s->policy, &v))
		return hrun_error_plain(err, EINVAL, "process.scheduler.policy: unknown \"%s\"", s->policy);
	attr.sched_policy = (uint32_t)v;
	for (size_t i = 0; i < s->flags.n; i++) {
		if (!LOOKUP(flags, s->flags.v[i], &v))
			return hrun_error_plain(err, EINVAL, "process.scheduler.flags: unknown \"%s\"",
						s->flags.v[i]);
		attr.sched_flags |= v;
	}
	attr.sched_nice = s->nice.set ? (int32_t)s->nice.v : 0;
	attr.sched_priority = s->priority.set ? (uint32_t)s->priority.v : 0;
	attr.sched_runtime = s->runtime.set ? s->runtime.v : 0;
	attr.sched_deadline = s->deadline.set ? s->deadline.v : 0;
	attr.sched_period = s->period.set ? s->period.v : 0;
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		return hrun_error_errno(err, "process.scheduler: sched_setattr %s", s->policy);
	return 0;
}

static int set_io_priority(const struct hrun_io_priority *io, struct hrun_error *err)
{
	static const struct name_value classes[] = {
		{ "IOPRIO_CLASS_RT", 1 },
		{ "IOPRIO_CLASS_BE", 2 },
		{ "IOPRIO_CLASS_IDLE", 3 },
	};
	unsigned long class;

	if (!io->set)
		return 0;
	if (!LOOKUP(classes, io->class, &class))
		return hrun_error_plain(err, EINVAL, "process.ioPriority.class: unknown \"%s\"", io->class);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		    (int)((class << IOPRIO_CLASS_SHIFT) | (unsigned long)io->priority)) < 0)
		return hrun_error_errno(err, "process.ioPriority: ioprio_set %s %lld", io->class,
					(long long)io->priority);
	return 0;
}


static int set_personality(const struct hrun_personality *p, struct hrun_error *err)
{
	static const struct name_value domains[] = {
		{ "LINUX", PER_LINUX },
		{ "LINUX32", PER_LINUX32 },
	};
	unsigned long domain;

	if (!p->set)
		return 0;
	if (!LOOKUP(domains, p->domain, &domain))
		return hrun_error_plain(err, EINVAL, "linux.personality.domain: unknown \"%s\"", p->domain);
	if (personality(domain) < 0)
		return hrun_error_errno(err, "linux.personality: %s", p->domain);
	return 0;
}

int hrun_process_set_attrs(const struct hrun_spec *spec, struct hrun_error *err)
{
	const struct hrun_process *proc = spec->process;

	return set_scheduler(&proc->scheduler, err) < 0 || set_io_priority(&proc->io_priority, err) < 0 ||
			       set_personality(&spec->linux_.personality, err) < 0
		       ? -1
		       : 0;
}

int hrun_process_set_affinity(const char *which, const char *list, struct hrun_error *err)
{
	cpu_set_t set;

	if (!list || !*list)
		return 0;
	if (hrun_cpu_list_parse(list, &set) < 0)
		return hrun_error_plain(err, EINVAL, "process.execCPUAffinity.%s: malformed CPU list \"%s\"",
					which, list);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return hrun_error_errno(err, "process.execCPUAffinity.%s \"%s\"", which, list);
	return 0;
}

int hrun_time_ns_prepare(const struct hrun_time_offsets *t, struct hrun_error *err)
{
	_cleanup_close_ int procfd = -1;
	_cleanup_close_ int saved = -1;
	char text[128];
	int len, r;

	if (!t->set)
		return -2;
	saved = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	if (saved < 0)
		return hrun_error_errno(err, "open our time namespace");
	procfd = hrun_procfs_open("/proc", err);
	if (procfd < 0)
		return -1;
	if (unshare(CLONE_NEWTIME) < 0)
		return hrun_error_errno(err, "unshare the time namespace");
	len = snprintf(text, sizeof(text), "monotonic %lld %u\nboottime %lld %u\n",
		       (long long)t->monotonic.secs, t->monotonic.nanosecs, (long long)t->boottime.secs,
		       t->boottime.nanosecs);
	if (hrun_proc_write(procfd, "self/timens_offsets", text, (size_t)len, err) < 0) {
		hrun_time_ns_restore(saved);
		return hrun_error_prefix(err, "linux.timeOffsets");
	}
	r = saved;
	saved = -1;
	return r;
}

void hrun_time_ns_restore(int saved)
{
	if (saved < 0)
		return;
	/* Our own children (hooks) stay in the host's time namespace. */
	if (setns(saved, CLONE_NEWTIME) < 0)
		hrun_warn("return to the host's time namespace: %s", strerror(errno));
	close(saved);
}
