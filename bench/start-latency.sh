#!/bin/bash
# Start latency of hrun, crun and runc side by side, in one run: each
# runtime runs the same bundle (busybox rootfs, `hrun spec` config with a
# user namespace, /bin/true) to completion, timed by hyperfine. Prints
# hyperfine's table, then medians and the ratios to hrun.
#
#   bench/start-latency.sh [RUNS]          (as root; default 50 runs)
#
# crun refuses hybrid cgroup hosts ("cgroups in hybrid mode not
# supported") unless the unified hierarchy is hidden, so it runs in a
# private mount namespace with a tmpfs over /sys/fs/cgroup/unified; the
# other two run as they are. crun's figure therefore includes unshare, sh
# and a tmpfs mount (about 2-3 ms here): a ceiling, not crun's own time.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HRUN_BUILD_DIR:-$top/build}
runs=${1:-50}
hrun=$build/src/hrun

for p in hyperfine crun runc jq busybox-static; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		{ apt-get update -qq && apt-get install -y -qq "$p" >/dev/null; }
done
[ -x "$hrun" ] || { echo "build hrun first (tests/run-all.sh or the README)" >&2; exit 1; }

work=$(mktemp -d /tmp/hrun-bench.XXXXXX)
trap 'rm -rf "$work"; rmdir /sys/fs/cgroup/*/hrun-bench 2>/dev/null || true' EXIT
chmod 755 "$work"
"$top/tests/fixtures/make-rootfs.sh" "$work/rootfs" "$build/tests/fixtures/probe" >/dev/null
(cd "$work" && "$hrun" spec)
# crun 1.8 and runc 1.1 know runtime-spec 1.0.x; the config uses nothing newer.
jq '.ociVersion = "1.0.2" | .process.args = ["/bin/true"] | .linux.cgroupsPath = "/hrun-bench/c"' \
	"$work/config.json" >"$work/c" && mv "$work/c" "$work/config.json"

hyperfine --runs "$runs" --warmup 3 --export-json "$work/result.json" \
	-n hrun "$hrun --root $work/hrun-state run -b $work bench-hrun" \
	-n crun "unshare -m --propagation private sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified && exec crun --root $work/crun-state run -b $work bench-crun'" \
	-n runc "runc --root $work/runc-state run -b $work bench-runc"
jq -r '.results as $r | ($r[] | select(.command == "hrun") | .median) as $h
	| $r[] | "\(.command): median \(.median * 1000 | . * 100 | round / 100) ms, \(.median / $h * 100 | round / 100)x hrun"' \
	"$work/result.json"
