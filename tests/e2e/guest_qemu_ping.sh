#!/usr/bin/env bash
# ping under QEMU: a tap device in a network namespace this test creates
# (and always deletes), the peer address configured inside it, QEMU run
# inside it with a modern virtio-net device.  Meanwhile the namespace pings
# the guest (after flushing its ARP cache) to check the guest answers ARP
# and echo requests too.  The host's own namespace is never touched.
source "$(dirname "$0")/../../guest/tools/qemu_test_lib.sh"

command -v ip >/dev/null 2>&1 || skip "iproute2 (ip) is not installed"
NS=hyve-gping-$$
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace (needs root)"
CLEANUPS+=("ip netns del $NS")
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev tap0 mode tap || fail "cannot create a tap device in $NS"
ip -n "$NS" addr add 10.0.0.1/24 dev tap0
ip -n "$NS" link set tap0 up

net=(-netdev tap,id=n0,ifname=tap0,script=no,downscript=no
	-device virtio-net-pci,netdev=n0,disable-legacy=on)
NETNS_EXEC="ip netns exec $NS"

# the guest pings 30 times (3 s) while the namespace pings it
run_guest ping q35 1 128 "verbose=1 ping 30 10.0.0.1 10.0.0.2" "${net[@]}" &
qpid=$!
peer_ok=1
for i in $(seq 100); do
	grep -q '^PING peer ' "$TMP/ping.out" 2>/dev/null && break
	sleep 0.1
done
ip -n "$NS" neigh flush dev tap0
if command -v ping >/dev/null 2>&1; then
	ip netns exec "$NS" ping -c 3 -i 0.2 -W 2 10.0.0.2 >"$TMP/hostping" 2>&1 || peer_ok=0
elif command -v python3 >/dev/null 2>&1; then
	ip netns exec "$NS" python3 guest/tools/icmp_ping.py 10.0.0.2 3 >"$TMP/hostping" 2>&1 ||
		peer_ok=0
else
	peer_ok=skipped
	echo "note: no ping(8) nor python3: the guest's echo replies are not checked"
fi
wait $qpid || true
OUT=$TMP/ping.out
# run_guest ran in a subshell: recompute its verdict from the console
grep -q '^GUEST EXIT status=0$' "$OUT" || fail "guest did not exit with status 0"
expect_line '^PING start count=30 peer=10.0.0.1 guest=10.0.0.2 mac=[0-9a-f:]{17} '
expect_line '^PING peer 10.0.0.1 is at [0-9a-f:]{17}$'
expect_line '^PING progress sent=[0-9]+ received=[0-9]+ ticks=[0-9]+$'
expect_line '^PING OK sent=30 received=(2[7-9]|30)$'
[ $peer_ok != 0 ] || { cat "$TMP/hostping"; fail "the guest did not answer pings from the namespace"; }
if [ $peer_ok = 1 ]; then
	# and the guest counted them: its ARP replies and echo replies
	expect_line '^PING stats .* arp_answered=[1-9][0-9]* echo_answered=([3-9]|[1-9][0-9]+)$'
fi

# two workloads on two vCPUs: ping and ticks; and a peer that is not there
run_guest pair q35 2 128 "ping 10 10.0.0.1 10.0.0.2 ; ticks 50" "${net[@]}"
expect_status 0
expect_line '^PING OK sent=10 received=(9|10)$'
expect_line '^TICKS OK n=50 '
run_guest nopeer q35 1 128 "ping 5 10.0.0.9 10.0.0.2" "${net[@]}"
expect_status 1
expect_line '^PING no ARP reply from 10.0.0.9'
expect_line '^PING FAIL sent=0 received=0$'
echo PASS
