/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ckp_io: one code path for save and restore.  Device code describes its
 * state once; saving adds fields, restoring finds them by name (never by
 * position), checks their types exactly and stores them.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckp_impl.h"

struct ckp_io {
	ckp_doc_t	*doc;
	ckp_io_mode_t	 mode;
	ckp_sec_t	*cur;
	unsigned	 phantom;	/* failed enters that a leave pops */
};

ckp_io_t *
ckp_io_new(ckp_doc_t *doc, ckp_io_mode_t mode)
{
	ckp_io_t *io;

	if (doc == NULL || (mode != CKP_IO_SAVE && mode != CKP_IO_RESTORE))
		return NULL;
	io = calloc(1, sizeof(*io));
	if (io == NULL)
		return NULL;
	io->doc = doc;
	io->mode = mode;
	io->cur = &doc->root;
	return io;
}

void
ckp_io_free(ckp_io_t *io)
{
	free(io);
}

bool
ckp_io_saving(const ckp_io_t *io)
{
	return io->mode == CKP_IO_SAVE;
}

bool
ckp_io_restoring(const ckp_io_t *io)
{
	return io->mode == CKP_IO_RESTORE;
}

int
ckp_io_error(const ckp_io_t *io)
{
	return io->doc->err;
}

ckp_doc_t *
ckp_io_doc(const ckp_io_t *io)
{
	return io->doc;
}

ckp_sec_t *
ckp_io_section(const ckp_io_t *io)
{
	return io->cur;
}

/* "devices.uart@0.lcr" for @p name in @p sec. */
static void
child_path(const ckp_sec_t *sec, const char *name, char *buf, size_t size)
{
	size_t n;

	if (ckp_sec_path(sec, buf, size) != 0)
		snprintf(buf, size, "...");
	n = strlen(buf);
	snprintf(buf + n, size - n, "%s%s", n ? "." : "", name);
}

static void
field_path(const ckp_io_t *io, const char *name, char *buf, size_t size)
{
	child_path(io->cur, name, buf, size);
}

/*
 * What a restore requires of a section it reads, for ckp_io_enter() and
 * ckp_sec_require() alike, so that a program says it one way: @p e (the
 * entry at @p path, or NULL) is a section no newer than @p version.
 */
static int
check_sec(ckp_doc_t *doc, const ckp_ent_t *e, const char *path,
    uint32_t version)
{
	if (e == NULL)
		return ckp_doc_set_error(doc, -ENOENT, "missing section %s",
		    path);
	if (e->type != CKP_TYPE_SECTION)
		return ckp_doc_set_error(doc, -EINVAL,
		    "%s is a %s field, this program expects a section", path,
		    ckp_type_name((ckp_type_t)e->type));
	if (e->v.sec->version > version)
		return ckp_doc_set_error(doc, -EPROTONOSUPPORT,
		    "section %s has version %u, newer than the %u this program knows",
		    path, e->v.sec->version, version);
	return 0;
}

ckp_sec_t *
ckp_sec_require(ckp_sec_t *parent, const char *name, uint32_t version)
{
	char path[700];
	ckp_ent_t *e;

	if (parent == NULL || name == NULL || parent->doc->err != 0)
		return NULL;
	e = ckp__lookup(parent, name, strlen(name));
	child_path(parent, name, path, sizeof(path));
	if (check_sec(parent->doc, e, path, version) != 0)
		return NULL;
	return e->v.sec;
}

static int
do_enter(ckp_io_t *io, const char *name, uint32_t version, bool opt)
{
	char path[700];
	ckp_sec_t *sec;
	ckp_ent_t *e;
	int rc;

	if (io->doc->err != 0) {
		io->phantom++;
		return io->doc->err;
	}
	if (version > INT_MAX) {
		field_path(io, name, path, sizeof(path));
		io->phantom++;
		return ckp_doc_set_error(io->doc, -EINVAL,
		    "section %s: version %u is too large for ckp_io", path, version);
	}
	if (io->mode == CKP_IO_SAVE) {
		sec = ckp_sec_add(io->cur, name, version);
		if (sec == NULL) {
			io->phantom++;
			return io->doc->err;
		}
		io->cur = sec;
		return (int)version;
	}
	e = ckp__lookup(io->cur, name, strlen(name));
	if (e == NULL && opt)
		return -ENOENT;
	field_path(io, name, path, sizeof(path));
	io->phantom++;
	if (e != NULL)
		e->seen = true;
	if ((rc = check_sec(io->doc, e, path, version)) != 0)
		return rc;
	sec = e->v.sec;
	if (sec->version > INT_MAX)
		return ckp_doc_set_error(io->doc, -EINVAL,
		    "section %s: version %u is too large", path, sec->version);
	io->phantom--;
	for (ckp_ent_t *c = sec->first; c != NULL; c = c->next)
		c->seen = false;
	io->cur = sec;
	return (int)sec->version;
}

