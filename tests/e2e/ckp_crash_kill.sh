#!/usr/bin/env bash
# kill -9 at random moments, for real: HYVE_CRASHES (10; `make soak` runs
# more) churning guests (64 MiB, 2 vCPUs, all of it data) are killed while
# hyvectl --checkpoint writes them, as many while --suspend does, each at a
# random delay within about the time such a write took in this run, all to
# one checkpoint name that always holds an older checkpoint (first another
# guest's).  Leftovers stay for the next writer, whose own recovery must
# deal with them.  After each kill `ckp check` (changing nothing) must find
# either the checkpoint that was there before or this guest's new one,
# whole (never none, never a mix; the new one whenever hyvectl said it was
# written), and a restore of a copy of the files must read that pair and
# run its guest to the checksum of an uninterrupted run.  Then
# HYVE_CRASHES/2 restoring hyves (full, lazy) are killed at random
# moments of `hyve -r` of a checkpoint whose publish a crash interrupted
# after its commit record: check must then find the new checkpoint, and
# the next restore must run it to the end.
. "$(dirname "$0")/ckp_lib.inc"
. "$(dirname "$0")/ckp_crash.inc"

# The old guest runs longer: it must outlive a checkpoint and a suspend
# (timed on it) with no retry, and a sanitizer build slows those, not it.
MEM=64M ROUNDS=40 ROUNDS_OLD=200
N=${HYVE_CRASHES:-10}
NR=$(((N + 1) / 2))
t0=$SECONDS

ref_start new "churn $ROUNDS"
ref_start old "seed=2 churn $ROUNDS_OLD"
ref_wait new
ref_wait old

# How long a checkpoint and a suspend of such a guest take here: the kills
# land within 1.25 times that.  The suspend is the first checkpoint of the
# name the kills write to.
K=$TMP/k ck=$TMP/k/vm.ckp
mkdir "$K"
victim oldvm "seed=2 churn $ROUNDS_OLD"
a=$(now_ms)
out=$("$HYVECTL" -q --vm=oldvm --checkpoint "$TMP/scratch.ckp" 2>&1) || fail "checkpoint: $out"
b=$(now_ms)
out=$("$HYVECTL" -q --vm=oldvm --suspend "$ck" 2>&1) || fail "suspend: $out"
c=$(now_ms)
wait_exit "$PID" 120
[ "$RC" = 0 ] || fail "the old guest's suspend: hyve exited $RC"
rm -f "$TMP/scratch.ckp" "$TMP/scratch.ckp.meta"
declare -A D=([checkpoint]=$(((b - a) * 5 / 4 + 1)) [suspend]=$(((c - b) * 5 / 4 + 1)))
judge "$ck"
[ "$J_ACT" = none ] && [ "$J_PAIR" != none ] || fail "the first checkpoint: $J_OUT"
cur=$J_PAIR
# Whose guest each pair holds: the uninterrupted run it must end like.
declare -A LINE=([$cur]=old)
clean_logs oldvm
echo "uninterrupted runs: ${REF[new]}, old guest ${REF[old]};" \
	"checkpoint $((b - a)) ms, suspend $((c - b)) ms: kills within ${D[checkpoint]} / ${D[suspend]} ms"

