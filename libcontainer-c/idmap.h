/* Idmapped bind mounts (mount_setattr with MOUNT_ATTR_IDMAP). The kernel
 * lets only a process privileged over the source's filesystem idmap it, so
 * the parent makes them, in the host's user namespace, as detached trees
 * that init attaches in the container's mount namespace. */
#ifndef HRUN_IDMAP_H
#define HRUN_IDMAP_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"


/* An fd of a new user namespace with exactly these maps; nothing runs in
 * it. */
int hrun_idmap_userns(const struct hrun_idmaps *uids, const struct hrun_idmaps *gids,
		      struct hrun_error *err);

/* Clone the tree at SOURCE (a host path from DIRFD, or DIRFD itself when
 * SOURCE is ""; whole subtree when RBIND) and
 * idmap it with USERNS_FD. Returns the detached tree's fd. */
int hrun_idmap_clone_tree(int dirfd, const char *source, bool rbind, bool recursive, int userns_fd,
			  struct hrun_error *err);

/* For every idmapped mount of SPEC (with ALL_BINDS: every bind mount, as
 * far as its filesystem allows), its detached idmapped tree in TREES[i];
 * -1 for the others. Mounts without mappings of their own take the
 * container's: USERNS_FD when the caller has one with them, else one is
 * made. On failure every fd made is closed. */
int hrun_idmap_prepare_mounts(const struct hrun_spec *spec, int userns_fd, bool all_binds,
			      int *trees, struct hrun_error *err);

#endif
