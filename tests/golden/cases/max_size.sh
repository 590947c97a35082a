# the size limit of a document: checked while reading (a file, a pipe)
t ckp --max-size 1K show pub_new.json
t ckp --max-size=1K check pub_new.json
t ckp --max-size 2K get pub_new.json test.gen
head -c 5000 /dev/zero | t ckp --max-size 4K show -
head -c 4096 /dev/zero | t ckp --max-size 4K show -
# sizes that are not sizes
t ckp --max-size 0 show pub_new.json
t ckp --max-size 12X show pub_new.json
t ckp --max-size -5 show pub_new.json
t ckp show pub_new.json --max-size
