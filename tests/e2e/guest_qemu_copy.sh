#!/usr/bin/env bash
# copy under QEMU (-M q35, two modern virtio-blk disks): the guest copies
# 64 MiB from the first disk to the second and verifies it; the host checks
# the guest's checksum against the source image and compares the images.
source "$(dirname "$0")/../../guest/tools/qemu_test_lib.sh"

XXH=$BUILD/guest/xxh64sum
[ -x "$XXH" ] || fail "$XXH is not built"
SIZE=64M
src=$TMP/src.img dst=$TMP/dst.img
# known content: 1 MiB of random bytes repeated, then a different tail, so a
# misplaced chunk shows
head -c 1M /dev/urandom >"$TMP/r1"
for i in $(seq 48); do cat "$TMP/r1"; done >"$src"
head -c 16M /dev/urandom >>"$src"
truncate -s 80M "$src"
truncate -s 80M "$dst"
disks=(-drive "if=none,id=d0,file=$src,format=raw"
	-device virtio-blk-pci,drive=d0,disable-legacy=on
	-drive "if=none,id=d1,file=$dst,format=raw"
	-device virtio-blk-pci,drive=d1,disable-legacy=on)

run_guest copy q35 2 256 "copy $SIZE" "${disks[@]}"
expect_status 0
expect_line '^COPY start size=64M '
expect_line '^COPY copy 64M/64M ticks=[0-9]+$'
expect_line '^COPY verify 64M/64M ticks=[0-9]+$'
got=$(sed -n 's/^COPY OK \([0-9a-f]\{16\}\)$/\1/p' "$OUT")
want=$("$XXH" "$src" $SIZE)
[ -n "$got" ] || fail "no COPY OK line"
[ "$got" = "$want" ] || fail "guest checksum $got, host XXH64 of the source $want"
cmp -n $((64 << 20)) "$src" "$dst" || fail "the target image differs from the source"
# nothing written past SIZE
[ -z "$(tr -d '\0' < <(tail -c +$(((64 << 20) + 1)) "$dst") | head -c 1)" ] ||
	fail "data written past $SIZE"

# copy and a parallel workload on the other vCPU; one disk only: clean FAIL
run_guest onedisk q35 2 128 "copy 1M" -drive "if=none,id=d0,file=$src,format=raw" \
	-device virtio-blk-pci,drive=d0,disable-legacy=on
expect_status 1
expect_line '^COPY FAIL need virtio-blk disks 0 and 1'
# larger than the disks
run_guest toobig q35 1 128 "copy 1G" "${disks[@]}"
expect_status 1
expect_line '^COPY FAIL size 1024M larger than a disk'
echo "checksum $got"
echo PASS
