#!/usr/bin/env bash
# hyve -r --verify=lazy: RAM loaded on demand, every 1 MiB chunk checked
# against the meta's ram.chunks before the guest sees it, the rest checked
# by a background walker.
#  - A churning guest (2 vCPUs) suspended mid-run and restored lazily ends
#    with the CHURN OK checksum of an uninterrupted run; so do --verify=none,
#    --no-ram-check, --verify=full and --eager (checked while read).
#  - A lazily restored guest, paused at once and suspended again: the chunks
#    it never touched are loaded and checked first; the new checkpoint
#    restores to the same checksum.  A lazily restored guest checkpointed
#    while it runs (dirty logging over memory filled by userfaultfd): both
#    it and the checkpoint end with the same checksum.
#  - A flipped byte in a chunk the guest touches: the VM stops with exit
#    status 5 and the file and offset, the guest never reports on it;
#    --eager refuses the same file before anything runs (exit 2).
#  - Data written into a chunk the guest never touches: the walker finds it
#    (exit 5, "found by the background check") after the guest ran.
#  - Without userfaultfd lazy falls back to full, saying so; an altered
#    chunk list is refused before anything runs.
. "$(dirname "$0")/ckp_lib.inc"

args=(-c 2 -m 64M --kernel "$GUEST" --append "churn 400")
# The walker held back, so that the guest's own touches are what is tested.
HOLD=600000

flip() {	# flip FILE OFFSET
	python3 - "$1" "$2" <<'EOF'
import sys
f = open(sys.argv[1], "r+b")
off = int(sys.argv[2], 0)
f.seek(off)
b = f.read(1)
f.seek(off)
f.write(bytes([b[0] ^ 0xff]))
EOF
}
copy() {	# copy FROM TO
	cp --sparse=always "$1" "$2" && cp "$1.meta" "$2.meta" || fail "cannot copy $1"
}
churn_ok() {	# churn_ok NAME: restore NAME exited 0 with the reference checksum
	wait_exit "$PID" 60
	no_crash "$TMP/$1.log"
	[ "$RC" = 0 ] || fail "$1 exited $RC"
	local got; got=$(verdict "$TMP/$1.console" CHURN)
	[ "$got" = "$want" ] || fail "$1: '$got', uninterrupted: '$want'"
	grep -q HYVE-GUEST "$TMP/$1.console" && fail "$1 booted the guest again"
	echo "$1: $got; $(grep -o 'restored from .*' "$TMP/$1.log")"
}

reference CHURN

ck=$TMP/run.ckp
start run "${args[@]}" -l com1,"$TMP/run.console" run
pid=$PID
wait_for "$TMP/run.console" '^CHURN round 1/' 30
"$HYVECTL" --vm=run --suspend "$ck" >/dev/null || fail "suspend failed"
wait_exit "$pid" 20
[ "$RC" = 0 ] || fail "the suspended run exited $RC"

# Lazily: every chunk the guest touches is checked first; the walker the rest.
start lazy -r "$ck" --verify=lazy -l com1,"$TMP/lazy.console" lazy
churn_ok lazy
grep -q 'MiB of RAM loaded on demand, each chunk verified before the guest sees it' "$TMP/lazy.log" ||
	fail "lazy: the restore line does not say RAM loads on demand"
grep -Eq "RAM file .*run.ckp verified in [0-9.]+ s: [0-9]+ MiB of data in 64 chunks" "$TMP/lazy.log" ||
	fail "lazy: the whole RAM file was never reported verified"

# The other modes still work.
for m in none full eager noramcheck; do
	case $m in
	none) opt=(--verify=none); how='mapped, not verified' ;;
	full) opt=(--verify=full); how='mapped, checksum verified' ;;
	eager) opt=(--eager); how='read and verified in one pass' ;;
	noramcheck) opt=(--no-ram-check); how='mapped, not verified' ;;
	esac
	start "$m" -r "$ck" "${opt[@]}" -l com1,"$TMP/$m.console" "$m"
	churn_ok "$m"
	grep -q "MiB of RAM $how" "$TMP/$m.log" || fail "$m: the restore line does not say '$how'"
done

# Lazy, paused at once, suspended: the untouched chunks are loaded first.
ck2=$TMP/again.ckp
HYVE_TEST_LAZY_WALK_DELAY_MS=$HOLD start again -r "$ck" --verify=lazy -l com1,"$TMP/again.console" again
pid=$PID
"$HYVECTL" --vm=again --pause >/dev/null || fail "pause after the lazy restore"
out=$("$HYVECTL" --vm=again --suspend "$ck2") || fail "suspend after the lazy restore: $out"
wait_exit "$pid" 30
[ "$RC" = 0 ] || fail "the lazily restored, suspended VM exited $RC"
n=$(grep -Eo 'checked the [0-9]+ chunks of .* the guest had not touched yet' "$TMP/again.log" | awk '{print $3}')
[ -n "$n" ] && [ "$n" -gt 0 ] || fail "again: no chunk was left to load before the suspend ('$n')"
echo "again: $n of 64 chunks loaded and checked before the suspend"
start again2 -r "$ck2" --verify=lazy -l com1,"$TMP/again2.console" again2
churn_ok again2

# Lazy, checkpointed while it runs (dirty log over userfaultfd-filled RAM).
ck3=$TMP/cont.ckp
start cont -r "$ck" --verify=lazy -l com1,"$TMP/cont.console" cont
pid=$PID
sleep 0.3
out=$("$HYVECTL" --vm=cont --checkpoint "$ck3") || fail "checkpoint after the lazy restore: $out"
PID=$pid
churn_ok cont
start cont2 -r "$ck3" -l com1,"$TMP/cont2.console" cont2
churn_ok cont2

