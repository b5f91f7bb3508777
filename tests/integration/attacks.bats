#!/usr/bin/env bats
# Filesystem attacks on the runtime. A hostile image (each test's own copy
# of the test rootfs) or a hostile config tries to make hrun mount, create
# or write outside the container, or hand the container something of the
# host's. Each test shows the attack fails and that the host is untouched:
# a host directory the attack aims at keeps its contents, nothing gets
# mounted on it, neither in the host's mount namespace nor in the
# container's before pivot_root (a createContainer hook, the "spy", saves
# that namespace's mountinfo: a mount that escaped the rootfs would be
# there), and nothing of the container is left behind.
#
# Most containers here have no user namespace: hrun then builds them as
# the host's root, where an escape would do the most harm.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=attack-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
	ROOTFS=$(realpath "$BUNDLE/rootfs")
	HRUN_ORIG=$HRUN
	# What the attacks aim at on the host, with a sentinel in it. Its
	# twin inside the rootfs is $ROOTFS$HOSTDIR.
	HOSTDIR=$(mktemp -d /tmp/hrun-attack-host.XXXXXX)
	echo "host sentinel" >"$HOSTDIR/sentinel"
	SPY=$BUNDLE.spy
	mkdir -m 777 "$SPY"
	CORE_PATTERN=$(cat /proc/sys/kernel/core_pattern)
}

teardown() {
	HRUN=$HRUN_ORIG
	stop_bg
	delete_all
	# Only a failed attack test could have changed it.
	if [ "$(cat /proc/sys/kernel/core_pattern)" != "$CORE_PATTERN" ]; then
		printf '%s\n' "$CORE_PATTERN" >/proc/sys/kernel/core_pattern
	fi
	if [ -n "${HOSTDIR:-}" ]; then
		mountpoint -q "$HOSTDIR" && umount -l "$HOSTDIR"
		rm -rf "$HOSTDIR"
	fi
	[ -z "${SPY:-}" ] || rm -rf "$SPY"
	[ -z "${OUT:-}" ] || rm -f "$OUT" "$OUT".*
	teardown_bundle
}

# --- the bundle ---------------------------------------------------------------

no_userns() {
	update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)'
}

# The container's /tmp tmpfs would hide $ROOTFS$HOSTDIR (the twin of a
# host path under /tmp), where a symlink to $HOSTDIR leads in the root.
no_tmp_mount() {
	update_config '.mounts |= map(select(.destination != "/tmp"))'
}

without_mount() {
	update_config '.mounts |= map(select(.destination != $d))' --arg d "$1"
}

# /dev is the image's own dev directory, bound by the config, instead of a
# fresh tmpfs: the image decides what is in it.
dev_from_image() {
	update_config '.mounts |= map(if .destination == "/dev"
		then {destination: "/dev", type: "bind", source: "rootfs/dev", options: ["rbind", "nosuid"]}
		else . end)'
}

add_tmpfs() {
	update_config '.mounts += [{destination: $d, type: "tmpfs", source: "attack", options: ["size=16k"]}]' \
		--arg d "$1"
}

# The spy: a createContainer hook, run in the container's mount namespace
# once every mount is made and before pivot_root, saves its mountinfo to
# $SPY/mountinfo.
spy_mounts() {
	update_config '.hooks.createContainer += [{path: "/bin/sh",
		args: ["sh", "-c", "cat >/dev/null; cat /proc/self/mountinfo >\"$0\"", $f]}]' \
		--arg f "$SPY/mountinfo"
}

# hrun run, with the spy's file of an earlier run out of the way.
attack_run() {
	rm -f "$SPY/mountinfo"
	run hrun run "$@" -b "$BUNDLE" "$ID"
}

# --- what the host and the container saw --------------------------------------

# The mount points in mountinfo FILE at or below PATH, one a line.
mounts_under() {
	awk -v p="$2" '$5 == p || index($5, p "/") == 1 { print $5 }' "$1"
}

