#define _GNU_SOURCE
#include "seccomp-notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "container.h"
#include "json.h"
#include "unix-socket.h"

/* The one fd we pass; its name in the "fds" array. */
#define SECCOMP_FD_NAME "seccompFd"

char *hrun_seccomp_agent_json(const struct hrun_seccomp *sc, const struct hrun_seccomp_agent_msg *m,
			      struct hrun_error *err)
{
	_cleanup_jgen_ struct hrun_jgen *g = hrun_jgen_new(false);
	char *const fds[] = { SECCOMP_FD_NAME };

	if (!g) {
		hrun_error_errno(err, "allocate json generator");
		return NULL;
	}
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "ociVersion");
	hrun_jgen_string(g, HRUN_OCI_VERSION);
	hrun_jgen_key(g, "fds");
	hrun_jgen_strv(g, fds, 1);
	hrun_jgen_key(g, "pid");
	hrun_jgen_int64(g, m->pid);
	if (sc->listener_metadata) {
		hrun_jgen_key(g, "metadata");
		hrun_jgen_string(g, sc->listener_metadata);
	}
	hrun_jgen_key(g, "state");
	hrun_state_gen(g, m->id, m->status, m->init_pid, m->bundle, m->annotations);
	hrun_jgen_map_close(g);
	return hrun_jgen_finish(g, err);
}


int hrun_seccomp_notify_agent(const struct hrun_seccomp *sc, int listener,
			      const struct hrun_seccomp_agent_msg *m, struct hrun_error *err)
{
	_cleanup_free_ char *json = NULL;
	_cleanup_free_ char *joined = NULL;
	_cleanup_close_ int sock = -1;
	const char *path = sc->listener_path;

	if (!path || !*path)
		return hrun_error_plain(err, EINVAL, "linux.seccomp: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
	if (path[0] != '/' && m->bundle) {
		if (asprintf(&joined, "%s/%s", m->bundle, path) < 0)
			return hrun_error_errno(err, "asprintf");
		path = joined;
	}
	json = hrun_seccomp_agent_json(sc, m, err);
	if (!json)
		return -1;
	sock = hrun_unix_connect(path, "seccomp agent at linux.seccomp.listenerPath", err);
	if (sock < 0)
		return -1;
	/* The runtime-spec allows several sendmsg calls, the fds in the first. */
	if (hrun_unix_send_fd(sock, json, strlen(json), listener) < 0)
		return hrun_error_errno(err, "linux.seccomp.listenerPath \"%s\": send the container process state and the listener to the agent",
					path);
	/* One state per connection, then closed (runtime-spec). */
	if (close(sock) < 0 && errno != EINTR) {
		sock = -1;
		return hrun_error_errno(err, "close the connection to the seccomp agent");
	}
	sock = -1;
	return 0;
}
