#!/usr/bin/env bash
# SIGTERM, SIGINT and SIGHUP stop a running guest: every vCPU leaves, the
# console is flushed, hyve reports the signal and exits 128+N.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm

sig() {	# NAME SIGNAL CODE CPUS
	OUT=$TMP/$1.out
	ERR=$TMP/$1.err
	name=$1
	"$HYVE" -c "$4" -m 32M -l com1,stdio --kernel "$GUEST" --append "ticks 1000000" s \
		</dev/null >"$OUT" 2>"$ERR" &
	local pid=$! i
	for i in $(seq 100); do
		grep -qs '^HYVE-GUEST' "$OUT" && break
		sleep 0.05
	done
	grep -q '^HYVE-GUEST' "$OUT" || { kill -KILL $pid; fail "$1: the guest did not start"; }
	kill -"$2" $pid
	for i in $(seq 100); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 $pid 2>/dev/null; then
		kill -KILL $pid
		fail "$1: hyve still running 5 s after SIG$2"
	fi
	wait $pid
	RC=$?
	echo "$1: rc=$RC"
	expect_rc "$3"
	no_crash
	expect_err "^hyve: s: stopped by signal .* \(exit status $3\)$"
}

sig term1 TERM 143 1
sig term2 TERM 143 2
sig int2 INT 130 2
sig hup1 HUP 129 1
echo PASS
