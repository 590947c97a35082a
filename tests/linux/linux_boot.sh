#!/usr/bin/env bash
# A stock Debian kernel boots under hyve the way users start it: the
# bzImage from /boot with an initramfs (--kernel, --initrd), 2 vCPUs, two
# virtio-blk disks and virtio-net on a tap (in a network namespace this test
# creates).  With ACPI on, Linux must find the PCI host bridge and every
# device, bind virtio-pci, see both disks and the NIC, take the serial
# port's interrupts through the IOAPIC; its boot log must hold no ACPI error
# or warning and no kernel warning, and hyve must see no access to an
# unknown port or address.  The same kernel as an ELF through PVH (the
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
! grep -E '^DMESG\| .*(ACPI (BIOS )?(Error|Warning)|ACPI Exception|WARNING:|BUG:|Call Trace)' "$con" ||
	fail "the boot log has ACPI errors or warnings or kernel warnings (above)"
# Nothing at error level or worse; the warnings are printed for the record.
! grep -E '^DMESG\| <[0-3]>' "$con" || fail "the boot log has errors (above)"
grep -E '^DMESG\| <4>' "$con" | sed 's/^DMESG| /kernel warning: /'
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
