#!/usr/bin/env bats
# hrun's default seccomp profile (seccomp-profiles/default.json): applied
# when a config has none at the default and strict levels, checked from
# inside with the probe (what the dangerous calls get, what unknown ones
# get, the argument filters, an ordinary busybox workload); the filter is
# the one the build precompiled (no libseccomp compile at start), and a
# config's own profile is compiled once and then taken from the cache.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=scd-$BATS_TEST_NUMBER
	update_config 'del(.linux.seccomp)'
	CACHE=$BUNDLE.seccomp-cache
	printf 'seccomp_cache_dir = %s\n' "$CACHE" >"$BUNDLE.conf"
}

teardown() {
	rm -rf "$CACHE" "$BUNDLE.conf"
	teardown_bundle
}

# Run a shell script in the container; prints what it printed.
in_container() {
	set_args /bin/sh -c "$1"
	run hrun --host-config "$BUNDLE.conf" run -b "$BUNDLE" "$ID"
}

# `NAME NR [ARGS...]`, one per line, run through `probe syscall`: output
# lines "NAME result=...".
syscalls_script() {
	local line script=
	while read -r line; do
		[ -n "$line" ] || continue
		set -- $line
		script+="printf '%s ' $1; /probe syscall ${*:2}; "
	done
	printf '%s' "$script"
}

@test "default level: a config without linux.seccomp runs under hrun's profile; compat runs without one" {
	set_args /probe report seccomp seccomp_filters
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value seccomp)" = 2 ]
	[ "$(probe_value seccomp_filters)" = 1 ]
	run hrun --hardening=compat run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(probe_value seccomp)" = 0 ]
}

@test "the default profile refuses the dangerous syscalls with EPERM" {
	# x86-64 numbers; clone and unshare with a namespace flag.
	in_container "$(syscalls_script <<-'EOF'
		keyctl 250 0 -3
		add_key 248 0 0 0 0 0
		request_key 249 0 0 0 0
		bpf 321 0 0 0
		perf_event_open 298 0 0 -1 -1 0
		userfaultfd 323 0
		io_uring_setup 425 1 0
		io_uring_enter 426 0 0 0 0 0 0
		io_uring_register 427 0 0 0 0
		kexec_load 246 0 0 0 0
		kexec_file_load 320 0 0 0 0 0
		init_module 175 0 0 0
		finit_module 313 0 0 0
		delete_module 176 0 0
		open_by_handle_at 304 0 0 0
		mount 165 0 0 0 0 0
		umount2 166 0 0
		pivot_root 155 0 0
		open_tree 428 0 0 0
		move_mount 429 0 0 0 0 0
		fsopen 430 0 0
		fsconfig 431 0 0 0 0 0
		fsmount 432 0 0 0
		fspick 433 0 0 0
		mount_setattr 442 0 0 0 0 0
		setns 308 0 0
		unshare_user 272 0x10000000
		unshare_mnt 272 0x20000
		clone_newns 56 0x20000 0 0 0 0
		clone_newnet 56 0x40000000 0 0 0 0
		socket_alg 41 38 5 0
		socket_vsock 41 40 1 0
		reboot 169 0 0 0 0
		syslog 103 3 0 0
		settimeofday 164 0 0
		kcmp 312 0 0 0 0 0
		EOF
	)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' result=' <<<"$output")" -eq 36 ]
	! grep ' result=' <<<"$output" | grep -v 'result=ERR:EPERM$'
}

@test "syscalls the default profile does not list get ENOSYS: clone3, one past the table, a truncated argument" {
	# A family with high bits set would be AF_ALG after the kernel's int
	# truncation: no allowing rule matches it, so it is not allowed.
	in_container "$(syscalls_script <<-'EOF'
		clone3 435 0 0
		beyond 999
		personality_no_aslr 135 0x0040000
		socket_truncated 41 0x100000026 5 0
		EOF
	)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'result=ERR:ENOSYS$' <<<"$output")" -eq 4 ]
}

@test "argument filters: socket families and personality personas" {
	in_container '/probe socket AF_INET SOCK_STREAM; /probe socket AF_UNIX SOCK_DGRAM;
		/probe socket AF_NETLINK SOCK_RAW; /probe socket AF_INET6 SOCK_DGRAM
		echo --; /probe socket AF_ALG SOCK_SEQPACKET; /probe socket AF_VSOCK SOCK_STREAM
		echo --; /probe socket AF_BLUETOOTH SOCK_STREAM; /probe socket AF_KEY SOCK_RAW
		echo --; /probe syscall 135 0xffffffff; /probe syscall 135 8
		echo --; /probe syscall 272 0x200'
	echo "$output"
	[ "$status" -eq 0 ]
	run awk -v RS=-- 'NR == 1 { print gsub(/result=ok/, "") }
		NR == 2 { print gsub(/result=ERR:EPERM/, "") }
		NR == 3 { print gsub(/result=ERR:EAFNOSUPPORT/, "") }
		NR == 4 { print gsub(/result=[0-9]+/, "") }
		NR == 5 { print gsub(/result=0/, "") }' <<<"$output"
	[ "$(echo $output)" = "4 2 2 2 1" ]
}

