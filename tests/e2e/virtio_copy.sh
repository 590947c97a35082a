#!/usr/bin/env bash
# hyve's virtio-blk end to end: the test guest copies 64 MiB from one disk
# to another on 2 vCPUs (`copy 64M`) and verifies it; the host checks the
# guest's checksum against the source image, compares the images, and
# checks nothing was written past the copy.  Then the same with a read-only
# target: the guest must not get COPY OK and the image must stay untouched.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HYVE=$BUILD/hyve GUEST=$BUILD/guest.elf XXH=$BUILD/guest/xxh64sum

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -n "${OUT:-}" ] && [ -f "$OUT" ] && sed 's/^/    console: /' "$OUT" | tail -n 30; exit 1; }
[ -e /dev/kvm ] || skip "/dev/kvm is absent"
for f in "$HYVE" "$GUEST" "$XXH"; do [ -x "$f" ] || [ -f "$f" ] || fail "$f is not built (make BUILD=$BUILD)"; done

TMP=$(mktemp -d /tmp/hyve-vcopy.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# run NAME CPUS APPEND [hyve args...]: console in $OUT, exit code in $RC
run() {
	local name=$1 ncpu=$2 append=$3
	shift 3
	OUT=$TMP/$name.out
	timeout ${HYVE_TIMEOUT:-300} "$HYVE" -c "$ncpu" -m 256M -s 0,hostbridge -s 1,lpc "$@" \
		-l com1,"$OUT" --kernel "$GUEST" --append "$append" "vcopy-$$" \
		</dev/null >"$TMP/$name.hyve" 2>&1
	RC=$?
	[ -f "$OUT" ] || touch "$OUT"
	echo "$name: hyve exit $RC"
	[ $RC -ne 124 ] || { cat "$TMP/$name.hyve"; fail "$name: hyve timed out"; }
}
expect_line() { grep -Eq -- "$1" "$OUT" || fail "no line matching '$1'"; }

SIZE=64M
src=$TMP/src.img dst=$TMP/dst.img
# known content: 1 MiB of random bytes repeated, then a different tail, so a
# misplaced chunk shows
head -c 1M /dev/urandom >"$TMP/r1"
for i in $(seq 48); do cat "$TMP/r1"; done >"$src"
head -c 16M /dev/urandom >>"$src"
truncate -s 80M "$src"
truncate -s 80M "$dst"

run copy 2 "copy $SIZE" -s 3,virtio-blk,"$src" -s 4,virtio-blk,path="$dst",serial=target
[ $RC -eq 0 ] || { cat "$TMP/copy.hyve"; fail "hyve exited $RC"; }
expect_line '^COPY copy 64M/64M '
expect_line '^COPY verify 64M/64M '
got=$(sed -n 's/^COPY OK \([0-9a-f]\{16\}\)$/\1/p' "$OUT")
want=$("$XXH" "$src" $SIZE)
[ -n "$got" ] || fail "no COPY OK line"
[ "$got" = "$want" ] || fail "guest checksum $got, host XXH64 of the source $want"
cmp -n $((64 << 20)) "$src" "$dst" || fail "the target image differs from the source"
[ -z "$(tail -c +$(((64 << 20) + 1)) "$dst" | tr -d '\0' | head -c 1)" ] ||
	fail "data written past $SIZE"
cmp -s "$TMP/r1" <(head -c 1M "$src") || fail "the source image changed"
grep -q 'needs reset' "$TMP/copy.hyve" && { cat "$TMP/copy.hyve"; fail "a device reported a driver error"; }

# read-only target: writes fail with IOERR, the image stays as it was
truncate -s 0 "$dst"
truncate -s 80M "$dst"
run ro 1 "copy 4M" -s 3,virtio-blk,"$src" -s 4,virtio-blk,"$dst",ro
grep -q '^COPY OK' "$OUT" && fail "COPY OK although the target is read-only"
[ -z "$(tr -d '\0' <"$dst" | head -c 1)" ] || fail "the read-only image was written"
echo "checksum $got"
echo PASS
