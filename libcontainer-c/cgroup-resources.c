#define _GNU_SOURCE
#include "cgroup-resources.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-devices.h"
#include "cleanup.h"
#include "container.h"
#include "policy.h"
#include "state.h"

/* One apply: the cgroup, where errors go. */
struct rctx {
	const struct hrun_cgroup *cg;
	struct hrun_error *err;
	/* The policy's default pids limit is best effort: a host (or a
	 * cgroupsPath below a busy cgroup) without a usable pids controller
	 * ran containers before it existed, and still does, with a warning. */
	bool pids_soft;
	bool pids_skip;
	/* `hrun update` on a live container (checkBeforeUpdate applies). */
	bool updating;
};

static int pids_soft_fail(struct rctx *c)
{
	if (!c->pids_soft)
		return -1;
	hrun_warn("default pids limit not applied: %s", c->err->msg);
	hrun_error_clear(c->err);
	c->pids_skip = true;
	return 0;
}

/* CONTROLLER NULL: the core files of the unified cgroup ("cgroup.*"). */
static bool is_v2(const struct rctx *c, const char *controller)
{
	return !controller || hrun_cgroup_v2_serves(c->cg, controller);
}

static int file_path(const struct rctx *c, const char *controller, const char *file, char *out,
		     size_t len)
{
	char dir[4096];
	int n;

	if (!controller) {
		const char *root = hrun_cgroup_v2_root(c->cg);
		n = root ? snprintf(dir, sizeof(dir), "%s%s", root, c->cg->path) : -1;
		if (n < 0 || (size_t)n >= sizeof(dir))
			return -1;
	} else if (hrun_cgroup_controller_dir(c->cg, controller, dir, sizeof(dir)) < 0) {
		return -1;
	}
	n = snprintf(out, len, "%s/%s", dir, file);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static bool has_file(const struct rctx *c, const char *controller, const char *file)
{
	char path[4400];

	return file_path(c, controller, file, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

static bool root_offers(const struct rctx *c, const char *controller)
{
	char file[256], line[1024];
	_cleanup_fclose_ FILE *f = NULL;
	const char *root = hrun_cgroup_v2_root(c->cg);

	if (!root)
		return false;
	snprintf(file, sizeof(file), "%s/cgroup.controllers", root);
	f = fopen(file, "re");
	if (!f || !fgets(line, sizeof(line), f))
		return false;
	for (char *save = NULL, *w = strtok_r(line, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		if (strcmp(w, controller) == 0)
			return true;
	return false;
}

/* Write VALUE into CONTROLLER's FILE; FIELD (below linux.resources) names
 * what the config asked for. */
static int put(const struct rctx *c, const char *field, const char *controller, const char *file,
	       const char *value)
{
	char path[4400];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(value);
	ssize_t n;

	if (file_path(c, controller, file, path, sizeof(path)) < 0)
		return hrun_error_plain(c->err, ENAMETOOLONG, "linux.resources.%s: cgroup path too long", field);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && controller && is_v2(c, controller) && !root_offers(c, controller))
		return hrun_error_plain(c->err, ENOTSUP,
					"linux.resources.%s: this host's cgroup v2 has no %s controller", field,
					controller);
	if (fd < 0)
		return hrun_error_errno(c->err, "linux.resources.%s: open %s", field, file);
	n = write(fd, value, len);
	if (n < 0)
		return hrun_error_errno(c->err, "linux.resources.%s: write %s", field, file);
	if ((size_t)n != len)
		return hrun_error_plain(c->err, EIO, "linux.resources.%s: write %s: short write", field, file);
	hrun_debug("cgroup %s/%s = %s", c->cg->path, file, value);
	return 0;
}

static int put_i64(const struct rctx *c, const char *field, const char *controller, const char *file,
		   int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return put(c, field, controller, file, buf);
}

static int put_u64(const struct rctx *c, const char *field, const char *controller, const char *file,
		   uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return put(c, field, controller, file, buf);
}

/* v2 limits: -1 (and, where the file has no lower meaning, any negative
 * value) is "max". */
static int put_max(const struct rctx *c, const char *field, const char *controller, const char *file,
		   int64_t v)
{
	return v < 0 ? put(c, field, controller, file, "max") : put_i64(c, field, controller, file, v);
}

/* --- cgroup v2: controllers enabled from the root down -------------------- */

/* What RES needs of the unified hierarchy. */
static void needed_controllers(const struct rctx *c, const struct hrun_resources *res,
			       const char **want, size_t *n)
{
	const struct hrun_cpu *cpu = &res->cpu;
	const char *list[16];
	size_t k = 0;

	*n = 0;
	if (res->memory.set)
		list[k++] = "memory";
	if (res->pids.set)
		list[k++] = "pids";
	if (cpu->shares.set || cpu->quota.set || cpu->period.set || cpu->burst.set || cpu->idle.set)
		list[k++] = "cpu";
	if (cpu->cpus || cpu->mems)
		list[k++] = "cpuset";
	if (res->block_io.set)
		list[k++] = "io";
	if (res->n_hugepage_limits)
		list[k++] = "hugetlb";
	if (res->n_rdma)
		list[k++] = "rdma";
	for (size_t i = 0; i < k; i++)
		if (is_v2(c, list[i]) && root_offers(c, list[i]))
			want[(*n)++] = list[i];
}

static int enable_controller(const struct rctx *c, const char *controller, const char *field)
{
	const char *root = hrun_cgroup_v2_root(c->cg);
	_cleanup_free_ char *dir = NULL;
	size_t base;

	if (!root || !root_offers(c, controller))
		return 0;
	if (asprintf(&dir, "%s%s", root, c->cg->path) < 0)
		return hrun_error_errno(c->err, "asprintf");
	base = strlen(root);
	/* Each ancestor, up to the container's parent: its children get the
	 * controller from its cgroup.subtree_control. */
	for (char *p = dir + base;; p = strchr(p + 1, '/')) {
		char file[4400], line[1024], plus[64];
		_cleanup_fclose_ FILE *f = NULL;
		_cleanup_close_ int fd = -1;
		char saved;
		bool on = false;

		if (!p)
			break;
		saved = *p;
		*p = '\0';
		snprintf(file, sizeof(file), "%s/cgroup.subtree_control", dir);
		*p = saved;
		f = fopen(file, "re");
		if (f && fgets(line, sizeof(line), f))
			for (char *s = NULL, *w = strtok_r(line, " \n", &s); w; w = strtok_r(NULL, " \n", &s))
				on = on || strcmp(w, controller) == 0;
		if (on)
			continue;
		snprintf(plus, sizeof(plus), "+%s", controller);
		fd = open(file, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, plus, strlen(plus)) < 0)
			return hrun_error_errno(c->err, "linux.resources.%s: enable the %s controller: write %s",
						field, controller, file);
	}
	return 0;
}

/* "memory.high" is the memory controller's; "cgroup.*" files are the
 * core's and need none. */
static int unified_controller(const char *key, char *out, size_t len)
{
	size_t n = strcspn(key, ".");

	if (n == 0 || key[n] != '.' || n >= len)
		return -1;
	memcpy(out, key, n);
	out[n] = '\0';
	return strcmp(out, "cgroup") == 0 ? -1 : 0;
}

static int enable_controllers(struct rctx *c, const struct hrun_resources *res)
{
	const char *want[16];
	size_t n;

	needed_controllers(c, res, want, &n);
	for (size_t i = 0; i < n; i++)
		if (enable_controller(c, want[i], want[i]) < 0 &&
		    (strcmp(want[i], "pids") != 0 || pids_soft_fail(c) < 0))
			return -1;
	for (size_t i = 0; i < res->unified.n; i++) {
		char ctl[64];
		if (unified_controller(res->unified.v[i].key, ctl, sizeof(ctl)) == 0 &&
		    enable_controller(c, ctl, "unified") < 0)
			return -1;
	}
	return 0;
}

/* --- memory --------------------------------------------------------------- */

/* runc's conversion: v2's memory.swap.max is swap alone, the config's
 * swap is memory + swap. Returns -1 (max), 0 (leave as is) or the value. */
static int v2_swap(const struct rctx *c, int64_t swap, int64_t limit, int64_t *out)
{
	if (limit == -1 && swap == 0) {
		*out = -1;
		return 0;
	}
	if (swap == -1 || swap == 0) {
		*out = swap;
		return 0;
	}
	if (limit == 0 || limit == -1)
		return hrun_error_plain(c->err, EINVAL,
					"linux.resources.memory.swap: a swap limit needs a memory limit");
	if (swap < limit)
		return hrun_error_plain(c->err, EINVAL,
					"linux.resources.memory.swap: %lld is below memory.limit %lld (swap counts memory + swap)",
					(long long)swap, (long long)limit);
	*out = swap - limit;
	return 0;
}

static int memory_v2(const struct rctx *c, const struct hrun_memory *m)
{
	int64_t limit = m->limit.set ? m->limit.v : 0, swap = 0;

	if (v2_swap(c, m->swap.set ? m->swap.v : 0, limit, &swap) < 0)
		return -1;
	if (swap != 0) {
		if (has_file(c, "memory", "memory.swap.max")) {
			if (put_max(c, "memory.swap", "memory", "memory.swap.max", swap) < 0)
				return -1;
		} else if (m->swap.set) {
			hrun_warn("linux.resources.memory.swap ignored: no memory.swap.max (swap accounting is off)");
		}
	}
	if (m->limit.set && put_max(c, "memory.limit", "memory", "memory.max", m->limit.v) < 0)
		return -1;
	if (m->reservation.set && put_max(c, "memory.reservation", "memory", "memory.low", m->reservation.v) < 0)
		return -1;
	if (m->swappiness.set && m->swappiness.v != UINT64_MAX)
		hrun_warn("linux.resources.memory.swappiness ignored: cgroup v2 has no per-cgroup swappiness");
	if (m->disable_oom_killer.set && m->disable_oom_killer.v)
		hrun_warn("linux.resources.memory.disableOOMKiller ignored: cgroup v2 cannot disable the OOM killer");
	return 0;
}

/* The kernel wants memory <= memory+swap at every step: when raising the
 * limit above the current memsw, memsw goes first (runc's order). */
static int memory_v1_limits(const struct rctx *c, const struct hrun_memory *m)
{
	int64_t limit = m->limit.set ? m->limit.v : 0, swap = m->swap.set ? m->swap.v : 0;
	bool memsw = has_file(c, "memory", "memory.memsw.limit_in_bytes");
	_cleanup_free_ char *cur = NULL;

	if (swap != 0 && !memsw) {
		hrun_warn("linux.resources.memory.swap ignored: no memory.memsw.limit_in_bytes (swap accounting is off)");
		swap = 0;
	}
	if (limit == -1 && swap == 0 && memsw)
		swap = -1;
	if (limit != 0 && swap != 0) {
		cur = hrun_cgroup_read(c->cg, "memory", "memory.limit_in_bytes");
		bool swap_first = swap == -1 || (cur && strtoull(cur, NULL, 10) < (uint64_t)swap);
		if (swap_first)
			return put_i64(c, "memory.swap", "memory", "memory.memsw.limit_in_bytes", swap) < 0 ||
					       put_i64(c, "memory.limit", "memory", "memory.limit_in_bytes", limit) < 0
				       ? -1
				       : 0;
		return put_i64(c, "memory.limit", "memory", "memory.limit_in_bytes", limit) < 0 ||
				       put_i64(c, "memory.swap", "memory", "memory.memsw.limit_in_bytes", swap) < 0
			       ? -1
			       : 0;
	}
	if (limit != 0 && put_i64(c, "memory.limit", "memory", "memory.limit_in_bytes", limit) < 0)
		return -1;
	if (swap != 0 && put_i64(c, "memory.swap", "memory", "memory.memsw.limit_in_bytes", swap) < 0)
		return -1;
	return 0;
}

static int memory_v1(const struct rctx *c, const struct hrun_memory *m)
{
	if (memory_v1_limits(c, m) < 0)
		return -1;
	if (m->reservation.set &&
	    put_i64(c, "memory.reservation", "memory", "memory.soft_limit_in_bytes", m->reservation.v) < 0)
		return -1;
	if (m->swappiness.set && m->swappiness.v != UINT64_MAX &&
	    put_u64(c, "memory.swappiness", "memory", "memory.swappiness", m->swappiness.v) < 0)
		return -1;
	if (m->disable_oom_killer.set && m->disable_oom_killer.v &&
	    put(c, "memory.disableOOMKiller", "memory", "memory.oom_control", "1") < 0)
		return -1;
	return 0;
}

/* runtime-spec's checkBeforeUpdate: an update must not set a limit at or
 * below what the container already uses (the kernel would reclaim, or
 * OOM-kill, to get there). Only `update`: at create nothing is charged. */
static int check_before_update(const struct rctx *c, const struct hrun_memory *m)
{
	_cleanup_free_ char *cur = NULL;
	uint64_t usage;

	if (!c->updating || !m->check_before_update.set || !m->check_before_update.v || !m->limit.set ||
	    m->limit.v <= 0)
		return 0;
	cur = hrun_cgroup_read(c->cg, "memory", is_v2(c, "memory") ? "memory.current" : "memory.usage_in_bytes");
	if (!cur)
		return hrun_error_errno(c->err, "linux.resources.memory.checkBeforeUpdate: read the memory usage");
	usage = strtoull(cur, NULL, 10);
	if (usage >= (uint64_t)m->limit.v)
		return hrun_error_plain(c->err, EBUSY,
					"linux.resources.memory.limit: %lld is not above the current usage %llu (checkBeforeUpdate)",
					(long long)m->limit.v, (unsigned long long)usage);
	return 0;
}

/* Every kernel since 5.16 accounts hierarchically only (v1 refuses 0;
 * v2 has no switch): false cannot be honoured, true is what it does. */
static int use_hierarchy(const struct rctx *c, const struct hrun_memory *m)
{
	if (!m->use_hierarchy.set)
		return 0;
	if (!is_v2(c, "memory")) {
		const char *v = m->use_hierarchy.v ? "1" : "0";
		if (put(c, "memory.useHierarchy", "memory", "memory.use_hierarchy", v) == 0)
			return 0;
		if (m->use_hierarchy.v || c->err->code != EINVAL)
			return -1;
		hrun_error_clear(c->err);
	} else if (m->use_hierarchy.v) {
		return 0;
	}
	hrun_warn("linux.resources.memory.useHierarchy false ignored: this kernel always accounts memory hierarchically");
	return 0;
}

static int apply_memory(const struct rctx *c, const struct hrun_memory *m)
{
	if (!m->set)
		return 0;
	if ((m->kernel.set && m->kernel.v != 0) || (m->kernel_tcp.set && m->kernel_tcp.v != 0))
		hrun_warn("linux.resources.memory.kernel and kernelTCP ignored: kernel memory limits are deprecated");
	if (check_before_update(c, m) < 0 || use_hierarchy(c, m) < 0)
		return -1;
	return is_v2(c, "memory") ? memory_v2(c, m) : memory_v1(c, m);
}

/* --- pids ------------------------------------------------------------------ */

static int apply_pids(struct rctx *c, const struct hrun_pids *p)
{
	if (!p->set || c->pids_skip)
		return 0;
	/* As runc: 0 and -1 both mean no limit. */
	if (put_max(c, "pids.limit", "pids", "pids.max", p->limit > 0 ? p->limit : -1) < 0)
		return pids_soft_fail(c);
	return 0;
}

/* --- cpu ------------------------------------------------------------------- */

/* runc's map of cgroup v1 shares (2..262144) onto v2 weight (1..10000). */
static uint64_t shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static int cpu_v2(const struct rctx *c, const struct hrun_cpu *cpu)
{
	if (cpu->shares.set && cpu->shares.v != 0 &&
	    put_u64(c, "cpu.shares", "cpu", "cpu.weight", shares_to_weight(cpu->shares.v)) < 0)
		return -1;
	if ((cpu->quota.set && cpu->quota.v != 0) || (cpu->period.set && cpu->period.v != 0)) {
		char buf[64];
		int n = cpu->quota.set && cpu->quota.v > 0 ? snprintf(buf, sizeof(buf), "%lld", (long long)cpu->quota.v)
							   : snprintf(buf, sizeof(buf), "max");
		if (cpu->period.set && cpu->period.v != 0)
			snprintf(buf + n, sizeof(buf) - (size_t)n, " %llu", (unsigned long long)cpu->period.v);
		if (put(c, cpu->quota.set ? "cpu.quota" : "cpu.period", "cpu", "cpu.max", buf) < 0)
			return -1;
	}
	if (cpu->burst.set) {
		if (has_file(c, "cpu", "cpu.max.burst")) {
			if (put_u64(c, "cpu.burst", "cpu", "cpu.max.burst", cpu->burst.v) < 0)
				return -1;
		} else {
			hrun_warn("linux.resources.cpu.burst ignored: this kernel has no cpu.max.burst");
		}
	}
	if (cpu->idle.set && put_i64(c, "cpu.idle", "cpu", "cpu.idle", cpu->idle.v) < 0)
		return -1;
	if ((cpu->realtime_runtime.set && cpu->realtime_runtime.v != 0) ||
	    (cpu->realtime_period.set && cpu->realtime_period.v != 0))
		return hrun_error_plain(c->err, ENOTSUP,
					"linux.resources.cpu.realtimeRuntime: realtime limits are cgroup v1 only");
	return 0;
}

/* A smaller period may be refused while the old quota is in place (the
 * parent's limit): then set the quota and the period again (runc's way). */
static int cpu_v1_quota(const struct rctx *c, const struct hrun_cpu *cpu)
{
	bool retry = false;

	if (cpu->period.set && cpu->period.v != 0 &&
	    put_u64(c, "cpu.period", "cpu", "cpu.cfs_period_us", cpu->period.v) < 0) {
		if (c->err->code != EINVAL || !cpu->quota.set || cpu->quota.v == 0)
			return -1;
		retry = true;
	}
	if (cpu->quota.set && cpu->quota.v != 0) {
		if (put_i64(c, "cpu.quota", "cpu", "cpu.cfs_quota_us", cpu->quota.v) < 0)
			return -1;
		if (retry && put_u64(c, "cpu.period", "cpu", "cpu.cfs_period_us", cpu->period.v) < 0)
			return -1;
	}
	return 0;
}

static int cpu_v1(const struct rctx *c, const struct hrun_cpu *cpu)
{
	if (cpu->shares.set && cpu->shares.v != 0 &&
	    put_u64(c, "cpu.shares", "cpu", "cpu.shares", cpu->shares.v) < 0)
		return -1;
	if (cpu_v1_quota(c, cpu) < 0)
		return -1;
	if (cpu->burst.set) {
		if (has_file(c, "cpu", "cpu.cfs_burst_us")) {
			if (put_u64(c, "cpu.burst", "cpu", "cpu.cfs_burst_us", cpu->burst.v) < 0)
				return -1;
		} else {
			hrun_warn("linux.resources.cpu.burst ignored: this kernel has no cpu.cfs_burst_us");
		}
	}
	if (cpu->realtime_period.set && cpu->realtime_period.v != 0 &&
	    put_u64(c, "cpu.realtimePeriod", "cpu", "cpu.rt_period_us", cpu->realtime_period.v) < 0)
		return -1;
	if (cpu->realtime_runtime.set && cpu->realtime_runtime.v != 0 &&
	    put_i64(c, "cpu.realtimeRuntime", "cpu", "cpu.rt_runtime_us", cpu->realtime_runtime.v) < 0)
		return -1;
	if (cpu->idle.set && put_i64(c, "cpu.idle", "cpu", "cpu.idle", cpu->idle.v) < 0)
		return -1;
	return 0;
}

static int apply_cpu(const struct rctx *c, const struct hrun_cpu *cpu)
{
	if (!cpu->set)
		return 0;
	if ((is_v2(c, "cpu") ? cpu_v2(c, cpu) : cpu_v1(c, cpu)) < 0)
		return -1;
	/* Same file names in both versions. */
	if (cpu->cpus && put(c, "cpu.cpus", "cpuset", "cpuset.cpus", cpu->cpus) < 0)
		return -1;
	if (cpu->mems && put(c, "cpu.mems", "cpuset", "cpuset.mems", cpu->mems) < 0)
		return -1;
	return 0;
}

/* --- blockIO ----------------------------------------------------------------- */

static int throttle(const struct rctx *c, const char *field, const struct hrun_throttle_list *l,
		    const char *v1_file, const char *v2_key)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct hrun_throttle_device *d = &l->v[i];
		char buf[128];

		/* A rate of 0 lifts the limit: v1 takes 0 for that, v2 "max". */
		if (is_v2(c, "io") && d->rate == 0)
			snprintf(buf, sizeof(buf), "%lld:%lld %s=max", (long long)d->major, (long long)d->minor,
				 v2_key);
		else if (is_v2(c, "io"))
			snprintf(buf, sizeof(buf), "%lld:%lld %s=%llu", (long long)d->major, (long long)d->minor,
				 v2_key, (unsigned long long)d->rate);
		else
			snprintf(buf, sizeof(buf), "%lld:%lld %llu", (long long)d->major, (long long)d->minor,
				 (unsigned long long)d->rate);
		if (put(c, field, is_v2(c, "io") ? "io" : "blkio", is_v2(c, "io") ? "io.max" : v1_file, buf) < 0)
			return -1;
	}
	return 0;
}

static int blkio_weight(const struct rctx *c, const struct hrun_blockio *b)
{
	if (!b->weight.set || b->weight.v == 0)
		return 0;
	if (is_v2(c, "io")) {
		/* BFQ takes the v1 range as is; io.weight has its own. */
		if (has_file(c, "io", "io.bfq.weight"))
			return put_u64(c, "blockIO.weight", "io", "io.bfq.weight", b->weight.v);
		return put_u64(c, "blockIO.weight", "io", "io.weight", 1 + (b->weight.v - 10) * 9999 / 990);
	}
	if (!has_file(c, "blkio", "blkio.weight") && has_file(c, "blkio", "blkio.bfq.weight"))
		return put_u64(c, "blockIO.weight", "blkio", "blkio.bfq.weight", b->weight.v);
	return put_u64(c, "blockIO.weight", "blkio", "blkio.weight", b->weight.v);
}

static int apply_blkio(const struct rctx *c, const struct hrun_blockio *b)
{
	bool v2 = is_v2(c, "io");

	if (!b->set)
		return 0;
	if (b->weight.set && (b->weight.v < 10 || b->weight.v > 1000))
		return hrun_error_plain(c->err, EINVAL, "linux.resources.blockIO.weight: %llu out of range 10..1000",
					(unsigned long long)b->weight.v);
	if (blkio_weight(c, b) < 0)
		return -1;
	if (b->leaf_weight.set && !v2 &&
	    put_u64(c, "blockIO.leafWeight", "blkio", "blkio.leaf_weight", b->leaf_weight.v) < 0)
		return -1;
	for (size_t i = 0; i < b->n_weight_devices; i++) {
		const struct hrun_weight_device *w = &b->weight_devices[i];
		char buf[128];
		if (!w->weight.set)
			continue;
		snprintf(buf, sizeof(buf), "%lld:%lld %llu", (long long)w->major, (long long)w->minor,
			 (unsigned long long)w->weight.v);
		if (put(c, "blockIO.weightDevice", v2 ? "io" : "blkio", v2 ? "io.bfq.weight" : "blkio.weight_device",
			buf) < 0)
			return -1;
	}
	return throttle(c, "blockIO.throttleReadBpsDevice", &b->throttle_read_bps, "blkio.throttle.read_bps_device", "rbps") < 0 ||
			       throttle(c, "blockIO.throttleWriteBpsDevice", &b->throttle_write_bps, "blkio.throttle.write_bps_device", "wbps") < 0 ||
			       throttle(c, "blockIO.throttleReadIOPSDevice", &b->throttle_read_iops, "blkio.throttle.read_iops_device", "riops") < 0 ||
			       throttle(c, "blockIO.throttleWriteIOPSDevice", &b->throttle_write_iops, "blkio.throttle.write_iops_device", "wiops") < 0
		       ? -1
		       : 0;
}

/* --- hugetlb ----------------------------------------------------------------- */

static int apply_hugepages(const struct rctx *c, const struct hrun_resources *res)
{
	bool v2 = is_v2(c, "hugetlb");

	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		const struct hrun_hugepage_limit *h = &res->hugepage_limits[i];
		char file[128];

		if (!h->page_size || strchr(h->page_size, '/') || strlen(h->page_size) > 32)
			return hrun_error_plain(c->err, EINVAL, "linux.resources.hugepageLimits[%zu].pageSize: invalid",
						i);
		snprintf(file, sizeof(file), v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", h->page_size);
		if (put_u64(c, "hugepageLimits", "hugetlb", file, h->limit) < 0)
			return -1;
		/* Reservations are charged too where the kernel counts them. */
		snprintf(file, sizeof(file), v2 ? "hugetlb.%s.rsvd.max" : "hugetlb.%s.rsvd.limit_in_bytes",
			 h->page_size);
		if (has_file(c, "hugetlb", file) && put_u64(c, "hugepageLimits", "hugetlb", file, h->limit) < 0)
			return -1;
	}
	return 0;
}

/* --- network (v1 net_cls, net_prio) ------------------------------------------- */

/* cgroup v2 has neither controller (its answer is BPF on the socket
 * cgroup), and many v1 hosts do not mount them: ignored then, as runc. */
static int apply_network(const struct rctx *c, const struct hrun_network *n)
{
	bool cls = n->class_id.set, prio = n->n_priorities > 0;

	if (!n->set || (!cls && !prio))
		return 0;
	if (cls) {
		if (is_v2(c, "net_cls") || !has_file(c, "net_cls", "net_cls.classid"))
			hrun_warn("linux.resources.network.classID ignored: no cgroup v1 net_cls hierarchy on this host");
		else if (put_u64(c, "network.classID", "net_cls", "net_cls.classid", n->class_id.v) < 0)
			return -1;
	}
	if (!prio)
		return 0;
	if (is_v2(c, "net_prio") || !has_file(c, "net_prio", "net_prio.ifpriomap")) {
		hrun_warn("linux.resources.network.priorities ignored: no cgroup v1 net_prio hierarchy on this host");
		return 0;
	}
	for (size_t i = 0; i < n->n_priorities; i++) {
		const struct hrun_net_priority *p = &n->priorities[i];
		char buf[128];

		/* One "IFNAME PRIO" line a write; a name is at most IFNAMSIZ. */
		if (!p->name || !*p->name || strlen(p->name) >= 16 || strpbrk(p->name, " \t\n/"))
			return hrun_error_plain(c->err, EINVAL, "linux.resources.network.priorities[%zu].name: invalid interface name",
						i);
		snprintf(buf, sizeof(buf), "%s %u", p->name, p->priority);
		if (put(c, "network.priorities", "net_prio", "net_prio.ifpriomap", buf) < 0)
			return -1;
	}
	return 0;
}

/* --- rdma -------------------------------------------------------------------- */

/* "DEVICE hca_handle=N hca_object=M" (what is unset stays as it is); the
 * same file in both versions. A device the kernel does not know is
 * refused by it (ENODEV), naming the field. */
static int apply_rdma(const struct rctx *c, const struct hrun_resources *res)
{
	for (size_t i = 0; i < res->n_rdma; i++) {
		const struct hrun_rdma *r = &res->rdma[i];
		char buf[256], field[128];
		int n;

		snprintf(field, sizeof(field), "rdma.%s", r->device ? r->device : "");
		if (!r->device || !*r->device || strlen(r->device) > 64 || strpbrk(r->device, " \t\n=/"))
			return hrun_error_plain(c->err, EINVAL, "linux.resources.rdma: invalid device name \"%s\"",
						r->device ? r->device : "");
		if (!r->hca_handles.set && !r->hca_objects.set)
			continue;
		if (!is_v2(c, "rdma") && !has_file(c, "rdma", "rdma.max"))
			return hrun_error_plain(c->err, ENOTSUP, "linux.resources.%s: this host has no rdma controller",
						field);
		n = snprintf(buf, sizeof(buf), "%s", r->device);
		if (r->hca_handles.set)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, " hca_handle=%llu",
				      (unsigned long long)r->hca_handles.v);
		if (r->hca_objects.set)
			snprintf(buf + n, sizeof(buf) - (size_t)n, " hca_object=%llu",
				 (unsigned long long)r->hca_objects.v);
		if (put(c, field, "rdma", "rdma.max", buf) < 0)
			return -1;
	}
	return 0;
}

