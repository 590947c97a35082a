/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The conf encoding (docs/FORMAT.md, "conf encoding"), in the style of
 * bhyve's configuration files: one "dotted.path.name$type=value" line per
 * field, "path.$version=N" per section, "$checksum=..." last.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckp_impl.h"

#define PATH_MAXLEN (CKP_MAX_DEPTH * (CKP_MAX_NAME + 1) + 1)

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

static void
quote_conf(struct ckp__buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[4];
		size_t el = 2;
		esc[0] = '\\';
		switch (c) {
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\t': esc[1] = 't'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			/* blanks at either end would be trimmed by readers */
			if (c < 0x20 || c == 0x7f ||
			    (c == ' ' && (i == 0 || i == n - 1))) {
				esc[1] = 'x';
				esc[2] = hex[c >> 4];
				esc[3] = hex[c & 15];
				el = 4;
			} else {
				ckp__buf_putc(out, (char)c);
				continue;
			}
		}
		ckp__buf_put(out, esc, el);
	}
}

static void
enc_sec(const ckp_sec_t *sec, char *path, size_t plen, struct ckp__buf *out)
{
	char num[24];
	size_t n;

	if (sec->ent != NULL) {
		ckp__buf_put(out, path, plen);
		ckp__buf_puts(out, ".$version=");
		n = ckp__fmt_scalar(CKP_TYPE_UINT32, sec->version, num);
		ckp__buf_put(out, num, n);
		ckp__buf_putc(out, '\n');
	}
	for (const ckp_ent_t *e = sec->first; e != NULL; e = e->next) {
		size_t l = plen;
		if (plen > 0)
			path[l++] = '.';
		memcpy(path + l, e->name, e->namelen);
		l += e->namelen;
		if (e->type == CKP_TYPE_SECTION) {
			enc_sec(e->v.sec, path, l, out);
			continue;
		}
		ckp__buf_put(out, path, l);
		ckp__buf_putc(out, '$');
		ckp__buf_puts(out, ckp_type_name((ckp_type_t)e->type));
		ckp__buf_putc(out, '=');
		switch (e->type) {
		case CKP_TYPE_STRING:
			quote_conf(out, e->v.s.p, e->v.s.len);
			break;
		case CKP_TYPE_B64: {
			size_t bl = ckp__b64_enclen(e->v.s.len);
			char *d = ckp__buf_reserve(out, bl);
			if (d == NULL)
				return;
			ckp__b64_encode(e->v.s.p, e->v.s.len, d);
			out->len += bl;
			break;
		}
		default:
			n = ckp__fmt_scalar((ckp_type_t)e->type,
			    e->type == CKP_TYPE_BOOL ? (uint64_t)e->v.b : e->v.u,
			    num);
			ckp__buf_put(out, num, n);
			break;
		}
		ckp__buf_putc(out, '\n');
	}
}

