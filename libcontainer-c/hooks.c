#define _GNU_SOURCE
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "syscalls.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* What the hook's child side was doing when it failed, reported to the
 * parent over a close-on-exec pipe: end of file there means execve worked. */
enum child_step {
	STEP_SIGNALS,
	STEP_STDIO,
	STEP_FDS,
	STEP_EXEC,
};

static const char *const step_names[] = {
	[STEP_SIGNALS] = "reset signal mask and dispositions",
	[STEP_STDIO] = "set up stdin, stdout and stderr",
	[STEP_FDS] = "close inherited fds",
	[STEP_EXEC] = "exec",
};

struct child_report {
	int32_t step;
	int32_t errnum;
};

/* What the child needs, all prepared before clone: between clone and
 * execve it only makes async-signal-safe calls and allocates nothing. */
struct exec_args {
	const char *path;
	char **argv;
	char **envp;
	int stdin_fd;
	int out_fd;
	int report_fd;
};

static _Noreturn void child_fail(int report_fd, enum child_step step)
{
	struct child_report r = { .step = step, .errnum = errno };
	/* If the report is lost the parent still sees exit status 127. */
	ssize_t w = write(report_fd, &r, sizeof(r));

	(void)w;
	_exit(127);
}

/* The caller may block every signal (it reads them from a signalfd) or
 * ignore some: a hook starts with neither, as from a shell. The raw
 * syscall also resets the real-time signals glibc reserves (32, 33) and
 * refuses to touch, which a parent may have left ignored; a kernel
 * sigaction of zeroes is SIG_DFL, no flags, empty mask, whatever the
 * architecture's layout. */
static int reset_signals(void)
{
	const unsigned long dfl[8] = { 0 };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t)(NSIG - 1) / 8) < 0)
			return -1;
	}
	if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return -1;
	return 0;
}

/* Everything above 2 goes but the report pipe, which execve closes. */
static int close_fds_but(int keep)
{
	if (keep > 3 && close_range(3, (unsigned int)keep - 1, 0) < 0)
		return -1;
	return close_range((unsigned int)keep + 1, ~0U, 0);
}

static _Noreturn void exec_hook(const struct exec_args *a)
{
	if (reset_signals() < 0)
		child_fail(a->report_fd, STEP_SIGNALS);
	/* The parent put all three fds above 2, so no dup2 clobbers another. */
	if (dup2(a->stdin_fd, STDIN_FILENO) < 0 || dup2(a->out_fd, STDOUT_FILENO) < 0 ||
	    dup2(a->out_fd, STDERR_FILENO) < 0)
		child_fail(a->report_fd, STEP_STDIO);
	if (close_fds_but(a->report_fd) < 0)
		child_fail(a->report_fd, STEP_FDS);
	execve(a->path, a->argv, a->envp);
	child_fail(a->report_fd, STEP_EXEC);
}

/* Move FD above the stdio range (when hrun runs with 0-2 closed, a new fd
 * can land there, and the child's dup2 onto 0-2 would then clobber it). */
static int above_stdio(int *fd)
{
	int moved;

	if (*fd > STDERR_FILENO)
		return 0;
	moved = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (moved < 0)
		return -1;
	close(*fd);
	*fd = moved;
	return 0;
}

static int make_pipe(int *rd, int *wr, struct hrun_error *err)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return hrun_error_errno(err, "pipe2");
	*rd = fds[0];
	*wr = fds[1];
	if (above_stdio(rd) < 0 || above_stdio(wr) < 0)
		return hrun_error_errno(err, "fcntl F_DUPFD_CLOEXEC");
	return 0;
}

/* The hook's stdout and stderr: a copy of hrun's stderr, or /dev/null when
 * hrun has none. */
static int open_output(int *fd, struct hrun_error *err)
{
	*fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (*fd >= 0)
		return 0;
	if (errno != EBADF)
		return hrun_error_errno(err, "duplicate stderr");
	*fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (*fd < 0)
		return hrun_error_errno(err, "open /dev/null");
	if (above_stdio(fd) < 0)
		return hrun_error_errno(err, "fcntl F_DUPFD_CLOEXEC");
	return 0;
}

