/* Tests for the OCI hooks runner: real /bin/sh hooks in a temporary
 * directory, checked for the state on stdin, exact args and env, output on
 * stderr, failures naming kind/index/path/reason, timeouts, no fd leaks,
 * a clean signal state in the hook and none left behind in hrun. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "spec.h"

static char dir[] = "/tmp/hrun-test-hooks-XXXXXX";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Every test starts with no signal blocked and SIGPIPE at its default, so
 * a stray SIGPIPE would kill the test instead of passing unseen. */
static int reset_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return -1;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	return reset_signals();
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int each_setup(void **state)
{
	(void)state;
	return reset_signals();
}

static char *path_in_dir(const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static char *write_script(const char *name, const char *body, mode_t mode)
{
	char *p = path_in_dir(name);
	FILE *f = fopen(p, "we");

	assert_non_null(f);
	assert_true(fprintf(f, "#!/bin/sh\n%s\n", body) > 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

/* The file's contents, "" when it does not exist. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;

	assert_non_null(m);
	while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(fwrite(chunk, 1, n, m), n);
	if (f)
		fclose(f);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static size_t count(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* A hook from NULL-terminated literal vectors (NULL: absent). */
static struct hrun_hook hook(const char *path, char **args, char **env, int64_t timeout)
{
	struct hrun_hook h = {
		.path = (char *)path,
		.args = { .set = args != NULL, .n = count(args), .v = args },
		.env = { .set = env != NULL, .n = count(env), .v = env },
		.timeout = { .set = timeout > 0, .v = timeout },
	};
	return h;
}

static int run1(struct hrun_hook h, const char *kind, const char *state, struct hrun_error *err)
{
	struct hrun_hooklist l = { .n = 1, .v = &h };

	hrun_error_clear(err);
	return hrun_hooks_run(&l, kind, state, err);
}

struct captured {
	int rc;
	char *out; /* what reached hrun's stdout */
	char *err; /* what reached hrun's stderr */
};

/* Run with hrun's stdout and stderr redirected to files. */
static struct captured run_captured(struct hrun_hook h, const char *state, struct hrun_error *err)
{
	char *out_path = path_in_dir("captured.out");
	char *err_path = path_in_dir("captured.err");
	int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int errf = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int saved_out = dup(STDOUT_FILENO);
	int saved_err = dup(STDERR_FILENO);
	struct captured c;

	assert_true(out >= 0 && errf >= 0 && saved_out >= 0 && saved_err >= 0);
	fflush(stdout);
	fflush(stderr);
	assert_int_equal(dup2(out, STDOUT_FILENO), STDOUT_FILENO);
	assert_int_equal(dup2(errf, STDERR_FILENO), STDERR_FILENO);
	c.rc = run1(h, "prestart", state, err);
	assert_int_equal(dup2(saved_out, STDOUT_FILENO), STDOUT_FILENO);
	assert_int_equal(dup2(saved_err, STDERR_FILENO), STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	close(out);
	close(errf);
	c.out = slurp(out_path);
	c.err = slurp(err_path);
	free(out_path);
	free(err_path);
	return c;
}

static void free_captured(struct captured *c)
{
	free(c->out);
	free(c->err);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_empty_list(void **state)
{
	struct hrun_hooklist empty = { 0 };
	struct hrun_error err = { 0 };

	(void)state;
	assert_int_equal(hrun_hooks_run(NULL, "prestart", "{}", &err), 0);
	assert_int_equal(hrun_hooks_run(&empty, "prestart", "{}", &err), 0);
}

/* The state arrives byte for byte, then end of file (or cat never ends);
 * 256 KiB is past the pipe buffer, so it is fed while the hook runs. */
static void test_state_on_stdin(void **state)
{
	char *script = write_script("cat.sh", "cat > \"$1\"", 0755);
	char *out = path_in_dir("state.out");
	char *args[] = { "cat-hook", out, NULL };
	struct hrun_error err;
	size_t big = 256 * 1024;
	char *json = malloc(big + 128);
	char *got;
	int n;

	(void)state;
	assert_non_null(json);
	n = snprintf(json, 128, "%s",
		     "{\"ociVersion\":\"1.3.0\",\"id\":\"c\\\"1\",\"status\":\"creating\",\"pid\":42,"
		     "\"bundle\":\"/b\\n\u00e9\",\"annotations\":{\"big\":\"");
	assert_true(n > 0 && n < 128);
	memset(json + n, 'x', big);
	strcpy(json + n + big, "\"}}\n");
	/* The timeout turns a missing end of file into a failure, not a hang. */
	assert_int_equal(run1(hook(script, args, NULL, 10), "prestart", json, &err), 0);
	got = slurp(out);
	assert_string_equal(got, json);
	free(got);

	/* An empty state is an empty stdin, not a hang. */
	assert_int_equal(run1(hook(script, args, NULL, 5), "prestart", "", &err), 0);
	got = slurp(out);
	assert_string_equal(got, "");
	free(got);
	free(json);
	free(out);
	free(script);
}

static void test_args_exact(void **state)
{
	char *args[] = { "my-argv0", "-c", "tr '\\0' '\\n' < /proc/$$/cmdline", "two words", "", NULL };
	struct hrun_error err;
	struct captured c;

	(void)state;
	c = run_captured(hook("/bin/sh", args, NULL, 0), "", &err);
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.err, "my-argv0\n-c\ntr '\\0' '\\n' < /proc/$$/cmdline\ntwo words\n\n");
	assert_string_equal(c.out, "");
	free_captured(&c);
}

/* Without args argv[0] is the path: /bin/sh reads its commands from the
 * state on stdin here. */
static void test_args_absent_argv0_is_path(void **state)
{
	struct hrun_error err;
	struct captured c;

	(void)state;
	c = run_captured(hook("/bin/sh", NULL, NULL, 10), "tr '\\0' '\\n' < /proc/$$/cmdline\n", &err);
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.err, "/bin/sh\n");
	free_captured(&c);
}

static void test_env_empty_when_absent(void **state)
{
	char *args[] = { "env", NULL };
	struct hrun_error err;
	struct captured c;

	(void)state;
	assert_int_equal(setenv("HRUN_TEST_MUST_NOT_LEAK", "1", 1), 0);
	c = run_captured(hook("/usr/bin/env", args, NULL, 0), "", &err);
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.err, "");
	free_captured(&c);
	unsetenv("HRUN_TEST_MUST_NOT_LEAK");
}

static void test_env_exact(void **state)
{
	char *args[] = { "env", NULL };
	char *env[] = { "A=1", "B=two words", "EMPTY=", NULL };
	struct hrun_error err;
	struct captured c;

	(void)state;
	c = run_captured(hook("/usr/bin/env", args, env, 0), "", &err);
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.err, "A=1\nB=two words\nEMPTY=\n");
	free_captured(&c);
}

/* The hook's stdout must not reach hrun's stdout (`hrun state` prints
 * JSON there): both of its streams go to hrun's stderr. */
static void test_output_goes_to_stderr(void **state)
{
	char *script = write_script("talk.sh", "echo out; echo err >&2", 0755);
	struct hrun_error err;
	struct captured c;

	(void)state;
	c = run_captured(hook(script, NULL, NULL, 0), "{}", &err);
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.out, "");
	assert_string_equal(c.err, "out\nerr\n");
	free_captured(&c);
	free(script);
}

