#!/usr/bin/env bash
# The checkpoint benchmark of issue 6: hyve against QEMU 7.2 and against the
# file system's limits, side by side, plus the library micro-benchmarks
# (bench_meta, bench_ram).  Writes bench/RESULTS.md; docs/BENCHMARKS.md says
# what is measured and how.
#
#   bench/run.sh [--quick] [--reps N] [--cases 1,2,3,4,5] [--no-micro]
#                [--dir WORKDIR] [--out FILE] [--touch SIZE|none]
#   bench/run.sh --mig [--quick] [--reps N] [--mem SIZE] [--cases a,b,c]
#                [--vmm hyve,qemu] [--dir WORKDIR] [--out FILE]
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
#
# --mig: issue 12's live-migration benchmark instead (bench/mig_vs_qemu.py):
# hyve against QEMU over loopback TCP, a 512 MiB guest (a) idle, (b) writing
# 64 MiB/s, (c) churning; medians of 3 (--quick: 1 run, 128 MiB guest).  It
# replaces only its own section of FILE, and the checkpoint benchmark keeps
# that section when it rewrites FILE.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
OUT=bench/RESULTS.md
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift 2 ;;
	--out=*) OUT=${1#--out=}; shift ;;
	--mig) mig=1; shift ;;
	-h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) args+=("$1"); shift ;;
	esac
done

analysis=bench/ANALYSIS.md
if [ -n "${mig:-}" ]; then
	make -s BUILD="$BUILD" -j"$(nproc)" "$BUILD/hyve" "$BUILD/hyvectl" \
		"$BUILD/guest.elf" >/dev/null
	exec python3 bench/mig_vs_qemu.py --build "$BUILD" --out "$OUT" \
		--command "bench/run.sh --mig${args[*]:+ ${args[*]}}" \
		--analysis "$analysis" ${args[@]+"${args[@]}"}
fi

make -s BUILD="$BUILD" -j"$(nproc)" "$BUILD/hyve" "$BUILD/hyvectl" \
	"$BUILD/guest.elf" "$BUILD/bench/ckp_vs_aux" "$BUILD/bench/bench_meta" \
	"$BUILD/bench/bench_ram" >/dev/null

# The migration benchmark's section of OUT survives this report's rewrite.
mig_section=
if [ -f "$OUT" ]; then
	mig_section=$(sed -n '/^<!-- mig_vs_qemu: begin/,/^<!-- mig_vs_qemu: end -->/p' "$OUT")
fi
rc=0
python3 bench/ckp_vs_qemu.py --build "$BUILD" --out "$OUT" \
	--command "bench/run.sh${args[*]:+ ${args[*]}}" \
	${analysis:+--analysis "$analysis"} ${args[@]+"${args[@]}"} || rc=$?
if [ -n "$mig_section" ] && [ -f "$OUT" ]; then
	printf '\n%s\n' "$mig_section" >>"$OUT"
fi
exit "$rc"
