/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Malformed input: each class of mistake, in each encoding, gives one
 * message naming where (line:column, or byte offset) and what.
 */
#include <xxhash.h>

#include "test_ckp.h"

static const struct {
	const char *in;
	const char *want;	/* fragment of the message */
} text_cases[] = {
	/* ---- JSON: syntax and truncation ---- */
	{ "{\"a$uint8\": 1", "t:1:14: unexpected end of input (truncated?), expected ',' or '}' after a member" },
	{ "{\"a$uint8\": 1,}", "t:1:15: invalid JSON: expected a key string, found '}'" },
	{ "{\"a$uint8\" 1}", "t:1:12: invalid JSON: expected ':' after a key, found '1'" },
	{ "{\"a$string\": \"abc", "t:1:18: unexpected end of input in a string (truncated?)" },
	{ "{\"a$string\": \"ab\\q\"}", "t:1:17: invalid JSON: unknown escape '\\q'" },
	{ "{\"a$string\": \"a\tb\"}", "t:1:16: invalid JSON: control character 0x09 in a string (escape it)" },
	{ "{\"a$string\": \"\\u12\"}", "t:1:19: invalid JSON: bad \\u escape" },
	{ "{\"a$string\": \"\\udc00\"}", "t:1:15: invalid JSON: lone low surrogate \\udc00" },
	{ "{\"a$string\": \"\\ud800x\"}", "t:1:15: invalid JSON: high surrogate \\ud800 not followed by a low one" },
	{ "{\"a$string\": \"\\u0000\"}", "t:1:15: \\u0000: strings cannot hold NUL (use b64)" },
	{ "{\"a$string\": \"\xc3\x28\"}", "t:1:15: invalid UTF-8 in a string" },
	{ "{\"a$uint8\": 1} x", "t:1:16: trailing garbage after the JSON document" },
	{ "{\"a$uint8\": 1}{}", "t:1:15: trailing garbage after the JSON document" },
	{ "{\n  \"s\": {\n    \"a$uint8\": 01\n  }\n}", "t:3:17: invalid JSON: expected ',' or '}' after a member, found '1'" },
	{ "{\"a$uint8\": -}", "t:1:13: invalid JSON: expected a number, found '-'" },
	{ "{\"a$uint8\": 1.}", "t:1:15: invalid JSON number" },
	{ "{\"a$uint8\": null}", "t:1:13: value of \"a$uint8\" must be a number, found null" },
	{ "[1]", "t:1:1: invalid JSON: expected '{' (a JSON object), found '['" },
	/* ---- JSON: values ---- */
	{ "{\"a$uint8\": 256}", "t:1:13: value 256 is out of range for uint8" },
	{ "{\"a$int8\": -129}", "t:1:12: value -129 is out of range for int8" },
	{ "{\"a$uint32\": 4294967296}", "t:1:14: value 4294967296 is out of range for uint32" },
	{ "{\"a$uint8\": 1.5}", "t:1:13: value 1.5 of \"a$uint8\" is not an integer" },
	{ "{\"a$int32\": 1e3}", "t:1:13: value 1e3 of \"a$int32\" is not an integer" },
	{ "{\"a$uint8\": \"1\"}", "t:1:13: value of \"a$uint8\" must be a number, found a string" },
	{ "{\"a$uint64\": 5}", "t:1:14: value of \"a$uint64\" must be a string of hex digits (64-bit values are hex strings), found a number" },
	{ "{\"a$uint64\": \"0x10\"}", "t:1:14: bad hex value \"0x10\" for uint64 (hex digits, no 0x)" },
	{ "{\"a$uint64\": \"\"}", "t:1:14: bad hex value \"\" for uint64" },
	{ "{\"a$uint64\": \"10000000000000000\"}", "t:1:14: value \"10000000000000000\" is out of range for uint64" },
	{ "{\"a$int64\": \"8000000000000000\"}", "t:1:13: value \"8000000000000000\" is out of range for int64" },
	{ "{\"a$uint64\": \"-1\"}", "t:1:14: value \"-1\" is out of range for uint64" },
	{ "{\"a$bool\": 1}", "t:1:12: value of \"a$bool\" must be true or false, found a number" },
	{ "{\"a$bool\": tru}", "t:1:12: value of \"a$bool\" must be true or false, found a boolean" },
	{ "{\"a$string\": 5}", "t:1:14: value of \"a$string\" must be a string, found a number" },
	{ "{\"a$b64\": \"Zm9\"}", "t:1:15: bad base64 in \"a$b64\" (RFC 4648 with padding, canonical)" },
	{ "{\"a$b64\": \"Zh==\"}", "t:1:13: bad base64 in \"a$b64\"" },
	{ "{\"a$b64\": \"Zm9v Zm9v\"}", "t:1:16: bad base64 in \"a$b64\"" },
	{ "{\"a$b64\": \"Zm9v", "t:1:16: unexpected end of input in a string (truncated?)" },
	{ "{\"a$b64\": \"Zm\\u0039=\"}", "t:1:11: bad base64 in \"a$b64\" (after unescaping, at character 3)" },
	/* ---- JSON: keys, names, structure ---- */
	{ "{\"a$float\": 1}", "t:1:2: unknown type suffix \"$float\" in key \"a$float\"" },
	{ "{\"a$section\": {}}", "t:1:2: unknown type suffix \"$section\"" },
	{ "{\"a$\": 1}", "t:1:2: unknown type suffix \"$\"" },
	{ "{\"a b$uint8\": 1}", "t:1:2: invalid field name \"a b\"" },
	{ "{\"$uint8\": 1}", "t:1:2: unknown key \"$uint8\"" },
	{ "{\"x@1$uint8\": 1}", "t:1:2: invalid field name \"x@1\"" },
	{ "{\"s@01\": {}}", "t:1:2: invalid section name \"s@01\"" },
	{ "{\"a$uint8\": 1, \"a$uint16\": 2}", "t:1:16: duplicate key \"a$uint16\" in the root" },
	{ "{\"s\": {\"$version\": 1, \"x\": {}, \"x\": []}}", "t:1:32: duplicate key \"x\" in section s" },
	{ "{\"s\": 5}", "t:1:7: value of \"s\" must be an object (a key without $type names a section), found a number" },
	{ "{\"s\": [1]}", "t:1:8: elements of the array \"s\" must be objects, found a number" },
	{ "{\"s\": [{}, ]}", "t:1:12: invalid JSON: expected an object, found ']'" },
	{ "{\"s\": [{} {}]}", "t:1:11: invalid JSON: expected ',' or ']', found '{'" },
	{ "{\"$version\": 1}", "t:1:2: \"$version\" is not allowed in the root object" },
	{ "{\"s\": {\"$version\": 1, \"$version\": 2}}", "t:1:23: duplicate key \"$version\"" },
	{ "{\"s\": {\"$version\": -1}}", "t:1:20: \"$version\" must be an integer from 0 to 4294967295" },
	{ "{\"s\": {\"$version\": 4294967296}}", "t:1:20: \"$version\" must be an integer from 0 to 4294967295" },
	{ "{\"s\": {\"$checksum\": \"\"}}", "t:1:8: \"$checksum\" is only allowed in the root object" },
	{ "{\"$checksum\": \"xxh3-64:0000000000000000\", \"a$uint8\": 1}", "t:1:2: \"$checksum\" must be the last member of the root object" },
	{ "{\"$checksum\": \"md5:00\"}", "t:1:15: bad checksum \"md5:00\" (expected \"xxh3-64:\" and 16 lowercase hex digits)" },
	{ "{\"$checksum\": 5}", "t:1:15: value of \"$checksum\" must be a string, found a number" },
	/* ---- conf ---- */
	{ "a$uint8=1\nb$uint8\n", "t:2:1: expected 'path.name$type=value', found no '='" },
	{ "a$uint8=256\n", "t:1:9: value 256 is out of range for uint8" },
	{ "a$int16=-0x1\n", "t:1:9: bad int16 value '-0x1' (a decimal integer)" },
	{ "a$uint8=\n", "t:1:9: bad uint8 value '' (a decimal integer)" },
	{ "a$uint64=ffffffffffffffff0\n", "t:1:10: value ffffffffffffffff0 is out of range for uint64" },
	{ "a$int64=xyz\n", "t:1:9: bad hex value 'xyz' for int64 (hex digits with an optional '-', no 0x)" },
	{ "a$bool=yes\n", "t:1:8: bad bool value 'yes' (true or false)" },
	{ "a$b64=Zm9v=\n", "t:1:11: bad base64" },
	{ "a$b64=Zm9\n", "t:1:10: bad base64" },
	{ "# c\n\n  s.a$float=1\n", "t:3:6: unknown type suffix '$float'" },
	{ "s.a=1\n", "t:1:3: 's.a' has no $type suffix" },
	{ "s.a b$uint8=1\n", "t:1:3: invalid field name 'a b'" },
	{ "s x.a$uint8=1\n", "t:1:1: invalid section name 's x'" },
	{ ".a$uint8=1\n", "t:1:1: empty section name before '.'" },
	{ "s..a$uint8=1\n", "t:1:3: invalid section name ''" },
	{ "a$uint8=1\na$uint16=2\n", "t:2:1: duplicate name 'a' in the root" },
	{ "s.a$uint8=1\ns.a$uint8=2\n", "t:2:3: duplicate name 'a' in section s" },
	{ "s.$version=1\ns.$version=2\n", "t:2:3: duplicate $version for section s" },
	{ "s.$version=x\n", "t:1:12: $version must be an integer from 0 to 4294967295" },
	{ "$version=1\n", "t:1:1: the root has no $version" },
	{ "a$uint8=1\na.b$uint8=2\n", "t:2:1: 'a' is a uint8 field, not a section" },
	{ "a$string=x\\qy\n", "t:1:11: bad escape '\\q' (known: \\\\ \\n \\t \\r \\xNN)" },
	{ "a$string=x\\x4\n", "t:1:11: bad escape: \\x needs two hex digits" },
	{ "a$string=\\x00\n", "t:1:10: \\x00: strings cannot hold NUL (use b64)" },
	{ "a$string=\\xff\n", "t:1:10: string is not valid UTF-8 or holds NUL (byte 1 after unescaping)" },
	{ "a$uint8=1\n$checksum=xxh3-64:0000000000000000\nb$uint8=2\n", "t:3:1: line after $checksum (it must be the last line)" },
	{ "$checksum=xxh3-64:00\n", "t:1:11: bad checksum 'xxh3-64:00' (expected xxh3-64: and 16 lowercase hex digits)" },
	{ "=1\n", "t:1:1: empty key before '='" },
	{ "a$uint8=1\n", "t: no checksum: the document is incomplete or written by hand" },
	{ "a$uint8=1\n$checksum=xxh3-64:0000000000000000\n", "t:2:1: checksum mismatch: the file says xxh3-64:0000000000000000, the content is xxh3-64:" },
	{ "  \n\n", "t: no checksum" },
	{ "header.format$string=ckp\nheader.format_version$uint32=7\n", "t: format version 7 is newer than the 1 this program reads" },
	/* ---- JSON checksum ---- */
	{ "{\"a$uint8\": 1}", "t: no checksum: the document is incomplete or written by hand (content is xxh3-64:" },
	{ "{\n\"a$uint8\": 1,\n \"$checksum\": \"xxh3-64:0000000000000000\"}", "t:3:2: checksum mismatch: the file says xxh3-64:0000000000000000, the content is xxh3-64:" },
};

