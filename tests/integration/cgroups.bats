#!/usr/bin/env bats
# The container's cgroup, seen from the host and from inside: where init is
# placed, what the container sees of it, and that it goes with the
# container. Whatever the host's cgroup mode, unless a test says it needs
# a pure cgroup v2 host (the VM lane, tests/vm, is one; elsewhere such a
# test is skipped, saying so). The VM lane runs every test of this file.
# bats file_tags=vm

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=cgroup-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
}

teardown() {
	stop_bg
	rm -f "$OUT"
	teardown_bundle
}

@test "cgroup v2: init is in the unified cgroup at cgroupsPath, hrun is not, and the cgroup goes with them" {
	require_cgroup_unified
	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	pid=$(cat "/sys/fs/cgroup$CGROUP/cgroup.procs")
	[ "$(wc -w <<<"$pid")" -eq 1 ]
	# One hierarchy, one line: the unified cgroup, and no v1 ones.
	[ "$(cat "/proc/$pid/cgroup")" = "0::$CGROUP" ]
	# hrun stays where its caller is: a runtime inside the container's
	# cgroup would keep it busy and count against its limits.
	[ "$(cat "/proc/$BG_PID/cgroup")" = "$(cat /proc/$$/cgroup)" ]
	kill -TERM "$BG_PID"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
	[ ! -e "/sys/fs/cgroup$CGROUP" ]
}

@test "cgroup v2: the cgroup namespace is rooted at the container's cgroup; a cgroup mount shows only it" {
	require_cgroup_unified
	update_config '.mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
		"options": ["nosuid", "noexec", "nodev", "ro"]}]'
	set_args sh -c '/probe report cgroup
		ls /sys/fs/cgroup | sed "s/^/entry=/"
		sed "s/^/proc=/" /sys/fs/cgroup/cgroup.procs
		exec /probe wait-signal'
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	pid=$(cat "/sys/fs/cgroup$CGROUP/cgroup.procs")
	# The kernel shows a cgroup relative to the reader's namespace root:
	# the same process is at / inside and at cgroupsPath outside.
	[ "$(grep '^cgroup=' "$OUT")" = "cgroup=0::/" ]
	[ "$(cat "/proc/$pid/cgroup")" = "0::$CGROUP" ]
	# Mounted inside, cgroup2 has the container's cgroup as its root: its
	# own init in cgroup.procs, none of the host's cgroups below it.
	grep -qx proc=1 "$OUT"
	grep -qx entry=cgroup.procs "$OUT"
	if grep -x -e entry=init.scope -e "entry=${CGROUP_PARENT#/}" "$OUT"; then
		echo "the host's cgroups are visible inside"
		return 1
	fi
	kill -TERM "$BG_PID"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
	assert_no_leftovers "$ID"
}

@test "a cgroupsPath with child cgroups is not a container's: refused, and left as it was" {
	# A slice or a pod's cgroup: taking it, the container's exit would
	# remove it and kill everything below.
	for d in $(cgroup_dirs); do
		mkdir -p "$d/child"
	done
	set_args /probe report pid
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$CGROUP"*"has child cgroups"* ]]
	[ ! -e "$STATE/$ID" ]
	for d in $(cgroup_dirs); do
		[ -d "$d/child" ] || { echo "$d/child was removed"; return 1; }
	done
}

@test "delete --force leaves no cgroup, sub-cgroups made below the container's (with a process in them) included" {
	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	pid=$("$HRUN" --root "$STATE" state "$ID" | jq -r .pid)
	# What a container with a rw cgroup mount (or a delegated v2 cgroup)
	# may do: nested cgroups, its processes moved down into them.
	for d in $(cgroup_dirs); do
		mkdir -p "$d/sub/deeper"
		# A new v1 cpuset has no cpus or mems until given its parent's.
		for c in "$d/sub" "$d/sub/deeper"; do
			for f in cpuset.cpus cpuset.mems; do
				if [ -e "$c/$f" ] && [ -z "$(cat "$c/$f")" ]; then cat "$d/$f" >"$c/$f"; fi
			done
		done
		echo "$pid" >"$d/sub/deeper/cgroup.procs"
	done
	run "$HRUN" --root "$STATE" delete --force "$ID"
	[ "$status" -eq 0 ]
	assert_no_leftovers "$ID"
	! kill -0 "$pid" 2>/dev/null
}

