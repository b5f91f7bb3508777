#!/usr/bin/env bats
# AppArmor, on hosts that have it enabled (the VM lane, tests/vm, does;
# elsewhere these tests are skipped, saying so). The VM lane runs every test
# of this file.
# bats file_tags=vm

load helpers

setup() {
	setup_bundle
	ID=apparmor-$BATS_TEST_NUMBER
	CONF=$BUNDLE.conf
	: >"$CONF"
}

teardown() {
	rm -f "$CONF"
	teardown_bundle
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
