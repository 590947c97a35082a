#!/usr/bin/env bash
# Every boolean key of hyve is read by one parser: a virtio-blk disk's ro
# takes the spellings x86.strictio takes (true/false, yes/no, on/off, 1/0,
# in any case) with the same meaning, and a bad value gets the same one
# message but for the key's name.  The meaning is read back from a
# checkpoint (the device's own ro field), and ckp check lists exactly the
# read-only disks as read-only.
. "$(dirname "$0")/ckp_lib.inc"

img=$TMP/disk.img
truncate -s 1M "$img"
# hyve ARGS...: the guest boots and powers off; its output in $TMP/out, status in $RC
hyve() {
	timeout -s KILL 60 "$HYVE" -c 1 -m 32M -l com1,stdio --kernel "$GUEST" "$@" v \
		</dev/null >"$TMP/out" 2>&1
	RC=$?
	no_crash "$TMP/out"
}

# Accepted by both keys.
for v in true TRUE Yes on 1 false FALSE No OFF 0; do
	hyve -o x86.strictio="$v" -s 3,virtio-blk,"$img",ro="$v"
	[ "$RC" = 0 ] || fail "x86.strictio=$v and ro=$v: exit status $RC: $(cat "$TMP/out")"
done
# Refused by both, in the same words.
for v in maybe 2 tru ''; do
	hyve -o x86.strictio="$v"
	[ "$RC" = 2 ] || fail "x86.strictio='$v': exit status $RC, not 2"
	strict=$(cat "$TMP/out")
	hyve -s 3,virtio-blk,"$img",ro="$v"
	[ "$RC" = 2 ] || fail "ro='$v': exit status $RC, not 2"
	ro=$(cat "$TMP/out")
	[ "$(wc -l <<<"$ro")" = 1 ] || fail "ro='$v': more than one line: $ro"
	grep -q "config key pci.0.3.0.ro: '$v' is not a boolean" <<<"$ro" ||
		fail "ro='$v': $ro"
	[ "${ro//pci.0.3.0.ro/x86.strictio}" = "$strict" ] ||
		fail "ro='$v' and x86.strictio='$v' are refused in other words: '$ro', '$strict'"
done
echo "spellings: ok"

# What each spelling means: one VM, one disk per spelling (slot 3 + i).
vals=(TRUE Yes On 1 false No OFF 0)
want=(true true true true false false false false)
args=()
for i in "${!vals[@]}"; do
	truncate -s 1M "$TMP/d$i.img"
	args+=(-s $((3 + i)),virtio-blk,"$TMP/d$i.img",ro="${vals[$i]}")
done
start b -c 1 -m 32M -l com1,"$TMP/b.console" --kernel "$GUEST" \
	--append "ticks 100000" "${args[@]}" b
wait_for "$TMP/b.console" '^HYVE-GUEST ' 30
"$HYVECTL" --vm=b --suspend "$TMP/b.ckp" >/dev/null || fail "suspend failed"
wait_exit "$PID" 30
[ "$RC" = 0 ] || fail "hyve exited $RC after the suspend"
m=$TMP/b.ckp.meta
check=$("$CKP" check "$TMP/b.ckp") || fail "ckp check: $check"
for i in "${!vals[@]}"; do
	# The device section of disk d$i.img.
	n=
	for d in "${!vals[@]}"; do
		p=$("$CKP" get "$m" "devices.virtio-blk@$d.path") || fail "no devices.virtio-blk@$d.path"
		[ "$p" = "$TMP/d$i.img" ] && n=$d
	done
	[ -n "$n" ] || fail "no virtio-blk device section for d$i.img"
	got=$("$CKP" get "$m" "devices.virtio-blk@$n.ro") || fail "no devices.virtio-blk@$n.ro"
	[ "$got" = "${want[$i]}" ] || fail "ro=${vals[$i]} is read as $got"
	kind=$([ "${want[$i]}" = true ] && echo read-only || echo read-write)
	grep -qF "\"$TMP/d$i.img\" (config.pci.0.$((3 + i)).0.path, $kind)" <<<"$check" ||
		fail "ckp check does not list d$i.img (ro=${vals[$i]}) as $kind: $check"
done
echo "meaning: ok (${vals[*]})"
all_clean
echo PASS
