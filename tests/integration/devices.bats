#!/usr/bin/env bats
# linux.resources.devices: which device nodes the container may open, seen
# from inside with the probe. The rules are enforced by the v1 devices
# cgroup (hybrid and legacy hosts) and by a BPF cgroup-device program on
# the container's unified cgroup (hybrid and unified hosts). Most tests
# hold in any mode; on a hybrid host one of them opens the v1 cgroup up
# from the host to see the program refuse alone, and the VM lane (pure
# cgroup v2) runs them all with the program as the only enforcer.
#
# The nodes tested are char 240:N, a major reserved for local use that no
# driver registers: the cgroup decides before any driver is looked up, so
# a refused open is EPERM, and one the cgroup lets through fails later
# with ENXIO (no such device). Nodes are made by mknod, so the containers
# have no user namespace.
# bats file_tags=vm

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=dev-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
	update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)
		| .linux.devices = [
			{"path": "/dev/exp0", "type": "c", "major": 240, "minor": 0, "fileMode": 438},
			{"path": "/dev/exp1", "type": "c", "major": 240, "minor": 1, "fileMode": 438}]'
}

teardown() {
	"$HRUN" --root "$STATE" delete --force "$ID" >/dev/null 2>&1 || true
	stop_bg
	rm -f "$OUT"
	teardown_bundle
}

# The config's rules: `rules JSON-ARRAY`.
rules() {
	update_config ".linux.resources.devices = $1"
}

# Open each PATH for reading (r:PATH) or writing (w:PATH) in one container
# run; the results, in order, on one line ("ok EPERM ENXIO").
opens() {
	local script= a
	for a in "$@"; do
		case $a in
		r:*) script+="/probe open ${a#r:};" ;;
		w:*) script+="/probe write ${a#w:} x;" ;;
		esac
	done
	set_args /bin/sh -c "$script"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	RESULTS=$(probe_values result | sed 's/^ERR://' | paste -sd' ')
}

# The same, in the running container $ID, through exec.
exec_opens() {
	local script= a
	for a in "$@"; do
		case $a in
		r:*) script+="/probe open ${a#r:};" ;;
		w:*) script+="/probe write ${a#w:} x;" ;;
		esac
	done
	run hrun exec "$ID" /bin/sh -c "$script"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	RESULTS=$(probe_values result | sed 's/^ERR://' | paste -sd' ')
}

start_sleeper() {
	sleeper 600
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

# The container's v1 devices cgroup, where the host has one.
v1_devices() {
	local d=/sys/fs/cgroup/devices$CGROUP
	[ "$(cgroup_mode)" != unified ] && [ -f "$d/devices.list" ] && echo "$d"
}

@test "the template's deny-all rule: the standard devices open, a node the config lists does not (EPERM)" {
	[ "$(jq -c .linux.resources.devices "$BUNDLE/config.json")" = '[{"allow":false,"access":"rwm"}]' ]
	opens r:/dev/null w:/dev/null r:/dev/zero r:/dev/full r:/dev/random r:/dev/urandom r:/dev/exp0 w:/dev/exp1
	[ "$RESULTS" = "ok ok ok ok ok ok EPERM EPERM" ] || { echo "$RESULTS"; false; }
}

@test "no rules at all: the same deny-all default plus the standard allowlist, at the default and compat levels" {
	update_config 'del(.linux.resources.devices)'
	opens r:/dev/null r:/dev/exp0
	[ "$RESULTS" = "ok EPERM" ] || { echo "$RESULTS"; false; }
	set_args /bin/sh -c '/probe open /dev/null; /probe open /dev/exp0'
	run hrun --hardening compat run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_values result | paste -sd' ')" = "ok ERR:EPERM" ] || { echo "$output"; false; }
}

@test "an allow rule lets through exactly its device and access (the driver's ENXIO shows the cgroup passed)" {
	rules '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 240, "minor": 0, "access": "r"}]'
	opens r:/dev/exp0 w:/dev/exp0 r:/dev/exp1 r:/dev/null
	[ "$RESULTS" = "ENXIO EPERM EPERM ok" ] || { echo "$RESULTS"; false; }
}

