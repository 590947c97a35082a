/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The document tree: sections, entries, names, the sticky error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckp_impl.h"

static const char *const type_names[] = {
	[CKP_TYPE_INT8] = "int8",	[CKP_TYPE_INT16] = "int16",
	[CKP_TYPE_INT32] = "int32",	[CKP_TYPE_INT64] = "int64",
	[CKP_TYPE_UINT8] = "uint8",	[CKP_TYPE_UINT16] = "uint16",
	[CKP_TYPE_UINT32] = "uint32",	[CKP_TYPE_UINT64] = "uint64",
	[CKP_TYPE_BOOL] = "bool",	[CKP_TYPE_STRING] = "string",
	[CKP_TYPE_B64] = "b64",		[CKP_TYPE_SECTION] = "section",
};

const char *
ckp_type_name(ckp_type_t type)
{
	if (type <= CKP_TYPE_INVALID || type > CKP_TYPE_SECTION)
		return NULL;
	return type_names[type];
}

ckp_type_t
ckp_type_from_name(const char *name, size_t len)
{
	for (int t = CKP_TYPE_INT8; t <= CKP_TYPE_SECTION; t++)
		if (strlen(type_names[t]) == len &&
		    memcmp(type_names[t], name, len) == 0)
			return (ckp_type_t)t;
	return CKP_TYPE_INVALID;
}

size_t
ckp__type_size(ckp_type_t type)
{
	switch (type) {
	case CKP_TYPE_INT8: case CKP_TYPE_UINT8: case CKP_TYPE_BOOL:
		return 1;
	case CKP_TYPE_INT16: case CKP_TYPE_UINT16:
		return 2;
	case CKP_TYPE_INT32: case CKP_TYPE_UINT32:
		return 4;
	case CKP_TYPE_INT64: case CKP_TYPE_UINT64:
		return 8;
	default:
		return 0;
	}
}

const char *
ckp_enc_name(ckp_enc_t enc)
{
	switch (enc) {
	case CKP_ENC_JSON: return "json";
	case CKP_ENC_BIN: return "bin";
	case CKP_ENC_CONF: return "conf";
	default: return NULL;
	}
}

