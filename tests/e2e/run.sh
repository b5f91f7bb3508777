#!/bin/bash
# End-to-end tests: real clients (podman, containerd/ctr, conmon) drive the
# OCI runtime at $E2E_RUNTIME (default: the freshly built hrun).
#
#   tests/e2e/run.sh [TAPFILE]
#
# Prints TAP (and writes it to TAPFILE too when given); exits non-zero when
# a test fails, setup fails, or anything is left behind afterwards.
#
# Everything the clients keep lives under one temp dir, $E2E_TMP
# (/var/tmp/hrun-e2e.XXXXXX: /tmp may be a small tmpfs, and image layers
# plus overlay upper dirs live here), and every container's cgroup lives under one dedicated parent,
# /hrun-e2e/<run id>, never below the cgroup this script runs in. The EXIT
# trap tears it all down whatever happened: containers, containerd and its
# shims, conmon monitors, mounts, cgroups, files.
#
# Environment:
#   E2E_RUNTIME      runtime binary (default $top/build/src/hrun)
#   E2E_WATCHDOG     seconds the whole run may take before it is cut (300)
#   E2E_CMD_TIMEOUT  seconds any single client command may take (60)

# The teardown functions run from the EXIT trap only.
# shellcheck disable=SC2317
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
tapfile=${1:-}
watchdog=${E2E_WATCHDOG:-300}
export E2E_CMD_TIMEOUT=${E2E_CMD_TIMEOUT:-60}
export E2E_CTR_NAMESPACE=hrun-e2e
export E2E_PODMAN_IMAGE=localhost/hrun-e2e:latest
export E2E_CTR_IMAGE=localhost/hrun-e2e:latest

say() { echo "# e2e: $*" >&2; }

# A setup failure still leaves a TAP file that counts as one failed test.
fail_setup() {
	say "setup failed: $*"
	[ -z "$tapfile" ] || printf '1..1\nnot ok 1 e2e setup: %s\n' "$*" >"$tapfile"
	exit 1
}

# The watchdog: a command may run only until the run's deadline (and never
# more than its own limit); timeout kills the command's whole process group.
# It runs in the background and is waited for, so that INT/TERM reach this
# script's traps at once and the teardown can end it ($child).
child=""
bounded() {
	local limit=$1 left rc
	shift
	left=$((deadline - $(date +%s)))
	[ "$left" -gt 0 ] || { say "watchdog: the run exceeded ${watchdog}s"; return 124; }
	[ "$left" -lt "$limit" ] && limit=$left
	timeout --kill-after=5 "$limit" "$@" &
	child=$!
	wait "$child"
	rc=$?
	child=""
	[ "$rc" -ne 124 ] || say "watchdog: cut after ${limit}s: $*"
	return "$rc"
}

[ "$(id -u)" -eq 0 ] || { echo "e2e: must run as root (real containers)" >&2; exit 1; }
# Not on the run's clock: a first install fetches a few hundred MB.
timeout 900 "$here/install-deps.sh" || fail_setup "installing dependencies failed"
started=$(date +%s)
deadline=$((started + watchdog))

