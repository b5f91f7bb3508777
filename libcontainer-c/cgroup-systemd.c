#define _GNU_SOURCE
#include "cgroup-systemd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
#define CGROUP_ROOT "/sys/fs/cgroup"
/* The container's cgroup below the scope's own: systemd writes its unit
 * properties into the scope's cgroup again on daemon-reload, but never
 * touches what Delegate=yes handed over. */
#define CONTAINER_LEAF "container"

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
	/* On a bus: systemd's unique name; a signal from anyone else (any
	 * local user can send one to us) is ignored, and every signal until
	 * the name is known. Unused on a peer connection, where only systemd
	 * can send. */
	bool on_bus;
	char owner[256];
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

bool hrun_systemd_signal_trusted(const struct hrun_dbus_message *msg, const char *owner)
{
	if (!msg->path || strcmp(msg->path, SYSTEMD_PATH))
		return false;
	if (owner)
		return *owner && msg->sender && strcmp(msg->sender, owner) == 0;
	return true;
}

static void on_signal(struct hrun_dbus *bus, const struct hrun_dbus_message *msg, void *data)
{
	struct jobs *j = data;
	struct hrun_dbus_reader r = { .data = msg->body, .len = msg->body_len };
	const char *job, *result;

	(void)bus;
	if (!msg->member || !msg->interface || strcmp(msg->member, "JobRemoved") ||
	    strcmp(msg->interface, MANAGER_IFACE) || strcmp(msg->signature, "uoss") ||
	    !hrun_systemd_signal_trusted(msg, j->on_bus ? j->owner : NULL))
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
	if (hrun_dbus_wait(bus, &jobs->done, err) < 0) {
		/* JOB points into REPLY, which the caller frees. */
		jobs->want = NULL;
		return hrun_error_prefix(err, "%s: waiting for job %s", what, job);
	}
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

static int stop_unit(struct hrun_dbus *bus, struct jobs *jobs, const char *unit, struct hrun_error *err);

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
	if (r < 0) {
		/* The unit is ours now, started or not: a failed scope would
		 * stay loaded and its name refused as "already exists". */
		struct hrun_error ignored;
		stop_unit(bus, jobs, unit, &ignored);
	}
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

static bool unit_gone(struct hrun_dbus *bus, const char *unit)
{
	struct hrun_dbus_buf body = { 0 };
	struct hrun_error ignored;
	int r;

	hrun_dbus_put_string(&body, unit);
	r = manager_call(bus, "GetUnit", "s", &body, NULL, &ignored);
	hrun_dbus_buf_free(&body);
	return r < 0 && strcmp(bus->last_error, "org.freedesktop.systemd1.NoSuchUnit") == 0;
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
	hrun_dbus_buf_free(&body);
	if (r < 0 && strcmp(bus->last_error, "org.freedesktop.systemd1.NoSuchUnit") == 0)
		r = 1; /* gone already: systemd collects an empty scope */
	else if (r == 0) {
		r = wait_job(bus, jobs, &reply, unit, err);
		hrun_dbus_message_free(&reply);
		/* Our stop can race systemd's own of a scope whose processes
		 * we killed (its job then ends otherwise, or its JobRemoved is
		 * not ours): what counts is that the unit is gone. */
		if (r < 0 && unit_gone(bus, unit))
			r = 1;
	}
	/* A scope whose processes were killed (or whose start failed) may
	 * stay loaded as failed, and the name could not be used again. */
	if (r <= 0) {
		hrun_dbus_put_string(&body, unit);
		manager_call(bus, "ResetFailedUnit", "s", &body, NULL, &ignored);
		hrun_dbus_buf_free(&body);
	}
	if (r < 0)
		return hrun_error_prefix(err, "systemd: stop unit %s", unit);
	return 0;
}

/* On a bus: the unique name that owns systemd's well-known one. */
static int name_owner(struct hrun_dbus *bus, char *owner, size_t size, struct hrun_error *err)
{
	struct hrun_dbus_buf body = { 0 };
	struct hrun_dbus_message reply;
	struct hrun_dbus_reader r;
	const char *name;
	int ret = 0;

	hrun_dbus_put_string(&body, SYSTEMD_DEST);
	ret = hrun_dbus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			     "GetNameOwner", "s", &body, &reply, err);
	hrun_dbus_buf_free(&body);
	if (ret < 0)
		return -1;
	r = (struct hrun_dbus_reader){ .data = reply.body, .len = reply.body_len };
	name = strcmp(reply.signature, "s") == 0 ? hrun_dbus_get_string(&r) : NULL;
	if (!name || !*name || strlen(name) >= size)
		ret = hrun_error_plain(err, EPROTO, "GetNameOwner: unexpected reply");
	else
		snprintf(owner, size, "%s", name);
	hrun_dbus_message_free(&reply);
	return ret;
}