ckp_enc_t
ckp_enc_from_name(const char *name)
{
	if (name == NULL)
		return CKP_ENC_NONE;
	if (strcmp(name, "json") == 0)
		return CKP_ENC_JSON;
	if (strcmp(name, "bin") == 0)
		return CKP_ENC_BIN;
	if (strcmp(name, "conf") == 0)
		return CKP_ENC_CONF;
	return CKP_ENC_NONE;
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static bool
namechar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool
ckp__name_ok(const char *name, size_t len, bool section)
{
	size_t i, base;

	if (len == 0 || len > CKP_MAX_NAME)
		return false;
	for (i = 0; i < len && namechar((unsigned char)name[i]); i++)
		;
	if (i == len)
		return true;
	/* "@N": only for sections, decimal, no leading zero, fits uint32 */
	base = i;
	if (!section || base == 0 || name[i] != '@' || i + 1 == len)
		return false;
	i++;
	if (name[i] == '0' && i + 1 != len)
		return false;
	if (len - i > 10)
		return false;
	uint64_t v = 0;
	for (; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	return v <= UINT32_MAX;
}

static uint32_t
name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* ------------------------------------------------------------------ */
/* Errors and warnings                                                 */
/* ------------------------------------------------------------------ */

int
ckp_doc_error(const ckp_doc_t *doc)
{
	return doc == NULL ? -ENOMEM : doc->err;
}

const char *
ckp_doc_errmsg(const ckp_doc_t *doc)
{
	if (doc == NULL)
		return "out of memory";
	return doc->err ? doc->errmsg : "";
}

static int
vset_error(ckp_doc_t *doc, int err, const char *fmt, va_list ap)
{
	if (doc->err != 0)
		return err;
	if (err >= 0)
		err = -EINVAL;
	doc->err = err;
	vsnprintf(doc->errmsg, sizeof(doc->errmsg), fmt, ap);
	/* messages quote input: keep them one printable line */
	for (char *p = doc->errmsg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return err;
}

int
ckp_doc_set_error(ckp_doc_t *doc, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = vset_error(doc, err, fmt, ap);
	va_end(ap);
	return err;
}

void
ckp_doc_clear_error(ckp_doc_t *doc)
{
	doc->err = 0;
	doc->errmsg[0] = '\0';
}

/*
 * A document a library call made and returned (ckp_checkpoint_open(): it
 * sets warn_hold) can have warnings before its caller could set a
 * callback: they are held until the first ckp_doc_set_warn().  Any other
 * document drops them, as always.  Once a callback was set, even NULL,
 * nothing is held: a caller that silences a pass (a dry run) means it.
 * Bounded, for callers that never set one.
 */
static void
warn_hold(ckp_doc_t *doc, const char *msg)
{
	struct ckp__warn_held *h;
	size_t len = strlen(msg) + 1;

	if (doc->nheld >= CKP__WARN_HELD_MAX ||
	    (h = malloc(sizeof(*h) + len)) == NULL) {
		doc->dropped++;
		return;
	}
	memcpy(h->msg, msg, len);
	h->next = NULL;
	if (doc->held_tail == NULL)
		doc->held_tail = &doc->held;
	*doc->held_tail = h;
	doc->held_tail = &h->next;
	doc->nheld++;
}

/* Hand the held warnings to the callback (if @p deliver) and forget them. */
static void
warn_release(ckp_doc_t *doc, bool deliver)
{
	struct ckp__warn_held *h = doc->held, *next;
	unsigned dropped = doc->dropped;
	char msg[64];

	/* Detached first: the callback may warn again. */
	doc->held = NULL;
	doc->held_tail = NULL;
	doc->nheld = doc->dropped = 0;
	for (; h != NULL; h = next) {
		next = h->next;
		if (deliver)
			doc->warn(doc->warnarg, h->msg);
		free(h);
	}
	if (deliver && dropped > 0) {
		snprintf(msg, sizeof(msg), "%u more warnings not shown",
		    dropped);
		doc->warn(doc->warnarg, msg);
	}
}

void
ckp__doc_hold_warnings(ckp_doc_t *doc)
{
	doc->warn_hold = true;
}

void
ckp_doc_set_warn(ckp_doc_t *doc, ckp_warn_fn *fn, void *arg)
{
	doc->warn = fn;
	doc->warnarg = arg;
	if (!doc->warn_set) {
		doc->warn_set = true;
		warn_release(doc, fn != NULL);
	}
}

void
ckp_doc_warn(const ckp_doc_t *doc, const char *fmt, ...)
{
	char msg[CKP__ERRMSG_MAX];
	va_list ap;

	if (doc == NULL ||
	    (doc->warn == NULL && (doc->warn_set || !doc->warn_hold)))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (doc->warn != NULL)
		doc->warn(doc->warnarg, msg);
	else	/* held warnings are not the document: const to its readers */
		warn_hold((ckp_doc_t *)doc, msg);
}

/* ------------------------------------------------------------------ */
/* Documents                                                           */
/* ------------------------------------------------------------------ */

void
ckp__sec_init(ckp_sec_t *sec, ckp_doc_t *doc, ckp_sec_t *parent)
{
	memset(sec, 0, sizeof(*sec));
	sec->doc = doc;
	sec->parent = parent;
	sec->depth = parent == NULL ? 0 : parent->depth + 1;
}

ckp_doc_t *
ckp_doc_new_empty(void)
{
	ckp_doc_t *doc = calloc(1, sizeof(*doc));

	if (doc == NULL)
		return NULL;
	ckp__sec_init(&doc->root, doc, NULL);
	return doc;
}

/* Creation time: now, or SOURCE_DATE_EPOCH for reproducible output. */
static void
created_text(char *buf, size_t size)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = time(NULL);
	struct tm tm;

	if (sde != NULL && *sde != '\0') {
		char *end;
		long long v = strtoll(sde, &end, 10);
		if (*end == '\0' && v >= 0)
			t = (time_t)v;
	}
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "1970-01-01T00:00:00Z");
}

ckp_doc_t *
ckp_doc_new(const char *producer)
{
	ckp_doc_t *doc = ckp_doc_new_empty();
	ckp_sec_t *h;
	char created[64];

	if (doc == NULL)
		return NULL;
	h = ckp_sec_add(&doc->root, "header", 1);
	created_text(created, sizeof(created));
	ckp_sec_add_string(h, "format", CKP_FORMAT_NAME);
	ckp_sec_add_uint32(h, "format_version", CKP_FORMAT_VERSION);
	ckp_sec_add_string(h, "producer", producer != NULL ? producer : "");
	ckp_sec_add_string(h, "created", created);
	if (doc->err == -ENOMEM) {
		ckp_doc_free(doc);
		return NULL;
	}
	return doc;
}

static void
ent_free(ckp_ent_t *ent)
{
	switch (ent->type) {
	case CKP_TYPE_STRING:
	case CKP_TYPE_B64:
		free(ent->v.s.p);
		break;
	case CKP_TYPE_SECTION:
		ckp__sec_clear(ent->v.sec);
		free(ent->v.sec);
		break;
	default:
		break;
	}
	free(ent);
}

void
ckp__sec_clear(ckp_sec_t *sec)
{
	/* Iterative over siblings; recursion depth is bounded by CKP_MAX_DEPTH. */
	ckp_ent_t *e = sec->first, *n;

	for (; e != NULL; e = n) {
		n = e->next;
		ent_free(e);
	}
	free(sec->htab);
	sec->htab = NULL;
	sec->hsize = 0;
	sec->first = sec->last = NULL;
	sec->count = 0;
}

void
ckp_doc_free(ckp_doc_t *doc)
{
	if (doc == NULL)
		return;
	warn_release(doc, false);
	ckp__sec_clear(&doc->root);
	free(doc);
}

ckp_sec_t *
ckp_doc_root(ckp_doc_t *doc)
{
	return &doc->root;
}

ckp_enc_t
ckp_doc_encoding(const ckp_doc_t *doc)
{
	return doc->enc;
}

ckp_sum_state_t
ckp_doc_sum_state(const ckp_doc_t *doc)
{
	return doc->sum_state;
}

/* ------------------------------------------------------------------ */
/* Hash index                                                          */
/* ------------------------------------------------------------------ */

static int
htab_build(ckp_sec_t *sec, size_t size)
{
	ckp_ent_t **t = calloc(size, sizeof(*t));

	if (t == NULL)
		return -ENOMEM;
	free(sec->htab);
	sec->htab = t;
	sec->hsize = size;
	for (ckp_ent_t *e = sec->first; e != NULL; e = e->next) {
		size_t b = e->hash & (size - 1);
		e->hnext = t[b];
		t[b] = e;
	}
	return 0;
}

ckp_ent_t *
ckp__lookup(const ckp_sec_t *sec, const char *name, size_t len)
{
	ckp_ent_t *e;

	if (sec == NULL || len == 0 || len > CKP_MAX_NAME)
		return NULL;
	if (sec->htab != NULL) {
		uint32_t h = name_hash(name, len);
		for (e = sec->htab[h & (sec->hsize - 1)]; e != NULL; e = e->hnext)
			if (e->hash == h && e->namelen == len &&
			    memcmp(e->name, name, len) == 0)
				return e;
		return NULL;
	}
	for (e = sec->first; e != NULL; e = e->next)
		if (e->namelen == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

ckp_ent_t *
ckp__ent_add(ckp_sec_t *sec, const char *name, size_t len, ckp_type_t type,
    int *err)
{
	ckp_ent_t *e;

	if (ckp__lookup(sec, name, len) != NULL) {
		*err = -EEXIST;
		return NULL;
	}
	if (type == CKP_TYPE_SECTION && sec->depth >= CKP_MAX_DEPTH) {
		*err = -E2BIG;
		return NULL;
	}
	e = malloc(sizeof(*e) + len + 1);
	if (e == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->namelen = (uint8_t)len;
	e->type = (uint8_t)type;
	e->parent = sec;
	e->hash = name_hash(name, len);
	if (type == CKP_TYPE_SECTION) {
		e->v.sec = malloc(sizeof(ckp_sec_t));
		if (e->v.sec == NULL) {
			free(e);
			*err = -ENOMEM;
			return NULL;
		}
		ckp__sec_init(e->v.sec, sec->doc, sec);
		e->v.sec->ent = e;
	}
	if (sec->htab == NULL && sec->count >= CKP__HASH_MIN)
		(void)htab_build(sec, 32);	/* lookups stay correct without it */
	else if (sec->htab != NULL && sec->count >= sec->hsize)
		(void)htab_build(sec, sec->hsize * 4);
	if (sec->htab != NULL) {
		size_t b = e->hash & (sec->hsize - 1);
		e->hnext = sec->htab[b];
		sec->htab[b] = e;
	}
	e->prev = sec->last;
	if (sec->last != NULL)
		sec->last->next = e;
	else
		sec->first = e;
	sec->last = e;
	sec->count++;
	return e;
}

static void
ent_unlink(ckp_sec_t *sec, ckp_ent_t *e)
{
	if (sec->htab != NULL) {
		ckp_ent_t **pp = &sec->htab[e->hash & (sec->hsize - 1)];
		while (*pp != e)
			pp = &(*pp)->hnext;
		*pp = e->hnext;
	}
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		sec->first = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		sec->last = e->prev;
	sec->count--;
}

int
ckp_sec_remove(ckp_sec_t *sec, const char *name)
{
	ckp_ent_t *e = ckp__lookup(sec, name, strlen(name));

	if (e == NULL)
		return -ENOENT;
	ent_unlink(sec, e);
	ent_free(e);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */
/* ------------------------------------------------------------------ */

/* Append the path of @p sec to @p buf at *@p pos; false when it did not fit. */
static bool
path_put(const ckp_sec_t *sec, char *buf, size_t size, size_t *pos)
{
	if (sec == NULL || sec->ent == NULL)
		return true;
	if (!path_put(sec->parent, buf, size, pos))
		return false;
	size_t n = sec->ent->namelen + (*pos > 0);
	if (*pos + n + 1 > size)
		return false;
	if (*pos > 0)
		buf[(*pos)++] = '.';
	memcpy(buf + *pos, sec->ent->name, sec->ent->namelen);
	*pos += sec->ent->namelen;
	buf[*pos] = '\0';
	return true;
}

int
ckp_sec_path(const ckp_sec_t *sec, char *buf, size_t size)
{
	size_t pos = 0;

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	return path_put(sec, buf, size, &pos) ? 0 : -ENOSPC;
}

void
ckp__ent_path(const ckp_ent_t *ent, char *buf, size_t size)
{
	size_t pos = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (!path_put(ent->parent, buf, size, &pos)) {
		snprintf(buf, size, "...%s", ent->name);
		return;
	}
	snprintf(buf + pos, size - pos, "%s%s", pos > 0 ? "." : "", ent->name);
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */
/* ------------------------------------------------------------------ */

/* Message prefix naming @p sec: "section devices.uart@0" or "the root". */
static void
sec_label(const ckp_sec_t *sec, char *buf, size_t size)
{
	char p[512];

	if (ckp_sec_path(sec, p, sizeof(p)) != 0)
		snprintf(p, sizeof(p), "...");
	if (p[0] == '\0')
		snprintf(buf, size, "the root section");
	else
		snprintf(buf, size, "section %s", p);
}

/* Add an entry named @p name to @p sec, recording errors in the document. */
static ckp_ent_t *
add_checked(ckp_sec_t *sec, const char *name, ckp_type_t type)
{
	char where[600];
	ckp_ent_t *e;
	size_t len;
	int err = 0;

	if (sec == NULL || sec->doc->err != 0)
		return NULL;
	if (name == NULL)
		name = "";
	len = strlen(name);
	if (!ckp__name_ok(name, len, type == CKP_TYPE_SECTION)) {
		sec_label(sec, where, sizeof(where));
		ckp_doc_set_error(sec->doc, -EINVAL,
		    "invalid %s name '%.*s' in %s (names match [A-Za-z0-9_-]+%s, at most %d bytes)",
		    type == CKP_TYPE_SECTION ? "section" : "field",
		    len > 200 ? 200 : (int)len, name, where,
		    type == CKP_TYPE_SECTION ? ", optionally followed by @N" : "",
		    CKP_MAX_NAME);
		return NULL;
	}
	e = ckp__ent_add(sec, name, len, type, &err);
	if (e == NULL) {
		sec_label(sec, where, sizeof(where));
		if (err == -EEXIST)
			ckp_doc_set_error(sec->doc, err,
			    "duplicate name '%s' in %s", name, where);
		else if (err == -E2BIG)
			ckp_doc_set_error(sec->doc, err,
			    "section '%s' in %s would nest deeper than %d levels",
			    name, where, CKP_MAX_DEPTH);
		else
			ckp_doc_set_error(sec->doc, err, "out of memory");
	}
	return e;
}

ckp_sec_t *
ckp_sec_add(ckp_sec_t *parent, const char *name, uint32_t version)
{
	ckp_ent_t *e = add_checked(parent, name, CKP_TYPE_SECTION);

	if (e == NULL)
		return NULL;
	e->v.sec->version = version;
	return e->v.sec;
}

ckp_sec_t *
ckp_sec_addf(ckp_sec_t *parent, uint32_t version, const char *fmt, ...)
{
	char name[CKP_MAX_NAME + 2];
	va_list ap;
	int n;

	if (parent == NULL || parent->doc->err != 0)
		return NULL;
	va_start(ap, fmt);
	n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		ckp_doc_set_error(parent->doc, -EINVAL,
		    "section name '%s...' is longer than %d bytes", name,
		    CKP_MAX_NAME);
		return NULL;
	}
	return ckp_sec_add(parent, name, version);
}

ckp_sec_t *
ckp_sec_find(const ckp_sec_t *parent, const char *name)
{
	ckp_ent_t *e;

	if (parent == NULL || name == NULL)
		return NULL;
	e = ckp__lookup(parent, name, strlen(name));
	return e != NULL && e->type == CKP_TYPE_SECTION ? e->v.sec : NULL;
}

const char *
ckp_sec_name(const ckp_sec_t *sec)
{
	return sec->ent != NULL ? sec->ent->name : "";
}

uint32_t
ckp_sec_version(const ckp_sec_t *sec)
{
	return sec->version;
}

void
ckp_sec_set_version(ckp_sec_t *sec, uint32_t version)
{
	sec->version = version;
}

ckp_sec_t *
ckp_sec_parent(const ckp_sec_t *sec)
{
	return sec->parent;
}

ckp_doc_t *
ckp_sec_doc(const ckp_sec_t *sec)
{
	return sec->doc;
}

/* ------------------------------------------------------------------ */
/* Fields: adding                                                      */
/* ------------------------------------------------------------------ */

#define ADD_INT(fn, ctype, ttype, member)				\
void									\
fn(ckp_sec_t *sec, const char *name, ctype value)			\
{									\
	ckp_ent_t *e = add_checked(sec, name, ttype);			\
	if (e != NULL)							\
		e->v.member = value;					\
}
ADD_INT(ckp_sec_add_int8, int8_t, CKP_TYPE_INT8, i)
ADD_INT(ckp_sec_add_int16, int16_t, CKP_TYPE_INT16, i)
ADD_INT(ckp_sec_add_int32, int32_t, CKP_TYPE_INT32, i)
ADD_INT(ckp_sec_add_int64, int64_t, CKP_TYPE_INT64, i)
ADD_INT(ckp_sec_add_uint8, uint8_t, CKP_TYPE_UINT8, u)
ADD_INT(ckp_sec_add_uint16, uint16_t, CKP_TYPE_UINT16, u)
ADD_INT(ckp_sec_add_uint32, uint32_t, CKP_TYPE_UINT32, u)
ADD_INT(ckp_sec_add_uint64, uint64_t, CKP_TYPE_UINT64, u)
ADD_INT(ckp_sec_add_bool, bool, CKP_TYPE_BOOL, b)

int
ckp__ent_set_buf(ckp_ent_t *ent, const void *p, size_t len)
{
	char *n = malloc(len + 1);

	if (n == NULL)
		return -ENOMEM;
	if (len > 0)
		memcpy(n, p, len);
	n[len] = '\0';
	ckp__ent_take_buf(ent, n, len);
	return 0;
}

void
ckp__ent_take_buf(ckp_ent_t *ent, void *p, size_t len)
{
	free(ent->v.s.p);
	ent->v.s.p = p;
	ent->v.s.len = len;
}

static void
remove_ent(ckp_ent_t *e)
{
	ent_unlink(e->parent, e);
	ent_free(e);
}

void
ckp_sec_add_string(ckp_sec_t *sec, const char *name, const char *value)
{
	ckp_ent_t *e;
	size_t len;

	if (sec == NULL || sec->doc->err != 0)
		return;
	if (value == NULL)
		value = "";
	len = strlen(value);
	if (!ckp__utf8_ok(value, len)) {
		char where[600];
		sec_label(sec, where, sizeof(where));
		ckp_doc_set_error(sec->doc, -EINVAL,
		    "string field '%s' in %s is not valid UTF-8 (store bytes as b64)",
		    name != NULL ? name : "", where);
		return;
	}
	e = add_checked(sec, name, CKP_TYPE_STRING);
	if (e != NULL && ckp__ent_set_buf(e, value, len) != 0) {
		remove_ent(e);
		ckp_doc_set_error(sec->doc, -ENOMEM, "out of memory");
	}
}

void
ckp_sec_add_bytes(ckp_sec_t *sec, const char *name, const void *data,
    size_t len)
{
	ckp_ent_t *e = add_checked(sec, name, CKP_TYPE_B64);

	if (e != NULL && ckp__ent_set_buf(e, data, len) != 0) {
		remove_ent(e);
		ckp_doc_set_error(sec->doc, -ENOMEM, "out of memory");
	}
}

/* ------------------------------------------------------------------ */
/* Fields: reading                                                     */
/* ------------------------------------------------------------------ */

bool
ckp_sec_has(const ckp_sec_t *sec, const char *name)
{
	return sec != NULL && name != NULL &&
	    ckp__lookup(sec, name, strlen(name)) != NULL;
}

/* Find @p name of @p type for a getter, recording the error. */
static ckp_ent_t *
get_checked(const ckp_sec_t *sec, const char *name, ckp_type_t type)
{
	char path[600];
	ckp_ent_t *e;

	if (sec == NULL)
		return NULL;
	if (sec->doc->err != 0)
		return NULL;
	e = ckp__lookup(sec, name, strlen(name));
	if (e == NULL) {
		if (ckp_sec_path(sec, path, sizeof(path)) != 0)
			snprintf(path, sizeof(path), "...");
		ckp_doc_set_error(sec->doc, -ENOENT, "missing field %s%s%s",
		    path, path[0] ? "." : "", name);
		return NULL;
	}
	if (e->type != type) {
		ckp__ent_path(e, path, sizeof(path));
		ckp_doc_set_error(sec->doc, -EINVAL,
		    "field %s has type %s, expected %s", path,
		    ckp_type_name((ckp_type_t)e->type), ckp_type_name(type));
		return NULL;
	}
	return e;
}

#define GET_INT(fn, ctype, ttype, member)				\
int									\
fn(const ckp_sec_t *sec, const char *name, ctype *out)		\
{									\
	ckp_ent_t *e = get_checked(sec, name, ttype);			\
	if (e == NULL)							\
		return sec == NULL ? -EINVAL : sec->doc->err;		\
	*out = (ctype)e->v.member;					\
	return 0;							\
}
GET_INT(ckp_sec_get_int8, int8_t, CKP_TYPE_INT8, i)
GET_INT(ckp_sec_get_int16, int16_t, CKP_TYPE_INT16, i)
GET_INT(ckp_sec_get_int32, int32_t, CKP_TYPE_INT32, i)
GET_INT(ckp_sec_get_int64, int64_t, CKP_TYPE_INT64, i)
GET_INT(ckp_sec_get_uint8, uint8_t, CKP_TYPE_UINT8, u)
GET_INT(ckp_sec_get_uint16, uint16_t, CKP_TYPE_UINT16, u)
GET_INT(ckp_sec_get_uint32, uint32_t, CKP_TYPE_UINT32, u)
GET_INT(ckp_sec_get_uint64, uint64_t, CKP_TYPE_UINT64, u)
GET_INT(ckp_sec_get_bool, bool, CKP_TYPE_BOOL, b)

int
ckp_sec_get_string(const ckp_sec_t *sec, const char *name, const char **out)
{
	ckp_ent_t *e = get_checked(sec, name, CKP_TYPE_STRING);

	if (e == NULL)
		return sec == NULL ? -EINVAL : sec->doc->err;
	*out = e->v.s.p;
	return 0;
}

int
ckp_sec_get_bytes(const ckp_sec_t *sec, const char *name, const void **out,
    size_t *lenp)
{
	ckp_ent_t *e = get_checked(sec, name, CKP_TYPE_B64);

	if (e == NULL)
		return sec == NULL ? -EINVAL : sec->doc->err;
	*out = e->v.s.p;
	*lenp = e->v.s.len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Entries                                                             */
/* ------------------------------------------------------------------ */

ckp_ent_t *
ckp_sec_first(const ckp_sec_t *sec)
{
	return sec != NULL ? sec->first : NULL;
}

ckp_ent_t *
ckp_ent_next(const ckp_ent_t *ent)
{
	return ent != NULL ? ent->next : NULL;
}

ckp_ent_t *
ckp_sec_lookup(const ckp_sec_t *sec, const char *name)
{
	if (name == NULL)
		return NULL;
	return ckp__lookup(sec, name, strlen(name));
}

ckp_ent_t *
ckp_doc_find(ckp_doc_t *doc, const char *path)
{
	const ckp_sec_t *sec = &doc->root;
	const char *p = path, *dot;
	ckp_ent_t *e;

	if (path == NULL || *path == '\0')
		return NULL;
	for (;;) {
		dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		e = ckp__lookup(sec, p, n);
		if (e == NULL || dot == NULL)
			return e;
		if (e->type != CKP_TYPE_SECTION)
			return NULL;
		sec = e->v.sec;
		p = dot + 1;
	}
}

const char *
ckp_ent_name(const ckp_ent_t *ent)
{
	return ent->name;
}

ckp_type_t
ckp_ent_type(const ckp_ent_t *ent)
{
	return (ckp_type_t)ent->type;
}

ckp_sec_t *
ckp_ent_section(const ckp_ent_t *ent)
{
	return ent != NULL && ent->type == CKP_TYPE_SECTION ? ent->v.sec : NULL;
}

int
ckp_ent_bytes(const ckp_ent_t *ent, const void **out, size_t *lenp)
{
	if (ent == NULL ||
	    (ent->type != CKP_TYPE_STRING && ent->type != CKP_TYPE_B64))
		return -EINVAL;
	*out = ent->v.s.p != NULL ? ent->v.s.p : "";
	*lenp = ent->v.s.len;
	return 0;
}

static bool
ent_value_equal(const ckp_ent_t *a, const ckp_ent_t *b)
{
	switch (a->type) {
	case CKP_TYPE_STRING:
	case CKP_TYPE_B64:
		return a->v.s.len == b->v.s.len &&
		    (a->v.s.len == 0 ||
		    memcmp(a->v.s.p, b->v.s.p, a->v.s.len) == 0);
	case CKP_TYPE_SECTION:
		return ckp__sec_equal(a->v.sec, b->v.sec);
	case CKP_TYPE_BOOL:
		return a->v.b == b->v.b;
	default:
		return a->v.u == b->v.u;
	}
}

bool
ckp_ent_equal(const ckp_ent_t *a, const ckp_ent_t *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->type == b->type && a->namelen == b->namelen &&
	    memcmp(a->name, b->name, a->namelen) == 0 && ent_value_equal(a, b);
}

bool
ckp__sec_equal(const ckp_sec_t *a, const ckp_sec_t *b)
{
	const ckp_ent_t *x, *y;

	if (a->version != b->version || a->count != b->count)
		return false;
	for (x = a->first, y = b->first; x != NULL && y != NULL;
	    x = x->next, y = y->next)
		if (!ckp_ent_equal(x, y))
			return false;
	return x == NULL && y == NULL;
}

int
ckp__sec_copy(ckp_sec_t *dst, const ckp_sec_t *src)
{
	int err = 0;

	dst->version = src->version;
	for (const ckp_ent_t *s = src->first; s != NULL; s = s->next) {
		ckp_ent_t *d = ckp__ent_add(dst, s->name, s->namelen,
		    (ckp_type_t)s->type, &err);
		if (d == NULL)
			return err;
		switch (s->type) {
		case CKP_TYPE_STRING:
		case CKP_TYPE_B64:
			err = ckp__ent_set_buf(d, s->v.s.p, s->v.s.len);
			break;
		case CKP_TYPE_SECTION:
			err = ckp__sec_copy(d->v.sec, s->v.sec);
			break;
		default:
			d->v = s->v;
			break;
		}
		if (err != 0)
			return err;
	}
	return 0;
}

int
ckp_doc_check_header(ckp_doc_t *doc, char *why, size_t whylen)
{
	static const struct {
		const char *name;
		ckp_type_t type;
	} f[] = {
		{ "format", CKP_TYPE_STRING },
		{ "format_version", CKP_TYPE_UINT32 },
		{ "producer", CKP_TYPE_STRING },
		{ "created", CKP_TYPE_STRING },
	};
	ckp_ent_t *h = ckp_sec_lookup(ckp_doc_root(doc), "header"), *e;
	size_t i;

	if (h == NULL || ckp_ent_type(h) != CKP_TYPE_SECTION) {
		snprintf(why, whylen, "%s", h == NULL ? "no header section" :
		    "header is a field where a section belongs");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		e = ckp_sec_lookup(ckp_ent_section(h), f[i].name);
		if (e == NULL) {
			snprintf(why, whylen, "header.%s is missing", f[i].name);
			return -EINVAL;
		}
		if (ckp_ent_type(e) != f[i].type) {
			snprintf(why, whylen, "header.%s has type %s, expected %s",
			    f[i].name, ckp_type_name(ckp_ent_type(e)),
			    ckp_type_name(f[i].type));
			return -EINVAL;
		}
	}
	return 0;
}
