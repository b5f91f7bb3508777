/* Commands that report on containers: list, ps, events. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "cgroup-events.h"
#include "cgroup-stats.h"
#include "container.h"
#include "json.h"

enum { OPT_HELP, OPT_FORMAT, OPT_QUIET, OPT_STATS, OPT_INTERVAL };

struct report_args {
	bool help;
	bool json;
	bool quiet;
	bool stats;
	unsigned int interval_ms;
};

static int on_option(void *data, int id, const char *value)
{
	struct report_args *a = data;
	char *end;
	double v;

	switch (id) {
	case OPT_HELP:
		a->help = true;
		break;
	case OPT_FORMAT:
		if (strcmp(value, "json") && strcmp(value, "table")) {
			hrun_log(HRUN_LOG_ERROR, "invalid format option \"%s\" (table or json)", value);
			return -1;
		}
		a->json = strcmp(value, "json") == 0;
		break;
	case OPT_QUIET:
		a->quiet = cli_bool(value);
		break;
	case OPT_STATS:
		a->stats = cli_bool(value);
		break;
	case OPT_INTERVAL:
		/* Go durations as runc takes them: 500ms, 5s, 1m. */
		v = strtod(value, &end);
		if (strcmp(end, "ms") == 0)
			;
		else if (strcmp(end, "s") == 0)
			v *= 1000;
		else if (strcmp(end, "m") == 0)
			v *= 60000;
		else
			v = -1;
		if (v <= 0 || v > 86400000) {
			hrun_log(HRUN_LOG_ERROR, "invalid duration \"%s\" for --interval", value);
			return -1;
		}
		a->interval_ms = (unsigned int)v;
		break;
	}
	return 0;
}

static const struct cli_option list_options[] = {
	{ "format", 'f', true, OPT_FORMAT, "value", "table or json" },
	{ "quiet", 'q', false, OPT_QUIET, NULL, "print only the IDs" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ 0 },
};

/* Columns as Go's tabwriter lays out runc's table: at least 12 wide,
 * 3 spaces of padding. */
static size_t column(size_t width, const char *s)
{
	size_t w = strlen(s) + 3;

	return w > width ? w : width;
}

struct row {
	char pid[16];
	char owner[64];
	struct hrun_container c;
};

int cmd_list(const struct hrun_context *ctx, int argc, char **argv)
{
	struct report_args a = { 0 };
	struct hrun_error err = { 0 };
	_cleanup_free_ struct row *rows = NULL;
	char **ids = NULL;
	size_t n_ids = 0, n = 0;
	size_t w[5] = { 12, 12, 12, 12, 12 };
	int i = cmd_args("list", "[command options]", list_options, argc, argv, on_option, &a, &a.help, 0, 0);
	int r = 0;

	if (i <= 0)
		return i < 0;
	if (hrun_state_list(ctx->root, &ids, &n_ids, &err) < 0)
		return cmd_fail(&err);
	rows = calloc(n_ids + 1, sizeof(*rows));
	if (!rows)
		return 1;
	/* Directories without a readable state are creates in progress or
	 * leftovers of a crash: not listed, as runc does. */
	for (size_t k = 0; k < n_ids; k++)
		if (hrun_container_open(ctx, ids[k], false, &rows[n].c, &err) == 0)
			n++;
	if (a.json) {
		_cleanup_jgen_ struct hrun_jgen *g = hrun_jgen_new(false);
		_cleanup_free_ char *text = NULL;

		if (g) {
			hrun_jgen_array_open(g);
			for (size_t k = 0; k < n; k++)
				cmd_container_json(g, &rows[k].c,
						   cmd_owner_name(&rows[k].c, rows[k].owner, sizeof(rows[k].owner)));
			hrun_jgen_array_close(g);
			text = hrun_jgen_finish(g, &err);
		}
		if (text)
			printf("%s\n", text);
		else
			r = cmd_fail(&err);
	} else if (a.quiet) {
		for (size_t k = 0; k < n; k++)
			printf("%s\n", rows[k].c.state.id);
	} else {
		for (size_t k = 0; k < n; k++) {
			struct row *row = &rows[k];
			snprintf(row->pid, sizeof(row->pid), "%d",
				 row->c.status == HRUN_STATUS_STOPPED ? 0 : row->c.state.pid);
			w[0] = column(w[0], row->c.state.id);
			w[1] = column(w[1], row->pid);
			w[2] = column(w[2], hrun_status_name(row->c.status));
			w[3] = column(w[3], row->c.state.bundle);
			w[4] = column(w[4], row->c.state.created);
		}
		printf("%-*s%-*s%-*s%-*s%-*s%s\n", (int)w[0], "ID", (int)w[1], "PID", (int)w[2], "STATUS",
		       (int)w[3], "BUNDLE", (int)w[4], "CREATED", "OWNER");
		for (size_t k = 0; k < n; k++) {
			struct row *row = &rows[k];
			printf("%-*s%-*s%-*s%-*s%-*s%s\n", (int)w[0], row->c.state.id, (int)w[1], row->pid,
			       (int)w[2], hrun_status_name(row->c.status), (int)w[3], row->c.state.bundle,
			       (int)w[4], row->c.state.created,
			       cmd_owner_name(&row->c, row->owner, sizeof(row->owner)));
		}
	}
	for (size_t k = 0; k < n; k++)
		hrun_container_close(&rows[k].c);
	for (size_t k = 0; k < n_ids; k++)
		free(ids[k]);
	free(ids);
	return r;
}

