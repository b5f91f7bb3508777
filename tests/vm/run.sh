#!/bin/bash
# The VM test lane: runs integration tests (tests/integration/*.bats, the
# same files the host runs; by default those tagged "vm") inside a qemu
# guest with Debian's kernel, a pure cgroup v2 hierarchy and AppArmor, for
# what this host's kernel lacks. See tests/vm/README.md for how it works,
# how tests are selected and how to debug it.
#
# Usage: tests/vm/run.sh [TAP-FILE]
#
#   Writes the suite's TAP (bats --tap, stdout and stderr, as run-all.sh
#   keeps it for the host suite) to TAP-FILE, or to stdout without one.
#   When the lane itself fails (missing tools, boot failure, kernel panic or
#   oops, watchdog, no TAP plan, fewer results than planned), a line
#   "not ok N vm lane: REASON" is added, so counting "not ok" lines sees it;
#   when no TAP came at all the output is "1..1" and that line.
#   Progress and, on failure, the guest's console go to stderr.
#   Exit status: 0 when every test passed (skips allowed), 1 otherwise.
#   Runs as root (qemu reads the root-owned test rootfs with 9p passthrough).
#
# Environment:
#   HRUN_BUILD_DIR     build directory (default: build/ in the checkout);
#                      the image cache and logs go to $HRUN_BUILD_DIR/vm
#   HRUN_VM_TESTS      bats files or directories to run, space separated
#                      (default: tests/integration); tests/vm/ramdisk.bats,
#                      which reports stage 1's --no-pivot check on the
#                      initramfs, is always added
#   HRUN_VM_TAGS       bats --filter-tags: the tests of HRUN_VM_TESTS to run
#                      (default: vm, the tests tagged "vm"; empty: all of them)
#   HRUN_VM_TIMEOUT    watchdog: seconds before a guest is killed (default:
#                      300 + 30 per selected test; a test takes 3-6 s on a
#                      quiet host, up to 30 s on a busy one)
#   HRUN_VM_TEST_TIMEOUT  seconds one test may take in the guest before bats
#                      fails it and goes on (BATS_TEST_TIMEOUT; 300)
#   HRUN_VM_MEM        guest memory in MiB (2048)
#   HRUN_VM_SMP        guest CPUs (2)
#   HRUN_VM_ACCEL      qemu's -accel (tcg,thread=multi; kvm where it works)
#   HRUN_VM_APPARMOR   AppArmor profiles the guest loads with apparmor_parser
#                      before the suite, space separated (default:
#                      contrib/apparmor/hrun-default when it exists)
#   HRUN_VM_CONSOLE=1  copy the guest's console to stderr as it runs
#   HRUN_VM_DEBUG=1    trace the guest's init scripts (set -x), full kernel log
#   HRUN_VM_SHELL=1    debugging: instead of the suite, an interactive shell on
#                      the guest's console (this terminal), with the suite's
#                      environment; no TAP, exit status 0
#
# Inside the guest the suite sees HRUN, HRUN_TEST_ROOTFS,
# HRUN_TEST_CGROUP_PARENT=/hrun-test as on the host, and HRUN_TEST_LANE=vm.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${HRUN_BUILD_DIR:-$top/build}
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
vm=$build/vm
tests=()
for t in ${HRUN_VM_TESTS:-$top/tests/integration}; do
	tests+=("$(realpath -m "$t")")
done
# Stage 1's --no-pivot check on the initramfs runs at every boot: its
# results are always reported.
[[ " ${tests[*]} " == *" $here/ramdisk.bats "* ]] || tests+=("$here/ramdisk.bats")
tags=${HRUN_VM_TAGS-vm}
watchdog=${HRUN_VM_TIMEOUT:-}
test_timeout=${HRUN_VM_TEST_TIMEOUT:-300}
mem=${HRUN_VM_MEM:-2048}
smp=${HRUN_VM_SMP:-2}
debug=${HRUN_VM_DEBUG:-0}
shell=${HRUN_VM_SHELL:-0}
accel=${HRUN_VM_ACCEL:-tcg,thread=multi}
apparmor=()
if [ -n "${HRUN_VM_APPARMOR+set}" ]; then
	for p in $HRUN_VM_APPARMOR; do apparmor+=("$(realpath -m "$p")"); done
