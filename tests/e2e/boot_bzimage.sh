#!/usr/bin/env bash
# A Linux bzImage at its 64-bit entry, with an initrd, on KVM.  The "kernel"
# is built here: a bzImage setup header (protocol 2.15, relocatable, 64-bit)
# around a few instructions that check the entry state Linux's boot
# protocol promises (CS 0x10, DS/ES/SS 0x18, interrupts off, long mode with
# paging, identity map up to the local APIC below 4 GiB) and what hyve put
# in boot_params (type_of_loader, header, command line, initrd, E820 map,
# RSDP), then print a line and power off with status 0 (or with the number
# of the first check that failed).  Then: bad kernels and initrds get one
# message and exit 2, and a checkpoint keeps boot.initrd while a restore
# never reads the file.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm
command -v as >/dev/null && command -v objcopy >/dev/null ||
	fail "binutils (as, objcopy) are not installed (scripts/setup.sh)"
command -v python3 >/dev/null || fail "python3 is not installed (scripts/setup.sh)"

RAM_MIB=64
INITRD_SIZE=300001		# not a multiple of the page size
CMDLINE="bzimage-test console=ttyS0"

cat >"$TMP/entry.S" <<'ASM'
	.code64
	.text
	/* Each check fails with its own status: 1 + the check's number. */
	mov	%cs, %ax
	cmp	$0x10, %ax
	jne	fail1
	mov	%ds, %ax
	cmp	$0x18, %ax
	jne	fail1
	mov	%es, %ax
	cmp	$0x18, %ax
	jne	fail1
	mov	%ss, %ax
	cmp	$0x18, %ax
	jne	fail1
	pushfq			/* a stack to push on, IF clear */
	pop	%rax
	test	$0x200, %eax
	jnz	fail2
	mov	$0xc0000080, %ecx	/* EFER.LMA */
	rdmsr
	test	$0x400, %eax
	jz	fail3
	mov	%cr0, %rax
	bt	$31, %rax		/* PG */
	jnc	fail3
	mov	%cr4, %rax
	test	$0x20, %eax		/* PAE */
	jz	fail3
	cmpb	$0xff, 0x210(%rsi)	/* type_of_loader */
	jne	fail4
	cmpl	$0x53726448, 0x202(%rsi)	/* "HdrS", copied */
	jne	fail4
	cmpl	$0x7ff, 0x238(%rsi)	/* cmdline_size, copied */
	jne	fail4
	mov	0x228(%rsi), %edi	/* cmd_line_ptr */
	mov	want_cmd(%rip), %rax
	cmp	(%rdi), %rax
	jne	fail5
	mov	0x218(%rsi), %edi	/* ramdisk_image */
	test	$0xfff, %edi
	jnz	fail6
	mov	0x21c(%rsi), %ecx	/* ramdisk_size */
	cmp	$INITRD_SIZE, %ecx
	jne	fail6
	mov	want_initrd(%rip), %rax
	cmp	(%rdi), %rax
	jne	fail6
	cmpb	$0x5a, -1(%rdi,%rcx)	/* its last byte */
	jne	fail6
	lea	(%rdi,%rcx), %rax	/* at the top of RAM, page-aligned */
	add	$0xfff, %rax
	and	$~0xfff, %rax
	cmp	$RAM, %rax
	jne	fail6
	cmpb	$3, 0x1e8(%rsi)		/* e820_entries */
	jne	fail7
	mov	0x2d0+40(%rsi), %rax	/* third entry: [1 MiB, RAM) */
	cmp	$0x100000, %rax
	jne	fail7
	add	0x2d0+48(%rsi), %rax
	cmp	$RAM, %rax
	jne	fail7
	cmpl	$1, 0x2d0+56(%rsi)
	jne	fail7
	mov	0x70(%rsi), %rdi	/* acpi_rsdp_addr */
	mov	want_rsdp(%rip), %rax
	cmp	(%rdi), %rax
	jne	fail8
	mov	$0xfee00030, %eax	/* local APIC version: mapped */
	mov	(%rax), %eax
	test	%al, %al
	jz	fail9
	lea	msg(%rip), %rbx
	mov	$0x3f8, %dx
1:	movb	(%rbx), %al
	test	%al, %al
	jz	2f
	out	%al, %dx
	inc	%rbx
	jmp	1b
