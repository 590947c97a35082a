#!/usr/bin/env bash
# Checkpoint-and-continue with a stock Linux guest: mid-copy, hyvectl
# --checkpoint writes a checkpoint while the guest goes on, and it finishes
# its copy and pings.  Then the checkpoint is restored twice, each time in
# a new hyve, once with --verify=lazy (RAM checked chunk by chunk as the
# guest touches it) and once with the default full check: each restored
# guest finishes the copy from the checkpoint's point on (the disks are not
# part of a checkpoint; this copy rewrites the same data, so the result is
# the same), with the pings, and with clean memory, kernel-log and clock
# checks.  Before each restore the target disk is zeroed from where the
# original had copied to after the checkpoint, so that its checksum shows
# the restored guest copied the rest.
. "$(dirname "$0")/linux_lib.inc"
make_netns
MB=${LINUX_COPY_MB:-128}
PINGS=100
src=$TMP/src.img dst=$TMP/dst.img con=$TMP/orig.console ck=$TMP/lcont.ckp
make_image "$src" "$MB" $((MB + 8))
truncate -s $((MB + 8))M "$dst"
start orig -c 2 -m 256M -s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
	-s 3,virtio-blk,"$src",bps=16M -s 4,virtio-blk,"$dst",bps=16M -l com1,"$con" \
	--kernel "$KERNEL" --initrd "$INITRD" \
	--append "$APPEND_BASE hyve.run=seed hyve.copy=$MB hyve.pings=$PINGS" lcont
pid=$PID
wait_for "$con" "^COPY (3[2-9]|[4-9][0-9]|[1-9][0-9][0-9])/$MB MiB" 600
# The guest runs on while the checkpoint is written and after it: only
# what it printed before the command was given is surely older than the
# checkpoint's stop (a restore must not go back past that).
n=$(lines "$con")
before=$(uptime_before "$con" "$n")
out=$("$HYVECTL" --vm=lcont --checkpoint "$ck") || fail "hyvectl --checkpoint failed: $out"
grep -q '^COPY DONE' "$con" && fail "the copy finished before the checkpoint"
m=$(lines "$con")
wait_exit "$pid" 600
no_crash "$TMP/orig.log"
[ "$RC" = 0 ] || fail "the original hyve exited $RC after its checkpoint"
text "$con"
grep -q "^COPY DONE $MB MiB" "$con.txt" || fail "the original did not finish its copy"
grep -q '^LINUX-DONE OK' "$con" || fail "the original did not finish"
guest_ok "$con" 0
"$CKP" check "$ck" >/dev/null || fail "ckp check of the checkpoint failed"
want=$(head -c "${MB}M" "$src" | sha256sum | cut -d' ' -f1)
# A progress line printed after the command returned is later than the
# checkpoint's stop: a restored guest copies at least from there on.
U=$(tail -n +"$((m + 1))" "$con.txt" | sed -n 's|^COPY \([0-9]*\)/.*|\1|p' | head -n 1)
[ -n "$U" ] || fail "no progress line after the checkpoint"

for v in lazy full; do
	c=$TMP/$v.console
	if [ "$U" -lt "$MB" ]; then
		dd if=/dev/zero of="$dst" bs=1M seek="$U" count=$((MB - U)) conv=notrunc status=none ||
			fail "cannot zero the target disk"
		[ "$(head -c "${MB}M" "$dst" | sha256sum | cut -d' ' -f1)" != "$want" ] ||
			fail "zeroing the target from $U MiB changed nothing"
	fi
	start "r$v" -r "$ck" --verify=$v -l com1,"$c" lcont
	wait_exit "$PID" 600
	no_crash "$TMP/r$v.log"
	[ "$RC" = 0 ] || fail "the restore with --verify=$v exited $RC"
	text "$c"
	c=$c.txt
	grep -q '^LINUX-GUEST' "$c" && fail "--verify=$v: the guest booted again"
	grep -q "^COPY DONE $MB MiB" "$c" || fail "--verify=$v: no COPY DONE"
	grep -q '^LINUX-DONE OK' "$c" || fail "--verify=$v: the guest did not finish"
	grep -Eq "^PING sent=$PINGS received=" "$c" || fail "--verify=$v: no ping summary"
	got=$(head -c "${MB}M" "$dst" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "--verify=$v: the target disk differs from the source"
	later=$(uptime_after "$c" 0)
	[ -n "$later" ] && [ "$later" -ge "$before" ] ||
		fail "--verify=$v: the guest's uptime went back: $before -> $later"
	guest_ok "$c" 0
	echo "--verify=$v: MiB $U-$MB copied again, $(grep -o '^PING.*' "$c"), uptime $before -> $later, $(grep '^hyve.*restored' "$TMP/r$v.log" | sed 's/^hyve: [^:]*: //')"
done
all_clean
echo PASS
