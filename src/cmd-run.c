/* hrun create and hrun run: create a container; run also starts it and,
 * unless detached, waits for it in the foreground. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

enum {
	OPT_BUNDLE,
	OPT_PID_FILE,
	OPT_CONSOLE_SOCKET,
	OPT_NO_PIVOT,
	OPT_NO_NEW_KEYRING,
	OPT_PRESERVE_FDS,
	OPT_DETACH,
	OPT_NO_SUBREAPER,
	OPT_HELP,
};

#define COMMON_OPTIONS                                                                                            \
	{ "bundle", 'b', true, OPT_BUNDLE, "value", "path to the root of the bundle directory (default: the cwd)" }, \
	{ "pid-file", 0, true, OPT_PID_FILE, "value", "write the init's host pid to this file" },                     \
	{ "console-socket", 0, true, OPT_CONSOLE_SOCKET, "value",                                                   \
	  "unix socket that receives the pty master (process.terminal)" },                                          \
	{ "no-pivot", 0, false, OPT_NO_PIVOT, NULL, "move the root instead of pivot_root (ramdisk roots)" },          \
	{ "no-new-keyring", 0, false, OPT_NO_NEW_KEYRING, NULL, "keep the caller's session keyring" },              \
	{ "preserve-fds", 0, true, OPT_PRESERVE_FDS, "value", "pass N more fds (3 .. 3+N-1) to the container" },     \
	{ "help", 'h', false, OPT_HELP, NULL, "show help" }

static const struct cli_option create_options[] = { COMMON_OPTIONS, { 0 } };

static const struct cli_option run_options[] = {
	COMMON_OPTIONS,
	{ "detach", 'd', false, OPT_DETACH, NULL, "return once the container has started" },
	{ "no-subreaper", 0, false, OPT_NO_SUBREAPER, NULL, "accepted for runc compatibility" },
	{ 0 },
};

struct run_args {
	struct hrun_launch_opts opts;
	bool help;
};

static int on_option(void *data, int id, const char *value)
{
	struct run_args *a = data;

	switch (id) {
	case OPT_BUNDLE:
		a->opts.bundle = value;
		break;
	case OPT_PID_FILE:
		a->opts.pid_file = value;
		break;
	case OPT_CONSOLE_SOCKET:
		a->opts.console_socket = value;
		break;
	case OPT_NO_PIVOT:
		a->opts.no_pivot = cli_bool(value);
		break;
	case OPT_NO_NEW_KEYRING:
		a->opts.no_new_keyring = cli_bool(value);
		break;
	case OPT_PRESERVE_FDS:
		return cli_parse_uint("preserve-fds", value, &a->opts.preserve_fds);
	case OPT_DETACH:
		a->opts.detach = cli_bool(value);
		break;
	case OPT_NO_SUBREAPER:
		break;
	case OPT_HELP:
		a->help = true;
		break;
	}
	return 0;
}

static int parse(const char *name, const struct cli_option *options, int argc, char **argv,
		 struct run_args *a)
{
	int i = 1;

	a->opts.bundle = ".";
	if (cli_parse(argc, argv, &i, options, on_option, a) < 0)
		return -1;
	if (a->help)
		return 0;
	if (argc - i != 1) {
		hrun_log(HRUN_LOG_ERROR, "hrun: \"%s\" requires exactly 1 argument(s)", name);
		return -1;
	}
	/* IDs cannot contain "/": such an argument names a bundle. */
	if (strchr(argv[i], '/'))
		a->opts.bundle = argv[i];
	else
		a->opts.id = argv[i];
	return 0;
}

int cmd_create(const struct hrun_context *ctx, int argc, char **argv)
{
	struct run_args a = { 0 };
	struct hrun_error err = { 0 };

	if (parse("create", create_options, argc, argv, &a) < 0)
		return 1;
	if (a.help) {
		printf("Usage: hrun create [command options] <container-id>\n\n"
		       "Set up a container and leave its init waiting for \"hrun start\".\n\nOptions:\n");
		cli_print_options(create_options);
		return 0;
	}
	if (hrun_container_create(ctx, &a.opts, &err) < 0)
		return cmd_fail(&err);
	return 0;
}

int cmd_run(const struct hrun_context *ctx, int argc, char **argv)
{
	struct run_args a = { 0 };
	struct hrun_error err = { 0 };
	int status;

	if (parse("run", run_options, argc, argv, &a) < 0)
		return 1;
	if (a.help) {
		printf("Usage: hrun run [command options] <container-id>\n"
		       "       hrun run [command options] <bundle-path>/\n\n"
		       "Create and start a container and wait for it, forwarding signals and\n"
		       "exiting with its status (128+N when killed by signal N). An argument\n"
		       "containing \"/\" is a bundle path; the ID is then its directory name,\n"
		       "made unique.\n\nOptions:\n");
		cli_print_options(run_options);
		return 0;
	}
	status = hrun_container_run(ctx, &a.opts, &err);
	if (status < 0)
		return cmd_fail(&err);
	return status;
}
