#!/usr/bin/env bash
# The sandbox (docs/SANDBOX.md).  A thread that makes a system call its
# filter does not allow is stopped: one line names the thread and the call,
# hyve exits 4.  The test build's HYVE_TEST_SANDBOX_PROBE makes a thread of
# a role call socket(), which no role may: a virtio-blk I/O thread on the
# guest's first disk request, and every role as its thread starts.  With
# --no-sandbox the same probe is harmless and the guest finishes.  The
# release hyve runs every thread under a filter (/proc: Seccomp 2).
. "$(dirname "$0")/ckp_lib.inc"
REL=${RELEASE_BUILD:-${BUILD%/test}}

src=$TMP/src.img dst=$TMP/dst.img
head -c 2M /dev/urandom >"$src"
truncate -s 2M "$dst"
disks=(-s 3,virtio-blk,"$src" -s 4,virtio-blk,"$dst")
line='\(tid [0-9]+\) made system call 41 \(socket\), which its filter does not allow \(exit status 4\)$'

# expect_denied NAME THREAD-REGEX: hyve NAME exited 4, and its last line,
# the only one but a restore's and a lazy restore's end of verification,
# says that THREAD made socket().
expect_denied() {
	local log=$TMP/$1.log
	no_crash "$log"
	[ "$RC" = 4 ] || fail "$1: exit status $RC, expected 4"
	tail -n 1 "$log" | grep -Eq "^hyve: $1: seccomp: thread $2 $line" ||
		fail "$1: the last line does not name thread $2 and socket()"
	[ "$(grep -Evc ': (restored from |RAM file .* verified in )' "$log")" = 1 ] ||
		fail "$1: more lines than the one: $(tr '\n' '|' <"$log")"
	echo "$1: $(tail -n 1 "$log")"
}

# A device thread, on a guest request: the copy's first read.
HYVE_TEST_SANDBOX_PROBE=blk-io:request start req -m 64M "${disks[@]}" \
	-l com1,"$TMP/req.console" --kernel "$GUEST" --append "copy 1M" req
wait_exit "$PID" 30
expect_denied req 'blk-io\[virtio-blk@pci\.0\.[34]\.0\]'
grep -q '^COPY OK' "$TMP/req.console" && fail "req: the copy finished"

# The same without the sandbox: the probe's socket() is harmless.
HYVE_TEST_SANDBOX_PROBE=blk-io:request start off -m 64M "${disks[@]}" \
	-l com1,"$TMP/off.console" --kernel "$GUEST" --append "copy 1M" \
	--no-sandbox off
wait_exit "$PID" 30
no_crash "$TMP/off.log"
[ "$RC" = 0 ] || fail "off: --no-sandbox exited $RC: $(cat "$TMP/off.log")"
grep -q '^COPY OK' "$TMP/off.console" || fail "off: no COPY OK"

