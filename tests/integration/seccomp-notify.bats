#!/usr/bin/env bats
# linux.seccomp with SCMP_ACT_NOTIFY: the listener reaches the agent at
# listenerPath with the container process state, and the container's
# notified syscalls get the agent's answers, seen from inside by the probe.
# The agent is tests/fixtures/seccomp-agent, run on the host; it logs what
# it received and every notification it answered. A create whose agent
# cannot be reached fails and leaves nothing behind.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	require_seccomp_agent
	setup_bundle
	ID=sn-$BATS_TEST_NUMBER
	OUT=$BUNDLE/out
	SOCK=$BUNDLE/agent.sock
	LOG=$BUNDLE/agent.log
	# The probe's mkdir must be able to succeed when the kernel makes it.
	update_config '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]'
}

teardown() {
	delete_all
	stop_bg
	teardown_bundle
}

# Start the agent answering with ANSWER (fake, errno:N, continue).
start_agent() {
	"$HRUN_TEST_SECCOMP_AGENT" "$SOCK" "$LOG" "$1" 3>&- &
	AGENT_PID=$!
	BG_PIDS="${BG_PIDS:-} $AGENT_PID"
	wait_for_line "$LOG" '^listening$'
}

# Default ALLOW, mkdir notified to the agent at $SOCK; EXTRA is merged in.
notify_mkdir() {
	update_config ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"$SOCK\",
		\"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_NOTIFY\"}]} + ${1:-{\}}"
}

# The Nth container process state the agent received (1: the first).
agent_state() {
	sed -n 's/^state //p' "$LOG" | sed -n "${1:-1}p"
}

# mkdir then stat of the same path: the two results tell who answered.
mkdir_then_stat() {
	set_args /bin/sh -c "/probe mkdir $1; /probe stat $1; /probe report fd"
}

@test "round trip: the agent gets the state and the listener, a notified mkdir gets its answer" {
	start_agent fake
	notify_mkdir
	mkdir_then_stat /tmp/made
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	# The call "succeeded" and yet nothing was made: the agent answered.
	[ "$(probe_values result | paste -sd,)" = ok,ERR:ENOENT ]
	# The container holds no listener: it could answer its own calls.
	[[ "$(probe_values fd)" != *"seccomp notify"* ]]
	grep -q '^fds=1 anon_inode:seccomp notify$' "$LOG"
	grep -q '^notify pid=[0-9]* nr=[0-9]* answer=fake$' "$LOG"
	# runtime-spec's container process state, for the container's init.
	state=$(agent_state 1)
	jq -e --arg id "$ID" --arg bundle "$BUNDLE" '
		(.ociVersion | test("^1\\.")) and .fds == ["seccompFd"] and (.pid | type == "number") and
		.pid > 0 and .state.pid == .pid and .state.id == $id and .state.status == "creating" and
		.state.bundle == $bundle and (.state.ociVersion | test("^1\\.")) and (has("metadata") | not)' <<<"$state"
	# Once the container has exited, the agent sees the listener close.
	wait_for_line "$LOG" '^closed$'
}

@test "the agent's errno and CONTINUE answers reach the container's syscall" {
	start_agent errno:18
	notify_mkdir
	mkdir_then_stat /tmp/made
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	# EXDEV: no mkdir fails so by itself.
	[ "$(probe_values result | paste -sd,)" = ERR:EXDEV,ERR:ENOENT ]
	stop_bg
	rm -f "$SOCK" "$LOG"

	start_agent continue
	run hrun run -b "$BUNDLE" "$ID-2"
	[ "$status" -eq 0 ]
	# The kernel made the call after all.
	[ "$(probe_values result | paste -sd,)" = ok,ok ]
	grep -q 'answer=continue$' "$LOG"
}

@test "listenerMetadata reaches the agent as metadata, verbatim" {
	start_agent fake
	notify_mkdir '{"listenerMetadata": "MKNOD=/dev/null;quote=\" tab=\t"}'
	mkdir_then_stat /tmp/made
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq -r .metadata <<<"$(agent_state 1)")" = "$(printf 'MKNOD=/dev/null;quote=" tab=\t')" ]
}

@test "with and without noNewPrivileges, create hands the listener over before it returns; start runs under it" {
	local nnp n=0
	start_agent fake
	notify_mkdir
	set_args /bin/sh -c '/probe mkdir /tmp/made; /probe stat /tmp/made; echo done'
	for nnp in true false; do
		n=$((n + 1))
		update_config ".process.noNewPrivileges = $nnp"
		detached create -b "$BUNDLE" "$ID-$nnp"
		[ "$status" -eq 0 ]
		[ "$(status_of "$ID-$nnp")" = created ]
		# Nothing started yet, and the agent has the listener.
		for _ in $(seq 200); do [ -n "$(agent_state $n)" ] && break; sleep 0.05; done
		[ "$(jq -r .state.id <<<"$(agent_state $n)")" = "$ID-$nnp" ]
		[ "$(jq -r .pid <<<"$(agent_state $n)")" = "$(pid_of "$ID-$nnp")" ]
		hrun start "$ID-$nnp"
		# The container writes to create's stdout, the file detached made.
		wait_for_line "$OUT.detached" '^done$'
		[ "$(sed -n 's/^result=//p' "$OUT.detached" | paste -sd,)" = ok,ERR:ENOENT ]
		hrun delete --force "$ID-$nnp"
	done
}

