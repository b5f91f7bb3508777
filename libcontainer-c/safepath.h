/* The one place that resolves paths inside the container's rootfs and
 * writes to /proc. Everything is fd-based: a path inside the rootfs is
 * resolved by the kernel with RESOLVE_IN_ROOT, so symlinks and ".." in the
 * image or the config cannot lead outside it. */
#ifndef HRUN_SAFEPATH_H
#define HRUN_SAFEPATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Open PATH (absolute or relative; both are taken inside ROOTFD) with
 * FLAGS. Magic links (/proc/self/fd/...) are never followed. */
int hrun_open_in_root(int rootfd, const char *path, int flags, struct hrun_error *err);

/* Like hrun_open_in_root, but a symlink anywhere on the way (the last
 * component included, unless FLAGS has O_PATH|O_NOFOLLOW) is refused
 * with ELOOP: for a path whose target must be exactly the directory or
 * file it names, not one the image redirects it to. */
int hrun_open_in_root_nosymlinks(int rootfd, const char *path, int flags, struct hrun_error *err);

/* The resolver hrun_open_in_root falls back to where openat2 is missing
 * (before Linux 5.6; or hidden by a seccomp filter that answers ENOSYS):
 * the answer of openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), found
 * one component at a time by O_PATH|O_NOFOLLOW fds. Symlinks are read
 * and resolved inside ROOTFD (absolute ones from it, at most 40), ".."
 * never goes above it and only back to the directory it came down from
 * (else EAGAIN: a rename raced it), and a symlink on procfs other than
 * the ones in its root directory (self, mounts, ...) is refused with
 * ELOOP as a magic link. Opens for reading or O_PATH only (EINVAL for
 * O_CREAT, O_TRUNC or writing). Returns an fd or -1 with errno. */
int hrun_open_in_root_walk(int rootfd, const char *path, int flags);

/* Like hrun_open_in_root with O_PATH, but create the missing directories
 * of PATH inside the root first. When AS_FILE, the last component is
 * created as an empty regular file (a bind target for a file source). */
int hrun_mkpath_in_root(int rootfd, const char *path, bool as_file, struct hrun_error *err);

/* Open /proc (or the procfs at PATH) as a directory handle and check it
 * really is procfs, so nothing mounted over it can redirect our writes. */
int hrun_procfs_open(const char *path, struct hrun_error *err);

/* The same for the procfs mounted at PATH inside the rootfs ROOTFD. */
int hrun_procfs_open_in_root(int rootfd, const char *path, struct hrun_error *err);

/* Write DATA to REL under the verified procfs handle PROCFD; the opened
 * file is checked to be on procfs too (a bind mount over it would not
 * be). */
int hrun_proc_write(int procfd, const char *rel, const char *data, size_t len,
		    struct hrun_error *err);

/* Open the host's /dev/null and check it is the character device 1:3
 * before anything uses it to mask a path. */
int hrun_open_dev_null(struct hrun_error *err);

#endif
