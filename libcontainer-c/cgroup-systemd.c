#define _GNU_SOURCE
#include "cgroup-systemd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "dbus.h"
#include "syscalls.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define UNIT_NAME_MAX 255 /* systemd's limit, without the NUL */

/* --- names ------------------------------------------------------------------ */

/* The characters systemd allows in a unit name's prefix (no template "@",
 * which a scope cannot use, no escapes to get wrong). */
static bool valid_unit_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\", s[i]))
			return false;
	return true;
}

/* "a-b.slice" is a.slice/a-b.slice: each dash starts a level, so a
 * leading, trailing or doubled dash names no slice. "-.slice" is the root. */
static int check_slice(const char *slice, struct hrun_error *err)
{
	size_t n = strlen(slice);
	const char *base;

	if (strcmp(slice, "-.slice") == 0)
		return 0;
	if (n <= 6 || strcmp(slice + n - 6, ".slice") || n > UNIT_NAME_MAX || !valid_unit_chars(slice, n))
		goto bad;
	base = slice;
	if (base[0] == '-' || slice[n - 7] == '-' || strstr(slice, "--"))
		goto bad;
	return 0;
bad:
	return hrun_error_plain(err, EINVAL,
				"cgroupsPath: \"%s\" is not a valid systemd slice name (NAME.slice, \"-\" between levels)",
				slice);
}

int hrun_systemd_parse_path(const char *cgroups_path, const char *id, bool rootless, char **slice_out,
			    char **unit_out, struct hrun_error *err)
{
	_cleanup_free_ char *copy = NULL, *slice = NULL, *unit = NULL;
	const char *s, *prefix, *name;
	char *c1, *c2;

	if (cgroups_path && *cgroups_path) {
		copy = strdup(cgroups_path);
		if (!copy)
			return hrun_error_errno(err, "strdup");
		c1 = strchr(copy, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || strchr(c2 + 1, ':'))
			return hrun_error_plain(err, EINVAL,
						"cgroupsPath \"%s\": expected \"slice:prefix:name\" with --systemd-cgroup",
						cgroups_path);
		*c1 = *c2 = '\0';
		s = copy;
		prefix = c1 + 1;
		name = c2 + 1;
	} else {
		s = "";
		prefix = "hrun";
		name = id;
	}
	if (!*name)
		return hrun_error_plain(err, EINVAL, "cgroupsPath \"%s\": the name part is empty", cgroups_path);
	/* runc makes a slice for a name ending in ".slice"; hrun's
	 * containers are scopes. */
	if (strlen(name) >= 6 && strcmp(name + strlen(name) - 6, ".slice") == 0)
		return hrun_error_plain(err, EINVAL,
					"cgroupsPath \"%s\": a container is a scope, its name cannot end in \".slice\"",
					cgroups_path);
	if (!valid_unit_chars(prefix, strlen(prefix)) || !valid_unit_chars(name, strlen(name)))
		return hrun_error_plain(err, EINVAL,
					"cgroupsPath \"%s\": prefix and name may hold only letters, digits and \":-_.\\\"",
					cgroups_path);
	if (!*s)
		s = rootless ? "user.slice" : "system.slice";
	else if (strcmp(s, "-") == 0)
		s = "-.slice";
	if (check_slice(s, err) < 0)
		return -1;
	if (asprintf(&unit, "%s%s%s.scope", prefix, *prefix ? "-" : "", name) < 0) {
		unit = NULL;
		return hrun_error_errno(err, "asprintf");
	}
	if (strlen(unit) > UNIT_NAME_MAX)
		return hrun_error_plain(err, ENAMETOOLONG, "systemd unit name \"%s\" is longer than %d bytes",
					unit, UNIT_NAME_MAX);
	slice = strdup(s);
	if (!slice)
		return hrun_error_errno(err, "strdup");
	*slice_out = hrun_steal_ptr(&slice);
	*unit_out = hrun_steal_ptr(&unit);
	return 0;
}

char *hrun_systemd_bus_address(bool rootless, struct hrun_error *err)
{
	const char *env = getenv(rootless ? "DBUS_SESSION_BUS_ADDRESS" : "DBUS_SYSTEM_BUS_ADDRESS");
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	char *out = NULL;
	int r;

	if (env && *env) {
		out = strdup(env);
		r = out ? 0 : -1;
	} else if (!rootless) {
		/* The private socket works before and without dbus-daemon, and
		 * is what systemctl uses as root. */
		r = asprintf(&out, "unix:path=%s",
			     access("/run/systemd/private", F_OK) == 0 ? "/run/systemd/private"
									: "/run/dbus/system_bus_socket");
	} else if (runtime && *runtime) {
		_cleanup_free_ char *private_sock = NULL;
		if (asprintf(&private_sock, "%s/systemd/private", runtime) < 0)
			return hrun_error_errno(err, "asprintf"), NULL;
		r = access(private_sock, F_OK) == 0 ? asprintf(&out, "unix:path=%s", private_sock)
						     : asprintf(&out, "unix:path=%s/bus", runtime);
	} else {
		hrun_error_plain(err, ENOENT,
				 "--systemd-cgroup: no user manager to ask: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set");
		return NULL;
	}
	if (r < 0 || !out) {
		hrun_error_errno(err, "D-Bus address");
		return NULL;
	}
	return out;
}