# Where the "attack" tmpfs mounts are in mountinfo FILE.
attack_mounts() {
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") break } $(i + 1) == "tmpfs" && $(i + 2) == "attack" { print $5 }' "$1"
}

# Every entry below HOSTDIR with its type, mode, size, mtime and target:
# anything created, removed, written or renamed there shows.
host_state() {
	find "$HOSTDIR" -printf '%P %y %m %s %T@ %l\n' | sort
	cat "$HOSTDIR/sentinel"
}

save_host_state() {
	HOST_BEFORE=$(host_state)
}

assert_host_untouched() {
	local now
	now=$(host_state)
	if [ "$now" != "$HOST_BEFORE" ]; then
		echo "the host directory $HOSTDIR changed:"
		diff <(echo "$HOST_BEFORE") <(echo "$now")
		return 1
	fi
	if [ -n "$(mounts_under /proc/self/mountinfo "$HOSTDIR")" ]; then
		echo "mounted on the host at $HOSTDIR:"
		mounts_under /proc/self/mountinfo "$HOSTDIR"
		return 1
	fi
	if [ -f "$SPY/mountinfo" ] && [ -n "$(mounts_under "$SPY/mountinfo" "$HOSTDIR")" ]; then
		echo "mounted at the host path $HOSTDIR in the container's mount namespace:"
		mounts_under "$SPY/mountinfo" "$HOSTDIR"
		return 1
	fi
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$CORE_PATTERN" ] ||
		{ echo "the host's core_pattern changed"; return 1; }
}

# The attack tmpfs, seen by the spy, is exactly at $ROOTFS$1.
assert_landed_inside() {
	[ -s "$SPY/mountinfo" ] || { echo "the spy saw nothing: $output"; return 1; }
	[ "$(attack_mounts "$SPY/mountinfo")" = "$ROOTFS$1" ] || {
		echo "the attack mount is not at $ROOTFS$1 but at:"
		attack_mounts "$SPY/mountinfo"
		return 1
	}
}

# The masked files that exist on this host must be /dev/null (1:3) inside:
# `masked_files` lists them, for a container to stat.
masked_files() {
	local f
	for f in /proc/interrupts /proc/kcore /proc/keys /proc/timer_list; do
		[ -e "$f" ] && echo "$f"
	done
}

# In $output, the lines "PATH character special file 1:3" of `stat -c
# "%n %F %t:%T"` for every masked file.
assert_masked_with_null() {
	local f
	for f in $(masked_files); do
		grep -qxF "$f character special file 1:3" <<<"$output" ||
			{ echo "$f is not masked with the null device:"; echo "$output"; return 1; }
	done
}

# --- 1, 2: mount destinations that lead out of the rootfs ---------------------

# A tmpfs on /mnt/escape, a symlink in the image to TARGET; its twin in the
# rootfs exists, so the mount must land there. Without the twin hrun has
# nowhere inside to mount and must fail.
symlink_destination_attack() {
	no_userns
	no_tmp_mount
	spy_mounts
	mkdir -p "$ROOTFS/mnt" "$ROOTFS$HOSTDIR"
	ln -s "$1" "$ROOTFS/mnt/escape"
	add_tmpfs /mnt/escape
	set_args /bin/sh -c '/probe write /mnt/escape/planted; /probe report mount'
	save_host_state
	attack_run
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	assert_host_untouched
	assert_landed_inside "$HOSTDIR"
	# Inside, the tmpfs is where the symlink leads in the root.
	[ "$(probe_value result)" = ok ] || { echo "$output"; return 1; }
	probe_values mount | grep -q "^$HOSTDIR tmpfs " || { echo "$output"; return 1; }
	assert_no_leftovers "$ID"

	rmdir "$ROOTFS$HOSTDIR"
	save_host_state
	attack_run
	[ "$status" -ne 0 ]
	[[ "$output" == *'mount "/mnt/escape"'*"No such file or directory"* ]] || { echo "$output"; return 1; }
	[ ! -e "$ROOTFS$HOSTDIR" ]
	assert_host_untouched
	assert_no_leftovers "$ID"
}

