#!/usr/bin/env bash
# Runs the test suite of the build directory BUILD (default: build): the
# tests run the test build in BUILD/test (make BUILD=... testbins: the same
# sources with the test hooks), and check the release programs in BUILD.
# Every test is a program or script: exit 0 = pass, 77 = skip (it must say
# why on a "SKIP" line), anything else = fail.  A passing test's output is
# not shown, except its lines that begin with "COUNT: " (how much it did:
# cycles, crashes, kills), so that a run says what it covered.
#   tests/run.sh [BUILD]            all tests
#   ONLY=regex tests/run.sh         only tests whose name matches
#   EXCEPT=regex tests/run.sh       leave out tests whose name matches (named
#                                   in one line at the start, never silently)
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
if [ ! -x "$BUILD/test/hyve" ]; then
	echo "tests: no test build in $BUILD/test (make BUILD=$BUILD testbins)"
	exit 2
fi
# Tests find their programs in $BUILD; the release ones are in $RELEASE_BUILD.
export RELEASE_BUILD=$(cd "$BUILD" && pwd)
export BUILD=$RELEASE_BUILD/test
export TOP=$(pwd)
ONLY=${ONLY:-.}
EXCEPT=${EXCEPT:-}
[ -z "$EXCEPT" ] || echo "tests: this run leaves out the tests matching '$EXCEPT'"
# Every hyve listens on $HYVE_RUNDIR/NAME.sock and refuses a name in use:
# this run's VMs (tests use fixed names) get a directory of their own, so
# that runs going on at once (several build directories) never collide.
if [ -z "${HYVE_RUNDIR:-}" ]; then
	export HYVE_RUNDIR=$(mktemp -d /tmp/hyve-tests-run.XXXXXX)
	trap 'rm -rf "$HYVE_RUNDIR"' EXIT
fi
pass=0 fail=0 skip=0 failed=()

run_one() {	# name, command...
	local name=$1; shift
	[[ $name =~ $ONLY ]] || return 0
	[ -z "$EXCEPT" ] || ! [[ $name =~ $EXCEPT ]] || return 0
	local log; log=$(mktemp)
	local t0=$SECONDS
	# In the foreground (a background test would ignore ^C), exec'd so its
	# PID, which names its network namespaces, is the one written down.
	bash -c 'echo $$ >"$0"; exec "$@"' "$log.pid" "$@" >"$log" 2>&1
	local rc=$?
	local pid; pid=$(cat "$log.pid" 2>/dev/null)
	rm -f "$log.pid"
	local dt=$((SECONDS - t0))
	# A test's network namespaces end in its PID; none may outlive it.
	local left
	left=$(ip netns list 2>/dev/null | awk -v p="-$pid" \
	    'substr($1, length($1) - length(p) + 1) == p { print $1 }')
	if [ -n "$pid" ] && [ -n "$left" ]; then
		echo "FAIL: left network namespaces behind: $left" >>"$log"
		for ns in $left; do ip netns del "$ns"; done
		case $rc in 0|77) rc=1 ;; esac
	fi
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $name (${dt}s)"
		grep '^COUNT: ' "$log" | sed 's/^/    /'
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1)); echo "SKIP $name: $(grep -m1 SKIP "$log" || echo 'no reason given')"
	else
		fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc, ${dt}s)"
		sed 's/^/    | /' "$log" | tail -n 60
	fi
	rm -f "$log"
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in tests/golden/*.sh tests/e2e/*.sh tests/linux/*.sh; do
	[ -f "$t" ] || continue
	run_one "${t#tests/}" bash "$t"
done

echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }
