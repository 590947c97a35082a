/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Base64 (RFC 4648, standard alphabet, with padding), canonical only:
 * decoding rejects non-zero pad bits so that every byte string has exactly
 * one spelling and re-encoding reproduces the input.
 *
 * Speed matters (a framebuffer is a 16 MiB blob): the encoder maps 12 bits
 * to two characters with one table lookup; the decoder maps each character
 * through a table that already holds its bits in place, so a quad costs
 * four lookups, three ORs and one store.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "ckp_impl.h"

static const char alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define BAD 0x01000000u

static uint16_t enc12[4096];
static uint32_t dec[4][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static bool
little_endian(void)
{
	const uint16_t one = 1;
	uint8_t b;

	memcpy(&b, &one, 1);
	return b == 1;
}

static void
init_tables(void)
{
	bool le = little_endian();

	for (unsigned i = 0; i < 4096; i++) {
		uint8_t pair[2] = { (uint8_t)alpha[i >> 6], (uint8_t)alpha[i & 63] };
		memcpy(&enc12[i], pair, 2);
	}
	for (unsigned c = 0; c < 256; c++)
		for (int k = 0; k < 4; k++)
			dec[k][c] = BAD;
	for (unsigned v = 0; v < 64; v++) {
		unsigned c = (unsigned char)alpha[v];
		/* 24-bit group: v0 << 18 | v1 << 12 | v2 << 6 | v3 */
		uint32_t g[4] = { v << 18, v << 12, v << 6, v };
		for (int k = 0; k < 4; k++) {
			if (le) {
				/* bytes b0 b1 b2 at memory offsets 0 1 2 */
				uint32_t x = g[k];
				dec[k][c] = (x >> 16 & 0xff) | (x & 0xff00) |
				    (x & 0xff) << 16;
			} else
				dec[k][c] = g[k] << 8;
		}
	}
}

void
ckp__b64_encode(const void *srcv, size_t n, char *dst)
{
	const uint8_t *s = srcv;
	size_t i = 0;

	pthread_once(&once, init_tables);
	for (; i + 3 <= n; i += 3) {
		uint32_t x = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		memcpy(dst, &enc12[x >> 12], 2);
		memcpy(dst + 2, &enc12[x & 0xfff], 2);
		dst += 4;
	}
	if (n - i == 1) {
		dst[0] = alpha[s[i] >> 2];
		dst[1] = alpha[(s[i] & 3) << 4];
		dst[2] = '=';
		dst[3] = '=';
	} else if (n - i == 2) {
		dst[0] = alpha[s[i] >> 2];
		dst[1] = alpha[(s[i] & 3) << 4 | s[i + 1] >> 4];
		dst[2] = alpha[(s[i + 1] & 15) << 2];
		dst[3] = '=';
	}
}

static inline uint32_t
quad(const unsigned char *s)
{
	return dec[0][s[0]] | dec[1][s[1]] | dec[2][s[2]] | dec[3][s[3]];
}

static inline void
put3(uint8_t *d, uint32_t x)
{
	/* the tables put b0 b1 b2 at offsets 0 1 2 on either byte order */
	memcpy(d, &x, 3);
}

static inline unsigned
val(unsigned char c)
{
	const char *p = memchr(alpha, c, 64);

	return p != NULL && c != 0 ? (unsigned)(p - alpha) : 64;
}

int
ckp__b64_decode(const char *src, size_t n, uint8_t *dst, size_t *used,
    size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)src;
	uint8_t *d = dst;
	size_t i = 0;

	pthread_once(&once, init_tables);
	/* Two quads per step with 4-byte stores while the output has room. */
	while (i + 12 <= n) {
		uint32_t x = quad(s + i), y = quad(s + i + 4);
		if ((x | y) & BAD)
			break;
		memcpy(d, &x, 4);
		memcpy(d + 3, &y, 4);
		d += 6;
		i += 8;
	}
	while (i + 4 <= n) {
		uint32_t x = quad(s + i);
		if (x & BAD)
			break;
		put3(d, x);
		d += 3;
		i += 4;
	}
	/* The tail: end of text, a padded last quad, or an error. */
	size_t k = 0;
	unsigned v[4];
	while (k < 4 && i + k < n && (v[k] = val(s[i + k])) < 64)
		k++;
	if (k == 4) {
		/* a full quad here means the loop stopped at a bad byte after it */
		put3(d, quad(s + i));
		d += 3;
		i += 4;
		k = 0;
	}
	*outlen = (size_t)(d - dst);
	*used = i;
	if (k == 0)
		return 0;
	if (k == 1) {
		*used = i + 1;
		return -EINVAL;
	}
	/* k == 2 needs "==", k == 3 needs "=" */
	for (size_t p = k; p < 4; p++)
		if (i + p >= n || s[i + p] != '=') {
			*used = i + p;
			return -EINVAL;
		}
	if (k == 2) {
		if (v[1] & 0xf) {
			*used = i + 1;
			return -EINVAL;
		}
		*d++ = (uint8_t)(v[0] << 2 | v[1] >> 4);
	} else {
		if (v[2] & 0x3) {
			*used = i + 2;
			return -EINVAL;
		}
		*d++ = (uint8_t)(v[0] << 2 | v[1] >> 4);
		*d++ = (uint8_t)((v[1] & 0xf) << 4 | v[2] >> 2);
	}
	*outlen = (size_t)(d - dst);
	*used = i + 4;
	return 0;
}
