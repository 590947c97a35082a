#!/usr/bin/env bash
# libckp as a library other programs use (`make install`, `make lib`):
#  - `make install DESTDIR=$T/root PREFIX=/usr/local` installs the programs,
#    libckp.a, libckp.so.1 (SONAME libckp.so.1, a libckp.so dev link),
#    ckp.h, ckp.pc and the four man pages, the same files as in the tree;
#  - the shared library exports exactly the functions ckp.h declares, all
#    ckp_*, no ckp__* internal, and no test hook;
#  - tests/install/ckp_hello.c, built with `pkg-config --cflags --libs ckp`
#    against the DESTDIR, runs with the installed libckp.so.1 and prints
#    what it wrote and read back; linked statically (libckp.a with
#    `pkg-config --static --libs`) it needs no libckp at run time;
#  - tests/install/ckp_streams.c sends a frame unkeyed and keyed through
#    the installed libckp (with libcrypto, the default: ckp.pc requires it);
#  - the examples of libckp(3) compile against the installed header;
#  - `make lib CKP_EXTENSIONS=` builds libckp on C11 + POSIX (+ libxxhash,
#    libcrypto), and lib/ckp includes no Linux header;
#  - `make lib CKP_CRYPTO=0 CKP_EXTENSIONS=` builds it on C11 + POSIX +
#    libxxhash alone: no libcrypto needed by libckp.so.1, libckp.a or
#    ckp.pc; ckp_streams.c built against that install sends unkeyed, and a
#    key is refused with -ENOTSUP saying libckp was built without libcrypto.
# The release build of the suite ($RELEASE_BUILD) is installed when it is
# one with a shared library (not SAN=1); otherwise a release build of its
# own is made in the temporary directory.
set -u
cd "$(dirname "$0")/../.."
TOP=$(pwd)
# Under `make test` this runs inside make: its sub-makes must not inherit
# that make's variables (SAN=1 would refuse the install).
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL
fail() { echo "FAIL: $*"; exit 1; }
for c in pkg-config readelf nm strings cc make; do
	command -v $c >/dev/null || fail "$c is not installed (scripts/setup.sh)"
done
T=$(mktemp -d /tmp/libckp-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
ROOT=$T/root
P=$ROOT/usr/local

REL=${RELEASE_BUILD:-}
if [ -z "$REL" ] || [ ! -e "$REL/libckp.so.1" ]; then
	echo "building a release build of its own in $T/build" \
	    "(${REL:-no release build} has no libckp.so.1)"
	REL=$T/build
fi
make -s -C "$TOP" -j2 BUILD="$REL" install DESTDIR="$ROOT" PREFIX=/usr/local \
    >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "make install failed"; }

# The files, and that they are the tree's.
for f in bin/hyve bin/hyvectl bin/ckp; do
	[ -f "$P/$f" ] && [ -x "$P/$f" ] || fail "$P/$f is not an installed program"
	cmp -s "$P/$f" "$REL/${f#bin/}" || fail "$P/$f differs from $REL/${f#bin/}"
done
cmp -s "$P/include/ckp.h" include/ckp.h || fail "include/ckp.h not installed as is"
for m in man1/ckp.1 man3/libckp.3 man8/hyve.8 man8/hyvectl.8; do
	cmp -s "$P/share/man/$m" "docs/${m#*/}" || fail "man page $m not installed"
	if command -v groff >/dev/null; then
		w=$(groff -mandoc -ww -z -Tutf8 "$P/share/man/$m" 2>&1)
		[ -z "$w" ] || fail "groff warns about $m: $w"
	fi
done
echo "installed: hyve hyvectl ckp in bin/, ckp.h, 4 man pages" \
    "($(command -v groff >/dev/null && echo 'no groff warning' || echo 'groff absent: not rendered'))"
cmp -s "$P/lib/libckp.a" "$REL/libckp.a" || fail "libckp.a not installed"
[ -f "$P/lib/libckp.so.1" ] || fail "no $P/lib/libckp.so.1"
[ -L "$P/lib/libckp.so" ] && [ "$(readlink -f "$P/lib/libckp.so")" = \
    "$(readlink -f "$P/lib/libckp.so.1")" ] ||
	fail "libckp.so is not a link to libckp.so.1"
[ -f "$P/lib/pkgconfig/ckp.pc" ] || fail "no ckp.pc"

# The shared library: its name, and what it exports.
so=$P/lib/libckp.so.1
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libckp.so.1 ] || fail "SONAME of $so is '$soname', not libckp.so.1"
nm -D --defined-only "$so" | awk '{print $NF}' | sort >"$T/exported"
grep -v typedef "$P/include/ckp.h" | grep -v '^ *\(/\*\|\*\)' |
	grep -oE '\bckp_[a-z0-9_]+\(' | tr -d '(' | sort -u >"$T/declared"
