#!/usr/bin/env bash
# The guest's `fault` modes, seen from QEMU: ud and pf are reported by the
# guest (FAULT line, status 3); QEMU ignores stray MMIO and port accesses, so
# the guest says it survived them (status 5); a triple fault resets the VM,
# which -no-reboot turns into a plain QEMU exit without a GUEST EXIT line.
source "$(dirname "$0")/../../guest/tools/qemu_test_lib.sh"

run_guest ud microvm 2 64 "fault ud"
expect_status 3
expect_line '^FAULT TEST ud$'
expect_line '^FAULT #UD vector=6 err=0x0 rip=0x[0-9a-f]+ cs=0x2b .* cpl=3$'
expect_line '^GUEST EXIT status=3$'

run_guest pf microvm 1 64 "fault pf"
expect_status 3
expect_line '^FAULT #PF vector=14 err=0x4 .* cr2=0x100001000 .* cpl=3$'

run_guest mmio microvm 1 64 "fault mmio"
expect_status 5
expect_line '^FAULT TEST mmio$'
expect_line '^FAULT SURVIVED mmio write to 0xd0000000'

run_guest port microvm 1 64 "fault port"
expect_status 5
expect_line '^FAULT SURVIVED port 0x1234 write, read back 0xffffffff$'

run_guest triple microvm 2 64 "fault triple"
[ "$RC" = 0 ] || fail "triple fault: QEMU exit code $RC, expected 0 (reset with -no-reboot)"
expect_line '^FAULT TEST triple$'
expect_no_line '^GUEST EXIT'
expect_no_line 'SURVIVED'

# a fault on the second vCPU (second workload) is reported with its cpu
run_guest ud_ap microvm 2 64 "ticks 500 ; fault ud"
expect_status 3
expect_line '^FAULT #UD vector=6 .* cpu=1 cpl=3$'
echo PASS
