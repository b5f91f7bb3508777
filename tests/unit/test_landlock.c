/* Tests for the Landlock policy parser and its ABI check: what each key
 * parses to, every refusal naming where the policy is wrong, the lowest
 * ABI each key needs, bestEffort, and no_new_privs made part of the
 * process. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "landlock-policy.h"
#include "spec.h"

static int parse(const char *text, struct hrun_landlock_policy *p, struct hrun_error *err)
{
	memset(err, 0, sizeof(*err));
	return hrun_landlock_policy_parse(text, strlen(text), "test", p, err);
}

static void refused(const char *text, const char *want)
{
	struct hrun_landlock_policy p;
	struct hrun_error err;

	assert_int_equal(parse(text, &p, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("policy %s: expected \"%s\" in \"%s\"", text, want, err.msg);
	hrun_landlock_policy_free(&p);
}

static void test_full_policy(void **state)
{
	struct hrun_landlock_policy p;
	struct hrun_error err;

	(void)state;
	assert_int_equal(parse("{\"read\": [\"/usr\", \"/etc\"], \"write\": [\"/tmp\"], \"tcpBind\": [0, 8080],"
			       " \"tcpConnect\": [65535], \"bestEffort\": true}",
			       &p, &err),
			 0);
	assert_true(p.fs);
	assert_int_equal(p.read.n, 2);
	assert_string_equal(p.read.v[1], "/etc");
	assert_int_equal(p.write.n, 1);
	assert_true(p.tcp_bind.set);
	assert_int_equal(p.tcp_bind.n, 2);
	assert_int_equal(p.tcp_bind.v[0], 0);
	assert_int_equal(p.tcp_bind.v[1], 8080);
	assert_int_equal(p.tcp_connect.v[0], 65535);
	assert_true(p.best_effort);
	assert_int_equal(hrun_landlock_policy_min_abi(&p), 4);
	hrun_landlock_policy_free(&p);
}

/* An empty list is a restriction (nothing allowed), an absent key none. */
static void test_empty_list_restricts(void **state)
{
	struct hrun_landlock_policy p;
	struct hrun_error err;

	(void)state;
	assert_int_equal(parse("{\"write\": [], \"tcpConnect\": []}", &p, &err), 0);
	assert_true(p.fs);
	assert_false(p.read.set);
	assert_true(p.tcp_connect.set);
	assert_false(p.tcp_bind.set);
	hrun_landlock_policy_free(&p);
	assert_int_equal(parse("{\"tcpConnect\": [443]}", &p, &err), 0);
	assert_false(p.fs);
	assert_int_equal(hrun_landlock_policy_min_abi(&p), 4);
	hrun_landlock_policy_free(&p);
	assert_int_equal(parse("{\"read\": [\"/\"]}", &p, &err), 0);
	assert_int_equal(hrun_landlock_policy_min_abi(&p), 3);
	hrun_landlock_policy_free(&p);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("", "test");
	refused("{\"read\": [\"/bin\"", "test");
	refused("[\"/bin\"]", "test: expected object");
	refused("{}", "test: restricts nothing");
	refused("{\"bestEffort\": true}", "restricts nothing");
	refused("{\"read\": [\"/bin\"], \"Write\": []}", "test: unknown key \"Write\"");
	refused("{\"read\": \"/bin\"}", "test: read: expected array");
	refused("{\"read\": [\"bin\"]}", "test: read[0]: expected an absolute path");
	refused("{\"write\": [\"/tmp\", \"\"]}", "test: write[1]: expected an absolute path");
	refused("{\"write\": [\"/tmp/../etc\"]}", "write[0]: expected an absolute path without \".\" or \"..\"");
	refused("{\"write\": [\"/tmp/.\"]}", "write[0]");
	refused("{\"read\": [1]}", "read[0]: expected string");
	refused("{\"tcpBind\": [65536]}", "test: tcpBind[0]");
	refused("{\"tcpBind\": [-1]}", "test: tcpBind[0]");
	refused("{\"tcpConnect\": [\"443\"]}", "test: tcpConnect[0]");
	refused("{\"tcpConnect\": [1.5]}", "test: tcpConnect[0]");
	refused("{\"read\": [\"/a\"], \"read\": [\"/b\"]}", "duplicate");
	refused("{\"read\": [\"/\"], \"bestEffort\": 1}", "bestEffort");
}

/* A ".." inside a name is a name: only whole components are refused. */
static void test_dots_in_names(void **state)
{
	struct hrun_landlock_policy p;
	struct hrun_error err;

	(void)state;
	assert_int_equal(parse("{\"read\": [\"/a..b\", \"/.hidden\", \"//usr//lib/\"]}", &p, &err), 0);
	hrun_landlock_policy_free(&p);
}

