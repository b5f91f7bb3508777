#!/usr/bin/env bats
# Malformed, truncated and hostile configs: each is refused with a non-zero
# exit and a message that names config.json and the JSON path (for a parse
# error, the line and column), and nothing is left behind: no state
# directory, no cgroup, no process. Failures only setup can find (a bind
# source or namespace file that is missing) name the offending value.

load helpers

setup() {
	setup_bundle
	ID=bad-$BATS_TEST_NUMBER
}

teardown() {
	teardown_bundle
}

# Run the bundle; it must be refused with a message containing every
# argument, and leave nothing behind.
refused() {
	run hrun run -b "$BUNDLE" "$ID"
	if [ "$status" -eq 0 ]; then
		echo "hrun accepted the config; output: $output"
		return 1
	fi
	for want in "$@"; do
		[[ "$output" == *"$want"* ]] || { echo "message lacks \"$want\": $output"; return 1; }
	done
	assert_no_leftovers "$ID"
	[ -z "$(ls -A "$STATE" 2>/dev/null)" ] || { echo "state root not empty:"; ls -A "$STATE"; return 1; }
	# A leftover init would be a clone of hrun, its command line naming
	# the bundle.
	if pgrep -f -- "$BUNDLE" >/dev/null; then
		echo "a process of the bundle is left:"
		pgrep -af -- "$BUNDLE"
		return 1
	fi
}

# The config with a jq FILTER applied must be refused naming config.json
# and each further argument (the JSON path, the offending value).
refused_with() {
	local filter=$1
	shift
	update_config "$filter"
	refused "config.json: " "$@"
}

@test "invalid JSON: truncated document, refused with line and column" {
	head -c 200 "$BUNDLE/config.json" >"$BUNDLE/config.json.tmp"
	mv "$BUNDLE/config.json.tmp" "$BUNDLE/config.json"
	refused "config.json:" "parse error"
	[[ "$output" =~ config\.json:[0-9]+:[0-9]+: ]]
}

@test "invalid JSON: an empty file" {
	: >"$BUNDLE/config.json"
	refused "config.json: empty document"
}

@test "invalid JSON: trailing garbage after the document" {
	echo '} {' >>"$BUNDLE/config.json"
	refused "config.json:"
}

@test "hostile JSON: nesting 100000 levels deep" {
	python3 -c 'print("[" * 100000 + "]" * 100000)' >"$BUNDLE/config.json"
	refused "config.json:" "nesting deeper than"
}

@test "hostile JSON: a 64 MiB document" {
	{
		printf '{"pad": "'
		head -c 67108864 /dev/zero | tr '\0' a
		printf '"}'
	} >"$BUNDLE/config.json"
	refused "config.json: file too large"
}

@test "hostile JSON: a NUL inside a string" {
	update_config '.hostname = "a\u0000b"'
	refused "config.json:" 'string contains \u0000'
}

@test "the document is not an object" {
	echo '[]' >"$BUNDLE/config.json"
	refused "config.json: expected object, got array"
}

@test "missing process" {
	refused_with 'del(.process)' "process: required"
}

@test "wrong type: process.args is a string" {
	refused_with '.process.args = "/probe"' "process.args: expected array, got string"
}

@test "wrong type: a number among process.args" {
	refused_with '.process.args = ["/probe", 5]' "process.args[1]: expected string, got number"
}

@test "wrong type: process.user.uid is a string" {
	refused_with '.process.user.uid = "0"' "process.user.uid: expected integer, got string"
}

@test "out of range: process.user.uid is negative" {
	refused_with '.process.user.uid = -1' "process.user.uid: value -1 out of range"
}

@test "wrong type: root is a string" {
	refused_with '.root = "rootfs"' "root: expected object, got string"
}

@test "wrong type: mounts is an object" {
	refused_with '.mounts = {}' "mounts: expected array, got object"
}

@test "wrong type: an additionalGids entry is a string" {
	refused_with '.process.user.additionalGids = [1, "x"]' "process.user.additionalGids[1]: expected integer, got string"
}

@test "unsupported ociVersion" {
	refused_with '.ociVersion = "2.0.0"' 'ociVersion: unsupported version "2.0.0"'
}

@test "empty process.args" {
	refused_with '.process.args = []' "process.args: at least one argument is required"
}

@test "relative mount destination" {
	refused_with '.mounts[0].destination = "proc"' 'mounts[0].destination: "proc" is not an absolute path'
}

@test "relative cwd" {
	refused_with '.process.cwd = "tmp"' 'process.cwd: "tmp" is not an absolute path'
}

