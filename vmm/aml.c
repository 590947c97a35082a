/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ACPI Machine Language encoder (vmm/aml.h).  Objects with a PkgLength
 * are written with four bytes reserved for it; aml_end() encodes the
 * length in as few bytes as it needs and moves the contents down, so the
 * result is what an ASL compiler emits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aml.h"

#define AML_ZERO	0x00
#define AML_ONE		0x01
#define AML_NAME	0x08
#define AML_BYTE	0x0a
#define AML_WORD	0x0b
#define AML_DWORD	0x0c
#define AML_QWORD	0x0e
#define AML_SCOPE	0x10
#define AML_BUFFER	0x11
#define AML_PACKAGE	0x12
#define AML_METHOD	0x14
#define AML_DUAL_NAME	0x2e
#define AML_MULTI_NAME	0x2f
#define AML_EXT		0x5b
#define AML_EXT_DEVICE	0x82
#define AML_ROOT	0x5c
#define AML_PARENT	0x5e
#define AML_RETURN	0xa4

/* Resource descriptor tags (section 6.4): small items, then large. */
#define RES_IRQ_NOFLAGS	0x22	/* type 4, 2 bytes */
#define RES_IO		0x47	/* type 8, 7 bytes */
#define RES_END		0x79	/* type 15, 1 byte */
#define RES_DWORD	0x87
#define RES_WORD	0x88
#define RES_EXT_IRQ	0x89
#define RES_QWORD	0x8a

#define SPACE_MEM	0
#define SPACE_IO	1
#define SPACE_BUS	2

#define PKGLEN_MAX	0x0fffffffU	/* 28 bits */

void
aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void
aml_fini(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

int
aml_finish(const struct aml *a)
{
	if (a->err != 0)
		return a->err;
	return a->depth != 0 ? -EINVAL : 0;
}

static int
fail(struct aml *a, int err)
{
	if (a->err == 0)
		a->err = err;
	return a->err;
}

static int
reserve(struct aml *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->err != 0)
		return a->err;
	if (n <= a->cap - a->len)
		return 0;
	if (n > PKGLEN_MAX || a->len > PKGLEN_MAX)
		return fail(a, -E2BIG);
	for (cap = a->cap != 0 ? a->cap : 256; cap - a->len < n; cap *= 2)
		;
	if ((p = realloc(a->buf, cap)) == NULL)
		return fail(a, -ENOMEM);
	a->buf = p;
	a->cap = cap;
	return 0;
}

int
aml_bytes(struct aml *a, const void *p, size_t len)
{
	if (reserve(a, len) != 0)
		return a->err;
	if (len > 0)
		memcpy(a->buf + a->len, p, len);
	a->len += len;
	return 0;
}

static int
byte(struct aml *a, uint8_t b)
{
	return aml_bytes(a, &b, 1);
}

static int
le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];
	unsigned i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return aml_bytes(a, b, n);
}

/* Reserve the PkgLength of an object whose contents follow. */
static int
open_pkg(struct aml *a)
{
	static const uint8_t placeholder[4];

	if (a->err != 0)
		return a->err;
	if (a->depth == AML_MAX_DEPTH)
		return fail(a, -E2BIG);
	a->open[a->depth] = a->len;
	if (aml_bytes(a, placeholder, sizeof(placeholder)) != 0)
		return a->err;
	a->depth++;
	return 0;
}

int
aml_end(struct aml *a)
{
	size_t at, body;
	uint32_t total;
	uint8_t enc[4];
	unsigned n, i;

	if (a->err != 0)
		return a->err;
	if (a->depth == 0)
		return fail(a, -EINVAL);
	at = a->open[--a->depth];
	body = a->len - at - 4;
	/*
	 * PkgLength counts its own bytes: one byte holds up to 63; with
	 * n following bytes, 4 + 8n bits.
	 */
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 <= 0xfff)
		n = 2;
	else if (body + 3 <= 0xfffff)
		n = 3;
	else if (body + 4 <= PKGLEN_MAX)
		n = 4;
	else
		return fail(a, -E2BIG);
	total = (uint32_t)(body + n);
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + at + n, a->buf + at + 4, body);
	memcpy(a->buf + at, enc, n);
	a->len -= 4 - n;
	return 0;
}

