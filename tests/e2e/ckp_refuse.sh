#!/usr/bin/env bash
# A checkpoint whose state KVM would refuse, whose BARs overlap, or whose
# meta has no header is refused before anything is created: exit status 2,
# one line naming the file and the field, no console file, and no runtime
# directory (so no control socket ever appeared).  The cases: vCPU fields
# (apic_base all ones or an invalid x2APIC mode, dr6/dr7 all ones, events
# junk, a random XSAVE area, XSTATE_BV or MXCSR this host refuses, an MP
# state and a cr4 bit KVM does not take, CPU features and KVM paravirtual
# features this host's KVM does not offer, alone and both in one message),
# BARs over each other, guest RAM,
# the IOAPIC and a LAPIC, and a meta without its header or a header field
# (which `ckp check` calls BAD too).  A checkpoint with a BAR moved where
# nothing else is, and one over RAM with decoding off, restores and
# finishes: the refusals are the edits' doing.
. "$(dirname "$0")/ckp_lib.inc"

truncate -s 8M "$TMP/d0.img" "$TMP/d1.img"
start base -c 2 -m 64M -s 0,hostbridge -s 1,lpc -s 3,virtio-blk,"$TMP/d0.img" \
	-s 4,virtio-blk,"$TMP/d1.img" -l com1,"$TMP/base.console" \
	--kernel "$GUEST" --append "churn 300" base
pid=$PID
wait_for "$TMP/base.console" '^CHURN round 1/' 30
"$HYVECTL" --vm=base --suspend "$TMP/base.ckp" >/dev/null || fail "suspend failed"
wait_exit "$pid" 20
[ "$RC" = 0 ] || fail "the suspended hyve exited $RC"
M=$TMP/base.ckp.meta
get() { "$CKP" get "$M" "$1" || fail "ckp get $1"; }

copy() {	# copy NAME: the checkpoint under another name
	cp --sparse=always "$TMP/base.ckp" "$TMP/$1.ckp" && cp "$M" "$TMP/$1.ckp.meta" ||
		fail "cannot copy the checkpoint"
}
edit() {	# edit NAME PATH VALUE: ckp set (which seals the checksum again)
	"$CKP" set "$TMP/$1.ckp.meta" "$2" "$3" || fail "$1: ckp set $2 $3"
}
# v1copy NAME: the frozen format-1 suspend (tests/compat/v1), whose vCPU
# sections hold the XSAVE area as one b64 block
v1copy() {
	cp tests/compat/v1/susp.ckp.meta "$TMP/$1.ckp.meta" &&
		xz -dc tests/compat/v1/susp.ckp.xz | cp --sparse=always /dev/stdin "$TMP/$1.ckp" ||
		fail "cannot copy the frozen v1 checkpoint"
}
# xsave_edit NAME PYTHON: the XSAVE area (format 1: b64) of vcpu@0 as bytearray x, edited
xsave_edit() {
	local b64
	b64=$(python3 - "$TMP/$1.ckp.meta" "$2" <<'EOF'
import base64, json, sys
doc = json.load(open(sys.argv[1]))
x = bytearray(base64.b64decode(doc["devices"]["vcpu@0"]["xsave$b64"]))
exec(sys.argv[2])
print(base64.b64encode(bytes(x)).decode())
EOF
) || fail "$1: cannot edit the XSAVE area"
	edit "$1" devices.vcpu@0.xsave "$b64"
}
# refused NAME PATTERN: restored in the foreground, with a runtime
# directory of its own that must never appear
refused() {
	local n=$1 pat=$2 rd=$TMP/rd-$1
	HYVE_RUNDIR=$rd timeout 60 "$HYVE" -r "$TMP/$n.ckp" -l com1,"$TMP/$n.out.console" \
		"$n" </dev/null >"$TMP/$n.log" 2>&1
	RC=$?
	no_crash "$TMP/$n.log"
	[ "$RC" = 2 ] || fail "$n: exit status $RC, expected 2"
	[ "$(wc -l <"$TMP/$n.log")" = 1 ] || fail "$n: more than one line of messages"
	grep -Eq -- "^hyve: cannot restore $TMP/$n.ckp: $pat" "$TMP/$n.log" ||
		fail "$n: message does not match '$pat'"
	[ ! -e "$TMP/$n.out.console" ] || fail "$n: a device was created (console file)"
	[ ! -e "$rd" ] || fail "$n: the runtime directory was created (control socket)"
	echo "$n: $(cat "$TMP/$n.log")"
}

