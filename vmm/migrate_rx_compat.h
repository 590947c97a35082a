/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * TEMPORARY: the frame helpers and RAM receiver of the issue 12 contract,
 * for building vmm/migrate_in.c until libckp has them (the lead's commit
 * "libckp: checkpoint stream frames and a RAM receiver").  Removed then.
 */
#ifndef HYVE_MIGRATE_RX_COMPAT_H
#define HYVE_MIGRATE_RX_COMPAT_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckp.h"

#define CKP_FRAME_HELLO   0x01
#define CKP_FRAME_PAGES   0x10
#define CKP_FRAME_ZERO    0x11
#define CKP_FRAME_ROUND   0x12
#define CKP_FRAME_STATE   0x20
#define CKP_FRAME_END     0x21
#define CKP_FRAME_GO      0x22
#define CKP_FRAME_ABORT   0x7f
#define CKP_FRAME_ACCEPT  0x81
#define CKP_FRAME_READY   0x83
#define CKP_FRAME_RUNNING 0x84
#define CKP_FRAME_PAGES_MAX (4u << 20)

static inline const char *
ckp_frame_name(uint8_t t)
{
	switch (t) {
	case CKP_FRAME_HELLO: return "HELLO";
	case CKP_FRAME_PAGES: return "PAGES";
	case CKP_FRAME_ZERO: return "ZERO";
	case CKP_FRAME_ROUND: return "ROUND";
	case CKP_FRAME_STATE: return "STATE";
	case CKP_FRAME_END: return "END";
	case CKP_FRAME_GO: return "GO";
	case CKP_FRAME_ABORT: return "ABORT";
	case CKP_FRAME_ACCEPT: return "ACCEPT";
	case CKP_FRAME_READY: return "READY";
	case CKP_FRAME_RUNNING: return "RUNNING";
	}
	return NULL;
}

static inline ckp_doc_t *
ckp_frame_abort_doc(const char *why)
{
	ckp_doc_t *d = ckp_doc_new("hyve");

	if (d != NULL)
		ckp_sec_add_string(ckp_doc_root(d), "error", why);
	return d;
}

static inline void
ckp_frame_abort_reason(const void *p, size_t len, char *why, size_t whylen)
{
	ckp_doc_t *d = ckp_doc_decode(p, len, "ABORT", 0);
	const char *s = NULL;
	size_t i;

	snprintf(why, whylen, "(no reason given)");
	if (d != NULL && ckp_doc_error(d) == 0 &&
	    ckp_sec_get_string(ckp_doc_root(d), "error", &s) == 0)
		snprintf(why, whylen, "%s", s);
	for (i = 0; why[i] != '\0'; i++)
		if ((unsigned char)why[i] < 0x20)
			why[i] = '?';
	ckp_doc_free(d);
}

static inline uint64_t
compat_le64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

typedef struct ckp_ram_rx {
	ckp_ram_seg_t	 segs[8];
	size_t		 nsegs;
	uint64_t	 size;
	ckp_ram_sum_t	*sum;
	uint8_t		*touched;	/* one byte per chunk */
	uint8_t		*buf;		/* a chunk across two segments */
	uint64_t	 pages, zpages;
	uint32_t	 rounds;
} ckp_ram_rx_t;

static inline void
ckp_ram_rx_free(ckp_ram_rx_t *rx)
{
	if (rx == NULL)
		return;
	ckp_ram_sum_free(rx->sum);
	free(rx->touched);
	free(rx->buf);
	free(rx);
}

static inline ckp_ram_rx_t *
ckp_ram_rx_new(const ckp_ram_seg_t *segs, size_t nsegs)
{
	ckp_ram_rx_t *rx = calloc(1, sizeof(*rx));
	size_t i;

	if (rx == NULL || nsegs > 8)
		goto fail;
	for (i = 0; i < nsegs; i++) {
		rx->segs[i] = segs[i];
		rx->size += segs[i].len;
	}
	rx->nsegs = nsegs;
	if ((rx->sum = ckp_ram_sum_new(rx->size)) == NULL ||
	    (rx->touched = calloc(ckp_ram_sum_nchunks(rx->sum), 1)) == NULL ||
	    (rx->buf = malloc(ckp_ram_sum_chunk_size(rx->sum))) == NULL)
		goto fail;
	return rx;
fail:
	ckp_ram_rx_free(rx);
	return NULL;
}

