/* Semantic checks on a parsed config: the rules the JSON types cannot
 * express. Every message names the file and the JSON path, so the user can
 * find the line to fix. A rule that protects the host (sysctl names that
 * are not namespaced, cgroup file names with "..") is here rather than in
 * the code that applies the setting, so it holds for every caller. */
#define _GNU_SOURCE
#include "spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capnames.h"
#include "json.h"

/* The kernel's limit on uid_map/gid_map lines (since Linux 4.15). */
#define MAX_IDMAP_LINES 340
/* HOST_NAME_MAX; also the limit for the NIS domain name. */
#define MAX_HOSTNAME 64
/* IFNAMSIZ - 1 */
#define MAX_IFNAME 15

struct vctx {
	const char *file;
	struct hrun_error *err;
};

static int fail(struct vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct vctx *c, const char *fmt, ...)
{
	char msg[HRUN_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hrun_error_set(c->err, 0, "%s: %s", c->file, msg);
}

#define Q(s, buf) hrun_json_quote((s), (buf), sizeof(buf))

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static bool absolute(const char *p)
{
	return p && p[0] == '/';
}

static bool empty(const char *s)
{
	return !s || !*s;
}

/* "0-3,7": numbers and ascending ranges, comma-separated, as used by
 * cpusets, execCPUAffinity and memory policy node lists. */
static bool valid_id_list(const char *s)
{
	while (*s) {
		unsigned long a = 0, b;
		int digits = 0;

		while (*s == ' ')
			s++;
		for (; *s >= '0' && *s <= '9' && digits < 9; s++, digits++)
			a = a * 10 + (unsigned long)(*s - '0');
		if (digits == 0 || (*s >= '0' && *s <= '9'))
			return false;
		b = a;
		if (*s == '-') {
			s++;
			b = 0;
			digits = 0;
			for (; *s >= '0' && *s <= '9' && digits < 9; s++, digits++)
				b = b * 10 + (unsigned long)(*s - '0');
			if (digits == 0 || (*s >= '0' && *s <= '9') || b < a)
				return false;
		}
		while (*s == ' ')
			s++;
		if (*s == ',')
			s++;
		else if (*s)
			return false;
		else
			break;
		if (!*s)
			return false; /* trailing comma */
	}
	return true;
}

/* A single path component: what a cgroup file, resctrl group or network
 * interface name must be, so it cannot climb out of its directory. */
static bool valid_component(const char *s)
{
	return !empty(s) && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static bool valid_ifname(const char *s)
{
	return valid_component(s) && strlen(s) <= MAX_IFNAME && !strpbrk(s, ": \t\n");
}

static bool has_dotdot(const char *path)
{
	for (const char *p = path; p && *p;) {
		const char *end = strchrnul(p, '/');
		if (end - p == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* --- Top level -------------------------------------------------------------- */

static int check_version(struct vctx *c, const struct hrun_spec *s)
{
	char q[64];

	if (empty(s->oci_version))
		return fail(c, "ociVersion: required");
	if (strncmp(s->oci_version, "1.", 2) != 0 || s->oci_version[2] < '0' ||
	    s->oci_version[2] > '9')
		return fail(c, "ociVersion: unsupported version %s (hrun supports 1.x)",
			    Q(s->oci_version, q));
	return 0;
}

static int check_root(struct vctx *c, const struct hrun_spec *s)
{
	if (!s->root.set)
		return fail(c, "root: required");
	if (empty(s->root.path))
		return fail(c, "root.path: required");
	return 0;
}

/* Ranges must fit in 32 bits and must not overlap on either side: the
 * kernel refuses such a map, and a clear message beats EINVAL from a write
 * to /proc/PID/uid_map. */
static int check_idmaps(struct vctx *c, const struct hrun_idmaps *m, const char *path)
{
	if (m->n > MAX_IDMAP_LINES)
		return fail(c, "%s: %zu mappings, the kernel allows at most %d", path, m->n,
			    MAX_IDMAP_LINES);
	for (size_t i = 0; i < m->n; i++) {
		const struct hrun_idmap *a = &m->v[i];

		if (a->size == 0)
			return fail(c, "%s[%zu].size: must be greater than zero", path, i);
		if ((uint64_t)a->container_id + a->size > UINT32_MAX)
			return fail(c, "%s[%zu]: containerID %u + size %u overflows the 32-bit id range",
				    path, i, a->container_id, a->size);
		if ((uint64_t)a->host_id + a->size > UINT32_MAX)
			return fail(c, "%s[%zu]: hostID %u + size %u overflows the 32-bit id range",
				    path, i, a->host_id, a->size);
		for (size_t j = 0; j < i; j++) {
			const struct hrun_idmap *b = &m->v[j];

			if (a->container_id < (uint64_t)b->container_id + b->size &&
			    b->container_id < (uint64_t)a->container_id + a->size)
				return fail(c, "%s[%zu]: container range overlaps %s[%zu]", path, i,
					    path, j);
			if (a->host_id < (uint64_t)b->host_id + b->size &&
			    b->host_id < (uint64_t)a->host_id + a->size)
				return fail(c, "%s[%zu]: host range overlaps %s[%zu]", path, i, path,
					    j);
		}
	}
	return 0;
}

static int check_mounts(struct vctx *c, const struct hrun_spec *s)
{
	char path[64], q[128];

	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct hrun_mount *m = &s->mounts[i];

		if (empty(m->destination))
			return fail(c, "mounts[%zu].destination: required", i);
		if (!absolute(m->destination))
			return fail(c, "mounts[%zu].destination: %s is not an absolute path", i,
				    Q(m->destination, q));
		snprintf(path, sizeof(path), "mounts[%zu].uidMappings", i);
		if (check_idmaps(c, &m->uid_mappings, path) < 0)
			return -1;
		snprintf(path, sizeof(path), "mounts[%zu].gidMappings", i);
		if (check_idmaps(c, &m->gid_mappings, path) < 0)
			return -1;
		if ((m->uid_mappings.n > 0) != (m->gid_mappings.n > 0))
			return fail(c, "mounts[%zu]: an idmapped mount needs both uidMappings and gidMappings",
				    i);
		if (!hrun_mount_is_idmapped(m, NULL))
			continue;
		if (!hrun_mount_is_bind(m))
			return fail(c, "mounts[%zu]: idmapped mounts are supported for bind mounts only", i);
		if (m->uid_mappings.n == 0 && s->linux_.uid_mappings.n == 0)
			return fail(c,
				    "mounts[%zu]: idmap without uidMappings and gidMappings takes the container's, and it has none (no user namespace mappings)",
				    i);
	}
	return 0;
}

static int check_hostnames(struct vctx *c, const struct hrun_spec *s)
{
	static const char *const keys[] = { "hostname", "domainname" };
	const char *vals[] = { s->hostname, s->domainname };

	for (size_t i = 0; i < 2; i++) {
		if (empty(vals[i]))
			continue;
		if (strlen(vals[i]) > MAX_HOSTNAME)
			return fail(c, "%s: longer than %d bytes", keys[i], MAX_HOSTNAME);
		/* Without its own uts namespace the container would rename the host. */
		if (!hrun_spec_find_ns(s, HRUN_NS_UTS))
			return fail(c, "%s: setting it requires a uts namespace", keys[i]);
	}
	return 0;
}

static int check_hooklist(struct vctx *c, const struct hrun_hooklist *l, const char *name)
{
	char q[128];

	for (size_t i = 0; i < l->n; i++) {
		const struct hrun_hook *h = &l->v[i];

		if (empty(h->path))
			return fail(c, "hooks.%s[%zu].path: required", name, i);
		if (!absolute(h->path))
			return fail(c, "hooks.%s[%zu].path: %s is not an absolute path", name, i,
				    Q(h->path, q));
		if (h->timeout.set && h->timeout.v <= 0)
			return fail(c, "hooks.%s[%zu].timeout: must be greater than zero", name, i);
	}
	return 0;
}

static int check_hooks(struct vctx *c, const struct hrun_spec *s)
{
	const struct hrun_hooks *h = &s->hooks;

	if (check_hooklist(c, &h->prestart, "prestart") < 0 ||
	    check_hooklist(c, &h->create_runtime, "createRuntime") < 0 ||
	    check_hooklist(c, &h->create_container, "createContainer") < 0 ||
	    check_hooklist(c, &h->start_container, "startContainer") < 0 ||
	    check_hooklist(c, &h->poststart, "poststart") < 0 ||
	    check_hooklist(c, &h->poststop, "poststop") < 0)
		return -1;
	for (size_t i = 0; i < s->annotations.n; i++)
		if (empty(s->annotations.v[i].key))
			return fail(c, "annotations: empty key");
	return 0;
}

/* --- Process ---------------------------------------------------------------- */

static int check_caps(struct vctx *c, const struct hrun_capabilities *caps)
{
	const struct {
		const char *name;
		const struct hrun_strv *set;
	} sets[] = {
		{ "bounding", &caps->bounding },       { "effective", &caps->effective },
		{ "inheritable", &caps->inheritable }, { "permitted", &caps->permitted },
		{ "ambient", &caps->ambient },
	};
	char q[128];

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		for (size_t j = 0; j < sets[i].set->n; j++)
			if (hrun_cap_from_name(sets[i].set->v[j]) < 0)
				return fail(c, "process.capabilities.%s[%zu]: unknown capability %s",
					    sets[i].name, j, Q(sets[i].set->v[j], q));
	return 0;
}

static int check_rlimits(struct vctx *c, const struct hrun_process *p)
{
	size_t seen[64];
	bool have[64] = { false };
	char q[128];

	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct hrun_rlimit *r = &p->rlimits[i];
		int res = hrun_rlimit_from_name(r->type);

		if (empty(r->type))
			return fail(c, "process.rlimits[%zu].type: required", i);
		if (res < 0 || res >= 64)
			return fail(c, "process.rlimits[%zu].type: unknown rlimit %s", i,
				    Q(r->type, q));
		if (r->soft > r->hard)
			return fail(c,
				    "process.rlimits[%zu]: soft limit %llu exceeds hard limit %llu", i,
				    (unsigned long long)r->soft, (unsigned long long)r->hard);
		if (have[res])
			return fail(c, "process.rlimits[%zu].type: duplicate rlimit %s (also at [%zu])",
				    i, Q(r->type, q), seen[res]);
		have[res] = true;
		seen[res] = i;
	}
	return 0;
}

static int check_scheduler(struct vctx *c, const struct hrun_scheduler *s)
{
	static const char *const policies[] = { "SCHED_OTHER", "SCHED_FIFO",  "SCHED_RR",
						"SCHED_BATCH", "SCHED_ISO",   "SCHED_IDLE",
						"SCHED_DEADLINE", NULL };
	static const char *const flags[] = { "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",
					     "SCHED_FLAG_DL_OVERRUN",	  "SCHED_FLAG_KEEP_POLICY",
					     "SCHED_FLAG_KEEP_PARAMS",	  "SCHED_FLAG_UTIL_CLAMP_MIN",
					     "SCHED_FLAG_UTIL_CLAMP_MAX", NULL };
	char q[128];

	if (!s->set)
		return 0;
	if (empty(s->policy))
		return fail(c, "process.scheduler.policy: required");
	if (!in_list(s->policy, policies))
		return fail(c, "process.scheduler.policy: unknown policy %s", Q(s->policy, q));
	for (size_t i = 0; i < s->flags.n; i++)
		if (!in_list(s->flags.v[i], flags))
			return fail(c, "process.scheduler.flags[%zu]: unknown flag %s", i,
				    Q(s->flags.v[i], q));
	if (s->nice.set && (s->nice.v < -20 || s->nice.v > 19))
		return fail(c, "process.scheduler.nice: value %lld out of range -20..19",
			    (long long)s->nice.v);
	if (s->priority.set && (s->priority.v < 0 || s->priority.v > 99))
		return fail(c, "process.scheduler.priority: value %lld out of range 0..99",
			    (long long)s->priority.v);
	return 0;
}

static int check_process_misc(struct vctx *c, const struct hrun_process *p)
{
	static const char *const classes[] = { "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
					       "IOPRIO_CLASS_IDLE", NULL };
	char q[128];

	if (p->user.umask.set && p->user.umask.v > 0777)
		return fail(c, "process.user.umask: value %#llo out of range 0..0777",
			    (unsigned long long)p->user.umask.v);
	if (p->oom_score_adj.set && (p->oom_score_adj.v < -1000 || p->oom_score_adj.v > 1000))
		return fail(c, "process.oomScoreAdj: value %lld out of range -1000..1000",
			    (long long)p->oom_score_adj.v);
	if (p->io_priority.set) {
		if (empty(p->io_priority.class))
			return fail(c, "process.ioPriority.class: required");
		if (!in_list(p->io_priority.class, classes))
			return fail(c, "process.ioPriority.class: unknown class %s",
				    Q(p->io_priority.class, q));
		if (p->io_priority.priority < 0 || p->io_priority.priority > 7)
			return fail(c, "process.ioPriority.priority: value %lld out of range 0..7",
				    (long long)p->io_priority.priority);
	}
	if (p->exec_cpu_affinity.initial && !valid_id_list(p->exec_cpu_affinity.initial))
		return fail(c, "process.execCPUAffinity.initial: invalid CPU list %s",
			    Q(p->exec_cpu_affinity.initial, q));
	if (p->exec_cpu_affinity.final && !valid_id_list(p->exec_cpu_affinity.final))
		return fail(c, "process.execCPUAffinity.final: invalid CPU list %s",
			    Q(p->exec_cpu_affinity.final, q));
	return 0;
}

static int check_process(struct vctx *c, const struct hrun_spec *s)
{
	const struct hrun_process *p = s->process;
	char q[128];

	if (!p)
		return 0;
	if (p->args.n == 0)
		return fail(c, "process.args: at least one argument is required");
	if (empty(p->args.v[0]))
		return fail(c, "process.args[0]: empty");
	if (empty(p->cwd))
		return fail(c, "process.cwd: required");
	if (!absolute(p->cwd))
		return fail(c, "process.cwd: %s is not an absolute path", Q(p->cwd, q));
	for (size_t i = 0; i < p->env.n; i++) {
		const char *eq = strchr(p->env.v[i], '=');
		if (!eq || eq == p->env.v[i])
			return fail(c, "process.env[%zu]: %s is not of the form NAME=VALUE", i,
				    Q(p->env.v[i], q));
	}
	if (check_caps(c, &p->capabilities) < 0 || check_rlimits(c, p) < 0 ||
	    check_scheduler(c, &p->scheduler) < 0)
		return -1;
	return check_process_misc(c, p);
}

/* --- Linux: namespaces and ids ---------------------------------------------- */

static int check_namespaces(struct vctx *c, const struct hrun_linux *l)
{
	bool seen[HRUN_NS_COUNT] = { false };
	char q[128];

	for (size_t i = 0; i < l->n_namespaces; i++) {
		const struct hrun_namespace *ns = &l->namespaces[i];
		const char *name = hrun_ns_type_name(ns->type);

		if (!name)
			return fail(c, "linux.namespaces[%zu].type: unknown namespace type", i);
		if (seen[ns->type])
			return fail(c, "linux.namespaces[%zu].type: duplicate namespace %s", i,
				    Q(name, q));
		seen[ns->type] = true;
		if (ns->path && !absolute(ns->path))
			return fail(c, "linux.namespaces[%zu].path: %s is not an absolute path", i,
				    Q(ns->path, q));
	}
	return 0;
}

static int check_userns(struct vctx *c, const struct hrun_spec *s)
{
	const struct hrun_linux *l = &s->linux_;
	const struct hrun_namespace *user = hrun_spec_find_ns(s, HRUN_NS_USER);
	bool uid = l->uid_mappings.n > 0, gid = l->gid_mappings.n > 0;

	if (check_idmaps(c, &l->uid_mappings, "linux.uidMappings") < 0 ||
	    check_idmaps(c, &l->gid_mappings, "linux.gidMappings") < 0)
		return -1;
	/* Joining an existing user namespace brings its own maps. */
	if (user && !user->path) {
		if (!uid && !gid)
			return fail(c, "linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings");
		if (!uid)
			return fail(c, "linux.uidMappings: required with a new user namespace");
		if (!gid)
			return fail(c, "linux.gidMappings: required with a new user namespace");
	} else if (!user && (uid || gid)) {
		return fail(c, "%s: mappings given but no user namespace is configured",
			    uid ? "linux.uidMappings" : "linux.gidMappings");
	}
	return 0;
}

static int check_time_offsets(struct vctx *c, const struct hrun_spec *s)
{
	const struct hrun_time_offsets *t = &s->linux_.time_offsets;
	const struct hrun_namespace *ns = hrun_spec_find_ns(s, HRUN_NS_TIME);

	if (!t->set)
		return 0;
	/* Offsets can only be written before the first process enters a new
	 * time namespace. */
	if (!ns || ns->path)
		return fail(c, "linux.timeOffsets: requires a new time namespace");
	if (t->monotonic.nanosecs > 999999999)
		return fail(c, "linux.timeOffsets.monotonic.nanosecs: value %u out of range 0..999999999",
			    t->monotonic.nanosecs);
	if (t->boottime.nanosecs > 999999999)
		return fail(c, "linux.timeOffsets.boottime.nanosecs: value %u out of range 0..999999999",
			    t->boottime.nanosecs);
	return 0;
}

static int check_devices(struct vctx *c, const struct hrun_linux *l)
{
	static const char *const types[] = { "c", "b", "u", "p", NULL };
	char q[128];

	for (size_t i = 0; i < l->n_devices; i++) {
		const struct hrun_device *d = &l->devices[i];

		if (empty(d->path))
			return fail(c, "linux.devices[%zu].path: required", i);
		if (!absolute(d->path))
			return fail(c, "linux.devices[%zu].path: %s is not an absolute path", i,
				    Q(d->path, q));
		if (empty(d->type))
			return fail(c, "linux.devices[%zu].type: required", i);
		if (!in_list(d->type, types))
			return fail(c, "linux.devices[%zu].type: unknown device type %s (expected c, b, u or p)",
				    i, Q(d->type, q));
	}
	return 0;
}

/* --- Linux: resources ----------------------------------------------------- */

static int check_device_rules(struct vctx *c, const struct hrun_resources *r)
{
	static const char *const types[] = { "a", "c", "b", NULL };
	char q[128];

	for (size_t i = 0; i < r->n_devices; i++) {
		const struct hrun_device_rule *d = &r->devices[i];

		if (d->type && !in_list(d->type, types))
			return fail(c, "linux.resources.devices[%zu].type: unknown type %s (expected a, c or b)",
				    i, Q(d->type, q));
		/* runc refuses a rule without access too: it would change
		 * nothing, and is most likely a mistake. */
		if (empty(d->access))
			return fail(c, "linux.resources.devices[%zu].access: required (a combination of r, w and m)",
				    i);
		for (const char *a = d->access; *a; a++)
			if (!strchr("rwm", *a) || strchr(a + 1, *a))
				return fail(c, "linux.resources.devices[%zu].access: invalid access %s (a combination of r, w and m)",
					    i, Q(d->access, q));
		/* 2^32-1 is the v1 kernel's own wildcard: -1 says that. */
		if (d->major.set && (d->major.v < -1 || d->major.v > 4294967294LL))
			return fail(c, "linux.resources.devices[%zu].major: %lld out of range (-1 for any, or 0..4294967294)",
				    i, (long long)d->major.v);
		if (d->minor.set && (d->minor.v < -1 || d->minor.v > 4294967294LL))
			return fail(c, "linux.resources.devices[%zu].minor: %lld out of range (-1 for any, or 0..4294967294)",
				    i, (long long)d->minor.v);
	}
	return 0;
}

static int check_memory(struct vctx *c, const struct hrun_memory *m)
{
	const struct {
		const char *name;
		const struct hrun_opt_i64 *v;
	} limits[] = {
		{ "limit", &m->limit },	  { "reservation", &m->reservation },
		{ "swap", &m->swap },	  { "kernel", &m->kernel },
		{ "kernelTCP", &m->kernel_tcp },
	};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (limits[i].v->set && limits[i].v->v < -1)
			return fail(c, "linux.resources.memory.%s: value %lld is invalid (-1 means unlimited)",
				    limits[i].name, (long long)limits[i].v->v);
	/* UINT64_MAX is what some engines send for "kernel default". */
	if (m->swappiness.set && m->swappiness.v > 100 && m->swappiness.v != UINT64_MAX)
		return fail(c, "linux.resources.memory.swappiness: value %llu out of range 0..100",
			    (unsigned long long)m->swappiness.v);
	return 0;
}

static int check_cpu_blkio(struct vctx *c, const struct hrun_resources *r)
{
	char q[128];

	if (r->cpu.cpus && !valid_id_list(r->cpu.cpus))
		return fail(c, "linux.resources.cpu.cpus: invalid CPU list %s", Q(r->cpu.cpus, q));
	if (r->cpu.mems && !valid_id_list(r->cpu.mems))
		return fail(c, "linux.resources.cpu.mems: invalid node list %s", Q(r->cpu.mems, q));
	if (r->cpu.idle.set && (r->cpu.idle.v < 0 || r->cpu.idle.v > 1))
		return fail(c, "linux.resources.cpu.idle: value %lld out of range 0..1",
			    (long long)r->cpu.idle.v);
	for (size_t i = 0; i < r->block_io.n_weight_devices; i++) {
		const struct hrun_weight_device *w = &r->block_io.weight_devices[i];
		if (!w->weight.set && !w->leaf_weight.set)
			return fail(c, "linux.resources.blockIO.weightDevice[%zu]: needs weight or leafWeight",
				    i);
	}
	return 0;
}

/* "2MB", "1GB": what the hugetlb controller's file names use. */
static bool valid_page_size(const char *s)
{
	size_t n = strlen(s), digits = strspn(s, "0123456789");

	return n >= 3 && s[0] != '0' && digits == n - 2 && strchr("KMG", s[n - 2]) &&
	       s[n - 1] == 'B';
}

static int check_resources_misc(struct vctx *c, const struct hrun_resources *r)
{
	char q[128];

	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const char *ps = r->hugepage_limits[i].page_size;
		if (empty(ps))
			return fail(c, "linux.resources.hugepageLimits[%zu].pageSize: required", i);
		if (!valid_page_size(ps))
			return fail(c, "linux.resources.hugepageLimits[%zu].pageSize: invalid page size %s (expected e.g. \"2MB\")",
				    i, Q(ps, q));
	}
	/* Interface and device names are written into cgroup files as
	 * "NAME VALUE" lines; a space or newline in one would forge others. */
	for (size_t i = 0; i < r->network.n_priorities; i++) {
		const char *name = r->network.priorities[i].name;
		if (empty(name))
			return fail(c, "linux.resources.network.priorities[%zu].name: required", i);
		if (!valid_ifname(name))
			return fail(c, "linux.resources.network.priorities[%zu].name: %s is not a valid interface name",
				    i, Q(name, q));
	}
	for (size_t i = 0; i < r->n_rdma; i++)
		if (!valid_component(r->rdma[i].device) || strpbrk(r->rdma[i].device, " \t\n="))
			return fail(c, "linux.resources.rdma[%s]: not a valid device name",
				    Q(r->rdma[i].device, q));
	/* Keys become file names in the container's cgroup directory. */
	for (size_t i = 0; i < r->unified.n; i++)
		if (!valid_component(r->unified.v[i].key))
			return fail(c, "linux.resources.unified[%s]: not a cgroup file name",
				    Q(r->unified.v[i].key, q));
	return 0;
}

static int check_resources(struct vctx *c, const struct hrun_linux *l)
{
	const struct hrun_resources *r = &l->resources;

	if (l->cgroups_path && has_dotdot(l->cgroups_path))
		return fail(c, "linux.cgroupsPath: must not contain \"..\"");
	if (!r->set)
		return 0;
	if (check_device_rules(c, r) < 0 || check_memory(c, &r->memory) < 0 ||
	    check_cpu_blkio(c, r) < 0)
		return -1;
	return check_resources_misc(c, r);
}

/* --- Linux: sysctl ---------------------------------------------------------- */

/* Only namespaced sysctls may be set: anything else would change the host.
 * Returns the namespace the name belongs to, or -1. */
static int sysctl_namespace(const char *name)
{
	static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
					   "kernel.sem",    "kernel.shmall", "kernel.shmmax",
					   "kernel.shmmni", "kernel.shm_rmid_forced", NULL };

	if (in_list(name, ipc) || strncmp(name, "fs.mqueue.", 10) == 0)
		return HRUN_NS_IPC;
	if (strncmp(name, "net.", 4) == 0)
		return HRUN_NS_NETWORK;
	if (strcmp(name, "kernel.hostname") == 0 || strcmp(name, "kernel.domainname") == 0)
		return HRUN_NS_UTS;
	return -1;
}

/* Keys name files under /proc/sys, "net.ipv4.ip_forward" or
 * "net/ipv4/conf/eth0.1/forwarding"; no component may be empty or "..". */
static bool sysctl_name(const char *key, char *out, size_t len)
{
	char sep = strchr(key, '/') ? '/' : '.';
	size_t n = strlen(key);
	const char *p = key;

	if (n == 0 || n >= len)
		return false;
	for (;;) {
		const char *end = strchr(p, sep);
		size_t l = end ? (size_t)(end - p) : strlen(p);

		if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!end)
			break;
		p = end + 1;
	}
	/* Normalise to the dotted form for classification. */
	for (size_t i = 0; i <= n; i++)
		out[i] = sep == '/' && key[i] == '/' ? '.' : (sep == '/' && key[i] == '.' ? '/' : key[i]);
	return true;
}

