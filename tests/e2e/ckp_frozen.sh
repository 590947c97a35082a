#!/usr/bin/env bash
# Frozen checkpoints keep working: every tests/compat/vN/ set (made once
# by tests/compat/make-frozen.sh with the hyve of that format version and
# never edited: docs/HACKING.md) is checked, shown, converted and restored
# by this build.  Each set has a checkpoint (pre-copy rounds, the VM ran
# on) and a suspend of one VM with every device model, mid-way through a
# disk copy and a ping, each in the three meta encodings.  For each:
#  - ckp check passes (the meta's checksum, the RAM file's), ckp show and
#    ckp get work, and the JSON, bin and conf metas show the same document;
#    ckp convert of each to JSON shows it too;
#  - hyve -r (disks and tap given with -o, as an operator moving a
#    checkpoint would) restores it without booting and with no warning but
#    the disks' and the MAC's (an optional field renamed or dropped shows up
#    as an "unknown field ... ignored" warning), and the guest finishes
#    with the results in the set's `expect`: the copy's checksum, all 40
#    pings sent (a few may be lost over the stop).
# The vCPU state is the state of the CPU that made the set (its `host`
# file): on a host of another kind a refusal naming what this host lacks
# is by design, and the restores then SKIP (check/show/convert still run).
. "$(dirname "$0")/ckp_lib.inc"
. "$(dirname "$0")/../compat/frozen.inc"
make_netns
set_tap_mac
here=$(host_kind)
sets=0 restores=0 refused=0 shows=0

unxz_sparse() { xz -dc "$1" | cp --sparse=always /dev/stdin "$2" || fail "cannot unpack $1"; }

for dir in tests/compat/v*/; do
	v=$(basename "$dir")
	[ -f "$dir/expect" ] || fail "$dir has no expect file"
	sets=$((sets + 1))
	made_on=$(cat "$dir/host")
	copy_ok=$(grep '^COPY OK ' "$dir/expect") || fail "$dir/expect: no COPY OK line"
	mkdir "$TMP/$v"
	unxz_sparse "$dir/src.img.xz" "$TMP/$v/src.img"
	for n in ckpt susp; do
		ref=
		for enc in json bin conf; do
			d=$TMP/$v/$n-$enc
			mkdir "$d"
			case $enc in
			json) cp "$dir/$n.ckp.meta" "$d/$n.ckp.meta" ;;
			*) cp "$dir/$n.$enc.meta" "$d/$n.ckp.meta" ;;
			esac
			unxz_sparse "$dir/$n.ckp.xz" "$d/$n.ckp"
			unxz_sparse "$dir/$n.dst.img.xz" "$d/dst.img"
			m=$d/$n.ckp.meta
			out=$("$CKP" check "$m" 2>&1) || fail "$v/$n ($enc): ckp check: $out"
			grep -q "^$m: $enc encoding, " <<<"$out" || fail "$v/$n ($enc): ckp check says: $out"
			tail -n 1 <<<"$out" | grep -qx "$m: ok" || fail "$v/$n ($enc): ckp check: $out"
			show=$("$CKP" show "$m" 2>&1) || fail "$v/$n ($enc): ckp show: $show"
			[ -n "$ref" ] || ref=$show
			[ "$show" = "$ref" ] || fail "$v/$n: the $enc meta shows another document than the JSON one:
$(diff <(echo "$ref") <(echo "$show") | head -n 20)"
			"$CKP" convert --to json "$m" "$d/conv.json" || fail "$v/$n ($enc): ckp convert"
			[ "$("$CKP" show "$d/conv.json")" = "$ref" ] || fail "$v/$n ($enc): converted to JSON, another document"
			[ "$("$CKP" get "$m" checkpoint.kind)" = "$([ $n = ckpt ] && echo checkpoint || echo suspend)" ] ||
				fail "$v/$n ($enc): checkpoint.kind is $("$CKP" get "$m" checkpoint.kind)"
			shows=$((shows + 1))

			name=$v-$n-$enc
			start "$name" -r "$d/$n.ckp" -o pci.0.3.0.path="$TMP/$v/src.img" \
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
			# A renamed or dropped optional field restores with an
			# "unknown field ... ignored" warning and its default:
			# only the warnings moving a set always gives are allowed
			# (the disks were unpacked again, the tap has another MAC).
			odd=$(grep 'warning: ' "$TMP/$name.log" | grep -Ev \
				-e 'warning: "[^"]*" changed since the checkpoint was taken \(virtio-blk@' \
				-e "warning: virtio-net@[^:]*: the checkpoint's MAC [0-9a-f:]+ replaces [0-9a-f:]+\$")
			[ -z "$odd" ] || fail "$name: restored with a warning a frozen set must not give (a field renamed or dropped?):
$odd"
			grep -q '^HYVE-GUEST' "$d/console" && fail "$name: the guest booted again"
			got=$(grep '^COPY OK' "$d/console")
			[ "$got" = "$copy_ok" ] || fail "$name: the restored guest printed '$got', the set expects '$copy_ok'"
			p=$(grep '^PING OK' "$d/console")
			[[ $p =~ ^PING\ OK\ sent=40\ received=(3[5-9]|40)$ ]] || fail "$name: '$p'"
			grep -qx 'GUEST EXIT status=0' "$d/console" || fail "$name: the guest did not exit 0"
			echo "$name: $(grep -o 'restored from .*' "$TMP/$name.log" | sed "s|$d/||"); $got, $p"
			restores=$((restores + 1))
		done
	done
done
[ "$sets" -gt 0 ] || fail "no frozen checkpoint set in tests/compat/"
all_clean
echo "$sets frozen sets: $shows checkpoints checked, shown and converted; $restores restored to the expected results"
if [ "$restores" = 0 ]; then
	echo "SKIP: the frozen checkpoints' vCPU state is another CPU's ($refused restores refused by design); check, show and convert passed"
	exit 77
fi
[ "$refused" = 0 ] || echo "$refused restores refused: made on another kind of host"
echo PASS
