# Options: unknown ones are named, with the usage of the command they were
# given to (exit 2); options go before or after the command; a word that
# starts with '-' and a hex digit is a value only where the command takes
# a value (set's VALUE).
t ckp show -a sample.json
t ckp get sample.json -a
t ckp check sample.json -f
t ckp diff -a sample.json b.conf
t ckp convert -a --to json sample.json -
t ckp set -a sample.json types.i8min 1
t ckp rm sample.json -a
t ckp help -a
t ckp -a show sample.json
t ckp show -vx sample.json
t ckp show --frob=1 sample.json
t ckp show --verbose=1 sample.json
# a hex-looking value where one is valid: set's VALUE, before or after options
ckp convert --to bin sample.json s.bin
t ckp set s.bin types.i64neg -a
t ckp get s.bin types.i64neg
t ckp set s.bin types.i64neg -1f --no-verify
t ckp get s.bin types.i64neg
t ckp --no-verify set s.bin types.i8min -12
t ckp get s.bin types.i8min
t ckp set s.bin types.i64neg -- -b
t ckp get s.bin types.i64neg
# ... and nowhere else: a path or file that starts with '-' follows --
t ckp get s.bin -1
t ckp set s.bin -1 1
t ckp show -- -1
# an option's value may look like an option
t ckp --max-size -1K show sample.json
t ckp convert --to -a sample.json -
# spellings: before or after the command, '=' or a separate word, -t
printf '{\n  "b$b64": "%s"\n}\n' "$(head -c 60 /dev/zero | base64 -w0)" >blob.json
ckp --no-verify convert --to json blob.json sealed.json
t ckp show sealed.json
t ckp -v show sealed.json
t ckp show sealed.json --verbose
t sh -c 'ckp --to conf convert sample.json - | tail -n 2'
t sh -c 'ckp convert -t conf sample.json - | tail -n 2'
t sh -c 'ckp convert sample.json - --to=conf | tail -n 2'
t ckp --max-size=4K get sample.json types.i8min
# an option of another command
t ckp get --to json sample.json types.i8min
t ckp --recover get sample.json types.i8min
t ckp -t json frob
