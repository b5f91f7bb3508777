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
 * process may still open them. Paths follow no symlinks (one that does
 * is skipped with a warning in the host's layer, refused in the
 * annotation's), and a default device is allowed only if it is that
 * device. WRITE_FD, unless -1, is a file of the runtime the confined
 * process must still open for writing (the exec FIFO): every layer
 * allows that. FDS (HRUN_LANDLOCK_MAX_LAYERS entries) receives LL->n
 * ruleset fds (O_CLOEXEC), -1 in the rest; on failure none is left
 * open. */
int hrun_landlock_prepare(const struct hrun_landlock *ll, int write_fd, int *fds, struct hrun_error *err);

/* Confine the calling process with the N rulesets of FDS and close them.
 * Needs no_new_privs (or CAP_SYS_ADMIN). Must come before any seccomp
 * filter is loaded: a filter could answer landlock_restrict_self with a
 * success it never made. */
int hrun_landlock_restrict(int *fds, size_t n, struct hrun_error *err);

#endif
