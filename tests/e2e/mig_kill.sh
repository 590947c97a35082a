#!/usr/bin/env bash
# Issue 12's failure cases that mig_unix.sh and mig_tcp.sh leave out:
# kill -9 of either side at seeded-random moments of a migration, during
# pre-copy and around the hand-over, and a destination that asks for
# another memory size.
#
# A churning guest (2 vCPUs) is migrated over UNIX sockets between two
# runtime directories (so both hyves keep the VM's name); one migration
# without a kill measures how long one takes (T).  Then each trial starts a
# destination and hyvectl --migrate, waits a random delay (within [0, 0.8 T]
# for pre-copy, [0.7 T, 1.4 T] around the hand-over) and kills the source or
# the destination.  After each, by what the survivors say:
# - destination killed, hyvectl failed: the source runs the guest, no
#   migration shown;
# - destination killed, hyvectl said migrated: the source exited 0 saying
#   so; the guest was the destination's and died with it;
# - source killed, the destination exits: non-zero, without having run
#   anything (no "migrated in", no guest output);
# - source killed, the destination runs the guest (it had GO): it is the
#   guest's only hyve.
# Whenever the guest lives, exactly one hyve of it runs, and it finishes
# with the CHURN OK sum of an uninterrupted run before the next trial
# starts a new guest (one at a time: churn's barriers crawl on vCPUs that
# outnumber the host's CPUs).  HYVE_MIG_KILL_SEED=N repeats a run's
# delays and sides.
. "$(dirname "$0")/ckp_lib.inc"

SEED=${HYVE_MIG_KILL_SEED:-$((($$ * 7919 + SECONDS) % 32768))}
RANDOM=$SEED
echo "seed $SEED (HYVE_MIG_KILL_SEED=$SEED repeats it)"
TRIALS=8
GARGS=(-c 2 -m 16M --kernel "$GUEST" --append "churn 2500")

start ref "${GARGS[@]}" -l com1,"$TMP/ref.console" ref
wait_exit "$PID" 120
[ "$RC" = 0 ] || fail "the uninterrupted run exited $RC"
want=$(verdict "$TMP/ref.console" CHURN)
[[ $want == "CHURN OK "* ]] || fail "uninterrupted run: '$want'"

hyves() { pgrep -fc -- "/hyve .* $1\$"; }
msleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
other() { [ "$1" = A ] && echo B || echo A; }

# incoming NAME RUNDIR VM [args]: a destination on $TMP/NAME.sock, PID in $DPID.
incoming() {
	local name=$1 dir=$2 vm=$3
	shift 3
	rm -f "$TMP/$name.sock"
	HYVE_RUNDIR=$dir "$HYVE" --incoming "unix:$TMP/$name.sock" "$@" -l com1,"$TMP/$name.console" "$vm" \
		</dev/null >"$TMP/$name.log" 2>&1 &
	DPID=$!
	PIDS+=("$DPID")
	wait_for "$TMP/$name.log" "waiting for a migration stream on unix:$TMP/$name.sock" 10
}
# new_guest: a new guest (chain N: the hyves it passes through) in runtime directory A: $VM, $HPID,
# $HDIR (A or B), $HCON, $HLOG (its console and log) describe whoever holds the guest.
chain=0
new_guest() {
	chain=$((chain + 1))
	VM=k$$c$chain HDIR=A HCON=$TMP/c$chain.console HLOG=$TMP/c$chain.log
	HYVE_RUNDIR=$TMP/runA start "c$chain" "${GARGS[@]}" -l com1,"$HCON" "$VM"
	HPID=$PID
	wait_for "$HCON" '^CHURN round [0-9]+/' 30
}
# held WHAT: the guest runs at $HPID and nowhere else.
held() {
	local st n
	kill -0 "$HPID" 2>/dev/null || fail "$1: the guest's hyve is gone"
	st=$(HYVE_RUNDIR=$TMP/run$HDIR "$HYVECTL" --vm="$VM" --status 2>&1)
	[[ $st == "state=running name=$VM "* ]] || fail "$1: status '$st'"
	[[ $st == *migrating* ]] && fail "$1: still migrating: '$st'"
	n=$(hyves "$VM")
	[ "$n" = 1 ] || fail "$1: $n hyves of $VM run"
	return 0
}
# The guest, if it lives, finishes with the right sum.
SURVIVED=0
end_chain() {
	if [ -n "$HPID" ]; then
		wait_exit "$HPID" 120
		[ "$RC" = 0 ] || fail "chain $chain: the guest's last hyve exited $RC"
		got=$(verdict "$HCON" CHURN)
		[ "$got" = "$want" ] || fail "chain $chain: '$got', uninterrupted: '$want'"
		SURVIVED=$((SURVIVED + 1))
	else
		local n
		n=$(hyves "$VM")
		[ "$n" = 0 ] || fail "chain $chain: the guest was lost, yet $n hyves of $VM run"
	fi
	HPID=
}

# The first guest: a destination with another memory size refuses HELLO
# and the source keeps it; then one clean migration measures T.
new_guest
incoming mem "$TMP/runB" "$VM" -o memory.size=32M
out=$(HYVE_RUNDIR=$TMP/runA "$HYVECTL" --vm="$VM" --migrate "unix:$TMP/mem.sock" 2>&1) &&
	fail "a destination with 32 MiB took a 16 MiB guest: $out"