@test "attack: mount destination is an image symlink to an absolute host path; the mount lands inside the rootfs or fails" {
	symlink_destination_attack "$HOSTDIR"
}

@test "attack: mount destination is an image symlink ../../.. out of the rootfs; the mount lands inside the rootfs or fails" {
	symlink_destination_attack "../../../../../../../..$HOSTDIR"
}

@test "attack: '..' components in a config mount destination climb no higher than the rootfs" {
	no_userns
	no_tmp_mount
	spy_mounts
	mkdir -p "$ROOTFS/mnt"
	# The missing directories are made too: inside, not on the host.
	add_tmpfs "/../../../..$HOSTDIR/made"
	update_config '.mounts += [{destination: $d, type: "bind", source: $s, options: ["bind", "ro"]}]' \
		--arg d "/mnt/../../../../../../..$HOSTDIR/bound" --arg s "$BUNDLE/config.json"
	set_args /bin/sh -c '/probe write '"$HOSTDIR"'/made/planted; /probe report mount'
	save_host_state
	attack_run
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	assert_host_untouched
	assert_landed_inside "$HOSTDIR/made"
	[ -d "$ROOTFS$HOSTDIR/made" ] && [ -f "$ROOTFS$HOSTDIR/bound" ]
	[ "$(probe_value result)" = ok ] || { echo "$output"; return 1; }
	probe_values mount | grep -q "^$HOSTDIR/made tmpfs " || { echo "$output"; return 1; }
	probe_values mount | grep -q "^$HOSTDIR/bound " || { echo "$output"; return 1; }
	assert_no_leftovers "$ID"
}

# --- 3, 9: races against the resolution ---------------------------------------

# Exchange the entries A and B in the rootfs (a directory and a symlink to
# $HOSTDIR) for SECONDS, in the background; FLIPPER is its pid.
start_flipper() {
	"$HRUN_TEST_ROOTFS/probe" swap "$1" "$2" "$3" >"$OUT.swap" 2>&1 3>&- &
	FLIPPER=$!
	BG_PIDS="${BG_PIDS:-} $FLIPPER"
}

@test "attack: a mount destination flipped between a directory and a symlink to the host during setup never mounts on the host" {
	no_userns
	no_tmp_mount
	spy_mounts
	mkdir -p "$ROOTFS/mnt/flip" "$ROOTFS$HOSTDIR"
	ln -s "$HOSTDIR" "$ROOTFS/mnt/flip.alt"
	add_tmpfs /mnt/flip
	set_args /bin/true
	save_host_state
	start_flipper "$ROOTFS/mnt/flip" "$ROOTFS/mnt/flip.alt" 2
	local runs=0 on_dir=0 on_link=0 at
	while kill -0 "$FLIPPER" 2>/dev/null && [ "$runs" -lt 200 ]; do
		attack_run
		runs=$((runs + 1))
		[ "$status" -eq 0 ] || { echo "run $runs: $output"; return 1; }
		assert_host_untouched
		at=$(attack_mounts "$SPY/mountinfo")
		# The directory moves between the two names: the mount is on
		# it (under either name) or on the symlink's twin in the root.
		case $at in
		"$ROOTFS/mnt/flip" | "$ROOTFS/mnt/flip.alt") on_dir=$((on_dir + 1)) ;;
		"$ROOTFS$HOSTDIR") on_link=$((on_link + 1)) ;;
		*) echo "run $runs: the attack mount is at '$at'"; return 1 ;;
		esac
	done
	wait "$FLIPPER"
	cat "$OUT.swap"
	grep -qx result=ok "$OUT.swap"
	echo "$runs runs: $on_dir on the directory, $on_link through the symlink"
	# Both sides of the race were hit: the test raced for real.
	[ "$runs" -ge 10 ] && [ "$on_dir" -gt 0 ] && [ "$on_link" -gt 0 ]
	assert_host_untouched
	assert_no_leftovers "$ID"
}

