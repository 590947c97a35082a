/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The AML encoder (vmm/aml.c) against the byte layouts of the ACPI
 * specification (chapter 20, AML grammar; 6.4, resource descriptors):
 * names, integers in their smallest form, PkgLength at every size
 * boundary, the named objects, resource descriptors, and that bad input
 * gives an error instead of bytes.  test_vmm_acpica.c compares the same
 * encodings with what ACPICA's compiler emits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aml.h"

#include "test_check.h"

/* @a holds exactly the @n bytes @want and no error. */
#define CHECK_BYTES(a, ...) do {					\
	static const uint8_t want_[] = { __VA_ARGS__ };			\
	check_bytes(__LINE__, (a), want_, sizeof(want_));		\
} while (0)

static void
check_bytes(int line, const struct aml *a, const uint8_t *want, size_t n)
{
	size_t i;

	if (aml_finish(a) == 0 && a->len == n && memcmp(a->buf, want, n) == 0)
		return;
	fprintf(stderr, "%s:%d: bytes differ (error %d)\n   got: ", __FILE__,
	    line, aml_finish(a));
	for (i = 0; i < a->len; i++)
		fprintf(stderr, " %02x", a->buf[i]);
	fprintf(stderr, "\n  want: ");
	for (i = 0; i < n; i++)
		fprintf(stderr, " %02x", want[i]);
	fprintf(stderr, "\n");
	failures++;
}

static void
reset(struct aml *a)
{
	aml_fini(a);
	aml_init(a);
}

static void
test_names(void)
{
	static const char *const bad[] = {
		"", "^", "^\\A", "pci0", "PCI0X", "0ABC", "A..B", "A.", ".A",
		"\\\\A", "A-B", "A B", "\\_SB.", "_SB.pci0",
	};
	struct aml a;
	size_t i;

	aml_init(&a);
	aml_namestring(&a, "_S5");		/* padded with '_' */
	CHECK_BYTES(&a, '_', 'S', '5', '_');
	reset(&a);
	aml_namestring(&a, "A");
	CHECK_BYTES(&a, 'A', '_', '_', '_');
	reset(&a);
	aml_namestring(&a, "PCI0");
	CHECK_BYTES(&a, 'P', 'C', 'I', '0');
	reset(&a);
	aml_namestring(&a, "\\");		/* root: RootChar NullName */
	CHECK_BYTES(&a, 0x5c, 0x00);
	reset(&a);
	aml_namestring(&a, "\\_SB");
	CHECK_BYTES(&a, 0x5c, '_', 'S', 'B', '_');
	reset(&a);
	aml_namestring(&a, "\\_SB.PCI0");	/* DualNamePrefix */
	CHECK_BYTES(&a, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	reset(&a);
	aml_namestring(&a, "_SB.PCI0.S08");	/* MultiNamePrefix, count */
	CHECK_BYTES(&a, 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
	    'S', '0', '8', '_');
	reset(&a);
	aml_namestring(&a, "^^PCI0._PRT");	/* ParentPrefixChar each */
	CHECK_BYTES(&a, 0x5e, 0x5e, 0x2e, 'P', 'C', 'I', '0', '_', 'P', 'R',
	    'T');
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reset(&a);
		CHECK(aml_namestring(&a, bad[i]) == -EINVAL);
		if (aml_finish(&a) != -EINVAL)
			fprintf(stderr, "  name \"%s\" was taken\n", bad[i]);
	}
	/* An error sticks: nothing more is encoded after it. */
	CHECK(aml_int(&a, 5) == -EINVAL && aml_end(&a) == -EINVAL);
	aml_fini(&a);
}