static bool
lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

int
aml_namestring(struct aml *a, const char *path)
{
	uint8_t segs[255][4];
	const char *p = path;
	unsigned nseg = 0, i;

	if (a->err != 0)
		return a->err;
	if (*p == '\\') {
		byte(a, AML_ROOT);
		p++;
	} else {
		while (*p == '^') {
			byte(a, AML_PARENT);
			p++;
		}
	}
	if (*p == '\0') {
		/* "\\" alone is the root; "^" alone names nothing. */
		if (p == path || path[0] != '\\')
			return fail(a, -EINVAL);
		return byte(a, AML_ZERO);	/* NullName */
	}
	for (;;) {
		if (nseg == 255 || !lead_char(*p))
			return fail(a, -EINVAL);
		for (i = 0; i < 4 && name_char(*p); i++)
			segs[nseg][i] = (uint8_t)*p++;
		for (; i < 4; i++)
			segs[nseg][i] = '_';
		nseg++;
		if (*p == '\0')
			break;
		if (*p++ != '.')
			return fail(a, -EINVAL);
	}
	if (nseg == 2)
		byte(a, AML_DUAL_NAME);
	else if (nseg > 2) {
		byte(a, AML_MULTI_NAME);
		byte(a, (uint8_t)nseg);
	}
	return aml_bytes(a, segs, 4 * (size_t)nseg);
}

