#!/usr/bin/env bats
# podman (Debian's 4.3, through conmon) driving the runtime under test.
#
# podman gets the runtime by path (--runtime "$E2E_RUNTIME") and keeps all
# its state under $E2E_TMP/podman: --root/--runroot here, tmp_dir, the
# network config dir, the events log and default_ulimits in the private
# containers.conf that run.sh writes (CONTAINERS_CONF). Rootful podman
# passes no --root to the runtime, so the runtime keeps its state in its
# default root (/run/runc, /run/hrun), as it would in production; the
# `runtime_status "" ID` checks read that same root.

load helpers

IMAGE=${E2E_PODMAN_IMAGE:-localhost/hrun-e2e:latest}

PODMAN=(podman
	--root "$E2E_TMP/podman/root"
	--runroot "$E2E_TMP/podman/runroot"
	--runtime "$E2E_RUNTIME"
	--cgroup-manager cgroupfs
	--events-backend file)

# Every container goes below the run's dedicated cgroup parent, never below
# the cgroup this shell was placed in.
CGROUP_PARENT=$E2E_CGROUP_PARENT/podman
RUN_OPTS=(--network none --cgroup-parent "$CGROUP_PARENT")

pm() {
	"${TO[@]}" "${PODMAN[@]}" "$@"
}

teardown() {
	# Whatever a failed test left running goes now; run.sh sweeps the rest.
	local id
	for id in $(pm ps -a -q --no-trunc 2>/dev/null); do
		pm rm -f -t 0 "$id" >/dev/null 2>&1 || true
	done
}

# A long-running container that exits 11 on SIGTERM. As pid 1 it gets
# SIGTERM only because it traps it; the background sleep keeps it busy.
start_sleeper() {
	pm run -d --name "$1" "${RUN_OPTS[@]}" "$IMAGE" \
		sh -c 'trap "exit 11" TERM; sleep 300 & wait'
}

container_status() {
	pm inspect --format '{{.State.Status}}' "$1"
}

@test "podman run --rm: output of the container reaches the caller" {
	run --separate-stderr pm run --rm "${RUN_OPTS[@]}" "$IMAGE" echo hello from podman
	assert_status 0
	assert_output "hello from podman"
	# --rm removed it
	run --separate-stderr pm ps -a -q
	assert_status 0
	assert_output ""
}

@test "podman run: the container's exit code 42 passes through" {
	run --separate-stderr pm run --rm "${RUN_OPTS[@]}" "$IMAGE" sh -c 'echo before-exit; exit 42'
	assert_status 42
	assert_output "before-exit"
}

@test "podman run: the seccomp profile podman configures is in force" {
	# podman puts its default profile (containers-common's seccomp.json) in
	# config.json as linux.seccomp; a runtime that ignores it still runs
	# the container, only unconfined. Mode 2 is SECCOMP_MODE_FILTER.
	# A runtime that says it has no seccomp cannot pass; say so instead.
	[ "$("$E2E_RUNTIME" features | jq -r '.linux.seccomp.enabled')" = true ] ||
		skip "$E2E_RUNTIME reports no seccomp support (features: linux.seccomp.enabled)"
	run --separate-stderr pm run --rm "${RUN_OPTS[@]}" "$IMAGE" grep '^Seccomp:' /proc/self/status
	assert_status 0
	assert_output "$(printf 'Seccomp:\t2')"
}

@test "podman run -d + exec: output and exit code of the exec'd process" {
	run --separate-stderr start_sleeper e2e-exec
	assert_status 0
	id=$output
	[[ $id =~ ^[0-9a-f]{64}$ ]] || { show_run; false; }

	run container_status e2e-exec
	assert_output running
	# podman's pid and the runtime's own state agree: the runtime podman
	# used is E2E_RUNTIME, and it tracks the container as running.
	pid=$(pm inspect --format '{{.State.Pid}}' e2e-exec)
	run runtime_status "" "$id"
	assert_output running
	[ "$("${TO[@]}" "$E2E_RUNTIME" state "$id" | jq -r .pid)" = "$pid" ]

	run --separate-stderr pm exec e2e-exec sh -c 'echo from exec; echo exec-err >&2'
	assert_status 0
	assert_output "from exec"
	assert_equal "$stderr" "exec-err"

	run --separate-stderr pm exec e2e-exec sh -c 'exit 3'
	assert_status 3

	# The exec'd process shares the container's pid namespace: the
	# trapping shell is pid 1 there.
	run --separate-stderr pm exec e2e-exec sh -c "tr '\\0' ' ' </proc/1/cmdline"
	assert_status 0
	assert_output 'sh -c trap "exit 11" TERM; sleep 300 & wait '
}

