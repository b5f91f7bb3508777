#!/bin/bash
# Install the Debian packages hrun needs to build and to run its tests.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

BUILD_PKGS=(build-essential autoconf automake pkg-config
	libseccomp-dev libcap-dev libselinux1-dev libyajl-dev criu)
TEST_PKGS=(libcmocka-dev busybox-static bats jq clang util-linux)

want=("${BUILD_PKGS[@]}")
[ "${1:-}" = "--build-only" ] || want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages ${missing[*]}; run as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