# restore_copy LOG VM PAIR [options]: restore a copy of $K (the files stay
# as the kill left them, for the next writer to find).
restore_copy() {
	local log=$1 vm=$2 pair=$3 f
	shift 3
	rm -rf "$TMP/r"
	mkdir "$TMP/r"
	for f in "$K"/*; do
		cp --sparse=always -p "$f" "$TMP/r/" || fail "cannot copy $f"
	done
	restore_check "$TMP/r/vm.ckp" "$log" "$vm" "$pair" "${REF[${LINE[$pair]}]}" "$@"
}

VERIFY=("" --eager --verify=lazy)
declare -A KILLS=([checkpoint]=0 [suspend]=0) WHERE
n_old=0 n_new=0
t1=$SECONDS
for i in $(seq $((2 * N))); do
	if [ $((i % 2)) = 1 ]; then kind=checkpoint; else kind=suspend; fi
	v=v$i
	victim "$v" "churn $ROUNDS"
	before=$(dir_state "$K")
	delay=$((RANDOM % (D[$kind] + 1)))
	"$HYVECTL" -q --vm="$v" --"$kind" "$ck" >"$TMP/$v.ctl" 2>&1 &
	cpid=$!
	sleep_ms "$delay"
	kill -9 "$PID" 2>/dev/null
	wait "$cpid"
	crc=$?
	wait_exit "$PID" 120 2>/dev/null	# no "Killed" notice from bash
	# 137: killed; 0: the suspend (or the guest) ended before the kill.
	case $RC in
	137) killed=1 ;;
	0) killed=0 ;;
	*) fail "$v: hyve exited $RC before the kill" ;;
	esac
	KILLS[$kind]=$((KILLS[$kind] + 1))
	tmps=$(tmps_of "$ck")
	judge "$ck"
	if [ "$J_PAIR" = none ]; then
		fail "$v: killed ${delay} ms into a $kind: no checkpoint left, there was $cur:
$J_OUT"
	elif [ "$J_PAIR" = "$cur" ]; then
		what=old
		[ "$crc" != 0 ] || fail "$v: hyvectl said the $kind was written, check finds the previous one"
	else
		what=new
		[ "$("$CKP" get "$J_META" config.name)" = "$v" ] &&
			[ "$("$CKP" get "$J_META" checkpoint.kind)" = "$kind" ] ||
			fail "$v: check finds $J_META, neither the previous checkpoint nor this $kind"
		LINE[$J_PAIR]=new
	fi
	# Where the kill landed, from what it left (for the summary).
	if [ "$killed" = 0 ]; then
		where="after hyve had exited"
	elif [ "$crc" = 0 ]; then
		where="after the reply"
	elif [ "$what" = new ] && [ "$tmps" = ram+meta ]; then
		where="after the commit record"
	elif [ "$what" = new ] && [ "$tmps" = meta ]; then
		where="between the renames"
	elif [ "$what" = new ]; then
		where="after the renames"
	elif [ "$(dir_state "$K")" = "$before" ]; then
		where="before the writer changed a file"
	elif [ -z "$tmps" ]; then
		where="after the writer's recovery of the leftovers"
	elif [ "$tmps" = ram+meta ]; then
		where="writing the meta"
	else
		where="writing RAM"
	fi
	WHERE[$where]=$((${WHERE[$where]:-0} + 1))
	echo "$v: $kind killed at ${delay} ms ($where): the $what checkpoint${tmps:+, leftovers: $tmps}"
	restore_copy "r$i" "$v" "$J_PAIR" ${VERIFY[$((i % 3))]}
	if [ "$what" = old ]; then n_old=$((n_old + 1)); else n_new=$((n_new + 1)); fi
	# The window follows the write's time as the machine's load changes:
	# wider after a kill that found the write unfinished, narrower after
	# one that found it done (about one kill in five then lands after it).
	if [ "$what" = old ]; then
		D[$kind]=$((D[$kind] * 11 / 10 + 1))
	else
		D[$kind]=$((D[$kind] * 7 / 10 + 1))
	fi
	cur=$J_PAIR
	clean_logs "$v" "r$i"
	rm -f "$TMP/$v.ctl"
done
t2=$SECONDS

# Restores killed at random moments.  Two checkpoints whose publish a
# crash interrupted after its commit record (both temporaries; the RAM
# renamed), over the last pair of the kills above.
P=()
for s in meta-synced ram-renamed; do
	p=$TMP/p-$s
	rm -rf "$p"
	cp -a "$TMP/r" "$p" || fail "cannot copy the last checkpoint"
	V=p$s
	CKP_TEST_CRASH_AT=$s victim "$V" "churn $ROUNDS"
	out=$("$HYVECTL" -q --vm="$V" --suspend "$p/vm.ckp" 2>&1) && fail "$V: the suspend crashing at $s succeeded"
	wait_exit "$PID" 120
	[ "$RC" = 86 ] || fail "$V: exited $RC, not 86"
	judge "$p/vm.ckp"
	[ "$J_ACT" = forward ] || fail "$V: after a crash at $s: $J_OUT"
	LINE[$J_PAIR]=new
	P+=("$s:$J_PAIR")
	clean_logs "$V"
done
# Kills within an eighth of the time a restore of one took to start its
# guest (recovery is its first step), within that time, or within that and
# half a second of its running (a lazy restore's loading), in turn.
rm -rf "$TMP/rk"
cp -a "$TMP/p-meta-synced" "$TMP/rk"
a=$(now_ms)
"$HYVE" -r "$TMP/rk/vm.ckp" -l com1,"$TMP/rk0.console" rk0 </dev/null >"$TMP/rk0.log" 2>&1 &
PID=$!
PIDS+=("$PID")
for i in $(seq 12000); do
	grep -q 'restored from' "$TMP/rk0.log" && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.005
done
DR=$(($(now_ms) - a + 1))
wait_exit "$PID" 600
[ "$RC" = 0 ] && [ "$(verdict "$TMP/rk0.console" CHURN)" = "${REF[new]}" ] ||
	fail "rk0: the restore of the interrupted publish: exit $RC, $(verdict "$TMP/rk0.console" CHURN)"
clean_logs rk0
echo "a restore's guest ran ${DR} ms after hyve -r started: restore kills within $((DR / 8)), $DR or $((DR + 500)) ms"
declare -A RKILLS=([full]=0 [lazy]=0) RWHERE
for j in $(seq "$NR"); do
	p=${P[$((j % 2))]}
	s=${p%%:*} pair=${p#*:}
	if [ $(((j / 2) % 2)) = 0 ]; then mode=full opt=(); else mode=lazy opt=(--verify=lazy); fi
	rm -rf "$TMP/rk"
	cp -a "$TMP/p-$s" "$TMP/rk"
	case $((j % 3)) in
	0) delay=$((RANDOM % (DR / 8 + 1))) ;;
	1) delay=$((RANDOM % (DR + 1))) ;;
	2) delay=$((RANDOM % (DR + 501))) ;;
	esac
	# Not start(): the kill may come before hyve has its control socket.
	"$HYVE" -r "$TMP/rk/vm.ckp" "${opt[@]}" -l com1,"$TMP/k$j.console" "k$j" \
		</dev/null >"$TMP/k$j.log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	sleep_ms "$delay"
	kill -9 "$PID" 2>/dev/null
	wait_exit "$PID" 600 2>/dev/null
	RKILLS[$mode]=$((RKILLS[$mode] + 1))
	if [ "$RC" = 0 ]; then
		where="ended before the kill"
		[ "$(verdict "$TMP/k$j.console" CHURN)" = "${REF[new]}" ] || fail "k$j: the restore that ended: $(verdict "$TMP/k$j.console" CHURN)"
	elif [ "$RC" != 137 ]; then
		fail "k$j: the restore exited $RC before the kill"
	elif [ "$(tmps_of "$TMP/rk/vm.ckp")" != "$(tmps_of "$TMP/p-$s/vm.ckp")" ]; then
		where="after recovery"
		grep -q "restored from" "$TMP/k$j.log" && where="guest running"
	else
		where="before recovery"
	fi
	RWHERE[$where]=$((${RWHERE[$where]:-0} + 1))
	judge "$TMP/rk/vm.ckp"
	[ "$J_PAIR" = "$pair" ] || fail "k$j: a $mode restore of the checkpoint interrupted at $s, killed at $delay ms ($where): check finds $J_PAIR, not the new checkpoint $pair:
$J_OUT"
	echo "k$j: $mode restore of a publish interrupted at $s killed at $delay ms ($where): the new checkpoint"
	restore_check "$TMP/rk/vm.ckp" "rk$j" "k$j" "$pair" "${REF[new]}" ${VERIFY[$((j % 3))]}
	n_new=$((n_new + 1))
	clean_logs "k$j" "rk$j"
done
t3=$SECONDS

all_clean
summary() {	# summary ASSOC-NAME
	local -n a=$1
	local k s=
	for k in "${!a[@]}"; do s+="${s:+, }${a[$k]} $k"; done
	echo "$s"
}
echo "COUNT: kills during checkpoint/suspend: $(summary WHERE) ($((t2 - t1)) s; last windows ${D[checkpoint]} / ${D[suspend]} ms)"
echo "COUNT: kills during restore: $(summary RWHERE) ($((t3 - t2)) s)"
echo "COUNT: random kills: ${KILLS[checkpoint]} during checkpoint, ${KILLS[suspend]} during suspend," \
	"$NR during restore (${RKILLS[full]} full, ${RKILLS[lazy]} lazy):" \
	"$((n_old + n_new)) restores OK ($n_old old pair, $n_new new pair) in $((SECONDS - t0)) s"
echo PASS
