/* Linux security modules: AppArmor and SELinux.
 *
 * The host side (the parent, before anything exists) decides whether a
 * profile can be applied at all; the child side asks the kernel to put the
 * process in that profile when it calls execve. */
#ifndef HRUN_LSM_H
#define HRUN_LSM_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* The profile hrun ships (contrib/apparmor/hrun-default) and the default
 * hardening level applies when it is loaded. */
#define HRUN_APPARMOR_DEFAULT_PROFILE "hrun-default"

/* AppArmor is the kernel's, enabled, and its securityfs interface is
 * mounted (what loading and listing profiles needs). */
bool hrun_apparmor_enabled(void);

/* NAME is loaded in the current policy namespace (listed in
 * /sys/kernel/security/apparmor/profiles, which only root may read). */
bool hrun_apparmor_profile_loaded(const char *name);

/* SELinux is enabled: its filesystem is mounted at /sys/fs/selinux. */
bool hrun_selinux_enabled(void);

/* Before anything is created: refuse a process.apparmorProfile this host
 * cannot apply. "unconfined" is accepted without AppArmor (as runc does):
 * the process is unconfined either way. */
int hrun_lsm_check_host(const struct hrun_spec *spec, struct hrun_error *err);

/* In the child, after no_new_privs and just before exec: have PROFILE
 * (NULL or "": nothing to do) applied at the next execve, by writing
 * "exec PROFILE" through PROCFD, a verified procfs handle opened on the
 * host's /proc before pivot_root or setns (never the container's). */
int hrun_apparmor_exec_profile(int procfd, const char *profile, struct hrun_error *err);

/* SELinux, in the child, through PROCFD (as above): LABEL (NULL or "":
 * nothing to do) becomes the label of the next execve, or of the keys
 * (the session keyring) the process creates from now on. */
int hrun_selinux_exec_label(int procfd, const char *label, struct hrun_error *err);
int hrun_selinux_keyring_label(int procfd, const char *label, struct hrun_error *err);

#endif