/* --- unified ----------------------------------------------------------------- */

/* Files that move processes or kill them: not a limit, and a config must
 * not use them to pull host processes in. */
static bool forbidden_key(const char *key)
{
	return strcmp(key, "cgroup.procs") == 0 || strcmp(key, "cgroup.threads") == 0 ||
	       strcmp(key, "cgroup.kill") == 0 || strcmp(key, "cgroup.subtree_control") == 0;
}

static int apply_unified(const struct rctx *c, const struct hrun_map *u)
{
	for (size_t i = 0; i < u->n; i++) {
		const char *key = u->v[i].key;
		char ctl[64], field[256];

		snprintf(field, sizeof(field), "unified.%s", key);
		if (!*key || strchr(key, '/') || strcmp(key, ".") == 0 || strcmp(key, "..") == 0 || forbidden_key(key))
			return hrun_error_plain(c->err, EINVAL, "linux.resources.%s: not a cgroup file hrun may set",
						field);
		if (!hrun_cgroup_v2_root(c->cg))
			return hrun_error_plain(c->err, ENOTSUP,
						"linux.resources.%s: cgroup v2 files cannot be set on a cgroup v1 host",
						field);
		const char *owner = unified_controller(key, ctl, sizeof(ctl)) == 0 ? ctl : NULL;
		if (owner && !is_v2(c, owner))
			return hrun_error_plain(c->err, ENOTSUP,
						"linux.resources.%s: this host's %s controller is on cgroup v1", field,
						owner);
		if (owner && !root_offers(c, owner))
			return hrun_error_plain(c->err, ENOTSUP, "linux.resources.%s: this host's cgroup v2 has no %s controller",
						field, owner);
		if (!has_file(c, owner, key))
			return hrun_error_plain(c->err, ENOENT, "linux.resources.%s: no such file in the cgroup",
						field);
		if (put(c, field, owner, key, u->v[i].value ? u->v[i].value : "") < 0)
			return -1;
	}
	return 0;
}