n=$(wc -l <"$T/exported")
[ "$n" -gt 100 ] || fail "only $n symbols exported by $so"
bad=$(grep -v '^ckp_' "$T/exported" | head -5 | tr '\n' ' ')
[ -z "$bad" ] || fail "$so exports symbols outside ckp_*: $bad"
bad=$(grep '^ckp__' "$T/exported" | head -5 | tr '\n' ' ')
[ -z "$bad" ] || fail "$so exports libckp internals: $bad"
extra=$(comm -23 "$T/exported" "$T/declared" | head -5 | tr '\n' ' ')
[ -z "$extra" ] || fail "$so exports what ckp.h does not declare: $extra"
missing=$(comm -13 "$T/exported" "$T/declared" | head -5 | tr '\n' ' ')
[ -z "$missing" ] || fail "ckp.h declares what $so does not export: $missing"
hidden=$(nm "$REL/libckp.a" 2>/dev/null | grep -c ' T ckp__')
[ "$hidden" -gt 0 ] || fail "libckp.a has no ckp__ function: the check above proves nothing"
n_t=$(strings "$so" | grep -c TEST_)
[ "$n_t" = 0 ] || fail "$so has $n_t strings with TEST_ (a test-hook build installed)"
echo "$so: SONAME $soname, exports $n symbols, all ckp_* and all declared in" \
    "ckp.h ($(wc -l <"$T/declared") declared; the $hidden ckp__ functions of" \
    "libckp.a are not exported)"

# pkg-config, as a user of the DESTDIR sees it.
export PKG_CONFIG_PATH=$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT
pfx=$(PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=prefix ckp)
[ "$pfx" = /usr/local ] || fail "ckp.pc's prefix is '$pfx', not /usr/local"
flags=$(pkg-config --cflags --libs ckp) || fail "pkg-config --cflags --libs ckp failed"
for want in "-I$P/include" "-L$P/lib" -lckp; do
	[[ " $flags " == *" $want "* ]] || fail "pkg-config gives '$flags': no $want"
done
sflags=$(pkg-config --static --libs ckp) || fail "pkg-config --static --libs ckp failed"
[[ " $sflags " == *" -lxxhash "* ]] ||
	fail "pkg-config --static --libs ckp gives '$sflags': no -lxxhash"
echo "pkg-config ckp $(pkg-config --modversion ckp): $flags; --static: $sflags"

# Someone else's program, against the installed library.
want='ckp answer=42 greeting=hello lcr=3 divisor=12 loopback=1 checksum=ok'
cp tests/install/ckp_hello.c "$T/"
(cd "$T" && cc -std=c11 -Wall -Wextra -Werror -pedantic -o hello ckp_hello.c \
    $flags) || fail "ckp_hello.c does not build with pkg-config's flags"
readelf -d "$T/hello" | grep -q 'NEEDED.*\[libckp\.so\.1\]' ||
	fail "hello is not linked with libckp.so.1"
LD_LIBRARY_PATH=$P/lib ldd "$T/hello" | grep -q "libckp\.so\.1 => $P/lib/" ||
	fail "hello does not load $P/lib/libckp.so.1"
out=$(LD_LIBRARY_PATH=$P/lib "$T/hello" 2>&1) || fail "hello failed: $out"
[ "$out" = "$want" ] || fail "hello printed '$out', expected '$want'"
echo "hello (shared, libckp.so.1 from the DESTDIR): $out"

sflags=$(pkg-config --static --cflags --libs ckp | sed 's/\(^\| \)-lckp\( \|$\)/\1-l:libckp.a\2/')
(cd "$T" && cc -std=c11 -Wall -Wextra -Werror -o hello-static ckp_hello.c \
    $sflags) || fail "ckp_hello.c does not link with libckp.a: $sflags"
! readelf -d "$T/hello-static" | grep -q 'libckp' ||
	fail "hello-static still needs a shared libckp"
out=$("$T/hello-static" 2>&1) || fail "hello-static failed: $out"
[ "$out" = "$want" ] || fail "hello-static printed '$out', expected '$want'"
echo "hello (libckp.a, needs no libckp at run time): $out"

# The keyed stream is there by default, and libcrypto is asked for.
pkg-config --print-requires-private ckp | grep -qx libcrypto ||
	fail "ckp.pc does not require libcrypto: $(pkg-config --print-requires-private ckp)"
readelf -d "$P/lib/libckp.so.1" | grep -q 'NEEDED.*\[libcrypto\.so' ||
	fail "libckp.so.1 is not linked with libcrypto"
cp tests/install/ckp_streams.c "$T/"
(cd "$T" && cc -std=c11 -Wall -Wextra -Werror -pedantic -o streams ckp_streams.c \
    $flags) || fail "ckp_streams.c does not build with pkg-config's flags"
