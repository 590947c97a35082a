# The examples in docs/FORMAT.md are what the tool reads and writes.
awk '/^ *```/ { if (inb) { inb = 0; next } inb = 1; n++; next } inb { print > ("block" n) }' "$here/../../docs/FORMAT.md"
# 2.1 JSON example, 3.1 conf example: the same sealed document
t ckp check block1
t ckp check block3
ckp convert --to conf block1 json2conf
t cmp json2conf block3
ckp convert --to json block3 conf2json
t cmp conf2json block1
# 2.2: the seed review's layout
printf '{\n%s\n}\n' "$(cat block2)" > seedlayout.json
t ckp --no-verify show seedlayout.json
# 4: the binary example, byte for byte
printf 's@1.$version=16909060\ns@1.i$int16=-2\nu$uint8=7\n' > ex.conf
ckp convert --no-verify --to bin ex.conf ex.bin
od -An -tx1 -v ex.bin | tr -s ' \n' '\n\n' | grep . > got.hex
sed -E 's/ {3,}.*$//' block5 | tr -s ' \n' '\n\n' | grep . > doc.hex
t cmp got.hex doc.hex
