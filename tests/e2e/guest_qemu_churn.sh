#!/usr/bin/env bash
# churn under QEMU: the checksum is reproducible (same arguments and RAM:
# same checksum, whatever the vCPU count) and depends on the seed.
source "$(dirname "$0")/../../guest/tools/qemu_test_lib.sh"

sum() { sed -n 's/^CHURN OK \([0-9a-f]\{16\}\)$/\1/p' "$OUT"; }

run_guest c2a microvm 2 128 "churn 8"
expect_status 0
expect_line '^CHURN start size=[0-9]+M rounds=8 cpus=2 '
expect_line '^CHURN round 1/8 ticks=[0-9]+$'
expect_line '^CHURN round 8/8 ticks=[0-9]+$'
a=$(sum)
[ -n "$a" ] || fail "no CHURN OK line"
run_guest c2b microvm 2 128 "churn 8"
expect_status 0
b=$(sum)
run_guest c1 microvm 1 128 "churn 8"
expect_status 0
c=$(sum)
[ "$a" = "$b" ] || fail "two identical runs gave $a and $b"
[ "$a" = "$c" ] || fail "1 vCPU gave $c, 2 vCPUs gave $a"
run_guest seed microvm 2 128 "seed=7 churn 8"
expect_status 0
d=$(sum)
[ -n "$d" ] && [ "$d" != "$a" ] || fail "seed=7 gave the same checksum $d"
run_guest rounds microvm 2 128 "churn 9"
e=$(sum)
[ -n "$e" ] && [ "$e" != "$a" ] || fail "9 rounds gave the same checksum as 8"
run_guest mem microvm 2 160 "churn 8"
f=$(sum)
[ -n "$f" ] && [ "$f" != "$a" ] || fail "160 MiB gave the same checksum as 128 MiB"
echo "checksums: $a (seed 1), $d (seed 7), $e (9 rounds), $f (160M)"
echo PASS
