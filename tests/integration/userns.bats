#!/usr/bin/env bats
# The default user namespace: a config without one gets a private slice of
# the host's pool (hrun.conf userns_pool), with the rootfs and binds
# idmapped so the image works unchanged.

load helpers
bats_require_minimum_version 1.5.0

# A pool of two slices per test file run, far from the template's 100000.
POOL_FIRST=3000000

setup() {
	setup_bundle
	ID=test-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
	POOL_DIR=$BUNDLE.pool
	CONF=$BUNDLE.conf
	printf 'userns_pool = %s:131072\nuserns_pool_dir = %s\n' "$POOL_FIRST" "$POOL_DIR" >"$CONF"
	HOSTDIR=
	RAMFS=
	# The template brings its own user namespace: take it away.
	update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)'
}

teardown() {
	[ -z "${STATE:-}" ] || delete_all
	[ -z "$RAMFS" ] || umount -l "$RAMFS"
	[ -z "$HOSTDIR" ] || rm -rf "$HOSTDIR"
	rm -rf "$POOL_DIR" "$CONF" "$OUT" "$OUT".* "$BUNDLE".b-*
	teardown_bundle
}

hrunc() {
	hrun --host-config "$CONF" "$@"
}

# A bundle for container NAME sharing the test's rootfs, with its own
# cgroup below the test's: prints its path.
bundle_for() {
	local b=$BUNDLE.b-$1
	mkdir -p "$b"
	jq --arg root "$BUNDLE/rootfs" --arg cg "$CGROUP/$1" \
		'.root.path = $root | .linux.cgroupsPath = $cg' "$BUNDLE/config.json" >"$b/config.json"
	echo "$b"
}

@test "default user namespace: root is a pool uid on the host, the image's root-owned files are root's" {
	set_args /bin/sh -c '/probe report uid_map gid_map uid; ls -ln /bin/busybox; touch /tmp/ok && echo wrote'
	run hrunc run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(probe_value uid_map)" = "0 $POOL_FIRST 65536" ]
	[ "$(probe_value gid_map)" = "0 $POOL_FIRST 65536" ]
	[ "$(probe_value uid)" = 0 ]
	[[ $output =~ -rwxr-xr-x\ +1\ 0\ +0\  ]] || { echo "$output"; false; }
	[[ $output == *wrote* ]]
	# The slice went back when the container was removed.
	[ -z "$(ls -A "$POOL_DIR")" ]
}

@test "default user namespace: the state says which slice; two containers get disjoint slices; a third waits for none" {
	sleeper
	detached --host-config "$CONF" run -d -b "$(bundle_for a)" a
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	detached --host-config "$CONF" run -d -b "$(bundle_for b)" b
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	local ua ub
	ua=$(jq -r .userns "$STATE/a/state.json")
	ub=$(jq -r .userns "$STATE/b/state.json")
	[ "$ua" = "pool $POOL_FIRST" ]
	[ "$ub" = "pool $((POOL_FIRST + 65536))" ]
	[ "$(awk '{print $2}' "/proc/$(pid_of a)/uid_map")" = "$POOL_FIRST" ]
	[ "$(awk '{print $2}' "/proc/$(pid_of b)/uid_map")" = "$((POOL_FIRST + 65536))" ]
	# The pool is full: the next create fails and leaves nothing.
	run hrunc run -d -b "$(bundle_for c)" c
	[ "$status" -ne 0 ]
	[[ $output == *"user namespace pool $POOL_FIRST:131072 (\"$POOL_DIR\"): all 2 slices in use"* ]] || { echo "$output"; false; }
	[ ! -e "$STATE/c" ]
	# Deleting one frees its slice for the next.
	run hrun delete -f a
	[ "$status" -eq 0 ]
	detached --host-config "$CONF" run -d -b "$(bundle_for c)" c
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(jq -r .userns "$STATE/c/state.json")" = "pool $POOL_FIRST" ]
}

