#define _GNU_SOURCE
#include "cgroup-devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf-devices.h"
#include "cleanup.h"
#include "rootless.h"

/* What every container may use whatever its rules say, applied after them
 * (so a rule cannot take these away), as runc does: mknod of any node
 * (opening one is still checked), the runtime-spec's default devices, the
 * container's own ptys (136:*, devpts' ptmx 5:2; /dev/console is bound
 * from one of them). runc's list, without its tun/tap of older versions. */
static const struct {
	bool allow;
	char type;
	int64_t major, minor;
	unsigned access;
} standard[] = {
	{ true, 'c', HRUN_DEV_ANY, HRUN_DEV_ANY, HRUN_DEV_MKNOD },
	{ true, 'b', HRUN_DEV_ANY, HRUN_DEV_ANY, HRUN_DEV_MKNOD },
	{ true, 'c', 1, 3, HRUN_DEV_MKNOD | HRUN_DEV_READ | HRUN_DEV_WRITE },	/* null */
	{ true, 'c', 1, 5, HRUN_DEV_MKNOD | HRUN_DEV_READ | HRUN_DEV_WRITE },	/* zero */
	{ true, 'c', 1, 7, HRUN_DEV_MKNOD | HRUN_DEV_READ | HRUN_DEV_WRITE },	/* full */
	{ true, 'c', 1, 8, HRUN_DEV_MKNOD | HRUN_DEV_READ | HRUN_DEV_WRITE },	/* random */
	{ true, 'c', 1, 9, HRUN_DEV_MKNOD | HRUN_DEV_READ | HRUN_DEV_WRITE },	/* urandom */
	{ true, 'c', 5, 0, HRUN_DEV_MKNOD | HRUN_DEV_READ | HRUN_DEV_WRITE },	/* tty */
	{ true, 'c', 5, 2, HRUN_DEV_MKNOD | HRUN_DEV_READ | HRUN_DEV_WRITE },	/* ptmx */
	{ true, 'c', 136, HRUN_DEV_ANY, HRUN_DEV_MKNOD | HRUN_DEV_READ | HRUN_DEV_WRITE }, /* pts */
};

void hrun_dev_state_free(struct hrun_dev_state *st)
{
	free(st->v);
	st->v = NULL;
	st->n = 0;
}

static struct hrun_dev_exception *find(struct hrun_dev_state *st, char type, int64_t major, int64_t minor)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->v[i].type == type && st->v[i].major == major && st->v[i].minor == minor)
			return &st->v[i];
	return NULL;
}

static void format_exception(const struct hrun_dev_exception *e, char *buf, size_t len);

/* A rule that takes access away can only take it from the exception of
 * exactly its numbers: the v1 kernel silently keeps a wider one ("deny c
 * 1:3" leaves "allow c 1:*" whole). Rather than enforce less than the
 * rules seem to say, such a rule is refused, as runc refuses it. */
static int check_no_hole(const struct hrun_dev_state *st, const struct hrun_dev_exception *rule,
			 const char *what, struct hrun_error *err)
{
	const int64_t wider[3][2] = { { HRUN_DEV_ANY, rule->minor },
				      { rule->major, HRUN_DEV_ANY },
				      { HRUN_DEV_ANY, HRUN_DEV_ANY } };

	for (size_t i = 0; i < 3; i++) {
		char a[80], b[80];
		const struct hrun_dev_exception *e = NULL;

		if (wider[i][0] == rule->major && wider[i][1] == rule->minor)
			continue;
		for (size_t j = 0; j < st->n && !e; j++)
			if (st->v[j].type == rule->type && st->v[j].major == wider[i][0] &&
			    st->v[j].minor == wider[i][1] && (st->v[j].access & rule->access))
				e = &st->v[j];
		if (!e)
			continue;
		format_exception(rule, a, sizeof(a));
		format_exception(e, b, sizeof(b));
		return hrun_error_plain(err, EINVAL,
					"%s: \"%s %s\" cannot take access away from part of the earlier \"%s %s\" (the devices cgroup has no holes in a wildcard rule: list what to %s instead)",
					what, st->default_allow ? "allow" : "deny", a, st->default_allow ? "deny" : "allow",
					b, st->default_allow ? "deny" : "allow");
	}
	return 0;
}

