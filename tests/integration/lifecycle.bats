#!/usr/bin/env bats
# The runc lifecycle: create, start, state, kill, delete, list, ps, pause,
# resume, events and exec, with runc's messages and exit codes, and what
# the host sees between the steps.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=lc-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
}

teardown() {
	stop_bg
	delete_all
	[ -z "${OUT:-}" ] || rm -f "$OUT" "$OUT".*
	teardown_bundle
}

@test "create leaves init waiting, start runs the process, state follows every step" {
	set_args /bin/sh -c 'echo started >/tmp/marker; sleep 60'
	detached create -b "$BUNDLE" --pid-file "$OUT.pid" "$ID"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(status_of "$ID")" = created ]
	pid=$(pid_of "$ID")
	[ "$pid" -gt 0 ]
	# The pid file: decimal, no trailing newline, the init's host pid.
	[ "$(cat "$OUT.pid")" = "$pid" ]
	[ "$(tail -c1 "$OUT.pid" | od -An -c | tr -d ' ')" != '\n' ]
	# Created means set up but not running the process: the mark is absent.
	[ ! -e "/proc/$pid/root/tmp/marker" ]
	# create left no helper behind: init's parent is not an hrun process.
	ppid=$(awk '{print $4}' "/proc/$pid/stat")
	[ "$(cat "/proc/$ppid/comm")" != hrun ]
	run hrun start "$ID"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	for _ in $(seq 100); do [ -e "/proc/$pid/root/tmp/marker" ] && break; sleep 0.05; done
	[ "$(cat "/proc/$pid/root/tmp/marker")" = started ]
	[ "$(status_of "$ID")" = running ]
	[ ! -e "$STATE/$ID/exec.fifo" ]
}

@test "state: runc's JSON fields, RFC 3339 created, nothing on stderr" {
	sleeper
	update_config '.annotations = {"org.example/team": "infra"}'
	hrun create -b "$BUNDLE" "$ID"
	run --separate-stderr hrun state "$ID"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -r .ociVersion <<<"$output")" = 1.3.0 ]
	[ "$(jq -r .id <<<"$output")" = "$ID" ]
	[ "$(jq -r .bundle <<<"$output")" = "$(realpath "$BUNDLE")" ]
	[ "$(jq -r .rootfs <<<"$output")" = "$(realpath "$BUNDLE/rootfs")" ]
	[ "$(jq -r '.annotations["org.example/team"]' <<<"$output")" = infra ]
	jq -e 'has("owner")' <<<"$output"
	[[ "$(jq -r .created <<<"$output")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$ ]]
}

@test "a stopped container's state stays readable until delete, which removes everything" {
	set_args /bin/true
	hrun run -d -b "$BUNDLE" "$ID"
	for _ in $(seq 100); do [ "$(status_of "$ID")" = stopped ] && break; sleep 0.05; done
	run hrun state "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = stopped ]
	[ "$(jq -r .pid <<<"$output")" = 0 ]
	run hrun delete "$ID"
	[ "$status" -eq 0 ]
	assert_no_leftovers "$ID"
	run hrun state "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"container does not exist"* ]]
}

@test "delete of a created container kills its init and leaves nothing" {
	sleeper
	hrun create -b "$BUNDLE" "$ID"
	pid=$(pid_of "$ID")
	run hrun delete "$ID"
	[ "$status" -eq 0 ]
	[ ! -e "/proc/$pid" ] || [ "$(awk '{print $3}' "/proc/$pid/stat")" = Z ]
	assert_no_leftovers "$ID"
}

@test "delete of a running container needs --force; --force kills it" {
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	run hrun delete "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot delete container $ID that is not stopped: running"* ]]
	[ "$(status_of "$ID")" = running ]
	run hrun delete --force "$ID"
	[ "$status" -eq 0 ]
	assert_no_leftovers "$ID"
	[ -z "$(cgroup_procs)" ]
}

