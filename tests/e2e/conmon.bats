#!/usr/bin/env bats
# conmon (Debian's 2.1.6, the monitor CRI-O and podman put between
# themselves and the runtime) driven standalone, the way podman drives it:
#
#   conmon --api-version 1 -c ID -u ID -r RUNTIME -b BUNDLE -p PIDFILE
#          -l k8s-file:LOG --exit-dir DIR --socket-dir-path DIR ...
#
# conmon forks a daemon and returns at once; the daemon runs
# `RUNTIME [--runtime-arg...] create --bundle BUNDLE --pid-file PIDFILE ID`,
# reports the container pid as {"data": PID} on the pipe named by
# _OCI_SYNCPIPE, logs the container's stdout/stderr to LOG, and, once the
# container exits, writes its exit code to DIR/ID. Starting it is the
# caller's job (`RUNTIME start ID`), as for podman.

load helpers

setup() {
	D=$E2E_TMP/conmon/$BATS_TEST_NUMBER
	STATE=$D/state
	mkdir -p "$D/bundle" "$STATE" "$D/exits" "$D/sockets"
	# conmon's stderr goes to /dev/null once it daemonizes: errors such as
	# a missing socket dir are only in syslog. Hence the mkdir above.
}

teardown() {
	"${TO[@]}" "$E2E_RUNTIME" --root "$STATE" delete --force e2e-conmon >/dev/null 2>&1 || true
}

# A minimal bundle config (not the runtime's own `spec`, so a broken spec
# template cannot hide here): the shared test rootfs read-only, its own
# namespaces, a cgroup below the run's dedicated parent.
write_config() {
	local a args
	# jq 1.6 would take a positional "-c" as its own option: each argument
	# goes in through --arg.
	args=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -sc .) || return 1
	jq -n --arg root "$E2E_ROOTFS" --arg cg "$E2E_CGROUP_PARENT/conmon-$BATS_TEST_NUMBER" \
		--argjson args "$args" '{
		ociVersion: "1.0.2",
		root: {path: $root, readonly: true},
		hostname: "conmon-e2e",
		process: {args: $args, cwd: "/", user: {uid: 0, gid: 0},
			env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
		mounts: [
			{destination: "/proc", type: "proc", source: "proc"},
			{destination: "/dev", type: "tmpfs", source: "tmpfs",
				options: ["nosuid", "strictatime", "mode=755", "size=65536k"]}],
		linux: {cgroupsPath: $cg,
			namespaces: [{type: "pid"}, {type: "mount"}, {type: "ipc"},
				{type: "uts"}, {type: "network"}]}
	}' >"$D/bundle/config.json"
}

@test "conmon standalone: create through conmon, start, output logged, exit code recorded" {
	write_config sh -c 'echo "hello from $(hostname)"; echo to-stderr >&2; exit 3'

	# The sync pipe: conmon writes the created container's pid to it.
	mkfifo "$D/sync"
	exec {sync}<>"$D/sync"
	run "${TO[@]}" env _OCI_SYNCPIPE=3 conmon --api-version 1 \
		-c e2e-conmon -u e2e-conmon -n e2e-conmon \
		-r "$E2E_RUNTIME" --runtime-arg --root --runtime-arg "$STATE" \
		-b "$D/bundle" -p "$D/bundle/pidfile" -P "$D/conmon.pid" \
		-l "k8s-file:$D/ctr.log" --exit-dir "$D/exits" --socket-dir-path "$D/sockets" \
		3>"$D/sync"
	assert_status 0

	read -r -t 30 reply <&"$sync" || { echo "no reply from conmon on the sync pipe"; false; }
	echo "sync pipe: $reply"
	[[ $reply =~ ^\{\"data\":\ ([0-9]+)\}$ ]] || false
	pid=${BASH_REMATCH[1]}
	# the runtime wrote its pid file before create returned, and it agrees
	[ "$pid" -gt 0 ]
	assert_equal "$(cat "$D/bundle/pidfile")" "$pid"
	run runtime_status "$STATE" e2e-conmon
	assert_output created

	run --separate-stderr "${TO[@]}" "$E2E_RUNTIME" --root "$STATE" start e2e-conmon
	assert_status 0

	# conmon saw the container exit and recorded its code
	wait_until 20 test -s "$D/exits/e2e-conmon"
	assert_equal "$(cat "$D/exits/e2e-conmon")" 3
	# k8s-file log lines: TIMESTAMP STREAM F TEXT
	run cut -d' ' -f2- "$D/ctr.log"
	assert_output "$(printf 'stdout F hello from conmon-e2e\nstderr F to-stderr')"
	# the monitor itself is gone once the container is
	wait_until 10 bash -c "! kill -0 $(cat "$D/conmon.pid") 2>/dev/null"
	exec {sync}<&-

	run --separate-stderr "${TO[@]}" "$E2E_RUNTIME" --root "$STATE" delete e2e-conmon
	assert_status 0
	cgroup_gone "$E2E_CGROUP_PARENT/conmon-$BATS_TEST_NUMBER"
}