static bool anything_set(const struct hrun_resources *r)
{
	return r->memory.set || r->cpu.set || r->pids.set || r->block_io.set || r->n_hugepage_limits ||
	       r->unified.n || r->network.set || r->n_rdma;
}

/* SOFT: at create, where the pids limit may be the policy's default. */
static int apply(const struct hrun_cgroup *cg, const struct hrun_resources *res, bool soft,
		 struct hrun_error *err)
{
	struct rctx c = { .cg = cg, .err = err, .updating = !soft };

	c.pids_soft = soft && res->pids.set && res->pids.limit == HRUN_DEFAULT_PIDS_LIMIT;
	if (!res->set || !anything_set(res))
		return 0;
	if (cg->mode == HRUN_CGROUP_NONE || !cg->path) {
		/* The default pids limit alone is hrun's, not the config's. */
		bool pids_only = !res->memory.set && !res->cpu.set && !res->block_io.set &&
				 !res->n_hugepage_limits && !res->unified.n && !res->network.set && !res->n_rdma;
		hrun_log(pids_only ? HRUN_LOG_DEBUG : HRUN_LOG_WARNING,
			 "linux.resources ignored: no cgroup hierarchy usable here");
		return 0;
	}
	/* unified last: it is the escape hatch, and wins over the fields. */
	return enable_controllers(&c, res) < 0 || apply_memory(&c, &res->memory) < 0 ||
			       apply_pids(&c, &res->pids) < 0 || apply_cpu(&c, &res->cpu) < 0 ||
			       apply_blkio(&c, &res->block_io) < 0 || apply_hugepages(&c, res) < 0 ||
			       apply_network(&c, &res->network) < 0 || apply_rdma(&c, res) < 0 ||
			       apply_unified(&c, &res->unified) < 0
		       ? -1
		       : 0;
}

