#!/usr/bin/env bash
# A host that does not permit what the configuration asks is a runtime
# failure, exit status 4 (docs/hyve.8), not the 2 of a configuration that
# is wrong: a tap device hyve may not attach to (TUNSETIFF without
# CAP_NET_ADMIN fails with EPERM).  A backend that is wrong in itself
# stays a usage error.  One message each, and no guest runs.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm

# As root, hyve runs without CAP_NET_ADMIN; any other user lacks it anyway.
drop=()
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || fail "setpriv (util-linux) is not installed"
	drop=(setpriv --bounding-set=-net_admin --inh-caps=-net_admin)
fi

# hyve_lib.inc's run(), with the capability dropped.
run_dropped() {	# NAME hyve-args...
	name=$1
	shift
	OUT=$TMP/$name.out
	ERR=$TMP/$name.err
	timeout -s KILL 60 "${drop[@]}" "$HYVE" "$@" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
	echo "$name: rc=$RC"
	[ $RC -ne 137 ] || fail "$name: hyve did not finish in 60s"
	no_crash
}

tap=hyvenotap$$
run_dropped tap -m 16M -s 0,hostbridge -s 2,virtio-net,"$tap" \
	--kernel "$GUEST" --append "ticks 10" tapvm
expect_err "^hyve: tapvm: virtio-net@pci\.0\.2\.0: cannot attach to tap \"$tap\": Operation not permitted$"
expect_rc 4
expect_one_err_line
[ ! -s "$OUT" ] || fail "tap: the guest ran"
! ip link show "$tap" >/dev/null 2>&1 || fail "tap: $tap was created"

run_dropped badfd -m 16M -s 0,hostbridge -s 2,virtio-net,fd:65000 \
	--kernel "$GUEST" --append "ticks 10" fdvm
expect_err "^hyve: fdvm: virtio-net@pci\.0\.2\.0: backend \"fd:65000\" is not an open descriptor$"
expect_rc 2
expect_one_err_line
[ ! -s "$OUT" ] || fail "badfd: the guest ran"
echo PASS
