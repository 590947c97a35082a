/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The LAPIC page and the XSAVE area saved register by register
 * (vmm/regfile.c): random blocks come back byte for byte (the names plus
 * "raw" for what they miss), in every encoding; the names hold what they
 * say (a 256-bit ISR with vector 0x31 set, xmm0, ymm_hi15); other
 * components by their XSTATE names (xtilecfg...), an older checkpoint's
 * component_N too; a component in use without a CPUID layout, a register
 * of the wrong width or with a non-hex digit, and a raw word outside the
 * block are refused by name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>

#include "ckp.h"
#include "state.h"

#include "test_check.h"

#define XS_SIZE	4096

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static void
fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		p[i] = (uint8_t)rng;
	}
}

/* CPUID leaf 0xD as a host with AVX (and PKRU at 2688) has it. */
static const struct kvm_cpuid_entry2 layout[] = {
	{ .function = 0xd, .index = 2, .eax = 256, .ebx = 576 },
	{ .function = 0xd, .index = 9, .eax = 8, .ebx = 2688 },
	{ .function = 0xd, .index = 17, .eax = 64, .ebx = 4090 },
};
#define NLAYOUT (sizeof(layout) / sizeof(layout[0]))

/* Save @lap and @xs into a document, encode it as @enc, decode it. */
static ckp_doc_t *
save(struct kvm_lapic_state *lap, uint8_t *xs, ckp_enc_t enc)
{
	ckp_doc_t *d = ckp_doc_new("test"), *d2;
	ckp_io_t *io = ckp_io_new(d, CKP_IO_SAVE);
	size_t len = XS_SIZE;
	void *buf;

	ckp_io_enter(io, "vcpu", 2);
	regfile_lapic_io(io, lap);
	CHECK(regfile_xsave_io(io, xs, XS_SIZE, &len, layout, NLAYOUT) == 0);
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK(ckp_doc_error(d) == 0);
	CHECK(ckp_doc_encode(d, enc, &buf, &len) == 0);
	ckp_doc_free(d);
	d2 = ckp_doc_decode(buf, len, "t", 0);
	free(buf);
	CHECK(ckp_doc_error(d2) == 0);
	return d2;
}

/* Restore from @d; the document's error (0 when all went well). */
static int
restore(ckp_doc_t *d, struct kvm_lapic_state *lap, uint8_t *xs, size_t *len)
{
	ckp_io_t *io = ckp_io_new(d, CKP_IO_RESTORE);
	int rc;

	if (ckp_io_enter(io, "vcpu", 2) >= 0) {
		regfile_lapic_io(io, lap);
		regfile_xsave_io(io, xs, XS_SIZE, len, layout, NLAYOUT);
		ckp_io_leave(io);
	}
	rc = ckp_doc_error(d);
	ckp_io_free(io);
	return rc;
}

