#!/usr/bin/env bats
# The command line: what containerd's shim, conmon and podman rely on
# (runc's flags and wording), and the commands that describe rather than
# run (spec, features).

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle
	WORK=$(mktemp -d /tmp/hrun-cli.XXXXXX)
}

teardown() {
	rm -rf "$WORK"
	teardown_bundle
}

# hrun without the helper's --root, for the tests of global flags.
hrun_raw() {
	timeout --kill-after=5 60 "$HRUN" "$@"
}

RFC3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'

@test "--version prints the version, commit and spec lines" {
	run hrun_raw --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^hrun\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	[[ "${lines[1]}" =~ ^commit:\ [^[:space:]]+$ ]]
	[ "${lines[2]}" = "spec: 1.3.0" ]
	# -v is the short form.
	run hrun_raw -v
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^hrun\ version ]]
}

@test "--help lists the commands and global flags; no command prints help and fails" {
	run hrun_raw --help
	[ "$status" -eq 0 ]
	for cmd in run spec features; do
		printf '%s\n' "$output" | grep -Eq "^ +$cmd +[a-z]" || { echo "command $cmd not listed"; return 1; }
	done
	for flag in --root --log --log-format --debug --systemd-cgroup --rootless --criu --hardening --host-config; do
		[[ "$output" == *"$flag"* ]] || { echo "flag $flag not listed"; return 1; }
	done
	run hrun_raw
	[ "$status" -ne 0 ]
	[[ "$output" == *"Commands:"* ]]
}

@test "run --help lists the run options" {
	run hrun_raw run --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "Usage: hrun run"* ]]
	for flag in --bundle --no-pivot --no-new-keyring --preserve-fds; do
		[[ "$output" == *"$flag"* ]] || { echo "flag $flag not listed"; return 1; }
	done
}

@test "an unknown command fails with a message naming it" {
	run hrun_raw no-such-command
	[ "$status" -ne 0 ]
	[[ "$output" == *'"no-such-command" is not a hrun command'* ]]
}

@test "an unknown flag fails with runc's 'flag provided but not defined'" {
	run hrun_raw --no-such-flag features
	[ "$status" -ne 0 ]
	[[ "$output" == *"flag provided but not defined: -no-such-flag"* ]]
	run hrun_raw run --no-such-flag x
	[ "$status" -ne 0 ]
	[[ "$output" == *"flag provided but not defined: -no-such-flag"* ]]
	# A flag that needs a value and gets none.
	run hrun_raw --root
	[ "$status" -ne 0 ]
	[[ "$output" == *"flag needs an argument: -root"* ]]
}

@test "bad values of --log-format, --hardening and --rootless are refused" {
	run hrun_raw --log-format xml features
	[ "$status" -ne 0 ]
	[[ "$output" == *'unknown log-format "xml"'* ]]
	run hrun_raw --hardening=lax features
	[ "$status" -ne 0 ]
	[[ "$output" == *'unknown hardening level "lax"'* ]]
	run hrun_raw --rootless maybe features
	[ "$status" -ne 0 ]
	[[ "$output" == *'invalid value "maybe" for --rootless'* ]]
}

@test "--root=X, --root X and -root X all select the state root" {
	probe_run_args=(run -b "$BUNDLE")
	set_args /probe exit 0
	for form in eq space single; do
		root=$WORK/root-$form
		[ ! -e "$root" ]
		case $form in
		eq) run hrun_raw "--root=$root" "${probe_run_args[@]}" c1 ;;
		space) run hrun_raw --root "$root" "${probe_run_args[@]}" c1 ;;
		single) run hrun_raw -root "$root" "${probe_run_args[@]}" c1 ;;
		esac
		[ "$status" -eq 0 ] || { echo "--root form $form: $output"; return 1; }
		# hrun created the root it was given, and left it empty.
		[ -d "$root" ] || { echo "--root form $form: $root not created"; return 1; }
		[ -z "$(ls -A "$root")" ]
	done
	# The root is really used: an existing entry there is a taken ID.
	mkdir "$WORK/root-eq/c1"
	run hrun_raw --root="$WORK/root-eq" run -b "$BUNDLE" c1
	[ "$status" -ne 0 ]
	[[ "$output" == *"container with given ID already exists"* ]]
}

@test "--log FILE --log-format json writes errors as JSON lines; stderr gets plain text" {
	local log=$WORK/log.json
	run --separate-stderr hrun_raw --root "$STATE" --log "$log" --log-format json run -b "$WORK/no-such-bundle" c1
	[ "$status" -ne 0 ]
	# stderr: the message as plain text, not JSON.
	[[ "$stderr" == *'bundle "'*'no-such-bundle": No such file or directory'* ]]
	[[ "$stderr" != "{"* ]]
	[ -s "$log" ]
	while IFS= read -r line; do
		jq -e . >/dev/null <<<"$line" || { echo "not JSON: $line"; return 1; }
		[ "$(jq -r 'keys | sort | join(",")' <<<"$line")" = "level,msg,time" ]
		[[ "$(jq -r .time <<<"$line")" =~ $RFC3339 ]] || { echo "time not RFC 3339: $line"; return 1; }
	done <"$log"
	run jq -r 'select(.level == "error") | .msg' "$log"
	[[ "$output" == *"no-such-bundle"*"No such file or directory"* ]]
}