elif [ -f "$top/contrib/apparmor/hrun-default" ]; then
	apparmor=("$top/contrib/apparmor/hrun-default")
fi

# Modules the initramfs loads (with their dependencies, from modules.dep):
# the 9p share, the overlay root, the ext4 scratch disk.
INITRD_MODULES=(virtio_pci 9pnet_virtio 9p overlay virtio_blk crc32c_generic ext4)

[ $# -le 1 ] || { echo "usage: $0 [TAP-FILE]" >&2; exit 2; }
# The TAP goes to fd 3: the file, or a copy of stdout (sharing its offset).
if [ $# -eq 1 ]; then
	exec 3>"$1" || exit 1
else
	exec 3>&1
fi
start=$SECONDS

say() {
	echo "vm: $*" >&2
}

# The lane failed: say why in the TAP, so the failure is counted.
lane_failed() {
	local raw=$vm/tap.raw n
	say "FAILED: $*"
	if [ -n "${booted:-}" ] && grep -q '^1\.\.' "$raw"; then
		n=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$raw" | head -n1)
		echo "not ok $((n + 1)) vm lane: $*" >&3
	else
		printf '1..1\nnot ok 1 vm lane: %s\n' "$*" >&3
	fi
	exit 1
}

# The end of the console before the guest's closing dmesg dump.
show_console() {
	[ -s "$vm/qemu.log" ] && sed 's/^/   qemu: /' "$vm/qemu.log" >&2
	[ -s "$vm/console.log" ] || { say "the guest wrote nothing on its console"; return; }
	say "last lines of the guest's console ($vm/console.log):"
	tr -d '\r' <"$vm/console.log" | sed '/^---- guest dmesg ----$/,$d' | tail -n 60 |
		sed 's/^/   | /' >&2
}

# qemu and what the guest uses from the host's root: tests/install-deps.sh
# keeps the list.
install_packages() {
	"$top/tests/install-deps.sh" --vm >&2
}

# A test that needs a pure cgroup v2 host or AppArmor calls a require_
# helper (tests/integration/helpers.bash) and skips everywhere else: without
# the tag the lane selects, nothing would ever run it. Prints each such
# call in a test (or, outside any test, in a file) that lacks the "vm" tag.
untagged_requirements() {
	local files
	files=$(find "${tests[@]}" -maxdepth 1 -name '*.bats' -type f 2>/dev/null | LC_ALL=C sort)
	[ -n "$files" ] || return 0
	# shellcheck disable=SC2086 # the paths have no white space (check_path)
	awk -v tag=vm '
		function tagged(line) {
			sub(/^[^=]*=/, "", line)
			gsub(/[[:blank:]]/, "", line)
			return index("," line ",", "," tag ",") > 0
		}
		FNR == 1 { file_tag = 0; next_tag = 0; in_test = 0 }
		/^[[:blank:]]*#[[:blank:]]*bats[[:blank:]]+file_tags=/ { file_tag = tagged($0); next }
		/^[[:blank:]]*#[[:blank:]]*bats[[:blank:]]+test_tags=/ { next_tag = tagged($0); next }
		/^[[:blank:]]*@test[[:blank:]]/ {
			in_test = 1; test_tag = next_tag; next_tag = 0
			name = $0
			sub(/^[[:blank:]]*@test[[:blank:]]+/, "", name)
			sub(/[[:blank:]]*\{[[:blank:]]*$/, "", name)
			next
		}
		/^}/ { in_test = 0; next }
		/^[[:blank:]]*#/ { next }
		/require_(cgroup_unified|cgroup2_controller|apparmor)/ {
			if (!file_tag && !(in_test && test_tag))
				printf "%s:%d: %s\n", FILENAME, FNR, in_test ? "test " name : "outside a test (tag the file)"
		}' $files
}

# The guest runs bats with these options.
bats_options() {
	# -T: each result with its time, the guest being ~10x slower; a
	# failure's $output, as the guest is gone by the time one reads it.
	bats_opts=(-T --print-output-on-failure)
	[ -z "$tags" ] || bats_opts+=(--filter-tags "$tags")
}

# Selecting one tag, only the files that use it go to the guest: bats reads
# every file it is given to find the tagged tests, seconds a file there.
narrow_to_tagged_files() {
	local t f files=()
	[[ "$tags" =~ ^[-_:[:alnum:]]+$ ]] || return 0
	for t in "${tests[@]}"; do
		if [ -d "$t" ]; then
			for f in "$t"/*.bats; do [ -f "$f" ] && files+=("$f"); done
		else
			files+=("$t")
		fi
	done
	tests=()
	for f in "${files[@]}"; do
		grep -qE "^[[:blank:]]*#[[:blank:]]*bats[[:blank:]]+(test|file)_tags=(.*[,[:blank:]])?$tags([,[:blank:]]|\$)" "$f" &&
			tests+=("$f")
	done
	return 0
}

# The guest's kernel: an installed Debian 6.1 kernel if the host has one,
# otherwise the package that linux-image-amd64 points at, downloaded with
# apt-get and unpacked into the cache (installing it would pull systemd,
# udev and initramfs-tools onto the host for nothing). Sets kernel, kver,
# moddir (the directory holding lib/modules/$kver).
find_kernel() {
	local v pkg deb want
	for v in $(ls -1 /boot/vmlinuz-6.1.*-amd64 2>/dev/null | sort -rV); do
		kver=${v#/boot/vmlinuz-}
		if [ -f "/lib/modules/$kver/modules.dep" ]; then
			kernel=$v moddir=/lib/modules
			return 0
		fi
	done
	# The cached one, while it is what apt's lists offer (apt-get update,
	# which install-deps.sh runs, brings news of a newer one).
	want=$(kernel_package)
	for v in $(ls -1 "$vm"/kernel/boot/vmlinuz-* 2>/dev/null | sort -rV); do
		kver=${v##*/vmlinuz-}
		if [ -f "$vm/kernel/lib/modules/$kver/modules.dep" ]; then
			if [ -n "$want" ] && [ "$want" != "$(cat "$vm/kernel/package" 2>/dev/null)" ]; then
				say "the cached kernel is not $want: fetching it"
				break
			fi
			kernel=$v moddir=$vm/kernel/lib/modules
			return 0
		fi
	done
	if [ -z "$want" ]; then
		apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
		want=$(kernel_package)
	fi
	[ -n "$want" ] || return 1
	pkg=${want% *}
	say "downloading the guest kernel: apt-get download $pkg (${want#* })"
	rm -rf "$vm/pkgs" "$vm/kernel" "$vm/kernel.new"
	mkdir -p "$vm/pkgs"
	(cd "$vm/pkgs" && apt-get download -q "$pkg" >&2 2>"$vm/pkgs/download.log") || {
		cat "$vm/pkgs/download.log" >&2
		return 1
	}
	deb=$(ls "$vm"/pkgs/"$pkg"_*.deb) &&
		dpkg-deb -x "$deb" "$vm/kernel.new" || return 1
	kver=${pkg#linux-image-}
	[ -f "$vm/kernel.new/boot/vmlinuz-$kver" ] || return 1
	# The package's postinst would run depmod; busybox's does the same.
	busybox depmod -b "$vm/kernel.new" "$kver" || return 1
	echo "$want" >"$vm/kernel.new/package" &&
		mv "$vm/kernel.new" "$vm/kernel" && rm -rf "$vm/pkgs"
	kernel=$vm/kernel/boot/vmlinuz-$kver moddir=$vm/kernel/lib/modules
}

# "PACKAGE VERSION" of the kernel linux-image-amd64 depends on, from apt's
# local lists; nothing when they do not know it.
kernel_package() {
	local pkg ver
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	[ -n "$pkg" ] || return 0
	ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }')
	[ -z "$ver" ] || echo "$pkg $ver"
}

# Print the modules to insmod for the given names, dependencies first, as
# paths relative to $moddir/$kver.
declare -A mod_entry=() mod_seen=()
module_visit() {
	local name=${1//-/_} entry d
	[ -n "${mod_seen[$name]:-}" ] && return 0
	entry=${mod_entry[$name]:-}
	[ -n "$entry" ] || { say "module $1 is not in $moddir/$kver/modules.dep"; return 1; }
	mod_seen[$name]=1
	for d in ${entry#*:}; do
		d=${d##*/}
		module_visit "${d%%.ko*}" || return 1
	done
	echo "${entry%%:*}"
}

module_order() {
	local line m
	while IFS= read -r line; do
		m=${line%%:*}
		m=${m##*/}
		m=${m%%.ko*}
		mod_entry[${m//-/_}]=$line
	done <"$moddir/$kver/modules.dep"
	for m in "$@"; do
		module_visit "$m" || return 1
	done
}

# The initramfs: busybox-static, the modules, tests/vm/init. Rebuilt when
# the hash of those inputs changes.
build_initrd() {
	local mods m sum stage=$vm/initrd.d
	mods=$(module_order "${INITRD_MODULES[@]}") || return 1
	sum=$({
		echo "$kver"
		sha256sum /bin/busybox "$here/init"
		for m in $mods; do sha256sum "$moddir/$kver/$m"; done
	} | sha256sum | cut -d' ' -f1)
	if [ -f "$vm/initrd.img" ] && [ "$(cat "$vm/initrd.sum" 2>/dev/null)" = "$sum" ]; then
		say "boot image is up to date ($vm/initrd.img)"
		return 0
	fi
	say "building the boot image ($kver: ${mods//$'\n'/ })"
	rm -rf "$stage" && mkdir -p "$stage"/{bin,dev,modules} || return 1
	install -m 0755 /bin/busybox "$stage/bin/busybox" &&
		install -m 0755 "$here/init" "$stage/init" &&
		mknod -m 0600 "$stage/dev/console" c 5 1 || return 1
	: >"$stage/modules.load"
	for m in $mods; do
		case $m in
		*.ko) cp "$moddir/$kver/$m" "$stage/modules/" ;;
		*.ko.xz) xz -dc "$moddir/$kver/$m" >"$stage/modules/$(basename "$m" .xz)" ;;
		*.ko.zst) zstd -qdc "$moddir/$kver/$m" >"$stage/modules/$(basename "$m" .zst)" ;;
		*) false ;;
		esac || { say "cannot copy module $m"; return 1; }
		m=${m##*/}
		echo "${m%.ko*}.ko" >>"$stage/modules.load"
	done
	(cd "$stage" && find . | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 2>/dev/null) \
		>"$vm/initrd.img.new" || return 1
	mv "$vm/initrd.img.new" "$vm/initrd.img" && echo "$sum" >"$vm/initrd.sum" &&
		rm -rf "$stage"
}

# hrun, the probe and the test rootfs, as run-all.sh builds them; make is a
# no-op when they are up to date.
build_hrun() {
	make -C "$build" -j"$(nproc)" src/hrun tests/fixtures/probe >"$vm/build.log" 2>&1 || {
		tail -n 30 "$vm/build.log" >&2
		return 1
	}
	if [ ! -x "$build/fixtures/rootfs/probe" ] ||
		[ "$build/tests/fixtures/probe" -nt "$build/fixtures/rootfs/probe" ]; then
		"$top/tests/fixtures/make-rootfs.sh" "$build/fixtures/rootfs" "$build/tests/fixtures/probe" \
			>>"$vm/build.log" 2>&1 || {
			tail -n 30 "$vm/build.log" >&2
			return 1
		}
	fi
}

check_path() {
	case $1 in
	*[[:space:]]*) lane_failed "path with white space not supported: $1" ;;
	esac
}

quoted() {
	[ $# -eq 0 ] || printf '%q ' "$@"
}

# The guest reads its settings from the share.
write_settings() {
	local v
	{
		printf 'HRUN_VM_TOP=%q\n' "$top"
		printf 'HRUN_VM_BUILD=%q\n' "$build"
		printf 'HRUN_VM_TESTS=(%s)\n' "$(quoted "${tests[@]}")"
		printf 'HRUN_VM_BATS_OPTIONS=(%s)\n' "$(quoted "${bats_opts[@]}")"
		printf 'HRUN_VM_MODULES=%q\n' "$moddir"
		printf 'HRUN_VM_APPARMOR=(%s)\n' "$(quoted "${apparmor[@]}")"
		printf 'HRUN_VM_DEBUG=%q\n' "$debug"
		printf 'HRUN_VM_SHELL=%q\n' "$shell"
		# Leave the watchdog time to boot and to report.
		printf 'HRUN_VM_BATS_TIMEOUT=%q\n' "$((watchdog > 180 ? watchdog - 60 : watchdog))"
		printf 'HRUN_VM_TEST_TIMEOUT=%q\n' "$test_timeout"
		# The suite's own settings, as tests/run-all.sh exports them
		# (HRUN_TEST_*); the guest sets HRUN, HRUN_TEST_ROOTFS,
		# HRUN_TEST_CGROUP_PARENT and HRUN_TEST_LANE itself.
		for v in $(compgen -e | grep '^HRUN_TEST_'); do
			printf 'export %s=%q\n' "$v" "${!v}"
		done
	} >"$vm/guest.env"
}

boot() {
	local append="console=ttyS0 panic=-1 mitigations=off hrun.stage2=$here/guest.sh hrun.env=$vm/guest.env"
	local qemu
	if [ "$debug" = 1 ]; then
		append="$append loglevel=7 hrun.debug=1"
	else
		append="$append loglevel=4"
	fi
	rm -f "$vm/console.log" "$vm/tap.raw" "$vm/scratch.img"
	# /tmp of the guest: a fresh ext4, sparse, gone after the run.
	truncate -s 8G "$vm/scratch.img" &&
		mkfs.ext4 -q -F -L hrun-vm-tmp "$vm/scratch.img" ||
		lane_failed "making the scratch disk failed"
	: >"$vm/console.log"
	: >"$vm/tap.raw"
	booted=1
	# The first serial port is the console, the second carries the TAP.
	qemu=(qemu-system-x86_64 -accel "$accel" -cpu max -m "$mem" -smp "$smp"
		-nodefaults -no-user-config -display none -no-reboot
		-kernel "$kernel" -initrd "$vm/initrd.img" -append "$append"
		-virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap"
		-drive "file=$vm/scratch.img,format=raw,if=virtio,cache=unsafe")
	say "booting $kernel (${mem} MiB, $smp CPUs, watchdog ${watchdog}s)"
	if [ "$shell" = 1 ]; then
		"${qemu[@]}" -serial mon:stdio -serial "file:$vm/tap.raw"
		rm -f "$vm/scratch.img"
		exit 0
	fi
	timeout --kill-after=10 "$watchdog" "${qemu[@]}" \
		-serial "file:$vm/console.log" -serial "file:$vm/tap.raw" \
		</dev/null >"$vm/qemu.log" 2>&1 3>&- &
	qemu_pid=$!
	if [ "${HRUN_VM_CONSOLE:-0}" = 1 ]; then
		tail -n +1 -F -s 0.5 --pid="$qemu_pid" "$vm/console.log" 2>/dev/null | sed -u 's/\r$//' >&2 &
	fi
	# The TAP as it arrives.
	tail -n +1 -F -s 0.5 --pid="$qemu_pid" "$vm/tap.raw" 2>/dev/null | sed -u 's/\r$//' >&3 &
	follower=$!
	wait "$qemu_pid"
	qemu_rc=$?
	wait "$follower"
	rm -f "$vm/scratch.img"
}

# Was it a complete run? Anything else fails the lane, loudly, with the
# console shown.
verify() {
	local console tap plan results oops failure
	console=$(tr -d '\r' <"$vm/console.log")
	tap=$(tr -d '\r' <"$vm/tap.raw")
	bats_rc=$(sed -n 's/^HRUN-VM-DONE bats=\([0-9]*\).*/\1/p' <<<"$console" | head -n1)
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' <<<"$tap" | head -n1)
	results=$(grep -cE '^(ok|not ok) ' <<<"$tap")
	oops=$(grep -m1 -E 'Kernel panic|Oops|BUG:|general protection fault' <<<"$console")
	if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
		failure="watchdog: the guest was killed after ${watchdog}s (HRUN_VM_TIMEOUT)"
	elif grep -q '^HRUN-VM-FAIL' <<<"$console"; then
		failure=$(grep -m1 '^HRUN-VM-FAIL' <<<"$console" | sed 's/^HRUN-VM-FAIL: //')
	elif [ -n "$oops" ]; then
		failure="kernel: $oops"
	elif [ "$qemu_rc" -ne 0 ]; then
		failure="qemu exited with status $qemu_rc"
	elif [ -z "$bats_rc" ]; then
		failure="the guest stopped before the suite finished"
	elif [ "$bats_rc" -eq 124 ] || [ "$bats_rc" -eq 137 ]; then
		failure="bats timed out in the guest (HRUN_VM_TIMEOUT=$watchdog)"
	elif [ -z "$plan" ]; then
		failure="no TAP plan from bats (exit status $bats_rc)"
	elif [ "$results" -lt "$plan" ]; then
		failure="only $results of $plan tests reported (bats exit status $bats_rc)"
	else
		failure=""
	fi
	if [ -n "$failure" ]; then
		show_console
		lane_failed "$failure"
	fi
	if grep -q '^HRUN-VM-LEFTOVER' <<<"$console"; then
		say "warning: the suite left these behind in the guest:"
		sed -n 's/^HRUN-VM-LEFTOVER: /   | /p' <<<"$console" >&2
	fi
}

[ "$(id -u)" -eq 0 ] || { echo "vm: must run as root" >&2; exit 1; }
mkdir -p "$vm" || exit 1
exec 9>"$vm/lock"
flock -n 9 || lane_failed "another run holds $vm/lock"
for p in "$top" "$build" "$here"; do check_path "$p"; done
[ -f "$build/Makefile" ] ||
	lane_failed "$build is not a configured build directory: run tests/run-all.sh, or ./autogen.sh and configure there"
install_packages || lane_failed "installing the lane's packages failed (tests/install-deps.sh --vm)"
untagged=$(untagged_requirements)
if [ -n "$untagged" ]; then
	say "these tests need what only the VM lane has, but lack its tag (# bats test_tags=vm):"
	sed 's/^/   | /' <<<"$untagged" >&2
	lane_failed "$(wc -l <<<"$untagged") test(s) call require_* without the vm tag: $(head -n1 <<<"$untagged")"
fi
bats_options
narrow_to_tagged_files
[ ${#tests[@]} -gt 0 ] || lane_failed "no test file has a test tagged $tags"
# bats 1.8 or later has --filter-tags; an older one refuses it here.
selected=$(bats --count "${bats_opts[@]}" "${tests[@]}" 2>&1) ||
	lane_failed "bats cannot select the tests (bats-core 1.8 or later needed for tags): $(tail -n1 <<<"$selected")"
[ "$selected" -gt 0 ] 2>/dev/null || lane_failed "no tests selected (HRUN_VM_TAGS=$tags, HRUN_VM_TESTS=${tests[*]})"
say "$selected tests selected${tags:+ (tag $tags)}"
[ -n "$watchdog" ] || watchdog=$((300 + 30 * selected))
find_kernel || lane_failed "no guest kernel: apt-get download of linux-image-amd64's kernel failed"
build_initrd || lane_failed "building the boot image failed"
build_hrun || lane_failed "building hrun, the probe or the test rootfs failed (log: $vm/build.log)"
write_settings
prepared=$SECONDS
boot
verify
say "guest ran $((SECONDS - prepared))s, lane took $((SECONDS - start))s; bats exited $bats_rc"
[ "$bats_rc" = 0 ]
