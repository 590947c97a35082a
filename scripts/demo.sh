#!/usr/bin/env bash
# hyve's demo: the seed review's test plan (bhyve D29262), live.
#
# A guest on 2 vCPUs copies 500 MiB from one virtio-blk disk to another
# while it pings a peer over virtio-net (a tap in a network namespace made
# for the demo).  Half-way through the copy it is suspended with hyvectl
# into a checkpoint you can read (printed below), then restored by a new
# hyve process from the checkpoint alone; both workloads finish, and the
# copy's checksum is compared with the host's.
#
#   scripts/demo.sh            (as root: network namespaces and taps)
#   BUILD=dir KEEP=1 scripts/demo.sh   build directory; keep the files
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

bold() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root: the demo makes a network namespace and a tap device"
if [ ! -e /dev/kvm ]; then
	die "/dev/kvm is missing: hyve needs KVM (load kvm_intel or kvm_amd, or run on a host with nested virtualisation)"
fi

bold "setup and build"
scripts/setup.sh
make -j"$(nproc)" BUILD="$BUILD" all >/dev/null
HYVE=$BUILD/hyve HYVECTL=$BUILD/hyvectl CKP=$BUILD/ckp GUEST=$BUILD/guest.elf XXH=$BUILD/guest/xxh64sum
for f in "$HYVE" "$HYVECTL" "$CKP" "$GUEST" "$XXH"; do [ -x "$f" ] || [ -f "$f" ] || die "$f was not built"; done
echo "built $HYVE, $HYVECTL, $CKP, $GUEST"

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
head -c 1M /dev/urandom >"$DIR/r"
for i in $(seq 480); do cat "$DIR/r"; done >"$src"
head -c 20M /dev/urandom >>"$src"
rm "$DIR/r"
truncate -s 512M "$src"
truncate -s 512M "$dst"
want=$("$XXH" "$src" 500M)
echo "namespace $NS; $src (512 MiB, XXH64 of the first 500 MiB: $want), $dst (empty)"

# The guest's console, as it comes.
: >"$con"
tail -n +1 -f "$con" 2>/dev/null | sed -u 's/^/    guest | /' &
TPID=$!

# The disks are limited to 256 MiB/s (bps=) so the copy lasts long enough
# to watch, whatever the machine.
bold "boot: hyve -c 2 -m 256M ... --append \"copy 500M ; ping 60 10.0.0.1 10.0.0.2\" demo"
ip netns exec "$NS" "$HYVE" -c 2 -m 256M -s 0,hostbridge -s 1,lpc -s 2,virtio-net,tap0 \
	-s 3,virtio-blk,"$src",bps=256M -s 4,virtio-blk,"$dst",bps=256M -l com1,"$con" \
	--kernel "$GUEST" --append "copy 500M ; ping 60 10.0.0.1 10.0.0.2" demo \
	</dev/null >"$DIR/hyve1.log" 2>&1 &
HPID=$!
# Half-way through the copy.
for i in $(seq 3000); do
	grep -Eq '^COPY copy (2[0-9][0-9]|3[0-9][0-9]|4[0-9][0-9])M/500M' "$con" && break
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
got=$(sed -n 's/^COPY OK \([0-9a-f]\{16\}\)$/\1/p' "$con")
echo "guest: COPY OK ${got:-missing}    host: xxh64sum $want"
cmp -n $((500 << 20)) "$src" "$dst" && echo "cmp: the target disk equals the source"
grep -E '^PING (OK|FAIL)' "$con" || echo "no PING verdict"
"$CKP" check "$ck" && echo "ckp check: the checkpoint is intact"
kill "$TPID" 2>/dev/null; TPID=
if [ -n "$got" ] && [ "$got" = "$want" ] && grep -q '^PING OK' "$con"; then
	bold "both workloads finished after the restore"
else
	die "a workload did not finish OK"
fi
