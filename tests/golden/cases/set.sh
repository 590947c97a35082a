# ckp set / rm: edit in place, keep types and the file's encoding, re-seal
ckp convert --to bin sample.json s.bin
t ckp set s.bin devices.vcpu@0.rip ffffffff81000000
t ckp get s.bin devices.vcpu@0.rip
t ckp check s.bin
t ckp set s.bin types.i8min -1
t ckp set s.bin types.i64neg -a
t ckp get s.bin types.i64neg
t ckp set s.bin types.yes false
t ckp set s.bin types.text 'new text'
t ckp set s.bin types.b7 'AQIDBA=='
# add a field (and missing sections, version 1) with PATH$type
t ckp set s.bin 'devices.rng@0.seed$uint64' 2a
t ckp set s.bin 'devices.rng@0.$version' 3
t ckp rm s.bin types.b2
t ckp rm s.bin devices.vcpu@1
t ckp diff sample.json s.bin
head -c 4 s.bin; echo
# errors: nothing changes
cp s.bin before.bin
t ckp set s.bin types.i8min 128
t ckp set s.bin types.i8min 0x10
t ckp set s.bin devices.vcpu@0.rip -1
t ckp set s.bin types.b7 'AQIDBA='
t ckp set s.bin types.yes 1
t ckp set s.bin types.nosuch 1
t ckp set s.bin 'types.i8min$uint8' 1
t ckp set s.bin 'types.x$float' 1
t ckp set s.bin 'types.bad name$uint8' 1
t ckp set s.bin devices 1
t ckp set s.bin 'nosuch.$version' 1
t ckp set s.bin 'devices.$version' -1
t ckp set s.bin 'types.i8min.x$uint8' 1
t ckp rm s.bin types.nosuch
t ckp set s.bin types.i8min
t cmp s.bin before.bin
# a file with a broken checksum is not edited unless told
sed 's/"i8max$int8": 127/"i8max$int8": 126/' sample.json > edited.json
t ckp set edited.json types.i8min 0
t ckp --no-verify set edited.json types.i8min 0
t ckp check edited.json