@test "default user namespace: concurrent creates never share a slice" {
	sleeper
	printf 'userns_pool = %s:%s\nuserns_pool_dir = %s\n' "$POOL_FIRST" $((65536 * 8)) "$POOL_DIR" >"$CONF"
	local i pids=()
	for i in 1 2 3 4 5 6; do bundle_for "c$i" >/dev/null; done
	for i in 1 2 3 4 5 6; do
		"$HRUN" --root "$STATE" --host-config "$CONF" run -d -b "$BUNDLE.b-c$i" "c$i" >/dev/null 2>&1 </dev/null 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	local slices
	slices=$(for i in 1 2 3 4 5 6; do jq -r .userns "$STATE/c$i/state.json"; done | sort)
	[ "$(wc -l <<<"$slices")" -eq 6 ]
	[ "$(uniq <<<"$slices" | wc -l)" -eq 6 ] || { echo "$slices"; false; }
	[ "$(ls "$POOL_DIR" | wc -l)" -eq 6 ]
}

@test "default user namespace: a slice left by a create that died is taken back" {
	mkdir -p "$POOL_DIR"
	ln -s "$STATE/gone-long-ago" "$POOL_DIR/$POOL_FIRST"
	probe_run report uid_map
	run hrunc run -b "$BUNDLE" "$ID"
	[ "$(probe_value uid_map)" = "0 $POOL_FIRST 65536" ] || { echo "$output"; false; }
}

@test "a config's own user namespace and mappings are used as written; no slice is taken" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 200000, "size": 1000}, {"containerID": 1000, "hostID": 300000, "size": 10}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 2000}]'
	sleeper
	detached --host-config "$CONF" run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	local pid
	pid=$(pid_of "$ID")
	[ "$(awk '{print $1, $2, $3}' "/proc/$pid/uid_map" | paste -sd,)" = "0 200000 1000,1000 300000 10" ]
	[ "$(awk '{print $1, $2, $3}' "/proc/$pid/gid_map")" = "0 200000 2000" ]
	[ "$(jq -r .userns "$STATE/$ID/state.json")" = config ]
	[ -z "$(ls -A "$POOL_DIR" 2>/dev/null)" ]
}

@test "compat adds no user namespace" {
	probe_run report uid_map
	run hrunc --hardening compat run -b "$BUNDLE" "$ID"
	[ "$(probe_value uid_map)" = "0 0 4294967295" ] || { echo "$output"; false; }
}

@test "default user namespace: binds are idmapped too, host root's files are the container root's" {
	HOSTDIR=$(mktemp -d /tmp/hrun-userns.XXXXXX)
	echo x >"$HOSTDIR/f"
	mkdir -p "$BUNDLE/rootfs/mnt/d"
	update_config ".mounts += [{\"destination\": \"/mnt/d\", \"type\": \"bind\", \"source\": \"$HOSTDIR\", \"options\": [\"bind\"]}]"
	set_args /probe stat /mnt/d/f
	run hrunc run -b "$BUNDLE" "$ID"
	[ "$(probe_value owner)" = 0:0 ] || { echo "$output"; false; }
}

# ramfs cannot be idmapped.
rootfs_on_ramfs() {
	RAMFS=$BUNDLE.ramfs
	mkdir -p "$RAMFS"
	mount -t ramfs ramfs "$RAMFS"
	cp -a "$BUNDLE/rootfs" "$RAMFS/rootfs"
	update_config ".root.path = \"$RAMFS/rootfs\""
}

@test "default: a rootfs that cannot be idmapped runs without a user namespace, said in the log and the state" {
	rootfs_on_ramfs
	sleeper
	detached --host-config "$CONF" run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ $output == *"warning: running without a user namespace: root.path \"$RAMFS/rootfs\" on a filesystem that cannot be idmapped"* ]] || { echo "$output"; false; }
	[ "$(grep -c 'running without a user namespace' <<<"$output")" -eq 1 ]
	[[ $(jq -r .userns "$STATE/$ID/state.json") == "downgraded: \"$RAMFS/rootfs\" on a filesystem that cannot be idmapped"* ]]
	[ "$(awk '{print $2}' "/proc/$(pid_of "$ID")/uid_map")" = 0 ]
}

@test "strict: a rootfs that cannot be idmapped is refused, leaving nothing" {
	rootfs_on_ramfs
	run hrunc --hardening strict run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *"hardening level strict needs a user namespace, and root.path \"$RAMFS/rootfs\" on a filesystem that cannot be idmapped"* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "a malformed userns_pool in the host config is refused with its line" {
	printf 'userns_pool = 100000:1000\n' >"$CONF"
	run hrunc run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *"$CONF:1: userns_pool: expected FIRST:COUNT, COUNT a multiple of 65536"* ]] || { echo "$output"; false; }
}
