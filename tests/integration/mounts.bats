#!/usr/bin/env bats
# Mount features of the config, checked from inside the container: idmapped
# binds, recursive attributes, propagation. The template runs the container
# in a user namespace mapping 0..65535 to host 100000..165535.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=test-$BATS_TEST_NUMBER
	HOSTDIR=$(mktemp -d /tmp/hrun-mounts.XXXXXX)
	chmod 755 "$HOSTDIR"
	SUBMOUNT=
}

teardown() {
	[ -z "$SUBMOUNT" ] || umount -l "$SUBMOUNT" 2>/dev/null
	[ -n "$HOSTDIR" ] && rm -rf "$HOSTDIR"
	teardown_bundle
}

# Host files owned by host root and by host uid 1000.
host_files() {
	mkdir -p "$HOSTDIR/d"
	echo root-owned >"$HOSTDIR/d/root-file"
	echo user-owned >"$HOSTDIR/d/user-file"
	chown 1000:1000 "$HOSTDIR/d/user-file"
	mkdir -p "$BUNDLE/rootfs/mnt/d"
}

bind_d() {
	update_config ".mounts += [{\"destination\": \"/mnt/d\", \"type\": \"bind\",
		\"source\": \"$HOSTDIR/d\", \"options\": $1} ${2:+ + $2}]"
}

# The owner the container sees of PATH.
owner_in() {
	set_args /probe stat "$1"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	probe_value owner
}

@test "idmap without mappings: host root's files are the container root's, writes land as host root" {
	host_files
	bind_d '["bind", "idmap"]'
	[ "$(owner_in /mnt/d/root-file)" = 0:0 ]
	[ "$(owner_in /mnt/d/user-file)" = 1000:1000 ]
	# The container's root owns the directory through the mount: it may
	# create files, and they belong to host root on the disk.
	set_args /probe write /mnt/d/new hello
	run hrun run -b "$BUNDLE" "$ID"
	[ "$(probe_value result)" = ok ] || { echo "$output"; false; }
	[ "$(stat -c %u:%g "$HOSTDIR/d/new")" = 0:0 ]
}

@test "without idmap the same bind shows host root's files as the overflow id and refuses writes" {
	host_files
	bind_d '["bind"]'
	[ "$(owner_in /mnt/d/root-file)" = 65534:65534 ]
	set_args /probe write /mnt/d/new hello
	run hrun run -b "$BUNDLE" "$ID"
	[ "$(probe_value result)" = ERR:EACCES ] || { echo "$output"; false; }
	[ ! -e "$HOSTDIR/d/new" ]
}

@test "idmap with the mount's own mappings: exactly those apply" {
	host_files
	# On-disk uid/gid 1000 is seen as host 100000, the container's root;
	# nothing else is mapped.
	update_config ".mounts += [{\"destination\": \"/mnt/d\", \"type\": \"bind\",
		\"source\": \"$HOSTDIR/d\", \"options\": [\"bind\", \"idmap\"],
		\"uidMappings\": [{\"containerID\": 1000, \"hostID\": 100000, \"size\": 1}],
		\"gidMappings\": [{\"containerID\": 1000, \"hostID\": 100000, \"size\": 1}]}]"
	[ "$(owner_in /mnt/d/user-file)" = 0:0 ]
	[ "$(owner_in /mnt/d/root-file)" = 65534:65534 ]
}

@test "idmap applies to the top mount, ridmap to every submount of an rbind" {
	host_files
	mkdir -p "$HOSTDIR/d/sub"
	SUBMOUNT=$HOSTDIR/d/sub
	mount -t tmpfs -o mode=755 tmpfs "$SUBMOUNT"
	echo x >"$SUBMOUNT/f"
	bind_d '["rbind", "idmap"]'
	[ "$(owner_in /mnt/d/root-file)" = 0:0 ]
	[ "$(owner_in /mnt/d/sub/f)" = 65534:65534 ]
	update_config '.mounts[-1].options = ["rbind", "ridmap"]'
	[ "$(owner_in /mnt/d/sub/f)" = 0:0 ]
}

