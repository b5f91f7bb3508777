#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup-resources.h"
#include "cgroup-systemd.h"
#include "cleanup.h"
#include "console.h"
#include "foreground.h"
#include "container.h"
#include "hooks.h"
#include "idmap.h"
#include "init.h"
#include "landlock-policy.h"
#include "mounts.h"
#include "namespace.h"
#include "notify.h"
#include "policy.h"
#include "process-attrs.h"
#include "rootless.h"
#include "safepath.h"
#include "sealed-exe.h"
#include "seccomp.h"
#include "seccomp-notify.h"
#include "spec.h"
#include "state.h"
#include "sync.h"
#include "syscalls.h"

/* Everything one container launch holds; released in one place. */
struct launch {
	const struct hrun_context *ctx;
	const struct hrun_launch_opts *opts;
	struct hrun_spec *spec;
	enum hrun_hardening level;
	char *bundle;
	char *rootfs;
	int rootfs_fd;
	char *id;
	char *created;	/* RFC 3339, taken once when the state is made */
	int state_fd;
	struct hrun_cgroup cgroup;
	bool cgroup_made;
	int sync_fd;	/* parent end */
	int child_fd;	/* init's end, closed once init has it */
	pid_t pid;
	uint64_t pid_start;
	int pidfd;
	struct hrun_foreground fg;
	int console_fd;	/* init sends the pty master here */
	int master;	/* foreground run with a terminal: what we proxy */
	int fifo_fd;	/* O_PATH: init reopens it for writing to wait for start */
	int notify_tree_fd;	/* detached mount init attaches on /run/notify */
	int *mount_trees;	/* per config mount: its idmapped tree, or -1 */
	struct hrun_host_config conf;
	bool default_userns;	/* hrun adds the user namespace, from the pool */
	bool rootless_userns;	/* hrun adds the user namespace, mapping its unprivileged caller */
	const char *userns_note;	/* for the state: how the user namespace came about */
	char *userns_note_buf;
	int rootfs_tree;	/* with the default user namespace: the idmapped rootfs */
	unsigned int preserve_fds;	/* --preserve-fds plus socket-activation fds */
	struct hrun_seccomp_prog seccomp;	/* linux.seccomp, compiled before the clone */
	char *landlock_host;	/* the host's Landlock policy text, saved in the state for exec */
	struct hrun_landlock landlock;	/* the layers init confines the process with */
	bool init_created;	/* init reported CREATED: poststop hooks apply */
	bool keep;	/* the container outlives this command */
};

/* Init starts in the rootfs, not the bundle: give relative bind sources
 * the bundle's absolute path while we know it. */
static int absolute_sources(struct launch *l, struct hrun_error *err)
{
	for (size_t i = 0; i < l->spec->n_mounts; i++) {
		struct hrun_mount *m = &l->spec->mounts[i];
		char *abs = NULL;

		if (!m->source || m->source[0] == '/' || !hrun_mount_is_bind(m))
			continue;
		if (asprintf(&abs, "%s/%s", l->bundle, m->source) < 0)
			return hrun_error_errno(err, "asprintf");
		free(m->source);
		m->source = abs;
	}
	return 0;
}

static int add_env(struct hrun_process *proc, const char *entry, struct hrun_error *err)
{
	char **v = realloc(proc->env.v, (proc->env.n + 2) * sizeof(*v));

	if (!v)
		return hrun_error_errno(err, "realloc");
	proc->env.v = v;
	v[proc->env.n] = strdup(entry);
	if (!v[proc->env.n])
		return hrun_error_errno(err, "strdup");
	v[++proc->env.n] = NULL;
	proc->env.set = true;
	return 0;
}

/* systemd socket activation, as runc passes it on: the LISTEN_FDS sockets
 * we were given (fds 3..) go to the container first, then the
 * --preserve-fds ones, and the process learns it is their listener. */
static int pass_listen_fds(struct launch *l, struct hrun_error *err)
{
	const char *fds = getenv("LISTEN_FDS");
	const char *pid = getenv("LISTEN_PID");
	char *end;
	unsigned long n;

	l->preserve_fds = l->opts->preserve_fds;
	if (!fds || !*fds || (pid && strtol(pid, NULL, 10) != getpid()))
		return 0;
	n = strtoul(fds, &end, 10);
	if (*end || n == 0 || n > 1024)
		return 0;
	l->preserve_fds += (unsigned int)n;
	{
		char entry[32];
		snprintf(entry, sizeof(entry), "LISTEN_FDS=%lu", n);
		if (add_env(l->spec->process, entry, err) < 0)
			return -1;
	}
	return add_env(l->spec->process, "LISTEN_PID=1", err);
}

/* With NOTIFY_SOCKET set, the container gets the state directory's
 * "notify" directory on /run/notify: we clone it as a detached mount that
 * init attaches, since the container's uid cannot search the state
 * directory and init's mount namespace is its own. */
