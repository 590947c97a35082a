# Shared by tests/e2e/guest_qemu_*.sh (sourced): boots $BUILD/guest.elf under
# qemu-system-x86_64 with KVM.  Exit codes follow tests/run.sh: 0 pass,
# 77 skip (with a SKIP line), anything else fail.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}
GUEST=$BUILD/guest.elf
QEMU=${QEMU:-qemu-system-x86_64}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -n "${OUT:-}" ] && [ -f "$OUT" ] && sed 's/^/    console: /' "$OUT" | tail -n 40; exit 1; }

[ -e /dev/kvm ] || skip "/dev/kvm is absent"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not accessible"
command -v "$QEMU" >/dev/null 2>&1 || skip "$QEMU is not installed"
[ -f "$GUEST" ] || fail "$GUEST is not built (make BUILD=$BUILD)"

TMP=$(mktemp -d /tmp/guest-qemu.XXXXXX)
CLEANUPS=()
cleanup() {
	local i
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[$i]}" || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_guest NAME MACHINE CPUS MEM APPEND [extra qemu args...]
# Console in $OUT, QEMU's exit code in $RC, the guest's status (from the
# isa-debug-exit code (status << 1) | 1) in $STATUS (-1 if none).
run_guest() {
	local name=$1 machine=$2 ncpu=$3 mem=$4 append=$5
	shift 5
	OUT=$TMP/$name.out
	local t0=$EPOCHREALTIME
	timeout ${GUEST_TIMEOUT:-60} ${NETNS_EXEC:-} "$QEMU" -enable-kvm -cpu qemu64 -M "$machine" \
		-smp "$ncpu" -m "$mem" -display none -monitor none -serial "file:$OUT" \
		-no-reboot -kernel "$GUEST" -append "$append" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 "$@" </dev/null >"$TMP/$name.qemu" 2>&1
	RC=$?
	[ -f "$OUT" ] || touch "$OUT"
	if [ $((RC & 1)) -eq 1 ] && [ $RC -lt 124 ]; then STATUS=$((RC >> 1)); else STATUS=-1; fi
	awk -v n="$name" -v rc="$RC" -v st="$STATUS" -v t0="$t0" -v t1="$EPOCHREALTIME" \
		'BEGIN { printf "%s: qemu rc=%s status=%s %.1fs\n", n, rc, st, t1 - t0 }'
	[ $RC -ne 124 ] || fail "$name: QEMU timed out"
}

# expect_line REGEX: the console of the last run_guest has a matching line
expect_line() { grep -Eq -- "$1" "$OUT" || fail "no line matching '$1'"; }
expect_no_line() { ! grep -Eq -- "$1" "$OUT" || fail "unexpected line matching '$1'"; }
expect_status() { [ "$STATUS" = "$1" ] || fail "guest status $STATUS, expected $1 (qemu rc $RC)"; }
