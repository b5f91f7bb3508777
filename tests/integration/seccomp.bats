#!/usr/bin/env bats
# linux.seccomp: the filter the config describes is in force for the
# container's process and for `hrun exec` processes, seen from inside by
# the probe; configs hrun cannot apply are refused and leave nothing behind.
# Every check is one an unfiltered container would fail.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=sc-$BATS_TEST_NUMBER
}

teardown() {
	local id
	for id in $("$HRUN" --root "$STATE" list -q 2>/dev/null); do
		"$HRUN" --root "$STATE" delete --force "$id" >/dev/null 2>&1
	done
	teardown_bundle
}

# Set linux.seccomp to the JSON document given.
set_seccomp() {
	update_config ".linux.seccomp = $1"
}

# Default ALLOW, one rule: `block NAMES_JSON ACTION [ERRNO]`.
block() {
	local errno=${3:+, \"errnoRet\": $3}
	set_seccomp "{\"defaultAction\": \"SCMP_ACT_ALLOW\",
		\"syscalls\": [{\"names\": $1, \"action\": \"$2\"$errno}]}"
}

# Every syscall name this host's headers know, as a JSON array, less the
# names given: an allowlist that lets a static binary start.
all_syscalls_but() {
	local skip
	skip=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
	echo '#include <sys/syscall.h>' | cpp -dM 2>/dev/null |
		sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/\1/p' |
		jq -R . | jq -sc --argjson skip "$skip" 'map(select(. as $n | $skip | index($n) | not))'
}

@test "the container's process runs in seccomp filter mode with one filter" {
	block '["getcwd"]' SCMP_ACT_ERRNO
	probe_run report seccomp seccomp_filters
	[ "$status" -eq 0 ]
	[ "$(probe_value seccomp)" = 2 ]
	[ "$(probe_value seccomp_filters)" = 1 ]
	# Without linux.seccomp, at compat: no filter at all (at the other
	# levels hrun's default profile: seccomp-default.bats).
	update_config 'del(.linux.seccomp)'
	set_args /probe report seccomp
	run hrun --hardening=compat run -b "$BUNDLE" "$ID"
	[ "$(probe_value seccomp)" = 0 ]
}

@test "defaultAction ERRNO with defaultErrnoRet: what the profile does not list gets that errno" {
	command -v cpp >/dev/null || skip "needs cpp to list this host's syscalls"
	local allowed
	allowed=$(all_syscalls_but getcwd)
	[ "$(jq length <<<"$allowed")" -gt 200 ]
	set_seccomp "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 42,
		\"syscalls\": [{\"names\": $allowed, \"action\": \"SCMP_ACT_ALLOW\"}]}"
	probe_run report cwd uid
	[ "$status" -eq 0 ]
	[ "$(probe_value cwd)" = ERR:ENOMSG ]
	[ "$(probe_value uid)" = 0 ]
	# Without defaultErrnoRet: EPERM.
	update_config 'del(.linux.seccomp.defaultErrnoRet)'
	probe_run report cwd
	[ "$(probe_value cwd)" = ERR:EPERM ]
}

@test "a rule's errnoRet is what the call returns; the default is EPERM" {
	block '["getcwd"]' SCMP_ACT_ERRNO 38
	probe_run report cwd
	[ "$status" -eq 0 ]
	[ "$(probe_value cwd)" = ERR:ENOSYS ]
	block '["mkdir", "mkdirat"]' SCMP_ACT_ERRNO
	probe_run mkdir /tmp/blocked
	[ "$status" -eq 0 ]
	[ "$(probe_value result)" = ERR:EPERM ]
	# Everything else is allowed: a write to the same tmpfs works.
	probe_run write /tmp/file
	[ "$(probe_value result)" = ok ]
}

@test "args: same index ORed, different indices ANDed, MASKED_EQ on the socket type" {
	# AF_INET (2) refused, AF_UNIX (1) allowed.
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
		 "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}'
	probe_run socket AF_INET SOCK_STREAM
	[ "$(probe_value result)" = ERR:EAFNOSUPPORT ]
	probe_run socket AF_UNIX SOCK_STREAM
	[ "$(probe_value result)" = ok ]
	# AF_UNIX and (type & 0xf) == SOCK_DGRAM: the probe passes
	# SOCK_DGRAM|SOCK_CLOEXEC, so only the masked compare matches.
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
		 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
			  {"index": 1, "value": 15, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]}]}'
	probe_run socket AF_UNIX SOCK_DGRAM
	[ "$(probe_value result)" = ERR:EAFNOSUPPORT ]
	probe_run socket AF_UNIX SOCK_STREAM
	[ "$(probe_value result)" = ok ]
	probe_run socket AF_INET SOCK_DGRAM
	[ "$(probe_value result)" = ok ]
	# The same index twice: AF_INET or AF_INET6.
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
		 "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
			  {"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]}]}'
	probe_run socket AF_INET SOCK_STREAM
	[ "$(probe_value result)" = ERR:EAFNOSUPPORT ]
	probe_run socket AF_INET6 SOCK_STREAM
	[ "$(probe_value result)" = ERR:EAFNOSUPPORT ]
	probe_run socket AF_UNIX SOCK_STREAM
	[ "$(probe_value result)" = ok ]
}

