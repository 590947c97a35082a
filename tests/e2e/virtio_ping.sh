#!/usr/bin/env bash
# hyve's virtio-net end to end: a tap device in a network namespace this
# test creates (and always deletes), the peer address inside it, hyve run
# inside it.  The guest pings the peer (`ping 30 ...`) while the namespace
# pings the guest (after flushing its ARP cache), so both directions and
# ARP are checked.  Then a configured MAC must be the one the guest uses.
# The host's own namespace is never touched.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HYVE=$BUILD/hyve GUEST=$BUILD/guest.elf

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -n "${OUT:-}" ] && [ -f "$OUT" ] && sed 's/^/    console: /' "$OUT" | tail -n 30; exit 1; }
[ -e /dev/kvm ] || skip "/dev/kvm is absent"
for f in "$HYVE" "$GUEST"; do [ -f "$f" ] || fail "$f is not built (make BUILD=$BUILD)"; done
command -v ip >/dev/null 2>&1 || fail "iproute2 (ip) is not installed (scripts/setup.sh)"

TMP=$(mktemp -d /tmp/hyve-vping.XXXXXX)
NS=hyve-vping-$$
HPID=
cleanup() {
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || fail "cannot create network namespace $NS (needs root)"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev tap0 mode tap || fail "cannot create a tap device in $NS"
ip -n "$NS" addr add 10.0.0.1/24 dev tap0
ip -n "$NS" link set tap0 up

# run NAME CPUS APPEND [hyve args...] (in the namespace): console in $OUT, exit code in $RC
run() {
	local name=$1 ncpu=$2 append=$3
	shift 3
	OUT=$TMP/$name.out
	timeout ${HYVE_TIMEOUT:-120} ip netns exec "$NS" "$HYVE" -c "$ncpu" -m 128M \
		-s 0,hostbridge -s 1,lpc "$@" -l com1,"$OUT" --kernel "$GUEST" \
		--append "$append" "vping-$$" </dev/null >"$TMP/$name.hyve" 2>&1
	RC=$?
	[ -f "$OUT" ] || touch "$OUT"
	echo "$name: hyve exit $RC"
	[ $RC -ne 124 ] || { cat "$TMP/$name.hyve"; fail "$name: hyve timed out"; }
}
expect_line() { grep -Eq -- "$1" "$OUT" || fail "no line matching '$1'"; }

run ping 1 "ping 30 10.0.0.1 10.0.0.2" -s 2,virtio-net,tap0 &
HPID=$!
for i in $(seq 100); do
	grep -q '^PING peer ' "$TMP/ping.out" 2>/dev/null && break
	sleep 0.1
done
# the namespace resolves the guest's address (the guest must answer ARP)
# and, where ping(8) is installed, pings it
ip -n "$NS" neigh flush dev tap0
peer_ok=1
ip netns exec "$NS" bash -c 'echo x >/dev/udp/10.0.0.2/9' 2>/dev/null
sleep 0.5
ip -n "$NS" neigh show 10.0.0.2 >"$TMP/nsneigh"
if command -v ping >/dev/null 2>&1; then
	ip netns exec "$NS" ping -c 3 -i 0.2 -W 2 10.0.0.2 >"$TMP/nsping" 2>&1 || peer_ok=0
else
	echo "ping(8) is not installed: the namespace checks ARP only" | tee "$TMP/nsping"
fi
wait "$HPID"
HPID=
OUT=$TMP/ping.out
grep -q '^GUEST EXIT status=0$' "$OUT" || fail "guest did not exit with status 0"
expect_line '^PING start count=30 peer=10.0.0.1 guest=10.0.0.2 mac=02:'
expect_line '^PING peer 10.0.0.1 is at [0-9a-f:]{17}$'
expect_line '^PING OK sent=30 received=(2[7-9]|30)$'
[ $peer_ok = 1 ] || { cat "$TMP/nsping"; fail "the guest did not answer pings from the namespace"; }
mac1=$(sed -n 's/^PING start .* mac=\([0-9a-f:]*\) .*/\1/p' "$OUT")
# the namespace learned the guest's MAC from its ARP answer
grep -qi "lladdr $mac1" "$TMP/nsneigh" || { cat "$TMP/nsneigh"; fail "the namespace did not resolve 10.0.0.2 to the guest's MAC $mac1"; }

# a configured MAC is the one the guest reads and uses
run mac 1 "ping 5 10.0.0.1 10.0.0.2" -s 2,virtio-net,tap0,mac=52:54:00:ab:cd:ef
[ $RC -eq 0 ] || { cat "$TMP/mac.hyve"; fail "hyve exited $RC"; }
expect_line '^PING start .* mac=52:54:00:ab:cd:ef '
expect_line '^PING OK sent=5 received=[45]$'
# the default MAC is stable for a VM name and slot
run again 1 "ping 2 10.0.0.1 10.0.0.2" -s 2,virtio-net,tap0
expect_line "^PING start .* mac=$mac1 "
echo PASS
