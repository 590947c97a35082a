# ckp check on a checkpoint whose publish was interrupted: it reports what
# recovery will do and checks the pair a restore would read, changing
# nothing; --recover does the recovery.  pub_old.json and pub_new.json are
# the metas of two checkpoints of 8 KiB of RAM: old has page 0 all 'A',
# new has page 1 all 'B'.
umask 022
ram() {	# FILE PAGE CHAR: 8 KiB of zeros but page PAGE all CHAR
	head -c 8192 /dev/zero >"$1"
	head -c 4096 /dev/zero | tr '\0' "$3" |
	    dd of="$1" bs=4096 seek="$2" conv=notrunc status=none
}
old() { ram vm.ckp 0 A; cp pub_old.json vm.ckp.meta; }
ls_ckp() { echo "\$ ls"; ls vm.ckp*; }
# a whole checkpoint: the host paths its configuration names are listed
old
t ckp check vm.ckp
# crash after the meta temporary was synced: the new pair is complete
ram vm.ckp.tmp 1 B
cp pub_new.json vm.ckp.meta.tmp
t ckp check vm.ckp
ls_ckp
# crash between the renames: new RAM, old meta, and the commit record
mv vm.ckp.tmp vm.ckp
t ckp check vm.ckp.meta
# ... which recovery completes
t ckp check --recover vm.ckp
ls_ckp
# crash while the meta was written: leftovers, the published pair stands
ram vm.ckp.tmp 0 C
head -c 300 pub_old.json >vm.ckp.meta.tmp
t ckp check vm.ckp
t ckp check --recover vm.ckp
ls_ckp
# crash while RAM was written, and no checkpoint before it
rm vm.ckp vm.ckp.meta
ram vm.ckp.tmp 0 A
t ckp check vm.ckp
# temporaries recovery does not adopt: left alone and named
rm vm.ckp.tmp
old
ram vm.ckp.tmp 1 B
chmod g+w vm.ckp.tmp
t ckp check vm.ckp
t ckp check --recover vm.ckp
ls_ckp
rm vm.ckp.tmp
ln -s pub_new.json vm.ckp.meta.tmp
t ckp check vm.ckp
rm vm.ckp.meta.tmp
mkfifo vm.ckp.meta.tmp
t ckp check vm.ckp
rm vm.ckp.meta.tmp
# a FIFO under a checkpoint's names is refused, never read (it would block)
mkfifo fifo.ckp.meta
t ckp check fifo.ckp.meta
rm fifo.ckp.meta
ram fifo.ckp 0 A
mkfifo fifo.ckp.meta
t ckp check fifo.ckp
rm fifo.ckp.meta fifo.ckp
cp pub_old.json fifo.ckp.meta
mkfifo fifo.ckp
t ckp check fifo.ckp
rm fifo.ckp.meta fifo.ckp
# --recover belongs to check, on a checkpoint
t ckp check --recover pub_old.json
t ckp show --recover vm.ckp.meta
# ckp show lists the host paths too
t ckp show pub_new.json
