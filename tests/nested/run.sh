#!/usr/bin/env bash
# The hardware-KVM tier: hyve's tests on an ordinary, hardware-assisted KVM
# host that this script builds itself, on any machine (docs/NESTED.md).
#
#   L0  this machine, no /dev/kvm needed
#   L1  the Debian kernel (linux-image-amd64) under qemu-system-x86_64 in
#       TCG mode with emulated AMD SVM and nested paging; kvm_amd loads
#       there.  Its root is this machine's own root, read-only over 9p with
#       a tmpfs on top, so the tests and the build are the same files.
#   L2  hyve's guests, run by the tests inside L1 on kvm_amd
#
# Two CPU models, each an L1 of its own (run side by side): qemu64 (no
# XSAVE, as many older or cloud CPUs) and EPYC (XSAVE, AVX...).  One line per
# test, as tests/run.sh prints them, then "nested: N passed, N failed, N
# skipped".  A stall watchdog: when L1's console says nothing for $STALL
# seconds, the vCPU and local APIC state are dumped through the QEMU monitor
# into the log, QEMU is killed, and the test that was running is retried
# once in a fresh L1 (then counted as failed).  L1 runs with a periodic
# tick: docs/NESTED.md says why.
#
#   tests/nested/run.sh [-v] [-b BUILD] [-c qemu64|epyc]... [TEST...]
#     TEST: unit/test_x, e2e/x.sh, linux/x.sh (paths under tests/: they run
#     BUILD/test when it exists), scripts/demo.sh or the absolute path of a
#     script of one's own (these run the release build BUILD)
#     -v: show what the tests print as they print it
#   Env: STALL (60 s), L1_APPEND (L1 kernel parameters added; default
#        "nohz=off highres=off"), NESTED_MEM (6G), TEST_TIMEOUT (900 s per test),
#        NESTED_JOBS (L1s at once: 2, or 1 on a 1-CPU machine), KEEP=1
#        (keep build/nested/ logs even when everything passed)
set -u
cd "$(dirname "$0")/../.."
TOP=$(pwd)
HERE=$TOP/tests/nested
BUILD=build
CPUS=()
TESTS=()
VERBOSE=0
while [ $# -gt 0 ]; do
	case $1 in
	-b) BUILD=$2; shift 2 ;;
	-v) VERBOSE=1; shift ;;
	-c) CPUS+=("$2"); shift 2 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "nested: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) TESTS+=("$1"); shift ;;
	esac
done
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "nested: no build directory (make first)" >&2; exit 2; }
STALL=${STALL:-60}
MEM=${NESTED_MEM:-6G}
L1_APPEND=${L1_APPEND-nohz=off highres=off}
TEST_TIMEOUT=${TEST_TIMEOUT:-900}
JOBS=${NESTED_JOBS:-$(( $(nproc) >= 2 ? 2 : 1 ))}
WORK=$BUILD/nested

