/* Tests for linux.seccomp: configs compiled with libseccomp and then really
 * loaded, in a forked child with no_new_privs, to see what each syscall
 * gets (getppid takes no arguments, so the filter can test any register
 * values without side effects); the flags, architectures and refusals
 * with their exact messages. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp-cache.h"
#include "seccomp.h"
#include "spec.h"

#define BASE "{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"rootfs\"},\"linux\":{\"seccomp\":"

/* Lets a child exit once everything else is denied. */
#define EXIT_OK "{\"names\":[\"exit_group\",\"exit\"],\"action\":\"SCMP_ACT_ALLOW\"}"

/* Test documents use single quotes; SECCOMP is linux.seccomp's value. */
static struct hrun_spec *spec_of(const char *seccomp)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *spec;
	char *doc;

	assert_true(asprintf(&doc, BASE "%s}}", seccomp) > 0);
	for (char *p = doc; *p; p++)
		if (*p == '\'')
			*p = '"';
	spec = hrun_spec_parse(doc, strlen(doc), "config.json", &err);
	if (!spec)
		fail_msg("parse: %s", err.msg);
	free(doc);
	return spec;
}

/* Compile; returns "" or the error message (static). */
static const char *compile(const char *seccomp, struct hrun_seccomp_prog *prog)
{
	static struct hrun_error err;
	struct hrun_spec *spec = spec_of(seccomp);
	int r;

	hrun_error_clear(&err);
	r = hrun_seccomp_compile(spec, NULL, prog, &err);
	hrun_spec_free(spec);
	if (r < 0) {
		assert_null(prog->insns);
		return err.msg;
	}
	return "";
}

static void compiles(const char *seccomp, struct hrun_seccomp_prog *prog)
{
	const char *msg = compile(seccomp, prog);

	if (*msg)
		fail_msg("compile %s: %s", seccomp, msg);
	assert_non_null(prog->insns);
	assert_true(prog->len > 0);
}

static void refused(const char *seccomp, const char *want)
{
	struct hrun_seccomp_prog prog = { 0 };

	assert_string_equal(compile(seccomp, &prog), want);
}

/* What the child does once the filter is in: getppid with these raw
 * arguments. */
static long call_args[6];

/* Child: no_new_privs, load, getppid(ARGS). Returns 0 when the call
 * succeeded, its errno when it failed, 1000 + signal when the child was
 * killed. */
static int run_loaded(const char *seccomp, long a0, long a1)
{
	struct hrun_seccomp_prog prog = { 0 };
	struct hrun_spec *spec = spec_of(seccomp);
	struct hrun_error err = { 0 };
	int status, listener;
	pid_t pid;

	if (hrun_seccomp_compile(spec, NULL, &prog, &err) < 0)
		fail_msg("compile %s: %s", seccomp, err.msg);
	call_args[0] = a0;
	call_args[1] = a1;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long r;

		/* cmocka catches SIGSYS; the child must die of it. */
		signal(SIGSYS, SIG_DFL);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || hrun_seccomp_load(spec, &prog, &listener, &err) < 0)
			_exit(250);
		r = syscall(SYS_getppid, call_args[0], call_args[1], 0, 0, 0, 0);
		_exit(r < 0 ? (errno > 0 && errno < 250 ? errno : 251) : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	hrun_seccomp_prog_free(&prog);
	hrun_spec_free(spec);
	if (WIFSIGNALED(status))
		return 1000 + WTERMSIG(status);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 250);
	return WEXITSTATUS(status);
}

/* One rule on getppid, default ALLOW. */
static int with_rule(const char *rule, long a0, long a1)
{
	char *doc;
	int r;

	assert_true(asprintf(&doc,
			     "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],%s}]}",
			     rule) > 0);
	r = run_loaded(doc, a0, a1);
	free(doc);
	return r;
}

