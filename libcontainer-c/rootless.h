/* What hrun does differently when an unprivileged user runs it: the
 * state root under $XDG_RUNTIME_DIR, a user namespace of its own mapping
 * the caller when the config has none, id maps written with the setuid
 * newuidmap/newgidmap where the kernel would refuse ours, and what needs
 * host privilege refused or skipped with a clear word. */
#ifndef HRUN_ROOTLESS_H
#define HRUN_ROOTLESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* The state root's name under $XDG_RUNTIME_DIR. */
#define HRUN_ROOTLESS_ROOT_NAME "hrun"

/* Whether the caller is unprivileged: the kernel's view (euid), which
 * decides what hrun may create. */
bool hrun_rootless_caller(void);

/* The --rootless value: "true", "false", or "auto" (the caller's euid).
 * Returns -1 for anything else. */
int hrun_rootless_parse(const char *value, bool *rootless);

/* The default state root for an unprivileged caller,
 * "$XDG_RUNTIME_DIR/hrun" (malloc'd), or NULL when XDG_RUNTIME_DIR is
 * unset or not absolute. */
char *hrun_rootless_default_root(void);

/* An unprivileged caller compiles seccomp profiles into a cache of its
 * own, "$XDG_RUNTIME_DIR/hrun-seccomp" (the host's is root's, and one
 * owned by someone else is never trusted), or none without
 * XDG_RUNTIME_DIR: DIR (LEN bytes) is rewritten. Nothing for root. */
void hrun_rootless_seccomp_cache(char *dir, size_t len);

/* An unprivileged caller's container needs a user namespace: add one to
 * SPEC when it has none, mapping container id 0 to the caller's euid and
 * egid (one id each), the only maps the kernel lets us write ourselves.
 * Returns 1 when one was added, 0 when the config had its own. */
int hrun_rootless_add_userns(struct hrun_spec *spec, struct hrun_error *err);

/* Refuse, before anything exists, what an unprivileged hrun cannot do:
 * idmapped mounts. */
int hrun_rootless_check(const struct hrun_spec *spec, struct hrun_error *err);

/* The first linux.resources field that asks for a limit (its JSON path,
 * "linux.resources.memory"), or NULL. Device rules do not count (no
 * device node can be made in a user namespace anyway), nor a pids limit
 * of exactly the policy's default. */
const char *hrun_rootless_limit_asked(const struct hrun_resources *res);

/* Write MAPS as PID's FILE ("uid_map" or "gid_map") with the setuid
 * helper TOOL ("newuidmap" or "newgidmap"), which checks them against
 * /etc/subuid or /etc/subgid. */
int hrun_rootless_run_idmap_tool(const char *tool, pid_t pid, const struct hrun_idmaps *maps,
				 struct hrun_error *err);

#endif
