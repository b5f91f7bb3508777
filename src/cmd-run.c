/* hrun run: create, start and wait in the foreground. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

enum {
	OPT_BUNDLE,
	OPT_NO_PIVOT,
	OPT_NO_NEW_KEYRING,
	OPT_PRESERVE_FDS,
	OPT_HELP,
};

static const struct cli_option run_options[] = {
	{ "bundle", 'b', true, OPT_BUNDLE, "value", "path to the root of the bundle directory (default: the cwd)" },
	{ "no-pivot", 0, false, OPT_NO_PIVOT, NULL, "move the root instead of pivot_root (ramdisk roots)" },
	{ "no-new-keyring", 0, false, OPT_NO_NEW_KEYRING, NULL, "keep the caller's session keyring" },
	{ "preserve-fds", 0, true, OPT_PRESERVE_FDS, "value", "pass N more fds (3 .. 3+N-1) to the container" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
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
	case OPT_NO_PIVOT:
		a->opts.no_pivot = cli_bool(value);
		break;
	case OPT_NO_NEW_KEYRING:
		a->opts.no_new_keyring = cli_bool(value);
		break;
	case OPT_PRESERVE_FDS:
		return cli_parse_uint("preserve-fds", value, &a->opts.preserve_fds);
	case OPT_HELP:
		a->help = true;
		break;
	}
	return 0;
}

static void usage(void)
{
	printf("Usage: hrun run [command options] <container-id>\n"
	       "       hrun run [command options] <bundle-path>/\n\n"
	       "Create and start a container and wait for it, forwarding signals and\n"
	       "exiting with its status (128+N when killed by signal N). An argument\n"
	       "containing \"/\" is a bundle path; the ID is then its directory name,\n"
	       "made unique.\n\nOptions:\n");
	cli_print_options(run_options);
}

int cmd_run(const struct hrun_context *ctx, int argc, char **argv)
{
	struct run_args a = { .opts = { .bundle = "." } };
	struct hrun_error err = { 0 };
	int i = 1;
	int status;

	if (cli_parse(argc, argv, &i, run_options, on_option, &a) < 0)
		return 1;
	if (a.help) {
		usage();
		return 0;
	}
	if (argc - i != 1) {
		hrun_log(HRUN_LOG_ERROR, "hrun run: %s", argc - i < 1 ? "container id cannot be empty"
								    : "expects exactly one argument");
		return 1;
	}
	/* IDs cannot contain "/": such an argument names a bundle. */
	if (strchr(argv[i], '/'))
		a.opts.bundle = argv[i];
	else
		a.opts.id = argv[i];
	status = hrun_container_run(ctx, &a.opts, &err);
	if (status < 0)
		return cmd_fail(&err);
	return status;
}