static const struct cli_option ps_options[] = {
	{ "format", 'f', true, OPT_FORMAT, "value", "table or json" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ 0 },
};

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
	for (size_t k = 0; k < n; k++)
		if (pids[k] == pid)
			return true;
	return false;
}

/* Run ps(1) with ARGS and keep the header and the container's lines,
 * finding the PID column from the header as runc does. */
static int ps_table(char **args, int n_args, const pid_t *pids, size_t n)
{
	_cleanup_free_ char **argv = calloc((size_t)n_args + 3, sizeof(char *));
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int pipefd[2], status, pid_col = -1;
	FILE *f;
	pid_t child;

	if (!argv || pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	argv[0] = "ps";
	if (n_args == 0)
		argv[1] = "-ef";
	for (int k = 0; k < n_args; k++)
		argv[k + 1] = args[k];
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		execvp("ps", argv);
		_exit(127);
	}
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	for (bool header = true; f && getline(&line, &cap, f) > 0; header = false) {
		char *copy = strdup(line), *save = NULL, *tok;
		int col = 0;
		bool keep = header;

		if (!copy)
			break;
		for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++) {
			if (header && strcmp(tok, "PID") == 0)
				pid_col = col;
			if (!header && col == pid_col)
				keep = has_pid(pids, n, strtol(tok, NULL, 10));
		}
		free(copy);
		if (keep)
			fputs(line, stdout);
	}
	if (f)
		fclose(f);
	waitpid(child, &status, 0);
	if (pid_col < 0) {
		hrun_log(HRUN_LOG_ERROR, "couldn't find PID field in ps output");
		return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int cmd_ps(const struct hrun_context *ctx, int argc, char **argv)
{
	struct report_args a = { 0 };
	struct hrun_error err = { 0 };
	struct hrun_container c;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int i = cmd_args("ps", "[command options] <container-id> [ps options]", ps_options, argc, argv,
			 on_option, &a, &a.help, 1, 1 << 20);
	int r;

	if (i <= 0)
		return i < 0;
	if (hrun_container_open(ctx, argv[i], false, &c, &err) < 0)
		return cmd_fail(&err);
	if (c.status == HRUN_STATUS_STOPPED)
		r = hrun_error_plain(&err, ESRCH, "container not running");
	else if (!c.cgroup.path)
		r = hrun_error_plain(&err, ENOTSUP,
				     "container %s has no cgroup of its own (rootless without cgroup delegation): ps needs one",
				     argv[i]);
	else
		r = hrun_cgroup_pids(&c.cgroup, &pids, &n, &err);
	hrun_container_close(&c);
	if (r < 0)
		return cmd_fail(&err);
	if (a.json) {
		printf("[");
		for (size_t k = 0; k < n; k++)
			printf("%s%d", k ? "," : "", pids[k]);
		printf("]\n");
		return 0;
	}
	/* runc takes "ps ID -- ARGS" and "ps ID ARGS" alike. */
	i++;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	return ps_table(argv + i, argc - i, pids, n) < 0 ? 1 : 0;
}

static const struct cli_option events_options[] = {
	{ "stats", 0, false, OPT_STATS, NULL, "print the container's statistics once and exit" },
	{ "interval", 0, true, OPT_INTERVAL, "value", "time between statistics events (default: 5s)" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ 0 },
};

static void stats_json(struct hrun_jgen *g, const char *id, const struct hrun_cgroup *cg)
{
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "type");
	hrun_jgen_string(g, "stats");
	hrun_jgen_key(g, "id");
	hrun_jgen_string(g, id);
	hrun_jgen_key(g, "data");
	hrun_cgroup_stats_json(g, cg);
	hrun_jgen_map_close(g);
}

