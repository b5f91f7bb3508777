/* The device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program
 * generated from the rules' state (cgroup-devices.h), loaded with bpf(2)
 * and attached to the container's unified cgroup. */
#ifndef HRUN_BPF_DEVICES_H
#define HRUN_BPF_DEVICES_H

#include <stddef.h>
#include <linux/bpf.h>

#include "cgroup-devices.h"
#include "error.h"

/* The name hrun's programs carry, so that `update` finds its own among
 * what else may be attached to the cgroup. */
#define HRUN_BPF_DEVICES_NAME "hrun_devices"

/* The program deciding as ST does: malloc'd instructions, *N of them. It
 * reads the kernel's struct bpf_cgroup_dev_ctx and returns 1 to allow. */
int hrun_bpf_devices_program(const struct hrun_dev_state *st, struct bpf_insn **insns, size_t *n,
			     struct hrun_error *err);

/* Load ST's program and attach it to the cgroup directory CGROUP_FD
 * (BPF_F_ALLOW_MULTI: programs of the ancestors, systemd's say, still
 * run), then detach the hrun programs attached there before. While both
 * are attached a device must pass both, so the change never lets through
 * what either the old or the new rules refuse. */
int hrun_bpf_devices_install(int cgroup_fd, const struct hrun_dev_state *st, struct hrun_error *err);

#endif