@test "delete --force of a missing container succeeds, without --force it fails" {
	run hrun delete --force nosuch
	[ "$status" -eq 0 ]
	run hrun delete nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"container does not exist"* ]]
}

# bats test_tags=vm
@test "a crashed create leaves a state that delete --force cleans (cgroup too)" {
	sleeper
	hrun create -b "$BUNDLE" "$ID"
	pid=$(pid_of "$ID")
	# What a create killed mid-way leaves: status creating, no live init.
	kill -9 "$pid"
	jq '.status = "creating" | .pid = 0' "$STATE/$ID/state.json" >"$OUT" && mv "$OUT" "$STATE/$ID/state.json"
	[ "$(status_of "$ID")" = stopped ]
	run hrun delete --force "$ID"
	[ "$status" -eq 0 ]
	assert_no_leftovers "$ID"
	# And a directory without any state.json.
	mkdir -p "$STATE/half-made"
	run hrun delete --force half-made
	[ "$status" -eq 0 ]
	[ ! -e "$STATE/half-made" ]
}

@test "kill takes 9, KILL and SIGKILL; the default is TERM" {
	local sig
	for sig in 9 KILL SIGKILL sigkill; do
		sleeper
		hrun run -d -b "$BUNDLE" "$ID"
		run hrun kill "$ID" "$sig"
		[ "$status" -eq 0 ]
		for _ in $(seq 100); do [ "$(status_of "$ID")" = stopped ] && break; sleep 0.05; done
		[ "$(status_of "$ID")" = stopped ]
		hrun delete "$ID"
	done
	# TERM reaches a process that handles it (pid 1 ignores unhandled ones).
	set_args /probe wait-signal
	hrun run -d -b "$BUNDLE" "$ID" >"$OUT" 2>&1
	wait_for_line "$OUT" ready=1
	run hrun kill "$ID"
	[ "$status" -eq 0 ]
	wait_for_line "$OUT" signal=SIGTERM
}

@test "kill: a bogus signal and a stopped container are refused with runc's messages" {
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	run hrun kill "$ID" SIGNOPE
	[ "$status" -eq 1 ]
	[[ "$output" == *'unknown signal "SIGNOPE"'* ]]
	[ "$(status_of "$ID")" = running ]
	hrun kill "$ID" KILL
	for _ in $(seq 100); do [ "$(status_of "$ID")" = stopped ] && break; sleep 0.05; done
	run hrun kill "$ID" KILL
	[ "$status" -eq 1 ]
	[[ "$output" == *"container not running"* ]]
	run hrun kill nosuch KILL
	[ "$status" -eq 1 ]
	[[ "$output" == *"container does not exist"* ]]
}

@test "kill --all reaches every process in the container" {
	set_args /bin/sh -c 'sleep 60 & sleep 60 & wait'
	hrun run -d -b "$BUNDLE" "$ID"
	for _ in $(seq 100); do [ "$(cgroup_procs | wc -l)" -ge 3 ] && break; sleep 0.05; done
	[ "$(cgroup_procs | wc -l)" -ge 3 ]
	run hrun kill --all "$ID" KILL
	[ "$status" -eq 0 ]
	for _ in $(seq 100); do [ -z "$(cgroup_procs)" ] && break; sleep 0.05; done
	[ -z "$(cgroup_procs)" ]
}

@test "start is refused for a running or stopped container, create for a duplicate ID" {
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	run hrun start "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot start an already running container"* ]]
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"container with given ID already exists"* ]]
	[ "$(status_of "$ID")" = running ]
	hrun kill "$ID" KILL
	for _ in $(seq 100); do [ "$(status_of "$ID")" = stopped ] && break; sleep 0.05; done
	run hrun start "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot start a container that has stopped"* ]]
	run hrun start nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"container does not exist"* ]]
}

