#define _GNU_SOURCE
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "mounts.h"
#include "namespace.h"
#include "safepath.h"
#include "syscalls.h"


/* The namespace needs a process only while its maps are written and it is
 * opened: the fd keeps it alive afterwards. */
int hrun_idmap_userns(const struct hrun_idmaps *uids, const struct hrun_idmaps *gids,
		      struct hrun_error *err)
{
	/* No exit signal: nothing else of ours learns of this child. */
	struct clone_args args = { .flags = CLONE_NEWUSER };
	_cleanup_close_ int procfd = hrun_procfs_open("/proc", err);
	char rel[64];
	pid_t pid;
	int fd;

	if (procfd < 0)
		return -1;
	pid = (pid_t)hrun_clone3(&args);
	if (pid < 0)
		return hrun_error_errno(err, "clone a user namespace for an idmapped mount");
	if (pid == 0) {
		for (;;)
			pause();
	}
	fd = -1;
	if (hrun_ns_write_id_maps(pid, uids, gids, err) == 0) {
		snprintf(rel, sizeof(rel), "%d/ns/user", pid);
		fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			hrun_error_errno(err, "open the idmapped mount's user namespace");
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
	return fd;
}

int hrun_idmap_clone_tree(int dirfd, const char *source, bool rbind, bool recursive, int userns_fd,
			  struct hrun_error *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
	_cleanup_close_ int tfd = open_tree(dirfd, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
							    (*source ? 0 : AT_EMPTY_PATH) |
							    (rbind ? AT_RECURSIVE : 0));
	struct mount_attr slave = { .propagation = MS_SLAVE };
	int r;

	if (tfd < 0)
		return hrun_error_errno(err, "bind source \"%s\"", source);
	/* A clone of a shared host mount joins its peer group: what the
	 * container mounts there must not reach the host (as init's own
	 * clones, made after it made every mount a slave). */
	if (mount_setattr(tfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &slave, sizeof(slave)) < 0)
		return hrun_error_errno(err, "make the clone of \"%s\" a slave", source);
	if (mount_setattr(tfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
			  sizeof(attr)) < 0) {
		if (errno == EINVAL)
			return hrun_error_errno(err, "idmap \"%s\" (its filesystem may not support idmapped mounts)",
						source);
		return hrun_error_errno(err, "idmap \"%s\"", source);
	}
	r = tfd;
	tfd = -1;
	return r;
}

static bool rbind_of(const struct hrun_mount *m)
{
	for (size_t i = 0; m->options.set && i < m->options.n; i++)
		if (strcmp(m->options.v[i], "rbind") == 0)
			return true;
	return false;
}

int hrun_idmap_prepare_mounts(const struct hrun_spec *spec, int userns_fd, bool all_binds,
			      int *trees, struct hrun_error *err)
{
	_cleanup_close_ int made_ns = -1;
	int container_ns = userns_fd;

	for (size_t i = 0; i < spec->n_mounts; i++)
		trees[i] = -1;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct hrun_mount *m = &spec->mounts[i];
		_cleanup_close_ int own_ns = -1;
		bool recursive;
		int ns;

		bool asked = hrun_mount_is_idmapped(m, &recursive);

		if (!asked && !(all_binds && hrun_mount_is_bind(m)))
			continue;
		if (m->uid_mappings.n > 0) {
			own_ns = hrun_idmap_userns(&m->uid_mappings, &m->gid_mappings, err);
			ns = own_ns;
		} else {
			/* One namespace serves every mount that takes the
			 * container's mappings. */
			if (container_ns < 0)
				container_ns = made_ns = hrun_idmap_userns(&spec->linux_.uid_mappings,
									   &spec->linux_.gid_mappings, err);
			ns = container_ns;
		}
		if (ns >= 0)
			trees[i] = hrun_idmap_clone_tree(AT_FDCWD, m->source, rbind_of(m),
							 asked ? recursive : true, ns, err);
		/* Binds idmapped for the default user namespace: a source
		 * whose filesystem cannot be idmapped is bound as it is (its
		 * files then show as the overflow id). */
		if (trees[i] < 0 && !asked && ns >= 0 && err->code == EINVAL) {
			hrun_debug("mount \"%s\": %s; bound without idmapping", m->destination, err->msg);
			continue;
		}
		if (trees[i] < 0) {
			for (size_t j = 0; j < i; j++)
				if (trees[j] >= 0)
					close(trees[j]);
			return hrun_error_prefix(err, "mount \"%s\"", m->destination);
		}
	}
	return 0;
}
