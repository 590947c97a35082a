#!/usr/bin/env bash
# The release programs (`make`: $RELEASE_BUILD) carry no test hook: no
# HYVE_TEST_ or CKP_TEST_ string (an environment variable that would change
# what they do), no hook function or variable; the test build the suite
# runs ($BUILD, `make testbins`) has them, so that this test notices when
# the build flag stops telling the two apart in either direction.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
if [ -x "$BUILD/test/hyve" ]; then
	RELEASE_BUILD=${RELEASE_BUILD:-$BUILD}
	BUILD=$BUILD/test
fi
REL=${RELEASE_BUILD:-${BUILD%/test}}
fail() { echo "FAIL: $*"; exit 1; }
command -v strings >/dev/null && command -v nm >/dev/null ||
	fail "strings and nm (binutils) are not installed"
[ "$(cd "$REL" && pwd)" != "$(cd "$BUILD" && pwd)" ] ||
	fail "no release build apart from the test build $BUILD"

hooks='ckp__crash_(at|point|env)|virtio_blk_test_|virtio_net_test_|vm_new_for_test|vm_test_|sandbox_test_'
for p in hyve hyvectl ckp libckp.a libhyve.a; do
	[ -f "$REL/$p" ] || fail "$REL/$p is not built (make BUILD=$REL)"
	n=$(strings "$REL/$p" | grep -c TEST_)
	[ "$n" = 0 ] || fail "$REL/$p has $n strings with TEST_:" \
		"$(strings "$REL/$p" | grep TEST_ | sort -u | head -5 | tr '\n' ' ')"
	s=$(nm "$REL/$p" 2>/dev/null | grep -Ew "$hooks" | head -3)
	[ -z "$s" ] || fail "$REL/$p has test hook symbols: $s"
	echo "$REL/$p: no TEST_ string, no hook symbol"
done

# The test build has what the release lacks (else the checks above prove
# nothing about the flag).
for v in HYVE_TEST_CKPT_DELAY_MS HYVE_TEST_LAZY_WALK_DELAY_MS \
    HYVE_TEST_NO_USERFAULTFD HYVE_TEST_SANDBOX_PROBE CKP_TEST_CRASH_AT; do
	strings "$BUILD/hyve" | grep -qx "$v" || fail "$BUILD/hyve lacks $v"
done
strings "$BUILD/ckp" | grep -qx CKP_TEST_CRASH_AT || fail "$BUILD/ckp lacks CKP_TEST_CRASH_AT"
for s in ckp__crash_point virtio_blk_test_io_hook vm_new_for_test sandbox_test_probe; do
	nm "$BUILD/libhyve.a" "$BUILD/libckp.a" 2>/dev/null | grep -qw "$s" ||
		fail "the test build lacks $s"
done
echo PASS