static int set_up_notify(struct launch *l, struct hrun_error *err)
{
	_cleanup_close_ int dirfd = -1;

	if (!hrun_notify_host_socket())
		return 0;
	dirfd = hrun_notify_make_dir(l->state_fd, err);
	if (dirfd < 0)
		return -1;
	l->notify_tree_fd = open_tree(dirfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (l->notify_tree_fd < 0)
		return hrun_error_errno(err, "clone the notify directory");
	return add_env(l->spec->process, "NOTIFY_SOCKET=" HRUN_NOTIFY_SOCKET, err);
}

/* The default user namespace needs an idmapped rootfs: try one with a
 * throwaway namespace before anything exists. */
static int rootfs_idmappable(struct launch *l, struct hrun_error *why)
{
	struct hrun_idmap one = { .container_id = 0, .host_id = l->conf.userns_pool.first, .size = 1 };
	struct hrun_idmaps maps = { .set = true, .n = 1, .v = &one };
	_cleanup_close_ int ns = hrun_idmap_userns(&maps, &maps, why);
	_cleanup_close_ int tree = -1;

	if (ns < 0)
		return -1;
	tree = hrun_idmap_clone_tree(l->rootfs_fd, "", false, false, ns, why);
	if (tree < 0)
		return hrun_error_plain(why, why->code, "\"%s\" on a filesystem that cannot be idmapped: %s",
					l->rootfs, strerror(why->code));
	return 0;
}

/* Default level and above, with a pool configured: a config without a
 * user namespace gets one. Where the rootfs cannot be idmapped, `default`
 * runs without it and says so (log and state); `strict` refuses. */
static int decide_default_userns(struct launch *l, struct hrun_error *err)
{
	struct hrun_error why = { 0 };

	l->userns_note = l->rootless_userns ? "rootless" : hrun_spec_find_ns(l->spec, HRUN_NS_USER) ? "config" : "none";
	if (!l->conf.userns_pool.count || l->level == HRUN_HARDENING_COMPAT ||
	    hrun_spec_find_ns(l->spec, HRUN_NS_USER))
		return 0;
	if (rootfs_idmappable(l, &why) == 0) {
		l->default_userns = true;
		return 0;
	}
	if (l->level == HRUN_HARDENING_STRICT)
		return hrun_error_plain(err, why.code,
					"hardening level strict needs a user namespace, and root.path %s", why.msg);
	if (asprintf(&l->userns_note_buf, "downgraded: %s", why.msg) < 0)
		return hrun_error_errno(err, "asprintf");
	l->userns_note = l->userns_note_buf;
	/* Said once: the copy run sealed (no user namespace) decides again. */
	if (hrun_exe_is_sealed())
		hrun_warn("running without a user namespace: root.path %s", why.msg);
	return 0;
}

static int load_bundle(struct launch *l, struct hrun_error *err)
{
	char path[PATH_MAX];
	struct hrun_host_config *conf = &l->conf;
	_cleanup_close_ int start_dir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (!realpath(l->opts->bundle, path))
		return hrun_error_errno(err, "bundle \"%s\"", l->opts->bundle);
	l->bundle = strdup(path);
	if (!l->bundle)
		return hrun_error_errno(err, "strdup");
	/* Relative paths in the config (root, bind sources) are the bundle's. */
	if (chdir(l->bundle) < 0)
		return hrun_error_errno(err, "chdir to bundle \"%s\"", l->bundle);
	l->spec = hrun_spec_load("config.json", err);
	if (!l->spec)
		return -1;
	if (hrun_spec_validate(l->spec, "config.json", err) < 0)
		return -1;
	if (!l->spec->process)
		return hrun_error_plain(err, EINVAL, "config.json: process: required to run a container");
	/* Setup pivots and unmounts: in the host's (or a joined) mount
	 * namespace that would take the host's root away. */
	{
		const struct hrun_namespace *mnt = hrun_spec_find_ns(l->spec, HRUN_NS_MOUNT);
		if (!mnt || (mnt->path && *mnt->path))
			return hrun_error_plain(err, EINVAL,
						"config.json: linux.namespaces: hrun needs a new mount namespace (type \"mount\" without a path)");
	}
	/* Before the policy, which sees the effective config: an
	 * unprivileged caller can make no namespace without a user one. */
	if (hrun_rootless_caller()) {
		int added;

		if (hrun_rootless_check(l->spec, err) < 0)
			return -1;
		added = hrun_rootless_add_userns(l->spec, err);
		if (added < 0)
			return -1;
		l->rootless_userns = added == 1;
	}
	if (hrun_host_config_load(l->ctx->host_config, conf, err) < 0)
		return -1;
	hrun_rootless_seccomp_cache(conf->seccomp_cache_dir, sizeof(conf->seccomp_cache_dir));
	if (hrun_policy_level(conf, l->ctx->hardening, l->spec, &l->level, err) < 0)
		return -1;
	if (hrun_policy_apply(l->spec, l->level, err) < 0)
		return -1;
	{
		const char *own[] = { l->ctx->root, conf->seccomp_cache_dir, conf->userns_pool_dir };
		if (hrun_policy_check_binds(l->spec, own, sizeof(own) / sizeof(own[0]), err) < 0)
			return -1;
	}
	if (hrun_seccomp_compile(l->spec, conf->seccomp_cache_dir, &l->seccomp, err) < 0)
		return hrun_error_prefix(err, "config.json");
	if (absolute_sources(l, err) < 0 || pass_listen_fds(l, err) < 0)
		return -1;
	if (!realpath(l->spec->root.path, path))
		return hrun_error_errno(err, "config.json: root.path: \"%s\"", l->spec->root.path);
	l->rootfs = strdup(path);
	if (!l->rootfs)
		return hrun_error_errno(err, "strdup");
	l->rootfs_fd = open(l->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (l->rootfs_fd < 0)
		return hrun_error_errno(err, "config.json: root.path: open \"%s\"", l->rootfs);
	if (decide_default_userns(l, err) < 0)
		return -1;
	/* Nothing is made yet: the sealed copy starts over from here. */
	if (!l->default_userns && hrun_exe_needs_sealing(l->spec) &&
	    hrun_exe_reexec_sealed(start_dir, l->ctx->argv, err) < 0)
		return -1;
	/* After the sealed re-exec, so that a bestEffort warning is said
	 * once; before the config is saved, as it adds no_new_privs. */
	if (hrun_landlock_read_host_policy(conf->landlock_policy, &l->landlock_host, err) < 0)
		return -1;
	return hrun_landlock_load(l->spec, l->landlock_host, conf->landlock_policy, &l->landlock, err);
}

/* A slice of the pool becomes the container's user namespace: ids
 * 0..65535 map to it. Taken once the state directory exists, which owns
 * it (removing the state gives it back). */
static int add_default_userns(struct launch *l, struct hrun_error *err)
{
	struct hrun_linux *lx = &l->spec->linux_;
	_cleanup_free_ char *state_dir = NULL;
	struct hrun_namespace *ns;
	uint32_t first;

	if (!l->default_userns)
		return 0;
	if (asprintf(&state_dir, "%s/%s", l->ctx->root, l->id) < 0)
		return hrun_error_errno(err, "asprintf");
	if (hrun_userns_pool_reserve(&l->conf.userns_pool, state_dir, l->state_fd, &first, err) < 0)
		return -1;
	ns = realloc(lx->namespaces, (lx->n_namespaces + 1) * sizeof(*ns));
	if (!ns)
		return hrun_error_errno(err, "allocate the user namespace");
	lx->namespaces = ns;
	ns[lx->n_namespaces++] = (struct hrun_namespace){ .type = HRUN_NS_USER };
	lx->uid_mappings.v = calloc(1, sizeof(struct hrun_idmap));
	lx->gid_mappings.v = calloc(1, sizeof(struct hrun_idmap));
	if (!lx->uid_mappings.v || !lx->gid_mappings.v)
		return hrun_error_errno(err, "allocate the user namespace");
	lx->uid_mappings.set = lx->gid_mappings.set = true;
	lx->uid_mappings.n = lx->gid_mappings.n = 1;
	*lx->uid_mappings.v = (struct hrun_idmap){ .container_id = 0, .host_id = first, .size = HRUN_USERNS_SLICE };
	*lx->gid_mappings.v = *lx->uid_mappings.v;
	if (asprintf(&l->userns_note_buf, "pool %" PRIu32, first) < 0)
		return hrun_error_errno(err, "asprintf");
	l->userns_note = l->userns_note_buf;
	return 0;
}

/* Idmapped binds are cloned here, in the host's user namespace: init,
 * inside the container's, may not idmap the host's filesystems. With the
 * default user namespace the rootfs and every bind are idmapped too. */
static int prepare_mount_trees(struct launch *l, struct hrun_error *err)
{
	_cleanup_close_ int ns = -1;

	if (l->default_userns) {
		ns = hrun_idmap_userns(&l->spec->linux_.uid_mappings, &l->spec->linux_.gid_mappings, err);
		if (ns < 0)
			return -1;
		l->rootfs_tree = hrun_idmap_clone_tree(l->rootfs_fd, "", true, true, ns, err);
		if (l->rootfs_tree < 0)
			return hrun_error_prefix(err, "root.path \"%s\"", l->rootfs);
	}
	if (l->spec->n_mounts == 0)
		return 0;
	l->mount_trees = calloc(l->spec->n_mounts, sizeof(int));
	if (!l->mount_trees)
		return hrun_error_errno(err, "calloc");
	if (hrun_idmap_prepare_mounts(l->spec, ns, l->default_userns, l->mount_trees, err) < 0) {
		free(l->mount_trees);
		l->mount_trees = NULL;
		return -1;
	}
	return 0;
}

static void close_mount_trees(struct launch *l)
{
	for (size_t i = 0; l->mount_trees && i < l->spec->n_mounts; i++)
		if (l->mount_trees[i] >= 0)
			close(l->mount_trees[i]);
	free(l->mount_trees);
	l->mount_trees = NULL;
}

/* The standalone form names the container after its bundle directory,
 * with what an ID may not contain replaced. */
static char *id_from_bundle(const char *bundle)
{
	_cleanup_free_ char *copy = strdup(bundle);
	char *name;

	if (!copy)
		return NULL;
	name = basename(copy);
	if (!*name || strcmp(name, "/") == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		name = "container";
	for (char *p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.", *p))
			*p = '_';
	return strndup(name, HRUN_ID_MAX - 8);
}

/* With a terminal, init sends the pty master to the --console-socket or,
 * in a foreground run, to us. */
static int open_console(struct launch *l, struct hrun_error *err)
{
	const struct hrun_process *proc = l->spec->process;
	bool terminal = proc->terminal.set && proc->terminal.v;
	bool detached = l->opts->detach || !l->opts->run;
	int pair[2];

	if (!terminal) {
		if (l->opts->console_socket)
			return hrun_error_plain(err, EINVAL,
						"cannot use console socket if the container will not allocate a tty");
		return 0;
	}
	if (l->opts->console_socket) {
		l->console_fd = hrun_console_connect(l->opts->console_socket, err);
		return l->console_fd < 0 ? -1 : 0;
	}
	if (detached)
		return hrun_error_plain(err, EINVAL,
					"cannot allocate tty if hrun will detach without setting console socket");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return hrun_error_errno(err, "socketpair");
	l->master = pair[0];
	l->console_fd = pair[1];
	return 0;
}

/* The foreground proxy's end: replace our socket end by the master. */
static int receive_master(struct launch *l, struct hrun_error *err)
{
	int master;

	if (l->master < 0 || l->opts->console_socket)
		return 0;
	master = hrun_console_recv(l->master, NULL, err);
	if (master < 0)
		return -1;
	close(l->master);
	l->master = master;
	return 0;
}

static int make_state(struct launch *l, struct hrun_error *err)
{
	if (l->opts->id) {
		l->id = strdup(l->opts->id);
		if (!l->id)
			return hrun_error_errno(err, "strdup");
		l->state_fd = hrun_state_create(l->ctx->root, l->id, err);
	} else {
		_cleanup_free_ char *base = id_from_bundle(l->bundle);
		if (!base)
			return hrun_error_errno(err, "strdup");
		l->state_fd = hrun_state_create_unique(l->ctx->root, base, &l->id, err);
	}
	if (l->state_fd < 0)
		return -1;
	l->created = hrun_rfc3339_now();
	if (!l->created)
		return hrun_error_errno(err, "format the creation time");
	/* Writable by init even as an unprivileged mapped uid: it reaches the
	 * FIFO through its fd, never through the 0700 state directory. */
	if (mkfifoat(l->state_fd, "exec.fifo", 0600) < 0 || fchmodat(l->state_fd, "exec.fifo", 0622, 0) < 0)
		return hrun_error_errno(err, "create exec.fifo");
	l->fifo_fd = openat(l->state_fd, "exec.fifo", O_PATH | O_CLOEXEC | O_NOFOLLOW);
	if (l->fifo_fd < 0)
		return hrun_error_errno(err, "open exec.fifo");
	return 0;
}

static int write_state(struct launch *l, const char *status, struct hrun_error *err)
{
	struct hrun_state st = {
		.id = l->id,
		.status = (char *)status,
		.pid = l->pid,
		.pid_start = l->pid_start,
		.bundle = l->bundle,
		.rootfs = l->rootfs,
		.created = l->created,
		.cgroup_path = l->cgroup.path,
		.systemd_unit = l->cgroup.unit,
		.systemd_bus = l->cgroup.bus,
		.hardening = (char *)hrun_hardening_name(l->level),
		.userns = (char *)l->userns_note,
		.landlock_host = l->landlock_host,
	};

	return hrun_state_write(l->state_fd, &st, err);
}

/* Rootless, with no cgroup we may write (no delegation): as runc, the
 * container stays in our cgroup, unless the config asks for limits that
 * nothing would enforce. WHY is the error that said so. */
static int run_without_cgroup(struct launch *l, struct hrun_error *why, struct hrun_error *err)
{
	const char *limit = hrun_rootless_limit_asked(&l->spec->linux_.resources);
	struct hrun_error ignored = { 0 };

	/* A hybrid host may have let us make one hierarchy's and not the
	 * next: nothing of it stays. */
	hrun_cgroup_destroy(&l->cgroup, &ignored);
	hrun_cgroup_release(&l->cgroup);
	l->cgroup = (struct hrun_cgroup){ .mode = HRUN_CGROUP_NONE, .v2_fd = -1 };
	l->cgroup_made = false;
	if (limit)
		return hrun_error_plain(err, why->code,
					"config.json: %s: rootless without cgroup delegation, no limit can be set (%s); delegate a cgroup to this user or remove the limits",
					limit, why->msg);
	hrun_debug("rootless: the container gets no cgroup of its own (%s); pause, ps and update need one", why->msg);
	return 0;
}

static bool cgroup_denied(int code)
{
	return code == EACCES || code == EPERM || code == EROFS;
}

static int make_cgroup(struct launch *l, struct hrun_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct hrun_error why = { 0 };

	l->cgroup_made = true;
	if (l->ctx->systemd_cgroup) {
		if (hrun_cgroup_systemd_create(l->spec->linux_.cgroups_path, l->id, l->ctx->rootless,
					       &l->cgroup, err) < 0)
			return -1;
	} else {
		path = hrun_cgroup_resolve_path(l->spec->linux_.cgroups_path, l->id, err);
		if (!path)
			return -1;
		if (hrun_cgroup_create(path, &l->cgroup, &why) < 0) {
			if (!l->ctx->rootless || !cgroup_denied(why.code)) {
				*err = why;
				return -1;
			}
			if (run_without_cgroup(l, &why, err) < 0)
				return -1;
		}
	}
	/* Saved now, so that `delete --force` finds the cgroup should this
	 * command die before the container is created. Limits before the
	 * clone: init never runs a step unlimited. */
	if (write_state(l, "creating", err) < 0)
		return -1;
	if (!l->cgroup.path)
		return 0;
	return hrun_cgroup_apply_resources(&l->cgroup, &l->spec->linux_.resources, err);
}

static void run_init(struct launch *l)
{
	struct hrun_init_args args = {
		.spec = l->spec,
		.sync_fd = l->child_fd,
		.new_userns = (hrun_ns_new_flags(l->spec) & CLONE_NEWUSER) != 0,
		.new_cgroupns = (hrun_ns_new_flags(l->spec) & CLONE_NEWCGROUP) != 0,
		.parent_unprivileged = hrun_rootless_caller(),
		.no_pivot = l->opts->no_pivot,
		.no_new_keyring = l->opts->no_new_keyring,
		.preserve_fds = l->preserve_fds,
		.fifo_fd = l->fifo_fd,
		.console_fd = l->console_fd,
		.notify_tree_fd = l->notify_tree_fd,
		.mount_trees = l->mount_trees,
		.rootfs_tree = l->rootfs_tree,
		.seccomp = &l->seccomp,
		.landlock = &l->landlock,
		.id = l->id,
		.bundle = l->bundle,
	};

	close(l->sync_fd);
	if (l->fg.sigfd >= 0)
		close(l->fg.sigfd);
	/* Our mask was for forwarding; init takes signals itself, so that
	 * `kill` acts on a created container at once, as with runc. */
	sigprocmask(SIG_SETMASK, &l->fg.old_mask, NULL);
	hrun_init_main(&args);
}

/* With offsets, the time namespace is made before the clone, which then
 * puts init in it (see hrun_time_ns_prepare). */
static uint64_t time_ns_by_us(const struct hrun_spec *spec)
{
	return spec->linux_.time_offsets.set ? CLONE_NEWTIME : 0;
}

static pid_t clone_init(struct launch *l, uint64_t extra_flags, int *pidfd)
{
	struct clone_args args = {
		/* The cgroup namespace is made by init once it is in every
		 * cgroup, so that its root is the container's cgroup. */
		.flags = (hrun_ns_new_flags(l->spec) & ~(uint64_t)(CLONE_NEWCGROUP | time_ns_by_us(l->spec))) |
			 extra_flags,
		/* clone3 refuses an exit signal with CLONE_PARENT: the child
		 * then inherits the caller's (SIGCHLD, for the helper). */
		.exit_signal = (extra_flags & CLONE_PARENT) ? 0 : SIGCHLD,
	};

	struct hrun_error err = { 0 };
	int saved_timens;
	pid_t pid;

	if (pidfd) {
		args.flags |= CLONE_PIDFD;
		args.pidfd = (uint64_t)(uintptr_t)pidfd;
	}
	/* Straight into the unified cgroup: init never runs outside it. */
	if (l->cgroup.v2_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)l->cgroup.v2_fd;
	}
	saved_timens = hrun_time_ns_prepare(&l->spec->linux_.time_offsets, &err);
	if (saved_timens == -1) {
		hrun_warn("%s", err.msg);
		errno = err.code;
		return -1;
	}
	pid = (pid_t)hrun_clone3(&args);
	if (pid != 0)
		hrun_time_ns_restore(saved_timens);
	return pid;
}

/* Joining existing namespaces needs an intermediate process: it joins
 * them (user first) and clones init as our child with the new ones, so a
 * new pid namespace is owned by the joined user namespace. */
static int spawn_via_helper(struct launch *l, struct hrun_error *err)
{
	struct hrun_ns_join joins;
	struct clone_args fork_args = { .exit_signal = SIGCHLD };
	pid_t helper;
	int status;

	if (hrun_ns_open_joins(l->spec, &joins, err) < 0)
		return -1;
	helper = (pid_t)hrun_clone3(&fork_args);
	if (helper < 0) {
		hrun_ns_close_joins(&joins);
		return hrun_error_errno(err, "clone helper");
	}
	if (helper == 0) {
		struct hrun_error herr = { 0 };
		pid_t pid;

		if (hrun_ns_setns_all(&joins, &herr) < 0) {
			hrun_sync_send_error(l->child_fd, &herr);
			_exit(1);
		}
		pid = clone_init(l, CLONE_PARENT, NULL);
		if (pid == 0)
			run_init(l);
		if (pid < 0) {
			hrun_error_errno(&herr, "clone container init");
			hrun_sync_send_error(l->child_fd, &herr);
			_exit(1);
		}
		_exit(hrun_sync_send_pid(l->child_fd, HRUN_SYNC_INIT_PID, pid, &herr) < 0 ? 1 : 0);
	}
	hrun_ns_close_joins(&joins);
	/* Only the helper (and init) hold the child's end now: if the helper
	 * dies before reporting, we read end of stream instead of waiting. */
	close(l->child_fd);
	l->child_fd = -1;
	if (hrun_sync_expect(l->sync_fd, HRUN_SYNC_INIT_PID, "namespace helper", &l->pid, err) < 0) {
		waitpid(helper, &status, 0);
		return -1;
	}
	waitpid(helper, &status, 0);
	l->pidfd = hrun_pidfd_open(l->pid);
	if (l->pidfd < 0)
		return hrun_error_errno(err, "pidfd_open %d", l->pid);
	return 0;
}

static int spawn_init(struct launch *l, struct hrun_error *err)
{
	int fds[2];
	int r = 0;

	if (hrun_sync_pair(fds, err) < 0)
		return -1;
	l->sync_fd = fds[0];
	l->child_fd = fds[1];
	/* Init inherits the rootfs as its cwd, carried into its new mount
	 * namespace by the kernel (see hrun_rootfs_prepare). */
	if (fchdir(l->rootfs_fd) < 0)
		return hrun_error_errno(err, "chdir to rootfs \"%s\"", l->rootfs);
	if (hrun_ns_joins_any(l->spec)) {
		r = spawn_via_helper(l, err);
	} else {
		l->pid = clone_init(l, 0, &l->pidfd);
		if (l->pid == 0)
			run_init(l);
		if (l->pid < 0)
			r = hrun_error_errno(err, "clone container init");
	}
	if (l->child_fd >= 0)
		close(l->child_fd);
	l->child_fd = -1;
	if (chdir(l->bundle) < 0 && r == 0)
		r = hrun_error_errno(err, "chdir to bundle \"%s\"", l->bundle);
	return r;
}

static bool has_userns(const struct hrun_spec *spec)
{
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].type == HRUN_NS_USER)
			return true;
	return false;
}

/* The host id that container id 0 has in PID's FILE ("uid_map"), as the
 * kernel now has it: the config's maps, the pool's, or a joined
 * namespace's alike. */
static int root_host_id(int procfd, pid_t pid, const char *file, uint32_t *out, struct hrun_error *err)
{
	char rel[64];
	_cleanup_close_ int fd = -1;
	_cleanup_fclose_ FILE *f = NULL;
	unsigned long inside, outside, count;

	snprintf(rel, sizeof(rel), "%d/%s", pid, file);
	fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "re")))
		return hrun_error_errno(err, "open /proc/%s", rel);
	fd = -1;
	while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
		if (inside == 0 && count > 0) {
			*out = (uint32_t)outside;
			return 0;
		}
	return hrun_error_plain(err, ENOENT, "/proc/%s: container root is not mapped", rel);
}