int
ckp__conf_encode(const ckp_sec_t *root, const char *sum, struct ckp__buf *out)
{
	char *path = malloc(PATH_MAXLEN);

	if (path == NULL)
		return -ENOMEM;
	enc_sec(root, path, 0, out);
	free(path);
	ckp__buf_puts(out, "$checksum=");
	ckp__buf_puts(out, sum);
	ckp__buf_putc(out, '\n');
	return out->err;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

struct cdec {
	ckp_doc_t	*doc;
	const char	*buf;
	size_t		 len;
	const char	*origin;
	size_t		 lstart;	/* offset of the current line */
	unsigned	 line;
	/* the section of the previous line's path, to skip lookups */
	ckp_sec_t	*csec;
	size_t		 cplen;
	char		 cpath[PATH_MAXLEN];
};

static int
cerr(struct cdec *d, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cerr(struct cdec *d, size_t off, const char *fmt, ...)
{
	char msg[CKP__ERRMSG_MAX - 64];
	va_list ap;

	if (d->doc->err != 0)
		return d->doc->err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ckp_doc_set_error(d->doc, -EINVAL, "%s:%u:%zu: %s", d->origin,
	    d->line, off - d->lstart + 1, msg);
}

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Resolve the section path [p, p + n), creating missing sections. */
static ckp_sec_t *
walk(struct cdec *d, const char *p, size_t n)
{
	ckp_sec_t *sec = &d->doc->root;
	const char *c = p, *end = p + n;
	int err;

	if (n == 0)
		return sec;
	if (d->csec != NULL && n == d->cplen && memcmp(p, d->cpath, n) == 0)
		return d->csec;
	for (;;) {
		const char *dot = memchr(c, '.', (size_t)(end - c));
		size_t cl = dot != NULL ? (size_t)(dot - c) : (size_t)(end - c);
		if (!ckp__name_ok(c, cl, true)) {
			cerr(d, (size_t)(c - d->buf),
			    "invalid section name '%.*s' (names match [A-Za-z0-9_-]+, optionally @N, at most %d bytes)",
			    (int)(cl > 200 ? 200 : cl), c, CKP_MAX_NAME);
			return NULL;
		}
		ckp_ent_t *e = ckp__lookup(sec, c, cl);
		if (e == NULL) {
			e = ckp__ent_add(sec, c, cl, CKP_TYPE_SECTION, &err);
			if (e == NULL) {
				if (err == -E2BIG)
					cerr(d, (size_t)(c - d->buf),
					    "sections nest deeper than %d levels",
					    CKP_MAX_DEPTH);
				else
					ckp_doc_set_error(d->doc, err, "out of memory");
				return NULL;
			}
		} else if (e->type != CKP_TYPE_SECTION) {
			cerr(d, (size_t)(c - d->buf),
			    "'%.*s' is a %s field, not a section", (int)(c - p + cl),
			    p, ckp_type_name((ckp_type_t)e->type));
			return NULL;
		}
		sec = e->v.sec;
		if (dot == NULL)
			break;
		c = dot + 1;
	}
	if (n < sizeof(d->cpath)) {
		memcpy(d->cpath, p, n);
		d->cplen = n;
		d->csec = sec;
	}
	return sec;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
string_value(struct cdec *d, ckp_ent_t *e, const char *v, size_t n)
{
	char *o = malloc(n + 1);
	size_t k = 0;

	if (o == NULL)
		return ckp_doc_set_error(d->doc, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (v[i] != '\\') {
			o[k++] = v[i];
			continue;
		}
		char c = i + 1 < n ? v[i + 1] : '\0';
		int h1, h2;
		switch (c) {
		case '\\': o[k++] = '\\'; i++; break;
		case 'n': o[k++] = '\n'; i++; break;
		case 't': o[k++] = '\t'; i++; break;
		case 'r': o[k++] = '\r'; i++; break;
		case 'x':
			h1 = i + 2 < n ? hexval(v[i + 2]) : -1;
			h2 = i + 3 < n ? hexval(v[i + 3]) : -1;
			if (h1 < 0 || h2 < 0) {
				free(o);
				return cerr(d, (size_t)(v + i - d->buf),
				    "bad escape: \\x needs two hex digits");
			}
			if (h1 == 0 && h2 == 0) {
				free(o);
				return cerr(d, (size_t)(v + i - d->buf),
				    "\\x00: strings cannot hold NUL (use b64)");
			}
			o[k++] = (char)(h1 << 4 | h2);
			i += 3;
			break;
		default:
			free(o);
			return cerr(d, (size_t)(v + i - d->buf),
			    "bad escape '\\%c' (known: \\\\ \\n \\t \\r \\xNN)",
			    c >= 0x20 && c < 0x7f ? c : '?');
		}
	}
	size_t bad = ckp__utf8_check(o, k);
	if (bad != k) {
		free(o);
		return cerr(d, (size_t)(v - d->buf),
		    "string is not valid UTF-8 or holds NUL (byte %zu after unescaping)",
		    bad + 1);
	}
	o[k] = '\0';
	ckp__ent_take_buf(e, o, k);
	return 0;
}

static int
field_value(struct cdec *d, ckp_ent_t *e, const char *v, size_t n)
{
	ckp_type_t t = (ckp_type_t)e->type;
	size_t at = (size_t)(v - d->buf);
	int64_t x;
	int err;

	switch (t) {
	case CKP_TYPE_BOOL:
		if (n == 4 && memcmp(v, "true", 4) == 0)
			e->v.b = true;
		else if (n == 5 && memcmp(v, "false", 5) == 0)
			e->v.b = false;
		else
			return cerr(d, at, "bad bool value '%.*s' (true or false)",
			    (int)(n > 40 ? 40 : n), v);
		return 0;
	case CKP_TYPE_INT64: case CKP_TYPE_UINT64:
		err = ckp__parse_hex64(v, n, t == CKP_TYPE_INT64, &e->v.u);
		if (err == -ERANGE)
			return cerr(d, at, "value %.*s%s is out of range for %s",
			    (int)(n > 40 ? 40 : n), v, n > 40 ? "..." : "",
			    ckp_type_name(t));
		if (err != 0)
			return cerr(d, at, "bad hex value '%.*s%s' for %s (hex digits%s, no 0x)",
			    (int)(n > 40 ? 40 : n), v, n > 40 ? "..." : "",
			    ckp_type_name(t), t == CKP_TYPE_INT64 ?
			    " with an optional '-'" : "");
		return 0;
	case CKP_TYPE_STRING:
		return string_value(d, e, v, n);
	case CKP_TYPE_B64: {
		size_t used, outlen;
		uint8_t *dst = malloc(n / 4 * 3 + 1);
		if (dst == NULL)
			return ckp_doc_set_error(d->doc, -ENOMEM, "out of memory");
		err = ckp__b64_decode(v, n, dst, &used, &outlen);
		if (err != 0 || used != n) {
			free(dst);
			return cerr(d, at + used,
			    "bad base64 (RFC 4648 with padding, canonical)");
		}
		ckp__ent_take_buf(e, dst, outlen);
		return 0;
	}
	default:
		err = ckp__parse_dec(v, n, t, &x);
		if (err == -ERANGE)
			return cerr(d, at, "value %.*s%s is out of range for %s",
			    (int)(n > 40 ? 40 : n), v, n > 40 ? "..." : "",
			    ckp_type_name(t));
		if (err != 0)
			return cerr(d, at, "bad %s value '%.*s%s' (a decimal integer)",
			    ckp_type_name(t), (int)(n > 40 ? 40 : n), v,
			    n > 40 ? "..." : "");
		e->v.i = x;
		return 0;
	}
}

static int
conf_line(struct cdec *d, const char *ks, size_t kl, const char *v, size_t vl,
    bool *is_sum, uint64_t *sum)
{
	char where[600];
	int err;

	if (kl == 9 && memcmp(ks, "$checksum", 9) == 0) {
		if (ckp__sum_parse(v, vl, sum) != 0)
			return cerr(d, (size_t)(v - d->buf),
			    "bad checksum '%.*s' (expected xxh3-64: and 16 lowercase hex digits)",
			    (int)(vl > 40 ? 40 : vl), v);
		*is_sum = true;
		return 0;
	}
	/* split at the last '.': section path, then the last component */
	const char *last = ks + kl;
	while (last > ks && last[-1] != '.')
		last--;
	size_t plen = last > ks ? (size_t)(last - ks) - 1 : 0;
	size_t ll = (size_t)(ks + kl - last);
	size_t lat = (size_t)(last - d->buf);

	if (last > ks && plen == 0)
		return cerr(d, (size_t)(ks - d->buf), "empty section name before '.'");

	if (ll == 8 && memcmp(last, "$version", 8) == 0) {
		int64_t x;
		if (plen == 0)
			return cerr(d, lat, "the root has no $version");
		ckp_sec_t *sec = walk(d, ks, plen);
		if (sec == NULL)
			return d->doc->err;
		if (sec->vset)
			return cerr(d, lat, "duplicate $version for section %.*s",
			    (int)plen, ks);
		if (ckp__parse_dec(v, vl, CKP_TYPE_UINT32, &x) != 0)
			return cerr(d, (size_t)(v - d->buf),
			    "$version must be an integer from 0 to 4294967295");
		sec->version = (uint32_t)x;
		sec->vset = true;
		return 0;
	}
	const char *dollar = memchr(last, '$', ll);
	if (dollar == NULL)
		return cerr(d, lat,
		    "'%.*s' has no $type suffix (lines are path.name$type=value or path.$version=N)",
		    (int)(kl > 200 ? 200 : kl), ks);
	size_t nl = (size_t)(dollar - last);
	ckp_type_t t = ckp_type_from_name(dollar + 1, ll - nl - 1);
	if (t == CKP_TYPE_INVALID || t == CKP_TYPE_SECTION)
		return cerr(d, (size_t)(dollar - d->buf),
		    "unknown type suffix '%.*s'", (int)(ll - nl > 40 ? 40 : ll - nl),
		    dollar);
	if (!ckp__name_ok(last, nl, false))
		return cerr(d, lat,
		    "invalid field name '%.*s' (names match [A-Za-z0-9_-]+, at most %d bytes)",
		    (int)(nl > 200 ? 200 : nl), last, CKP_MAX_NAME);
	ckp_sec_t *sec = walk(d, ks, plen);
	if (sec == NULL)
		return d->doc->err;
	ckp_ent_t *e = ckp__ent_add(sec, last, nl, t, &err);
	if (e == NULL) {
		if (err != -EEXIST)
			return ckp_doc_set_error(d->doc, err, "out of memory");
		if (ckp_sec_path(sec, where, sizeof(where)) != 0)
			snprintf(where, sizeof(where), "...");
		return cerr(d, lat, "duplicate name '%.*s' in %s%s", (int)nl,
		    last, where[0] ? "section " : "the root", where);
	}
	return field_value(d, e, v, vl);
}

int
ckp__conf_decode(ckp_doc_t *doc, const char *buf, size_t len,
    const char *origin, unsigned flags)
{
	struct cdec *d = calloc(1, sizeof(*d));
	char where[600];
	bool have_sum = false;
	unsigned sum_line = 0;
	uint64_t sum = 0;
	size_t pos = 0;
	int err = 0;

	if (d == NULL)
		return ckp_doc_set_error(doc, -ENOMEM, "out of memory");
	d->doc = doc;
	d->buf = buf;
	d->len = len;
	d->origin = origin;
	doc->enc = CKP_ENC_CONF;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - buf) : len;
		size_t next = nl != NULL ? end + 1 : len;
		d->line++;
		d->lstart = pos;
		if (end > pos && buf[end - 1] == '\r')
			end--;
		size_t i = pos;
		while (i < end && blank(buf[i]))
			i++;
		if (i == end || buf[i] == '#') {
			pos = next;
			continue;
		}
		if (have_sum) {
			err = cerr(d, i, "line after $checksum (it must be the last line)");
			goto out;
		}
		const char *eq = memchr(buf + i, '=', end - i);
		if (eq == NULL) {
			err = cerr(d, i, "expected 'path.name$type=value', found no '='");
			goto out;
		}
		size_t ke = (size_t)(eq - buf);
		while (ke > i && blank(buf[ke - 1]))
			ke--;
		size_t vs = (size_t)(eq - buf) + 1, ve = end;
		while (vs < ve && blank(buf[vs]))
			vs++;
		while (ve > vs && blank(buf[ve - 1]))
			ve--;
		if (ke == i) {
			err = cerr(d, i, "empty key before '='");
			goto out;
		}
		bool is_sum = false;
		err = conf_line(d, buf + i, ke - i, buf + vs, ve - vs, &is_sum,
		    &sum);
		if (err != 0)
			goto out;
		if (is_sum) {
			have_sum = true;
			sum_line = d->line;
		}
		pos = next;
	}
	if (d->line == 0) {
		err = ckp_doc_set_error(doc, -EINVAL, "%s: empty document", origin);
		goto out;
	}
	if (have_sum)
		snprintf(where, sizeof(where), "%s:%u:1", origin, sum_line);
	else
		snprintf(where, sizeof(where), "%s", origin);
	err = ckp__decode_finish(doc, have_sum, sum, ckp__body_hash(&doc->root),
	    origin, where, flags);
out:
	free(d);
	return err;
}