static void
roundtrip(ckp_enc_t enc)
{
	struct kvm_lapic_state lap, lap2;
	uint8_t xs[XS_SIZE], xs2[XS_SIZE];
	uint64_t bv = 0x7 | (1ULL << 9);	/* x87, SSE, AVX, PKRU */
	const char *s = "";
	size_t len = 0;
	ckp_doc_t *d;
	int i;

	fill((uint8_t *)lap.regs, sizeof(lap.regs));
	fill(xs, sizeof(xs));
	memcpy(xs + 512, &bv, 8);
	memset(xs + 520, 0, 56);		/* XCOMP_BV and reserved */
	d = save(&lap, xs, enc);
	memset(&lap2, 0xee, sizeof(lap2));
	memset(xs2, 0xee, sizeof(xs2));
	CHECK(restore(d, &lap2, xs2, &len) == 0);
	CHECK(memcmp(lap.regs, lap2.regs, sizeof(lap.regs)) == 0);
	CHECK(memcmp(xs, xs2, sizeof(xs)) == 0);
	CHECK(len == XS_SIZE);	/* raw words reach the end of the area */
	ckp_doc_free(d);

	/* A clean area: names only, no raw section, length to PKRU's end. */
	memset(&lap, 0, sizeof(lap));
	memset(xs, 0, sizeof(xs));
	lap.regs[0x100 + 0x10 * 1 + 2] = 0x02;	/* ISR bit 49 = vector 0x31 */
	lap.regs[0x30] = 0x14;			/* version */
	memcpy(xs + 512, &bv, 8);
	xs[160] = 0x01;				/* xmm0 = 1 */
	xs[576 + 15 * 16 + 15] = 0x80;		/* ymm_hi15's top bit */
	xs[2688] = 0x55;			/* PKRU */
	d = save(&lap, xs, enc);
	ckp_sec_t *v = ckp_sec_find(ckp_doc_root(d), "vcpu");
	ckp_sec_t *l = ckp_sec_find(v, "lapic"), *x = ckp_sec_find(v, "xsave");
	CHECK(l != NULL && x != NULL);
	CHECK(ckp_sec_find(l, "raw") == NULL && ckp_sec_find(x, "raw") == NULL);
	CHECK(ckp_sec_get_string(l, "isr", &s) == 0 && strlen(s) == 64);
	for (i = 0; i < 64; i++)	/* bit 49: digit 12 from the right */
		CHECK(s[i] == (i == 63 - 12 ? '2' : '0'));
	uint32_t ver = 0;
	CHECK(ckp_sec_get_uint32(l, "version", &ver) == 0 && ver == 0x14);
	CHECK(ckp_sec_get_string(x, "xmm0", &s) == 0 &&
	    strcmp(s, "00000000000000000000000000000001") == 0);
	CHECK(ckp_sec_get_string(ckp_sec_find(x, "avx"), "ymm_hi15", &s) == 0 &&
	    strcmp(s, "80000000000000000000000000000000") == 0);
	uint32_t pkru = 0;
	CHECK(ckp_sec_get_uint32(ckp_sec_find(x, "pkru"), "pkru", &pkru) == 0 &&
	    pkru == 0x55);
	CHECK(restore(d, &lap2, xs2, &len) == 0);
	CHECK(memcmp(lap.regs, lap2.regs, sizeof(lap.regs)) == 0);
	CHECK(memcmp(xs, xs2, sizeof(xs)) == 0);
	CHECK(len == 2688 + 8);
	ckp_doc_free(d);
}

/* Save a clean state, apply @edit to the decoded document, restore. */
static void
refused(const char *path, const char *field, const char *value,
    const char *want)
{
	struct kvm_lapic_state lap;
	uint8_t xs[XS_SIZE];
	uint64_t bv = 0x7;
	size_t len;
	ckp_doc_t *d;

	memset(&lap, 0, sizeof(lap));
	memset(xs, 0, sizeof(xs));
	memcpy(xs + 512, &bv, 8);
	d = save(&lap, xs, CKP_ENC_JSON);
	ckp_sec_t *s = ckp_doc_root(d);
	char buf[128], *p, *tok;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &p); tok != NULL; tok = strtok_r(NULL,
	    ".", &p))
		s = ckp_sec_find(s, tok) != NULL ? ckp_sec_find(s, tok) :
		    ckp_sec_add(s, tok, 1);
	(void)ckp_sec_remove(s, field);
	if (strncmp(value, "u64:", 4) == 0)
		ckp_sec_add_uint64(s, field, strtoull(value + 4, NULL, 16));
	else
		ckp_sec_add_string(s, field, value);
	CHECK(restore(d, &lap, xs, &len) == -EINVAL);
	if (strstr(ckp_doc_errmsg(d), want) == NULL) {
		fprintf(stderr, "%s.%s=%s: got '%s', want '%s'\n", path, field,
		    value, ckp_doc_errmsg(d), want);
		failures++;
	}
	ckp_doc_free(d);
}

/*
 * Components beyond the named registers (AMX's tile configuration and
 * data, one no table names), in a synthetic leaf 0xD that fits the test's
 * area: saved as sections named after the component with its XSTATE bit
 * and bytes, restored byte for byte; and the component_N form of older
 * checkpoints still restores.
 */
