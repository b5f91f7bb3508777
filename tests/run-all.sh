#!/bin/bash
# The README's test command. Installs what the tests need, builds hrun,
# runs every suite and ends with one line "N passed, N failed, N skipped"
# summing them all. Exits non-zero when anything failed.
#
# Suites: build (-Werror), unit (cmocka, via make check), integration
# (bats, real containers as root), fuzz (libFuzzer, short fixed time under
# ASan/UBSan), distcheck.
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
		make -C "$build" -j"$(nproc)" tests/fixtures/probe
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
export HRUN_TEST_CGROUP_PARENT=/hrun-test
timeout 1800 bats --tap "$top/tests/integration" >"$logs/integration.tap" 2>&1
int_pass=$(grep -c '^ok ' "$logs/integration.tap" | tr -d ' ')
int_skip=$(grep -c '^ok .* # skip' "$logs/integration.tap" | tr -d ' ')
int_fail=$(grep -c '^not ok ' "$logs/integration.tap" | tr -d ' ')
int_pass=$((int_pass - int_skip))
grep -q '^1\.\.' "$logs/integration.tap" || int_fail=$((int_fail + 1))
echo "   $int_pass passed, $int_fail failed, $int_skip skipped"
grep '# skip' "$logs/integration.tap" | sed 's/^/   | /'
grep -A12 '^not ok ' "$logs/integration.tap" | head -n 150 | sed 's/^/   | /'
passed=$((passed + int_pass))
failed=$((failed + int_fail))
skipped=$((skipped + int_skip))
# Nothing of the tests may stay behind on the host.
for d in /sys/fs/cgroup/*/hrun-test /sys/fs/cgroup/unified/hrun-test; do
	[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done

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

# --- distcheck ---------------------------------------------------------------
one_check distcheck make -C "$build" -j"$(nproc)" distcheck

summary
