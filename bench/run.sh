#!/usr/bin/env bash
# The checkpoint benchmark of issue 6: hyve against QEMU 7.2 and against the
# file system's limits, side by side, plus the library micro-benchmarks
# (bench_meta, bench_ram).  Writes bench/RESULTS.md; docs/BENCHMARKS.md says
# what is measured and how.
#
#   bench/run.sh [--quick] [--reps N] [--cases 1,2,3,4,5] [--no-micro]
#                [--dir WORKDIR] [--out FILE] [--touch SIZE|none]
#
# --quick: one run of each figure and the micro-benchmarks' --quick (< 3 min);
# default: medians of 3 (< 15 min).  --touch: what case 2's sparse guest
# writes (guest `touch SIZE`; default 64M, the issue's case; none: nothing).
# WORKDIR (default a new directory under $TMPDIR or /tmp, removed afterwards)
# must be on the file system checkpoints go to.  Needs /dev/kvm,
# qemu-system-x86_64 and python3; run as root so that the page cache can be
# dropped before each timed step (otherwise restores are measured warm, and
# the report says so).  BUILD (default build-bench) is the build directory;
# everything needed is built first.  Not a test: timings are reported against
# their targets, never asserted.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
OUT=bench/RESULTS.md
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift 2 ;;
	--out=*) OUT=${1#--out=}; shift ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) args+=("$1"); shift ;;
	esac
done

make -s BUILD="$BUILD" -j"$(nproc)" "$BUILD/hyve" "$BUILD/hyvectl" \
	"$BUILD/guest.elf" "$BUILD/bench/ckp_vs_aux" "$BUILD/bench/bench_meta" \
	"$BUILD/bench/bench_ram" >/dev/null

analysis=bench/ANALYSIS.md
exec python3 bench/ckp_vs_qemu.py --build "$BUILD" --out "$OUT" \
	--command "bench/run.sh${args[*]:+ ${args[*]}}" \
	${analysis:+--analysis "$analysis"} "${args[@]}"
