#!/usr/bin/env bats
# Rootless: hrun run by an unprivileged user. The tests run as root and
# execute hrun as a dedicated system user (made for this file's run, with
# an /etc/subuid and /etc/subgid range, removed afterwards), with a rootfs
# it owns and an XDG_RUNTIME_DIR of its own.

load helpers
bats_require_minimum_version 1.5.0

RL_USER=hrun-rootless-test
RL_OTHER=hrun-rootless-other
# The test user's subordinate range, far from the template's 100000 and
# userns.bats' pool.
RL_SUB_FIRST=1700000
RL_SUB_COUNT=65536

# Make USER (a system user, no home, no login) unless it exists.
make_user() {
	id -u "$1" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1"
}

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root, to make the test users"
	command -v useradd >/dev/null || skip "needs useradd (package passwd)"
	make_user "$RL_USER"
	make_user "$RL_OTHER"
	grep -q "^$RL_USER:$RL_SUB_FIRST:$RL_SUB_COUNT\$" /etc/subuid 2>/dev/null ||
		usermod --add-subuids "$RL_SUB_FIRST-$((RL_SUB_FIRST + RL_SUB_COUNT - 1))" "$RL_USER"
	grep -q "^$RL_USER:$RL_SUB_FIRST:$RL_SUB_COUNT\$" /etc/subgid 2>/dev/null ||
		usermod --add-subgids "$RL_SUB_FIRST-$((RL_SUB_FIRST + RL_SUB_COUNT - 1))" "$RL_USER"
	RL_UID=$(id -u "$RL_USER")
	RL_GID=$(id -g "$RL_USER")
	OTHER_UID=$(id -u "$RL_OTHER")
	OTHER_GID=$(id -g "$RL_OTHER")
	# Everything the users need, in a directory they can reach: the
	# binary too (the build tree may be under a directory closed to them).
	RL_BASE=$(mktemp -d /tmp/hrun-rootless.XXXXXX)
	chmod 755 "$RL_BASE"
	install -m 755 "$HRUN" "$RL_BASE/hrun"
	cp -a "$HRUN_TEST_ROOTFS" "$RL_BASE/rootfs"
	chown -R "$RL_UID:$RL_GID" "$RL_BASE/rootfs"
	mkdir -m 700 "$RL_BASE/xdg" "$RL_BASE/xdg-other"
	chown "$RL_UID:$RL_GID" "$RL_BASE/xdg"
	chown "$OTHER_UID:$OTHER_GID" "$RL_BASE/xdg-other"
	export RL_UID RL_GID OTHER_UID OTHER_GID RL_BASE
}

teardown_file() {
	local u
	if [ -n "${RL_BASE:-}" ]; then
		for u in "$RL_USER:$RL_BASE/xdg" "$RL_OTHER:$RL_BASE/xdg-other"; do
			rl_delete_all "${u%%:*}" "${u#*:}"
		done
		rm -rf "$RL_BASE"
	fi
	usermod --del-subuids "$RL_SUB_FIRST-$((RL_SUB_FIRST + RL_SUB_COUNT - 1))" \
		--del-subgids "$RL_SUB_FIRST-$((RL_SUB_FIRST + RL_SUB_COUNT - 1))" "$RL_USER" 2>/dev/null || true
	for u in "$RL_USER" "$RL_OTHER"; do
		id -u "$u" >/dev/null 2>&1 && userdel "$u"
	done
	return 0
}

# helpers.bash's, but written in place: the config stays the user's.
update_config() {
	local tmp
	tmp=$(mktemp)
	jq "${@:2}" "$1" "$BUNDLE/config.json" >"$tmp" && cat "$tmp" >"$BUNDLE/config.json"
	local r=$?
	rm -f "$tmp"
	return $r
}

# `as_user USER XDG [hrun ARGS...]`: hrun run by USER with a clean
# environment and XDG_RUNTIME_DIR=XDG (none when XDG is empty).
as_user() {
	local user=$1 xdg=$2
	shift 2
	setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --init-groups \
		env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin ${xdg:+XDG_RUNTIME_DIR=$xdg} \
		timeout --kill-after=5 60 "$RL_BASE/hrun" "$@"
}