/* cgroup v2 delegation, as systemd and crun do for a container with a
 * user namespace: its root owns its cgroup, so it can make sub-cgroups
 * (a nested runtime, systemd inside) without any host privilege. */
static int delegate_cgroup(struct launch *l, struct hrun_error *err)
{
	_cleanup_close_ int procfd = -1;
	uint32_t uid, gid;

	/* Rootless, a cgroup we could make is the caller's already, and we
	 * could give it to no one else. */
	if (l->cgroup.v2_fd < 0 || !has_userns(l->spec) || hrun_rootless_caller())
		return 0;
	procfd = hrun_procfs_open("/proc", err);
	if (procfd < 0 || root_host_id(procfd, l->pid, "uid_map", &uid, err) < 0 ||
	    root_host_id(procfd, l->pid, "gid_map", &gid, err) < 0)
		return -1;
	return hrun_cgroup_delegate(&l->cgroup, (uid_t)uid, (gid_t)gid, err);
}

/* The parent's part of setup: maps, v1 cgroups, then let init go on. */
static int set_up_init(struct launch *l, struct hrun_error *err)
{
	const struct hrun_spec *spec = l->spec;

	if ((hrun_ns_new_flags(spec) & CLONE_NEWUSER) &&
	    hrun_ns_write_id_maps(l->pid, &spec->linux_.uid_mappings, &spec->linux_.gid_mappings, err) < 0)
		return -1;
	if (spec->process->oom_score_adj.set) {
		_cleanup_close_ int procfd = hrun_procfs_open("/proc", err);
		if (procfd < 0 || hrun_process_write_oom_score(procfd, l->pid, spec->process, err) < 0)
			return -1;
	}
	if (hrun_cgroup_enter_v1(&l->cgroup, l->pid, err) < 0 || delegate_cgroup(l, err) < 0)
		return -1;
	hrun_cgroup_systemd_settle(&l->cgroup);
	return hrun_sync_send_pid(l->sync_fd, HRUN_SYNC_MAPS_WRITTEN, l->pid, err);
}

