#!/usr/bin/env bash
# hyve's demo: the seed review's test plan (bhyve D29262), live.
#
# A guest on 2 vCPUs copies data from one virtio-blk disk to another
# while it pings a peer over virtio-net (a tap in a network namespace made
# for the demo).  Half-way through the copy it is suspended with hyvectl
# into a checkpoint you can read (printed below), then restored by a new
# hyve process from the checkpoint alone; both workloads finish, and the
# copy's checksum is compared with the host's.
#
# The guest is a stock Linux kernel (the Debian kernel in /boot, with
# guest/linux's initramfs: dd and ping) when this host's KVM can run one
# (kvm_intel, kvm_amd), else hyve's own test guest (build/guest.elf); the
# demo says which.
#
#   scripts/demo.sh                 (as root: network namespaces and taps)
#   scripts/demo.sh --guest linux   or --guest test: choose the guest
#   scripts/demo.sh --nested        the Linux demo inside a hardware-assisted
#                                   KVM host built with QEMU (docs/NESTED.md),
#                                   on any machine, /dev/kvm or not
#   BUILD=dir KEEP=1 scripts/demo.sh   build directory; keep the files
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
GUESTKIND=auto NESTED=0
while [ $# -gt 0 ]; do
	case $1 in
	--guest) GUESTKIND=${2:-}; shift 2 ;;
	--guest=*) GUESTKIND=${1#--guest=}; shift ;;
	--nested) NESTED=1; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case $GUESTKIND in auto|linux|test) ;; *) echo "demo: --guest linux or --guest test" >&2; exit 2 ;; esac

bold() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root: the demo makes a network namespace and a tap device"

# Inside the nested tier's L1 the machine's root is shared read-only and
# already set up and built.
if [ "${HYVE_NESTED:-0}" != 1 ]; then
	bold "setup and build"
	scripts/setup.sh
	make -j"$(nproc)" BUILD="$BUILD" all >/dev/null
fi
if [ "$NESTED" = 1 ]; then
	bold "the Linux demo inside L1, a hardware-assisted KVM host under QEMU (docs/NESTED.md)"
	exec tests/nested/run.sh -v -b "$BUILD" -c qemu64 "$(pwd)/scripts/demo.sh"
fi
if [ ! -e /dev/kvm ]; then
	die "/dev/kvm is missing: hyve needs KVM (load kvm_intel or kvm_amd, or run on a host with nested virtualisation); scripts/demo.sh --nested runs the demo in a KVM host it builds with QEMU"
fi
HYVE=$BUILD/hyve HYVECTL=$BUILD/hyvectl CKP=$BUILD/ckp GUEST=$BUILD/guest.elf XXH=$BUILD/guest/xxh64sum
for f in "$HYVE" "$HYVECTL" "$CKP" "$GUEST" "$XXH"; do [ -x "$f" ] || [ -f "$f" ] || die "$f was not built"; done
echo "built $HYVE, $HYVECTL, $CKP, $GUEST"
kvmmod=$(ls /sys/module | grep -m1 -E '^kvm_(intel|amd|pvm)$' || echo unknown)
if [ "$GUESTKIND" = auto ]; then
	case $kvmmod in kvm_intel|kvm_amd) GUESTKIND=linux ;; *) GUESTKIND=test ;; esac
fi
KVER=
if [ "$GUESTKIND" = linux ]; then
	for v in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V); do
		[ -d "/lib/modules/$v/kernel/drivers/virtio" ] && KVER=$v
	done
	[ -n "$KVER" ] || die "no Debian kernel in /boot with its modules (linux-image-amd64)"
	echo "guest: stock Linux $KVER (/boot/vmlinuz-$KVER, a bzImage) on $kvmmod"
else
	note=
	[ "$kvmmod" = kvm_pvm ] && note=", which cannot run a stock Linux kernel (scripts/demo.sh --nested shows that)"
	echo "guest: hyve's test guest ($GUEST) on $kvmmod$note"
fi

