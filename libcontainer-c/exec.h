/* hrun exec: a new process in a running container, in all its
 * namespaces and its cgroup, with its own process attributes. */
#ifndef HRUN_EXEC_H
#define HRUN_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "launch.h"

struct hrun_exec_opts {
	const char *id;
	const char *process_file;	/* --process: a whole process object */
	/* Otherwise the container's process with these changes: */
	char **args;
	size_t n_args;
	char **env;			/* appended, "KEY=VALUE" */
	size_t n_env;
	const char *cwd;
	const char *user;		/* "uid[:gid]" */
	char **caps;			/* added to bounding, effective, permitted */
	size_t n_caps;
	bool no_new_privs;
	bool tty;
	bool detach;
	const char *pid_file;
	const char *console_socket;
	unsigned int preserve_fds;
};

/* Returns the process's exit status (0 when detached once it has
 * exec'd), or -1 with ERR filled. */
int hrun_container_exec(const struct hrun_context *ctx, const struct hrun_exec_opts *opts,
			struct hrun_error *err);

#endif
