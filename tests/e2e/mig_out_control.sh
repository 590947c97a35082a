#!/usr/bin/env bash
# hyvectl --migrate's refusals and failures, each leaving the guest
# running at the source: a bad address (exit 2), nobody listening (exit 1,
# the reason named), an existing file: target, a key file group or others
# can read, a checkpoint in progress (busy), --migrate-cancel of a
# migration stuck waiting for a destination that never answers, and a
# destination that closes the connection.  Then --status says nothing of a
# migration, and the guest finishes its churn with the sum of an
# uninterrupted run.
. "$(dirname "$0")/ckp_lib.inc"
command -v python3 >/dev/null || fail "python3 is not installed"

args=(-c 2 -m 64M --kernel "$GUEST" --append "churn 2000")
reference CHURN

con=$TMP/src.console
HYVE_TEST_CKPT_DELAY_MS=1500 start src "${args[@]}" -l com1,"$con" src
pid=$PID
wait_for "$con" '^CHURN round 1/' 30
ctl() { "$HYVECTL" --vm=src "$@" 2>&1; }
alive() { kill -0 "$pid" 2>/dev/null || fail "hyve died: $1"; }
running() {
	local st
	st=$(ctl --status) || fail "status ($1): $st"
	[[ $st == "state=running name=src "* ]] || fail "status ($1): '$st'"
	[[ $st == *migrating* ]] && fail "status ($1) still shows a migration: '$st'"
	return 0
}

# A bad address: a usage error, nothing sent.
out=$(ctl --migrate bogus:1) ; rc=$?
[ $rc = 2 ] || fail "bad address: exit $rc ($out)"
grep -q "bogus:1" <<<"$out" || fail "bad address: '$out'"
running "bad address"

# Nobody listening: exit 1, the reason named.
out=$(ctl --migrate "unix:$TMP/nobody.sock"); rc=$?
[ $rc = 1 ] || fail "no listener: exit $rc ($out)"
grep -q "nobody.sock" <<<"$out" || fail "no listener: '$out'"
out=$(ctl --migrate tcp:127.0.0.1:1); rc=$?
[ $rc = 1 ] || fail "tcp no listener: exit $rc ($out)"
grep -qi "refused" <<<"$out" || fail "tcp no listener: '$out'"
running "no listener"

# file: never replaces a file.
echo keep >"$TMP/old.ckps"
out=$(ctl --migrate "file:$TMP/old.ckps"); rc=$?
[ $rc = 1 ] || fail "existing file: exit $rc ($out)"
grep -q "exists" <<<"$out" || fail "existing file: '$out'"
[ "$(cat "$TMP/old.ckps")" = keep ] || fail "the existing file was changed"

# A key file others can read, and a short one.
printf '0123456789abcdef0123' >"$TMP/key"
chmod 644 "$TMP/key"
out=$(ctl --migrate "file:$TMP/k.ckps" --migrate-key "$TMP/key"); rc=$?
[ $rc = 2 ] || fail "readable key: exit $rc ($out)"
grep -q "mode 0644" <<<"$out" || fail "readable key: '$out'"
printf 'short' >"$TMP/short"
chmod 600 "$TMP/short"
out=$(ctl --migrate "file:$TMP/k.ckps" --migrate-key "$TMP/short"); rc=$?
[ $rc = 2 ] || fail "short key: exit $rc ($out)"
grep -q "holds 5 bytes" <<<"$out" || fail "short key: '$out'"
ls "$TMP"/k.ckps* >/dev/null 2>&1 && fail "a refused key left a stream file"
running "key files"

# Busy: a checkpoint holds the VM (the test hook holds it 1.5 s).
ctl --checkpoint "$TMP/a.ckp" >"$TMP/first.out" &
first=$!
sleep 0.4
out=$(ctl --migrate "file:$TMP/busy.ckps"); rc=$?
[ $rc = 1 ] || fail "busy: exit $rc ($out)"
grep -q "busy: a checkpoint to $TMP/a.ckp is already being written" <<<"$out" || fail "busy: '$out'"
wait $first || fail "the checkpoint failed: $(cat "$TMP/first.out")"
ls "$TMP"/busy.ckps* >/dev/null 2>&1 && fail "a refused migration left a stream file"

# A destination that accepts and never answers: cancel.
cat >"$TMP/mute.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
mode = sys.argv[2]
if mode == "close":
    c.recv(40)
    c.close()
    time.sleep(5)
else:
    time.sleep(30)
EOF
python3 "$TMP/mute.py" "$TMP/mute.sock" mute &
mute=$!
CLEANUP_EXTRA="kill $mute 2>/dev/null"
for i in $(seq 100); do [ -S "$TMP/mute.sock" ] && break; sleep 0.05; done
ctl --migrate "unix:$TMP/mute.sock" >"$TMP/mig.out" &
mig=$!
sleep 0.5
st=$(ctl --status)
[[ $st == *" migrating round=0 "* ]] || fail "status during the migration: '$st'"
out=$(ctl --migrate "file:$TMP/second.ckps"); rc=$?
[ $rc = 1 ] && grep -q "busy: a migration to unix:$TMP/mute.sock is in progress" <<<"$out" ||
	fail "second migration: exit $rc ($out)"
out=$(ctl --migrate-cancel) || fail "cancel: $out"
[ "$out" = cancelling ] || fail "cancel said '$out'"
t0=$EPOCHREALTIME
wait $mig; rc=$?
[ $rc = 1 ] || fail "cancelled migration: exit $rc ($(cat "$TMP/mig.out"))"
grep -q "cancelled" "$TMP/mig.out" || fail "cancelled migration: $(cat "$TMP/mig.out")"
awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 2) }' || fail "the cancel took $t0..$EPOCHREALTIME"
kill $mute 2>/dev/null; wait $mute 2>/dev/null
out=$(ctl --migrate-cancel); rc=$?
[ $rc = 1 ] && grep -q "no migration in progress" <<<"$out" || fail "cancel with none: exit $rc ($out)"
running "cancel"

# A destination that closes after the preamble.
rm -f "$TMP/mute.sock"
python3 "$TMP/mute.py" "$TMP/mute.sock" close &
mute=$!
CLEANUP_EXTRA="kill $mute 2>/dev/null"
for i in $(seq 100); do [ -S "$TMP/mute.sock" ] && break; sleep 0.05; done
out=$(ctl --migrate "unix:$TMP/mute.sock"); rc=$?
[ $rc = 1 ] || fail "closing destination: exit $rc ($out)"
grep -Eqi "closed|reset|without answering" <<<"$out" || fail "closing destination: '$out'"
kill $mute 2>/dev/null; wait $mute 2>/dev/null
running "closing destination"
echo "refusals and failures: the guest ran on"

wait_exit "$pid" 90
no_crash "$TMP/src.log"
[ "$RC" = 0 ] || fail "the source exited $RC"
got=$(verdict "$con" CHURN)
[ "$got" = "$want" ] || fail "source: '$got', uninterrupted: '$want'"
grep -q "migration to unix:$TMP/mute.sock failed, the guest runs here: cancelled" "$TMP/src.log" ||
	fail "the log does not say the cancelled migration left the guest here"
all_clean
echo PASS
