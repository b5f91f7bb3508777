/* Landlock policies as hrun reads them: the io.hrun.landlock annotation
 * and the host's landlock_policy file, each one JSON document
 *
 *   {"read": ["/usr", "/etc"], "write": ["/tmp"],
 *    "tcpBind": [8080], "tcpConnect": [53, 443], "bestEffort": false}
 *
 * parsed into plain data, and the check of a policy against the kernel's
 * Landlock ABI. Nothing here talks to the kernel but through the ABI
 * number it is given (landlock.c applies the rules). docs/landlock.md
 * says what each key grants. */
#ifndef HRUN_LANDLOCK_POLICY_H
#define HRUN_LANDLOCK_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "spec.h"

#define HRUN_LANDLOCK_ANNOTATION "io.hrun.landlock"

/* Rules one policy may hold (paths and ports together): a policy is a
 * short list of trees, not a file index. */
#define HRUN_LANDLOCK_MAX_RULES 4096

struct hrun_landlock_ports {
	bool set;	/* the key was given: this kind of access is restricted */
	size_t n;
	uint16_t *v;
};

/* One layer: what it lists is allowed, the rest of each restricted kind
 * of access is denied. */
struct hrun_landlock_policy {
	char *origin;	/* for messages: "annotation io.hrun.landlock" or the host file */
	bool fs;	/* "read" or "write" given: the filesystem is restricted */
	struct hrun_strv read;
	struct hrun_strv write;
	struct hrun_landlock_ports tcp_bind;
	struct hrun_landlock_ports tcp_connect;
	bool best_effort;	/* rights this kernel lacks are dropped with a warning */
	bool skip_missing;	/* paths missing in the image (silently) or through a symlink (with a warning) grant nothing (host layer) */
};

/* Every layer that applies to a container's processes, and the ABI of the
 * kernel they run on (probed by the parent before anything exists). */
#define HRUN_LANDLOCK_MAX_LAYERS 2
struct hrun_landlock {
	size_t n;
	struct hrun_landlock_policy layers[HRUN_LANDLOCK_MAX_LAYERS];
	int abi;
};

/* Parse the policy document TEXT (LEN bytes); ORIGIN names it in every
 * message ("annotation io.hrun.landlock: write[0]: ..."). Unknown keys,
 * relative paths, ".." and ports outside 0..65535 are refused: a typo in
 * a security policy must not pass silently. */
int hrun_landlock_policy_parse(const char *text, size_t len, const char *origin,
			       struct hrun_landlock_policy *out, struct hrun_error *err);
void hrun_landlock_policy_free(struct hrun_landlock_policy *p);
void hrun_landlock_free(struct hrun_landlock *ll);

/* The lowest ABI that enforces everything P declares: 3 for the
 * filesystem (read-only trees must also refuse truncate), 4 for TCP
 * ports. */
int hrun_landlock_policy_min_abi(const struct hrun_landlock_policy *p);

/* Refuse P on a kernel whose ABI (ABI <= 0: no Landlock) cannot enforce
 * it, or, with bestEffort, warn about what will not be restricted. */
int hrun_landlock_policy_check_abi(const struct hrun_landlock_policy *p, int abi,
				   struct hrun_error *err);

/* The text of the host's policy file PATH ("" for none: *TEXT NULL); a
 * configured file that is missing is an error, not "no policy". */
int hrun_landlock_read_host_policy(const char *path, char **text, struct hrun_error *err);

/* The layers for SPEC: the host's policy (HOST_TEXT, NULL or "" for none;
 * HOST_ORIGIN names it), then the io.hrun.landlock annotation. Checks
 * them against this kernel and makes no_new_privs part of SPEC's process
 * (the kernel confines an unprivileged process only with it); an explicit
 * "noNewPrivileges": false is refused. */
int hrun_landlock_load(struct hrun_spec *spec, const char *host_text, const char *host_origin,
		       struct hrun_landlock *out, struct hrun_error *err);

#endif
