#!/usr/bin/env bash
# Bad input gives one clear message naming the problem and exit status 2;
# never a crash, never a guest started.
source "$(dirname "$0")/hyve_lib.inc"

G=$GUEST
[ -f "$G" ] || G=/nonexistent-guest.elf

bad() {	# NAME REGEX hyve-args...
	local name=$1 re=$2
	shift 2
	run "$name" "$@"
	expect_rc 2
	expect_err "$re"
	expect_one_err_line
	[ ! -s "$OUT" ] || fail "$name: the guest printed something"
}

bad no_name 'no VM name' --kernel "$G"
bad bad_name "invalid VM name '../x'" --kernel "$G" ../x
bad two_names "one VM name expected" a b
bad no_kernel 'no kernel: give --kernel' v
bad missing_elf 'kernel /nonexistent/g.elf: No such file or directory' --kernel /nonexistent/g.elf v
printf 'not an elf at all' >"$TMP/text"
bad text_elf "kernel $TMP/text: neither a PVH ELF nor a Linux bzImage" --kernel "$TMP/text" v
: >"$TMP/empty.elf"
bad empty_elf "kernel $TMP/empty.elf: empty file" --kernel "$TMP/empty.elf" v
bad dev_elf "kernel /dev/null: not a regular file" --kernel /dev/null v
bad dir_elf "not a regular file" --kernel / v
bad dyn_elf "not an executable" --kernel /bin/sh v
if [ -f "$GUEST" ]; then
	head -c 100 "$GUEST" >"$TMP/trunc.elf"
	bad trunc_elf "kernel $TMP/trunc.elf: program headers at offset .* run past the end" \
		--kernel "$TMP/trunc.elf" v
	# a PVH kernel whose note was removed
	python3 - "$GUEST" "$TMP/nonote.elf" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
phoff, = struct.unpack_from('<Q', b, 32)
phentsize, phnum = struct.unpack_from('<HH', b, 54)
for i in range(phnum):
    o = phoff + i * phentsize
    if struct.unpack_from('<I', b, o)[0] == 4:	# PT_NOTE -> PT_NULL
        struct.pack_into('<I', b, o, 0)
open(sys.argv[2], 'wb').write(b)
PY
	bad nonote_elf "no PVH entry note" --kernel "$TMP/nonote.elf" v
	bad big_mem "memory.size: 64T is more than this host can give" -m 64T --kernel "$G" v
	bad small_mem "memory.size: 1 is 1M bytes; it must be at least 2M" -m 1 --kernel "$G" v
	bad odd_mem "multiple of 4K" -o memory.size=4097K --kernel "$G" v
fi
bad bad_m "-m 12Q: not a memory size" -m 12Q --kernel "$G" v
bad bad_c "-c x: not a vCPU count" -c x --kernel "$G" v
bad bad_c0 "-c 0: not a vCPU count" -c 0 --kernel "$G" v
bad bad_cpus_key "cpus: '300' is not a vCPU count" -o cpus=300 --kernel "$G" v
bad bad_s "-s 3: expected SLOT\[:FUNC\],MODEL" -s 3 --kernel "$G" v
bad bad_slot "-s 40,virtio-blk: bad slot '40'" -s 40,virtio-blk --kernel "$G" v
bad unknown_dev "-s 3,floppy: unknown device model 'floppy'" -s 3,floppy --kernel "$G" v
bad bad_l "-l com1: expected comN,stdio or comN,PATH" -l com1 --kernel "$G" v
bad bad_l5 "unknown LPC device 'com9'" -l com9,stdio --kernel "$G" v
bad bad_lpath "lpc.com1.path: cannot open /nonexistent/dir/log" -l com1,/nonexistent/dir/log --kernel "$G" v
bad pci_noncanon "config key pci.00.3.0.device \(-o\): expected pci.BUS.SLOT.FUNC.device" -o pci.00.3.0.device=virtio-blk --kernel "$G" v
bad unknown_key "unknown config key 'pci.0.9.0.speed' \(set by -o\)" -o pci.0.9.0.speed=1 --kernel "$G" v
bad unknown_key2 "unknown config key 'foo' \(set by -o\)" -o foo=bar --kernel "$G" v
bad bad_key "invalid config key 'a..b'" -o a..b=1 --kernel "$G" v
bad bad_bool "x86.strictio: 'maybe' is not a boolean" -o x86.strictio=maybe --kernel "$G" v
bad bad_opt "unknown option -Z" -Z v
bad restore "cannot restore x.ckp: x.ckp.meta: No such file or directory" -r x.ckp v
bad restore_hw "-m cannot be combined with -r" -r x.ckp -m 64M v
printf 'name=v\nthis line is wrong\n' >"$TMP/bad.conf"
bad bad_conf "$TMP/bad.conf:2: expected KEY=VALUE" -k "$TMP/bad.conf"
bad no_conf "cannot open config file $TMP/none.conf" -k "$TMP/none.conf"
printf 'name=v\nlpc.com1.path=stdio\nlpc.com1.speed=9600\n' >"$TMP/unk.conf"
bad unk_conf "unknown config key 'lpc.com1.speed' \(set by $TMP/unk.conf:3\)" -k "$TMP/unk.conf" --kernel "$G"
bad long_append "boot.append: command line of 5000 bytes is too long" \
	--kernel "$G" --append "$(head -c 5000 /dev/zero | tr '\0' x)" v

run help --help
expect_rc 0
expect_out '^usage: hyve '
echo PASS