int
aml_int(struct aml *a, uint64_t v)
{
	if (v == 0)
		return byte(a, AML_ZERO);
	if (v == 1)
		return byte(a, AML_ONE);
	if (v <= 0xff) {
		byte(a, AML_BYTE);
		return le(a, v, 1);
	}
	if (v <= 0xffff) {
		byte(a, AML_WORD);
		return le(a, v, 2);
	}
	if (v <= 0xffffffffU) {
		byte(a, AML_DWORD);
		return le(a, v, 4);
	}
	byte(a, AML_QWORD);
	return le(a, v, 8);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
aml_eisaid(struct aml *a, const char *id)
{
	uint32_t mfg, prod = 0;
	unsigned i;

	if (a->err != 0)
		return a->err;
	if (strlen(id) != 7)
		return fail(a, -EINVAL);
	for (i = 0; i < 3; i++)
		if (id[i] < 'A' || id[i] > 'Z')
			return fail(a, -EINVAL);
	for (i = 3; i < 7; i++) {
		if (hexval(id[i]) < 0)
			return fail(a, -EINVAL);
		prod = prod << 4 | (uint32_t)hexval(id[i]);
	}
	/* Three 5-bit letters ('A' = 1), then the product; both big-endian. */
	mfg = (uint32_t)(id[0] - '@') << 10 | (uint32_t)(id[1] - '@') << 5 |
	    (uint32_t)(id[2] - '@');
	return aml_int(a, (mfg >> 8) | (mfg & 0xff) << 8 | (prod >> 8) << 16 |
	    (prod & 0xff) << 24);
}

int
aml_buffer(struct aml *a, const void *data, size_t len)
{
	byte(a, AML_BUFFER);
	open_pkg(a);
	aml_int(a, len);
	aml_bytes(a, data, len);
	return aml_end(a);
}

int
aml_name(struct aml *a, const char *name)
{
	byte(a, AML_NAME);
	return aml_namestring(a, name);
}

int
aml_return(struct aml *a)
{
	return byte(a, AML_RETURN);
}

int
aml_scope(struct aml *a, const char *name)
{
	byte(a, AML_SCOPE);
	open_pkg(a);
	return aml_namestring(a, name);
}

int
aml_device(struct aml *a, const char *name)
{
	byte(a, AML_EXT);
	byte(a, AML_EXT_DEVICE);
	open_pkg(a);
	return aml_namestring(a, name);
}

int
aml_method(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	if (nargs > 7)
		return fail(a, -EINVAL);
	byte(a, AML_METHOD);
	open_pkg(a);
	aml_namestring(a, name);
	return byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

int
aml_package(struct aml *a, unsigned nelem)
{
	if (nelem > 255)
		return fail(a, -E2BIG);	/* that needs a VarPackage */
	byte(a, AML_PACKAGE);
	open_pkg(a);
	return byte(a, (uint8_t)nelem);
}

/* ------------------------------------------------------------------------ */
/* Resource descriptors                                                      */
/* ------------------------------------------------------------------------ */

int
aml_res_irq_noflags(struct aml *r, unsigned irq)
{
	if (irq > 15)
		return fail(r, -EINVAL);
	byte(r, RES_IRQ_NOFLAGS);
	return le(r, 1U << irq, 2);
}

int
aml_res_io(struct aml *r, uint16_t min, uint16_t max, uint8_t align,
    uint8_t len)
{
	byte(r, RES_IO);
	byte(r, 0x01);		/* decodes 16 address bits */
	le(r, min, 2);
	le(r, max, 2);
	byte(r, align);
	return byte(r, len);
}

/*
 * The common head of the Word, DWord and QWord address space descriptors:
 * general flags "min and max fixed, positive decode" and the consumer bit.
 */
static int
addr_head(struct aml *r, uint8_t tag, uint16_t len, uint8_t space,
    bool producer, uint8_t type_flags)
{
	byte(r, tag);
	le(r, len, 2);
	byte(r, space);
	byte(r, (uint8_t)(0x0c | (producer ? 0 : 0x01)));
	return byte(r, type_flags);
}

static int
word_space(struct aml *r, uint8_t space, bool producer, uint8_t flags,
    uint16_t min, uint16_t max)
{
	if (max < min)
		return fail(r, -EINVAL);
	if (min == 0 && max == 0xffff)
		return fail(r, -E2BIG);		/* the length 0x10000 */
	addr_head(r, RES_WORD, 13, space, producer, flags);
	le(r, 0, 2);				/* granularity */
	le(r, min, 2);
	le(r, max, 2);
	le(r, 0, 2);				/* translation offset */
	return le(r, (uint32_t)max - min + 1, 2);
}

int
aml_res_word_bus(struct aml *r, bool producer, uint16_t min, uint16_t max)
{
	return word_space(r, SPACE_BUS, producer, 0, min, max);
}

int
aml_res_word_io(struct aml *r, bool producer, uint16_t min, uint16_t max)
{
	return word_space(r, SPACE_IO, producer, 0x03 /* EntireRange */, min,
	    max);
}

int
aml_res_dword_mem(struct aml *r, bool producer, uint32_t min, uint32_t max)
{
	if (max < min)
		return fail(r, -EINVAL);
	if (min == 0 && max == 0xffffffffU)
		return fail(r, -E2BIG);
	addr_head(r, RES_DWORD, 23, SPACE_MEM, producer,
	    0x01 /* ReadWrite, NonCacheable */);
	le(r, 0, 4);
	le(r, min, 4);
	le(r, max, 4);
	le(r, 0, 4);
	return le(r, (uint64_t)max - min + 1, 4);
}

int
aml_res_qword_mem(struct aml *r, bool producer, uint64_t min, uint64_t max)
{
	if (max < min)
		return fail(r, -EINVAL);
	if (min == 0 && max == UINT64_MAX)
		return fail(r, -E2BIG);
	addr_head(r, RES_QWORD, 43, SPACE_MEM, producer, 0x01);
	le(r, 0, 8);
	le(r, min, 8);
	le(r, max, 8);
	le(r, 0, 8);
	return le(r, max - min + 1, 8);
}

int
aml_res_interrupt(struct aml *r, uint32_t gsi, bool edge, bool active_low,
    bool shared)
{
	byte(r, RES_EXT_IRQ);
	le(r, 6, 2);
	byte(r, (uint8_t)(0x01 /* consumer */ | (edge ? 0x02 : 0) |
	    (active_low ? 0x04 : 0) | (shared ? 0x08 : 0)));
	byte(r, 1);		/* one interrupt */
	return le(r, gsi, 4);
}

int
aml_res_end(struct aml *r)
{
	uint8_t sum = RES_END;
	size_t i;

	if (r->err != 0)
		return r->err;
	for (i = 0; i < r->len; i++)
		sum += r->buf[i];
	byte(r, RES_END);
	return byte(r, (uint8_t)-sum);
}
