#!/usr/bin/env bash
# A VM described entirely by a config file (-k), with -o overriding a key
# and a later option winning over an earlier one.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm

cat >"$TMP/vm.conf" <<CONF
# the whole VM in keys
name=cfgvm
cpus=1
memory.size=32M
lpc.com1.path=stdio
boot.kernel=$GUEST
boot.append=ticks 5
x86.strictio=true
rtc.use_localtime=false
CONF
run cfg -k "$TMP/vm.conf"
expect_rc 0
expect_out '^HYVE-GUEST .* cpus=1 ram=32M .*cmdline="ticks 5"'
expect_err '^hyve: cfgvm: guest powered off, status 0'

run cfg_o -k "$TMP/vm.conf" -o cpus=2 -c 2 -m 48 -o boot.append="ticks 3" other
expect_rc 0
expect_out '^HYVE-GUEST .* cpus=2 ram=48M .*cmdline="ticks 3"'
expect_err '^hyve: other: guest powered off'

# -c after -o: the later one wins
run cfg_order -k "$TMP/vm.conf" -o cpus=2 -c 1
expect_rc 0
expect_out '^HYVE-GUEST .* cpus=1 '
echo PASS
