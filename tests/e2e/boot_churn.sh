#!/usr/bin/env bash
# churn on 1 and 2 vCPUs: CHURN OK with the same checksum (it depends on
# the arguments and RAM size only), the console also works to a file, and
# a different seed gives a different checksum.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm

sum() { sed -n 's/^CHURN OK \([0-9a-f]\{16\}\)$/\1/p' "$1"; }

run churn1 -c 1 -m 64M -l com1,stdio --kernel "$GUEST" --append "churn 4" c1
expect_rc 0
expect_out '^CHURN start size=[0-9]+M rounds=4 cpus=1 '
expect_out '^CHURN round 4/4 '
expect_out '^GUEST EXIT status=0$'
a=$(sum "$OUT")
[ -n "$a" ] || fail "no CHURN OK line"

run churn2 -c 2 -m 64M -l com1,"$TMP/console.log" --kernel "$GUEST" --append "churn 4" c2
expect_rc 0
[ ! -s "$OUT" ] || fail "console went to stdout although com1 is a file"
OUT=$TMP/console.log
expect_out '^CHURN start size=[0-9]+M rounds=4 cpus=2 '
expect_out '^GUEST EXIT status=0$'
b=$(sum "$TMP/console.log")
[ "$a" = "$b" ] || fail "1 vCPU gave $a, 2 vCPUs gave $b"

run churn_seed -c 2 -m 64M -l com1,stdio --kernel "$GUEST" --append "seed=7 churn 4" c3
expect_rc 0
c=$(sum "$OUT")
[ -n "$c" ] && [ "$c" != "$a" ] || fail "seed=7 gave checksum '$c' (seed 1: $a)"
echo "checksums: $a (seed 1), $c (seed 7)"

echo PASS
