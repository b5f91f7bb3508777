#!/bin/bash
# The README's test command. Installs what the tests need, builds hrun,
# runs every suite and ends with one line "N passed, N failed, N skipped"
# summing them all. Exits non-zero when anything failed.
#
# Suites: build (-Werror), unit (cmocka, via make check), integration
# (bats, real containers as root), vm (the integration tests tagged "vm"
# again, in a qemu guest that is a pure cgroup v2 host with AppArmor:
# tests/vm/README.md), fuzz and fuzz-seccomp (libFuzzer on the config and
# seccomp profile parsers and the seccomp compiler, short fixed time under
# ASan/UBSan),
# distcheck.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HRUN_BUILD_DIR:-$top/build}
logs=$build/test-logs
fuzz_seconds=${HRUN_FUZZ_SECONDS:-60}
passed=0 failed=0 skipped=0

summary() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit $?
}

# A suite that is one check: passes when the command does.
one_check() {
	local name=$1
	shift
	echo "== $name"
	if "$@" >"$logs/$name.log" 2>&1; then
		passed=$((passed + 1))
		echo "   ok"
	else
		failed=$((failed + 1))
		echo "   FAILED; last lines of $logs/$name.log:"
		tail -n 40 "$logs/$name.log" | sed 's/^/   | /'
	fi
}

