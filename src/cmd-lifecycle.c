/* Commands on an existing container: start, state, kill, delete, pause,
 * resume. Each takes exactly one container ID. */
#define _GNU_SOURCE
#include <ctype.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "config.h"
#include "cli.h"
#include "commands.h"
#include "container.h"
#include "json.h"

enum { OPT_HELP, OPT_FORCE, OPT_ALL };

static const struct cli_option help_only[] = {
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ 0 },
};

static const struct cli_option kill_options[] = {
	{ "all", 'a', false, OPT_ALL, NULL, "send the signal to every process in the container" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ 0 },
};

static const struct cli_option delete_options[] = {
	{ "force", 'f', false, OPT_FORCE, NULL, "kill the container first if it is running or paused" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ 0 },
};

struct flags {
	bool help;
	bool force;
	bool all;
};

static int on_flag(void *data, int id, const char *value)
{
	struct flags *f = data;

	if (id == OPT_HELP)
		f->help = true;
	else if (id == OPT_FORCE)
		f->force = cli_bool(value);
	else if (id == OPT_ALL)
		f->all = cli_bool(value);
	return 0;
}

/* Parse NAME's options; then MIN..MAX positional arguments must follow.
 * Returns the index of the first, 0 after printing help, -1 on error. */
int cmd_args(const char *name, const char *usage, const struct cli_option *options, int argc,
	     char **argv, cli_handler fn, void *data, bool *help, int min, int max)
{
	int i = 1;

	if (cli_parse(argc, argv, &i, options, fn, data) < 0)
		return -1;
	if (*help) {
		printf("Usage: hrun %s %s\n\nOptions:\n", name, usage);
		cli_print_options(options);
		return 0;
	}
	if (argc - i < min || argc - i > max) {
		if (min == max)
			hrun_log(HRUN_LOG_ERROR, "hrun: \"%s\" requires exactly %d argument(s)", name, min);
		else
			hrun_log(HRUN_LOG_ERROR, "hrun: \"%s\" requires %d to %d argument(s)", name, min, max);
		return -1;
	}
	return i;
}

static int one_id(const char *name, const char *usage, const struct cli_option *options, int argc,
		  char **argv, struct flags *f)
{
	return cmd_args(name, usage, options, argc, argv, on_flag, f, &f->help, 1, 1);
}

int cmd_start(const struct hrun_context *ctx, int argc, char **argv)
{
	struct flags f = { 0 };
	struct hrun_error err = { 0 };
	int i = one_id("start", "<container-id>", help_only, argc, argv, &f);

	if (i <= 0)
		return i < 0;
	return hrun_container_start(ctx, argv[i], &err) < 0 ? cmd_fail(&err) : 0;
}

/* What `state` prints for one container and `list --format json` for each. */
/* runc's list names the user who owns the state directory; its state
 * leaves "owner" empty. */
const char *cmd_owner_name(const struct hrun_container *c, char *buf, size_t len)
{
	struct stat st;
	struct passwd *pw;

	if (fstat(c->dirfd, &st) < 0)
		return "";
	pw = getpwuid(st.st_uid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "#%u", (unsigned)st.st_uid);
	return buf;
}

void cmd_container_json(struct hrun_jgen *g, const struct hrun_container *c, const char *owner)
{
	const struct hrun_map *ann = c->spec ? &c->spec->annotations : NULL;

	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "ociVersion");
	hrun_jgen_string(g, HRUN_OCI_VERSION);
	hrun_jgen_key(g, "id");
	hrun_jgen_string(g, c->state.id);
	hrun_jgen_key(g, "pid");
	hrun_jgen_int64(g, c->status == HRUN_STATUS_STOPPED ? 0 : c->state.pid);
	hrun_jgen_key(g, "status");
	hrun_jgen_string(g, hrun_status_name(c->status));
	hrun_jgen_key(g, "bundle");
	hrun_jgen_string(g, c->state.bundle ? c->state.bundle : "");
	hrun_jgen_key(g, "rootfs");
	hrun_jgen_string(g, c->state.rootfs ? c->state.rootfs : "");
	hrun_jgen_key(g, "created");
	hrun_jgen_string(g, c->state.created ? c->state.created : "");
	if (ann && ann->n) {
		hrun_jgen_key(g, "annotations");
		hrun_jgen_map_open(g);
		for (size_t k = 0; k < ann->n; k++) {
			hrun_jgen_key(g, ann->v[k].key);
			hrun_jgen_string(g, ann->v[k].value);
		}
		hrun_jgen_map_close(g);
	}
	hrun_jgen_key(g, "owner");
	hrun_jgen_string(g, owner);
	hrun_jgen_map_close(g);
}