static int check_sysctl(struct vctx *c, const struct hrun_spec *s)
{
	const struct hrun_map *m = &s->linux_.sysctl;
	char name[256], q[128];

	for (size_t i = 0; i < m->n; i++) {
		const char *key = m->v[i].key;
		int ns;

		if (!sysctl_name(key, name, sizeof(name)))
			return fail(c, "linux.sysctl[%s]: invalid sysctl name", Q(key, q));
		ns = sysctl_namespace(name);
		if (ns < 0)
			return fail(c, "linux.sysctl[%s]: not namespaced; setting it would change the host",
				    Q(key, q));
		if (!hrun_spec_find_ns(s, (enum hrun_ns_type)ns))
			return fail(c, "linux.sysctl[%s]: requires a %s namespace", Q(key, q),
				    hrun_ns_type_name((enum hrun_ns_type)ns));
	}
	return 0;
}

/* --- Linux: seccomp --------------------------------------------------------- */

static const char *const seccomp_actions[] = {
	"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
	"SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",	   "SCMP_ACT_TRACE",
	"SCMP_ACT_ALLOW", "SCMP_ACT_LOG",	   "SCMP_ACT_NOTIFY",
	NULL,
};

static bool takes_errno(const char *action)
{
	return strcmp(action, "SCMP_ACT_ERRNO") == 0 || strcmp(action, "SCMP_ACT_TRACE") == 0;
}

