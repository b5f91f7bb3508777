#define _GNU_SOURCE
#include "foreground.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "console.h"
#include "syscalls.h"

int hrun_foreground_block(struct hrun_foreground *fg, struct hrun_error *err)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGABRT);
	if (sigprocmask(SIG_BLOCK, &all, &fg->old_mask) < 0)
		return hrun_error_errno(err, "sigprocmask");
	fg->sigfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (fg->sigfd < 0) {
		sigprocmask(SIG_SETMASK, &fg->old_mask, NULL);
		return hrun_error_errno(err, "signalfd");
	}
	return 0;
}

void hrun_foreground_restore(struct hrun_foreground *fg)
{
	if (fg->sigfd < 0)
		return;
	close(fg->sigfd);
	fg->sigfd = -1;
	sigprocmask(SIG_SETMASK, &fg->old_mask, NULL);
}

static int exit_status(const siginfo_t *info)
{
	if (info->si_code == CLD_EXITED)
		return info->si_status;
	return 128 + info->si_status;
}

/* What the container wrote before it exited still reaches stdout. */
static void drain(int master)
{
	while (master >= 0 && hrun_console_pump(master, STDOUT_FILENO) > 0)
		;
}

/* Returns 1 when the process has exited (status in *STATUS), 0 if not. */
static int check_exit(int pidfd, int master, int *status, struct hrun_error *err)
{
	siginfo_t info = { 0 };

	if (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) < 0)
		return hrun_error_errno(err, "waitid");
	/* Anything else that was ours (a hook, a helper) is reaped too. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (info.si_pid == 0)
		return 0;
	drain(master);
	*status = exit_status(&info);
	return 1;
}

static int on_signal(struct hrun_foreground *fg, int pidfd, int master, struct hrun_error *err)
{
	struct signalfd_siginfo si;
	ssize_t n = read(fg->sigfd, &si, sizeof(si));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n != (ssize_t)sizeof(si))
		return hrun_error_errno(err, "read signalfd");
	if (si.ssi_signo == SIGWINCH && master >= 0)
		hrun_console_copy_winsize(STDIN_FILENO, master);
	else if (si.ssi_signo != SIGCHLD && hrun_pidfd_send_signal(pidfd, (int)si.ssi_signo) < 0 && errno != ESRCH)
		hrun_warn("forward signal %u: %s", si.ssi_signo, strerror(errno));
	return 0;
}

static bool pump_ok(ssize_t n)
{
	return n > 0 || (n < 0 && errno == EAGAIN);
}

int hrun_foreground_wait(struct hrun_foreground *fg, int pidfd, int master, struct hrun_error *err)
{
	/* The pidfd turns readable when the process exits, whoever gets
	 * its SIGCHLD. */
	struct pollfd fds[4] = {
		{ .fd = fg->sigfd, .events = POLLIN },
		{ .fd = master >= 0 ? STDIN_FILENO : -1, .events = POLLIN },
		{ .fd = master, .events = POLLIN },
		{ .fd = pidfd, .events = POLLIN },
	};
	struct termios saved;
	bool raw = false;
	int status = -1;

	if (master >= 0) {
		if (fcntl(master, F_SETFL, O_NONBLOCK) < 0)
			return hrun_error_errno(err, "make the pty master non-blocking");
		hrun_console_copy_winsize(STDIN_FILENO, master);
		if (hrun_console_raw(STDIN_FILENO, &saved, &raw, err) < 0)
			return -1;
	}
	for (;;) {
		int r = poll(fds, 4, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			hrun_error_errno(err, "poll");
			break;
		}
		if (fds[0].revents && on_signal(fg, pidfd, master, err) < 0)
			break;
		if (fds[3].revents) {
			r = check_exit(pidfd, master, &status, err);
			if (r != 0)
				break;
		}
		/* At end of input stop reading it; the pty stays open. */
		if (fds[1].revents && !pump_ok(hrun_console_pump(STDIN_FILENO, master)))
			fds[1].fd = -1;
		if (fds[2].revents && !pump_ok(hrun_console_pump(master, STDOUT_FILENO)))
			fds[2].fd = -1;
	}
	if (master >= 0)
		hrun_console_restore(STDIN_FILENO, &saved, raw);
	return status;
}
