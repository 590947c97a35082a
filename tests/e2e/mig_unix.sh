#!/usr/bin/env bash
# Live migration over a UNIX socket, source and destination on this host.
# A churning guest (2 vCPUs, rewriting all its RAM) migrates: hyvectl
# exits 0, the source hyve exits 0 ("migrated"), the destination finishes
# with the CHURN OK sum of an uninterrupted run.  Then, on a second source,
# the failures before GO, each leaving the guest running at the source:
# the destination refuses HELLO (ABORT: another memory size), and the
# destination is killed (kill -9) in the middle of pre-copy with a downtime
# target churn cannot meet (so auto-converge throttles it meanwhile); that
# source finishes with the right sum too, and no throttle is left.
. "$(dirname "$0")/ckp_lib.inc"

args=(-c 2 -m 128M --kernel "$GUEST" --append "churn 300")
reference CHURN

# incoming NAME [args...]: a destination on $TMP/NAME.sock; its PID in $DPID.
incoming() {
	local name=$1 i
	shift
	rm -f "$TMP/$name.sock"
	"$HYVE" --incoming "unix:$TMP/$name.sock" "$@" -l com1,"$TMP/$name.console" "$name" \
		</dev/null >"$TMP/$name.log" 2>&1 &
	DPID=$!
	PIDS+=("$DPID")
	for i in $(seq 200); do [ -S "$TMP/$name.sock" ] && return 0; sleep 0.025; done
	fail "$name: not listening after 5 s"
}

# 1. The hand-over.
start src "${args[@]}" -l com1,"$TMP/src.console" src
spid=$PID
incoming dst
dpid=$DPID
wait_for "$TMP/src.console" '^CHURN round [0-9]+/' 30
out=$("$HYVECTL" --vm=src --migrate "unix:$TMP/dst.sock" 2>&1) || fail "migrate: $out"
[[ $out =~ ^migrated\ unix:$TMP/dst.sock\ downtime_ms=[0-9.]+\ rounds=[0-9]+\ bytes=[0-9]+ ]] ||
	fail "hyvectl said '$out'"
echo "$out"
wait_exit "$spid" 10
[ "$RC" = 0 ] || fail "the source exited $RC after the hand-over"
grep -q "migrated to unix:$TMP/dst.sock" "$TMP/src.log" || fail "the source's log does not say migrated"
grep -q "CHURN OK" "$TMP/src.console" && fail "the source finished the guest too"
wait_exit "$dpid" 90
no_crash "$TMP/dst.log"
[ "$RC" = 0 ] || fail "the destination exited $RC"
got=$(verdict "$TMP/dst.console" CHURN)
[ "$got" = "$want" ] || fail "destination: '$got', uninterrupted: '$want'"
echo "hand-over: $got"

# 2. Failures before GO: the source keeps the guest.
start src2 "${args[@]}" -l com1,"$TMP/src2.console" src2
spid=$PID
wait_for "$TMP/src2.console" '^CHURN round [0-9]+/' 30
incoming bad -o memory.size=64M
out=$("$HYVECTL" --vm=src2 --migrate "unix:$TMP/bad.sock" 2>&1) && fail "a refused HELLO succeeded: $out"
grep -q "refused" <<<"$out" || fail "refused HELLO: '$out'"
echo "refused: $out"
wait_exit "$DPID" 10
[ "$RC" = 2 ] || fail "the refusing destination exited $RC"
grep -q CHURN "$TMP/bad.console" 2>/dev/null && fail "the refusing destination ran the guest"

incoming dead
"$HYVECTL" --vm=src2 --migrate "unix:$TMP/dead.sock" -o migrate.downtime_ms=1 >"$TMP/mig.out" 2>&1 &
mig=$!
for i in $(seq 400); do
	st=$("$HYVECTL" --vm=src2 --status 2>&1)
	[[ $st == *" migrating round="* ]] && break
	sleep 0.01
done
[[ $st == *" migrating round="* ]] || fail "no migration under way: '$st'"
# Stopped first, so that the migration cannot end before the kill.
kill -STOP "$DPID"
sleep 0.5
st=$("$HYVECTL" --vm=src2 --status 2>&1)
[[ $st == *" migrating round="* ]] || fail "not migrating any more: '$st'"
echo "status: $st"
kill -9 "$DPID"
wait "$mig"; rc=$?
[ $rc = 1 ] || fail "migration to a killed destination: exit $rc ($(cat "$TMP/mig.out"))"
grep -Eqi "closed|reset|broken pipe" "$TMP/mig.out" || fail "killed destination: $(cat "$TMP/mig.out")"
st=$("$HYVECTL" --vm=src2 --status) || fail "status after the failure: $st"
[[ $st == "state=running name=src2 "* ]] || fail "status after the failure: '$st'"
[[ $st == *migrating* ]] && fail "still migrating: '$st'"
grep -q "migration to unix:$TMP/dead.sock failed, the guest runs here" "$TMP/src2.log" ||
	fail "the source's log does not say it kept the guest"
wait_exit "$spid" 120
no_crash "$TMP/src2.log"
[ "$RC" = 0 ] || fail "the source exited $RC after the failures"
got=$(verdict "$TMP/src2.console" CHURN)
[ "$got" = "$want" ] || fail "source after the failures: '$got', uninterrupted: '$want'"
echo "failures before GO: the source finished with $got"
all_clean
echo PASS