int
ckp_io_enter(ckp_io_t *io, const char *name, uint32_t version)
{
	return do_enter(io, name, version, false);
}

int
ckp_io_enter_opt(ckp_io_t *io, const char *name, uint32_t version)
{
	return do_enter(io, name, version, true);
}

int
ckp_io_enterf(ckp_io_t *io, uint32_t version, const char *fmt, ...)
{
	char name[CKP_MAX_NAME + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		io->phantom++;
		return ckp_doc_set_error(io->doc, -EINVAL,
		    "section name '%s...' is longer than %d bytes", name,
		    CKP_MAX_NAME);
	}
	return do_enter(io, name, version, false);
}

/* An entry a restore did not read: reported, never an error. */
static void
warn_unknown(ckp_doc_t *doc, const ckp_ent_t *e)
{
	char path[700];

	ckp__ent_path(e, path, sizeof(path));
	if (e->type == CKP_TYPE_SECTION)
		ckp_doc_warn(doc, "unknown section %s (version %u) ignored",
		    path, e->v.sec->version);
	else
		ckp_doc_warn(doc, "unknown field %s$%s ignored", path,
		    ckp_type_name((ckp_type_t)e->type));
}

void
ckp_io_leave(ckp_io_t *io)
{
	if (io->phantom > 0) {
		io->phantom--;
		return;
	}
	if (io->cur->parent == NULL) {
		ckp_doc_set_error(io->doc, -EINVAL,
		    "ckp_io_leave() without a matching ckp_io_enter()");
		return;
	}
	if (io->mode == CKP_IO_RESTORE && io->doc->err == 0) {
		for (ckp_ent_t *e = io->cur->first; e != NULL; e = e->next)
			if (!e->seen)
				warn_unknown(io->doc, e);
	}
	io->cur = io->cur->parent;
}

void
ckp_sec_warn_unknown(const ckp_sec_t *sec, const char *const *known,
    size_t nknown)
{
	size_t i;

	if (sec == NULL)
		return;
	for (ckp_ent_t *e = sec->first; e != NULL; e = e->next) {
		for (i = 0; i < nknown; i++)
			if (e->type == CKP_TYPE_SECTION &&
			    strcmp(e->name, known[i]) == 0)
				break;
		if (i == nknown)
			warn_unknown(sec->doc, e);
	}
}

/* ------------------------------------------------------------------ */
/* Fields                                                              */
/* ------------------------------------------------------------------ */

static uint64_t
load_var(const void *ptr, ckp_type_t type)
{
	switch (type) {
	case CKP_TYPE_INT8: { int8_t v; memcpy(&v, ptr, 1); return (uint64_t)(int64_t)v; }
	case CKP_TYPE_INT16: { int16_t v; memcpy(&v, ptr, 2); return (uint64_t)(int64_t)v; }
	case CKP_TYPE_INT32: { int32_t v; memcpy(&v, ptr, 4); return (uint64_t)(int64_t)v; }
	case CKP_TYPE_INT64: { int64_t v; memcpy(&v, ptr, 8); return (uint64_t)v; }
	case CKP_TYPE_UINT8: { uint8_t v; memcpy(&v, ptr, 1); return v; }
	case CKP_TYPE_UINT16: { uint16_t v; memcpy(&v, ptr, 2); return v; }
	case CKP_TYPE_UINT32: { uint32_t v; memcpy(&v, ptr, 4); return v; }
	case CKP_TYPE_UINT64: { uint64_t v; memcpy(&v, ptr, 8); return v; }
	case CKP_TYPE_BOOL: { bool v; memcpy(&v, ptr, sizeof(v)); return v; }
	default: return 0;
	}
}

static void
store_var(void *ptr, ckp_type_t type, uint64_t bits)
{
	switch (type) {
	case CKP_TYPE_INT8: case CKP_TYPE_UINT8: { uint8_t v = (uint8_t)bits; memcpy(ptr, &v, 1); break; }
	case CKP_TYPE_INT16: case CKP_TYPE_UINT16: { uint16_t v = (uint16_t)bits; memcpy(ptr, &v, 2); break; }
	case CKP_TYPE_INT32: case CKP_TYPE_UINT32: { uint32_t v = (uint32_t)bits; memcpy(ptr, &v, 4); break; }
	case CKP_TYPE_INT64: case CKP_TYPE_UINT64: memcpy(ptr, &bits, 8); break;
	case CKP_TYPE_BOOL: { bool v = bits != 0; memcpy(ptr, &v, sizeof(v)); break; }
	default: break;
	}
}