# vCPU state KVM_SET_* would refuse once the VM exists.
copy apic
edit apic devices.vcpu@0.apic_base ffffffffffffffff
refused apic 'devices\.vcpu@0\.apic_base 0xffffffffffffffff: reserved bits 0xf+[0-9a-f]*2ff set'
copy x2apic
edit x2apic devices.vcpu@1.apic_base fee00400
refused x2apic 'devices\.vcpu@1\.apic_base 0xfee00400: x2APIC'
copy dr6
edit dr6 devices.vcpu@1.debugregs.dr6 ffffffffffffffff
refused dr6 'devices\.vcpu@1\.debugregs\.dr6 0xffffffffffffffff: bits 63-32 are reserved'
copy dr7
edit dr7 devices.vcpu@0.debugregs.dr7 ffffffffffffffff
refused dr7 'devices\.vcpu@0\.debugregs\.dr7 0xffffffffffffffff: bits 63-32 are reserved'
copy evflags
edit evflags devices.vcpu@0.events.flags 4294967295
refused evflags 'devices\.vcpu@0\.events\.flags 0xffffffff: bits 0xfffffff0 are not for KVM_SET_VCPU_EVENTS'
copy evexc
edit evexc devices.vcpu@0.events.exception_injected 1
edit evexc devices.vcpu@0.events.exception_nr 200
refused evexc 'devices\.vcpu@0\.events\.exception_nr 200: not an exception vector'
copy mp
edit mp devices.vcpu@1.mp_state 5
refused mp 'devices\.vcpu@1\.mp_state 5: not an x86 KVM MP state'
copy cr4
edit cr4 devices.vcpu@0.cr4 "$(printf %x $((0x$(get devices.vcpu@0.cr4) | 1 << 14)))"
refused cr4 'devices\.vcpu@0\.cr4 0x[0-9a-f]+: bits 0x4000 are reserved'
# The XSAVE area and the LAPIC, register by register (vCPU version 2).
copy xscomp
edit xscomp devices.vcpu@0.xsave.xcomp_bv 8000000000000000
refused xscomp 'devices\.vcpu@0\.xsave: XCOMP_BV 0x8000000000000000 \(the compacted format\)'
copy xsbv
edit xsbv devices.vcpu@0.xsave.xstate_bv 8000000000000003	# bit 63: no CPU has it
refused xsbv "devices\\.vcpu@0\\.xsave\\.xstate_bv: XSTATE_BV bit 63 \\(component 63\\) is in use but the vCPU's CPUID leaf 0xD does not place it"
copy mxcsr
edit mxcsr devices.vcpu@0.xsave.xstate_bv 3
edit mxcsr devices.vcpu@0.xsave.mxcsr 4294967295
refused mxcsr 'devices\.vcpu@0\.xsave: MXCSR 0xffffffff sets reserved bits'
copy xmmlen
edit xmmlen devices.vcpu@0.xsave.xmm3 1234
refused xmmlen 'devices\.vcpu@0\.xsave\.xmm3: not 32 hexadecimal digits'
copy xmmhex
edit xmmhex devices.vcpu@0.xsave.xmm3 0000000000000000000000000000zz00
refused xmmhex "devices\\.vcpu@0\\.xsave\\.xmm3: '0+zz00' is not hexadecimal"
copy isr
edit isr devices.vcpu@1.lapic.isr 12
refused isr 'devices\.vcpu@1\.lapic\.isr: not 64 hexadecimal digits'
# The same block checks on a format-1 checkpoint (XSAVE area as b64).
v1copy xsrand
xsave_edit xsrand 'import os; x[:] = os.urandom(len(x))'
refused xsrand 'devices\.vcpu@0\.xsave: '
v1copy v1xsbv
xsave_edit v1xsbv 'x[519] |= 0x80'	# XSTATE_BV bit 63: no CPU has that component
refused v1xsbv 'devices\.vcpu@0\.xsave: XSTATE_BV 0x[0-9a-f]+ has state components 0x8000000000000000 \(component 63\) this host'
v1copy v1mxcsr
xsave_edit v1mxcsr 'x[512] |= 1; x[24:28] = b"\xff\xff\xff\xff"'
refused v1mxcsr 'devices\.vcpu@0\.xsave: MXCSR 0xffffffff sets reserved bits'