int hrun_cgroup_apply_resources(const struct hrun_cgroup *cg, const struct hrun_resources *res,
				struct hrun_error *err)
{
	/* Devices always: without rules the container gets the standard
	 * allowlist, never every device of the host. */
	return apply(cg, res, true, err) < 0 || hrun_cgroup_apply_devices(cg, res, false, err) < 0 ? -1 : 0;
}

/* --- update: merge, parse, the command's work ------------------------------- */

#define TAKE(dst, src, field)                  \
	do {                                   \
		if ((src)->field.set)          \
			(dst)->field = (src)->field; \
	} while (0)

static int take_str(char **dst, const char *src, struct hrun_error *err)
{
	char *copy;

	if (!src)
		return 0;
	copy = strdup(src);
	if (!copy)
		return hrun_error_errno(err, "strdup");
	free(*dst);
	*dst = copy;
	return 0;
}

static void merge_memory(struct hrun_memory *d, const struct hrun_memory *s)
{
	if (!s->set)
		return;
	d->set = true;
	TAKE(d, s, limit);
	TAKE(d, s, reservation);
	TAKE(d, s, swap);
	TAKE(d, s, kernel);
	TAKE(d, s, kernel_tcp);
	TAKE(d, s, swappiness);
	TAKE(d, s, disable_oom_killer);
	TAKE(d, s, use_hierarchy);
	TAKE(d, s, check_before_update);
}

