#define _GNU_SOURCE
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "console.h"
#include "container.h"
#include "foreground.h"
#include "init.h"
#include "landlock-policy.h"
#include "namespace.h"
#include "policy.h"
#include "process-attrs.h"
#include "rootless.h"
#include "safepath.h"
#include "sealed-exe.h"
#include "seccomp.h"
#include "seccomp-notify.h"
#include "sync.h"
#include "syscalls.h"

struct exec {
	const struct hrun_exec_opts *opts;
	struct hrun_container c;
	bool opened;
	struct hrun_foreground fg;
	int container_pidfd;
	int sync_fd;
	int child_fd;
	int console_fd;	/* the exec'd process sends its pty master here */
	int master;	/* foreground with a terminal: what we proxy */
	pid_t pid;
	int pidfd;
	struct hrun_seccomp_prog seccomp;
	struct hrun_landlock landlock;	/* the container's layers, applied to the process too */
};

static int strv_append(struct hrun_strv *sv, char *const *add, size_t n, struct hrun_error *err)
{
	char **v;

	if (!n)
		return 0;
	v = realloc(sv->v, (sv->n + n + 1) * sizeof(*v));
	if (!v)
		return hrun_error_errno(err, "realloc");
	sv->v = v;
	for (size_t i = 0; i < n; i++) {
		v[sv->n] = strdup(add[i]);
		if (!v[sv->n])
			return hrun_error_errno(err, "strdup");
		v[++sv->n] = NULL;
	}
	sv->set = true;
	return 0;
}

/* -e KEY=VALUE replaces the container's KEY, as runc does (a duplicate
 * would lose: getenv and PATH lookup take the first). */