@test "commands without an ID, or with an invalid one, fail with runc's wording" {
	local cmd
	for cmd in create start state delete pause resume ps events exec; do
		run hrun "$cmd"
		[ "$status" -eq 1 ]
		[[ "$output" == *"\"$cmd\" requires"* ]] || { echo "$cmd: $output"; false; }
	done
	run hrun state ../escape
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid container ID format"* ]]
	detached create --nosuch-flag x
	[ "$status" -eq 1 ]
	[[ "$output" == *"flag provided but not defined: -nosuch-flag"* ]]
}

@test "run -d returns once started; the pid file names the running init" {
	sleeper
	detached run -d -b "$BUNDLE" --pid-file "$OUT.pid" "$ID"
	[ "$status" -eq 0 ]
	[ "$(status_of "$ID")" = running ]
	[ "$(cat "$OUT.pid")" = "$(pid_of "$ID")" ]
	[ "$(cat "/proc/$(cat "$OUT.pid")/comm")" = sleep ]
}

@test "list: table, -q and --format json" {
	sleeper
	# Two containers of one bundle: a cgroup each.
	update_config ".linux.cgroupsPath = \"$CGROUP/a\""
	hrun create -b "$BUNDLE" "$ID-a"
	update_config ".linux.cgroupsPath = \"$CGROUP/b\""
	hrun run -d -b "$BUNDLE" "$ID-b"
	run hrun list -q
	[ "$status" -eq 0 ]
	[ "$output" = "$ID-a"$'\n'"$ID-b" ]
	run hrun list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER$ ]]
	[[ "${lines[1]}" =~ ^$ID-a\ +[0-9]+\ +created\ +$(realpath "$BUNDLE")\ + ]]
	[[ "${lines[2]}" =~ ^$ID-b\ +[0-9]+\ +running\ + ]]
	run hrun list --format json
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.[] | .id + ":" + .status] | join(",")' <<<"$output")" = "$ID-a:created,$ID-b:running" ]
	# An empty or absent root lists nothing.
	run "$HRUN" --root "$BUNDLE.none" list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "ps: json pids and the table from ps(1), nothing on stderr" {
	set_args /bin/sh -c 'sleep 60 & wait'
	hrun run -d -b "$BUNDLE" "$ID"
	for _ in $(seq 100); do [ "$(cgroup_procs | wc -l)" -ge 2 ] && break; sleep 0.05; done
	run --separate-stderr hrun ps --format json "$ID"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -r 'sort | join(",")' <<<"$output")" = "$(cgroup_procs | sort -n | paste -sd,)" ]
	run --separate-stderr hrun ps "$ID"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "${lines[0]}" == *PID* ]]
	[ "${#lines[@]}" -eq 3 ] || { echo "$output"; false; }
	[[ "$output" == *"sleep 60"* ]]
	# Extra arguments go to ps(1).
	run hrun ps "$ID" -- -eo pid,comm
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ PID\ +COMMAND ]]
	[ "${#lines[@]}" -eq 3 ]
}

# bats test_tags=vm
@test "pause freezes every process, resume thaws them; misuse is refused" {
	set_args /bin/sh -c 'while :; do date +%s%N >/tmp/tick; sleep 0.05; done'
	hrun run -d -b "$BUNDLE" "$ID"
	pid=$(pid_of "$ID")
	run hrun resume "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"container not paused"* ]]
	run hrun pause "$ID"
	[ "$status" -eq 0 ]
	[ "$(status_of "$ID")" = paused ]
	a=$(cat "/proc/$pid/root/tmp/tick")
	sleep 0.5
	[ "$(cat "/proc/$pid/root/tmp/tick")" = "$a" ]
	run hrun exec "$ID" /bin/true
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot exec in a paused container"* ]]
	run hrun resume "$ID"
	[ "$status" -eq 0 ]
	[ "$(status_of "$ID")" = running ]
	for _ in $(seq 100); do [ "$(cat "/proc/$pid/root/tmp/tick")" != "$a" ] && break; sleep 0.05; done
	[ "$(cat "/proc/$pid/root/tmp/tick")" != "$a" ]
	# delete --force of a paused container works too.
	hrun pause "$ID"
	run hrun delete --force "$ID"
	[ "$status" -eq 0 ]
	assert_no_leftovers "$ID"
}