static int merge_cpu(struct hrun_cpu *d, const struct hrun_cpu *s, struct hrun_error *err)
{
	if (!s->set)
		return 0;
	d->set = true;
	TAKE(d, s, shares);
	TAKE(d, s, quota);
	TAKE(d, s, burst);
	TAKE(d, s, period);
	TAKE(d, s, realtime_runtime);
	TAKE(d, s, realtime_period);
	TAKE(d, s, idle);
	return take_str(&d->cpus, s->cpus, err) < 0 || take_str(&d->mems, s->mems, err) < 0 ? -1 : 0;
}

static int copy_array(void **dst, const void *src, size_t n, size_t size, struct hrun_error *err)
{
	void *v = n ? calloc(n, size) : NULL;

	if (n && !v)
		return hrun_error_errno(err, "calloc");
	if (n)
		memcpy(v, src, n * size);
	*dst = v;
	return 0;
}

static int merge_throttle(struct hrun_throttle_list *d, const struct hrun_throttle_list *s,
			  struct hrun_error *err)
{
	void *v;

	if (!s->n)
		return 0;
	if (copy_array(&v, s->v, s->n, sizeof(*s->v), err) < 0)
		return -1;
	free(d->v);
	d->v = v;
	d->n = s->n;
	return 0;
}

