/* hrun exec: runc's `exec [options] ID CMD [ARGS...]` and `exec -p FILE ID`. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "exec.h"

enum {
	OPT_PROCESS,
	OPT_TTY,
	OPT_DETACH,
	OPT_ENV,
	OPT_USER,
	OPT_CWD,
	OPT_CAP,
	OPT_NO_NEW_PRIVS,
	OPT_PID_FILE,
	OPT_CONSOLE_SOCKET,
	OPT_PRESERVE_FDS,
	OPT_IGNORED,
	OPT_HELP,
};

static const struct cli_option exec_options[] = {
	{ "process", 'p', true, OPT_PROCESS, "value", "path to a process.json to run instead of the arguments" },
	{ "tty", 't', false, OPT_TTY, NULL, "allocate a pseudo-TTY" },
	{ "detach", 'd', false, OPT_DETACH, NULL, "return once the process has started" },
	{ "env", 'e', true, OPT_ENV, "value", "set an environment variable (repeatable)" },
	{ "user", 'u', true, OPT_USER, "value", "uid[:gid] to run as" },
	{ "cwd", 0, true, OPT_CWD, "value", "working directory in the container" },
	{ "cap", 'c', true, OPT_CAP, "value", "add a capability (repeatable)" },
	{ "no-new-privs", 0, false, OPT_NO_NEW_PRIVS, NULL, "set no_new_privs for the process" },
	{ "pid-file", 0, true, OPT_PID_FILE, "value", "write the process's host pid to this file" },
	{ "console-socket", 0, true, OPT_CONSOLE_SOCKET, "value", "unix socket that receives the pty master" },
	{ "preserve-fds", 0, true, OPT_PRESERVE_FDS, "value", "pass N more fds (3 .. 3+N-1) to the process" },
	{ "ignore-paused", 0, false, OPT_IGNORED, NULL, "accepted for runc compatibility" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ 0 },
};

struct exec_args {
	struct hrun_exec_opts o;
	bool help;
	bool failed;
};

static void push(char ***v, size_t *n, const char *s, bool *failed)
{
	char **more = realloc(*v, (*n + 1) * sizeof(**v));

	if (!more) {
		*failed = true;
		return;
	}
	more[(*n)++] = (char *)s;
	*v = more;
}

static int on_option(void *data, int id, const char *value)
{
	struct exec_args *a = data;

	switch (id) {
	case OPT_PROCESS:
		a->o.process_file = value;
		break;
	case OPT_TTY:
		a->o.tty = cli_bool(value);
		break;
	case OPT_DETACH:
		a->o.detach = cli_bool(value);
		break;
	case OPT_ENV:
		push(&a->o.env, &a->o.n_env, value, &a->failed);
		break;
	case OPT_USER:
		a->o.user = value;
		break;
	case OPT_CWD:
		a->o.cwd = value;
		break;
	case OPT_CAP:
		push(&a->o.caps, &a->o.n_caps, value, &a->failed);
		break;
	case OPT_NO_NEW_PRIVS:
		a->o.no_new_privs = cli_bool(value);
		break;
	case OPT_PID_FILE:
		a->o.pid_file = value;
		break;
	case OPT_CONSOLE_SOCKET:
		a->o.console_socket = value;
		break;
	case OPT_PRESERVE_FDS:
		return cli_parse_uint("preserve-fds", value, &a->o.preserve_fds);
	case OPT_HELP:
		a->help = true;
		break;
	}
	return 0;
}

int cmd_exec(const struct hrun_context *ctx, int argc, char **argv)
{
	struct exec_args a = { 0 };
	struct hrun_error err = { 0 };
	int i = cmd_args("exec", "[command options] <container-id> <command> [command options]", exec_options,
			 argc, argv, on_option, &a, &a.help, 1, 1 << 20);
	int status;

	if (i <= 0)
		return i < 0;
	if (a.failed) {
		hrun_log(HRUN_LOG_ERROR, "out of memory");
		return 1;
	}
	a.o.id = argv[i];
	if (!a.o.process_file) {
		a.o.args = argv + i + 1;
		a.o.n_args = (size_t)(argc - i - 1);
	}
	status = hrun_container_exec(ctx, &a.o, &err);
	free(a.o.env);
	free(a.o.caps);
	if (status < 0)
		return cmd_fail(&err);
	return status;
}