# bats test_tags=vm
@test "events --stats prints one stats object with the container's pids" {
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	run --separate-stderr hrun events --stats "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq -r .type <<<"$output")" = stats ]
	[ "$(jq -r .id <<<"$output")" = "$ID" ]
	[ "$(jq -r .data.pids.current <<<"$output")" -ge 1 ]
	[ "$(jq -r .data.cpu.usage.total <<<"$output")" -ge 0 ]
	# The stream form: one object per interval, ending with the container.
	hrun_bg "$OUT" events --interval 100ms "$ID"
	wait_for_line "$OUT" '"type":"stats"'
	hrun kill "$ID" KILL
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
}

# bats test_tags=vm
@test "exec: joins the container's namespaces and cgroup; exit status is hrun's" {
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	pid=$(pid_of "$ID")
	run hrun exec "$ID" /probe report ns_mnt ns_pid ns_net ns_user ns_uts ns_ipc ns_cgroup hostname pid cgroup uid_map
	[ "$status" -eq 0 ]
	local t
	for t in mnt pid net user uts ipc cgroup; do
		[ "$(probe_value "ns_$t")" = "$(readlink "/proc/$pid/ns/$t")" ] || { echo "ns $t differs"; false; }
	done
	[ "$(probe_value hostname)" = hrun ]
	[ "$(probe_value pid)" -gt 1 ]
	[ "$(probe_value uid_map)" = "0 100000 65536" ]
	# In the container's cgroup: the namespace root, seen from inside.
	[[ "$(probe_values cgroup)" == *"0::/"* ]]
	run hrun exec "$ID" /probe exit 42
	[ "$status" -eq 42 ]
	run hrun exec "$ID" /bin/sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
}

@test "exec: -e, -u, --cwd, --cap and --no-new-privs shape the process" {
	update_config '.process.noNewPrivileges = false'
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	run hrun exec -e FOO=bar -u 1000:1000 --cwd /tmp "$ID" /probe report env uid gid cwd no_new_privs cap_eff_names
	[ "$status" -eq 0 ]
	[[ "$(probe_values env)" == *FOO=bar* ]]
	[ "$(probe_value uid)" = 1000 ]
	[ "$(probe_value gid)" = 1000 ]
	[ "$(probe_value cwd)" = /tmp ]
	[ "$(probe_value no_new_privs)" = 0 ]
	# A non-root user without ambient caps has none effective.
	[ -z "$(probe_value cap_eff_names)" ]
	run hrun exec --cap CAP_NET_ADMIN --no-new-privs "$ID" /probe report cap_eff_names cap_bnd_names no_new_privs
	[ "$status" -eq 0 ]
	[[ "$(probe_value cap_eff_names)" == *CAP_NET_ADMIN* ]]
	[[ "$(probe_value cap_bnd_names)" == *CAP_NET_ADMIN* ]]
	[ "$(probe_value no_new_privs)" = 1 ]
	# The container's own init keeps what it had.
	run hrun exec "$ID" /probe report cap_eff_names
	[[ "$(probe_value cap_eff_names)" != *CAP_NET_ADMIN* ]]
	run hrun exec --cap CAP_BOGUS "$ID" /bin/true
	[ "$status" -eq 1 ]
	[[ "$output" == *CAP_BOGUS* ]]
}

