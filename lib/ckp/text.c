/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Values spelled as text (the JSON encoding's spelling, shared by the conf
 * encoding and the tools), number parsing, UTF-8 validation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckp_impl.h"

static const char hexdig[] = "0123456789abcdef";

void
ckp__sum_text(uint64_t h, char buf[CKP_SUM_TEXT_LEN])
{
	memcpy(buf, CKP_SUM_PREFIX, 8);
	for (int i = 0; i < 16; i++)
		buf[8 + i] = hexdig[(h >> (60 - 4 * i)) & 0xf];
	buf[24] = '\0';
}

int
ckp__sum_parse(const char *s, size_t len, uint64_t *h)
{
	uint64_t v = 0;

	if (len != 24 || memcmp(s, CKP_SUM_PREFIX, 8) != 0)
		return -EINVAL;
	for (int i = 8; i < 24; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -EINVAL;
	}
	*h = v;
	return 0;
}

/* Range of each integer type as (min, max) with min as int64, max as uint64. */
static bool
fits(ckp_type_t type, bool neg, uint64_t mag)
{
	uint64_t max;

	switch (type) {
	case CKP_TYPE_INT8: max = INT8_MAX; break;
	case CKP_TYPE_INT16: max = INT16_MAX; break;
	case CKP_TYPE_INT32: max = INT32_MAX; break;
	case CKP_TYPE_INT64: max = INT64_MAX; break;
	case CKP_TYPE_UINT8: max = UINT8_MAX; break;
	case CKP_TYPE_UINT16: max = UINT16_MAX; break;
	case CKP_TYPE_UINT32: max = UINT32_MAX; break;
	case CKP_TYPE_UINT64: max = UINT64_MAX; break;
	default: return false;
	}
	if (!neg)
		return mag <= max;
	if (!ckp__type_is_signed(type))
		return mag == 0;
	return mag <= max + 1;
}

static uint64_t
apply_sign(bool neg, uint64_t mag)
{
	return neg ? (uint64_t)0 - mag : mag;
}

int
ckp__parse_dec(const char *s, size_t n, ckp_type_t type, int64_t *out)
{
	size_t i = 0;
	bool neg = false, over = false;
	uint64_t mag = 0;

	if (i < n && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i == n || s[i] < '0' || s[i] > '9')
		return -EINVAL;
	if (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
		return -EINVAL;		/* JSON has no leading zeros */
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (mag > (UINT64_MAX - d) / 10)
			over = true;
		else
			mag = mag * 10 + d;
	}
	if (over || !fits(type, neg, mag))
		return -ERANGE;
	*out = (int64_t)apply_sign(neg, mag);
	return 0;
}

int
ckp__parse_hex64(const char *s, size_t n, bool is_signed, uint64_t *out)
{
	size_t i = 0;
	bool neg = false, over = false;
	uint64_t mag = 0;

	if (i < n && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i == n)
		return -EINVAL;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		if (mag >> 60)
			over = true;
		mag = mag << 4 | d;
	}
	if (over || !fits(is_signed ? CKP_TYPE_INT64 : CKP_TYPE_UINT64, neg, mag))
		return -ERANGE;
	*out = apply_sign(neg, mag);
	return 0;
}

static size_t
fmt_udec(uint64_t v, char *buf)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static size_t
fmt_uhex(uint64_t v, char *buf)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = hexdig[v & 0xf];
		v >>= 4;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

