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
	rm -rf "$BUNDLE" "$STATE"
	# Depth first: a test may have made cgroups below its own.
	for d in /sys/fs/cgroup/*"$CGROUP" /sys/fs/cgroup/unified"$CGROUP"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

# Apply a jq filter to the bundle's config.json.
update_config() {
	local tmp
	tmp=$(mktemp)
	jq "$1" "$BUNDLE/config.json" >"$tmp" && mv "$tmp" "$BUNDLE/config.json"
}

# hrun with the test's state root; a hung container cannot hang the suite.
hrun() {
	timeout --kill-after=5 60 "$HRUN" --root "$STATE" "$@"
}

# Set process.args to exactly ARGS (any characters, "-c" too; none is
# fine). jq 1.6 takes a positional "-c" for its own option, so each
# argument goes in as the value of --arg.
set_args() {
	local a args
	args=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -sc .) || return 1
	update_config ".process.args = $args"
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
	for d in /sys/fs/cgroup/*"$CGROUP" /sys/fs/cgroup/unified"$CGROUP"; do
		[ ! -d "$d" ] || { echo "cgroup $d left behind"; return 1; }
	done
}

# --- containers in the background -----------------------------------------

# Start `hrun ARGS...` (with the test's state root) in the background,
# stdout and stderr to OUT. Its pid is in BG_PID; stop_bg ends it.
hrun_bg() {
	local out=$1
	shift
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

# The pids of the processes in the test's cgroup and below it (v1 pids
# hierarchy, or the unified one).
cgroup_procs() {
	local d
	for d in /sys/fs/cgroup/pids"$CGROUP" /sys/fs/cgroup/unified"$CGROUP" /sys/fs/cgroup"$CGROUP"; do
		[ -f "$d/cgroup.procs" ] && { find "$d" -name cgroup.procs -exec cat {} +; return 0; }
	done
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
