/* The child side: the ordered setup inside the new namespaces, then exec. */
#ifndef HRUN_INIT_H
#define HRUN_INIT_H

#include <stdbool.h>

#include "spec.h"

struct hrun_seccomp_prog;
struct hrun_landlock;

/* Init starts with the rootfs as its cwd (see hrun_rootfs_prepare). */
struct hrun_init_args {
	const struct hrun_spec *spec;
	int sync_fd;		/* our end of the sync socketpair */
	bool new_userns;	/* we created a user namespace: become its root */
	bool parent_unprivileged; /* it writes our maps itself: stay dumpable until then */
	bool new_cgroupns;	/* unshare it once the parent put us in our cgroups */
	bool no_pivot;
	bool no_new_keyring;	/* keep the caller's session keyring */
	unsigned int preserve_fds;
	int console_fd;		/* with a terminal: where the pty master goes, or -1 */
	int notify_tree_fd;	/* NOTIFY_SOCKET: a detached mount for /run/notify, or -1 */
	int rootfs_tree;	/* the parent's idmapped clone of the rootfs, or -1 */
	const int *mount_trees;	/* per config mount, a tree the parent made (idmapped), or -1; may be NULL */
	int fifo_fd;		/* O_PATH fd of the exec FIFO: start releases us */
	const char *id;		/* for the state given to startContainer hooks */
	const char *bundle;
	const struct hrun_seccomp_prog *seccomp; /* linux.seccomp compiled by the parent */
	const struct hrun_landlock *landlock;	/* Landlock layers; may be NULL */
};

/* Never returns: execs the container process, or reports the failure to
 * the parent over the sync socket (or on stderr once the parent is gone)
 * and exits. */
__attribute__((noreturn)) void hrun_init_main(const struct hrun_init_args *args);

/* The process of `hrun exec`, cloned inside the container's namespaces
 * and cgroup: its spec's process is the one to run. */
struct hrun_exec_args {
	const struct hrun_spec *spec;
	int sync_fd;
	int console_fd;		/* with a terminal: where the pty master goes, or -1 */
	unsigned int preserve_fds;
	const struct hrun_seccomp_prog *seccomp; /* linux.seccomp compiled by the parent */
	int procfd;		/* the host's /proc, verified, opened before setns; or -1 */
	const struct hrun_landlock *landlock;	/* the container's Landlock layers; may be NULL */
};

__attribute__((noreturn)) void hrun_exec_main(const struct hrun_exec_args *args);

#endif
