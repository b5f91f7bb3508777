/* The systemd cgroup manager (--systemd-cgroup): the container's cgroup
 * is a transient scope that systemd makes (StartTransientUnit over D-Bus,
 * Delegate=yes) in the slice cgroupsPath names, "slice:prefix:name" as
 * runc reads it. The container runs in SCOPE/container, which systemd
 * never rewrites (it does the scope's own cgroup on daemon-reload);
 * limits are written there through cgroupfs, like the cgroupfs manager
 * does; delete stops the unit. */
#ifndef HRUN_CGROUP_SYSTEMD_H
#define HRUN_CGROUP_SYSTEMD_H

#include <stdbool.h>

#include "cgroup.h"
#include "error.h"

/* The slice and unit for CGROUPS_PATH: "slice:prefix:name" gives the scope
 * "prefix-name.scope" (or "name.scope") in "slice"; an empty slice is
 * system.slice (user.slice when ROOTLESS), "-" the root slice; an unset
 * cgroupsPath is ":hrun:ID". Both malloc'd. */
int hrun_systemd_parse_path(const char *cgroups_path, const char *id, bool rootless, char **slice,
			    char **unit, struct hrun_error *err);

/* The D-Bus address of the manager to ask: $DBUS_SYSTEM_BUS_ADDRESS, else
 * systemd's private socket when it exists, else the system bus; rootless:
 * $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/systemd/private or
 * $XDG_RUNTIME_DIR/bus. Malloc'd. */
char *hrun_systemd_bus_address(bool rootless, struct hrun_error *err);

/* Have systemd make the scope and fill CG with its leaf cgroup (v1 hierarchies
 * systemd does not manage get the same path from us). Until
 * hrun_cgroup_systemd_settle, a placeholder process of ours holds the
 * scope: systemd makes no scope without a process, and init is cloned
 * into the cgroup only later. Fails with nothing left behind. */
int hrun_cgroup_systemd_create(const char *cgroups_path, const char *id, bool rootless,
			       struct hrun_cgroup *cg, struct hrun_error *err);

/* Whether CGROUP, what systemd reported as UNIT's cgroup, is where UNIT
 * in SLICE belongs: ".../a.slice/a-b.slice/UNIT" for "a-b.slice". */
int hrun_systemd_check_cgroup(const char *cgroup, const char *slice, const char *unit, struct hrun_error *err);

struct hrun_dbus_message;
/* Whether a signal MSG is systemd's: from its object path and, on a bus,
 * from OWNER, the unique name of systemd's ("" while not known yet: no
 * signal is; NULL on a peer connection, where only systemd can send). */
bool hrun_systemd_signal_trusted(const struct hrun_dbus_message *msg, const char *owner);

/* Init is in the scope now: the placeholder goes. */
void hrun_cgroup_systemd_settle(struct hrun_cgroup *cg);

/* Stop the unit (systemd kills what is left and removes its cgroups) and
 * wait for the job; a unit already gone is fine. */
int hrun_cgroup_systemd_stop(struct hrun_cgroup *cg, struct hrun_error *err);

#endif
