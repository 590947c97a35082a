#!/usr/bin/env bash
# Boot the test guest on 1 and 2 vCPUs with `ticks`: the timer runs, the
# guest powers off with status 0 and hyve says so and exits 0.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm

for c in 1 2; do
	run ticks$c -c $c -m 64M -l com1,stdio --kernel "$GUEST" --append "ticks 30" t$c
	expect_rc 0
	expect_out "^HYVE-GUEST .* cpus=$c ram=64M "
	expect_out '^TICKS OK n=30 elapsed_ms=[0-9]+$'
	expect_out '^GUEST EXIT status=0$'
	expect_err "^hyve: t$c: guest powered off, status 0 \(exit status 0\)$"
done
# elapsed time as the guest saw it is about 30 ticks of its 100 Hz timer
ms=$(sed -n 's/^TICKS OK n=30 elapsed_ms=\([0-9]*\)$/\1/p' "$OUT")
[ "$ms" -ge 200 ] && [ "$ms" -le 3000 ] || fail "30 ticks took ${ms} ms of guest time"
echo PASS
