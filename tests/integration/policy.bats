#!/usr/bin/env bats
# Hardening levels: what compat leaves alone, what default fills in, what
# strict enforces and refuses (naming the rule), and who may choose the
# level: the host config and the flag, the annotation only upwards unless
# the host allows more. Every test passes its own --host-config, so the
# machine's /etc/hrun/hrun.conf plays no part.

load helpers

setup() {
	setup_bundle
	ID=policy-$BATS_TEST_NUMBER
	CONF=$BUNDLE.conf
	: >"$CONF"
}

teardown() {
	# Some tests point CONF elsewhere; the file made here goes anyway.
	rm -f "$BUNDLE.conf"
	teardown_bundle
}

# `hrun_at [GLOBAL FLAGS...] -- PROBE ARGS...`: run the probe with the
# test's host config and the given global flags.
hrun_at() {
	local flags=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		flags+=("$1")
		shift
	done
	shift
	set_args /probe "$@"
	run hrun --host-config "$CONF" "${flags[@]}" run -b "$BUNDLE" "$ID"
}

# The config's fields for the defaults, removed so that policy decides.
config_silent() {
	update_config 'del(.process.noNewPrivileges, .process.capabilities, .linux.maskedPaths, .linux.readonlyPaths)'
}

# The container's root may write to its rootfs only if it owns it.
rootfs_owned_by_container_root() {
	chown 100000:100000 "$BUNDLE/rootfs"
	update_config '.root.readonly = false'
}

# The config must be refused naming RULE; nothing is left behind.
refused_by() {
	[ "$status" -ne 0 ] || { echo "accepted: $output"; return 1; }
	[[ "$output" == *"hardening level strict refuses this config: rule $1 "* ]] ||
		{ echo "expected rule $1: $output"; return 1; }
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE" 2>/dev/null)" ]
}

@test "compat leaves an unset noNewPrivileges unset" {
	config_silent
	hrun_at --hardening=compat -- report no_new_privs
	[ "$status" -eq 0 ]
	[ "$(probe_value no_new_privs)" = 0 ]
}

@test "default fills in noNewPrivileges when the config is silent" {
	config_silent
	hrun_at --hardening=default -- report no_new_privs
	[ "$status" -eq 0 ]
	[ "$(probe_value no_new_privs)" = 1 ]
}

@test "compat adds no masked or read-only paths" {
	config_silent
	# /proc/keys lists at least the container's own session keyring.
	hrun_at --hardening=compat -- read /proc/keys
	[ "$(probe_value result)" = ok ]
	[ -n "$(probe_value content)" ]
	# Its own network namespace's sysctls are the container root's to write.
	hrun_at --hardening=compat -- write /proc/sys/net/ipv4/ip_forward 1
	[ "$(probe_value result)" = ok ]
	hrun_at --hardening=compat -- report mount
	if probe_values mount | grep -E '^/(proc|sys)/'; then
		echo "compat masked or remounted a /proc or /sys path"
		return 1
	fi
}

@test "default fills in masked and read-only paths when the config is silent" {
	config_silent
	hrun_at --hardening=default -- read /proc/keys
	[ "$(probe_value result)" = ok ]
	[ -z "$(probe_value content)" ]
	hrun_at --hardening=default -- write /proc/sys/net/ipv4/ip_forward 1
	[ "$(probe_value result)" = ERR:EROFS ]
	hrun_at --hardening=default -- report mount
	probe_values mount | grep -Eq '^/proc/keys '
	probe_values mount | grep -Eq '^/proc/sys proc ro,'
}

@test "default gives the minimal capability set when process.capabilities is absent" {
	config_silent
	hrun_at --hardening=default -- report cap_bnd_names cap_eff_names cap_prm_names cap_inh cap_amb
	[ "$status" -eq 0 ]
	for set in bnd eff prm; do
		[ "$(sorted "$(probe_value "cap_${set}_names")")" = "$MINIMAL_CAPS" ] ||
			{ echo "cap_$set: $(probe_value "cap_${set}_names")"; return 1; }
	done
	[ "$(probe_value cap_inh)" = 0000000000000000 ]
	[ "$(probe_value cap_amb)" = 0000000000000000 ]
}

