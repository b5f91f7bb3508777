#!/usr/bin/env bats
# AppArmor: process.apparmorProfile, hrun-default at the default level, and
# what a host without AppArmor does with a requested profile. The tests
# that need AppArmor run in the VM lane (tests/vm), which has it; the lane
# runs every test of this file, and the few that need a host *without*
# AppArmor skip there, saying so.
# bats file_tags=vm

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=apparmor-$BATS_TEST_NUMBER
	CONF=$BUNDLE.conf
	: >"$CONF"
}

teardown() {
	local id
	for id in $("$HRUN" --root "$STATE" list -q 2>/dev/null); do
		"$HRUN" --root "$STATE" delete --force "$id" >/dev/null 2>&1
	done
	# Without a bundle (setup failed) there is nothing of ours to remove.
	[ -z "${BUNDLE:-}" ] || rm -f "$BUNDLE.conf" "$BUNDLE.aa"
	teardown_bundle
}

apparmor_on() {
	[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && [ -d /sys/kernel/security/apparmor ]
}

# Nothing of the refused container exists: state, cgroup, process.
refused_cleanly() {
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE" 2>/dev/null)" ] || { echo "state left: $(ls -A "$STATE")"; return 1; }
	! pgrep -f "$BUNDLE" >/dev/null || { echo "process left: $(pgrep -af "$BUNDLE")"; return 1; }
}

# A profile of our own for the tests: everything allowed but writing
# /tmp/deny-*. Loaded (or replaced) in the kernel with apparmor_parser.
load_test_profile() {
	cat >"$BUNDLE.aa" <<-'EOF'
		abi <abi/3.0>,
		profile hrun-test-deny flags=(attach_disconnected,mediate_deleted) {
		  file,
		  capability,
		  network,
		  unix,
		  signal,
		  ptrace,
		  deny /tmp/deny-* wl,
		}
	EOF
	apparmor_parser -r "$BUNDLE.aa"
}

@test "AppArmor: compat with no apparmorProfile in the config runs the process unconfined" {
	require_apparmor
	update_config 'del(.process.apparmorProfile)'
	set_args /probe report lsm_current lsm_apparmor_current
	run hrun --host-config "$CONF" --hardening=compat run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	# The label is readable inside (AppArmor is live there), and it is
	# the one a process gets when nobody chose a profile.
	[ "$(probe_value lsm_apparmor_current)" = unconfined ]
	[ "$(probe_value lsm_current)" = unconfined ]
	assert_no_leftovers "$ID"
}

@test "AppArmor: a requested profile on a host without AppArmor fails create, leaving nothing" {
	if apparmor_on; then
		skip "AppArmor is enabled here; this test needs a host without it"
	fi
	update_config '.process.apparmorProfile = "hrun-test-deny"'
	run hrun --host-config "$CONF" create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'apparmorProfile "hrun-test-deny" requested but AppArmor is not enabled on this host'* ]]
	refused_cleanly
	# At every level, run too.
	run hrun --host-config "$CONF" --hardening=compat run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"requested but AppArmor is not enabled on this host"* ]]
	refused_cleanly
}

@test "AppArmor: \"unconfined\" is accepted with or without AppArmor" {
	update_config '.process.apparmorProfile = "unconfined"'
	set_args /probe report lsm_apparmor_current
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	if apparmor_on; then
		# Explicit: even where hrun-default is loaded, it is not applied.
		[ "$(probe_value lsm_apparmor_current)" = unconfined ]
	else
		[ "$(probe_value lsm_apparmor_current)" = none ]
	fi
	assert_no_leftovers "$ID"
}

@test "AppArmor: strict refuses an explicit \"unconfined\" (HR-LSM)" {
	update_config '.process.apparmorProfile = "unconfined"'
	run hrun --host-config "$CONF" --hardening=strict create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hardening level strict refuses this config: rule HR-LSM "* ]]
	refused_cleanly
}

@test "AppArmor: a profile name with a control character is refused" {
	update_config '.process.apparmorProfile = "a\nexec unconfined"'
	run hrun --host-config "$CONF" create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.apparmorProfile: control character"* ]]
	refused_cleanly
}

