#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "init.h"
#include "mounts.h"
#include "namespace.h"
#include "policy.h"
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
	int pidfd;
	int sigfd;
	sigset_t old_mask;
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

static int load_bundle(struct launch *l, struct hrun_error *err)
{
	char path[PATH_MAX];
	struct hrun_host_config conf;

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
	if (l->spec->linux_.time_offsets.set)
		return hrun_error_plain(err, ENOTSUP,
					"config.json: linux.timeOffsets: time namespace offsets are not supported yet");
	if (l->spec->process->terminal.set && l->spec->process->terminal.v)
		return hrun_error_plain(err, ENOTSUP,
				      "config.json: process.terminal: terminals are not supported yet; set it to false");
	if (hrun_host_config_load(l->ctx->host_config, &conf, err) < 0)
		return -1;
	if (hrun_policy_level(&conf, l->ctx->hardening, l->spec, &l->level, err) < 0)
		return -1;
	if (hrun_policy_apply(l->spec, l->level, err) < 0)
		return -1;
	if (absolute_sources(l, err) < 0)
		return -1;
	if (!realpath(l->spec->root.path, path))
		return hrun_error_errno(err, "config.json: root.path: \"%s\"", l->spec->root.path);
	l->rootfs = strdup(path);
	if (!l->rootfs)
		return hrun_error_errno(err, "strdup");
	l->rootfs_fd = open(l->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (l->rootfs_fd < 0)
		return hrun_error_errno(err, "config.json: root.path: open \"%s\"", l->rootfs);
	return 0;
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
	return l->created ? 0 : hrun_error_errno(err, "format the creation time");
}

static int write_state(struct launch *l, const char *status, struct hrun_error *err)
{
	struct hrun_state st = {
		.id = l->id,
		.status = (char *)status,
		.pid = l->pid,
		.bundle = l->bundle,
		.rootfs = l->rootfs,
		.created = l->created,
		.cgroup_path = l->cgroup.path,
		.hardening = (char *)hrun_hardening_name(l->level),
	};

	return hrun_state_write(l->state_fd, &st, err);
}

static int make_cgroup(struct launch *l, struct hrun_error *err)
{
	_cleanup_free_ char *path = hrun_cgroup_resolve_path(l->spec->linux_.cgroups_path, l->id, err);

	if (!path)
		return -1;
	l->cgroup_made = true;
	return hrun_cgroup_create(path, &l->cgroup, err);
}

/* Signals we pass on to the container instead of acting on them. SIGCHLD
 * is in the set only to wake us when init exits. */
static int block_signals(struct launch *l, struct hrun_error *err)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGABRT);
	if (sigprocmask(SIG_BLOCK, &all, &l->old_mask) < 0)
		return hrun_error_errno(err, "sigprocmask");
	l->sigfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (l->sigfd < 0)
		return hrun_error_errno(err, "signalfd");
	return 0;
}

static void run_init(struct launch *l)
{
	struct hrun_init_args args = {
		.spec = l->spec,
		.sync_fd = l->child_fd,
		.new_userns = (hrun_ns_new_flags(l->spec) & CLONE_NEWUSER) != 0,
		.new_cgroupns = (hrun_ns_new_flags(l->spec) & CLONE_NEWCGROUP) != 0,
		.no_pivot = l->opts->no_pivot,
		.no_new_keyring = l->opts->no_new_keyring,
		.preserve_fds = l->opts->preserve_fds,
	};

	close(l->sync_fd);
	close(l->sigfd);
	hrun_init_main(&args);
}

static pid_t clone_init(struct launch *l, uint64_t extra_flags, int *pidfd)
{
	struct clone_args args = {
		/* The cgroup namespace is made by init once it is in every
		 * cgroup, so that its root is the container's cgroup. */
		.flags = (hrun_ns_new_flags(l->spec) & ~(uint64_t)CLONE_NEWCGROUP) | extra_flags,
		/* clone3 refuses an exit signal with CLONE_PARENT: the child
		 * then inherits the caller's (SIGCHLD, for the helper). */
		.exit_signal = (extra_flags & CLONE_PARENT) ? 0 : SIGCHLD,
	};

	if (pidfd) {
		args.flags |= CLONE_PIDFD;
		args.pidfd = (uint64_t)(uintptr_t)pidfd;
	}
	/* Straight into the unified cgroup: init never runs outside it. */
	if (l->cgroup.v2_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)l->cgroup.v2_fd;
	}
	return (pid_t)hrun_clone3(&args);
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
		_exit(hrun_sync_send_pid(l->child_fd, pid, &herr) < 0 ? 1 : 0);
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