static void test_no_seccomp(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_seccomp_prog prog = { .len = 7 };
	int listener = 5;
	const char doc[] = "{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"rootfs\"}}";
	struct hrun_spec *spec = hrun_spec_parse(doc, strlen(doc), "config.json", &err);

	(void)state;
	assert_non_null(spec);
	assert_int_equal(hrun_seccomp_compile(spec, NULL, &prog, &err), 0);
	assert_null(prog.insns);
	assert_int_equal(prog.len, 0);
	/* Nothing to load: the load is a no-op. */
	assert_int_equal(hrun_seccomp_load(spec, NULL, &listener, &err), 0);
	assert_int_equal(listener, -1);
	hrun_spec_free(spec);
}

/* A config with linux.seccomp never runs unfiltered. */
static void test_load_without_program(void **state)
{
	struct hrun_spec *spec = spec_of("{'defaultAction':'SCMP_ACT_ALLOW'}");
	struct hrun_seccomp_prog empty = { 0 };
	struct hrun_error err = { 0 };
	int listener;

	(void)state;
	assert_int_equal(hrun_seccomp_load(spec, NULL, &listener, &err), -1);
	assert_string_equal(err.msg, "linux.seccomp: no compiled filter reached the container's process");
	assert_int_equal(hrun_seccomp_load(spec, &empty, &listener, &err), -1);
	hrun_spec_free(spec);
}

static void test_default_errno(void **state)
{
	(void)state;
	/* defaultErrnoRet, and EPERM without it. */
	assert_int_equal(run_loaded("{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':38,'syscalls':[" EXIT_OK "]}",
				    0, 0),
			 ENOSYS);
	assert_int_equal(run_loaded("{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[" EXIT_OK "]}", 0, 0), EPERM);
	/* An allowed syscall under an ERRNO default. */
	assert_int_equal(run_loaded("{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[" EXIT_OK
				    ",{'names':['getppid'],'action':'SCMP_ACT_ALLOW'}]}",
				    0, 0),
			 0);
}

static void test_rule_actions(void **state)
{
	(void)state;
	assert_int_equal(with_rule("'action':'SCMP_ACT_ERRNO','errnoRet':77", 0, 0), 77);
	assert_int_equal(with_rule("'action':'SCMP_ACT_ERRNO'", 0, 0), EPERM);
	/* errnoRet 0: the call "succeeds" without running. */
	assert_int_equal(with_rule("'action':'SCMP_ACT_ERRNO','errnoRet':0", 0, 0), 0);
	assert_int_equal(with_rule("'action':'SCMP_ACT_KILL_PROCESS'", 0, 0), 1000 + SIGSYS);
	assert_int_equal(with_rule("'action':'SCMP_ACT_KILL_THREAD'", 0, 0), 1000 + SIGSYS);
	assert_int_equal(with_rule("'action':'SCMP_ACT_KILL'", 0, 0), 1000 + SIGSYS);
	assert_int_equal(with_rule("'action':'SCMP_ACT_TRAP'", 0, 0), 1000 + SIGSYS);
	/* No tracer attached: the kernel fails the call with ENOSYS. */
	assert_int_equal(with_rule("'action':'SCMP_ACT_TRACE','errnoRet':5", 0, 0), ENOSYS);
	assert_int_equal(with_rule("'action':'SCMP_ACT_LOG'", 0, 0), 0);
}

/* SCMP_ACT_KILL is another name of SCMP_ACT_KILL_THREAD. */
static void test_kill_is_kill_thread(void **state)
{
	struct hrun_seccomp_prog a = { 0 }, b = { 0 };

	(void)state;
	compiles("{'defaultAction':'SCMP_ACT_KILL','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ALLOW'}]}", &a);
	compiles("{'defaultAction':'SCMP_ACT_KILL_THREAD','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ALLOW'}]}",
		 &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.insns, b.insns, a.len * sizeof(*a.insns));
	hrun_seccomp_prog_free(&a);
	hrun_seccomp_prog_free(&b);
}

