#!/usr/bin/env bash
# A hyve that dies at every step of publishing a checkpoint, for real: a
# churning guest (32 MiB, 2 vCPUs) is checkpointed (hyvectl --checkpoint)
# or suspended (--suspend) by a hyve started with CKP_TEST_CRASH_AT=STEP,
# which _exit()s (status 86) at that step of libckp's publish
# (docs/RAMFILE.md section 5): once per step and kind, with no checkpoint
# under that name yet and over an older one (another guest's, seed=2).
# After each crash `ckp check` (which must change no file) says which pair
# a restore would use: the old one, the new one or none, as the step
# implies (RAMFILE.md's crash table), naming every leftover temporary.
# Then `hyve -r` must restore exactly that pair, by its meta's checksum,
# with its guest ending with the CHURN OK checksum of an uninterrupted run
# of that guest (the old guest's or the new one's), or refuse with exit 2
# naming the missing meta when check found none; either way recovery has
# removed or completed the temporaries.  Last, a restoring hyve that dies
# inside recovery, between its two renames: the next restore completes it.
. "$(dirname "$0")/ckp_lib.inc"
. "$(dirname "$0")/ckp_crash.inc"

MEM=32M
# A suspend stops the guest at once; a checkpoint writes while it runs,
# so that guest must outlive the write (else hyve says "the VM stopped
# while the checkpoint was being written" and the cycle is run again).
ROUNDS_S=24 ROUNDS_C=60
# The old guest is suspended once with no retry: long enough to be there
# still when the suspend arrives, on a slow (sanitizer) hyvectl too.
ROUNDS_OLD=150
STEPS=(begin put-segs put ram-synced meta-partial meta-synced ram-renamed
	ram-renamed-synced meta-renamed done)
t0=$SECONDS

ref_start new_s "churn $ROUNDS_S"
ref_start new_c "churn $ROUNDS_C"
ref_start old "seed=2 churn $ROUNDS_OLD"
for r in new_s new_c old; do ref_wait "$r"; done

# The older checkpoint: another guest (seed=2), suspended.
mkdir "$TMP/old"
victim oldvm "seed=2 churn $ROUNDS_OLD"
out=$("$HYVECTL" -q --vm=oldvm --suspend "$TMP/old/vm.ckp" 2>&1) || fail "suspend of the old guest: $out"
wait_exit "$PID" 120
[ "$RC" = 0 ] || fail "the old guest's suspend: hyve exited $RC"
judge "$TMP/old/vm.ckp"
[ "$J_ACT" = none ] && [ "$J_PAIR" != none ] || fail "the old checkpoint: $J_OUT"
OLD=$J_PAIR
clean_logs oldvm
echo "uninterrupted runs: ${REF[new_s]} (churn $ROUNDS_S), ${REF[new_c]} (churn $ROUNDS_C)," \
	"old guest ${REF[old]}; old checkpoint meta $OLD ($((SECONDS - t0)) s)"

# What a crash at STEP leaves: the pair a restore uses, the temporaries,
# what recovery does (docs/RAMFILE.md section 5).
expect() {
	case $1 in
	begin | put-segs | put | ram-synced) E_PAIR=old E_TMPS=ram E_ACT=discard ;;
	meta-partial) E_PAIR=old E_TMPS=ram+meta E_ACT=discard ;;
	meta-synced) E_PAIR=new E_TMPS=ram+meta E_ACT=forward ;;
	ram-renamed | ram-renamed-synced) E_PAIR=new E_TMPS=meta E_ACT=forward ;;
	meta-renamed | done) E_PAIR=new E_TMPS= E_ACT=none ;;
	*) fail "no expectation for step $1" ;;
	esac
}