/* One rule, as the v1 controller takes a line: type "a" resets everything
 * to allow or deny (whatever numbers or access it names: the kernel reads
 * no further); a rule that goes against the default adds its access to
 * the exception of exactly its numbers; one that goes with the default
 * takes its access away from that exception. WHAT names the rule in
 * errors. */
static int apply_rule(struct hrun_dev_state *st, bool allow, const struct hrun_dev_exception *rule,
		      const char *what, struct hrun_error *err)
{
	struct hrun_dev_exception *e;

	if (rule->type == 'a') {
		st->default_allow = allow;
		st->n = 0;
		return 0;
	}
	e = find(st, rule->type, rule->major, rule->minor);
	if (allow == st->default_allow) {
		if (check_no_hole(st, rule, what, err) < 0)
			return -1;
		if (e) {
			e->access &= ~rule->access;
			if (!e->access)
				*e = st->v[--st->n];
		}
		return 0;
	}
	if (e) {
		e->access |= rule->access;
		return 0;
	}
	e = realloc(st->v, (st->n + 1) * sizeof(*e));
	if (!e)
		return hrun_error_errno(err, "linux.resources.devices");
	st->v = e;
	st->v[st->n++] = *rule;
	return 0;
}

/* The rule's fields as the validator checked them; checked again here so
 * that no path into the cgroup trusts an unvalidated model. */
static int rule_fields(const struct hrun_device_rule *r, size_t i, struct hrun_dev_exception *out,
		       struct hrun_error *err)
{
	char *type = &out->type;
	int64_t *major = &out->major, *minor = &out->minor;
	unsigned *access = &out->access;

	*type = r->type && *r->type ? r->type[0] : 'a';
	if ((*type != 'a' && *type != 'c' && *type != 'b') || (r->type && r->type[0] && r->type[1]))
		return hrun_error_plain(err, EINVAL, "linux.resources.devices[%zu].type: expected a, c or b", i);
	*major = r->major.set ? r->major.v : HRUN_DEV_ANY;
	*minor = r->minor.set ? r->minor.v : HRUN_DEV_ANY;
	if (*major < -1 || *major > HRUN_DEV_NUMBER_MAX || *minor < -1 || *minor > HRUN_DEV_NUMBER_MAX)
		return hrun_error_plain(err, EINVAL, "linux.resources.devices[%zu]: major and minor must be -1 (any) or 0..%lld",
					i, (long long)HRUN_DEV_NUMBER_MAX);
	*access = 0;
	for (const char *a = r->access; a && *a; a++) {
		unsigned bit = *a == 'r' ? HRUN_DEV_READ : *a == 'w' ? HRUN_DEV_WRITE : *a == 'm' ? HRUN_DEV_MKNOD : 0;
		if (!bit || (*access & bit))
			return hrun_error_plain(err, EINVAL, "linux.resources.devices[%zu].access: expected a combination of r, w and m",
						i);
		*access |= bit;
	}
	if (!*access)
		return hrun_error_plain(err, EINVAL, "linux.resources.devices[%zu].access: required", i);
	return 0;
}

int hrun_dev_state_build(const struct hrun_resources *res, struct hrun_dev_state *st,
			 struct hrun_error *err)
{
	/* A fresh cgroup, for runc and hrun alike, starts from "deny all". */
	*st = (struct hrun_dev_state){ .default_allow = false };
	for (size_t i = 0; res && i < res->n_devices; i++) {
		struct hrun_dev_exception rule = { 'a', HRUN_DEV_ANY, HRUN_DEV_ANY, 0 };
		char what[64];

		snprintf(what, sizeof(what), "linux.resources.devices[%zu]", i);
		if (rule_fields(&res->devices[i], i, &rule, err) < 0 ||
		    apply_rule(st, res->devices[i].allow, &rule, what, err) < 0)
			goto fail;
	}
	for (size_t i = 0; i < sizeof(standard) / sizeof(standard[0]); i++) {
		struct hrun_dev_exception rule = { standard[i].type, standard[i].major, standard[i].minor,
						   standard[i].access };
		if (apply_rule(st, standard[i].allow, &rule, "linux.resources.devices: hrun's standard allowlist",
			       err) < 0)
			goto fail;
	}
	return 0;
fail:
	hrun_dev_state_free(st);
	return -1;
}