static void test_abi(void **state)
{
	struct hrun_landlock_policy p;
	struct hrun_error err;

	(void)state;
	assert_int_equal(parse("{\"read\": [\"/\"], \"tcpBind\": [80]}", &p, &err), 0);
	assert_int_equal(hrun_landlock_policy_check_abi(&p, 0, &err), -1);
	assert_non_null(strstr(err.msg, "no Landlock"));
	assert_int_equal(hrun_landlock_policy_check_abi(&p, 2, &err), -1);
	assert_non_null(strstr(err.msg, "ABI 2 cannot restrict tcpBind/tcpConnect (needs ABI 4) and truncate"));
	assert_non_null(strstr(err.msg, "bestEffort"));
	assert_int_equal(hrun_landlock_policy_check_abi(&p, 3, &err), -1);
	assert_int_equal(hrun_landlock_policy_check_abi(&p, 4, &err), 0);
	assert_int_equal(hrun_landlock_policy_check_abi(&p, 7, &err), 0);
	/* bestEffort accepts a lower ABI, never none. */
	p.best_effort = true;
	assert_int_equal(hrun_landlock_policy_check_abi(&p, 1, &err), 0);
	assert_int_equal(hrun_landlock_policy_check_abi(&p, 0, &err), -1);
	hrun_landlock_policy_free(&p);
}

static struct hrun_spec *spec_with(const char *process_extra, const char *policy)
{
	char json[1024];
	struct hrun_error err;
	struct hrun_spec *s;

	snprintf(json, sizeof(json),
		 "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"rootfs\"},"
		 " \"process\": {\"cwd\": \"/\", \"args\": [\"/x\"]%s},"
		 " \"annotations\": {\"io.hrun.landlock\": \"%s\"}}",
		 process_extra, policy);
	s = hrun_spec_parse(json, strlen(json), "config.json", &err);
	if (!s)
		fail_msg("%s", err.msg);
	return s;
}

static void test_load_adds_no_new_privs(void **state)
{
	struct hrun_landlock ll;
	struct hrun_error err = { 0 };
	struct hrun_spec *s = spec_with("", "{\\\"read\\\": [\\\"/\\\"], \\\"bestEffort\\\": true}");
	int r;

	(void)state;
	r = hrun_landlock_load(s, NULL, NULL, &ll, &err);
	if (r < 0 && strstr(err.msg, "no Landlock"))
		skip();
	assert_int_equal(r, 0);
	assert_int_equal(ll.n, 1);
	assert_true(s->process->no_new_privileges.set && s->process->no_new_privileges.v);
	hrun_landlock_free(&ll);
	hrun_spec_free(s);

	s = spec_with(", \"noNewPrivileges\": false", "{\\\"read\\\": [\\\"/\\\"], \\\"bestEffort\\\": true}");
	assert_int_equal(hrun_landlock_load(s, NULL, NULL, &ll, &err), -1);
	assert_non_null(strstr(err.msg, "noNewPrivileges is false"));
	hrun_spec_free(s);
}

/* The host's layer comes first and skips paths missing in the image. */
static void test_load_host_layer(void **state)
{
	struct hrun_landlock ll;
	struct hrun_error err = { 0 };
	struct hrun_spec *s = spec_with("", "{\\\"write\\\": [\\\"/tmp\\\"], \\\"bestEffort\\\": true}");
	int r;

	(void)state;
	r = hrun_landlock_load(s, "{\"read\": [\"/usr\"], \"bestEffort\": true}", "/etc/hrun/landlock.json", &ll, &err);
	if (r < 0 && strstr(err.msg, "no Landlock"))
		skip();
	assert_int_equal(r, 0);
	assert_int_equal(ll.n, 2);
	assert_string_equal(ll.layers[0].origin, "/etc/hrun/landlock.json");
	assert_true(ll.layers[0].skip_missing);
	assert_string_equal(ll.layers[1].origin, "annotation io.hrun.landlock");
	assert_false(ll.layers[1].skip_missing);
	hrun_landlock_free(&ll);
	assert_int_equal(hrun_landlock_load(s, "{\"red\": []}", "/etc/hrun/landlock.json", &ll, &err), -1);
	assert_non_null(strstr(err.msg, "/etc/hrun/landlock.json: unknown key \"red\""));
	hrun_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_policy),
		cmocka_unit_test(test_empty_list_restricts),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_dots_in_names),
		cmocka_unit_test(test_abi),
		cmocka_unit_test(test_load_adds_no_new_privs),
		cmocka_unit_test(test_load_host_layer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