static void
test_integers(void)
{
	static const struct {
		uint64_t v;
		uint8_t enc[9];
		size_t n;
	} t[] = {
		{ 0, { 0x00 }, 1 },				/* ZeroOp */
		{ 1, { 0x01 }, 1 },				/* OneOp */
		{ 2, { 0x0a, 0x02 }, 2 },			/* BytePrefix */
		{ 0xff, { 0x0a, 0xff }, 2 },
		{ 0x100, { 0x0b, 0x00, 0x01 }, 3 },		/* WordPrefix */
		{ 0xffff, { 0x0b, 0xff, 0xff }, 3 },
		{ 0x10000, { 0x0c, 0x00, 0x00, 0x01, 0x00 }, 5 },	/* DWord */
		{ 0xfec00000, { 0x0c, 0x00, 0x00, 0xc0, 0xfe }, 5 },
		{ 0xffffffff, { 0x0c, 0xff, 0xff, 0xff, 0xff }, 5 },
		{ 0x100000000ULL, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 }, 9 },
		{ UINT64_MAX, { 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0xff }, 9 },				/* QWordPrefix */
	};
	struct aml a;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		aml_init(&a);
		aml_int(&a, t[i].v);
		check_bytes(__LINE__, &a, t[i].enc, t[i].n);
		aml_fini(&a);
	}
}

