#!/usr/bin/env bats
# hrun run: what the container really gets, reported from inside by the
# probe, and what the host sees while it runs and after it has gone.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=test-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
	HOSTDIR=
	NETNS=
}

teardown() {
	stop_bg
	[ -n "$NETNS" ] && ip netns del "$NETNS" 2>/dev/null
	[ -n "$HOSTDIR" ] && rm -rf "$HOSTDIR"
	[ -z "${OUT:-}" ] || rm -f "$OUT" "$OUT".*
	teardown_bundle
}

# The rootfs copy belongs to the host's root, whom the container's user
# namespace does not map: its root cannot create mount points in it. An
# image prepared for the mapping has them; so does this one.
mountpoint_in_rootfs() {
	mkdir -p "$BUNDLE/rootfs$1"
}

# The host pid of the container's init, once it has exec'd the probe.
wait_for_init_exec() {
	local i pid
	for ((i = 0; i < 200; i++)); do
		pid=$(cgroup_procs | head -n1)
		if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '^/probe '; then
			INIT_PID=$pid
			return 0
		fi
		sleep 0.05
	done
	echo "the container's init did not exec the probe"
	return 1
}

# bats test_tags=vm
@test "a command runs inside: busybox echo and a shell" {
	set_args /bin/busybox echo "hello from inside"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from inside" ]
	set_args sh -c 'echo "$(hostname): $((6 * 7))"'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "hrun: 42" ]
}

# bats test_tags=vm
@test "the exit status of the process is hrun's" {
	probe_run exit 42
	[ "$status" -eq 42 ]
	probe_run exit 0
	[ "$status" -eq 0 ]
}

# bats test_tags=vm
@test "signals sent to hrun are forwarded to the container's process" {
	set_args /probe wait-signal
	for sig in TERM INT HUP USR1; do
		hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
		wait_for_line "$OUT" '^ready=1$'
		kill -s "$sig" "$BG_PID"
		wait_bg "$BG_PID"
		[ "$BG_STATUS" -eq 0 ] || { echo "SIG$sig: status $BG_STATUS"; cat "$OUT"; return 1; }
		grep -qx "signal=SIG$sig" "$OUT" || { echo "SIG$sig not delivered:"; cat "$OUT"; return 1; }
	done
}

# bats test_tags=vm
@test "a container process killed by SIGKILL makes hrun exit 137" {
	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	# pid 1 of a pid namespace only dies by SIGKILL from outside.
	pid=$(cgroup_procs)
	[ "$(wc -w <<<"$pid")" -eq 1 ]
	kill -KILL "$pid"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 137 ]
	assert_no_leftovers "$ID"
}

@test "a forwarded signal that kills the process makes hrun exit 128+N" {
	# Not pid 1 of its own pid namespace, the probe dies of a SIGTERM
	# (pid 1 would ignore it). Without a pid namespace, no user namespace
	# either: /proc could not be mounted.
	update_config '.linux.namespaces |= map(select(.type != "pid" and .type != "user"))
		| del(.linux.uidMappings, .linux.gidMappings)'
	set_args /probe sleep 30
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_init_exec
	kill -TERM "$BG_PID"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 143 ]
	assert_no_leftovers "$ID"
}

# bats test_tags=vm
@test "every configured namespace is new; an unconfigured one is the host's" {
	probe_run report ns_cgroup ns_ipc ns_mnt ns_net ns_pid ns_user ns_uts ns_time
	[ "$status" -eq 0 ]
	for ns in cgroup ipc mnt net pid user uts; do
		inside=$(probe_value "ns_$ns")
		host=$(readlink "/proc/$$/ns/$ns")
		[[ "$inside" == "$ns:["* ]] || { echo "ns_$ns: $inside"; return 1; }
		[ "$inside" != "$host" ] || { echo "$ns namespace is the host's: $inside"; return 1; }
	done
	# The template has no time namespace.
	[ "$(probe_value ns_time)" = "$(readlink "/proc/$$/ns/time")" ]
}

# bats test_tags=vm
@test "uid and gid maps, hostname and pid are the template's" {
	probe_run report uid_map gid_map hostname pid uid gid
	[ "$status" -eq 0 ]
	[ "$(probe_value uid_map)" = "0 100000 65536" ]
	[ "$(probe_value gid_map)" = "0 100000 65536" ]
	[ "$(probe_value hostname)" = hrun ]
	[ "$(probe_value pid)" = 1 ]
	[ "$(probe_value uid)" = 0 ]
	[ "$(probe_value gid)" = 0 ]
}