@test "compat keeps every capability when process.capabilities is absent" {
	config_silent
	hrun_at --hardening=compat -- report cap_bnd_names
	[ "$status" -eq 0 ]
	[[ ",$(probe_value cap_bnd_names)," == *,CAP_SYS_ADMIN,* ]]
}

@test "the default level is the built-in one when the host config is missing" {
	config_silent
	CONF=$BUNDLE.no-such-conf
	hrun_at -- report no_new_privs
	[ "$status" -eq 0 ]
	[ "$(probe_value no_new_privs)" = 1 ]
}

@test "strict makes the root read-only even when root.readonly is false" {
	rootfs_owned_by_container_root
	# At default the container's root can write there...
	hrun_at --hardening=default -- write /x
	[ "$(probe_value result)" = ok ]
	rm -f "$BUNDLE/rootfs/x"
	# ...strict makes it read-only.
	hrun_at --hardening=strict -- write /y
	[ "$status" -eq 0 ]
	[ "$(probe_value result)" = ERR:EROFS ]
	[ ! -e "$BUNDLE/rootfs/y" ]
}

# bats test_tags=vm
@test "strict accepts the spec template" {
	hrun_at --hardening=strict -- report no_new_privs
	[ "$status" -eq 0 ]
	[ "$(probe_value no_new_privs)" = 1 ]
}

@test "strict refuses CAP_SYS_ADMIN (HR-CAPS)" {
	update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"]'
	hrun_at --hardening=strict -- report
	refused_by HR-CAPS
	[[ "$output" == *"CAP_SYS_ADMIN"* ]]
}

@test "strict refuses a config without capabilities (HR-CAPS)" {
	update_config 'del(.process.capabilities)'
	# Strict fills the minimal set first, so this one passes...
	hrun_at --hardening=strict -- report cap_bnd_names
	[ "$status" -eq 0 ]
	[ "$(sorted "$(probe_value cap_bnd_names)")" = "$MINIMAL_CAPS" ]
	# ...but an ambient CAP_SYS_ADMIN does not.
	update_config '.process.capabilities = {"bounding": ["CAP_SYS_ADMIN"], "permitted": ["CAP_SYS_ADMIN"],
		"inheritable": ["CAP_SYS_ADMIN"], "ambient": ["CAP_SYS_ADMIN"]}'
	hrun_at --hardening=strict -- report
	refused_by HR-CAPS
}

@test "strict refuses a missing network namespace (HR-HOSTNS)" {
	update_config '.linux.namespaces |= map(select(.type != "network"))'
	hrun_at --hardening=strict -- report
	refused_by HR-HOSTNS
	[[ "$output" == *"no network namespace"* ]]
	# Default runs it.
	hrun_at --hardening=default -- report ns_net
	[ "$status" -eq 0 ]
	[ "$(probe_value ns_net)" = "$(readlink /proc/$$/ns/net)" ]
}

@test "strict refuses a bind mount of the host's /etc (HR-HOSTMOUNT)" {
	mkdir "$BUNDLE/rootfs/mnt"
	update_config '.mounts += [{"destination": "/mnt", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]}]'
	hrun_at --hardening=strict -- report
	refused_by HR-HOSTMOUNT
	[[ "$output" == *'"/etc"'* ]]
	# A subdirectory of it too.
	update_config '.mounts[-1].source = "/etc/ssl"'
	hrun_at --hardening=strict -- report
	refused_by HR-HOSTMOUNT
}

@test "strict refuses a bind of a directory holding a sensitive one, by inode: /run, via a symlink, as /var/run (HR-HOSTMOUNT)" {
	mkdir "$BUNDLE/rootfs/mnt"
	ln -s /run "$BUNDLE/run-link"
	local src
	for src in /run "$BUNDLE/run-link" /var/run /run/../run; do
		update_config '.mounts = [.mounts[] | select(.destination != "/mnt")] + [{"destination": "/mnt", "type": "bind", "source": $s, "options": ["rbind", "rw"]}]' --arg s "$src"
		hrun_at --hardening=strict -- report
		refused_by HR-HOSTMOUNT
	done
}

@test "strict accepts a bind mount of a dedicated directory" {
	mkdir "$BUNDLE/rootfs/mnt" "$BUNDLE/data"
	update_config ".mounts += [{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$BUNDLE/data\", \"options\": [\"bind\", \"ro\"]}]"
	hrun_at --hardening=strict -- report pid
	[ "$status" -eq 0 ]
}

