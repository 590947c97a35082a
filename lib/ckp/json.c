/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The JSON encoding (docs/FORMAT.md, "JSON encoding").  Our own parser,
 * because a checkpoint needs what general JSON libraries do not give:
 * duplicate keys detected, member order kept, 64-bit values exact, and
 * errors with line and column.  It builds the tree directly (no DOM) and
 * decodes base64 straight out of the input.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckp_impl.h"

#define INDENT "  "

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

/* Bytes a JSON string must escape: '"', '\\' and control characters. */
static inline bool
special(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

void
ckp__json_quote(struct ckp__buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run;

	ckp__buf_putc(out, '"');
	while (i < n) {
		for (run = i; run < n && !special((unsigned char)s[run]);
		    run++)
			;
		ckp__buf_put(out, s + i, run - i);
		if (run == n)
			break;
		unsigned char c = (unsigned char)s[run];
		char esc[7] = { '\\', 0 };
		size_t el = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
			break;
		}
		ckp__buf_put(out, esc, el);
		i = run + 1;
	}
	ckp__buf_putc(out, '"');
}

static void
indent(struct ckp__buf *out, unsigned depth)
{
	char *d = ckp__buf_reserve(out, 2 * depth);

	if (d == NULL)
		return;
	memset(d, ' ', 2 * depth);
	out->len += 2 * depth;
}

static void
enc_sec(const ckp_sec_t *sec, unsigned depth, struct ckp__buf *out,
    const char *sum)
{
	char num[24];
	size_t n;

	ckp__buf_puts(out, "{\n");
	if (sec->ent != NULL) {
		indent(out, depth + 1);
		ckp__buf_puts(out, "\"$version\": ");
		n = ckp__fmt_scalar(CKP_TYPE_UINT32, sec->version, num);
		ckp__buf_put(out, num, n);
		ckp__buf_puts(out, sec->first != NULL ? ",\n" : "\n");
	}
	for (const ckp_ent_t *e = sec->first; e != NULL; e = e->next) {
		indent(out, depth + 1);
		ckp__buf_putc(out, '"');
		ckp__buf_put(out, e->name, e->namelen);
		if (e->type != CKP_TYPE_SECTION) {
			ckp__buf_putc(out, '$');
			ckp__buf_puts(out, ckp_type_name((ckp_type_t)e->type));
		}
		ckp__buf_put(out, "\": ", 3);
		switch (e->type) {
		case CKP_TYPE_SECTION:
			enc_sec(e->v.sec, depth + 1, out, NULL);
			break;
		case CKP_TYPE_STRING:
			ckp__json_quote(out, e->v.s.p, e->v.s.len);
			break;
		case CKP_TYPE_B64: {
			size_t bl = ckp__b64_enclen(e->v.s.len);
			char *d = ckp__buf_reserve(out, bl + 2);
			if (d == NULL)
				return;
			d[0] = '"';
			ckp__b64_encode(e->v.s.p, e->v.s.len, d + 1);
			d[bl + 1] = '"';
			out->len += bl + 2;
			break;
		}
		case CKP_TYPE_INT64:
		case CKP_TYPE_UINT64:
			ckp__buf_putc(out, '"');
			n = ckp__fmt_scalar((ckp_type_t)e->type, e->v.u, num);
			ckp__buf_put(out, num, n);
			ckp__buf_putc(out, '"');
			break;
		default:
			n = ckp__fmt_scalar((ckp_type_t)e->type,
			    e->type == CKP_TYPE_BOOL ? (uint64_t)e->v.b : e->v.u,
			    num);
			ckp__buf_put(out, num, n);
			break;
		}
		ckp__buf_puts(out, e->next != NULL || sum != NULL ? ",\n" : "\n");
	}
	if (sum != NULL) {
		indent(out, depth + 1);
		ckp__buf_puts(out, "\"$checksum\": \"");
		ckp__buf_puts(out, sum);
		ckp__buf_puts(out, "\"\n");
	}
	indent(out, depth);
	ckp__buf_putc(out, '}');
}

