#!/usr/bin/env bash
# The hand-over's one uncertain window: the link cut after the source
# sent GO (docs/MIGRATION.md, section 7).  Between two network namespaces
# joined by a veth pair (created and deleted here):
#  A. GO arrived, RUNNING did not (the destination's test hook holds it
#     back while the guest already runs there; the link goes down then):
#     the source says the hand-over is unconfirmed and keeps the guest
#     paused; the destination finishes the guest with the sum of an
#     uninterrupted run; the source's guest never runs again.
#  B. GO never arrived (the source's test hook holds GO back; the link
#     goes down then): the source keeps the guest paused as in A; the
#     destination gives up without running it; the operator, seeing no
#     destination, resumes the source, which finishes with the right sum.
# In both, exactly one side runs the guest to its end.
. "$(dirname "$0")/ckp_lib.inc"
make_veth_pair cut 10.79.0

args=(-c 2 -m 24M --kernel "$GUEST" --append "churn 1500")
reference CHURN

ctl() { ip netns exec "$NSA" "$HYVECTL" "$@" 2>&1; }
# unconfirmed NAME: hyvectl's answer (in $TMP/NAME.mig) and the status.
unconfirmed() {
	local rc=$1 st
	[ "$rc" = 1 ] || fail "$2: hyvectl --migrate exit $rc ($(cat "$TMP/$2.mig"))"
	grep -q "unconfirmed: .*the guest stays paused here" "$TMP/$2.mig" ||
		fail "$2: hyvectl said: $(cat "$TMP/$2.mig")"
	st=$(ctl --vm="$2" --status) || fail "$2: status: $st"
	[[ $st == "state=paused name=$2 "* && $st != *migrating* ]] || fail "$2: status '$st'"
}

# A. GO arrives; the link goes down before RUNNING leaves the destination.
mig_src sa
spid=$SPID
mig_dst da 7791 HYVE_TEST_MIG_HOLD_RUNNING_MS=3000
dpid=$DPID
ctl --vm=sa --migrate tcp:10.79.0.2:7791 -o migrate.timeout_ms=1500 >"$TMP/sa.mig" &
mig=$!
wait_for "$TMP/da.log" 'RUNNING held back' 60
ip -n "$NSA" link set "$VA" down
wait "$mig"; rc=$?
unconfirmed $rc sa
echo "A: $(cat "$TMP/sa.mig")"
lines=$(wc -l <"$TMP/sa.console")
wait_exit "$dpid" 90
no_crash "$TMP/da.log"
[ "$RC" = 0 ] || fail "A: the destination exited $RC"
got=$(verdict "$TMP/da.console" CHURN)
[ "$got" = "$want" ] || fail "A: destination: '$got', uninterrupted: '$want'"
[ "$(wc -l <"$TMP/sa.console")" = "$lines" ] || fail "A: the paused source's guest ran on"
st=$(ctl --vm=sa --status)
[[ $st == "state=paused name=sa "* ]] || fail "A: the source after the destination's end: '$st'"
# The operator, seeing the destination run it, stops the source.
kill -TERM "$spid"
wait_exit "$spid" 10
no_crash "$TMP/sa.log"
grep -q "CHURN OK" "$TMP/sa.console" && fail "A: the source finished the guest too"
echo "A: the destination finished with $got; the source stayed paused until stopped"

# B. GO never arrives: the link goes down while the source holds GO.
ip -n "$NSA" link set "$VA" up
mig_src sb HYVE_TEST_MIG_HOLD_GO_MS=3000
spid=$SPID
mig_dst db 7792
dpid=$DPID
ctl --vm=sb --migrate tcp:10.79.0.2:7792 -o migrate.timeout_ms=1500 >"$TMP/sb.mig" &
mig=$!
wait_for "$TMP/sb.log" 'GO held back' 60
ip -n "$NSA" link set "$VA" down
wait "$mig"; rc=$?
unconfirmed $rc sb
echo "B: $(cat "$TMP/sb.mig")"
# The destination waits for GO until its own timeout, then gives up.
wait_exit "$dpid" 60
no_crash "$TMP/db.log"
drc=$RC
[ $drc != 0 ] || fail "B: the destination exited 0 without GO"
grep -q CHURN "$TMP/db.console" 2>/dev/null && fail "B: the destination ran the guest without GO"
# The operator, seeing no destination, resumes the source.
out=$(ctl --vm=sb --resume) || fail "B: resume: $out"
wait_exit "$spid" 120
no_crash "$TMP/sb.log"
[ "$RC" = 0 ] || fail "B: the source exited $RC after the resume"
got=$(verdict "$TMP/sb.console" CHURN)
[ "$got" = "$want" ] || fail "B: source: '$got', uninterrupted: '$want'"
echo "B: the destination exited $drc without running it ($(tail -n 1 "$TMP/db.log")); the resumed source finished with $got"
all_clean
echo PASS