@test "a wildcard minor (absent or -1) covers the major; later rules override earlier ones" {
	rules '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 240, "access": "rw"},
		{"allow": false, "type": "c", "major": 240, "minor": -1, "access": "w"}]'
	opens r:/dev/exp0 w:/dev/exp0 r:/dev/exp1 w:/dev/exp1
	[ "$RESULTS" = "ENXIO EPERM ENXIO EPERM" ] || { echo "$RESULTS"; false; }
	# Allow all, then deny one: the last word on 240:1 is deny. (Not
	# "m": hrun makes the node inside the container's cgroup.)
	rules '[{"allow": true, "access": "rwm"}, {"allow": false, "type": "c", "major": 240, "minor": 1, "access": "rw"}]'
	opens r:/dev/exp0 r:/dev/exp1 w:/dev/exp1 r:/dev/null
	[ "$RESULTS" = "ENXIO EPERM EPERM ok" ] || { echo "$RESULTS"; false; }
}

@test "the standard allowlist comes after the config's rules: a config cannot deny /dev/null" {
	rules '[{"allow": true, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
	opens r:/dev/null w:/dev/null
	[ "$RESULTS" = "ok ok" ] || { echo "$RESULTS"; false; }
}

@test "mknod of any node is allowed (with CAP_MKNOD), opening the node is still refused" {
	update_config '.process.capabilities.bounding += ["CAP_MKNOD"] | .process.capabilities.effective += ["CAP_MKNOD"]
		| .process.capabilities.permitted += ["CAP_MKNOD"]'
	# In /dev: hrun's tmpfs there is not nodev, where the rootfs may be.
	set_args /bin/sh -c '/probe mknod /dev/node c 240 7; /probe open /dev/node'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_values result | paste -sd' ')" = "ok ERR:EPERM" ] || { echo "$output"; false; }
}

@test "cgroup v1: devices.list holds the rules, the standard allowlist after them" {
	[ "$(cgroup_mode)" != unified ] || skip "cgroup v1 only; this host is pure cgroup v2"
	[ -d /sys/fs/cgroup/devices ] || skip "no v1 devices hierarchy here"
	rules '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": 7, "access": "r"}]'
	start_sleeper
	d=$(v1_devices)
	[ -n "$d" ]
	run sort "$d/devices.list"
	[ "$output" = "$(printf '%s\n' 'b *:* m' 'b 7:* r' 'c *:* m' 'c 1:3 rwm' 'c 1:5 rwm' 'c 1:7 rwm' \
		'c 1:8 rwm' 'c 1:9 rwm' 'c 136:* rwm' 'c 5:0 rwm' 'c 5:2 rwm' | sort)" ] || { echo "$output"; false; }
}

@test "hybrid host: the BPF program alone refuses, with the v1 devices cgroup opened to everything" {
	[ "$(cgroup_mode)" = hybrid ] || skip "needs a hybrid host (on a pure v2 host every test here is the program alone)"
	[ -d /sys/fs/cgroup/devices ] || skip "no v1 devices hierarchy here"
	rules '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 240, "minor": 0, "access": "r"}]'
	start_sleeper
	# From the host, as an attacker who lifted the v1 rules would.
	echo a >"$(v1_devices)/devices.allow"
	[ "$(cat "$(v1_devices)/devices.list")" = "a *:* rwm" ]
	exec_opens r:/dev/exp0 w:/dev/exp0 r:/dev/exp1 r:/dev/null
	[ "$RESULTS" = "ENXIO EPERM EPERM ok" ] || { echo "$RESULTS"; false; }
}

@test "update --resources with devices replaces the rules live, in the cgroup and the saved config" {
	start_sleeper
	exec_opens r:/dev/exp0 r:/dev/exp1
	[ "$RESULTS" = "EPERM EPERM" ] || { echo "$RESULTS"; false; }
	echo '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 240, "minor": 0, "access": "rw"}]}' >"$BUNDLE/res.json"
	run hrun update -r "$BUNDLE/res.json" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	# Both enforcers changed: had the old program stayed attached (or
	# the v1 rules stayed), 240:0 would still be refused.
	exec_opens r:/dev/exp0 w:/dev/exp0 r:/dev/exp1
	[ "$RESULTS" = "ENXIO ENXIO EPERM" ] || { echo "$RESULTS"; false; }
	[ "$(jq -c '.linux.resources.devices[1]' "$STATE/$ID/config.json")" = \
		'{"allow":true,"type":"c","major":240,"minor":0,"access":"rw"}' ]
	if [ -n "$(v1_devices)" ]; then
		grep -qx 'c 240:0 rw' "$(v1_devices)/devices.list"
	fi
	# The v1 rewrite froze the container for a moment, and thawed it.
	[ "$(status_of "$ID")" = running ]
	# And back: what was allowed is refused again.
	echo '{"devices": [{"allow": false, "access": "rwm"}]}' >"$BUNDLE/res.json"
	run hrun update -r "$BUNDLE/res.json" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	exec_opens r:/dev/exp0 r:/dev/null
	[ "$RESULTS" = "EPERM ok" ] || { echo "$RESULTS"; false; }
	# An update without devices leaves the rules as they are.
	run hrun update --pids-limit 100 "$ID"
	[ "$status" -eq 0 ]
	exec_opens r:/dev/exp0
	[ "$RESULTS" = "EPERM" ]
}

