/* The parent side of run: bundle and policy, state, cgroup, spawning init
 * in its namespaces, the sync protocol, signal forwarding, exit status. */
#ifndef HRUN_LAUNCH_H
#define HRUN_LAUNCH_H

#include <stdbool.h>

#include "error.h"

/* What the global flags say, for every command. */
struct hrun_context {
	const char *root;	/* state root */
	int hardening;		/* --hardening level, or -1 */
	const char *host_config; /* path of hrun.conf */
	bool systemd_cgroup;
	bool rootless;
	bool debug;
	char *const *argv;	/* hrun's own, to re-execute it sealed */
};

struct hrun_launch_opts {
	const char *id;		/* NULL: derive from the bundle's name */
	const char *bundle;
	bool no_pivot;
	bool no_new_keyring;
	unsigned int preserve_fds;
	const char *pid_file;
	const char *console_socket;
	bool detach;		/* run -d: return once started */
	bool run;		/* run rather than create (set by the library) */
};

/* Create a container: everything set up, init waiting for `start`.
 * Returns 0, or -1 with ERR filled and nothing left behind. */
int hrun_container_create(const struct hrun_context *ctx, const struct hrun_launch_opts *opts,
			  struct hrun_error *err);

/* Create and start a container; unless detached, wait for it in the
 * foreground. Returns its exit status (128+N when killed by signal N;
 * 0 when detached), or -1 with ERR filled. */
int hrun_container_run(const struct hrun_context *ctx, const struct hrun_launch_opts *opts,
		       struct hrun_error *err);

#endif