@test "strict refuses rshared rootfsPropagation (HR-PROPAGATION)" {
	update_config '.linux.rootfsPropagation = "rshared"'
	hrun_at --hardening=strict -- report
	refused_by HR-PROPAGATION
	[[ "$output" == *"rshared"* ]]
}

@test "the io.hrun.hardening annotation raises default to strict" {
	update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"]'
	# Without the annotation, default runs it.
	hrun_at -- report cap_bnd_names
	[ "$status" -eq 0 ]
	update_config '.annotations["io.hrun.hardening"] = "strict"'
	hrun_at -- report
	refused_by HR-CAPS
}

@test "the annotation cannot lower strict to compat" {
	update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .annotations["io.hrun.hardening"] = "compat"'
	hrun_at --hardening=strict -- report
	refused_by HR-CAPS
	[[ "$output" == *"annotation io.hrun.hardening=compat ignored"* ]]
	# Nor the host config's strict.
	echo "hardening = strict" >"$CONF"
	hrun_at -- report
	refused_by HR-CAPS
}

@test "the annotation lowers strict to compat when the host config allows it" {
	config_silent
	update_config '.annotations["io.hrun.hardening"] = "compat"'
	printf '# test host config\nhardening = strict\nallow_annotation_lowering = true\n' >"$CONF"
	hrun_at -- report no_new_privs cap_bnd_names
	[ "$status" -eq 0 ]
	# compat: nothing filled in.
	[ "$(probe_value no_new_privs)" = 0 ]
	[[ ",$(probe_value cap_bnd_names)," == *,CAP_SYS_ADMIN,* ]]
}

@test "an unknown level in the annotation is refused" {
	update_config '.annotations["io.hrun.hardening"] = "lax"'
	hrun_at -- report
	[ "$status" -ne 0 ]
	[[ "$output" == *'annotation io.hrun.hardening: unknown level "lax"'* ]]
	assert_no_leftovers "$ID"
}

@test "a host config with hardening = strict applies" {
	update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"]'
	echo "hardening = default" >"$CONF"
	hrun_at -- report pid
	[ "$status" -eq 0 ]
	echo "  hardening   =   strict   # comment" >"$CONF"
	hrun_at -- report
	refused_by HR-CAPS
}

@test "a host config with hardening = compat applies" {
	config_silent
	echo "hardening = compat" >"$CONF"
	hrun_at -- report no_new_privs
	[ "$status" -eq 0 ]
	[ "$(probe_value no_new_privs)" = 0 ]
}

@test "the --hardening flag overrides the host config" {
	config_silent
	echo "hardening = compat" >"$CONF"
	hrun_at --hardening=default -- report no_new_privs
	[ "$status" -eq 0 ]
	[ "$(probe_value no_new_privs)" = 1 ]
}

@test "a malformed host config is refused with its file and line" {
	printf 'hardening = default\nhardening strict\n' >"$CONF"
	hrun_at -- report
	[ "$status" -ne 0 ]
	[[ "$output" == *"$CONF:2: expected KEY = VALUE"* ]]
	assert_no_leftovers "$ID"

	echo "hardening = lax" >"$CONF"
	hrun_at -- report
	[ "$status" -ne 0 ]
	[[ "$output" == *"$CONF:1: hardening: unknown level \"lax\""* ]]

	echo "no_such_key = 1" >"$CONF"
	hrun_at -- report
	[ "$status" -ne 0 ]
	[[ "$output" == *"$CONF:1: unknown key \"no_such_key\""* ]]

	echo "allow_annotation_lowering = perhaps" >"$CONF"
	hrun_at -- report
	[ "$status" -ne 0 ]
	[[ "$output" == *"$CONF:1: allow_annotation_lowering: expected true or false"* ]]
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE" 2>/dev/null)" ]
}

@test "an unreadable host config is an error, not the defaults" {
	mkdir "$BUNDLE/conf-dir"
	CONF=$BUNDLE/conf-dir
	hrun_at -- report
	[ "$status" -ne 0 ]
	[[ "$output" == *"$CONF"* ]]
	assert_no_leftovers "$ID"
}
