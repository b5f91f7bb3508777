#define _GNU_SOURCE
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "hooks.h"
#include "json.h"
#include "notify.h"
#include "syscalls.h"

#define EXEC_FIFO "exec.fifo"

/* How long delete waits for a killed init before giving up. */
#define KILL_WAIT_MS 10000

const char *hrun_status_name(enum hrun_status s)
{
	switch (s) {
	case HRUN_STATUS_CREATING:
		return "creating";
	case HRUN_STATUS_CREATED:
		return "created";
	case HRUN_STATUS_RUNNING:
		return "running";
	case HRUN_STATUS_PAUSED:
		return "paused";
	case HRUN_STATUS_STOPPED:
		break;
	}
	return "stopped";
}

/* A create still in progress holds the lock; one that crashed left
 * "creating" behind with nobody holding it, which is as good as stopped. */
static bool creator_alive(const struct hrun_container *c, bool we_lock)
{
	_cleanup_close_ int fd = -1;

	if (we_lock)
		return false;
	fd = openat(c->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

static enum hrun_status live_status(const struct hrun_container *c, bool we_lock)
{
	const struct hrun_state *st = &c->state;
	struct stat sb;

	if (strcmp(st->status, "creating") == 0 && creator_alive(c, we_lock))
		return HRUN_STATUS_CREATING;
	if (st->pid <= 0 || st->pid_start == 0 || hrun_proc_start_time(st->pid) != st->pid_start)
		return HRUN_STATUS_STOPPED;
	if (fstatat(c->dirfd, EXEC_FIFO, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return HRUN_STATUS_CREATED;
	if (hrun_cgroup_is_frozen(&c->cgroup))
		return HRUN_STATUS_PAUSED;
	return HRUN_STATUS_RUNNING;
}

int hrun_container_open(const struct hrun_context *ctx, const char *id, bool lock,
			struct hrun_container *c, struct hrun_error *err)
{
	char path[PATH_MAX];

	memset(c, 0, sizeof(*c));
	c->cgroup.v2_fd = -1;
	c->dirfd = hrun_state_open(ctx->root, id, lock, err);
	if (c->dirfd < 0)
		return -1;
	c->root = strdup(ctx->root);
	if (!c->root)
		goto oom;
	if (hrun_state_read(c->dirfd, &c->state, err) < 0)
		goto fail;
	if (c->state.cgroup_path && *c->state.cgroup_path &&
	    hrun_cgroup_open(c->state.cgroup_path, &c->cgroup, err) < 0)
		goto fail;
	/* Delete stops the unit at the manager that made it. */
	if (c->state.systemd_unit && *c->state.systemd_unit) {
		c->cgroup.unit = strdup(c->state.systemd_unit);
		c->cgroup.bus = strdup(c->state.systemd_bus ? c->state.systemd_bus : "");
		if (!c->cgroup.unit || !c->cgroup.bus)
			goto oom;
	}
	snprintf(path, sizeof(path), "%s/%s/config.json", ctx->root, id);
	c->spec = hrun_spec_load(path, err);
	if (!c->spec && err->code != ENOENT)
		goto fail;
	c->status = live_status(c, lock);
	return 0;
oom:
	hrun_error_errno(err, "strdup");
fail:
	hrun_container_close(c);
	return -1;
}

void hrun_container_close(struct hrun_container *c)
{
	if (c->dirfd >= 0)
		close(c->dirfd);
	c->dirfd = -1;
	hrun_state_free(&c->state);
	hrun_cgroup_release(&c->cgroup);
	hrun_spec_free(c->spec);
	c->spec = NULL;
	free(c->root);
	c->root = NULL;
}

void hrun_state_gen(struct hrun_jgen *g, const char *id, const char *status, pid_t pid, const char *bundle,
		    const struct hrun_map *annotations)
{
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "ociVersion");
	hrun_jgen_string(g, HRUN_OCI_VERSION);
	hrun_jgen_key(g, "id");
	hrun_jgen_string(g, id);
	hrun_jgen_key(g, "status");
	hrun_jgen_string(g, status);
	hrun_jgen_key(g, "pid");
	hrun_jgen_int64(g, pid);
	hrun_jgen_key(g, "bundle");
	hrun_jgen_string(g, bundle ? bundle : "");
	if (annotations && annotations->n) {
		hrun_jgen_key(g, "annotations");
		hrun_jgen_map_open(g);
		for (size_t i = 0; i < annotations->n; i++) {
			hrun_jgen_key(g, annotations->v[i].key);
			hrun_jgen_string(g, annotations->v[i].value);
		}
		hrun_jgen_map_close(g);
	}
	hrun_jgen_map_close(g);
}

char *hrun_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
		      const struct hrun_map *annotations, bool pretty, struct hrun_error *err)
{
	_cleanup_jgen_ struct hrun_jgen *g = hrun_jgen_new(pretty);

	if (!g) {
		hrun_error_errno(err, "allocate json generator");
		return NULL;
	}
	hrun_state_gen(g, id, status, pid, bundle, annotations);
	return hrun_jgen_finish(g, err);
}

char *hrun_container_state_json(const struct hrun_container *c, bool pretty, struct hrun_error *err)
{
	pid_t pid = c->status == HRUN_STATUS_STOPPED ? 0 : c->state.pid;

	return hrun_state_json(c->state.id, hrun_status_name(c->status), pid, c->state.bundle,
			       c->spec ? &c->spec->annotations : NULL, pretty, err);
}

int hrun_container_pidfd(const struct hrun_container *c, struct hrun_error *err)
{
	int fd = hrun_pidfd_open(c->state.pid);

	if (fd < 0)
		return hrun_error_errno(err, "pidfd_open %d", c->state.pid);
	/* The pid could have been reused between reading the state and
	 * opening it: the pidfd pins the process we now check. */
	if (hrun_proc_start_time(c->state.pid) != c->state.pid_start) {
		close(fd);
		return hrun_error_plain(err, ESRCH, "container not running");
	}
	return fd;
}

/* Read everything init writes until it closes the FIFO (on exec, or by
 * dying); PIDFD ends the wait should init die before it opened it. */
static ssize_t read_fifo(int fifo, int pidfd, char *buf, size_t size, struct hrun_error *err)
{
	struct pollfd fds[2] = { { .fd = fifo, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
	size_t len = 0;
	bool opened = false;

	for (;;) {
		ssize_t n;
		int r = poll(fds, 2, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return hrun_error_errno(err, "poll " EXEC_FIFO);
		if (fds[0].revents) {
			n = read(fifo, buf + len, size - 1 - len);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return hrun_error_errno(err, "read " EXEC_FIFO);
			if (n > 0) {
				len += (size_t)n;
				opened = true;
			}
			/* End of file: the writer is gone (init exec'd or died). */
			if (n == 0 && (opened || (fds[0].revents & POLLHUP)))
				break;
			if (len == size - 1)
				break;
			continue;
		}
		/* Init died without ever opening the FIFO. */
		if (fds[1].revents && !opened)
			break;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

int hrun_exec_fifo_release(int dirfd, int pidfd, struct hrun_error *err)
{
	_cleanup_close_ int fifo = openat(dirfd, EXEC_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	char buf[1 + HRUN_ERROR_MSG_MAX + 1];
	ssize_t n;

	if (fifo < 0)
		return hrun_error_errno(err, "open " EXEC_FIFO);
	/* Opening it for reading releases init, blocked opening it for
	 * writing; it then runs the startContainer hooks and execs. */
	n = read_fifo(fifo, pidfd, buf, sizeof(buf), err);
	if (n < 0)
		return -1;
	if (unlinkat(dirfd, EXEC_FIFO, 0) < 0)
		return hrun_error_errno(err, "remove " EXEC_FIFO);
	if (n > 0 && buf[0] == '0' && (n == 1 || buf[1] != 'E'))
		return 0;
	if (n > 0 && (buf[0] == 'E' || buf[1] == 'E'))
		return hrun_error_plain(err, EINVAL, "%s", buf[0] == 'E' ? buf + 1 : buf + 2);
	return hrun_error_plain(err, ESRCH, "container init exited before start");
}

static int write_running(struct hrun_container *c, struct hrun_error *err)
{
	free(c->state.status);
	c->state.status = strdup("running");
	if (!c->state.status)
		return hrun_error_errno(err, "strdup");
	return hrun_state_write(c->dirfd, &c->state, err);
}

static void run_poststart(struct hrun_container *c)
{
	struct hrun_error err = { 0 };
	_cleanup_free_ char *json = NULL;

	if (!c->spec || !c->spec->hooks.poststart.n)
		return;
	c->status = HRUN_STATUS_RUNNING;
	json = hrun_container_state_json(c, false, &err);
	if (!json)
		hrun_warn("%s", err.msg);
	else
		hrun_hooks_run_warn(&c->spec->hooks.poststart, "poststart", json);
}

int hrun_container_start(const struct hrun_context *ctx, const char *id, struct hrun_error *err)
{
	struct hrun_container c;
	_cleanup_close_ int pidfd = -1;
	_cleanup_close_ int notify = -1;
	int r = -1;

	if (hrun_container_open(ctx, id, true, &c, err) < 0)
		return -1;
	switch (c.status) {
	case HRUN_STATUS_CREATED:
		break;
	case HRUN_STATUS_STOPPED:
		hrun_error_plain(err, EINVAL, "cannot start a container that has stopped");
		goto out;
	default:
		hrun_error_plain(err, EINVAL, "cannot start an already running container");
		goto out;
	}
	pidfd = hrun_container_pidfd(&c, err);
	if (pidfd < 0)
		goto out;
	/* Created with NOTIFY_SOCKET: listen before the process can talk. */
	if (hrun_notify_host_socket() && faccessat(c.dirfd, "notify", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (notify = hrun_notify_listen(c.dirfd, err)) < 0)
		goto out;
	if (hrun_exec_fifo_release(c.dirfd, pidfd, err) < 0 || write_running(&c, err) < 0)
		goto out;
	if (notify >= 0 && hrun_notify_forward_ready(notify, pidfd, c.state.pid, err) < 0)
		goto out;
	run_poststart(&c);
	r = 0;
out:
	hrun_container_close(&c);
	return r;
}

static bool is_live(enum hrun_status s)
{
	return s == HRUN_STATUS_CREATED || s == HRUN_STATUS_RUNNING || s == HRUN_STATUS_PAUSED;
}

static int signal_all(struct hrun_container *c, int sig, struct hrun_error *err)
{
	return hrun_cgroup_signal(&c->cgroup, sig, err);
}

static int kill_container(struct hrun_container *c, int sig, bool all, struct hrun_error *err)
{
	_cleanup_close_ int pidfd = hrun_container_pidfd(c, err);

	if (pidfd < 0)
		return -1;
	if (all && c->cgroup.path)
		return signal_all(c, sig, err);
	if (hrun_pidfd_send_signal(pidfd, sig) < 0)
		return hrun_error_errno(err, "signal container init");
	return 0;
}

int hrun_container_kill(const struct hrun_context *ctx, const char *id, int sig, bool all,
			struct hrun_error *err)
{
	struct hrun_container c;
	int r = -1;

	if (hrun_container_open(ctx, id, false, &c, err) < 0)
		return -1;
	if (!is_live(c.status) && !(all && c.status == HRUN_STATUS_STOPPED && c.cgroup.path))
		hrun_error_plain(err, ESRCH, "container not running");
	else if (c.status == HRUN_STATUS_STOPPED)
		r = signal_all(&c, sig, err); /* --all reaches what init left */
	else
		r = kill_container(&c, sig, all, err);
	hrun_container_close(&c);
	return r;
}

/* SIGKILL the container and wait until its init is gone. */
static int kill_and_wait(struct hrun_container *c, struct hrun_error *err)
{
	_cleanup_close_ int pidfd = hrun_container_pidfd(c, err);
	struct pollfd p = { .events = POLLIN };

	if (pidfd < 0)
		return err->code == ESRCH ? 0 : -1;
	p.fd = pidfd;
	if (c->cgroup.path && signal_all(c, SIGKILL, err) < 0)
		hrun_debug("%s", err->msg);
	if (hrun_pidfd_send_signal(pidfd, SIGKILL) < 0 && errno != ESRCH)
		return hrun_error_errno(err, "kill container init");
	if (poll(&p, 1, KILL_WAIT_MS) <= 0)
		return hrun_error_plain(err, ETIMEDOUT, "container init did not exit after SIGKILL");
	return 0;
}

int hrun_container_destroy(struct hrun_container *c, const struct hrun_context *ctx,
			   struct hrun_error *err)
{
	int r = 0;

	/* A cgroup that cannot be removed keeps the state: the container
	 * stays listed and a later delete retries, where dropping the state
	 * would leak the cgroup (and whatever runs in it) with nothing left
	 * that names it. Removal walks any tree a delegated container can
	 * make (cgroup.c), so this is for what the kernel refuses. */
	if (c->cgroup.path && hrun_cgroup_destroy(&c->cgroup, err) < 0)
		r = -1;
	if (c->spec && c->spec->hooks.poststop.n) {
		struct hrun_error herr = { 0 };
		_cleanup_free_ char *json = NULL;

		c->status = HRUN_STATUS_STOPPED;
		json = hrun_container_state_json(c, false, &herr);
		if (!json)
			hrun_warn("%s", herr.msg);
		else
			hrun_hooks_run_warn(&c->spec->hooks.poststop, "poststop", json);
	}
	if (r == 0 && hrun_state_remove(ctx->root, c->state.id, err) < 0)
		r = -1;
	return r;
}

/* A directory whose state.json never got written (hrun crashed early):
 * nothing ran, so removing the directory is all there is to do. */
static int delete_stale(const struct hrun_context *ctx, const char *id, bool force,
			struct hrun_error *err)
{
	_cleanup_close_ int fd = hrun_state_open(ctx->root, id, true, err);

	if (fd < 0)
		return force && err->code == ENOENT ? 0 : -1;
	if (hrun_state_remove(ctx->root, id, err) < 0)
		return -1;
	if (force)
		return 0;
	return hrun_error_plain(err, ENOENT, "container does not exist");
}

int hrun_container_delete(const struct hrun_context *ctx, const char *id, bool force,
			  struct hrun_error *err)
{
	struct hrun_container c;
	int r = -1;

	if (hrun_container_open(ctx, id, true, &c, err) < 0) {
		if (err->code == ENOENT)
			return delete_stale(ctx, id, force, err);
		return -1;
	}
	switch (c.status) {
	case HRUN_STATUS_RUNNING:
	case HRUN_STATUS_PAUSED:
		if (!force) {
			hrun_error_plain(err, EBUSY, "cannot delete container %s that is not stopped: %s", id,
					 hrun_status_name(c.status));
			goto out;
		}
		/* fall through */
	case HRUN_STATUS_CREATED:
		if (kill_and_wait(&c, err) < 0)
			goto out;
		break;
	default:
		break;
	}
	r = hrun_container_destroy(&c, ctx, err);
out:
	hrun_container_close(&c);
	return r;
}

int hrun_container_pause(const struct hrun_context *ctx, const char *id, bool pause,
			 struct hrun_error *err)
{
	struct hrun_container c;
	int r = -1;

	if (hrun_container_open(ctx, id, true, &c, err) < 0)
		return -1;
	if (pause && c.status != HRUN_STATUS_RUNNING)
		hrun_error_plain(err, EINVAL, "container not running");
	else if (!pause && c.status != HRUN_STATUS_PAUSED)
		hrun_error_plain(err, EINVAL, "container not paused");
	else if (!c.cgroup.path)
		hrun_error_plain(err, ENOTSUP, "container has no cgroup to freeze");
	else
		r = hrun_cgroup_freeze(&c.cgroup, pause, err);
	hrun_container_close(&c);
	return r;
}

int hrun_write_pid_file(const char *path, pid_t pid, struct hrun_error *err)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	char text[32];
	int len = snprintf(text, sizeof(text), "%d", pid);

	/* A fresh, unguessable name beside the target (mkostemp: O_EXCL),
	 * renamed over it: readers see no file or the whole pid. */
	if (!copy || asprintf(&tmp, "%s/.hrun-pid-XXXXXX", dirname(copy)) < 0)
		return hrun_error_errno(err, "pid file \"%s\"", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return hrun_error_errno(err, "create pid file \"%s\"", tmp);
	if (write(fd, text, (size_t)len) != len || fchmod(fd, 0644) < 0) {
		hrun_error_errno(err, "write pid file \"%s\"", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		hrun_error_errno(err, "rename pid file to \"%s\"", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}
