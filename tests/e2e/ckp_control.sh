#!/usr/bin/env bash
# The control socket and its errors (docs/CONTROL.md):
#  - runtime directory 0700, socket 0600; no such VM; status; pause and
#    resume (the guest really stops and goes on);
#  - malformed requests: unknown verb, too long, relative path, missing
#    path, a second request, an argument where none is taken;
#  - a checkpoint in progress: a second one and a pause get "busy" (in
#    hyve, and from another process writing the same file), status still
#    answers;
#  - unwritable destinations (missing directory, read-only directory
#    holding an older checkpoint, a full file system): an error, the VM
#    keeps running, nothing half-written is left, the old checkpoint is
#    intact;
#  - a second hyve with a live VM's name is refused; a stale socket (hyve
#    killed) is replaced; suspend removes the socket and hyve exits 0.
. "$(dirname "$0")/ckp_lib.inc"

ctl() { "$HYVECTL" --vm=ctl "$@" 2>&1; }
raw() {	# raw TEXT: send TEXT as is, print the reply
	python3 - "$HYVE_RUNDIR/ctl.sock" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
EOF
}
lines() { wc -l <"$con"; }
# The guest is running: hyve says so, and a churn line (one a second) is
# newer than @since (a line count; default: now).
running() {
	local n=${2:-$(lines)} i
	kill -0 "$pid" 2>/dev/null || fail "$1: hyve exited"
	[[ $(ctl --status) == state=running* ]] || fail "$1: status '$(ctl --status)'"
	for i in $(seq 100); do
		[ "$(lines)" -gt "$n" ] && return 0
		sleep 0.05
	done
	fail "$1: the guest does not run"
}
# Only that hyve says it runs (quick; the guest is checked later).
alive() {
	kill -0 "$pid" 2>/dev/null || fail "$1: hyve exited"
	[[ $(ctl --status) == state=running* ]] || fail "$1: status '$(ctl --status)'"
}

out=$("$HYVECTL" --vm=nope --status 2>&1)
[ $? = 1 ] || fail "status of a missing VM did not fail"
grep -q "no such VM 'nope'" <<<"$out" || fail "missing VM: '$out'"

con=$TMP/ctl.console
HYVE_TEST_CKPT_DELAY_MS=1500 start ctl -c 2 -m 64M -l com1,"$con" \
	--kernel "$GUEST" --append "churn 100000" ctl
pid=$PID
wait_for "$con" '^CHURN round 1/' 30
[ "$(stat -c %a "$HYVE_RUNDIR")" = 700 ] || fail "runtime directory mode $(stat -c %a "$HYVE_RUNDIR")"
[ "$(stat -c %a "$HYVE_RUNDIR/ctl.sock")" = 600 ] || fail "socket mode $(stat -c %a "$HYVE_RUNDIR/ctl.sock")"
[ "$(ctl --status)" = "state=running name=ctl cpus=2 memory=67108864 pid=$pid" ] ||
	fail "status: '$(ctl --status)'"

# pause / resume
[ "$(ctl --pause)" = paused ] || fail "pause"
[ "$(ctl --pause)" = paused ] || fail "pause when paused"
[[ $(ctl --status) == state=paused* ]] || fail "status when paused: '$(ctl --status)'"
n=$(lines)
sleep 1.3
[ "$(lines)" = "$n" ] || fail "the guest printed while paused"
[ "$(ctl --resume)" = running ] || fail "resume"
[ "$(ctl --resume)" = running ] || fail "resume when running"
running "after resume"
echo "pause/resume: ok"

# malformed requests
check_raw() {	# check_raw REQUEST PATTERN
	local r
	r=$(raw "$1")
	grep -Eq -- "^error $2" <<<"$r" || fail "request '${1:0:40}': reply '$r'"
}
check_raw 'hello\n' "unknown request 'hello'"
check_raw "$(head -c 5000 /dev/zero | tr '\0' a)\\n" "request longer than 4096 bytes"
check_raw 'suspend foo.ckp\n' "checkpoint path 'foo.ckp' is not absolute"
check_raw 'checkpoint\n' "a checkpoint file name is required"
check_raw 'status\nstatus\n' "one request per connection"
check_raw 'pause now\n' "pause takes no argument"
check_raw 'suspend encoding=xml /tmp/x.ckp\n' "unknown option 'encoding=xml'"
r=$(raw 'status\n')
[[ $r == "ok state=running name=ctl "* ]] || fail "raw status: '$r'"
echo "malformed requests: ok"

