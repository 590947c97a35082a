#!/usr/bin/env bash
# --verify=lazy with devices: a guest copying between two virtio-blk disks
# and pinging over virtio-net is suspended in the middle of the copy and
# restored with RAM loaded on demand (the background walker held back, so
# every chunk comes in when a vCPU, KVM or a device thread first touches
# it: rings, descriptors, the buffers preadv/pwritev and the tap's
# read/write fill or drain from the kernel).  Both workloads finish OK and
# the copy's checksum is the host's XXH64 of the source.
. "$(dirname "$0")/ckp_lib.inc"
[ -f "$XXH" ] || fail "$XXH is not built (make BUILD=$BUILD)"
make_netns

SIZE=128M
src=$TMP/src.img dst=$TMP/dst.img con=$TMP/v.console ck=$TMP/v.ckp
head -c 1M /dev/urandom >"$TMP/r1"
for i in $(seq 100); do cat "$TMP/r1"; done >"$src"
head -c 28M /dev/urandom >>"$src"
truncate -s 136M "$src"
truncate -s 136M "$dst"

start v -c 2 -m 256M -s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
	-s 3,virtio-blk,"$src",bps=64M -s 4,virtio-blk,"$dst",bps=64M -l com1,"$con" \
	--kernel "$GUEST" --append "copy $SIZE ; ping 30 10.0.0.1 10.0.0.2" v
pid=$PID
wait_for "$con" '^COPY copy [0-9]' 30
wait_for "$con" '^PING (peer|progress)' 30
out=$("$HYVECTL" --vm=v --suspend "$ck") || fail "hyvectl --suspend failed: $out"
wait_exit "$pid" 20
[ "$RC" = 0 ] || fail "the suspended hyve exited $RC"
grep -q '^COPY OK' "$con" && fail "the copy finished before the suspend"
n=$(wc -l <"$con")

HYVE_TEST_LAZY_WALK_DELAY_MS=600000 start v2 -r "$ck" --verify=lazy v
wait_exit "$PID" 90
no_crash "$TMP/v2.log"
[ "$RC" = 0 ] || fail "the lazily restored hyve exited $RC"
grep -q 'MiB of RAM loaded on demand, each chunk verified before the guest sees it' "$TMP/v2.log" ||
	fail "RAM was not loaded on demand"
after=$(tail -n +"$((n + 1))" "$con")
grep -q '^HYVE-GUEST' <<<"$after" && fail "the guest booted again after the restore"
got=$(sed -n 's/^COPY OK \([0-9a-f]\{16\}\)$/\1/p' <<<"$after")
want=$("$XXH" "$src" $SIZE)
[ -n "$got" ] || fail "no COPY OK after the restore"
[ "$got" = "$want" ] || fail "copy checksum $got, source $want"
cmp -s -n $((128 << 20)) "$src" "$dst" || fail "the images differ"
grep -Eq '^PING OK sent=30 received=(2[7-9]|30)$' <<<"$after" ||
	fail "ping: $(grep '^PING' <<<"$after" | tail -n 1)"
echo "COPY OK $got, $(grep '^PING OK' <<<"$after"); $(grep -o 'restored from .*' "$TMP/v2.log")"
all_clean
echo PASS
