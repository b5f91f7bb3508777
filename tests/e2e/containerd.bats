#!/usr/bin/env bats
# containerd (Debian's 1.6, through containerd-shim-runc-v2) driving the
# runtime under test, with ctr as the client.
#
# run.sh starts a private containerd (own socket, root, state, CRI plugin
# off) and imports the test image. Each container names the runtime with
# --runc-binary "$E2E_RUNTIME"; the shim then calls it as
#   E2E_RUNTIME --root $RUNC_ROOT/hrun-e2e --log ... --log-format json CMD ...
# (--runc-root keeps that state under $E2E_TMP instead of
# /run/containerd/runc). The last test proves the shim really executes the
# binary given: it points --runc-binary at a wrapper script that logs every
# invocation before exec'ing E2E_RUNTIME, and checks the log.

load helpers

: "${E2E_CTR_ADDRESS:?run the e2e suites through tests/e2e/run.sh}"
NS=${E2E_CTR_NAMESPACE:-hrun-e2e}
IMAGE=${E2E_CTR_IMAGE:-localhost/hrun-e2e:latest}
RUNC_ROOT=$E2E_TMP/containerd/runc-root
# the --root the shim hands the runtime
RT_ROOT=$RUNC_ROOT/$NS
CTR=(ctr --address "$E2E_CTR_ADDRESS" --namespace "$NS")

# Options every `ctr run` gets: the runtime under test and its state root,
# ctr's fifos under $E2E_TMP (not /run/containerd/fifo).
RUN_OPTS=(--runc-binary "$E2E_RUNTIME" --runc-root "$RUNC_ROOT"
	--fifo-dir "$E2E_TMP/containerd/fifo")

c() {
	"${TO[@]}" "${CTR[@]}" "$@"
}

# The container's cgroup: below the run's dedicated parent.
cgroup_of() {
	echo "$E2E_CGROUP_PARENT/ctr-$1"
}

# ctr_run ID [CTR-RUN-OPTIONS...] -- CMD...: `ctr run` of the test image as
# container ID, in its own cgroup, with the runtime under test.
ctr_run() {
	local id=$1 opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	c run "${RUN_OPTS[@]}" --cgroup "$(cgroup_of "$id")" "${opts[@]}" "$IMAGE" "$id" "$@"
}

teardown() {
	# A failed test may leave a paused or running task behind: remove
	# every container of the namespace, so the next test starts clean.
	local id
	for id in $(c container ls -q); do
		[ "$(task_status "$id")" = PAUSED ] && c task resume "$id"
		c task kill -s SIGKILL "$id"
		wait_until 10 task_stopped_or_gone "$id"
		c task delete "$id"
		c container delete "$id"
	done >/dev/null 2>&1
	return 0
}

has_container() {
	c container ls -q | grep -qx "$1"
}

# STATUS column of `ctr task ls` for the task (empty when there is none).
task_status() {
	c task ls | awk -v id="$1" '$1 == id { print $3 }'
}

task_pid() {
	c task ls | awk -v id="$1" '$1 == id { print $2 }'
}

task_stopped_or_gone() {
	local s
	s=$(task_status "$1")
	[ -z "$s" ] || [ "$s" = STOPPED ]
}

# A task that exits 7 on SIGTERM (as pid 1 it sees SIGTERM only because it
# traps it).
start_sleeper() {
	ctr_run "$1" -d -- sh -c 'trap "exit 7" TERM; sleep 300 & wait'
}

@test "ctr run --rm: output of the container reaches the caller" {
	run --separate-stderr ctr_run e2e-echo --rm -- echo hello from containerd
	assert_status 0
	assert_output "hello from containerd"
	# --rm removed container and task
	if has_container e2e-echo; then echo "container e2e-echo left behind"; false; fi
	run "${TO[@]}" "$E2E_RUNTIME" --root "$RT_ROOT" state e2e-echo
	[ "$status" -ne 0 ] || { echo "runtime still knows e2e-echo"; show_run; false; }
}

@test "ctr run: the container's exit code 42 passes through" {
	run --separate-stderr ctr_run e2e-exit --rm -- sh -c 'echo before-exit; exit 42'
	assert_status 42
	assert_output before-exit
}

@test "ctr run -d + task exec + task ps: exec'd output, exit code, processes" {
	run --separate-stderr start_sleeper e2e-exec
	assert_status 0
	wait_until 10 test "$(task_status e2e-exec)" = RUNNING
	pid=$(task_pid e2e-exec)
	# containerd and the runtime agree on the container and its pid
	run runtime_status "$RT_ROOT" e2e-exec
	assert_output running
	[ "$("${TO[@]}" "$E2E_RUNTIME" --root "$RT_ROOT" state e2e-exec | jq -r .pid)" = "$pid" ]

	run --separate-stderr c task exec --exec-id x1 --fifo-dir "$E2E_TMP/containerd/fifo" \
		e2e-exec sh -c 'echo from exec; echo exec-err >&2'
	assert_status 0
	assert_output "from exec"
	assert_equal "$stderr" exec-err

	run --separate-stderr c task exec --exec-id x2 --fifo-dir "$E2E_TMP/containerd/fifo" \
		e2e-exec sh -c 'exit 3'
	assert_status 3

	# task ps: the init process (task pid) and its sleep child, host pids
	run --separate-stderr c task ps e2e-exec
	assert_status 0
	[[ ${lines[0]} =~ ^PID[[:space:]]+INFO ]] || { show_run; false; }
	[ "${#lines[@]}" -eq 3 ] || { show_run; false; }
	printf '%s\n' "${lines[@]:1}" | awk '{print $1}' | grep -qx "$pid" || { show_run; false; }
	# the other one is the sleep, a child of the init process
	other=$(printf '%s\n' "${lines[@]:1}" | awk -v p="$pid" '$1 != p {print $1}')
	assert_equal "$(awk '{print $4}' "/proc/$other/stat")" "$pid"
	assert_equal "$(tr '\0' ' ' <"/proc/$other/cmdline")" "sleep 300 "
}