static void
other_components(void)
{
	static const struct kvm_cpuid_entry2 amx[] = {
		{ .function = 0xd, .index = 2, .eax = 256, .ebx = 576 },
		{ .function = 0xd, .index = 17, .eax = 64, .ebx = 832 },
		{ .function = 0xd, .index = 18, .eax = 1024, .ebx = 896 },
		{ .function = 0xd, .index = 25, .eax = 32, .ebx = 1920 },
	};
	uint64_t bv = 0x7 | (1ULL << 17) | (1ULL << 18) | (1ULL << 25);
	uint8_t xs[XS_SIZE], xs2[XS_SIZE];
	const void *data;
	size_t len, n;
	ckp_doc_t *d;
	ckp_io_t *io;
	ckp_sec_t *x, *c;
	uint32_t bit;

	memset(xs, 0, sizeof(xs));
	fill(xs + 576, 1952 - 576);
	memcpy(xs + 512, &bv, 8);
	d = ckp_doc_new("test");
	io = ckp_io_new(d, CKP_IO_SAVE);
	len = 1952;
	CHECK(regfile_xsave_io(io, xs, XS_SIZE, &len, amx, 4) == 0);
	ckp_io_free(io);
	x = ckp_sec_find(ckp_doc_root(d), "xsave");
	CHECK(x != NULL);
	if (x == NULL)
		goto out;
	c = ckp_sec_find(x, "xtilecfg");
	CHECK(c != NULL && ckp_sec_get_uint32(c, "bit", &bit) == 0 &&
	    bit == 17);
	CHECK(c != NULL && ckp_sec_get_bytes(c, "data", &data, &n) == 0 &&
	    n == 64 && memcmp(data, xs + 832, 64) == 0);
	c = ckp_sec_find(x, "xtiledata");
	CHECK(c != NULL && ckp_sec_get_uint32(c, "bit", &bit) == 0 &&
	    bit == 18);
	CHECK(ckp_sec_find(x, "component_25") != NULL);
	CHECK(ckp_sec_find(x, "component_17") == NULL);
	CHECK(ckp_sec_find(x, "raw") == NULL);
	memset(xs2, 0xee, sizeof(xs2));
	len = 0;
	io = ckp_io_new(d, CKP_IO_RESTORE);
	regfile_xsave_io(io, xs2, XS_SIZE, &len, amx, 4);
	ckp_io_free(io);
	CHECK(ckp_doc_error(d) == 0);
	CHECK(len == 1952 && memcmp(xs, xs2, len) == 0);

	/* An older hyve's form of the same: component_17, component_18. */
	CHECK(ckp_sec_remove(x, "xtilecfg") == 0);
	CHECK(ckp_sec_remove(x, "xtiledata") == 0);
	c = ckp_sec_add(x, "component_17", 1);
	ckp_sec_add_uint32(c, "bit", 17);
	ckp_sec_add_bytes(c, "data", xs + 832, 64);
	c = ckp_sec_add(x, "component_18", 1);
	ckp_sec_add_uint32(c, "bit", 18);
	ckp_sec_add_bytes(c, "data", xs + 896, 1024);
	memset(xs2, 0xee, sizeof(xs2));
	len = 0;
	io = ckp_io_new(d, CKP_IO_RESTORE);
	regfile_xsave_io(io, xs2, XS_SIZE, &len, amx, 4);
	ckp_io_free(io);
	CHECK(ckp_doc_error(d) == 0);
	if (ckp_doc_error(d) != 0)
		fprintf(stderr, "component_N: %s\n", ckp_doc_errmsg(d));
	CHECK(len == 1952 && memcmp(xs, xs2, len) == 0);
out:
	ckp_doc_free(d);
}

int
main(void)
{
	other_components();
	roundtrip(CKP_ENC_JSON);
	roundtrip(CKP_ENC_BIN);
	roundtrip(CKP_ENC_CONF);
	refused("vcpu.xsave", "xstate_bv", "u64:20007",
	    "vcpu.xsave.xstate_bv: XSTATE_BV bit 17 (xtilecfg) lies outside "
	    "this VM's XSAVE area");
	refused("vcpu.xsave", "xstate_bv", "u64:8000000000000003",
	    "vcpu.xsave.xstate_bv: XSTATE_BV bit 63 (component 63) is in use "
	    "but the vCPU's CPUID leaf 0xD does not place it");
	refused("vcpu.xsave", "xmm7", "00", "vcpu.xsave.xmm7: not 32 "
	    "hexadecimal digits");
	refused("vcpu.xsave", "st2", "0000000000000000000g",
	    "vcpu.xsave.st2: '0000000000000000000g' is not hexadecimal");
	refused("vcpu.lapic", "tmr", "1", "vcpu.lapic.tmr: not 64 "
	    "hexadecimal digits");
	refused("vcpu.xsave.raw", "at_0x1000", "u64:1",
	    "vcpu.xsave.raw.at_0x1000: not a word of the block");
	refused("vcpu.lapic.raw", "at_0x002", "u64:1",
	    "vcpu.lapic.raw.at_0x002: not a word of the block");
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_regfile: ok\n");
	return 0;
}