@test "attack: the parent of a missing mount destination flipped to a symlink while hrun creates it: nothing made or mounted outside" {
	no_userns
	no_tmp_mount
	spy_mounts
	mkdir -p "$ROOTFS/mnt/race" "$ROOTFS$HOSTDIR"
	ln -s "$HOSTDIR" "$ROOTFS/mnt/race.alt"
	# Replaced by each run's own destination.
	add_tmpfs /mnt/race/r0
	set_args /bin/true
	save_host_state
	start_flipper "$ROOTFS/mnt/race" "$ROOTFS/mnt/race.alt" 2
	local runs=0 ok=0 at
	while kill -0 "$FLIPPER" 2>/dev/null && [ "$runs" -lt 200 ]; do
		runs=$((runs + 1))
		# A new path each time: hrun has to make every level of it.
		update_config '.mounts[-1] = {destination: $d, type: "tmpfs", source: "attack", options: ["size=16k"]}' \
			--arg d "/mnt/race/r$runs/a/b"
		attack_run
		assert_host_untouched
		# A flip between two steps may leave hrun nothing to mount on:
		# failing is fine, escaping is not.
		[ "$status" -eq 0 ] || continue
		ok=$((ok + 1))
		at=$(attack_mounts "$SPY/mountinfo")
		case $at in
		"$ROOTFS"/*) ;;
		*) echo "run $runs: the attack mount is at '$at'"; return 1 ;;
		esac
	done
	wait "$FLIPPER"
	grep -qx result=ok "$OUT.swap"
	echo "$runs runs, $ok made their mount"
	[ "$runs" -ge 10 ] && [ "$ok" -gt 0 ]
	# What hrun made, it made in the rootfs.
	[ -n "$(find "$ROOTFS/mnt" "$ROOTFS$HOSTDIR" -path '*/r*/a/b')" ]
	assert_host_untouched
	assert_no_leftovers "$ID"
}

# --- 4, 5: /dev/null and /dev from the image ----------------------------------

# Stat /dev/null, / dev and the masked files from inside.
stat_dev_and_masks() {
	set_args /bin/sh -c 'stat -f -c "dev_fs %T" /dev/; stat -c "%n %F %t:%T" /dev/null '"$(masked_files | paste -sd' ')"
}

@test "attack: the image's /dev/null is a symlink to core_pattern; masking binds the host's verified /dev/null" {
	spy_mounts
	mkdir -p "$ROOTFS/dev"
	ln -s /proc/sys/kernel/core_pattern "$ROOTFS/dev/null"
	stat_dev_and_masks
	save_host_state
	# The template's /dev tmpfs, with the template's user namespace.
	attack_run
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	assert_masked_with_null
	grep -qxF "/dev/null character special file 1:3" <<<"$output"
	assert_host_untouched
	# No /dev in the config: hrun makes it, with and without a user
	# namespace (host nodes bound, or nodes made).
	without_mount /dev
	for userns in yes no; do
		[ "$userns" = yes ] || no_userns
		attack_run
		[ "$status" -eq 0 ] || { echo "userns $userns: $output"; return 1; }
		grep -qx "dev_fs tmpfs" <<<"$output"
		grep -qxF "/dev/null character special file 1:3" <<<"$output"
		assert_masked_with_null
		assert_host_untouched
		assert_no_leftovers "$ID"
	done
}

@test "attack: /dev bound from the image with its null a symlink to core_pattern; masked paths still get the host's /dev/null" {
	no_userns
	dev_from_image
	ln -s /proc/sys/kernel/core_pattern "$ROOTFS/dev/null"
	stat_dev_and_masks
	save_host_state
	attack_run
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	assert_masked_with_null
	assert_host_untouched
	assert_no_leftovers "$ID"
}

