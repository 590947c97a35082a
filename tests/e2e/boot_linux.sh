#!/usr/bin/env bash
# A stock Linux kernel, the host's /boot/vmlinuz-* (Debian's
# linux-image-amd64, scripts/setup.sh), with an initrd made here (a newc
# cpio with one file), booted the two ways hyve knows:
#  - as a bzImage (--kernel vmlinuz), entered at its 64-bit entry;
#  - as a PVH ELF (the vmlinux inside it, decompressed here), the initrd
#    its one module.
# What Linux prints must match what hyve gave it: "Linux version", the
# command line, the BIOS-e820 map and "RAMDISK: [mem A-B]" at the top of
# low RAM.  On a hardware-assisted KVM the kernel then goes on, unpacks the
# initrd, finds no init in it and panics; panic=-1 turns that into a reset
# request, which stops hyve with status 0.  On a kvm_pvm host (software
# KVM: CPL0 code emulated one instruction at a time) a stock kernel stops
# at `lock cmpxchg16b` (exit 3, "instruction emulation failed") after the
# lines above, so the test stops the PVH run once it has them; and there
# the bzImage's decompressor (XZ, at CPL0) would need days (measured: a
# few MiB of output in 20 minutes), so the bzImage run only checks that
# the kernel starts: hyve still running after a few seconds, no fault at
# the entry.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$KERNEL" ] && [ -r "$KERNEL" ] ||
	skip "no readable /boot/vmlinuz-* (scripts/setup.sh installs linux-image-amd64)"
command -v python3 >/dev/null || fail "python3 is not installed (scripts/setup.sh)"
PVM=0
[ -d /sys/module/kvm_pvm ] && PVM=1
RAM_MIB=512
RAM=$((RAM_MIB << 20))

# The initrd: a newc cpio holding one file, not a multiple of 4 KiB.
python3 - "$TMP/initrd.cpio" <<'PY' || fail "building the initrd"
import sys
def entry(name, data, mode):
    name = name.encode() + b'\0'
    hdr = '070701' + ''.join('%08x' % v for v in (
        1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0))
    out = hdr.encode() + name
    out += b'\0' * (-len(out) % 4) + data
    return out + b'\0' * (-len(out) % 4)
data = bytes((i * 7 + 3) & 0xff for i in range(123457))
img = entry('hyve-e2e', data, 0o100644) + entry('TRAILER!!!', b'', 0)
open(sys.argv[1], 'wb').write(img + b'\0' * (-len(img) % 512))
PY
ISIZE=$(stat -c %s "$TMP/initrd.cpio")
IADDR=$(( (RAM - ISIZE) & ~0xfff ))
IEND=$(( ((IADDR + ISIZE + 0xfff) & ~0xfff) - 1 ))
RAMDISK=$(printf 'RAMDISK: \\[mem 0x%08x-0x%08x\\]' $IADDR $IEND)

# run_linux NAME SECONDS [hyve args...]: hyve in the background, console
# in $OUT; returns when hyve exits, when the console has a line matching
# $DONE (if set), or after SECONDS; RC is hyve's exit status, STOPPED 1
# when this script stopped it.
run_linux() {
	local name=$1 secs=$2 i pid
	shift 2
	OUT=$TMP/$name.out
	ERR=$TMP/$name.err
	"$HYVE" "$@" </dev/null >"$OUT" 2>"$ERR" &
	pid=$!
	for i in $(seq $((secs * 10))); do
		kill -0 $pid 2>/dev/null || break
		[ -n "${DONE:-}" ] && grep -Eq -- "$DONE" "$OUT" && break
		sleep 0.1
	done
	STOPPED=0
	if kill -0 $pid 2>/dev/null; then
		kill -TERM $pid
		STOPPED=1
	fi
	wait $pid
	RC=$?
	echo "$name: exit $RC, stopped by the test: $STOPPED"
	no_crash
}