/* --- talking to the manager ---------------------------------------------------- */

/* JobRemoved signals seen so far: the one we wait for can come before the
 * reply that names its job. */
struct jobs {
	char path[16][128];
	char result[16][32];
	unsigned int n;
	const char *want;
	bool done;
	char want_result[32];
};

static void record_job(struct jobs *j, const char *path, const char *result)
{
	unsigned int i = j->n++ % 16;

	snprintf(j->path[i], sizeof(j->path[i]), "%s", path);
	snprintf(j->result[i], sizeof(j->result[i]), "%s", result);
}

static bool find_job(struct jobs *j)
{
	for (unsigned int i = 0; i < 16 && i < j->n; i++) {
		if (j->want && strcmp(j->path[i], j->want) == 0) {
			snprintf(j->want_result, sizeof(j->want_result), "%s", j->result[i]);
			j->done = true;
		}
	}
	return j->done;
}

static void on_signal(struct hrun_dbus *bus, const struct hrun_dbus_message *msg, void *data)
{
	struct jobs *j = data;
	struct hrun_dbus_reader r = { .data = msg->body, .len = msg->body_len };
	const char *job, *result;

	(void)bus;
	if (strcmp(msg->member, "JobRemoved") || strcmp(msg->interface, MANAGER_IFACE) ||
	    strcmp(msg->signature, "uoss"))
		return;
	hrun_dbus_get_u32(&r);
	job = hrun_dbus_get_string(&r);
	hrun_dbus_get_string(&r); /* the unit */
	result = hrun_dbus_get_string(&r);
	if (!job || !result)
		return;
	record_job(j, job, result);
	find_job(j);
}

static int manager_call(struct hrun_dbus *bus, const char *member, const char *sig,
			const struct hrun_dbus_buf *body, struct hrun_dbus_message *reply,
			struct hrun_error *err)
{
	return hrun_dbus_call(bus, SYSTEMD_DEST, SYSTEMD_PATH, MANAGER_IFACE, member, sig, body, reply, err);
}

/* Signals reach us only when asked for: on a bus through a match rule,
 * and systemd sends them to the bus only while someone is subscribed. */
static int subscribe(struct hrun_dbus *bus, struct jobs *jobs, struct hrun_error *err)
{
	bus->on_signal = on_signal;
	bus->signal_data = jobs;
	if (bus->via_bus) {
		struct hrun_dbus_buf body = { 0 };
		int r;

		hrun_dbus_put_string(&body, "type='signal',sender='" SYSTEMD_DEST "',path='" SYSTEMD_PATH
					    "',interface='" MANAGER_IFACE "',member='JobRemoved'");
		r = hrun_dbus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
				   "AddMatch", "s", &body, NULL, err);
		hrun_dbus_buf_free(&body);
		if (r < 0)
			return -1;
		return manager_call(bus, "Subscribe", NULL, NULL, NULL, err);
	}
	return 0;
}

/* Wait for the job a call returned in REPLY (signature "o"). */
static int wait_job(struct hrun_dbus *bus, struct jobs *jobs, struct hrun_dbus_message *reply,
		    const char *what, struct hrun_error *err)
{
	struct hrun_dbus_reader r = { .data = reply->body, .len = reply->body_len };
	const char *job = strcmp(reply->signature, "o") == 0 ? hrun_dbus_get_string(&r) : NULL;

	if (!job)
		return hrun_error_plain(err, EPROTO, "%s: systemd's reply names no job", what);
	jobs->want = job;
	jobs->done = false;
	find_job(jobs);
	if (hrun_dbus_wait(bus, &jobs->done, err) < 0)
		return hrun_error_prefix(err, "%s: waiting for job %s", what, job);
	jobs->want = NULL;
	if (strcmp(jobs->want_result, "done"))
		return hrun_error_plain(err, EIO, "%s: systemd's job ended with \"%s\"", what, jobs->want_result);
	return 0;
}

static void put_prop_begin(struct hrun_dbus_buf *b, const char *name, const char *type)
{
	hrun_dbus_align(b, 8);
	hrun_dbus_put_string(b, name);
	hrun_dbus_put_signature(b, type);
}

static void put_prop_string(struct hrun_dbus_buf *b, const char *name, const char *v)
{
	put_prop_begin(b, name, "s");
	hrun_dbus_put_string(b, v);
}

