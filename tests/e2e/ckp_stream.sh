#!/usr/bin/env bash
# Real checkpoints through a stream file and back (docs/MIGRATION.md
# section 8): every frozen set's checkpoint and suspend (tests/compat/vN,
# written by the hyve of that format version) becomes a one-way stream,
# unkeyed and keyed, with `ckp convert`; `ckp check` reads it whole; `ckp
# convert` makes a checkpoint of it again, whose RAM file is the same byte
# for byte and whose meta differs only in ram.file.  That checkpoint is
# then restored by hyve -r, and the guest finishes with the set's results
# (on a host of another kind than the set's, the restore is refused by
# design and SKIPs, as in ckp_frozen.sh).
. "$(dirname "$0")/ckp_lib.inc"
. "$(dirname "$0")/../compat/frozen.inc"
make_netns
set_tap_mac
here=$(host_kind)
trips=0 restores=0 refused=0

unxz_sparse() { xz -dc "$1" | cp --sparse=always /dev/stdin "$2" || fail "cannot unpack $1"; }

head -c 64 /dev/urandom >"$TMP/key"
chmod 600 "$TMP/key"
for dir in tests/compat/v*/; do
	v=$(basename "$dir")
	made_on=$(cat "$dir/host")
	copy_ok=$(grep '^COPY OK ' "$dir/expect") || fail "$dir/expect: no COPY OK line"
	mkdir "$TMP/$v"
	unxz_sparse "$dir/src.img.xz" "$TMP/$v/src.img"
	for n in ckpt susp; do
		d=$TMP/$v/$n
		mkdir "$d"
		cp "$dir/$n.ckp.meta" "$d/$n.ckp.meta"
		unxz_sparse "$dir/$n.ckp.xz" "$d/$n.ckp"
		unxz_sparse "$dir/$n.dst.img.xz" "$d/dst.img"
		for keyed in "" "--migrate-key $TMP/key"; do
			rm -f "$d/s.ckps" "$d/back.ckp" "$d/back.ckp.meta"
			# shellcheck disable=SC2086
			"$CKP" convert $keyed "$d/$n.ckp" "$d/s.ckps" ||
				fail "$v/$n: ckp convert to a stream ($keyed)"
			# shellcheck disable=SC2086
			out=$("$CKP" check $keyed "$d/s.ckps" 2>&1) ||
				fail "$v/$n: ckp check of the stream: $out"
			tail -n 1 <<<"$out" | grep -qx "$d/s.ckps: ok" || fail "$v/$n: $out"
			# shellcheck disable=SC2086
			[ "$("$CKP" get $keyed "$d/s.ckps" devices.vcpu@0.rip 2>/dev/null)" = \
			    "$("$CKP" get "$d/$n.ckp.meta" devices.vcpu@0.rip)" ] ||
				fail "$v/$n: ckp get of the stream's STATE"
			# shellcheck disable=SC2086
			"$CKP" convert $keyed "$d/s.ckps" "$d/back.ckp" ||
				fail "$v/$n: ckp convert of the stream to a checkpoint"
			cmp "$d/$n.ckp" "$d/back.ckp" || fail "$v/$n: RAM differs after the round trip"
			out=$("$CKP" diff "$d/$n.ckp.meta" "$d/back.ckp.meta")
			[ "$out" = "~ ram.file\$string: \"$n.ckp\" -> \"back.ckp\"" ] ||
				fail "$v/$n: the metas differ: $out"
			out=$("$CKP" check "$d/back.ckp" 2>&1) || fail "$v/$n: ckp check: $out"
			trips=$((trips + 1))
		done
		[ $n = ckpt ] || continue
		name=$v-$n-stream
		start "$name" -r "$d/back.ckp" -o pci.0.3.0.path="$TMP/$v/src.img" \
			-o pci.0.4.0.path="$d/dst.img" -l com1,"$d/console" "$name"
		wait_exit "$PID" 120
		no_crash "$TMP/$name.log"
		if [ "$RC" != 0 ] && [ "$here" != "$made_on" ] &&
			grep -Eq "this host|KVM_SET_MSRS" "$TMP/$name.log"; then
			echo "$name: made on '$made_on', this host is '$here': $(head -n 1 "$TMP/$name.log")"
			refused=$((refused + 1))
			continue
		fi
		[ "$RC" = 0 ] || fail "$name: hyve -r exited $RC: $(cat "$TMP/$name.log")"
		grep -q '^HYVE-GUEST' "$d/console" && fail "$name: the guest booted again"
		got=$(grep '^COPY OK' "$d/console")
		[ "$got" = "$copy_ok" ] || fail "$name: the restored guest printed '$got', the set expects '$copy_ok'"
		grep -qx 'GUEST EXIT status=0' "$d/console" || fail "$name: the guest did not exit 0"
		echo "$name: $got"
		restores=$((restores + 1))
	done
done
[ "$trips" -gt 0 ] || fail "no frozen checkpoint set in tests/compat/"
all_clean
echo "$trips round trips through a stream; $restores restored to the expected results"
if [ "$restores" = 0 ]; then
	echo "SKIP: the frozen checkpoints' vCPU state is another CPU's ($refused restores refused by design); the round trips passed"
	exit 77
fi
echo PASS