static char *state_json(struct launch *l, const char *status, struct hrun_error *err)
{
	return hrun_state_json(l->id, status, l->pid, l->bundle, &l->spec->annotations, false, err);
}

/* runtime-spec: createRuntime and prestart (deprecated, same moment) run
 * in the runtime's namespaces once the container's exist and its mounts
 * are made, before the pivot; init then runs createContainer. */
static int run_create_hooks(struct launch *l, struct hrun_error *err)
{
	const struct hrun_hooks *h = &l->spec->hooks;
	_cleanup_free_ char *json = NULL;

	if (!h->create_runtime.n && !h->prestart.n)
		return 0;
	if (hrun_sync_expect(l->sync_fd, HRUN_SYNC_HOOKS, "container init", NULL, err) < 0)
		return -1;
	json = state_json(l, "creating", err);
	if (!json)
		return -1;
	if (hrun_hooks_run(&h->prestart, "prestart", json, err) < 0 ||
	    hrun_hooks_run(&h->create_runtime, "createRuntime", json, err) < 0)
		return -1;
	return hrun_sync_send(l->sync_fd, HRUN_SYNC_HOOKS_DONE, err);
}

/* A notifying filter: init sends its listener once the filter is loaded,
 * before CREATED; the agent must have it before create returns. Failing
 * to reach the agent fails the create (release kills init). */