# CPU features the checkpoint's vCPU had and this host's KVM does not offer
# (the lowest bit clear in the saved leaf: hyve's vCPU here has it clear
# too): a structured feature leaf, and KVM's paravirtual features.
# feature NAME LEAF REG BITNAMES: the lowest clear bit set in vcpu@1's
# LEAF.REG; BITNAMES: the names of LEAF.REG's bits 0-31 (what the refusal
# must call it)
feature() {
	local v
	v=$(get "devices.vcpu@1.cpuid.$2.$3")
	v=$((v))
	for ((bit = 0; bit < 32; bit++)); do ((v >> bit & 1)) || break; done
	[ $bit -lt 32 ] || fail "$1: every bit of $2.$3 is set"
	local name
	name=$(cut -d' ' -f$((bit + 1)) <<<"$4")
	[ -n "$name" ] && [ "$name" != "bit_$bit" ] || name="bit $bit"
	set -- "$1" "$2" "$3" "$name"
	copy "$1"
	edit "$1" "devices.vcpu@1.cpuid.$2.$3" $((v | 1 << bit))
	refused "$1" "devices\\.vcpu@1\\.cpuid\\.$2\\.$3: this host lacks $4 \\(bits $(printf %#x $((1 << bit)))\\): the checkpoint's CPU has features this host's KVM does not offer"
}
feature leaf7 leaf_00000007_0 ebx "fsgsbase tsc_adjust sgx bmi1 hle avx2 fdp_excptn_only smep bmi2 erms invpcid rtm cqm zero_fcs_fds mpx rdt_a avx512f avx512dq rdseed adx smap avx512ifma pcommit clflushopt clwb intel_pt avx512pf avx512er avx512cd sha_ni avx512bw avx512vl"
feature kvmpv leaf_40000001_0 eax "kvmclock nop_io_delay mmu_op kvmclock2 async_pf steal_time pv_eoi pv_unhalt bit_8 pv_tlb_flush async_pf_vmexit pv_send_ipi poll_control pv_sched_yield async_pf_int msi_ext_dest_id hc_map_gpa_range migration_control"
# Both leaves at once: one message listing every feature this host lacks.
# lowest_clear LEAF REG BITNAMES: $bit, $name and $val of vcpu@1's LEAF.REG
lowest_clear() {
	val=$(($(get "devices.vcpu@1.cpuid.$1.$2")))
	for ((bit = 0; bit < 32; bit++)); do ((val >> bit & 1)) || break; done
	[ $bit -lt 32 ] || fail "every bit of $1.$2 is set"
	name=$(cut -d' ' -f$((bit + 1)) <<<"$3")
	[ -n "$name" ] && [ "$name" != "bit_$bit" ] || name="bit $bit"
}
copy twoleaves
lowest_clear leaf_00000007_0 ebx "fsgsbase tsc_adjust sgx bmi1 hle avx2 fdp_excptn_only smep bmi2 erms invpcid rtm cqm zero_fcs_fds mpx rdt_a avx512f avx512dq rdseed adx smap avx512ifma pcommit clflushopt clwb intel_pt avx512pf avx512er avx512cd sha_ni avx512bw avx512vl"
edit twoleaves devices.vcpu@1.cpuid.leaf_00000007_0.ebx $((val | 1 << bit))
n7=$name b7=$(printf %#x $((1 << bit)))
lowest_clear leaf_40000001_0 eax "kvmclock nop_io_delay mmu_op kvmclock2 async_pf steal_time pv_eoi pv_unhalt bit_8 pv_tlb_flush async_pf_vmexit pv_send_ipi poll_control pv_sched_yield async_pf_int msi_ext_dest_id hc_map_gpa_range migration_control"
edit twoleaves devices.vcpu@1.cpuid.leaf_40000001_0.eax $((val | 1 << bit))
refused twoleaves "devices\\.vcpu@1\\.cpuid: this host lacks $n7, $name \\(leaf_00000007_0\\.ebx bits $b7, leaf_40000001_0\\.eax bits $(printf %#x $((1 << bit)))\\): the checkpoint's CPU has features this host's KVM does not offer"

# BARs that overlap, each while decoding (the devices enable memory decoding).
[ "$(get devices.virtio-blk@1.pci.command)" != 0 ] || fail "virtio-blk@1 does not decode memory"
b0=$(get devices.virtio-blk@0.pci.bar@4.addr)
copy barbar
edit barbar devices.virtio-blk@1.pci.bar@4.addr "$b0"
refused barbar "devices\\.virtio-blk@1\\.pci\\.bar@4: memory BAR at 0x$b0-0x[0-9a-f]+ overlaps devices\\.virtio-blk@0\\.pci\\.bar@4"
copy barram
edit barram devices.virtio-blk@1.pci.bar@4.addr 100000
refused barram 'devices\.virtio-blk@1\.pci\.bar@4: memory BAR at 0x100000-0x103fff overlaps guest RAM'
copy barioapic
edit barioapic devices.virtio-blk@0.pci.bar@4.addr fec00000
refused barioapic 'devices\.virtio-blk@0\.pci\.bar@4: memory BAR at 0xfec00000-0xfec03fff overlaps the IOAPIC'
copy barlapic
edit barlapic devices.virtio-blk@1.pci.bar@1.addr fee00000
refused barlapic 'devices\.virtio-blk@1\.pci\.bar@1: memory BAR at 0xfee00000-0xfee00fff overlaps the local APIC of vcpu@0'

# The header `ckp check` requires.
copy nohdr
"$CKP" rm "$TMP/nohdr.ckp.meta" header || fail "ckp rm header"
"$CKP" check "$TMP/nohdr.ckp.meta" >/dev/null && fail "ckp check takes a meta without a header"
refused nohdr 'header: no header section'
copy nocreated
"$CKP" rm "$TMP/nocreated.ckp.meta" header.created || fail "ckp rm header.created"
"$CKP" check "$TMP/nocreated.ckp.meta" >/dev/null && fail "ckp check takes a header without created"
refused nocreated 'header\.created is missing'

# Moved where nothing else is, and over RAM with decoding off: restored.
copy moved
edit moved devices.virtio-blk@1.pci.bar@4.addr d0000000
edit moved devices.virtio-blk@0.pci.command 0
edit moved devices.virtio-blk@0.pci.bar@4.addr 100000
start moved -r "$TMP/moved.ckp" -l com1,"$TMP/moved.console" moved
wait_exit "$PID" 60
no_crash "$TMP/moved.log"
[ "$RC" = 0 ] || fail "moved: exit $RC"
[[ $(verdict "$TMP/moved.console" CHURN) == "CHURN OK "* ]] || fail "moved: the guest did not finish OK"
echo "moved: $(verdict "$TMP/moved.console" CHURN)"
all_clean
echo PASS