static void put_prop_bool(struct hrun_dbus_buf *b, const char *name, bool v)
{
	put_prop_begin(b, name, "b");
	hrun_dbus_put_bool(b, v);
}

/* StartTransientUnit(s name, s mode, a(sv) properties, a(sa(sv)) aux). */
static int start_scope(struct hrun_dbus *bus, struct jobs *jobs, const char *unit, const char *slice,
		       const char *id, pid_t pid, struct hrun_error *err)
{
	struct hrun_dbus_buf body = { 0 };
	struct hrun_dbus_message reply;
	struct hrun_dbus_array props, pids;
	_cleanup_free_ char *description = NULL;
	int r;

	if (asprintf(&description, "hrun container %s", id) < 0)
		return hrun_error_errno(err, "asprintf");
	hrun_dbus_put_string(&body, unit);
	hrun_dbus_put_string(&body, "fail");
	props = hrun_dbus_array_begin(&body, 8);
	put_prop_string(&body, "Description", description);
	put_prop_string(&body, "Slice", slice);
	/* The cgroup below the scope is the container's: systemd leaves
	 * its controllers and files to us. */
	put_prop_bool(&body, "Delegate", true);
	/* No ordering against shutdown.target and friends, as runc. */
	put_prop_bool(&body, "DefaultDependencies", false);
	put_prop_bool(&body, "MemoryAccounting", true);
	put_prop_bool(&body, "CPUAccounting", true);
	put_prop_bool(&body, "TasksAccounting", true);
	put_prop_begin(&body, "PIDs", "au");
	pids = hrun_dbus_array_begin(&body, 4);
	hrun_dbus_put_u32(&body, (uint32_t)pid);
	hrun_dbus_array_end(&body, pids);
	hrun_dbus_array_end(&body, props);
	hrun_dbus_array_end(&body, hrun_dbus_array_begin(&body, 8));
	r = manager_call(bus, "StartTransientUnit", "ssa(sv)a(sa(sv))", &body, &reply, err);
	hrun_dbus_buf_free(&body);
	if (r < 0) {
		if (strcmp(bus->last_error, "org.freedesktop.systemd1.UnitExists") == 0)
			return hrun_error_plain(err, EBUSY, "systemd unit %s already exists: another container uses it",
						unit);
		return hrun_error_prefix(err, "systemd: create unit %s", unit);
	}
	r = wait_job(bus, jobs, &reply, unit, err);
	hrun_dbus_message_free(&reply);
	return r;
}

/* The scope's cgroup, as systemd reports it (its "ControlGroup"). */
static char *unit_cgroup(struct hrun_dbus *bus, const char *unit, struct hrun_error *err)
{
	struct hrun_dbus_buf body = { 0 };
	struct hrun_dbus_message reply, value;
	struct hrun_dbus_reader r;
	const char *path, *sig, *cg;
	char *out = NULL;

	hrun_dbus_put_string(&body, unit);
	if (manager_call(bus, "GetUnit", "s", &body, &reply, err) < 0) {
		hrun_dbus_buf_free(&body);
		return NULL;
	}
	hrun_dbus_buf_free(&body);
	r = (struct hrun_dbus_reader){ .data = reply.body, .len = reply.body_len };
	path = strcmp(reply.signature, "o") == 0 ? hrun_dbus_get_string(&r) : NULL;
	if (!path) {
		hrun_dbus_message_free(&reply);
		hrun_error_plain(err, EPROTO, "GetUnit: unexpected reply");
		return NULL;
	}
	hrun_dbus_put_string(&body, "org.freedesktop.systemd1.Scope");
	hrun_dbus_put_string(&body, "ControlGroup");
	if (hrun_dbus_call(bus, SYSTEMD_DEST, path, "org.freedesktop.DBus.Properties", "Get", "ss", &body,
			   &value, err) < 0) {
		hrun_dbus_buf_free(&body);
		hrun_dbus_message_free(&reply);
		return NULL;
	}
	hrun_dbus_buf_free(&body);
	hrun_dbus_message_free(&reply);
	r = (struct hrun_dbus_reader){ .data = value.body, .len = value.body_len };
	sig = strcmp(value.signature, "v") == 0 ? hrun_dbus_get_signature(&r) : NULL;
	cg = sig && strcmp(sig, "s") == 0 ? hrun_dbus_get_string(&r) : NULL;
	if (cg && cg[0] == '/' && !strstr(cg, "/.."))
		out = strdup(cg);
	if (!out)
		hrun_error_plain(err, EPROTO, "systemd gave no cgroup for %s", unit);
	hrun_dbus_message_free(&value);
	return out;
}

