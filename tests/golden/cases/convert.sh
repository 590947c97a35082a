# ckp convert: any encoding to any other, lossless
t ckp convert --to conf sample.json -
t ckp convert --to bin sample.json s.bin
od -A d -t x1 -v s.bin | head -8
t ckp convert --to json s.bin -
# json -> bin -> conf -> json gives the same bytes back
ckp convert --to bin sample.json 1.bin
ckp convert --to conf 1.bin 2.conf
ckp convert --to json 2.conf 3.json
t cmp sample.json 3.json
# same checksum in all three
grep -h checksum sample.json 2.conf
tail -c 8 1.bin | od -A n -t x8
# the seed review's file, sealed (checksum added) in our layout
t ckp convert --no-verify --to json seed.json seed2.json
t ckp check seed2.json
cat seed2.json
# standard input and output
t sh -c 'ckp convert --to conf - - < s.bin | tail -n 3'
# errors
t ckp convert sample.json x
t ckp convert --to xml sample.json x
t ckp convert --to json sample.json
t ckp convert --to json seed.json x.json
t ckp convert --to json sample.json /nonexistent/dir/x.json
t ckp set sample.json devices.vcpu@0.rip 0 --to json
