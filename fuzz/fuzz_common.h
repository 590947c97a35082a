/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Shared by the fuzz targets: whatever a decoder accepts must survive
 * encoding in every encoding and decoding again, unchanged, and encode to
 * the same bytes every time.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckp.h"
#include "ckp_impl.h"

#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c); \
		abort();						\
	}								\
} while (0)

static const ckp_enc_t fuzz_encs[] = { CKP_ENC_JSON, CKP_ENC_BIN, CKP_ENC_CONF };

static void
fuzz_roundtrip(ckp_doc_t *doc)
{
	void *first[3];
	size_t firstlen[3];

	for (int a = 0; a < 3; a++) {
		int err = ckp_doc_encode(doc, fuzz_encs[a], &first[a], &firstlen[a]);
		FUZZ_ASSERT(err == 0);
	}
	for (int a = 0; a < 3; a++) {
		ckp_doc_t *d = ckp_doc_decode(first[a], firstlen[a], "re", 0);
		FUZZ_ASSERT(d != NULL);
		if (ckp_doc_error(d) != 0)
			fprintf(stderr, "re-decode %s: %s\n",
			    ckp_enc_name(fuzz_encs[a]), ckp_doc_errmsg(d));
		FUZZ_ASSERT(ckp_doc_error(d) == 0);
		FUZZ_ASSERT(ckp_doc_encoding(d) == fuzz_encs[a]);
		FUZZ_ASSERT(ckp_doc_sum_state(d) == CKP_SUM_OK);
		FUZZ_ASSERT(ckp__sec_equal(ckp_doc_root(d), ckp_doc_root(doc)));
		/* every encoding of the re-decoded tree gives the same bytes */
		for (int b = 0; b < 3; b++) {
			void *buf;
			size_t len;
			FUZZ_ASSERT(ckp_doc_encode(d, fuzz_encs[b], &buf, &len) == 0);
			FUZZ_ASSERT(len == firstlen[b]);
			FUZZ_ASSERT(memcmp(buf, first[b], len) == 0);
			free(buf);
		}
		ckp_doc_free(d);
	}
	for (int a = 0; a < 3; a++)
		free(first[a]);
}

typedef int fuzz_decode_fn(ckp_doc_t *, const void *, size_t, const char *,
    unsigned);

static int
fuzz_one(const uint8_t *data, size_t size, int (*dec)(ckp_doc_t *,
    const uint8_t *, size_t))
{
	ckp_doc_t *doc = ckp_doc_new_empty();

	FUZZ_ASSERT(doc != NULL);
	if (dec(doc, data, size) == 0 && ckp_doc_error(doc) == 0)
		fuzz_roundtrip(doc);
	else {
		/* one message, one line, never empty */
		const char *m = ckp_doc_errmsg(doc);
		FUZZ_ASSERT(ckp_doc_error(doc) < 0);
		FUZZ_ASSERT(m[0] != '\0' && strchr(m, '\n') == NULL);
	}
	ckp_doc_free(doc);
	return 0;
}

#endif
