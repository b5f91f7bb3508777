/* Tests for the device rules: the state the rules leave (the v1 kernel's
 * and runc's semantics, hrun's standard allowlist after the config's
 * rules, wildcard holes refused), and the BPF program generated from it,
 * run here in a small interpreter of the instructions it uses and checked
 * against the state's own decision for every device and access of a grid.
 * The real kernel runs it in tests/integration/devices.bats. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf-devices.h"
#include "cgroup-devices.h"
#include "spec.h"

#define RWM (HRUN_DEV_READ | HRUN_DEV_WRITE | HRUN_DEV_MKNOD)

/* A rule list from "allow|deny TYPE MAJOR MINOR ACCESS" lines; "*" is -1,
 * "-" leaves the field out of the config. */
static struct hrun_resources *rules(const char *const *lines, size_t n)
{
	struct hrun_resources *res = calloc(1, sizeof(*res));

	assert_non_null(res);
	res->set = true;
	res->n_devices = n;
	res->devices = calloc(n ? n : 1, sizeof(*res->devices));
	assert_non_null(res->devices);
	for (size_t i = 0; i < n; i++) {
		char allow[8], type[4], major[16], minor[16], access[8];
		struct hrun_device_rule *r = &res->devices[i];

		assert_int_equal(sscanf(lines[i], "%7s %3s %15s %15s %7s", allow, type, major, minor, access), 5);
		r->allow = strcmp(allow, "allow") == 0;
		r->type = strcmp(type, "-") ? strdup(type) : NULL;
		r->access = strcmp(access, "-") ? strdup(access) : NULL;
		if (strcmp(major, "-"))
			r->major = (struct hrun_opt_i64){ .set = true, .v = strcmp(major, "*") ? atoll(major) : -1 };
		if (strcmp(minor, "-"))
			r->minor = (struct hrun_opt_i64){ .set = true, .v = strcmp(minor, "*") ? atoll(minor) : -1 };
	}
	return res;
}

static void free_rules(struct hrun_resources *res)
{
	for (size_t i = 0; i < res->n_devices; i++) {
		free(res->devices[i].type);
		free(res->devices[i].access);
	}
	free(res->devices);
	free(res);
}

static void build(const char *const *lines, size_t n, struct hrun_dev_state *st)
{
	struct hrun_resources *res = rules(lines, n);
	struct hrun_error err = { 0 };

	if (hrun_dev_state_build(res, st, &err) < 0)
		fail_msg("build: %s", err.msg);
	free_rules(res);
}

