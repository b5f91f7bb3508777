/* A host range of ids from which each container without a user namespace
 * of its own gets a private slice of 65536 (container ids 0..65535).
 *
 * The pool directory holds one symlink per slice in use, named by the
 * slice's first host id and pointing at the owning container's state
 * directory. Taking a slice is an atomic symlinkat; a slice whose owner's
 * state directory is gone (a crashed create) is taken back, under an flock
 * of the pool directory so that two containers cannot both reclaim it. The
 * owner records the slice in its state directory ("userns-slice"), and
 * removing the state releases it (hrun_userns_pool_release). */
#ifndef HRUN_USERNS_POOL_H
#define HRUN_USERNS_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define HRUN_USERNS_SLICE 65536U
#define HRUN_USERNS_POOL_DIR "/run/hrun-userns"

struct hrun_userns_pool {
	uint32_t first;	/* first host id of the pool */
	uint32_t count;	/* ids in the pool: a multiple of HRUN_USERNS_SLICE */
	const char *dir;	/* where the slices in use are recorded */
};

/* "FIRST:COUNT", COUNT a non-zero multiple of 65536, the range within
 * 32 bits and not starting at 0. */
int hrun_userns_pool_parse(const char *text, struct hrun_userns_pool *pool);

/* Take a free slice for the container whose state directory is
 * STATE_DIR (absolute) and open as STATE_FD; its first host id in
 * *HOST_FIRST. */
int hrun_userns_pool_reserve(const struct hrun_userns_pool *pool, const char *state_dir, int state_fd,
			     uint32_t *host_first, struct hrun_error *err);

/* Give back the slice recorded in the state directory STATE_FD, if any
 * and if the pool still says it is ours. */
void hrun_userns_pool_release(int state_fd);

#endif
