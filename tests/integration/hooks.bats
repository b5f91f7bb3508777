#!/usr/bin/env bats
# OCI hooks (runtime-spec config.md "POSIX-platform Hooks"): when each kind
# runs in the lifecycle, what it gets (state on stdin, args, env), where it
# runs, and what its failure or timeout does to create, start, run and
# delete.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=hk-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
	# The host side's hooks, their log and what they saved. Bound into
	# the container at /hooks, where startContainer hooks (run inside
	# it, as its root: host uid 100000) add to the same log.
	HOOKS=$BUNDLE.hooks
	mkdir -p "$HOOKS" "$BUNDLE/rootfs/hooks"
	chmod 777 "$HOOKS"
	: >"$HOOKS/log"
	chmod 666 "$HOOKS/log"
	update_config '.mounts += [{destination: "/hooks", type: "bind", source: $h, options: ["rbind", "rw"]}]' \
		--arg h "$HOOKS"
	# log-hook KIND: one line "KIND STATUS" in the log, the state it got
	# on stdin kept as state.KIND. Plain sh and sed: it runs on the host
	# and in the container (busybox) alike, with an empty environment.
	cat >"$HOOKS/log-hook" <<-'EOF'
		#!/bin/sh
		d=${0%/*}
		cat >"$d/state.$1"
		echo "$1 $(sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p' "$d/state.$1")" >>"$d/log"
	EOF
	# fail-hook N: exits N (after reading its stdin, as a hook should).
	cat >"$HOOKS/fail-hook" <<-'EOF'
		#!/bin/sh
		cat >/dev/null
		exit "$1"
	EOF
	chmod 755 "$HOOKS/log-hook" "$HOOKS/fail-hook"
}

teardown() {
	stop_bg
	delete_all
	rm -rf "$HOOKS"
	[ -z "${OUT:-}" ] || rm -f "$OUT" "$OUT".*
	teardown_bundle
}

wait_stopped() {
	for _ in $(seq 100); do [ "$(status_of "$1")" = stopped ] && return 0; sleep 0.05; done
	echo "$1 did not stop"
	return 1
}

# Append one hook to the list KIND: `add_hook KIND PATH [ARGS...]` (args
# as given, args[0] included; none: no "args" at all).
add_hook() {
	local kind=$1 path=$2 a i=0 opts=() refs=
	shift 2
	for a in "$@"; do
		opts+=(--arg "a$i" "$a")
		refs+="${refs:+,}\$a$i"
		i=$((i + 1))
	done
	if [ $# -gt 0 ]; then
		update_config ".hooks.$kind += [{path: \$p, args: [$refs]}]" --arg p "$path" "${opts[@]}"
	else
		update_config ".hooks.$kind += [{path: \$p}]" --arg p "$path"
	fi
}

# The log-hook for KIND; startContainer's is resolved in the container.
log_hook() {
	if [ "$1" = startContainer ]; then
		add_hook "$1" /hooks/log-hook log-hook "$1"
	else
		add_hook "$1" "$HOOKS/log-hook" log-hook "$1"
	fi
}

# A log-hook for every kind.
log_all_hooks() {
	local k
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		log_hook "$k"
	done
}

# Nothing of the failed create may remain: state, cgroup, init, and the
# init's pid (handed to the create-time hooks) names no live process.
assert_create_undone() {
	assert_no_leftovers "$ID"
	[ -z "$(cgroup_procs)" ]
	[ -z "$("$HRUN" --root "$STATE" list -q)" ]
	local pid
	pid=$(jq -r .pid "$HOOKS/state.prestart")
	[ "$pid" -gt 0 ]
	[ ! -e "/proc/$pid" ] || { echo "init $pid still there: $(cat "/proc/$pid/status")"; false; }
}

@test "each hook kind runs once, in lifecycle order, with the status of its step" {
	sleeper
	log_all_hooks
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(cat "$HOOKS/log")" = "prestart creating
createRuntime creating
createContainer creating" ]
	run hrun start "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(status_of "$ID")" = running ]
	# startContainer before poststart is the last test's: here only that
	# each ran once, with its status.
	for _ in $(seq 100); do [ "$(wc -l <"$HOOKS/log")" -ge 5 ] && break; sleep 0.05; done
	[ "$(sed -n 1,3p "$HOOKS/log")" = "prestart creating
createRuntime creating
createContainer creating" ]
	[ "$(sed -n '4,$p' "$HOOKS/log" | sort)" = "poststart running
startContainer created" ]
	hrun kill "$ID" KILL
	wait_stopped "$ID"
	# Nothing runs for kill or the container's exit.
	[ "$(wc -l <"$HOOKS/log")" -eq 5 ]
	run hrun delete "$ID"
	[ "$status" -eq 0 ]
	[ "$(sed -n 1,3p "$HOOKS/log")" = "prestart creating
createRuntime creating
createContainer creating" ]
	[ "$(sed -n '4,5p' "$HOOKS/log" | sort)" = "poststart running
startContainer created" ]
	[ "$(sed -n '6,$p' "$HOOKS/log")" = "poststop stopped" ]
	assert_no_leftovers "$ID"
}

@test "the state on stdin: id, the init's host pid, bundle, status and annotations" {
	sleeper
	update_config '.annotations = {"org.example/hook": "yes", "b": "two words"}'
	log_all_hooks
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	pid=$(pid_of "$ID")
	[ "$pid" -gt 0 ]
	hrun start "$ID"
	# The log line comes after the state is saved.
	for _ in $(seq 100); do grep -q '^startContainer' "$HOOKS/log" && break; sleep 0.05; done
	hrun kill "$ID" KILL
	wait_stopped "$ID"
	hrun delete "$ID"
	local k s
	for k in prestart:creating createRuntime:creating createContainer:creating \
		startContainer:created poststart:running poststop:stopped; do
		s=$HOOKS/state.${k%%:*}
		cat "$s"
		[ "$(jq -r .id "$s")" = "$ID" ]
		[ "$(jq -r .status "$s")" = "${k#*:}" ]
		[ "$(jq -r .bundle "$s")" = "$(realpath "$BUNDLE")" ]
		[ "$(jq -r .ociVersion "$s")" = 1.3.0 ]
		[ "$(jq -cS .annotations "$s")" = '{"b":"two words","org.example/hook":"yes"}' ]
	done
	# Every hook up to poststart names the init by its host pid, the one
	# `hrun state` gives (startContainer's too, though it runs inside).
	for k in prestart createRuntime createContainer startContainer poststart; do
		[ "$(jq -r .pid "$HOOKS/state.$k")" = "$pid" ] || { echo "$k: pid"; false; }
	done
}

@test "prestart and createRuntime run in the runtime's namespaces, createContainer in the container's; mounts made, before pivot_root" {
	sleeper
	# Saves, per kind, its own mount, net and user namespaces, the mounts
	# of the container's mount namespace and the init's cgroups. The init
	# is not dumpable until it execs: a hook inside the container cannot
	# look at it through /proc, so it reads its own namespace's mounts.
	cat >"$HOOKS/ns-hook" <<-'EOF'
		#!/bin/sh
		d=${0%/*}
		pid=$(/usr/bin/jq -r .pid)
		readlink /proc/self/ns/mnt /proc/self/ns/net /proc/self/ns/user >"$d/self.$1"
		if [ "$1" = createContainer ]; then src=self; else src=$pid; fi
		cat /proc/$src/mountinfo >"$d/mountinfo.$1"
		cat /proc/$pid/cgroup >"$d/cgroup.$1"
	EOF
	chmod 755 "$HOOKS/ns-hook"
	local k
	for k in prestart createRuntime createContainer; do
		add_hook "$k" "$HOOKS/ns-hook" ns-hook "$k"
	done
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	host=$(readlink /proc/self/ns/mnt /proc/self/ns/net /proc/self/ns/user)
	init=$(readlink /proc/"$(pid_of "$ID")"/ns/{mnt,net,user})
	[ "$host" != "$init" ]
	rootfs=$(realpath "$BUNDLE/rootfs")
	[ "$(cat "$HOOKS/self.prestart")" = "$host" ] || { echo "prestart is not in the runtime's namespaces"; false; }
	[ "$(cat "$HOOKS/self.createRuntime")" = "$host" ] || { echo "createRuntime is not in the runtime's namespaces"; false; }
	[ "$(cat "$HOOKS/self.createContainer")" = "$init" ] || { echo "createContainer is not in the container's namespaces"; false; }
	for k in prestart createRuntime createContainer; do
		# The container's /tmp is mounted, still under the rootfs's host
		# path: init has not pivoted yet.
		awk -v m="$rootfs/tmp" '$5 == m' "$HOOKS/mountinfo.$k" | grep -q ' - tmpfs ' ||
			{ echo "$k: no tmpfs at $rootfs/tmp"; cat "$HOOKS/mountinfo.$k"; false; }
		# And init is in the container's cgroup already (from inside its
		# cgroup namespace, that cgroup is the root).
		if [ "$k" = createContainer ]; then want="0::/"; else want=":$CGROUP"; fi
		grep -q "$want\$" "$HOOKS/cgroup.$k" || { cat "$HOOKS/cgroup.$k"; false; }
	done
	# After the pivot the same mount is the container's /tmp.
	[ -z "$(awk -v m="$rootfs/tmp" '$5 == m' "/proc/$(pid_of "$ID")/mountinfo")" ]
	awk '$5 == "/tmp"' "/proc/$(pid_of "$ID")/mountinfo" | grep -q ' - tmpfs '
}

@test "args are passed exactly (args[0] is argv[0]), env exactly as given, empty when none" {
	set_args /bin/true
	# $0 of `sh -c` is where to save: /proc/$$ shows what was exec'd.
	script='/usr/bin/tr "\0" "\n" </proc/$$/cmdline >"$0.args"; /usr/bin/tr "\0" "\n" </proc/$$/environ >"$0.env"'
	update_config '.hooks.prestart = [{path: "/bin/sh", args: ["my-argv0", "-c", $s, ($h + "/p"), "two  words", "", "*"], env: ["A=1", "B=with space", "EMPTY=", "PATH=/nowhere"]}]
		| .hooks.createRuntime = [{path: "/bin/sh", args: ["/bin/sh", "-c", $s, ($h + "/c")]}]' \
		--arg s "$script" --arg h "$HOOKS"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	printf '%s\n' my-argv0 -c "$script" "$HOOKS/p" "two  words" "" "*" >"$OUT.want"
	diff "$OUT.want" "$HOOKS/p.args"
	printf '%s\n' A=1 "B=with space" EMPTY= PATH=/nowhere >"$OUT.want"
	diff "$OUT.want" "$HOOKS/p.env"
	printf '%s\n' /bin/sh -c "$script" "$HOOKS/c" >"$OUT.want"
	diff "$OUT.want" "$HOOKS/c.args"
	# No env: nothing of hrun's own environment leaks through.
	[ -e "$HOOKS/c.env" ]
	[ ! -s "$HOOKS/c.env" ] || { cat "$HOOKS/c.env"; false; }
}

@test "a failing prestart hook stops create with its error and leaves nothing behind" {
	sleeper
	log_hook prestart
	add_hook prestart "$HOOKS/fail-hook" fail-hook 3
	log_hook createRuntime
	log_hook createContainer
	log_hook poststop
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	# Counted from 0, as runc does: the second hook is #1.
	[[ "$output" == *"error running prestart hook #1 ($HOOKS/fail-hook): exit status 3"* ]] || { echo "$output"; false; }
	# The hooks after it did not run, nor poststop for a container never made.
	[ "$(cat "$HOOKS/log")" = "prestart creating" ]
	assert_create_undone
}

@test "a failing createRuntime hook stops create: exit status, signal or missing binary, nothing left" {
	sleeper
	log_hook prestart
	cp "$BUNDLE/config.json" "$OUT.config"
	local how want
	for how in exit signal missing; do
		cp "$OUT.config" "$BUNDLE/config.json"
		: >"$HOOKS/log"
		rm -f "$HOOKS/state.prestart"
		case $how in
		exit)
			add_hook createRuntime "$HOOKS/fail-hook" fail-hook 1
			want="error running createRuntime hook #0 ($HOOKS/fail-hook): exit status 1"
			;;
		signal)
			add_hook createRuntime /bin/sh sh -c 'kill -KILL $$'
			want="error running createRuntime hook #0 (/bin/sh): killed by signal 9 (SIGKILL)"
			;;
		missing)
			add_hook createRuntime "$HOOKS/no-such-hook"
			want="error running createRuntime hook #0 ($HOOKS/no-such-hook): "
			;;
		esac
		log_hook createContainer
		detached create -b "$BUNDLE" "$ID"
		[ "$status" -eq 1 ] || { echo "$how: $output"; false; }
		[[ "$output" == *"$want"* ]] || { echo "$how: $output"; false; }
		[ "$how" != missing ] || [[ "$output" == *"No such file or directory"* ]]
		[ "$(cat "$HOOKS/log")" = "prestart creating" ] || { echo "$how: $(cat "$HOOKS/log")"; false; }
		assert_create_undone
	done
}

@test "a hook that outlives its timeout is killed and create fails within the timeout" {
	sleeper
	log_hook prestart
	# A hook that ends in time is left alone.
	update_config '.hooks.prestart += [{path: "/bin/sleep", args: ["sleep", "0.2"], timeout: 5}]
		| .hooks.createRuntime = [{path: "/bin/sleep", args: ["sleep", "4242"], timeout: 1}]'
	log_hook createContainer
	SECONDS=0
	detached create -b "$BUNDLE" "$ID"
	elapsed=$SECONDS
	[ "$status" -eq 1 ]
	[[ "$output" == *"error running createRuntime hook #0 (/bin/sleep): did not finish within its timeout of 1s: killed"* ]] ||
		{ echo "$output"; false; }
	[ "$elapsed" -ge 1 ]
	[ "$elapsed" -le 5 ] || { echo "create took ${elapsed}s"; false; }
	# The hung hook is gone, not left running.
	[ -z "$(pgrep -f '^sleep 4242$')" ]
	[ "$(cat "$HOOKS/log")" = "prestart creating" ]
	assert_create_undone
}

@test "a failing poststart hook only warns: start and run -d succeed and the container runs" {
	sleeper
	log_hook poststart
	add_hook poststart "$HOOKS/fail-hook" fail-hook 4
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run hrun start "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"error running poststart hook #1 ($HOOKS/fail-hook): exit status 4"* ]] || { echo "$output"; false; }
	[ "$(cat "$HOOKS/log")" = "poststart running" ]
	[ "$(status_of "$ID")" = running ]
	pid=$(pid_of "$ID")
	for _ in $(seq 100); do [ "$(cat "/proc/$pid/comm")" = sleep ] && break; sleep 0.05; done
	[ "$(cat "/proc/$pid/comm")" = sleep ]
	# The same with run -d (the bundle's cgroup is free again after delete).
	hrun delete --force "$ID"
	: >"$HOOKS/log"
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"error running poststart hook #1 ($HOOKS/fail-hook): exit status 4"* ]] || { echo "$output"; false; }
	[ "$(cat "$HOOKS/log")" = "poststart running" ]
	[ "$(status_of "$ID")" = running ]
	[ "$(cat "/proc/$(pid_of "$ID")/comm")" = sleep ]
}

@test "a failing poststop hook only warns: delete succeeds and removes everything" {
	set_args /bin/true
	log_hook poststop
	add_hook poststop "$HOOKS/fail-hook" fail-hook 5
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	wait_stopped "$ID"
	[ ! -s "$HOOKS/log" ]
	run hrun delete "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"error running poststop hook #1 ($HOOKS/fail-hook): exit status 5"* ]] || { echo "$output"; false; }
	[ "$(cat "$HOOKS/log")" = "poststop stopped" ]
	assert_no_leftovers "$ID"
	run hrun state "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"container does not exist"* ]]
}

@test "startContainer runs inside the container, after the pivot, right before the process" {
	# Only the container has /hooks and /probe; the hook leaves in the
	# container's /tmp (a tmpfs of its own) what it saw.
	[ ! -e /hooks ] && [ ! -e /probe ] && [ "$(hostname)" != hrun ] ||
		skip "this host has /hooks or /probe, or is named hrun: nothing would tell inside from outside"
	cat >"$BUNDLE/rootfs/sc-hook" <<-'EOF'
		#!/bin/sh
		{
			echo "hostname=$(hostname)"
			[ -x /probe ] && echo "probe=yes"
			[ -d /hooks ] && echo "hooks=yes"
			echo "status=$(sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')"
			echo "pidns=$(readlink /proc/self/ns/pid)"
			echo "uid=$(id -u)"
		} >/tmp/hooklog
	EOF
	chmod 755 "$BUNDLE/rootfs/sc-hook"
	update_config '.hooks.startContainer = [{path: "/sc-hook"}]'
	set_args /bin/sh -c 'cat /tmp/hooklog; echo "mypidns=$(readlink /proc/self/ns/pid)"'
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	# Not at create time.
	[ ! -e "/proc/$(pid_of "$ID")/root/tmp/hooklog" ]
	hrun start "$ID"
	wait_stopped "$ID"
	output=$(cat "$OUT.detached")
	echo "$output"
	[[ "$output" == *hostname=hrun* ]]
	[[ "$output" == *probe=yes* ]]
	[[ "$output" == *hooks=yes* ]]
	[[ "$output" == *status=created* ]]
	[[ "$output" == *uid=0* ]]
	# In the container's pid namespace, not the host's.
	[ "$(probe_value pidns)" = "$(probe_value mypidns)" ]
	[ "$(probe_value pidns)" != "$(readlink /proc/self/ns/pid)" ]
}

@test "a failing startContainer hook keeps the process from running" {
	cat >"$BUNDLE/rootfs/sc-fail" <<-'EOF'
		#!/bin/sh
		exit 6
	EOF
	chmod 755 "$BUNDLE/rootfs/sc-fail"
	update_config '.hooks.startContainer = [{path: "/sc-fail"}]'
	log_hook poststart
	set_args /bin/sh -c 'echo ran >>/hooks/log'
	# Foreground run: the error is run's, the process never ran.
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"error running startContainer hook #0 (/sc-fail): exit status 6"* ]] || { echo "$output"; false; }
	[ ! -s "$HOOKS/log" ] || { cat "$HOOKS/log"; false; }
	assert_no_leftovers "$ID"
	# create + start: init reports the error on the container's stderr
	# and exits without exec'ing the process.
	update_config 'del(.hooks.poststart)'
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	hrun start "$ID" || true
	wait_stopped "$ID"
	[[ "$(cat "$OUT.detached")" == *"error running startContainer hook #0 (/sc-fail): exit status 6"* ]] ||
		{ cat "$OUT.detached"; false; }
	[ ! -s "$HOOKS/log" ] || { cat "$HOOKS/log"; false; }
}

@test "foreground run runs poststop after the container exits, keeping the process's exit status" {
	set_args /bin/sh -c 'echo process >>/hooks/log; exit 7'
	log_hook prestart
	log_hook poststart
	log_hook poststop
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 7 ] || { echo "$output"; false; }
	# poststart races the process's own line; poststop comes after both.
	[ "$(sed -n 1p "$HOOKS/log")" = "prestart creating" ]
	[ "$(sed -n 4p "$HOOKS/log")" = "poststop stopped" ]
	[ "$(sed -n 2,3p "$HOOKS/log" | sort)" = "poststart running
process" ]
	[ "$(jq -r .id "$HOOKS/state.poststop")" = "$ID" ]
	assert_no_leftovers "$ID"
	# A failing poststop only warns, the status stays the process's.
	: >"$HOOKS/log"
	add_hook poststop "$HOOKS/fail-hook" fail-hook 9
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 7 ] || { echo "$output"; false; }
	[[ "$output" == *"error running poststop hook #1 ($HOOKS/fail-hook): exit status 9"* ]]
	[ "$(tail -n1 "$HOOKS/log")" = "poststop stopped" ]
	assert_no_leftovers "$ID"
}

@test "start runs poststart hooks after startContainer and the process's exec, and before it returns" {
	sleeper
	# A slow startContainer hook: `start` must wait for it and the exec
	# before its poststart hooks (runtime-spec config.md: poststart hooks
	# "MUST be called after the user-specified process is executed but
	# before the start operation returns"), as run -d does.
	add_hook startContainer /bin/sleep sleep 1
	log_hook startContainer
	log_hook poststart
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	pid=$(pid_of "$ID")
	run hrun start "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(cat "$HOOKS/log")" = "startContainer created
poststart running" ] || { echo "log when start returned:"; cat "$HOOKS/log"; false; }
	[ "$(cat "/proc/$pid/comm")" = sleep ]
}
