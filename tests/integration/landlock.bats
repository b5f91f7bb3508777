#!/usr/bin/env bats
# Landlock (docs/landlock.md): the io.hrun.landlock annotation and the
# host's landlock_policy confine the container's processes to the trees
# and TCP ports they list. Checked from inside with the probe: a denied
# access is EACCES. Every test passes its own --host-config, so the
# machine's /etc/hrun/hrun.conf plays no part.

load helpers

setup() {
	setup_bundle
	ID=landlock-$BATS_TEST_NUMBER
	CONF=$BUNDLE.conf
	HOST_POLICY=$BUNDLE.landlock.json
	: >"$CONF"
	# The container's root (host uid 100000 in the template's user
	# namespace) owns its rootfs, which is writable: only Landlock stands
	# between it and /etc.
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.root.readonly = false'
	ABI=$("$HRUN" features | jq -r '.annotations["io.hrun.landlock.abi"]')
}

teardown() {
	delete_all
	rm -f "$CONF" "$HOST_POLICY"
	teardown_bundle
}

require_landlock_abi() {
	[ "${ABI:-0}" -ge "$1" ] ||
		skip "needs Landlock ABI $1, this kernel has ${ABI:-none}"
}

# The annotation's policy, given as JSON text.
annotate() {
	update_config '.annotations["io.hrun.landlock"] = $p' --arg p "$1"
}

host_policy() {
	printf '%s\n' "$1" >"$HOST_POLICY"
	echo "landlock_policy = $HOST_POLICY" >>"$CONF"
}

# Run a shell in the container; the probe's results come one per line.
sh_run() {
	set_args /bin/sh -c "$1"
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
}

# The Nth result= line of $output (1-based).
result_n() {
	probe_values result | sed -n "$1p"
}

refused() {
	[ "$status" -ne 0 ] || { echo "accepted: $output"; return 1; }
	[[ "$output" == *"$1"* ]] || { echo "expected \"$1\" in: $output"; return 1; }
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE" 2>/dev/null)" ]
}

# What the container's shell and probe need to run at all.
RUNS='"/bin", "/probe"'

@test "landlock: a write outside the write trees is denied, inside allowed" {
	require_landlock_abi 3
	annotate "{\"read\": [$RUNS, \"/etc\"], \"write\": [\"/tmp\"]}"
	sh_run '/probe write /etc/landlock-x; /probe write /landlock-y; /probe write /tmp/landlock-z; /probe read /tmp/landlock-z'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ERR:EACCES ]
	[ "$(result_n 2)" = ERR:EACCES ]
	[ "$(result_n 3)" = ok ]
	[ "$(result_n 4)" = ok ]
	[ ! -e "$BUNDLE/rootfs/etc/landlock-x" ] && [ ! -e "$BUNDLE/rootfs/landlock-y" ]
}

@test "landlock: a read tree is readable, not writable; unlisted trees are not readable" {
	require_landlock_abi 3
	annotate "{\"read\": [$RUNS, \"/etc\"], \"write\": [\"/tmp\"]}"
	echo secret >"$BUNDLE/rootfs/var/landlock-secret"
	sh_run '/probe read /etc/passwd; /probe write /etc/passwd; /probe mkdir /etc/landlock-d; /probe read /var/landlock-secret'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ok ]
	[ "$(result_n 2)" = ERR:EACCES ]
	[ "$(result_n 3)" = ERR:EACCES ]
	[ "$(result_n 4)" = ERR:EACCES ]
	grep -q '^root:' "$BUNDLE/rootfs/etc/passwd"
}

@test "landlock: the default devices stay usable, the rest of /dev does not" {
	require_landlock_abi 3
	annotate "{\"read\": [$RUNS]}"
	sh_run '/probe write /dev/null; /probe open /dev/urandom; /probe write /dev/shm/landlock-x'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ok ]
	[ "$(result_n 2)" = ok ]
	[ "$(result_n 3)" = ERR:EACCES ]
}

