#!/usr/bin/env bash
# The seed review's test plan with a stock Linux guest: on 2 vCPUs it copies
# LINUX_COPY_MB (default 128) MiB from one virtio-blk disk to the other with
# dd while it pings the tap's side of the link (in a network namespace this
# test creates); hyvectl suspends it in the middle of the copy, a new hyve
# restores it from the checkpoint alone, and both finish: the target disk
# equals the source (compared here, outside the guest), the pings come
# back, the guest did not boot again, its clock went on from where it was,
# and its memory and kernel-log checks stay clean after the restore.
. "$(dirname "$0")/linux_lib.inc"
make_netns
MB=${LINUX_COPY_MB:-128}
PINGS=100	# 20 s at 5 a second: going on across the suspend
src=$TMP/src.img dst=$TMP/dst.img con=$TMP/seed.console ck=$TMP/lseed.ckp
make_image "$src" "$MB" $((MB + 8))
truncate -s $((MB + 8))M "$dst"
# 16 MiB/s per disk, so that "the middle of the copy" is there on any host.
start seed -c 2 -m 256M -s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
	-s 3,virtio-blk,"$src",bps=16M -s 4,virtio-blk,"$dst",bps=16M -l com1,"$con" \
	--kernel "$KERNEL" --initrd "$INITRD" \
	--append "$APPEND_BASE hyve.run=seed hyve.copy=$MB hyve.pings=$PINGS" lseed
pid=$PID
wait_for "$con" "^COPY (3[2-9]|[4-9][0-9]|[1-9][0-9][0-9])/$MB MiB" 600
out=$("$HYVECTL" --vm=lseed --suspend "$ck") || fail "hyvectl --suspend failed: $out"
wait_exit "$pid" 120
no_crash "$TMP/seed.log"
[ "$RC" = 0 ] || fail "the suspended hyve exited $RC"
n=$(lines "$con")
grep -q '^COPY DONE' "$con" && fail "the copy finished before the suspend"
grep -q '^PING sent' "$con" && fail "the ping finished before the suspend"
before=$(uptime_before "$con" "$n")
echo "suspended at: $(grep '^COPY [0-9]' "$con" | tail -n 1)"
"$CKP" check "$ck" >/dev/null || fail "ckp check of the checkpoint failed"
for d in vcpu@0 vcpu@1 virtio-net@0 virtio-blk@0 virtio-blk@1 uart@0; do
	"$CKP" get "$ck.meta" "devices.$d" >/dev/null || fail "no devices.$d in the checkpoint"
done

start seed2 -r "$ck" lseed
wait_exit "$PID" 600
no_crash "$TMP/seed2.log"
[ "$RC" = 0 ] || fail "the restored hyve exited $RC"
after=$(tail -n +"$((n + 1))" "$con" | tr -d '\r')
grep -q '^LINUX-GUEST' <<<"$after" && fail "the guest booted again after the restore"
grep -q "^COPY DONE $MB MiB" <<<"$after" || fail "no COPY DONE after the restore"
grep -q '^LINUX-DONE OK' <<<"$after" || fail "the guest did not finish"
ping=$(grep -o '^PING sent=.*' <<<"$after")
sent=$(sed 's/PING sent=\([0-9]*\) .*/\1/' <<<"$ping")
got=$(sed 's/.*received=\([0-9]*\)/\1/' <<<"$ping")
[ "$sent" = "$PINGS" ] && [ "$((got * 10))" -ge "$((sent * 9))" ] ||
	fail "ping: '$ping', want $PINGS sent and at least 90% back"
a=$(head -c "${MB}M" "$src" | sha256sum | cut -d' ' -f1)
b=$(head -c "${MB}M" "$dst" | sha256sum | cut -d' ' -f1)
[ "$a" = "$b" ] || fail "the target disk's first $MB MiB differ from the source ($b, want $a)"
later=$(uptime_after "$con" "$n")
[ -n "$later" ] && [ "$later" -ge "$before" ] || fail "the guest's uptime went back: $before -> $later (hundredths)"
guest_ok "$con" "$n"
hyve_quiet "$TMP/seed.log" 'suspended to|suspend'
hyve_quiet "$TMP/seed2.log" 'restored from|guest powered off'
echo "after the restore: COPY DONE, sha256 $a on both disks, $ping, uptime $before -> $later (1/100 s)," \
	"$(tail -n +"$((n + 1))" "$con" | grep -c '^TICK .*mem=OK dmesg=OK clock=OK$') clean TICKs"
all_clean
echo PASS
