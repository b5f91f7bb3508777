#!/bin/bash
# Install the Debian packages hrun needs to build and to run its tests.
# Idempotent: packages already present are not fetched again.
#
#   tests/install-deps.sh               everything: build, tests, VM lane
#   tests/install-deps.sh --build-only  what the build needs
#   tests/install-deps.sh --vm          what the VM lane (tests/vm) needs
#
# The VM lane's guest kernel is not installed: installing linux-image-amd64
# would bring initramfs-tools and udev onto the host for nothing.
# tests/vm/run.sh fetches the package it points at with `apt-get download`
# into its cache (tests/vm/README.md).
set -euo pipefail

BUILD_PKGS=(build-essential autoconf automake pkg-config
	libseccomp-dev libcap-dev libselinux1-dev libyajl-dev criu)
# strace and ltrace: the checks that setup names no rootfs path by string
# and that the default seccomp profile is not compiled at start; bpftool:
# the device filter programs attached to a cgroup; uidmap: newuidmap and
# newgidmap for the rootless tests' multi-range maps.
TEST_PKGS=(libcmocka-dev busybox-static bats jq clang util-linux socat procps strace ltrace bpftool uidmap)
# qemu, busybox for the boot image and the guest's modprobe, apparmor for
# apparmor_parser in the guest, e2fsprogs for its scratch disk, procps for
# bats' per-test timeout there.
VM_PKGS=(qemu-system-x86 busybox-static bats jq apparmor e2fsprogs coreutils util-linux procps bpftool)

case ${1:-} in
--build-only) want=("${BUILD_PKGS[@]}") ;;
--vm) want=("${VM_PKGS[@]}") ;;
"") want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${VM_PKGS[@]}") ;;
*)
	echo "usage: $0 [--build-only | --vm]" >&2
	exit 2
	;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
# Each once, in order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages ${missing[*]}; run as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Another apt (a second run, an engineer's) may hold the lock: wait for it.
lock=(-o DPkg::Lock::Timeout=300)
apt-get "${lock[@]}" update -qq
apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
