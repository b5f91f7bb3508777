#define _GNU_SOURCE
#include "init.h"

#include <errno.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "console.h"
#include "container.h"
#include "hooks.h"
#include "devices.h"
#include "landlock.h"
#include "lsm.h"
#include "mounts.h"
#include "namespace.h"
#include "notify.h"
#include "process.h"
#include "process-attrs.h"
#include "rootfs.h"
#include "safepath.h"
#include "seccomp.h"
#include "sync.h"

/* Until the parent has written our maps we are nobody in the new user
 * namespace; afterwards become its root so that files we create are owned
 * by the container's root. */
static int become_userns_root(const struct hrun_init_args *a, struct hrun_error *err)
{
	if (!a->new_userns)
		return 0;
	if (setresgid(0, 0, 0) < 0)
		return hrun_error_errno(err, "setgid 0 in the user namespace");
	if (setresuid(0, 0, 0) < 0)
		return hrun_error_errno(err, "setuid 0 in the user namespace");
	return 0;
}

/* The parent has put us in our cgroups by now: a cgroup namespace made
 * here has the container's cgroup as its root. */
static int enter_cgroupns(const struct hrun_init_args *a, struct hrun_error *err)
{
	if (a->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
		return hrun_error_errno(err, "unshare the cgroup namespace");
	return 0;
}

/* A session keyring of its own, so the container cannot read or use the
 * keys of whoever started it. */
static int new_session_keyring(const struct hrun_init_args *a, int procfd, struct hrun_error *err)
{
	if (a->no_new_keyring)
		return 0;
	/* The keyring is labelled like the process will be, as runc does. */
	if (hrun_selinux_keyring_label(procfd, a->spec->process->selinux_label, err) < 0)
		return -1;
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS)
		return hrun_error_errno(err, "join a new session keyring");
	return 0;
}

/* Through the container's own /proc while /proc/sys is still writable
 * (readonlyPaths come next); without a /proc mount, ours: both show the
 * values of the namespaces we are in. */
static int set_sysctls(int rootfd, const struct hrun_spec *spec, struct hrun_error *err)
{
	_cleanup_close_ int procfd = -1;

	if (!spec->linux_.sysctl.set || spec->linux_.sysctl.n == 0)
		return 0;
	procfd = hrun_procfs_open_in_root(rootfd, "/proc", err);
	if (procfd < 0 && (err->code == EXDEV || err->code == ENOENT))
		procfd = hrun_procfs_open("/proc", err);
	if (procfd < 0)
		return hrun_error_prefix(err, "sysctl");
	for (size_t i = 0; i < spec->linux_.sysctl.n; i++) {
		const struct hrun_kv *kv = &spec->linux_.sysctl.v[i];
		_cleanup_free_ char *rel = NULL;

		if (asprintf(&rel, "sys/%s", kv->key) < 0)
			return hrun_error_errno(err, "asprintf");
		/* "net.ipv4.ip_forward" names net/ipv4/ip_forward; a key that
		 * already uses slashes keeps its dots ("conf/eth0.1/..."). */
		if (!strchr(kv->key, '/'))
			for (char *p = rel + 4; *p; p++)
				if (*p == '.')
					*p = '/';
		if (hrun_proc_write(procfd, rel, kv->value, strlen(kv->value), err) < 0)
			return hrun_error_prefix(err, "sysctl \"%s\"", kv->key);
	}
	return 0;
}

/* Everything mounted below the new root, all by fd, before the pivot. */
static int mount_rootfs(const struct hrun_init_args *a, int rootfd, struct hrun_error *err)
{
	const struct hrun_spec *spec = a->spec;

	/* /dev first: the config's /dev/pts, /dev/shm ... mount inside it. */
	if (hrun_dev_mount_tmpfs(rootfd, spec, err) < 0)
		return -1;
	if (hrun_mounts_apply(rootfd, spec, a->mount_trees, err) < 0)
		return -1;
	return hrun_dev_populate(rootfd, spec, a->new_userns, err);
}

