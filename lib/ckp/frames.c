/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The frames of a checkpoint stream (docs/MIGRATION.md section 5) and a
 * receiver of its RAM.  A sender and a receiver of any VMM agree on these
 * payloads, so they live here rather than in one VMM; what a VMM does
 * between frames (when it pauses, what it checks) is its own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckp.h"

#define PAGE	4096u

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

const char *
ckp_frame_name(uint8_t type)
{
	switch (type) {
	case CKP_FRAME_HELLO:	return "HELLO";
	case CKP_FRAME_PAGES:	return "PAGES";
	case CKP_FRAME_ZERO:	return "ZERO";
	case CKP_FRAME_ROUND:	return "ROUND";
	case CKP_FRAME_STATE:	return "STATE";
	case CKP_FRAME_END:	return "END";
	case CKP_FRAME_GO:	return "GO";
	case CKP_FRAME_ABORT:	return "ABORT";
	case CKP_FRAME_ACCEPT:	return "ACCEPT";
	case CKP_FRAME_READY:	return "READY";
	case CKP_FRAME_RUNNING:	return "RUNNING";
	default:		return NULL;
	}
}

void
ckp_frame_pages_head(uint8_t out[8], uint64_t off)
{
	put_le(out, off, 8);
}

void
ckp_frame_zero_make(uint8_t out[16], uint64_t off, uint64_t npages)
{
	put_le(out, off, 8);
	put_le(out + 8, npages, 8);
}

void
ckp_frame_round_make(uint8_t out[16], uint32_t round, uint64_t pages)
{
	put_le(out, round, 4);
	put_le(out + 4, 0, 4);
	put_le(out + 8, pages, 8);
}

int
ckp_frame_round_parse(const void *p, size_t len, uint32_t *round,
    uint64_t *pages, char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (len != 16) {
		snprintf(err, errlen, "ROUND frame of %zu bytes, not 16", len);
		return -EBADMSG;
	}
	if (get_le(b + 4, 4) != 0) {
		snprintf(err, errlen, "ROUND frame: reserved field 0x%08" PRIx64
		    " must be 0", get_le(b + 4, 4));
		return -EBADMSG;
	}
	*round = (uint32_t)get_le(b, 4);
	*pages = get_le(b + 8, 8);
	return 0;
}

ckp_doc_t *
ckp_frame_abort_doc(const char *why)
{
	ckp_doc_t *d = ckp_doc_new_empty();

	if (d != NULL)
		ckp_sec_add_string(ckp_doc_root(d), "error", why);
	return d;
}