@test "an env entry without =" {
	refused_with '.process.env = ["PATH=/bin", "NOEQUALS"]' 'process.env[1]: "NOEQUALS" is not of the form NAME=VALUE'
}

@test "unknown capability" {
	n=$(jq '.process.capabilities.effective | length' "$BUNDLE/config.json")
	refused_with '.process.capabilities.effective += ["CAP_BOGUS"]' \
		"process.capabilities.effective[$n]: unknown capability \"CAP_BOGUS\""
}

@test "unknown rlimit" {
	refused_with '.process.rlimits[0].type = "RLIMIT_BOGUS"' 'process.rlimits[0].type: unknown rlimit "RLIMIT_BOGUS"'
}

@test "rlimit soft above hard" {
	refused_with '.process.rlimits[0].soft = 4096' "process.rlimits[0]: soft limit 4096 exceeds hard limit 1024"
}

@test "duplicate namespace" {
	n=$(jq '.linux.namespaces | length' "$BUNDLE/config.json")
	refused_with '.linux.namespaces += [{"type": "pid"}]' "linux.namespaces[$n].type: duplicate namespace \"pid\""
}

@test "unknown namespace type" {
	refused_with '.linux.namespaces[1].type = "bogus"' 'linux.namespaces[1].type: unknown namespace type'
}

@test "relative namespace path" {
	refused_with '.linux.namespaces[1].path = "netns/x"' 'linux.namespaces[1].path: "netns/x" is not an absolute path'
}

@test "a new user namespace without mappings" {
	refused_with 'del(.linux.uidMappings, .linux.gidMappings)' \
		"linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings"
}

@test "mappings without a user namespace" {
	refused_with '.linux.namespaces |= map(select(.type != "user"))' \
		"linux.uidMappings: mappings given but no user namespace is configured"
}

@test "overlapping uid mappings" {
	refused_with '.linux.uidMappings += [{"containerID": 0, "hostID": 300000, "size": 10}]' \
		"linux.uidMappings[1]: container range overlaps linux.uidMappings[0]"
}

@test "a uid mapping that overflows 32 bits" {
	refused_with '.linux.uidMappings[0].hostID = 4294967295' \
		"linux.uidMappings[0]: hostID 4294967295 + size 65536 overflows"
}

@test "a hostname without a uts namespace" {
	refused_with '.linux.namespaces |= map(select(.type != "uts"))' "hostname: setting it requires a uts namespace"
}

@test "a sysctl that is not namespaced" {
	refused_with '.linux.sysctl = {"kernel.panic": "1"}' 'linux.sysctl["kernel.panic"]: not namespaced'
}

@test "a sysctl name that climbs out of /proc/sys" {
	refused_with '.linux.sysctl = {"net/../../../etc/x": "1"}' 'linux.sysctl["net/../../../etc/x"]: invalid sysctl name'
}

@test "a relative masked path" {
	n=$(jq '.linux.maskedPaths | length' "$BUNDLE/config.json")
	refused_with '.linux.maskedPaths += ["proc/kcore"]' "linux.maskedPaths[$n]: \"proc/kcore\" is not an absolute path"
}

@test "an unknown seccomp action" {
	refused_with '.linux.seccomp = {"defaultAction": "SCMP_ACT_BOGUS"}' \
		'linux.seccomp.defaultAction: unknown action "SCMP_ACT_BOGUS"'
}

# bats test_tags=vm
@test "a mountLabel on a host without SELinux is refused, not ignored" {
	[ "$(stat -f -c %T /sys/fs/selinux 2>/dev/null)" != selinuxfs ] || skip "SELinux is enabled on this host"
	update_config '.linux.mountLabel = "system_u:object_r:container_file_t:s0:c1,c2"'
	refused 'linux.mountLabel "system_u:object_r:container_file_t:s0:c1,c2" requested but SELinux is not enabled on this host'
}

@test "a process selinuxLabel on a host without SELinux is refused, not ignored" {
	[ "$(stat -f -c %T /sys/fs/selinux 2>/dev/null)" != selinuxfs ] || skip "SELinux is enabled on this host"
	update_config '.process.selinuxLabel = "system_u:system_r:container_t:s0:c1,c2"'
	refused 'process.selinuxLabel "system_u:system_r:container_t:s0:c1,c2" requested but SELinux is not enabled on this host'
}

