#!/usr/bin/env bash
# hyvectl --migrate file:X.ckps of a running churn guest (2 vCPUs): a
# one-way stream, written under a temporary name and given X.ckps once
# complete; the source goes on and finishes with the CHURN OK sum of an
# uninterrupted run; `hyve -r X.ckps` finishes with the same sum.  The
# same with a key (--migrate-key on both sides): restoring it without the
# key, or with another one, is refused and runs nothing.
. "$(dirname "$0")/ckp_lib.inc"

args=(-c 2 -m 64M --kernel "$GUEST" --append "churn 500")
reference CHURN

printf 'a secret of twenty-four\n' >"$TMP/key"
chmod 600 "$TMP/key"
printf 'another secret, not it!\n' >"$TMP/other"
chmod 600 "$TMP/other"

con=$TMP/src.console
start src "${args[@]}" -l com1,"$con" src
pid=$PID
wait_for "$con" '^CHURN round [0-9]+/' 30
out=$("$HYVECTL" --vm=src --migrate "file:$TMP/x.ckps" 2>&1) || fail "migrate: $out"
[[ $out =~ ^written\ file:$TMP/x.ckps\ downtime_ms=[0-9.]+\ rounds=[0-9]+\ bytes=[0-9]+ ]] ||
	fail "hyvectl said '$out'"
echo "$out"
bytes=${out##*bytes=}; bytes=${bytes%% *}
[ "$(stat -c %s "$TMP/x.ckps")" = "$bytes" ] || fail "x.ckps holds $(stat -c %s "$TMP/x.ckps") bytes, hyve sent $bytes"
[ "$(stat -c %a "$TMP/x.ckps")" = 600 ] || fail "x.ckps has mode $(stat -c %a "$TMP/x.ckps")"
out=$("$HYVECTL" --vm=src --migrate "file:$TMP/k.ckps" --migrate-key "$TMP/key" 2>&1) || fail "keyed: $out"
ls "$TMP"/*.part >/dev/null 2>&1 && fail "a temporary stream file is left"
st=$("$HYVECTL" --vm=src --status) || fail "status: $st"
[[ $st == "state=running name=src "* ]] || fail "status after the streams: '$st'"
wait_exit "$pid" 90
no_crash "$TMP/src.log"
[ "$RC" = 0 ] || fail "the source exited $RC"
got=$(verdict "$con" CHURN)
[ "$got" = "$want" ] || fail "source: '$got', uninterrupted: '$want'"
grep -q "migration stream file:$TMP/x.ckps written" "$TMP/src.log" || fail "the log does not name the stream"

start r1 -r "$TMP/x.ckps" -l com1,"$TMP/r1.console" r1
wait_exit "$PID" 90
no_crash "$TMP/r1.log"
[ "$RC" = 0 ] || fail "hyve -r x.ckps exited $RC"
got=$(verdict "$TMP/r1.console" CHURN)
[ "$got" = "$want" ] || fail "restored stream: '$got', uninterrupted: '$want'"
grep -q HYVE-GUEST "$TMP/r1.console" && fail "the restored stream booted the guest again"

for bad in none other; do
	if [ $bad = none ]; then
		start "k$bad" -r "$TMP/k.ckps" -l com1,"$TMP/k$bad.console" "k$bad"
	else
		start "k$bad" -r "$TMP/k.ckps" --migrate-key "$TMP/other" -l com1,"$TMP/k$bad.console" "k$bad"
	fi
	wait_exit "$PID" 30
	[ "$RC" = 2 ] || fail "keyed stream restored with key '$bad': exit $RC"
	grep -q CHURN "$TMP/k$bad.console" 2>/dev/null && fail "key '$bad': the guest ran"
done
start k -r "$TMP/k.ckps" --migrate-key "$TMP/key" -l com1,"$TMP/k.console" k
wait_exit "$PID" 90
no_crash "$TMP/k.log"
[ "$RC" = 0 ] || fail "the keyed stream exited $RC"
got=$(verdict "$TMP/k.console" CHURN)
[ "$got" = "$want" ] || fail "keyed stream: '$got', uninterrupted: '$want'"
echo "4 runs: $want"
all_clean
echo PASS