n=0 crashes=0 n_old=0 n_new=0 n_none=0 retries=0 n_recover=0
declare -A PER_STEP
# crash_victim KIND STEP CK ROUNDS: a victim that dies at STEP while
# writing CK (sets V, the VM's name).  A checkpoint's guest that ended
# before the write reached STEP is run again (twice at most).
crash_victim() {
	local kind=$1 step=$2 ck=$3 rounds=$4 try out
	for try in 1 2 3; do
		V=v$n.$try
		CKP_TEST_CRASH_AT=$step victim "$V" "churn $rounds"
		out=$("$HYVECTL" -q --vm="$V" --"$kind" "$ck" 2>&1) &&
			fail "$V: --$kind with a crash at $step succeeded: $out"
		wait_exit "$PID" 120
		[ "$RC" = 86 ] && return 0
		# A short guest on a quiet machine can end before the request
		# reaches it, or while the checkpoint is being written.
		if [ "$RC" = 0 ] && { [[ $out == *"no such VM"* ]] || { [ "$kind" = checkpoint ] &&
			grep -q "the VM stopped while the checkpoint was being written" "$TMP/$V.log"; }; }; then
			echo "$V: the guest ended before the checkpoint reached $step; again"
			retries=$((retries + 1))
			# (A request that never reached hyve wrote nothing: what
			# is there is the earlier crash's, which this victim was
			# to recover.)
			[[ $out == *"no such VM"* ]] || [ -z "$(tmps_of "$ck")" ] ||
				fail "$V: the failed checkpoint left temporaries"
			clean_logs "$V"
			continue
		fi
		fail "$V: hyve exited $RC, not 86 (_exit at $step); hyvectl said: $out"
	done
	fail "$V: the guest ended before the checkpoint every time"
}

# cycle KIND STEP OVER: one crash (OVER=1: over the old checkpoint) and
# its judgement and restore.
cycle() {
	local kind=$1 step=$2 over=$3 d ck rounds ref pair what
	n=$((n + 1))
	d=$TMP/c$n ck=$TMP/c$n/vm.ckp
	mkdir "$d"
	[ "$over" = 1 ] && { cp --sparse=always -p "$TMP/old/vm.ckp" "$TMP/old/vm.ckp.meta" "$d/" || fail "cannot copy the old checkpoint"; }
	if [ "$kind" = suspend ]; then ref=new_s rounds=$ROUNDS_S; else ref=new_c rounds=$ROUNDS_C; fi
	crash_victim "$kind" "$step" "$ck" "$rounds"
	crashes=$((crashes + 1))
	expect "$step"
	[ "$(tmps_of "$ck")" = "$E_TMPS" ] || fail "$V: after a crash at $step: temporaries '$(tmps_of "$ck")', expected '$E_TMPS' ($(ls "$d"))"
	judge "$ck"
	[ "$J_ACT" = "$E_ACT" ] || fail "$V: after a crash at $step check says recovery will '$J_ACT', expected '$E_ACT':
$J_OUT"
	# The pair check names, against what the step implies.
	if [ "$J_PAIR" = none ]; then
		what=none
	elif [ "$over" = 1 ] && [ "$J_PAIR" = "$OLD" ]; then
		what=old
	else
		what=new
		[ "$("$CKP" get "$J_META" checkpoint.kind)" = "$kind" ] ||
			fail "$V: the new meta $J_META is not this $kind's"
	fi
	if [ "$E_PAIR" = old ] && [ "$over" = 0 ]; then
		[ "$what" = none ] || fail "$V: crash at $step with no old checkpoint: check finds '$what' ($J_PAIR)"
	else
		[ "$what" = "$E_PAIR" ] || fail "$V: crash at $step: check finds the $what pair ($J_PAIR), expected the $E_PAIR one:
$J_OUT"
	fi
	# Every other cycle in pairs, `ckp check --recover` does the recovery.
	if [ $(((n / 2) % 2)) = 1 ]; then
		recover_check "$ck" "$J_PAIR"
		n_recover=$((n_recover + 1))
	fi
	case $what in
	old) restore_check "$ck" "r$n" "$V" "$J_PAIR" "${REF[old]}"; n_old=$((n_old + 1)) ;;
	new) restore_check "$ck" "r$n" "$V" "$J_PAIR" "${REF[$ref]}"; n_new=$((n_new + 1)) ;;
	none) restore_check "$ck" "r$n" "$V" none ""; n_none=$((n_none + 1)) ;;
	esac
	PER_STEP[$step]+=" $kind/$([ "$over" = 1 ] && echo old || echo fresh)=$what"
	clean_logs "$V" "r$n"
	rm -rf "$d"
}

