#!/usr/bin/env bash
# Both virtio devices at once on 2 vCPUs: `copy 64M` on vCPU 0 and
# `ping 40 ...` on vCPU 1, the tap in a network namespace this test creates
# and always deletes (hyve runs inside it; the host namespace is never
# touched).  Both verdicts, the checksum and the images are checked.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HYVE=$BUILD/hyve GUEST=$BUILD/guest.elf XXH=$BUILD/guest/xxh64sum

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -n "${OUT:-}" ] && [ -f "$OUT" ] && sed 's/^/    console: /' "$OUT" | tail -n 30; exit 1; }
[ -e /dev/kvm ] || skip "/dev/kvm is absent"
for f in "$HYVE" "$GUEST" "$XXH"; do [ -f "$f" ] || fail "$f is not built (make BUILD=$BUILD)"; done
command -v ip >/dev/null 2>&1 || fail "iproute2 (ip) is not installed (scripts/setup.sh)"

TMP=$(mktemp -d /tmp/hyve-vboth.XXXXXX)
NS=hyve-vboth-$$
cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || fail "cannot create network namespace $NS (needs root)"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev tap0 mode tap || fail "cannot create a tap device in $NS"
ip -n "$NS" addr add 10.0.0.1/24 dev tap0
ip -n "$NS" link set tap0 up

src=$TMP/src.img dst=$TMP/dst.img
head -c 1M /dev/urandom >"$TMP/r1"
for i in $(seq 40); do cat "$TMP/r1"; done >"$src"
head -c 24M /dev/urandom >>"$src"
truncate -s 72M "$src"
truncate -s 72M "$dst"

OUT=$TMP/both.out
timeout ${HYVE_TIMEOUT:-300} ip netns exec "$NS" "$HYVE" -c 2 -m 256M \
	-s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
	-s 3,virtio-blk,"$src" -s 4,virtio-blk,"$dst" \
	-l com1,"$OUT" --kernel "$GUEST" \
	--append "copy 64M ; ping 40 10.0.0.1 10.0.0.2" "vboth-$$" </dev/null >"$TMP/hyve.log" 2>&1
RC=$?
[ -f "$OUT" ] || touch "$OUT"
[ $RC -eq 0 ] || { cat "$TMP/hyve.log"; fail "hyve exited $RC"; }
grep -Eq '^PING OK sent=40 received=(3[6-9]|40)$' "$OUT" || fail "no PING OK with at least 90% replies"
got=$(sed -n 's/^COPY OK \([0-9a-f]\{16\}\)$/\1/p' "$OUT")
want=$("$XXH" "$src" 64M)
[ -n "$got" ] || fail "no COPY OK line"
[ "$got" = "$want" ] || fail "guest checksum $got, host XXH64 of the source $want"
cmp -n $((64 << 20)) "$src" "$dst" || fail "the target image differs from the source"
grep -q '^GUEST EXIT status=0$' "$OUT" || fail "guest did not exit with status 0"
echo "checksum $got"
echo PASS