@test "a busybox workload runs under the default profile: shell, ls, ps, wget to localhost, tar, sort" {
	in_container 'set -e
		mkdir -p /tmp/www && echo hello-from-httpd >/tmp/www/index.html
		httpd -p 127.0.0.1:8080 -h /tmp/www
		wget -q -O - http://127.0.0.1:8080/index.html
		ls / | grep -qx bin && echo ls-ok
		ps | grep -q "[h]ttpd" && echo ps-ok
		tar -C /tmp -cf /tmp/www.tar www && tar -tf /tmp/www.tar
		printf "pear\napple\nfig\n" | sort | paste -sd, -
		grep Seccomp: /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *hello-from-httpd* ]]
	[[ "$output" == *ls-ok* ]]
	[[ "$output" == *ps-ok* ]]
	[[ "$output" == *www/index.html* ]]
	[[ "$output" == *apple,fig,pear* ]]
	[[ "$output" == *"Seccomp:	2"* ]]
}

@test "CAP_SYS_ADMIN in the bounding set: the sys-admin variant lets the container mount and unshare" {
	update_config '.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
	in_container '/probe syscall 272 0x20000; mount -t tmpfs none /tmp && echo mounted'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"result=0"* ]]
	[[ "$output" == *mounted* ]]
	# Without it, the same calls are refused.
	update_config '.process.capabilities |= with_entries(.value -= ["CAP_SYS_ADMIN"])'
	in_container '/probe syscall 272 0x20000'
	[[ "$output" == *"result=ERR:EPERM"* ]]
}

@test "the precompiled default profile is used: no libseccomp compile at start" {
	command -v ltrace >/dev/null || skip "needs ltrace (tests/install-deps.sh installs it)"
	set_args /bin/true
	run hrun --debug --host-config "$BUNDLE.conf" run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *'seccomp: the precompiled profile "default"'* ]]
	# The template has a user namespace, so hrun does not re-execute
	# itself from a memfd, which ltrace could not follow. ltrace's own
	# status is 1 (it cannot read the static probe's symbols): the
	# probe's output shows the container ran.
	set_args /probe report uid
	run ltrace -f -e 'seccomp_*' "$HRUN" --root "$STATE" --host-config "$BUNDLE.conf" run -b "$BUNDLE" "$ID"
	echo "$output"
	[[ "$output" == *uid=0* ]]
	! grep 'seccomp_init' <<<"$output"
	# Nothing was cached for it.
	[ -z "$(ls -A "$CACHE" 2>/dev/null)" ]
}

@test "a config's own profile is compiled at the first start and taken from the cache after" {
	command -v ltrace >/dev/null || skip "needs ltrace (tests/install-deps.sh installs it)"
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77}]}'
	set_args /probe report uid
	run ltrace -f -e 'seccomp_*' "$HRUN" --root "$STATE" --host-config "$BUNDLE.conf" run -b "$BUNDLE" "$ID"
	[[ "$output" == *uid=0* ]]
	grep -q 'seccomp_init' <<<"$output"
	[ "$(ls "$CACHE" | wc -l)" -eq 1 ]
	[ "$(stat -c %a "$CACHE")" = 700 ]
	run ltrace -f -e 'seccomp_*' "$HRUN" --root "$STATE" --host-config "$BUNDLE.conf" run -b "$BUNDLE" "$ID"
	[[ "$output" == *uid=0* ]]
	! grep 'seccomp_init' <<<"$output"
	# And the cached filter is the profile's: getcwd fails with 77.
	set_args /probe syscall 79 0 0
	run hrun --debug --host-config "$BUNDLE.conf" run -b "$BUNDLE" "$ID"
	[[ "$output" == *"seccomp: the cached filter $CACHE/"* ]]
	echo "$output"
	[ "$(probe_value result)" = ERR:E77 ]
}

@test "a profile whose default denies: a syscall newer than every one it names gets ENOSYS, not the default" {
	command -v cpp >/dev/null || skip "needs cpp to list this host's syscalls"
	local allowed
	# Every syscall up to 334 (rseq), which a static binary needs, but
	# getcwd; close_range (436) is newer than all of them.
	allowed=$(echo '#include <sys/syscall.h>' | cpp -dM |
		awk '$2 ~ /^__NR_/ && $3 + 0 <= 334 && $2 != "__NR_getcwd" { sub("__NR_", "", $2); print $2 }' |
		jq -R . | jq -sc .)
	update_config ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ERRNO\",
		\"syscalls\": [{\"names\": $allowed, \"action\": \"SCMP_ACT_ALLOW\"}]}"
	set_args /bin/sh -c '/probe syscall 79 0 0; /probe syscall 436 1000 1000 0'
	run hrun --host-config "$BUNDLE.conf" run -b "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(probe_values result | paste -sd, -)" = "ERR:EPERM,ERR:ENOSYS" ]
}

@test "strict: a profile that allows by default is refused; the default profile passes" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW"}'
	set_args /bin/true
	run hrun --hardening=strict run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"rule HR-SECCOMP"*"defaultAction is SCMP_ACT_ALLOW"* ]]
	assert_no_leftovers "$ID"
	# TRACE lets through what an attached tracer allows.
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_TRACE"}'
	run hrun --hardening=strict run -b "$BUNDLE" "$ID"
	[[ "$output" == *"rule HR-SECCOMP"*"defaultAction is SCMP_ACT_TRACE"* ]]
	update_config 'del(.linux.seccomp)'
	run hrun --hardening=strict run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
}

@test "a malformed seccomp_cache_dir in the host config is refused with its line" {
	printf 'seccomp_cache_dir = relative/path\n' >"$BUNDLE.conf"
	set_args /bin/true
	run hrun --host-config "$BUNDLE.conf" run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$BUNDLE.conf:1: seccomp_cache_dir: expected an absolute path"* ]]
	assert_no_leftovers "$ID"
}