# expect_linux PROTOCOL: what Linux printed about hyve's machine.
expect_linux() {
	expect_out '^\[ *[0-9.]+\] Linux version '
	expect_out "Command line: console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 hyve-e2e=$1[[:space:]]*\$"
	expect_out 'BIOS-e820: \[mem 0x0000000000000000-0x000000000009ffff\] usable'
	if [ "$1" = pvh ]; then
		# Linux's PVH code adds the ISA range [0xa0000, 0x100000).
		expect_out 'BIOS-e820: \[mem 0x00000000000a0000-0x00000000000fffff\] reserved'
	else
		expect_out 'BIOS-e820: \[mem 0x00000000000e0000-0x00000000000fffff\] reserved'
	fi
	expect_out "$(printf 'BIOS-e820: \\[mem 0x0000000000100000-0x%016x\\] usable' $((RAM - 1)))"
	expect_out "$RAMDISK"
	expect_out 'ACPI: RSDP 0x00000000000E0000'
	if [ $PVM = 1 ]; then
		[ $STOPPED = 1 ] || expect_rc 3
		[ $STOPPED = 1 ] || expect_err 'instruction emulation failed'
	else
		# No /init in it and no root=: a panic, a reset (panic=-1).
		expect_rc 0
		expect_out 'Unpacking initramfs|Trying to unpack rootfs image as initramfs'
		expect_no_out 'Initramfs unpacking failed'
		expect_out 'Freeing initrd memory: [0-9]+K'
		expect_out 'Kernel panic'
		expect_err 'guest requested a reset'
	fi
}

ARGS=(-c 1 -m ${RAM_MIB}M -l com1,stdio --initrd "$TMP/initrd.cpio")
CMD="console=ttyS0 earlyprintk=serial,ttyS0 panic=-1"

# The vmlinux inside the bzImage: Linux's PVH entry (CONFIG_PVH).
python3 - "$KERNEL" "$TMP/payload" <<'PY' || fail "reading $KERNEL's payload"
import struct, sys
b = open(sys.argv[1], 'rb').read()
setup = ((b[0x1f1] or 4) + 1) * 512
off, n = struct.unpack_from('<II', b, 0x248)
open(sys.argv[2], 'wb').write(b[setup + off:setup + off + n])
PY
case $(head -c 4 "$TMP/payload" | xxd -p) in
fd377a58) xz -dc --single-stream "$TMP/payload" >"$TMP/vmlinux" ;;
28b52ffd) zstd -dcq "$TMP/payload" >"$TMP/vmlinux" ;;
1f8b*) gzip -dc "$TMP/payload" >"$TMP/vmlinux" 2>/dev/null ;;
*) fail "$KERNEL: unknown payload compression $(head -c 4 "$TMP/payload" | xxd -p)" ;;
esac
[ -s "$TMP/vmlinux" ] || fail "cannot decompress $KERNEL's payload"
# Here the last line expect_linux looks for; elsewhere the reset.
DONE=
[ $PVM = 1 ] && DONE='ACPI: RSDP'
if [ $PVM = 1 ]; then secs=180; else secs=120; fi
run_linux pvh $secs "${ARGS[@]}" --kernel "$TMP/vmlinux" --append "$CMD hyve-e2e=pvh" pvh
expect_linux pvh

# The bzImage itself.
DONE=
if [ $PVM = 1 ]; then
	run_linux bzimage 5 "${ARGS[@]}" --kernel "$KERNEL" --append "$CMD hyve-e2e=bzimage" bz
	[ $STOPPED = 1 ] || fail "the bzImage stopped at once (exit $RC): $(cat "$ERR")"
	echo "kvm_pvm: the bzImage started; its decompression is too slow here to wait for"
else
	run_linux bzimage 120 "${ARGS[@]}" --kernel "$KERNEL" --append "$CMD hyve-e2e=bzimage" bz
	expect_linux bzimage
fi
echo PASS
