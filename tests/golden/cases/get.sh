# ckp get: one value as the JSON encoding spells it, without quotes
t ckp get sample.json devices.vcpu@0.rip
t ckp get b.conf devices.vcpu@0.rip
t ckp get sample.json types.i64neg
t ckp get sample.json types.i8min
t ckp get sample.json types.yes
t ckp get sample.json types.b7
t ckp get sample.json types.unicode
t ckp get sample.json types.text
t ckp get sample.json types.empty
t ckp get sample.json 'devices.vcpu@0.rip$uint64'
t ckp get sample.json 'devices.vcpu@0.$version'
t ckp get sample.json 'devices.vcpu@1.deep.$version'
t ckp get sample.json root_field
t ckp get sample.json devices.vcpu@1
# errors
t ckp get sample.json 'devices.vcpu@0.rip$uint32'
t ckp get sample.json 'devices.vcpu@0.rip$float'
t ckp get sample.json devices.vcpu@9.rip
t ckp get sample.json 'nosuch.$version'
t ckp get sample.json
t ckp get sample.json a b
