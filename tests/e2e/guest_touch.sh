#!/usr/bin/env bash
# The test guest's `touch`: SIZE bytes of free RAM hold a non-zero pattern
# that depends only on the seed (same checksum contiguous and scattered,
# another with another seed), the workload combines with others and exits
# after COUNT ticks.  A 1 GiB guest that touched 64 MiB is suspended: its
# RAM file allocates at least the 64 MiB and at most 1.1 x 64 MiB plus what
# an idle guest's file allocates (image, stacks, page tables), and holds
# the pattern (checked from the host, page by page); restored with
# `hyve -r`, the guest re-reads every word and finds the pattern (TOUCH
# VERIFY OK, same checksum).  The same for 64 MiB in 2 MiB pieces spread
# over RAM (one extent per piece, zero between them).  One flipped word in
# a copy of the RAM file, restored without the RAM checksum check, is found
# by the guest at its address: the verification can fail.
. "$(dirname "$0")/ckp_lib.inc"
command -v python3 >/dev/null 2>&1 || fail "python3 is not installed"
CHECK=guest/tools/touch_check.py
MiB=$((1024 * 1024))

# boot NAME APPEND [MEM]: a guest that must power off by itself; its
# console in $TMP/NAME.console, hyve's exit status in $RC.
boot() {
	start "$1" -c 2 -m "${3:-256M}" -l com1,"$TMP/$1.console" --kernel "$GUEST" --append "$2" "$1"
	wait_exit "$PID" 60
	no_crash "$TMP/$1.log"
}
# field FILE KEY: value of KEY= on the last TOUCH OK/start line
field() { grep -E "^TOUCH $3" "$1" | tail -n 1 | grep -o " $2=[^ ]*" | cut -d= -f2; }

# ---- without a checkpoint ----
boot plain "touch 8M ticks 20"
[ "$RC" = 0 ] || fail "touch 8M ticks 20: hyve exited $RC"
grep -Eq '^TOUCH start size=8M pieces=1 at=0x[0-9a-f]+ seed=0x1 ticks=[0-9]+$' "$TMP/plain.console" ||
	fail "plain: no TOUCH start line"
grep -Eq '^TOUCH OK size=8M checksum=[0-9a-f]{16} ms=[0-9]+ ticks=[0-9]+$' "$TMP/plain.console" ||
	fail "plain: no TOUCH OK line"
grep -q '^GUEST EXIT status=0$' "$TMP/plain.console" || fail "plain: no GUEST EXIT status=0"
sum=$(field "$TMP/plain.console" checksum OK)
echo "touch 8M: checksum $sum"

boot scat "touch 8M scatter ticks 20"
[ "$RC" = 0 ] || fail "scatter: hyve exited $RC"
grep -Eq '^TOUCH start size=8M pieces=4 stride=[0-9]+K ' "$TMP/scat.console" || fail "scatter: no start line with 4 pieces"
[ "$(field "$TMP/scat.console" stride start | tr -d K)" -ge 2048 ] || fail "scatter: pieces overlap"
[ "$(field "$TMP/scat.console" checksum OK)" = "$sum" ] || fail "scatter: checksum differs from contiguous"

boot seed2 "touch 8M 2 ticks 20"
s2=$(field "$TMP/seed2.console" checksum OK)
[ -n "$s2" ] && [ "$s2" != "$sum" ] || fail "seed 2 gives checksum '$s2' (seed 1: $sum)"
boot gseed2 "seed=2 touch 8M ticks 20"
[ "$(field "$TMP/gseed2.console" checksum OK)" = "$s2" ] || fail "seed=2 is not the default PATTERN_SEED"

boot both "touch 8M verify 5 ticks 30 ; beacon 1000 100"
[ "$RC" = 0 ] || fail "touch ; beacon: hyve exited $RC"
grep -q "^TOUCH OK size=8M checksum=$sum " "$TMP/both.console" || fail "touch ; beacon: no TOUCH OK $sum"
grep -Eq "^TOUCH VERIFY OK n=1 checksum=$sum " "$TMP/both.console" || fail "touch ; beacon: no verification"
grep -q '^BEACON OK n=100 ' "$TMP/both.console" || fail "touch ; beacon: no BEACON OK"

boot big "touch 300M" 256M
[ "$RC" = 1 ] || fail "touch 300M in 256M: hyve exited $RC"
grep -q '^TOUCH FAIL size 300M larger than the free RAM' "$TMP/big.console" || fail "touch 300M: no TOUCH FAIL"
boot usage "touch 5000"
grep -q '^CMDLINE ERROR usage: touch SIZE' "$TMP/usage.console" || fail "touch 5000: no usage line"
grep -q '^GUEST EXIT status=2$' "$TMP/usage.console" || fail "touch 5000: not status 2"

