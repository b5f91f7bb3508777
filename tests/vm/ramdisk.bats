#!/usr/bin/env bats
# bats file_tags=vm
# --no-pivot on a real ramdisk root. Stage 1 of the VM lane (tests/vm/init)
# runs hrun while the guest's initramfs is still its root, before it
# switch_roots, and leaves what happened in /hrun-vm-ramdisk; these tests
# report it, so that it counts in the lane's TAP like any other result.
# run.sh always gives this file to the guest; elsewhere it skips.

RESULTS=/hrun-vm-ramdisk

setup() {
	[ "${HRUN_TEST_LANE:-}" = vm ] || skip "only in the VM lane: stage 1 runs the check on the guest's initramfs"
	[ ! -s "$RESULTS/error" ] || { cat "$RESULTS/error"; false; }
	[ -f "$RESULTS/uptime" ] || { echo "stage 1 did not finish the ramdisk check"; ls -la "$RESULTS"; false; }
}

@test "--no-pivot on an initramfs root: the container runs in its own root" {
	cat "$RESULTS/no-pivot.out"
	[ "$(cat "$RESULTS/no-pivot.status")" = 0 ]
	grep -qx in-the-container-root "$RESULTS/no-pivot.out"
}

@test "without --no-pivot on an initramfs root: a clear error naming --no-pivot, not a hang, nothing left" {
	cat "$RESULTS/pivot.out"
	# 137: killed by stage 1's timeout, i.e. a hang.
	status=$(cat "$RESULTS/pivot.status")
	[ "$status" != 0 ]
	[ "$status" != 137 ]
	grep -q 'pivot_root: the host.s root is a ramdisk (initramfs).*--no-pivot' "$RESULTS/pivot.out"
	if grep -q in-the-container-root "$RESULTS/pivot.out"; then
		false
	fi
	# Neither run left a state directory or a cgroup behind (the parent
	# of the default cgroupsPath, /hrun, stays, as on any host).
	[ ! -s "$RESULTS/state-left" ] || grep -q 'No such file' "$RESULTS/state-left"
	if grep -v '^/sys/fs/cgroup/hrun$' "$RESULTS/cgroups-left"; then
		false
	fi
	read -r t0 t1 <"$RESULTS/uptime"
	echo "the ramdisk check took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s of the boot"
}