static bool covers(const struct hrun_dev_exception *e, char type, uint32_t major, uint32_t minor)
{
	return e->type == type && (e->major == HRUN_DEV_ANY || e->major == major) &&
	       (e->minor == HRUN_DEV_ANY || e->minor == minor);
}

bool hrun_dev_state_allows(const struct hrun_dev_state *st, char type, uint32_t major, uint32_t minor,
			   unsigned access)
{
	for (size_t i = 0; i < st->n; i++) {
		const struct hrun_dev_exception *e = &st->v[i];
		if (!covers(e, type, major, minor))
			continue;
		/* Default deny: one exception must grant every bit asked for.
		 * Default allow: any bit an exception names is refused. */
		if (!st->default_allow && !(access & ~e->access))
			return true;
		if (st->default_allow && (access & e->access))
			return false;
	}
	return st->default_allow;
}

/* --- cgroup v1: devices.allow and devices.deny ----------------------------- */

static void format_exception(const struct hrun_dev_exception *e, char *buf, size_t len)
{
	char major[24] = "*", minor[24] = "*", access[4];
	size_t k = 0;

	if (e->major != HRUN_DEV_ANY)
		snprintf(major, sizeof(major), "%lld", (long long)e->major);
	if (e->minor != HRUN_DEV_ANY)
		snprintf(minor, sizeof(minor), "%lld", (long long)e->minor);
	if (e->access & HRUN_DEV_READ)
		access[k++] = 'r';
	if (e->access & HRUN_DEV_WRITE)
		access[k++] = 'w';
	if (e->access & HRUN_DEV_MKNOD)
		access[k++] = 'm';
	access[k] = '\0';
	snprintf(buf, len, "%c %s:%s %s", e->type, major, minor, access);
}

/* The kernel takes one rule per write. */
static int v1_write(int dirfd, const char *file, const char *line, struct hrun_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t len = (ssize_t)strlen(line);

	if (fd < 0)
		return hrun_error_errno(err, "linux.resources.devices: open %s", file);
	if (write(fd, line, (size_t)len) != len)
		return hrun_error_errno(err, "linux.resources.devices: write %s \"%s\"", file, line);
	return 0;
}

/* Reset, then the exceptions: the result is ST exactly, whatever the
 * cgroup held before. Never half-done where a process can see it: at
 * create nothing runs in the cgroup yet, and `update` freezes it. */
static int v1_apply(int dirfd, const struct hrun_dev_state *st, struct hrun_error *err)
{
	const char *reset = st->default_allow ? "devices.allow" : "devices.deny";
	const char *other = st->default_allow ? "devices.deny" : "devices.allow";

	if (v1_write(dirfd, reset, "a", err) < 0)
		return -1;
	for (size_t i = 0; i < st->n; i++) {
		char line[80];
		format_exception(&st->v[i], line, sizeof(line));
		if (v1_write(dirfd, other, line, err) < 0)
			return -1;
	}
	hrun_debug("devices cgroup: default %s, %zu exceptions", st->default_allow ? "allow" : "deny", st->n);
	return 0;
}

/* The container's v1 devices cgroup; -2 when the host has no v1 devices
 * hierarchy, -1 on error. */
static int v1_dir(const struct hrun_cgroup *cg, struct hrun_error *err)
{
	char dir[4096];
	int fd;

	if (cg->mode != HRUN_CGROUP_HYBRID && cg->mode != HRUN_CGROUP_LEGACY)
		return -2;
	if (hrun_cgroup_controller_dir(cg, "devices", dir, sizeof(dir)) < 0)
		return hrun_error_plain(err, ENAMETOOLONG, "linux.resources.devices: cgroup path too long");
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return -2;
	if (fd < 0)
		return hrun_error_errno(err, "linux.resources.devices: open \"%s\"", dir);
	return fd;
}