/* One line of JSON; false once the container is gone. */
static bool print_stats(const struct hrun_context *ctx, const char *id, struct hrun_error *err)
{
	struct hrun_container c;
	_cleanup_jgen_ struct hrun_jgen *g = NULL;
	_cleanup_free_ char *text = NULL;
	bool live;

	if (hrun_container_open(ctx, id, false, &c, err) < 0)
		return false;
	live = c.status != HRUN_STATUS_STOPPED;
	if (!live) {
		hrun_error_plain(err, ESRCH, "container not running");
	} else {
		g = hrun_jgen_new(false);
		if (g) {
			stats_json(g, id, &c.cgroup);
			text = hrun_jgen_finish(g, err);
		}
	}
	hrun_container_close(&c);
	if (!text)
		return false;
	printf("%s\n", text);
	fflush(stdout);
	return true;
}

/* runc's notification event: {"type":"oom","id":ID}, no data. */
static void print_oom(const char *id)
{
	_cleanup_jgen_ struct hrun_jgen *g = hrun_jgen_new(false);
	struct hrun_error err = { 0 };
	_cleanup_free_ char *text = NULL;

	if (!g)
		return;
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "type");
	hrun_jgen_string(g, "oom");
	hrun_jgen_key(g, "id");
	hrun_jgen_string(g, id);
	hrun_jgen_map_close(g);
	text = hrun_jgen_finish(g, &err);
	if (text) {
		printf("%s\n", text);
		fflush(stdout);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The cgroup's OOM watch, set up before the first stats line so that a
 * caller who has read it knows no OOM from then on is missed. */
static int open_oom_watch(const struct hrun_context *ctx, const char *id, struct hrun_oom_watch *w,
			  struct hrun_error *err)
{
	struct hrun_container c;
	int r = 0;

	*w = (struct hrun_oom_watch){ .fd = -1, .v2_events_fd = -1, .v2_state_fd = -1, .v1_control_fd = -1 };
	if (hrun_container_open(ctx, id, false, &c, err) < 0)
		return -1;
	if (c.status != HRUN_STATUS_STOPPED && c.cgroup.path)
		r = hrun_oom_watch_open(&c.cgroup, w, err);
	hrun_container_close(&c);
	return r;
}

int cmd_events(const struct hrun_context *ctx, int argc, char **argv)
{
	struct report_args a = { .interval_ms = 5000 };
	struct hrun_error err = { 0 };
	struct hrun_oom_watch w;
	int64_t next;
	int i = cmd_args("events", "[command options] <container-id>", events_options, argc, argv, on_option,
			 &a, &a.help, 1, 1);

	if (i <= 0)
		return i < 0;
	if (!a.stats && open_oom_watch(ctx, argv[i], &w, &err) < 0)
		return cmd_fail(&err);
	if (!print_stats(ctx, argv[i], &err)) {
		if (!a.stats)
			hrun_oom_watch_close(&w);
		return cmd_fail(&err);
	}
	if (a.stats)
		return 0;
	/* Stats every interval, OOM kills as they happen; the stream ends
	 * with the container. */
	for (next = now_ms() + a.interval_ms;;) {
		struct pollfd p = { .fd = w.fd, .events = POLLIN };
		int64_t left = next - now_ms();
		int n;

		if (left > 0 && poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left) > 0) {
			bool gone;

			n = hrun_oom_watch_read(&w, &gone);
			for (int k = 0; k < n; k++)
				print_oom(argv[i]);
			/* The container is gone (or the watch broke): the
			 * stats below tell, now rather than at the interval. */
			if (n < 0 || gone) {
				hrun_oom_watch_close(&w);
				next = now_ms();
			}
			continue;
		}
		if (left > 0)
			continue;
		next = now_ms() + a.interval_ms;
		if (!print_stats(ctx, argv[i], &err))
			break;
	}
	hrun_oom_watch_close(&w);
	return 0;
}
