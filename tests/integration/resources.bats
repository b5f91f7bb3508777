#!/usr/bin/env bats
# linux.resources: the limits are in the container's cgroup before init runs
# anything, seen from inside with the probe (a fork bomb stopped, a memory
# hog killed) and in the cgroup files, on cgroup v1 (hybrid and legacy
# hosts) and v2; `hrun update` changes them live. Most tests work in either
# mode, reading the file that mode has; the VM lane (a pure cgroup v2 host)
# runs them all again there. Tests for one mode only skip elsewhere, saying
# so.
# bats file_tags=vm

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	ID=res-$BATS_TEST_NUMBER
	OUT=$BUNDLE.out
}

teardown() {
	"$HRUN" --root "$STATE" delete --force "$ID" >/dev/null 2>&1 || true
	stop_bg
	rm -f "$OUT"
	teardown_bundle
}

# The controller NAME, in whichever mode this host has it.
require_controller() {
	if [ "$(cgroup_mode)" = unified ]; then
		require_cgroup2_controller "$1"
	else
		[ -d "/sys/fs/cgroup/$1" ] || skip "needs the cgroup v1 $1 controller, not mounted here"
	fi
}

# Only on a host whose CONTROLLER is on cgroup v1.
require_v1() {
	[ "$(cgroup_mode)" != unified ] || skip "cgroup v1 behaviour; this host is pure cgroup v2"
	require_controller "$1"
}

is_v2() {
	[ "$(cgroup_mode)" = unified ]
}

# The probe waiting in the background, as container $ID.
start_waiting() {
	set_args /probe wait-signal
	hrun_bg "$OUT" run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
}

# A cgroup file of the running container: `cg_file CONTROLLER FILE`.
cg_file() {
	cat "$(cgroup_dir "$1")/$2"
}

@test "pids.limit: a fork bomb inside the container stops short of the limit" {
	require_controller pids
	update_config '.linux.resources.pids = {"limit": 20}'
	probe_run forkbomb 100
	[ "$status" -eq 0 ]
	forked=$(probe_value forked)
	[ "$forked" -gt 0 ] && [ "$forked" -lt 20 ]
	[ "$(probe_value result)" = ERR:EAGAIN ]
}

@test "pids.limit: without it the same fork bomb succeeds (the test above can fail)" {
	require_controller pids
	update_config 'del(.linux.resources.pids)'
	probe_run forkbomb 100
	[ "$status" -eq 0 ]
	[ "$(probe_value forked)" = 100 ]
	[ "$(probe_value result)" = ok ]
}

@test "memory.limit: a memory hog is OOM-killed (exit 137); a small allocation is fine" {
	require_controller memory
	# swap = limit: no swap to escape to, in either version.
	update_config '.linux.resources.memory = {"limit": 67108864, "swap": 67108864}'
	probe_run alloc 200
	[ "$status" -eq 137 ]
	probe_run alloc 16
	[ "$status" -eq 0 ]
	[ "$(probe_value result)" = ok ]
}

@test "memory: limit, reservation and swap are in the cgroup files while the container runs" {
	require_controller memory
	update_config '.linux.resources.memory = {"limit": 67108864, "reservation": 33554432, "swap": 100663296}'
	start_waiting
	if is_v2; then
		[ "$(cg_file memory memory.max)" = 67108864 ]
		[ "$(cg_file memory memory.low)" = 33554432 ]
		# v2 counts swap alone: 96M - 64M, as runc converts.
		[ ! -e "$(cgroup_dir memory)/memory.swap.max" ] || [ "$(cg_file memory memory.swap.max)" = 33554432 ]
	else
		[ "$(cg_file memory memory.limit_in_bytes)" = 67108864 ]
		[ "$(cg_file memory memory.soft_limit_in_bytes)" = 33554432 ]
		[ ! -e "$(cgroup_dir memory)/memory.memsw.limit_in_bytes" ] ||
			[ "$(cg_file memory memory.memsw.limit_in_bytes)" = 100663296 ]
	fi
}

@test "cpu: quota, period and shares are in the cgroup files (v2: cpu.max and the converted cpu.weight)" {
	require_controller cpu
	update_config '.linux.resources.cpu = {"quota": 50000, "period": 100000, "shares": 512}'
	start_waiting
	if is_v2; then
		[ "$(cg_file cpu cpu.max)" = "50000 100000" ]
		# runc: 1 + ((512 - 2) * 9999) / 262142
		[ "$(cg_file cpu cpu.weight)" = 20 ]
	else
		[ "$(cg_file cpu cpu.cfs_quota_us)" = 50000 ]
		[ "$(cg_file cpu cpu.cfs_period_us)" = 100000 ]
		[ "$(cg_file cpu cpu.shares)" = 512 ]
	fi
}