void
ckp_frame_abort_reason(const void *p, size_t len, char *why, size_t whylen)
{
	ckp_doc_t *d;
	const char *s = NULL;
	size_t i, o = 0;

	if (whylen == 0)
		return;
	why[0] = '\0';
	d = ckp_doc_decode(p, len, "ABORT frame", 0);
	if (d == NULL || ckp_doc_error(d) != 0 ||
	    ckp_sec_get_string(ckp_doc_root(d), "error", &s) != 0 ||
	    s == NULL) {
		snprintf(why, whylen, "(no reason given)");
		ckp_doc_free(d);
		return;
	}
	/* The peer's words go to a terminal: printable bytes only. */
	for (i = 0; s[i] != '\0' && o + 1 < whylen && i < 1024; i++)
		why[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	why[o] = '\0';
	ckp_doc_free(d);
}

/* ------------------------------------------------------------------------ */
/* Receiving RAM                                                             */
/* ------------------------------------------------------------------------ */

struct ckp_ram_rx {
	ckp_ram_seg_t	*segs;
	size_t		 nsegs;
	uint64_t	 size;
	ckp_ram_sum_t	*sum;
	uint32_t	 chunk;
	uint64_t	 nchunks;
	uint8_t		*stale;		/* chunks written since last hashed */
	uint8_t		*tmp;		/* a chunk that spans two segments */
	uint64_t	 pages, zpages;
	uint32_t	 rounds;
};

ckp_ram_rx_t *
ckp_ram_rx_new(const ckp_ram_seg_t *segs, size_t nsegs)
{
	ckp_ram_rx_t *rx;
	uint64_t off = 0;
	size_t i;

	if (segs == NULL || nsegs == 0)
		return NULL;
	for (i = 0; i < nsegs; i++) {
		if (segs[i].file_off != off || segs[i].len == 0 ||
		    segs[i].len % PAGE != 0 || segs[i].host == NULL)
			return NULL;
		off += segs[i].len;
	}
	if ((rx = calloc(1, sizeof(*rx))) == NULL)
		return NULL;
	rx->size = off;
	rx->nsegs = nsegs;
	if ((rx->segs = calloc(nsegs, sizeof(*segs))) == NULL ||
	    (rx->sum = ckp_ram_sum_new(off)) == NULL)
		goto fail;
	memcpy(rx->segs, segs, nsegs * sizeof(*segs));
	rx->chunk = ckp_ram_sum_chunk_size(rx->sum);
	rx->nchunks = ckp_ram_sum_nchunks(rx->sum);
	if ((rx->stale = calloc((size_t)rx->nchunks, 1)) == NULL)
		goto fail;
	return rx;
fail:
	ckp_ram_rx_free(rx);
	return NULL;
}

void
ckp_ram_rx_free(ckp_ram_rx_t *rx)
{
	if (rx == NULL)
		return;
	ckp_ram_sum_free(rx->sum);
	free(rx->segs);
	free(rx->stale);
	free(rx->tmp);
	free(rx);
}

/* Copy @len bytes to RAM offset @off (zeros when @src is NULL). */
static void
put(ckp_ram_rx_t *rx, uint64_t off, const uint8_t *src, uint64_t len)
{
	uint64_t c, first = off / rx->chunk, last = (off + len - 1) / rx->chunk;
	size_t i;

	for (c = first; c <= last; c++)
		rx->stale[c] = 1;
	for (i = 0; i < rx->nsegs && len > 0; i++) {
		const ckp_ram_seg_t *g = &rx->segs[i];
		uint64_t in, n;

		if (off >= g->file_off + g->len)
			continue;
		in = off - g->file_off;
		n = g->len - in < len ? g->len - in : len;
		/* The caller gave this memory to be written (see ckp.h). */
		if (src != NULL) {
			memcpy((uint8_t *)(uintptr_t)g->host + in, src, n);
			src += n;
		} else {
			memset((uint8_t *)(uintptr_t)g->host + in, 0, n);
		}
		off += n;
		len -= n;
	}
}

/* The bytes of chunk @c, contiguous (copied when it spans segments). */
static const void *
chunk_bytes(ckp_ram_rx_t *rx, uint64_t c)
{
	uint64_t off = c * rx->chunk, len = rx->size - off < rx->chunk ?
	    rx->size - off : rx->chunk, done = 0;
	size_t i;

	for (i = 0; i < rx->nsegs; i++) {
		const ckp_ram_seg_t *g = &rx->segs[i];

		if (off >= g->file_off && off + len <= g->file_off + g->len)
			return (const uint8_t *)g->host + (off - g->file_off);
	}
	if (rx->tmp == NULL && (rx->tmp = malloc(rx->chunk)) == NULL)
		return NULL;
	for (i = 0; i < rx->nsegs && done < len; i++) {
		const ckp_ram_seg_t *g = &rx->segs[i];
		uint64_t at = off + done, in, n;

		if (at >= g->file_off + g->len || at < g->file_off)
			continue;
		in = at - g->file_off;
		n = g->len - in < len - done ? g->len - in : len - done;
		memcpy(rx->tmp + done, (const uint8_t *)g->host + in, n);
		done += n;
	}
	return rx->tmp;
}

/* Hash what changed since the last time. */
static int
rehash(ckp_ram_rx_t *rx)
{
	const void *b;
	uint64_t c;

	for (c = 0; c < rx->nchunks; c++) {
		if (!rx->stale[c])
			continue;
		if ((b = chunk_bytes(rx, c)) == NULL)
			return -ENOMEM;
		(void)ckp_ram_sum_chunk(rx->sum, c, b);
		rx->stale[c] = 0;
	}
	return 0;
}

static int
range_ok(const ckp_ram_rx_t *rx, const char *what, uint64_t off,
    uint64_t npages, char *err, size_t errlen)
{
	if (off % PAGE != 0) {
		snprintf(err, errlen, "%s frame: offset 0x%" PRIx64 " is not a "
		    "multiple of 4096", what, off);
		return -EBADMSG;
	}
	if (npages == 0 || off >= rx->size ||
	    npages > (rx->size - off) / PAGE) {
		snprintf(err, errlen, "%s frame: %" PRIu64 " pages at offset "
		    "0x%" PRIx64 " are not inside the guest's %" PRIu64
		    " bytes of RAM", what, npages, off, rx->size);
		return -EBADMSG;
	}
	return 0;
}

int
ckp_ram_rx_frame(ckp_ram_rx_t *rx, uint8_t type, const void *payload,
    size_t len, char *err, size_t errlen)
{
	const uint8_t *b = payload;
	uint64_t off, n, pages;
	uint32_t round;
	int rc;

	switch (type) {
	case CKP_FRAME_PAGES:
		if (len < 8 + PAGE || (len - 8) % PAGE != 0 ||
		    len - 8 > CKP_FRAME_PAGES_MAX) {
			snprintf(err, errlen, "PAGES frame of %zu bytes: 8 and "
			    "1 to %u whole pages expected", len,
			    CKP_FRAME_PAGES_MAX / PAGE);
			return -EBADMSG;
		}
		off = get_le(b, 8);
		n = (len - 8) / PAGE;
		if ((rc = range_ok(rx, "PAGES", off, n, err, errlen)) != 0)
			return rc;
		put(rx, off, b + 8, n * PAGE);
		rx->pages += n;
		return 0;
	case CKP_FRAME_ZERO:
		if (len != 16) {
			snprintf(err, errlen, "ZERO frame of %zu bytes, not 16",
			    len);
			return -EBADMSG;
		}
		off = get_le(b, 8);
		n = get_le(b + 8, 8);
		if ((rc = range_ok(rx, "ZERO", off, n, err, errlen)) != 0)
			return rc;
		put(rx, off, NULL, n * PAGE);
		rx->zpages += n;
		return 0;
	case CKP_FRAME_ROUND:
		if ((rc = ckp_frame_round_parse(payload, len, &round, &pages,
		    err, errlen)) != 0)
			return rc;
		if (round != rx->rounds) {
			snprintf(err, errlen, "ROUND frame: round %" PRIu32
			    ", expected %" PRIu32, round, rx->rounds);
			return -EBADMSG;
		}
		rx->rounds++;
		/* While the sender reads the next round from its guest. */
		if ((rc = rehash(rx)) != 0) {
			snprintf(err, errlen, "out of memory");
			return rc;
		}
		return 0;
	default:
		snprintf(err, errlen, "frame type 0x%02x (%s) does not carry RAM",
		    type, ckp_frame_name(type) != NULL ? ckp_frame_name(type) :
		    "unknown");
		return -EINVAL;
	}
}

int
ckp_ram_rx_check(ckp_ram_rx_t *rx, ckp_doc_t *meta, char *err,
    size_t errlen)
{
	int rc;

	if ((rc = rehash(rx)) != 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	return ckp_ram_sum_check(rx->sum, meta, err, errlen);
}

void
ckp_ram_rx_counters(const ckp_ram_rx_t *rx, uint64_t *pages,
    uint64_t *zpages, uint32_t *rounds)
{
	if (pages != NULL)
		*pages = rx->pages;
	if (zpages != NULL)
		*zpages = rx->zpages;
	if (rounds != NULL)
		*rounds = rx->rounds;
}