# bats test_tags=vm
@test "the template's mounts are there with their types and options" {
	probe_run report mount
	[ "$status" -eq 0 ]
	mounts=$(probe_values mount)
	has() {
		grep -Eq "$1" <<<"$mounts" || { echo "no mount matching $1 in:"; echo "$mounts"; return 1; }
	}
	has '^/ [^ ]+ ro,'
	has '^/proc proc rw,nosuid,nodev,noexec'
	has '^/dev tmpfs rw,nosuid'
	has '^/dev/pts devpts rw,nosuid,noexec'
	has '^/dev/shm tmpfs rw,nosuid,nodev,noexec'
	has '^/dev/mqueue mqueue rw,nosuid,nodev,noexec'
	has '^/sys sysfs ro,nosuid,nodev,noexec'
	has '^/tmp tmpfs rw,nosuid,nodev'
}

@test "the root is read-only and /tmp is writable" {
	probe_run write /x
	[ "$(probe_value result)" = ERR:EROFS ]
	probe_run write /tmp/x
	[ "$(probe_value result)" = ok ]
}

@test "the default devices and /dev links are there" {
	set_args sh -c '
		for d in null zero full random urandom; do /probe open /dev/$d; done
		/probe write /dev/null x
		stat -c "%n %F %t:%T" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty
		for l in fd stdin stdout stderr ptmx; do echo "/dev/$l -> $(readlink /dev/$l)"; done'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_values result | sort -u)" = ok ]
	[ "$(probe_values result | wc -l)" -eq 6 ]
	for want in "/dev/null character special file 1:3" "/dev/zero character special file 1:5" \
		"/dev/full character special file 1:7" "/dev/random character special file 1:8" \
		"/dev/urandom character special file 1:9" "/dev/tty character special file 5:0" \
		"/dev/fd -> /proc/self/fd" "/dev/stdin -> /proc/self/fd/0" "/dev/stdout -> /proc/self/fd/1" \
		"/dev/stderr -> /proc/self/fd/2" "/dev/ptmx -> pts/ptmx"; do
		grep -qxF "$want" <<<"$output" || { echo "missing: $want"; echo "$output"; return 1; }
	done
}

# bats test_tags=vm
@test "masked paths read empty and readonly paths refuse writes" {
	local checked=0
	for f in /proc/timer_list /proc/keys; do
		# Only a file that has content on the host shows the mask.
		[ -n "$(head -c1 "$f" 2>/dev/null)" ] || continue
		probe_run read "$f"
		[ "$(probe_value result)" = ok ]
		[ "$(probe_value content)" = "" ] || { echo "$f not masked"; return 1; }
		checked=$((checked + 1))
	done
	[ "$checked" -gt 0 ] || skip "neither /proc/timer_list nor /proc/keys has content here"
	probe_run write /proc/sys/kernel/hostname x
	[ "$(probe_value result)" = ERR:EROFS ]
	if [ -e /proc/sysrq-trigger ]; then
		probe_run write /proc/sysrq-trigger h
		[ "$(probe_value result)" = ERR:EROFS ]
	fi
}

# bats test_tags=vm
@test "capabilities are the template's minimal set; inheritable and ambient are empty" {
	probe_run report cap_eff_names cap_prm_names cap_bnd_names cap_inh cap_amb
	[ "$status" -eq 0 ]
	# The template and the expectation agree.
	[ "$(sorted "$(jq -r '.process.capabilities.bounding | join(",")' "$BUNDLE/config.json")")" = "$MINIMAL_CAPS" ]
	for set in eff prm bnd; do
		[ "$(sorted "$(probe_value "cap_${set}_names")")" = "$MINIMAL_CAPS" ] ||
			{ echo "cap_$set: $(probe_value "cap_${set}_names")"; return 1; }
	done
	[ "$(probe_value cap_inh)" = 0000000000000000 ]
	[ "$(probe_value cap_amb)" = 0000000000000000 ]
}

