#!/usr/bin/env bash
# tests/run.sh hides a passing test's output but shows its "COUNT: " lines
# (how many cycles, crashes, kills it did), indented under its PASS line;
# a failing test's output is shown whole.  Runs tests/run.sh on a build
# directory of its own holding two stand-in unit tests.
set -u
cd "$(dirname "$0")/../.."
D=$(mktemp -d /tmp/hyve-run-counts.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$D/test/tests"
printf '#!/bin/sh\n' >"$D/test/hyve"
printf '#!/bin/sh\necho noise\necho "COUNT: 7 cycles"\necho "not COUNT: 1"\necho "COUNT: 3 kills"\nexit 0\n' \
	>"$D/test/tests/test_zzcount_pass"
printf '#!/bin/sh\necho "COUNT: 2 then"\necho broke\nexit 1\n' >"$D/test/tests/test_zzcount_fail"
chmod +x "$D/test/hyve" "$D/test/tests/"test_zzcount_*

EXCEPT= ONLY='^unit/test_zzcount_pass$' HYVE_RUNDIR=$D/run tests/run.sh "$D" >"$D/pass.out" 2>&1
rc=$?
cat "$D/pass.out"
[ "$rc" = 0 ] || fail "run.sh exited $rc on a passing test"
want=$(printf 'PASS unit/test_zzcount_pass (0s)\n    COUNT: 7 cycles\n    COUNT: 3 kills\ntests: 1 passed, 0 failed, 0 skipped')
[ "$(sed 's/([0-9]*s)/(0s)/' "$D/pass.out")" = "$want" ] || fail "a passing test's COUNT lines are not shown as expected"

EXCEPT= ONLY='^unit/test_zzcount_fail$' HYVE_RUNDIR=$D/run tests/run.sh "$D" >"$D/fail.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "run.sh exited $rc on a failing test"
grep -q '^    | broke$' "$D/fail.out" && grep -q '^    | COUNT: 2 then$' "$D/fail.out" ||
	fail "a failing test's output is not shown whole: $(cat "$D/fail.out")"

# The tests whose counts matter mark them.
for t in e2e/ckp_cycles.sh e2e/ckp_crash.sh e2e/ckp_crash_kill.sh linux/linux_cycles.sh; do
	grep -q '^echo "COUNT: ' "tests/$t" || fail "tests/$t prints no COUNT: line"
done
echo PASS
