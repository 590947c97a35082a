#!/usr/bin/env bash
# Golden tests of the ckp tool.  Every cases/NAME.sh runs in a scratch copy
# of inputs/ with the build's `ckp` first on PATH; what it prints (stdout
# and stderr of each command, and its exit status) must equal cases/NAME.out.
#   BUILD=build tests/golden/run_golden.sh [NAME...]
#   UPDATE=1 ...   rewrites the .out files: review the diff before committing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${BUILD:-$here/../../build}" && pwd)
if [ ! -x "$build/ckp" ]; then
	echo "FAIL: $build/ckp not built"
	exit 1
fi
export PATH="$build:$PATH" LC_ALL=C TZ=UTC
fail=0
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=($(cd "$here/cases" && ls *.sh | sed 's/\.sh$//'))
for name in "${cases[@]}"; do
	work=$(mktemp -d)
	cp -r "$here/inputs/." "$work/"
	got="$work/.out"
	(
		cd "$work" || exit 1
		# t CMD...: show the command, its output and its exit status
		t() {
			echo "\$ $*"
			"$@" 2>&1
			echo "[exit $?]"
		}
		. "$here/cases/$name.sh"
	) >"$got" 2>&1
	if [ "${UPDATE:-0}" = 1 ]; then
		cp "$got" "$here/cases/$name.out"
		echo "updated $name"
	elif diff -u "$here/cases/$name.out" "$got" >"$work/.diff"; then
		echo "ok   $name"
	else
		echo "FAIL $name"
		sed 's/^/    /' "$work/.diff" | head -80
		fail=1
	fi
	rm -rf "$work"
done
exit $fail