# The kernel recomputes permitted and effective at execve: for a non-root
# user running a file without file capabilities both become the ambient
# set; root gets the bounding set, which no_new_privs (on in the template)
# cuts down to the permitted set it had. The effective set as such does not
# survive an execve; raising ambient fails unless hrun applied permitted and
# inheritable first.
custom_caps() {
	update_config '.process.capabilities = {
		"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE"],
		"permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"],
		"effective": ["CAP_CHOWN", "CAP_KILL"],
		"inheritable": ["CAP_KILL", "CAP_NET_RAW", "CAP_AUDIT_WRITE"],
		"ambient": ["CAP_KILL", "CAP_NET_RAW"]}'
}

@test "custom capability sets are applied exactly (non-root user)" {
	custom_caps
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	probe_run report cap_bnd_names cap_inh_names cap_amb_names cap_prm_names cap_eff_names
	[ "$status" -eq 0 ]
	[ "$(sorted "$(probe_value cap_bnd_names)")" = CAP_AUDIT_WRITE,CAP_CHOWN,CAP_KILL,CAP_NET_RAW,CAP_SETUID,CAP_SYS_CHROOT ]
	[ "$(sorted "$(probe_value cap_inh_names)")" = CAP_AUDIT_WRITE,CAP_KILL,CAP_NET_RAW ]
	[ "$(sorted "$(probe_value cap_amb_names)")" = CAP_KILL,CAP_NET_RAW ]
	[ "$(sorted "$(probe_value cap_prm_names)")" = CAP_KILL,CAP_NET_RAW ]
	[ "$(sorted "$(probe_value cap_eff_names)")" = CAP_KILL,CAP_NET_RAW ]
}

@test "custom capability sets are applied exactly (root)" {
	custom_caps
	probe_run report cap_bnd_names cap_inh_names cap_amb_names cap_prm_names cap_eff_names
	[ "$status" -eq 0 ]
	bounding=CAP_AUDIT_WRITE,CAP_CHOWN,CAP_KILL,CAP_NET_RAW,CAP_SETUID,CAP_SYS_CHROOT
	[ "$(sorted "$(probe_value cap_bnd_names)")" = "$bounding" ]
	[ "$(sorted "$(probe_value cap_inh_names)")" = CAP_AUDIT_WRITE,CAP_KILL,CAP_NET_RAW ]
	[ "$(sorted "$(probe_value cap_amb_names)")" = CAP_KILL,CAP_NET_RAW ]
	[ "$(sorted "$(probe_value cap_prm_names)")" = CAP_CHOWN,CAP_KILL,CAP_NET_RAW,CAP_SYS_CHROOT ]
	[ "$(sorted "$(probe_value cap_eff_names)")" = CAP_CHOWN,CAP_KILL,CAP_NET_RAW,CAP_SYS_CHROOT ]
}

# /probe-suid as the container's root owns it: a file owned by an unmapped
# uid (the host's root, as copied) never grants its owner's uid in a user
# namespace, which would make the no_new_privs test pass for nothing.
suid_probe_owned_by_container_root() {
	chown 100000:100000 "$BUNDLE/rootfs/probe-suid"
	chmod 4755 "$BUNDLE/rootfs/probe-suid"
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
}

# bats test_tags=vm
@test "noNewPrivileges: no_new_privs is set and a setuid binary gains nothing" {
	suid_probe_owned_by_container_root
	update_config '.process.noNewPrivileges = true'
	set_args /probe-suid report uid euid no_new_privs
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value no_new_privs)" = 1 ]
	[ "$(probe_value uid)" = 1000 ]
	[ "$(probe_value euid)" = 1000 ]
}

@test "noNewPrivileges false: a setuid-root binary runs with euid 0" {
	suid_probe_owned_by_container_root
	update_config '.process.noNewPrivileges = false'
	set_args /probe-suid report uid euid no_new_privs
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value no_new_privs)" = 0 ]
	[ "$(probe_value uid)" = 1000 ]
	[ "$(probe_value euid)" = 0 ]
}

@test "user, groups, cwd and umask come from the config" {
	update_config '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 23}
		| .process.cwd = "/home/user"'
	probe_run report uid gid euid egid suid sgid groups cwd umask
	[ "$status" -eq 0 ]
	for k in uid euid suid gid egid sgid; do
		[ "$(probe_value "$k")" = 1000 ] || { echo "$k=$(probe_value "$k")"; return 1; }
	done
	[ "$(probe_value groups)" = 10,20 ]
	[ "$(probe_value cwd)" = /home/user ]
	[ "$(probe_value umask)" = 0027 ]
}

@test "without a umask in the config the process gets 0022" {
	probe_run report umask
	[ "$(probe_value umask)" = 0022 ]
}