2:	mov	0x228(%rsi), %edi	/* "... spin": stay for a checkpoint */
	cmpl	$0x6e697073, 27(%rdi)
	je	3f
	xor	%eax, %eax
	out	%al, $0xf4
3:	hlt
	jmp	3b
fail1:	mov	$2, %al
	jmp	fail
fail2:	mov	$3, %al
	jmp	fail
fail3:	mov	$4, %al
	jmp	fail
fail4:	mov	$5, %al
	jmp	fail
fail5:	mov	$6, %al
	jmp	fail
fail6:	mov	$7, %al
	jmp	fail
fail7:	mov	$8, %al
	jmp	fail
fail8:	mov	$9, %al
	jmp	fail
fail9:	mov	$10, %al
fail:	out	%al, $0xf4
	hlt
want_cmd:	.ascii	"bzimage-"
want_initrd:	.ascii	"INITRD01"
want_rsdp:	.ascii	"RSD PTR "
msg:	.asciz	"BZIMAGE ENTRY OK\n"
ASM
as --64 --defsym RAM=$((RAM_MIB << 20)) --defsym INITRD_SIZE=$INITRD_SIZE \
	-o "$TMP/entry.o" "$TMP/entry.S" || fail "assembling the test kernel"
objcopy -O binary -j .text "$TMP/entry.o" "$TMP/entry.bin" || fail "objcopy"

