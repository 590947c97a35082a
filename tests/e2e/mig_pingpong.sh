#!/usr/bin/env bash
# Issue 12's second test.  1. A 512 MiB guest churning on 2 vCPUs (it
# rewrites all its RAM, round after round) migrates over a UNIX socket and
# ends at the destination with the CHURN OK sum of an uninterrupted run.
# 2. One churning guest migrates back and forth 20 times between two
# "hosts" (two runtime directories, so that both hyves keep the VM's name)
# and ends with the sum of an uninterrupted run.  After every hop the
# source has exited 0 saying it migrated, and exactly one hyve of the VM
# runs: the destination, whose status says running.  No console but the
# last holds a verdict, and none a failure.
. "$(dirname "$0")/ckp_lib.inc"

# Rounds enough to outlast the migration: a CI run of churn 8 (2-4 s) ended
# while its 512 MiB were still on the way.
BIG=(-c 2 -m 512M --kernel "$GUEST" --append "churn 40")
# 12 MiB of churn, rounds enough to outlast 20 hand-overs of it.
VM=pp$$
SMALL=(-c 2 -m 16M --kernel "$GUEST" --append "churn 8000")
HOPS=20

# The uninterrupted runs, one at a time: churn's barriers crawl on vCPUs
# that outnumber the host's CPUs.
start ref1 "${BIG[@]}" -l com1,"$TMP/ref1.console" ref1
wait_exit "$PID" 90
[ "$RC" = 0 ] || fail "the uninterrupted 512 MiB run exited $RC"
want1=$(verdict "$TMP/ref1.console" CHURN)
[[ $want1 == "CHURN OK "* ]] || fail "uninterrupted 512 MiB run: '$want1'"

# incoming NAME RUNDIR VM: a destination on $TMP/NAME.sock; its PID in $DPID.
incoming() {
	rm -f "$TMP/$1.sock"
	HYVE_RUNDIR=$2 "$HYVE" --incoming "unix:$TMP/$1.sock" -l com1,"$TMP/$1.console" "$3" \
		</dev/null >"$TMP/$1.log" 2>&1 &
	DPID=$!
	PIDS+=("$DPID")
	# The log line comes once it listens (the socket file exists before).
	wait_for "$TMP/$1.log" "waiting for a migration stream on unix:$TMP/$1.sock" 10
}
# hyves VM: how many hyve processes of VM (the last argument) there are.
hyves() { pgrep -fc -- "/hyve .* $1\$"; }

# 1. 512 MiB.
start big "${BIG[@]}" -l com1,"$TMP/big.console" big
spid=$PID
wait_for "$TMP/big.console" '^CHURN round [0-9]+/' 60
incoming bigdst "$TMP/runB" big
dpid=$DPID
out=$("$HYVECTL" --vm=big --migrate "unix:$TMP/bigdst.sock" 2>&1) || fail "migrate (512 MiB): $out"
[[ $out =~ ^migrated\ unix:$TMP/bigdst.sock\ downtime_ms=[0-9.]+\ rounds=([0-9]+)\ bytes=([0-9]+) ]] ||
	fail "hyvectl said '$out'"
bytes=${BASH_REMATCH[2]}
[ "$bytes" -ge $((500 << 20)) ] || fail "a 512 MiB churning guest migrated in $bytes bytes"
echo "512 MiB: $out"
wait_exit "$spid" 10
[ "$RC" = 0 ] || fail "the 512 MiB source exited $RC after the hand-over"
grep -q "CHURN OK" "$TMP/big.console" && fail "the 512 MiB source finished the guest too"
wait_exit "$dpid" 90
[ "$RC" = 0 ] || fail "the 512 MiB destination exited $RC"
got=$(verdict "$TMP/bigdst.console" CHURN)
[ "$got" = "$want1" ] || fail "512 MiB destination: '$got', uninterrupted: '$want1'"
echo "512 MiB: $got"

start ref2 "${SMALL[@]}" -l com1,"$TMP/ref2.console" ref2
wait_exit "$PID" 120
[ "$RC" = 0 ] || fail "the uninterrupted small run exited $RC"
want2=$(verdict "$TMP/ref2.console" CHURN)
[[ $want2 == "CHURN OK "* ]] || fail "uninterrupted small run: '$want2'"

# 2. Back and forth: hop N goes from runtime directory A to B when N is
# odd, B to A when even; hop N's destination writes hopN.console.
HYVE_RUNDIR=$TMP/runA start hop0 "${SMALL[@]}" -l com1,"$TMP/hop0.console" "$VM"
wait_for "$TMP/hop0.console" '^CHURN round [0-9]+/' 30
pid=$PID cur=A t0=$EPOCHREALTIME
[ -S "$TMP/runA/$VM.sock" ] || fail "no control socket $TMP/runA/$VM.sock"
for h in $(seq $HOPS); do
	nxt=$([ $cur = A ] && echo B || echo A)
	incoming "hop$h" "$TMP/run$nxt" "$VM"
	out=$(HYVE_RUNDIR=$TMP/run$cur "$HYVECTL" --vm="$VM" --migrate "unix:$TMP/hop$h.sock" 2>&1) ||
		fail "hop $h: $out (the guest: $(grep CHURN "$TMP/hop$((h - 1)).console" | tail -n 1))"
	[[ $out == "migrated unix:$TMP/hop$h.sock "* ]] || fail "hop $h: hyvectl said '$out'"
	wait_exit "$pid" 10
	[ "$RC" = 0 ] || fail "hop $h: the source exited $RC"
	grep -q "migrated to unix:$TMP/hop$h.sock" "$TMP/hop$((h - 1)).log" ||
		fail "hop $h: the source's log does not say it migrated"
	n=$(hyves "$VM")
	[ "$n" = 1 ] || fail "hop $h: $n hyves of $VM run"
	kill -0 "$DPID" 2>/dev/null || fail "hop $h: the destination is not running"
	[ -e "$TMP/run$cur/$VM.sock" ] && fail "hop $h: the source left its control socket"
	st=$(HYVE_RUNDIR=$TMP/run$nxt "$HYVECTL" --vm="$VM" --status 2>&1)
	[[ $st == "state=running name=$VM "* ]] || fail "hop $h: the destination's status: '$st'"
	pid=$DPID cur=$nxt
done
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
# How much of its work the guest had left: the margin of ROUNDS.
left=$(for h in $(seq 0 "$HOPS"); do cat "$TMP/hop$h.console"; done |
	grep -Eo '^CHURN round [0-9]+/[0-9]+' | tail -n 1)
wait_exit "$pid" 120
[ "$RC" = 0 ] || fail "the last destination exited $RC"
got=$(verdict "$TMP/hop$HOPS.console" CHURN)
[ "$got" = "$want2" ] || fail "after $HOPS hops: '$got', uninterrupted: '$want2'"
for h in $(seq 0 $((HOPS - 1))); do
	grep -Eq '^CHURN (OK|FAIL)' "$TMP/hop$h.console" && fail "hop $h's console holds a verdict"
done
grep -q '^HYVE-GUEST' "$TMP"/hop[1-9]*.console && fail "the guest booted again after a hop"
echo "$HOPS hops in $secs s (at the last, ${left:-no round line yet}): $got"
echo "COUNT: 1 migration of a 512 MiB churning guest, $HOPS hand-overs of one guest back and forth in $secs s (the guest then at ${left:-no round line yet})"
all_clean
echo PASS