/* The PkgLength at @p, decoded as the grammar defines it. */
static size_t
pkglen_decode(const uint8_t *p, unsigned *nbytes)
{
	unsigned n = (p[0] >> 6) + 1, i;
	size_t v;

	if (n == 1) {
		*nbytes = 1;
		return p[0] & 0x3f;
	}
	v = p[0] & 0x0f;
	for (i = 1; i < n; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*nbytes = n;
	return v;
}

/*
 * Scope (ABCD) holding @body bytes: the PkgLength counts itself, the name
 * and the body; it takes the fewest bytes that can hold that count (one
 * byte up to 63, then 4 + 8 * (n - 1) bits), and the body follows intact.
 */
static void
check_pkglen(size_t body, unsigned want_n)
{
	struct aml a;
	uint8_t *fill = malloc(body);
	unsigned n;
	size_t len, i;

	if (fill == NULL) {
		CHECK(!"out of memory");
		return;
	}
	for (i = 0; i < body; i++)
		fill[i] = (uint8_t)(i * 7 + 3);
	aml_init(&a);
	aml_scope(&a, "ABCD");
	aml_bytes(&a, fill, body);
	CHECK(aml_end(&a) == 0 && aml_finish(&a) == 0);
	len = pkglen_decode(a.buf + 1, &n);
	CHECK(a.buf[0] == 0x10);
	CHECK(n == want_n);
	CHECK(len == n + 4 + body);
	CHECK(a.len == 1 + n + 4 + body);
	CHECK(memcmp(a.buf + 1 + n, "ABCD", 4) == 0);
	CHECK(memcmp(a.buf + 1 + n + 4, fill, body) == 0);
	if (n == 1)
		CHECK((a.buf[1] & 0xc0) == 0);
	else
		CHECK((a.buf[1] & 0x30) == 0);	/* bits 4-5 reserved */
	if (n != want_n)
		fprintf(stderr, "  body %zu: %u PkgLength bytes, want %u\n",
		    body, n, want_n);
	aml_fini(&a);
	free(fill);
}

static void
test_pkglength(void)
{
	struct aml a;
	unsigned i;

	/* The name takes 4 bytes of the counted contents. */
	check_pkglen(0, 1);
	check_pkglen(58, 1);		/* 1 + 4 + 58 = 63 */
	check_pkglen(59, 2);		/* 64 does not fit in one byte */
	check_pkglen(4089, 2);		/* 2 + 4 + 4089 = 4095 */
	check_pkglen(4090, 3);
	check_pkglen(0xfffff - 7, 3);	/* 3 + 4 + body = 0xfffff */
	check_pkglen(0xfffff - 6, 4);

	/* Two bytes, spelled out: 0x40 | low nibble, then bits 4-11. */
	aml_init(&a);
	aml_scope(&a, "ABCD");
	for (i = 0; i < 100; i++)
		aml_bytes(&a, "\0", 1);
	aml_end(&a);
	CHECK(a.len == 107 && a.buf[1] == (0x40 | (106 & 0x0f)) &&
	    a.buf[2] == 106 >> 4);
	aml_fini(&a);

	/* Nesting: the inner length is final before the outer is counted. */
	aml_init(&a);
	aml_scope(&a, "\\_SB");
	aml_device(&a, "PCI0");
	aml_name(&a, "_UID");
	aml_int(&a, 0);
	aml_end(&a);
	aml_end(&a);
	CHECK_BYTES(&a, 0x10, 0x13, 0x5c, '_', 'S', 'B', '_',
	    0x5b, 0x82, 0x0b, 'P', 'C', 'I', '0',
	    0x08, '_', 'U', 'I', 'D', 0x00);
	aml_fini(&a);

	/* Unbalanced: an end too many, or an object left open. */
	aml_init(&a);
	CHECK(aml_end(&a) == -EINVAL);
	reset(&a);
	aml_scope(&a, "A");
	CHECK(aml_finish(&a) == -EINVAL);
	reset(&a);
	for (i = 0; i < AML_MAX_DEPTH; i++)
		CHECK(aml_scope(&a, "A") == 0);
	CHECK(aml_scope(&a, "A") == -E2BIG);
	aml_fini(&a);
}

static void
test_objects(void)
{
	struct aml a;
	unsigned i;

	aml_init(&a);
	/* Name (_S5, Package () { 5, 0, 0, 0 }) */
	aml_name(&a, "_S5");
	aml_package(&a, 4);
	aml_int(&a, 5);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_end(&a);
	CHECK_BYTES(&a, 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a,
	    0x05, 0x00, 0x00, 0x00);

	/* EisaId: compressed letters then the product, as a DWord. */
	reset(&a);
	aml_eisaid(&a, "PNP0A03");
	CHECK_BYTES(&a, 0x0c, 0x41, 0xd0, 0x0a, 0x03);
	reset(&a);
	aml_eisaid(&a, "PNP0501");
	CHECK_BYTES(&a, 0x0c, 0x41, 0xd0, 0x05, 0x01);
	reset(&a);
	aml_eisaid(&a, "ZZZFFFF");	/* Z = 26: 11010 11010 11010 */
	CHECK_BYTES(&a, 0x0c, 0x6b, 0x5a, 0xff, 0xff);
	for (i = 0; i < 4; i++) {
		static const char *const bad[] = { "pnp0a03", "PNP0A0",
		    "PNP0A033", "PNP0G03" };
		reset(&a);
		CHECK(aml_eisaid(&a, bad[i]) == -EINVAL);
	}

	/* Method (_STA, 0, NotSerialized) { Return (0x0F) } */
	reset(&a);
	aml_method(&a, "_STA", 0, false);
	aml_return(&a);
	aml_int(&a, 0x0f);
	aml_end(&a);
	CHECK_BYTES(&a, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a,
	    0x0f);
	/* MethodFlags: ArgCount in bits 0-2, SerializeFlag bit 3 */
	reset(&a);
	aml_method(&a, "M", 7, true);
	aml_end(&a);
	CHECK_BYTES(&a, 0x14, 0x06, 'M', '_', '_', '_', 0x0f);
	reset(&a);
	CHECK(aml_method(&a, "M", 8, false) == -EINVAL);

	/* Device (COM1) { Name (_HID, EisaId ("PNP0501")) } */
	reset(&a);
	aml_device(&a, "COM1");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0501");
	aml_end(&a);
	CHECK_BYTES(&a, 0x5b, 0x82, 0x0f, 'C', 'O', 'M', '1', 0x08, '_',
	    'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01);

	/* Buffer: PkgLength, BufferSize as an integer, the bytes */
	reset(&a);
	aml_buffer(&a, "\x01\x02\x03", 3);
	CHECK_BYTES(&a, 0x11, 0x06, 0x0a, 0x03, 0x01, 0x02, 0x03);
	reset(&a);
	aml_buffer(&a, NULL, 0);
	CHECK_BYTES(&a, 0x11, 0x02, 0x00);
	reset(&a);
	aml_buffer(&a, "\x01", 1);
	CHECK_BYTES(&a, 0x11, 0x03, 0x01, 0x01);

	/* Packages hold at most 255 elements (more need a VarPackage). */
	reset(&a);
	aml_package(&a, 255);
	aml_end(&a);
	CHECK_BYTES(&a, 0x12, 0x02, 0xff);
	reset(&a);
	CHECK(aml_package(&a, 256) == -E2BIG);
	aml_fini(&a);
}

/* Bytes of a template sum to zero through its EndTag. */
static uint8_t
sum(const struct aml *a)
{
	uint8_t s = 0;
	size_t i;

	for (i = 0; i < a->len; i++)
		s += a->buf[i];
	return s;
}

static void
test_resources(void)
{
	struct aml r;

	aml_init(&r);
	/* IRQNoFlags () {4}: small item 4, length 2, the mask */
	aml_res_irq_noflags(&r, 4);
	CHECK_BYTES(&r, 0x22, 0x10, 0x00);
	reset(&r);
	aml_res_irq_noflags(&r, 15);
	CHECK_BYTES(&r, 0x22, 0x00, 0x80);
	reset(&r);
	CHECK(aml_res_irq_noflags(&r, 16) == -EINVAL);

	/* IO (Decode16, 0x3F8, 0x3F8, 0x01, 0x08) */
	reset(&r);
	aml_res_io(&r, 0x3f8, 0x3f8, 1, 8);
	CHECK_BYTES(&r, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08);

	/*
	 * WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
	 * 0, 0, 0xFF, 0, 0x100): large item 8, length 13, resource type 2,
	 * general flags MaxFixed | MinFixed, type flags 0, then granularity,
	 * minimum, maximum, translation and length.
	 */
	reset(&r);
	aml_res_word_bus(&r, true, 0, 0xff);
	CHECK_BYTES(&r, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01);
	/* WordIO (ResourceConsumer, ..., EntireRange, 0, 0xC000, 0xC0FF, 0, 0x100) */
	reset(&r);
	aml_res_word_io(&r, false, 0xc000, 0xc0ff);
	CHECK_BYTES(&r, 0x88, 0x0d, 0x00, 0x01, 0x0d, 0x03, 0x00, 0x00,
	    0x00, 0xc0, 0xff, 0xc0, 0x00, 0x00, 0x00, 0x01);
	reset(&r);
	CHECK(aml_res_word_io(&r, true, 0, 0xffff) == -E2BIG);
	reset(&r);
	CHECK(aml_res_word_io(&r, true, 0x100, 0xff) == -EINVAL);

	/* DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
	 * NonCacheable, ReadWrite, 0, 0xC0000000, 0xFEBFFFFF, 0, 0x3EC00000) */
	reset(&r);
	aml_res_dword_mem(&r, true, 0xc0000000, 0xfebfffff);
	CHECK_BYTES(&r, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,
	    0xff, 0xff, 0xbf, 0xfe, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0xc0, 0x3e);
	reset(&r);
	CHECK(aml_res_dword_mem(&r, true, 0, 0xffffffff) == -E2BIG);

	/* QWordMemory (..., 0x800000000, 0xFFFFFFFFF, ...) */
	reset(&r);
	aml_res_qword_mem(&r, true, 0x800000000ULL, 0xfffffffffULL);
	CHECK_BYTES(&r, 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01,
	    0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 8, 0, 0, 0,
	    0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 8, 0, 0, 0);

	/* Interrupt (ResourceConsumer, Level, ActiveLow, Shared) {0x10};
	 * flags: consumer 1, edge 2, active low 4, shared 8 */
	reset(&r);
	aml_res_interrupt(&r, 0x10, false, true, true);
	CHECK_BYTES(&r, 0x89, 0x06, 0x00, 0x0d, 0x01, 0x10, 0x00, 0x00,
	    0x00);
	reset(&r);
	aml_res_interrupt(&r, 4, true, false, false);
	CHECK_BYTES(&r, 0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00,
	    0x00);

	/* EndTag: small item 15, length 1, the checksum */
	reset(&r);
	aml_res_io(&r, 0xcf8, 0xcf8, 1, 8);
	aml_res_end(&r);
	CHECK(r.len == 10 && r.buf[8] == 0x79 && sum(&r) == 0);
	reset(&r);
	aml_res_end(&r);
	CHECK_BYTES(&r, 0x79, 0x87);
	aml_fini(&r);
}

int
main(void)
{
	test_names();
	test_integers();
	test_pkglength();
	test_objects();
	test_resources();
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_aml: ok\n");
	return 0;
}