# The bzImage: 5 setup sectors, then 0x200 bytes and the code (its 64-bit
# entry), header fields as Linux's own build sets them.
python3 - "$TMP/entry.bin" "$TMP/vmlinuz" "$TMP/initrd.img" $INITRD_SIZE <<'PY' ||
import struct, sys
code = open(sys.argv[1], 'rb').read()
sects = 4
setup = bytearray((sects + 1) * 512)
pm = bytearray(0x200) + code
pm += bytearray(-len(pm) % 16)
h = setup
h[0x1f1] = sects
struct.pack_into('<I', h, 0x1f4, len(pm) // 16)	# syssize
struct.pack_into('<H', h, 0x1fe, 0xaa55)
h[0x200:0x202] = b'\xeb\x6a'			# header ends at 0x26c
h[0x202:0x206] = b'HdrS'
struct.pack_into('<H', h, 0x206, 0x20f)		# protocol 2.15
h[0x211] = 0x01					# LOADED_HIGH
struct.pack_into('<I', h, 0x214, 0x100000)
struct.pack_into('<I', h, 0x22c, 0x7fffffff)	# initrd_addr_max
struct.pack_into('<I', h, 0x230, 0x200000)	# kernel_alignment
h[0x234] = 1					# relocatable
struct.pack_into('<H', h, 0x236, 0x3)		# XLF_KERNEL_64 | above 4G
struct.pack_into('<I', h, 0x238, 0x7ff)		# cmdline_size
struct.pack_into('<Q', h, 0x258, 0x1000000)	# pref_address
struct.pack_into('<I', h, 0x260, 0x200000)	# init_size
open(sys.argv[2], 'wb').write(bytes(h) + bytes(pm))
n = int(sys.argv[4])
open(sys.argv[3], 'wb').write(b'INITRD01' + bytes((i * 7) & 0xff for i in range(n - 9)) + b'\x5a')
PY
	fail "building the test bzImage"

run bz -m ${RAM_MIB}M -l com1,stdio --kernel "$TMP/vmlinuz" \
	--initrd "$TMP/initrd.img" --append "$CMDLINE" bz
expect_rc 0
expect_out '^BZIMAGE ENTRY OK$'
expect_err 'guest powered off, status 0'

# The same through configuration keys.
printf 'name=bzcfg\nmemory.size=%sM\nlpc.com1.path=stdio\nboot.kernel=%s\nboot.initrd=%s\nboot.append=%s\n' \
	$RAM_MIB "$TMP/vmlinuz" "$TMP/initrd.img" "$CMDLINE" >"$TMP/vm.conf"
run bzcfg -k "$TMP/vm.conf"
expect_rc 0
expect_out '^BZIMAGE ENTRY OK$'

# Without the initrd the test kernel notices (check 6 fails: status 7).
run bz_noinitrd -m ${RAM_MIB}M -l com1,stdio --kernel "$TMP/vmlinuz" \
	--append "$CMDLINE" bz
expect_rc 1
expect_err 'guest powered off, status 7'

# Bad input: one message naming the file, exit 2, before the guest runs.
head -c 1000 /dev/urandom >"$TMP/junk"
run bad_kernel -m ${RAM_MIB}M --kernel "$TMP/junk" bz
expect_rc 2
expect_one_err_line
expect_err "kernel $TMP/junk: neither a PVH ELF nor a Linux bzImage"
head -c 2000 "$TMP/vmlinuz" >"$TMP/short"
run short_kernel -m ${RAM_MIB}M --kernel "$TMP/short" bz
expect_rc 2
expect_one_err_line
expect_err "kernel $TMP/short: setup_sects 4 puts the 64-bit kernel at offset 0xa00"
: >"$TMP/empty"
run empty_initrd -m ${RAM_MIB}M --kernel "$TMP/vmlinuz" --initrd "$TMP/empty" bz
expect_rc 2
expect_one_err_line
expect_err "initrd $TMP/empty: empty file"
run missing_initrd -m ${RAM_MIB}M --kernel "$TMP/vmlinuz" --initrd "$TMP/nothing" bz
expect_rc 2
expect_one_err_line
expect_err "initrd $TMP/nothing: No such file or directory"
truncate -s 60M "$TMP/big.img"
run big_initrd -m ${RAM_MIB}M --kernel "$TMP/vmlinuz" --initrd "$TMP/big.img" bz
expect_rc 2
expect_one_err_line
expect_err "initrd $TMP/big.img: 62914560 bytes \(60 MiB\) do not fit in guest RAM"
# The PVH test guest takes an initrd too (as its one module) and runs.
run pvh_initrd -m 32M -l com1,stdio --kernel "$GUEST" --initrd "$TMP/initrd.img" \
	--append "ticks 2" pvh
expect_rc 0
expect_out '^HYVE-GUEST '

# A checkpoint holds boot.initrd; a restore does not read the file again.
CKPDIR=$TMP/ckp
mkdir -m 700 "$CKPDIR"
export HYVE_RUNDIR=$CKPDIR
"$HYVE" -m ${RAM_MIB}M -l com1,"$TMP/spin.console" --kernel "$TMP/vmlinuz" \
	--initrd "$TMP/initrd.img" --append "$CMDLINE spin" bzspin \
	</dev/null >"$TMP/spin.log" 2>&1 &
PID=$!
for i in $(seq 500); do
	grep -q 'BZIMAGE ENTRY OK' "$TMP/spin.console" 2>/dev/null && break
	sleep 0.02
done
grep -q 'BZIMAGE ENTRY OK' "$TMP/spin.console" 2>/dev/null ||
	{ kill -9 $PID; fail "the spinning guest did not start"; }
"$BUILD/hyvectl" --vm=bzspin --suspend="$TMP/s.ckp" -q >"$TMP/ctl.out" 2>&1 ||
	{ kill -9 $PID; cat "$TMP/ctl.out"; fail "suspend failed"; }
wait $PID
RC=$?
[ $RC = 0 ] || fail "hyve exited $RC after the suspend: $(cat "$TMP/spin.log")"
got=$("$BUILD/ckp" get "$TMP/s.ckp.meta" config.boot.initrd 2>&1) ||
	fail "no config.boot.initrd in the checkpoint: $got"
[[ $got == *"$TMP/initrd.img"* ]] || fail "boot.initrd in the checkpoint is '$got'"
rm -f "$TMP/initrd.img" "$TMP/vmlinuz"
"$HYVE" -r "$TMP/s.ckp" bzspin2 </dev/null >"$TMP/restore.log" 2>&1 &
PID=$!
sleep 2
if ! kill -0 $PID 2>/dev/null; then
	wait $PID
	fail "the restore exited $?: $(cat "$TMP/restore.log")"
fi
kill -TERM $PID
wait $PID
RC=$?
[ $RC = 143 ] || fail "the restored guest exited $RC: $(cat "$TMP/restore.log")"
! grep -Eq 'initrd|vmlinuz' "$TMP/restore.log" ||
	fail "the restore looked at the kernel or initrd: $(cat "$TMP/restore.log")"
echo PASS