# hrun as the test user, state under its XDG_RUNTIME_DIR.
rl() {
	as_user "$RL_USER" "$RL_BASE/xdg" "$@"
}

rl_delete_all() {
	local id
	for id in $(as_user "$1" "$2" list -q 2>/dev/null); do
		as_user "$1" "$2" delete --force "$id" >/dev/null 2>&1
	done
}

setup() {
	ID=rl-$BATS_TEST_NUMBER
	BUNDLE=$RL_BASE/bundle-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
	STATE=$RL_BASE/xdg/hrun
	# What assert_no_leftovers checks: the default cgroup path.
	CGROUP=/hrun/$ID
	mkdir -m 755 "$BUNDLE"
	chown "$RL_UID:$RL_GID" "$BUNDLE"
	# The template an unprivileged user asks for, written by that user.
	(cd "$BUNDLE" && rl spec --rootless)
	update_config '.root.path = $r | .process.args = ["/probe"]' --arg r "$RL_BASE/rootfs"
}

teardown() {
	rl_delete_all "$RL_USER" "$RL_BASE/xdg"
	rl_delete_all "$RL_OTHER" "$RL_BASE/xdg-other"
	rm -rf "$BUNDLE" "$OUT" "$OUT".*
}

# The container ID's cgroup directories under the default parent.
no_cgroup_of() {
	local d
	for d in $(cgroup_dirs "/hrun/$1"); do
		[ ! -d "$d" ] || { echo "cgroup $d exists"; return 1; }
	done
}

# run -d as the test user, output through a file (see `detached`).
rl_detached() {
	status=0
	rl "$@" >"$OUT.detached" 2>&1 </dev/null || status=$?
	output=$(cat "$OUT.detached")
}

# A host directory the container gets on /out, read-write.
with_out_dir() {
	mkdir -m "${1:-755}" "$OUT"
	chown "$RL_UID:$RL_GID" "$OUT"
	update_config '.mounts += [{"destination": "/out", "type": "bind", "source": $s, "options": ["rbind", "rw"]}]' \
		--arg s "$OUT"
}

@test "rootless: the container's root is the caller on the host; capabilities in its user namespace" {
	set_args /probe report uid gid uid_map gid_map setgroups cap_eff_names cap_bnd_names
	run rl run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(probe_value uid)" = 0 ]
	[ "$(probe_value gid)" = 0 ]
	[ "$(probe_value uid_map)" = "0 $RL_UID 1" ]
	[ "$(probe_value gid_map)" = "0 $RL_GID 1" ]
	# Writing its own gid alone, hrun had to deny setgroups first.
	[ "$(probe_value setgroups)" = deny ]
	[ "$(sorted "$(probe_value cap_eff_names)")" = "$(sorted "$MINIMAL_CAPS")" ]
	[ "$(sorted "$(probe_value cap_bnd_names)")" = "$(sorted "$MINIMAL_CAPS")" ]
	assert_no_leftovers "$ID"
}

@test "rootless: a file the container's root writes belongs to the caller on the host" {
	with_out_dir
	set_args /bin/sh -c 'echo hi >/out/file && mkdir /out/dir && echo wrote'
	run rl run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ $output == *wrote* ]]
	[ "$(stat -c %u:%g "$OUT/file")" = "$RL_UID:$RL_GID" ]
	[ "$(stat -c %u:%g "$OUT/dir")" = "$RL_UID:$RL_GID" ]
}

