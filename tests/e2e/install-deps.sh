#!/bin/bash
# Install what the end-to-end tests need: the real clients (podman,
# containerd with ctr, conmon) and the tools run.sh uses. Idempotent and
# quiet: packages already installed are not fetched again, and nothing is
# printed unless something is installed or fails.
#
# runc is listed explicitly: podman depends on "crun | runc" and apt would
# otherwise pick crun; runc is the reference runtime the suite is validated
# against (E2E_RUNTIME=/usr/sbin/runc), and containerd depends on it anyway.
# --no-install-recommends keeps slirp4netns, fuse-overlayfs, buildah and
# friends out: the tests run as root with --network none.
set -euo pipefail

PKGS=(podman containerd conmon runc
	bats jq busybox-static gcc libc6-dev
	util-linux bsdutils coreutils procps)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "e2e/install-deps: missing packages ${missing[*]}; run as root" >&2
	exit 1
fi
echo "e2e/install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent or stale on a fresh machine.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