/* Does @p v (an int64 default) fit @p type? */
static bool
default_fits(ckp_type_t type, int64_t v)
{
	switch (type) {
	case CKP_TYPE_INT8: return v >= INT8_MIN && v <= INT8_MAX;
	case CKP_TYPE_INT16: return v >= INT16_MIN && v <= INT16_MAX;
	case CKP_TYPE_INT32: return v >= INT32_MIN && v <= INT32_MAX;
	case CKP_TYPE_UINT8: return v >= 0 && v <= UINT8_MAX;
	case CKP_TYPE_UINT16: return v >= 0 && v <= UINT16_MAX;
	case CKP_TYPE_UINT32: return v >= 0 && v <= UINT32_MAX;
	case CKP_TYPE_BOOL: return v == 0 || v == 1;
	default: return true;	/* 64-bit: all bits are a value */
	}
}

/* Restore: find @p name, expecting @p type; NULL when absent or on error. */
static ckp_ent_t *
restore_find(ckp_io_t *io, const char *name, ckp_type_t type, unsigned flags,
    bool *absent)
{
	char path[700];
	ckp_ent_t *e = ckp__lookup(io->cur, name, strlen(name));

	*absent = false;
	if (e == NULL) {
		if (flags & CKP_F_OPTIONAL) {
			*absent = true;
			return NULL;
		}
		field_path(io, name, path, sizeof(path));
		ckp_doc_set_error(io->doc, -ENOENT, "missing field %s", path);
		return NULL;
	}
	e->seen = true;
	if (e->type != type) {
		field_path(io, name, path, sizeof(path));
		ckp_doc_set_error(io->doc, -EINVAL,
		    "field %s has type %s, this program expects %s", path,
		    ckp_type_name((ckp_type_t)e->type), ckp_type_name(type));
		return NULL;
	}
	return e;
}

static bool
valid_name(ckp_io_t *io, const char *name)
{
	char path[700];

	if (name != NULL && ckp__name_ok(name, strlen(name), false))
		return true;
	if (ckp_sec_path(io->cur, path, sizeof(path)) != 0)
		snprintf(path, sizeof(path), "...");
	ckp_doc_set_error(io->doc, -EINVAL,
	    "invalid field name '%s' in %s%s (names match [A-Za-z0-9_-]+, "
	    "at most %d bytes)", name != NULL ? name : "(null)",
	    path[0] ? "section " : "the root", path, CKP_MAX_NAME);
	return false;
}

int
ckp_io_field(ckp_io_t *io, const char *name, ckp_type_t type, void *ptr,
    size_t size, unsigned flags, int64_t defval)
{
	char path[700], a[24], b[24];
	ckp_ent_t *e;
	bool absent;

	if (io->doc->err != 0 || io->phantom > 0)
		return io->doc->err;
	if (!valid_name(io, name))
		return io->doc->err;
	if (!(ckp__type_is_int(type) || type == CKP_TYPE_BOOL) ||
	    ckp__type_size(type) != size) {
		field_path(io, name, path, sizeof(path));
		if (!(ckp__type_is_int(type) || type == CKP_TYPE_BOOL))
			return ckp_doc_set_error(io->doc, -EINVAL,
			    "field %s: unsupported C type (integers and bool only; "
			    "use ckp_io_bytes for arrays and structs)", path);
		return ckp_doc_set_error(io->doc, -EINVAL,
		    "field %s: a C variable of %zu bytes cannot hold a %s", path,
		    size, ckp_type_name(type));
	}
	if (io->mode == CKP_IO_SAVE) {
		uint64_t v = load_var(ptr, type);
		int err = 0;
		e = ckp__ent_add(io->cur, name, strlen(name), type, &err);
		if (e == NULL) {
			field_path(io, name, path, sizeof(path));
			return ckp_doc_set_error(io->doc, err, "%s %s",
			    err == -EEXIST ? "duplicate field" : "cannot add", path);
		}
		if (type == CKP_TYPE_BOOL)
			e->v.b = v != 0;
		else
			e->v.u = v;
		return 0;
	}
	e = restore_find(io, name, type, flags, &absent);
	if (absent) {
		if (flags & CKP_F_MATCH)
			return 0;
		if (!default_fits(type, defval)) {
			field_path(io, name, path, sizeof(path));
			return ckp_doc_set_error(io->doc, -ERANGE,
			    "field %s: default %lld does not fit %s", path,
			    (long long)defval, ckp_type_name(type));
		}
		store_var(ptr, type, (uint64_t)defval);
		return 0;
	}
	if (e == NULL)
		return io->doc->err;
	uint64_t v = type == CKP_TYPE_BOOL ? (uint64_t)e->v.b : e->v.u;
	if (flags & CKP_F_MATCH) {
		uint64_t cur = load_var(ptr, type);
		if (cur != v) {
			field_path(io, name, path, sizeof(path));
			ckp__fmt_scalar(type, v, a);
			ckp__fmt_scalar(type, cur, b);
			return ckp_doc_set_error(io->doc, -EINVAL,
			    "field %s must match: the checkpoint has %s, this machine has %s",
			    path, a, b);
		}
		return 0;
	}
	store_var(ptr, type, v);
	return 0;
}

