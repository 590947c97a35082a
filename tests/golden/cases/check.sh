# ckp check: structure, types, header and checksum
t ckp check sample.json
t ckp check b.conf
# the seed review's file: no checksum and no header
t ckp check seed.json
t ckp --no-verify check seed.json
# a hand edit breaks the checksum; --no-verify reads it and says so
sed 's/"i8max$int8": 127/"i8max$int8": 126/' sample.json > edited.json
t ckp check edited.json
t ckp --no-verify check edited.json
# a newer format is refused with the reason
ckp set sample.json 'header.format_version' 2 >/dev/null 2>&1
t ckp check sample.json
t ckp check missing.json