@test "ctr task pause/resume: task ls and the runtime show the state" {
	run --separate-stderr start_sleeper e2e-pause
	assert_status 0
	wait_until 10 test "$(task_status e2e-pause)" = RUNNING

	run --separate-stderr c task pause e2e-pause
	assert_status 0
	run task_status e2e-pause
	assert_output PAUSED
	run runtime_status "$RT_ROOT" e2e-pause
	assert_output paused

	run --separate-stderr c task resume e2e-pause
	assert_status 0
	run task_status e2e-pause
	assert_output RUNNING
	run runtime_status "$RT_ROOT" e2e-pause
	assert_output running
	# thawed for real: a new process runs and answers
	run --separate-stderr c task exec --exec-id awake --fifo-dir "$E2E_TMP/containerd/fifo" \
		e2e-pause echo awake
	assert_status 0
	assert_output awake
}

@test "ctr task kill + task delete + container delete: exit code, nothing left" {
	run --separate-stderr start_sleeper e2e-kill
	assert_status 0
	wait_until 10 test "$(task_status e2e-kill)" = RUNNING

	run --separate-stderr c task kill e2e-kill
	assert_status 0
	wait_until 10 test "$(task_status e2e-kill)" = STOPPED

	# ctr reports a non-zero exit code as a warning on task delete
	run --separate-stderr c task delete e2e-kill
	assert_status 0
	[[ $stderr == *"task e2e-kill exit with non-zero exit code 7"* ]] || { show_run; false; }
	run task_status e2e-kill
	assert_output ""
	# the runtime forgot it and removed its cgroup
	run "${TO[@]}" "$E2E_RUNTIME" --root "$RT_ROOT" state e2e-kill
	[ "$status" -ne 0 ] || { echo "runtime still knows e2e-kill"; show_run; false; }
	cgroup_gone "$(cgroup_of e2e-kill)"

	run --separate-stderr c container delete e2e-kill
	assert_status 0
	if has_container e2e-kill; then echo "container e2e-kill left behind"; false; fi
	# its snapshot went with it, and the rootfs is unmounted
	run --separate-stderr c snapshot ls
	[[ $output != *e2e-kill* ]] || { show_run; false; }
	if grep "/e2e-kill/rootfs " /proc/self/mountinfo; then echo "rootfs still mounted"; false; fi
}

@test "ctr run -t: the container's stdio is a terminal" {
	run_in_pty "${TO[@]}" "${CTR[@]}" run "${RUN_OPTS[@]}" --cgroup "$(cgroup_of e2e-tty)" \
		--rm -t "$IMAGE" e2e-tty sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo isatty; exit 4'
	assert_status 4
	# The tty may echo script's end-of-input (as ^@ or ^D) before the
	# output: look at whole lines.
	printf '%s\n' "${lines[@]}" | grep -Eq '(^|\^.)/dev/pts/[0-9]+$' || { show_run; false; }
	printf '%s\n' "${lines[@]}" | grep -qx isatty || { show_run; false; }
}

@test "containerd's shim executes exactly E2E_RUNTIME (wrapper log)" {
	# A wrapper in place of the runtime: it logs its arguments, then execs
	# E2E_RUNTIME. If the shim ignored --runc-binary (and ran runc from
	# PATH), the log would stay empty.
	log=$BATS_TEST_TMPDIR/runtime-calls.log
	wrapper=$BATS_TEST_TMPDIR/runtime-wrapper
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>%q\nexec %q "$@"\n' "$log" "$E2E_RUNTIME" >"$wrapper"
	chmod 755 "$wrapper"

	run --separate-stderr c run --runc-binary "$wrapper" --runc-root "$RUNC_ROOT" \
		--fifo-dir "$E2E_TMP/containerd/fifo" --cgroup "$(cgroup_of e2e-wrapped)" \
		--rm "$IMAGE" e2e-wrapped echo wrapped
	assert_status 0
	assert_output wrapped

	cat "$log"
	# every call carries the state root derived from --runc-root
	run grep -vc -- "^--root $RT_ROOT " "$log"
	assert_output 0
	grep -Eq " create .*--bundle [^ ]+/e2e-wrapped .*e2e-wrapped\$" "$log"
	grep -Eq " start e2e-wrapped\$" "$log"
	grep -Eq " delete( --force)? e2e-wrapped\$" "$log"
}