@test "cgroup v2 delegation: in a user namespace the container's root makes a sub-cgroup and moves itself into it" {
	[ "$(cgroup_mode)" != legacy ] || skip "needs a cgroup v2 hierarchy; this host is cgroup v1 only"
	update_config '.mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
		"options": ["nosuid", "noexec", "nodev", "rw"]}]'
	# On a hybrid host the unified hierarchy is at unified/ inside too.
	set_args sh -c 'd=/sys/fs/cgroup; [ -e $d/unified ] && d=$d/unified
		mkdir $d/sub && echo $$ >$d/sub/cgroup.procs && echo moved=1
		sed "s/^/cgroup=/" /proc/self/cgroup
		stat -c "owner=%u" $d/sub $d/cgroup.procs
		exec /probe wait-signal'
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	grep -qx moved=1 "$OUT"
	grep -qx 'cgroup=0::/sub' "$OUT"
	# Root of the user namespace owns its cgroup (not nobody, 65534).
	[ "$(grep -c '^owner=0$' "$OUT")" -eq 2 ]
	host_uid=$(jq '.linux.uidMappings[0].hostID' "$BUNDLE/config.json")
	[ "$(stat -c %u "$(cgroup_dir unified)")" = "$host_uid" ]
	[ "$(stat -c %u "$(cgroup_dir unified)/cgroup.procs")" = "$host_uid" ]
	# The limits stay the host's.
	[ "$(stat -c %u "$(cgroup_dir unified)/cgroup.freeze")" = 0 ]
	[ "$(cat "$(cgroup_dir unified)/sub/cgroup.procs" | wc -l)" -eq 1 ]
	run "$HRUN" --root "$STATE" delete --force "$ID"
	[ "$status" -eq 0 ]
	assert_no_leftovers "$ID"
}

@test "cgroup v2 delegation: the container nests no deeper than cgroup.max.depth, and delete removes the deepest tree it can make" {
	[ "$(cgroup_mode)" != legacy ] || skip "needs a cgroup v2 hierarchy; this host is cgroup v1 only"
	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	d=$(cgroup_dir unified)
	# The caps hrun writes (HRUN_CGROUP_MAX_*), in files that stay root's.
	[ "$(cat "$d/cgroup.max.depth")" = 32 ]
	[ "$(cat "$d/cgroup.max.descendants")" = 4096 ]
	[ "$(stat -c %u "$d/cgroup.max.depth")" = 0 ]
	[ "$(stat -c %u "$d/cgroup.max.descendants")" = 0 ]
	# As the container's root (the delegated uid) would: nest as deep as
	# the kernel lets it, names long enough that the paths pass 4 KiB.
	uid=$(jq '.linux.uidMappings[0].hostID' "$BUNDLE/config.json")
	gid=$(jq '.linux.gidMappings[0].hostID' "$BUNDLE/config.json")
	name=$(printf 'n%.0s' $(seq 200))
	run setpriv --reuid="$uid" --regid="$gid" --clear-groups sh -c \
		'cd "$1" && i=0 && while [ $i -lt 40 ] && mkdir "$2" 2>/dev/null && cd -P "$2"; do i=$((i + 1)); done; echo $i' \
		sh "$d" "$name"
	[ "$output" = 32 ] || { echo "$output"; false; }
	run "$HRUN" --root "$STATE" delete --force "$ID"
	[ "$status" -eq 0 ]
	assert_no_leftovers "$ID"
}

@test "hybrid host: a cgroupsPath naming a busy cgroup of one v1 hierarchy is refused before anything is made; its process lives on" {
	[ "$(cgroup_mode)" != unified ] || skip "needs v1 hierarchies; this host is pure cgroup v2"
	victim=$(cgroup_dir memory)
	mkdir -p "$victim"
	sleep 600 >/dev/null 2>&1 3>&- &
	spid=$!
	echo "$spid" >"$victim/cgroup.procs"
	set_args /probe report pid
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$CGROUP"*"not empty"* ]] || { echo "$output"; false; }
	[ ! -e "$STATE/$ID" ]
	kill -0 "$spid"
	[ "$(cat "$victim/cgroup.procs")" = "$spid" ]
	for d in $(cgroup_dirs); do
		[ "$d" = "$victim" ] || [ ! -d "$d" ] || { echo "$d was made"; false; }
	done
	kill "$spid"
	wait "$spid" || true
}

# A process ended, or a zombie its parent has yet to reap.
gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

@test "ps and kill --all reach the processes the container moved into its own sub-cgroups" {
	set_args sh -c '/bin/sleep 600 & exec /probe wait-signal'
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	init=$("$HRUN" --root "$STATE" state "$ID" | jq -r .pid)
	child=$(grep -vx "$init" "$(cgroup_dir pids)/cgroup.procs")
	[ "$(wc -w <<<"$child")" -eq 1 ]
	# What a container with a delegated cgroup or a rw cgroup mount may do.
	for d in $(cgroup_dirs); do
		mkdir "$d/sub"
		for f in cpuset.cpus cpuset.mems; do
			if [ -e "$d/sub/$f" ]; then cat "$d/$f" >"$d/sub/$f"; fi
		done
		echo "$child" >"$d/sub/cgroup.procs"
	done
	run "$HRUN" --root "$STATE" ps --format json "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq -c 'sort' <<<"$output")" = "$(jq -c 'sort' <<<"[$init,$child]")" ] || { echo "$output"; false; }
	# SIGUSR2: init (pid 1 of its namespace, no handler) ignores it, so
	# the container stays and its removal kills nothing for us.
	run "$HRUN" --root "$STATE" kill --all "$ID" USR2
	[ "$status" -eq 0 ]
	for i in $(seq 100); do
		gone "$child" && break
		sleep 0.05
	done
	gone "$child"
	[ "$("$HRUN" --root "$STATE" state "$ID" | jq -r .status)" = running ]
	run "$HRUN" --root "$STATE" delete --force "$ID"
	[ "$status" -eq 0 ]
	assert_no_leftovers "$ID"
}