@test "cpu.cpus: the container runs on the given CPU only (affinity seen from inside)" {
	require_controller cpuset
	update_config '.linux.resources.cpu = {"cpus": "0", "mems": "0"}'
	probe_run report cpu_affinity
	[ "$status" -eq 0 ]
	[ "$(probe_value cpu_affinity)" = 0 ]
}

@test "update --pids-limit: a fork bomb that succeeded before fails after, live; the saved config follows" {
	require_controller pids
	update_config '.linux.resources.pids = {"limit": 100}'
	start_waiting
	run hrun exec "$ID" /probe forkbomb 30
	[ "$status" -eq 0 ]
	[ "$(probe_value forked)" = 30 ]
	run hrun update --pids-limit 10 "$ID"
	[ "$status" -eq 0 ]
	[ "$(cg_file pids pids.max)" = 10 ]
	run hrun exec "$ID" /probe forkbomb 30
	[ "$status" -eq 0 ]
	[ "$(probe_value forked)" -lt 10 ]
	[ "$(probe_value result)" = ERR:EAGAIN ]
	[ "$(jq .linux.resources.pids.limit "$STATE/$ID/config.json")" = 10 ]
	# -1 is no limit, as in runc.
	run hrun update --pids-limit -1 "$ID"
	[ "$status" -eq 0 ]
	[ "$(cg_file pids pids.max)" = max ]
}

@test "update --memory with runc's size suffixes and --cpu-quota change the live cgroup" {
	require_controller memory
	require_controller cpu
	update_config '.linux.resources.memory = {"limit": 67108864} | .linux.resources.cpu = {"period": 100000}'
	start_waiting
	run hrun update --memory 32m --memory-reservation 16M --cpu-quota 20000 "$ID"
	[ "$status" -eq 0 ]
	if is_v2; then
		[ "$(cg_file memory memory.max)" = 33554432 ]
		[ "$(cg_file memory memory.low)" = 16777216 ]
		[ "$(cg_file cpu cpu.max)" = "20000 100000" ]
	else
		[ "$(cg_file memory memory.limit_in_bytes)" = 33554432 ]
		[ "$(cg_file memory memory.soft_limit_in_bytes)" = 16777216 ]
		[ "$(cg_file cpu cpu.cfs_quota_us)" = 20000 ]
	fi
	# What was not given stays.
	[ "$(jq -c .linux.resources.cpu "$STATE/$ID/config.json")" = '{"quota":20000,"period":100000}' ]
	[ "$(jq .linux.resources.memory.limit "$STATE/$ID/config.json")" = 33554432 ]
}

@test "update --resources -: a linux.resources object from stdin" {
	require_controller pids
	require_controller cpu
	start_waiting
	run bash -c "echo '{\"pids\": {\"limit\": 42}, \"cpu\": {\"shares\": 1024}}' |
		timeout 60 \"$HRUN\" --root \"$STATE\" update --resources - \"$ID\""
	[ "$status" -eq 0 ]
	[ "$(cg_file pids pids.max)" = 42 ]
	if is_v2; then
		[ "$(cg_file cpu cpu.weight)" = 39 ]
	else
		[ "$(cg_file cpu cpu.shares)" = 1024 ]
	fi
	[ "$(jq .linux.resources.pids.limit "$STATE/$ID/config.json")" = 42 ]
	# A file works the same; its type errors name the JSON path.
	echo '{"pids": {"limit": "many"}}' >"$BUNDLE/res.json"
	run hrun update -r "$BUNDLE/res.json" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.pids.limit: expected integer"* ]]
	[ "$(cg_file pids pids.max)" = 42 ]
}

@test "update: refused for a stopped container, an unknown one, and a bad size" {
	require_controller pids
	set_args /probe exit 0
	run hrun run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	for i in $(seq 50); do
		[ "$(hrun state "$ID" | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	run hrun update --pids-limit 10 "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"container not running"* ]]
	run hrun update --pids-limit 10 no-such-container
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
	run hrun update --memory 12x "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'invalid value "12x" for flag --memory'* ]]
}

