/* runc-compatible argument parsing: `--flag value`, `--flag=value`,
 * single-dash long flags (`-no-subreaper`), short flags (`-d`, `-b DIR`),
 * options before the positional arguments, `--` to end them. */
#ifndef HRUN_CLI_H
#define HRUN_CLI_H

#include <stdbool.h>

struct cli_option {
	const char *name;   /* long name without dashes */
	char short_name;    /* 0 if none */
	bool takes_value;
	int id;
	const char *metavar;
	const char *help;
};

/* Called once per option found; VALUE is NULL for a plain flag, "true" or
 * "false" for `--flag=BOOL`. Returns 0, or -1 to stop with an error
 * already reported. */
typedef int (*cli_handler)(void *data, int id, const char *value);

/* Parse the options of ARGV starting at *I; on return *I indexes the
 * first positional argument. Returns 0, or -1 after printing runc's
 * message for an unknown flag or a missing value. */
int cli_parse(int argc, char **argv, int *i, const struct cli_option *opts, cli_handler fn,
	      void *data);

/* A flag's value as the handler got it: on unless "--flag=false". */
bool cli_bool(const char *value);

/* Print "   --name value, -n value   help" lines. */
void cli_print_options(const struct cli_option *opts);

/* Parse a decimal unsigned int for option NAME; prints the error. */
int cli_parse_uint(const char *name, const char *value, unsigned int *out);

#endif