# ---- suspend and restore, 1 GiB ----
# suspend NAME APPEND: boot, wait for TOUCH OK (or run a while), suspend
suspend() {
	start "$1" -c 2 -m 1G -l com1,"$TMP/$1.console" --kernel "$GUEST" --append "$2" "$1"
	local pid=$PID
	if [[ $2 == touch* ]]; then
		# The console is written a byte at a time: wait until the whole
		# checksum is out, it is what the restored guest must find.
		wait_for "$TMP/$1.console" '^TOUCH OK size=[^ ]+ checksum=[0-9a-f]{16} ' 60
	else
		wait_for "$TMP/$1.console" '^HYVE-GUEST ' 30
		sleep 0.3
	fi
	"$HYVECTL" --vm="$1" --suspend="$TMP/$1.ckp" >/dev/null || fail "suspend of $1 failed"
	wait_exit "$pid" 60
	no_crash "$TMP/$1.log"
	[ "$RC" = 0 ] || fail "the suspended $1 exited $RC"
}
blocks() { echo $(($(stat -c %b "$1") * 512)); }
# meta NAME KEY: ram.KEY from the JSON meta (uint64s are hex strings)
meta() {
	python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["ram"][sys.argv[2] + "$uint64"], 16))' \
		"$TMP/$1.ckp.meta" "$2"
}
# restored NAME CKP [hyve args]: hyve -r in the background, console in
# $TMP/NAME.console; waits for the first TOUCH VERIFY line
restored() {
	local n=$1 ck=$2
	shift 2
	start "$n" -r "$ck" -l com1,"$TMP/$n.console" "$@" "$n"
	# The console is written a byte at a time: wait for the whole verdict.
	wait_for "$TMP/$n.console" '^TOUCH VERIFY (OK n=[0-9]+ checksum=[0-9a-f]{16} |FAIL n=[0-9]+: )' 60
}

suspend idle "ticks 100000"
idle=$(blocks "$TMP/idle.ckp")
echo "idle 1 GiB guest: $idle bytes allocated"

touched=$((64 * MiB))
max=$((touched * 11 / 10 + idle))
for mode in contiguous scatter; do
	n=c$mode
	app="touch 64M verify 20"
	[ $mode = scatter ] && app="touch 64M scatter verify 20"
	suspend "$n" "$app"
	want=$(field "$TMP/$n.console" checksum OK)
	at=$(field "$TMP/$n.console" at start)
	alloc=$(blocks "$TMP/$n.ckp")
	data=$(meta "$n" data_bytes) extents=$(meta "$n" extents)
	echo "$mode: $alloc bytes allocated ($(awk -v a="$alloc" -v t="$touched" 'BEGIN { printf "%.4f", a / t }') x touched), data_bytes=$data, $extents extents"
	[ "$alloc" -ge "$touched" ] || fail "$mode: $alloc bytes allocated, less than the $touched touched"
	[ "$alloc" -le "$max" ] || fail "$mode: $alloc bytes allocated, more than 1.1 x $touched + $idle (idle guest)"
	if [ $mode = scatter ]; then
		[ "$extents" -ge 32 ] || fail "scatter: $extents extents for 32 pieces"
		stride=$(field "$TMP/$n.console" stride start)
		python3 "$CHECK" "$TMP/$n.ckp" "$at" 64M 1 "$stride" || fail "scatter: the RAM file does not hold the pattern"
	else
		python3 "$CHECK" "$TMP/$n.ckp" "$at" 64M 1 || fail "contiguous: the RAM file does not hold the pattern"
	fi

	restored "r$n" "$TMP/$n.ckp"
	grep -Eq "^TOUCH VERIFY OK n=[0-9]+ checksum=$want " "$TMP/r$n.console" ||
		fail "$mode: restored guest: $(grep '^TOUCH' "$TMP/r$n.console" | head -n 1) (want checksum $want)"
	grep -q HYVE-GUEST "$TMP/r$n.console" && fail "$mode: the restored guest booted again"
	kill "$PID"
	wait_exit "$PID" 20
	no_crash "$TMP/r$n.log"
	echo "$mode: restored, $(grep -m1 '^TOUCH VERIFY' "$TMP/r$n.console")"
done

# One word inside the touched data flipped in a copy of the RAM file
# (page 100, word 1): restored without the RAM checksum (which would
# refuse it), the guest names that word.
at=$(field "$TMP/ccontiguous.console" at start)
bad=$((at + 100 * 4096 + 8))
cp --sparse=always "$TMP/ccontiguous.ckp" "$TMP/flip.ckp" && cp "$TMP/ccontiguous.ckp.meta" "$TMP/flip.ckp.meta" ||
	fail "cannot copy the checkpoint"
python3 - "$TMP/flip.ckp" "$bad" <<'EOF'
import sys
f = open(sys.argv[1], "r+b")
off = int(sys.argv[2])
f.seek(off)
b = f.read(1)
f.seek(off)
f.write(bytes([b[0] ^ 0x10]))
EOF
restored rflip "$TMP/flip.ckp" --no-ram-check
wait_exit "$PID" 20
no_crash "$TMP/rflip.log"
[ "$RC" = 1 ] || fail "flipped word: hyve exited $RC, expected 1 (guest status 1)"
line=$(grep -m1 '^TOUCH VERIFY' "$TMP/rflip.console")
echo "flipped word at $(printf %#x $bad): $line"
[[ $line == "TOUCH VERIFY FAIL n="*": 1 bad words, first at $(printf %#x $bad) "* ]] ||
	fail "flipped word at $(printf %#x $bad): '$line'"
grep -q '^GUEST EXIT status=1$' "$TMP/rflip.console" || fail "flipped word: no GUEST EXIT status=1"

all_clean
echo PASS
