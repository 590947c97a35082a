#!/usr/bin/env bash
# A VM that stops while a migration waits ends the migration at once, not
# at its timeout: the guest powering off, and hyve told to stop (SIGTERM),
# each during a migration to a destination that accepts and never answers
# (migrate.timeout_ms=60000, so only the stop can end it).  hyve exits with
# the stop's own status; hyvectl --migrate exits 1 saying the VM stopped.
. "$(dirname "$0")/ckp_lib.inc"
command -v python3 >/dev/null || fail "python3 is not installed"

cat >"$TMP/mute.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
time.sleep(120)
PY

# mute NAME: a destination at $TMP/NAME.sock that never answers.
mute() {
	local i
	python3 "$TMP/mute.py" "$TMP/$1.sock" &
	MUTE=$!
	CLEANUP_EXTRA="$CLEANUP_EXTRA; kill $MUTE 2>/dev/null"
	for i in $(seq 100); do [ -S "$TMP/$1.sock" ] && return 0; sleep 0.05; done
	fail "the mute destination $1 did not listen"
}

# migrate VM NAME: hyvectl --migrate in the background; its PID in $MIG.
migrate() {
	"$HYVECTL" --vm="$1" --migrate "unix:$TMP/$2.sock" \
	    -o migrate.timeout_ms=60000 >"$TMP/$1.mig" 2>&1 &
	MIG=$!
	local i st
	for i in $(seq 100); do
		st=$("$HYVECTL" --vm="$1" --status 2>&1)
		[[ $st == *" migrating "* ]] && return 0
		sleep 0.05
	done
	fail "$1: no migration in --status: '$st'"
}

# check VM STOP-REGEX: hyve gone in 20 s (the migration would hold it 60),
# hyvectl's answer and hyve's log name the stop.
check() {
	local vm=$1 why=$2 rc
	wait_exit "$PID" 20
	HRC=$RC
	wait "$MIG"; rc=$?
	[ $rc = 1 ] || fail "$vm: hyvectl --migrate exit $rc: $(cat "$TMP/$vm.mig")"
	grep -Eq "the VM stopped during the migration \($why" "$TMP/$vm.mig" ||
		fail "$vm: hyvectl said: $(cat "$TMP/$vm.mig")"
	grep -Eq "migration to unix:$TMP/$vm-dst.sock failed, the guest runs here: the VM stopped during the migration \($why" "$TMP/$vm.log" ||
		fail "$vm: the log does not say the stop ended the migration"
	no_crash "$TMP/$vm.log"
}

# 1. The guest powers off (its churn ends) while the migration waits.
mute off-dst
start off -c 2 -m 64M --kernel "$GUEST" --append "churn 300" -l com1,"$TMP/off.console" off
wait_for "$TMP/off.console" '^CHURN round 1/' 30
migrate off off-dst
check off "guest powered off"
[ "$HRC" = 0 ] || fail "off: hyve exited $HRC after the guest powered off"
grep -q '^CHURN OK' "$TMP/off.console" || fail "off: the guest did not finish its work"

# 2. SIGTERM while the migration waits.
mute term-dst
start term -c 1 -m 64M --kernel "$GUEST" --append "churn 100000" -l com1,"$TMP/term.console" term
wait_for "$TMP/term.console" '^CHURN round 1/' 30
migrate term term-dst
kill -TERM "$PID"
check term "stopped by signal"
[ "$HRC" != 0 ] || fail "term: hyve exited 0 after SIGTERM"
echo "a power-off and a SIGTERM each ended a waiting migration"
all_clean
echo PASS
