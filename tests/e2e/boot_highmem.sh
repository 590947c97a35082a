#!/usr/bin/env bash
# RAM above the 3 GiB PCI hole: memory.size 3136M maps 64 MiB from 4 GiB;
# the guest's memory map shows it and churn writes and checks all of it.
# (Needs ~3.1 GiB of host memory; about 2-9 s here, most of it the host
# handing out memory.)
source "$(dirname "$0")/hyve_lib.inc"
need_kvm

avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
[ "$avail" -ge 4096 ] || skip "needs 4096 MiB of available host memory, ${avail} MiB available"
run churn_high -c 2 -m 3136M -l com1,stdio --kernel "$GUEST" --append "verbose=1 churn 1" hi
expect_rc 0
expect_out '^HYVE-GUEST .* ram=3136M '
expect_out '^MEMMAP 0x100000-0xc0000000 type=1$'
expect_out '^MEMMAP 0x100000000-0x104000000 type=1$'
expect_out '^CHURN OK [0-9a-f]{16}$'
echo PASS
