#!/usr/bin/env bash
# Makes a set of frozen checkpoints: tests/compat/make-frozen.sh DIR
# (BUILD=build by default; run as root, it needs a network namespace).
# Run once per checkpoint format version, into a new tests/compat/vN/; the
# files are then never regenerated or edited (docs/HACKING.md): every later
# build must restore them (tests/e2e/ckp_frozen.sh).
#
# One VM with every device model hyve has (2 vCPUs, 16 MiB, hostbridge,
# lpc with com1, the RTC and PM, virtio-net on a tap, two virtio-blk
# disks throttled to 1 MiB/s) copies 4 MiB from one disk to
# the other while pinging the tap's address.  Mid-copy it is checkpointed
# (hyvectl --checkpoint: pre-copy rounds, the VM runs on) and a little
# later suspended.  What the directory gets:
#   ckpt.ckp.meta, susp.ckp.meta    the metas as hyve wrote them (JSON)
#   NAME.bin.meta, NAME.conf.meta   the same, ckp convert'ed
#   NAME.ckp.xz                     the RAM files (xz; the test unpacks them sparse)
#   NAME.dst.img.xz                 the target disk as it was after each
#   src.img.xz                      the source disk
#   expect                          the results the restored guest must print
#   host                            the KVM module and CPU that made them
# Disks are not part of a checkpoint: the target disk is captured right
# after each checkpoint returns.  A copy writes source data in order, so
# blocks written after the checkpoint's stop are what the restored guest
# writes again: the final COPY OK checks the whole target either way.
. "$(dirname "$0")/../e2e/ckp_lib.inc"
. "$(dirname "$0")/frozen.inc"
OUT=${1:?usage: make-frozen.sh DIR}
mkdir -p "$OUT" || fail "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
[ -z "$(ls -A "$OUT")" ] || fail "$OUT is not empty: frozen checkpoints are never regenerated"
[ -f "$XXH" ] || fail "$XXH is not built"
make_netns
set_tap_mac

# A source with structure but few bytes once compressed: one random
# 16 KiB block, 256 times.
python3 -c 'import os,sys; sys.stdout.buffer.write(os.urandom(16384) * 256)' >"$TMP/src.img"
truncate -s 4M "$TMP/dst.img"
start v -c 2 -m 16M -s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
	-s 3,virtio-blk,"$TMP/src.img",bps=1M -s 4,virtio-blk,"$TMP/dst.img",bps=1M \
	-l com1,"$TMP/v.console" --kernel "$GUEST" \
	--append "copy 4M ; ping 40 10.0.0.1 10.0.0.2" v
pid=$PID
wait_for "$TMP/v.console" '^COPY copy 1M/' 30
wait_for "$TMP/v.console" '^PING (peer|progress)' 30
"$HYVECTL" -q --vm=v --checkpoint "$TMP/ckpt.ckp" || fail "checkpoint failed"
cp --sparse=always "$TMP/dst.img" "$TMP/ckpt.dst.img"
wait_for "$TMP/v.console" '^COPY copy 3M/' 30
"$HYVECTL" -q --vm=v --suspend "$TMP/susp.ckp" || fail "suspend failed"
cp --sparse=always "$TMP/dst.img" "$TMP/susp.dst.img"
wait_exit "$pid" 30
[ "$RC" = 0 ] || fail "the suspended hyve exited $RC"
grep -q '^COPY OK' "$TMP/v.console" && fail "the copy finished before the suspend"

for n in ckpt susp; do
	cp "$TMP/$n.ckp.meta" "$OUT/" || fail "copy"
	"$CKP" convert --to bin "$TMP/$n.ckp.meta" "$OUT/$n.bin.meta" || fail "convert to bin"
	"$CKP" convert --to conf "$TMP/$n.ckp.meta" "$OUT/$n.conf.meta" || fail "convert to conf"
	xz -9 -c "$TMP/$n.ckp" >"$OUT/$n.ckp.xz" || fail "xz"
	xz -9 -c "$TMP/$n.dst.img" >"$OUT/$n.dst.img.xz" || fail "xz"
done
xz -9 -c "$TMP/src.img" >"$OUT/src.img.xz" || fail "xz"
{
	echo "COPY OK $("$XXH" "$TMP/src.img" 4M)"
	echo "PING OK sent=40"
} >"$OUT/expect"
# The vCPU state is this host's CPU's (CPUID, MSRs, XSAVE layout): a host of
# another kind may refuse it, by design (docs/CHECKPOINT.md).
echo "$(host_kind)" >"$OUT/host"
"$CKP" show "$OUT/susp.ckp.meta" >/dev/null || fail "ckp show"
echo "frozen checkpoints in $OUT:"
ls -l "$OUT"
