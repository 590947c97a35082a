# A disk's ro key is read as hyve reads every boolean (true/false, yes/no,
# on/off, 1/0, in any case): check and show say read-only exactly when a
# restore opens the image read-only.
for v in true TRUE Yes on 1 false FALSE No off 0; do
	ckp set pub_new.json 'config.pci.0.3.0.ro$string' "$v" >/dev/null 2>&1
	echo "ro=$v: $(ckp check pub_new.json | grep 'disk image')"
done
t ckp show pub_new.json