static void test_exit_status(void **state)
{
	char *script = write_script("exit3.sh", "exit 3", 0755);
	struct hrun_error err;
	char want[4096];

	(void)state;
	assert_int_equal(run1(hook(script, NULL, NULL, 0), "poststop", "{}", &err), -1);
	snprintf(want, sizeof(want), "error running poststop hook #0 (%s): exit status 3", script);
	assert_string_equal(err.msg, want);
	free(script);
}

static void test_killed_by_signal(void **state)
{
	char *script = write_script("term.sh", "kill -TERM $$", 0755);
	struct hrun_error err;
	char want[4096];

	(void)state;
	assert_int_equal(run1(hook(script, NULL, NULL, 0), "createRuntime", "{}", &err), -1);
	snprintf(want, sizeof(want), "error running createRuntime hook #0 (%s): killed by signal 15 (SIGTERM)",
		 script);
	assert_string_equal(err.msg, want);
	free(script);
}

/* Killed at the deadline and reaped: the pid is gone, not a zombie. */
static void test_timeout(void **state)
{
	char *pidfile = path_in_dir("sleeper.pid");
	char *body;
	char *script;
	char *pid_text;
	struct hrun_error err;
	double start, took;

	(void)state;
	assert_true(asprintf(&body, "echo $$ > '%s'; exec sleep 30", pidfile) > 0);
	script = write_script("sleep.sh", body, 0755);
	start = now();
	assert_int_equal(run1(hook(script, NULL, NULL, 1), "prestart", "{}", &err), -1);
	took = now() - start;
	assert_true(took >= 0.9);
	assert_true(took < 2.5);
	assert_int_equal(err.code, ETIMEDOUT);
	assert_non_null(strstr(err.msg, "error running prestart hook #0 ("));
	assert_non_null(strstr(err.msg, "did not finish within its timeout of 1s: killed"));
	pid_text = slurp(pidfile);
	assert_true(atoi(pid_text) > 0);
	assert_int_equal(kill(atoi(pid_text), 0), -1);
	assert_int_equal(errno, ESRCH);
	free(pid_text);
	free(script);
	free(body);
	free(pidfile);
}

