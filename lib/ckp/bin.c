/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The binary encoding, and the canonical body every encoding's checksum
 * is computed over (docs/FORMAT.md, "Binary encoding").
 *
 *   file   = "CKPB" u16:version u16:flags u64:body_len body u64:xxh3(body)
 *   body   = record* END
 *   record = u8:tag u8:name_len name value
 *   value  = fixed-width little-endian integer (1/2/4/8 bytes, bool 0|1)
 *          | u64:len bytes                       (string, b64)
 *          | u32:version record* END             (section)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "ckp_impl.h"

#define BIN_MAGIC	"CKPB"
#define BIN_VERSION	1
#define BIN_HDR		16
#define BIN_TRAILER	8
#define TAG_END		0

/* Where body bytes go: a buffer (encode) or a running hash (checksum). */
struct sink {
	struct ckp__buf	*buf;
	XXH3_state_t	*xs;
	size_t		 n;
	uint8_t		 stage[16384];
};

static void
sink_flush(struct sink *s)
{
	if (s->n > 0)
		XXH3_64bits_update(s->xs, s->stage, s->n);
	s->n = 0;
}

static inline void
sink_put(struct sink *s, const void *p, size_t n)
{
	if (s->buf != NULL) {
		ckp__buf_put(s->buf, p, n);
		return;
	}
	if (n > sizeof(s->stage) - s->n) {
		sink_flush(s);
		if (n >= sizeof(s->stage) / 2) {
			XXH3_64bits_update(s->xs, p, n);
			return;
		}
	}
	memcpy(s->stage + s->n, p, n);
	s->n += n;
}

static inline void
le_put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t
le_get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void
emit_sec(struct sink *s, const ckp_sec_t *sec)
{
	uint8_t hdr[2 + CKP_MAX_NAME + 8];

	for (const ckp_ent_t *e = sec->first; e != NULL; e = e->next) {
		size_t n = 0, w;
		hdr[n++] = e->type;
		hdr[n++] = e->namelen;
		memcpy(hdr + n, e->name, e->namelen);
		n += e->namelen;
		switch (e->type) {
		case CKP_TYPE_STRING:
		case CKP_TYPE_B64:
			le_put(hdr + n, e->v.s.len, 8);
			sink_put(s, hdr, n + 8);
			if (e->v.s.len > 0)
				sink_put(s, e->v.s.p, e->v.s.len);
			break;
		case CKP_TYPE_SECTION:
			le_put(hdr + n, e->v.sec->version, 4);
			sink_put(s, hdr, n + 4);
			emit_sec(s, e->v.sec);
			break;
		case CKP_TYPE_BOOL:
			hdr[n++] = e->v.b ? 1 : 0;
			sink_put(s, hdr, n);
			break;
		default:
			w = ckp__type_size((ckp_type_t)e->type);
			le_put(hdr + n, e->v.u, w);
			sink_put(s, hdr, n + w);
			break;
		}
	}
	hdr[0] = TAG_END;
	sink_put(s, hdr, 1);
}

uint64_t
ckp__body_hash(const ckp_sec_t *root)
{
	struct sink *s = malloc(sizeof(*s));
	uint64_t h;

	if (s == NULL)
		return 0;
	s->buf = NULL;
	s->n = 0;
	s->xs = XXH3_createState();
	if (s->xs == NULL) {
		free(s);
		return 0;
	}
	XXH3_64bits_reset(s->xs);
	emit_sec(s, root);
	sink_flush(s);
	h = XXH3_64bits_digest(s->xs);
	XXH3_freeState(s->xs);
	free(s);
	return h;
}