# A flipped byte in a chunk the guest touches (churn rewrites all its RAM).
bad=$TMP/bad.ckp
copy "$ck" "$bad"
flip "$bad" 0x2000123
HYVE_TEST_LAZY_WALK_DELAY_MS=$HOLD start bad -r "$bad" --verify=lazy -l com1,"$TMP/bad.console" bad
wait_exit "$PID" 30
no_crash "$TMP/bad.log"
[ "$RC" = 5 ] || fail "bad: exit status $RC, expected 5"
tail -n 1 "$TMP/bad.log" | grep -Eq "^hyve: bad: RAM file .*bad.ckp: chunk at offset 0x2000000 does not match its checksum \(found when the guest or a device touched it; --verify=lazy stopped the VM before the guest could read it\) \(exit status 5\)$" ||
	fail "bad: last line: $(tail -n 1 "$TMP/bad.log")"
grep -Eq 'CHURN (OK|FAIL)' "$TMP/bad.console" && fail "bad: the guest went on to a verdict"
echo "bad: $(tail -n 1 "$TMP/bad.log")"
# --eager checks while it reads: refused before any device exists.
start badeager -r "$bad" --eager -l com1,"$TMP/badeager.out.console" badeager
wait_exit "$PID" 30
no_crash "$TMP/badeager.log"
[ "$RC" = 2 ] || fail "badeager: exit status $RC, expected 2"
grep -Eq "^hyve: cannot restore .*bad.ckp: RAM file .*bad.ckp: chunk at offset 0x2000000 does not match its checksum$" "$TMP/badeager.log" ||
	fail "badeager: $(cat "$TMP/badeager.log")"
[ ! -e "$TMP/badeager.out.console" ] || fail "badeager: a device was created"

# Data in a chunk the guest never touches: the background walker finds it.
bk=$TMP/beacon.ckp
start bcn -c 1 -m 64M --kernel "$GUEST" --append "beacon 20000" -l com1,"$TMP/bcn.console" bcn
pid=$PID
wait_for "$TMP/bcn.console" '\.\.\.' 20
"$HYVECTL" --vm=bcn --suspend "$bk" >/dev/null || fail "beacon suspend failed"
wait_exit "$pid" 20
cmp -s -n 1048576 -i 50331648:0 "$bk" /dev/zero || fail "beacon: chunk 48 of its RAM is not zero"
printf 'x' | dd of="$bk" bs=1 seek=$((48 * 1048576 + 99)) conv=notrunc status=none
HYVE_TEST_LAZY_WALK_DELAY_MS=500 start walk -r "$bk" --verify=lazy -l com1,"$TMP/walk.console" walk
wait_exit "$PID" 30
no_crash "$TMP/walk.log"
[ "$RC" = 5 ] || fail "walk: exit status $RC, expected 5"
tail -n 1 "$TMP/walk.log" | grep -Eq "RAM file .*beacon.ckp: chunk at offset 0x3000000 holds data where the meta records zeros \(found by the background check;" ||
	fail "walk: last line: $(tail -n 1 "$TMP/walk.log")"
grep -q '\.' "$TMP/walk.console" || fail "walk: the guest did not run before the walker stopped it"
echo "walk: $(tail -n 1 "$TMP/walk.log")"

# No userfaultfd: lazy falls back to full, and says so.
HYVE_TEST_NO_USERFAULTFD=1 start nouffd -r "$ck" --verify=lazy -l com1,"$TMP/nouffd.console" nouffd
churn_ok nouffd
grep -q "warning: --verify=lazy needs userfaultfd: .*; verifying all of RAM before the guest starts instead (--verify=full)" "$TMP/nouffd.log" ||
	fail "nouffd: no fallback warning"
grep -q 'MiB of RAM mapped, checksum verified, with warnings' "$TMP/nouffd.log" || fail "nouffd: not verified in full"
HYVE_TEST_NO_USERFAULTFD=1 start nouffdbad -r "$bad" --verify=lazy -l com1,"$TMP/nouffdbad.out.console" nouffdbad
wait_exit "$PID" 30
[ "$RC" = 2 ] || fail "nouffdbad: exit status $RC, expected 2 (refused as by --verify=full)"
grep -q "chunk at offset 0x2000000 does not match its checksum" "$TMP/nouffdbad.log" || fail "nouffdbad: $(cat "$TMP/nouffdbad.log")"

# An altered chunk list (the meta re-signed by ckp set): never trusted.
alt=$TMP/alt.ckp
copy "$ck" "$alt"
list=$("$CKP" get "$alt.meta" ram.chunks) || fail "ckp get ram.chunks"
list2=$(python3 -c 'import base64,sys; b=bytearray(base64.b64decode(sys.argv[1])); b[8]^=1; print(base64.b64encode(bytes(b)).decode())' "$list")
"$CKP" set "$alt.meta" 'ram.chunks$b64' "$list2" || fail "ckp set ram.chunks"
start alt -r "$alt" --verify=lazy -l com1,"$TMP/alt.out.console" alt
wait_exit "$PID" 20
[ "$RC" = 2 ] || fail "alt: exit status $RC, expected 2"
grep -q "^hyve: cannot restore .*alt.ckp: ram.chunks does not add up to ram.checksum" "$TMP/alt.log" ||
	fail "alt: $(cat "$TMP/alt.log")"
[ ! -e "$TMP/alt.out.console" ] || fail "alt: a device was created"
all_clean
echo PASS
