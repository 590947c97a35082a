#!/usr/bin/env bash
# Checkpoint-and-continue of a churning guest (2 vCPUs): hyvectl
# --checkpoint writes the checkpoint while the guest runs and the guest
# goes on; the same checkpoint is then restored twice, in two new
# processes.  All three runs must end with the CHURN OK checksum of an
# uninterrupted run (churn checks every word of its RAM every round, so a
# page missed by the dirty log would be a CHURN FAIL).  A second checkpoint
# of the same run: `ckp diff` shows what changed (registers, the RAM
# checksum), and the first checkpoint was replaced whole.
. "$(dirname "$0")/ckp_lib.inc"

args=(-c 2 -m 128M --kernel "$GUEST" --append "churn 300")

reference CHURN

con=$TMP/run.console ck=$TMP/run.ckp ck2=$TMP/run2.ckp
start run "${args[@]}" -l com1,"$con" run
pid=$PID
wait_for "$con" '^CHURN round 1/' 30
out=$("$HYVECTL" --vm=run --checkpoint "$ck") || fail "hyvectl --checkpoint: $out"
[[ $out =~ ^checkpoint\ $ck\ downtime_ms=[0-9.]+\ rounds=[0-9]+$ ]] || fail "hyvectl said '$out'"
echo "$out"
sleep 0.3
st=$("$HYVECTL" --vm=run --status) || fail "status after the checkpoint: $st"
[[ $st == "state=running name=run "* ]] || fail "status '$st'"
out2=$("$HYVECTL" --vm=run --checkpoint "$ck2" --encoding=bin) || fail "second checkpoint: $out2"
wait_exit "$pid" 60
no_crash "$TMP/run.log"
[ "$RC" = 0 ] || fail "the checkpointed run exited $RC"
got=$(verdict "$con" CHURN)
[ "$got" = "$want" ] || fail "continued run: '$got', uninterrupted: '$want'"

for i in 1 2; do
	start "r$i" -r "$ck" -l com1,"$TMP/r$i.console" "r$i"
	wait_exit "$PID" 60
	no_crash "$TMP/r$i.log"
	[ "$RC" = 0 ] || fail "restore $i exited $RC"
	got=$(verdict "$TMP/r$i.console" CHURN)
	[ "$got" = "$want" ] || fail "restore $i: '$got', uninterrupted: '$want'"
	grep -q HYVE-GUEST "$TMP/r$i.console" && fail "restore $i booted the guest again"
done
echo "4 runs: $want"

# Two checkpoints of one run: the differences a person looks for.
"$CKP" check "$ck2" >/dev/null || fail "ckp check of the bin checkpoint"
diff=$("$CKP" diff "$ck.meta" "$ck2.meta")
[ $? = 1 ] || fail "ckp diff found no difference"
# (rip alone may coincide: churn's loop is short; some register does not.)
for p in 'devices.vcpu@0.r[a-z0-9]+\$uint64' 'ram.checksum\$string' 'devices.vcpu@0.msrs.tsc\$uint64'; do
	grep -Eq "^~ $p: " <<<"$diff" || fail "ckp diff does not show $p changed"
done
grep -Eq '^~ (memory|config)\.' <<<"$diff" && fail "ckp diff shows a configuration or layout change"
echo "ckp diff: $(wc -l <<<"$diff") differences, e.g. $(grep -m1 'regs.r' <<<"$diff")"
all_clean
echo PASS
