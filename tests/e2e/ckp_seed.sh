#!/usr/bin/env bash
# The seed review's test plan (D29262), for real: the guest on 2 vCPUs copies
# 256 MiB between two virtio-blk disks (each limited to 128 MiB/s, so
# that "in the middle of the copy" does not depend on the machine) while it
# pings a peer over
# virtio-net (a tap in a network namespace this test creates); it is
# suspended in the middle of the copy with hyvectl, and restored by a new
# hyve process from the checkpoint alone.  Both workloads must finish OK:
# the copy's checksum is the host's XXH64 of the source and the images are
# equal, at least 90% of the pings come back, the guest's tick counter goes
# on counting from where it was, and the guest did not boot again.
# Between the two, the source disk moves to another path and the tap gets
# another name: -o overrides tell the restore (the checkpoint is not tied
# to where it was taken).  Also: `ckp show` holds every device's section.
. "$(dirname "$0")/ckp_lib.inc"
[ -f "$XXH" ] || fail "$XXH is not built (make BUILD=$BUILD)"
make_netns

SIZE=256M
src=$TMP/src.img dst=$TMP/dst.img con=$TMP/seed.console ck=$TMP/seed.ckp
head -c 1M /dev/urandom >"$TMP/r1"
for i in $(seq 200); do cat "$TMP/r1"; done >"$src"
head -c 60M /dev/urandom >>"$src"
truncate -s 264M "$src"
truncate -s 264M "$dst"

start seed -c 2 -m 256M -s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
	-s 3,virtio-blk,"$src",bps=128M -s 4,virtio-blk,"$dst",bps=128M -l com1,"$con" \
	--kernel "$GUEST" --append "copy $SIZE ; ping 50 10.0.0.1 10.0.0.2" seed
pid=$PID
# In the middle of the copy, with the ping going on.
wait_for "$con" '^COPY copy [0-9]' 30
wait_for "$con" '^PING (peer|progress)' 30
out=$("$HYVECTL" --vm=seed --suspend "$ck") || fail "hyvectl --suspend failed: $out"
[ "$out" = "suspended $ck" ] || fail "hyvectl said '$out'"
wait_exit "$pid" 20
no_crash "$TMP/seed.log"
[ "$RC" = 0 ] || fail "the suspended hyve exited $RC"
grep -q "suspended to $ck" "$TMP/seed.log" || fail "hyve did not say it suspended"
grep -Eq "suspended to $ck \([0-9]+ MiB of RAM in [0-9.]+ s: written [0-9.]+ s, synced [0-9.]+ s, published [0-9.]+ ms\)" "$TMP/seed.log" || fail "the suspend line lacks its time breakdown"
[ ! -e "$HYVE_RUNDIR/seed.sock" ] || fail "the control socket was left behind"
n=$(wc -l <"$con")
t1=$(last_ticks "$con")
grep -q '^COPY OK' "$con" && fail "the copy finished before the suspend"
grep -q '^PING OK' "$con" && fail "the ping finished before the suspend"
echo "suspended at line $n, ticks=$t1: $(grep -E '^COPY (copy|verify)' "$con" | tail -n 1)"

# The checkpoint: readable, every device there.
"$CKP" check "$ck" >/dev/null || fail "ckp check of the checkpoint failed"
devs=$("$CKP" get "$ck.meta" devices) || fail "ckp get devices failed"
for d in pm rtc uart@0 hostbridge@0 lpc@0 virtio-net@0 virtio-blk@0 virtio-blk@1; do
	grep -q "^  $d (v[0-9]*)" <<<"$devs" || fail "no section devices.$d in ckp show"
done
"$CKP" show "$ck.meta" | grep -Eq '^  vcpu@1 \(v[0-9]+\)' || fail "no vcpu@1 in ckp show"
rip=$("$CKP" get "$ck.meta" devices.vcpu@0.rip) || fail "no devices.vcpu@0.rip"
echo "devices.vcpu@0.rip=$rip, $(du -k --apparent-size "$ck" | cut -f1) KiB apparent," \
	"$(du -k "$ck" | cut -f1) KiB allocated, meta $(stat -c %s "$ck.meta") bytes"

# Elsewhere: the source disk moved, tap1 instead of tap0 (same address and
# MAC, as the guest knows its peer's).
mac=$(ip -n "$NETNS" link show tap0 | awk '/ether/ { print $2 }')
ip -n "$NETNS" tuntap del dev tap0 mode tap
ip -n "$NETNS" tuntap add dev tap1 mode tap || fail "cannot create tap1"
ip -n "$NETNS" link set tap1 address "$mac"
ip -n "$NETNS" addr add 10.0.0.1/24 dev tap1
ip -n "$NETNS" link set tap1 up
mv "$src" "$TMP/moved.img"
src=$TMP/moved.img

# A new process, the checkpoint alone (and the two overrides).
start seed2 -r "$ck" -o pci.0.3.0.path="$src" -o pci.0.2.0.backend=tap1 seed
pid=$PID
wait_exit "$pid" 60
no_crash "$TMP/seed2.log"
[ "$RC" = 0 ] || fail "the restored hyve exited $RC"
grep -q "restored from $ck" "$TMP/seed2.log" || fail "no restore summary"
after=$(tail -n +"$((n + 1))" "$con")
grep -q '^HYVE-GUEST' <<<"$after" && fail "the guest booted again after the restore"
got=$(sed -n 's/^COPY OK \([0-9a-f]\{16\}\)$/\1/p' <<<"$after")
want=$("$XXH" "$src" $SIZE)
[ -n "$got" ] || fail "no COPY OK after the restore"
[ "$got" = "$want" ] || fail "guest checksum $got, host XXH64 of the source $want"
cmp -n $((256 << 20)) "$src" "$dst" || fail "the target image differs from the source"
grep -Eq '^PING OK sent=50 received=(4[5-9]|50)$' <<<"$after" || fail "no PING OK with at least 90% replies"
grep -q '^GUEST EXIT status=0$' <<<"$after" || fail "the guest did not exit with status 0"
t2=$(first_ticks "$con" "$((n + 1))")
[ -n "$t2" ] && [ "$t2" -gt "$t1" ] || fail "ticks after the restore ($t2) not above ticks before ($t1)"
echo "after the restore: COPY OK $got (host $want), $(grep -o '^PING OK.*' <<<"$after"), ticks $t1 -> $t2"
all_clean
echo PASS