/* The manager we talk to must be root's or our own user's: another user
 * listening at the address could otherwise name any cgroup as the
 * scope's. On a peer connection the socket tells its uid; on a bus the
 * daemon tells the uid of the name's owner. */
static int check_manager_uid(struct hrun_dbus *bus, const char *owner, const char *address,
			     struct hrun_error *err)
{
	uint32_t uid;

	if (!bus->via_bus) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(bus->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
			return hrun_error_errno(err, "SO_PEERCRED");
		uid = (uint32_t)cred.uid;
	} else {
		struct hrun_dbus_buf body = { 0 };
		struct hrun_dbus_message reply;
		struct hrun_dbus_reader r;
		int ret;

		hrun_dbus_put_string(&body, owner);
		ret = hrun_dbus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
				     "GetConnectionUnixUser", "s", &body, &reply, err);
		hrun_dbus_buf_free(&body);
		if (ret < 0)
			return -1;
		r = (struct hrun_dbus_reader){ .data = reply.body, .len = reply.body_len };
		uid = hrun_dbus_get_u32(&r);
		ret = strcmp(reply.signature, "u") || r.failed;
		hrun_dbus_message_free(&reply);
		if (ret)
			return hrun_error_plain(err, EPROTO, "GetConnectionUnixUser: unexpected reply");
	}
	if (uid != 0 && uid != (uint32_t)geteuid())
		return hrun_error_plain(err, EPERM, "the manager at %s runs as uid %u, neither root nor us", address,
					uid);
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
	/* Subscribe first: a bus daemon that starts with systemd's name
	 * unowned holds our call until systemd is there, GetNameOwner
	 * would not wait. */
	jobs->on_bus = bus->via_bus;
	if (subscribe(bus, jobs, err) < 0 ||
	    (bus->via_bus && name_owner(bus, jobs->owner, sizeof(jobs->owner), err) < 0) ||
	    check_manager_uid(bus, jobs->owner, address, err) < 0) {
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

/* --- the scope's cgroup ------------------------------------------------------ */

int hrun_systemd_check_cgroup(const char *cgroup, const char *slice, const char *unit, struct hrun_error *err)
{
	char want[4096];
	size_t len = 0, n = strlen(cgroup), w;
	const char *p;

	/* "a-b.slice" is .../a.slice/a-b.slice/UNIT; "-.slice" is the
	 * manager's own cgroup. */
	if (strcmp(slice, "-.slice")) {
		const char *end = slice + strlen(slice) - 6;
		for (p = slice; p <= end; p++)
			if (p == end || *p == '-')
				len += (size_t)snprintf(want + len, sizeof(want) - len, "/%.*s.slice", (int)(p - slice),
							slice);
	}
	snprintf(want + len, sizeof(want) - len, "/%s", unit);
	w = strlen(want);
	if (cgroup[0] != '/' || n < w || strcmp(cgroup + n - w, want))
		goto bad;
	/* No empty, "." or ".." levels: the path is joined to mount points. */
	for (p = cgroup; *p; p++) {
		if (*p != '/')
			continue;
		if (p[1] == '/' || p[1] == '\0' || (p[1] == '.' && (p[2] == '/' || p[2] == '\0')) ||
		    (p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0')))
			goto bad;
	}
	return 0;
bad:
	return hrun_error_plain(err, EPROTO, "systemd gave \"%s\" as the cgroup of %s: not %s's place for it",
				cgroup, unit, slice);
}

/* Where systemd keeps track of units: the unified hierarchy, or on a
 * v1-only host its named one. */
static const char *tracking_root(enum hrun_cgroup_mode mode)
{
	if (mode == HRUN_CGROUP_UNIFIED)
		return CGROUP_ROOT;
	return mode == HRUN_CGROUP_HYBRID ? CGROUP_ROOT "/unified" : CGROUP_ROOT "/systemd";
}

/* A fresh scope holds our placeholder and nothing else: a cgroup with
 * other processes is not the container's to limit, and to kill. */
static int check_only_anchor(const char *dir, pid_t anchor, struct hrun_error *err)
{
	_cleanup_free_ char *file = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	char line[64];
	int seen = 0;

	if (asprintf(&file, "%s/cgroup.procs", dir) < 0) {
		file = NULL;
		return hrun_error_errno(err, "asprintf");
	}
	f = fopen(file, "re");
	if (!f)
		return hrun_error_errno(err, "open %s", file);
	while (fgets(line, sizeof(line), f)) {
		if (atol(line) != (long)anchor)
			return hrun_error_plain(err, EBUSY, "systemd's scope cgroup %s holds other processes (%ld)", dir,
						atol(line));
		seen++;
	}
	if (!seen)
		return hrun_error_plain(err, EPROTO, "systemd's scope cgroup %s does not hold our process", dir);
	return 0;
}

static int write_str(const char *dir, const char *name, const char *value, struct hrun_error *err)
{
	_cleanup_free_ char *file = NULL;
	_cleanup_close_ int fd = -1;
	size_t n = strlen(value);

	if (asprintf(&file, "%s/%s", dir, name) < 0) {
		file = NULL;
		return hrun_error_errno(err, "asprintf");
	}
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, n) != (ssize_t)n)
		return hrun_error_errno(err, "write \"%s\" to %s", value, file);
	return 0;
}

/* Make SCOPE/container, move the placeholder into it, and (v2) hand the
 * scope's controllers down: a cgroup with processes could not enable
 * them for its children, so the move comes first. */
static int make_leaf(enum hrun_cgroup_mode mode, const char *scope, pid_t anchor, struct hrun_error *err)
{
	_cleanup_free_ char *dir = NULL, *leaf = NULL, *controllers = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	char pid[32], *save = NULL;
	size_t cap = 0;

	if (asprintf(&dir, "%s%s", tracking_root(mode), scope) < 0 ||
	    asprintf(&leaf, "%s/" CONTAINER_LEAF, dir) < 0)
		return hrun_error_errno(err, "asprintf");
	if (check_only_anchor(dir, anchor, err) < 0)
		return -1;
	if (mkdir(leaf, 0755) < 0)
		return hrun_error_errno(err, "make cgroup %s", leaf);
	snprintf(pid, sizeof(pid), "%d", anchor);
	if (write_str(leaf, "cgroup.procs", pid, err) < 0)
		return -1;
	if (mode == HRUN_CGROUP_LEGACY)
		return 0;
	if (asprintf(&controllers, "%s/cgroup.controllers", dir) < 0) {
		controllers = NULL;
		return hrun_error_errno(err, "asprintf");
	}
	f = fopen(controllers, "re");
	free(controllers);
	controllers = NULL;
	if (!f || getline(&controllers, &cap, f) < 0)
		return f && !ferror(f) ? 0 : hrun_error_errno(err, "read %s/cgroup.controllers", dir);
	for (char *c = strtok_r(controllers, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
		char plus[64];
		snprintf(plus, sizeof(plus), "+%s", c);
		if (write_str(dir, "cgroup.subtree_control", plus, err) < 0)
			return -1;
	}
	return 0;
}

/* The v1 hierarchies systemd does not manage got SCOPE and its leaf from
 * hrun_cgroup_adopt; systemd removes only its own. */
static void remove_v1_dirs(enum hrun_cgroup_mode mode, const char *scope)
{
	DIR *d;
	struct dirent *e;

	if (mode != HRUN_CGROUP_HYBRID && mode != HRUN_CGROUP_LEGACY)
		return;
	d = opendir(CGROUP_ROOT);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char dir[4096];
		if (e->d_name[0] == '.' || e->d_type != DT_DIR || strcmp(e->d_name, "unified") == 0)
			continue;
		snprintf(dir, sizeof(dir), CGROUP_ROOT "/%s%s/" CONTAINER_LEAF, e->d_name, scope);
		rmdir(dir);
		snprintf(dir, sizeof(dir), CGROUP_ROOT "/%s%s", e->d_name, scope);
		rmdir(dir);
	}
	closedir(d);
}

/* --- the manager ---------------------------------------------------------------- */

int hrun_cgroup_systemd_create(const char *cgroups_path, const char *id, bool rootless,
			       struct hrun_cgroup *cg, struct hrun_error *err)
{
	_cleanup_free_ char *slice = NULL, *unit = NULL, *address = NULL, *path = NULL, *leaf = NULL;
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
	if (!path || hrun_systemd_check_cgroup(path, slice, unit, err) < 0 ||
	    asprintf(&leaf, "%s/" CONTAINER_LEAF, path) < 0 || make_leaf(hrun_cgroup_detect(), path, anchor, err) < 0 ||
	    hrun_cgroup_adopt(leaf, cg, err) < 0) {
		if (path && !leaf)
			hrun_error_errno(err, "asprintf");
		hrun_cgroup_release(cg);
		stop_unit(&bus, &jobs, unit, &ignored);
		if (path && leaf)
			remove_v1_dirs(hrun_cgroup_detect(), path);
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
	if (r == 0 && cg->path) {
		/* cg->path is SCOPE/container. */
		_cleanup_free_ char *scope = strdup(cg->path);
		char *slash = scope ? strrchr(scope, '/') : NULL;
		if (slash && strcmp(slash + 1, CONTAINER_LEAF) == 0 && slash != scope) {
			*slash = '\0';
			remove_v1_dirs(cg->mode, scope);
		}
	}
	return r;
}