/* A binary document: header, body, trailer (sum of the body unless @p sum). */
static size_t
mkbin(uint8_t *out, const void *body, size_t blen, uint16_t ver,
    uint16_t flags, const uint64_t *badlen, const uint64_t *sum)
{
	uint64_t l = badlen ? *badlen : blen;
	uint64_t h = sum ? *sum : XXH3_64bits(body, blen);

	memcpy(out, "CKPB", 4);
	out[4] = (uint8_t)ver; out[5] = (uint8_t)(ver >> 8);
	out[6] = (uint8_t)flags; out[7] = (uint8_t)(flags >> 8);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(l >> (8 * i));
	memcpy(out + 16, body, blen);
	for (int i = 0; i < 8; i++)
		out[16 + blen + i] = (uint8_t)(h >> (8 * i));
	return 24 + blen;
}

static void
bin_case(const uint8_t *buf, size_t len, const char *want, int line)
{
	ckp_doc_t *d = ckp_doc_decode(buf, len, "b", 0);

	if (ckp_doc_error(d) == 0 || strstr(ckp_doc_errmsg(d), want) == NULL)
		fprintf(stderr, "bin case at line %d: got '%s', want '%s'\n",
		    line, ckp_doc_errmsg(d), want);
	CHECK(ckp_doc_error(d) != 0 && strstr(ckp_doc_errmsg(d), want) != NULL);
	ckp_doc_free(d);
}

