/* Commands that describe rather than run: spec and features. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "features.h"
#include "spec-template.h"

enum { OPT_BUNDLE, OPT_ROOTLESS, OPT_HELP };

static const struct cli_option spec_options[] = {
	{ "bundle", 'b', true, OPT_BUNDLE, "value", "directory to write config.json into (default: the cwd)" },
	{ "rootless", 0, false, OPT_ROOTLESS, NULL, "a config for a container run by an unprivileged user" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ 0 },
};

struct spec_args {
	const char *bundle;
	bool rootless;
	bool help;
};

static int on_spec_option(void *data, int id, const char *value)
{
	struct spec_args *a = data;

	if (id == OPT_BUNDLE)
		a->bundle = value;
	else if (id == OPT_ROOTLESS)
		a->rootless = cli_bool(value);
	else
		a->help = true;
	return 0;
}

static int write_new_file(int dirfd, const char *name, const char *text, struct hrun_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	size_t len = strlen(text);

	if (fd < 0 && errno == EEXIST)
		return hrun_error_set(err, EEXIST, "File %s exists. Remove it first", name);
	if (fd < 0)
		return hrun_error_errno(err, "create \"%s\"", name);
	if (write(fd, text, len) != (ssize_t)len)
		return hrun_error_errno(err, "write \"%s\"", name);
	return 0;
}

int cmd_spec(const struct hrun_context *ctx, int argc, char **argv)
{
	struct spec_args a = { .bundle = "." };
	struct hrun_error err = { 0 };
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dirfd = -1;
	int i = 1;

	(void)ctx;
	if (cli_parse(argc, argv, &i, spec_options, on_spec_option, &a) < 0)
		return 1;
	if (a.help) {
		printf("Usage: hrun spec [command options]\n\n"
		       "Write a hardened config.json for a bundle whose rootfs is ./rootfs:\n"
		       "all namespaces including a user namespace, minimal capabilities,\n"
		       "noNewPrivileges, masked and read-only /proc paths, read-only root.\n\nOptions:\n");
		cli_print_options(spec_options);
		return 0;
	}
	if (i != argc) {
		hrun_log(HRUN_LOG_ERROR, "hrun spec: takes no arguments");
		return 1;
	}
	dirfd = open(a.bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		hrun_error_errno(&err, "bundle \"%s\"", a.bundle);
		return cmd_fail(&err);
	}
	text = hrun_spec_template(a.rootless, &err);
	if (!text || write_new_file(dirfd, "config.json", text, &err) < 0)
		return cmd_fail(&err);
	return 0;
}

int cmd_features(const struct hrun_context *ctx, int argc, char **argv)
{
	struct hrun_error err = { 0 };
	_cleanup_free_ char *text = NULL;

	(void)ctx;
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: hrun features\n\nPrint the runtime-spec features document (JSON).\n");
		return 0;
	}
	if (argc > 1) {
		hrun_log(HRUN_LOG_ERROR, "hrun features: takes no arguments");
		return 1;
	}
	text = hrun_features_json(&err);
	if (!text)
		return cmd_fail(&err);
	fputs(text, stdout);
	return 0;
}