@test "rootless: a config without a user namespace gets one mapping the caller; exec joins it" {
	update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)'
	sleeper
	rl_detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(jq -r .userns "$STATE/$ID/state.json")" = rootless ]
	# The effective config says so.
	jq -e '.linux.namespaces | map(.type) | index("user")' "$STATE/$ID/config.json"
	[ "$(jq -c .linux.uidMappings "$STATE/$ID/config.json")" = "[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1}]" ]
	run rl exec "$ID" /probe report uid uid_map cap_eff_names pid
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(probe_value uid)" = 0 ]
	[ "$(probe_value uid_map)" = "0 $RL_UID 1" ]
	[ "$(sorted "$(probe_value cap_eff_names)")" = "$(sorted "$MINIMAL_CAPS")" ]
	[ "$(probe_value pid)" != 1 ]
	run rl delete --force "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "rootless: state under \$XDG_RUNTIME_DIR/hrun; list, state, run -d, kill, delete as the user" {
	sleeper
	rl_detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	# The user's, sticky (not pruned for age), closed to others.
	[ "$(stat -c %u:%a "$STATE")" = "$RL_UID:1700" ]
	[ "$(stat -c %u:%a "$STATE/$ID")" = "$RL_UID:700" ]
	[ "$(rl state "$ID" | jq -r .status)" = running ]
	pid=$(rl state "$ID" | jq -r .pid)
	[ "$(stat -c %u "/proc/$pid")" = "$RL_UID" ]
	run rl list
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" =~ ^$ID\ +$pid\ +running\ .*\ $RL_USER$ ]] || { echo "$output"; false; }
	run rl list --format json
	[ "$(jq -r '.[0].owner' <<<"$output")" = "$RL_USER" ]
	run rl kill "$ID" KILL
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	for ((i = 0; i < 100; i++)); do
		[ "$(rl state "$ID" | jq -r .status)" = stopped ] && break
		sleep 0.05
	done
	[ "$(rl state "$ID" | jq -r .status)" = stopped ]
	run rl delete "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
	[ -z "$(rl list -q)" ]
}

@test "rootless: without XDG_RUNTIME_DIR or --root the error says what to do" {
	run -1 as_user "$RL_USER" "" run -b "$BUNDLE" "$ID"
	[[ $output == *'"/run/hrun"'*'running rootless: set XDG_RUNTIME_DIR or give --root'* ]] || { echo "$output"; false; }
	# --root alone is enough.
	run as_user "$RL_USER" "" --root "$RL_BASE/xdg/hrun" run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(probe_value uid_map)" = "0 $RL_UID 1" ]
}

@test "rootless: maps of several ranges are written with newuidmap/newgidmap from /etc/subuid and /etc/subgid" {
	command -v newuidmap >/dev/null || skip "needs newuidmap and newgidmap (package uidmap)"
	with_out_dir 1777
	update_config '.linux.uidMappings = [{"containerID": 0, "hostID": $u, "size": 1},
					     {"containerID": 1, "hostID": $f, "size": $n}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": $g, "size": 1},
					{"containerID": 1, "hostID": $f, "size": $n}]
		| .process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5]}' \
		--argjson u "$RL_UID" --argjson g "$RL_GID" --argjson f "$RL_SUB_FIRST" --argjson n "$RL_SUB_COUNT"
	set_args /bin/sh -c '/probe report uid gid groups uid_map gid_map setgroups; touch /out/u1000 && echo wrote'
	run rl run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(probe_value uid_map)" = "0 $RL_UID 1;1 $RL_SUB_FIRST $RL_SUB_COUNT" ]
	[ "$(probe_value gid_map)" = "0 $RL_GID 1;1 $RL_SUB_FIRST $RL_SUB_COUNT" ]
	[ "$(probe_value uid)" = 1000 ]
	# newgidmap leaves setgroups allowed: additionalGids were set.
	[ "$(probe_value setgroups)" = allow ]
	[ "$(probe_value groups)" = 5 ]
	[[ $output == *wrote* ]]
	# Container uid 1000 is subordinate id 999 on the host.
	[ "$(stat -c %u:%g "$OUT/u1000")" = "$((RL_SUB_FIRST + 999)):$((RL_SUB_FIRST + 999))" ]
}