/* A NULL-terminated vector of S's strings; FIRST alone when S is empty. */
static char **make_vec(const struct hrun_strv *s, const char *first)
{
	size_t n = s->set ? s->n : 0;
	char **v = calloc(n ? n + 1 : 2, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = s->v[i];
	if (n == 0)
		v[0] = (char *)first; /* NULL for an empty environment */
	return v;
}

static int reap(int pidfd, siginfo_t *si)
{
	for (;;) {
		memset(si, 0, sizeof(*si));
		if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, si, WEXITED) == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* When the kill is refused (a set-uid hook under an unprivileged hrun)
 * the hook is left running rather than waited for without end. */
static int kill_and_reap(int pidfd, struct hrun_error *err)
{
	siginfo_t si;

	if (hrun_pidfd_send_signal(pidfd, SIGKILL) < 0 && errno != ESRCH)
		return hrun_error_errno(err, "kill");
	if (reap(pidfd, &si) < 0)
		return hrun_error_errno(err, "waitid");
	return 0;
}

/* Wait for the child's report: end of file means execve worked. */
static int check_started(int pidfd, int report_fd, struct hrun_error *err)
{
	struct child_report r;
	ssize_t n;
	siginfo_t si;

	do
		n = read(report_fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0) {
		int saved = errno;
		kill_and_reap(pidfd, NULL);
		return hrun_error_set(err, saved, "read the start report");
	}
	if (reap(pidfd, &si) < 0)
		return hrun_error_errno(err, "waitid");
	if ((size_t)n != sizeof(r) || r.step < 0 || r.step > STEP_EXEC)
		return hrun_error_plain(err, EIO, "start: truncated report from the child");
	return hrun_error_set(err, r.errnum, "%s", step_names[r.step]);
}

/* clone3 hands back a pidfd. Where a seccomp filter refuses clone3 with
 * ENOSYS (Docker's default profile does, and startContainer hooks run
 * under the container's filter) fork and open the pidfd after: until we
 * reap the child its pid cannot be reused. */
static pid_t clone_with_pidfd(int *pidfd)
{
	struct clone_args ca = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
	};
	pid_t pid = (pid_t)hrun_clone3(&ca);
	int saved;

	if (pid >= 0 || errno != ENOSYS)
		return pid;
	pid = fork();
	if (pid <= 0)
		return pid;
	*pidfd = hrun_pidfd_open(pid);
	if (*pidfd >= 0)
		return pid;
	saved = errno;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	errno = saved;
	return -1;
}

/* Start the hook. On success *PIDFD refers to it and *STDIN_FD is the
 * (non-blocking) write end of its stdin. */
static int spawn(const struct hrun_hook *h, int *pidfd, int *stdin_fd, struct hrun_error *err)
{
	_cleanup_free_ char **argv = make_vec(&h->args, h->path);
	_cleanup_free_ char **envp = make_vec(&h->env, NULL);
	_cleanup_close_ int in_r = -1;
	_cleanup_close_ int in_w = -1;
	_cleanup_close_ int rep_r = -1;
	_cleanup_close_ int rep_w = -1;
	_cleanup_close_ int out = -1;
	_cleanup_close_ int fd = -1;
	struct exec_args a;
	sigset_t all;
	sigset_t old;
	pid_t pid;
	int saved;
	int r;

	if (!argv || !envp)
		return hrun_error_set(err, ENOMEM, "allocate argv");
	if (make_pipe(&in_r, &in_w, err) < 0 || make_pipe(&rep_r, &rep_w, err) < 0 ||
	    open_output(&out, err) < 0)
		return -1;
	/* The state is fed from the poll loop, so a hook that reads slowly
	 * cannot stall hrun past the hook's timeout. */
	if (fcntl(in_w, F_SETFL, O_NONBLOCK) < 0)
		return hrun_error_errno(err, "fcntl O_NONBLOCK");

	a = (struct exec_args){
		.path = h->path,
		.argv = argv,
		.envp = envp,
		.stdin_fd = in_r,
		.out_fd = out,
		.report_fd = rep_w,
	};
	/* No handler of the caller's may run in the child before
	 * exec_hook has reset them all. */
	if (sigfillset(&all) < 0)
		return hrun_error_errno(err, "sigfillset");
	r = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (r != 0)
		return hrun_error_set(err, r, "block signals");
	pid = clone_with_pidfd(&fd);
	saved = errno;
	if (pid == 0)
		exec_hook(&a);
	/* Cannot fail: a valid how and a mask pthread_sigmask just gave. */
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return hrun_error_set(err, saved, "clone");

	/* Our copy of the report pipe's write end must go, or no EOF comes. */
	close(hrun_steal_fd(&rep_w));
	if (check_started(fd, rep_r, err) < 0)
		return -1;
	*pidfd = hrun_steal_fd(&fd);
	*stdin_fd = hrun_steal_fd(&in_w);
	return 0;
}

/* Write without dying of SIGPIPE when the hook closed its stdin: the
 * signal is blocked for the write and whatever the write raised is taken
 * back out of the pending set (a pipe raises it even for a write that
 * returns a partial count), so a caller's signalfd never sees it. A
 * SIGPIPE that was already pending is the caller's and stays. */
static ssize_t write_nosigpipe(int fd, const char *buf, size_t len)
{
	sigset_t pipe_only;
	sigset_t pending;
	sigset_t old;
	bool was_pending;
	ssize_t w;
	int saved;
	int r;

	if (sigemptyset(&pipe_only) < 0 || sigaddset(&pipe_only, SIGPIPE) < 0 ||
	    sigpending(&pending) < 0)
		return -1;
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	r = pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	if (r != 0) {
		errno = r;
		return -1;
	}
	w = write(fd, buf, len);
	saved = errno;
	if (!was_pending) {
		const struct timespec zero = { 0 };
		int sig;

		/* EAGAIN: the write raised nothing. */
		do
			sig = sigtimedwait(&pipe_only, NULL, &zero);
		while (sig < 0 && errno == EINTR);
	}
	r = pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		errno = r;
		return -1;
	}
	errno = saved;
	return w;
}