@test "--log without --log-format json writes text lines" {
	local log=$WORK/log.txt
	run hrun_raw --root "$STATE" --log "$log" run -b "$WORK/no-such-bundle" c1
	[ "$status" -ne 0 ]
	run cat "$log"
	[[ "$output" =~ ^time=\"[^\"]+\"\ level=error\ msg=\".*no-such-bundle ]]
	if jq -e . "$log" >/dev/null 2>&1; then
		echo "the text log is JSON"
		return 1
	fi
}

@test "spec writes a config.json that parses and carries the hardened template" {
	cd "$WORK"
	run hrun_raw spec
	[ "$status" -eq 0 ]
	jq -e . config.json >/dev/null
	jq -e '.ociVersion == "1.3.0" and .root.path == "rootfs" and .root.readonly == true
		and .process.noNewPrivileges == true and .process.terminal == false
		and .process.cwd == "/" and .hostname == "hrun"
		and (.process.capabilities.bounding | index("CAP_SYS_ADMIN")) == null
		and (.linux.namespaces | map(.type) | sort) == ["cgroup","ipc","mount","network","pid","user","uts"]
		and .linux.uidMappings == [{"containerID":0,"hostID":100000,"size":65536}]
		and .linux.gidMappings == [{"containerID":0,"hostID":100000,"size":65536}]
		and (.linux.maskedPaths | index("/proc/kcore")) != null
		and (.linux.readonlyPaths | index("/proc/sys")) != null' config.json
}

# bats test_tags=vm
@test "the spec config runs as written (apart from the test cgroup)" {
	cd "$WORK"
	hrun_raw spec
	cp -a "$HRUN_TEST_ROOTFS" rootfs
	chmod 755 "$WORK"
	local tmp
	tmp=$(mktemp)
	jq ".linux.cgroupsPath = \"$CGROUP\"" config.json >"$tmp" && mv "$tmp" config.json
	# The template runs "sh"; with stdin at /dev/null it exits 0 at once.
	run hrun run -b "$WORK" spec-as-is </dev/null
	[ "$status" -eq 0 ]
	assert_no_leftovers spec-as-is
}

@test "spec refuses to overwrite an existing config.json" {
	cd "$WORK"
	echo '{"mine": true}' >config.json
	run hrun_raw spec
	[ "$status" -ne 0 ]
	[[ "$output" == *"File config.json exists. Remove it first"* ]]
	[ "$(cat config.json)" = '{"mine": true}' ]
}

@test "spec -b DIR writes into DIR" {
	run hrun_raw spec -b "$WORK"
	[ "$status" -eq 0 ]
	jq -e '.ociVersion == "1.3.0"' "$WORK/config.json"
}

@test "spec --rootless maps only the caller's ids and keeps the host network" {
	mkdir "$WORK/rootless"
	hrun_raw spec -b "$WORK/rootless" --rootless
	hrun_raw spec -b "$WORK"
	local c=$WORK/rootless/config.json
	jq -e ".linux.uidMappings == [{\"containerID\":0,\"hostID\":$(id -u),\"size\":1}]" "$c"
	jq -e ".linux.gidMappings == [{\"containerID\":0,\"hostID\":$(id -g),\"size\":1}]" "$c"
	jq -e '(.linux.namespaces | map(.type) | index("network")) == null' "$c"
	jq -e '(.linux.namespaces | map(.type) | index("network")) != null' "$WORK/config.json"
	# The two templates differ in what the rootless one cannot have.
	if cmp -s "$c" "$WORK/config.json"; then
		echo "--rootless made the same config"
		return 1
	fi
}

@test "features prints JSON with ociVersionMax 1.3.0, a linux object and the namespaces" {
	run --separate-stderr hrun_raw features
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -e . >/dev/null <<<"$output"
	jq -e '.ociVersionMax == "1.3.0"' <<<"$output"
	jq -e '.linux | type == "object"' <<<"$output"
	for ns in cgroup ipc mount network pid user uts; do
		jq -e --arg ns "$ns" '.linux.namespaces | index($ns) != null' <<<"$output" >/dev/null ||
			{ echo "namespace $ns missing"; return 1; }
	done
	run hrun_raw features extra-arg
	[ "$status" -ne 0 ]
}

@test "features lists the six hooks, idmap and ridmap, and idmapped mounts enabled" {
	run --separate-stderr hrun_raw features
	[ "$status" -eq 0 ]
	[ "$(jq -c .hooks <<<"$output")" = '["prestart","createRuntime","createContainer","startContainer","poststart","poststop"]' ]
	jq -e '.mountOptions | index("idmap") != null and index("ridmap") != null' <<<"$output"
	jq -e '.linux.mountExtensions.idmap.enabled == true' <<<"$output"
}