@test "attack: a /dev/null that is not the null device (a host file bound over it) is never used to mask" {
	command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
	no_userns
	echo "host secret" >"$HOSTDIR/fake-null"
	stat_dev_and_masks
	save_host_state
	# Only in a mount namespace of this test's own: the host keeps its
	# /dev/null.
	run unshare -m --propagation private sh -c \
		'mount --bind "$1" /dev/null && exec timeout 60 "$2" --root "$3" run -b "$4" "$5"' \
		sh "$HOSTDIR/fake-null" "$HRUN" "$STATE" "$BUNDLE" "$ID"
	[ "$status" -ne 0 ] || { echo "$output"; return 1; }
	[[ "$output" == *'"/dev/null" is not the null device (char 1:3)'* ]] || { echo "$output"; return 1; }
	[ "$(stat -c %t:%T /dev/null)" = 1:3 ]
	assert_host_untouched
	assert_no_leftovers "$ID"
}

# dev -> TARGET in the image, TARGET's twin in the rootfs and the host
# directory both holding a null that is a symlink to core_pattern.
dev_symlink_attack() {
	no_userns
	no_tmp_mount
	spy_mounts
	mkdir -p "$ROOTFS$HOSTDIR"
	rm -rf "$ROOTFS/dev"
	ln -s "$1" "$ROOTFS/dev"
	ln -s /proc/sys/kernel/core_pattern "$ROOTFS$HOSTDIR/null"
	ln -s /proc/sys/kernel/core_pattern "$HOSTDIR/null"
	stat_dev_and_masks
	save_host_state
	for config in template hrun-builds-dev; do
		[ "$config" = template ] || without_mount /dev
		attack_run
		[ "$status" -eq 0 ] || { echo "$config: $output"; return 1; }
		assert_host_untouched
		grep -qx "dev_fs tmpfs" <<<"$output" || { echo "$config: $output"; return 1; }
		grep -qxF "/dev/null character special file 1:3" <<<"$output"
		assert_masked_with_null
		mounts_under "$SPY/mountinfo" "$ROOTFS$HOSTDIR" | grep -qx "$ROOTFS$HOSTDIR"
		assert_no_leftovers "$ID"
	done
}

@test "attack: the image's /dev is a symlink to a host directory; /dev is a tmpfs inside the rootfs" {
	dev_symlink_attack "$HOSTDIR"
}

@test "attack: the image's /dev is a symlink ../../.. out of the rootfs; /dev is a tmpfs inside the rootfs" {
	dev_symlink_attack "../../../../../../..$HOSTDIR"
}

@test "attack: the image's /dev/pts is a symlink to the host's devpts; with terminal: true no pty comes from the host" {
	no_userns
	dev_from_image
	update_config '.process.terminal = true'
	mkdir -p "$ROOTFS/dev"
	ln -s /dev/pts "$ROOTFS/dev/pts"
	host_devpts=$(stat -c %d /dev/pts/ptmx)
	set_args /bin/sh -c 'echo "pty_dev=$(stat -L -c %d /proc/self/fd/0)"'
	save_host_state
	# The config's devpts mount would go on the symlink: refused.
	attack_run
	[ "$status" -ne 0 ] || { echo "$output"; return 1; }
	[[ "$output" == *'mount "/dev/pts"'* ]] || { echo "$output"; return 1; }
	assert_no_leftovers "$ID"
	# No devpts of its own: the pty is refused rather than taken from
	# the host's devpts.
	without_mount /dev/pts
	attack_run
	[ "$status" -ne 0 ] || { echo "pty from device $(probe_value pty_dev), the host's devpts is $host_devpts: $output"; return 1; }
	[[ "$output" == *"allocate the container's terminal"* ]] || { echo "$output"; return 1; }
	assert_host_untouched
	assert_no_leftovers "$ID"
}

