/* Tests for rootless.c: the --rootless values, which resources count as
 * limits, the user namespace added for an unprivileged caller, and how the
 * newuidmap/newgidmap helper is run (fake tools on PATH: the arguments it
 * gets, its complaint in our message, a missing tool named with its
 * package). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "rootless.h"
#include "spec.h"

static void test_parse(void **state)
{
	bool v = false;

	(void)state;
	assert_int_equal(hrun_rootless_parse("true", &v), 0);
	assert_true(v);
	assert_int_equal(hrun_rootless_parse("false", &v), 0);
	assert_false(v);
	assert_int_equal(hrun_rootless_parse("auto", &v), 0);
	assert_int_equal(v, geteuid() != 0);
	assert_int_equal(hrun_rootless_parse("yes", &v), -1);
	assert_int_equal(hrun_rootless_parse("", &v), -1);
}

static void test_limit_asked(void **state)
{
	struct hrun_resources r = { 0 };

	(void)state;
	assert_null(hrun_rootless_limit_asked(&r));
	/* The policy's default pids limit is best effort: not a request. */
	r.pids = (struct hrun_pids){ .set = true, .limit = HRUN_DEFAULT_PIDS_LIMIT };
	assert_null(hrun_rootless_limit_asked(&r));
	r.pids.limit = 100;
	assert_string_equal(hrun_rootless_limit_asked(&r), "linux.resources.pids");
	r.pids.set = false;
	/* An empty blockIO object asks for nothing. */
	r.block_io.set = true;
	assert_null(hrun_rootless_limit_asked(&r));
	r.block_io.weight = (struct hrun_opt_u64){ .set = true, .v = 100 };
	assert_string_equal(hrun_rootless_limit_asked(&r), "linux.resources.blockIO");
	r.memory.set = true;
	assert_string_equal(hrun_rootless_limit_asked(&r), "linux.resources.memory");
}

static struct hrun_spec *parse(const char *json)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *s = hrun_spec_parse(json, strlen(json), "config.json", &err);

	if (!s)
		fail_msg("%s", err.msg);
	return s;
}

static void test_add_userns(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *s = parse("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
				    "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"pid\"}]}}");

	(void)state;
	assert_int_equal(hrun_rootless_add_userns(s, &err), 1);
	assert_non_null(hrun_spec_find_ns(s, HRUN_NS_USER));
	assert_int_equal(s->linux_.uid_mappings.n, 1);
	assert_int_equal(s->linux_.uid_mappings.v[0].container_id, 0);
	assert_int_equal(s->linux_.uid_mappings.v[0].host_id, geteuid());
	assert_int_equal(s->linux_.uid_mappings.v[0].size, 1);
	assert_int_equal(s->linux_.gid_mappings.n, 1);
	assert_int_equal(s->linux_.gid_mappings.v[0].host_id, getegid());
	/* Once there, nothing more is added. */
	assert_int_equal(hrun_rootless_add_userns(s, &err), 0);
	assert_int_equal(s->linux_.n_namespaces, 3);
	hrun_spec_free(s);

	s = parse("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":"
		  "[{\"type\":\"user\"},{\"type\":\"mount\"}],\"uidMappings\":[{\"containerID\":0,"
		  "\"hostID\":1000,\"size\":10}],\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}]}}");
	assert_int_equal(hrun_rootless_add_userns(s, &err), 0);
	/* The config's own maps are kept as written. */
	assert_int_equal(s->linux_.uid_mappings.v[0].host_id, 1000);
	assert_int_equal(s->linux_.uid_mappings.v[0].size, 10);
	hrun_spec_free(s);
}

static char tooldir[] = "/tmp/hrun-test-rootless-XXXXXX";

static void write_tool(const char *name, const char *body)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tooldir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

static void test_idmap_tool(void **state)
{
	struct hrun_idmap v[2] = { { 0, 1000, 1 }, { 1, 200000, 65536 } };
	struct hrun_idmaps maps = { .set = true, .n = 2, .v = v };
	struct hrun_error err = { 0 };
	char args_file[256], line[256] = "";
	char *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(tooldir));
	setenv("PATH", tooldir, 1);

	/* Missing: the message names the package and the files. */
	assert_int_equal(hrun_rootless_run_idmap_tool("newuidmap", 42, &maps, &err), -1);
	assert_non_null(strstr(err.msg, "run newuidmap"));
	assert_non_null(strstr(err.msg, "package uidmap"));
	assert_non_null(strstr(err.msg, "/etc/subuid"));

	/* Its complaint becomes ours. */
	write_tool("newgidmap", "echo \"newgidmap: gid range not allowed\" >&2; exit 1");
	assert_int_equal(hrun_rootless_run_idmap_tool("newgidmap", 42, &maps, &err), -1);
	assert_string_equal(err.msg, "write the user namespace's gid maps with newgidmap: newgidmap: gid range not allowed");

	/* The pid, then each map's three numbers. */
	snprintf(args_file, sizeof(args_file), "%s/args", tooldir);
	{
		char body[400];
		/* Only the shell's own echo: PATH holds nothing else. */
		snprintf(body, sizeof(body), "echo \"$*\" >%s", args_file);
		write_tool("newuidmap", body);
	}
	assert_int_equal(hrun_rootless_run_idmap_tool("newuidmap", 42, &maps, &err), 0);
	f = fopen(args_file, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "42 0 1000 1 1 200000 65536\n");

	if (old_path) {
		setenv("PATH", old_path, 1);
		free(old_path);
	}
	unlink(args_file);
	snprintf(line, sizeof(line), "%s/newuidmap", tooldir);
	unlink(line);
	snprintf(line, sizeof(line), "%s/newgidmap", tooldir);
	unlink(line);
	rmdir(tooldir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_limit_asked),
		cmocka_unit_test(test_add_userns),
		cmocka_unit_test(test_idmap_tool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
