#!/usr/bin/env python3
# The ELF vmlinux inside an x86 bzImage, for booting the same kernel through
# PVH.  The setup header says where the compressed payload is
# (payload_offset at 0x248 from the start of the protected-mode code,
# payload_length at 0x24C); its magic says how it is compressed.
#   extract-vmlinux.py BZIMAGE OUT
import lzma
import shutil
import struct
import subprocess
import sys
import zlib


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: extract-vmlinux.py BZIMAGE OUT')
    img = open(sys.argv[1], 'rb').read()
    if len(img) < 0x250 or img[0x202:0x206] != b'HdrS':
        sys.exit('%s: not a bzImage (no HdrS header)' % sys.argv[1])
    setup_sects = img[0x1f1] or 4
    pm = (setup_sects + 1) * 512
    off, length = struct.unpack_from('<II', img, 0x248)
    data = img[pm + off:pm + off + length]
    if data[:6] == b'\xfd7zXZ\x00':
        out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    elif data[:2] == b'\x1f\x8b':
        out = zlib.decompressobj(31).decompress(data)
    elif data[:4] == b'\x28\xb5\x2f\xfd':
        if shutil.which('zstd') is None:
            sys.exit('the payload is zstd and zstd is not installed')
        out = subprocess.run(['zstd', '-dc'], input=data, check=True,
                             capture_output=True).stdout
    elif data[:4] == b'\x02\x21\x4c\x18':
        sys.exit('the payload is lz4: not supported here')
    else:
        sys.exit('unknown payload compression (magic %s)' % data[:6].hex())
    if out[:4] != b'\x7fELF':
        sys.exit('the payload is not an ELF file')
    open(sys.argv[2], 'wb').write(out)


if __name__ == '__main__':
    main()