# What runs on each CPU model, split so that the two L1s take about as long
# (docs/NESTED.md has the times): qemu64 (no XSAVE) runs the checkpoint
# tests that matter on a real host and every Linux test; EPYC (XSAVE) the
# vCPU state, the long checkpoint-and-continue and cycles tests, and Linux.
# ckp_lazy.sh (7 min here) is left to the machine itself: ckp_lazy_virtio
# and linux_continue restore lazily on this KVM.
TESTS_qemu64=(
	unit/test_vmm_cpuid unit/test_vmm_state unit/test_vmm_ckpt
	unit/test_vmm_dirty unit/test_vmm_pause
	e2e/boot_churn.sh e2e/ckp_seed.sh e2e/ckp_lazy_virtio.sh
	e2e/ckp_corrupt.sh e2e/ckp_control.sh e2e/ckp_compat.sh
	e2e/virtio_copy.sh e2e/virtio_ping.sh e2e/mig_tcp.sh
	linux/linux_boot.sh linux/linux_seed.sh linux/linux_continue.sh
	linux/linux_cycles.sh
)
TESTS_epyc=(
	unit/test_vmm_state e2e/ckp_seed.sh e2e/ckp_continue.sh
	e2e/ckp_cycles.sh e2e/mig_cut_go.sh linux/linux_boot.sh linux/linux_seed.sh
	linux/linux_cycles.sh
)
declare -A MODEL=([qemu64]="qemu64,+svm,+npt" [epyc]="EPYC,+svm,+npt")
[ ${#CPUS[@]} -gt 0 ] || CPUS=(qemu64 epyc)

fatal() { echo "nested: $*" >&2; echo "nested: 0 passed, 1 failed, 0 skipped"; exit 1; }
[ "$(id -u)" = 0 ] || fatal "needs root (the tests inside L1 create network namespaces; QEMU reads the whole root file system)"
command -v qemu-system-x86_64 >/dev/null || fatal "qemu-system-x86_64 is not installed (scripts/setup.sh)"
[ -x /bin/busybox ] || fatal "busybox-static is not installed (scripts/setup.sh)"
K=
for v in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V); do
	[ -d "/lib/modules/$v/kernel/arch/x86/kvm" ] && K=$v
done
[ -n "$K" ] || fatal "no Debian kernel with its modules in /boot and /lib/modules (linux-image-amd64: scripts/setup.sh)"
for c in "${CPUS[@]}"; do
	[ -n "${MODEL[$c]:-}" ] || fatal "unknown CPU model '$c' (qemu64 or epyc)"
done

# L1's initramfs: busybox and the modules it needs to reach the 9p root.
build_initramfs() {
	local r=$WORK/l1root m
	rm -rf "$r"
	mkdir -p "$r"/{bin,proc,sys,dev,mod,host,ov,newroot}
	cp /bin/busybox "$r/bin/busybox"
	for m in drivers/virtio/virtio_ring drivers/virtio/virtio \
	    drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci_legacy_dev \
	    drivers/virtio/virtio_pci fs/netfs/netfs fs/fscache/fscache \
	    net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
		cp "/lib/modules/$K/kernel/$m.ko" "$r/mod/" || return 1
	done
	cp "$HERE/l1-init.sh" "$r/init"
	chmod +x "$r/init"
	# Uncompressed: decompressing under TCG costs seconds.
	(cd "$r" && find . | cpio -o -H newc --quiet) >"$WORK/l1.cpio"
}

# report DIR IO FROM: print the results that appeared in the console log
# after line FROM; sets SEEN to the new line count.
report() {
	local dir=$1 io=$2 con=$3 line t st secs rest log
	local total; total=$(wc -l <"$con")
	[ "$total" -gt "$SEEN" ] || return 0
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		NESTED-RESULT\ *) ;;
		*) continue ;;
		esac
		read -r _ t st secs rest <<<"$line"
		DONE+=("$t")
		log=$io/logs/${t//\//_}.log
		case $st in
		PASS)
			echo "PASS nested/$NAME/$t ($secs)"
			# As tests/run.sh: what a passing test did.
			[ -f "$log" ] && grep '^COUNT: ' "$log" | sed 's/^/    /'
			echo pass >>"$dir/counts" ;;
		SKIP) echo "SKIP nested/$NAME/$t: $rest"; echo skip >>"$dir/counts" ;;
		*)
			echo "FAIL nested/$NAME/$t ($rest, $secs)"
			[ -f "$log" ] && tail -n 60 "$log" | sed 's/^/    | /'
			echo fail >>"$dir/counts"
			echo "$t" >>"$dir/failed" ;;
		esac
	done < <(tail -n +"$((SEEN + 1))" "$con" | head -n "$((total - SEEN))")
	SEEN=$total
}