t1=$SECONDS
for step in "${STEPS[@]}"; do
	for kind in checkpoint suspend; do
		# A suspend writes RAM in one pass (put-segs): no "put" step.
		[ "$kind" = suspend ] && [ "$step" = put ] && continue
		for over in 0 1; do
			cycle "$kind" "$step" "$over"
		done
	done
	echo "$step:${PER_STEP[$step]}"
done
t2=$SECONDS

# Recovery that dies between its renames (recover-ram-renamed), in a
# restore and in the next checkpoint's writer: after a crash at
# meta-synced, the new RAM is then published while the meta is still the
# old one (or none), and the commit record is there.  Check says the next
# restore completes the publish; it does, and reads that new checkpoint.
n_rec=0
for who in restore writer; do
	for over in 0 1; do
		n=$((n + 1))
		d=$TMP/c$n ck=$TMP/c$n/vm.ckp
		mkdir "$d"
		[ "$over" = 1 ] && { cp --sparse=always -p "$TMP/old/vm.ckp" "$TMP/old/vm.ckp.meta" "$d/" || fail "cannot copy the old checkpoint"; }
		crash_victim suspend meta-synced "$ck" "$ROUNDS_S"
		crashes=$((crashes + 1))
		a=$V
		judge "$ck"
		[ "$J_ACT" = forward ] || fail "$V: after a crash at meta-synced: $J_OUT"
		new=$J_PAIR
		if [ "$who" = restore ]; then
			V=x$n
			CKP_TEST_CRASH_AT=recover-ram-renamed start "$V" -r "$ck" -l com1,"$TMP/$V.console" "$a"
			wait_exit "$PID" 120
			[ "$RC" = 86 ] || fail "$V: the restore crashing in recovery exited $RC, not 86"
			[ -s "$TMP/$V.console" ] && fail "$V: the guest ran before recovery was done"
		else
			crash_victim checkpoint recover-ram-renamed "$ck" "$ROUNDS_S"
		fi
		crashes=$((crashes + 1))
		[ "$(tmps_of "$ck")" = meta ] || fail "$V: after a crash in recovery: $(ls "$d")"
		judge "$ck"
		[ "$J_ACT" = forward ] && [ "$J_PAIR" = "$new" ] ||
			fail "$V: after a crash in recovery check finds $J_PAIR ($J_ACT), before it found $new (forward):
$J_OUT"
		restore_check "$ck" "r$n" "$a" "$new" "${REF[new_s]}"
		n_new=$((n_new + 1)) n_rec=$((n_rec + 1))
		clean_logs "$a" "$V" "r$n"
		rm -rf "$d"
	done
done

all_clean
cycles=$((n - n_rec))
echo "COUNT: publish steps: ${#STEPS[@]} on checkpoint, $((${#STEPS[@]} - 1)) on suspend (no put)," \
	"each fresh and over an old checkpoint: $cycles crashes ($((t2 - t1)) s$([ "$retries" = 0 ] || echo ", $retries run again"));" \
	"recovery crashed in a restore and in a writer, after a crash at meta-synced: $n_rec times;" \
	"$((n_old + n_new + n_none)) restores as ckp check said ($n_recover after ckp check --recover):" \
	"$n_old old pair, $n_new new pair, $n_none refused (no checkpoint); $crashes crashes in $((SECONDS - t0)) s"
echo PASS