E2E_RUNTIME=${E2E_RUNTIME:-$top/build/src/hrun}
[[ $E2E_RUNTIME == */* ]] || E2E_RUNTIME=$(command -v "$E2E_RUNTIME") # a bare name: from PATH
[ -x "$E2E_RUNTIME" ] || fail_setup "E2E_RUNTIME=$E2E_RUNTIME is not an executable (build hrun, or set E2E_RUNTIME=/usr/sbin/runc)"
# Clients store the runtime path and run it from other directories.
E2E_RUNTIME=$(readlink -f "$E2E_RUNTIME")
export E2E_RUNTIME
# Rootful podman lets the runtime use its default state root, which for
# runc and hrun is /run/<binary name>.
runtime_default_root=/run/$(basename "$E2E_RUNTIME")

# Host paths the clients create outside any root we can give them; they are
# removed at the end only if this run created them.
# (/run/runc too: a wrapper named otherwise may still exec runc.)
host_dirs=(/run/containerd "$runtime_default_root" /run/runc /run/hrun /var/lib/containers)
declare -A preexisting=()
for d in "${host_dirs[@]}"; do
	[ -e "$d" ] && preexisting[$d]=1
done

E2E_TMP=$(mktemp -d /var/tmp/hrun-e2e.XXXXXX) || fail_setup "mktemp failed"
# A runtime that maps container root to another uid must still reach the
# rootfs below it.
chmod 755 "$E2E_TMP"
export E2E_TMP
export E2E_CGROUP_PARENT=/hrun-e2e/${E2E_TMP##*.}
ctr_address=$E2E_TMP/containerd/containerd.sock
export E2E_CTR_ADDRESS=$ctr_address
containerd_pid=""

# --- teardown ------------------------------------------------------------------

ctr_() {
	timeout --kill-after=5 15 ctr --address "$ctr_address" --namespace "$E2E_CTR_NAMESPACE" "$@"
}

podman_() {
	timeout --kill-after=5 15 podman --root "$E2E_TMP/podman/root" --runroot "$E2E_TMP/podman/runroot" \
		--runtime "$E2E_RUNTIME" --cgroup-manager cgroupfs --events-backend file "$@"
}

runtime_() {
	timeout --kill-after=5 10 "$E2E_RUNTIME" "$@"
}

# Every cgroup directory of this run, deepest first.
our_cgroups() {
	find /sys/fs/cgroup/*"$E2E_CGROUP_PARENT" -depth -type d 2>/dev/null
}

# Pids of processes that belong to this run: in one of its cgroups, or with
# $E2E_TMP in their command line or working directory (containerd, shims,
# conmon, podman's cleanup processes). Never this script or its parents.
our_pids() {
	local d p state
	{
		for d in $(our_cgroups); do
			cat "$d/cgroup.procs" 2>/dev/null
		done
		grep -slF -- "$E2E_TMP" /proc/[0-9]*/cmdline | cut -d/ -f3
		find /proc/[0-9]*/cwd -maxdepth 0 -lname "$E2E_TMP*" 2>/dev/null | cut -d/ -f3
	} | sort -un | while read -r p; do
		# Skip this shell, its subshells and parents, the grep above (its
		# own command line matched), and zombies: they hold nothing.
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
		state=$(stat_field "$p" 1) || continue
		[ "$state" = Z ] && continue
		is_ancestor "$p" || echo "$p"
	done
}

# Field N of /proc/PID/stat counted after "(comm)", which may hold spaces:
# 1 is the state, 2 the parent pid.
stat_field() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	read -r -a f <<<"${s##*) }"
	echo "${f[$2 - 1]}"
}

is_ancestor() {
	local p=$$
	while [ -n "$p" ] && [ "$p" -gt 1 ]; do
		[ "$p" = "$1" ] && return 0
		p=$(stat_field "$p" 2) || return 1
	done
	return 1
}

our_mounts() {
	# mountinfo field 5 is the mount point; deepest first
	awk -v t="$E2E_TMP" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Polite first: the clients remove what they made, through the runtime.
teardown_clients() {
	local id t podman_ids
	if [ -d "$E2E_TMP/podman/root" ]; then
		mapfile -t podman_ids < <(podman_ ps -a -q --no-trunc 2>/dev/null)
		for id in "${podman_ids[@]}"; do
			podman_ rm -f -t 0 "$id" >/dev/null 2>&1
		done
		podman_ rmi -a -f >/dev/null 2>&1
		# What podman could not make the runtime forget; podman's runtime
		# state is in the runtime's default root.
		for id in "${podman_ids[@]}"; do
			runtime_ delete --force "$id" >/dev/null 2>&1
			[ -d "$runtime_default_root/$id" ] && rm -rf "${runtime_default_root:?}/$id"
		done
	fi
	if [ -n "$containerd_pid" ]; then
		for t in $(ctr_ task ls -q 2>/dev/null); do
			ctr_ task resume "$t" >/dev/null 2>&1
			ctr_ task kill -s SIGKILL "$t" >/dev/null 2>&1
			ctr_ task delete --force "$t" >/dev/null 2>&1
		done
		for t in $(ctr_ container ls -q 2>/dev/null); do
			ctr_ container delete "$t" >/dev/null 2>&1
		done
		kill -TERM "$containerd_pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$containerd_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$containerd_pid" 2>/dev/null
		wait "$containerd_pid" 2>/dev/null
	fi
	# conmon.bats keeps runtime state in $E2E_TMP/conmon/N/state
	for t in "$E2E_TMP"/conmon/*/state/*; do
		[ -e "$t" ] || continue
		runtime_ --root "${t%/*}" delete --force "${t##*/}" >/dev/null 2>&1
	done
}

