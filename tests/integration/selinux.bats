#!/usr/bin/env bats
# SELinux labels: process.selinuxLabel is the label the container's
# process (and an exec'd one) runs with; a label the host's policy does not
# know is refused before anything exists. These need a host with SELinux
# on and skip with the reason elsewhere; that SELinux labels are refused,
# not ignored, without SELinux is checked in config-errors.bats.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	require_selinux
	setup_bundle
	ID=se-$BATS_TEST_NUMBER
	# A label the policy surely has: our own.
	LABEL=$(tr -d '\0' </proc/self/attr/current)
}

teardown() {
	"$HRUN" --root "$STATE" delete --force "$ID" >/dev/null 2>&1
	teardown_bundle
}

@test "selinuxLabel: the container's process runs with it" {
	update_config '.process.selinuxLabel = $l' --arg l "$LABEL"
	probe_run report lsm_current
	[ "$status" -eq 0 ]
	[ "$(probe_value lsm_current)" = "$LABEL" ]
}

@test "selinuxLabel: an exec'd process runs with it too" {
	update_config '.process.selinuxLabel = $l' --arg l "$LABEL"
	set_args /probe sleep 30
	run hrun run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	run hrun exec "$ID" /probe report lsm_current
	[ "$status" -eq 0 ]
	[ "$(probe_value lsm_current)" = "$LABEL" ]
}

@test "selinuxLabel that the policy does not know is refused before anything exists" {
	update_config '.process.selinuxLabel = "hrun_no_such_u:no_such_r:no_such_t:s0"'
	set_args /bin/true
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'process.selinuxLabel "hrun_no_such_u:no_such_r:no_such_t:s0": not a valid context'* ]]
	assert_no_leftovers "$ID"
}