static void test_args_and(void **state)
{
	const char *rule = "'action':'SCMP_ACT_ERRNO','errnoRet':77,'args':["
			   "{'index':0,'value':1,'op':'SCMP_CMP_EQ'},{'index':1,'value':2,'op':'SCMP_CMP_EQ'}]";

	(void)state;
	assert_int_equal(with_rule(rule, 1, 2), 77);
	assert_int_equal(with_rule(rule, 1, 3), 0);
	assert_int_equal(with_rule(rule, 0, 2), 0);
}

/* The same index twice: ORed, as runc and crun do. */
static void test_args_same_index_or(void **state)
{
	const char *rule = "'action':'SCMP_ACT_ERRNO','errnoRet':77,'args':["
			   "{'index':0,'value':1,'op':'SCMP_CMP_EQ'},{'index':0,'value':2,'op':'SCMP_CMP_EQ'}]";

	(void)state;
	assert_int_equal(with_rule(rule, 1, 0), 77);
	assert_int_equal(with_rule(rule, 2, 0), 77);
	assert_int_equal(with_rule(rule, 3, 0), 0);
}

/* runc's rule: once an index repeats, every arg of the rule is its own
 * rule, other indices included. */
static void test_args_mixed_like_runc(void **state)
{
	const char *rule = "'action':'SCMP_ACT_ERRNO','errnoRet':77,'args':["
			   "{'index':0,'value':1,'op':'SCMP_CMP_EQ'},{'index':0,'value':2,'op':'SCMP_CMP_EQ'},"
			   "{'index':1,'value':5,'op':'SCMP_CMP_EQ'}]";

	(void)state;
	assert_int_equal(with_rule(rule, 1, 0), 77);
	assert_int_equal(with_rule(rule, 0, 5), 77);
	assert_int_equal(with_rule(rule, 3, 3), 0);
}

