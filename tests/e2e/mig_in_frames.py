#!/usr/bin/env python3
# Frames of a keyed checkpoint stream (docs/MIGRATION.md sections 2, 3), for
# tests/e2e/mig_in_*.sh: read a one-way stream file that `ckp convert
# --migrate-key` wrote, change its frames, and write them again as a
# one-way file or send them as a two-way source over a unix socket,
# printing the destination's answers.  Keyed so that python needs no XXH3
# (the cryptography module has HKDF and AES-GCM).
#   mig_in_frames.py list KEY IN
#   mig_in_frames.py file KEY IN OUT EDIT...
#   mig_in_frames.py send KEY IN SOCKET EDIT...
# EDIT: drop:TYPE (every frame of that type), keep:N (the first N frames),
# insert:N:TYPE:HEX (a frame before frame N; N=-1 at the end),
# state-from:FILE (STATE taken from another stream of the same key),
# pages-at:OFF (the first PAGES frame moved to offset OFF).
import os, select, socket, struct, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NAMES = {0x01: 'HELLO', 0x10: 'PAGES', 0x11: 'ZERO', 0x12: 'ROUND',
         0x20: 'STATE', 0x21: 'END', 0x22: 'GO', 0x7f: 'ABORT',
         0x81: 'ACCEPT', 0x83: 'READY', 0x84: 'RUNNING'}
TYPES = {v: k for k, v in NAMES.items()}

def key_for(secret, salt, role):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=b'ckp stream v1 ' + role).derive(secret)

def preamble(flags):
    return b'CKPS' + struct.pack('<HH', 1, flags) + os.urandom(32)

def frame(aes, typ, seq, payload):
    hdr = struct.pack('<BBHIQ', typ, 0, 0, len(payload), seq)
    iv = b'\0' * 4 + struct.pack('<Q', seq)
    return hdr + aes.encrypt(iv, payload, hdr)

def read_frames(aes, data):
    out, off, seq = [], 0, 0
    while off + 16 <= len(data):
        typ, _, _, ln, sq = struct.unpack_from('<BBHIQ', data, off)
        hdr = data[off:off + 16]
        body = data[off + 16:off + 16 + ln + 16]
        iv = b'\0' * 4 + struct.pack('<Q', sq)
        out.append((typ, aes.decrypt(iv, body, hdr)))
        off += 16 + ln + 16
        seq += 1
    return out

def read_file(secret, path):
    data = open(path, 'rb').read()
    pre = data[:40]
    aes = AESGCM(key_for(secret, pre + b'\0' * 40, b'writer'))
    return read_frames(aes, data[40:])

def edit(frames, secret, edits):
    for e in edits:
        op, _, arg = e.partition(':')
        if op == 'drop':
            frames = [f for f in frames if f[0] != TYPES[arg]]
        elif op == 'keep':
            frames = frames[:int(arg)]
        elif op == 'insert':
            n, t, h = arg.split(':')
            n = int(n)
            f = (TYPES[t] if t in TYPES else int(t, 0), bytes.fromhex(h))
            if n < 0:
                frames.append(f)
            else:
                frames.insert(n, f)
        elif op == 'state-from':
            other = [f for f in read_file(secret, arg) if f[0] == 0x20]
            frames = [other[0] if f[0] == 0x20 else f for f in frames]
        elif op == 'pages-at':
            for i, f in enumerate(frames):
                if f[0] == 0x10:
                    frames[i] = (0x10, struct.pack('<Q', int(arg, 0)) + f[1][8:])
                    break
        else:
            sys.exit('unknown edit ' + e)
    return frames

def answers_of(aes, data):
    for typ, p in read_frames(aes, data):
        name = NAMES.get(typ, hex(typ))
        if typ == 0x7f:
            # The reason is the document's one string: show its printable run.
            txt = ''.join(chr(c) if 32 <= c < 127 else '\n' for c in p)
            name += ' ' + max(txt.split('\n'), key=len)
        print('answer', name)

def send(secret, frames, path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    pw = preamble(1)
    s.sendall(pw)
    pr = b''
    while len(pr) < 40:
        c = s.recv(40 - len(pr))
        if not c:
            print('answer none: closed before its preamble')
            return
        pr += c
    salt = pw + pr
    w = AESGCM(key_for(secret, salt, b'writer'))
    r = AESGCM(key_for(secret, salt, b'reader'))
    got = b''
    try:
        for seq, (typ, p) in enumerate(frames):
            s.sendall(frame(w, typ, seq, p))
            while select.select([s], [], [], 0)[0]:
                c = s.recv(65536)
                if not c:
                    raise BrokenPipeError
                got += c
        s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            got += c
    except ConnectionResetError:
        pass
    answers_of(r, got)

def main():
    cmd, secret = sys.argv[1], open(sys.argv[2], 'rb').read()
    frames = read_file(secret, sys.argv[3])
    if cmd == 'list':
        for t, p in frames:
            print(NAMES.get(t, hex(t)), len(p))
        return
    frames = edit(frames, secret, sys.argv[5:])
    if cmd == 'file':
        pw = preamble(1 | 2)
        w = AESGCM(key_for(secret, pw + b'\0' * 40, b'writer'))
        with open(sys.argv[4], 'wb') as f:
            f.write(pw)
            for seq, (t, p) in enumerate(frames):
                f.write(frame(w, t, seq, p))
    elif cmd == 'send':
        send(secret, frames, sys.argv[4])

main()
