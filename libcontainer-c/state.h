/* The state directory: one directory per container under the root
 * (default /run/hrun), holding state.json and the effective config. */
#ifndef HRUN_STATE_H
#define HRUN_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

#define HRUN_DEFAULT_ROOT "/run/hrun"
#define HRUN_ID_MAX 250

struct hrun_state {
	char *id;
	char *status;	/* creating, created, running, stopped */
	pid_t pid;
	uint64_t pid_start;	/* init's start time (clock ticks), against pid reuse */
	char *bundle;
	char *rootfs;
	char *created;	/* RFC 3339 */
	char *cgroup_path;
	char *systemd_unit;	/* --systemd-cgroup: the container's scope, else NULL */
	char *systemd_bus;	/* the D-Bus address of the manager that made it */
	char *hardening;
	char *userns;	/* how the user namespace came about: "config", "pool HOSTID", "downgraded: WHY", "none" */
	char *landlock_host;	/* the host's Landlock policy applied at create (its text), or NULL: exec applies it again */
};

/* IDs name directories: letters, digits and "_+-." only, no "." or ".."
 * alone, at most HRUN_ID_MAX bytes. */
int hrun_id_validate(const char *id, struct hrun_error *err);

/* Make ID unique under ROOT by creating its directory: "name", then
 * "name-2", ... Returns the directory fd and stores the chosen ID. */
int hrun_state_create_unique(const char *root, const char *base, char **id,
			     struct hrun_error *err);

/* Create the directory of a new container; fails with runc's message when
 * it exists. Returns the directory fd, locked. */
int hrun_state_create(const char *root, const char *id, struct hrun_error *err);

/* Open an existing container's directory; "container does not exist"
 * (ENOENT) when there is none. With LOCK, waits for the container's lock. */
int hrun_state_open(const char *root, const char *id, bool lock, struct hrun_error *err);

/* Read state.json; ENOENT when the container never got that far. */
int hrun_state_read(int dirfd, struct hrun_state *st, struct hrun_error *err);
void hrun_state_free(struct hrun_state *st);

/* The IDs under ROOT, sorted; an absent root is an empty list. */
int hrun_state_list(const char *root, char ***ids, size_t *n, struct hrun_error *err);

/* Start time of PID from /proc/PID/stat, 0 when it is gone or a zombie. */
uint64_t hrun_proc_start_time(pid_t pid);

int hrun_state_write(int dirfd, const struct hrun_state *st, struct hrun_error *err);

/* Save the effective config next to the state. */
int hrun_state_write_config(int dirfd, const struct hrun_spec *spec, struct hrun_error *err);

int hrun_state_remove(const char *root, const char *id, struct hrun_error *err);

/* "2006-01-02T15:04:05.999999999Z" for now; malloc'd. */
char *hrun_rfc3339_now(void);

#endif
