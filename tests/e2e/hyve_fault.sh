#!/usr/bin/env bash
# A misbehaving guest is reported (vCPU, RIP, what it did) and stopped
# cleanly with exit status 3; with x86.strictio/strictmmio off the stray
# accesses are only reported and the guest goes on.  Faults the guest
# handles itself end with its own status.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm

f() { run "$1" -c "$2" -m 32M -l com1,stdio --kernel "$GUEST" --append "$3" f; }

f mmio 1 "fault mmio"
expect_rc 3
expect_out '^FAULT TEST mmio$'
expect_no_out 'SURVIVED'
expect_err '^hyve: f: vCPU 0: guest wrote 4 bytes to unmapped MMIO address 0xd0000000 \(value 0x12345678\) at RIP 0x[0-9a-f]+ \(CPL 3\): no device or RAM there \(exit status 3\)$'

f port 2 "fault port"
expect_rc 3
expect_err '^hyve: f: vCPU 0: guest wrote 4 bytes to I/O port 0x1234 \(value 0x12345678\) at RIP 0x[0-9a-f]+ \(CPL 3\): no device there \(exit status 3\)$'

f triple 2 "fault triple"
expect_rc 3
expect_out '^FAULT TEST triple$'
expect_err '^hyve: f: vCPU 0: triple fault \(shutdown\) at RIP 0x[0-9a-f]+ \(CPL 0\) \(exit status 3\)$'

# the fault on the second vCPU names it
f triple_ap 2 "ticks 20 ; fault triple"
expect_rc 3
expect_err '^hyve: f: vCPU 1: triple fault'

f ud 1 "fault ud"
expect_rc 1
expect_out '^FAULT #UD vector=6 '
expect_err '^hyve: f: guest powered off, status 3 \(exit status 1\)$'

run mmio_lax -c 1 -m 32M -o x86.strictmmio=false -l com1,stdio --kernel "$GUEST" --append "fault mmio" f
expect_rc 1
expect_out '^FAULT SURVIVED mmio write to 0xd0000000, read back 0xffffffff$'
expect_err 'guest wrote unmapped MMIO address 0xd0000000 at RIP 0x[0-9a-f]+; ignored \(x86.strictmmio=false\)'

run port_lax -c 1 -m 32M -o x86.strictio=false -l com1,stdio --kernel "$GUEST" --append "fault port" f
expect_rc 1
expect_out '^FAULT SURVIVED port 0x1234 write, read back 0xffffffff$'
expect_err 'guest wrote I/O port 0x1234 at RIP 0x[0-9a-f]+: no device there; ignored'
n=$(grep -c 'I/O port 0x1234' "$ERR")
[ "$n" = 1 ] || fail "port 0x1234 reported $n times, expected once"
echo PASS
