#!/usr/bin/env bash
# The project's test command (README quick start, .ci/run):
# installs what is missing, builds, runs the suite normally and under
# ASan+UBSan, runs every fuzz target for a bounded time, then the
# hardware-KVM tier (tests/nested/run.sh, docs/NESTED.md).
#   FUZZ_SECONDS=N  seconds per fuzz target (default 20; 0 skips fuzzing)
#   QUICK=1         skip the sanitizer pass, fuzzing and the nested tier
#   NESTED=0        skip the nested tier
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
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run.sh build-san
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
