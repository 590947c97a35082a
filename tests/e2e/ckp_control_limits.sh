#!/usr/bin/env bash
# The control socket's limits and the runtime directory's rule
# (docs/CONTROL.md, docs/hyvectl.8):
#  - connections that never send a request, more of them than hyve has
#    slots, lock nobody out: status (80 times) and suspend still succeed,
#    and every idle connection that lost its slot read why;
#  - a connection refused before its request got through gives hyvectl a
#    readable error and exit 1, never a death by SIGPIPE (exit 141);
#  - a runtime directory or socket path that is wrong in any way (symbolic
#    link, not a directory, group or other access, another user's, a file
#    in the path, a file or link or another user's socket at NAME.sock)
#    makes hyve and hyvectl exit 2 with one line naming it and why, and
#    nothing there is removed.
. "$(dirname "$0")/ckp_lib.inc"

# idle SOCKET N REPORT: open N connections to SOCKET and send nothing; once
# $TMP/idle.go exists, write to REPORT one line per connection: "open" (no
# answer yet), "closed" (closed without a line) or the line it read.
idle() {
	python3 - "$@" "$TMP/idle.go" <<'EOF' &
import os, socket, sys, time
path, n, report, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    socks.append(s)
open(report + ".ready", "w").close()
for i in range(2400):
    if os.path.exists(go):
        break
    time.sleep(0.05)
out = []
for s in socks:
    s.setblocking(False)
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        state = None
    except BlockingIOError:
        state = "open"
    if data:
        out.append(data.decode(errors="replace").rstrip("\n"))
    else:
        out.append(state or "closed")
with open(report, "w") as f:
    f.write("\n".join(out) + "\n")
EOF
	IDLE=$!
	PIDS+=("$IDLE")
	local i
	for i in $(seq 600); do
		[ -e "$3.ready" ] && return 0
		kill -0 "$IDLE" 2>/dev/null || fail "idle connections: the client died"
		sleep 0.05
	done
	fail "idle connections: not all $2 connected"
}
# idle_report REPORT: let the idle client report, wait for it.
idle_report() {
	touch "$TMP/idle.go"
	wait "$IDLE" || fail "idle connections: the client failed"
	rm -f "$TMP/idle.go"
	[ -s "$1" ] || fail "idle connections: no report"
}

# tally COMMAND...: run it 80 times, count exit codes ("0:80" or "1:79 141:1").
tally() {
	local i rc
	local -A n=()
	: >"$TMP/tally.err"
	for i in $(seq 80); do
		timeout -s KILL 60 "$@" >/dev/null 2>>"$TMP/tally.err"
		rc=$?
		n[$rc]=$(( ${n[$rc]:-0} + 1 ))
	done
	TALLY=$(for rc in "${!n[@]}"; do echo "$rc:${n[$rc]}"; done | sort -n | tr '\n' ' ')
	TALLY=${TALLY% }
}

# --- idle connections cannot starve the VM's owner ---
con=$TMP/lim.console
start lim -m 32M -l com1,"$con" --kernel "$GUEST" --append "churn 100000" lim
pid=$PID
wait_for "$con" '^CHURN round 1/' 30
sock=$HYVE_RUNDIR/lim.sock
[[ $("$HYVECTL" --vm=lim --status) == state=running* ]] || fail "no status before the test"

# 40 idle connections, 16 slots: 24 gave way as the others came.
idle "$sock" 40 "$TMP/idle1"
tally "$HYVECTL" --vm=lim --status
[ "$TALLY" = "0:80" ] || fail "status with 40 idle connections: exit codes $TALLY; $(sort "$TMP/tally.err" | uniq -c)"
out=$(timeout -s KILL 60 "$HYVECTL" --vm=lim --pause 2>&1) && [ "$out" = paused ] ||
	fail "pause with idle connections: '$out'"
out=$(timeout -s KILL 60 "$HYVECTL" --vm=lim --resume 2>&1) && [ "$out" = running ] ||
	fail "resume with idle connections: '$out'"
idle_report "$TMP/idle1"
closed=$(grep -c '^closed$' "$TMP/idle1")
evicted=$(grep -c '^error idle: closed for a newer connection (no request line yet, and all 16 control connections were in use)$' "$TMP/idle1")
other=$(grep -Evc '^(open|closed|error .*)$' "$TMP/idle1")
[ "$closed" = 0 ] || fail "$closed idle connections were closed without a word"
[ "$other" = 0 ] || fail "idle connections read: $(grep -Ev '^(open|closed|error .*)$' "$TMP/idle1" | head -3)"
[ "$evicted" -ge 24 ] || fail "only $evicted of the 40 idle connections were told they gave way: $(sort "$TMP/idle1" | uniq -c)"
echo "idle connections: status 80/80, pause, resume; $evicted idle connections told why: ok"

