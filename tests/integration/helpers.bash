# Shared setup for the integration tests: every test gets its own bundle
# (a copy of the test rootfs and a fresh `hrun spec` config), its own state
# root and an absolute cgroupsPath under a dedicated parent, all removed
# afterwards.

: "${HRUN:?set HRUN to the hrun binary}"
: "${HRUN_TEST_ROOTFS:?set HRUN_TEST_ROOTFS to the test rootfs (tests/fixtures/make-rootfs.sh)}"
CGROUP_PARENT=${HRUN_TEST_CGROUP_PARENT:-/hrun-test}

setup_bundle() {
	BUNDLE=$(mktemp -d /tmp/hrun-test.XXXXXX)
	# The container's root maps to an unprivileged host uid: it must be
	# able to traverse the bundle to reach its rootfs.
	chmod 755 "$BUNDLE"
	cp -a "$HRUN_TEST_ROOTFS" "$BUNDLE/rootfs"
	STATE=$BUNDLE.state
	CGROUP=$CGROUP_PARENT/$(basename "$BUNDLE")
	(cd "$BUNDLE" && "$HRUN" spec) || return 1
	update_config ".linux.cgroupsPath = \"$CGROUP\" | .process.args = [\"/probe\"]"
}

teardown_bundle() {
	# Without a bundle there is nothing to remove (and an empty CGROUP
	# would name every cgroup of the host).
	[ -n "${BUNDLE:-}" ] && [ -n "${CGROUP:-}" ] || return 0
	rm -rf "$BUNDLE" "$STATE"
	# Depth first: a test may have made cgroups below its own; -execdir as
	# their paths may pass PATH_MAX.
	for d in $(cgroup_dirs); do
		[ -d "$d" ] && find "$d" -depth -type d -execdir rmdir {} + 2>/dev/null
	done
	return 0
}

# The template's minimal capability set.
MINIMAL_CAPS=CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,CAP_NET_BIND_SERVICE,CAP_SETFCAP,CAP_SETGID,CAP_SETPCAP,CAP_SETUID,CAP_SYS_CHROOT

# A comma list, sorted, so sets compare whatever their order.
sorted() {
	tr ',' '\n' <<<"$1" | sed '/^$/d' | sort | paste -sd, -
}

# Apply a jq FILTER to the bundle's config.json: `update_config FILTER
# [JQ OPTIONS...]`, e.g. --arg NAME VALUE.
update_config() {
	local tmp
	tmp=$(mktemp)
	jq "${@:2}" "$1" "$BUNDLE/config.json" >"$tmp" && mv "$tmp" "$BUNDLE/config.json"
}

# hrun with the test's state root; a hung container cannot hang the suite.
hrun() {
	timeout --kill-after=5 60 "$HRUN" --root "$STATE" "$@"
}

# Set process.args to exactly ARGS (any characters, "-c" too; none is
# fine). jq 1.6 takes a positional "-c" for its own option, so each
# argument goes in as the value of --arg; all in one jq, as each jq costs
# half a second in the VM lane.
set_args() {
	local a i=0 opts=() refs=
	for a in "$@"; do
		opts+=(--arg "a$i" "$a")
		refs+="${refs:+,}\$a$i"
		i=$((i + 1))
	done
	update_config ".process.args = [$refs]" "${opts[@]}"
}

# Run the probe in a container: `probe_run [PROBE ARGS...]`.
probe_run() {
	set_args /probe "$@"
	run hrun run -b "$BUNDLE" "test-$BATS_TEST_NUMBER"
}

# The value of KEY in the probe output held in $output (first match).
probe_value() {
	printf '%s\n' "$output" | sed -n "s/^$1=//p" | head -n1
}

# All values of a repeated KEY.
probe_values() {
	printf '%s\n' "$output" | sed -n "s/^$1=//p"
}

# Nothing of the container may remain: state, cgroup, process.
assert_no_leftovers() {
	local id=$1
	[ ! -e "$STATE/$id" ] || { echo "state of $id left behind"; return 1; }
	for d in $(cgroup_dirs); do
		[ ! -d "$d" ] || { echo "cgroup $d left behind"; return 1; }
	done
}

# --- cgroups, whatever the host's mode -------------------------------------