static void test_operators(void **state)
{
	static const struct {
		const char *args;
		long yes, no;
	} cases[] = {
		{ "{'index':0,'value':10,'op':'SCMP_CMP_NE'}", 11, 10 },
		{ "{'index':0,'value':10,'op':'SCMP_CMP_LT'}", 9, 10 },
		{ "{'index':0,'value':10,'op':'SCMP_CMP_LE'}", 10, 11 },
		{ "{'index':0,'value':10,'op':'SCMP_CMP_EQ'}", 10, 11 },
		{ "{'index':0,'value':10,'op':'SCMP_CMP_GE'}", 10, 9 },
		{ "{'index':0,'value':10,'op':'SCMP_CMP_GT'}", 11, 10 },
		/* value is the mask, valueTwo what the masked arg must equal */
		{ "{'index':0,'value':240,'valueTwo':32,'op':'SCMP_CMP_MASKED_EQ'}", 0x25, 0x35 },
		/* all 64 bits are compared */
		{ "{'index':0,'value':4294967296,'op':'SCMP_CMP_EQ'}", 0x100000000L, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *rule;

		assert_true(asprintf(&rule, "'action':'SCMP_ACT_ERRNO','errnoRet':77,'args':[%s]", cases[i].args) > 0);
		if (with_rule(rule, cases[i].yes, 0) != 77)
			fail_msg("%s: %ld not matched", cases[i].args, cases[i].yes);
		if (with_rule(rule, cases[i].no, 0) != 0)
			fail_msg("%s: %ld matched", cases[i].args, cases[i].no);
		free(rule);
	}
	/* The index is the argument's position. */
	assert_int_equal(with_rule("'action':'SCMP_ACT_ERRNO','errnoRet':77,'args':[{'index':1,'value':7,"
				   "'op':'SCMP_CMP_EQ'}]",
				   0, 7),
			 77);
	assert_int_equal(with_rule("'action':'SCMP_ACT_ERRNO','errnoRet':77,'args':[{'index':1,'value':7,"
				   "'op':'SCMP_CMP_EQ'}]",
				   7, 0),
			 0);
}

/* Unknown names are skipped (runc does the same), known ones in the same
 * rule still apply. */
static void test_unknown_syscall_skipped(void **state)
{
	struct hrun_seccomp_prog a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(run_loaded("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['no_such_syscall',"
				    "'getppid'],'action':'SCMP_ACT_ERRNO','errnoRet':77}]}",
				    0, 0),
			 77);
	compiles("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['no_such_syscall'],'action':'SCMP_ACT_ERRNO'},"
		 "{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}]}",
		 &a);
	compiles("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}]}", &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.insns, b.insns, a.len * sizeof(*a.insns));
	hrun_seccomp_prog_free(&a);
	hrun_seccomp_prog_free(&b);
}

/* libseccomp refuses a rule that repeats the default action: skipped.
 * The errno is part of the action. */
static void test_rule_as_default_skipped(void **state)
{
	struct hrun_seccomp_prog a = { 0 }, b = { 0 };

	(void)state;
	compiles("{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}," EXIT_OK
		 "]}",
		 &a);
	compiles("{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[" EXIT_OK "]}", &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.insns, b.insns, a.len * sizeof(*a.insns));
	hrun_seccomp_prog_free(&a);
	hrun_seccomp_prog_free(&b);
	assert_int_equal(run_loaded("{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':38,'syscalls':[" EXIT_OK
				    ",{'names':['getppid'],'action':'SCMP_ACT_ERRNO','errnoRet':77}]}",
				    0, 0),
			 77);
	assert_int_equal(with_rule("'action':'SCMP_ACT_ALLOW'", 0, 0), 0);
}

static void test_flags(void **state)
{
	struct hrun_seccomp_prog prog = { 0 };

	(void)state;
	compiles("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_TSYNC','SECCOMP_FILTER_FLAG_LOG',"
		 "'SECCOMP_FILTER_FLAG_SPEC_ALLOW']}",
		 &prog);
	assert_int_equal(prog.flags,
			 SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	hrun_seccomp_prog_free(&prog);
	compiles("{'defaultAction':'SCMP_ACT_ALLOW'}", &prog);
	assert_int_equal(prog.flags, 0);
	hrun_seccomp_prog_free(&prog);
	/* The kernel takes them: the filter loads and works. */
	assert_int_equal(run_loaded("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_TSYNC',"
				    "'SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_SPEC_ALLOW'],'syscalls':[{'names':"
				    "['getppid'],'action':'SCMP_ACT_ERRNO','errnoRet':77}]}",
				    0, 0),
			 77);
	refused("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_BOGUS']}",
		"linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"");
	assert_true(hrun_seccomp_flag_supported("SECCOMP_FILTER_FLAG_LOG"));
	assert_false(hrun_seccomp_flag_supported("SECCOMP_FILTER_FLAG_BOGUS"));
}

static void test_architectures(void **state)
{
	struct hrun_seccomp_prog native = { 0 }, x86 = { 0 }, again = { 0 };
	char want[128];

	(void)state;
	compiles("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}]}",
		 &native);
	/* Each listed architecture gets its own section. */
	compiles("{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86',"
		 "'SCMP_ARCH_X32','SCMP_ARCH_AARCH64'],'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}]}",
		 &x86);
	assert_true(x86.len > native.len);
#ifdef __x86_64__
	/* The native one is always in: listed or not, the same program. */
	compiles("{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86_64'],'syscalls':[{'names':"
		 "['getppid'],'action':'SCMP_ACT_ERRNO'}]}",
		 &again);
	assert_int_equal(again.len, native.len);
	assert_memory_equal(again.insns, native.insns, native.len * sizeof(*native.insns));
	/* Another architecture alone still keeps the native one. */
	assert_int_equal(run_loaded("{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_AARCH64'],"
				    "'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO','errnoRet':77}]}",
				    0, 0),
			 77);
#endif
	hrun_seccomp_prog_free(&native);
	hrun_seccomp_prog_free(&x86);
	hrun_seccomp_prog_free(&again);
	snprintf(want, sizeof(want),
		 "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\" (libseccomp %s)",
		 hrun_seccomp_libseccomp_version());
	refused("{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86','SCMP_ARCH_VAX']}", want);
#ifndef SCMP_ARCH_LOONGARCH64
	/* Valid for the runtime-spec, unknown to this libseccomp. */
	snprintf(want, sizeof(want),
		 "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_LOONGARCH64\" (libseccomp %s)",
		 hrun_seccomp_libseccomp_version());
	refused("{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_LOONGARCH64']}", want);
#endif
}

static void test_refusals(void **state)
{
	(void)state;
	refused("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_NOTIFY'}]}",
		"linux.seccomp: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
	refused("{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':65536}",
		"linux.seccomp.defaultAction: errnoRet 65536 out of range 0..65535");
	refused("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO',"
		"'errnoRet':70000}]}",
		"linux.seccomp.syscalls[0]: errnoRet 70000 out of range 0..65535");
	refused("{'defaultAction':'SCMP_ACT_DENY'}", "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_DENY\"");
	refused("{}", "linux.seccomp.defaultAction: required");
	refused("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO','args':["
		"{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}",
		"linux.seccomp.syscalls[0].args[0].index: value 6 out of range 0..5");
	refused("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO','args':["
		"{'index':0,'value':1,'op':'SCMP_CMP_BOGUS'}]}]}",
		"linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_BOGUS\"");
	refused("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir']}]}",
		"linux.seccomp.syscalls[0].action: required");
}

/* More than the kernel's BPF_MAXINSNS instructions: refused before any
 * clone, with the count. */
static void test_too_long(void **state)
{
	size_t cap = 1 << 21, n = 0;
	char *doc = malloc(cap);
	struct hrun_seccomp_prog prog = { 0 };
	const char *msg;

	(void)state;
	assert_non_null(doc);
	n += (size_t)snprintf(doc + n, cap - n, "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[");
	for (int i = 0; i < 5000; i++)
		n += (size_t)snprintf(doc + n, cap - n,
				      "%s{'names':['getppid'],'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':%d,"
				      "'op':'SCMP_CMP_EQ'}]}",
				      i ? "," : "", i * 7);
	snprintf(doc + n, cap - n, "]}");
	msg = compile(doc, &prog);
	free(doc);
	assert_non_null(strstr(msg, "linux.seccomp: the filter has "));
	assert_non_null(strstr(msg, " instructions, the kernel takes at most 4096"));
}

static void test_feature_lists(void **state)
{
	(void)state;
	assert_string_equal(hrun_seccomp_actions[0], "SCMP_ACT_KILL");
	assert_string_equal(hrun_seccomp_actions[8], "SCMP_ACT_NOTIFY");
	assert_null(hrun_seccomp_actions[9]);
	assert_string_equal(hrun_seccomp_operators[6], "SCMP_CMP_MASKED_EQ");
	assert_null(hrun_seccomp_operators[7]);
	assert_string_equal(hrun_seccomp_archs[1], "SCMP_ARCH_X86_64");
	assert_string_equal(hrun_seccomp_known_flags[3], "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
}

/* Child: no_new_privs, load PROG, syscall NR with no arguments. Same
 * result encoding as run_loaded. */
static int run_prog_nr(const struct hrun_seccomp_prog *prog, long nr)
{
	struct hrun_spec *spec = spec_of("{'defaultAction':'SCMP_ACT_ALLOW'}");
	struct hrun_error err = { 0 };
	int status, listener;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		long r;

		signal(SIGSYS, SIG_DFL);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || hrun_seccomp_load(spec, prog, &listener, &err) < 0)
			_exit(250);
		r = syscall(nr, 0, 0, 0, 0, 0, 0);
		_exit(r < 0 ? (errno > 0 && errno < 250 ? errno : 251) : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	hrun_spec_free(spec);
	if (WIFSIGNALED(status))
		return 1000 + WTERMSIG(status);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 250);
	return WEXITSTATUS(status);
}

static int run_nr(const char *seccomp, long nr)
{
	struct hrun_seccomp_prog prog = { 0 };
	int r;

	compiles(seccomp, &prog);
	r = run_prog_nr(&prog, nr);
	hrun_seccomp_prog_free(&prog);
	return r;
}

/* A syscall above every one the profile names is one its author could
 * not know: ENOSYS, so libc falls back, whatever the default says. One
 * below that the profile leaves out gets the default. */
static void test_enosys_stub(void **state)
{
	/* getppid is 110 on x86-64; 400 is above it and below the highest
	 * syscall this kernel has; getpid (39) is below. */
	const char eperm[] = "{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[" EXIT_OK
			     ",{'names':['getppid'],'action':'SCMP_ACT_ALLOW'}]}";
	const char kill[] = "{'defaultAction':'SCMP_ACT_KILL_PROCESS','syscalls':[" EXIT_OK
			    ",{'names':['getppid'],'action':'SCMP_ACT_ALLOW'}]}";

	(void)state;
	assert_int_equal(run_nr(eperm, SYS_getppid), 0);
	assert_int_equal(run_nr(eperm, SYS_getpid), EPERM);
	assert_int_equal(run_nr(eperm, 400), ENOSYS);
	assert_int_equal(run_nr(eperm, SYS_close_range), ENOSYS);
	assert_int_equal(run_nr(kill, SYS_getpid), 1000 + SIGSYS);
	assert_int_equal(run_nr(kill, SYS_close_range), ENOSYS);
	/* An allowing default lets the new call through, stub or not. */
	assert_int_equal(run_nr("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}]}",
				SYS_getpid),
			 0);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	assert_non_null(f);
	n = getdelim(&buf, &cap, '\0', f);
	assert_true(n > 0);
	fclose(f);
	return buf;
}

/* The build's precompiled default is exactly what hrun's compiler makes
 * of seccomp-profiles/default.json today, and it is what a config with
 * that profile gets. */
static void test_builtin_default(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_seccomp sc;
	struct hrun_seccomp_prog fresh = { 0 }, got = { 0 };
	char *text = read_text(HRUN_SRCDIR "/seccomp-profiles/default.json");
	char *json;
	struct hrun_spec *spec = spec_of("{'defaultAction':'SCMP_ACT_ALLOW'}");

	(void)state;
	if (hrun_seccomp_parse(text, strlen(text), "default.json", &sc, &err) < 0)
		fail_msg("%s", err.msg);
	json = hrun_seccomp_to_json(&sc, &err);
	assert_non_null(json);
	assert_int_equal(hrun_seccomp_builtin_lookup(json, &got, &err), 1);
	assert_int_equal(hrun_seccomp_compile_profile(&sc, &fresh, &err), 0);
	assert_int_equal(got.len, fresh.len);
	assert_memory_equal(got.insns, fresh.insns, fresh.len * sizeof(*fresh.insns));
	hrun_seccomp_prog_free(&got);
	/* Through the front door, with no cache: the same program. */
	hrun_seccomp_clear(&spec->linux_.seccomp);
	spec->linux_.seccomp = sc;
	assert_int_equal(hrun_seccomp_compile(spec, NULL, &got, &err), 0);
	assert_memory_equal(got.insns, fresh.insns, fresh.len * sizeof(*fresh.insns));
	/* What it does: ENOSYS by default, EPERM for the dangerous. */
	assert_int_equal(run_prog_nr(&got, SYS_getppid), 0);
	assert_int_equal(run_prog_nr(&got, SYS_clone3), ENOSYS);
	assert_int_equal(run_prog_nr(&got, SYS_bpf), EPERM);
	assert_int_equal(run_prog_nr(&got, SYS_keyctl), EPERM);
	hrun_seccomp_prog_free(&got);
	hrun_seccomp_prog_free(&fresh);
	hrun_spec_free(spec);
	free(json);
	free(text);
}

/* A config's own profile is compiled once and then read from the cache;
 * an entry that is not the runtime's own is never used. */
static void test_cache(void **state)
{
	char dir[] = "/tmp/hrun-test-seccomp-cache.XXXXXX";
	const char profile[] = "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO','errnoRet':77}]}";
	struct hrun_spec *spec = spec_of(profile);
	struct hrun_seccomp_prog a = { 0 }, b = { 0 };
	struct hrun_error err = { 0 };
	char *json, *cmd;
	struct sock_filter allow_all = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	FILE *f;
	char path[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	json = hrun_seccomp_to_json(&spec->linux_.seccomp, &err);
	assert_int_equal(hrun_seccomp_cache_load(dir, json, &a), 0);
	assert_int_equal(hrun_seccomp_compile(spec, dir, &a, &err), 0);
	assert_int_equal(hrun_seccomp_cache_load(dir, json, &b), 1);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.insns, b.insns, a.len * sizeof(*a.insns));
	hrun_seccomp_prog_free(&b);
	/* Proof that the entry is what a start uses: make it allow-all (its
	 * header and text kept) and the next compile gives allow-all. */
	assert_true(asprintf(&cmd, "ls %s/*.bpf", dir) > 0);
	f = popen(cmd, "r");
	assert_non_null(fgets(path, sizeof(path), f));
	pclose(f);
	free(cmd);
	path[strcspn(path, "\n")] = '\0';
	f = fopen(path, "r+e");
	assert_non_null(f);
	/* The instructions are the entry's tail. */
	assert_int_equal(fseek(f, -(long)(a.len * sizeof(*a.insns)), SEEK_END), 0);
	assert_int_equal(fwrite(&allow_all, sizeof(allow_all), 1, f), 1);
	fclose(f);
	assert_int_equal(hrun_seccomp_compile(spec, dir, &b, &err), 0);
	assert_memory_equal(b.insns, &allow_all, sizeof(allow_all));
	hrun_seccomp_prog_free(&b);
	/* Writable by others: not trusted, compiled again. */
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(hrun_seccomp_cache_load(dir, json, &b), 0);
	assert_int_equal(chmod(path, 0600), 0);
	/* Another profile's text under the same name: not used. */
	assert_int_equal(hrun_seccomp_cache_load(dir, "{\"defaultAction\":\"SCMP_ACT_KILL\"}", &b), 0);
	/* Made by another hrun, libseccomp or kernel (the header says which):
	 * not used. */
	f = fopen(path, "r+e");
	assert_non_null(f);
	assert_int_equal(fseek(f, 30, SEEK_SET), 0);
	assert_int_equal(fputc('#', f), '#');
	fclose(f);
	assert_int_equal(hrun_seccomp_cache_load(dir, json, &b), 0);
	/* A directory others can write: not used. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(hrun_seccomp_cache_load(dir, json, &b), 0);
	assert_true(asprintf(&cmd, "rm -rf %s", dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	hrun_seccomp_prog_free(&a);
	hrun_spec_free(spec);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_seccomp),
		cmocka_unit_test(test_load_without_program),
		cmocka_unit_test(test_default_errno),
		cmocka_unit_test(test_rule_actions),
		cmocka_unit_test(test_kill_is_kill_thread),
		cmocka_unit_test(test_args_and),
		cmocka_unit_test(test_args_same_index_or),
		cmocka_unit_test(test_args_mixed_like_runc),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_unknown_syscall_skipped),
		cmocka_unit_test(test_rule_as_default_skipped),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_architectures),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_feature_lists),
		cmocka_unit_test(test_enosys_stub),
		cmocka_unit_test(test_builtin_default),
		cmocka_unit_test(test_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