static int protect_paths(const struct hrun_spec *spec, int rootfd, struct hrun_error *err)
{
	_cleanup_close_ int devnull = -1;

	/* Masking needs the host's /dev/null, so it happens before pivot. */
	devnull = hrun_open_dev_null(err);
	if (devnull < 0)
		return -1;
	if (hrun_mounts_mask_paths(rootfd, &spec->linux_.masked_paths, devnull, err) < 0)
		return -1;
	return hrun_mounts_readonly_paths(rootfd, &spec->linux_.readonly_paths, err);
}

/* Who the process is and what it may do; the order is the kernel's:
 * the bounding set needs CAP_SETPCAP (before the uid change), the other
 * sets are shaped after it, no_new_privs last. */
static int drop_privileges(const struct hrun_process *proc, struct hrun_error *err)
{
	if (hrun_process_set_rlimits(proc, err) < 0)
		return -1;
	if (hrun_caps_drop_bounding(&proc->capabilities, err) < 0)
		return -1;
	if (hrun_process_set_user(proc, err) < 0)
		return -1;
	if (hrun_caps_set(&proc->capabilities, err) < 0)
		return -1;
	return hrun_process_set_no_new_privs(proc, err);
}

/* The pty comes from the container's own devpts; the master goes to
 * whoever holds the console socket, the peer becomes our stdio and
 * controlling terminal and /dev/console. */
static int set_up_console(const struct hrun_init_args *a, int rootfd, struct hrun_error *err)
{
	const struct hrun_console_size *size = &a->spec->process->console_size;
	_cleanup_close_ int master = -1;
	_cleanup_close_ int peer = -1;
	_cleanup_free_ char *name = NULL;

	if (a->console_fd < 0)
		return 0;
	master = hrun_console_open_pty(rootfd, size->set ? size->height : 0, size->set ? size->width : 0,
				       &peer, &name, err);
	if (master < 0)
		return -1;
	if (hrun_console_bind_dev_console(rootfd, peer, err) < 0)
		return -1;
	if (hrun_console_send(a->console_fd, master, name, err) < 0)
		return -1;
	close(a->console_fd);
	if (setsid() < 0)
		return hrun_error_errno(err, "setsid");
	return hrun_console_set_stdio(peer, err);
}

/* hrun's notify directory on /run/notify (see notify.h). */
static int mount_notify_dir(const struct hrun_init_args *a, int rootfd, struct hrun_error *err)
{
	_cleanup_close_ int target = -1;

	if (a->notify_tree_fd < 0)
		return 0;
	target = hrun_mkpath_in_root(rootfd, HRUN_NOTIFY_DIR, false, err);
	if (target < 0)
		return hrun_error_prefix(err, "mount \"%s\"", HRUN_NOTIFY_DIR);
	return hrun_mount_attach_tree(a->notify_tree_fd, target,
				      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
}

/* Until execve resets it, nothing in the container may ptrace us or open
 * our /proc/PID/fd and /proc/PID/exe: we hold host fds and are hrun. */
static int make_undumpable(struct hrun_error *err)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return hrun_error_errno(err, "prctl(PR_SET_DUMPABLE)");
	return 0;
}

static bool has_hooks(const struct hrun_hooklist *l)
{
	return l->n > 0;
}

/* Everything mounted, before the pivot: the parent runs the
 * createRuntime and prestart hooks in its namespaces while we wait, then
 * we run createContainer in ours, as runc does (the path resolves from
 * the runtime's root, the container's mounts are visible). */