# --- and suspend works through them; at the stop, every one hears of it ---
idle "$sock" 40 "$TMP/idle2"
out=$(timeout -s KILL 120 "$HYVECTL" --vm=lim --suspend "$TMP/s.ckp" 2>&1) ||
	fail "suspend with 40 idle connections: '$out'"
[ "$out" = "suspended $TMP/s.ckp" ] || fail "suspend: '$out'"
wait_exit "$pid" 30
[ "$RC" = 0 ] || fail "hyve exited $RC after the suspend"
idle_report "$TMP/idle2"
bad=$(grep -Ev '^error (idle: closed for a newer connection|the VM is stopping)' "$TMP/idle2")
[ -z "$bad" ] || fail "idle connections at the stop: $(sort <<<"$bad" | uniq -c)"
"$CKP" check "$TMP/s.ckp" >/dev/null || fail "the checkpoint written with idle connections does not check"
echo "suspend with idle connections: ok"

# --- a refusal is an answer, never SIGPIPE ---
# hyve refuses a connection only when all 16 slots serve requests, which a
# test cannot arrange; a stand-in answers as hyve's refusal does, at once
# and without reading the request, so that most requests find the
# connection closed when they are sent.
fake() {	# fake SOCKET REPLY: a server answering REPLY ("" for nothing)
	python3 - "$@" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(64)
open(sys.argv[1] + ".ready", "w").close()
while True:
    c, _ = s.accept()
    if sys.argv[2]:
        c.sendall(sys.argv[2].encode() + b"\n")
    c.close()
EOF
	FAKE=$!
	PIDS+=("$FAKE")
	local i
	for i in $(seq 200); do
		[ -e "$1.ready" ] && return 0
		sleep 0.05
	done
	fail "the stand-in server did not start"
}
mkdir -m 700 "$TMP/fake"
fake "$TMP/fake/busy.sock" "error busy: too many control connections (all 16 are serving requests)"
HYVE_RUNDIR=$TMP/fake tally "$HYVECTL" --vm=busy --status
[ "$TALLY" = "1:80" ] || fail "refused 80 times: exit codes $TALLY"
bad=$(grep -vx 'hyvectl: busy: busy: too many control connections (all 16 are serving requests)' "$TMP/tally.err")
[ -z "$bad" ] || fail "refused: $(sort <<<"$bad" | uniq -c)"
HYVE_RUNDIR=$TMP/fake tally "$HYVECTL" --vm=busy --checkpoint "$TMP/never.ckp"
[ "$TALLY" = "1:80" ] || fail "checkpoint refused 80 times: exit codes $TALLY"
kill "$FAKE"
fake "$TMP/fake/mute.sock" ""
HYVE_RUNDIR=$TMP/fake tally "$HYVECTL" --vm=mute --status
[ "$TALLY" = "1:80" ] || fail "closed without an answer 80 times: exit codes $TALLY"
bad=$(grep -Evx 'hyvectl: mute: (hyve closed the connection before taking the request \(sending it: (Broken pipe|Connection reset by peer)\)|connection closed without a reply \(did hyve exit\?\))' "$TMP/tally.err")
[ -z "$bad" ] || fail "closed without an answer: $(sort <<<"$bad" | uniq -c)"
kill "$FAKE"
echo "refusals: 240 calls, exit 1 and a message each: ok"

# --- one rule for the runtime directory and the socket path ---
# refused WHAT DIR PATTERN: hyve and hyvectl with HYVE_RUNDIR=DIR both exit
# 2 with one line matching PATTERN.
refused() {
	local what=$1 dir=$2 pat=$3 out rc
	HYVE_RUNDIR=$dir timeout -s KILL 60 "$HYVE" -m 16M --kernel "$GUEST" \
		--append "ticks 10" rd </dev/null >"$TMP/rd.log" 2>&1
	rc=$?
	no_crash "$TMP/rd.log"
	[ "$rc" = 2 ] || fail "hyve, $what: exit $rc: $(cat "$TMP/rd.log")"
	[ "$(wc -l <"$TMP/rd.log")" = 1 ] || fail "hyve, $what: not one line: $(cat "$TMP/rd.log")"
	grep -Eq -- "^hyve: rd: $pat\$" "$TMP/rd.log" || fail "hyve, $what: '$(cat "$TMP/rd.log")'"
	out=$(HYVE_RUNDIR=$dir timeout -s KILL 60 "$HYVECTL" --vm=rd --status 2>&1)
	rc=$?
	[ "$rc" = 2 ] || fail "hyvectl, $what: exit $rc: $out"
	[ "$(wc -l <<<"$out")" = 1 ] || fail "hyvectl, $what: not one line: $out"
	grep -Eq -- "^hyvectl: $pat\$" <<<"$out" || fail "hyvectl, $what: '$out'"
}
rule='; it must be a directory of your own with mode 0700'
mkdir -m 700 "$TMP/real"
ln -s "$TMP/real" "$TMP/link"
refused "symbolic link" "$TMP/link" "runtime directory $TMP/link is a symbolic link, not a directory$rule"
[ -z "$(ls -A "$TMP/real")" ] || fail "something was created through the link: $(ls -A "$TMP/real")"
echo x >"$TMP/file"
refused "regular file" "$TMP/file" "runtime directory $TMP/file is a regular file, not a directory$rule"
mkdir -m 755 "$TMP/open"
refused "mode 0755" "$TMP/open" "runtime directory $TMP/open has mode 0755 \(group or others have access\)$rule"
chmod 0701 "$TMP/open"
refused "mode 0701" "$TMP/open" "runtime directory $TMP/open has mode 0701 \(group or others have access\)$rule"
refused "a file in the path" "$TMP/file/run" "(cannot create the )?runtime directory $TMP/file/run: Not a directory"
if [ "$(id -u)" = 0 ]; then
	mkdir -m 700 "$TMP/theirs"
	chown 65534 "$TMP/theirs"
	refused "another user's directory" "$TMP/theirs" "runtime directory $TMP/theirs belongs to user 65534, not to user 0$rule"
