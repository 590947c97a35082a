# Documents without a checksum (the seed review's file, a hand-written
# one) are shown, read and compared with one warning line; check still
# fails them, and a wrong checksum is refused as before.
t ckp show seed.json
t ckp get seed.json device_params
printf '{\n  "a$uint32": 1,\n  "s": { "$version": 2, "name$string": "x" }\n}\n' > hand.json
t ckp show hand.json
t ckp get hand.json s.name
t ckp diff hand.json hand.json
t ckp convert --to json hand.json sealed.json
t ckp --no-verify convert --to json hand.json sealed.json
t ckp diff hand.json sealed.json
t ckp check hand.json
# A wrong checksum: refused by show, get and diff too
sed 's/"name\$string": "x"/"name$string": "y"/' sealed.json > tampered.json
t ckp show tampered.json
t ckp get tampered.json s.name
t ckp diff sealed.json tampered.json
t ckp --no-verify get tampered.json s.name