size_t
ckp__fmt_scalar(ckp_type_t type, uint64_t bits, char *buf)
{
	size_t n = 0;
	int64_t sv = (int64_t)bits;

	switch (type) {
	case CKP_TYPE_INT8: case CKP_TYPE_INT16: case CKP_TYPE_INT32:
		if (sv < 0) {
			buf[n++] = '-';
			n += fmt_udec((uint64_t)0 - bits, buf + n);
		} else
			n = fmt_udec(bits, buf);
		break;
	case CKP_TYPE_UINT8: case CKP_TYPE_UINT16: case CKP_TYPE_UINT32:
		n = fmt_udec(bits, buf);
		break;
	case CKP_TYPE_INT64:
		if (sv < 0) {
			buf[n++] = '-';
			n += fmt_uhex((uint64_t)0 - bits, buf + n);
		} else
			n = fmt_uhex(bits, buf);
		break;
	case CKP_TYPE_UINT64:
		n = fmt_uhex(bits, buf);
		break;
	case CKP_TYPE_BOOL:
		memcpy(buf, bits ? "true" : "false", bits ? 4 : 5);
		n = bits ? 4 : 5;
		break;
	default:
		break;
	}
	buf[n] = '\0';
	return n;
}

size_t
ckp__utf8_check(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x01 && c < 0x80) {
			i++;
			continue;
		}
		if (c == 0)
			return i;
		size_t need;
		unsigned char lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;	/* > U+10FFFF */
		} else
			return i;
		if (n - i <= need)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return i;
		i += need + 1;
	}
	return n;
}

bool
ckp__utf8_ok(const char *s, size_t n)
{
	return ckp__utf8_check(s, n) == n;
}

/* ------------------------------------------------------------------ */
/* Entries as text                                                     */
/* ------------------------------------------------------------------ */

char *
ckp_ent_text(const ckp_ent_t *ent)
{
	char *t;

	if (ent == NULL)
		return NULL;
	switch (ent->type) {
	case CKP_TYPE_SECTION:
		return NULL;
	case CKP_TYPE_STRING:
		return strdup(ent->v.s.p != NULL ? ent->v.s.p : "");
	case CKP_TYPE_B64: {
		size_t n = ckp__b64_enclen(ent->v.s.len);
		t = malloc(n + 1);
		if (t == NULL)
			return NULL;
		ckp__b64_encode(ent->v.s.p, ent->v.s.len, t);
		t[n] = '\0';
		return t;
	}
	default:
		t = malloc(24);
		if (t == NULL)
			return NULL;
		ckp__fmt_scalar((ckp_type_t)ent->type,
		    ent->type == CKP_TYPE_BOOL ? (uint64_t)ent->v.b : ent->v.u, t);
		return t;
	}
}

/*
 * Parse @p text as a value of @p type into @p v (scalars) or a malloc'd
 * buffer (*bufp, *lenp).  Returns 0, -EINVAL (syntax) or -ERANGE.
 */