grep -q "memory.size" <<<"$out" || fail "other memory size: '$out'"
wait_exit "$DPID" 10
[ "$RC" = 2 ] || fail "the destination with another memory size exited $RC"
grep -q CHURN "$TMP/mem.console" 2>/dev/null && fail "the refusing destination ran the guest"
held "after the refused memory size"
echo "other memory size: $out"

incoming cal "$TMP/runB" "$VM"
t0=$(now_ms)
out=$(HYVE_RUNDIR=$TMP/runA "$HYVECTL" --vm="$VM" --migrate "unix:$TMP/cal.sock" 2>&1) ||
	fail "the measuring migration failed: $out"
T=$(($(now_ms) - t0))
wait_exit "$HPID" 10
[ "$RC" = 0 ] || fail "the measured source exited $RC"
HPID=$DPID HDIR=B HCON=$TMP/cal.console HLOG=$TMP/cal.log
held "after the measured migration"
echo "one migration: $T ms ($out)"
[ "$T" -ge 20 ] || T=20

declare -A N=()
for t in $(seq $TRIALS); do
	# Trial 1 takes the measured guest, every other trial a new one.
	[ "$t" = 1 ] || { end_chain; new_guest; }
	# Every side meets every window; the delay is random within it.
	side=$([ $((t % 2)) = 1 ] && echo dst || echo src)
	if [ $(((t - 1) / 2 % 2)) = 0 ]; then
		win=pre delay=$((RANDOM * T * 8 / 10 / 32768))
	else
		win=handover delay=$((T * 7 / 10 + RANDOM * T * 7 / 10 / 32768))
	fi
	d=t$t ndir=$(other "$HDIR")
	incoming "$d" "$TMP/run$ndir" "$VM"
	dpid=$DPID
	HYVE_RUNDIR=$TMP/run$HDIR "$HYVECTL" --vm="$VM" --migrate "unix:$TMP/$d.sock" >"$TMP/$d.mig" 2>&1 &
	mig=$!
	msleep $delay
	# Reaped at once, so that bash does not report the kill later.
	if [ $side = dst ]; then victim=$dpid; else victim=$HPID; fi
	kill -9 "$victim" 2>/dev/null
	wait "$victim" 2>/dev/null
	wait $mig
	mrc=$?
	what="trial $t (kill the $side after $delay ms, $win)"
	if [ $side = dst ]; then
		if [ $mrc = 0 ]; then
			# Handed over before the kill: the guest died with the destination.
			grep -q "^migrated unix:$TMP/$d.sock " "$TMP/$d.mig" || fail "$what: hyvectl: $(cat "$TMP/$d.mig")"
			wait_exit "$HPID" 10
			[ "$RC" = 0 ] || fail "$what: the source exited $RC after the hand-over"
			grep -q "migrated to unix:$TMP/$d.sock" "$HLOG" ||
				fail "$what: the source's log does not say it migrated"
			HPID= outcome="handed over, then the destination died with the guest"
		else
			[ $mrc = 1 ] || fail "$what: hyvectl exited $mrc: $(cat "$TMP/$d.mig")"
			grep -q unconfirmed "$TMP/$d.mig" && fail "$what: unconfirmed after a kill: $(cat "$TMP/$d.mig")"
			held "$what ($(cat "$TMP/$d.mig"))"
			if grep -q "after GO" "$TMP/$d.mig"; then
				outcome="the destination died after GO, the source runs the guest again"
			else
				outcome="the source kept the guest"
			fi
		fi
	else
		# The destination either exits (no GO) or runs the guest (GO).
		for i in $(seq 300); do
			kill -0 "$dpid" 2>/dev/null || break
			grep -q "migrated in from" "$TMP/$d.log" && break
			sleep 0.05
		done
		if kill -0 "$dpid" 2>/dev/null; then
			grep -q "migrated in from" "$TMP/$d.log" || fail "$what: the destination neither runs nor exits"
			HPID=$dpid HDIR=$ndir HCON=$TMP/$d.console HLOG=$TMP/$d.log
			held "$what"
			outcome="the destination had GO and runs the guest"
		else
			wait_exit "$dpid" 1
			[ "$RC" != 0 ] || fail "$what: the destination exited 0"
			grep -q "migrated in from" "$TMP/$d.log" && fail "$what: the destination ran the guest"
			grep -q CHURN "$TMP/$d.console" 2>/dev/null && fail "$what: the destination ran the guest"
			[ -e "$TMP/run$ndir/$VM.sock" ] && fail "$what: the destination left its control socket"
			HPID= outcome="the destination exited $RC without running the guest"
		fi
	fi
	N[$side.$win]=$((${N[$side.$win]:-0} + 1))
	N[$outcome]=$((${N[$outcome]:-0} + 1))
	echo "$what: $outcome"
done
end_chain

for f in "$TMP"/t*.console "$TMP"/c*.console; do
	[ -f "$f" ] || continue
	grep -q "CHURN FAIL" "$f" && fail "${f##*/}: $(grep 'CHURN FAIL' "$f")"
done
echo "$SURVIVED guests survived their trials with $want"
for k in "${!N[@]}"; do echo "  $k: ${N[$k]}"; done | sort
echo "COUNT: $TRIALS kill -9s (seed $SEED, T=$T ms): destination ${N[dst.pre]:-0} in pre-copy," \
	"${N[dst.handover]:-0} around the hand-over; source ${N[src.pre]:-0} + ${N[src.handover]:-0};" \
	"$SURVIVED surviving guests checked, 1 refused memory size"
all_clean
echo PASS
