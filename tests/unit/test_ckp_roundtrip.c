/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Round trips: many documents x every pair of encodings.  Converting A ->
 * B -> A must give the same tree and the same bytes, and the checksum must
 * be the same in every encoding.
 */
#include "test_ckp.h"

typedef ckp_doc_t *mkdoc_fn(void);

static ckp_doc_t *
d_empty(void)
{
	return ckp_doc_new_empty();
}

static ckp_doc_t *
d_header(void)
{
	setenv("SOURCE_DATE_EPOCH", "1795628711", 1);
	return ckp_doc_new("hyve 0.1.0");
}

static ckp_doc_t *
d_sample(void)
{
	return t_sample_doc();
}

static ckp_doc_t *
d_empty_sections(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *s = ckp_sec_add(ckp_doc_root(d), "a", 0);

	s = ckp_sec_add(s, "b", 1);
	ckp_sec_add(s, "c", 2);
	ckp_sec_add(ckp_doc_root(d), "z@4294967295", 0);
	return d;
}

/* Deepest nesting allowed: CKP_MAX_DEPTH sections. */
static ckp_doc_t *
d_deep(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *s = ckp_doc_root(d);

	for (int i = 0; i < CKP_MAX_DEPTH; i++)
		s = ckp_sec_addf(s, (uint32_t)i, "l@%d", i);
	ckp_sec_add_bool(s, "bottom", true);
	return d;
}

/* A big section (hash index) and long names. */
static ckp_doc_t *
d_wide(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *s = ckp_sec_add(ckp_doc_root(d), "wide", 1);
	char name[CKP_MAX_NAME + 1];

	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ckp_sec_add_uint16(s, name, (uint16_t)i);
	}
	memset(name, 'n', CKP_MAX_NAME);
	name[CKP_MAX_NAME] = '\0';
	ckp_sec_add_string(s, name, "longest name");
	return d;
}

/* Blobs of every length mod 3 and all byte values. */
static ckp_doc_t *
d_blobs(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *s = ckp_sec_add(ckp_doc_root(d), "blobs", 1);
	uint8_t buf[1000];
	char name[32];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t n = 0; n < 40; n++) {
		snprintf(name, sizeof(name), "b%zu", n);
		ckp_sec_add_bytes(s, name, buf, n);
	}
	ckp_sec_add_bytes(s, "big", buf, sizeof(buf));
	return d;
}

static const struct {
	const char *name;
	mkdoc_fn *fn;
} docs[] = {
	{ "empty", d_empty },
	{ "header", d_header },
	{ "sample", d_sample },
	{ "empty_sections", d_empty_sections },
	{ "deep", d_deep },
	{ "wide", d_wide },
	{ "blobs", d_blobs },
};

static const ckp_enc_t encs[] = { CKP_ENC_JSON, CKP_ENC_BIN, CKP_ENC_CONF };

int
main(void)
{
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		ckp_doc_t *orig = docs[i].fn();
		char sum[CKP_SUM_TEXT_LEN];

		if (ckp_doc_error(orig) != 0) {
			fprintf(stderr, "%s: building failed: %s\n", docs[i].name,
			    ckp_doc_errmsg(orig));
			return 1;
		}
		snprintf(sum, sizeof(sum), "%s", ckp_doc_checksum(orig));
		for (size_t a = 0; a < 3; a++) {
			size_t alen;
			char *abuf = t_encode(orig, encs[a], &alen);
			ckp_doc_t *da = ckp_doc_decode(abuf, alen, docs[i].name, 0);
			if (ckp_doc_error(da) != 0)
				fprintf(stderr, "%s/%s: %s\n", docs[i].name,
				    ckp_enc_name(encs[a]), ckp_doc_errmsg(da));
			CHECK(ckp_doc_error(da) == 0);
			CHECK(ckp_doc_encoding(da) == encs[a]);
			CHECK(ckp_doc_sum_state(da) == CKP_SUM_OK);
			CHECK(ckp__sec_equal(ckp_doc_root(da), ckp_doc_root(orig)));
			CHECK_STR(ckp_doc_checksum(da), sum);
			/* the checksum spelled in the text encodings is the same */
			if (encs[a] != CKP_ENC_BIN) {
				char *z = malloc(alen + 1);
				memcpy(z, abuf, alen);
				z[alen] = '\0';
				CHECK_HAS(z, sum);
				free(z);
			}
			for (size_t b = 0; b < 3; b++) {
				size_t blen, a2len;
				char *bbuf = t_encode(da, encs[b], &blen);
				ckp_doc_t *db = ckp_doc_decode(bbuf, blen, "b", 0);
				CHECK(ckp_doc_error(db) == 0);
				CHECK(ckp__sec_equal(ckp_doc_root(db),
				    ckp_doc_root(orig)));
				char *a2 = t_encode(db, encs[a], &a2len);
				if (a2len != alen || memcmp(a2, abuf, alen) != 0)
					fprintf(stderr, "%s: %s -> %s -> %s: bytes differ\n",
					    docs[i].name, ckp_enc_name(encs[a]),
					    ckp_enc_name(encs[b]),
					    ckp_enc_name(encs[a]));
				CHECK(a2len == alen && memcmp(a2, abuf, alen) == 0);
				free(a2);
				free(bbuf);
				ckp_doc_free(db);
			}
			free(abuf);
			ckp_doc_free(da);
		}
		ckp_doc_free(orig);
	}
	TEST_END();
}