@test "cgroupsPath with .." {
	refused_with ".linux.cgroupsPath = \"$CGROUP/../../escape\"" 'linux.cgroupsPath: must not contain ".."'
	for d in $(cgroup_dirs /escape); do
		[ ! -d "$d" ] || { echo "$d made"; return 1; }
	done
}

@test "missing rootfs directory" {
	refused_with '.root.path = "no-such-rootfs"' 'root.path: "no-such-rootfs": No such file or directory'
}

@test "rootfs that is a file" {
	refused_with '.root.path = "config.json"' "root.path: open" "Not a directory"
}

@test "missing config.json" {
	rm "$BUNDLE/config.json"
	refused 'open "config.json": No such file or directory'
}

@test "invalid container IDs: a space, '..', and longer than 250 bytes" {
	run hrun run -b "$BUNDLE" "bad id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid container ID format: bad id"* ]]
	run hrun run -b "$BUNDLE" ..
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid container ID format: .."* ]]
	run hrun run -b "$BUNDLE" "$(printf 'a%.0s' {1..251})"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid container ID: longer than 250 bytes"* ]]
	[ -z "$(ls -A "$STATE" 2>/dev/null)" ]
	for d in $(cgroup_dirs); do
		[ ! -d "$d" ] || { echo "$d left behind"; return 1; }
	done
}

# bats test_tags=vm
@test "late failure: a bind source that does not exist (after the cgroup and init exist)" {
	update_config '.mounts += [{"destination": "/tmp", "type": "bind", "source": "/no/such/source", "options": ["bind"]}]'
	refused 'bind source "/no/such/source": No such file or directory' 'mount "/tmp"'
}

@test "'..' after a destination directory the image lacks: refused naming the mount, the missing directory and why; nothing made" {
	local n
	n=$(jq '.mounts | length' "$BUNDLE/config.json")
	[ ! -e "$BUNDLE/rootfs/nosuch" ]
	update_config '.mounts += [{"destination": "/nosuch/a/../../x", "type": "tmpfs", "source": "tmpfs"}]'
	refused "mount \"/nosuch/a/../../x\" (mounts[$n].destination)" \
		'"/nosuch" does not exist in the container rootfs and ".." follows it'
	# Nothing was made for it, inside the rootfs or next to it.
	[ ! -e "$BUNDLE/rootfs/nosuch" ]
	[ ! -e "$BUNDLE/rootfs/x" ]
	[ ! -e "$BUNDLE/x" ]
	update_config '.mounts[-1].destination = "/nosuch/../x"'
	refused "(mounts[$n].destination)" '"/nosuch" does not exist in the container rootfs and ".." follows it'
	[ ! -e "$BUNDLE/rootfs/nosuch" ]
	[ ! -e "$BUNDLE/rootfs/x" ]
}

@test "'..' in a destination: a relative one is refused; through an existing directory it stays inside the rootfs" {
	update_config '.mounts += [{"destination": "a/../../x", "type": "tmpfs", "source": "tmpfs"}]'
	refused 'config.json: mounts[' '.destination: "a/../../x" is not an absolute path'
	# Climbing past the root stops at it: /x of the container, made inside
	# (by the container's root: without a user namespace it may write
	# the image's root directory).
	mkdir "$BUNDLE/rootfs/there"
	update_config '.mounts[-1].destination = "/there/../../../../x/y" | .process.args = ["/probe", "report", "mount"]
		| del(.linux.namespaces[] | select(.type == "user")) | del(.linux.uidMappings, .linux.gidMappings)'
	run hrun run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	probe_values mount | grep -q '^/x/y tmpfs ' || { echo "$output"; false; }
	[ -d "$BUNDLE/rootfs/x/y" ]
	[ ! -e "$BUNDLE/x" ]
	[ ! -e /x/y ]
	assert_no_leftovers "$ID"
}

@test "late failure: a namespace path that does not exist" {
	update_config '(.linux.namespaces[] | select(.type == "network")).path = "/no/such/netns"'
	refused 'network namespace "/no/such/netns": No such file or directory'
}

@test "late failure: an unknown filesystem type" {
	update_config '.mounts += [{"destination": "/tmp", "type": "no-such-fs", "source": "x"}]'
	refused 'no-such-fs' '"/tmp"' "No such device"
}

@test "hostile path: a namespace path naming a FIFO is refused without hanging" {
	mkfifo "$BUNDLE/netns-fifo"
	update_config ".linux.namespaces |= map(if .type == \"network\" then .path = \"$BUNDLE/netns-fifo\" else . end)"
	refused "network namespace" "is not a namespace file"
}