@test "an invalid value is refused naming the config field and the file, and nothing is left behind" {
	require_controller cpuset
	update_config '.linux.resources.cpu = {"cpus": "4095"}'
	probe_run report pid
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.cpu.cpus: write cpuset.cpus:"* ]]
	assert_no_leftovers "test-$BATS_TEST_NUMBER"
}

@test "memory.swap below memory.limit is refused on cgroup v2 (swap counts memory + swap), with no leftovers" {
	require_cgroup2_controller memory
	update_config '.linux.resources.memory = {"limit": 67108864, "swap": 33554432}'
	probe_run report pid
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.memory.swap:"* ]]
	assert_no_leftovers "test-$BATS_TEST_NUMBER"
}

@test "update that the kernel refuses fails naming the file, and the saved config keeps the old value" {
	require_controller cpuset
	start_waiting
	run hrun update --cpuset-cpus 4095 "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.cpu.cpus: write cpuset.cpus:"* ]]
	[ "$(jq -r '.linux.resources.cpu.cpus // "unset"' "$STATE/$ID/config.json")" = unset ]
}

@test "cgroup v2: the controllers are enabled in the parents' subtree_control, and unified keys are written" {
	require_cgroup2_controller memory pids
	update_config '.linux.resources.pids = {"limit": 30} | .linux.resources.unified = {"memory.high": "50000000"}'
	start_waiting
	grep -qw pids "/sys/fs/cgroup$CGROUP_PARENT/cgroup.subtree_control"
	grep -qw memory "/sys/fs/cgroup$CGROUP_PARENT/cgroup.subtree_control"
	[ "$(cg_file memory memory.high)" = 49999872 ] || [ "$(cg_file memory memory.high)" = 50000000 ]
	[ "$(cg_file pids pids.max)" = 30 ]
}

@test "cgroup v2: unified keys must name an existing file of the cgroup, no path, no process mover" {
	require_cgroup_unified
	for key in '../cgroup.procs' 'memory.nonexistent' 'cgroup.procs'; do
		update_config '.linux.resources.unified = {($k): "1"}' --arg k "$key"
		probe_run report pid
		[ "$status" -ne 0 ]
		# The config check or the cgroup writer: either names the key.
		[[ "$output" == *"linux.resources.unified"*"$key"* ]]
		assert_no_leftovers "test-$BATS_TEST_NUMBER"
	done
}

@test "cgroup v1: unified keys for a v1 controller are refused, with no leftovers" {
	require_v1 memory
	update_config '.linux.resources.unified = {"memory.high": "50000000"}'
	probe_run report pid
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.unified.memory.high:"*"cgroup v1"* ]]
	assert_no_leftovers "test-$BATS_TEST_NUMBER"
}

@test "cgroup v1: disableOOMKiller and swappiness reach memory.oom_control and memory.swappiness" {
	require_v1 memory
	update_config '.linux.resources.memory = {"limit": 67108864, "disableOOMKiller": true, "swappiness": 10}'
	start_waiting
	grep -qx 'oom_kill_disable 1' "$(cgroup_dir memory)/memory.oom_control"
	[ "$(cg_file memory memory.swappiness)" = 10 ]
}

@test "cgroup v2: swappiness and disableOOMKiller are ignored with a warning" {
	require_cgroup2_controller memory
	update_config '.linux.resources.memory = {"limit": 67108864, "disableOOMKiller": true, "swappiness": 10}'
	probe_run report pid
	[ "$status" -eq 0 ]
	[[ "$output" == *"swappiness ignored"* ]]
	[[ "$output" == *"disableOOMKiller ignored"* ]]
}

@test "default level: a config without a pids limit gets hrun's (4096); compat and an explicit -1 get none" {
	require_controller pids
	update_config 'del(.linux.resources.pids)'
	set_args /probe wait-signal
	hrun_bg "$OUT" --hardening=default run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	[ "$(cg_file pids pids.max)" = 4096 ]
	[ "$(jq .linux.resources.pids.limit "$STATE/$ID/config.json")" = 4096 ]
	stop_bg
	"$HRUN" --root "$STATE" delete --force "$ID" >/dev/null 2>&1 || true
	hrun_bg "$OUT" --hardening=compat run -b "$BUNDLE" "$ID"
	wait_for_line "$OUT" '^ready=1$'
	[ "$(cg_file pids pids.max)" = max ]
	[ "$(jq -r '.linux.resources.pids.limit // "unset"' "$STATE/$ID/config.json")" = unset ]
	stop_bg
	"$HRUN" --root "$STATE" delete --force "$ID" >/dev/null 2>&1 || true
	update_config '.linux.resources.pids = {"limit": -1}'
	start_waiting
	[ "$(cg_file pids pids.max)" = max ]
}

