#!/usr/bin/env bash
# A checkpoint is trusted as a command line is: its meta names the host
# files hyve opens and its RAM file becomes guest memory.  So hyve -r
# refuses, before anything is created, a meta or RAM file owned by another
# user or writable by group or others, and a directory holding them that
# another user owns or that others can write without the sticky bit (also
# past a symbolic link): exit status 2, one line naming the file, its
# owner or mode, and --trust; no console file, no runtime directory.
# --trust restores such a checkpoint, and a sticky directory anyone can
# write (as /tmp) is taken: those restores finish.  Another user's
# temporary beside one's own checkpoint is left alone and named in a
# warning; the restore finishes.  --trust without -r is
# a usage error.  Tests run as root: "another user" is uid 65534.
. "$(dirname "$0")/ckp_lib.inc"

[ "$(id -u)" = 0 ] || skip "needs root to give files to another user (uid 65534)"

start base -m 32M -l com1,"$TMP/base.console" --kernel "$GUEST" --append "churn 100" base
pid=$PID
wait_for "$TMP/base.console" '^CHURN round 1/' 30
"$HYVECTL" --vm=base --suspend "$TMP/base.ckp" >/dev/null || fail "suspend failed"
wait_exit "$pid" 20
[ "$RC" = 0 ] || fail "the suspended hyve exited $RC"

copy() {	# copy NAME [DIR]: the checkpoint as DIR/NAME.ckp (DIR: $TMP)
	local d=${2:-$TMP}
	cp --sparse=always "$TMP/base.ckp" "$d/$1.ckp" && cp "$TMP/base.ckp.meta" "$d/$1.ckp.meta" ||
		fail "cannot copy the checkpoint"
}
# refused NAME CKP PATTERN
refused() {
	local n=$1 ckp=$2 pat=$3 rd=$TMP/rd-$1
	HYVE_RUNDIR=$rd timeout 60 "$HYVE" -r "$ckp" -l com1,"$TMP/$n.out.console" "$n" \
		</dev/null >"$TMP/$n.log" 2>&1
	RC=$?
	no_crash "$TMP/$n.log"
	[ "$RC" = 2 ] || fail "$n: exit status $RC, expected 2"
	[ "$(wc -l <"$TMP/$n.log")" = 1 ] || fail "$n: more than one line of messages"
	grep -Eq -- "^hyve: cannot restore $ckp: $pat" "$TMP/$n.log" ||
		fail "$n: message does not match '$pat'"
	grep -q -- '--trust' "$TMP/$n.log" || fail "$n: the message does not mention --trust"
	[ ! -e "$TMP/$n.out.console" ] || fail "$n: a device was created (console file)"
	[ ! -e "$rd" ] || fail "$n: the runtime directory was created (control socket)"
	echo "$n: $(cat "$TMP/$n.log")"
}
# restored NAME CKP [hyve args]: runs to the end, the guest finishing OK
restored() {
	local n=$1 ckp=$2
	shift 2
	start "$n" -r "$ckp" -l com1,"$TMP/$n.console" "$@" "$n"
	wait_exit "$PID" 60
	no_crash "$TMP/$n.log"
	[ "$RC" = 0 ] || fail "$n: exit $RC"
	[[ $(verdict "$TMP/$n.console" CHURN) == "CHURN OK "* ]] || fail "$n: the guest did not finish OK"
	echo "$n: $(verdict "$TMP/$n.console" CHURN)"
}

copy ometa
chown 65534 "$TMP/ometa.ckp.meta"
refused ometa "$TMP/ometa.ckp" "$TMP/ometa\\.ckp\\.meta is owned by uid 65534, not by this user \\(uid 0\\)"
copy oram
chown 65534:65534 "$TMP/oram.ckp"
refused oram "$TMP/oram.ckp" "$TMP/oram\\.ckp is owned by uid 65534"
copy gmeta
chmod 0660 "$TMP/gmeta.ckp.meta"
refused gmeta "$TMP/gmeta.ckp.meta" "$TMP/gmeta\\.ckp\\.meta is writable by group or others \\(mode 0660\\)"
copy wram
chmod 0602 "$TMP/wram.ckp"
refused wram "$TMP/wram.ckp" "$TMP/wram\\.ckp is writable by group or others \\(mode 0602\\)"

# The directory: another user's, or writable by others without the sticky bit.
mkdir "$TMP/odir" "$TMP/wdir" "$TMP/sdir" "$TMP/ldir"
copy odir "$TMP/odir"
chown 65534 "$TMP/odir"
refused odir "$TMP/odir/odir.ckp" "directory $TMP/odir \\(holding $TMP/odir/odir\\.ckp(\\.meta)?\\) is owned by uid 65534, not by this user \\(uid 0\\) or root \\(mode 0[0-7]+\\)"
copy wdir "$TMP/wdir"
chmod 0777 "$TMP/wdir"
refused wdir "$TMP/wdir/wdir.ckp" "directory $TMP/wdir \\(holding .*\\) is writable by group or others without the sticky bit \\(mode 0777"
# Past a symbolic link: the files' own directory counts too.
ln -s "$TMP/wdir/wdir.ckp.meta" "$TMP/ldir/link.ckp.meta"
ln -s "$TMP/wdir/wdir.ckp" "$TMP/ldir/link.ckp"
refused link "$TMP/ldir/link.ckp" "directory $TMP/wdir \\(holding $TMP/wdir/wdir\\.ckp(\\.meta)?\\) is writable by group or others"

# Another user's RAM temporary beside a checkpoint of one's own: recovery
# leaves it alone and the restore reads the published pair, but says so.
copy ramtmp
cp --sparse=always "$TMP/base.ckp" "$TMP/ramtmp.ckp.tmp"
chown 65534 "$TMP/ramtmp.ckp.tmp"
restored ramtmp "$TMP/ramtmp.ckp"
grep -Eq "^hyve: $TMP/ramtmp\.ckp: warning: checkpoint $TMP/ramtmp\.ckp: .*$TMP/ramtmp\.ckp\.tmp is owned by uid 65534.*leaves it alone" \
	"$TMP/ramtmp.log" || fail "ramtmp: the refused temporary is not named: $(cat "$TMP/ramtmp.log")"
[ -e "$TMP/ramtmp.ckp.tmp" ] || fail "ramtmp: recovery removed another user's temporary"
echo "ramtmp: $(grep -m1 warning: "$TMP/ramtmp.log")"

# --trust is the user's word for all of it; a sticky directory is fine.
restored trusted "$TMP/ometa.ckp" --trust
restored trustdir "$TMP/wdir/wdir.ckp" --trust
copy sdir "$TMP/sdir"
chmod 1777 "$TMP/sdir"
restored sticky "$TMP/sdir/sdir.ckp"

"$HYVE" --trust -m 32M --kernel "$GUEST" usage >"$TMP/usage.log" 2>&1
RC=$?
[ "$RC" = 2 ] && grep -q -- '--trust only applies to -r' "$TMP/usage.log" ||
	fail "--trust without -r: exit $RC, $(head -n 1 "$TMP/usage.log")"
all_clean
echo PASS