# busy: in hyve (HYVE_TEST_CKPT_DELAY_MS holds the first one) ...
ctl --checkpoint "$TMP/a.ckp" >"$TMP/first.out" &
first=$!
sleep 0.4
out=$(ctl --checkpoint "$TMP/b.ckp") && fail "a second checkpoint was accepted"
grep -q "busy: a checkpoint to $TMP/a.ckp is already being written" <<<"$out" || fail "second checkpoint: '$out'"
out=$(ctl --pause) && fail "pause during a checkpoint was accepted"
grep -q "busy" <<<"$out" || fail "pause during a checkpoint: '$out'"
t0=$EPOCHREALTIME
[[ $(ctl --status) == state=running* ]] || fail "status during a checkpoint"
awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 0.5) }' || fail "status waited for the checkpoint"
wait $first || fail "the first checkpoint failed: $(cat "$TMP/first.out")"
grep -q "^checkpoint $TMP/a.ckp downtime_ms=" "$TMP/first.out" || fail "first: $(cat "$TMP/first.out")"
[ ! -e "$TMP/b.ckp" ] && [ ! -e "$TMP/b.ckp.meta" ] || fail "the refused checkpoint left files"
# ... and from another process writing the same checkpoint.
flock "$TMP/c.ckp.tmp" sleep 2 &
locker=$!
sleep 0.3
out=$(ctl --checkpoint "$TMP/c.ckp") && fail "a checkpoint over a live writer was accepted"
grep -q "busy: a checkpoint to $TMP/c.ckp is already being written" <<<"$out" || fail "live writer: '$out'"
wait "$locker"
alive "after busy"
echo "busy: ok"

# unwritable destinations
n0=$(lines)
nothing_left() {	# nothing_left DIR
	local left
	left=$(find "$1" -name '*.tmp' 2>/dev/null)
	[ -z "$left" ] || fail "temporaries left behind: $left"
}
out=$(ctl --checkpoint "$TMP/nodir/x.ckp") && fail "checkpoint into a missing directory"
grep -q "$TMP/nodir/x.ckp.*No such file or directory" <<<"$out" || fail "missing directory: '$out'"
[ ! -e "$TMP/nodir" ] || fail "the missing directory was created"
alive "after a missing directory"

mkdir "$TMP/ro"
ctl --checkpoint "$TMP/ro/old.ckp" >/dev/null || fail "checkpoint into ro/"
cp --sparse=always "$TMP/ro/old.ckp" "$TMP/old.copy"
cp "$TMP/ro/old.ckp.meta" "$TMP/old.copy.meta"
if chattr +i "$TMP/ro" 2>/dev/null; then
	CLEANUP_EXTRA='chattr -i "$TMP/ro" 2>/dev/null'
else
	mount --bind "$TMP/ro" "$TMP/ro" && mount -o remount,bind,ro "$TMP/ro" ||
		fail "cannot make a read-only directory (chattr +i or a read-only bind mount)"
	CLEANUP_EXTRA='umount "$TMP/ro" 2>/dev/null'
fi
out=$(ctl --suspend "$TMP/ro/old.ckp") && fail "suspend into a read-only directory"
grep -Eq "$TMP/ro/old.ckp.*(Permission denied|Operation not permitted|Read-only)" <<<"$out" ||
	fail "read-only directory: '$out'"
alive "after a read-only directory"
kill -0 "$pid" || fail "hyve exited after a failed suspend"
cmp "$TMP/ro/old.ckp" "$TMP/old.copy" && cmp "$TMP/ro/old.ckp.meta" "$TMP/old.copy.meta" ||
	fail "the old checkpoint changed"
"$CKP" check "$TMP/ro/old.ckp" >/dev/null || fail "the old checkpoint no longer checks"
nothing_left "$TMP/ro"
eval "$CLEANUP_EXTRA"
CLEANUP_EXTRA=:

mkdir "$TMP/full"
mount -t tmpfs -o size=16M tmpfs "$TMP/full" || fail "cannot mount a small tmpfs (needs root)"
CLEANUP_EXTRA='umount "$TMP/full" 2>/dev/null'
out=$(ctl --checkpoint "$TMP/full/x.ckp") && fail "checkpoint of 64 MiB into 16 MiB"
grep -q "No space left on device" <<<"$out" || fail "full file system: '$out'"
[ -z "$(ls -A "$TMP/full")" ] || fail "files left in the full file system: $(ls -A "$TMP/full")"
running "after the unwritable destinations" "$n0"
umount "$TMP/full"
CLEANUP_EXTRA=:
echo "unwritable destinations: ok"

# one name, one hyve
start dup -m 16M --kernel "$GUEST" --append "ticks 10" ctl
wait_exit "$PID" 10
[ "$RC" = 2 ] || fail "a second hyve named ctl exited $RC"
grep -q "a VM named 'ctl' is already running" "$TMP/dup.log" || fail "second hyve: $(cat "$TMP/dup.log")"
alive "after a second hyve"
kill -9 "$pid"
wait "$pid" 2>/dev/null
[ -S "$HYVE_RUNDIR/ctl.sock" ] || fail "no stale socket after kill -9"
start again -m 16M -l com1,"$TMP/again.console" --kernel "$GUEST" --append "ticks 500" ctl
pid=$PID
# start() saw the stale socket at once: wait for the new hyve to answer.
for i in $(seq 500); do
	[[ $(ctl --status) == state=running*" pid=$pid" ]] && break
	sleep 0.01
done
[[ $(ctl --status) == state=running*" pid=$pid" ]] || fail "the stale socket was not replaced"
out=$(ctl --suspend "$TMP/s.ckp") || fail "suspend: $out"
wait_exit "$pid" 20
[ "$RC" = 0 ] || fail "hyve exited $RC after a suspend"
[ ! -e "$HYVE_RUNDIR/ctl.sock" ] || fail "the socket was left after the suspend"
echo "names and sockets: ok"
all_clean
echo PASS
