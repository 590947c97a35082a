# ckp show: the tree with types; big blobs abbreviated unless -v
t ckp show sample.json
t ckp show b.conf
# the seed review's file has no checksum: shown with a warning line; --no-verify: no warning
t ckp show seed.json
t ckp --no-verify show seed.json
t ckp show --no-verify -v seed.json
t ckp show
t ckp show a b
