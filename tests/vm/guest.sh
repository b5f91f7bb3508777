#!/bin/bash
# Stage 2 of the VM lane, PID 1 in the guest. Its root is the host's root
# filesystem (read-only 9p) under a tmpfs overlay, so everything installed on
# the host is here, and writes stay in the guest. It sets the guest up like a
# pure cgroup v2 host with AppArmor, runs the selected integration tests with
# bats and writes the TAP to the second serial port (/dev/ttyS1), which
# run.sh reads.
#
# The run's settings come from the file named by hrun.env= on the kernel
# command line (written by run.sh): HRUN_VM_TOP, HRUN_VM_BUILD, HRUN_VM_TESTS,
# HRUN_VM_BATS_OPTIONS (the tag selection), HRUN_VM_TEST_TIMEOUT (per test),
# HRUN_VM_MODULES,
# HRUN_VM_APPARMOR (profiles to load), HRUN_VM_DEBUG, HRUN_VM_SHELL (a shell
# on the console instead of the suite).
#
# On the console: "HRUN-VM-FAIL: <what>" when the setup failed, and
# "HRUN-VM-DONE bats=<status>" when the suite ran to its end.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb

power_off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 5
	busybox poweroff -f
}

fail() {
	echo "HRUN-VM-FAIL: stage 2: $*"
	power_off
}

# Seconds since boot, for the console's timeline.
uptime_s() {
	local up
	read -r up _ </proc/uptime
	echo "${up}s"
}

