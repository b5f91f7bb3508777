/* The container's /dev: a tmpfs (unless the config mounts one), the
 * runtime-spec's default devices, the config's linux.devices and the
 * standard links. */
#ifndef HRUN_DEVICES_H
#define HRUN_DEVICES_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* Before the config's mounts: a tmpfs on /dev when the config has none. */
int hrun_dev_mount_tmpfs(int rootfd, const struct hrun_spec *spec, struct hrun_error *err);

/* After the config's mounts: device nodes and links. Inside a user
 * namespace mknod is not allowed, so the host's nodes are bound instead. */
int hrun_dev_populate(int rootfd, const struct hrun_spec *spec, bool in_userns,
		      struct hrun_error *err);

#endif
