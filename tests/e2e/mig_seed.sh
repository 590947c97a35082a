#!/usr/bin/env bash
# Issue 12's first test: the seed's workload migrates between two hosts.
# Each "host" is a network namespace this test creates (and always
# deletes), joined by a veth pair that carries the migration over TCP;
# each has its own runtime directory, so both hyves keep the VM's name.
# The guest (2 vCPUs) copies 96 MiB from one virtio-blk disk to another,
# limited to 32 MiB/s so that the hand-over lands in the middle of the
# copy, while it pings 10.0.0.1 over virtio-net.  Each namespace has a tap0
# with that address and the same MAC (the guest resolved its peer before
# the move), so the ping goes on at the destination.  The disks are shared
# storage: both hyves open the same image paths.  The destination must
# finish both: COPY OK with the host's XXH64 of the source and the images
# equal on the host, PING OK with at least 90% replies; the source exits 0
# and says it migrated, and prints nothing of the guest afterwards.
. "$(dirname "$0")/ckp_lib.inc"
command -v ip >/dev/null 2>&1 || fail "iproute2 (ip) is not installed (scripts/setup.sh)"
[ -f "$XXH" ] || fail "$XXH is not built (make BUILD=$BUILD)"

make_veth_pair mseed 10.78.0
mac=02:00:0a:00:00:01
for ns in "$NSA" "$NSB"; do
	ip -n "$ns" tuntap add dev tap0 mode tap || fail "cannot create a tap device in $ns"
	ip -n "$ns" link set tap0 address $mac
	ip -n "$ns" addr add 10.0.0.1/24 dev tap0
	ip -n "$ns" link set tap0 up
done

SIZE=96M
src=$TMP/src.img dst=$TMP/dst.img
head -c 64M /dev/urandom >"$src"
head -c 1M /dev/urandom >"$TMP/r1"
for i in $(seq 32); do cat "$TMP/r1"; done >>"$src"
truncate -s 100M "$src"
truncate -s 100M "$dst"
RUNA=$TMP/runA RUNB=$TMP/runB
port=7790

# The source, in $NSA.
HYVE_RUNDIR=$RUNA ip netns exec "$NSA" "$HYVE" -c 2 -m 128M -s 0,hostbridge -s 1,lpc \
	-s 2,virtio-net,tap0 -s 3,virtio-blk,"$src",bps=32M -s 4,virtio-blk,"$dst",bps=32M \
	-l com1,"$TMP/src.console" --kernel "$GUEST" \
	--append "copy $SIZE ; ping 80 10.0.0.1 10.0.0.2" seed </dev/null >"$TMP/src.log" 2>&1 &
spid=$!
PIDS+=("$spid")
# The destination, in $NSB: same name, same disks, same tap name.
HYVE_RUNDIR=$RUNB ip netns exec "$NSB" "$HYVE" --incoming tcp:10.78.0.2:$port \
	-l com1,"$TMP/dst.console" seed </dev/null >"$TMP/dst.log" 2>&1 &
dpid=$!
PIDS+=("$dpid")
wait_for "$TMP/dst.log" 'waiting for a migration stream on tcp:10.78.0.2' 10

# In the middle of the copy, with the ping going on.
wait_for "$TMP/src.console" '^COPY copy [0-9]' 30
wait_for "$TMP/src.console" '^PING (peer|progress)' 30
out=$(HYVE_RUNDIR=$RUNA ip netns exec "$NSA" "$HYVECTL" --vm=seed --migrate tcp:10.78.0.2:$port 2>&1) ||
	fail "hyvectl --migrate failed: $out"
[[ $out =~ ^migrated\ tcp:10.78.0.2:$port\ downtime_ms=[0-9.]+\ rounds=[0-9]+\ bytes=[0-9]+ ]] ||
	fail "hyvectl said '$out'"
echo "$out"
wait_exit "$spid" 10
no_crash "$TMP/src.log"
[ "$RC" = 0 ] || fail "the source exited $RC after the hand-over"
grep -q "migrated to tcp:10.78.0.2:$port" "$TMP/src.log" || fail "the source's log does not say it migrated"
grep -Eq '^COPY (done|OK)' "$TMP/src.console" && fail "the copy finished before the hand-over"
grep -q '^PING OK' "$TMP/src.console" && fail "the ping finished before the hand-over"
[ -e "$RUNA/seed.sock" ] && fail "the source left its control socket"
echo "handed over at: $(grep -E '^COPY (copy|verify)' "$TMP/src.console" | tail -n 1)"
st=$(HYVE_RUNDIR=$RUNB "$HYVECTL" --vm=seed --status 2>&1)
[[ $st == "state=running name=seed "* ]] || fail "the destination's status: '$st'"

wait_exit "$dpid" 60
no_crash "$TMP/dst.log"
[ "$RC" = 0 ] || fail "the destination exited $RC"
c=$TMP/dst.console
grep -q '^HYVE-GUEST' "$c" && fail "the guest booted again at the destination"
grep -Eq '^COPY (copy|verify) ' "$c" || fail "the destination did not go on with the copy"
got=$(sed -n 's/^COPY OK \([0-9a-f]\{16\}\)$/\1/p' "$c")
want=$("$XXH" "$src" $SIZE)
[ -n "$got" ] || fail "no COPY OK at the destination"
[ "$got" = "$want" ] || fail "guest checksum $got, host XXH64 of the source $want"
cmp -n $((96 << 20)) "$src" "$dst" || fail "the target image differs from the source"
grep -Eq '^PING OK sent=80 received=(7[2-9]|80)$' "$c" || fail "no PING OK with at least 90% replies at the destination"
grep -q '^GUEST EXIT status=0$' "$c" || fail "the guest did not exit with status 0"
echo "destination: COPY OK $got (host $want), $(grep -o '^PING OK.*' "$c")"
echo "COUNT: 1 hand-over over tcp between namespaces mid-copy (${out#migrated tcp:10.78.0.2:$port })"
all_clean
echo PASS