int cmd_state(const struct hrun_context *ctx, int argc, char **argv)
{
	struct flags f = { 0 };
	struct hrun_error err = { 0 };
	struct hrun_container c;
	_cleanup_jgen_ struct hrun_jgen *g = NULL;
	_cleanup_free_ char *text = NULL;
	int i = one_id("state", "<container-id>", help_only, argc, argv, &f);

	if (i <= 0)
		return i < 0;
	if (hrun_container_open(ctx, argv[i], false, &c, &err) < 0)
		return cmd_fail(&err);
	g = hrun_jgen_new(true);
	if (g) {
		cmd_container_json(g, &c, "");
		text = hrun_jgen_finish(g, &err);
	}
	hrun_container_close(&c);
	if (!text)
		return cmd_fail(&err);
	printf("%s\n", text);
	return 0;
}

/* "9", "KILL", "SIGKILL", "kill", "RTMIN+3": what runc accepts. */
static int parse_signal(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	const char *name = s;

	if (*s && !*end)
		return n > 0 && n < NSIG ? (int)n : -1;
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev && strcasecmp(abbrev, name) == 0)
			return sig;
	}
	if (strncasecmp(name, "RTMIN+", 6) == 0 || strncasecmp(name, "RTMAX-", 6) == 0) {
		n = strtol(name + 6, &end, 10);
		if (*end || n < 0 || n > SIGRTMAX - SIGRTMIN)
			return -1;
		return name[3] == 'I' || name[3] == 'i' ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
	}
	if (strcasecmp(name, "RTMIN") == 0)
		return SIGRTMIN;
	if (strcasecmp(name, "RTMAX") == 0)
		return SIGRTMAX;
	return -1;
}

int cmd_kill(const struct hrun_context *ctx, int argc, char **argv)
{
	struct flags f = { 0 };
	struct hrun_error err = { 0 };
	int sig = SIGTERM;
	int i = cmd_args("kill", "[command options] <container-id> [signal]", kill_options, argc, argv,
			 on_flag, &f, &f.help, 1, 2);

	if (i <= 0)
		return i < 0;
	if (i + 1 < argc) {
		sig = parse_signal(argv[i + 1]);
		if (sig < 0) {
			hrun_log(HRUN_LOG_ERROR, "unknown signal \"%s\"", argv[i + 1]);
			return 1;
		}
	}
	return hrun_container_kill(ctx, argv[i], sig, f.all, &err) < 0 ? cmd_fail(&err) : 0;
}

int cmd_delete(const struct hrun_context *ctx, int argc, char **argv)
{
	struct flags f = { 0 };
	struct hrun_error err = { 0 };
	int i = one_id("delete", "[command options] <container-id>", delete_options, argc, argv, &f);

	if (i <= 0)
		return i < 0;
	return hrun_container_delete(ctx, argv[i], f.force, &err) < 0 ? cmd_fail(&err) : 0;
}

static int pause_or_resume(const struct hrun_context *ctx, int argc, char **argv, bool pause)
{
	struct flags f = { 0 };
	struct hrun_error err = { 0 };
	int i = one_id(pause ? "pause" : "resume", "<container-id>", help_only, argc, argv, &f);

	if (i <= 0)
		return i < 0;
	return hrun_container_pause(ctx, argv[i], pause, &err) < 0 ? cmd_fail(&err) : 0;
}

int cmd_pause(const struct hrun_context *ctx, int argc, char **argv)
{
	return pause_or_resume(ctx, argc, argv, true);
}

int cmd_resume(const struct hrun_context *ctx, int argc, char **argv)
{
	return pause_or_resume(ctx, argc, argv, false);
}