/* Feed more of the state. 1: stdin is done with (all written, or the hook
 * closed it, which runc also accepts), 0: more to write, -1: error. */
static int feed(int fd, const char *state, size_t len, size_t *off)
{
	ssize_t w = write_nosigpipe(fd, state + *off, len - *off);

	if (w < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return errno == EPIPE ? 1 : -1;
	}
	*off += (size_t)w;
	return *off == len;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds poll may wait: -1 without a deadline, 0 once it passed. */
static int poll_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

enum outcome {
	HOOK_EXITED,
	HOOK_TIMED_OUT,
};

/* Feed STATE to the hook's stdin (closing it after) while waiting for the
 * hook to exit or TIMEOUT seconds (0: none) to pass. The hook is reaped in
 * every case; its exit is in *SI when HOOK_EXITED is returned. */
static int feed_and_wait(int pidfd, int *stdin_fd, const char *state, int64_t timeout,
			 siginfo_t *si, struct hrun_error *err)
{
	struct pollfd pfd[2] = {
		{ .fd = pidfd, .events = POLLIN },
		{ .fd = *stdin_fd, .events = POLLOUT },
	};
	size_t len = strlen(state);
	size_t off = 0;
	int64_t deadline = -1;
	int64_t start = now_ms();

	if (timeout > 0 && timeout < (INT64_MAX - start) / 1000)
		deadline = start + timeout * 1000;
	for (;;) {
		int ms;
		int r;

		if (pfd[1].fd >= 0 && off == len) {
			close(hrun_steal_fd(stdin_fd)); /* end of file for the hook */
			pfd[1].fd = -1;
		}
		ms = poll_ms(deadline);
		if (ms == 0) {
			if (kill_and_reap(pidfd, err) < 0)
				return hrun_error_prefix(err, "timed out after %llds", (long long)timeout);
			return HOOK_TIMED_OUT;
		}
		r = poll(pfd, 2, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			kill_and_reap(pidfd, NULL);
			return hrun_error_set(err, saved, "poll");
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].fd >= 0 && pfd[1].revents) {
			r = feed(pfd[1].fd, state, len, &off);
			if (r < 0) {
				int saved = errno;
				kill_and_reap(pidfd, NULL);
				return hrun_error_set(err, saved, "write the state to the hook's stdin");
			}
			if (r > 0)
				off = len;
		}
	}
	if (reap(pidfd, si) < 0)
		return hrun_error_errno(err, "waitid");
	return HOOK_EXITED;
}