@test "attack: the image's /dev/pts is a symlink to a host directory; the devpts and the pty stay inside the rootfs" {
	no_userns
	no_tmp_mount
	dev_from_image
	spy_mounts
	update_config '.process.terminal = true'
	mkdir -p "$ROOTFS/dev" "$ROOTFS$HOSTDIR"
	ln -s "$HOSTDIR" "$ROOTFS/dev/pts"
	host_devpts=$(stat -c %d /dev/pts/ptmx)
	set_args /bin/sh -c 'echo "pty_dev=$(stat -L -c %d /proc/self/fd/0) devpts_dev=$(stat -c %d /dev/pts/ptmx)"'
	save_host_state
	attack_run
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	assert_host_untouched
	pty=$(sed -n 's/.*pty_dev=\([0-9]*\) .*/\1/p' <<<"$output")
	devpts=$(sed -n 's/.*devpts_dev=\([0-9]*\).*/\1/p' <<<"$output")
	[ -n "$pty" ] && [ "$pty" = "$devpts" ] && [ "$pty" != "$host_devpts" ] ||
		{ echo "pty on $pty, container devpts $devpts, host devpts $host_devpts: $output"; return 1; }
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") break } $(i + 1) == "devpts" { print $5 }' "$SPY/mountinfo" |
		grep -qx "$ROOTFS$HOSTDIR"
	assert_host_untouched
	assert_no_leftovers "$ID"
}

# --- 6: a fake /proc under hrun's writes --------------------------------------

# A directory that looks like /proc/sys, with ip_forward "0".
fake_proc_sys() {
	mkdir -p "$1/net/ipv4"
	echo 0 >"$1/net/ipv4/ip_forward"
}

@test "attack: a bind mount over /proc/sys would redirect sysctl writes; hrun refuses and the fake is unchanged" {
	no_userns
	fake_proc_sys "$HOSTDIR/sys"
	update_config '.linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	set_args /bin/true
	host=$(cat /proc/sys/net/ipv4/ip_forward)
	for kind in bind tmpfs; do
		if [ "$kind" = bind ]; then
			update_config '.mounts += [{destination: "/proc/sys", type: "bind", source: $s, options: ["rbind"]}]' \
				--arg s "$HOSTDIR/sys"
		else
			update_config '.mounts[-1] = {destination: "/proc/sys", type: "tmpfs", source: "attack"}'
		fi
		save_host_state
		attack_run
		[ "$(cat "$HOSTDIR/sys/net/ipv4/ip_forward")" = 0 ] || { echo "$kind: the sysctl went to the fake"; return 1; }
		[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host" ]
		[ "$status" -ne 0 ] || { echo "$kind: $output"; return 1; }
		# The error names the sysctl, the file and why.
		[[ "$output" == *'sysctl "net.ipv4.ip_forward"'*'"/proc/sys/net/ipv4/ip_forward"'* ]] ||
			{ echo "$kind: $output"; return 1; }
		[[ "$output" == *"cross-device"* || "$output" == *"not on procfs"* ]] || { echo "$kind: $output"; return 1; }
		assert_host_untouched
		assert_no_leftovers "$ID"
	done
}

@test "attack: /proc is a bind of a fake directory; sysctls go to the real procfs or are refused, never to the fake" {
	no_userns
	fake_proc_sys "$HOSTDIR/proc/sys"
	update_config '.mounts |= map(if .destination == "/proc"
		then {destination: "/proc", type: "bind", source: $s, options: ["rbind"]} else . end)
		| .mounts += [{destination: "/realproc", type: "proc", source: "proc"}]
		| .linux.sysctl = {"net.ipv4.ip_forward": "1"}' --arg s "$HOSTDIR/proc"
	mkdir -p "$ROOTFS/realproc"
	set_args /probe read /realproc/sys/net/ipv4/ip_forward
	host=$(cat /proc/sys/net/ipv4/ip_forward)
	save_host_state
	attack_run
	[ "$(cat "$HOSTDIR/proc/sys/net/ipv4/ip_forward")" = 0 ] || { echo "the sysctl went to the fake"; return 1; }
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host" ]
	if [ "$status" -eq 0 ]; then
		# Written through a verified procfs: the container's own value.
		[ "$(probe_value content)" = 1 ] || { echo "$output"; return 1; }
	else
		[[ "$output" == *"procfs"* ]] || { echo "$output"; return 1; }
	fi
	assert_host_untouched
	assert_no_leftovers "$ID"
}

