#!/usr/bin/env bash
# ckp and hyvectl share their command-line conventions: an unknown option
# or a missing value is one line "PROG: ..." naming the option, then the
# usage (of the command, for ckp), exit status 2; --help prints the usage
# on standard output, exit 0.  Every command `ckp --help` lists reports
# an unknown option as its own.
source "$(dirname "$0")/hyve_lib.inc"
CKP=$BUILD/ckp HYVECTL=$BUILD/hyvectl
for p in "$CKP" "$HYVECTL"; do [ -x "$p" ] || fail "$p is not built (make BUILD=$BUILD)"; done

# usage_err WANT-LINE1 WANT-USAGE PROG ARGS...: exit 2, these first two lines
usage_err() {
	local want=$1 usage=$2 out rc
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc = 2 ] || fail "$*: exit status $rc, not 2"
	[ "$(head -n 1 <<<"$out")" = "$want" ] || fail "$*: '$(head -n 1 <<<"$out")', not '$want'"
	[[ $(sed -n 2p <<<"$out") == "$usage"* ]] || fail "$*: no '$usage' line after it: $out"
}

cmds=$("$CKP" --help | sed -n 's/^  ckp \([a-z]*\) .*/\1/p')
[ "$(wc -w <<<"$cmds")" -ge 8 ] || fail "ckp --help lists only: $cmds"
for c in $cmds; do
	usage_err "ckp: unknown option '-a'" "usage: ckp $c " "$CKP" "$c" -a x
	usage_err "ckp: unknown option '--frob'" "usage: ckp $c " "$CKP" "$c" x --frob
done
usage_err "ckp: unknown option '-a'" "usage: ckp " "$CKP" -a show x
usage_err "ckp: option '--to' needs an encoding" "usage: ckp convert " "$CKP" convert --to
usage_err "hyvectl: unknown option '-a'" "usage: hyvectl " "$HYVECTL" -a
usage_err "hyvectl: unknown option '--frob'" "usage: hyvectl " "$HYVECTL" --vm=x --frob --status
usage_err "hyvectl: unknown option '--status=1'" "usage: hyvectl " "$HYVECTL" --vm=x --status=1
usage_err "hyvectl: option '--vm' needs a value" "usage: hyvectl " "$HYVECTL" --status --vm
usage_err "hyvectl: unexpected argument 'x'" "usage: hyvectl " "$HYVECTL" --vm=x --status x
for p in "$CKP" "$HYVECTL"; do
	out=$("$p" --help) || fail "$p --help: exit status $?"
	grep -q "^usage: ${p##*/} " <<<"$out" || fail "$p --help prints no usage: $out"
done
echo PASS