# Count a bats TAP file into the totals and show its skips (with their
# reasons) and failures. No plan, or fewer results than planned with no
# failure line past the plan saying why, is one more failure: the suite did
# not run to its end. The counts are left in tap_passed, tap_failed,
# tap_skipped.
count_tap() {
	local tap=$1 seen plan has_plan
	[ -f "$tap" ] || : >"$tap"
	read -r tap_passed tap_failed tap_skipped seen plan has_plan < <(awk '
		!has_plan && /^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; has_plan = 1; next }
		/^ok / { if (/ # skip/) s++; else p++; if ($2 + 0 <= plan) seen++; next }
		/^not ok / { f++; if ($3 + 0 <= plan) seen++; else late++; next }
		END {
			if (!has_plan || (seen < plan && !late)) f++
			print p + 0, f + 0, s + 0, seen + 0, plan + 0, has_plan + 0
		}' "$tap")
	echo "   $tap_passed passed, $tap_failed failed, $tap_skipped skipped"
	if [ "$has_plan" -eq 0 ]; then
		echo "   no TAP plan: the suite did not start (output in $tap)"
	elif [ "$seen" -lt "$plan" ]; then
		echo "   only $seen of $plan tests reported"
	fi
	grep '^ok .* # skip' "$tap" | sed 's/^/   | /'
	grep -A12 '^not ok ' "$tap" | head -n 150 | sed 's/^/   | /'
	passed=$((passed + tap_passed))
	failed=$((failed + tap_failed))
	skipped=$((skipped + tap_skipped))
}

if [ "$(id -u)" -ne 0 ]; then
	echo "run-all: the integration tests run real containers and must run as root" >&2
	exit 1
fi
"$top/tests/install-deps.sh" || { echo "run-all: installing dependencies failed" >&2; exit 1; }
mkdir -p "$logs"

# --- build -------------------------------------------------------------------
build_hrun() {
	(cd "$top" && ./autogen.sh) &&
		(cd "$build" && "$top/configure" --enable-werror) &&
		make -C "$build" -j"$(nproc)" &&
		make -C "$build" -j"$(nproc)" tests/fixtures/probe tests/fixtures/recvtty tests/fixtures/seccomp-agent
}
one_check build build_hrun
[ "$failed" -eq 0 ] || summary

# --- unit --------------------------------------------------------------------
echo "== unit"
make -C "$build" -j"$(nproc)" check >"$logs/unit.log" 2>&1
unit_rc=$?
unit_pass=0 unit_fail=0
for log in "$build"/tests/unit/*.log; do
	[ -f "$log" ] || continue
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	unit_pass=$((unit_pass + ${p:-0}))
	unit_fail=$((unit_fail + ${f:-0}))
done
# A crashed test binary reports no count: make check's status catches it.
if [ "$unit_rc" -ne 0 ] && [ "$unit_fail" -eq 0 ]; then
	unit_fail=1
fi
echo "   $unit_pass passed, $unit_fail failed"
[ "$unit_fail" -eq 0 ] || grep -h -B2 -A8 'FAILED\|ERROR' "$build"/tests/unit/*.log | head -n 60 | sed 's/^/   | /'
passed=$((passed + unit_pass))
failed=$((failed + unit_fail))

# --- integration -------------------------------------------------------------
echo "== integration"
"$top/tests/fixtures/make-rootfs.sh" "$build/fixtures/rootfs" "$build/tests/fixtures/probe" \
	>"$logs/rootfs.log" 2>&1 || { echo "   building the test rootfs failed"; cat "$logs/rootfs.log"; failed=$((failed + 1)); summary; }
export HRUN="$build/src/hrun"
export HRUN_TEST_ROOTFS="$build/fixtures/rootfs"
export HRUN_TEST_RECVTTY="$build/tests/fixtures/recvtty"
export HRUN_TEST_SECCOMP_AGENT="$build/tests/fixtures/seccomp-agent"
export HRUN_TEST_CGROUP_PARENT=/hrun-test
timeout 1800 bats --tap "$top/tests/integration" >"$logs/integration.tap" 2>&1
count_tap "$logs/integration.tap"
# Nothing of the tests may stay behind on the host.
for d in /sys/fs/cgroup/hrun-test /sys/fs/cgroup/*/hrun-test; do
	[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done

# --- e2e ---------------------------------------------------------------------
# podman, containerd and conmon, Debian's, driving hrun as their runtime;
# run.sh installs and starts them and leaves nothing behind.
echo "== e2e"
E2E_RUNTIME="$HRUN" timeout 900 "$top/tests/e2e/run.sh" "$logs/e2e.tap" >"$logs/e2e.log" 2>&1
e2e_rc=$?
count_tap "$logs/e2e.tap"
if [ "$e2e_rc" -ne 0 ] && [ "$tap_failed" -eq 0 ]; then
	echo "   the e2e suite exited $e2e_rc with no failure in its TAP"
	tail -n 40 "$logs/e2e.log" | sed 's/^/   | /'
	failed=$((failed + 1))
fi

# --- vm ----------------------------------------------------------------------
# The integration tests tagged "vm" (every one that needs cgroup v2 or
# AppArmor, and a smoke set) in a qemu guest. A guest that cannot boot, or
# a run cut short, is a failure, with the guest's console shown.
echo "== vm"
HRUN_BUILD_DIR=$build "$top/tests/vm/run.sh" "$logs/vm.tap" 2>"$logs/vm.log"
vm_rc=$?
count_tap "$logs/vm.tap"
if [ "$vm_rc" -ne 0 ] && [ "$tap_failed" -eq 0 ]; then
	echo "   the lane exited $vm_rc with no failure in its TAP"
	failed=$((failed + 1))
fi
if [ "$vm_rc" -ne 0 ]; then
	echo "   last lines of $logs/vm.log (the guest's console: $build/vm/console.log):"
	tail -n 80 "$logs/vm.log" | sed 's/^/   | /'
fi
grep -h '^vm: \(guest ran\|warning\)' "$logs/vm.log" | sed 's/^/   /'

# --- fuzz --------------------------------------------------------------------
fuzz_parser() {
	local bin=$build/fuzz_spec corpus=$build/fuzz-corpus
	mkdir -p "$corpus"
	cp "$top"/tests/fuzz/corpus/spec/* "$corpus/" 2>/dev/null
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-iquote "$top/libcontainer-c" \
		"$top"/tests/fuzz/fuzz_spec.c "$top"/libcontainer-c/{spec,spec-validate,json,error,capnames}.c \
		$(pkg-config --cflags --libs yajl) -o "$bin" &&
		"$bin" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -dict="$top/tests/fuzz/fuzz_spec.dict" "$corpus"
}
one_check fuzz fuzz_parser

fuzz_seccomp() {
	local bin=$build/fuzz_seccomp corpus=$build/fuzz-corpus-seccomp
	mkdir -p "$corpus"
	cp "$top"/tests/fuzz/corpus/seccomp/* "$corpus/" 2>/dev/null
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-iquote "$top/libcontainer-c" -iquote "$build" \
		"$top"/tests/fuzz/fuzz_seccomp.c \
		"$top"/libcontainer-c/{spec,json,error,capnames,seccomp,seccomp-cache}.c \
		$(pkg-config --cflags --libs yajl libseccomp) -o "$bin" &&
		"$bin" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 "$corpus"
}
one_check fuzz-seccomp fuzz_seccomp

# --- distcheck ---------------------------------------------------------------
one_check distcheck make -C "$build" -j"$(nproc)" distcheck

summary