static int set_env(struct hrun_strv *env, char *const *add, size_t n, struct hrun_error *err)
{
	for (size_t i = 0; i < n; i++) {
		size_t key = strcspn(add[i], "=");
		bool replaced = false;

		for (size_t j = 0; j < env->n && !replaced; j++) {
			if (strncmp(env->v[j], add[i], key) == 0 && (env->v[j][key] == '=' || !env->v[j][key])) {
				char *copy = strdup(add[i]);
				if (!copy)
					return hrun_error_errno(err, "strdup");
				free(env->v[j]);
				env->v[j] = copy;
				replaced = true;
			}
		}
		if (!replaced && strv_append(env, &add[i], 1, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_user(const char *s, struct hrun_user *u, struct hrun_error *err)
{
	char *end;
	unsigned long uid, gid;

	errno = 0;
	uid = strtoul(s, &end, 10);
	if (end == s || errno || uid > UINT32_MAX || (*end && *end != ':'))
		return hrun_error_plain(err, EINVAL, "invalid --user \"%s\": expected uid[:gid]", s);
	u->uid = (uint32_t)uid;
	if (*end == ':') {
		const char *g = end + 1;
		gid = strtoul(g, &end, 10);
		if (end == g || errno || gid > UINT32_MAX || *end)
			return hrun_error_plain(err, EINVAL, "invalid --user \"%s\": expected uid[:gid]", s);
		u->gid = (uint32_t)gid;
	}
	return 0;
}

#define SWAP(a, b)                      \
	do {                            \
		__typeof__(a) tmp_ = (a); \
		(a) = (b);              \
		(b) = tmp_;             \
	} while (0)

/* What a --process file leaves unsaid stays as the container has it, as
 * runc does: an exec'd process never gets more than the container's
 * capabilities, rlimits, LSM labels and no_new_privs by omission. FROM is
 * freed afterwards, so its fields are moved, not copied. */
static void inherit_unset(struct hrun_process *p, struct hrun_process *from)
{
	if (!p->capabilities.set)
		SWAP(p->capabilities, from->capabilities);
	if (!p->n_rlimits) {
		SWAP(p->rlimits, from->rlimits);
		SWAP(p->n_rlimits, from->n_rlimits);
	}
	if (!p->no_new_privileges.set)
		p->no_new_privileges = from->no_new_privileges;
	if (!p->apparmor_profile)
		SWAP(p->apparmor_profile, from->apparmor_profile);
	if (!p->selinux_label)
		SWAP(p->selinux_label, from->selinux_label);
	if (!p->oom_score_adj.set)
		p->oom_score_adj = from->oom_score_adj;
}

/* The container's own process, changed by the command line as runc does,
 * or the --process file instead. */
static int build_process(struct exec *e, const struct hrun_context *ctx, struct hrun_error *err)
{
	struct hrun_host_config conf;
	const struct hrun_exec_opts *o = e->opts;
	struct hrun_spec *spec = e->c.spec;
	struct hrun_process *p;
	int level;

	if (o->process_file) {
		p = hrun_process_load(o->process_file, err);
		if (!p)
			return -1;
		inherit_unset(p, spec->process);
		hrun_process_free(spec->process);
		spec->process = p;
	} else {
		p = spec->process;
		if (!o->n_args)
			return hrun_error_plain(err, EINVAL, "exec args cannot be empty");
		for (size_t i = 0; i < p->args.n; i++)
			free(p->args.v[i]);
		p->args.n = 0;
		if (strv_append(&p->args, o->args, o->n_args, err) < 0 || set_env(&p->env, o->env, o->n_env, err) < 0)
			return -1;
		if (o->cwd) {
			free(p->cwd);
			p->cwd = strdup(o->cwd);
			if (!p->cwd)
				return hrun_error_errno(err, "strdup");
		}
		if (o->user && parse_user(o->user, &p->user, err) < 0)
			return -1;
		if (o->n_caps) {
			p->capabilities.set = true;
			if (strv_append(&p->capabilities.bounding, o->caps, o->n_caps, err) < 0 ||
			    strv_append(&p->capabilities.effective, o->caps, o->n_caps, err) < 0 ||
			    strv_append(&p->capabilities.permitted, o->caps, o->n_caps, err) < 0)
				return -1;
		}
		if (o->no_new_privs)
			p->no_new_privileges = (struct hrun_opt_bool){ .set = true, .v = true };
		p->terminal = (struct hrun_opt_bool){ .set = true, .v = o->tty };
	}
	if (!p->args.n)
		return hrun_error_plain(err, EINVAL, "process: args must not be empty");
	if (hrun_spec_validate(spec, o->process_file ? o->process_file : "exec", err) < 0)
		return -1;
	/* The container's hardening level holds for what joins it: at strict
	 * an exec asking for CAP_SYS_ADMIN is refused like a config would be. */
	level = hrun_hardening_from_name(e->c.state.hardening ? e->c.state.hardening : "");
	if (level >= 0 && hrun_policy_apply(spec, (enum hrun_hardening)level, err) < 0)
		return -1;
	/* The host layer as it was at create (saved in the state), and the
	 * container's annotation: the process is confined like init. */
	if (hrun_landlock_load(spec, e->c.state.landlock_host, "landlock_policy (saved at create)", &e->landlock,
			       err) < 0)
		return -1;
	if (hrun_host_config_load(ctx->host_config, &conf, err) < 0)
		return -1;
	hrun_rootless_seccomp_cache(conf.seccomp_cache_dir, sizeof(conf.seccomp_cache_dir));
	return hrun_seccomp_compile(spec, conf.seccomp_cache_dir, &e->seccomp, err);
}

static int open_container(struct exec *e, const struct hrun_context *ctx, struct hrun_error *err)
{
	if (hrun_container_open(ctx, e->opts->id, false, &e->c, err) < 0)
		return -1;
	e->opened = true;
	if (e->c.status == HRUN_STATUS_PAUSED)
		return hrun_error_plain(err, EINVAL, "cannot exec in a paused container");
	if (e->c.status != HRUN_STATUS_RUNNING && e->c.status != HRUN_STATUS_CREATED)
		return hrun_error_plain(err, EINVAL, "cannot exec in a stopped container");
	if (!e->c.spec || !e->c.spec->process)
		return hrun_error_plain(err, ENOENT, "container config missing from its state directory");
	e->container_pidfd = hrun_container_pidfd(&e->c, err);
	return e->container_pidfd < 0 ? -1 : 0;
}

static int open_console(struct exec *e, struct hrun_error *err)
{
	const struct hrun_process *p = e->c.spec->process;
	int pair[2];

	if (!(p->terminal.set && p->terminal.v)) {
		if (e->opts->console_socket)
			return hrun_error_plain(err, EINVAL,
						"cannot use console socket if the process will not allocate a tty");
		return 0;
	}
	if (e->opts->console_socket) {
		e->console_fd = hrun_console_connect(e->opts->console_socket, err);
		return e->console_fd < 0 ? -1 : 0;
	}
	if (e->opts->detach)
		return hrun_error_plain(err, EINVAL,
					"cannot allocate tty if hrun will detach without setting console socket");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return hrun_error_errno(err, "socketpair");
	e->master = pair[0];
	e->console_fd = pair[1];
	return 0;
}

/* Every namespace the container has, joined at once through its init's
 * pidfd (the user namespace first, as setns does it). */
static uint64_t join_flags(const struct hrun_spec *spec)
{
	uint64_t flags = 0;

	for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
		flags |= (uint64_t)hrun_ns_clone_flag(spec->linux_.namespaces[i].type);
	return flags;
}

/* The helper joins the namespaces, then clones the process as our child
 * (CLONE_PARENT) so that it is inside the pid and time namespaces and,
 * through CLONE_INTO_CGROUP, the container's unified cgroup. */
static __attribute__((noreturn)) void run_helper(struct exec *e)
{
	struct hrun_error err = { 0 };
	struct clone_args args = { .flags = CLONE_PARENT };
	struct hrun_exec_args xargs = {
		.spec = e->c.spec,
		.sync_fd = e->child_fd,
		.console_fd = e->console_fd,
		.preserve_fds = e->opts->preserve_fds,
		.seccomp = &e->seccomp,
		.procfd = -1,
		.landlock = &e->landlock,
	};
	pid_t pid;

	close(e->sync_fd);
	/* The host's /proc, for the LSM writes: once we joined the
	 * container's mount namespace only its own /proc is in reach. */
	if ((e->c.spec->process->apparmor_profile && *e->c.spec->process->apparmor_profile) ||
	    (e->c.spec->process->selinux_label && *e->c.spec->process->selinux_label)) {
		xargs.procfd = hrun_procfs_open("/proc", &err);
		if (xargs.procfd < 0)
			goto fail;
	}
	/* Unprivileged, we cannot write the process's oom_score_adj once it
	 * is undumpable (its /proc files are the host root's then): we set
	 * ours, still outside the container, and it inherits it. */
	if (hrun_rootless_caller() && e->c.spec->process->oom_score_adj.set) {
		_cleanup_close_ int procfd = hrun_procfs_open("/proc", &err);
		if (procfd < 0 || hrun_process_write_oom_score(procfd, getpid(), e->c.spec->process, &err) < 0)
			goto fail;
	}
	/* All but the cgroup namespace: inside it our own cgroup is outside
	 * its root, and clone3 refuses CLONE_INTO_CGROUP with ENOENT. The
	 * process joins it once it is in the container's cgroup. */
	if (setns(e->container_pidfd, (int)(join_flags(e->c.spec) & ~(uint64_t)CLONE_NEWCGROUP)) < 0) {
		hrun_error_errno(&err, "join the container's namespaces");
		goto fail;
	}
	if (e->c.cgroup.v2_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)e->c.cgroup.v2_fd;
	}
	pid = (pid_t)hrun_clone3(&args);
	if (pid == 0) {
		close(e->fg.sigfd);
		if ((join_flags(e->c.spec) & CLONE_NEWCGROUP) && setns(e->container_pidfd, CLONE_NEWCGROUP) < 0) {
			hrun_error_errno(&err, "join the container's cgroup namespace");
			goto fail;
		}
		hrun_exec_main(&xargs);
	}
	if (pid < 0) {
		hrun_error_errno(&err, "clone the exec process");
		goto fail;
	}
	_exit(hrun_sync_send_pid(e->child_fd, HRUN_SYNC_INIT_PID, pid, &err) < 0 ? 1 : 0);
fail:
	hrun_sync_send_error(e->child_fd, &err);
	_exit(1);
}

/* As for create: the exec'd process sends its notifying filter's
 * listener once loaded; the agent gets it, with the container's state,
 * before the process may exec. */
static int pass_seccomp_listener(struct exec *e, struct hrun_error *err)
{
	_cleanup_close_ int listener = -1;
	struct hrun_seccomp_agent_msg m = {
		.pid = e->pid,
		.id = e->c.state.id,
		.status = hrun_status_name(e->c.status),
		.init_pid = e->c.state.pid,
		.bundle = e->c.state.bundle,
		.annotations = &e->c.spec->annotations,
	};

	if (!hrun_seccomp_has_listener(&e->seccomp))
		return 0;
	listener = hrun_sync_expect_fd(e->sync_fd, HRUN_SYNC_SECCOMP_LISTENER, "exec'd process", err);
	if (listener < 0)
		return -1;
	if (hrun_seccomp_notify_agent(&e->c.spec->linux_.seccomp, listener, &m, err) < 0)
		return -1;
	return hrun_sync_send(e->sync_fd, HRUN_SYNC_LISTENER_TAKEN, err);
}

static int spawn(struct exec *e, struct hrun_error *err)
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	int fds[2], status;
	pid_t helper;

	if (hrun_sync_pair(fds, err) < 0)
		return -1;
	e->sync_fd = fds[0];
	e->child_fd = fds[1];
	helper = (pid_t)hrun_clone3(&args);
	if (helper < 0)
		return hrun_error_errno(err, "clone exec helper");
	if (helper == 0)
		run_helper(e);
	close(e->child_fd);
	e->child_fd = -1;
	if (hrun_sync_expect(e->sync_fd, HRUN_SYNC_INIT_PID, "exec helper", &e->pid, err) < 0) {
		waitpid(helper, &status, 0);
		return -1;
	}
	waitpid(helper, &status, 0);
	e->pidfd = hrun_pidfd_open(e->pid);
	if (e->pidfd < 0)
		return hrun_error_errno(err, "pidfd_open %d", e->pid);
	/* v1 hierarchies (and hosts without a unified cgroup) are joined by
	 * pid before the process may run anything. */
	if (hrun_cgroup_enter_v1(&e->c.cgroup, e->pid, err) < 0)
		return -1;
	if (e->c.spec->process->oom_score_adj.set && !hrun_rootless_caller()) {
		_cleanup_close_ int procfd = hrun_procfs_open("/proc", err);
		if (procfd < 0 ||
		    hrun_process_write_oom_score(procfd, e->pid, e->c.spec->process, err) < 0)
			return -1;
	}
	if (hrun_sync_send_pid(e->sync_fd, HRUN_SYNC_MAPS_WRITTEN, e->pid, err) < 0)
		return -1;
	if (pass_seccomp_listener(e, err) < 0)
		return -1;
	/* The socket closes on exec; an error record means setup failed. */
	if (hrun_sync_wait_close(e->sync_fd, err) <= 0)
		return -1;
	if (e->master >= 0 && !e->opts->console_socket) {
		int master = hrun_console_recv(e->master, NULL, err);
		if (master < 0)
			return -1;
		close(e->master);
		e->master = master;
	}
	return 0;
}

static void release(struct exec *e)
{
	const int fds[] = { e->container_pidfd, e->sync_fd, e->child_fd, e->console_fd, e->master, e->pidfd };

	if (e->pid > 0 && e->pidfd >= 0) {
		siginfo_t info;
		hrun_pidfd_send_signal(e->pidfd, SIGKILL);
		waitid(P_PIDFD, (id_t)e->pidfd, &info, WEXITED);
	}
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	hrun_seccomp_prog_free(&e->seccomp);
	hrun_landlock_free(&e->landlock);
	if (e->opened)
		hrun_container_close(&e->c);
	hrun_foreground_restore(&e->fg);
}

int hrun_container_exec(const struct hrun_context *ctx, const struct hrun_exec_opts *opts,
			struct hrun_error *err)
{
	struct exec e = {
		.opts = opts,
		.fg = HRUN_FOREGROUND_INIT,
		.container_pidfd = -1,
		.sync_fd = -1,
		.child_fd = -1,
		.console_fd = -1,
		.master = -1,
		.pidfd = -1,
	};
	int status = -1;

	if (hrun_foreground_block(&e.fg, err) < 0 || open_container(&e, ctx, err) < 0)
		goto out;
	/* Joining a container whose root is the host's: run sealed. */
	if (hrun_exe_needs_sealing(e.c.spec) && hrun_exe_reexec_sealed(-1, ctx->argv, err) < 0)
		goto out;
	if (build_process(&e, ctx, err) < 0 || open_console(&e, err) < 0 || spawn(&e, err) < 0)
		goto out;
	if (opts->pid_file && hrun_write_pid_file(opts->pid_file, e.pid, err) < 0)
		goto out;
	if (opts->detach) {
		e.pid = 0; /* it stays */
		status = 0;
		goto out;
	}
	status = hrun_foreground_wait(&e.fg, e.pidfd, e.master, err);
	e.pid = 0;
out:
	release(&e);
	return status;
}
