#!/usr/bin/env bash
# The destination (hyve --incoming, hyve -r FILE.ckps) runs a churning
# guest from a stream of its checkpoint (`ckp convert`) to the same CHURN
# sum as an uninterrupted run: from the stream file with -r, through
# --incoming unix: fed the file one-way, through --incoming - on stdin, and
# keyed from a two-way source (tests/e2e/mig_in_frames.py) that gets
# ACCEPT, READY and, after its GO, RUNNING; the guest runs only after GO,
# and hyvectl works on the migrated VM.
. "$(dirname "$0")/ckp_lib.inc"
FRAMES=tests/e2e/mig_in_frames.py
python3 -c 'import cryptography' 2>/dev/null || fail "python3's cryptography module is missing (scripts/setup.sh)"

args=(-c 2 -m 128M --kernel "$GUEST" --append "churn 100")
reference CHURN

start src "${args[@]}" -l com1,"$TMP/src.console" src
pid=$PID
wait_for "$TMP/src.console" '^CHURN round 1/' 30
"$HYVECTL" --vm=src --suspend "$TMP/s.ckp" >/dev/null || fail "suspend"
wait_exit "$pid" 30
printf 'a shared secret, newline included\n' >"$TMP/key"
chmod 600 "$TMP/key"
"$CKP" convert "$TMP/s.ckp" "$TMP/s.ckps" || fail "ckp convert"
"$CKP" convert --migrate-key "$TMP/key" "$TMP/s.ckp" "$TMP/k.ckps" || fail "ckp convert --migrate-key"

check_run() {	# name how
	no_crash "$TMP/$1.log"
	[ "$RC" = 0 ] || fail "$2: exited $RC"
	got=$(verdict "$TMP/$1.console" CHURN)
	[ "$got" = "$want" ] || fail "$2: '$got', uninterrupted: '$want'"
	grep -q HYVE-GUEST "$TMP/$1.console" && fail "$2 booted the guest again"
	echo "$2: $got"
}

# hyve -r of the stream file (a checkpoint's -r is unchanged: ckp_* tests).
start r1 -r "$TMP/s.ckps" -l com1,"$TMP/r1.console" r1
wait_exit "$PID" 60
check_run r1 "-r FILE.ckps"
grep -q "restored from the stream $TMP/s.ckps" "$TMP/r1.log" || fail "-r: no log line"

# --incoming unix:, the file fed one-way; the socket is gone once accepted.
sock=$TMP/in.sock
"$HYVE" --incoming unix:"$sock" -l com1,"$TMP/r2.console" r2 </dev/null >"$TMP/r2.log" 2>&1 &
PID=$!; PIDS+=("$PID")
wait_for "$TMP/r2.log" 'waiting for a migration stream on unix:' 10
[ -S "$sock" ] || fail "no socket $sock while waiting"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(open(sys.argv[2],"rb").read()); s.shutdown(socket.SHUT_WR); s.recv(1)' "$sock" "$TMP/s.ckps" ||
	fail "feeding $sock"
wait_exit "$PID" 60
check_run r2 "--incoming unix: (one-way)"
[ -e "$sock" ] && fail "$sock left behind"

# --incoming - (stdin), keyed.
"$HYVE" --incoming - --migrate-key "$TMP/key" -l com1,"$TMP/r3.console" r3 <"$TMP/k.ckps" >"$TMP/r3.log" 2>&1
RC=$?
check_run r3 "--incoming - (keyed)"

# A two-way source: the guest runs only after GO, and is a normal hyve.
"$HYVE" --incoming unix:"$sock" --migrate-key "$TMP/key" -l com1,"$TMP/r4.console" r4 </dev/null >"$TMP/r4.log" 2>&1 &
PID=$!; PIDS+=("$PID")
pid=$PID
wait_for "$TMP/r4.log" 'waiting for a migration stream' 10
python3 "$FRAMES" send "$TMP/key" "$TMP/k.ckps" "$sock" insert:-1:GO: >"$TMP/answers.log" 2>&1 ||
	fail "two-way source: $(cat "$TMP/answers.log")"
ans=$(awk '{print $2}' "$TMP/answers.log" | tr '\n' ' ')
[ "$ans" = "ACCEPT READY RUNNING " ] || fail "answers to a two-way source: '$ans'"
st=$("$HYVECTL" --vm=r4 --status 2>&1)
[[ $st == "state=running name=r4 "* ]] ||
	fail "hyvectl --status on the migrated VM: '$st'"
wait_exit "$pid" 60
check_run r4 "--incoming unix: (two-way, keyed, GO)"
echo "status while running: $st"
all_clean
echo PASS