@test "rootless: a range the user was not given is refused by newuidmap, clearly, and nothing is left" {
	command -v newuidmap >/dev/null || skip "needs newuidmap and newgidmap (package uidmap)"
	update_config '.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	run -1 rl run -b "$BUNDLE" "$ID"
	[[ $output == *"uid maps with newuidmap: newuidmap: uid range"*"not allowed"* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
	no_cgroup_of "$ID"
	[ -z "$(rl list -q)" ]
}

@test "rootless: no cgroup without delegation (state, pause, ps, update say so); limits are refused, nothing left" {
	sleeper
	rl_detached --debug run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ $output == *"rootless: the container gets no cgroup of its own"*"Permission denied"* ]] || { echo "$output"; false; }
	[ "$(jq -r .cgroupPath "$STATE/$ID/state.json")" = "" ]
	no_cgroup_of "$ID"
	run -1 rl pause "$ID"
	[[ $output == *"no cgroup to freeze"* ]] || { echo "$output"; false; }
	run -1 rl ps "$ID"
	[[ $output == *"has no cgroup of its own (rootless without cgroup delegation): ps needs one"* ]] || { echo "$output"; false; }
	run -1 rl update --memory 64m "$ID"
	[[ $output == *"has no cgroup of its own (rootless without cgroup delegation): update needs one"* ]] || { echo "$output"; false; }
	[ "$(jq -r .linux.resources.memory "$STATE/$ID/config.json")" = null ]
	rl delete --force "$ID"
	assert_no_leftovers "$ID"

	# Limits nobody would enforce: refused, as runc does.
	update_config '.linux.resources.memory.limit = 67108864'
	run -1 rl run -b "$BUNDLE" "$ID"
	[[ $output == *"linux.resources.memory: rootless without cgroup delegation, no limit can be set"* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
	no_cgroup_of "$ID"

	# --rootless false: a cgroup it cannot make is an error.
	update_config 'del(.linux.resources)'
	run -1 rl --rootless false run -b "$BUNDLE" "$ID"
	[[ $output == *'mkdir cgroup'*'Permission denied'* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

# `in_cgroup DIR CMD...`: CMD with the shell moved first into the unified
# cgroup DIR: moving a process needs write access to the cgroup.procs of
# the common ancestor of where it is and where it goes.
in_cgroup() {
	echo "$BASHPID" >"$1/cgroup.procs"
	"${@:2}"
}

@test "rootless with a delegated cgroup: device rules are skipped with a warning, the container runs in its cgroup" {
	[ "$(cgroup_mode)" != legacy ] || skip "needs a cgroup v2 hierarchy; this host is cgroup v1 only"
	# What a delegated cgroup is (systemd's user@.service has one): a
	# directory the user owns, in every hierarchy.
	local parent=${HRUN_TEST_CGROUP_PARENT:-/hrun-test}/$ID d
	for d in $(cgroup_dirs "$parent"); do
		mkdir -p "$d"
		chown -R "$RL_UID:$RL_GID" "$d"
	done
	update_config '.linux.cgroupsPath = $p | .linux.resources.devices = [{"allow": false, "access": "rwm"}]' \
		--arg p "$parent/ctr"
	set_args /probe report cgroup
	run in_cgroup "$(cgroup_dir unified "$parent")" rl run -b "$BUNDLE" "$ID"
	rc=$status
	for d in $(cgroup_dirs "$parent"); do
		[ ! -d "$d/ctr" ] || { echo "$d/ctr left behind"; rc=1; }
		rmdir "$d"
	done
	[ "$rc" -eq 0 ] || { echo "$output"; false; }
	[[ $output == *"linux.resources.devices not enforced: rootless"* ]] || { echo "$output"; false; }
	# No cgroup namespace in the rootless template: the host's path.
	grep -qx "cgroup=0::$parent/ctr" <<<"$output" || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "rootless: another user can neither read nor touch the container, nor lend it a state root" {
	sleeper
	rl_detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	other() { as_user "$RL_OTHER" "$RL_BASE/xdg-other" "$@"; }
	run -1 other --root "$STATE" state "$ID"
	[[ $output == *"Permission denied"* ]] || { echo "$output"; false; }
	run -1 other --root "$STATE" kill "$ID" KILL
	run -1 other --root "$STATE" delete --force "$ID"
	run other list -q
	[ -z "$output" ]
	[ "$(rl state "$ID" | jq -r .status)" = running ]
	# A state root that someone else made is not used.
	mkdir -m 777 "$OUT"
	chown "$OTHER_UID:$OTHER_GID" "$OUT"
	run -1 rl --root "$OUT" run -b "$BUNDLE" other-root
	[[ $output == *"state root \"$OUT\" belongs to uid $OTHER_UID, not to this user (uid $RL_UID)"* ]] || { echo "$output"; false; }
	# Nor one open to others.
	chown "$RL_UID:$RL_GID" "$OUT"
	run -1 rl --root "$OUT" run -b "$BUNDLE" other-root
	[[ $output == *"state root \"$OUT\" is writable by other users"* ]] || { echo "$output"; false; }
	[ -z "$(ls -A "$OUT")" ]
}

@test "rootless: idmapped mounts are refused before anything exists" {
	with_out_dir
	update_config '.mounts[-1].options += ["idmap"]'
	run -1 rl run -b "$BUNDLE" "$ID"
	[[ $output == *'idmapped mounts need a privileged hrun; this one runs rootless'* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "rootless: oomScoreAdj is raised for init and exec'd processes; lowering it is refused" {
	update_config '.process.oomScoreAdj = 500'
	sleeper
	rl_detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	pid=$(rl state "$ID" | jq -r .pid)
	[ "$(cat "/proc/$pid/oom_score_adj")" = 500 ]
	run rl exec "$ID" /probe report oom_score_adj
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(probe_value oom_score_adj)" = 500 ]
	rl delete --force "$ID"
	update_config '.process.oomScoreAdj = -500'
	run -1 rl run -b "$BUNDLE" "$ID"
	[[ $output == *'process.oomScoreAdj -500'*'Permission denied'* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "rootless: a config's own seccomp profile is cached under \$XDG_RUNTIME_DIR/hrun-seccomp, the user's" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	set_args /bin/sh -c 'mkdir /tmp/x || echo refused'
	run rl run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ $output == *refused* ]]
	[ "$(stat -c %u:%a "$RL_BASE/xdg/hrun-seccomp")" = "$RL_UID:700" ]
	[ "$(find "$RL_BASE/xdg/hrun-seccomp" -type f -user "$RL_UID" | wc -l)" -ge 1 ]
	run rl --debug run -b "$BUNDLE" "$ID-2"
	[[ $output == *"seccomp: the cached filter $RL_BASE/xdg/hrun-seccomp/"* ]] || { echo "$output"; false; }
}

@test "attack: another user plants a state root with a container whose hooks run; our commands refuse it and run nothing" {
	other() { as_user "$RL_OTHER" "$RL_BASE/xdg-other" "$@"; }
	# The other user's own container state, made by hrun for them, with a
	# poststop hook that would run as whoever deletes it.
	chmod 777 "$BUNDLE" && chmod 666 "$BUNDLE/config.json"
	update_config '.root.path = $r | .process.args = ["/bin/true"]
		| .linux.uidMappings = [{"containerID": 0, "hostID": ($u | tonumber), "size": 1}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": ($g | tonumber), "size": 1}]
		| .hooks.poststop = [{"path": "/bin/sh", "args": ["sh", "-c", "id -u > \($m)"]}]' \
		--arg r "$RL_BASE/rootfs" --arg m "$OUT.marker" --arg u "$OTHER_UID" --arg g "$OTHER_GID"
	touch "$OUT.marker" && chmod 666 "$OUT.marker"
	# Through a file: the created init keeps its stdout open.
	status=0
	other create -b "$BUNDLE" planted >"$OUT.create" 2>&1 </dev/null || status=$?
	[ "$status" -eq 0 ] || { cat "$OUT.create"; false; }
	# The other user opens it all up for us to read.
	setpriv --reuid="$OTHER_UID" --regid="$OTHER_GID" --init-groups chmod -R a+rX "$RL_BASE/xdg-other"
	# Ours to use? The victim points XDG_RUNTIME_DIR (or --root) there.
	local planted_root=$RL_BASE/xdg-other/hrun
	for cmd in "delete --force planted" "kill planted KILL" "state planted" "list -q" "start planted"; do
		run as_user "$RL_USER" "$RL_BASE/xdg-other" $cmd
		[ "$status" -ne 0 ] || { echo "$cmd accepted: $output"; false; }
		[[ $output == *"state root \"$planted_root\" belongs to uid $OTHER_UID, not to this user (uid $RL_UID)"* ]] ||
			{ echo "$cmd: $output"; false; }
	done
	# No hook ran as the victim (nor at all).
	[ ! -s "$OUT.marker" ] || { echo "hook ran as uid $(cat "$OUT.marker")"; false; }
	run other delete --force planted
	[ "$status" -eq 0 ]
}