# Then force: whatever the runtime or a client left behind.
teardown_force() {
	local d p m pids
	# A frozen process cannot die: thaw every freezer cgroup of the run.
	find /sys/fs/cgroup/freezer"$E2E_CGROUP_PARENT" -name freezer.state 2>/dev/null |
		while read -r d; do
			echo THAWED >"$d"
		done 2>/dev/null
	for _ in 1 2 3; do
		pids=$(our_pids)
		[ -n "$pids" ] || break
		for p in $pids; do
			kill -KILL "$p" 2>/dev/null
		done
		sleep 0.5
	done
	for m in $(our_mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for d in $(our_cgroups); do
		rmdir "$d" 2>/dev/null
	done
	# The shared top-level parent goes once no run uses it.
	rmdir /sys/fs/cgroup/*/hrun-e2e 2>/dev/null
	rm -rf "$E2E_TMP"
	for d in "${host_dirs[@]}"; do
		[ -n "${preexisting[$d]:-}" ] && continue
		case $d in
		/var/lib/containers) rm -rf "$d" ;; # only podman's blob-info cache
		*) find "$d" -depth -type d -empty -delete 2>/dev/null ;;
		esac
	done
}

# Report anything still there; it makes the run fail.
check_leftovers() {
	local bad=0 x
	x=$(our_mounts)
	[ -z "$x" ] || { say "left behind: mounts: $x"; bad=1; }
	x=$(our_pids)
	[ -z "$x" ] || { say "left behind: processes: $(ps -o pid=,args= -p "${x//$'\n'/,}" | cut -c1-200)"; bad=1; }
	x=$(ls -d /sys/fs/cgroup/*"$E2E_CGROUP_PARENT" 2>/dev/null)
	[ -z "$x" ] || { say "left behind: cgroups: $x"; bad=1; }
	[ ! -e "$E2E_TMP" ] || { say "left behind: $E2E_TMP"; bad=1; }
	return "$bad"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	say "tearing down"
	# interrupted while a bounded command ran: end it (timeout passes the
	# signal on to the command's process group)
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	teardown_clients
	teardown_force
	check_leftovers || rc=1
	say "done in $(($(date +%s) - started))s"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- image --------------------------------------------------------------------

# An OCI image layout (oci-layout, index.json, blobs: config, manifest, one
# uncompressed layer) packed as a tarball, built from the rootfs tarball.
# The annotation io.containerd.image.name gives the image its name on
# `ctr images import`.
add_blob() {
	local file=$1 digest
	digest=$(sha256sum "$file" | cut -d' ' -f1) || return 1
	mv "$file" "$oci/blobs/sha256/$digest" && echo "$digest"
}

make_oci_archive() {
	local layer=$1 out=$2 arch l c m
	oci=$E2E_TMP/image-oci
	mkdir -p "$oci/blobs/sha256"
	arch=$(dpkg --print-architecture) # amd64/arm64: the same names as OCI's
	cp "$layer" "$oci/layer" && l=$(add_blob "$oci/layer") || return 1
	jq -nc --arg arch "$arch" --arg diff "sha256:$l" '{
		architecture: $arch, os: "linux",
		config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
			Cmd: ["/bin/sh"]},
		rootfs: {type: "layers", diff_ids: [$diff]}}' >"$oci/config" &&
		c=$(add_blob "$oci/config") || return 1
	jq -nc --arg c "sha256:$c" --argjson cs "$(stat -c %s "$oci/blobs/sha256/$c")" \
		--arg l "sha256:$l" --argjson ls "$(stat -c %s "$oci/blobs/sha256/$l")" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' \
		>"$oci/manifest" && m=$(add_blob "$oci/manifest") || return 1
	jq -n --arg m "sha256:$m" --argjson ms "$(stat -c %s "$oci/blobs/sha256/$m")" \
		--arg arch "$arch" --arg name "$E2E_CTR_IMAGE" '{
		schemaVersion: 2,
		manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
			digest: $m, size: $ms, platform: {architecture: $arch, os: "linux"},
			annotations: {"io.containerd.image.name": $name,
				"org.opencontainers.image.ref.name": "latest"}}]}' >"$oci/index.json" || return 1
	echo '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
	tar -C "$oci" -cf "$out" oci-layout index.json blobs
}

# --- setup --------------------------------------------------------------------

say "runtime $E2E_RUNTIME, state in $E2E_TMP, cgroups under $E2E_CGROUP_PARENT"
mkdir -p "$E2E_TMP"/{podman/{root,runroot,tmp,net},containerd/{root,state,opt,fifo,runc-root},conmon}

probe=$top/build/tests/fixtures/probe
[ -x "$probe" ] || probe="" # make-rootfs.sh then compiles probe.c itself
export E2E_ROOTFS=$E2E_TMP/rootfs
if ! bounded 180 "$top/tests/fixtures/make-rootfs.sh" "$E2E_ROOTFS" ${probe:+"$probe"} >"$E2E_TMP/rootfs.log" 2>&1 ||
	! bounded 60 "$top/tests/fixtures/make-rootfs.sh" --tar "$E2E_TMP/rootfs.tar" "$E2E_ROOTFS" >>"$E2E_TMP/rootfs.log" 2>&1; then
	cat "$E2E_TMP/rootfs.log" >&2
	fail_setup "building the test rootfs failed"
fi
make_oci_archive "$E2E_TMP/rootfs.tar" "$E2E_TMP/image.oci.tar" || fail_setup "building the OCI archive failed"

# podman: everything it would put in /etc/containers, /var/lib/containers,
# /run/libpod or /etc/cni goes to $E2E_TMP/podman instead. Only this file
# is read when CONTAINERS_CONF is set.
#
# default_ulimits: podman's own defaults set RLIMIT_NOFILE and RLIMIT_NPROC
# to 1048576, and raising a hard limit needs CAP_SYS_RESOURCE, which this
# host withholds even from root: runc fails with "error setting rlimits".
# So the container gets the limits we have, never more. podman also lowers
# its own RLIMIT_NPROC to kernel.pid_max, so nproc must not exceed that.
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
[ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ] && nproc=$pid_max
cat >"$E2E_TMP/podman/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$E2E_TMP/podman/events.log"
tmp_dir = "$E2E_TMP/podman/tmp"

[network]
network_config_dir = "$E2E_TMP/podman/net"
EOF
cat >"$E2E_TMP/podman/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$E2E_TMP/podman/root"
runroot = "$E2E_TMP/podman/runroot"
EOF
export CONTAINERS_CONF=$E2E_TMP/podman/containers.conf
export CONTAINERS_STORAGE_CONF=$E2E_TMP/podman/storage.conf
bounded 60 podman --root "$E2E_TMP/podman/root" --runroot "$E2E_TMP/podman/runroot" \
	import "$E2E_TMP/rootfs.tar" "$E2E_PODMAN_IMAGE" >"$E2E_TMP/podman-import.log" 2>&1 ||
	{ cat "$E2E_TMP/podman-import.log" >&2; fail_setup "podman import failed"; }

# containerd: private socket, root and state; the CRI plugin is off (it
# would want CNI and a kubelet's worth of config); the opt plugin would
# otherwise create /opt/containerd.
cat >"$E2E_TMP/containerd/config.toml" <<EOF
version = 2
root = "$E2E_TMP/containerd/root"
state = "$E2E_TMP/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$ctr_address"

[ttrpc]
  address = "$ctr_address.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$E2E_TMP/containerd/opt"
EOF
containerd --config "$E2E_TMP/containerd/config.toml" >"$E2E_TMP/containerd/containerd.log" 2>&1 </dev/null &
containerd_pid=$!
for _ in $(seq 100); do
	ctr_ version >/dev/null 2>&1 && break
	kill -0 "$containerd_pid" 2>/dev/null || break
	sleep 0.1
done
ctr_ version >/dev/null 2>&1 ||
	{ tail -n 20 "$E2E_TMP/containerd/containerd.log" >&2; fail_setup "containerd did not come up"; }
bounded 60 ctr --address "$ctr_address" --namespace "$E2E_CTR_NAMESPACE" \
	images import "$E2E_TMP/image.oci.tar" >"$E2E_TMP/ctr-import.log" 2>&1 ||
	{ cat "$E2E_TMP/ctr-import.log" >&2; fail_setup "ctr images import failed"; }

# --- tests --------------------------------------------------------------------

left=$((deadline - $(date +%s)))
say "setup took $(($(date +%s) - started))s; running bats (at most ${left}s)"
suites=("$here/podman.bats" "$here/containerd.bats" "$here/conmon.bats")
if [ -n "$tapfile" ]; then
	# TAP goes to the file; tail shows it as it comes.
	: >"$tapfile"
	tail -n +1 -f "$tapfile" &
	tail_pid=$!
	bounded "$left" bats --tap "${suites[@]}" >"$tapfile" 2>&1
	rc=$?
	# A cut run's TAP lacks results: make the cut itself count as a failure.
	[ "$rc" -ne 124 ] || echo "not ok - e2e watchdog: bats was cut after ${left}s" >>"$tapfile"
	sleep 0.2
	kill "$tail_pid" 2>/dev/null
	wait "$tail_pid" 2>/dev/null
else
	bounded "$left" bats --tap "${suites[@]}"
	rc=$?
fi
exit "$rc"