# --- 7: a cwd through a leaked fd ---------------------------------------------

@test "attack: process.cwd /proc/self/fd/N names a host directory through a leaked or preserved fd; refused" {
	no_userns
	# A relative write: with a cwd on the host it would land in HOSTDIR.
	set_args /probe write escaped
	save_host_state
	# Preserved on purpose: fd 3 is the host directory.
	update_config '.process.cwd = "/proc/self/fd/3"'
	attack_run --preserve-fds 1 3<"$HOSTDIR"
	assert_host_untouched
	[ "$status" -ne 0 ] || { echo "$output"; return 1; }
	[[ "$output" == *'cwd "/proc/self/fd/3" is outside the container'* ]] || { echo "$output"; return 1; }
	# Whatever hrun itself holds open when it changes directory.
	local n outside=0
	for n in $(seq 3 12); do
		update_config '.process.cwd = $c' --arg c "/proc/self/fd/$n"
		attack_run
		assert_host_untouched
		[ "$status" -ne 0 ] || { echo "cwd fd $n: $output"; return 1; }
		[[ "$output" != *result=* ]] || { echo "cwd fd $n: $output"; return 1; }
		[[ "$output" != *"is outside the container"* ]] || outside=$((outside + 1))
	done
	echo "$outside of hrun's own fds led outside and were refused"
	assert_host_untouched
	assert_no_leftovers "$ID"
}

@test "attack: exec --cwd /proc/self/fd/N names a host directory through a leaked or preserved fd; refused" {
	no_userns
	sleeper
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	save_host_state
	run hrun exec --preserve-fds 1 --cwd /proc/self/fd/3 "$ID" /probe write escaped 3<"$HOSTDIR"
	assert_host_untouched
	[ "$status" -ne 0 ] || { echo "$output"; return 1; }
	[[ "$output" == *'cwd "/proc/self/fd/3" is outside the container'* ]] || { echo "$output"; return 1; }
	local n
	for n in $(seq 3 12); do
		run hrun exec --cwd "/proc/self/fd/$n" "$ID" /probe write escaped
		[ "$status" -ne 0 ] && [[ "$output" != *result=* ]] || { echo "cwd fd $n: $output"; return 1; }
	done
	assert_host_untouched
	hrun delete --force "$ID"
	assert_no_leftovers "$ID"
}

# --- 8: the runtime binary through /proc/PID/exe ------------------------------