# tier NAME: every test of the plan in L1s of CPU model NAME, retrying a
# test once in a fresh L1 when the one it ran in stalled or died.
tier() {
	NAME=$1
	shift
	local dir=$WORK/$NAME model=${MODEL[$NAME]}
	local pending=("$@") retried=() n=0 qpid size last quiet why cur t0
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/counts"
	while [ ${#pending[@]} -gt 0 ]; do
		n=$((n + 1))
		local io=$dir/io.$n con=$dir/console.$n.log mon=$dir/mon.$n.sock
		mkdir -p "$io/logs"
		printf '%s\n' "${pending[@]}" >"$io/plan"
		printf 'TOP=%q\nBUILD=%q\nTEST_TIMEOUT=%q\nNESTED_CPU=%q\n' \
			"$TOP" "$BUILD" "$TEST_TIMEOUT" "$NAME" >"$io/env"
		cp "$HERE/l1-run.sh" "$io/"
		: >"$con"
		qemu-system-x86_64 -accel tcg -cpu "$model" -smp 1 -m "$MEM" \
			-display none -vga none -nic none -no-reboot \
			-serial file:"$con" -monitor unix:"$mon",server=on,wait=off \
			-kernel "/boot/vmlinuz-$K" -initrd "$WORK/l1.cpio" \
			-append "console=ttyS0 panic=-1 quiet $L1_APPEND" \
			-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
			-virtfs local,path="$io",mount_tag=io,security_model=none \
			</dev/null >"$dir/qemu.$n.err" 2>&1 &
		qpid=$!
		local vpid=
		if [ "$VERBOSE" = 1 ]; then
			tail -n +1 -f "$con" 2>/dev/null | sed -u -n 's/\r$//; s/^  | //p' &
			vpid=$!
		fi
		SEEN=0 DONE=() last=-1 quiet=0 why=
		while kill -0 "$qpid" 2>/dev/null; do
			sleep 2
			report "$dir" "$io" "$con"
			size=$(stat -c %s "$con")
			if [ "$size" = "$last" ]; then quiet=$((quiet + 2)); else quiet=0 last=$size; fi
			if [ $quiet -ge "$STALL" ]; then
				why="L1 stalled (no console output for ${quiet}s)"
				{
					echo "=== $why; QEMU monitor:"
					python3 "$HERE/qmon.py" "$mon" "info cpus" "info registers -a" "info lapic" 'x/8i $pc'
					sleep 5
					echo "=== 5 s later:"
					python3 "$HERE/qmon.py" "$mon" "info cpus" "info registers -a" "info lapic"
				} >"$dir/stall.$n.log" 2>&1
				kill -9 "$qpid" 2>/dev/null
				break
			fi
		done
		wait "$qpid" 2>/dev/null
		[ -n "$vpid" ] && { sleep 0.5; kill "$vpid" 2>/dev/null; }
		report "$dir" "$io" "$con"
		# Drop the tests that have a result, in plan order.
		local rest=() done_all=1 d p
		for p in "${pending[@]}"; do
			local got=0
			for d in "${DONE[@]}"; do [ "$d" = "$p" ] && got=1; done
			[ $got = 1 ] || { rest+=("$p"); done_all=0; }
		done
		pending=("${rest[@]}")
		[ ${#pending[@]} -gt 0 ] || break
		grep -q '^NESTED-FATAL' "$con" && {
			echo "FAIL nested/$NAME: L1 could not run tests: $(grep -m1 '^NESTED-FATAL' "$con")"
			tail -n 40 "$con" | sed 's/^/    | /'
			for p in "${pending[@]}"; do echo fail >>"$dir/counts"; echo "$p" >>"$dir/failed"; done
			break
		}
		[ -n "$why" ] || why="L1 ended before the test finished ($(tail -n 1 "$con" | tr -d '\r'))"
		cur=${pending[0]}
		local again=0 r
		for r in "${retried[@]}"; do [ "$r" = "$cur" ] && again=1; done
		[ -f "$dir/stall.$n.log" ] && cat "$dir/stall.$n.log" >>"$con"
		if [ $again = 1 ]; then
			echo "FAIL nested/$NAME/$cur ($why, twice; console: $con)"
			tail -n 30 "$con" | sed 's/^/    | /'
			echo fail >>"$dir/counts"
			echo "$cur" >>"$dir/failed"
			pending=("${pending[@]:1}")
		else
			echo "RETRY nested/$NAME/$cur: $why; dump and console in $con"
			# The run's directory goes when all passes: the dump
			# stays in the log.
			if [ -f "$dir/stall.$n.log" ]; then
				tail -n 40 "$dir/stall.$n.log" | sed 's/^/    | /'
			else
				tail -n 15 "$con" | sed 's/^/    | /'
			fi
			retried+=("$cur")
		fi
	done
}

mkdir -p "$WORK"
build_initramfs || fatal "cannot build L1's initramfs"
t0=$SECONDS
echo "nested: L1 = Linux $K under QEMU TCG (-cpu ${CPUS[*]}), build $BUILD"
running=0
for c in "${CPUS[@]}"; do
	if [ ${#TESTS[@]} -gt 0 ]; then
		list=("${TESTS[@]}")
	else
		eval "list=(\"\${TESTS_$c[@]}\")"
	fi
	tier "$c" "${list[@]}" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait
pass=0 fail=0 skip=0
for c in "${CPUS[@]}"; do
	pass=$((pass + $(grep -c '^pass$' "$WORK/$c/counts")))
	fail=$((fail + $(grep -c '^fail$' "$WORK/$c/counts")))
	skip=$((skip + $(grep -c '^skip$' "$WORK/$c/counts")))
done
echo "nested: $pass passed, $fail failed, $skip skipped ($((SECONDS - t0)) s)"
if [ $fail -gt 0 ]; then
	for c in "${CPUS[@]}"; do
		[ -f "$WORK/$c/failed" ] && sed "s|^|failed: nested/$c/|" "$WORK/$c/failed"
	done
	echo "nested: consoles and logs in $WORK"
	exit 1
fi
[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
exit 0