static void test_cannot_start(void **state)
{
	char *plain = write_script("not-executable.sh", "exit 0", 0644);
	struct hrun_error err;
	char want[4096];

	(void)state;
	assert_int_equal(run1(hook("/nonexistent/hook", NULL, NULL, 0), "createRuntime", "{}", &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_string_equal(err.msg,
			    "error running createRuntime hook #0 (/nonexistent/hook): exec: No such file or directory");

	assert_int_equal(run1(hook(plain, NULL, NULL, 0), "prestart", "{}", &err), -1);
	assert_int_equal(err.code, EACCES);
	snprintf(want, sizeof(want), "error running prestart hook #0 (%s): exec: Permission denied", plain);
	assert_string_equal(err.msg, want);

	assert_int_equal(run1(hook(NULL, NULL, NULL, 0), "prestart", "{}", &err), -1);
	assert_string_equal(err.msg, "error running prestart hook #0 (no path): no path");
	free(plain);
}

/* A hook that closes stdin unread while hrun still has megabytes to
 * write: the write fails with EPIPE, hrun survives with SIGPIPE at its
 * default, and with SIGPIPE blocked none is left pending. A hook that
 * just exits without reading is fine too. */
static void test_unread_state_no_sigpipe(void **state)
{
	char *closer = write_script("close-stdin.sh", "exec 0<&-; sleep 0.3", 0755);
	char *quitter = write_script("quit.sh", "exit 0", 0755);
	size_t big = 4 * 1024 * 1024;
	char *json = malloc(big + 1);
	struct hrun_error err;
	sigset_t pipe_only, pending;

	(void)state;
	assert_non_null(json);
	memset(json, ' ', big);
	json[big] = '\0';
	assert_int_equal(run1(hook(closer, NULL, NULL, 10), "prestart", json, &err), 0);
	assert_int_equal(run1(hook(quitter, NULL, NULL, 10), "prestart", json, &err), 0);

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	assert_int_equal(sigprocmask(SIG_BLOCK, &pipe_only, NULL), 0);
	assert_int_equal(run1(hook(closer, NULL, NULL, 10), "prestart", json, &err), 0);
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, SIGPIPE));
	free(json);
	free(quitter);
	free(closer);
}

