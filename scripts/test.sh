#!/usr/bin/env bash
# The project's test command (README quick start, .ci/run):
# installs what is missing, builds, runs the suite normally and under
# ASan+UBSan, runs every fuzz target for a bounded time, then the
# hardware-KVM tier (tests/nested/run.sh, docs/NESTED.md).
#   FUZZ_SECONDS=N  seconds per fuzz target (default 20; 0 skips fuzzing)
#   QUICK=1         skip the sanitizer pass, fuzzing and the nested tier
#   NESTED=0        skip the nested tier
#   SAN_ALL=1       the sanitizer pass runs every test (by default it leaves
#                   out three long repetitions; see below)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)
t0=$SECONDS
echo "== build"
make -j"$jobs" all testbins
echo "== tests"
tests/run.sh build
if [ "${QUICK:-0}" != 1 ]; then
	echo "== tests under ASan+UBSan"
	make -j"$jobs" SAN=1 all testbins
	# Left out here, to keep the whole run well under an hour: tests that
	# repeat, many times over or with more guests, code paths that other
	# tests of this pass already run under the sanitizers (each still runs
	# in the pass above).  SAN_ALL=1 runs everything.
	san_except='e2e/(ckp_cycles|mig_in_basic|mig_pingpong)\.sh'
	[ "${SAN_ALL:-0}" = 1 ] && san_except=
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		EXCEPT="$san_except" tests/run.sh build-san
	if [ "${FUZZ_SECONDS:-20}" != 0 ]; then
		echo "== fuzz (${FUZZ_SECONDS:-20}s per target)"
		make -j"$jobs" fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
	fi
	if [ "${NESTED:-1}" != 0 ]; then
		echo "== the hardware-KVM tier (nested)"
		tests/nested/run.sh -b build
	fi
fi
echo "== all tests passed in $((SECONDS - t0))s"