out=$(LD_LIBRARY_PATH=$P/lib "$T/streams" "$T/stream.bin" 2>&1) || fail "streams failed: $out"
[ "$out" = "unkeyed: ok
keyed: ok" ] || fail "streams (with libcrypto) printed: $out"
echo "streams (with libcrypto): $(tr '\n' ' ' <<<"$out")"

# The man page's examples are code that builds.
awk '/^\.Sh EXAMPLES/ { ex = 1 } /^\.Sh SEE ALSO/ { ex = 0 }
    ex && /^\.Ed/ { if (n && b[1] !~ /^(cc |")/) for (i = 1; i <= n; i++) print b[i]; inb = 0 }
    ex && inb { b[++n] = $0 }
    ex && /^\.Bd -literal/ { inb = 1; n = 0 }' docs/libckp.3 |
	sed 's/\\e/\\/g' >"$T/examples.c"
nf=$(grep -c '^[a-z_]*(' "$T/examples.c")
[ "$nf" -ge 8 ] || fail "only $nf functions found in libckp(3)'s examples"
cc -std=c11 -Wall -Wextra -Werror -c -o "$T/examples.o" "$T/examples.c" \
    $(pkg-config --cflags ckp) || fail "libckp(3)'s examples do not compile"
echo "libckp(3): the $nf functions of its examples compile"

# Portable: C11 + POSIX alone, no Linux header.
inc=$(grep -nE '#[[:space:]]*include[[:space:]]*<(linux|asm|sys/(ioctl|epoll|eventfd|userfaultfd|prctl|syscall))' \
    lib/ckp/*.[ch] include/ckp.h)
[ -z "$inc" ] || fail "lib/ckp includes Linux headers: $inc"
make -C "$TOP" -j2 BUILD="$T/posix" CKP_EXTENSIONS= lib >"$T/posix.log" 2>&1 ||
	{ cat "$T/posix.log"; fail "make lib CKP_EXTENSIONS= (C11 + POSIX only) failed"; }
grep -q -- '-D_GNU_SOURCE' "$T/posix.log" && fail "the POSIX build used -D_GNU_SOURCE"
[ -f "$T/posix/libckp.a" ] && [ -f "$T/posix/libckp.so.1" ] ||
	fail "make lib built no libckp.a and libckp.so.1"
echo "make lib CKP_EXTENSIONS=: libckp.a and libckp.so.1 from C11 + POSIX.1-2008 alone"

# Without libcrypto: C11 + POSIX + libxxhash, as bhyve would build it.
NC=$T/nc-root/usr/local
make -C "$TOP" -j2 BUILD="$T/nocrypto" CKP_EXTENSIONS= CKP_CRYPTO=0 \
    DESTDIR="$T/nc-root" PREFIX=/usr/local install-lib >"$T/nocrypto.log" 2>&1 ||
	{ cat "$T/nocrypto.log"; fail "make lib install-lib CKP_CRYPTO=0 CKP_EXTENSIONS= failed"; }
grep -q -- '-DCKP_CRYPTO=0' "$T/nocrypto.log" || fail "CKP_CRYPTO=0 did not reach the compiler"
grep -Eq -- '-lcrypto|-D_GNU_SOURCE' "$T/nocrypto.log" &&
	fail "the build without libcrypto used -lcrypto or -D_GNU_SOURCE"
readelf -d "$NC/lib/libckp.so.1" | grep -q 'NEEDED.*crypto' &&
	fail "libckp.so.1 built with CKP_CRYPTO=0 still needs libcrypto"
u=$(nm -u "$NC/lib/libckp.a" | grep -E ' (EVP_|RAND_|ERR_|OPENSSL_)' | head -3 | tr '\n' ' ')
[ -z "$u" ] || fail "libckp.a built with CKP_CRYPTO=0 needs libcrypto's $u"
req=$(PKG_CONFIG_PATH=$NC/lib/pkgconfig pkg-config --print-requires-private ckp)
[ "$req" = libxxhash ] || fail "ckp.pc without libcrypto requires '$req', not libxxhash alone"
ncflags=$(PKG_CONFIG_PATH=$NC/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$T/nc-root \
    pkg-config --static --cflags --libs ckp | sed 's/\(^\| \)-lckp\( \|$\)/\1-l:libckp.a\2/')
[[ " $ncflags " == *" -lcrypto "* ]] && fail "pkg-config --static gives -lcrypto: $ncflags"
(cd "$T" && cc -std=c11 -Wall -Wextra -Werror -pedantic -o streams-nc ckp_streams.c \
    $ncflags) || fail "ckp_streams.c does not link with libckp.a without libcrypto: $ncflags"
readelf -d "$T/streams-nc" | grep -q 'NEEDED.*crypto' && fail "streams-nc needs libcrypto"
out=$("$T/streams-nc" "$T/stream.bin" 2>&1) || fail "streams-nc failed: $out"
want="unkeyed: ok
keyed: Operation not supported: stream writer: a key was given, but this libckp was built without libcrypto (CKP_CRYPTO=0): keyed streams are not available"
[ "$out" = "$want" ] || fail "streams (without libcrypto) printed
$out
instead of
$want"
echo "make lib CKP_CRYPTO=0 CKP_EXTENSIONS=: libckp from C11 + POSIX + libxxhash;" \
    "streams: $(tr '\n' ' ' <<<"$out")"
echo "PASS"
