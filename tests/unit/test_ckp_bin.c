/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The binary encoding, byte by byte as docs/FORMAT.md specifies it, and
 * the checksum that is the same in all encodings.
 */
#include <xxhash.h>

#include "test_ckp.h"

int
main(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *r = ckp_doc_root(d), *s;
	size_t len;

	s = ckp_sec_add(r, "s@1", 0x01020304);
	ckp_sec_add_int16(s, "i", -2);
	ckp_sec_add_bool(s, "b", true);
	ckp_sec_add_string(s, "t", "hi");
	ckp_sec_add_uint64(r, "u", 0x1122334455667788ull);
	ckp_sec_add_bytes(r, "x", "\0\1", 2);
	uint8_t *out = (uint8_t *)t_encode(d, CKP_ENC_BIN, &len);
	static const uint8_t body[] = {
		12, 3, 's', '@', '1', 0x04, 0x03, 0x02, 0x01,	/* section, version LE */
		2, 1, 'i', 0xfe, 0xff,				/* int16 -2 */
		9, 1, 'b', 1,					/* bool */
		10, 1, 't', 2, 0, 0, 0, 0, 0, 0, 0, 'h', 'i',	/* string */
		0,						/* end of s@1 */
		8, 1, 'u', 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		11, 1, 'x', 2, 0, 0, 0, 0, 0, 0, 0, 0, 1,	/* b64 */
		0,						/* end of root */
	};
	CHECK(len == 16 + sizeof(body) + 8);
	CHECK(memcmp(out, "CKPB\1\0\0\0", 8) == 0);
	uint64_t blen = 0, sum = 0;
	for (int i = 0; i < 8; i++) {
		blen |= (uint64_t)out[8 + i] << (8 * i);
		sum |= (uint64_t)out[16 + sizeof(body) + i] << (8 * i);
	}
	CHECK(blen == sizeof(body));
	CHECK(memcmp(out + 16, body, sizeof(body)) == 0);
	CHECK(sum == XXH3_64bits(body, sizeof(body)));

	/* the checksum every encoding spells is XXH3-64 of this body */
	char want[32];
	snprintf(want, sizeof(want), "xxh3-64:%016llx",
	    (unsigned long long)XXH3_64bits(body, sizeof(body)));
	CHECK_STR(ckp_doc_checksum(d), want);
	size_t jl;
	char *js = t_encode(d, CKP_ENC_JSON, &jl);
	js[jl - 1] = '\0';
	CHECK_HAS(js, want);
	free(js);

	/* decode gives the tree back with every value */
	ckp_doc_t *d2 = ckp_doc_decode(out, len, "b", 0);
	CHECK(ckp_doc_error(d2) == 0 && ckp_doc_sum_state(d2) == CKP_SUM_OK);
	CHECK(ckp__sec_equal(ckp_doc_root(d), ckp_doc_root(d2)));
	int16_t i16;
	CHECK(ckp_sec_get_int16(ckp_sec_find(ckp_doc_root(d2), "s@1"), "i", &i16) == 0 && i16 == -2);
	ckp_doc_free(d2);

	/* a flipped byte in the body is caught */
	out[16 + 12] ^= 1;
	d2 = ckp_doc_decode(out, len, "b", 0);
	CHECK(ckp_doc_error(d2) == -EBADMSG);
	CHECK_HAS(ckp_doc_errmsg(d2), "checksum mismatch");
	ckp_doc_free(d2);
	d2 = ckp_doc_decode(out, len, "b", CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d2) == 0 && ckp_doc_sum_state(d2) == CKP_SUM_BAD);
	ckp_doc_free(d2);
	free(out);
	ckp_doc_free(d);
	TEST_END();
}
