#!/usr/bin/env python3
"""icmp_ping.py ADDR [COUNT]: ICMP echo requests through a raw socket (root),
for hosts without ping(8).  Exit 0 iff every request got its reply."""
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    dst = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.5)
    ok = 0
    for seq in range(count):
        data = b"hyve-guest-test!" * 2
        hdr = struct.pack("!BBHHH", 8, 0, 0, 0x6879, seq)
        pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + data), 0x6879, seq) + data
        s.sendto(pkt, (dst, 0))
        deadline = time.time() + 2
        while time.time() < deadline:
            try:
                buf, addr = s.recvfrom(2048)
            except socket.timeout:
                continue
            ihl = (buf[0] & 15) * 4
            t, _, _, ident, sq = struct.unpack("!BBHHH", buf[ihl:ihl + 8])
            if addr[0] == dst and t == 0 and ident == 0x6879 and sq == seq:
                if buf[ihl + 8:] == data:
                    ok += 1
                break
        print("seq %d: %s" % (seq, "reply" if ok == seq + 1 else "no reply"))
    return 0 if ok == count else 1


sys.exit(main())