# How this host mounts cgroups, as hrun tells: "unified" (/sys/fs/cgroup is
# cgroup2: a pure v2 host), "hybrid" (v1 hierarchies and a cgroup2 at
# /sys/fs/cgroup/unified) or "legacy" (v1 hierarchies only).
cgroup_mode() {
	if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
		echo unified
	elif [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
		echo hybrid
	else
		echo legacy
	fi
}

# The directory of cgroup CG (default: the test's, $CGROUP) in the hierarchy
# of CONTROLLER: /sys/fs/cgroup$CG on a unified host, else
# /sys/fs/cgroup/CONTROLLER$CG. CONTROLLER "unified" is the cgroup2
# hierarchy of a hybrid host (the same one as any other on a unified host).
cgroup_dir() {
	if [ "$(cgroup_mode)" = unified ]; then
		echo "/sys/fs/cgroup${2-$CGROUP}"
	else
		echo "/sys/fs/cgroup/$1${2-$CGROUP}"
	fi
}

# The directories of cgroup CG (default: $CGROUP) in every hierarchy this
# host has, one a line, whether they exist or not.
cgroup_dirs() {
	local h
	if [ "$(cgroup_mode)" = unified ]; then
		echo "/sys/fs/cgroup${1-$CGROUP}"
		return 0
	fi
	# A hierarchy's root has cgroup.procs; symlinks ("cpu" ->
	# "cpu,cpuacct") are other names of one listed already.
	for h in /sys/fs/cgroup/*; do
		[ ! -L "$h" ] && [ -e "$h/cgroup.procs" ] && echo "$h${1-$CGROUP}"
	done
	return 0
}

# --- what a test needs of the host ------------------------------------------
# A test that needs what not every host has calls one of these first: where
# it is missing the test is skipped, saying why. The VM lane (tests/vm), a
# pure cgroup v2 host with AppArmor, runs the tests tagged "vm": such a test
# carries the tag ("# bats test_tags=vm" above its @test, or the file's
# "# bats file_tags=vm"), and tests/vm/run.sh refuses to run without it.

# A pure cgroup v2 host.
require_cgroup_unified() {
	local mode
	mode=$(cgroup_mode)
	[ "$mode" = unified ] || skip "needs a pure cgroup v2 host, this one is $mode (the VM lane, tests/vm, is one)"
}

# A pure cgroup v2 host whose root cgroup offers every CONTROLLER given.
require_cgroup2_controller() {
	local c
	require_cgroup_unified
	for c in "$@"; do
		grep -qw -- "$c" /sys/fs/cgroup/cgroup.controllers ||
			skip "needs the cgroup v2 controller $c; this host's are: $(cat /sys/fs/cgroup/cgroup.controllers)"
	done
}

# AppArmor enabled, with its securityfs interface mounted.
require_apparmor() {
	[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] ||
		skip "needs AppArmor, not enabled on this host (the VM lane, tests/vm, has it)"
	[ -d /sys/kernel/security/apparmor ] ||
		skip "needs AppArmor's securityfs interface at /sys/kernel/security/apparmor"
}

require_selinux() {
	[ "$(stat -f -c %T /sys/fs/selinux 2>/dev/null)" = selinuxfs ] ||
		skip "needs SELinux, not enabled on this host nor in the VM lane (Debian's kernel boots without it)"
}

# The seccomp agent fixture (tests/fixtures/seccomp-agent), built with the
# probe by tests/run-all.sh and tests/vm/run.sh.
require_seccomp_agent() {
	[ -x "${HRUN_TEST_SECCOMP_AGENT:-}" ] ||
		skip "HRUN_TEST_SECCOMP_AGENT is not set to the seccomp-agent fixture (tests/run-all.sh sets it)"
}

# --- containers that outlive the command ------------------------------------

# create and run -d leave the container with hrun's stdio: bats' `run`
# would read its pipe until the container exits. Same variables as `run`,
# output through a file.
detached() {
	status=0
	hrun "$@" >"$OUT.detached" 2>&1 </dev/null || status=$?
	output=$(cat "$OUT.detached")
}

# A container whose process waits: `sleep` from busybox.
sleeper() {
	set_args /bin/sleep "${1:-60}"
}

status_of() {
	hrun state "$1" | jq -r .status
}

pid_of() {
	hrun state "$1" | jq -r .pid
}

# A failed test may leave containers behind: delete --force cleans
# created, running and paused ones alike.
delete_all() {
	local id
	for id in $("$HRUN" --root "$STATE" list -q 2>/dev/null); do
		"$HRUN" --root "$STATE" delete --force "$id" >/dev/null 2>&1
	done
}

# --- containers in the background -----------------------------------------

# Start `hrun ARGS...` (with the test's state root) in the background,
# stdout and stderr to OUT. Its pid is in BG_PID; stop_bg ends it.
hrun_bg() {
	local out=$1
	shift
	# Emptied here, not by the background redirection: until that runs,
	# wait_for_line would see an earlier run's lines in a reused OUT.
	: >"$out"
	# Not bats' fd 3: bats would wait for it to close.
	"$HRUN" --root "$STATE" "$@" >"$out" 2>&1 3>&- &
	BG_PID=$!
	BG_PIDS="${BG_PIDS:-} $BG_PID"
}

# Wait (up to 10 s) until FILE has a line matching the grep PATTERN.
wait_for_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for \"$2\" in $1:"
	cat "$1"
	return 1
}

# Wait (up to 10 s) for the background PID to end; its status in BG_STATUS.
wait_bg() {
	local i
	for ((i = 0; i < 200; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "process $1 still running"
		return 1
	fi
	BG_STATUS=0
	wait "$1" || BG_STATUS=$?
}

# The pids of the processes in the test's cgroup and below it.
cgroup_procs() {
	local d
	d=$(cgroup_dir pids)
	[ -f "$d/cgroup.procs" ] && find "$d" -name cgroup.procs -exec cat {} +
	return 0
}

# End what a test started in the background: the hrun processes, then
# whatever a killed hrun left running in the test's cgroup.
stop_bg() {
	local pid pids i
	for pid in ${BG_PIDS:-}; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	BG_PIDS=
	for ((i = 0; i < 100; i++)); do
		pids=$(cgroup_procs)
		[ -z "$pids" ] && return 0
		kill -KILL $pids 2>/dev/null || true
		sleep 0.02
	done
	return 0
}

# --- systemd, for --systemd-cgroup -----------------------------------------

# A systemd for the test file to talk to, whatever the host runs: a user
# manager of root's (`systemd --user`) started in a cgroup of the test
# parent, so every scope it makes stays under $CGROUP_PARENT; hrun reaches
# it on its private socket (peer-to-peer D-Bus) through
# DBUS_SYSTEM_BUS_ADDRESS, or through the bus daemon it socket-activates at
# $SYSTEMD_RUNTIME/bus. A user manager refuses to run on a system not
# booted with systemd (no /run/systemd/system): it gets a /run of its own
# in a private mount namespace. For setup_file; sets SYSTEMD_SKIP (why
# require_systemd skips) when no manager could be started.
start_test_systemd() {
	local sd=/lib/systemd/systemd i d dirs=()
	export SYSTEMD_SKIP= SYSTEMD_MGR_PID= SYSTEMD_RUNTIME= SYSTEMD_MGR_CGROUP=$CGROUP_PARENT/systemd-mgr
	if [ ! -x "$sd" ]; then
		SYSTEMD_SKIP="no systemd at $sd (apt-get install systemd)"
		return 0
	fi
	SYSTEMD_RUNTIME=$(mktemp -d /tmp/hrun-systemd.XXXXXX)
	# It keeps itself in the unified hierarchy (and name=systemd on a v1
	# or hybrid host); v1 controllers' cgroups come from hrun.
	dirs=("$(cgroup_dir unified "$SYSTEMD_MGR_CGROUP")")
	[ "$(cgroup_mode)" != unified ] && [ -d /sys/fs/cgroup/systemd ] &&
		dirs+=("/sys/fs/cgroup/systemd$SYSTEMD_MGR_CGROUP")
	for d in "${dirs[@]}"; do
		mkdir -p "$d" || { SYSTEMD_SKIP="cannot make the manager's cgroup $d"; return 0; }
	done
	setsid unshare -m --propagation private sh -c '
		for d in '"${dirs[*]}"'; do echo $$ >"$d/cgroup.procs" || exit 1; done
		mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/systemd/system || exit 1
		exec env XDG_RUNTIME_DIR='"$SYSTEMD_RUNTIME"' HOME=/root '"$sd"' --user' \
		>"$SYSTEMD_RUNTIME.log" 2>&1 </dev/null 3>&- &
	SYSTEMD_MGR_PID=$!
	for ((i = 0; i < 300; i++)); do
		XDG_RUNTIME_DIR=$SYSTEMD_RUNTIME systemctl --user show -p Version >/dev/null 2>&1 && break
		kill -0 "$SYSTEMD_MGR_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! XDG_RUNTIME_DIR=$SYSTEMD_RUNTIME systemctl --user show -p Version >/dev/null 2>&1; then
		SYSTEMD_SKIP="systemd --user did not start: $(tail -n3 "$SYSTEMD_RUNTIME.log" | tr '\n' ' ')"
		stop_test_systemd
		export SYSTEMD_SKIP
		return 0
	fi
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$SYSTEMD_RUNTIME/systemd/private
}

# End the test manager and whatever it started (the bus daemon), and
# remove its cgroups.
stop_test_systemd() {
	local d i pids
	[ -n "${SYSTEMD_MGR_CGROUP:-}" ] || return 0
	[ -n "${SYSTEMD_MGR_PID:-}" ] && kill -KILL "$SYSTEMD_MGR_PID" 2>/dev/null
	for d in $(cgroup_dirs "$SYSTEMD_MGR_CGROUP"); do
		[ -d "$d" ] || continue
		for ((i = 0; i < 100; i++)); do
			pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
			[ -z "$pids" ] && break
			kill -KILL $pids 2>/dev/null
			sleep 0.02
		done
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ -n "${SYSTEMD_RUNTIME:-}" ] && rm -rf "$SYSTEMD_RUNTIME" "$SYSTEMD_RUNTIME.log"
	return 0
}

# The test file's systemd (start_test_systemd) is there.
require_systemd() {
	[ -z "${SYSTEMD_SKIP:-}" ] || skip "needs systemd: $SYSTEMD_SKIP"
	[ -n "${DBUS_SYSTEM_BUS_ADDRESS:-}" ] || skip "needs systemd: start_test_systemd was not called"
}

# `systemctl --user` at the test manager.
test_systemctl() {
	XDG_RUNTIME_DIR=$SYSTEMD_RUNTIME systemctl --user "$@"
}