/* The parent's part of setup: maps, v1 cgroups, then let init go on. */
static int set_up_init(struct launch *l, struct hrun_error *err)
{
	const struct hrun_spec *spec = l->spec;

	if ((hrun_ns_new_flags(spec) & CLONE_NEWUSER) &&
	    hrun_ns_write_id_maps(l->pid, &spec->linux_.uid_mappings, &spec->linux_.gid_mappings, err) < 0)
		return -1;
	if (hrun_cgroup_enter_v1(&l->cgroup, l->pid, err) < 0)
		return -1;
	return hrun_sync_send(l->sync_fd, HRUN_SYNC_MAPS_WRITTEN, err);
}

static int start_init(struct launch *l, struct hrun_error *err)
{
	int r;

	if (hrun_sync_expect(l->sync_fd, HRUN_SYNC_CREATED, "container init", NULL, err) < 0)
		return -1;
	if (write_state(l, "created", err) < 0)
		return -1;
	if (hrun_sync_send(l->sync_fd, HRUN_SYNC_START, err) < 0)
		return -1;
	/* The socket closes on exec; an error record means exec failed. */
	r = hrun_sync_wait_close(l->sync_fd, err);
	if (r <= 0)
		return -1;
	return write_state(l, "running", err);
}

static int exit_status(const siginfo_t *info)
{
	if (info->si_code == CLD_EXITED)
		return info->si_status;
	return 128 + info->si_status;
}

/* Forward every signal to init until it exits; reap anything else. */
static int wait_forwarding(struct launch *l, struct hrun_error *err)
{
	for (;;) {
		struct signalfd_siginfo si;
		siginfo_t info = { 0 };
		ssize_t n = read(l->sigfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			return hrun_error_errno(err, "read signalfd");
		if (si.ssi_signo != SIGCHLD) {
			if (hrun_pidfd_send_signal(l->pidfd, (int)si.ssi_signo) < 0 && errno != ESRCH)
				hrun_warn("forward signal %u: %s", si.ssi_signo, strerror(errno));
			continue;
		}
		if (waitid(P_PIDFD, (id_t)l->pidfd, &info, WEXITED | WNOHANG) < 0)
			return hrun_error_errno(err, "waitid");
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (info.si_pid != 0) {
			l->pid = 0;
			return exit_status(&info);
		}
	}
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

	kill_init(l);
	if (l->sync_fd >= 0)
		close(l->sync_fd);
	if (l->child_fd >= 0)
		close(l->child_fd);
	if (l->pidfd >= 0)
		close(l->pidfd);
	if (l->rootfs_fd >= 0)
		close(l->rootfs_fd);
	if (l->cgroup_made && hrun_cgroup_destroy(&l->cgroup, &err) < 0)
		hrun_warn("%s", err.msg);
	hrun_cgroup_release(&l->cgroup);
	if (l->state_fd >= 0) {
		close(l->state_fd);
		if (hrun_state_remove(l->ctx->root, l->id, &err) < 0)
			hrun_warn("%s", err.msg);
	}
	/* Only now may a pending SIGTERM end us: nothing is left to undo. */
	if (l->sigfd >= 0) {
		close(l->sigfd);
		sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
	}
	hrun_spec_free(l->spec);
	free(l->bundle);
	free(l->rootfs);
	free(l->id);
	free(l->created);
}

int hrun_container_run(const struct hrun_context *ctx, const struct hrun_launch_opts *opts,
		       struct hrun_error *err)
{
	struct launch l = {
		.ctx = ctx,
		.opts = opts,
		.state_fd = -1,
		.rootfs_fd = -1,
		.cgroup = { .v2_fd = -1 },
		.sync_fd = -1,
		.child_fd = -1,
		.pidfd = -1,
		.sigfd = -1,
	};
	int status = -1;

	/* Signals are held from the start: one arriving mid-setup must not
	 * end us before release() has undone what was made. */
	if (block_signals(&l, err) < 0 || load_bundle(&l, err) < 0 || make_state(&l, err) < 0 ||
	    hrun_state_write_config(l.state_fd, l.spec, err) < 0 || make_cgroup(&l, err) < 0 ||
	    spawn_init(&l, err) < 0 || set_up_init(&l, err) < 0 || start_init(&l, err) < 0)
		goto out;
	status = wait_forwarding(&l, err);
out:
	release(&l);
	return status;
}