@test "podman top lists the container's processes" {
	run --separate-stderr pm run -d --name e2e-top "${RUN_OPTS[@]}" "$IMAGE" sleep 300
	assert_status 0
	run --separate-stderr pm top e2e-top pid args
	assert_status 0
	# header, then exactly the one process: pid 1 of the container
	[ "${#lines[@]}" -eq 2 ] || { show_run; false; }
	[[ ${lines[0]} =~ ^PID[[:space:]]+COMMAND ]] || { show_run; false; }
	[[ ${lines[1]} =~ ^1[[:space:]]+sleep\ 300[[:space:]]*$ ]] || { show_run; false; }
}

@test "podman pause/unpause: podman and the runtime both see the state" {
	run --separate-stderr start_sleeper e2e-pause
	assert_status 0
	id=$output

	run --separate-stderr pm pause e2e-pause
	assert_status 0
	run container_status e2e-pause
	assert_output paused
	run runtime_status "" "$id"
	assert_output paused

	run --separate-stderr pm unpause e2e-pause
	assert_status 0
	run container_status e2e-pause
	assert_output running
	run runtime_status "" "$id"
	assert_output running
	# thawed for real: a new process runs and answers
	run --separate-stderr pm exec e2e-pause echo awake
	assert_status 0
	assert_output awake
}

@test "podman stop + rm: SIGTERM reaches pid 1, rm leaves nothing in the runtime" {
	run --separate-stderr start_sleeper e2e-stop
	assert_status 0
	id=$output

	run --separate-stderr pm stop -t 10 e2e-stop
	assert_status 0
	assert_output e2e-stop
	run --separate-stderr pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' e2e-stop
	assert_output "exited 11"

	run --separate-stderr pm rm e2e-stop
	assert_status 0
	run --separate-stderr pm ps -a -q
	assert_output ""
	# The runtime forgot it and removed the cgroup it made.
	run "${TO[@]}" "$E2E_RUNTIME" state "$id"
	[ "$status" -ne 0 ] || { echo "runtime still knows $id"; show_run; false; }
	cgroup_gone "$CGROUP_PARENT/libpod-$id"
}

@test "podman run -t: the container's stdio is a terminal" {
	run_in_pty "${TO[@]}" "${PODMAN[@]}" run --rm -t "${RUN_OPTS[@]}" "$IMAGE" \
		sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo isatty; exit 4'
	assert_status 4
	[ "${#lines[@]}" -eq 2 ] || { show_run; false; }
	[[ ${lines[0]} =~ ^/dev/pts/[0-9]+$ ]] || { show_run; false; }
	assert_equal "${lines[1]}" isatty
}

@test "podman run -i: piped stdin reaches the container" {
	run --separate-stderr bash -c 'printf "hi\nthere\n" | "$@"' _ \
		"${TO[@]}" "${PODMAN[@]}" run --rm -i "${RUN_OPTS[@]}" "$IMAGE" cat
	assert_status 0
	assert_output "$(printf 'hi\nthere')"

	# stdin is not a terminal and ends: read sees EOF after the data
	run --separate-stderr bash -c 'printf "one\n" | "$@"' _ \
		"${TO[@]}" "${PODMAN[@]}" run --rm -i "${RUN_OPTS[@]}" "$IMAGE" \
		sh -c 'read a; echo "got:$a"; [ -t 0 ] || echo not-a-tty; read b || echo eof; exit 5'
	assert_status 5
	assert_output "$(printf 'got:one\nnot-a-tty\neof')"
}