static int pass_seccomp_listener(struct launch *l, struct hrun_error *err)
{
	_cleanup_close_ int listener = -1;
	struct hrun_seccomp_agent_msg m = {
		.pid = l->pid,
		.id = l->id,
		.status = "creating",
		.init_pid = l->pid,
		.bundle = l->bundle,
		.annotations = &l->spec->annotations,
	};

	if (!hrun_seccomp_has_listener(&l->seccomp))
		return 0;
	listener = hrun_sync_expect_fd(l->sync_fd, HRUN_SYNC_SECCOMP_LISTENER, "container init", err);
	if (listener < 0)
		return -1;
	if (hrun_seccomp_notify_agent(&l->spec->linux_.seccomp, listener, &m, err) < 0)
		return -1;
	return hrun_sync_send(l->sync_fd, HRUN_SYNC_LISTENER_TAKEN, err);
}

/* Init has done its setup and waits on the exec FIFO. */
static int await_created(struct launch *l, struct hrun_error *err)
{
	if (hrun_sync_expect(l->sync_fd, HRUN_SYNC_CREATED, "container init", NULL, err) < 0)
		return -1;
	l->pid_start = hrun_proc_start_time(l->pid);
	if (l->pid_start == 0)
		return hrun_error_plain(err, ESRCH, "container init exited during create");
	l->init_created = true;
	if (receive_master(l, err) < 0)
		return -1;
	if (write_state(l, "created", err) < 0)
		return -1;
	if (l->opts->pid_file && hrun_write_pid_file(l->opts->pid_file, l->pid, err) < 0)
		return -1;
	return 0;
}