@test "exec --process FILE and -d with --pid-file" {
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	cat >"$OUT.process.json" <<-'EOF'
		{"args": ["/probe", "report", "uid", "env", "cwd"], "env": ["ONLY=this"], "cwd": "/etc",
		 "user": {"uid": 65534, "gid": 65534}}
	EOF
	run hrun exec --process "$OUT.process.json" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value uid)" = 65534 ]
	[ "$(probe_values env)" = ONLY=this ]
	[ "$(probe_value cwd)" = /etc ]
	detached exec -d --pid-file "$OUT.pid" "$ID" /bin/sleep 30
	[ "$status" -eq 0 ]
	epid=$(cat "$OUT.pid")
	[ "$(cat "/proc/$epid/comm")" = sleep ]
	[ "$(readlink "/proc/$epid/ns/pid")" = "$(readlink "/proc/$(pid_of "$ID")/ns/pid")" ]
	run hrun ps --format json "$ID"
	jq -e --argjson p "$epid" 'index($p) != null' <<<"$output"
}

@test "exec into a stopped or missing container is refused" {
	set_args /bin/true
	hrun run -d -b "$BUNDLE" "$ID"
	for _ in $(seq 100); do [ "$(status_of "$ID")" = stopped ] && break; sleep 0.05; done
	run hrun exec "$ID" /bin/true
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot exec in a stopped container"* ]]
	run hrun exec nosuch /bin/true
	[ "$status" -eq 1 ]
	[[ "$output" == *"container does not exist"* ]]
	run hrun exec "$ID"
	[ "$status" -eq 1 ]
}

@test "exec of a missing binary fails with the reason and leaves nothing running" {
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	run hrun exec "$ID" /no/such/binary
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/binary"* ]]
	[ "$(cgroup_procs | wc -l)" -eq 1 ]
}

@test "--log FILE --log-format json: one object per line with level, msg and RFC 3339 time" {
	run "$HRUN" --root "$STATE" --log "$OUT.log" --log-format json state nosuch
	[ "$status" -eq 1 ]
	# Errors still reach stderr as plain text.
	[[ "$output" == *"container does not exist"* ]]
	[[ "$output" != *'"level"'* ]]
	line=$(tail -n1 "$OUT.log")
	[ "$(jq -r .level <<<"$line")" = error ]
	[[ "$(jq -r .msg <<<"$line")" == *"container does not exist"* ]]
	[[ "$(jq -r .time <<<"$line")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)$ ]]
}

@test "--preserve-fds passes fds 3.. to the container, others are closed" {
	set_args /probe report fd
	run hrun run -b "$BUNDLE" --preserve-fds 1 "$ID" 3<"$BUNDLE/config.json" 4<"$BUNDLE/config.json"
	[ "$status" -eq 0 ]
	[[ "$(probe_values fd)" == *"3 "*config.json* ]]
	[[ "$(probe_values fd)" != *"4 "* ]]
}

@test "a terminal with --console-socket: the master arrives as one fd, the process has a tty" {
	[ -n "${HRUN_TEST_RECVTTY:-}" ] || skip "HRUN_TEST_RECVTTY is not set (tests/run-all.sh sets it)"
	update_config '.process.terminal = true'
	set_args /bin/sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; stat -c %t:%T /dev/console'
	"$HRUN_TEST_RECVTTY" "$OUT.sock" >"$OUT" 2>"$OUT.err" 3>&- &
	RPID=$!
	BG_PIDS="${BG_PIDS:-} $RPID"
	for _ in $(seq 100); do [ -S "$OUT.sock" ] && break; sleep 0.05; done
	detached run -d --console-socket "$OUT.sock" -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	wait "$RPID"
	grep -q '^pty=/dev/pts/[0-9]* fds=1$' "$OUT.err"
	grep -q '^/dev/pts/[0-9]' "$OUT"
	grep -q stdio-is-tty "$OUT"
	# /dev/console is the pty (major 0x88 = 136).
	grep -q '^88:' "$OUT"
}

@test "a terminal without --console-socket: refused detached, proxied in the foreground" {
	update_config '.process.terminal = true'
	set_args /bin/sh -c 'tty; echo done'
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot allocate tty if hrun will detach without setting console socket"* ]]
	assert_no_leftovers "$ID"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *done* ]]
	# A console socket without a terminal is an error too.
	update_config '.process.terminal = false'
	detached run -d --console-socket "$OUT.sock" -b "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot use console socket"* ]]
	assert_no_leftovers "$ID"
}