# Every role, as its thread starts: what it takes to start one.
probe() {	# ROLE THREAD-REGEX [hyve args...]
	local role=$1 re=$2 name=p-${1//[^a-z]/}
	shift 2
	HYVE_TEST_SANDBOX_PROBE=$role start "$name" "$@" "$name"
	PROBED=$PID
}
guest=(-m 64M --kernel "$GUEST" --append "ticks 100000")
for role in main vcpu ctl-accept; do
	probe "$role" "${role}(\\[0\\])?" -l com1,"$TMP/$role.console" "${guest[@]}"
	wait_exit "$PROBED" 20
	expect_denied "p-${role//[^a-z]/}" "${role}(\\[0\\])?"
done
probe blk-io 'blk-io\[virtio-blk@pci\.0\.3\.0\]' -s 3,virtio-blk,"$src" \
	-l com1,"$TMP/blk.console" "${guest[@]}"
wait_exit "$PROBED" 20
expect_denied p-blkio 'blk-io\[virtio-blk@pci\.0\.3\.0\]'
probe uart-in 'uart-in\[uart@0\]' -l com1,stdio "${guest[@]}"
wait_exit "$PROBED" 20
expect_denied p-uartin 'uart-in\[uart@0\]'

# A control connection, and the checkpoint writer's threads.
probe ctl-conn 'ctl-conn' -l com1,"$TMP/conn.console" "${guest[@]}"
"$HYVECTL" --vm=p-ctlconn --status >/dev/null 2>&1
wait_exit "$PROBED" 20
expect_denied p-ctlconn ctl-conn
if [ "$(nproc)" -ge 2 ]; then
	# Several writer threads only where there are CPUs to run them.
	probe ckpt-writer ckpt-writer -c 2 -m 128M -l com1,"$TMP/ck.console" \
		--kernel "$GUEST" --append "churn 1000"
	wait_for "$TMP/ck.console" '^CHURN round 1/' 30
	"$HYVECTL" --vm=p-ckptwriter --checkpoint "$TMP/w.ckp" >/dev/null 2>&1
	wait_exit "$PROBED" 30
	expect_denied p-ckptwriter ckpt-writer
else
	echo "ckpt-writer: one CPU, no writer threads to probe"
fi

# --verify=lazy: the fault handlers, the background check, and loading the
# rest for a checkpoint (the background check held back meanwhile).
start src -l com1,"$TMP/s.console" "${guest[@]}" src
wait_for "$TMP/s.console" '^HYVE-GUEST' 30
out=$("$HYVECTL" --vm=src --suspend "$TMP/s.ckp") || fail "suspend: $out"
wait_exit "$PID" 20
[ "$RC" = 0 ] || fail "the suspended hyve exited $RC"
start lzchk -r "$TMP/s.ckp" --verify=lazy -l com1,"$TMP/lz.console" lzchk
wait_for "$TMP/lzchk.log" 'restored from' 20
kill -9 "$PID"
wait "$PID" 2>/dev/null
if grep -q 'loaded on demand' "$TMP/lzchk.log"; then
	# The two fault handlers trap together (HYVE_TEST_SANDBOX_PROBE_MEET),
	# and still one line: the second waits for the first's exit.
	for role in lazy-fault lazy-walk; do
		meet=1
		[ "$role" = lazy-fault ] && meet=2
		HYVE_TEST_SANDBOX_PROBE_MEET=$meet HYVE_TEST_LAZY_WALK_DELAY_MS=0 \
			probe "$role" "$role" -r "$TMP/s.ckp" \
			--verify=lazy -l com1,"$TMP/$role.console"
		wait_exit "$PROBED" 20
		expect_denied "p-${role//[^a-z]/}" "$role"
	done
	HYVE_TEST_LAZY_WALK_DELAY_MS=600000 probe lazy-load lazy-load \
		-r "$TMP/s.ckp" --verify=lazy -l com1,"$TMP/ll.console"
	sleep 0.5
	"$HYVECTL" --vm=p-lazyload --checkpoint "$TMP/l.ckp" >/dev/null 2>&1
	wait_exit "$PROBED" 20
	expect_denied p-lazyload lazy-load
else
	echo "lazy roles: no userfaultfd here ($(head -n 1 "$TMP/lzchk.log"))"
fi

# virtio-net's receive thread, on a tap in a namespace of this test's.
make_netns
probe net-rx 'net-rx\[virtio-net@pci\.0\.2\.0\]' -s 2,virtio-net,tap0 \
	-l com1,"$TMP/net.console" "${guest[@]}"
wait_exit "$PROBED" 20
expect_denied p-netrx 'net-rx\[virtio-net@pci\.0\.2\.0\]'
# The rest runs outside it (start() uses $NETNS when set): gone now.
ip netns del "$NETNS" || fail "cannot delete network namespace $NETNS"
NETNS=

# The release hyve: after setup every thread has a filter; none without.
for mode in on off; do
	extra=()
	[ $mode = off ] && extra=(--no-sandbox)
	"$REL/hyve" -m 64M -s 3,virtio-blk,"$src" -l com1,"$TMP/rel.console" \
		"${extra[@]}" "${guest[@]}" "rel-$mode" </dev/null >"$TMP/rel-$mode.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_for "$TMP/rel.console" '^HYVE-GUEST' 30
	sleep 0.2
	n=0
	for st in /proc/$pid/task/*/status; do
		s=$(awk '$1 == "Seccomp:" { print $2 }' "$st")
		want=2
		[ $mode = off ] && want=0
		[ "$s" = $want ] || fail "release hyve ($mode): thread" \
			"$(awk '$1 == "Name:" { print $2 }' "$st") has Seccomp $s"
		n=$((n + 1))
	done
	[ $n -ge 5 ] || fail "release hyve ($mode): $n threads"
	kill -TERM "$pid"
	wait "$pid"
	RC=$?
	[ $RC = 143 ] || fail "release hyve ($mode): SIGTERM gave exit $RC: $(cat "$TMP/rel-$mode.log")"
	echo "release hyve, sandbox $mode: $n threads, each with Seccomp $want"
done
all_clean
echo PASS
