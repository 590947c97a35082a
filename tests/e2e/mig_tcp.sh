#!/usr/bin/env bash
# Live migration over TCP between two network namespaces joined by a veth
# pair (created and deleted here; no traffic leaves this machine).  A
# churning guest migrates from the source's namespace to the destination's
# and finishes there with the CHURN OK sum of an uninterrupted run.  Then
# the link is cut (ip link set down) in the middle of another migration:
# the source gives up after migrate.timeout_ms, keeps the guest and
# finishes it with the right sum; the destination never runs it.
. "$(dirname "$0")/ckp_lib.inc"

make_veth_pair mig 10.77.0

# Small enough that churn converges on the nested tier's emulated KVM too
# (where a 64 MiB guest rewrites its RAM faster than TCG copies it),
# long enough (seconds on a quiet machine) to be mid-work at every step,
# the source still running after the cut link's 1.5 s timeout.
args=(-c 2 -m 24M --kernel "$GUEST" --append "churn 1500")
reference CHURN

ctl() { ip netns exec "$NSA" "$HYVECTL" "$@" 2>&1; }

# 1. The hand-over.
mig_src s1
spid=$SPID
mig_dst d1 7777
dpid=$DPID
out=$(ctl --vm=s1 --migrate tcp:10.77.0.2:7777) || fail "migrate: $out"
[[ $out == "migrated tcp:10.77.0.2:7777 downtime_ms="* ]] || fail "hyvectl said '$out'"
echo "$out"
wait_exit "$spid" 10
[ "$RC" = 0 ] || fail "the source exited $RC after the hand-over"
wait_exit "$dpid" 90
no_crash "$TMP/d1.log"
[ "$RC" = 0 ] || fail "the destination exited $RC"
got=$(verdict "$TMP/d1.console" CHURN)
[ "$got" = "$want" ] || fail "destination: '$got', uninterrupted: '$want'"
echo "hand-over over tcp: $got"

# 2. The link cut during pre-copy.
# Pre-copy is held open (test hook) so that the cut always lands in it.
mig_src s2 HYVE_TEST_MIG_PRECOPY_MIN_MS=60000
spid=$SPID
mig_dst d2 7778
dpid=$DPID
ctl --vm=s2 --migrate tcp:10.77.0.2:7778 -o migrate.downtime_ms=1 -o migrate.timeout_ms=1500 >"$TMP/mig.out" &
mig=$!
for i in $(seq 400); do
	st=$(ctl --vm=s2 --status)
	[[ $st =~ migrating\ round=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] && break
	sleep 0.01
done
[[ $st == *migrating* ]] || fail "no migration under way: '$st'"
ip -n "$NSA" link set "$VA" down
t0=$EPOCHREALTIME
wait "$mig"; rc=$?
[ $rc = 1 ] || fail "migration over a cut link: exit $rc ($(cat "$TMP/mig.out"))"
grep -q "timed out" "$TMP/mig.out" || fail "cut link: $(cat "$TMP/mig.out")"
echo "cut link: $(cat "$TMP/mig.out")"
st=$(ctl --vm=s2 --status) || fail "status after the cut: $st"
[[ $st == "state=running name=s2 "* && $st != *migrating* ]] || fail "status after the cut: '$st'"
wait_exit "$spid" 120
no_crash "$TMP/s2.log"
[ "$RC" = 0 ] || fail "the source exited $RC after the cut"
got=$(verdict "$TMP/s2.console" CHURN)
[ "$got" = "$want" ] || fail "source after the cut: '$got', uninterrupted: '$want'"
wait_exit "$dpid" 30
[ "$RC" != 0 ] || fail "the cut-off destination exited 0"
grep -q CHURN "$TMP/d2.console" 2>/dev/null && fail "the cut-off destination ran the guest"
echo "cut link: the source finished with $got, the destination exited $RC"
all_clean
echo PASS
