#!/bin/bash
# The README's first command: on a fresh Debian 12 machine, install what
# hrun needs, build it, make a demo bundle and run a hardened container
# that reports, from inside, what protection it got.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HRUN_BUILD_DIR:-$top/build}
demo=${HRUN_DEMO_DIR:-/var/lib/hrun-demo}

if [ "$(id -u)" -ne 0 ]; then
	echo "quickstart: run as root (it installs packages and starts a container)" >&2
	exit 1
fi
"$top/tests/install-deps.sh" --build-only
for p in busybox-static jq; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		{ apt-get update -qq && apt-get install -y -qq "$p" >/dev/null; }
done

echo "== building hrun"
(cd "$top" && ./autogen.sh >/dev/null 2>&1)
mkdir -p "$build"
(cd "$build" && "$top/configure" >/dev/null)
make -C "$build" -s -j"$(nproc)" src/hrun tests/fixtures/probe

echo "== making the demo bundle in $demo"
mkdir -p "$demo"
# The container's root is an unprivileged host uid: it must reach the rootfs.
chmod 755 "$demo"
"$top/tests/fixtures/make-rootfs.sh" "$demo/rootfs" "$build/tests/fixtures/probe" >/dev/null
rm -f "$demo/config.json"
(cd "$demo" && "$build/src/hrun" spec)
# The demo's cgroup sits under a dedicated parent, never the caller's.
tmp=$(mktemp)
jq '.process.args = ["/probe", "report", "uid", "uid_map", "cap_eff_names", "cap_amb_names",
	"no_new_privs", "seccomp", "hostname", "pid", "ns_user", "ns_net", "ns_cgroup"]
    | .linux.cgroupsPath = "/hrun-demo/demo"' "$demo/config.json" >"$tmp"
mv "$tmp" "$demo/config.json"

echo "== hrun run $demo/  (what the container sees, from inside)"
"$build/src/hrun" run "$demo/" | sed 's/^/   /'
echo "== and a write to its root:"
tmp=$(mktemp)
jq '.process.args = ["/probe", "write", "/etc/passwd", "owned"]' "$demo/config.json" >"$tmp"
mv "$tmp" "$demo/config.json"
"$build/src/hrun" run "$demo/" | sed 's/^/   /'
echo "== and bpf(2), which hrun's seccomp profile refuses:"
tmp=$(mktemp)
jq '.process.args = ["/probe", "syscall", "321", "0", "0", "0"]' "$demo/config.json" >"$tmp"
mv "$tmp" "$demo/config.json"
"$build/src/hrun" run "$demo/" | sed 's/^/   /'
rmdir /sys/fs/cgroup/*/hrun-demo 2>/dev/null || true
echo "Done: root in the container is uid 100000 on the host, with 11 capabilities,"
echo "no_new_privs, hrun's seccomp profile (seccomp=2), its own namespaces and a read-only"
echo "root. Try: $build/src/hrun --help"
