#!/usr/bin/env python3
"""Checks the guest's `touch` pattern in a RAM image from the host.

    touch_check.py RAMFILE AT SIZE SEED [STRIDE]

RAMFILE: a checkpoint's RAM file (byte X = guest RAM offset X, which is the
guest-physical address below the PCI hole).  AT: the first touched byte
(`TOUCH start ... at=`), SIZE: bytes touched (K/M/G suffix), SEED: the
pattern seed (`seed=`), STRIDE: the distance between scattered pieces
(`stride=`, K suffix) for `touch SIZE scatter`.  Assumes the touched RAM is
one free range (a guest whose RAM ends below the PCI hole).

Reads the first and the last 64-bit word of every touched 4 KiB page and
compares them with the pattern (docs/GUEST.md, `touch`); with STRIDE, also
that the page after each piece but the last is all zero (untouched).  Prints
`pages=N words=M gaps=G` and exits 0, or names the first wrong word and
exits 1.
"""
import struct
import sys

M64 = (1 << 64) - 1
PIECE = 2 << 20


def mix64(x):
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & M64
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & M64
    x ^= x >> 31
    return x


def pat(w, k):
    x = (w * 0x9e3779b97f4a7c15 + k) & M64
    x ^= x >> 32
    x = (x * 0xd6e8feb86659fd93) & M64
    x ^= x >> 32
    return x | 1


def size_arg(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:].upper())
    return int(s[:-1], 0) * mult if mult else int(s, 0)


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__.split("\n\n")[1])
    path, at, size, seed = sys.argv[1], int(sys.argv[2], 0), size_arg(sys.argv[3]), int(sys.argv[4], 0)
    scatter = len(sys.argv) == 6
    stride = size_arg(sys.argv[5]) if scatter else size
    piece = PIECE if scatter else size
    key = mix64(seed ^ mix64(0x746f756368))
    pages = words = gaps = 0
    with open(path, "rb") as f:
        def word_at(off):
            f.seek(off)
            return struct.unpack("<Q", f.read(8))[0]
        p = 0
        while p * piece < size:
            base = at + p * stride
            n = min(piece, size - p * piece)
            w0 = p * piece // 8
            for pg in range(0, n, 4096):
                for i in (pg // 8, (pg + 4088) // 8):
                    got, exp = word_at(base + i * 8), pat(w0 + i, key)
                    if got != exp:
                        print("word %d at %#x: got %#x, expected %#x" % (w0 + i, base + i * 8, got, exp))
                        return 1
                    words += 1
                pages += 1
            if scatter and (p + 1) * piece < size:
                f.seek(base + n)
                if any(f.read(4096)):
                    print("page %#x after piece %d is not zero" % (base + n, p))
                    return 1
                gaps += 1
            p += 1
    print("pages=%d words=%d gaps=%d" % (pages, words, gaps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