static int run_create_hooks(const struct hrun_init_args *a, pid_t host_pid, struct hrun_error *err)
{
	const struct hrun_hooks *h = &a->spec->hooks;
	_cleanup_free_ char *json = NULL;

	if (has_hooks(&h->create_runtime) || has_hooks(&h->prestart)) {
		if (hrun_sync_send(a->sync_fd, HRUN_SYNC_HOOKS, err) < 0 ||
		    hrun_sync_expect(a->sync_fd, HRUN_SYNC_HOOKS_DONE, "hrun", NULL, err) < 0)
			return -1;
	}
	if (!has_hooks(&h->create_container))
		return 0;
	json = hrun_state_json(a->id, "creating", host_pid, a->bundle, &a->spec->annotations, false, err);
	if (!json)
		return -1;
	return hrun_hooks_run(&h->create_container, "createContainer", json, err);
}

/* The exec FIFO's write end once start has opened it: "0" says the
 * startContainer hooks passed, "E<message>" that something failed, and
 * its close on exec tells start the process runs. */
static int start_fd = -1;

/* Block until `start` (or run) opens the exec FIFO for reading. The FIFO
 * is reopened for writing through our O_PATH fd via the host procfs opened
 * before the pivot: the container's /proc may be absent or fake. */
static int wait_for_start(const struct hrun_init_args *a, int procfd, struct hrun_error *err)
{
	char path[32];

	snprintf(path, sizeof(path), "self/fd/%d", a->fifo_fd);
	start_fd = openat(procfd, path, O_WRONLY | O_CLOEXEC);
	if (start_fd < 0)
		return hrun_error_errno(err, "open exec fifo");
	return 0;
}

static int report_started(struct hrun_error *err)
{
	if (write(start_fd, "0", 1) != 1)
		return hrun_error_errno(err, "write exec fifo");
	return 0;
}

