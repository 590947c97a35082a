#!/usr/bin/env bash
# A stock Debian kernel boots under hyve the way users start it: the
# bzImage from /boot with an initramfs (--kernel, --initrd), 2 vCPUs, two
# virtio-blk disks and virtio-net on a tap (in a network namespace this test
# creates).  With ACPI on, Linux must find the PCI host bridge and every
# device, bind virtio-pci, see both disks and the NIC, take the serial
# port's interrupts through the IOAPIC; its boot log must hold no ACPI error
# or warning, no error, and no warning that QEMU, booting the same guest on
# the same KVM, does not cause too; hyve must see no access to an unknown
# port or address.  The same kernel as an ELF through PVH (the
# vmlinux inside the bzImage) boots to the same userland.
. "$(dirname "$0")/linux_lib.inc"
make_netns
truncate -s 64M "$TMP/d1.img"
truncate -s 32M "$TMP/d2.img"
con=$TMP/boot.console
start boot -c 2 -m 256M -s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
	-s 3,virtio-blk,"$TMP/d1.img" -s 4,virtio-blk,"$TMP/d2.img" -l com1,"$con" \
	--kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND_BASE hyve.run=boot" lboot
wait_exit "$PID" 300
no_crash "$TMP/boot.log"
[ "$RC" = 0 ] || fail "hyve exited $RC (the guest did not power off cleanly)"
text "$con"
con=$con.txt
grep -q '^LINUX-DONE OK' "$con" || fail "the guest did not finish its boot report"
grep -Eq "^LINUX-GUEST $KVER run=boot cpus=2 " "$con" || fail "Linux did not report 2 CPUs"
grep -Eq '^PCI 0000:00:00\.0 ' "$con" || fail "Linux found no PCI host bridge (ACPI _SB.PCI0)"
for s in 02 03 04; do
	grep -Eq "^PCI 0000:00:$s\\.0 0x1af4:0x10[0-9a-f]{2} driver=virtio-pci " "$con" ||
		fail "no virtio device at 00:$s.0 bound to virtio-pci"
done
grep -Eq '^DISK vda sectors=131072$' "$con" || fail "no vda of 64 MiB"
grep -Eq '^DISK vdb sectors=65536$' "$con" || fail "no vdb of 32 MiB"
grep -Eq '^NIC eth0 mac=' "$con" || fail "no eth0"
grep -Eq '^IRQ .*IO-APIC.*ttyS0' "$con" || fail "ttyS0's interrupt does not go through the IOAPIC"
grep -Eq 'PCI Root Bridge \[PCI0\]' "$con" || fail "no 'PCI Root Bridge [PCI0]' in the boot log"
! grep -E '^DMESG\| .*(ACPI (BIOS )?(Error|Warning)|ACPI Exception|BUG:)' "$con" ||
	fail "the boot log has ACPI errors or warnings or a kernel BUG (above)"
# Nothing at error level or worse.
! grep -E '^DMESG\| <[0-3]>' "$con" || fail "the boot log has errors (above)"
# Warnings only where a real VMM causes the same: QEMU, on this KVM, with the
# same kernel, initramfs and kinds of device (a PC with ACPI, virtio disks
# and NIC).  Numbers are masked; what depends only on how fast the host
# runs is named in WARN_TIMING.
# A warning's register and stack dump differs from run to run: its headline
# (what warned, and where) is compared.
warnings() {
	grep -E '^DMESG\| <4>' "$1" | sed -E 's/^DMESG\| <4>\[ *[0-9.]+\] //' |
		grep -Ev '^( |-|(RIP|RSP|RAX|RBX|RCX|RDX|RSI|RDI|RBP|R[0-9]+|FS|CS|CR[0-9]|Code|Call Trace|Modules linked in|Hardware name|CPUID\[)|CPU: .* Comm: )' |
		sed -E 's/0x[0-9a-f]+|\b[0-9a-f]*[0-9][0-9a-f]*\b/#/g' | sort -u
}
WARN_TIMING='^(hrtimer: interrupt took|APIC calibration not consistent with PM-Timer)'
qcon=$TMP/qemu.console
timeout 600 qemu-system-x86_64 -enable-kvm -cpu host -smp 2 -m 256M -M pc \
	-nodefaults -display none -no-reboot -serial file:"$qcon" \
	-drive file="$TMP/d1.img",if=virtio,format=raw -drive file="$TMP/d2.img",if=virtio,format=raw \
	-nic user,model=virtio-net-pci -kernel "$KERNEL" -initrd "$INITRD" \
	-append "$APPEND_BASE hyve.run=boot" </dev/null >"$TMP/qemu.log" 2>&1 ||
	fail "QEMU (the reference) did not boot the same guest: $(tail -n 3 "$TMP/qemu.log")"
text "$qcon"
grep -q '^LINUX-DONE OK' "$qcon.txt" || fail "QEMU's boot of the guest did not finish"
warnings "$con" >"$TMP/w.hyve"
warnings "$qcon.txt" >"$TMP/w.qemu"
sed 's/^/kernel warning under hyve: /' "$TMP/w.hyve"
extra=$(comm -23 "$TMP/w.hyve" "$TMP/w.qemu" | grep -Ev "$WARN_TIMING")
[ -z "$extra" ] || { echo "$extra"; fail "kernel warnings under hyve that QEMU does not cause (above)"; }
guest_ok "$con" 0
hyve_quiet "$TMP/boot.log" 'guest powered off'
echo "bzImage: $(grep -c '^DMESG| ' "$con") boot log lines, $(grep -c '^PCI ' "$con") PCI functions," \
	"$(grep -m1 'PCI Root Bridge' "$con" | sed 's/^DMESG| //')"

# The same kernel through PVH: the ELF inside the bzImage.
python3 tests/linux/extract-vmlinux.py "$KERNEL" "$TMP/vmlinux" || fail "cannot extract the vmlinux"
con=$TMP/pvh.console
start pvh -c 1 -m 256M -s 0,hostbridge -s 1,lpc -s 3,virtio-blk,"$TMP/d1.img" -l com1,"$con" \
	--kernel "$TMP/vmlinux" --initrd "$INITRD" --append "$APPEND_BASE hyve.run=boot" lpvh
wait_exit "$PID" 300
no_crash "$TMP/pvh.log"
[ "$RC" = 0 ] || fail "hyve (PVH) exited $RC"
text "$con"
con=$con.txt
grep -q '^LINUX-DONE OK' "$con" || fail "the PVH boot did not finish its report"
grep -Eq '^PCI 0000:00:03\.0 0x1af4:0x10[0-9a-f]{2} driver=virtio-pci ' "$con" || fail "PVH: no virtio-blk"
grep -Eq '^DISK vda sectors=131072$' "$con" || fail "PVH: no vda"
guest_ok "$con" 0
hyve_quiet "$TMP/pvh.log" 'guest powered off'
echo "PVH: $(grep -m1 '^LINUX-GUEST' "$con")"
all_clean
echo PASS