@test "KILL_PROCESS and TRAP end the container by SIGSYS (exit 159)" {
	block '["getcwd"]' SCMP_ACT_KILL_PROCESS
	probe_run report cwd
	[ "$status" -eq 159 ]
	block '["getcwd"]' SCMP_ACT_TRAP
	probe_run report cwd
	[ "$status" -eq 159 ]
	# LOG lets the call through.
	block '["getcwd"]' SCMP_ACT_LOG
	probe_run report cwd
	[ "$status" -eq 0 ]
	[ "$(probe_value cwd)" = / ]
}

@test "unknown syscall names are skipped (debug log), the known ones of the rule apply" {
	block '["hrun_no_such_syscall", "getcwd"]' SCMP_ACT_ERRNO 38
	set_args /probe report cwd
	# The note comes from the compiler: no cache, so the profile is
	# compiled even if an earlier run cached it.
	echo 'seccomp_cache_dir =' >"$BUNDLE.conf"
	run hrun --debug --host-config "$BUNDLE.conf" run -b "$BUNDLE" "$ID"
	rm -f "$BUNDLE.conf"
	[ "$status" -eq 0 ]
	[ "$(probe_value cwd)" = ERR:ENOSYS ]
	[[ "$output" == *'seccomp: unknown syscall "hrun_no_such_syscall" skipped'* ]]
}

@test "flags TSYNC, LOG and SPEC_ALLOW are accepted and the filter applies" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
		"syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}'
	probe_run report cwd seccomp
	[ "$status" -eq 0 ]
	[ "$(probe_value cwd)" = ERR:ENOSYS ]
	[ "$(probe_value seccomp)" = 2 ]
}

@test "the listed architectures and the native one are filtered" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
		"syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}'
	probe_run report cwd
	[ "$status" -eq 0 ]
	[ "$(probe_value cwd)" = ERR:ENOSYS ]
}

@test "the filter comes after the startContainer hooks: a hook may use what the profile blocks" {
	block '["mkdir", "mkdirat"]' SCMP_ACT_ERRNO
	update_config '.hooks.startContainer = [{"path": "/bin/mkdir", "args": ["mkdir", "/tmp/hook-made"]}]'
	set_args /bin/sh -c 'test -d /tmp/hook-made && echo hook-made; /probe mkdir /tmp/blocked'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *hook-made* ]]
	[ "$(probe_value result)" = ERR:EPERM ]
}

# Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter, so
# it is loaded before the privileges are dropped: init's own last steps
# then run under it too (as with runc), which is why the rule here is one
# init never makes.
@test "without noNewPrivileges the filter is loaded too, also for a non-root user" {
	update_config '.process.noNewPrivileges = false | .process.user = {"uid": 1000, "gid": 1000}'
	block '["socket"]' SCMP_ACT_ERRNO 97
	probe_run report seccomp no_new_privs uid cap_eff
	[ "$status" -eq 0 ]
	[ "$(probe_value seccomp)" = 2 ]
	[ "$(probe_value no_new_privs)" = 0 ]
	[ "$(probe_value uid)" = 1000 ]
	[ "$(probe_value cap_eff)" = 0000000000000000 ]
	probe_run socket AF_UNIX SOCK_STREAM
	[ "$(probe_value result)" = ERR:EAFNOSUPPORT ]
}

@test "exec: the exec'd process gets the container's filter, with and without no_new_privs" {
	block '["socket"]' SCMP_ACT_ERRNO 97
	set_args /bin/sleep 60
	hrun run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	run hrun exec "$ID" /probe report seccomp seccomp_filters no_new_privs
	[ "$status" -eq 0 ]
	[ "$(probe_value seccomp)" = 2 ]
	[ "$(probe_value seccomp_filters)" = 1 ]
	[ "$(probe_value no_new_privs)" = 1 ]
	run hrun exec "$ID" /probe socket AF_UNIX SOCK_STREAM
	[ "$(probe_value result)" = ERR:EAFNOSUPPORT ]
	hrun delete --force "$ID"

	update_config '.process.noNewPrivileges = false'
	hrun run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	run hrun exec -u 1000:1000 "$ID" /probe report seccomp no_new_privs uid
	[ "$status" -eq 0 ]
	[ "$(probe_value seccomp)" = 2 ]
	[ "$(probe_value no_new_privs)" = 0 ]
	[ "$(probe_value uid)" = 1000 ]
	run hrun exec -u 1000:1000 "$ID" /probe socket AF_UNIX SOCK_STREAM
	[ "$(probe_value result)" = ERR:EAFNOSUPPORT ]
}

# Refused with a message containing the second argument, nothing left.
refused_seccomp() {
	set_seccomp "$1"
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ] || { echo "accepted: $output"; return 1; }
	[[ "$output" == *"$2"* ]] || { echo "message lacks \"$2\": $output"; return 1; }
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE" 2>/dev/null)" ] || { echo "state root not empty:"; ls -A "$STATE"; return 1; }
	if pgrep -f -- "$BUNDLE" >/dev/null; then
		echo "a process of the bundle is left:"
		pgrep -af -- "$BUNDLE"
		return 1
	fi
}

@test "configs hrun cannot apply are refused and leave nothing behind" {
	refused_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}' \
		'linux.seccomp.syscalls[0]: errnoRet 70000 out of range 0..65535'
	refused_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}' \
		'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_VAX"'
	if ! "$HRUN" features | jq -e '.linux.seccomp.archs | index("SCMP_ARCH_LOONGARCH64")' >/dev/null; then
		# Valid for the runtime-spec, unknown to this libseccomp.
		refused_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_LOONGARCH64"]}' \
			'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_LOONGARCH64" (libseccomp '
	fi
}

@test "features reports seccomp with its actions, operators, architectures and flags" {
	run --separate-stderr "$HRUN" features
	[ "$status" -eq 0 ]
	[ "$(jq -r .linux.seccomp.enabled <<<"$output")" = true ]
	jq -e '.linux.seccomp.actions | index("SCMP_ACT_KILL_PROCESS") and index("SCMP_ACT_ERRNO") and index("SCMP_ACT_NOTIFY")' <<<"$output"
	jq -e '.linux.seccomp.operators | length == 7' <<<"$output"
	jq -e '.linux.seccomp.archs | index("SCMP_ARCH_X86_64") and index("SCMP_ARCH_AARCH64")' <<<"$output"
	jq -e '.linux.seccomp.knownFlags | index("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")' <<<"$output"
	jq -e '.linux.seccomp.supportedFlags | index("SECCOMP_FILTER_FLAG_LOG")' <<<"$output"
	jq -e '.annotations["io.github.seccomp.libseccomp.version"] | test("^[0-9]+\\.[0-9]+\\.[0-9]+$")' <<<"$output"
}