#define BODY(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static void
test_bin(void)
{
	uint8_t buf[1024];
	size_t n;
	uint64_t big = UINT64_MAX, l;

	/* a valid one first: root { a$uint8 = 7 } */
	n = mkbin(buf, BODY(5, 1, 'a', 7, 0), 1, 0, NULL, NULL);
	ckp_doc_t *d = ckp_doc_decode(buf, n, "b", 0);
	CHECK(ckp_doc_error(d) == 0 && ckp_doc_encoding(d) == CKP_ENC_BIN);
	ckp_doc_free(d);

	bin_case((const uint8_t *)"CKPX\1\0\0\0", 8, "b: byte offset 0: wrong magic: not a binary checkpoint document (expected \"CKPB\")", __LINE__);
	bin_case((const uint8_t *)"\x7f" "ELF\2\1\1", 7, "b: byte offset 0: wrong magic", __LINE__);
	bin_case((const uint8_t *)"CKPB\1\0", 6, "b: byte offset 6: truncated: the header needs 16 bytes, the file has 6", __LINE__);
	n = mkbin(buf, BODY(0), 2, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 4: binary encoding version 2 is newer than it knows (this program reads 1)", __LINE__);
	n = mkbin(buf, BODY(0), 1, 4, NULL, NULL);
	bin_case(buf, n, "b: byte offset 6: unknown flags 0x0004", __LINE__);
	n = mkbin(buf, BODY(0), 1, 0, &big, NULL);
	bin_case(buf, n, "b: byte offset 8: truncated: body length 18446744073709551615 exceeds the 9 bytes after the header", __LINE__);
	n = mkbin(buf, BODY(0), 1, 0, NULL, NULL);
	bin_case(buf, n - 3, "b: byte offset 17: truncated: the 8-byte checksum after the body is missing", __LINE__);
	n = mkbin(buf, BODY(0), 1, 0, NULL, NULL);
	bin_case(buf, n + 2, "b: byte offset 25: trailing garbage: 2 bytes after the checksum", __LINE__);
	n = mkbin(buf, BODY(5, 1, 'a', 7), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 20: truncated: a record tag needs 1 bytes, the body has 0 left", __LINE__);
	n = mkbin(buf, BODY(5, 1, 'a', 7, 0, 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 21: trailing garbage: 1 bytes after the root's end tag inside the body", __LINE__);
	n = mkbin(buf, BODY(13, 1, 'a', 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 16: unknown record tag 13", __LINE__);
	n = mkbin(buf, BODY(5, 0, 7, 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 18: invalid field name ''", __LINE__);
	n = mkbin(buf, BODY(5, 3, 'a', '.', 'b', 7, 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 18: invalid field name 'a.b'", __LINE__);
	n = mkbin(buf, BODY(5, 200, 'a', 7, 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 18: truncated: a name needs 200 bytes, the body has 3 left", __LINE__);
	n = mkbin(buf, BODY(2, 1, 'a', 7), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 19: truncated: int16 needs 2 bytes, the body has 1 left", __LINE__);
	n = mkbin(buf, BODY(9, 1, 'a', 2, 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 19: bool 'a' is 2, not 0 or 1", __LINE__);
	n = mkbin(buf, BODY(10, 1, 's', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 19: length 9223372036854775807 exceeds the 1 bytes left in the body", __LINE__);
	n = mkbin(buf, BODY(10, 1, 's', 2, 0, 0, 0, 0, 0, 0, 0, 'a', 0, 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 28: string 's' is not valid UTF-8 or contains NUL", __LINE__);
	n = mkbin(buf, BODY(5, 1, 'a', 7, 6, 1, 'a', 1, 0, 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 20: duplicate name 'a' in the root", __LINE__);
	n = mkbin(buf, BODY(12, 1, 's', 1, 0, 0, 0, 0), 1, 0, NULL, NULL);
	bin_case(buf, n, "b: byte offset 24: truncated: a record tag needs 1 bytes, the body has 0 left", __LINE__);
	l = 0;
	n = mkbin(buf, BODY(0), 1, 0, NULL, &l);
	bin_case(buf, n, "b: byte offset 17: checksum mismatch: the file says xxh3-64:0000000000000000, the content is xxh3-64:", __LINE__);

	/* nesting beyond CKP_MAX_DEPTH */
	uint8_t body[600];
	size_t k = 0;
	for (int i = 0; i <= CKP_MAX_DEPTH; i++) {
		body[k++] = 12; body[k++] = 1; body[k++] = 's';
		body[k++] = 0; body[k++] = 0; body[k++] = 0; body[k++] = 0;
	}
	for (int i = 0; i <= CKP_MAX_DEPTH + 1; i++)
		body[k++] = 0;
	n = mkbin(buf, body, k, 1, 0, NULL, NULL);
	bin_case(buf, n, "sections nest deeper than 64 levels", __LINE__);
}

static void
test_depth_text(void)
{
	char js[2048], cf[2048];
	size_t k = 0, c = 0;

	/* 65 nested sections in JSON and conf */
	k += (size_t)sprintf(js + k, "{");
	for (int i = 0; i <= CKP_MAX_DEPTH; i++)
		k += (size_t)sprintf(js + k, "\"s\":{");
	for (int i = 0; i <= CKP_MAX_DEPTH + 1; i++)
		k += (size_t)sprintf(js + k, "}");
	ckp_doc_t *d = t_decode(js, CKP_LOAD_NOVERIFY);
	CHECK_HAS(ckp_doc_errmsg(d), "t:1:322: sections nest deeper than 64 levels");
	ckp_doc_free(d);
	/* 64 is fine */
	k = 0;
	k += (size_t)sprintf(js + k, "{");
	for (int i = 0; i < CKP_MAX_DEPTH; i++)
		k += (size_t)sprintf(js + k, "\"s\":{");
	for (int i = 0; i <= CKP_MAX_DEPTH; i++)
		k += (size_t)sprintf(js + k, "}");
	d = t_decode(js, CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0);
	ckp_doc_free(d);

	for (int i = 0; i <= CKP_MAX_DEPTH; i++)
		c += (size_t)sprintf(cf + c, "s.");
	sprintf(cf + c, "x$uint8=1\n");
	d = t_decode(cf, CKP_LOAD_NOVERIFY);
	CHECK_HAS(ckp_doc_errmsg(d), "t:1:129: sections nest deeper than 64 levels");
	ckp_doc_free(d);
}

static void
test_long_names(void)
{
	char js[600], cf[600];
	ckp_doc_t *d;

	/* 129 bytes: one too many; 300: longer than any key buffer */
	snprintf(js, sizeof(js), "{\"%0129d$uint8\": 1}", 0);
	d = t_decode(js, CKP_LOAD_NOVERIFY);
	CHECK_HAS(ckp_doc_errmsg(d), "t:1:2: invalid field name \"000");
	CHECK_HAS(ckp_doc_errmsg(d), "at most 128 bytes");
	ckp_doc_free(d);
	snprintf(js, sizeof(js), "{\"%0300d$uint8\": 1}", 0);
	d = t_decode(js, CKP_LOAD_NOVERIFY);
	CHECK_HAS(ckp_doc_errmsg(d), "t:1:2: key \"0000");
	CHECK_HAS(ckp_doc_errmsg(d), "is too long (names have at most 128 bytes)");
	ckp_doc_free(d);
	snprintf(js, sizeof(js), "{\"%0128d$uint8\": 1}", 0);
	d = t_decode(js, CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0);
	ckp_doc_free(d);
	snprintf(cf, sizeof(cf), "s.%0129d$uint8=1\n", 0);
	d = t_decode(cf, CKP_LOAD_NOVERIFY);
	CHECK_HAS(ckp_doc_errmsg(d), "t:1:3: invalid field name");
	ckp_doc_free(d);
	snprintf(cf, sizeof(cf), "%0129d.x$uint8=1\n", 0);
	d = t_decode(cf, CKP_LOAD_NOVERIFY);
	CHECK_HAS(ckp_doc_errmsg(d), "t:1:1: invalid section name");
	ckp_doc_free(d);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		ckp_doc_t *d = t_decode(text_cases[i].in, 0);
		const char *m = ckp_doc_errmsg(d);
		bool ok = ckp_doc_error(d) != 0 && strstr(m, text_cases[i].want) != NULL;
		if (!ok)
			fprintf(stderr, "case %zu: input:\n%s\n  got:  %s\n  want: %s\n",
			    i, text_cases[i].in, m, text_cases[i].want);
		CHECK(ok);
		/* one message, one line */
		CHECK(strchr(m, '\n') == NULL);
		/* nothing half-read survives an error */
		CHECK(ckp_sec_first(ckp_doc_root(d)) == NULL);
		ckp_doc_free(d);
	}
	test_bin();
	test_depth_text();
	test_long_names();
	TEST_END();
}