static int start_init(struct launch *l, struct hrun_error *err)
{
	_cleanup_free_ char *json = NULL;
	_cleanup_close_ int notify = -1;
	int r;

	if (l->notify_tree_fd >= 0 && (notify = hrun_notify_listen(l->state_fd, err)) < 0)
		return -1;
	if (hrun_exec_fifo_release(l->state_fd, l->pidfd, err) < 0)
		return -1;
	/* The socket closes on exec; an error record means exec failed. */
	r = hrun_sync_wait_close(l->sync_fd, err);
	if (r <= 0)
		return -1;
	if (notify >= 0 && hrun_notify_forward_ready(notify, l->pidfd, l->pid, err) < 0)
		return -1;
	if (write_state(l, "running", err) < 0)
		return -1;
	if (!l->spec->hooks.poststart.n)
		return 0;
	json = state_json(l, "running", err);
	if (!json)
		return -1;
	hrun_hooks_run_warn(&l->spec->hooks.poststart, "poststart", json);
	return 0;
}

static void kill_init(struct launch *l)
{
	siginfo_t info;

	if (l->pidfd < 0 || l->pid <= 0)
		return;
	hrun_pidfd_send_signal(l->pidfd, SIGKILL);
	waitid(P_PIDFD, (id_t)l->pidfd, &info, WEXITED);
	l->pid = 0;
}