int
ckp__bin_encode(const ckp_sec_t *root, struct ckp__buf *out)
{
	struct sink s;
	size_t start = out->len, body;
	uint8_t *p;

	s.buf = out;
	s.xs = NULL;
	s.n = 0;
	ckp__buf_put(out, BIN_MAGIC, 4);
	p = (uint8_t *)ckp__buf_reserve(out, 12);
	if (p == NULL)
		return -ENOMEM;
	le_put(p, BIN_VERSION, 2);
	le_put(p + 2, 0, 2);
	le_put(p + 4, 0, 8);	/* body length, patched below */
	out->len += 12;
	body = out->len;
	emit_sec(&s, root);
	if (out->err != 0)
		return out->err;
	le_put((uint8_t *)out->p + start + 8, out->len - body, 8);
	p = (uint8_t *)ckp__buf_reserve(out, 8);
	if (p == NULL)
		return -ENOMEM;
	le_put(p, XXH3_64bits(out->p + body, out->len - body), 8);
	out->len += 8;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

struct bdec {
	ckp_doc_t	*doc;
	const uint8_t	*buf;
	size_t		 end;	/* end of the body */
	size_t		 pos;
	const char	*origin;
};

static int
berr(struct bdec *d, size_t off, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
berr(struct bdec *d, size_t off, int err, const char *fmt, ...)
{
	char msg[CKP__ERRMSG_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ckp_doc_set_error(d->doc, err, "%s: byte offset %zu: %s",
	    d->origin, off, msg);
}

/* Check that @p n more body bytes are there. */
static int
need(struct bdec *d, size_t n, const char *what)
{
	if (d->end - d->pos < n)
		return berr(d, d->pos, -EINVAL,
		    "truncated: %s needs %zu bytes, the body has %zu left",
		    what, n, d->end - d->pos);
	return 0;
}

static int
dec_sec(struct bdec *d, ckp_sec_t *sec)
{
	char path[600];
	int err;

	for (;;) {
		size_t at = d->pos;
		if ((err = need(d, 1, "a record tag")) != 0)
			return err;
		uint8_t tag = d->buf[d->pos++];
		if (tag == TAG_END)
			return 0;
		if (tag > CKP_TYPE_SECTION)
			return berr(d, at, -EINVAL, "unknown record tag %u", tag);
		if ((err = need(d, 1, "a name length")) != 0)
			return err;
		size_t nlen = d->buf[d->pos++];
		if ((err = need(d, nlen, "a name")) != 0)
			return err;
		const char *name = (const char *)d->buf + d->pos;
		if (!ckp__name_ok(name, nlen, tag == CKP_TYPE_SECTION))
			return berr(d, d->pos, -EINVAL,
			    "invalid %s name '%.*s'",
			    tag == CKP_TYPE_SECTION ? "section" : "field",
			    (int)nlen, name);
		d->pos += nlen;
		ckp_ent_t *e = ckp__ent_add(sec, name, nlen, (ckp_type_t)tag, &err);
		if (e == NULL) {
			if (ckp_sec_path(sec, path, sizeof(path)) != 0)
				snprintf(path, sizeof(path), "...");
			if (err == -EEXIST)
				return berr(d, at, err, "duplicate name '%.*s' in %s%s",
				    (int)nlen, name, path[0] ? "section " : "the root",
				    path);
			if (err == -E2BIG)
				return berr(d, at, err,
				    "sections nest deeper than %d levels",
				    CKP_MAX_DEPTH);
			return ckp_doc_set_error(d->doc, err, "out of memory");
		}
		size_t w;
		switch (tag) {
		case CKP_TYPE_STRING:
		case CKP_TYPE_B64: {
			if ((err = need(d, 8, "a length")) != 0)
				return err;
			uint64_t len = le_get(d->buf + d->pos, 8);
			if (len > d->end - d->pos - 8)
				return berr(d, d->pos, -EINVAL,
				    "length %llu exceeds the %zu bytes left in the body",
				    (unsigned long long)len, d->end - d->pos - 8);
			d->pos += 8;
			const char *p = (const char *)d->buf + d->pos;
			if (tag == CKP_TYPE_STRING) {
				size_t bad = ckp__utf8_check(p, len);
				if (bad != len)
					return berr(d, d->pos + bad, -EINVAL,
					    "string '%.*s' is not valid UTF-8 or contains NUL",
					    (int)nlen, name);
			}
			if ((err = ckp__ent_set_buf(e, p, len)) != 0)
				return ckp_doc_set_error(d->doc, err, "out of memory");
			d->pos += len;
			break;
		}
		case CKP_TYPE_SECTION:
			if ((err = need(d, 4, "a section version")) != 0)
				return err;
			e->v.sec->version = (uint32_t)le_get(d->buf + d->pos, 4);
			d->pos += 4;
			if ((err = dec_sec(d, e->v.sec)) != 0)
				return err;
			break;
		case CKP_TYPE_BOOL:
			if ((err = need(d, 1, "a bool")) != 0)
				return err;
			if (d->buf[d->pos] > 1)
				return berr(d, d->pos, -EINVAL,
				    "bool '%.*s' is %u, not 0 or 1", (int)nlen,
				    name, d->buf[d->pos]);
			e->v.b = d->buf[d->pos++] != 0;
			break;
		default:
			w = ckp__type_size((ckp_type_t)tag);
			if ((err = need(d, w, ckp_type_name((ckp_type_t)tag))) != 0)
				return err;
			uint64_t v = le_get(d->buf + d->pos, w);
			if (ckp__type_is_signed((ckp_type_t)tag) && w < 8 &&
			    (v >> (8 * w - 1)) != 0)
				v |= ~(uint64_t)0 << (8 * w);	/* sign-extend */
			e->v.u = v;
			d->pos += w;
			break;
		}
	}
}

int
ckp__bin_decode(ckp_doc_t *doc, const uint8_t *buf, size_t len,
    const char *origin, unsigned flags)
{
	struct bdec d = { .doc = doc, .buf = buf, .pos = 0, .origin = origin };
	char where[600];
	int err;

	doc->enc = CKP_ENC_BIN;
	if (len < 4 || memcmp(buf, BIN_MAGIC, 4) != 0)
		return berr(&d, 0, -EINVAL,
		    "wrong magic: not a binary checkpoint document (expected \"CKPB\")");
	if (len < BIN_HDR)
		return berr(&d, len, -EINVAL,
		    "truncated: the header needs %d bytes, the file has %zu",
		    BIN_HDR, len);
	unsigned ver = (unsigned)le_get(buf + 4, 2);
	unsigned fl = (unsigned)le_get(buf + 6, 2);
	uint64_t blen = le_get(buf + 8, 8);
	if (ver == 0 || ver > BIN_VERSION)
		return berr(&d, 4, -EINVAL,
		    "binary encoding version %u %s (this program reads %d)", ver,
		    ver == 0 ? "is invalid" : "is newer than it knows",
		    BIN_VERSION);
	if (fl != 0)
		return berr(&d, 6, -EINVAL, "unknown flags 0x%04x", fl);
	if (blen > len - BIN_HDR)
		return berr(&d, 8, -EINVAL,
		    "truncated: body length %llu exceeds the %zu bytes after the header",
		    (unsigned long long)blen, len - BIN_HDR);
	if (len - BIN_HDR - blen < BIN_TRAILER)
		return berr(&d, BIN_HDR + blen, -EINVAL,
		    "truncated: the 8-byte checksum after the body is missing");
	if (len - BIN_HDR - blen > BIN_TRAILER)
		return berr(&d, BIN_HDR + blen + BIN_TRAILER, -EINVAL,
		    "trailing garbage: %llu bytes after the checksum",
		    (unsigned long long)(len - BIN_HDR - blen - BIN_TRAILER));
	d.pos = BIN_HDR;
	d.end = BIN_HDR + blen;
	if ((err = dec_sec(&d, &doc->root)) != 0)
		return err;
	if (d.pos != d.end)
		return berr(&d, d.pos, -EINVAL,
		    "trailing garbage: %zu bytes after the root's end tag inside the body",
		    d.end - d.pos);
	uint64_t file_sum = le_get(buf + d.end, 8);
	uint64_t content = XXH3_64bits(buf + BIN_HDR, blen);
	snprintf(where, sizeof(where), "%s: byte offset %zu", origin, d.end);
	return ckp__decode_finish(doc, true, file_sum, content, origin, where,
	    flags);
}