static int merge_blkio(struct hrun_blockio *d, const struct hrun_blockio *s, struct hrun_error *err)
{
	if (!s->set)
		return 0;
	d->set = true;
	TAKE(d, s, weight);
	TAKE(d, s, leaf_weight);
	if (s->n_weight_devices) {
		void *v;
		if (copy_array(&v, s->weight_devices, s->n_weight_devices, sizeof(*s->weight_devices), err) < 0)
			return -1;
		free(d->weight_devices);
		d->weight_devices = v;
		d->n_weight_devices = s->n_weight_devices;
	}
	return merge_throttle(&d->throttle_read_bps, &s->throttle_read_bps, err) < 0 ||
			       merge_throttle(&d->throttle_write_bps, &s->throttle_write_bps, err) < 0 ||
			       merge_throttle(&d->throttle_read_iops, &s->throttle_read_iops, err) < 0 ||
			       merge_throttle(&d->throttle_write_iops, &s->throttle_write_iops, err) < 0
		       ? -1
		       : 0;
}

static int merge_hugepages(struct hrun_resources *d, const struct hrun_resources *s, struct hrun_error *err)
{
	for (size_t i = 0; i < s->n_hugepage_limits; i++) {
		const struct hrun_hugepage_limit *h = &s->hugepage_limits[i];
		size_t j = 0;

		while (j < d->n_hugepage_limits &&
		       !(h->page_size && d->hugepage_limits[j].page_size &&
			 strcmp(d->hugepage_limits[j].page_size, h->page_size) == 0))
			j++;
		if (j == d->n_hugepage_limits) {
			struct hrun_hugepage_limit *more =
				realloc(d->hugepage_limits, (j + 1) * sizeof(*more));
			if (!more)
				return hrun_error_errno(err, "realloc");
			d->hugepage_limits = more;
			more[j] = (struct hrun_hugepage_limit){ 0 };
			d->n_hugepage_limits++;
			if (take_str(&more[j].page_size, h->page_size, err) < 0)
				return -1;
		}
		d->hugepage_limits[j].limit = h->limit;
	}
	return 0;
}