@test "update of a paused container keeps it paused" {
	start_sleeper
	run hrun pause "$ID"
	[ "$status" -eq 0 ]
	echo '{"devices": [{"allow": true, "type": "c", "major": 240, "access": "r"}]}' >"$BUNDLE/res.json"
	run hrun update -r "$BUNDLE/res.json" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(status_of "$ID")" = paused ]
	run hrun resume "$ID"
	[ "$status" -eq 0 ]
	exec_opens r:/dev/exp1
	[ "$RESULTS" = "ENXIO" ]
}

@test "BPF: one hrun program on the container's unified cgroup, replaced (not added to) by update" {
	[ "$(cgroup_mode)" != legacy ] || skip "no unified hierarchy on this host"
	command -v bpftool >/dev/null || skip "needs bpftool (tests/install-deps.sh installs it)"
	start_sleeper
	unified=$(cgroup_dir unified)
	run bpftool cgroup show "$unified"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'cgroup_device.*hrun_devices' <<<"$output")" -eq 1 ] || { echo "$output"; false; }
	first=$(awk '/hrun_devices/ {print $1}' <<<"$output")
	echo '{"devices": [{"allow": true, "type": "c", "major": 240, "access": "r"}]}' >"$BUNDLE/res.json"
	run hrun update -r "$BUNDLE/res.json" "$ID"
	[ "$status" -eq 0 ]
	run bpftool cgroup show "$unified"
	[ "$(grep -c 'cgroup_device.*hrun_devices' <<<"$output")" -eq 1 ] || { echo "$output"; false; }
	[ "$(awk '/hrun_devices/ {print $1}' <<<"$output")" != "$first" ]
}

@test "bad rules are refused naming the JSON path, and nothing is left behind" {
	local bad msg
	while IFS='|' read -r bad msg; do
		rules "$bad"
		run hrun run -b "$BUNDLE" "$ID"
		[ "$status" -ne 0 ] || { echo "accepted: $bad"; false; }
		[[ $output == *"$msg"* ]] || { echo "$bad: $output"; false; }
		assert_no_leftovers "$ID"
	done <<'EOF'
[{"allow": true, "type": "x", "access": "r"}]|linux.resources.devices[0].type: unknown type "x"
[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "access": "rwz"}]|linux.resources.devices[1].access: invalid access "rwz"
[{"allow": true, "type": "c", "major": -2, "access": "r"}]|linux.resources.devices[0].major: -2 out of range
[{"allow": true, "type": "c", "major": 1, "minor": 4294967295, "access": "r"}]|linux.resources.devices[0].minor: 4294967295 out of range
[{"allow": true, "type": "c", "major": 1}]|linux.resources.devices[0].access: required
[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 240, "access": "rw"}, {"allow": false, "type": "c", "major": 240, "minor": 1, "access": "w"}]|linux.resources.devices[2]: "deny c 240:1 w" cannot take access away from part of the earlier "allow c 240:* rw"
EOF
}

@test "update with a bad rule changes nothing: the cgroup and the saved config keep the old rules" {
	rules '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 240, "minor": 0, "access": "r"}]'
	start_sleeper
	before=$(jq -c .linux.resources "$STATE/$ID/config.json")
	echo '{"pids": {"limit": 77}, "devices": [{"allow": true, "type": "c", "major": 240, "access": "r"}, {"allow": false, "type": "c", "major": 240, "minor": 0, "access": "r"}]}' >"$BUNDLE/res.json"
	run hrun update -r "$BUNDLE/res.json" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *'linux.resources.devices[1]: "deny c 240:0 r" cannot take access away'* ]] || { echo "$output"; false; }
	[ "$(jq -c .linux.resources "$STATE/$ID/config.json")" = "$before" ]
	exec_opens r:/dev/exp0 r:/dev/exp1
	[ "$RESULTS" = "ENXIO EPERM" ] || { echo "$RESULTS"; false; }
	if [ "$(cgroup_mode)" = unified ] || [ -d /sys/fs/cgroup/pids ]; then
		[ "$(cat "$(cgroup_dir pids)/pids.max")" != 77 ]
	fi
}
