#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static const struct cli_option *find(const struct cli_option *opts, const char *name, size_t len)
{
	for (const struct cli_option *o = opts; o->name; o++) {
		if (len == 1 && o->short_name == name[0])
			return o;
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	}
	return NULL;
}

int cli_parse(int argc, char **argv, int *i, const struct cli_option *opts, cli_handler fn,
	      void *data)
{
	while (*i < argc) {
		const char *arg = argv[*i];
		const char *name, *eq, *value = NULL;
		const struct cli_option *o;
		size_t len;

		if (arg[0] != '-' || arg[1] == '\0')
			return 0;
		if (strcmp(arg, "--") == 0) {
			(*i)++;
			return 0;
		}
		name = arg + (arg[1] == '-' ? 2 : 1);
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find(opts, name, len);
		if (!o) {
			hrun_log(HRUN_LOG_ERROR, "flag provided but not defined: -%.*s", (int)len, name);
			return -1;
		}
		(*i)++;
		if (o->takes_value) {
			if (eq) {
				value = eq + 1;
			} else if (*i < argc) {
				value = argv[(*i)++];
			} else {
				hrun_log(HRUN_LOG_ERROR, "flag needs an argument: -%s", o->name);
				return -1;
			}
		} else if (eq) {
			/* Go's strconv.ParseBool words, normalised. */
			static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
			static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
			value = NULL;
			for (size_t k = 0; k < 6; k++) {
				if (strcmp(eq + 1, yes[k]) == 0)
					value = "true";
				if (strcmp(eq + 1, no[k]) == 0)
					value = "false";
			}
			if (!value) {
				hrun_log(HRUN_LOG_ERROR, "invalid boolean value \"%s\" for -%s", eq + 1, o->name);
				return -1;
			}
		}
		if (fn(data, o->id, value) < 0)
			return -1;
	}
	return 0;
}

void cli_print_options(const struct cli_option *opts)
{
	for (const struct cli_option *o = opts; o->name; o++) {
		char left[64];

		if (o->short_name)
			snprintf(left, sizeof(left), "--%s%s%s, -%c", o->name, o->takes_value ? " " : "",
				 o->takes_value ? o->metavar : "", o->short_name);
		else
			snprintf(left, sizeof(left), "--%s%s%s", o->name, o->takes_value ? " " : "",
				 o->takes_value ? o->metavar : "");
		printf("   %-32s %s\n", left, o->help);
	}
}

bool cli_bool(const char *value)
{
	return !value || strcmp(value, "true") == 0;
}

int cli_parse_uint(const char *name, const char *value, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || *end || end == value || value[0] == '-' || v > UINT_MAX) {
		hrun_log(HRUN_LOG_ERROR, "invalid value \"%s\" for flag -%s: expected an unsigned integer",
			 value, name);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}