@test "idmap on a mount that is not a bind is refused, leaving nothing" {
	update_config '.mounts += [{"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}]'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *"mounts["*"]: idmapped mounts are supported for bind mounts only"* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "idmap without mappings in a container without a user namespace is refused" {
	host_files
	update_config 'del(.linux.uidMappings, .linux.gidMappings) | .linux.namespaces -= [{"type": "user"}]'
	bind_d '["bind", "idmap"]'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *"idmap without uidMappings and gidMappings takes the container's"* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "a missing idmapped bind source fails create with its name, leaving nothing" {
	update_config ".mounts += [{\"destination\": \"/mnt\", \"type\": \"bind\",
		\"source\": \"$HOSTDIR/none\", \"options\": [\"bind\", \"idmap\"]}]"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *"mount \"/mnt\": bind source \"$HOSTDIR/none\": No such file or directory"* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

# The mountinfo line of the container's mount at $1 (fields 5 on).
mountinfo_in() {
	set_args /bin/sh -c "grep -E '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ $1 ' /proc/self/mountinfo"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	cut -d' ' -f5- <<<"$output"
}

@test "ro on an rbind makes the top read-only; rro every submount too" {
	host_files
	mkdir -p "$HOSTDIR/d/sub"
	SUBMOUNT=$HOSTDIR/d/sub
	mount -t tmpfs -o mode=777 tmpfs "$SUBMOUNT"
	bind_d '["rbind", "ro"]'
	[[ $(mountinfo_in /mnt/d) == "/mnt/d ro,"* ]]
	[[ $(mountinfo_in /mnt/d/sub) == "/mnt/d/sub rw,"* ]]
	update_config '.mounts[-1].options = ["rbind", "rro"]'
	[[ $(mountinfo_in /mnt/d) == "/mnt/d ro,"* ]]
	[[ $(mountinfo_in /mnt/d/sub) == "/mnt/d/sub ro,"* ]]
	set_args /probe write /mnt/d/sub/x hello
	run hrun run -b "$BUNDLE" "$ID"
	[ "$(probe_value result)" = ERR:EROFS ] || { echo "$output"; false; }
}

@test "recursive attribute words (rnosuid, rnoexec, rnodev) reach every submount" {
	host_files
	mkdir -p "$HOSTDIR/d/sub"
	SUBMOUNT=$HOSTDIR/d/sub
	mount -t tmpfs tmpfs "$SUBMOUNT"
	bind_d '["rbind", "rnosuid", "rnoexec", "rnodev"]'
	[[ $(mountinfo_in /mnt/d/sub) =~ ^/mnt/d/sub\ [a-z,]*nosuid,nodev,noexec ]] ||
		{ mountinfo_in /mnt/d/sub; false; }
}

@test "per-mount propagation: shared, unbindable and private show in the container's mountinfo" {
	host_files
	bind_d '["bind", "shared"]'
	[[ $(mountinfo_in /mnt/d) =~ \ shared:[0-9]+\ - ]] || { mountinfo_in /mnt/d; false; }
	update_config '.mounts[-1].options = ["bind", "unbindable"]'
	[[ $(mountinfo_in /mnt/d) =~ \ unbindable\ - ]] || { mountinfo_in /mnt/d; false; }
	update_config '.mounts[-1].options = ["bind", "private"]'
	[[ $(mountinfo_in /mnt/d) =~ ^/mnt/d\ [a-z,]+\ - ]] || { mountinfo_in /mnt/d; false; }
}

@test "rootfsPropagation: shared and unbindable apply to the container's root; the host's root is untouched" {
	local before
	before=$(grep -E '^[0-9]+ [0-9]+ [^ ]+ / / ' /proc/self/mountinfo | cut -d' ' -f5-)
	update_config '.linux.rootfsPropagation = "rshared"'
	[[ $(mountinfo_in /) =~ ^/\ [a-z,]+\ shared:[0-9]+\ - ]] || { mountinfo_in /; false; }
	update_config '.linux.rootfsPropagation = "unbindable"'
	[[ $(mountinfo_in /) =~ ^/\ [a-z,]+\ unbindable\ - ]] || { mountinfo_in /; false; }
	[ "$(grep -E '^[0-9]+ [0-9]+ [^ ]+ / / ' /proc/self/mountinfo | cut -d' ' -f5-)" = "$before" ]
}

@test "an unknown rootfsPropagation is refused" {
	update_config '.linux.rootfsPropagation = "sideways"'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *rootfsPropagation* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

# --- /dev --------------------------------------------------------------------

no_userns() {
	update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)'
}

@test "linux.devices without a user namespace: nodes made with the config's numbers, mode and owner" {
	no_userns
	update_config '.linux.devices = [
		{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 7, "gid": 8},
		{"path": "/dev/deep/dir/loop-control", "type": "c", "major": 10, "minor": 237},
		{"path": "/dev/myfifo", "type": "p"}]'
	set_args /bin/sh -c 'stat -c "%n %F %t:%T %a %u:%g" /dev/fuse /dev/deep/dir/loop-control /dev/myfifo'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	grep -qxF "/dev/fuse character special file a:e5 600 7:8" <<<"$output" || { echo "$output"; false; }
	grep -qxF "/dev/deep/dir/loop-control character special file a:ed 666 0:0" <<<"$output" || { echo "$output"; false; }
	grep -qxF "/dev/myfifo fifo 0:0 666 0:0" <<<"$output" || { echo "$output"; false; }
}

@test "linux.devices in a user namespace: the host's node is bound (mknod is not allowed there)" {
	[ -c /dev/fuse ] || skip "the host has no /dev/fuse"
	update_config '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]'
	set_args /bin/sh -c 'stat -c "%n %F %t:%T" /dev/fuse; grep " /dev/fuse " /proc/self/mountinfo'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "${lines[0]}" = "/dev/fuse character special file a:e5" ] || { echo "$output"; false; }
	[ "${#lines[@]}" -eq 2 ]
}

@test "linux.devices in a user namespace: a config path that is not that device on the host binds nothing" {
	# /etc/hostname is a file on the host: the path must not pull it in
	# as the "device" 1:3.
	update_config '.linux.devices = [{"path": "/etc/hostname", "type": "c", "major": 1, "minor": 3}]'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *'device "/etc/hostname" (1:3): no such device node on the host to bind'* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "a node the image or config already has with other numbers is replaced, not trusted" {
	no_userns
	# The config's own /dev (a bind of the bundle's dir) holds a regular
	# file and a wrong node where the devices go.
	mkdir -p "$BUNDLE/devdir"
	echo secret >"$BUNDLE/devdir/null"
	mknod "$BUNDLE/devdir/zero" c 1 7
	update_config '.mounts |= map(select(.destination | startswith("/dev") | not))
		| .mounts += [{"destination": "/dev", "type": "bind", "source": "devdir", "options": ["rbind"]}]'
	set_args /bin/sh -c 'stat -c "%n %F %t:%T" /dev/null /dev/zero'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	grep -qxF "/dev/null character special file 1:3" <<<"$output" || { echo "$output"; false; }
	grep -qxF "/dev/zero character special file 1:5" <<<"$output" || { echo "$output"; false; }
}

# --- the fd-based setup, seen from outside -----------------------------------

# docs/architecture.md ("Seeing the fd-based setup") explains the command.
# --- cgroup mounts ------------------------------------------------------------

# A cgroup mount at /sys/fs/cgroup (OPTIONS: a JSON list) and limits that
# only the container's own cgroup has.
cgroup_mount() {
	update_config ".mounts += [{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\",
		\"source\": \"cgroup\", \"options\": $1}]
		| .linux.resources.pids.limit = 77 | .linux.resources.memory.limit = 67108864"
}

# Run the probe actions given as "LABEL ACTION ARGS..." strings in one
# container; each line of the output is prefixed with "LABEL.".
probes_in_one() {
	local script= a
	for a in "$@"; do
		set -- $a
		script+="/probe ${*:2} | sed 's/^/$1./'; "
	done
	set_args /bin/sh -c "$script"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

# What every v1 test checks from inside: the container's own limits under
# /sys/fs/cgroup/<controller>/, nothing of the host's tree, nothing
# writable (the tmpfs holding them included).
check_v1_view() {
	probes_in_one "pids read /sys/fs/cgroup/pids/pids.max" \
		"mem read /sys/fs/cgroup/memory/memory.limit_in_bytes" \
		"wpids write /sys/fs/cgroup/pids/pids.max 5" \
		"mkdir mkdir /sys/fs/cgroup/x" \
		"host stat /sys/fs/cgroup/pids$CGROUP_PARENT" \
		"hostroot stat /sys/fs/cgroup/pids/pids.max" \
		"uni stat /sys/fs/cgroup/unified/cgroup.procs" \
		"unihost stat /sys/fs/cgroup/unified$CGROUP_PARENT" \
		"m report mount"
	[ "$(probe_value pids.content)" = 77 ] || { echo "$output"; return 1; }
	[ "$(probe_value mem.content)" = 67108864 ] || { echo "$output"; return 1; }
	[ "$(probe_value wpids.result)" = ERR:EROFS ] || { echo "$output"; return 1; }
	[ "$(probe_value mkdir.result)" = ERR:EROFS ] || { echo "$output"; return 1; }
	# The host's tree is not there: not its other cgroups, and the root
	# shown has pids.max, which the host's root cgroup never has.
	[ "$(probe_value host.result)" = ERR:ENOENT ] || { echo "$output"; return 1; }
	[ "$(probe_value hostroot.result)" = ok ] || { echo "$output"; return 1; }
	if [ "$(cgroup_mode)" = hybrid ]; then
		[ "$(probe_value uni.result)" = ok ] || { echo "$output"; return 1; }
		[ "$(probe_value unihost.result)" = ERR:ENOENT ] || { echo "$output"; return 1; }
	fi
	# Every hierarchy is mounted read-only, and the tmpfs holding them.
	probe_values m.mount | grep -E '^/sys/fs/cgroup(/| )' >"$BUNDLE.mounts"
	[ "$(grep -c '^/sys/fs/cgroup tmpfs ro,' "$BUNDLE.mounts")" = 1 ] || { cat "$BUNDLE.mounts"; return 1; }
	[ "$(grep -c '^/sys/fs/cgroup/pids cgroup ro,' "$BUNDLE.mounts")" = 1 ] || { cat "$BUNDLE.mounts"; return 1; }
	if grep -v ' ro,' "$BUNDLE.mounts"; then
		return 1
	fi
}

require_cgroup_v1() {
	[ "$(cgroup_mode)" != unified ] || skip "needs v1 cgroup hierarchies (a hybrid or legacy host); this one is pure v2"
}

@test "cgroup mount on a v1 host, with a cgroup namespace: each hierarchy mounted from inside it shows the container's own cgroup, read-only" {
	require_cgroup_v1
	cgroup_mount '["nosuid", "noexec", "nodev", "relatime"]'
	check_v1_view
	# The pids directory is a mount of the v1 pids hierarchy.
	grep -q '^/sys/fs/cgroup/pids cgroup ro,.*,pids$' "$BUNDLE.mounts" || { cat "$BUNDLE.mounts"; false; }
}

@test "cgroup mount on a v1 host, without a cgroup namespace: the container's own cgroup directories are bound, read-only" {
	require_cgroup_v1
	update_config 'del(.linux.namespaces[] | select(.type == "cgroup"))'
	cgroup_mount '["nosuid", "noexec", "nodev"]'
	check_v1_view
}

@test "cgroup mount on a v1 host: rw in the options makes the container's own cgroup writable, and only that" {
	require_cgroup_v1
	# Without a user namespace, so that the container's root may write
	# the host-owned files at all: only the mount's read-only flag stops it.
	update_config 'del(.linux.namespaces[] | select(.type == "user")) | del(.linux.uidMappings, .linux.gidMappings)'
	cgroup_mount '["nosuid", "noexec", "nodev"]'
	probes_in_one "w write /sys/fs/cgroup/pids/pids.max 55"
	[ "$(probe_value w.result)" = ERR:EROFS ] || { echo "$output"; false; }
	update_config '.mounts[-1].options = ["nosuid", "noexec", "nodev", "rw"]'
	set_args /bin/sh -c "/probe write /sys/fs/cgroup/pids/pids.max 55 && /probe read /sys/fs/cgroup/pids/pids.max"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$(probe_value result)" = ok ] || { echo "$output"; false; }
	[ "$(probe_value content)" = 55 ] || { echo "$output"; false; }
}

# bats test_tags=vm
@test "cgroup mount on a pure v2 host: cgroup2 of the container's cgroup namespace, read-only" {
	require_cgroup_unified
	cgroup_mount '["nosuid", "noexec", "nodev"]'
	probes_in_one "pids read /sys/fs/cgroup/pids.max" \
		"wpids write /sys/fs/cgroup/pids.max 5" \
		"host stat /sys/fs/cgroup$CGROUP_PARENT" \
		"m report mount"
	[ "$(probe_value pids.content)" = 77 ] || { echo "$output"; false; }
	[ "$(probe_value wpids.result)" = ERR:EROFS ] || { echo "$output"; false; }
	[ "$(probe_value host.result)" = ERR:ENOENT ] || { echo "$output"; false; }
	probe_values m.mount | grep -q '^/sys/fs/cgroup cgroup2 ro,' || { echo "$output"; false; }
}

@test "strace: once the rootfs fd is open, nothing names a rootfs path by string" {
	command -v strace >/dev/null || skip "strace is not installed"
	host_files
	bind_d '["bind", "idmap"]'
	set_args /bin/true
	timeout 60 strace -f -qq -o "$BUNDLE.trace" \
		-e trace=%file,mount,umount2,move_mount,open_tree,fsopen,fsmount,fsconfig,mount_setattr \
		"$HRUN" --root "$STATE" run -b "$BUNDLE" "$ID"
	local rootfs_open
	rootfs_open=$(grep -n "openat(AT_FDCWD, \"$BUNDLE/rootfs\", .*O_PATH" "$BUNDLE.trace" | head -n1 | cut -d: -f1)
	[ -n "$rootfs_open" ] || { cat "$BUNDLE.trace"; false; }
	# Nothing after it names the rootfs by its host path...
	if tail -n +"$((rootfs_open + 1))" "$BUNDLE.trace" | grep -F "$BUNDLE/rootfs"; then
		false
	fi
	# ...and the container's init (the first child), until it execs,
	# resolves no relative path from its cwd (the rootfs, before the
	# pivot) but ".", and no absolute path after the pivot but "/".
	# Absolute paths before the pivot are the host's (its /proc, device
	# nodes, bind sources), which the container cannot touch yet.
	local init
	init=$(awk -v n="$rootfs_open" 'NR > n { print $1 }' "$BUNDLE.trace" | sort -un | sed -n 2p)
	awk -v pid="$init" '
		$1 != pid { next }
		/execve\(/ { exit }
		/pivot_root\(/ { pivoted = 1; next }
		/^[0-9]+ +(fsopen|fsconfig|symlinkat)\(/ { next }
		match($0, /[a-z_0-9]+\((AT_FDCWD, )?"[^"]*"/) {
			path = substr($0, RSTART, RLENGTH)
			sub(/^[^"]*"/, "", path); sub(/"$/, "", path)
			if ((path !~ /^\// && path != ".") || (pivoted && path ~ /^\/./)) { print; bad = 1 }
		}
		END { exit bad }' "$BUNDLE.trace" || { echo "init $init resolved the paths above by string"; false; }
	rm -f "$BUNDLE.trace"
}
