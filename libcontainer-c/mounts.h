/* The config's mounts, masked and read-only paths, all made by fd with the
 * new mount API onto targets resolved inside the rootfs. */
#ifndef HRUN_MOUNTS_H
#define HRUN_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "spec.h"

/* A mount's options sorted into what each part of the mount API takes. */
struct hrun_mount_opts {
	bool bind;
	bool recursive_bind;
	uint64_t attr_set;	/* MOUNT_ATTR_* for this mount */
	uint64_t attr_clr;
	uint64_t rattr_set;	/* MOUNT_ATTR_* for the whole tree ("rro" ...) */
	uint64_t rattr_clr;
	uint64_t propagation;	/* MS_SHARED ... or 0 */
	bool propagation_recursive;
	size_t n_data;		/* filesystem options passed to fsconfig */
	char **data;
	const char *context;	/* SELinux context= (linux.mountLabel), or NULL */
};

/* The linux.mountLabel a new filesystem of TYPE takes as its context, or
 * NULL: procfs, sysfs and cgroup label themselves. */
const char *hrun_mount_context(const struct hrun_spec *spec, const char *type);

int hrun_mount_opts_parse(const struct hrun_strv *options, struct hrun_mount_opts *out,
			  struct hrun_error *err);
void hrun_mount_opts_free(struct hrun_mount_opts *opts);

/* Propagation flag of a rootfsPropagation or option word; 0 when unknown. */
uint64_t hrun_propagation_flag(const char *word, bool *recursive);


/* Mount every entry of spec->mounts in order under ROOTFD. TREES (may be
 * NULL) holds, per entry, a detached tree the parent made for it (an
 * idmapped bind), or -1; each tree is consumed. */
int hrun_mounts_apply(int rootfd, const struct hrun_spec *spec, const int *trees,
		      struct hrun_error *err);

/* Mask (a verified /dev/null over files, an empty read-only tmpfs over
 * directories) and make read-only the config's paths. Paths that do not
 * exist are skipped, as the spec allows. */
int hrun_mounts_mask_paths(int rootfd, const struct hrun_strv *paths, int devnullfd,
			   struct hrun_error *err);
int hrun_mounts_readonly_paths(int rootfd, const struct hrun_strv *paths, struct hrun_error *err);

/* Mount a fresh filesystem of TYPE (from SOURCE, may be NULL) onto
 * TARGETFD; WHAT names the destination in messages. */
int hrun_mount_fs_at(const char *type, const char *source, const char *what, int targetfd,
		     const struct hrun_mount_opts *opts, struct hrun_error *err);

/* Bind the object SRCFD (an O_PATH fd) onto TARGETFD. */
/* Attach TREEFD, a detached mount made by the parent with open_tree
 * (OPEN_TREE_CLONE) before init left its mount namespace, on TARGETFD. */
int hrun_mount_attach_tree(int treefd, int targetfd, uint64_t attr_set, struct hrun_error *err);

int hrun_mount_bind_fd(int srcfd, int targetfd, bool recursive, uint64_t attr_set,
		       struct hrun_error *err);

#endif