/* Whatever happened, nothing of the container stays behind. */
static void release(struct launch *l)
{
	struct hrun_error err = { 0 };

	if (l->keep)
		goto free_only;
	kill_init(l);
	if (l->init_created && l->opts->pid_file)
		unlink(l->opts->pid_file);
	if (l->init_created && l->spec->hooks.poststop.n) {
		_cleanup_free_ char *json = state_json(l, "stopped", &err);
		if (!json)
			hrun_warn("%s", err.msg);
		else
			hrun_hooks_run_warn(&l->spec->hooks.poststop, "poststop", json);
	}
	if (l->cgroup_made && hrun_cgroup_destroy(&l->cgroup, &err) < 0)
		hrun_warn("%s", err.msg);
	if (l->state_fd >= 0 && hrun_state_remove(l->ctx->root, l->id, &err) < 0)
		hrun_warn("%s", err.msg);
free_only:
	if (l->sync_fd >= 0)
		close(l->sync_fd);
	if (l->child_fd >= 0)
		close(l->child_fd);
	if (l->pidfd >= 0)
		close(l->pidfd);
	if (l->rootfs_fd >= 0)
		close(l->rootfs_fd);
	if (l->fifo_fd >= 0)
		close(l->fifo_fd);
	if (l->notify_tree_fd >= 0)
		close(l->notify_tree_fd);
	close_mount_trees(l);
	if (l->rootfs_tree >= 0)
		close(l->rootfs_tree);
	free(l->userns_note_buf);
	free(l->landlock_host);
	hrun_landlock_free(&l->landlock);
	hrun_cgroup_release(&l->cgroup);
	if (l->state_fd >= 0)
		close(l->state_fd);
	if (l->console_fd >= 0)
		close(l->console_fd);
	if (l->master >= 0)
		close(l->master);
	/* Only now may a pending SIGTERM end us: nothing is left to undo. */
	hrun_foreground_restore(&l->fg);
	hrun_seccomp_prog_free(&l->seccomp);
	hrun_spec_free(l->spec);
	free(l->bundle);
	free(l->rootfs);
	free(l->id);
	free(l->created);
}