else
	echo "another user's directory and socket: not tested (needs root)"
fi
# A directory that cannot be created is the same kind of error for hyve;
# for hyvectl there is simply no VM there.
HYVE_RUNDIR=$TMP/none/run timeout -s KILL 60 "$HYVE" -m 16M --kernel "$GUEST" \
	--append "ticks 10" rd </dev/null >"$TMP/rd.log" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "hyve, a missing parent: exit $rc: $(cat "$TMP/rd.log")"
grep -qx "hyve: rd: cannot create the runtime directory $TMP/none/run: No such file or directory" "$TMP/rd.log" ||
	fail "hyve, a missing parent: '$(cat "$TMP/rd.log")'"
out=$(HYVE_RUNDIR=$TMP/none/run "$HYVECTL" --vm=rd --status 2>&1)
[ $? = 1 ] && [ "$out" = "hyvectl: no such VM 'rd' (no hyve listening on $TMP/none/run/rd.sock)" ] ||
	fail "hyvectl, a missing parent: '$out'"

# What is at NAME.sock: only a socket of one's own is a VM (or stale).
start live -m 16M -l com1,"$TMP/live.console" --kernel "$GUEST" --append "churn 100000" live
live=$PID
mkdir -m 700 "$TMP/sk"
ln -s "$HYVE_RUNDIR/live.sock" "$TMP/sk/rd.sock"
refused "a link to a live VM's socket" "$TMP/sk" "control socket $TMP/sk/rd.sock is a symbolic link, not a socket; refusing to use or replace it"
[ -L "$TMP/sk/rd.sock" ] || fail "the link at rd.sock was removed"
rm "$TMP/sk/rd.sock"
ln -s "$TMP/nowhere" "$TMP/sk/rd.sock"
refused "a dangling link" "$TMP/sk" "control socket $TMP/sk/rd.sock is a symbolic link, not a socket; refusing to use or replace it"
[ -L "$TMP/sk/rd.sock" ] && [ ! -e "$TMP/nowhere" ] || fail "the dangling link was removed or followed"
rm "$TMP/sk/rd.sock"
echo precious >"$TMP/sk/rd.sock"
refused "a regular file" "$TMP/sk" "control socket $TMP/sk/rd.sock is a regular file, not a socket; refusing to use or replace it"
[ "$(cat "$TMP/sk/rd.sock")" = precious ] || fail "the file at rd.sock was removed"
rm "$TMP/sk/rd.sock"
if [ "$(id -u)" = 0 ]; then
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TMP/sk/rd.sock"
	chown 65534 "$TMP/sk/rd.sock"
	refused "another user's socket" "$TMP/sk" "control socket $TMP/sk/rd.sock belongs to user 65534, not to user 0; refusing to use or replace it"
	[ -S "$TMP/sk/rd.sock" ] || fail "another user's socket was removed"
	rm "$TMP/sk/rd.sock"
fi
# Our own stale socket is still replaced.
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TMP/sk/rd.sock"
HYVE_RUNDIR=$TMP/sk start rd -m 16M -l com1,"$TMP/rd.console" --kernel "$GUEST" --append "churn 100000" rd
rd=$PID
for i in $(seq 500); do
	[[ $(HYVE_RUNDIR=$TMP/sk "$HYVECTL" --vm=rd --status 2>&1) == state=running*" pid=$rd" ]] && break
	sleep 0.01
done
[[ $(HYVE_RUNDIR=$TMP/sk "$HYVECTL" --vm=rd --status 2>&1) == state=running*" pid=$rd" ]] ||
	fail "a stale socket of ours was not replaced: $(cat "$TMP/rd.log")"
kill "$rd" "$live"
wait_exit "$rd" 20
wait_exit "$live" 20
echo "runtime directory and socket path: ok"
all_clean
echo PASS