static int build_error(const char *const *lines, size_t n, struct hrun_error *err)
{
	struct hrun_resources *res = rules(lines, n);
	struct hrun_dev_state st;
	int r = hrun_dev_state_build(res, &st, err);

	free_rules(res);
	if (r == 0)
		hrun_dev_state_free(&st);
	return r;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- the state ------------------------------------------------------------ */

static void standard_allowlist_without_rules(void **state)
{
	struct hrun_dev_state st;

	(void)state;
	build(NULL, 0, &st);
	assert_false(st.default_allow);
	for (unsigned m = 3; m <= 9; m++)
		assert_int_equal(hrun_dev_state_allows(&st, 'c', 1, m, HRUN_DEV_READ | HRUN_DEV_WRITE),
				 m == 3 || m == 5 || m == 7 || m == 8 || m == 9);
	assert_true(hrun_dev_state_allows(&st, 'c', 5, 0, RWM));
	assert_true(hrun_dev_state_allows(&st, 'c', 5, 2, RWM));
	assert_true(hrun_dev_state_allows(&st, 'c', 136, 7, RWM));
	/* /dev/console is a pts bound there; 5:1 itself is the host's. */
	assert_false(hrun_dev_state_allows(&st, 'c', 5, 1, HRUN_DEV_READ));
	assert_false(hrun_dev_state_allows(&st, 'c', 10, 200, HRUN_DEV_READ));
	assert_false(hrun_dev_state_allows(&st, 'b', 8, 0, HRUN_DEV_READ));
	/* mknod of anything; opening it is another matter. */
	assert_true(hrun_dev_state_allows(&st, 'b', 8, 0, HRUN_DEV_MKNOD));
	assert_true(hrun_dev_state_allows(&st, 'c', 10, 200, HRUN_DEV_MKNOD));
	hrun_dev_state_free(&st);
}

static void allow_rule_grants_only_its_access(void **state)
{
	const char *const l[] = { "deny - - - rwm", "allow c 240 0 r", "allow c 240 * w" };
	struct hrun_dev_state st;

	(void)state;
	build(l, N(l), &st);
	assert_true(hrun_dev_state_allows(&st, 'c', 240, 0, HRUN_DEV_READ));
	assert_true(hrun_dev_state_allows(&st, 'c', 240, 0, HRUN_DEV_WRITE));
	/* One exception must grant both at once, as the kernel checks. */
	assert_false(hrun_dev_state_allows(&st, 'c', 240, 0, HRUN_DEV_READ | HRUN_DEV_WRITE));
	assert_false(hrun_dev_state_allows(&st, 'c', 240, 1, HRUN_DEV_READ));
	assert_false(hrun_dev_state_allows(&st, 'b', 240, 0, HRUN_DEV_READ));
	hrun_dev_state_free(&st);
}

static void later_rules_override_earlier_ones(void **state)
{
	const char *const l[] = { "allow c 240 0 rw", "deny c 240 0 w", "allow a 1 2 r", "deny b 8 * rw",
				  "allow b 8 * w" };
	struct hrun_dev_state st;

	(void)state;
	build(l, N(l), &st);
	/* "a" reset everything to allow (its numbers and access ignored,
	 * as the kernel ignores them); then b 8:* lost r only. */
	assert_true(st.default_allow);
	assert_true(hrun_dev_state_allows(&st, 'c', 240, 0, HRUN_DEV_READ | HRUN_DEV_WRITE));
	assert_false(hrun_dev_state_allows(&st, 'b', 8, 1, HRUN_DEV_READ));
	assert_true(hrun_dev_state_allows(&st, 'b', 8, 1, HRUN_DEV_WRITE));
	assert_false(hrun_dev_state_allows(&st, 'b', 8, 1, HRUN_DEV_READ | HRUN_DEV_WRITE));
	assert_true(hrun_dev_state_allows(&st, 'b', 9, 1, HRUN_DEV_READ));
	hrun_dev_state_free(&st);
}

static void the_standard_allowlist_cannot_be_denied(void **state)
{
	const char *const l[] = { "allow a - - rwm", "deny c 1 3 rwm", "deny c 240 1 rwm" };
	struct hrun_dev_state st;

	(void)state;
	build(l, N(l), &st);
	assert_true(hrun_dev_state_allows(&st, 'c', 1, 3, RWM));
	assert_false(hrun_dev_state_allows(&st, 'c', 240, 1, HRUN_DEV_READ));
	assert_true(hrun_dev_state_allows(&st, 'c', 240, 2, HRUN_DEV_READ));
	hrun_dev_state_free(&st);
}

static void a_hole_in_a_wildcard_is_refused(void **state)
{
	const char *const deny_in_allow[] = { "deny - - - rwm", "allow c 240 * rw", "deny c 240 1 r" };
	const char *const allow_in_deny[] = { "allow a - - rwm", "deny c * * w", "allow c 240 1 w" };
	const char *const disjoint[] = { "deny - - - rwm", "allow c 240 * r", "deny c 240 1 w" };
	const char *const exact[] = { "deny - - - rwm", "allow c 240 * rw", "deny c 240 * r" };
	struct hrun_error err = { 0 };

	(void)state;
	assert_int_equal(build_error(deny_in_allow, 3, &err), -1);
	assert_non_null(strstr(err.msg, "linux.resources.devices[2]: \"deny c 240:1 r\""));
	assert_non_null(strstr(err.msg, "\"allow c 240:* rw\""));
	assert_int_equal(build_error(allow_in_deny, 3, &err), -1);
	assert_non_null(strstr(err.msg, "linux.resources.devices[2]"));
	/* The standard allowlist is refused too where the config denies a
	 * wildcard it would need a hole in. */
	const char *const std_hole[] = { "allow a - - rwm", "deny c 1 * rwm" };
	assert_int_equal(build_error(std_hole, 2, &err), -1);
	assert_non_null(strstr(err.msg, "standard allowlist"));
	/* No overlap in access, or the very same numbers: fine. */
	assert_int_equal(build_error(disjoint, 3, &err), 0);
	assert_int_equal(build_error(exact, 3, &err), 0);
}

static void bad_rules_name_their_index(void **state)
{
	const char *const type[] = { "allow c 1 3 r", "allow x 1 3 r" };
	const char *const access[] = { "allow c 1 3 rwz" };
	const char *const none[] = { "allow c 1 3 -" };
	const char *const major[] = { "allow c -2 3 r" };
	struct hrun_error err = { 0 };

	(void)state;
	assert_int_equal(build_error(type, 2, &err), -1);
	assert_non_null(strstr(err.msg, "linux.resources.devices[1].type"));
	assert_int_equal(build_error(access, 1, &err), -1);
	assert_non_null(strstr(err.msg, "linux.resources.devices[0].access"));
	assert_int_equal(build_error(none, 1, &err), -1);
	assert_non_null(strstr(err.msg, "linux.resources.devices[0].access: required"));
	assert_int_equal(build_error(major, 1, &err), -1);
	assert_non_null(strstr(err.msg, "linux.resources.devices[0]"));
}

/* --- the program ---------------------------------------------------------- */

/* Runs PROG on CTX with the few instructions the generator emits; anything
 * else, a backward or out-of-range jump, or falling off the end fails. */
static int run(const struct bpf_insn *prog, size_t n, const struct bpf_cgroup_dev_ctx *ctx)
{
	uint64_t r[11] = { 0 };
	size_t pc = 0;

	while (pc < n) {
		const struct bpf_insn *i = &prog[pc++];
		uint32_t d = (uint32_t)r[i->dst_reg];
		bool jump = false;

		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			assert_int_equal(i->src_reg, 1);
			assert_true(i->off >= 0 && (size_t)i->off + 4 <= sizeof(*ctx) && i->off % 4 == 0);
			r[i->dst_reg] = *(const uint32_t *)((const char *)ctx + i->off);
			break;
		case BPF_ALU | BPF_MOV | BPF_X:
			r[i->dst_reg] = (uint32_t)r[i->src_reg];
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[i->dst_reg] = d & (uint32_t)i->imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			r[i->dst_reg] = d >> i->imm;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
			break;
		case BPF_JMP32 | BPF_JNE | BPF_K:
			jump = d != (uint32_t)i->imm;
			break;
		case BPF_JMP32 | BPF_JEQ | BPF_K:
			jump = d == (uint32_t)i->imm;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			fail_msg("unexpected instruction 0x%02x at %zu", i->code, pc - 1);
		}
		if ((i->code & 0x07) == BPF_JMP32) {
			assert_true(i->off >= 0 && pc + (size_t)i->off < n);
			if (jump)
				pc += (size_t)i->off;
		}
	}
	fail_msg("the program fell off its end");
	return -1;
}