static int
parse_value(ckp_type_t type, const char *text, uint64_t *v, char **bufp,
    size_t *lenp)
{
	size_t n = strlen(text);
	int64_t d;
	int err;

	*bufp = NULL;
	switch (type) {
	case CKP_TYPE_INT8: case CKP_TYPE_INT16: case CKP_TYPE_INT32:
	case CKP_TYPE_UINT8: case CKP_TYPE_UINT16: case CKP_TYPE_UINT32:
		err = ckp__parse_dec(text, n, type, &d);
		*v = (uint64_t)d;
		return err;
	case CKP_TYPE_INT64: case CKP_TYPE_UINT64:
		return ckp__parse_hex64(text, n, type == CKP_TYPE_INT64, v);
	case CKP_TYPE_BOOL:
		if (strcmp(text, "true") == 0)
			*v = 1;
		else if (strcmp(text, "false") == 0)
			*v = 0;
		else
			return -EINVAL;
		return 0;
	case CKP_TYPE_STRING:
		if (!ckp__utf8_ok(text, n))
			return -EINVAL;
		*bufp = strdup(text);
		*lenp = n;
		return *bufp == NULL ? -ENOMEM : 0;
	case CKP_TYPE_B64: {
		size_t used, outlen;
		uint8_t *b = malloc(n / 4 * 3 + 1);
		if (b == NULL)
			return -ENOMEM;
		err = ckp__b64_decode(text, n, b, &used, &outlen);
		if (err == 0 && used != n)
			err = -EINVAL;
		if (err != 0) {
			free(b);
			return err;
		}
		*bufp = (char *)b;
		*lenp = outlen;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static const char *
value_hint(ckp_type_t type)
{
	switch (type) {
	case CKP_TYPE_INT64: case CKP_TYPE_UINT64:
		return " (hex digits without 0x)";
	case CKP_TYPE_BOOL:
		return " (true or false)";
	case CKP_TYPE_B64:
		return " (RFC 4648 base64 with padding)";
	case CKP_TYPE_STRING:
		return " (UTF-8 text)";
	default:
		return " (decimal)";
	}
}

/* Record the error of parse_value() for the field at @p path. */
static int
value_error(ckp_doc_t *doc, int err, const char *path, ckp_type_t type,
    const char *text)
{
	if (err == -ENOMEM)
		return ckp_doc_set_error(doc, err, "out of memory");
	return ckp_doc_set_error(doc, err, "%s: '%.64s%s' is %s for type %s%s",
	    path, text, strlen(text) > 64 ? "..." : "",
	    err == -ERANGE ? "out of range" : "not a valid value",
	    ckp_type_name(type), err == -ERANGE ? "" : value_hint(type));
}

static void
store(ckp_ent_t *ent, uint64_t v, char *buf, size_t len)
{
	if (ent->type == CKP_TYPE_STRING || ent->type == CKP_TYPE_B64)
		ckp__ent_take_buf(ent, buf, len);
	else if (ent->type == CKP_TYPE_BOOL) {
		ent->v.u = 0;
		ent->v.b = v != 0;
	} else
		ent->v.u = v;
}

int
ckp_ent_set_text(ckp_ent_t *ent, const char *text)
{
	char path[600], *buf;
	uint64_t v = 0;
	size_t len = 0;
	int err;

	if (ent == NULL || text == NULL)
		return -EINVAL;
	ckp__ent_path(ent, path, sizeof(path));
	if (ent->type == CKP_TYPE_SECTION)
		return ckp_doc_set_error(ent->parent->doc, -EINVAL,
		    "%s is a section, not a field", path);
	err = parse_value((ckp_type_t)ent->type, text, &v, &buf, &len);
	if (err != 0)
		return value_error(ent->parent->doc, err, path,
		    (ckp_type_t)ent->type, text);
	store(ent, v, buf, len);
	return 0;
}

ckp_ent_t *
ckp_sec_add_text(ckp_sec_t *sec, const char *name, ckp_type_t type,
    const char *text)
{
	char path[600], *buf;
	uint64_t v = 0;
	size_t len = 0;
	ckp_ent_t *ent;
	int err;

	if (sec == NULL || sec->doc->err != 0)
		return NULL;
	if (type <= CKP_TYPE_INVALID || type >= CKP_TYPE_SECTION) {
		ckp_doc_set_error(sec->doc, -EINVAL,
		    "field '%s': cannot add a value of type %s from text",
		    name != NULL ? name : "",
		    type == CKP_TYPE_SECTION ? "section" : "invalid");
		return NULL;
	}
	if (ckp_sec_path(sec, path, sizeof(path)) != 0)
		snprintf(path, sizeof(path), "...");
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s%s",
	    path[0] ? "." : "", name != NULL ? name : "");
	if (text == NULL)
		text = "";
	err = parse_value(type, text, &v, &buf, &len);
	if (err != 0) {
		value_error(sec->doc, err, path, type, text);
		return NULL;
	}
	/* Add with a placeholder through the typed path, so names are checked. */
	switch (type) {
	case CKP_TYPE_STRING:
		ckp_sec_add_string(sec, name, "");
		break;
	case CKP_TYPE_B64:
		ckp_sec_add_bytes(sec, name, "", 0);
		break;
	default:
		ckp_sec_add_uint8(sec, name, 0);	/* retyped below */
		break;
	}
	ent = sec->doc->err == 0 ? ckp__lookup(sec, name, strlen(name)) : NULL;
	if (ent == NULL) {
		free(buf);
		return NULL;
	}
	ent->type = (uint8_t)type;
	store(ent, v, buf, len);
	return ent;
}
