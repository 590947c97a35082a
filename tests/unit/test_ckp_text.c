/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Values as text: decimal and hex parsing with exact ranges, formatting,
 * UTF-8 validation, the checksum's spelling.
 */
#include "test_ckp.h"

static int
dec(const char *s, ckp_type_t t, int64_t *v)
{
	return ckp__parse_dec(s, strlen(s), t, v);
}

static int
hex(const char *s, bool sig, uint64_t *v)
{
	return ckp__parse_hex64(s, strlen(s), sig, v);
}

static void
test_dec(void)
{
	static const struct {
		const char *s;
		ckp_type_t t;
		int err;
		int64_t v;
	} cases[] = {
		{ "0", CKP_TYPE_UINT8, 0, 0 },
		{ "-0", CKP_TYPE_UINT8, 0, 0 },
		{ "255", CKP_TYPE_UINT8, 0, 255 },
		{ "256", CKP_TYPE_UINT8, -ERANGE, 0 },
		{ "-1", CKP_TYPE_UINT8, -ERANGE, 0 },
		{ "-128", CKP_TYPE_INT8, 0, -128 },
		{ "-129", CKP_TYPE_INT8, -ERANGE, 0 },
		{ "127", CKP_TYPE_INT8, 0, 127 },
		{ "128", CKP_TYPE_INT8, -ERANGE, 0 },
		{ "-32768", CKP_TYPE_INT16, 0, -32768 },
		{ "32768", CKP_TYPE_INT16, -ERANGE, 0 },
		{ "65535", CKP_TYPE_UINT16, 0, 65535 },
		{ "65536", CKP_TYPE_UINT16, -ERANGE, 0 },
		{ "-2147483648", CKP_TYPE_INT32, 0, INT32_MIN },
		{ "2147483648", CKP_TYPE_INT32, -ERANGE, 0 },
		{ "4294967295", CKP_TYPE_UINT32, 0, 4294967295LL },
		{ "4294967296", CKP_TYPE_UINT32, -ERANGE, 0 },
		{ "99999999999999999999999", CKP_TYPE_UINT32, -ERANGE, 0 },
		{ "-9223372036854775808", CKP_TYPE_INT64, 0, INT64_MIN },
		{ "9223372036854775808", CKP_TYPE_INT64, -ERANGE, 0 },
		{ "18446744073709551615", CKP_TYPE_UINT64, 0, -1 },
		{ "18446744073709551616", CKP_TYPE_UINT64, -ERANGE, 0 },
		{ "", CKP_TYPE_UINT8, -EINVAL, 0 },
		{ "-", CKP_TYPE_INT8, -EINVAL, 0 },
		{ "+1", CKP_TYPE_INT8, -EINVAL, 0 },
		{ "01", CKP_TYPE_INT8, -EINVAL, 0 },
		{ "-01", CKP_TYPE_INT8, -EINVAL, 0 },
		{ "1 ", CKP_TYPE_INT8, -EINVAL, 0 },
		{ " 1", CKP_TYPE_INT8, -EINVAL, 0 },
		{ "0x1", CKP_TYPE_INT8, -EINVAL, 0 },
		{ "1.0", CKP_TYPE_INT8, -EINVAL, 0 },
		{ "1e2", CKP_TYPE_INT8, -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = 12345;
		int err = dec(cases[i].s, cases[i].t, &v);
		if (err != cases[i].err || (err == 0 && v != cases[i].v))
			fprintf(stderr, "dec '%s' as %s: err %d v %lld\n",
			    cases[i].s, ckp_type_name(cases[i].t), err,
			    (long long)v);
		CHECK(err == cases[i].err);
		CHECK(err != 0 || v == cases[i].v);
	}
}

static void
test_hex(void)
{
	static const struct {
		const char *s;
		bool sig;
		int err;
		uint64_t v;
	} cases[] = {
		{ "0", false, 0, 0 },
		{ "ffffffff81085d96", false, 0, 0xffffffff81085d96ull },
		{ "FFFFFFFF81085D96", false, 0, 0xffffffff81085d96ull },
		{ "00000000000000000000ff", false, 0, 0xff },
		{ "ffffffffffffffff", false, 0, UINT64_MAX },
		{ "10000000000000000", false, -ERANGE, 0 },
		{ "-1", false, -ERANGE, 0 },
		{ "-0", false, 0, 0 },
		{ "-1a", true, 0, (uint64_t)-26 },
		{ "7fffffffffffffff", true, 0, INT64_MAX },
		{ "8000000000000000", true, -ERANGE, 0 },
		{ "-8000000000000000", true, 0, (uint64_t)INT64_MIN },
		{ "-8000000000000001", true, -ERANGE, 0 },
		{ "", false, -EINVAL, 0 },
		{ "-", true, -EINVAL, 0 },
		{ "0x10", false, -EINVAL, 0 },
		{ "g", false, -EINVAL, 0 },
		{ "12 ", false, -EINVAL, 0 },
		{ "+1", true, -EINVAL, 0 },
		{ "--1", true, -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int err = hex(cases[i].s, cases[i].sig, &v);
		if (err != cases[i].err || (err == 0 && v != cases[i].v))
			fprintf(stderr, "hex '%s' %s: err %d v %llx\n", cases[i].s,
			    cases[i].sig ? "signed" : "unsigned", err,
			    (unsigned long long)v);
		CHECK(err == cases[i].err);
		CHECK(err != 0 || v == cases[i].v);
	}
}

static void
test_fmt(void)
{
	char b[32];

	ckp__fmt_scalar(CKP_TYPE_INT8, (uint64_t)(int64_t)-128, b);
	CHECK_STR(b, "-128");
	ckp__fmt_scalar(CKP_TYPE_INT32, (uint64_t)(int64_t)INT32_MIN, b);
	CHECK_STR(b, "-2147483648");
	ckp__fmt_scalar(CKP_TYPE_UINT32, UINT32_MAX, b);
	CHECK_STR(b, "4294967295");
	ckp__fmt_scalar(CKP_TYPE_UINT8, 0, b);
	CHECK_STR(b, "0");
	ckp__fmt_scalar(CKP_TYPE_INT64, (uint64_t)INT64_MIN, b);
	CHECK_STR(b, "-8000000000000000");
	ckp__fmt_scalar(CKP_TYPE_INT64, (uint64_t)-26, b);
	CHECK_STR(b, "-1a");
	ckp__fmt_scalar(CKP_TYPE_INT64, 0, b);
	CHECK_STR(b, "0");
	ckp__fmt_scalar(CKP_TYPE_UINT64, UINT64_MAX, b);
	CHECK_STR(b, "ffffffffffffffff");
	ckp__fmt_scalar(CKP_TYPE_UINT64, 0x15063e03a9f0ull, b);
	CHECK_STR(b, "15063e03a9f0");
	ckp__fmt_scalar(CKP_TYPE_BOOL, 1, b);
	CHECK_STR(b, "true");
	ckp__fmt_scalar(CKP_TYPE_BOOL, 0, b);
	CHECK_STR(b, "false");

	/* format then parse gives the value back, for a spread of values */
	bool ok = true;
	for (int i = -70; i <= 70; i++) {
		int64_t sv = i < 0 ? -((int64_t)1 << (-i % 63)) - 1 : ((int64_t)1 << (i % 63));
		uint64_t u;
		ckp__fmt_scalar(CKP_TYPE_INT64, (uint64_t)sv, b);
		if (hex(b, true, &u) != 0 || (int64_t)u != sv)
			ok = false;
		ckp__fmt_scalar(CKP_TYPE_UINT64, (uint64_t)sv, b);
		if (hex(b, false, &u) != 0 || u != (uint64_t)sv)
			ok = false;
	}
	CHECK(ok);
}

static void
test_utf8(void)
{
	static const struct {
		const char *s;
		size_t bad;	/* offset of the first bad byte, or strlen */
	} cases[] = {
		{ "plain ascii", 11 },
		{ "\xc3\xa9", 2 },
		{ "\xe2\x82\xac", 3 },
		{ "\xf0\x9f\x98\x80", 4 },
		{ "\xf4\x8f\xbf\xbf", 4 },	/* U+10FFFF */
		{ "\xed\x9f\xbf", 3 },		/* U+D7FF */
		{ "\xee\x80\x80", 3 },		/* U+E000 */
		{ "a\x80", 1 },			/* lone continuation */
		{ "a\xc0\xaf", 1 },		/* overlong '/' */
		{ "a\xc1\xbf", 1 },
		{ "a\xe0\x80\xaf", 1 },		/* overlong */
		{ "a\xf0\x80\x80\xaf", 1 },	/* overlong */
		{ "a\xed\xa0\x80", 1 },		/* surrogate U+D800 */
		{ "a\xf4\x90\x80\x80", 1 },	/* U+110000 */
		{ "a\xf5\x80\x80\x80", 1 },
		{ "a\xff", 1 },
		{ "a\xc3", 1 },			/* truncated */
		{ "a\xe2\x82", 1 },
		{ "ab\xe2\x28\xa1", 2 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].s);
		size_t bad = ckp__utf8_check(cases[i].s, n);
		if (bad != cases[i].bad)
			fprintf(stderr, "utf8 case %zu: bad at %zu, want %zu\n", i,
			    bad, cases[i].bad);
		CHECK(bad == cases[i].bad);
		CHECK(ckp__utf8_ok(cases[i].s, n) == (cases[i].bad == n));
	}
	CHECK(ckp__utf8_check("a\0b", 3) == 1);	/* NUL is not allowed */
}

static void
test_sum(void)
{
	char b[CKP_SUM_TEXT_LEN];
	uint64_t h;

	ckp__sum_text(0x0123456789abcdefull, b);
	CHECK_STR(b, "xxh3-64:0123456789abcdef");
	CHECK(ckp__sum_parse(b, strlen(b), &h) == 0 && h == 0x0123456789abcdefull);
	CHECK(ckp__sum_parse("xxh3-64:0123456789ABCDEF", 24, &h) == -EINVAL);
	CHECK(ckp__sum_parse("xxh3-64:0123456789abcde", 23, &h) == -EINVAL);
	CHECK(ckp__sum_parse("crc32c:0123456789abcdef", 23, &h) == -EINVAL);
	CHECK(ckp__sum_parse("xxh3-64:0123456789abcdeg", 24, &h) == -EINVAL);
}

int
main(void)
{
	test_dec();
	test_hex();
	test_fmt();
	test_utf8();
	test_sum();
	TEST_END();
}
