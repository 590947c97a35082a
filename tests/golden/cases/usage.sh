# usage: help, bad commands and options (exit 2, naming what is wrong)
t ckp --help
t ckp help diff
t ckp help set
t ckp diff --help
t ckp help nosuch
t ckp
t ckp frobnicate x
t ckp show --frob sample.json
t ckp convert --to
# malformed documents: one message with file:line:column, exit 2
printf '{\n  "a$uint8": 300\n}\n' > bad1.json
t ckp --no-verify show bad1.json
printf '{\n  "a$uint8": 1,\n  "a$uint16": 2\n}\n' > bad2.json
t ckp --no-verify show bad2.json
printf 'x.y$uint8=1\nx.y$float=2\n' > bad3.conf
t ckp --no-verify show bad3.conf
printf 'CKPB\001\000\000\000\377\377\377\377\377\377\377\377' > bad4.bin
t ckp show bad4.bin
printf 'CKPX\001\000\000\000' > bad5.bin
t ckp show bad5.bin
printf '{"s": {"a$b64": "Zm9vYmFy=="}}' > bad6.json
t ckp --no-verify show bad6.json