/* Start waits on the FIFO: tell it why we fail (one write, atomic). */
static void report_start_failure(const struct hrun_error *failure)
{
	char msg[1 + HRUN_ERROR_MSG_MAX];
	int len;

	if (start_fd < 0)
		return;
	len = snprintf(msg, sizeof(msg), "E%s", failure->msg);
	if (len > 0)
		(void)!write(start_fd, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
}

static int run_start_hooks(const struct hrun_init_args *a, pid_t host_pid, struct hrun_error *err)
{
	_cleanup_free_ char *json = NULL;

	if (!has_hooks(&a->spec->hooks.start_container))
		return 0;
	json = hrun_state_json(a->id, "created", host_pid, a->bundle, &a->spec->annotations, false, err);
	if (!json)
		return -1;
	return hrun_hooks_run(&a->spec->hooks.start_container, "startContainer", json, err);
}

static bool no_new_privs(const struct hrun_process *proc)
{
	return proc->no_new_privileges.set && proc->no_new_privileges.v;
}

/* Load the filter. A notifying one's listener goes to hrun at once (it
 * passes it on to the agent) and we keep no copy: a container holding its
 * own listener could answer its own notifications. */
static int load_seccomp(const struct hrun_spec *spec, const struct hrun_seccomp_prog *prog, int sync_fd,
			struct hrun_error *err)
{
	_cleanup_close_ int listener = -1;

	if (hrun_seccomp_load(spec, prog, &listener, err) < 0)
		return -1;
	if (listener < 0)
		return 0;
	if (hrun_sync_send_fd(sync_fd, HRUN_SYNC_SECCOMP_LISTENER, listener, err) < 0)
		return -1;
	/* Nothing of the workload may run before the agent can answer it. */
	return hrun_sync_expect(sync_fd, HRUN_SYNC_LISTENER_TAKEN, "hrun", NULL, err);
}

/* When the process is confined. Without no_new_privs a filter needs
 * CAP_SYS_ADMIN: before the privileges go (as runc). A notifying one's
 * listener must reach the agent before create returns: before CREATED
 * (as runc), so the exec FIFO wait, the startContainer hooks and the
 * last steps run confined. Any other: last, as the FIFO wait and the
 * startContainer hooks need files and syscalls the policies may deny. */
enum confine_at {
	CONFINE_PRIVILEGED,
	CONFINE_BEFORE_CREATED,
	CONFINE_LAST,
};

static enum confine_at confine_at(const struct hrun_process *proc, const struct hrun_seccomp_prog *prog)
{
	if (!no_new_privs(proc))
		return CONFINE_PRIVILEGED;
	return hrun_seccomp_has_listener(prog) ? CONFINE_BEFORE_CREATED : CONFINE_LAST;
}

/* Landlock, then seccomp, always in this order: a filter from the config
 * could answer landlock_restrict_self with a success it never made, and
 * the process would run without the host's layer. */
static int confine(int *landlock, size_t n_landlock, const struct hrun_spec *spec,
		   const struct hrun_seccomp_prog *prog, int sync_fd, struct hrun_error *err)
{
	if (hrun_landlock_restrict(landlock, n_landlock, err) < 0)
		return -1;
	return load_seccomp(spec, prog, sync_fd, err);
}

/* FIXED fds, then the Landlock rulesets not yet applied, into KEEP. */
static size_t keep_fds(int *keep, const int *fixed, size_t n_fixed, const int *landlock, size_t n_landlock)
{
	size_t n = 0;

	for (size_t i = 0; i < n_fixed; i++)
		keep[n++] = fixed[i];
	for (size_t i = 0; i < n_landlock; i++)
		if (landlock[i] >= 0)
			keep[n++] = landlock[i];
	return n;
}

static int unblock_signals(struct hrun_error *err)
{
	sigset_t none;

	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return hrun_error_errno(err, "sigprocmask");
	return 0;
}

/* The container's setup, top to bottom. */
/* Shared by init and exec'd processes: the fds but KEEP closed while still
 * fully privileged (nothing the process could inherit or reach once it is
 * the container's uid), privileges dropped, then as the process's user
 * and with no host fd left to name, the cwd entered and checked, the
 * executable found and the umask set. Returns the executable's path. */
static char *become_process(const struct hrun_process *proc, const int *keep, size_t n_keep,
			    unsigned int preserve_fds, struct hrun_error *err)
{
	if (hrun_process_close_fds(keep, n_keep, preserve_fds, err) < 0 ||
	    drop_privileges(proc, err) < 0 || hrun_process_chdir(proc, err) < 0)
		return NULL;
	hrun_process_set_umask(proc);
	return hrun_process_find_exec(proc, err);
}

static int init_container(const struct hrun_init_args *a, struct hrun_error *err)
{
	const struct hrun_spec *spec = a->spec;
	const struct hrun_process *proc = spec->process;
	_cleanup_close_ int rootfd = -1;
	_cleanup_close_ int procfd = -1;
	_cleanup_free_ char *exe = NULL;
	int landlock[HRUN_LANDLOCK_MAX_LAYERS];
	size_t n_landlock = a->landlock ? a->landlock->n : 0;
	enum confine_at at = confine_at(proc, a->seccomp);
	pid_t host_pid = 0;

	/* An unprivileged parent opens our /proc files (id maps,
	 * oom_score_adj) as their owner, which we stop being once
	 * undumpable; until it has, we are in a user namespace nothing of
	 * the container is in yet, with no id of our own. */
	if (!a->parent_unprivileged && make_undumpable(err) < 0)
		return -1;
	if (hrun_process_set_affinity("initial", proc->exec_cpu_affinity.initial, err) < 0)
		return -1;
	if (hrun_sync_expect(a->sync_fd, HRUN_SYNC_MAPS_WRITTEN, "hrun", &host_pid, err) < 0)
		return -1;
	if (a->parent_unprivileged && make_undumpable(err) < 0)
		return -1;
	procfd = hrun_procfs_open("/proc", err);
	if (procfd < 0)
		return -1;
	if (become_userns_root(a, err) < 0)
		return -1;
	if (enter_cgroupns(a, err) < 0)
		return -1;
	if (new_session_keyring(a, procfd, err) < 0)
		return -1;
	/* Device nodes and mount points get exactly the modes we ask for. */
	umask(0);
	rootfd = hrun_rootfs_prepare(spec, a->rootfs_tree, err);
	if (rootfd < 0)
		return -1;
	if (mount_rootfs(a, rootfd, err) < 0)
		return -1;
	/* Needs the container's /dev/pts; /dev/console is bound before the
	 * masked and read-only paths are applied. */
	if (set_up_console(a, rootfd, err) < 0 || mount_notify_dir(a, rootfd, err) < 0)
		return -1;
	/* Before readonlyPaths make /proc/sys read-only, as runc orders it. */
	if (set_sysctls(rootfd, spec, err) < 0)
		return -1;
	if (protect_paths(spec, rootfd, err) < 0)
		return -1;
	if (run_create_hooks(a, host_pid, err) < 0)
		return -1;
	if (hrun_rootfs_enter(rootfd, a->no_pivot, err) < 0)
		return -1;
	/* Read-only root only once nothing else needs to be mounted on it. */
	if (hrun_rootfs_finish(spec, err) < 0)
		return -1;
	if (hrun_ns_set_uts(spec, err) < 0 || hrun_ns_loopback_up(spec, err) < 0)
		return -1;
	/* While still privileged (raising priorities needs CAP_SYS_NICE) and
	 * before seccomp, which may not allow these calls. */
	if (hrun_process_set_attrs(spec, err) < 0)
		return -1;
	/* Once every mount is final (a rule holds the inode it names), while
	 * still root: a path the process's user could not reach is named too.
	 * Confined before CREATED, init still opens the exec FIFO to write. */
	if (hrun_landlock_prepare(a->landlock, at == CONFINE_BEFORE_CREATED ? a->fifo_fd : -1, landlock, err) < 0)
		return -1;
	if (at == CONFINE_PRIVILEGED && confine(landlock, n_landlock, spec, a->seccomp, a->sync_fd, err) < 0)
		return -1;
	{
		const int fixed[] = { a->sync_fd, a->fifo_fd, procfd };
		int keep[3 + HRUN_LANDLOCK_MAX_LAYERS];
		size_t n_keep = keep_fds(keep, fixed, 3, landlock, n_landlock);

		exe = become_process(proc, keep, n_keep, a->preserve_fds, err);
		if (!exe)
			return -1;
	}
	/* After no_new_privs, through the host procfs opened before the pivot;
	 * before CREATED so a profile the kernel refuses fails create. Takes
	 * effect at execve (startContainer hooks, execed by us, get it too). */
	if (hrun_apparmor_exec_profile(procfd, proc->apparmor_profile, err) < 0 ||
	    hrun_selinux_exec_label(procfd, proc->selinux_label, err) < 0)
		return -1;
	if (at == CONFINE_BEFORE_CREATED && confine(landlock, n_landlock, spec, a->seccomp, a->sync_fd, err) < 0)
		return -1;
	if (hrun_sync_send(a->sync_fd, HRUN_SYNC_CREATED, err) < 0)
		return -1;
	/* From here `create` may have returned: failures go to stderr too. */
	if (wait_for_start(a, procfd, err) < 0)
		return -1;
	if (run_start_hooks(a, host_pid, err) < 0 || report_started(err) < 0)
		return -1;
	/* The parent blocked these to forward them; the container gets them
	 * delivered normally. */
	if (unblock_signals(err) < 0)
		return -1;
	if (hrun_process_set_affinity("final", proc->exec_cpu_affinity.final, err) < 0)
		return -1;
	if (at == CONFINE_LAST && confine(landlock, n_landlock, spec, a->seccomp, a->sync_fd, err) < 0)
		return -1;
	return hrun_process_exec(proc, exe, err);
}

void hrun_init_main(const struct hrun_init_args *a)
{
	struct hrun_error err = { 0 };

	init_container(a, &err);
	report_start_failure(&err);
	/* After create returned nobody reads the socket: say it on stderr,
	 * which is the container's. */
	if (!hrun_sync_send_error(a->sync_fd, &err))
		dprintf(STDERR_FILENO, "hrun: %s\n", err.msg);
	_exit(127);
}

/* Same steps as the tail of init_container, for a process that joined an
 * existing container: no mounts, no pivot, its own privileges. */
static int exec_process(const struct hrun_exec_args *a, struct hrun_error *err)
{
	const struct hrun_process *proc = a->spec->process;
	_cleanup_free_ char *exe = NULL;
	int landlock[HRUN_LANDLOCK_MAX_LAYERS];
	size_t n_landlock = a->landlock ? a->landlock->n : 0;
	/* No create to return before: a notifying filter comes last too. */
	bool privileged = confine_at(proc, a->seccomp) == CONFINE_PRIVILEGED;

	if (make_undumpable(err) < 0)
		return -1;
	if (hrun_process_set_affinity("initial", proc->exec_cpu_affinity.initial, err) < 0)
		return -1;
	if (hrun_sync_expect(a->sync_fd, HRUN_SYNC_MAPS_WRITTEN, "hrun", NULL, err) < 0)
		return -1;
	if (hrun_process_set_attrs(a->spec, err) < 0)
		return -1;
	/* The container's layers again, resolved in its root (ours since
	 * setns): this process does not descend from init's domain. */
	if (hrun_landlock_prepare(a->landlock, -1, landlock, err) < 0)
		return -1;
	if (a->console_fd >= 0) {
		_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int master = -1;
		_cleanup_close_ int peer = -1;
		_cleanup_free_ char *name = NULL;

		if (rootfd < 0)
			return hrun_error_errno(err, "open the container's root");
		master = hrun_console_open_pty(rootfd, proc->console_size.set ? proc->console_size.height : 0,
					       proc->console_size.set ? proc->console_size.width : 0, &peer, &name, err);
		if (master < 0 || hrun_console_send(a->console_fd, master, name, err) < 0)
			return -1;
		if (setsid() < 0)
			return hrun_error_errno(err, "setsid");
		if (hrun_console_set_stdio(peer, err) < 0)
			return -1;
	}
	if (privileged && confine(landlock, n_landlock, a->spec, a->seccomp, a->sync_fd, err) < 0)
		return -1;
	{
		const int fixed[] = { a->sync_fd, a->procfd };
		int keep[2 + HRUN_LANDLOCK_MAX_LAYERS];
		size_t n_keep = keep_fds(keep, fixed, 2, landlock, n_landlock);

		exe = become_process(proc, keep, n_keep, a->preserve_fds, err);
		if (!exe)
			return -1;
	}
	if (unblock_signals(err) < 0)
		return -1;
	if (hrun_process_set_affinity("final", proc->exec_cpu_affinity.final, err) < 0)
		return -1;
	/* The host procfs the helper opened before joining the container's
	 * mount namespace; closed on exec. */
	if ((proc->apparmor_profile && *proc->apparmor_profile) || (proc->selinux_label && *proc->selinux_label)) {
		if (a->procfd < 0)
			return hrun_error_plain(err, EBADF, "LSM label: no host procfs handle");
		if (hrun_apparmor_exec_profile(a->procfd, proc->apparmor_profile, err) < 0 ||
		    hrun_selinux_exec_label(a->procfd, proc->selinux_label, err) < 0)
			return -1;
	}
	if (!privileged && confine(landlock, n_landlock, a->spec, a->seccomp, a->sync_fd, err) < 0)
		return -1;
	return hrun_process_exec(proc, exe, err);
}

void hrun_exec_main(const struct hrun_exec_args *a)
{
	struct hrun_error err = { 0 };

	exec_process(a, &err);
	hrun_sync_send_error(a->sync_fd, &err);
	_exit(127);
}
