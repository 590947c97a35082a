#!/usr/bin/env bash
# The test guest's `beacon`: one '.' on com1 per period, COUNT of them, then
# BEACON OK; combined with churn on another vCPU the console lines stay
# whole; without COUNT it runs until stopped.  The beacon is paused and
# resumed (hyvectl, when this hyve has its control socket) and, where QEMU is
# installed, paused (QMP stop/cont) and moved to another QEMU process
# (migration to a file): no dot while paused, no burst of dots to make up
# for the pause.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm

# dots: how many '.' the console's dot-only lines hold
dots() { grep -E '^\.+$' "$OUT" | tr -d '\n' | wc -c; }
# a line that mixes dots with text means a line was broken by a dot
whole_lines() {
	! grep -Eq '^\.+[^.]|[^.]\.+$' "$OUT" || fail "a console line mixes beacon dots and text"
}

t0=$EPOCHREALTIME
run b200 -c 1 -m 64M -l com1,stdio --kernel "$GUEST" --append "beacon 1000 200" bc
t1=$EPOCHREALTIME
expect_rc 0
expect_out '^BEACON start period_us=1000 count=200 ticks=[0-9]+$'
expect_out '^BEACON OK n=200 period_us=1000 elapsed_ms=[0-9]+ max_gap_us=[0-9]+$'
expect_out '^GUEST EXIT status=0$'
n=$(dots)
[ "$n" = 200 ] || fail "$n dots, expected 200"
whole_lines
ms=$(sed -n 's/^BEACON OK n=200 period_us=1000 elapsed_ms=\([0-9]*\) .*/\1/p' "$OUT")
[ "$ms" -ge 199 ] || fail "199 periods of 1 ms took $ms ms of guest time"
# wall time: the guest's TSC calibration is right (never faster than asked)
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 0.199) }' ||
	fail "200 dots 1 ms apart came in less than 199 ms of host time"

# with churn: each workload on its own vCPU (churn does not spread over
# the vCPUs when it is not alone); lines stay whole around the dots
run churn -c 2 -m 64M -l com1,stdio --kernel "$GUEST" --append "churn 3 ; beacon 500 400" bc
expect_rc 0
expect_out '^CHURN start size=[0-9]+M rounds=3 cpus=1 '
expect_out '^CHURN OK [0-9a-f]{16}$'
expect_out '^BEACON OK n=400 period_us=500 '
n=$(dots)
[ "$n" = 400 ] || fail "$n dots next to churn, expected 400"
whole_lines

# no COUNT: forever, until hyve is stopped; never faster than 1 per period
OUT=$TMP/forever.out ERR=$TMP/forever.err
t0=$EPOCHREALTIME
timeout -s TERM 1.5 "$HYVE" -c 1 -m 64M -l com1,stdio --kernel "$GUEST" --append "beacon" bc \
	</dev/null >"$OUT" 2>"$ERR"
RC=$?
t1=$EPOCHREALTIME
echo "forever: rc=$RC"
[ $RC = 124 ] || fail "hyve exited ($RC) before the timeout: the beacon stopped"
expect_out '^BEACON start period_us=1000 count=forever '
expect_no_out '^BEACON OK|^GUEST EXIT'
n=$(dots)
echo "forever: $n dots"
[ "$n" -ge 10 ] || fail "only $n dots in 1.5 s"
awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { exit !(n <= (b - a) * 1000 + 5) }' ||
	fail "$n dots in $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s: faster than 1 per ms"

run usage -c 1 -m 64M -l com1,stdio --kernel "$GUEST" --append "beacon 0" bc
expect_rc 1
expect_out '^CMDLINE ERROR usage: beacon '
expect_out '^GUEST EXIT status=2$'

# pause and resume under hyve, where it has the control socket
ndots() { tr -cd . <"$1" | wc -c; }
CTL=$BUILD/hyvectl
OUT=$TMP/hpause.out ERR=$TMP/hpause.err
export HYVE_RUNDIR=$TMP/run
"$HYVE" -c 1 -m 64M -l com1,"$OUT" --kernel "$GUEST" --append "beacon 1000 2000" bcp \
	</dev/null >/dev/null 2>"$ERR" &
HPID=$!
for i in $(seq 200); do [ -f "$OUT" ] && [ "$(ndots "$OUT")" -ge 50 ] && break; sleep 0.05; done
if [ -x "$CTL" ] && "$CTL" --vm=bcp --pause >/dev/null 2>&1; then
	sleep 0.05
	n0=$(ndots "$OUT")
	sleep 1
	n1=$(ndots "$OUT")
	t0=$EPOCHREALTIME
	"$CTL" --vm=bcp --resume >/dev/null || fail "hyvectl --resume failed"
	sleep 0.2
	n2=$(ndots "$OUT")
	t1=$EPOCHREALTIME
	wait $HPID
	RC=$?
	echo "hyve pause: $((n1 - n0)) dots while paused, $((n2 - n1)) in the first $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms after resume"
	[ "$n1" = "$n0" ] || fail "$((n1 - n0)) dots while hyve had the VM paused"
	awk -v n=$((n2 - n1)) -v a="$t0" -v b="$t1" 'BEGIN { exit !(n <= (b - a) * 1000 + 5) }' ||
		fail "a burst of $((n2 - n1)) dots after resume"
	expect_rc 0
	expect_out '^BEACON OK n=2000 '
	[ "$(dots)" = 2000 ] || fail "$(dots) dots around a pause, expected 2000"
else
	echo "hyve pause: this hyve has no control socket (pause), pause check not run"
	kill $HPID 2>/dev/null
	wait $HPID 2>/dev/null
fi
unset HYVE_RUNDIR

# pause and move, under QEMU
QEMU=${QEMU:-qemu-system-x86_64}
if command -v "$QEMU" >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
	OUT=$TMP/pause.out
	timeout 120 python3 guest/tools/beacon_pause.py "$QEMU" "$GUEST" "$TMP" >"$OUT" ||
		fail "the QEMU pause check did not run"
	sed 's/^/qemu pause: /' "$OUT"
	val() { sed -n "s/^$1=//p" "$OUT"; }
	[ "$(val paused_dots)" = 0 ] || fail "dots while QEMU had the VM stopped"
	[ "$(val cont_excess)" -le 2 ] || fail "a burst of dots after cont"
	[ "$(val restored_early)" = 0 ] || fail "dots from the restored VM before cont"
	[ "$(val restored_excess)" -le 2 ] || fail "a burst of dots after the restore"
else
	echo "qemu pause: $QEMU or python3 is not installed, pause check not run"
fi
echo PASS
