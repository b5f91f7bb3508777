/* Landlock in the kernel: the ABI probe, one ruleset per policy layer
 * built inside the container's root, and the restriction of the process.
 *
 * Each layer becomes its own Landlock domain: the kernel allows an access
 * only when every layer allows it, so a layer can narrow what another
 * grants, never widen it. */
#ifndef HRUN_LANDLOCK_H
#define HRUN_LANDLOCK_H

#include <stddef.h>

#include "error.h"
#include "landlock-policy.h"

/* The running kernel's Landlock ABI version; 0 without Landlock. */
int hrun_landlock_abi(void);

/* Build one ruleset per layer of LL, resolving its paths inside the
 * current root (the container's, after the pivot or setns) while the
 * process may still open them. FDS receives LL->n ruleset fds
 * (O_CLOEXEC); on failure none is left open. */
int hrun_landlock_prepare(const struct hrun_landlock *ll, int *fds, struct hrun_error *err);

/* Confine the calling process with the N rulesets of FDS and close them.
 * Needs no_new_privs (or CAP_SYS_ADMIN): call it after the privileges
 * are dropped, before seccomp. */
int hrun_landlock_restrict(int *fds, size_t n, struct hrun_error *err);

#endif
