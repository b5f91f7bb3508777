/* hrun: global flags, then one command. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>

#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "config.h"
#include "policy.h"
#include "rootless.h"
#include "state.h"

enum {
	OPT_ROOT,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_DEBUG,
	OPT_SYSTEMD_CGROUP,
	OPT_ROOTLESS,
	OPT_CRIU,
	OPT_HARDENING,
	OPT_HOST_CONFIG,
	OPT_HELP,
	OPT_VERSION,
};

static const struct cli_option global_options[] = {
	{ "root", 0, true, OPT_ROOT, "value", "root directory for container state (default: " HRUN_DEFAULT_ROOT ", $XDG_RUNTIME_DIR/hrun when not root)" },
	{ "log", 0, true, OPT_LOG, "value", "write log lines to this file as well" },
	{ "log-format", 0, true, OPT_LOG_FORMAT, "value", "log file format: text or json" },
	{ "debug", 0, false, OPT_DEBUG, NULL, "log debug messages" },
	{ "systemd-cgroup", 0, false, OPT_SYSTEMD_CGROUP, NULL, "use systemd to manage cgroups" },
	{ "rootless", 0, true, OPT_ROOTLESS, "value", "cgroups without delegation: true, false or auto (default: auto, true when not root)" },
	{ "criu", 0, true, OPT_CRIU, "value", "accepted and ignored (runc compatibility)" },
	{ "hardening", 0, true, OPT_HARDENING, "value", "compat, default or strict (default: from " HRUN_HOST_CONFIG ")" },
	{ "host-config", 0, true, OPT_HOST_CONFIG, "value", "host configuration file (default: " HRUN_HOST_CONFIG ")" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ "version", 'v', false, OPT_VERSION, NULL, "print the version" },
	{ 0 },
};

struct command {
	const char *name;
	int (*fn)(const struct hrun_context *ctx, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "create", cmd_create, "create a container, ready to start" },
	{ "start", cmd_start, "start a created container" },
	{ "run", cmd_run, "create and run a container" },
	{ "exec", cmd_exec, "run a new process in a running container" },
	{ "state", cmd_state, "print a container's state (JSON)" },
	{ "list", cmd_list, "list containers" },
	{ "ps", cmd_ps, "list the processes of a container" },
	{ "events", cmd_events, "print a container's statistics" },
	{ "kill", cmd_kill, "send a signal to a container's init (or all its processes)" },
	{ "pause", cmd_pause, "freeze every process of a container" },
	{ "resume", cmd_resume, "thaw a paused container" },
	{ "update", cmd_update, "change a running container's resource limits" },
	{ "delete", cmd_delete, "remove a container and what it holds" },
	{ "spec", cmd_spec, "write a new hardened config.json" },
	{ "features", cmd_features, "show what this runtime implements (JSON)" },
	{ 0 },
};

struct globals {
	struct hrun_context ctx;
	const char *log;
	enum hrun_log_format log_format;
	bool help;
	bool version;
	bool root_given;
};

static bool flag_on(const char *value)
{
	return cli_bool(value);
}

/* The state root and host config are used after chdir(bundle): make them
 * absolute now, as runc does. */