int
ckp__json_encode(const ckp_sec_t *root, const char *sum, struct ckp__buf *out)
{
	enc_sec(root, 0, out, sum);
	ckp__buf_putc(out, '\n');
	return out->err;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

struct jdec {
	ckp_doc_t	*doc;
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	const char	*origin;
	char		*tmp;		/* unescaped strings */
	size_t		 tmpcap;
	bool		 have_sum;
	uint64_t	 sum;
	size_t		 sum_pos;
};

static int
jerr(struct jdec *d, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
jerr(struct jdec *d, size_t off, const char *fmt, ...)
{
	char msg[CKP__ERRMSG_MAX - 64];
	unsigned line, col;
	va_list ap;

	if (d->doc->err != 0)
		return d->doc->err;
	if (off > d->len)
		off = d->len;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ckp__linecol(d->buf, off, &line, &col);
	return ckp_doc_set_error(d->doc, -EINVAL, "%s:%u:%u: %s", d->origin,
	    line, col, msg);
}

/* A byte spelled for a message. */
static const char *
show(struct jdec *d, size_t off, char buf[8])
{
	if (off >= d->len)
		return "end of input";
	unsigned char c = (unsigned char)d->buf[off];
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02x", c);
	return buf;
}

static int
unexpected(struct jdec *d, const char *what)
{
	char b[8];

	if (d->pos >= d->len)
		return jerr(d, d->pos, "unexpected end of input (truncated?), expected %s",
		    what);
	return jerr(d, d->pos, "invalid JSON: expected %s, found %s", what,
	    show(d, d->pos, b));
}

static inline void
skip_ws(struct jdec *d)
{
	while (d->pos < d->len) {
		char c = d->buf[d->pos];
		if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
			break;
		d->pos++;
	}
}

static int
expect(struct jdec *d, char c, const char *what)
{
	skip_ws(d);
	if (d->pos < d->len && d->buf[d->pos] == c) {
		d->pos++;
		return 0;
	}
	return unexpected(d, what);
}

static int
tmp_room(struct jdec *d, size_t n)
{
	if (n <= d->tmpcap)
		return 0;
	size_t cap = d->tmpcap ? d->tmpcap : 256;
	while (cap < n)
		cap *= 2;
	char *t = realloc(d->tmp, cap);
	if (t == NULL)
		return ckp_doc_set_error(d->doc, -ENOMEM, "out of memory");
	d->tmp = t;
	d->tmpcap = cap;
	return 0;
}

static int
hex4(struct jdec *d, size_t at, unsigned *v)
{
	*v = 0;
	if (d->len - at < 4)
		return jerr(d, d->len, "unexpected end of input in a \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = d->buf[at + i];
		unsigned x;
		if (c >= '0' && c <= '9')
			x = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x = (unsigned)(c - 'A' + 10);
		else
			return jerr(d, at + i, "invalid JSON: bad \\u escape");
		*v = *v << 4 | x;
	}
	return 0;
}

/*
 * Parse a string at d->pos (the opening quote).  The result points into
 * the input when it has no escapes, else into d->tmp; it is valid UTF-8
 * without NUL (checked).
 */
static int
parse_string(struct jdec *d, const char **sp, size_t *lenp)
{
	size_t start = ++d->pos, i = start, o = 0;
	const unsigned char *b = (const unsigned char *)d->buf;
	int err;

	while (i < d->len && !special(b[i]))
		i++;
	if (i < d->len && b[i] == '"') {
		size_t bad = ckp__utf8_check(d->buf + start, i - start);
		if (bad != i - start)
			return jerr(d, start + bad, "invalid UTF-8 in a string");
		*sp = d->buf + start;
		*lenp = i - start;
		d->pos = i + 1;
		return 0;
	}
	/* Slow path: escapes.  Output is never longer than the input. */
	for (;;) {
		size_t run = i - start;
		if ((err = tmp_room(d, o + run + 4)) != 0)
			return err;
		size_t bad = ckp__utf8_check(d->buf + start, run);
		if (bad != run)
			return jerr(d, start + bad, "invalid UTF-8 in a string");
		memcpy(d->tmp + o, d->buf + start, run);
		o += run;
		if (i >= d->len)
			return jerr(d, i, "unexpected end of input in a string (truncated?)");
		if (b[i] == '"')
			break;
		if (b[i] < 0x20)
			return jerr(d, i,
			    "invalid JSON: control character 0x%02x in a string (escape it)",
			    b[i]);
		/* backslash */
		if (i + 1 >= d->len)
			return jerr(d, i + 1, "unexpected end of input in a string (truncated?)");
		char c = d->buf[i + 1], r;
		unsigned u, u2;
		switch (c) {
		case '"': r = '"'; break;
		case '\\': r = '\\'; break;
		case '/': r = '/'; break;
		case 'b': r = '\b'; break;
		case 'f': r = '\f'; break;
		case 'n': r = '\n'; break;
		case 'r': r = '\r'; break;
		case 't': r = '\t'; break;
		case 'u':
			if ((err = hex4(d, i + 2, &u)) != 0)
				return err;
			i += 6;
			if (u == 0)
				return jerr(d, i - 6, "\\u0000: strings cannot hold NUL (use b64)");
			if (u >= 0xdc00 && u <= 0xdfff)
				return jerr(d, i - 6, "invalid JSON: lone low surrogate \\u%04x", u);
			if (u >= 0xd800 && u <= 0xdbff) {
				if (d->len - i < 6 || d->buf[i] != '\\' ||
				    d->buf[i + 1] != 'u')
					return jerr(d, i - 6,
					    "invalid JSON: high surrogate \\u%04x not followed by a low one", u);
				if ((err = hex4(d, i + 2, &u2)) != 0)
					return err;
				if (u2 < 0xdc00 || u2 > 0xdfff)
					return jerr(d, i,
					    "invalid JSON: high surrogate \\u%04x not followed by a low one", u);
				u = 0x10000 + ((u - 0xd800) << 10) + (u2 - 0xdc00);
				i += 6;
			}
			if (u < 0x80)
				d->tmp[o++] = (char)u;
			else if (u < 0x800) {
				d->tmp[o++] = (char)(0xc0 | u >> 6);
				d->tmp[o++] = (char)(0x80 | (u & 0x3f));
			} else if (u < 0x10000) {
				d->tmp[o++] = (char)(0xe0 | u >> 12);
				d->tmp[o++] = (char)(0x80 | (u >> 6 & 0x3f));
				d->tmp[o++] = (char)(0x80 | (u & 0x3f));
			} else {
				d->tmp[o++] = (char)(0xf0 | u >> 18);
				d->tmp[o++] = (char)(0x80 | (u >> 12 & 0x3f));
				d->tmp[o++] = (char)(0x80 | (u >> 6 & 0x3f));
				d->tmp[o++] = (char)(0x80 | (u & 0x3f));
			}
			start = i;
			while (i < d->len && !special(b[i]))
				i++;
			continue;
		default:
			return jerr(d, i, "invalid JSON: unknown escape '\\%c'",
			    c >= 0x20 && c < 0x7f ? c : '?');
		}
		d->tmp[o++] = r;
		i += 2;
		start = i;
		while (i < d->len && !special(b[i]))
			i++;
	}
	*sp = d->tmp;
	*lenp = o;
	d->pos = i + 1;
	return 0;
}

/* Scan a JSON number token at d->pos; *isint tells whether it has no fraction/exponent. */
static int
scan_number(struct jdec *d, size_t *endp, bool *isint)
{
	size_t i = d->pos;
	const char *b = d->buf;

	*isint = true;
	if (i < d->len && b[i] == '-')
		i++;
	if (i >= d->len || b[i] < '0' || b[i] > '9')
		return unexpected(d, "a number");
	if (b[i] == '0')
		i++;
	else
		while (i < d->len && b[i] >= '0' && b[i] <= '9')
			i++;
	if (i < d->len && b[i] == '.') {
		*isint = false;
		i++;
		if (i >= d->len || b[i] < '0' || b[i] > '9')
			return jerr(d, i, "invalid JSON number");
		while (i < d->len && b[i] >= '0' && b[i] <= '9')
			i++;
	}
	if (i < d->len && (b[i] == 'e' || b[i] == 'E')) {
		*isint = false;
		i++;
		if (i < d->len && (b[i] == '+' || b[i] == '-'))
			i++;
		if (i >= d->len || b[i] < '0' || b[i] > '9')
			return jerr(d, i, "invalid JSON number");
		while (i < d->len && b[i] >= '0' && b[i] <= '9')
			i++;
	}
	*endp = i;
	return 0;
}

static bool
value_start(struct jdec *d)
{
	if (d->pos >= d->len)
		return false;
	char c = d->buf[d->pos];
	return c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' ||
	    c == 'n' || c == '-' || (c >= '0' && c <= '9');
}

/* What JSON value starts at d->pos (value_start() is true), for messages. */
static const char *
kind(struct jdec *d)
{
	switch (d->buf[d->pos]) {
	case '"': return "a string";
	case '{': return "an object";
	case '[': return "an array";
	case 't': case 'f': return "a boolean";
	case 'n': return "null";
	default: return "a number";
	}
}

static int
wrong_kind(struct jdec *d, const char *key, size_t klen, const char *want)
{
	if (!value_start(d))
		return unexpected(d, want);
	return jerr(d, d->pos, "value of \"%.*s\" must be %s, found %s",
	    (int)klen, key, want, kind(d));
}

static int parse_members(struct jdec *d, ckp_sec_t *sec);

/* Integer, bool, string or bytes value of a field. */
static int
parse_field(struct jdec *d, ckp_ent_t *e, const char *key, size_t klen)
{
	ckp_type_t t = (ckp_type_t)e->type;
	size_t at = d->pos, end, n;
	const char *s;
	bool isint;
	int err;

	switch (t) {
	case CKP_TYPE_BOOL:
		if (d->len - at >= 4 && memcmp(d->buf + at, "true", 4) == 0) {
			e->v.b = true;
			d->pos += 4;
		} else if (d->len - at >= 5 &&
		    memcmp(d->buf + at, "false", 5) == 0) {
			e->v.b = false;
			d->pos += 5;
		} else
			return wrong_kind(d, key, klen, "true or false");
		return 0;
	case CKP_TYPE_INT8: case CKP_TYPE_INT16: case CKP_TYPE_INT32:
	case CKP_TYPE_UINT8: case CKP_TYPE_UINT16: case CKP_TYPE_UINT32: {
		if (at >= d->len || (d->buf[at] != '-' &&
		    (d->buf[at] < '0' || d->buf[at] > '9')))
			return wrong_kind(d, key, klen, "a number");
		if ((err = scan_number(d, &end, &isint)) != 0)
			return err;
		if (!isint)
			return jerr(d, at, "value %.*s of \"%.*s\" is not an integer",
			    (int)(end - at > 40 ? 40 : end - at), d->buf + at,
			    (int)klen, key);
		int64_t v;
		err = ckp__parse_dec(d->buf + at, end - at, t, &v);
		if (err != 0)
			return jerr(d, at, "value %.*s%s is out of range for %s",
			    (int)(end - at > 40 ? 40 : end - at), d->buf + at,
			    end - at > 40 ? "..." : "", ckp_type_name(t));
		e->v.i = v;
		d->pos = end;
		return 0;
	}
	case CKP_TYPE_INT64: case CKP_TYPE_UINT64:
		if (at >= d->len || d->buf[at] != '"')
			return wrong_kind(d, key, klen,
			    "a string of hex digits (64-bit values are hex strings)");
		if ((err = parse_string(d, &s, &n)) != 0)
			return err;
		err = ckp__parse_hex64(s, n, t == CKP_TYPE_INT64, &e->v.u);
		if (err == -ERANGE)
			return jerr(d, at, "value \"%.*s%s\" is out of range for %s",
			    (int)(n > 40 ? 40 : n), s, n > 40 ? "..." : "",
			    ckp_type_name(t));
		if (err != 0)
			return jerr(d, at, "bad hex value \"%.*s%s\" for %s (hex digits%s, no 0x)",
			    (int)(n > 40 ? 40 : n), s, n > 40 ? "..." : "",
			    ckp_type_name(t), t == CKP_TYPE_INT64 ?
			    " with an optional '-'" : "");
		return 0;
	case CKP_TYPE_STRING:
		if (at >= d->len || d->buf[at] != '"')
			return wrong_kind(d, key, klen, "a string");
		if ((err = parse_string(d, &s, &n)) != 0)
			return err;
		if ((err = ckp__ent_set_buf(e, s, n)) != 0)
			return ckp_doc_set_error(d->doc, err, "out of memory");
		return 0;
	case CKP_TYPE_B64: {
		if (at >= d->len || d->buf[at] != '"')
			return wrong_kind(d, key, klen, "a base64 string");
		const char *src = d->buf + at + 1;
		const char *q = memchr(src, '"', d->len - at - 1);
		size_t tl = q != NULL ? (size_t)(q - src) : 0;
		size_t used, outlen, base = at + 1;
		uint8_t *dst;
		if (q == NULL || memchr(src, '\\', tl) != NULL) {
			/* escapes (e.g. "\/") or truncation: the general path */
			if ((err = parse_string(d, &s, &n)) != 0)
				return err;
			dst = malloc(n / 4 * 3 + 1);
			if (dst == NULL)
				return ckp_doc_set_error(d->doc, -ENOMEM,
				    "out of memory");
			err = ckp__b64_decode(s, n, dst, &used, &outlen);
			if (err != 0 || used != n) {
				free(dst);
				return jerr(d, at, "bad base64 in \"%.*s\" (after unescaping, at character %zu)",
				    (int)klen, key, used + 1);
			}
			ckp__ent_take_buf(e, dst, outlen);
			return 0;
		}
		dst = malloc(tl / 4 * 3 + 1);
		if (dst == NULL)
			return ckp_doc_set_error(d->doc, -ENOMEM, "out of memory");
		err = ckp__b64_decode(src, tl, dst, &used, &outlen);
		if (err != 0 || used != tl) {
			free(dst);
			return jerr(d, base + used,
			    "bad base64 in \"%.*s\" (RFC 4648 with padding, canonical)",
			    (int)klen, key);
		}
		ckp__ent_take_buf(e, dst, outlen);
		d->pos = at + tl + 2;
		return 0;
	}
	default:
		return jerr(d, at, "internal error: type %d", (int)t);
	}
}

/* Label of @p sec for messages: "section a.b" or "the root". */
static void
label(const ckp_sec_t *sec, char *buf, size_t size)
{
	char p[512];

	if (ckp_sec_path(sec, p, sizeof(p)) != 0)
		snprintf(p, sizeof(p), "...");
	snprintf(buf, size, "%s%s", p[0] ? "section " : "the root", p);
}

/* A section's value: an object, or (the seed review's layout) an array of objects. */
static int
parse_section_value(struct jdec *d, ckp_sec_t *sec, const char *key, size_t klen)
{
	int err;

	if (d->pos < d->len && d->buf[d->pos] == '{') {
		d->pos++;
		return parse_members(d, sec);
	}
	if (d->pos >= d->len || d->buf[d->pos] != '[')
		return wrong_kind(d, key, klen,
		    "an object (a key without $type names a section)");
	d->pos++;
	skip_ws(d);
	if (d->pos < d->len && d->buf[d->pos] == ']') {
		d->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(d);
		if (d->pos >= d->len || d->buf[d->pos] != '{')
			return !value_start(d) ? unexpected(d, "an object") :
			    jerr(d, d->pos,
			    "elements of the array \"%.*s\" must be objects, found %s",
			    (int)klen, key, kind(d));
		d->pos++;
		if ((err = parse_members(d, sec)) != 0)
			return err;
		skip_ws(d);
		if (d->pos < d->len && d->buf[d->pos] == ',') {
			d->pos++;
			continue;
		}
		if (d->pos < d->len && d->buf[d->pos] == ']') {
			d->pos++;
			return 0;
		}
		return unexpected(d, "',' or ']'");
	}
}

static int
member(struct jdec *d, ckp_sec_t *sec, bool *last)
{
	char where[600];
	const char *key;
	size_t klen, kat = d->pos;
	int err;

	*last = false;
	if ((err = parse_string(d, &key, &klen)) != 0)
		return err;
	/* Keys are short; copy out of d->tmp, which values reuse. */
	char kbuf[CKP_MAX_NAME + 32];
	if (klen > sizeof(kbuf) - 1)
		return jerr(d, kat, "key \"%.40s...\" is too long (names have at most %d bytes)",
		    key, CKP_MAX_NAME);
	memcpy(kbuf, key, klen);
	kbuf[klen] = '\0';
	key = kbuf;
	if ((err = expect(d, ':', "':' after a key")) != 0)
		return err;
	skip_ws(d);

	if (key[0] == '$') {
		if (klen == 8 && memcmp(key, "$version", 8) == 0) {
			size_t at = d->pos, end;
			bool isint;
			int64_t v;
			if (sec->ent == NULL)
				return jerr(d, kat, "\"$version\" is not allowed in the root object");
			if (sec->vset)
				return jerr(d, kat, "duplicate key \"$version\"");
			if (at >= d->len || (d->buf[at] != '-' &&
			    (d->buf[at] < '0' || d->buf[at] > '9')))
				return wrong_kind(d, key, klen, "a number");
			if ((err = scan_number(d, &end, &isint)) != 0)
				return err;
			if (!isint || ckp__parse_dec(d->buf + at, end - at,
			    CKP_TYPE_UINT32, &v) != 0)
				return jerr(d, at, "\"$version\" must be an integer from 0 to 4294967295");
			sec->version = (uint32_t)v;
			sec->vset = true;
			d->pos = end;
			return 0;
		}
		if (klen == 9 && memcmp(key, "$checksum", 9) == 0) {
			const char *s;
			size_t n, at = d->pos;
			if (sec->ent != NULL)
				return jerr(d, kat, "\"$checksum\" is only allowed in the root object");
			if (at >= d->len || d->buf[at] != '"')
				return wrong_kind(d, key, klen, "a string");
			if ((err = parse_string(d, &s, &n)) != 0)
				return err;
			if (ckp__sum_parse(s, n, &d->sum) != 0)
				return jerr(d, at, "bad checksum \"%.*s\" (expected \"xxh3-64:\" and 16 lowercase hex digits)",
				    (int)(n > 40 ? 40 : n), s);
			d->have_sum = true;
			d->sum_pos = kat;
			*last = true;
			return 0;
		}
		return jerr(d, kat, "unknown key \"%.*s\"", (int)klen, key);
	}

	const char *dollar = memchr(key, '$', klen);
	size_t nlen = dollar != NULL ? (size_t)(dollar - key) : klen;
	ckp_type_t t = CKP_TYPE_SECTION;
	if (dollar != NULL) {
		t = ckp_type_from_name(dollar + 1, klen - nlen - 1);
		if (t == CKP_TYPE_INVALID || t == CKP_TYPE_SECTION)
			return jerr(d, kat, "unknown type suffix \"%.*s\" in key \"%.*s\"",
			    (int)(klen - nlen), dollar, (int)klen, key);
	}
	if (!ckp__name_ok(key, nlen, t == CKP_TYPE_SECTION))
		return jerr(d, kat, "invalid %s name \"%.*s\" (names match [A-Za-z0-9_-]+%s, at most %d bytes)",
		    t == CKP_TYPE_SECTION ? "section" : "field", (int)nlen, key,
		    t == CKP_TYPE_SECTION ? ", optionally @N" : "", CKP_MAX_NAME);
	ckp_ent_t *e = ckp__ent_add(sec, key, nlen, t, &err);
	if (e == NULL) {
		label(sec, where, sizeof(where));
		if (err == -EEXIST)
			return jerr(d, kat, "duplicate key \"%.*s\" in %s",
			    (int)klen, key, where);
		if (err == -E2BIG)
			return jerr(d, kat, "sections nest deeper than %d levels",
			    CKP_MAX_DEPTH);
		return ckp_doc_set_error(d->doc, err, "out of memory");
	}
	if (t == CKP_TYPE_SECTION)
		return parse_section_value(d, e->v.sec, key, klen);
	return parse_field(d, e, key, klen);
}

/* Members of an object whose '{' was consumed, into @p sec. */
static int
parse_members(struct jdec *d, ckp_sec_t *sec)
{
	bool last;
	int err;

	skip_ws(d);
	if (d->pos < d->len && d->buf[d->pos] == '}') {
		d->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(d);
		if (d->pos >= d->len || d->buf[d->pos] != '"')
			return unexpected(d, "a key string");
		if ((err = member(d, sec, &last)) != 0)
			return err;
		skip_ws(d);
		if (d->pos < d->len && d->buf[d->pos] == '}') {
			d->pos++;
			return 0;
		}
		if (last)
			return jerr(d, d->sum_pos,
			    "\"$checksum\" must be the last member of the root object");
		if (d->pos < d->len && d->buf[d->pos] == ',') {
			d->pos++;
			continue;
		}
		return unexpected(d, "',' or '}' after a member");
	}
}

int
ckp__json_decode(ckp_doc_t *doc, const char *buf, size_t len,
    const char *origin, unsigned flags)
{
	struct jdec d = { .doc = doc, .buf = buf, .len = len, .origin = origin };
	char where[600];
	unsigned line, col;
	int err;

	doc->enc = CKP_ENC_JSON;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		d.pos = 3;
	if ((err = expect(&d, '{', "'{' (a JSON object)")) != 0)
		goto out;
	if ((err = parse_members(&d, &doc->root)) != 0)
		goto out;
	skip_ws(&d);
	if (d.pos != d.len) {
		err = jerr(&d, d.pos, "trailing garbage after the JSON document");
		goto out;
	}
	if (d.have_sum) {
		ckp__linecol(buf, d.sum_pos, &line, &col);
		snprintf(where, sizeof(where), "%s:%u:%u", origin, line, col);
	} else
		snprintf(where, sizeof(where), "%s", origin);
	err = ckp__decode_finish(doc, d.have_sum, d.sum,
	    ckp__body_hash(&doc->root), origin, where, flags);
out:
	free(d.tmp);
	return err;
}
