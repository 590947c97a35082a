#!/usr/bin/env bash
# The guest reads the RTC's date and time on a vCPU, as every Linux guest
# does at boot: the UTC the host has, within a few seconds; under the
# sandbox too (glibc reads the time zone on first use of gmtime_r(), which a
# vCPU may not do: hyve does it before the filters, docs/SANDBOX.md).
source "$(dirname "$0")/hyve_lib.inc"
need_kvm

t0=$(date -u +%s)
run rtc -m 64M -l com1,stdio --kernel "$GUEST" --append "rtc" rtc
t1=$(date -u +%s)
expect_rc 0
expect_out '^RTC OK [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$'
got=$(sed -n 's/^RTC OK //p' "$OUT")
s=$(date -u -d "$got" +%s) || fail "RTC OK $got is not a date"
[ "$s" -ge $((t0 - 2)) ] && [ "$s" -le $((t1 + 2)) ] ||
	fail "the guest read $got, the host's UTC was $(date -u -d @"$t0" +%FT%T) to $(date -u -d @"$t1" +%FT%T)"
echo "guest RTC $got"
echo PASS