static int check_seccomp_header(struct vctx *c, const struct hrun_seccomp *sc)
{
	static const char *const arches[] = {
		"SCMP_ARCH_X86",	 "SCMP_ARCH_X86_64",	 "SCMP_ARCH_X32",
		"SCMP_ARCH_ARM",	 "SCMP_ARCH_AARCH64",	 "SCMP_ARCH_LOONGARCH64",
		"SCMP_ARCH_M68K",	 "SCMP_ARCH_MIPS",	 "SCMP_ARCH_MIPS64",
		"SCMP_ARCH_MIPS64N32",	 "SCMP_ARCH_MIPSEL",	 "SCMP_ARCH_MIPSEL64",
		"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",	 "SCMP_ARCH_PPC64",
		"SCMP_ARCH_PPC64LE",	 "SCMP_ARCH_RISCV64",	 "SCMP_ARCH_S390",
		"SCMP_ARCH_S390X",	 "SCMP_ARCH_SH",	 "SCMP_ARCH_SHEB",
		"SCMP_ARCH_PARISC",	 "SCMP_ARCH_PARISC64",	 NULL,
	};
	static const char *const flags[] = { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
					     "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
					     "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL };
	char q[128];

	if (empty(sc->default_action))
		return fail(c, "linux.seccomp.defaultAction: required");
	if (!in_list(sc->default_action, seccomp_actions))
		return fail(c, "linux.seccomp.defaultAction: unknown action %s",
			    Q(sc->default_action, q));
	/* Every syscall, the agent's own socket traffic included, would wait
	 * on the agent. */
	if (strcmp(sc->default_action, "SCMP_ACT_NOTIFY") == 0)
		return fail(c, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	if (sc->default_errno_ret.set && !takes_errno(sc->default_action))
		return fail(c, "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
	for (size_t i = 0; i < sc->architectures.n; i++)
		if (!in_list(sc->architectures.v[i], arches))
			return fail(c, "linux.seccomp.architectures[%zu]: unknown architecture %s", i,
				    Q(sc->architectures.v[i], q));
	for (size_t i = 0; i < sc->flags.n; i++)
		if (!in_list(sc->flags.v[i], flags))
			return fail(c, "linux.seccomp.flags[%zu]: unknown flag %s", i,
				    Q(sc->flags.v[i], q));
	if (sc->listener_metadata && empty(sc->listener_path))
		return fail(c, "linux.seccomp.listenerMetadata: requires listenerPath");
	return 0;
}

static int check_syscall(struct vctx *c, const struct hrun_seccomp *sc, size_t i)
{
	static const char *const ops[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
					   "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
					   "SCMP_CMP_MASKED_EQ", NULL };
	const struct hrun_seccomp_syscall *sys = &sc->syscalls[i];
	char q[128];

	if (sys->names.n == 0)
		return fail(c, "linux.seccomp.syscalls[%zu].names: at least one name is required", i);
	for (size_t j = 0; j < sys->names.n; j++)
		if (empty(sys->names.v[j]))
			return fail(c, "linux.seccomp.syscalls[%zu].names[%zu]: empty", i, j);
	if (empty(sys->action))
		return fail(c, "linux.seccomp.syscalls[%zu].action: required", i);
	if (!in_list(sys->action, seccomp_actions))
		return fail(c, "linux.seccomp.syscalls[%zu].action: unknown action %s", i,
			    Q(sys->action, q));
	if (sys->errno_ret.set && !takes_errno(sys->action))
		return fail(c, "linux.seccomp.syscalls[%zu].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
			    i);
	if (strcmp(sys->action, "SCMP_ACT_NOTIFY") == 0 && empty(sc->listener_path))
		return fail(c, "linux.seccomp.syscalls[%zu].action: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath",
			    i);
	for (size_t j = 0; j < sys->n_args; j++) {
		const struct hrun_seccomp_arg *a = &sys->args[j];

		if (a->index > 5)
			return fail(c, "linux.seccomp.syscalls[%zu].args[%zu].index: value %u out of range 0..5",
				    i, j, a->index);
		if (empty(a->op))
			return fail(c, "linux.seccomp.syscalls[%zu].args[%zu].op: required", i, j);
		if (!in_list(a->op, ops))
			return fail(c, "linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator %s",
				    i, j, Q(a->op, q));
	}
	return 0;
}

static int check_seccomp(struct vctx *c, const struct hrun_seccomp *sc)
{
	if (!sc->set)
		return 0;
	if (check_seccomp_header(c, sc) < 0)
		return -1;
	for (size_t i = 0; i < sc->n_syscalls; i++)
		if (check_syscall(c, sc, i) < 0)
			return -1;
	return 0;
}

/* --- Linux: the rest ------------------------------------------------------------ */

static int check_paths(struct vctx *c, const struct hrun_linux *l)
{
	static const char *const propagations[] = { "private", "rprivate",   "slave",
						    "rslave",  "shared",     "rshared",
						    "unbindable", "runbindable", NULL };
	const struct {
		const char *name;
		const struct hrun_strv *v;
	} lists[] = { { "maskedPaths", &l->masked_paths }, { "readonlyPaths", &l->readonly_paths } };
	char q[128];

	if (l->rootfs_propagation && !in_list(l->rootfs_propagation, propagations))
		return fail(c, "linux.rootfsPropagation: unknown propagation %s",
			    Q(l->rootfs_propagation, q));
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < lists[i].v->n; j++)
			if (!absolute(lists[i].v->v[j]))
				return fail(c, "linux.%s[%zu]: %s is not an absolute path",
					    lists[i].name, j, Q(lists[i].v->v[j], q));
	return 0;
}

static int check_personality(struct vctx *c, const struct hrun_personality *p)
{
	static const char *const domains[] = { "LINUX", "LINUX32", NULL };
	char q[128];

	if (!p->set)
		return 0;
	if (empty(p->domain))
		return fail(c, "linux.personality.domain: required");
	if (!in_list(p->domain, domains))
		return fail(c, "linux.personality.domain: unknown domain %s (expected LINUX or LINUX32)",
			    Q(p->domain, q));
	/* The spec defines no flags yet; one hrun cannot apply must not be
	 * dropped silently. */
	if (p->flags.n > 0)
		return fail(c, "linux.personality.flags[0]: unknown flag %s", Q(p->flags.v[0], q));
	return 0;
}

static int check_memory_policy(struct vctx *c, const struct hrun_memory_policy *m)
{
	static const char *const modes[] = { "MPOL_DEFAULT",	 "MPOL_BIND",
					     "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
					     "MPOL_PREFERRED", "MPOL_PREFERRED_MANY",
					     "MPOL_LOCAL",	 NULL };
	static const char *const need_nodes[] = { "MPOL_BIND", "MPOL_INTERLEAVE",
						  "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED_MANY",
						  NULL };
	static const char *const no_nodes[] = { "MPOL_DEFAULT", "MPOL_LOCAL", NULL };
	static const char *const flags[] = { "MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES",
					     "MPOL_F_STATIC_NODES", NULL };
	static const char *const rel[] = { "MPOL_F_RELATIVE_NODES", NULL };
	static const char *const stat[] = { "MPOL_F_STATIC_NODES", NULL };
	bool has_rel = false, has_stat = false;
	char q[128];

	if (!m->set)
		return 0;
	if (empty(m->mode))
		return fail(c, "linux.memoryPolicy.mode: required");
	if (!in_list(m->mode, modes))
		return fail(c, "linux.memoryPolicy.mode: unknown mode %s", Q(m->mode, q));
	if (in_list(m->mode, need_nodes) && empty(m->nodes))
		return fail(c, "linux.memoryPolicy.nodes: required with %s", m->mode);
	if (in_list(m->mode, no_nodes) && !empty(m->nodes))
		return fail(c, "linux.memoryPolicy.nodes: must be empty with %s", m->mode);
	if (m->nodes && !valid_id_list(m->nodes))
		return fail(c, "linux.memoryPolicy.nodes: invalid node list %s", Q(m->nodes, q));
	for (size_t i = 0; i < m->flags.n; i++) {
		if (!in_list(m->flags.v[i], flags))
			return fail(c, "linux.memoryPolicy.flags[%zu]: unknown flag %s", i,
				    Q(m->flags.v[i], q));
		has_rel |= in_list(m->flags.v[i], rel);
		has_stat |= in_list(m->flags.v[i], stat);
	}
	if (has_rel && has_stat)
		return fail(c, "linux.memoryPolicy.flags: MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other");
	return 0;
}

static int check_misc(struct vctx *c, const struct hrun_spec *s)
{
	const struct hrun_linux *l = &s->linux_;
	char q[128];

	/* The group name becomes a directory under /sys/fs/resctrl. */
	if (l->intel_rdt.clos_id && !valid_component(l->intel_rdt.clos_id))
		return fail(c, "linux.intelRdt.closID: %s is not a valid group name",
			    Q(l->intel_rdt.clos_id, q));
	if (l->n_net_devices > 0 && !hrun_spec_find_ns(s, HRUN_NS_NETWORK))
		return fail(c, "linux.netDevices: requires a network namespace");
	for (size_t i = 0; i < l->n_net_devices; i++) {
		const struct hrun_net_device *d = &l->net_devices[i];

		if (!valid_ifname(d->host_name))
			return fail(c, "linux.netDevices[%s]: not a valid interface name",
				    Q(d->host_name, q));
		if (d->name && !valid_ifname(d->name))
			return fail(c, "linux.netDevices[%s].name: not a valid interface name",
				    Q(d->host_name, q));
	}
	if (check_personality(c, &l->personality) < 0)
		return -1;
	return check_memory_policy(c, &l->memory_policy);
}

int hrun_spec_validate(const struct hrun_spec *spec, const char *file, struct hrun_error *err)
{
	struct vctx c = { file ? file : "config.json", err };

	if (!spec)
		return fail(&c, "no config");
	if (check_version(&c, spec) < 0 || check_root(&c, spec) < 0 ||
	    check_mounts(&c, spec) < 0 || check_process(&c, spec) < 0 ||
	    check_hostnames(&c, spec) < 0 || check_hooks(&c, spec) < 0)
		return -1;
	if (check_namespaces(&c, &spec->linux_) < 0 || check_userns(&c, spec) < 0 ||
	    check_time_offsets(&c, spec) < 0 || check_devices(&c, &spec->linux_) < 0 ||
	    check_resources(&c, &spec->linux_) < 0 || check_sysctl(&c, spec) < 0 ||
	    check_seccomp(&c, &spec->linux_.seccomp) < 0 || check_paths(&c, &spec->linux_) < 0)
		return -1;
	return check_misc(&c, spec);
}