@test "exec: the exec'd process's listener reaches the agent with the container's state" {
	start_agent fake
	notify_mkdir
	sleeper
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	run hrun exec "$ID" /bin/sh -c '/probe mkdir /tmp/made; /probe stat /tmp/made'
	[ "$status" -eq 0 ]
	[ "$(probe_values result | paste -sd,)" = ok,ERR:ENOENT ]
	# The second state: the exec'd process's, in a running container.
	state=$(agent_state 2)
	jq -e --arg id "$ID" --argjson init "$(pid_of "$ID")" '
		.fds == ["seccompFd"] and .state.id == $id and .state.status == "running" and
		.state.pid == $init and .pid != $init and .pid > 0' <<<"$state"
	# And without no_new_privs for the exec'd process (loaded early).
	update_config '.process.noNewPrivileges = false'
	run hrun exec "$ID" /bin/sh -c '/probe mkdir /tmp/made2; /probe stat /tmp/made2'
	[ "$status" -eq 0 ]
	[ "$(probe_values result | paste -sd,)" = ok,ERR:ENOENT ]
}

@test "flags WAIT_KILLABLE_RECV and TSYNC work with a listener; features lists NOTIFY and the flag" {
	run --separate-stderr "$HRUN" features
	[ "$status" -eq 0 ]
	jq -e '.linux.seccomp.actions | index("SCMP_ACT_NOTIFY")' <<<"$output"
	# Linux 5.19 added it; this kernel: see uname -r.
	jq -e '.linux.seccomp.supportedFlags | index("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")' <<<"$output" ||
		skip "this kernel ($(uname -r)) lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
	start_agent fake
	notify_mkdir '{"flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"]}'
	mkdir_then_stat /tmp/made
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_values result | paste -sd,)" = ok,ERR:ENOENT ]
	# Without a NOTIFY rule the flag has nothing to apply to: ignored.
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]}'
	run hrun run -b "$BUNDLE" "$ID-2"
	[ "$status" -eq 0 ]
	[ "$(probe_values result | paste -sd,)" = ERR:EXDEV,ERR:ENOENT ]
}

# The create fails with a message containing the second argument, and
# nothing of the container is left: state, cgroup, process.
refused_create() {
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ] || { echo "accepted: $output"; return 1; }
	[[ "$output" == *"$1"* ]] || { echo "message lacks \"$1\": $output"; return 1; }
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE" 2>/dev/null)" ] || { echo "state root not empty:"; ls -A "$STATE"; return 1; }
	if pgrep -f -- "$BUNDLE" >/dev/null; then
		echo "a process of the bundle is left:"
		pgrep -af -- "$BUNDLE"
		return 1
	fi
}

@test "no agent at listenerPath, or one refusing connections: create fails and leaves nothing behind" {
	notify_mkdir
	sleeper
	refused_create "connect to the seccomp agent at linux.seccomp.listenerPath \"$SOCK\": No such file or directory"
	# A socket nobody listens on any more.
	"$HRUN_TEST_SECCOMP_AGENT" --stale "$SOCK"
	[ -S "$SOCK" ]
	refused_create "connect to the seccomp agent at linux.seccomp.listenerPath \"$SOCK\": Connection refused"
	# Without no_new_privs the listener comes at another step: same end.
	update_config '.process.noNewPrivileges = false'
	refused_create "Connection refused"
}

@test "exec whose agent is gone fails, and its process does not run" {
	start_agent fake
	notify_mkdir
	sleeper
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	rm -f "$SOCK"
	run hrun exec "$ID" /bin/sh -c 'echo exec-ran-marker'
	[ "$status" -ne 0 ]
	[[ "$output" == *"connect to the seccomp agent at linux.seccomp.listenerPath \"$SOCK\": No such file or directory"* ]]
	[[ "$output" != *exec-ran-marker* ]]
	[ "$(status_of "$ID")" = running ]
	# The exec'd process was killed, not left waiting.
	[ "$(cgroup_procs | wc -l)" -eq 1 ]
}

@test "SCMP_ACT_NOTIFY without listenerPath, and listenerMetadata alone, are refused" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}'
	refused_create 'linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath'
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m"}'
	refused_create 'linux.seccomp.listenerMetadata: requires listenerPath'
	# NOTIFY as the default would hold every call, the agent's traffic too.
	update_config ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_NOTIFY\", \"listenerPath\": \"$SOCK\"}"
	refused_create 'linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action'
}