/* Host address of RAM offset @off, @len bytes in one segment, or NULL. */
static inline uint8_t *
compat_rx_at(ckp_ram_rx_t *rx, uint64_t off, uint64_t len)
{
	size_t i;

	for (i = 0; i < rx->nsegs; i++) {
		const ckp_ram_seg_t *s = &rx->segs[i];
		if (off >= s->file_off && off - s->file_off < s->len &&
		    len <= s->len - (off - s->file_off))
			return (uint8_t *)s->host + (off - s->file_off);
	}
	return NULL;
}

static inline void
compat_rx_mark(ckp_ram_rx_t *rx, uint64_t off, uint64_t len)
{
	uint64_t cs = ckp_ram_sum_chunk_size(rx->sum), c;

	for (c = off / cs; c * cs < off + len; c++)
		rx->touched[c] = 1;
}

/* Copy bytes; a run may cross segments, page by page. */
static inline int
compat_rx_put(ckp_ram_rx_t *rx, uint64_t off, const uint8_t *src,
    uint64_t len, char *err, size_t errlen)
{
	uint64_t done;

	if (off % 4096 != 0 || len % 4096 != 0 || off > rx->size ||
	    len > rx->size - off) {
		snprintf(err, errlen, "pages at offset %#" PRIx64 " (%" PRIu64
		    " bytes) are not within the %" PRIu64 " bytes of RAM, or "
		    "not whole pages", off, len, rx->size);
		return -EBADMSG;
	}
	for (done = 0; done < len; done += 4096) {
		uint8_t *dst = compat_rx_at(rx, off + done, 4096);
		if (dst == NULL) {
			snprintf(err, errlen, "offset %#" PRIx64 " is in no RAM "
			    "segment", off + done);
			return -EBADMSG;
		}
		if (src != NULL)
			memcpy(dst, src + done, 4096);
		else
			memset(dst, 0, 4096);
	}
	compat_rx_mark(rx, off, len);
	return 0;
}

static inline void
compat_rx_hash(ckp_ram_rx_t *rx)
{
	uint64_t cs = ckp_ram_sum_chunk_size(rx->sum);
	uint64_t n = ckp_ram_sum_nchunks(rx->sum), c, len, o;

	for (c = 0; c < n; c++) {
		const uint8_t *p;
		if (!rx->touched[c])
			continue;
		rx->touched[c] = 0;
		len = rx->size - c * cs < cs ? rx->size - c * cs : cs;
		if ((p = compat_rx_at(rx, c * cs, len)) == NULL) {
			for (o = 0; o < len; o += 4096)
				memcpy(rx->buf + o, compat_rx_at(rx, c * cs + o,
				    4096), 4096);
			p = rx->buf;
		}
		(void)ckp_ram_sum_chunk(rx->sum, c, p);
	}
}

static inline int
ckp_ram_rx_frame(ckp_ram_rx_t *rx, uint8_t type, const void *payload,
    size_t len, char *err, size_t errlen)
{
	const uint8_t *p = payload;
	uint64_t off, n;

	switch (type) {
	case CKP_FRAME_PAGES:
		if (len < 8 || len - 8 > CKP_FRAME_PAGES_MAX) {
			snprintf(err, errlen, "PAGES of %zu bytes", len);
			return -EBADMSG;
		}
		off = compat_le64(p);
		rx->pages += (len - 8) / 4096;
		return compat_rx_put(rx, off, p + 8, len - 8, err, errlen);
	case CKP_FRAME_ZERO:
		if (len != 16) {
			snprintf(err, errlen, "ZERO of %zu bytes, not 16", len);
			return -EBADMSG;
		}
		off = compat_le64(p);
		n = compat_le64(p + 8);
		if (n > rx->size / 4096) {
			snprintf(err, errlen, "ZERO of %" PRIu64 " pages", n);
			return -EBADMSG;
		}
		rx->zpages += n;
		return compat_rx_put(rx, off, NULL, n * 4096, err, errlen);
	case CKP_FRAME_ROUND:
		if (len != 16) {
			snprintf(err, errlen, "ROUND of %zu bytes, not 16", len);
			return -EBADMSG;
		}
		compat_rx_hash(rx);
		rx->rounds++;
		return 0;
	}
	snprintf(err, errlen, "not a RAM frame");
	return -EINVAL;
}

static inline int
ckp_ram_rx_check(ckp_ram_rx_t *rx, ckp_doc_t *meta, char *err, size_t errlen)
{
	compat_rx_hash(rx);
	return ckp_ram_sum_check(rx->sum, meta, err, errlen);
}

static inline void
ckp_ram_rx_counters(const ckp_ram_rx_t *rx, uint64_t *pages, uint64_t *zp,
    uint32_t *rounds)
{
	*pages = rx->pages;
	*zp = rx->zpages;
	*rounds = rx->rounds;
}

#endif /* HYVE_MIGRATE_RX_COMPAT_H */