static int stop_unit(struct hrun_dbus *bus, struct jobs *jobs, const char *unit, struct hrun_error *err)
{
	struct hrun_dbus_buf body = { 0 };
	struct hrun_dbus_message reply;
	struct hrun_error ignored;
	int r;

	hrun_dbus_put_string(&body, unit);
	hrun_dbus_put_string(&body, "replace");
	r = manager_call(bus, "StopUnit", "ss", &body, &reply, err);
	if (r < 0 && strcmp(bus->last_error, "org.freedesktop.systemd1.NoSuchUnit") == 0)
		r = 1; /* gone already: systemd collects an empty scope */
	else if (r == 0) {
		r = wait_job(bus, jobs, &reply, unit, err);
		hrun_dbus_message_free(&reply);
	}
	hrun_dbus_buf_free(&body);
	if (r < 0)
		return hrun_error_prefix(err, "systemd: stop unit %s", unit);
	/* A scope whose processes were killed may stay loaded as failed,
	 * and the name could not be used again. */
	if (r == 0) {
		hrun_dbus_put_string(&body, unit);
		manager_call(bus, "ResetFailedUnit", "s", &body, NULL, &ignored);
		hrun_dbus_buf_free(&body);
	}
	return 0;
}

static int connect_manager(const char *address, struct hrun_dbus *bus, struct jobs *jobs,
			   struct hrun_error *err)
{
	/* systemd's private socket speaks to us directly; anything else is
	 * taken for a bus daemon. */
	bool peer = strstr(address, "/systemd/private") != NULL;

	if (hrun_dbus_open(bus, address, !peer, err) < 0)
		return hrun_error_prefix(err, "--systemd-cgroup: cannot reach systemd at %s", address);
	if (subscribe(bus, jobs, err) < 0) {
		hrun_dbus_close(bus);
		return hrun_error_prefix(err, "--systemd-cgroup: %s", address);
	}
	return 0;
}

/* --- the placeholder -------------------------------------------------------- */

/* A child that only waits to be killed; it dies with us too. */
static pid_t spawn_anchor(struct hrun_error *err)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		return hrun_error_errno(err, "fork"), -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		/* It holds nothing of ours while it lives in the container's
		 * cgroup. */
		syscall(SYS_close_range, 3, ~0U, 0);
		for (;;)
			pause();
	}
	return pid;
}

static void kill_anchor(pid_t *anchor)
{
	if (*anchor <= 0)
		return;
	kill(*anchor, SIGKILL);
	while (waitpid(*anchor, NULL, 0) < 0 && errno == EINTR)
		;
	*anchor = 0;
}

void hrun_cgroup_systemd_settle(struct hrun_cgroup *cg)
{
	kill_anchor(&cg->anchor);
}

/* --- the manager ---------------------------------------------------------------- */

int hrun_cgroup_systemd_create(const char *cgroups_path, const char *id, bool rootless,
			       struct hrun_cgroup *cg, struct hrun_error *err)
{
	_cleanup_free_ char *slice = NULL, *unit = NULL, *address = NULL, *path = NULL;
	struct hrun_dbus bus = { .fd = -1 };
	struct jobs jobs = { 0 };
	struct hrun_error ignored;
	pid_t anchor;

	if (hrun_systemd_parse_path(cgroups_path, id, rootless, &slice, &unit, err) < 0)
		return -1;
	address = hrun_systemd_bus_address(rootless, err);
	if (!address || connect_manager(address, &bus, &jobs, err) < 0)
		return -1;
	anchor = spawn_anchor(err);
	if (anchor < 0)
		goto fail;
	if (start_scope(&bus, &jobs, unit, slice, id, anchor, err) < 0)
		goto fail;
	path = unit_cgroup(&bus, unit, err);
	if (!path || hrun_cgroup_adopt(path, cg, err) < 0) {
		hrun_cgroup_release(cg);
		stop_unit(&bus, &jobs, unit, &ignored);
		goto fail;
	}
	hrun_dbus_close(&bus);
	cg->unit = hrun_steal_ptr(&unit);
	cg->bus = hrun_steal_ptr(&address);
	cg->anchor = anchor;
	hrun_debug("systemd unit %s, cgroup %s", cg->unit, cg->path);
	return 0;
fail:
	kill_anchor(&anchor);
	hrun_dbus_close(&bus);
	return -1;
}

int hrun_cgroup_systemd_stop(struct hrun_cgroup *cg, struct hrun_error *err)
{
	struct hrun_dbus bus = { .fd = -1 };
	struct jobs jobs = { 0 };
	int r;

	kill_anchor(&cg->anchor);
	if (!cg->unit)
		return 0;
	if (connect_manager(cg->bus && *cg->bus ? cg->bus : "unix:path=/run/systemd/private", &bus, &jobs,
			    err) < 0)
		return -1;
	r = stop_unit(&bus, &jobs, cg->unit, err);
	hrun_dbus_close(&bus);
	return r;
}
