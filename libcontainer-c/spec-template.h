/* The config `hrun spec` writes: runs as-is on a busybox rootfs in
 * "rootfs", and starts from hrun's hardened baseline. */
#ifndef HRUN_SPEC_TEMPLATE_H
#define HRUN_SPEC_TEMPLATE_H

#include <stdbool.h>

#include "error.h"

/* The template as pretty-printed JSON (malloc'd), or NULL with ERR. With
 * ROOTLESS the calling user's uid and gid are mapped to root in the
 * container and the host network and cgroup namespaces are kept. */
char *hrun_spec_template(bool rootless, struct hrun_error *err);

#endif
