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
	stop_bg
	rm -f "$CONF" "$HOST_POLICY" "$BUNDLE.agent.sock" "$BUNDLE.agent.log"
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

@test "landlock: the container's terminal, /dev/tty and /dev/ptmx stay usable" {
	require_landlock_abi 3
	annotate "{\"read\": [$RUNS]}"
	update_config '.process.terminal = true'
	# In the foreground hrun proxies the pty: the results come through it.
	sh_run '/probe write /dev/console ""; /probe write /dev/tty ""; /probe open /dev/ptmx; /probe open /dev/pts/0; /probe open /etc/passwd'
	[ "$status" -eq 0 ]
	output=$(tr -d '\r' <<<"$output")
	[ "$(result_n 1)" = ok ]
	[ "$(result_n 2)" = ok ]
	[ "$(result_n 3)" = ok ]
	[ "$(result_n 4)" = ok ]
	[ "$(result_n 5)" = ERR:EACCES ]
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

# Attacks on the host's layer (docs/landlock.md, "Paths follow no
# symlinks"): the policy must not be turned onto other inodes by what the
# image or the config puts at the paths it names.

@test "landlock: an image whose /tmp is a symlink to / gets no write tree from the host's write:[\"/tmp\"]" {
	require_landlock_abi 3
	update_config 'del(.mounts[] | select(.destination == "/tmp"))'
	rm -rf "$BUNDLE/rootfs/tmp"
	ln -s / "$BUNDLE/rootfs/tmp"
	host_policy '{"read": ["/"], "write": ["/tmp", "/run"]}'
	sh_run '/probe write /etc/landlock-x; /probe write /landlock-y; /probe write /tmp/landlock-t; /probe write /run/landlock-z'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ERR:EACCES ]
	[ "$(result_n 2)" = ERR:EACCES ]
	[ "$(result_n 3)" = ERR:EACCES ]
	[ "$(result_n 4)" = ok ]
	[[ "$output" == *"warning: $HOST_POLICY: write: \"/tmp\" is a symlink or lies below one in the container; skipped (policy paths follow no symlinks)"* ]]
	[ ! -e "$BUNDLE/rootfs/etc/landlock-x" ] && [ ! -e "$BUNDLE/rootfs/landlock-y" ]
}

@test "landlock: an annotation path through a symlink is refused, nothing left" {
	require_landlock_abi 3
	update_config 'del(.mounts[] | select(.destination == "/tmp"))'
	rm -rf "$BUNDLE/rootfs/tmp"
	ln -s / "$BUNDLE/rootfs/tmp"
	annotate "{\"read\": [$RUNS], \"write\": [\"/tmp/etc\"]}"
	set_args /probe
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	refused 'annotation io.hrun.landlock: write: "/tmp/etc" is a symlink or lies below one in the container; name the real path (policy paths follow no symlinks)'
}

# The container appends to a file of its image outside every tree, and
# reads one: both must stay denied.
escape_via_dev() {
	echo orig >"$BUNDLE/rootfs/etc/landlock-target"
	echo secret >"$BUNDLE/rootfs/var/landlock-secret"
	chown 100000:100000 "$BUNDLE/rootfs/etc/landlock-target" "$BUNDLE/rootfs/var/landlock-secret"
	host_policy "{\"read\": [$RUNS], \"write\": [\"/tmp\"]}"
	sh_run 'echo pwned >>/etc/landlock-target; /probe read /var/landlock-secret; /probe write /dev/null'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ERR:EACCES ]
	[ "$(result_n 2)" = ok ]
	[ "$(cat "$BUNDLE/rootfs/etc/landlock-target")" = orig ]
}

@test "landlock: /dev/pts and /dev/console the image points at its root are not default devices" {
	require_landlock_abi 3
	# No /dev tmpfs and no devpts: /dev is the image's own directory,
	# where pts and console lead to the root.
	update_config '.mounts |= map(select(.destination != "/dev/pts")
		| if .destination == "/dev" then {"destination": "/dev", "type": "bind", "source": $src, "options": ["rbind"]} else . end)' \
		--arg src "$BUNDLE/rootfs/dev"
	ln -s .. "$BUNDLE/rootfs/dev/pts"
	ln -s / "$BUNDLE/rootfs/dev/console"
	escape_via_dev
}

@test "landlock: directories the config mounts at /dev/console and /dev/pts are not default devices" {
	require_landlock_abi 3
	update_config '.mounts |= map(select(.destination != "/dev/pts"))
		| .mounts += [{"destination": "/dev/console", "type": "bind", "source": $etc, "options": ["rbind"]},
			{"destination": "/dev/pts", "type": "bind", "source": $var, "options": ["rbind"]}]' \
		--arg etc "$BUNDLE/rootfs/etc" --arg var "$BUNDLE/rootfs/var"
	escape_via_dev
}

# A filter that answers landlock_restrict_self with success, without
# making the call, must come too late to matter: Landlock goes first.
@test "landlock: a notifying seccomp filter that fakes landlock_restrict_self leaves the process confined" {
	require_landlock_abi 3
	require_seccomp_agent
	local sock=$BUNDLE.agent.sock log=$BUNDLE.agent.log
	"$HRUN_TEST_SECCOMP_AGENT" "$sock" "$log" continue 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for_line "$log" '^listening$'
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": $sock, "syscalls": [
		{"names": ["landlock_restrict_self"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0},
		{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}' --arg sock "$sock"
	host_policy "{\"read\": [$RUNS, \"/etc\"], \"write\": [\"/tmp\"]}"
	sh_run '/probe write /etc/landlock-x; /probe write /tmp/landlock-z; /probe mkdir /tmp/landlock-d'
	[ "$status" -eq 0 ]
	[ "$(result_n 1)" = ERR:EACCES ]
	[ "$(result_n 2)" = ok ]
	# The filter was the notifying one: the agent let the mkdir through.
	[ "$(result_n 3)" = ok ]
	grep -q '^notify pid=[0-9]* nr=[0-9]* answer=continue$' "$log"
	[ ! -e "$BUNDLE/rootfs/etc/landlock-x" ]
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
