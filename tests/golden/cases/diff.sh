# ckp diff: field-level differences, exit 1 when different
t ckp diff sample.json b.conf
t ckp diff b.conf sample.json
# the same document in two encodings: no difference
ckp convert --to bin sample.json s.bin
t ckp diff sample.json s.bin
# big blobs: lengths and the first differing byte (full values with -v)
head -c 300 /dev/zero | base64 -w0 > z.txt
ckp convert --to conf sample.json big1.conf
ckp set big1.conf 'fb$b64' "$(cat z.txt)"
cp big1.conf big2.conf
ckp set big2.conf fb "$(head -c 201 /dev/zero | base64 -w0)AQID$(head -c 96 /dev/zero | base64 -w0)"
t ckp diff big1.conf big2.conf
t ckp diff -v big1.conf big2.conf
t ckp diff sample.json
t ckp diff sample.json missing.json
