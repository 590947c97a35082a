#!/usr/bin/env bash
# The test guest boots unchanged under QEMU (PVH, -M microvm) on 1 and 2
# vCPUs, starts its APs, counts timer ticks, and reports command-line errors.
source "$(dirname "$0")/../../guest/tools/qemu_test_lib.sh"

for n in 1 2; do
	run_guest boot$n microvm $n 128 "ticks 20"
	expect_status 0
	expect_line "^HYVE-GUEST [0-9.]+ cpus=$n ram=128M hz=100 .*cmdline=\"ticks 20\""
	expect_line '^TICKS OK n=20 elapsed_ms=[0-9]+$'
	expect_line '^GUEST EXIT status=0$'
	ms=$(sed -n 's/^TICKS OK n=20 elapsed_ms=\([0-9]*\)$/\1/p' "$OUT")
	# 20 ticks at 100 Hz cannot take less than 200 ms of guest time
	[ "$ms" -ge 190 ] || fail "20 ticks took only ${ms} ms: timer too fast"
done

# two workloads, one per vCPU, and a global option
run_guest two microvm 2 128 "hz=250 ticks 25 ; ticks 50"
expect_status 0
expect_line 'hz=250 '
expect_line '^TICKS OK n=25 '
expect_line '^TICKS OK n=50 '

# an empty command line boots and exits cleanly
run_guest empty microvm 1 64 ""
expect_status 0
expect_line '^HYVE-GUEST .*cmdline=""'

# bad command lines: one clear message, status 2
run_guest badopt microvm 1 64 "frob=1 ticks 5"
expect_status 2
expect_line "^CMDLINE ERROR unknown option 'frob'"
run_guest badwl microvm 1 64 "nosuch 3"
expect_status 2
expect_line "^CMDLINE ERROR unknown workload 'nosuch'"
run_guest toomany microvm 1 64 "ticks 5 ; ticks 5"
expect_status 2
expect_line '^CMDLINE ERROR 2 workloads need 2 vCPUs'

# the same guest under SeaBIOS (-M pc): RSDP by scan or from PVH, APs
# parked by firmware (INIT before SIPI)
run_guest pc pc 2 128 "ticks 10"
expect_status 0
expect_line '^HYVE-GUEST .* cpus=2 '
expect_line '^TICKS OK n=10 '
echo PASS