static int check_exit(const siginfo_t *si, struct hrun_error *err)
{
	const char *name;

	switch (si->si_code) {
	case CLD_EXITED:
		if (si->si_status == 0)
			return 0;
		return hrun_error_plain(err, 0, "exit status %d", si->si_status);
	case CLD_KILLED:
	case CLD_DUMPED:
		name = sigabbrev_np(si->si_status);
		if (name)
			return hrun_error_plain(err, 0, "killed by signal %d (SIG%s)", si->si_status, name);
		return hrun_error_plain(err, 0, "killed by signal %d", si->si_status);
	default:
		return hrun_error_plain(err, 0, "unexpected wait status (code %d)", si->si_code);
	}
}

static int run_one(const struct hrun_hook *h, const char *state, struct hrun_error *err)
{
	_cleanup_close_ int pidfd = -1;
	_cleanup_close_ int stdin_fd = -1;
	int64_t timeout = h->timeout.set ? h->timeout.v : 0;
	siginfo_t si;
	int r;

	if (!h->path)
		return hrun_error_plain(err, EINVAL, "no path");
	if (spawn(h, &pidfd, &stdin_fd, err) < 0)
		return -1;
	r = feed_and_wait(pidfd, &stdin_fd, state, timeout, &si, err);
	if (r < 0)
		return -1;
	if (r == HOOK_TIMED_OUT)
		return hrun_error_plain(err, ETIMEDOUT, "did not finish within its timeout of %llds: killed",
				       (long long)timeout);
	return check_exit(&si, err);
}

static int run_list(const struct hrun_hooklist *list, const char *kind, const char *state,
		    bool warn_only, struct hrun_error *err)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct hrun_hook *h = &list->v[i];

		hrun_debug("running %s hook #%zu: %s", kind, i, h->path ? h->path : "(no path)");
		if (run_one(h, state, err) < 0) {
			hrun_error_prefix(err, "error running %s hook #%zu (%s)", kind, i,
					  h->path ? h->path : "no path");
			if (!warn_only)
				return -1;
			hrun_warn("%s", err->msg);
		}
	}
	return 0;
}

static int run_hooks(const struct hrun_hooklist *list, const char *kind, const char *state_json,
		     bool warn_only, struct hrun_error *err)
{
	const struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct sigaction old;
	bool auto_reaped;
	int r;

	if (!list || list->n == 0)
		return 0;
	if (!kind)
		kind = "?";
	/* With SIGCHLD ignored (a disposition inherited across exec from
	 * whoever started hrun) the kernel reaps hooks itself and their exit
	 * status is lost: wait for them with the default, then put it back. */
	if (sigaction(SIGCHLD, NULL, &old) < 0)
		return hrun_error_errno(err, "read the SIGCHLD disposition");
	auto_reaped = old.sa_handler == SIG_IGN || (old.sa_flags & SA_NOCLDWAIT);
	if (auto_reaped && sigaction(SIGCHLD, &dfl, NULL) < 0)
		return hrun_error_errno(err, "reset the SIGCHLD disposition");
	r = run_list(list, kind, state_json ? state_json : "", warn_only, err);
	if (auto_reaped && sigaction(SIGCHLD, &old, NULL) < 0 && r == 0)
		return hrun_error_errno(err, "restore the SIGCHLD disposition");
	return r;
}

int hrun_hooks_run(const struct hrun_hooklist *list, const char *kind, const char *state_json,
		   struct hrun_error *err)
{
	return run_hooks(list, kind, state_json, false, err);
}

void hrun_hooks_run_warn(const struct hrun_hooklist *list, const char *kind, const char *state_json)
{
	struct hrun_error err = { 0 };

	if (run_hooks(list, kind, state_json, true, &err) < 0)
		hrun_warn("%s", err.msg);
}