static int merge_unified(struct hrun_map *d, const struct hrun_map *s, struct hrun_error *err)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t j = 0;

		while (j < d->n && strcmp(d->v[j].key, s->v[i].key) != 0)
			j++;
		if (j == d->n) {
			struct hrun_kv *more = realloc(d->v, (j + 1) * sizeof(*more));
			if (!more)
				return hrun_error_errno(err, "realloc");
			d->v = more;
			more[j] = (struct hrun_kv){ 0 };
			d->n++;
			d->set = true;
			if (take_str(&more[j].key, s->v[i].key, err) < 0)
				return -1;
		}
		if (take_str(&d->v[j].value, s->v[i].value ? s->v[i].value : "", err) < 0)
			return -1;
	}
	return 0;
}

/* Rules are read in order, each against those before it: a new list
 * replaces the old one whole. */
static int merge_device_rules(struct hrun_resources *d, const struct hrun_resources *s,
			      struct hrun_error *err)
{
	struct hrun_device_rule *v;

	if (!s->n_devices)
		return 0;
	v = calloc(s->n_devices, sizeof(*v));
	if (!v)
		return hrun_error_errno(err, "calloc");
	for (size_t i = 0; i < s->n_devices; i++) {
		v[i] = s->devices[i];
		v[i].type = v[i].access = NULL;
		if (take_str(&v[i].type, s->devices[i].type, err) < 0 ||
		    take_str(&v[i].access, s->devices[i].access, err) < 0) {
			for (size_t j = 0; j <= i; j++) {
				free(v[j].type);
				free(v[j].access);
			}
			free(v);
			return -1;
		}
	}
	for (size_t i = 0; i < d->n_devices; i++) {
		free(d->devices[i].type);
		free(d->devices[i].access);
	}
	free(d->devices);
	d->devices = v;
	d->n_devices = s->n_devices;
	return 0;
}

static int merge_network(struct hrun_network *d, const struct hrun_network *s, struct hrun_error *err)
{
	if (!s->set)
		return 0;
	d->set = true;
	TAKE(d, s, class_id);
	for (size_t i = 0; i < s->n_priorities; i++) {
		size_t j = 0;

		while (j < d->n_priorities && strcmp(d->priorities[j].name ? d->priorities[j].name : "",
						     s->priorities[i].name ? s->priorities[i].name : "") != 0)
			j++;
		if (j == d->n_priorities) {
			struct hrun_net_priority *more = realloc(d->priorities, (j + 1) * sizeof(*more));
			if (!more)
				return hrun_error_errno(err, "realloc");
			d->priorities = more;
			more[j] = (struct hrun_net_priority){ 0 };
			d->n_priorities++;
			if (take_str(&more[j].name, s->priorities[i].name, err) < 0)
				return -1;
		}
		d->priorities[j].priority = s->priorities[i].priority;
	}
	return 0;
}

