# Shared setup for the integration tests: every test gets its own bundle
# (a copy of the test rootfs and a fresh `hrun spec` config), its own state
# root and an absolute cgroupsPath under a dedicated parent, all removed
# afterwards.

: "${HRUN:?set HRUN to the hrun binary}"
: "${HRUN_TEST_ROOTFS:?set HRUN_TEST_ROOTFS to the test rootfs (tests/fixtures/make-rootfs.sh)}"
CGROUP_PARENT=${HRUN_TEST_CGROUP_PARENT:-/hrun-test}

setup_bundle() {
	BUNDLE=$(mktemp -d /tmp/hrun-test.XXXXXX)
	# The container's root maps to an unprivileged host uid: it must be
	# able to traverse the bundle to reach its rootfs.
	chmod 755 "$BUNDLE"
	cp -a "$HRUN_TEST_ROOTFS" "$BUNDLE/rootfs"
	STATE=$BUNDLE.state
	CGROUP=$CGROUP_PARENT/$(basename "$BUNDLE")
	(cd "$BUNDLE" && "$HRUN" spec) || return 1
	update_config ".linux.cgroupsPath = \"$CGROUP\" | .process.args = [\"/probe\"]"
}

teardown_bundle() {
	rm -rf "$BUNDLE" "$STATE"
	for d in /sys/fs/cgroup/*"$CGROUP" /sys/fs/cgroup/unified"$CGROUP"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}

# Apply a jq filter to the bundle's config.json.
update_config() {
	local tmp
	tmp=$(mktemp)
	jq "$1" "$BUNDLE/config.json" >"$tmp" && mv "$tmp" "$BUNDLE/config.json"
}

# hrun with the test's state root; a hung container cannot hang the suite.
hrun() {
	timeout --kill-after=5 60 "$HRUN" --root "$STATE" "$@"
}

# Run the probe in a container: `probe_run [PROBE ARGS...]`.
probe_run() {
	update_config ".process.args = [\"/probe\"$(printf ', "%s"' "$@")]"
	run hrun run -b "$BUNDLE" "test-$BATS_TEST_NUMBER"
}

# The value of KEY in the probe output held in $output (first match).
probe_value() {
	printf '%s\n' "$output" | sed -n "s/^$1=//p" | head -n1
}

# All values of a repeated KEY.
probe_values() {
	printf '%s\n' "$output" | sed -n "s/^$1=//p"
}

# Nothing of the container may remain: state, cgroup, process.
assert_no_leftovers() {
	local id=$1
	[ ! -e "$STATE/$id" ] || { echo "state of $id left behind"; return 1; }
	for d in /sys/fs/cgroup/*"$CGROUP" /sys/fs/cgroup/unified"$CGROUP"; do
		[ ! -d "$d" ] || { echo "cgroup $d left behind"; return 1; }
	done
}
