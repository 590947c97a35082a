#!/usr/bin/env bash
# A stock Linux guest suspended and restored LINUX_CYCLES (default 10) times
# in a row, each time by a new hyve, alternating --verify=full, lazy and
# --eager: after every restore the guest's own checks (a random blob in RAM
# keeps its checksum; no RCU stall, soft lockup, clocksource or timekeeping
# complaint in its kernel log; uptime and wall clock never go back) stay
# clean, it did not boot again, and its uptime goes on from where it was.
# The last hyve is then stopped with SIGTERM.
. "$(dirname "$0")/linux_lib.inc"
CYCLES=${LINUX_CYCLES:-10}
con=$TMP/cyc.console ck=$TMP/lcyc.ckp
# The guest ticks until this test stops it (SIGTERM to the last hyve).
secs=100000
start c0 -c 2 -m 256M -s 0,hostbridge -s 1,lpc -l com1,"$con" \
	--kernel "$KERNEL" --initrd "$INITRD" \
	--append "$APPEND_BASE hyve.run=soak hyve.secs=$secs" lcyc
pid=$PID
wait_ticks "$con" 0 2 600
modes=("" "--verify=lazy" "--eager")
for i in $(seq "$CYCLES"); do
	out=$("$HYVECTL" --vm=lcyc --suspend "$ck") || fail "cycle $i: hyvectl --suspend failed: $out"
	wait_exit "$pid" 120
	[ "$RC" = 0 ] || fail "cycle $i: the suspended hyve exited $RC"
	n=$(lines "$con")
	before=$(uptime_before "$con" "$n")
	m=${modes[$((i % 3))]}
	start "c$i" -r "$ck" $m lcyc
	pid=$PID
	wait_ticks "$con" "$n" 2 300
	later=$(uptime_after "$con" "$n")
	[ -n "$later" ] && [ "$later" -ge "$before" ] || fail "cycle $i: uptime went back: $before -> $later"
	tail -n +"$((n + 1))" "$con" | grep -q '^LINUX-GUEST' && fail "cycle $i: the guest booted again"
	guest_ok "$con" "$n"
	echo "cycle $i (${m:-full}): uptime $before -> $later, $(tail -n +"$((n + 1))" "$con" | grep '^TICK' | tail -n 1)"
done
kill -TERM "$pid"
wait_exit "$pid" 60
[ "$RC" = 143 ] || fail "the last hyve exited $RC on SIGTERM (want 143)"
guest_ok "$con" 0
for f in "$TMP"/c*.log; do no_crash "$f"; done
echo "COUNT: $CYCLES cycles: $(grep -c '^TICK .*mem=OK dmesg=OK clock=OK$' "$con") clean TICKs, no complaint"
all_clean
echo PASS