/* Save or restore bytes; @p lenp NULL means exactly @p len bytes. */
static int
io_bytes(ckp_io_t *io, const char *name, void *buf, size_t len, size_t cap,
    size_t *lenp, unsigned flags)
{
	char path[700];
	ckp_ent_t *e;
	bool absent;

	if (io->doc->err != 0 || io->phantom > 0)
		return io->doc->err;
	if (!valid_name(io, name))
		return io->doc->err;
	if (io->mode == CKP_IO_SAVE) {
		if (lenp != NULL && *lenp > cap) {
			field_path(io, name, path, sizeof(path));
			return ckp_doc_set_error(io->doc, -EINVAL,
			    "field %s: length %zu exceeds the buffer's %zu bytes",
			    path, *lenp, cap);
		}
		ckp_sec_add_bytes(io->cur, name, buf, lenp != NULL ? *lenp : len);
		return io->doc->err;
	}
	e = restore_find(io, name, CKP_TYPE_B64, flags, &absent);
	if (absent)
		return 0;	/* optional bytes: the buffer keeps its value */
	if (e == NULL)
		return io->doc->err;
	field_path(io, name, path, sizeof(path));
	if (lenp == NULL && e->v.s.len != len)
		return ckp_doc_set_error(io->doc, -EINVAL,
		    "field %s has %zu bytes, this program expects %zu", path,
		    e->v.s.len, len);
	if (lenp != NULL && e->v.s.len > cap)
		return ckp_doc_set_error(io->doc, -EINVAL,
		    "field %s has %zu bytes, at most %zu fit", path, e->v.s.len,
		    cap);
	if (flags & CKP_F_MATCH) {
		size_t cur = lenp != NULL ? *lenp : len;
		if (cur != e->v.s.len ||
		    (cur > 0 && memcmp(buf, e->v.s.p, cur) != 0))
			return ckp_doc_set_error(io->doc, -EINVAL,
			    "field %s must match: the checkpoint's %zu bytes differ from this machine's",
			    path, e->v.s.len);
		return 0;
	}
	if (e->v.s.len > 0)
		memcpy(buf, e->v.s.p, e->v.s.len);
	if (lenp != NULL)
		*lenp = e->v.s.len;
	return 0;
}

int
ckp_io_bytes(ckp_io_t *io, const char *name, void *buf, size_t len,
    unsigned flags)
{
	return io_bytes(io, name, buf, len, len, NULL, flags);
}

int
ckp_io_bytes_var(ckp_io_t *io, const char *name, void *buf, size_t cap,
    size_t *lenp, unsigned flags)
{
	return io_bytes(io, name, buf, 0, cap, lenp, flags);
}

int
ckp_io_string(ckp_io_t *io, const char *name, char *buf, size_t cap,
    unsigned flags)
{
	char path[700];
	ckp_ent_t *e;
	bool absent;

	if (io->doc->err != 0 || io->phantom > 0)
		return io->doc->err;
	if (!valid_name(io, name))
		return io->doc->err;
	if (io->mode == CKP_IO_SAVE) {
		if (cap == 0 || memchr(buf, '\0', cap) == NULL) {
			field_path(io, name, path, sizeof(path));
			return ckp_doc_set_error(io->doc, -EINVAL,
			    "field %s: string is not NUL-terminated within %zu bytes",
			    path, cap);
		}
		ckp_sec_add_string(io->cur, name, buf);
		return io->doc->err;
	}
	e = restore_find(io, name, CKP_TYPE_STRING, flags, &absent);
	if (absent)
		return 0;
	if (e == NULL)
		return io->doc->err;
	field_path(io, name, path, sizeof(path));
	if (flags & CKP_F_MATCH) {
		if (cap == 0 || strnlen(buf, cap) != e->v.s.len ||
		    memcmp(buf, e->v.s.p, e->v.s.len) != 0)
			return ckp_doc_set_error(io->doc, -EINVAL,
			    "field %s must match: the checkpoint has \"%.64s\", this machine has \"%.64s\"",
			    path, e->v.s.p, cap ? buf : "");
		return 0;
	}
	if (e->v.s.len + 1 > cap)
		return ckp_doc_set_error(io->doc, -EINVAL,
		    "field %s: string of %zu bytes does not fit a buffer of %zu",
		    path, e->v.s.len, cap);
	memcpy(buf, e->v.s.p, e->v.s.len + 1);
	return 0;
}