static bool state_dir_gone(const struct launch *l)
{
	struct stat st;

	return fstat(l->state_fd, &st) == 0 && st.st_nlink == 0;
}

#define LAUNCH_INIT(c, o)                                                                      \
	{                                                                                          \
		.ctx = (c), .opts = (o), .state_fd = -1, .rootfs_fd = -1, .cgroup = { .v2_fd = -1 }, \
		.sync_fd = -1, .child_fd = -1, .pidfd = -1, .fg = HRUN_FOREGROUND_INIT,             \
		.fifo_fd = -1, .console_fd = -1, .master = -1, .notify_tree_fd = -1,                 \
		.rootfs_tree = -1,                                                                     \
	}

/* Everything up to init waiting on the exec FIFO. Signals are held from
 * the start: one arriving mid-setup must not end us before release() has
 * undone what was made. */
static int create(struct launch *l, struct hrun_error *err)
{
	return hrun_foreground_block(&l->fg, err) < 0 || load_bundle(l, err) < 0 ||
			       open_console(l, err) < 0 || make_state(l, err) < 0 ||
			       add_default_userns(l, err) < 0 || prepare_mount_trees(l, err) < 0 ||
			       set_up_notify(l, err) < 0 ||
			       hrun_state_write_config(l->state_fd, l->spec, err) < 0 ||
			       make_cgroup(l, err) < 0 || spawn_init(l, err) < 0 ||
			       set_up_init(l, err) < 0 || run_create_hooks(l, err) < 0 ||
			       pass_seccomp_listener(l, err) < 0 || await_created(l, err) < 0
		       ? -1
		       : 0;
}

int hrun_container_create(const struct hrun_context *ctx, const struct hrun_launch_opts *opts,
			  struct hrun_error *err)
{
	struct launch l = LAUNCH_INIT(ctx, opts);
	int r = create(&l, err);

	/* Init stays, reparented to our caller's subreaper once we exit. */
	l.keep = r == 0;
	release(&l);
	return r;
}

int hrun_container_run(const struct hrun_context *ctx, const struct hrun_launch_opts *opts,
		       struct hrun_error *err)
{
	struct hrun_launch_opts run_opts = *opts;
	struct launch l = LAUNCH_INIT(ctx, &run_opts);
	int status = -1;

	run_opts.run = true;
	if (create(&l, err) < 0 || start_init(&l, err) < 0)
		goto out;
	if (opts->detach) {
		l.keep = true;
		status = 0;
		goto out;
	}
	/* Others may kill, pause or delete it while we wait. */
	flock(l.state_fd, LOCK_UN);
	status = hrun_foreground_wait(&l.fg, l.pidfd, l.master, err);
	flock(l.state_fd, LOCK_EX);
	/* Deleted meanwhile (perhaps a new container has its ID now):
	 * nothing left that is ours to clean. */
	if (state_dir_gone(&l))
		l.keep = true;
out:
	release(&l);
	return status;
}