# Fails until hrun re-executes itself from a sealed memfd (design.md,
# "Safety rules"): then /proc/PID/exe of the runtime is that memfd and the
# write is refused.
@test "attack: the container overwrites the runtime through /proc/PID/exe of a '#!/proc/self/exe' script (CVE-2019-5736)" {
	# A copy: a successful attack destroys only that. The defence (a
	# sealed memfd copy of the binary) is for containers without a user
	# namespace; with one, the binary is the host root's and unwritable.
	cp "$HRUN_ORIG" "$BATS_TEST_TMPDIR/hrun"
	HRUN=$BATS_TEST_TMPDIR/hrun
	sum=$(sha256sum <"$HRUN")
	no_userns
	# The image can run the runtime: it has its loader and libraries.
	local lib
	for lib in $(ldd "$HRUN" | grep -o '/[^ ]*'); do
		mkdir -p "$ROOTFS${lib%/*}"
		cp -L "$lib" "$ROOTFS$lib"
	done
	# Run as a script's interpreter, the runtime blocks opening its log,
	# a FIFO, until the attacker has a handle on its executable.
	printf '#!/proc/self/exe --log=/fifo\n' >"$ROOTFS/evil"
	chmod 755 "$ROOTFS/evil"
	mkfifo -m 666 "$ROOTFS/fifo"
	# The attacker is the container's init: no hrun process of its own
	# keeps the binary busy once the one running /evil is gone.
	set_args /bin/sh -c '
		for i in $(seq 200); do
			for d in /proc/[0-9]*; do
				case $(tr "\0" " " <"$d/cmdline" 2>/dev/null) in
				"/proc/self/exe --log=/fifo /evil"*) pid=${d#/proc/} ;;
				esac
			done
			[ -n "$pid" ] && break
			sleep 0.05
		done
		echo "found=$pid exe=$(readlink /proc/$pid/exe)"
		[ -n "$pid" ] || { echo done=1; exit 1; }
		if command exec 3<"/proc/$pid/exe"; then echo open=ok; else echo open=failed; fi
		exec 4</fifo
		cat <&4 >/dev/null
		exec 4<&-
		for i in $(seq 100); do
			r=$(/probe write /proc/self/fd/3 PWNED)
			[ "$r" != result=ERR:ETXTBSY ] && break
			sleep 0.05
		done
		echo "write_$r"
		echo done=1
		sleep 30'
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	hrun_bg "$OUT.evil" exec "$ID" /evil
	wait_for_line "$OUT.detached" '^done=1$'
	wait_bg "$BG_PID"
	cat "$OUT.detached"
	# The attack was staged: the runtime ran as /evil's interpreter.
	grep -q '^found=[0-9]' "$OUT.detached"
	[ "$(sha256sum <"$HRUN")" = "$sum" ] || { echo "the runtime binary was overwritten"; return 1; }
	grep -q '^open=failed$' "$OUT.detached" || grep -q '^write_result=ERR:' "$OUT.detached"
	HRUN=$HRUN_ORIG
	hrun delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "attack: /proc/1/exe of an init that has not exec'd yet (still hrun) cannot be opened from inside" {
	no_userns
	sleeper
	detached create -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	# The init waits for start as hrun, with host fds: not dumpable.
	run hrun exec "$ID" /probe open /proc/1/exe
	[ "$(probe_value result)" = ERR:EACCES ] || { echo "$output"; return 1; }
	run hrun exec "$ID" /probe read /proc/1/environ
	[ "$(probe_value result)" = ERR:EACCES ] || { echo "$output"; return 1; }
	hrun delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "attack: a config binds hrun's own state root or seccomp cache to rewrite other containers' state or filters; refused at every level" {
	mkdir -p "$ROOTFS/mnt" "$STATE" "$BUNDLE.cache"
	printf 'seccomp_cache_dir = %s\n' "$BUNDLE.cache" >"$BUNDLE.conf"
	ln -s "$STATE" "$BUNDLE/state-link"
	set_args /bin/true
	local src
	# The state root itself, through a symlink, as a relative path, a
	# directory inside it, and the seccomp cache.
	for src in "$STATE" "$BUNDLE/state-link" "../$(basename "$STATE")" "$STATE/x" "$BUNDLE.cache"; do
		mkdir -p "$STATE/x"
		update_config '.mounts = [.mounts[] | select(.destination != "/mnt")] + [{"destination": "/mnt", "type": "bind", "source": $s, "options": ["rbind", "rw"]}]' --arg s "$src"
		run hrun --host-config "$BUNDLE.conf" --hardening=compat run -b "$BUNDLE" "$ID"
		[ "$status" -ne 0 ] || { echo "$src accepted: $output"; return 1; }
		[[ "$output" == *"is inside hrun's own"*"refused at every hardening level"* ]] || { echo "$output"; return 1; }
		rmdir "$STATE/x"
		[ -z "$(ls -A "$STATE")" ] || { ls -la "$STATE"; return 1; }
	done
	rm -rf "$BUNDLE.cache" "$BUNDLE.conf"
	assert_no_leftovers "$ID"
}
