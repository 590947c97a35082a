#!/usr/bin/env bash
# Runs every fuzz target for a bounded time; fails when one crashes.
#   fuzz/run.sh BUILDDIR SECONDS
# Seeds come from fuzz/corpus/<target>/ (read only); what the fuzzer finds
# goes to a scratch directory; crashing inputs are kept in
# BUILDDIR/artifacts/ to reproduce with: BUILDDIR/<target> FILE
set -u
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
secs=${2:-30}
rc=0
mkdir -p "$build/artifacts"
shopt -s nullglob
targets=("$build"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no targets in $build"
	exit 1
fi
for bin in "${targets[@]}"; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	work=$(mktemp -d)
	dict=()
	[ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$build/artifacts/$name-" "${dict[@]}" \
	    "$work" "fuzz/corpus/$name" >"$work.log" 2>&1
	r=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
	if [ $r -eq 0 ]; then
		echo "fuzz: $name ok (${runs:-?} runs in ${secs}s)"
	else
		echo "fuzz: $name FAILED (exit $r)"
		grep -v '^#' "$work.log" | tail -n 40 | sed 's/^/    | /'
		rc=1
	fi
	rm -rf "$work" "$work.log"
done
exit $rc