@test "the environment is exactly the config's" {
	update_config '.process.env = ["A=1", "B=two words", "EMPTY=", "PATH=/bin"]'
	probe_run report env
	[ "$status" -eq 0 ]
	[ "$(probe_values env)" = "$(printf 'A=1\nB=two words\nEMPTY=\nPATH=/bin')" ]
}

@test "rlimits: lowered soft and hard limits are applied" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
		{"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]'
	probe_run report rlimit_nofile rlimit_core
	[ "$status" -eq 0 ]
	[ "$(probe_value rlimit_nofile)" = "100 200" ]
	[ "$(probe_value rlimit_core)" = "0 0" ]
}

@test "rlimits: raising a hard limit above the host's fails naming CAP_SYS_RESOURCE" {
	eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
	(((0x$eff >> 24) & 1)) && skip "this host has CAP_SYS_RESOURCE: raising a hard limit works"
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "the host's RLIMIT_NOFILE is unlimited"
	update_config ".process.rlimits = [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 100, \"hard\": $((hard + 1))}]"
	probe_run report rlimit_nofile
	[ "$status" -ne 0 ]
	[[ "$output" == *"RLIMIT_NOFILE"*"CAP_SYS_RESOURCE"* ]]
	[[ "$output" != *rlimit_nofile=* ]]
	assert_no_leftovers "$ID"
}

# bats test_tags=vm
@test "cgroups: the container sees its cgroups as / and the host sees it in them" {
	probe_run report cgroup
	[ "$status" -eq 0 ]
	[ -n "$(probe_values cgroup)" ]
	if probe_values cgroup | grep -v ':/$'; then
		echo "a cgroup is not the namespace root"
		return 1
	fi

	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	pid=$(cat "$(cgroup_dir pids)/cgroup.procs")
	[ "$(wc -w <<<"$pid")" -eq 1 ]
	# It is the container's init: hrun's child, in another pid namespace.
	[ "$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status")" = "$BG_PID" ]
	[ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink /proc/$$/ns/pid)" ]
	for d in $(cgroup_dirs); do
		grep -qx "$pid" "$d/cgroup.procs" || { echo "$pid not in $d"; return 1; }
	done
	kill -TERM "$BG_PID"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
	# Every cgroup directory is gone with the container.
	assert_no_leftovers "$ID"
}

@test "the state dir exists while the container runs and is gone after" {
	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	jq -e --arg id "$ID" --arg b "$BUNDLE" '.id == $id and .status == "running" and .bundle == $b and .pid > 0' \
		"$STATE/$ID/state.json"
	kill -TERM "$BG_PID"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE")" ]
}

@test "standalone: 'hrun run BUNDLE/' names the container after the directory" {
	set_args /probe wait-signal
	name=$(basename "$BUNDLE")
	hrun_bg "$OUT" run "$BUNDLE/"
	wait_for_line "$OUT" '^ready=1$'
	[ "$(ls -A "$STATE")" = "$name" ]
	jq -e --arg id "$name" '.id == $id' "$STATE/$name/state.json"
	kill -TERM "$BG_PID"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
	assert_no_leftovers "$name"
}

# bats test_tags=vm
@test "standalone: two concurrent runs of bundles named alike get distinct IDs" {
	# Two directories called "web"; each its own cgroup, as two containers
	# must not share one (see the next test).
	set_args /probe wait-signal
	for b in one two; do
		mkdir -p "$BUNDLE/$b/web"
		jq --arg root "$BUNDLE/rootfs" --arg cg "$CGROUP/$b" \
			'.root.path = $root | .linux.cgroupsPath = $cg' "$BUNDLE/config.json" >"$BUNDLE/$b/web/config.json"
	done
	hrun_bg "$OUT.1" run "$BUNDLE/one/web/"
	first=$BG_PID
	wait_for_line "$OUT.1" '^ready=1$'
	hrun_bg "$OUT.2" run "$BUNDLE/two/web"
	second=$BG_PID
	wait_for_line "$OUT.2" '^ready=1$'
	[ "$(ls -A "$STATE" | sort | paste -sd' ')" = "web web-2" ]
	jq -e --arg b "$BUNDLE/one/web" '.bundle == $b' "$STATE/web/state.json"
	jq -e --arg b "$BUNDLE/two/web" '.bundle == $b' "$STATE/web-2/state.json"
	kill -TERM "$first" "$second"
	wait_bg "$first"
	[ "$BG_STATUS" -eq 0 ]
	wait_bg "$second"
	[ "$BG_STATUS" -eq 0 ]
	grep -qx signal=SIGTERM "$OUT.1"
	grep -qx signal=SIGTERM "$OUT.2"
	[ -z "$(ls -A "$STATE")" ]
}