@test "events: a memory hog OOM-killed under the memory limit is reported as an oom event" {
	require_controller memory
	update_config '.linux.resources.memory = {"limit": 67108864, "swap": 67108864}'
	start_waiting
	# The watch is set up before the first stats line: an OOM after it
	# cannot be missed.
	hrun_bg "$OUT.events" events --interval 60s "$ID"
	wait_for_line "$OUT.events" '"type":"stats"'
	run hrun exec "$ID" /probe alloc 200
	[ "$status" -eq 137 ]
	wait_for_line "$OUT.events" '"type":"oom"'
	# runc's shape: no data.
	[ "$(grep '"type":"oom"' "$OUT.events" | head -n1 | jq -c .)" = "{\"type\":\"oom\",\"id\":\"$ID\"}" ]
	# The stream ends with the container.
	"$HRUN" --root "$STATE" delete --force "$ID"
	wait_bg "$BG_PID"
	[ "$BG_STATUS" -eq 0 ]
	rm -f "$OUT.events"
}

# The first real block device ("MAJ:MIN"): not a loop, ram, zram or nbd one.
block_device() {
	local d
	for d in /sys/block/*; do
		case ${d##*/} in loop* | ram* | zram* | nbd* | sr*) continue ;; esac
		[ -r "$d/dev" ] && cat "$d/dev" && return 0
	done
	return 1
}

@test "blockIO throttle: read/write bps and iops land in io.max (v2) or blkio.throttle.* (v1); update changes them" {
	if is_v2; then require_controller io; else require_controller blkio; fi
	dev=$(block_device) || skip "no block device on this host (/sys/block has only loop, ram, zram)"
	update_config '.linux.resources.blockIO = {
		"throttleReadBpsDevice": [{"major": $maj, "minor": $min, "rate": 1048576}],
		"throttleWriteIOPSDevice": [{"major": $maj, "minor": $min, "rate": 100}]}' \
		--argjson maj "${dev%:*}" --argjson min "${dev#*:}"
	start_waiting
	if is_v2; then
		grep -qx "$dev rbps=1048576 wbps=max riops=max wiops=100" "$(cgroup_dir io)/io.max"
	else
		grep -qx "$dev 1048576" "$(cgroup_dir blkio)/blkio.throttle.read_bps_device"
		grep -qx "$dev 100" "$(cgroup_dir blkio)/blkio.throttle.write_iops_device"
	fi
	res='{"blockIO": {"throttleReadBpsDevice": [{"major": '${dev%:*}', "minor": '${dev#*:}', "rate": RATE}]}}'
	echo "${res/RATE/2097152}" >"$BUNDLE/res.json"
	run hrun update -r "$BUNDLE/res.json" "$ID"
	[ "$status" -eq 0 ]
	if is_v2; then
		grep -qx "$dev rbps=2097152 wbps=max riops=max wiops=100" "$(cgroup_dir io)/io.max"
	else
		grep -qx "$dev 2097152" "$(cgroup_dir blkio)/blkio.throttle.read_bps_device"
		grep -qx "$dev 100" "$(cgroup_dir blkio)/blkio.throttle.write_iops_device"
	fi
	# A rate of 0 lifts that limit; the others stay.
	echo "${res/RATE/0}" >"$BUNDLE/res.json"
	run hrun update -r "$BUNDLE/res.json" "$ID"
	[ "$status" -eq 0 ]
	if is_v2; then
		grep -qx "$dev rbps=max wbps=max riops=max wiops=100" "$(cgroup_dir io)/io.max"
	else
		! grep -q "^$dev " "$(cgroup_dir blkio)/blkio.throttle.read_bps_device"
		grep -qx "$dev 100" "$(cgroup_dir blkio)/blkio.throttle.write_iops_device"
	fi
}

