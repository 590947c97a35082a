#!/usr/bin/env bash
# What the destination refuses, each with its message on stderr, exit
# status 2, no guest run (no console output, no control socket left), and,
# to a two-way source, an ABORT with the same reason: a wrong key, no key,
# a damaged frame, a truncated stream, a disk of another size, another RAM
# size, a STATE whose config differs from HELLO's, PAGES beyond RAM, an
# unexpected frame.  Streams: `ckp convert` of a suspended guest with a
# disk, edited by tests/e2e/mig_in_frames.py.
. "$(dirname "$0")/ckp_lib.inc"
FRAMES=tests/e2e/mig_in_frames.py
python3 -c 'import cryptography' 2>/dev/null || fail "python3's cryptography module is missing (scripts/setup.sh)"

truncate -s 4M "$TMP/d0.img"
mk() {	# name: a suspended guest with a disk, as checkpoint and streams
	start "$1" -m 64M -s 0,hostbridge -s 1,lpc -s 3,virtio-blk,"$TMP/d0.img" \
		--kernel "$GUEST" --append "churn 1000" -l com1,"$TMP/$1.console" "$1"
	local pid=$PID
	wait_for "$TMP/$1.console" '^CHURN round 1/' 30
	"$HYVECTL" --vm="$1" --suspend "$TMP/$1.ckp" >/dev/null || fail "suspend $1"
	wait_exit "$pid" 30
}
printf 'a shared secret, newline included\n' >"$TMP/key"
printf 'another secret of the same length!\n' >"$TMP/key2"
chmod 600 "$TMP/key" "$TMP/key2"
mk a
mk b
for v in a b; do
	"$CKP" convert --migrate-key "$TMP/key" "$TMP/$v.ckp" "$TMP/$v.k.ckps" || fail "convert $v"
done
"$CKP" convert "$TMP/a.ckp" "$TMP/a.ckps" || fail "convert a"

N=0
# refused NAME REGEX [two-way edits | -- hyve args...]: the destination,
# fed by a two-way keyed source with the edits, exits 2 saying REGEX, and
# the source got ABORT saying it.
refused_2way() {
	local name=$1 re=$2 sock=$TMP/$1.sock
	shift 2
	"$HYVE" --incoming unix:"$sock" --migrate-key "$TMP/key" ${XARGS:-} \
		-l com1,"$TMP/$name.console" "$name" </dev/null >"$TMP/$name.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	wait_for "$TMP/$name.log" 'waiting for a migration stream' 10
	python3 "$FRAMES" send "$TMP/key" "${SRC:-$TMP/a.k.ckps}" "$sock" "$@" >"$TMP/$name.ans" 2>&1 ||
		fail "$name: the source script failed: $(cat "$TMP/$name.ans")"
	wait_exit "$pid" 30
	check_refused "$name" "$re"
	grep -Eq -- "^answer ABORT .*$re" "$TMP/$name.ans" ||
		fail "$name: the source got no ABORT saying '$re': $(cat "$TMP/$name.ans")"
}
check_refused() {	# name regex
	no_crash "$TMP/$1.log"
	[ "$RC" = 2 ] || fail "$1: exit status $RC, not 2: $(tail -n 3 "$TMP/$1.log")"
	grep -Eq -- "^hyve: .*$2" "$TMP/$1.log" || fail "$1: stderr does not say '$2': $(tail -n 3 "$TMP/$1.log")"
	[ -s "$TMP/$1.console" ] && fail "$1: the guest ran"
	[ -e "$HYVE_RUNDIR/$1.sock" ] && fail "$1: its control socket was left"
	[ -e "$TMP/$1.sock" ] && fail "$1: the listening socket was left"
	N=$((N + 1))
	echo "$1: $(grep -m1 '^hyve: [^w]' "$TMP/$1.log")"
}
# refused_file NAME REGEX FILE [hyve args]: hyve -r FILE exits 2 saying REGEX.
refused_file() {
	local name=$1 re=$2 file=$3
	shift 3
	"$HYVE" -r "$file" "$@" -l com1,"$TMP/$name.console" "$name" </dev/null >"$TMP/$name.log" 2>&1
	RC=$?
	check_refused "$name" "$re"
}

# Keys: wrong, none where the stream is keyed, one where it is not.
refused_file wrongkey 'authentication failed: wrong key, or the stream was changed' "$TMP/a.k.ckps" --migrate-key "$TMP/key2"
refused_file nokey 'keyed stream, but no key was given' "$TMP/a.k.ckps"
refused_file unkeyed 'unkeyed stream, but a key was given' "$TMP/a.ckps" --migrate-key "$TMP/key"
chmod 644 "$TMP/key2"
refused_file keymode 'readable by group or others \(mode 0644\)' "$TMP/a.k.ckps" --migrate-key "$TMP/key2"

# A damaged frame (a byte in the middle of RAM), and the stream cut short.
cp "$TMP/a.ckps" "$TMP/dmg.ckps"
printf '\xff' | dd of="$TMP/dmg.ckps" bs=1 seek=$(( $(stat -c %s "$TMP/a.ckps") / 2 )) conv=notrunc status=none
refused_file damaged 'frame [0-9]+ \(type 0x10\): checksum mismatch' "$TMP/dmg.ckps"
head -c $(( $(stat -c %s "$TMP/a.ckps") / 2 )) "$TMP/a.ckps" >"$TMP/cut.ckps"
refused_file truncated 'truncated inside frame [0-9]+' "$TMP/cut.ckps"
python3 "$FRAMES" file "$TMP/key" "$TMP/a.k.ckps" "$TMP/noend.ckps" drop:END
refused_file noend 'the stream ended before END' "$TMP/noend.ckps" --migrate-key "$TMP/key"

# The destination's own configuration: a disk of another size, less RAM.
truncate -s 8M "$TMP/d0.img"
refused_2way disk 'disk pci\.0\.3\.0: the source.s image is 4194304 bytes, [^ ]*d0\.img here is 8388608 bytes'
truncate -s 4M "$TMP/d0.img"
XARGS="-o memory.size=32M" refused_2way ramsize 'memory\.size: the stream holds 64 MiB of RAM, the configuration asks for 32 MiB'

# The stream contradicting itself or the conversation.
refused_2way state 'STATE.s config differs from HELLO.s: lpc\.com1\.path is .[^ ]*/a\.console. in HELLO, .[^ ]*/b\.console. in STATE' state-from:"$TMP/b.k.ckps"
refused_2way pagesout 'PAGES.*offset 0x4000000' pages-at:0x4000000
refused_2way unexpected 'expected ROUND, PAGES, ZERO or STATE, got GO' insert:2:GO:
refused_2way hello2 'expected HELLO, got ROUND' drop:HELLO
# after READY: anything but GO, and the applied guest never runs
refused_2way unknown 'expected GO, got type 0x55' insert:-1:0x55:
echo "$N refusals"
all_clean
echo PASS
