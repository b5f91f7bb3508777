/* linux.resources.devices: which device nodes the container may open and
 * make. The config's rules, followed by hrun's standard allowlist, are
 * reduced to the state the cgroup v1 devices controller would keep (a
 * default and exceptions), and that one state is enforced twice: written
 * into the v1 devices cgroup where the host has one, and compiled into a
 * BPF_PROG_TYPE_CGROUP_DEVICE program (bpf-devices.c) for the container's
 * unified cgroup where it has one. Both therefore decide alike. */
#ifndef HRUN_CGROUP_DEVICES_H
#define HRUN_CGROUP_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "error.h"
#include "spec.h"

/* Access bits, the values the kernel gives a device program. */
#define HRUN_DEV_MKNOD 1u
#define HRUN_DEV_READ 2u
#define HRUN_DEV_WRITE 4u

#define HRUN_DEV_ANY (-1) /* a wildcard major or minor */
/* The largest major or minor a rule may name: the v1 kernel reads 2^32-1
 * as its wildcard. */
#define HRUN_DEV_NUMBER_MAX 4294967294LL

/* One exception: a char ('c') or block ('b') device range, and the access
 * bits it grants (default deny) or takes away (default allow). */
struct hrun_dev_exception {
	char type;
	int64_t major; /* HRUN_DEV_ANY for all */
	int64_t minor;
	unsigned access;
};

struct hrun_dev_state {
	bool default_allow;
	size_t n;
	struct hrun_dev_exception *v;
};

/* The state RES's device rules leave, with the standard allowlist applied
 * after them: what a fresh v1 cgroup would hold had each rule been written
 * in order. ST is the caller's, released with hrun_dev_state_free. */
int hrun_dev_state_build(const struct hrun_resources *res, struct hrun_dev_state *st,
			 struct hrun_error *err);
void hrun_dev_state_free(struct hrun_dev_state *st);

/* Whether ST lets a process do ACCESS (HRUN_DEV_* bits, all at once) on
 * device TYPE ('c' or 'b') MAJOR:MINOR: the v1 controller's own test. */
bool hrun_dev_state_allows(const struct hrun_dev_state *st, char type, uint32_t major, uint32_t minor,
			   unsigned access);

/* Enforce RES's device rules on CG: the v1 devices cgroup (hybrid and
 * legacy hosts) and a BPF program on the unified cgroup (unified and
 * hybrid hosts). LIVE: the container runs (`update`); the v1 rewrite is
 * then done with the cgroup frozen, so no process sees it half-way, and
 * the program is replaced by attaching the new one before the old one is
 * detached. */
int hrun_cgroup_apply_devices(const struct hrun_cgroup *cg, const struct hrun_resources *res, bool live,
			      struct hrun_error *err);

#endif