static int v1_apply_live(const struct hrun_cgroup *cg, int dirfd, const struct hrun_dev_state *st,
			 struct hrun_error *err)
{
	bool was_frozen = hrun_cgroup_is_frozen(cg);
	int r;

	if (!was_frozen && hrun_cgroup_freeze(cg, true, err) < 0)
		return hrun_error_prefix(err, "linux.resources.devices: freeze the container for the update");
	r = v1_apply(dirfd, st, err);
	if (!was_frozen) {
		struct hrun_error thaw;
		if (hrun_cgroup_freeze(cg, false, &thaw) < 0 && r == 0)
			r = hrun_error_plain(err, thaw.code, "linux.resources.devices: %s", thaw.msg);
	}
	return r;
}

/* --- both ------------------------------------------------------------------ */

static int v2_apply(const struct hrun_cgroup *cg, const struct hrun_dev_state *st, struct hrun_error *err)
{
	/* The program attaches to an open cgroup directory. */
	_cleanup_close_ int fd = openat(cg->v2_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return hrun_error_errno(err, "linux.resources.devices: open the unified cgroup \"%s\"", cg->path);
	if (hrun_bpf_devices_install(fd, st, err) < 0)
		return hrun_error_prefix(err, "linux.resources.devices");
	return 0;
}

int hrun_cgroup_apply_devices(const struct hrun_cgroup *cg, const struct hrun_resources *res, bool live,
			      struct hrun_error *err)
{
	struct hrun_dev_state st;
	_cleanup_close_ int v1fd = -1;
	bool enforced = false;
	int r = 0;

	if (!cg->path || cg->mode == HRUN_CGROUP_NONE) {
		hrun_log(res && res->n_devices ? HRUN_LOG_WARNING : HRUN_LOG_DEBUG,
			 "linux.resources.devices not enforced: no cgroup hierarchy usable here");
		return 0;
	}
	/* Unprivileged, hrun can neither write the v1 devices files nor load
	 * the BPF program (CAP_BPF or CAP_SYS_ADMIN): trying would only make
	 * every rootless container with a delegated cgroup fail. Nothing is
	 * lost: in its user namespace the container cannot mknod, and the
	 * host's device nodes it could be given open as they would for the
	 * caller. */
	if (hrun_rootless_caller()) {
		hrun_log(res && res->n_devices ? HRUN_LOG_WARNING : HRUN_LOG_DEBUG,
			 "linux.resources.devices not enforced: rootless, a device cgroup needs privilege");
		return 0;
	}
	if (hrun_dev_state_build(res, &st, err) < 0)
		return -1;
	v1fd = v1_dir(cg, err);
	if (v1fd == -1) {
		r = -1;
		goto out;
	}
	if (v1fd >= 0) {
		r = live ? v1_apply_live(cg, v1fd, &st, err) : v1_apply(v1fd, &st, err);
		if (r < 0)
			goto out;
		enforced = true;
	}
	if (cg->v2_fd >= 0) {
		struct hrun_error bpf;
		/* On a hybrid host the v1 controller already enforces the
		 * rules: the program is defence in depth there, and a kernel
		 * that cannot run it does not stop the container. */
		if (v2_apply(cg, &st, enforced ? &bpf : err) < 0) {
			if (!enforced) {
				r = -1;
				goto out;
			}
			hrun_warn("%s (the v1 devices cgroup enforces the rules)", bpf.msg);
		} else {
			enforced = true;
		}
	}
	if (!enforced)
		hrun_log(res && res->n_devices ? HRUN_LOG_WARNING : HRUN_LOG_DEBUG,
			 "linux.resources.devices not enforced: this host has no devices cgroup");
out:
	hrun_dev_state_free(&st);
	return r;
}