@test "landlock: a program outside the read trees cannot be executed" {
	require_landlock_abi 3
	annotate '{"read": ["/probe"]}'
	set_args /bin/sh -c true
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'exec "/bin/sh": Permission denied'* ]]
	assert_no_leftovers "$ID"
}

@test "landlock: TCP bind and connect only to the listed ports" {
	require_landlock_abi 4
	annotate '{"tcpBind": [8080], "tcpConnect": [8443]}'
	sh_run '/probe tcp bind 8080; /probe tcp bind 8081; /probe tcp connect 8443; /probe tcp connect 8444'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ok ]
	[ "$(result_n 2)" = ERR:EACCES ]
	# Allowed: it reaches the (closed) port.
	[ "$(result_n 3)" = ERR:ECONNREFUSED ]
	[ "$(result_n 4)" = ERR:EACCES ]
}

@test "landlock: a policy without TCP keys leaves TCP alone" {
	require_landlock_abi 4
	annotate "{\"read\": [$RUNS]}"
	sh_run '/probe tcp bind 8081; /probe tcp connect 8444'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ok ]
	[ "$(result_n 2)" = ERR:ECONNREFUSED ]
}

@test "landlock: the policy implies no_new_privs" {
	require_landlock_abi 3
	update_config 'del(.process.noNewPrivileges)'
	annotate "{\"read\": [$RUNS, \"/proc\"]}"
	set_args /probe report no_new_privs
	run hrun --host-config "$CONF" --hardening=compat run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value no_new_privs)" = 1 ]
}

@test "landlock: the host policy confines a container without an annotation" {
	require_landlock_abi 3
	host_policy "{\"read\": [$RUNS, \"/etc\", \"/not-in-this-image\"], \"write\": [\"/tmp\"]}"
	sh_run '/probe write /etc/landlock-x; /probe write /tmp/landlock-z'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ERR:EACCES ]
	[ "$(result_n 2)" = ok ]
}

@test "landlock: the annotation can narrow the host policy, never widen it" {
	require_landlock_abi 3
	host_policy "{\"read\": [$RUNS, \"/etc\"], \"write\": [\"/tmp\", \"/var\"]}"
	# Asks to write /etc (the host only lets it read) and leaves /var out.
	annotate "{\"read\": [$RUNS], \"write\": [\"/etc\", \"/tmp\"]}"
	sh_run '/probe write /etc/landlock-x; /probe write /var/landlock-v; /probe write /tmp/landlock-z'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ERR:EACCES ]
	[ "$(result_n 2)" = ERR:EACCES ]
	[ "$(result_n 3)" = ok ]
	[ ! -e "$BUNDLE/rootfs/etc/landlock-x" ] && [ ! -e "$BUNDLE/rootfs/var/landlock-v" ]
}

@test "landlock: exec'd processes are confined by the same layers" {
	require_landlock_abi 3
	# /etc is denied by the host's layer only, /var by the annotation's.
	host_policy "{\"read\": [$RUNS, \"/etc\"], \"write\": [\"/tmp\", \"/var\"]}"
	annotate "{\"read\": [$RUNS], \"write\": [\"/etc\", \"/tmp\"]}"
	sleeper 60
	detached --host-config "$CONF" run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	# The host layer was saved at create: changing the host's file
	# afterwards does not change what the container gets.
	rm -f "$HOST_POLICY" "$CONF"
	run hrun exec "$ID" /bin/sh -c '/probe write /etc/landlock-x; /probe write /var/landlock-v; /probe write /tmp/landlock-z'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ERR:EACCES ]
	[ "$(result_n 2)" = ERR:EACCES ]
	[ "$(result_n 3)" = ok ]
	hrun kill "$ID" KILL
}

@test "landlock: bad policies are refused before anything exists" {
	local bad
	for bad in '{"read": ["/bin"' '["/bin"]' '{"read": ["/bin"], "writ": ["/tmp"]}' \
		'{"read": ["bin"]}' '{"write": ["/tmp/../etc"]}' '{"tcpBind": [65536]}' \
		'{"tcpConnect": ["443"]}' '{}' '{"bestEffort": true}' '{"read": "/bin"}'; do
		annotate "$bad"
		set_args /probe
		run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
		refused "annotation io.hrun.landlock"
	done
	annotate '{"read": ["bin"]}'
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	refused 'read[0]: expected an absolute path'
	annotate '{"read": ["/bin"], "writ": ["/tmp"]}'
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	refused 'unknown key "writ"'
}

