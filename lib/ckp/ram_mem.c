/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * RAM summaries of memory (include/ckp.h): per-chunk summaries that add up
 * to a "ram" section exactly as a RAM file's do (ram_sum.c), for RAM that
 * travels in a stream instead of lying in a file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ram_read.h"

struct ckp_ram_sum {
	uint64_t	 size;
	uint32_t	 chunk_size;
	uint64_t	 nchunks;
	struct ckp__csum *cs;
};

ckp_ram_sum_t *
ckp_ram_sum_new(uint64_t size)
{
	ckp_ram_sum_t *s;

	if (size == 0 || size % CKP_RAM_PAGE != 0)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->size = size;
	s->chunk_size = CKP_RAM_CHUNK;
	s->nchunks = ckp__nchunks(size, s->chunk_size);
	/* All zero: a zero chunk's summary is all zero bytes. */
	if ((s->cs = calloc((size_t)s->nchunks, sizeof(*s->cs))) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
ckp_ram_sum_free(ckp_ram_sum_t *s)
{
	if (s == NULL)
		return;
	free(s->cs);
	free(s);
}

uint32_t
ckp_ram_sum_chunk_size(const ckp_ram_sum_t *s)
{
	return s->chunk_size;
}

uint64_t
ckp_ram_sum_nchunks(const ckp_ram_sum_t *s)
{
	return s->nchunks;
}

int
ckp_ram_sum_chunk(ckp_ram_sum_t *s, uint64_t index, const void *buf)
{
	uint64_t off, len;

	if (index >= s->nchunks)
		return -EINVAL;
	off = index * s->chunk_size;
	len = s->size - off < s->chunk_size ? s->size - off : s->chunk_size;
	ckp__csum_buf(buf, (size_t)len, &s->cs[index]);
	return 0;
}

int
ckp_ram_sum_section(const ckp_ram_sum_t *s, ckp_doc_t *meta, const char *file)
{
	struct ckp__ram_totals t;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	int rc;

	if ((rc = ckp_doc_error(meta)) != 0)
		return rc;
	if ((rc = ckp__ram_combine(s->cs, s->size, s->chunk_size, &t, &blob,
	    &bloblen)) != 0)
		return ckp_doc_set_error(meta, rc, "summarising RAM: %s",
		    strerror(-rc));
	rc = ckp__ram_sec_write(meta, file, &t, blob, bloblen);
	free(blob);
	return rc;
}

int
ckp_ram_sum_check(const ckp_ram_sum_t *s, ckp_doc_t *meta, char *err,
    size_t errlen)
{
	struct ckp__ram_info ri;
	struct ckp__ram_totals t;
	const char *what = "";
	uint64_t bad;
	int rc;

	if ((rc = ckp__ram_info(meta, &ri)) != 0) {
		snprintf(err, errlen, "%s", ckp_doc_errmsg(meta));
		return rc;
	}
	if (ri.size != s->size) {
		snprintf(err, errlen, "ram.size is %" PRIu64 " bytes, the RAM "
		    "received %" PRIu64, ri.size, s->size);
		return -EBADMSG;
	}
	if (ri.chunk_size != s->chunk_size) {
		snprintf(err, errlen, "ram.chunk_size is %" PRIu32 ", the RAM "
		    "received is summarised in chunks of %" PRIu32,
		    ri.chunk_size, s->chunk_size);
		return -EBADMSG;
	}
	if ((rc = ckp__ram_combine(s->cs, s->size, s->chunk_size, &t, NULL,
	    NULL)) != 0) {
		snprintf(err, errlen, "summarising RAM: %s", strerror(-rc));
		return rc;
	}
	/* A chunk list that does not add up to the checksum names nothing. */
	if (ri.chunks != NULL && ckp__ram_chunks_usable(&ri) &&
	    (bad = ckp__ram_first_bad_chunk(&ri, s->cs, &what)) < s->nchunks) {
		snprintf(err, errlen, "RAM received: chunk at offset 0x%" PRIx64
		    " %s", bad * s->chunk_size, what);
		return -EBADMSG;
	}
	if (ri.sum != t.checksum) {
		snprintf(err, errlen, "RAM received: its checksum is not "
		    "ram.checksum %s", ri.sumtext);
		return -EBADMSG;
	}
	if (ri.have_data_bytes && ri.data_bytes != t.data_bytes) {
		snprintf(err, errlen, "RAM received: %" PRIu64 " bytes of data, "
		    "ram.data_bytes says %" PRIu64, t.data_bytes, ri.data_bytes);
		return -EBADMSG;
	}
	if (ri.have_extents && ri.extents != t.extents) {
		snprintf(err, errlen, "RAM received: %" PRIu64 " extents, "
		    "ram.extents says %" PRIu64, t.extents, ri.extents);
		return -EBADMSG;
	}
	return 0;
}