static void program_decides_as_the_state(const struct hrun_dev_state *st)
{
	static const uint32_t majors[] = { 0, 1, 5, 8, 136, 240, 241, 4095, 0x7fffffff, 0xfffffffe };
	static const uint32_t minors[] = { 0, 1, 2, 3, 5, 9, 200, 0xfffffffe };
	struct bpf_insn *prog;
	struct hrun_error err = { 0 };
	size_t n;

	assert_int_equal(hrun_bpf_devices_program(st, &prog, &n, &err), 0);
	for (int t = 0; t < 2; t++)
		for (size_t a = 0; a < N(majors); a++)
			for (size_t b = 0; b < N(minors); b++)
				for (unsigned acc = 1; acc <= RWM; acc++) {
					char type = t ? 'b' : 'c';
					struct bpf_cgroup_dev_ctx ctx = {
						.access_type = (acc << 16) |
							       (t ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
						.major = majors[a],
						.minor = minors[b],
					};
					bool want = hrun_dev_state_allows(st, type, majors[a], minors[b], acc);
					if (run(prog, n, &ctx) != (int)want)
						fail_msg("%c %u:%u access %u: program says %d, rules %d", type, majors[a],
							 minors[b], acc, !want, want);
				}
	free(prog);
}

static void program_matches_rules(void **state)
{
	const char *const deny_all[] = { "deny - - - rwm" };
	const char *const mixed[] = { "deny - - - rwm", "allow c 240 0 r", "allow c 240 * w", "allow b 8 * rwm",
				      "allow c * 200 r", "allow c 4294967294 4294967294 rw" };
	const char *const blacklist[] = { "allow a - - rwm", "deny c 240 1 rw", "deny b * * r",
					  "deny c 2147483647 * m" };
	const char *const *cases[] = { deny_all, mixed, blacklist };
	const size_t sizes[] = { N(deny_all), N(mixed), N(blacklist) };

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct hrun_dev_state st;
		build(cases[i], sizes[i], &st);
		program_decides_as_the_state(&st);
		hrun_dev_state_free(&st);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(standard_allowlist_without_rules),
		cmocka_unit_test(allow_rule_grants_only_its_access),
		cmocka_unit_test(later_rules_override_earlier_ones),
		cmocka_unit_test(the_standard_allowlist_cannot_be_denied),
		cmocka_unit_test(a_hole_in_a_wildcard_is_refused),
		cmocka_unit_test(bad_rules_name_their_index),
		cmocka_unit_test(program_matches_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
