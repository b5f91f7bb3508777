#!/usr/bin/env bats
# Process attributes that survive execve, reported from inside by the probe:
# oom score, scheduler, I/O priority, personality, CPU affinity, time
# namespace offsets; for the container's process and for exec'd ones.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=test-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
}

teardown() {
	[ -z "${STATE:-}" ] || delete_all
	[ -z "${OUT:-}" ] || rm -f "$OUT" "$OUT".*
	teardown_bundle
}

@test "oomScoreAdj is the container process's, and an exec'd process's" {
	update_config '.process.oomScoreAdj = 500'
	probe_run report oom_score_adj
	[ "$status" -eq 0 ]
	[ "$(probe_value oom_score_adj)" = 500 ]
	update_config '.process.oomScoreAdj = 321'
	sleeper
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run hrun exec "$ID" /probe report oom_score_adj
	[ "$(probe_value oom_score_adj)" = 321 ]
}

@test "an oomScoreAdj below the caller's needs CAP_SYS_RESOURCE: a clear error, nothing left" {
	[ "$(cat /proc/self/oom_score_adj)" -gt -500 ] || skip "this shell's oom score is already low"
	local eff
	eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
	(((0x$eff >> 24) & 1)) && skip "this host grants CAP_SYS_RESOURCE"
	update_config '.process.oomScoreAdj = -500'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *'process.oomScoreAdj -500: '*'Permission denied'* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "scheduler: policy, nice and flags are the process's" {
	update_config '.process.scheduler = {"policy": "SCHED_BATCH", "nice": 7, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}'
	probe_run report sched_policy nice
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(probe_value sched_policy)" = "SCHED_BATCH|SCHED_RESET_ON_FORK" ]
	[ "$(probe_value nice)" = 7 ]
	update_config '.process.scheduler = {"policy": "SCHED_IDLE"}'
	probe_run report sched_policy
	[ "$(probe_value sched_policy)" = SCHED_IDLE ]
}

@test "scheduler: a policy the kernel refuses fails create with the reason" {
	# SCHED_DEADLINE without runtime/deadline/period is invalid.
	update_config '.process.scheduler = {"policy": "SCHED_DEADLINE"}'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *"process.scheduler: sched_setattr SCHED_DEADLINE: "* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

@test "ioPriority: class and priority are the process's" {
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 6}'
	probe_run report ioprio
	[ "$(probe_value ioprio)" = "IOPRIO_CLASS_BE 6" ]
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}'
	probe_run report ioprio
	[ "$(probe_value ioprio)" = "IOPRIO_CLASS_IDLE 0" ]
}

@test "personality LINUX32: the process runs with PER_LINUX32 and uname -m says i686" {
	update_config '.linux.personality = {"domain": "LINUX32"}'
	set_args /bin/sh -c '/probe report personality; uname -m'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(probe_value personality)" = 0x8 ]
	[ "${lines[-1]}" = i686 ]
	update_config '.linux.personality = {"domain": "LINUX"}'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$(probe_value personality)" = 0x0 ]
	[ "${lines[-1]}" = x86_64 ]
}

@test "execCPUAffinity: the final list is the process's affinity, also for exec" {
	[ "$(nproc --all)" -ge 2 ] || skip "needs two CPUs"
	update_config '.process.execCPUAffinity = {"initial": "0", "final": "1"}'
	probe_run report cpu_affinity
	[ "$(probe_value cpu_affinity)" = 1 ]
	sleeper
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run hrun exec "$ID" /probe report cpu_affinity
	[ "$(probe_value cpu_affinity)" = 1 ]
}

@test "execCPUAffinity: a CPU this host does not have is refused with the list" {
	update_config '.process.execCPUAffinity = {"final": "1000"}'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *'process.execCPUAffinity.final "1000": Invalid argument'* ]] || { echo "$output"; false; }
	assert_no_leftovers "$ID"
}

# Seconds of a clock in the host's time namespace, from the probe run here.
host_clock() {
	"$HRUN_TEST_ROOTFS/probe" report "$1" | sed -n "s/^$1=//p"
}

@test "timeOffsets: monotonic and boottime clocks are shifted inside; hooks and the host are not" {
	update_config '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 172800, "nanosecs": 0}}'
	update_config '.hooks.poststart = [{"path": "/bin/sh", "args": ["sh", "-c", "readlink /proc/self/ns/time > \($out)"]}]' --arg out "$OUT.hook"
	probe_run report time_monotonic time_boottime ns_time
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	local mono boot
	mono=$(($(probe_value time_monotonic) - $(host_clock time_monotonic)))
	boot=$(($(probe_value time_boottime) - $(host_clock time_boottime)))
	[ "$mono" -ge 86390 ] && [ "$mono" -le 86410 ] || { echo "monotonic offset $mono"; false; }
	[ "$boot" -ge 172790 ] && [ "$boot" -le 172810 ] || { echo "boottime offset $boot"; false; }
	[ "$(probe_value ns_time)" != "$(readlink /proc/self/ns/time)" ]
	# The poststart hook ran in the runtime's (the host's) time namespace.
	[ "$(cat "$OUT.hook")" = "$(readlink /proc/self/ns/time)" ]
}

@test "timeOffsets: an exec'd process joins the container's shifted clocks" {
	update_config '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"monotonic": {"secs": 3600, "nanosecs": 0}}'
	sleeper
	detached run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run hrun exec "$ID" /probe report time_monotonic
	local mono=$(($(probe_value time_monotonic) - $(host_clock time_monotonic)))
	[ "$mono" -ge 3590 ] && [ "$mono" -le 3610 ] || { echo "monotonic offset $mono"; false; }
}
