#!/usr/bin/env bash
# A real guest programs hyve's virtio devices wrongly on purpose (`badvq`):
# a buffer outside guest RAM, a descriptor loop, a 0xffffffff length, a
# queue size that is not a power of two.  For each, hyve must log one line
# naming the device, the queue and the problem, set DEVICE_NEEDS_RESET,
# stop the queue, work again after a reset (the guest checks all of that
# and prints BADVQ OK), and keep the rest of the VM going: a copy between
# two other disks on another vCPU, a beacon while virtio-net is abused.
# hyve exits 0 once the guest powers off.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm
XXH=$BUILD/guest/xxh64sum
[ -x "$XXH" ] || fail "$XXH is not built (make BUILD=$BUILD)"

# known content, so that the guest's reads can be checked
img=$TMP/disk.img
head -c 1M /dev/urandom >"$img"
truncate -s 4M "$img"
sector0=$("$XXH" "$img" 512)
pci=(-s 0,hostbridge -s 1,lpc)
tail_msg='; queue stopped, device needs reset$'

# every mode on the first disk, one vCPU
run blk -c 1 -m 64M "${pci[@]}" -s 3,virtio-blk,"$img" -l com1,stdio \
	--kernel "$GUEST" --append "badvq all" bv
expect_rc 0
for m in oob loop len; do
	expect_out "^BADVQ OK mode=$m status=0x4f dev=blk0 queue=0 isr=0x2$"
done
expect_out '^BADVQ OK mode=qsize status=0x4b dev=blk0 queue=0 isr=0x0 size=255/255 enable=0$'
expect_out "^BADVQ done dev=blk0 modes=4 ok=4 sector0=$sector0 capacity=8192$"
expect_no_out 'BADVQ FAIL'
expect_out '^GUEST EXIT status=0$'
d='^hyve: bv: virtio-blk@pci\.0\.3\.0: queue 0: '
expect_err "${d}descriptor [0-9]+: buffer 0x8000000000\+0x10000 is outside guest RAM$tail_msg"
expect_err "${d}descriptor [0-9]+: chain from descriptor [0-9]+ is longer than the queue size 256 \(a loop\?\)$tail_msg"
expect_err "${d}descriptor [0-9]+: chain from descriptor [0-9]+ describes more than [0-9]+ bytes$tail_msg"
expect_err "${d}cannot enable: queue size 255 is not a power of two of at most 256$tail_msg"
n=$(grep -c 'needs reset' "$ERR")
[ "$n" = 4 ] || fail "$n 'needs reset' messages, expected one per mode (4)"
expect_err '^hyve: bv: guest powered off, status 0 \(exit status 0\)$'

# the third disk is abused on vCPU 0 while vCPU 1 copies between the
# first two: the copy must come out right
src=$TMP/src.img dst=$TMP/dst.img
head -c 8M /dev/urandom >"$src"
truncate -s 8M "$dst"
run others -c 2 -m 128M "${pci[@]}" -s 3,virtio-blk,"$src" -s 4,virtio-blk,"$dst" \
	-s 5,virtio-blk,"$img" -l com1,stdio --kernel "$GUEST" \
	--append "badvq loop,oob,qsize,len blk2 ; copy 8M" bv2
expect_rc 0
for m in oob loop len; do
	expect_out "^BADVQ OK mode=$m status=0x4f dev=blk2 queue=0 "
done
expect_out '^BADVQ OK mode=qsize status=0x4b dev=blk2 '
expect_out "^BADVQ done dev=blk2 modes=4 ok=4 sector0=$sector0 "
expect_out "^COPY OK $("$XXH" "$src" 8M)$"
cmp -s "$src" "$dst" || fail "the copy next to the abused disk differs from its source"
expect_err '^hyve: bv2: virtio-blk@pci\.0\.5\.0: queue 0: descriptor [0-9]+: chain from descriptor [0-9]+ is longer'
! grep -Eq 'virtio-blk@pci\.0\.[34]\.0' "$ERR" || fail "an error was reported on a disk the guest did not abuse"

# virtio-net (transmit queue) in a private network namespace, where hyve
# creates its tap (down: frames are dropped, requests still complete);
# a beacon on vCPU 1 goes on meanwhile
command -v unshare >/dev/null 2>&1 || fail "unshare (util-linux) is not installed"
unshare -n true 2>/dev/null || fail "cannot create a network namespace (needs root)"
REAL_HYVE=$HYVE
HYVE=$TMP/hyve-netns
printf '#!/bin/sh\nexec unshare -n "%s" "$@"\n' "$REAL_HYVE" >"$HYVE"
chmod +x "$HYVE"
run net -c 2 -m 64M "${pci[@]}" -s 2,virtio-net,badvq0 -l com1,stdio --kernel "$GUEST" \
	--append "badvq all net ; beacon 1000 300" bv3
expect_rc 0
for m in oob loop len; do
	expect_out "^BADVQ OK mode=$m status=0x4f dev=net0 queue=1 isr=0x2$"
done
expect_out '^BADVQ OK mode=qsize status=0x4b dev=net0 queue=1 isr=0x0 size=255/255 enable=0$'
expect_out '^BADVQ done dev=net0 modes=4 ok=4$'
expect_out '^BEACON OK n=300 '
dots=$(grep -E '^\.+$' "$OUT" | tr -d '\n' | wc -c)
[ "$dots" = 300 ] || fail "the beacon next to the abused device wrote $dots dots, expected 300"
d='^hyve: bv3: virtio-net@pci\.0\.2\.0: queue 1: '
expect_err "${d}descriptor [0-9]+: buffer 0x8000000000\+0x10000 is outside guest RAM$tail_msg"
expect_err "${d}descriptor [0-9]+: chain from descriptor [0-9]+ is longer than the queue size 256 \(a loop\?\)$tail_msg"
expect_err "${d}descriptor [0-9]+: chain from descriptor [0-9]+ describes more than [0-9]+ bytes$tail_msg"
expect_err "${d}cannot enable: queue size 255 is not a power of two of at most 256$tail_msg"
HYVE=$REAL_HYVE

# a missing device and a bad command line are the guest's own errors
run nodev -c 1 -m 64M "${pci[@]}" -l com1,stdio --kernel "$GUEST" --append "badvq oob" bv4
expect_rc 1
expect_out '^BADVQ FAIL dev=blk0: no such device '
expect_out '^GUEST EXIT status=1$'
run usage -c 1 -m 64M -l com1,stdio --kernel "$GUEST" --append "badvq oob,bogus" bv5
expect_rc 1
expect_out '^CMDLINE ERROR usage: badvq '
expect_out '^GUEST EXIT status=2$'
echo PASS