/* In order, and nothing after the first failure. */
static void test_order_and_stop(void **state)
{
	char *log = path_in_dir("order.log");
	char *ok = write_script("append.sh", "printf %s \"$2\" >> \"$1\"", 0755);
	char *bad = write_script("append-fail.sh", "printf %s \"$2\" >> \"$1\"; exit 1", 0755);
	char *a0[] = { "append", log, "0", NULL };
	char *a1[] = { "append", log, "1", NULL };
	char *a2[] = { "append", log, "2", NULL };
	struct hrun_hook all_ok[] = { hook(ok, a0, NULL, 0), hook(ok, a1, NULL, 0), hook(ok, a2, NULL, 0) };
	struct hrun_hook second_fails[] = { hook(ok, a0, NULL, 0), hook(bad, a1, NULL, 0),
					    hook(ok, a2, NULL, 0) };
	struct hrun_hooklist l = { .n = 3, .v = all_ok };
	struct hrun_error err;
	char want[4096];
	char *got;

	(void)state;
	assert_int_equal(hrun_hooks_run(&l, "poststart", "{}", &err), 0);
	got = slurp(log);
	assert_string_equal(got, "012");
	free(got);

	assert_int_equal(unlink(log), 0);
	l.v = second_fails;
	assert_int_equal(hrun_hooks_run(&l, "poststart", "{}", &err), -1);
	got = slurp(log);
	assert_string_equal(got, "01");
	free(got);
	snprintf(want, sizeof(want), "error running poststart hook #1 (%s): exit status 1", bad);
	assert_string_equal(err.msg, want);
	free(bad);
	free(ok);
	free(log);
}

/* An fd hrun holds without O_CLOEXEC still does not reach the hook. */
static void test_no_fd_leak(void **state)
{
	/* The trailing ":" keeps the shell from exec'ing ls, so ls lists the
	 * shell's fds, which are the ones the hook was given. */
	char *args[] = { "sh", "-c", "ls /proc/$$/fd; :", NULL };
	int leaky = open("/dev/null", O_RDONLY);
	int leaky_high = fcntl(leaky, F_DUPFD, 100);
	struct hrun_error err;
	struct captured c;

	(void)state;
	assert_true(leaky >= 0 && leaky_high >= 100);
	c = run_captured(hook("/bin/sh", args, NULL, 0), "", &err);
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.err, "0\n1\n2\n");
	free_captured(&c);
	close(leaky_high);
	close(leaky);
}

#if defined(__x86_64__) || defined(__aarch64__)
/* Set SIG to HANDLER past glibc, which refuses its reserved signals.
 * Kernel layout on x86-64 and arm64: handler, flags, restorer, mask. */
static int raw_sigaction(int sig, void (*handler)(int))
{
	unsigned long act[4] = { (unsigned long)handler, 0, 0, 0 };

	return (int)syscall(SYS_rt_sigaction, sig, act, NULL, (size_t)(NSIG - 1) / 8);
}
#endif

/* hrun blocks every signal for its signalfd and may ignore some: the hook
 * starts with an empty mask and no ignored signal. */