@test "memory.checkBeforeUpdate: update refuses a limit at or below the current usage, and the limit stays" {
	require_controller memory
	update_config '.linux.resources.memory = {"limit": 134217728, "checkBeforeUpdate": true}'
	start_waiting
	# A file in the container's tmpfs stays charged to its cgroup.
	run hrun exec "$ID" dd if=/dev/zero of=/dev/shm/fill bs=1M count=40
	[ "$status" -eq 0 ]
	run hrun update --memory 16m "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.memory.limit: 16777216 is not above the current usage"*"(checkBeforeUpdate)"* ]]
	if is_v2; then
		[ "$(cg_file memory memory.max)" = 134217728 ]
	else
		[ "$(cg_file memory memory.limit_in_bytes)" = 134217728 ]
	fi
	[ "$(jq .linux.resources.memory.limit "$STATE/$ID/config.json")" = 134217728 ]
	# Above the usage it goes through.
	run hrun update --memory 96m "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq .linux.resources.memory.limit "$STATE/$ID/config.json")" = 100663296 ]
}

@test "memory.useHierarchy false is ignored with a warning: the kernel accounts hierarchically only" {
	require_controller memory
	update_config '.linux.resources.memory = {"limit": 67108864, "useHierarchy": false}'
	probe_run report pid
	[ "$status" -eq 0 ]
	[[ "$output" == *"useHierarchy false ignored"* ]]
}

@test "rdma: limits are written to rdma.max; a device the kernel lacks is refused by it, naming the field" {
	require_controller rdma
	update_config '.linux.resources.rdma = {"hrun_nodev0": {"hcaHandles": 2, "hcaObjects": 100}}'
	probe_run report pid
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.rdma.hrun_nodev0: write rdma.max: No such device"* ]]
	assert_no_leftovers "test-$BATS_TEST_NUMBER"
}

@test "network: classID and priorities reach net_cls.classid and net_prio.ifpriomap (cgroup v1)" {
	require_v1 net_cls
	require_v1 net_prio
	update_config '.linux.resources.network = {"classID": 1048577, "priorities": [{"name": "lo", "priority": 5}]}'
	start_waiting
	[ "$(cg_file net_cls net_cls.classid)" = 1048577 ]
	grep -qx 'lo 5' "$(cgroup_dir net_prio)/net_prio.ifpriomap"
}

@test "network: without net_cls/net_prio hierarchies (any cgroup v2 host) classID and priorities are ignored with a warning" {
	if ! is_v2 && [ -d /sys/fs/cgroup/net_cls ] && [ -d /sys/fs/cgroup/net_prio ]; then
		skip "this host mounts net_cls and net_prio: the test above checks them"
	fi
	update_config '.linux.resources.network = {"classID": 1048577, "priorities": [{"name": "lo", "priority": 5}]}'
	probe_run report pid
	[ "$status" -eq 0 ]
	[[ "$output" == *"network.classID ignored: no cgroup v1 net_cls hierarchy"* ]]
	[[ "$output" == *"network.priorities ignored: no cgroup v1 net_prio hierarchy"* ]]
}

@test "events --stats: runc's stats shape (cpu, memory with cache and raw, pids, blkio, hugetlb) with sane numbers" {
	require_controller memory
	require_controller pids
	update_config '.linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 50}'
	start_waiting
	# 8 MiB in the container's tmpfs: page cache charged to it.
	run hrun exec "$ID" dd if=/dev/zero of=/dev/shm/fill bs=1M count=8
	[ "$status" -eq 0 ]
	run --separate-stderr hrun events --stats "$ID"
	[ "$status" -eq 0 ]
	d=$(jq -c .data <<<"$output")
	[ "$(jq .memory.usage.limit <<<"$d")" = 67108864 ]
	[ "$(jq .memory.usage.usage <<<"$d")" -ge 8388608 ]
	[ "$(jq .memory.cache <<<"$d")" -ge 8388608 ]
	# raw is memory.stat, whichever version's keys.
	[ "$(jq '.memory.raw | has("file") or has("cache")' <<<"$d")" = true ]
	[ "$(jq .pids.limit <<<"$d")" = 50 ]
	[ "$(jq .pids.current <<<"$d")" -ge 1 ]
	[ "$(jq '.cpu.throttling | has("periods") and has("throttledTime")' <<<"$d")" = true ]
	[ "$(jq -r '.blkio.ioServiceBytesRecursive | type' <<<"$d")" = array ]
	[ "$(jq '[.blkio.ioServicedRecursive[] | .op] - ["Read", "Write", "Sync", "Async", "Discard", "Total"] | length' <<<"$d")" = 0 ]
	# One hugetlb entry per page size the kernel has (2MB, 1GB, ...).
	[ "$(jq '.hugetlb | length' <<<"$d")" -eq "$(ls -d /sys/kernel/mm/hugepages/hugepages-* 2>/dev/null | wc -l)" ]
}
