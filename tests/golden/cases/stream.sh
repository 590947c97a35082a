# Checkpoint streams in files (docs/MIGRATION.md section 8): a checkpoint
# to the one-way stream hyve's source sends, and back; check, show, get and
# diff of a stream; a damaged stream is refused naming where, and nothing
# is published.  stream.ckp.meta describes 32 KiB of RAM: pages 0 and 1
# all 'A', page 5 all 'B', the rest zero.
umask 022
head -c 32768 /dev/zero >stream.ckp
head -c 8192 /dev/zero | tr '\0' A | dd of=stream.ckp conv=notrunc status=none
head -c 4096 /dev/zero | tr '\0' B |
    dd of=stream.ckp bs=4096 seek=5 conv=notrunc status=none
put() {	# FILE OFFSET BYTE: overwrite one byte
	printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
nothing() { echo "\$ ls x.ckp x.ckp.meta"; ls x.ckp x.ckp.meta 2>&1 | sed 's/^ls: //'; }
t ckp convert stream.ckp g.ckps
stat -c '%A %s' g.ckps
t ckp check g.ckps
t ckp show g.ckps
t ckp get g.ckps devices.virtio-blk@0.image_size
t ckp diff stream.ckp.meta g.ckps
# back: the same RAM, the same meta but for the RAM file's name
t ckp convert g.ckps back.ckp
t cmp stream.ckp back.ckp
t ckp diff stream.ckp.meta back.ckp.meta
t ckp check back.ckp
t ckp convert --to conf g.ckps back2.ckp.meta
head -c 20 back2.ckp.meta; echo
# keyed: the secret used as is; a key file others can read is refused
printf '0123456789abcdef' >key
chmod 600 key
t ckp convert --migrate-key key stream.ckp.meta k.ckps
t ckp check --migrate-key key k.ckps
t ckp check k.ckps
t ckp convert g.ckps x.ckp --migrate-key key
printf '0123456789abcdeX' >key2
chmod 600 key2
t ckp convert --migrate-key key2 k.ckps x.ckp
nothing
chmod 640 key
t ckp convert --migrate-key key stream.ckp k2.ckps
printf 'too short\n' >key3
chmod 600 key3
t ckp check --migrate-key key3 k.ckps
t ls k2.ckps
# truncated: inside the preamble, inside a frame, between two frames
head -c 30 g.ckps >x.ckps
t ckp check x.ckps
head -c 100 g.ckps >x.ckps
t ckp convert x.ckps x.ckp
head -c $(($(stat -c %s g.ckps) - 24)) g.ckps >x.ckps
t ckp convert x.ckps x.ckp
nothing
# a byte changed: in a page (its frame's checksum), in the preamble
cp g.ckps x.ckps
put x.ckps 5000 Z
t ckp convert x.ckps x.ckp
cp g.ckps x.ckps
put x.ckps 4 '\002'
t ckp check x.ckps
nothing
# a stream is not a checkpoint to recover, nor written to standard output
t ckp check --recover g.ckps
t ckp convert g.ckps -
t ckp set g.ckps devices.x 1 --migrate-key key2