static void test_signals_reset_in_hook(void **state)
{
	char *args[] = { "sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status", NULL };
	sigset_t all;
	struct hrun_error err;
	struct captured c;

	(void)state;
	sigfillset(&all);
	assert_int_equal(sigprocmask(SIG_BLOCK, &all, NULL), 0);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
#if defined(__x86_64__) || defined(__aarch64__)
	/* glibc's reserved real-time signals: a parent (make, here) may have
	 * left them ignored. */
	assert_int_equal(raw_sigaction(32, SIG_IGN), 0);
	assert_int_equal(raw_sigaction(33, SIG_IGN), 0);
#endif
	c = run_captured(hook("/bin/sh", args, NULL, 0), "", &err);
	assert_int_equal(c.rc, 0);
#if defined(__x86_64__) || defined(__aarch64__)
	assert_int_equal(raw_sigaction(32, SIG_DFL), 0);
	assert_int_equal(raw_sigaction(33, SIG_DFL), 0);
#endif
	assert_string_equal(c.err, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	free_captured(&c);
}

/* SIGCHLD ignored (inherited from whoever started hrun) makes the kernel
 * reap children itself: the hook's exit status must not be lost, and the
 * disposition is put back afterwards. */
static void test_sigchld_ignored(void **state)
{
	char *script = write_script("exit4.sh", "exit 4", 0755);
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct sigaction cur;
	struct hrun_error err;

	(void)state;
	assert_int_equal(sigaction(SIGCHLD, &ign, NULL), 0);
	assert_int_equal(run1(hook(script, NULL, NULL, 0), "prestart", "{}", &err), -1);
	assert_non_null(strstr(err.msg, ": exit status 4"));
	assert_int_equal(sigaction(SIGCHLD, NULL, &cur), 0);
	assert_true(cur.sa_handler == SIG_IGN);
	free(script);
}

/* hrun started with stdio closed: hook fds must not land on 0-2 and be
 * clobbered; the hook's output then goes to /dev/null. */
static void test_closed_stdio(void **state)
{
	char *script = write_script("cat2.sh", "cat > \"$1\"", 0755);
	char *out = path_in_dir("closed-stdio.out");
	char *args[] = { "cat-hook", out, NULL };
	int saved[3];
	struct hrun_error err;
	int rc;
	char *got;

	(void)state;
	fflush(stdout);
	fflush(stderr);
	for (int fd = 0; fd < 3; fd++) {
		saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 10);
		assert_true(saved[fd] >= 0);
		close(fd);
	}
	rc = run1(hook(script, args, NULL, 0), "prestart", "{\"id\":\"x\"}", &err);
	for (int fd = 0; fd < 3; fd++) {
		assert_int_equal(dup2(saved[fd], fd), fd);
		close(saved[fd]);
	}
	assert_int_equal(rc, 0);
	got = slurp(out);
	assert_string_equal(got, "{\"id\":\"x\"}");
	free(got);
	free(out);
	free(script);
}

/* Under a seccomp filter that answers clone3 with ENOSYS (as Docker's
 * default profile does; startContainer hooks run under the container's),
 * hooks still run, via fork. Checked in a child process, which keeps the
 * filter to itself. */
static void test_clone3_refused(void **state)
{
	char *script = write_script("cat3.sh", "cat > \"$1\"; exit 5", 0755);
	char *out = path_in_dir("clone3.out");
	int status;
	pid_t pid;
	char *got;

	(void)state;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		char *args[] = { "cat-hook", out, NULL };
		struct hrun_error err;

		if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0 ||
		    seccomp_load(ctx) < 0)
			_exit(2);
		if (syscall(SYS_clone3, NULL, 0) >= 0 || errno != ENOSYS)
			_exit(3); /* the filter is not in force */
		if (run1(hook(script, args, NULL, 10), "startContainer", "{\"id\":\"s\"}", &err) == 0)
			_exit(4);
		_exit(strstr(err.msg, "startContainer hook #0") && strstr(err.msg, ": exit status 5") ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	got = slurp(out);
	assert_string_equal(got, "{\"id\":\"s\"}");
	free(got);
	free(out);
	free(script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_empty_list, each_setup),
		cmocka_unit_test_setup(test_state_on_stdin, each_setup),
		cmocka_unit_test_setup(test_args_exact, each_setup),
		cmocka_unit_test_setup(test_args_absent_argv0_is_path, each_setup),
		cmocka_unit_test_setup(test_env_empty_when_absent, each_setup),
		cmocka_unit_test_setup(test_env_exact, each_setup),
		cmocka_unit_test_setup(test_output_goes_to_stderr, each_setup),
		cmocka_unit_test_setup(test_exit_status, each_setup),
		cmocka_unit_test_setup(test_killed_by_signal, each_setup),
		cmocka_unit_test_setup(test_timeout, each_setup),
		cmocka_unit_test_setup(test_cannot_start, each_setup),
		cmocka_unit_test_setup(test_unread_state_no_sigpipe, each_setup),
		cmocka_unit_test_setup(test_order_and_stop, each_setup),
		cmocka_unit_test_setup(test_no_fd_leak, each_setup),
		cmocka_unit_test_setup(test_signals_reset_in_hook, each_setup),
		cmocka_unit_test_setup(test_sigchld_ignored, each_setup),
		cmocka_unit_test_setup(test_closed_stdio, each_setup),
		cmocka_unit_test_setup(test_clone3_refused, each_setup),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