@test "exec -t with --console-socket gives the exec'd process its own pty" {
	[ -n "${HRUN_TEST_RECVTTY:-}" ] || skip "HRUN_TEST_RECVTTY is not set (tests/run-all.sh sets it)"
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	"$HRUN_TEST_RECVTTY" "$OUT.sock" >"$OUT" 2>"$OUT.err" 3>&- &
	RPID=$!
	BG_PIDS="${BG_PIDS:-} $RPID"
	for _ in $(seq 100); do [ -S "$OUT.sock" ] && break; sleep 0.05; done
	run hrun exec -t --console-socket "$OUT.sock" "$ID" /bin/sh -c 'tty; exit 3'
	[ "$status" -eq 3 ]
	wait "$RPID"
	grep -q '^pty=/dev/pts/[0-9]* fds=1$' "$OUT.err"
	grep -q '^/dev/pts/[0-9]' "$OUT"
}

@test "run in the foreground forwards signals and reports death by signal as 128+N" {
	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" ready=1
	kill -USR1 "$BG_PID"
	wait_for_line "$OUT" signal=SIGUSR1
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
	sleeper
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	for _ in $(seq 100); do [ "$(status_of "$ID" 2>/dev/null)" = running ] && break; sleep 0.05; done
	hrun kill "$ID" KILL
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 137 ]
	assert_no_leftovers "$ID"
}

@test "socket activation: LISTEN_FDS sockets and variables reach the container" {
	set_args /probe report fd env
	LISTEN_FDS=1 run hrun run -b "$BUNDLE" --preserve-fds 1 "$ID" 3<"$BUNDLE/config.json" 4<"$BUNDLE/config.json" 5<"$BUNDLE/config.json"
	[ "$status" -eq 0 ]
	# One activation fd plus one preserved: 3 and 4, not 5.
	[[ "$(probe_values fd)" == *"3 "*config.json* ]]
	[[ "$(probe_values fd)" == *"4 "*config.json* ]]
	[[ "$(probe_values fd)" != *"5 "* ]]
	[[ "$(probe_values env)" == *LISTEN_FDS=1* ]]
	[[ "$(probe_values env)" == *LISTEN_PID=1* ]]
	# Meant for another process: ignored.
	LISTEN_FDS=1 LISTEN_PID=1 run hrun run -b "$BUNDLE" "$ID" 3<"$BUNDLE/config.json"
	[ "$status" -eq 0 ]
	[[ "$(probe_values fd)" != *"3 "* ]]
	[[ "$(probe_values env)" != *LISTEN_FDS* ]]
}

@test "NOTIFY_SOCKET: READY=1 from the container reaches the caller's socket with the init's MAINPID" {
	rm -f "$OUT.notify"
	# The mount point is made inside the rootfs by the container's root
	# (host uid 100000 until rootfs idmapping lands).
	mkdir -p "$BUNDLE/rootfs/run/notify"
	chown 100000:100000 "$BUNDLE/rootfs/run/notify"
	set_args /bin/sh -c '/probe report env; /probe notify READY=1; sleep 60'
	# A datagram listener, as systemd's own socket is.
	socat -u UNIX-RECV:"$OUT.notify" CREATE:"$OUT.msg" 3>&- &
	SPID=$!
	BG_PIDS="${BG_PIDS:-} $SPID"
	for _ in $(seq 100); do [ -S "$OUT.notify" ] && break; sleep 0.05; done
	NOTIFY_SOCKET=$OUT.notify detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ ! -s "$OUT.msg" ]
	# start returns once the container said it is ready.
	NOTIFY_SOCKET=$OUT.notify run hrun start "$ID"
	[ "$status" -eq 0 ]
	for _ in $(seq 100); do [ -s "$OUT.msg" ] && break; sleep 0.05; done
	kill "$SPID" 2>/dev/null || true
	grep -qx READY=1 "$OUT.msg"
	grep -qx "MAINPID=$(pid_of "$ID")" "$OUT.msg"
	[[ "$(cat "$OUT.detached")" == *NOTIFY_SOCKET=/run/notify/notify.sock* ]] || grep -q . "$OUT.detached"
}

