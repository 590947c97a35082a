#!/usr/bin/env bash
# Damaged or mismatching checkpoints are refused before anything starts:
# exit status 2, one message naming the file and what is wrong, no console
# output, no control socket.  A flipped byte in the RAM file, a flipped
# byte in the meta, a truncated RAM file, the meta of a VM of another size
# beside the RAM file, a missing RAM file, and overrides that contradict
# the checkpoint (memory size, vCPU count, an unknown key).  The intact
# checkpoint restores and finishes, so each refusal is the damage's doing.
. "$(dirname "$0")/ckp_lib.inc"

suspend_vm() {	# suspend_vm NAME MEM
	start "$1" -c 2 -m "$2" -l com1,"$TMP/$1.console" --kernel "$GUEST" \
		--append "churn 100" "$1"
	local pid=$PID
	wait_for "$TMP/$1.console" '^CHURN round 1/' 30
	"$HYVECTL" --vm="$1" --suspend "$TMP/$1.ckp" >/dev/null || fail "suspend of $1 failed"
	wait_exit "$pid" 20
	[ "$RC" = 0 ] || fail "the suspended $1 exited $RC"
}
suspend_vm big 64M
suspend_vm small 32M

copy() {	# copy NAME: the big checkpoint under another name
	cp --sparse=always "$TMP/big.ckp" "$TMP/$1.ckp" && cp "$TMP/big.ckp.meta" "$TMP/$1.ckp.meta" ||
		fail "cannot copy the checkpoint"
}
flip() {	# flip FILE OFFSET: invert one byte in place
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
refused() {	# refused NAME PATTERN [hyve args]
	local n=$1 pat=$2
	shift 2
	start "$n" -r "$TMP/$n.ckp" -l com1,"$TMP/$n.out.console" "$@" "$n"
	wait_exit "$PID" 20
	no_crash "$TMP/$n.log"
	[ "$RC" = 2 ] || fail "$n: exit status $RC, expected 2"
	[ "$(wc -l <"$TMP/$n.log")" = 1 ] || fail "$n: more than one line of messages"
	grep -Eq -- "^hyve: cannot restore $TMP/$n.ckp: $pat" "$TMP/$n.log" ||
		fail "$n: message does not match '$pat'"
	# An unknown key is found only once the devices read theirs: they
	# exist then (the console file), but the guest never runs.
	if [ "$n" = key ]; then
		[ ! -s "$TMP/$n.out.console" ] || fail "$n: the guest ran"
	else
		[ ! -e "$TMP/$n.out.console" ] || fail "$n: a device was created (console file)"
	fi
	[ ! -e "$HYVE_RUNDIR/$n.sock" ] || fail "$n: control socket left behind"
	echo "$n: $(cat "$TMP/$n.log")"
}

# The guest kernel is loaded at 1 MiB: that chunk holds data.
copy ramflip
flip "$TMP/ramflip.ckp" 0x100123
refused ramflip "RAM file .*ramflip.ckp.*chunk at offset 0x100000 does not match its checksum"

copy metaflip
grep -q '"producer\$string": "hyve ' "$TMP/metaflip.ckp.meta" || fail "no producer in the meta"
sed -i 's/"producer\$string": "hyve /"producer$string": "hyvf /' "$TMP/metaflip.ckp.meta"
refused metaflip ".*metaflip.ckp.meta.*checksum"

copy trunc
truncate -s 48M "$TMP/trunc.ckp"
refused trunc "RAM file .*trunc.ckp has 50331648 bytes but the meta records 67108864 \(truncated\)"

# The meta of the 32 MiB VM beside the 64 MiB VM's RAM.
cp --sparse=always "$TMP/big.ckp" "$TMP/other.ckp"
cp "$TMP/small.ckp.meta" "$TMP/other.ckp.meta"
refused other "RAM file .*other.ckp has 67108864 bytes but the meta records 33554432"

copy noram
rm "$TMP/noram.ckp"
refused noram ".*noram.ckp.*(No such file|missing|does not exist)"

copy mem
refused mem "memory.size: the checkpoint holds 64 MiB of RAM, the configuration asks for 32 MiB \(memory.size=32M, -o\)" -o memory.size=32M
copy cpus
refused cpus "the checkpoint holds state for more vCPUs than the 1 configured" -o cpus=1
copy key
refused key "unknown config key 'x86.nosuch' \(set by -o\)" -o x86.nosuch=1

# The intact checkpoint restores.
start ok -r "$TMP/big.ckp" -l com1,"$TMP/ok.console" ok
wait_exit "$PID" 60
[ "$RC" = 0 ] || fail "the intact checkpoint: exit $RC"
[[ $(verdict "$TMP/ok.console" CHURN) == "CHURN OK "* ]] || fail "the intact checkpoint did not finish OK"
all_clean
echo PASS
