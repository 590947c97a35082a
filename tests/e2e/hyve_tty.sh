#!/usr/bin/env bash
# On a terminal, -l com1,stdio puts it in character mode while the guest
# runs and restores it on every way out: power-off, guest fault, SIGTERM.
source "$(dirname "$0")/hyve_lib.inc"
need_kvm
command -v script >/dev/null || fail "script(1) (util-linux) is missing"

# Runs inside a pseudo-terminal made by script(1).
cat >"$TMP/inner.sh" <<'INNER'
set -u
H=$1 G=$2 T=$3 how=$4
stty -g >"$T/$how.before"
case $how in
off)	app="ticks 100" ;;
fault)	app="ticks 100 ; fault triple" ;;
term)	app="ticks 100000" ;;
esac
"$H" -c 2 -m 32M -l com1,stdio --kernel "$G" --append "$app" tty </dev/tty >"$T/$how.out" 2>"$T/$how.err" &
pid=$!
for i in $(seq 200); do grep -qs '^HYVE-GUEST' "$T/$how.out" && break; sleep 0.02; done
stty -g >"$T/$how.during"
[ "$how" = term ] && kill -TERM $pid
wait $pid
echo $? >"$T/$how.rc"
stty -g >"$T/$how.after"
INNER

for how in off fault term; do
	script -qec "bash $TMP/inner.sh $HYVE $GUEST $TMP $how" /dev/null </dev/null >/dev/null 2>&1
	OUT=$TMP/$how.out ERR=$TMP/$how.err RC=$(cat "$TMP/$how.rc" 2>/dev/null || echo none)
	name=$how
	echo "$how: rc=$RC"
	case $how in
	off) expect_rc 0 ;;
	fault) expect_rc 3 ;;
	term) expect_rc 143 ;;
	esac
	no_crash
	[ -s "$TMP/$how.before" ] || fail "$how: no terminal state recorded"
	# (the fault comes right after the banner: too fast to look at)
	[ "$how" = fault ] || ! cmp -s "$TMP/$how.before" "$TMP/$how.during" ||
		fail "$how: the terminal was not switched to character mode"
	cmp -s "$TMP/$how.before" "$TMP/$how.after" ||
		fail "$how: terminal settings not restored"
done
echo PASS
