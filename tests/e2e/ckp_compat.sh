#!/usr/bin/env bash
# A checkpoint keeps working when it is edited the ways older and newer
# versions of hyve would have written it, and is refused clearly when it is
# too new:
#  - the same checkpoint converted to the bin and conf encodings: restored,
#    without a warning;
#  - optional fields and an optional section removed (ckp rm), an unknown
#    field, an unknown section inside a device and an unknown top-level
#    section added (ckp set), and the disk image changed since: restored
#    with warnings naming each, and the guest finishes OK;
#  - a section version raised past what hyve knows (a device's, and one
#    nested in a vCPU): refused, exit 2, the message names the file, the
#    section and both versions, and the guest never runs.
. "$(dirname "$0")/ckp_lib.inc"

base=$TMP/base.ckp
truncate -s 8M "$TMP/disk.img"
start base -c 2 -m 64M -s 0,hostbridge -s 1,lpc -s 3,virtio-blk,"$TMP/disk.img" \
	-l com1,"$TMP/base.console" \
	--kernel "$GUEST" --append "churn 300" base
pid=$PID
wait_for "$TMP/base.console" '^CHURN round 1/' 30
"$HYVECTL" --vm=base --suspend "$base" >/dev/null || fail "suspend failed"
wait_exit "$pid" 20
[ "$RC" = 0 ] || fail "the suspended hyve exited $RC"

copy() {	# copy NAME: the checkpoint under another name
	cp --sparse=always "$base" "$TMP/$1.ckp" && cp "$base.meta" "$TMP/$1.ckp.meta" ||
		fail "cannot copy the checkpoint"
}
# restore NAME [args]: run it to the end; the CHURN verdict in $GOT
restore() {
	local n=$1
	shift
	start "$n" -r "$TMP/$n.ckp" -l com1,"$TMP/$n.console" "$@" "$n"
	wait_exit "$PID" 60
	no_crash "$TMP/$n.log"
	[ "$RC" = 0 ] || fail "restore of $n exited $RC"
	GOT=$(verdict "$TMP/$n.console" CHURN)
	[[ $GOT == "CHURN OK "* ]] || fail "restore of $n: '$GOT'"
}

# Other encodings of the same meta.
for enc in bin conf; do
	cp --sparse=always "$base" "$TMP/$enc.ckp"
	"$CKP" convert --to $enc "$base.meta" "$TMP/$enc.ckp.meta" || fail "ckp convert --to $enc"
	restore $enc
	[ -z "${want:-}" ] && want=$GOT
	[ "$GOT" = "$want" ] || fail "$enc: '$GOT', bin: '$want'"
	grep -q warning: "$TMP/$enc.log" && fail "$enc: unexpected warnings"
done
echo "bin and conf: $GOT"

# Older (fields missing) and newer (fields unknown) at once.
copy ed
m=$TMP/ed.ckp.meta
for p in devices.vcpu@0.events.triple_fault_pending devices.rtc.time devices.rtc.last_sec \
	devices.vcpu@1.cpuid; do
	"$CKP" rm "$m" "$p" || fail "ckp rm $p"
done
"$CKP" set "$m" 'devices.vcpu@0.r16$uint64' 1 || fail "ckp set an unknown field"
"$CKP" set "$m" 'devices.uart@0.fifo2.depth$uint8' 16 || fail "ckp set an unknown device section"
"$CKP" set "$m" 'future.note$string' "from hyve 9" || fail "ckp set an unknown top-level section"
touch -d '+1 hour' "$TMP/disk.img"
restore ed
[ "$GOT" = "$want" ] || fail "edited: '$GOT', bin: '$want'"
for w in '".*disk.img" changed since the checkpoint' \
	'unknown field devices.vcpu@0.r16\$uint64 ignored' \
	'unknown section devices.uart@0.fifo2 \(version 1\) ignored' \
	'unknown section future \(version 1\) ignored'; do
	grep -Eq "warning: $w" "$TMP/ed.log" || fail "no warning '$w'"
done
echo "edited: $(grep -c warning: "$TMP/ed.log") warnings, $GOT"

# Too new: refused before anything runs.
refused() {	# refused NAME PATTERN
	start "$1" -r "$TMP/$1.ckp" -l com1,"$TMP/$1.console" "$1"
	wait_exit "$PID" 20
	no_crash "$TMP/$1.log"
	[ "$RC" = 2 ] || fail "$1: exit status $RC, expected 2"
	grep -Eq "^hyve: cannot restore $TMP/$1.ckp: $2" "$TMP/$1.log" ||
		fail "$1: no message matching '$2'"
	[ ! -s "$TMP/$1.console" ] || fail "$1: the guest ran"
	[ ! -e "$HYVE_RUNDIR/$1.sock" ] || fail "$1: control socket left behind"
	echo "$1: $(head -n 1 "$TMP/$1.log")"
}
copy nv
"$CKP" set "$TMP/nv.ckp.meta" 'devices.uart@0.$version' 2 || fail "ckp set a version"
refused nv 'section devices.uart@0 has version 2, newer than the 1 this program knows'
copy nv2
"$CKP" set "$TMP/nv2.ckp.meta" 'devices.vcpu@1.cs.$version' 7 || fail "ckp set a version"
refused nv2 'section devices.vcpu@1.cs has version 7, newer than the 1 this program knows'
all_clean
echo PASS