@test "host fd leak via /proc: a waiting init is not dumpable, nothing in the container reaches its fds or exe" {
	sleeper
	# compat without a user namespace: container root is host uid 0.
	update_config 'del(.linux.uidMappings, .linux.gidMappings) | .linux.namespaces |= map(select(.type != "user"))'
	"$HRUN" --root "$STATE" --hardening=compat create -b "$BUNDLE" "$ID" >/dev/null 2>&1 </dev/null
	[ "$(status_of "$ID")" = created ]
	# Init holds a host procfs handle while it waits for start.
	run hrun exec "$ID" /probe open /proc/1/fd/0
	[ "$status" -eq 0 ]
	[ "$(probe_value result)" = ERR:EACCES ]
	run hrun exec "$ID" /probe read /proc/1/environ
	[ "$(probe_value result)" = ERR:EACCES ]
	run hrun exec "$ID" /probe open /proc/1/exe
	[ "$(probe_value result)" = ERR:EACCES ]
}

@test "exec --process without capabilities or rlimits gets the container's, never root's full set" {
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	echo '{"args": ["/probe", "report", "cap_bnd_names", "cap_eff_names", "no_new_privs"], "cwd": "/"}' >"$OUT.p.json"
	run hrun exec --process "$OUT.p.json" "$ID"
	[ "$status" -eq 0 ]
	[ "$(sorted "$(probe_value cap_bnd_names)")" = "$(sorted "$MINIMAL_CAPS")" ]
	[ "$(sorted "$(probe_value cap_eff_names)")" = "$(sorted "$MINIMAL_CAPS")" ]
	[ "$(probe_value no_new_privs)" = 1 ]
}

@test "exec at strict: asking for a dangerous capability is refused like a config would be" {
	sleeper
	"$HRUN" --root "$STATE" --hardening=strict run -d -b "$BUNDLE" "$ID" >/dev/null 2>&1 </dev/null
	[ "$(status_of "$ID")" = running ]
	run hrun exec --cap CAP_SYS_ADMIN "$ID" /bin/true
	[ "$status" -eq 1 ]
	[[ "$output" == *"hardening level strict refuses"*HR-CAPS* ]]
	run hrun exec "$ID" /bin/true
	[ "$status" -eq 0 ]
}

@test "exec -e replaces a variable the container has instead of adding a second one" {
	sleeper
	hrun run -d -b "$BUNDLE" "$ID"
	run hrun exec -e PATH=/probe-path -e NEW=1 "$ID" /probe report env
	[ "$status" -eq 0 ]
	[ "$(probe_values env | grep -c '^PATH=')" -eq 1 ]
	[[ "$(probe_values env)" == *PATH=/probe-path* ]]
	[[ "$(probe_values env)" == *NEW=1* ]]
}

@test "pause of a created container is refused; the state root's missing parents are made" {
	sleeper
	"$HRUN" --root "$STATE/deeper/root" create -b "$BUNDLE" "$ID" >/dev/null 2>&1 </dev/null
	[ -d "$STATE/deeper/root/$ID" ]
	run "$HRUN" --root "$STATE/deeper/root" pause "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"container not running"* ]]
	run "$HRUN" --root "$STATE/deeper/root" delete "$ID"
	[ "$status" -eq 0 ]
}