static int merge_rdma(struct hrun_resources *d, const struct hrun_resources *s, struct hrun_error *err)
{
	for (size_t i = 0; i < s->n_rdma; i++) {
		const struct hrun_rdma *r = &s->rdma[i];
		size_t j = 0;

		while (j < d->n_rdma && strcmp(d->rdma[j].device, r->device) != 0)
			j++;
		if (j == d->n_rdma) {
			struct hrun_rdma *more = realloc(d->rdma, (j + 1) * sizeof(*more));
			if (!more)
				return hrun_error_errno(err, "realloc");
			d->rdma = more;
			more[j] = (struct hrun_rdma){ 0 };
			d->n_rdma++;
			if (take_str(&more[j].device, r->device, err) < 0)
				return -1;
		}
		TAKE(&d->rdma[j], r, hca_handles);
		TAKE(&d->rdma[j], r, hca_objects);
	}
	return 0;
}

int hrun_resources_merge(struct hrun_resources *dst, const struct hrun_resources *src,
			 struct hrun_error *err)
{
	if (!src->set)
		return 0;
	dst->set = true;
	if (merge_device_rules(dst, src, err) < 0)
		return -1;
	merge_memory(&dst->memory, &src->memory);
	if (src->pids.set)
		dst->pids = src->pids;
	return merge_cpu(&dst->cpu, &src->cpu, err) < 0 || merge_blkio(&dst->block_io, &src->block_io, err) < 0 ||
			       merge_hugepages(dst, src, err) < 0 || merge_unified(&dst->unified, &src->unified, err) < 0 ||
			       merge_network(&dst->network, &src->network, err) < 0 || merge_rdma(dst, src, err) < 0
		       ? -1
		       : 0;
}

/* The parser reads whole configs: wrap the object in one, so its type
 * checks and JSON-path messages apply as they do at create. */
static struct hrun_spec *parse_resources(const char *json, size_t len, struct hrun_error *err)
{
	static const char head[] = "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\":";
	static const char tail[] = "\n}}";
	_cleanup_free_ char *doc = malloc(sizeof(head) + len + sizeof(tail));
	struct hrun_spec *spec;

	if (!doc) {
		hrun_error_errno(err, "malloc");
		return NULL;
	}
	memcpy(doc, head, sizeof(head) - 1);
	memcpy(doc + sizeof(head) - 1, json, len);
	memcpy(doc + sizeof(head) - 1 + len, tail, sizeof(tail));
	spec = hrun_spec_parse(doc, sizeof(head) - 1 + len + sizeof(tail) - 1, "resources", err);
	if (spec && !spec->linux_.resources.set) {
		hrun_spec_free(spec);
		hrun_error_plain(err, EINVAL, "resources: expected a linux.resources object");
		return NULL;
	}
	return spec;
}

static int update_locked(struct hrun_container *c, const char *json, size_t len,
			 const struct hrun_resources *flags, struct hrun_error *err)
{
	struct hrun_resources *res;
	bool devices = false;

	if (c->status == HRUN_STATUS_STOPPED || c->status == HRUN_STATUS_CREATING)
		return hrun_error_plain(err, EINVAL, "container not running");
	if (!c->spec)
		return hrun_error_plain(err, ENOENT, "container \"%s\" has no saved config", c->state.id);
	res = &c->spec->linux_.resources;
	if (json) {
		struct hrun_spec *given = parse_resources(json, len, err);
		int r;
		if (!given)
			return -1;
		r = hrun_resources_merge(res, &given->linux_.resources, err);
		devices = given->linux_.resources.n_devices > 0;
		hrun_spec_free(given);
		if (r < 0)
			return -1;
	}
	if (flags && hrun_resources_merge(res, flags, err) < 0)
		return -1;
	if (!c->spec->linux_.set)
		c->spec->linux_.set = true;
	if (hrun_spec_validate(c->spec, "resources", err) < 0)
		return -1;
	/* Rules the cgroup cannot hold are refused before anything changes. */
	if (devices) {
		struct hrun_dev_state st;
		if (hrun_dev_state_build(res, &st, err) < 0)
			return -1;
		hrun_dev_state_free(&st);
	}
	if (apply(&c->cgroup, res, false, err) < 0)
		return -1;
	/* Only when the update brings rules: the rewrite is not free (the v1
	 * one freezes the container). */
	if (devices && hrun_cgroup_apply_devices(&c->cgroup, res, true, err) < 0)
		return -1;
	return hrun_state_write_config(c->dirfd, c->spec, err);
}

int hrun_container_update(const struct hrun_context *ctx, const char *id, const char *json,
			  size_t len, const struct hrun_resources *flags, struct hrun_error *err)
{
	struct hrun_container c;
	int r;

	if (hrun_container_open(ctx, id, true, &c, err) < 0)
		return -1;
	/* Rootless without delegation: nothing would enforce the change. */
	if (!c.cgroup.path && c.status != HRUN_STATUS_STOPPED)
		r = hrun_error_plain(err, ENOTSUP,
				     "container %s has no cgroup of its own (rootless without cgroup delegation): update needs one",
				     id);
	else
		r = update_locked(&c, json, len, flags, err);
	hrun_container_close(&c);
	return r;
}

int hrun_parse_size(const char *s, int64_t *out)
{
	static const char units[] = "kmgtp";
	char *end;
	double v;
	double mult = 1;

	if (strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	/* Plain decimals only: no exponent, no hex. */
	if (errno || end == s || (size_t)(end - s) != strspn(s, "0123456789."))
		return -1;
	if (*end == ' ')
		end++;
	if (*end && strchr("bB", *end) && !end[1]) {
		end++;
	} else if (*end) {
		const char *u = strchr(units, tolower((unsigned char)*end));
		if (!u)
			return -1;
		for (long i = 0; i <= u - units; i++)
			mult *= 1024;
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
	}
	if (*end || v * mult >= 9.2e18)
		return -1;
	*out = (int64_t)(v * mult);
	return 0;
}