@test "AppArmor: apparmorProfile confines the process, in enforce mode" {
	require_apparmor
	load_test_profile
	update_config '.process.apparmorProfile = "hrun-test-deny"'
	set_args /bin/sh -c '/probe report lsm_apparmor_current; /probe write /tmp/deny-x; /probe write /tmp/allow-x'
	run hrun --host-config "$CONF" run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value lsm_apparmor_current)" = "hrun-test-deny (enforce)" ]
	# The profile's deny rule holds, and only it.
	[ "$(probe_values result | paste -sd' ' -)" = "ERR:EACCES ok" ]
	assert_no_leftovers "$ID"
}

@test "AppArmor: exec'd processes get the container's profile" {
	require_apparmor
	load_test_profile
	update_config '.process.apparmorProfile = "hrun-test-deny"'
	set_args /bin/sleep 60
	hrun --host-config "$CONF" run -d -b "$BUNDLE" "$ID"
	run hrun exec "$ID" /bin/sh -c '/probe report lsm_apparmor_current; /probe write /tmp/deny-y'
	[ "$status" -eq 0 ]
	[ "$(probe_value lsm_apparmor_current)" = "hrun-test-deny (enforce)" ]
	[ "$(probe_value result)" = ERR:EACCES ]
	hrun kill "$ID" KILL
}

@test "AppArmor: a profile that is not loaded fails create, leaving nothing" {
	require_apparmor
	update_config '.process.apparmorProfile = "hrun-test-not-loaded"'
	run hrun --host-config "$CONF" create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'apparmorProfile "hrun-test-not-loaded" is not loaded'* ]]
	refused_cleanly
}

@test "AppArmor: the default level applies hrun-default when it is loaded; it denies mount" {
	require_apparmor
	apparmor_parser -r "$BATS_TEST_DIRNAME/../../contrib/apparmor/hrun-default"
	update_config 'del(.process.apparmorProfile)'
	set_args /probe report lsm_apparmor_current
	run hrun --host-config "$CONF" --hardening=default run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value lsm_apparmor_current)" = "hrun-default (enforce)" ]
	# What the profile adds: even with CAP_SYS_ADMIN in its user namespace,
	# the process cannot mount (AppArmor's EACCES, not the kernel's EPERM).
	update_config 'del(.linux.seccomp) | .process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	set_args /probe mount tmpfs /tmp
	run hrun --host-config "$CONF" --hardening=default run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value result)" = ERR:EACCES ]
	assert_no_leftovers "$ID"
}

@test "AppArmor: hrun-default keeps the host's sysctls and its own label out of reach" {
	require_apparmor
	apparmor_parser -r "$BATS_TEST_DIRNAME/../../contrib/apparmor/hrun-default"
	# /proc/sys left writable and CAP_NET_ADMIN given, so that only the
	# profile stands between the process and the host's knobs.
	update_config '.process.apparmorProfile = "hrun-default" | .linux.readonlyPaths = [] |
		.process.capabilities.bounding += ["CAP_NET_ADMIN"] | .process.capabilities.effective += ["CAP_NET_ADMIN"] |
		.process.capabilities.permitted += ["CAP_NET_ADMIN"]'
	set_args /bin/sh -c '
		/probe write /proc/sys/kernel/shmmax 1000000
		/probe write /proc/sys/net/ipv4/ip_forward 1
		/probe write /proc/sys/kernel/hostname x
		/probe write /proc/sys/vm/drop_caches 1
		/probe write /proc/sysrq-trigger h
		/probe write /proc/self/attr/apparmor/current "changeprofile unconfined"
		/probe write /tmp/ok'
	run hrun --host-config "$CONF" --hardening=compat run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	# The IPC and network namespaces' sysctls are the container's; the
	# rest, sysrq and a profile change are not; ordinary files are.
	[ "$(probe_values result | paste -sd' ' -)" = "ok ok ERR:EACCES ERR:EACCES ERR:EACCES ERR:EACCES ok" ]
}

@test "AppArmor: features reports apparmor enabled (compiled in; the host is checked at create)" {
	run --separate-stderr hrun features
	[ "$status" -eq 0 ]
	[ "$(jq -r .linux.apparmor.enabled <<<"$output")" = true ]
}
