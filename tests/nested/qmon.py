#!/usr/bin/env python3
# Send human-monitor (HMP) commands to a QEMU monitor socket and print each
# answer: tests/nested/run.sh uses it to record where a stalled L1 is.
#   qmon.py SOCKET COMMAND...
import socket
import sys


def read_prompt(s):
    out = b''
    while not out.endswith(b'(qemu) '):
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        out += d
    return out.decode(errors='replace')


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: qmon.py SOCKET COMMAND...')
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sys.argv[1])
    read_prompt(s)
    for cmd in sys.argv[2:]:
        s.sendall(cmd.encode() + b'\n')
        ans = read_prompt(s)
        print('(qemu) ' + cmd)
        # The monitor echoes the command line first.
        print(ans.replace('(qemu) ', '').split('\n', 1)[-1].rstrip())


if __name__ == '__main__':
    main()