DIR=$(mktemp -d /tmp/hyve-demo.XXXXXX)
NS=hyve-demo-$$
export HYVE_RUNDIR=$DIR/run
HPID= TPID=
cleanup() {
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	[ -n "$HPID" ] && kill -9 "$HPID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then echo "files kept in $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold "a network namespace with tap0 (10.0.0.1), two disks"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" addr add 10.0.0.1/24 dev tap0
ip -n "$NS" link set tap0 up
src=$DIR/src.img dst=$DIR/dst.img con=$DIR/console.log ck=$DIR/demo.ckp
if [ "$GUESTKIND" = linux ]; then
	# Under nested emulation everything is slower: a smaller copy.
	MB=${COPY_MB:-$([ "${HYVE_NESTED:-0}" = 1 ] && echo 128 || echo 500)}
	head -c "${MB}M" /dev/urandom >"$src"
	truncate -s $((MB + 12))M "$src"
	truncate -s $((MB + 12))M "$dst"
	want=$(head -c "${MB}M" "$src" | sha256sum | cut -d' ' -f1)
	echo "namespace $NS; $src ($MB MiB of random data, sha256 $want), $dst (empty)"
	guest/linux/build-initramfs.sh "$DIR/initrd.cpio" "$KVER"
else
	MB=500
	head -c 1M /dev/urandom >"$DIR/r"
	for i in $(seq 480); do cat "$DIR/r"; done >"$src"
	head -c 20M /dev/urandom >>"$src"
	rm "$DIR/r"
	truncate -s 512M "$src"
	truncate -s 512M "$dst"
	want=$("$XXH" "$src" 500M)
	echo "namespace $NS; $src (512 MiB, XXH64 of the first 500 MiB: $want), $dst (empty)"
fi

# The guest's console, as it comes.
: >"$con"
tail -n +1 -f "$con" 2>/dev/null | sed -u 's/\r$//; s/^/    guest | /' &
TPID=$!

# The disks have a bandwidth limit (bps=) so that the copy lasts long
# enough to watch, whatever the machine.
if [ "$GUESTKIND" = linux ]; then
	bps=$([ "${HYVE_NESTED:-0}" = 1 ] && echo 16M || echo 64M)
	append="console=ttyS0 quiet panic=-1 hyve.run=seed hyve.copy=$MB hyve.pings=200"
	bold "boot: hyve -c 2 -m 512M ... --kernel /boot/vmlinuz-$KVER --initrd ... demo"
	ip netns exec "$NS" "$HYVE" -c 2 -m 512M -s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
		-s 3,virtio-blk,"$src",bps=$bps -s 4,virtio-blk,"$dst",bps=$bps -l com1,"$con" \
		--kernel "/boot/vmlinuz-$KVER" --initrd "$DIR/initrd.cpio" --append "$append" demo \
		</dev/null >"$DIR/hyve1.log" 2>&1 &
	half="^COPY ([0-9]+)/$MB MiB"
else
	bold "boot: hyve -c 2 -m 256M ... --append \"copy 500M ; ping 60 10.0.0.1 10.0.0.2\" demo"
	ip netns exec "$NS" "$HYVE" -c 2 -m 256M -s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
		-s 3,virtio-blk,"$src",bps=256M -s 4,virtio-blk,"$dst",bps=256M -l com1,"$con" \
		--kernel "$GUEST" --append "copy 500M ; ping 60 10.0.0.1 10.0.0.2" demo \
		</dev/null >"$DIR/hyve1.log" 2>&1 &
	half="^COPY copy ([0-9]+)M/500M"
fi
HPID=$!
# Half-way through the copy.
for i in $(seq 60000); do
	n=$(grep -Eo "$half" "$con" | tail -n 1 | grep -Eo '[0-9]+' | head -n 1 || true)
	[ -n "$n" ] && [ "$n" -ge $((MB / 2)) ] && break
	kill -0 "$HPID" 2>/dev/null || { cat "$DIR/hyve1.log"; die "hyve stopped"; }
	sleep 0.01
done
bold "suspend: hyvectl --vm=demo --suspend $ck"
"$HYVECTL" --vm=demo --suspend "$ck"
wait "$HPID" || true
HPID=
sleep 0.2
cat "$DIR/hyve1.log"

bold "the checkpoint: two files"
ls -l "$ck" "$ck.meta"
printf '%s: %s MiB apparent, %s MiB allocated (zero pages are holes)\n' "${ck##*/}" \
	"$(( $(stat -c %s "$ck") >> 20 ))" "$(( $(du -k "$ck" | cut -f1) >> 10 ))"
bold "the meta is JSON with typed keys (an excerpt of the file itself)"
grep -n -m1 -A7 '"vcpu@0": {' "$ck.meta"
echo "..."
bold "ckp show (an excerpt: the header, vCPU 0's registers, a disk)"
"$CKP" show "$ck.meta" | sed -n '/^header/,/^config/p' | sed '$d'
"$CKP" get "$ck.meta" devices.vcpu@0 | sed -n '1,19p'
"$CKP" get "$ck.meta" devices.virtio-blk@0 | sed -n '1,8p'
echo "..."
for p in devices.vcpu@0.rip devices.vcpu@0.cr3 devices.virtio-net@0.mac ram.checksum; do
	printf 'ckp get %s: %s\n' "$p" "$("$CKP" get "$ck.meta" "$p")"
done
echo "sections: $("$CKP" show "$ck.meta" | grep -c '(v[0-9]*)$'), fields: $("$CKP" show "$ck.meta" | grep -vc '(v[0-9]*)$')"

bold "restore in a new process: hyve -r $ck"
ip netns exec "$NS" "$HYVE" -r "$ck" </dev/null >"$DIR/hyve2.log" 2>&1 &
HPID=$!
wait "$HPID" || true
HPID=
sleep 0.3
cat "$DIR/hyve2.log"

bold "verdicts"
kill "$TPID" 2>/dev/null; TPID=
ok=1
if [ "$GUESTKIND" = linux ]; then
	tr -d '\r' <"$con" >"$con.txt"
	got=$(head -c "${MB}M" "$dst" | sha256sum | cut -d' ' -f1)
	grep -q "^COPY DONE $MB MiB" "$con.txt" && echo "guest: COPY DONE $MB MiB" || { echo "guest: no COPY DONE"; ok=0; }
	echo "host: sha256 of the target disk $got, of the source $want"
	[ "$got" = "$want" ] && echo "the target disk equals the source" || ok=0
	ping=$(grep -o '^PING sent=.*' "$con.txt" || true)
	echo "guest: ${ping:-no PING summary}"
	sent=$(sed -n 's/^PING sent=\([0-9]*\) .*/\1/p' <<<"$ping")
	recv=$(sed -n 's/.*received=\([0-9]*\)$/\1/p' <<<"$ping")
	[ -n "$sent" ] && [ "$sent" -gt 0 ] && [ $((recv * 10)) -ge $((sent * 9)) ] || ok=0
	grep -q '^TICK .*dmesg=BAD\|^TICK .*clock=BACK\|^TICK .*mem=BAD' "$con.txt" && { echo "guest: a check failed"; ok=0; }
	echo "guest: $(grep -c '^TICK .*mem=OK dmesg=OK clock=OK$' "$con.txt") monitor ticks, memory, kernel log and clock clean"
else
	got=$(sed -n 's/^COPY OK \([0-9a-f]\{16\}\)$/\1/p' "$con")
	echo "guest: COPY OK ${got:-missing}    host: xxh64sum $want"
	cmp -n $((500 << 20)) "$src" "$dst" && echo "cmp: the target disk equals the source"
	grep -E '^PING (OK|FAIL)' "$con" || echo "no PING verdict"
	[ -n "$got" ] && [ "$got" = "$want" ] && grep -q '^PING OK' "$con" || ok=0
fi
"$CKP" check "$ck" && echo "ckp check: the checkpoint is intact"
if [ "$ok" = 1 ]; then
	bold "both workloads finished after the restore ($GUESTKIND guest)"
else
	die "a workload did not finish OK"
fi