@test "landlock: noNewPrivileges false is refused with a policy" {
	annotate "{\"read\": [$RUNS]}"
	update_config '.process.noNewPrivileges = false'
	set_args /probe
	run hrun --host-config "$CONF" --hardening=compat run -b "$BUNDLE" "$ID"
	refused 'process.noNewPrivileges is false, but Landlock confines a process only with no_new_privs'
}

@test "landlock: a path missing from the image fails the annotation's policy, nothing left" {
	require_landlock_abi 3
	annotate "{\"read\": [$RUNS, \"/not-in-this-image\"]}"
	set_args /probe
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	refused 'annotation io.hrun.landlock: read: open "/not-in-this-image" in the container rootfs: No such file or directory'
}

@test "landlock: a bad or missing host policy file is refused" {
	host_policy '{"read": ["/bin"], "tcpbind": [80]}'
	set_args /probe
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	refused "$HOST_POLICY: unknown key \"tcpbind\""
	rm -f "$HOST_POLICY"
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	refused "landlock_policy: open \"$HOST_POLICY\": No such file or directory"
	echo "landlock_policy = relative.json" >"$CONF"
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	refused "landlock_policy: expected an absolute path"
}

# bats test_tags=vm
@test "landlock: TCP keys without ABI 4 are refused unless bestEffort" {
	[ "${ABI:-0}" -ge 1 ] || skip "needs Landlock"
	[ "$ABI" -lt 4 ] || skip "this kernel has Landlock ABI $ABI, which enforces TCP keys (the VM lane's 6.1 has ABI 2)"
	annotate '{"tcpConnect": [443]}'
	set_args /probe
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	refused "Landlock ABI $ABI cannot restrict tcpBind/tcpConnect (needs ABI 4)"
	annotate '{"tcpConnect": [443], "bestEffort": true}'
	set_args /probe tcp connect 444
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tcpBind/tcpConnect (needs ABI 4) not restricted (bestEffort)"* ]]
	[ "$(probe_value result)" = ERR:ECONNREFUSED ]
}

# bats test_tags=vm
@test "landlock: a filesystem policy without ABI 3 is refused unless bestEffort, which still denies writes" {
	[ "${ABI:-0}" -ge 1 ] || skip "needs Landlock"
	[ "$ABI" -lt 3 ] || skip "this kernel has Landlock ABI $ABI, which enforces filesystem policies (the VM lane's 6.1 has ABI 2)"
	annotate "{\"read\": [$RUNS, \"/etc\"], \"write\": [\"/tmp\"]}"
	set_args /probe
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	refused "cannot restrict truncate in read-only trees (needs ABI 3)"
	annotate "{\"read\": [$RUNS, \"/etc\"], \"write\": [\"/tmp\"], \"bestEffort\": true}"
	sh_run '/probe write /etc/landlock-x; /probe write /tmp/landlock-z'
	[ "$status" -eq 0 ]
	[[ "$output" == *"truncate in read-only trees (needs ABI 3) not restricted (bestEffort)"* ]]
	[ "$(result_n 1)" = ERR:EACCES ]
	[ "$(result_n 2)" = ok ]
}

# bats test_tags=vm
@test "landlock: hrun features reports the kernel's Landlock ABI" {
	run "$HRUN" features
	[ "$status" -eq 0 ]
	got=$(jq -r '.annotations["io.hrun.landlock.abi"]' <<<"$output")
	[[ "$got" =~ ^[0-9]+$ ]]
	# The probe asks the kernel itself.
	set_args /probe report landlock_abi
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	want=$(probe_value landlock_abi)
	[[ "$want" == ERR:* ]] && want=0
	[ "$got" = "$want" ]
}