static int absolute(const char **path, char **owned)
{
	char cwd[4096];

	if ((*path)[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(owned, "%s/%s", cwd, *path) < 0) {
		hrun_log(HRUN_LOG_ERROR, "make \"%s\" absolute: %s", *path, strerror(errno));
		return -1;
	}
	*path = *owned;
	return 0;
}

static int on_global(void *data, int id, const char *value)
{
	struct globals *g = data;

	switch (id) {
	case OPT_ROOT:
		g->ctx.root = value;
		g->root_given = true;
		break;
	case OPT_LOG:
		g->log = value;
		break;
	case OPT_LOG_FORMAT:
		if (strcmp(value, "json") == 0) {
			g->log_format = HRUN_LOG_JSON;
		} else if (strcmp(value, "text") == 0) {
			g->log_format = HRUN_LOG_TEXT;
		} else {
			hrun_log(HRUN_LOG_ERROR, "unknown log-format \"%s\" (text or json)", value);
			return -1;
		}
		break;
	case OPT_DEBUG:
		g->ctx.debug = flag_on(value);
		break;
	case OPT_SYSTEMD_CGROUP:
		g->ctx.systemd_cgroup = flag_on(value);
		break;
	case OPT_ROOTLESS:
		if (hrun_rootless_parse(value, &g->ctx.rootless) < 0) {
			hrun_log(HRUN_LOG_ERROR, "invalid value \"%s\" for --rootless (true, false or auto)", value);
			return -1;
		}
		break;
	case OPT_CRIU:
		break;
	case OPT_HARDENING:
		g->ctx.hardening = hrun_hardening_from_name(value);
		if (g->ctx.hardening < 0) {
			hrun_log(HRUN_LOG_ERROR, "unknown hardening level \"%s\" (compat, default, strict)", value);
			return -1;
		}
		break;
	case OPT_HOST_CONFIG:
		g->ctx.host_config = value;
		break;
	case OPT_HELP:
		g->help = true;
		break;
	case OPT_VERSION:
		g->version = true;
		break;
	}
	return 0;
}

static void print_version(void)
{
	const struct scmp_version *v = seccomp_version();

	printf("hrun version %s\ncommit: %s\nspec: %s\n", PACKAGE_VERSION, HRUN_COMMIT, HRUN_OCI_VERSION);
	if (v)
		printf("libseccomp: %u.%u.%u\n", v->major, v->minor, v->micro);
}

static void print_help(void)
{
	printf("hrun - a hardened, minimal OCI container runtime\n\n"
	       "Usage: hrun [global options] command [command options] [arguments...]\n\n"
	       "Commands:\n");
	for (const struct command *c = commands; c->name; c++)
		printf("   %-12s %s\n", c->name, c->summary);
	printf("\nGlobal options:\n");
	cli_print_options(global_options);
	printf("\nRun \"hrun COMMAND --help\" for a command's options.\n");
}

int cmd_fail(const struct hrun_error *err)
{
	hrun_log(HRUN_LOG_ERROR, "%s", err->msg);
	return 1;
}

int main(int argc, char **argv)
{
	struct globals g = {
		.ctx = { .root = HRUN_DEFAULT_ROOT, .hardening = -1, .host_config = HRUN_HOST_CONFIG },
	};
	struct hrun_error err = { 0 };
	int i = 1;
	int status;

	_cleanup_free_ char *root = NULL;
	_cleanup_free_ char *host_config = NULL;
	_cleanup_free_ char *xdg_root = NULL;

	g.ctx.argv = argv;
	g.ctx.rootless = hrun_rootless_caller();
	if (cli_parse(argc, argv, &i, global_options, on_global, &g) < 0)
		return 1;
	/* As runc: an unprivileged user's containers live under its
	 * XDG_RUNTIME_DIR; without one, /run/hrun is tried and its
	 * permission error says what to do. */
	if (!g.root_given && hrun_rootless_caller() && (xdg_root = hrun_rootless_default_root()))
		g.ctx.root = xdg_root;
	if (absolute(&g.ctx.root, &root) < 0 || absolute(&g.ctx.host_config, &host_config) < 0)
		return 1;
	if (hrun_log_open(g.log, g.log_format, g.ctx.debug, &err) < 0)
		return cmd_fail(&err);
	if (g.version) {
		print_version();
		return 0;
	}
	if (g.help || i >= argc || strcmp(argv[i], "help") == 0) {
		print_help();
		return g.help || i < argc ? 0 : 1;
	}
	for (const struct command *c = commands; c->name; c++) {
		if (strcmp(c->name, argv[i]) == 0) {
			status = c->fn(&g.ctx, argc - i, argv + i);
			hrun_log_close();
			return status;
		}
	}
	hrun_log(HRUN_LOG_ERROR, "hrun: \"%s\" is not a hrun command", argv[i]);
	return 1;
}
