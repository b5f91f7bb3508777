# Shared helpers for the end-to-end suites. run.sh sets up the private
# state these files rely on and exports the E2E_* variables; run the suites
# through it, not with bats directly.

# run --separate-stderr needs bats >= 1.5 (Debian 12 has 1.8.2).
bats_require_minimum_version 1.5.0

: "${E2E_RUNTIME:?run the e2e suites through tests/e2e/run.sh}"
: "${E2E_TMP:?run the e2e suites through tests/e2e/run.sh}"
: "${E2E_CGROUP_PARENT:?run the e2e suites through tests/e2e/run.sh}"
: "${E2E_ROOTFS:?run the e2e suites through tests/e2e/run.sh}"

# Every client command gets a hard limit, so a runtime that hangs fails
# the test instead of hanging the suite.
E2E_CMD_TIMEOUT=${E2E_CMD_TIMEOUT:-60}
TO=(timeout --kill-after=5 "$E2E_CMD_TIMEOUT")

# Print what a failed assertion saw: bats shows this output on failure.
show_run() {
	echo "status: $status"
	printf 'stdout: %q\n' "$output"
	printf 'stderr: %q\n' "${stderr:-}"
}

assert_status() {
	[ "$status" -eq "$1" ] && return 0
	echo "expected exit status $1"
	show_run
	return 1
}

assert_output() {
	[ "$output" = "$1" ] && return 0
	printf 'expected stdout: %q\n' "$1"
	show_run
	return 1
}

assert_equal() {
	[ "$1" = "$2" ] && return 0
	printf 'expected %q\n     got %q\n' "$2" "$1"
	return 1
}

# Wait until the command succeeds: retry every 0.1 s for up to SECONDS.
wait_until() {
	local seconds=$1 i
	shift
	for ((i = 0; i < seconds * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "timed out after ${seconds}s waiting for: $*"
	return 1
}

# Run COMMAND... on a new pseudo-terminal (util-linux script), so a client
# asked for -t really has a terminal to hand to the container. stdin is
# /dev/null: the tests do not type anything. Carriage returns that the tty
# adds are stripped from $output. script -e returns the command's status.
#
# The command must stay in the terminal's foreground process group, or the
# client's tcsetattr (raw mode) stops it with SIGTTOU and the test hangs.
# script runs it with $SHELL -c, which is dash when SHELL is unset (as in
# CI): dash forks instead of exec'ing, and timeout(1) then puts itself in a
# new, background group. `exec` under bash keeps the command the session
# leader, whose setpgid is a no-op.
run_in_pty() {
	local cmd
	printf -v cmd '%q ' "$@"
	run env SHELL=/bin/bash script -qefc "exec $cmd" /dev/null </dev/null
	output=${output//$'\r'/}
	lines=()
	[ -z "$output" ] || mapfile -t lines <<<"$output"
}

# The runtime's own view of a container: `state` status field. ROOT may be
# empty for the runtime's default state root (that is what podman uses).
runtime_status() {
	local root=$1 id=$2
	"${TO[@]}" "$E2E_RUNTIME" ${root:+--root "$root"} state "$id" | jq -r .status
}

# True when no cgroup directory named REL (relative to the v1 and v2
# hierarchy roots) exists in any controller.
cgroup_gone() {
	local d
	for d in /sys/fs/cgroup/*"$1"; do
		[ -d "$d" ] && { echo "cgroup left behind: $d"; return 1; }
	done
	return 0
}