# bats test_tags=vm
@test "a container cannot take the cgroup of a running one, and leaves it running" {
	# Before hrun refused this, the second container's exit removed the
	# shared cgroup and killed the first.
	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" first
	wait_for_line "$OUT" '^ready=1$'
	run hrun run -b "$BUNDLE" second
	[ "$status" -ne 0 ]
	[[ "$output" == *"$CGROUP"*"is not empty"* ]]
	[ ! -e "$STATE/second" ]
	[ -d "$(cgroup_dir pids)" ]
	[ -n "$(cgroup_procs)" ]
	kill -TERM "$BG_PID"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
	grep -qx signal=SIGTERM "$OUT"
	assert_no_leftovers first
}

# bats test_tags=vm
@test "a duplicate ID is refused and the running container is untouched" {
	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	before=$(cat "$STATE/$ID/state.json")
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"container with given ID already exists"* ]]
	[ "$(cat "$STATE/$ID/state.json")" = "$before" ]
	[ -n "$(cgroup_procs)" ]
	kill -TERM "$BG_PID"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
	grep -qx signal=SIGTERM "$OUT"
	assert_no_leftovers "$ID"
}

# bats test_tags=vm
@test "a missing executable fails with 'executable file not found' and leaves nothing" {
	set_args no-such-command
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'"no-such-command": executable file not found in $PATH'* ]]
	assert_no_leftovers "$ID"
	set_args /no/such/file
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/file"*"No such file or directory"* ]]
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE")" ]
}

# bats test_tags=vm
@test "a run leaves no state, cgroup or process behind" {
	probe_run report pid
	[ "$status" -eq 0 ]
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE")" ]
	[ -z "$(pgrep -f -- "$BUNDLE")" ]
}

