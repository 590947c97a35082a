#!/usr/bin/env bash
# HYVE_CYCLES (20; `make soak` runs 100) suspend/resume cycles in a row on
# one running churn workload, always
# to the same checkpoint name: each restored hyve runs from a MAP_PRIVATE
# mapping of the RAM file that its own suspend then replaces (every other
# cycle reads RAM eagerly instead, --eager).  Every fifth cycle also takes a
# checkpoint-and-continue first (dirty logging over file-mapped guest RAM);
# the last of those is restored at the end and must give the same result, and
# the suspend sent as soon as its answer came must not find the VM busy.  The guest
# must still end with the checksum of an uninterrupted run, its tick counter
# must never go back, and it must never boot again.
. "$(dirname "$0")/ckp_lib.inc"

N=${HYVE_CYCLES:-20}
# Enough work for every cycle to find the guest still churning.
args=(-c 2 -m 64M --kernel "$GUEST" --append "churn $((N * 60))")
reference CHURN

con=$TMP/cyc.console ck=$TMP/cyc.ckp
start c0 "${args[@]}" -l com1,"$con" cyc
wait_for "$con" '^CHURN round 1/' 30
prev=0
for i in $(seq "$N"); do
	sleep 0.1
	if [ $((i % 5)) = 0 ]; then
		out=$("$HYVECTL" --vm=cyc --checkpoint "$TMP/mid.ckp") || fail "cycle $i: checkpoint: $out"
	fi
	out=$("$HYVECTL" --vm=cyc --suspend "$ck") || fail "cycle $i: suspend: $out"
	wait_exit "$PID" 20
	no_crash "$TMP/c$((i - 1)).log"
	[ "$RC" = 0 ] || fail "cycle $i: the suspended hyve exited $RC"
	grep -q '^CHURN \(OK\|FAIL\)' "$con" && fail "cycle $i: churn ended before the cycles did"
	t=$(last_ticks "$con")
	[ "$t" -ge "$prev" ] || fail "cycle $i: ticks went back from $prev to $t"
	prev=$t
	eager=()
	[ $((i % 2)) = 0 ] && eager=(--eager)
	start "c$i" -r "$ck" "${eager[@]}" cyc
	[ -S "$HYVE_RUNDIR/cyc.sock" ] || fail "cycle $i: the restored hyve did not start"
done
wait_exit "$PID" $((N * 3 + 60))
no_crash "$TMP/c$N.log"
[ "$RC" = 0 ] || fail "the last restored hyve exited $RC"
got=$(verdict "$con" CHURN)
[ "$got" = "$want" ] || fail "after $N cycles: '$got', uninterrupted: '$want'"
[ "$(grep -c HYVE-GUEST "$con")" = 1 ] || fail "the guest booted again"
grep -q "RAM read" "$TMP/c2.log" && grep -q "RAM mapped" "$TMP/c1.log" ||
	fail "the restores did not alternate between mapped and read RAM"
start mid -r "$TMP/mid.ckp" -l com1,"$TMP/mid.console" mid
wait_exit "$PID" 60
[ "$RC" = 0 ] || fail "the restored checkpoint-and-continue exited $RC"
[ "$(verdict "$TMP/mid.console" CHURN)" = "$want" ] ||
	fail "checkpoint of cycle $((N / 5 * 5)): '$(verdict "$TMP/mid.console" CHURN)', uninterrupted: '$want'"
echo "COUNT: $N cycles ($((N / 5)) with a checkpoint-and-continue first), ticks up to $prev: $got"
all_clean
echo PASS
