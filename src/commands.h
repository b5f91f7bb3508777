/* One entry per command; each returns the process exit status. ARGV[0] is
 * the command's name, its options follow. */
#ifndef HRUN_COMMANDS_H
#define HRUN_COMMANDS_H

#include "launch.h"

#include "cli.h"

struct hrun_container;
struct hrun_jgen;

int cmd_create(const struct hrun_context *ctx, int argc, char **argv);
int cmd_run(const struct hrun_context *ctx, int argc, char **argv);
int cmd_start(const struct hrun_context *ctx, int argc, char **argv);
int cmd_state(const struct hrun_context *ctx, int argc, char **argv);
int cmd_kill(const struct hrun_context *ctx, int argc, char **argv);
int cmd_delete(const struct hrun_context *ctx, int argc, char **argv);
int cmd_pause(const struct hrun_context *ctx, int argc, char **argv);
int cmd_resume(const struct hrun_context *ctx, int argc, char **argv);
int cmd_list(const struct hrun_context *ctx, int argc, char **argv);
int cmd_ps(const struct hrun_context *ctx, int argc, char **argv);
int cmd_events(const struct hrun_context *ctx, int argc, char **argv);
int cmd_exec(const struct hrun_context *ctx, int argc, char **argv);
int cmd_spec(const struct hrun_context *ctx, int argc, char **argv);
int cmd_features(const struct hrun_context *ctx, int argc, char **argv);
int cmd_update(const struct hrun_context *ctx, int argc, char **argv);

/* Parse NAME's options; then MIN..MAX positional arguments must follow.
 * Returns the index of the first, 0 after printing help, -1 after an
 * error was printed. */
int cmd_args(const char *name, const char *usage, const struct cli_option *options, int argc,
	     char **argv, cli_handler fn, void *data, bool *help, int min, int max);

/* One container as `state` and `list --format json` print it. */
void cmd_container_json(struct hrun_jgen *g, const struct hrun_container *c, const char *owner);

/* Who owns container C's state directory, as `list` shows it (a user
 * name, or "#UID"); written into BUF. */
const char *cmd_owner_name(const struct hrun_container *c, char *buf, size_t len);

/* Print ERR as the command's failure and return the exit status 1. */
int cmd_fail(const struct hrun_error *err);

#endif
