/* One entry per command; each returns the process exit status. ARGV[0] is
 * the command's name, its options follow. */
#ifndef HRUN_COMMANDS_H
#define HRUN_COMMANDS_H

#include "launch.h"

int cmd_run(const struct hrun_context *ctx, int argc, char **argv);
int cmd_spec(const struct hrun_context *ctx, int argc, char **argv);
int cmd_features(const struct hrun_context *ctx, int argc, char **argv);

/* Print ERR as the command's failure and return the exit status 1. */
int cmd_fail(const struct hrun_error *err);

#endif