mounts() {
	mount -t sysfs sysfs /sys || fail "mount /sys"
	# A pure cgroup v2 host, as systemd sets it up: the unified hierarchy
	# at /sys/fs/cgroup and nothing else.
	mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
	mount -t securityfs securityfs /sys/kernel/security || fail "mount securityfs"
	mkdir -p /dev/pts /dev/shm /dev/mqueue
	mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts || fail "mount devpts"
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm || fail "mount /dev/shm"
	mount -t mqueue mqueue /dev/mqueue || fail "mount mqueue"
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || fail "mount /run"
	# The bundles live on a real disk filesystem, as on the host: ext4 on
	# the scratch disk run.sh made.
	# The disk hides the host's /tmp: a checkout or build living there (a
	# CI clone in /tmp, say) is bound back in from a view kept aside.
	mkdir -p /mnt/host-tmp
	mount --bind /tmp /mnt/host-tmp || fail "keep the host's /tmp"
	mount -t ext4 /dev/vda /tmp || fail "mount the scratch disk /dev/vda on /tmp"
	chmod 1777 /tmp
	local p d
	for p in "$HRUN_VM_TOP" "$HRUN_VM_BUILD" "$HRUN_VM_MODULES"; do
		case $p in
		/tmp/?*)
			d=${p#/tmp/}
			d=/tmp/${d%%/*}
			mountpoint -q "$d" && continue
			mkdir -p "$d"
			mount --bind "/mnt/host-tmp/${d#/tmp/}" "$d" || fail "bind the host's $d back"
			;;
		esac
	done
	# The kernel's module tree (visible through the share) where modprobe
	# looks, so request_module works: veth, bridge, nf_tables, ...
	mkdir -p /lib/modules
	mount --bind "$HRUN_VM_MODULES" /lib/modules || fail "bind $HRUN_VM_MODULES on /lib/modules"
	[ -x /sbin/modprobe ] || ln -sf /bin/busybox /sbin/modprobe
	ln -sf /proc/self/fd /dev/fd
	ln -sf /proc/self/fd/0 /dev/stdin
	ln -sf /proc/self/fd/1 /dev/stdout
	ln -sf /proc/self/fd/2 /dev/stderr
}

network() {
	busybox hostname hrun-vm
	echo hrun-vm >/etc/hostname
	busybox ip link set lo up || fail "bring lo up"
}

# Enable every controller for the children of the root and move this shell
# out of the root cgroup, as systemd does (init.scope), so that hrun runs in
# a non-root cgroup like it does on a real host.
cgroups() {
	local c ctl=""
	for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
		ctl="$ctl +$c"
	done
	mkdir -p /sys/fs/cgroup/init.scope
	echo $$ >/sys/fs/cgroup/init.scope/cgroup.procs || fail "move PID 1 to init.scope"
	echo "$ctl" >/sys/fs/cgroup/cgroup.subtree_control || fail "enable controllers:$ctl"
	echo "cgroup v2 controllers enabled:$ctl"
}

apparmor() {
	local p
	[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] ||
		fail "AppArmor is not enabled in the guest kernel"
	for p in "${HRUN_VM_APPARMOR[@]}"; do
		apparmor_parser -r -W "$p" || fail "apparmor_parser could not load $p"
		echo "AppArmor profile loaded: $p"
	done
}

# What tests/run-all.sh sets on the host, and where the tests run.
suite_env() {
	export HRUN=$HRUN_VM_BUILD/src/hrun
	# Every test copies the rootfs into its bundle: from the guest's tmpfs
	# that takes half the time it takes over 9p.
	mkdir -p /run/hrun-vm &&
		cp -a "$HRUN_VM_BUILD/fixtures/rootfs" /run/hrun-vm/rootfs ||
		fail "copy the test rootfs $HRUN_VM_BUILD/fixtures/rootfs to /run/hrun-vm"
	export HRUN_TEST_ROOTFS=/run/hrun-vm/rootfs
	export HRUN_TEST_CGROUP_PARENT=/hrun-test
	export HRUN_TEST_LANE=vm
	# One hung test fails alone (bats kills its processes), the rest run.
	export BATS_TEST_TIMEOUT=${HRUN_VM_TEST_TIMEOUT:-300}
	cd "$HRUN_VM_TOP" || fail "cd $HRUN_VM_TOP"
}

# HRUN_VM_SHELL=1: an interactive shell on the console instead of the suite.
shell() {
	echo "HRUN_VM_SHELL: the suite's environment is set; run e.g."
	echo "  bats ${HRUN_VM_BATS_OPTIONS[*]} ${HRUN_VM_TESTS[*]}"
	echo "exit (or Ctrl-D) powers the guest off"
	setsid -c bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
}

run_suite() {
	local rc
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
	echo "$(uptime_s) running: bats --tap ${HRUN_VM_BATS_OPTIONS[*]} ${HRUN_VM_TESTS[*]}"
	# A hung test must not outlive the watchdog's patience for the summary.
	timeout --kill-after=10 "${HRUN_VM_BATS_TIMEOUT:-1700}" \
		bats --tap "${HRUN_VM_BATS_OPTIONS[@]}" "${HRUN_VM_TESTS[@]}" >/dev/ttyS1 2>&1
	rc=$?
	echo "HRUN-VM-DONE bats=$rc at $(uptime_s)"
}

# What the suite left behind is reported; run.sh shows it as a warning.
leftovers() {
	local d
	find /sys/fs/cgroup/hrun-test -mindepth 1 -type d 2>/dev/null | while read -r d; do
		echo "HRUN-VM-LEFTOVER: cgroup ${d#/sys/fs/cgroup} ($(grep populated "$d/cgroup.events"))"
	done
}

# The whole kernel log, audit (AppArmor) lines included, for debugging.
kernel_log() {
	echo "---- guest dmesg ----"
	dmesg
	echo "---- end of guest dmesg ----"
}

mount -t proc proc /proc || fail "mount /proc"
env_file=""
for arg in $(cat /proc/cmdline); do
	case $arg in hrun.env=*) env_file=${arg#hrun.env=} ;; esac
done
[ -f "$env_file" ] || fail "no settings file (hrun.env=$env_file)"
# shellcheck source=/dev/null
. "$env_file"
[ "${HRUN_VM_DEBUG:-0}" = 1 ] && set -x
mounts
echo "stage 2: at $(uptime_s), kernel $(uname -r), $(nproc) CPUs, $(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo) MiB"
network
cgroups
apparmor
suite_env
if [ "${HRUN_VM_SHELL:-0}" = 1 ]; then
	shell
	power_off
fi
run_suite
leftovers
kernel_log
power_off
