/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The base64 codec: RFC 4648 vectors, a slow reference for random data of
 * every length, where decoding stops, and every way base64 can be bad.
 */
#include "test_ckp.h"

static const char alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Bit by bit, the obvious way. */
static void
ref_encode(const uint8_t *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t bit = 0; bit < n * 8; bit += 6) {
		unsigned v = 0;
		for (int k = 0; k < 6; k++) {
			size_t b = bit + (size_t)k;
			unsigned x = b < n * 8 ? (s[b / 8] >> (7 - b % 8)) & 1 : 0;
			v = v << 1 | x;
		}
		out[o++] = alpha[v];
	}
	while (o % 4)
		out[o++] = '=';
	out[o] = '\0';
}

static uint64_t rng = 88172645463325252ull;

static uint64_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
check_decode_err(const char *in, size_t want_used)
{
	uint8_t out[64];
	size_t used = 999, outlen;
	int err = ckp__b64_decode(in, strlen(in), out, &used, &outlen);

	if (err != -EINVAL || used != want_used)
		fprintf(stderr, "decode '%s': err %d used %zu, want -EINVAL at %zu\n",
		    in, err, used, want_used);
	CHECK(err == -EINVAL && used == want_used);
}

int
main(void)
{
	static const struct {
		const char *raw, *b64;
	} rfc[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char enc[4096];
	uint8_t raw[3000], dec[3000];
	size_t used, outlen;

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		size_t n = strlen(rfc[i].raw);
		CHECK(ckp__b64_enclen(n) == strlen(rfc[i].b64));
		ckp__b64_encode(rfc[i].raw, n, enc);
		enc[ckp__b64_enclen(n)] = '\0';
		CHECK_STR(enc, rfc[i].b64);
		CHECK(ckp__b64_decode(rfc[i].b64, strlen(rfc[i].b64), dec, &used,
		    &outlen) == 0);
		CHECK(used == strlen(rfc[i].b64) && outlen == n &&
		    memcmp(dec, rfc[i].raw, n) == 0);
	}

	/* every length up to 3000 against the reference, both directions */
	bool ok = true;
	for (size_t n = 0; n < sizeof(raw); n += (n < 64 ? 1 : 37)) {
		char ref[4096];
		for (size_t i = 0; i < n; i++)
			raw[i] = (uint8_t)xorshift();
		ref_encode(raw, n, ref);
		ckp__b64_encode(raw, n, enc);
		enc[ckp__b64_enclen(n)] = '\0';
		if (strcmp(enc, ref) != 0)
			ok = false;
		memset(dec, 0xaa, sizeof(dec));
		if (ckp__b64_decode(ref, strlen(ref), dec, &used, &outlen) != 0 ||
		    used != strlen(ref) || outlen != n || memcmp(dec, raw, n) != 0)
			ok = false;
	}
	CHECK(ok);

	/* all 256 byte values */
	for (int i = 0; i < 256; i++)
		raw[i] = (uint8_t)i;
	ckp__b64_encode(raw, 256, enc);
	CHECK(ckp__b64_decode(enc, ckp__b64_enclen(256), dec, &used, &outlen) == 0);
	CHECK(outlen == 256 && memcmp(dec, raw, 256) == 0);

	/* decoding stops at the first byte that is not base64 text */
	const char *s = "Zm9vYmFy\"rest";
	CHECK(ckp__b64_decode(s, strlen(s), dec, &used, &outlen) == 0);
	CHECK(used == 8 && outlen == 6);
	s = "Zm9vYg==\"";
	CHECK(ckp__b64_decode(s, strlen(s), dec, &used, &outlen) == 0);
	CHECK(used == 8 && outlen == 4 && memcmp(dec, "foob", 4) == 0);
	s = "Zm9vYmFyZm9vYmFyZm9vYmFy\n";	/* long enough for the fast loop */
	CHECK(ckp__b64_decode(s, strlen(s), dec, &used, &outlen) == 0);
	CHECK(used == 24 && outlen == 18);

	/* bad: length, padding, pad bits, alphabet (offending offset) */
	check_decode_err("Z", 1);
	check_decode_err("Zm9", 3);
	check_decode_err("Zm9vZ", 5);
	check_decode_err("Zg=", 3);
	check_decode_err("Zg=x", 3);
	check_decode_err("Zh==", 1);		/* pad bits of 'h' not zero */
	check_decode_err("Zm9=", 2);		/* pad bits of '9' not zero */
	check_decode_err("Zm9vZ===", 5);
	check_decode_err("Zm-v", 2);
	/* a stray byte mid-text ends the text there; callers see used < n */
	s = "Zm9vYmFyZm9vYmFyZm9v*mFy";
	CHECK(ckp__b64_decode(s, strlen(s), dec, &used, &outlen) == 0 &&
	    used == 20 && outlen == 15);
	/* "==" alone and text after padding stop the decoder; callers check */
	CHECK(ckp__b64_decode("==", 2, dec, &used, &outlen) == 0 && used == 0);
	CHECK(ckp__b64_decode("Zg==Zg==", 8, dec, &used, &outlen) == 0 &&
	    used == 4);

	/* speed sanity (not a timing assertion): 16 MiB round trip works */
	size_t big = 16u << 20;
	uint8_t *b = malloc(big), *b2 = malloc(big);
	char *t = malloc(ckp__b64_enclen(big));
	for (size_t i = 0; i < big; i++)
		b[i] = (uint8_t)(i * 7 + (i >> 12));
	ckp__b64_encode(b, big, t);
	CHECK(ckp__b64_decode(t, ckp__b64_enclen(big), b2, &used, &outlen) == 0);
	CHECK(outlen == big && memcmp(b, b2, big) == 0);
	free(b);
	free(b2);
	free(t);
	TEST_END();
}