@test "a read-only bind of a host directory is visible and read-only inside" {
	HOSTDIR=$(mktemp -d /tmp/hrun-hostdir.XXXXXX)
	chmod 777 "$HOSTDIR"
	echo "from the host" >"$HOSTDIR/file"
	mountpoint_in_rootfs /mnt/ro
	mountpoint_in_rootfs /mnt/rw
	update_config ".mounts += [
		{\"destination\": \"/mnt/ro\", \"type\": \"bind\", \"source\": \"$HOSTDIR\", \"options\": [\"bind\", \"ro\"]},
		{\"destination\": \"/mnt/rw\", \"type\": \"bind\", \"source\": \"$HOSTDIR\", \"options\": [\"bind\"]}]"
	probe_run read /mnt/ro/file
	[ "$(probe_value content)" = "from the host" ]
	probe_run write /mnt/ro/new
	[ "$(probe_value result)" = ERR:EROFS ]
	[ ! -e "$HOSTDIR/new" ]
	# The same directory bound without ro: writes reach the host.
	probe_run write /mnt/rw/new hello
	[ "$(probe_value result)" = ok ]
	[ "$(cat "$HOSTDIR/new")" = hello ]
}

@test "a bind with a relative source is taken relative to the bundle" {
	mkdir "$BUNDLE/data"
	chmod 777 "$BUNDLE/data"
	echo "in the bundle" >"$BUNDLE/data/file"
	mountpoint_in_rootfs /mnt
	update_config '.mounts += [{"destination": "/mnt", "type": "bind", "source": "data", "options": ["rbind"]}]'
	# hrun resolves it from the bundle, not from its own cwd.
	cd /
	probe_run read /mnt/file
	[ "$(probe_value content)" = "in the bundle" ]
	probe_run write /mnt/out x
	[ "$(probe_value result)" = ok ]
	[ -f "$BUNDLE/data/out" ]
}

@test "a tmpfs mount gets its size option" {
	mountpoint_in_rootfs /mnt
	update_config '.mounts += [{"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700"]}]'
	probe_run report mount
	[ "$status" -eq 0 ]
	probe_values mount | grep -E '^/mnt tmpfs .*size=1024k' || { probe_values mount; return 1; }
	probe_values mount | grep -E '^/mnt tmpfs .*mode=700'
}

@test "--no-pivot moves the root instead of pivot_root and the container runs" {
	set_args /probe report mount pid hostname
	run hrun run --no-pivot -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value pid)" = 1 ]
	[ "$(probe_value hostname)" = hrun ]
	probe_values mount | grep -Eq '^/ [^ ]+ ro,'
	probe_values mount | grep -Eq '^/proc proc '
	command -v strace >/dev/null || skip "strace is not installed: cannot see which call entered the root"
	timeout 60 strace -f -qq -e trace=pivot_root,chroot -o "$OUT.trace" \
		"$HRUN" --root "$STATE" run --no-pivot -b "$BUNDLE" "$ID" >/dev/null
	grep -Eq 'chroot\("\."\) += 0' "$OUT.trace"
	if grep -q pivot_root "$OUT.trace"; then
		echo "pivot_root used with --no-pivot"
		return 1
	fi
	timeout 60 strace -f -qq -e trace=pivot_root,chroot -o "$OUT.trace" \
		"$HRUN" --root "$STATE" run -b "$BUNDLE" "$ID" >/dev/null
	grep -q 'pivot_root(' "$OUT.trace"
}

@test "a sysctl is set inside and the host's value is unchanged" {
	host=$(cat /proc/sys/net/ipv4/ip_forward)
	want=$((1 - host))
	update_config ".linux.sysctl = {\"net.ipv4.ip_forward\": \"$want\"}"
	probe_run read /proc/sys/net/ipv4/ip_forward
	[ "$status" -eq 0 ]
	[ "$(probe_value content)" = "$want" ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host" ]
}

@test "a namespace given by path is joined" {
	command -v ip >/dev/null || skip "iproute2 (ip netns) is not installed"
	NETNS=hrun-test-$$-$BATS_TEST_NUMBER
	ip netns add "$NETNS"
	joined="net:[$(stat -L -c %i "/run/netns/$NETNS")]"
	update_config "(.linux.namespaces[] | select(.type == \"network\")).path = \"/run/netns/$NETNS\""
	probe_run report ns_net ns_user ns_pid
	[ "$status" -eq 0 ]
	[ "$(probe_value ns_net)" = "$joined" ]
	# The others are still new.
	[ "$(probe_value ns_user)" != "$(readlink /proc/$$/ns/user)" ]
	[ "$(probe_value ns_pid)" != "$(readlink /proc/$$/ns/pid)" ]
}

@test "a new network namespace has lo up, as under runc; a joined one is left as it is" {
	set_args /bin/cat /sys/class/net/lo/flags
	run hrun run -b "$BUNDLE" "$ID-new"
	[ "$status" -eq 0 ]
	# IFF_UP (0x1) and IFF_LOOPBACK (0x8).
	[ "$output" = 0x9 ]
	command -v ip >/dev/null || skip "iproute2 (ip netns) is not installed"
	NETNS=hrun-test-$$-$BATS_TEST_NUMBER
	ip netns add "$NETNS"
	update_config "(.linux.namespaces[] | select(.type == \"network\")).path = \"/run/netns/$NETNS\""
	set_args /bin/true
	run hrun run -b "$BUNDLE" "$ID-joined"
	[ "$status" -eq 0 ]
	run ip -netns "$NETNS" -o link show lo
	[[ "$output" != *"<LOOPBACK,UP"* ]]
}

@test "without a user namespace the container runs with the host's id map" {
	update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)'
	probe_run report uid_map gid_map ns_user uid cap_bnd_names
	[ "$status" -eq 0 ]
	[ "$(probe_value uid_map)" = "0 0 4294967295" ]
	[ "$(probe_value gid_map)" = "0 0 4294967295" ]
	[ "$(probe_value ns_user)" = "$(readlink /proc/$$/ns/user)" ]
	[ "$(probe_value uid)" = 0 ]
	[ "$(sorted "$(probe_value cap_bnd_names)")" = "$MINIMAL_CAPS" ]
}

# The container shares the host's pid namespace here so that it can look
# at hrun, its parent, and holds CAP_SYS_PTRACE so that ptrace access
# checks do not hide hrun's exe: only the sealing is left to stop it.
@test "without a user namespace hrun runs from a sealed memfd that the container cannot write" {
	update_config '.linux.namespaces |= map(select(.type != "user" and .type != "pid"))
		| del(.linux.uidMappings, .linux.gidMappings)
		| .process.capabilities |= with_entries(.value += ["CAP_SYS_PTRACE"])'
	set_args /bin/sh -c 'readlink /proc/$PPID/exe; exec 3</proc/$PPID/exe; sleep 0.5 & wait; echo x >&3 && echo wrote'
	# While hrun runs it is busy; the fd the container kept is read-only,
	# and reopening the memfd for writing meets its seals.
	run hrun run -b "$BUNDLE" "$ID"
	[ "${lines[0]}" = "/memfd:hrun (deleted)" ] || { echo "$output"; false; }
	[[ $output != *wrote* ]]
	set_args /bin/sh -c 'echo x >>/proc/$PPID/exe && echo wrote'
	run hrun run -b "$BUNDLE" "$ID"
	[[ $output == *"Text file busy"* ]] || { echo "$output"; false; }
	[[ $output != *wrote* ]]
}

@test "with a user namespace hrun runs from its own binary, without a copy" {
	set_args /bin/sh -c 'echo started; sleep 30'
	hrun_bg "$BUNDLE.out" run -b "$BUNDLE" "$ID"
	wait_for_line "$BUNDLE.out" started
	[ "$(readlink "/proc/$BG_PID/exe")" = "$(readlink -f "$HRUN")" ]
	stop_bg
	rm -f "$BUNDLE.out"
}

@test "--preserve-fds passes the extra fds" {
	echo "preserved" >"$BUNDLE/extra"
	set_args /probe report fd
	run hrun run --preserve-fds 1 -b "$BUNDLE" "$ID" 3<"$BUNDLE/extra" 4<"$BUNDLE/extra"
	[ "$status" -eq 0 ]
	[ "$(probe_values fd | cut -d' ' -f1 | paste -sd,)" = 0,1,2,3 ]
	probe_values fd | grep -qx "3 $BUNDLE/extra"
	set_args /probe read /dev/fd/3
	run hrun run --preserve-fds 1 -b "$BUNDLE" "$ID" 3<"$BUNDLE/extra"
	[ "$(probe_value content)" = preserved ]
}

@test "no fd but 0-2 reaches the container" {
	echo x >"$BUNDLE/extra"
	set_args /probe report fd
	# bats' own fd 3 is open too.
	run hrun run -b "$BUNDLE" "$ID" 5<"$BUNDLE/extra" 7<"$BUNDLE/extra" 9>"$BUNDLE/extra.w"
	[ "$status" -eq 0 ]
	[ "$(probe_values fd | cut -d' ' -f1 | paste -sd,)" = 0,1,2 ]
}

# Run ARGS in a new session keyring named NAME (keyctl JOIN_SESSION_KEYRING).
in_session_keyring() {
	local nr name=$1
	shift
	case $(uname -m) in
	x86_64) nr=250 ;;
	aarch64 | riscv64) nr=219 ;;
	*) skip "keyctl's syscall number on $(uname -m) is not known to this test" ;;
	esac
	command -v perl >/dev/null || skip "perl is needed to join a session keyring"
	perl -e 'syscall($ARGV[0], 1, $ARGV[1]) >= 0 or die "keyctl: $!\n"; shift; shift; exec @ARGV or die "exec: $!\n"' \
		"$nr" "$name" "$@"
}

@test "the session keyring is new by default and the caller's with --no-new-keyring" {
	name=hrun-test-$$-$BATS_TEST_NUMBER
	# The probe reads the keyring with keyctl, which hrun's default
	# seccomp profile refuses.
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW"}'
	set_args /probe report keyring
	run in_session_keyring "$name" sh -c '
		"$HRUN_TEST_ROOTFS/probe" report keyring | sed s/^keyring=/host=/
		timeout 60 "$HRUN" --root "$1" run -b "$2" "$3"
		timeout 60 "$HRUN" --root "$1" run --no-new-keyring -b "$2" "$3" | sed s/^keyring=/kept=/' \
		sh "$STATE" "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	host=$(probe_value host)
	new=$(probe_value keyring)
	kept=$(probe_value kept)
	[[ "$host" == *";$name" ]] || { echo "host keyring: $host"; return 1; }
	# Same keyring: same serial and description.
	[ "${kept%% *}" = "${host%% *}" ]
	[[ "$kept" == *";$name" ]]
	# A new, anonymous session keyring.
	[ "${new%% *}" != "${host%% *}" ]
	[[ "$new" == *";_ses" ]]
}
