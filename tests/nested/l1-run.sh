#!/bin/bash
# Inside L1 (tests/nested/l1-init.sh chroots here): load kvm_amd, then run
# every test of /nested-io/plan in order, each under a time limit, with its
# output in /nested-io/logs/ and echoed on the console.  Console protocol
# (read by tests/nested/run.sh):
#   NESTED-KVM <module> <flags>          the hardware-assisted KVM is up
#   NESTED-BEGIN <test>                  a test starts
#   NESTED-RESULT <test> PASS|FAIL|SKIP <seconds>s [why]
#   NESTED-ALIVE <uptime>                every 20 s, so that a quiet test is
#                                        not taken for a stalled machine
#   NESTED-DONE                          every test ran
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C LC_ALL=C TMPDIR=/tmp
IO=/nested-io
. "$IO/env"
cd "$TOP" || { echo "NESTED-FATAL no $TOP"; exit 1; }
# The project's tests run the test build (make testbins) when BUILD holds
# one, as tests/run.sh has them do; scripts users run (scripts/demo.sh, a
# script of one's own) run the release build they were given, which is
# what demo.sh builds (a test build there may be stale, and has hooks).
RELEASE_BUILD=$BUILD TEST_BUILD=$BUILD
if [ -x "$BUILD/test/hyve" ]; then TEST_BUILD=$BUILD/test; fi
mkdir -p "$IO/logs"
up() { cut -d' ' -f1 /proc/uptime; }

ip link set lo up
# What the tests use that Debian builds as modules (tap devices).
modprobe tun || echo "NESTED-WARN tun did not load"
# The migration tests join two namespaces with a veth pair.
modprobe veth || echo "NESTED-WARN veth did not load"
if ! modprobe kvm_amd npt=1 2>"$IO/logs/modprobe.err" || [ ! -c /dev/kvm ]; then
	echo "NESTED-FATAL kvm_amd did not load: $(cat "$IO/logs/modprobe.err")"
	exit 1
fi
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
	grep -xE 'svm|npt|nrip_save|vgif|tsc_scale|avic|x2apic|xsave|hypervisor' | tr '\n' ' ')
echo "NESTED-KVM kvm_amd $flags"

(while sleep 20; do echo "NESTED-ALIVE $(up)"; done) &
alive=$!

# The tests' own runtime directory, as tests/run.sh gives them.
export HYVE_RUNDIR=$(mktemp -d /tmp/hyve-nested-run.XXXXXX)
# Scripts that set things up first (scripts/demo.sh) know they are in L1.
export BUILD RELEASE_BUILD HYVE_NESTED=1

while read -r t; do
	[ -n "$t" ] || continue
	log=$IO/logs/${t//\//_}.log
	export HYVE_TEST_KEEP=$IO/logs/${t//\//_}.files
	echo "NESTED-BEGIN $t"
	t0=$SECONDS
	case $t in
	unit/*) BUILD=$TEST_BUILD cmd=("$TEST_BUILD/tests/${t#unit/}") ;;
	# scripts/demo.sh, or a script of one's own (debugging)
	scripts/*|/*) BUILD=$RELEASE_BUILD cmd=(bash "$t") ;;
	*) BUILD=$TEST_BUILD cmd=(bash "tests/$t") ;;
	esac
	# Killed after the limit; any hyve it left is killed after it.
	timeout -s KILL "$TEST_TIMEOUT" "${cmd[@]}" </dev/null 2>&1 |
		tee "$log" | sed -u 's/^/  | /'
	rc=${PIPESTATUS[0]}
	dt=$((SECONDS - t0))
	if [ "$rc" = 0 ]; then
		echo "NESTED-RESULT $t PASS ${dt}s"
	elif [ "$rc" = 77 ]; then
		echo "NESTED-RESULT $t SKIP ${dt}s $(grep -m1 SKIP "$log")"
	elif [ "$rc" = 137 ]; then
		echo "NESTED-RESULT $t FAIL ${dt}s killed after ${TEST_TIMEOUT}s"
	else
		echo "NESTED-RESULT $t FAIL ${dt}s exit $rc"
	fi
	pkill -9 -x hyve 2>/dev/null
done <"$IO/plan"
kill "$alive" 2>/dev/null
echo "NESTED-DONE $(up)"
