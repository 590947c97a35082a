/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Booting Linux the way users expect: a bzImage (Linux's 64-bit boot
 * protocol) and an initrd, on synthetic files built here.  A good bzImage
 * loads where the protocol says, with boot_params, GDT and identity map as
 * Linux expects them; the initrd lands page-aligned at the top of low RAM,
 * above the kernel; every broken file, and an initrd or kernel that does
 * not fit, is refused with a message naming it before guest RAM is
 * touched.  The PVH path gets the initrd as its one module.  Offsets are
 * Linux's (Documentation/arch/x86/boot.rst, zero-page.rst), written out
 * here rather than taken from hyve's code.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "vm_priv.h"

#include "test_check.h"

#define MiB		0x100000ULL
#define RAM		(64 * MiB)
#define FILL		0x5a
#define RSDP		0xe0040ULL	/* any address: hyve passes it on */

/* setup_header and boot_params offsets (Linux's boot protocol) */
#define H_SETUP_SECTS	0x1f1
#define H_ROOT_FLAGS	0x1f2
#define H_SYSSIZE	0x1f4
#define H_VID_MODE	0x1fa
#define H_ROOT_DEV	0x1fc
#define H_BOOT_FLAG	0x1fe
#define H_JUMP		0x200
#define H_MAGIC		0x202
#define H_VERSION	0x206
#define H_KERNEL_VER	0x20e
#define H_LOADER	0x210
#define H_LOADFLAGS	0x211
#define H_CODE32	0x214
#define H_RD_IMAGE	0x218
#define H_RD_SIZE	0x21c
#define H_HEAP_END	0x224
#define H_CMDLINE	0x228
#define H_INITRD_MAX	0x22c
#define H_ALIGN		0x230
#define H_RELOC		0x234
#define H_MIN_ALIGN	0x235
#define H_XLF		0x236
#define H_CMDLINE_SIZE	0x238
#define H_SUBARCH	0x23c
#define H_SUBARCH_DATA	0x240
#define H_PAYLOAD_OFF	0x248
#define H_SETUP_DATA	0x250
#define H_PREF		0x258
#define H_INIT_SIZE	0x260
#define H_HANDOVER	0x264
#define H_KINFO		0x268
#define H_END		0x26c	/* protocol 2.15 */
#define BP_RSDP		0x070
#define BP_EXT_RD_IMAGE	0x0c0
#define BP_EXT_RD_SIZE	0x0c4
#define BP_EXT_CMDLINE	0x0c8
#define BP_E820_N	0x1e8
#define BP_SENTINEL	0x1ef
#define BP_E820		0x2d0

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

struct img {
	uint8_t *b;
	size_t len;
	size_t setup;	/* (setup_sects + 1) * 512 */
};

/*
 * A bzImage as Linux's build makes one: relocatable 64-bit kernel,
 * protocol 2.15, pref_address 16 MiB, init_size 8 MiB, and the "64-bit
 * kernel" of @pm bytes (a pattern, with its entry 0x200 bytes in).
 */
static void
mk_bz(struct img *im, unsigned sects, size_t pm)
{
	size_t i;

	im->setup = (sects + 1) * 512;
	im->len = im->setup + pm;
	im->b = calloc(1, im->len);
	im->b[H_SETUP_SECTS] = (uint8_t)sects;
	wr16(im->b + H_ROOT_FLAGS, 1);
	wr32(im->b + H_SYSSIZE, (uint32_t)(pm / 16));
	wr16(im->b + H_VID_MODE, 0xffff);
	wr16(im->b + H_ROOT_DEV, 0x0801);
	wr16(im->b + H_BOOT_FLAG, 0xaa55);
	im->b[H_JUMP] = 0xeb;
	im->b[H_JUMP + 1] = H_END - 0x202;
	memcpy(im->b + H_MAGIC, "HdrS", 4);
	wr16(im->b + H_VERSION, 0x20f);
	wr16(im->b + H_KERNEL_VER, 0x3e0);
	im->b[H_LOADFLAGS] = 0x01;		/* LOADED_HIGH */
	wr32(im->b + H_CODE32, 0x100000);
	wr32(im->b + H_RD_IMAGE, 0xdead0000);	/* a loader's to fill */
	wr32(im->b + H_RD_SIZE, 0xdead);
	wr16(im->b + H_HEAP_END, 0x1234);
	wr32(im->b + H_CMDLINE, 0xdeadbeef);
	wr32(im->b + H_INITRD_MAX, 0x7fffffff);
	wr32(im->b + H_ALIGN, 0x200000);
	im->b[H_RELOC] = 1;
	im->b[H_MIN_ALIGN] = 21;
	wr16(im->b + H_XLF, 0x7f);
	wr32(im->b + H_CMDLINE_SIZE, 2047);
	wr32(im->b + H_SUBARCH, 2);		/* a loader's to set: PC */
	wr64(im->b + H_SUBARCH_DATA, 77);
	wr32(im->b + H_PAYLOAD_OFF, 0x2cc);
	wr64(im->b + H_SETUP_DATA, 0x12345678);	/* never followed */
	wr64(im->b + H_PREF, 16 * MiB);
	wr32(im->b + H_INIT_SIZE, 8 * MiB);
	wr32(im->b + H_HANDOVER, 0x190);
	wr32(im->b + H_KINFO, 0x7d56fc);
	for (i = 0; i < pm; i++)
		im->b[im->setup + i] = (uint8_t)(i * 7 + 3);
}

static void
good_bz(struct img *im)
{
	mk_bz(im, 27, 0x4000);
}

static void
free_img(struct img *im)
{
	free(im->b);
	im->b = NULL;
}

static struct vm *vm;

static void
fill_ram(struct vm *v)
{
	unsigned i;

	for (i = 0; i < v->nmem; i++)
		memset(v->mem[i].host, FILL, v->mem[i].size < 256 * MiB ?
		    v->mem[i].size : 256 * MiB);
}

static bool
ram_untouched(struct vm *v)
{
	const uint8_t *p = v->mem[0].host;
	uint64_t i, n = v->mem[0].size < 256 * MiB ? v->mem[0].size :
	    256 * MiB;

	for (i = 0; i < n; i++)
		if (p[i] != FILL)
			return false;
	return true;
}

/* boot_plan then boot_write, as hyve does with files. */
static int
load(struct vm *v, const struct img *k, const uint8_t *initrd, size_t ilen,
    const char *cmdline, struct boot_plan *p, char *err, size_t errlen)
{
	int rc;

	rc = boot_plan(v, k->b, k->len, "k.bz", ilen, "i.img", cmdline, p,
	    err, errlen);
	if (rc != 0)
		return rc;
	return boot_write(v, p, k->b, k->len, initrd, cmdline, RSDP, err,
	    errlen);
}

static void
expect_bad_v(struct vm *v, const struct img *k, size_t ilen,
    const char *cmdline, const char *prefix, const char *want)
{
	struct boot_plan p;
	char err[512] = "";
	int rc;

	fill_ram(v);
	rc = boot_plan(v, k->b, k->len, "k.bz", ilen, "i.img", cmdline, &p,
	    err, sizeof(err));
	if (rc != -EINVAL || strstr(err, want) == NULL ||
	    strncmp(err, prefix, strlen(prefix)) != 0 ||
	    strchr(err, '\n') != NULL) {
		fprintf(stderr, "expected failure '%s...%s', got rc %d '%s'\n",
		    prefix, want, rc, err);
		failures++;
	}
	CHECK(ram_untouched(v));
}

static void
expect_bad(const struct img *k, const char *want)
{
	expect_bad_v(vm, k, 0, "", "kernel k.bz: ", want);
}

/* Guest-physical -> guest-physical through hyve's page tables (CR3). */
static bool
walk(struct vm *v, uint64_t va, uint64_t *pa)
{
	const uint8_t *t = vm_gpa_ptr(v, BOOT_PML4, 4096);
	uint64_t e;

	e = rd64(t + 8 * ((va >> 39) & 511));
	if ((e & 3) != 3 || (t = vm_gpa_ptr(v, e & ~0xfffULL, 4096)) == NULL)
		return false;
	e = rd64(t + 8 * ((va >> 30) & 511));
	if ((e & 3) != 3 || (e & 0x80) != 0 ||
	    (t = vm_gpa_ptr(v, e & ~0xfffULL, 4096)) == NULL)
		return false;
	e = rd64(t + 8 * ((va >> 21) & 511));
	if ((e & 3) != 3 || (e & 0x80) == 0)	/* present, writable, 2 MiB */
		return false;
	*pa = (e & ~0x1fffffULL & 0xffffffffff000ULL) + (va & 0x1fffff);
	return true;
}

/* What both protocols must say: RAM, reserved boot area, RAM. */
static void
check_e820(struct vm *v, const uint8_t *bp)
{
	unsigned n = bp[BP_E820_N], i;
	const uint8_t *e = bp + BP_E820;
	uint64_t ram = 0;

	CHECK(n == (v->nmem > 1 ? 4U : 3U));
	CHECK(rd64(e) == 0 && rd64(e + 8) == 0xa0000 && rd32(e + 16) == 1);
	CHECK(rd64(e + 20) == 0xe0000 && rd64(e + 28) == 0x20000 &&
	    rd32(e + 36) == 2);
	CHECK(rd64(e + 40) == MiB && rd64(e + 48) == v->mem[0].size - MiB &&
	    rd32(e + 56) == 1);
	if (v->nmem > 1)
		CHECK(rd64(e + 60) == 0x100000000ULL &&
		    rd64(e + 68) == v->mem[1].size && rd32(e + 76) == 1);
	for (i = 0; i < n; i++)
		if (rd32(e + 20 * i + 16) == 1)
			ram += rd64(e + 20 * i + 8);
	CHECK(ram == v->mem_size - (MiB - 0xa0000));
	/* Exactly what PVH gives (hvm_memmap_table_entry: 24 bytes). */
	CHECK(pvh_write_start_info(v, "", 0, NULL, 0) == 0);
	{
		const uint8_t *si = vm_gpa_ptr(v, BOOT_START_INFO, 56);
		const uint8_t *m = vm_gpa_ptr(v, rd64(si + 40), 24 * n);

		CHECK(rd32(si + 48) == n);
		for (i = 0; m != NULL && i < n; i++)
			CHECK(rd64(m + 24 * i) == rd64(e + 20 * i) &&
			    rd64(m + 24 * i + 8) == rd64(e + 20 * i + 8) &&
			    rd32(m + 24 * i + 16) == rd32(e + 20 * i + 16));
	}
}

static void
check_gdt(struct vm *v)
{
	const uint8_t *g = vm_gpa_ptr(v, BOOT_GDT, 0x30);
	uint64_t cs = rd64(g + 0x10), ds = rd64(g + 0x18);

	CHECK(rd64(g) == 0);
	/* 64-bit code: present, DPL 0, execute/read, L=1, D=0, G=1, flat */
	CHECK(((cs >> 40) & 0xff) == 0x9b);
	CHECK(((cs >> 52) & 0xf) == 0xa);
	CHECK((cs & 0xffff) == 0xffff && ((cs >> 48) & 0xf) == 0xf);
	CHECK(((cs >> 16) & 0xffffff) == 0 && (cs >> 56) == 0);
	/* data: present, read/write, D/B=1, G=1, flat 4 GiB */
	CHECK(((ds >> 40) & 0xff) == 0x93);
	CHECK(((ds >> 52) & 0xf) == 0xc);
	CHECK((ds & 0xffff) == 0xffff && ((ds >> 48) & 0xf) == 0xf);
	CHECK(((ds >> 16) & 0xffffff) == 0 && (ds >> 56) == 0);
}

static void
test_good(void)
{
	struct img k;
	struct boot_plan p;
	uint8_t initrd[100000], hdr[H_END];
	const uint8_t *bp, *pm;
	const char *cmd = "console=ttyS0 earlyprintk=serial,ttyS0 root=/dev/vda";
	char err[512] = "";
	uint64_t pa, va[] = { 0, 0xf2000, 16 * MiB + 0x200, 40 * MiB + 123,
	    RAM - 1, 0xbfffffffULL, 0xfee00000ULL, 0xffffffffULL };
	size_t i;

	for (i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 13 + 1);
	good_bz(&k);
	fill_ram(vm);
	CHECK(load(vm, &k, initrd, sizeof(initrd), cmd, &p, err,
	    sizeof(err)) == 0);
	if (err[0])
		fprintf(stderr, "%s\n", err);
	CHECK(p.kind == BOOT_BZIMAGE);
	CHECK(p.entry == 16 * MiB + 0x200);
	CHECK(p.params == BOOT_PARAMS);

	/* the 64-bit kernel at pref_address, nothing around it */
	pm = vm_gpa_ptr(vm, 16 * MiB, k.len - k.setup);
	CHECK(memcmp(pm, k.b + k.setup, k.len - k.setup) == 0);
	CHECK(pm[-1] == FILL && pm[k.len - k.setup] == FILL);

	/* the initrd: page-aligned, as high as low RAM allows, intact */
	CHECK(p.initrd_size == sizeof(initrd));
	CHECK(p.initrd_addr == ((RAM - sizeof(initrd)) & ~0xfffULL));
	CHECK(p.initrd_addr >= 24 * MiB);	/* above [16M, 16M + init_size) */
	CHECK(memcmp(vm_gpa_ptr(vm, p.initrd_addr, sizeof(initrd)), initrd,
	    sizeof(initrd)) == 0);

	/* boot_params: the file's header with a loader's fields filled */
	bp = vm_gpa_ptr(vm, BOOT_PARAMS, 4096);
	memcpy(hdr, k.b, sizeof(hdr));
	hdr[H_LOADER] = 0xff;
	wr32(hdr + H_CODE32, 16 * MiB);
	wr32(hdr + H_RD_IMAGE, (uint32_t)p.initrd_addr);
	wr32(hdr + H_RD_SIZE, sizeof(initrd));
	wr32(hdr + H_CMDLINE, 0xf1000);
	wr32(hdr + H_SUBARCH, 0);
	wr64(hdr + H_SUBARCH_DATA, 0);
	wr64(hdr + H_SETUP_DATA, 0);
	CHECK(memcmp(bp + 0x1f1, hdr + 0x1f1, H_END - 0x1f1) == 0);
	for (i = 0x1f1; i < H_END; i++)
		if (bp[i] != hdr[i])
			fprintf(stderr, "boot_params byte %#zx: %#x, expected "
			    "%#x\n", i, bp[i], hdr[i]);
	CHECK(rd32(bp + BP_EXT_RD_IMAGE) == 0 && rd32(bp + BP_EXT_RD_SIZE) == 0);
	CHECK(rd32(bp + BP_EXT_CMDLINE) == 0);
	CHECK(rd64(bp + BP_RSDP) == RSDP);
	CHECK(bp[BP_SENTINEL] == 0);
	CHECK(bp[0] == 0 && bp[0x1f0] == 0 && bp[H_END] == 0 && bp[0x28f] == 0);
	CHECK(strcmp(vm_gpa_ptr(vm, rd32(bp + H_CMDLINE), 1), cmd) == 0);
	check_e820(vm, bp);
	check_gdt(vm);

	/* identity map of [0, 4 GiB), 2 MiB pages, nothing above */
	for (i = 0; i < sizeof(va) / sizeof(va[0]); i++)
		CHECK(walk(vm, va[i], &pa) && pa == va[i]);
	CHECK(!walk(vm, 0x100000000ULL, &pa));
	/* the boot data stays inside the reserved area */
	CHECK(BOOT_PARAMS >= BOOT_AREA_BASE && BOOT_STACK_TOP <= BOOT_AREA_END);
	free_img(&k);

	/* no initrd: zeros, not the file's */
	good_bz(&k);
	CHECK(load(vm, &k, NULL, 0, "", &p, err, sizeof(err)) == 0);
	bp = vm_gpa_ptr(vm, BOOT_PARAMS, 4096);
	CHECK(rd32(bp + H_RD_IMAGE) == 0 && rd32(bp + H_RD_SIZE) == 0);
	CHECK(p.initrd_size == 0);
	free_img(&k);
}

static void
test_layouts(void)
{
	struct img k;
	struct boot_plan p;
	char err[512] = "";
	const uint8_t *bp;

	/* not relocatable: at 1 MiB, moving itself to pref_address */
	good_bz(&k);
	k.b[H_RELOC] = 0;
	fill_ram(vm);
	CHECK(load(vm, &k, (const uint8_t *)"x", 1, "", &p, err,
	    sizeof(err)) == 0);
	CHECK(p.entry == MiB + 0x200 && p.bz.load == MiB);
	CHECK(p.bz.run_start == 16 * MiB && p.bz.run_end == 24 * MiB);
	CHECK(memcmp(vm_gpa_ptr(vm, MiB, k.len - k.setup), k.b + k.setup,
	    k.len - k.setup) == 0);
	CHECK(*(uint8_t *)vm_gpa_ptr(vm, 16 * MiB, 1) == FILL);
	CHECK(p.initrd_addr == RAM - 4096);
	bp = vm_gpa_ptr(vm, BOOT_PARAMS, 4096);
	CHECK(rd32(bp + H_CODE32) == MiB);
	free_img(&k);

	/* relocatable, pref_address not aligned: aligned up */
	good_bz(&k);
	wr64(k.b + H_PREF, 17 * MiB);
	CHECK(load(vm, &k, NULL, 0, "", &p, err, sizeof(err)) == 0);
	CHECK(p.bz.load == 18 * MiB && p.entry == 18 * MiB + 0x200);
	free_img(&k);

	/* relocatable with pref_address below 1 MiB: at 1 MiB, aligned */
	good_bz(&k);
	wr64(k.b + H_PREF, 0x1000);
	wr32(k.b + H_ALIGN, 0x1000);
	CHECK(load(vm, &k, NULL, 0, "", &p, err, sizeof(err)) == 0);
	CHECK(p.bz.load == MiB);
	free_img(&k);

	/* setup_sects 0 means 4 */
	mk_bz(&k, 4, 0x1000);
	k.b[H_SETUP_SECTS] = 0;
	CHECK(load(vm, &k, NULL, 0, "", &p, err, sizeof(err)) == 0);
	CHECK(p.bz.setup_size == 5 * 512 && p.bz.pm_size == 0x1000);
	CHECK(memcmp(vm_gpa_ptr(vm, 16 * MiB, 0x1000), k.b + 5 * 512,
	    0x1000) == 0);
	free_img(&k);

	/* protocol 2.12: no acpi_rsdp_addr (it scans for the RSDP) */
	good_bz(&k);
	wr16(k.b + H_VERSION, 0x20c);
	fill_ram(vm);
	CHECK(load(vm, &k, NULL, 0, "", &p, err, sizeof(err)) == 0);
	bp = vm_gpa_ptr(vm, BOOT_PARAMS, 4096);
	CHECK(rd64(bp + BP_RSDP) == 0);
	CHECK(rd16(bp + H_VERSION) == 0x20c);
	free_img(&k);

	/* a shorter header: only its bytes are copied */
	good_bz(&k);
	k.b[H_JUMP + 1] = 0x62;		/* ends at 0x264 */
	CHECK(load(vm, &k, NULL, 0, "", &p, err, sizeof(err)) == 0);
	bp = vm_gpa_ptr(vm, BOOT_PARAMS, 4096);
	CHECK(rd32(bp + H_INIT_SIZE) == 8 * MiB);
	CHECK(rd32(bp + H_HANDOVER) == 0 && rd32(bp + H_KINFO) == 0);
	free_img(&k);

	/* initrd_addr_max bounds the initrd */
	good_bz(&k);
	wr32(k.b + H_INITRD_MAX, 48 * MiB - 1);
	CHECK(load(vm, &k, (const uint8_t *)"abc", 3, "", &p, err,
	    sizeof(err)) == 0);
	CHECK(p.initrd_addr == 48 * MiB - 4096);
	free_img(&k);

	/* the command line may be as long as cmdline_size says */
	good_bz(&k);
	wr32(k.b + H_CMDLINE_SIZE, 5);
	CHECK(load(vm, &k, NULL, 0, "12345", &p, err, sizeof(err)) == 0);
	free_img(&k);
}

/* With high memory: a fourth E820 entry, the initrd below 2 GiB. */
static void
test_highmem(void)
{
	struct vm *big = vm_new_for_test(3 * 1024 * MiB + 64 * MiB);
	struct img k;
	struct boot_plan p;
	char err[512] = "";
	uint8_t initrd[5000];

	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(initrd, 0xab, sizeof(initrd));
	good_bz(&k);
	CHECK(load(big, &k, initrd, sizeof(initrd), "", &p, err,
	    sizeof(err)) == 0);
	CHECK(p.initrd_addr == 0x80000000ULL - 8192);
	check_e820(big, vm_gpa_ptr(big, BOOT_PARAMS, 4096));
	/* a kernel that takes initrds anywhere: at the top of low RAM */
	wr32(k.b + H_INITRD_MAX, 0xffffffff);
	CHECK(load(big, &k, initrd, sizeof(initrd), "", &p, err,
	    sizeof(err)) == 0);
	CHECK(p.initrd_addr == 0xc0000000ULL - 8192);
	free_img(&k);
	vm_free(big);
}

static void
test_bad(void)
{
	struct img k;
	char big[BOOT_CMDLINE_MAX + 1];

	/* not a kernel at all */
	good_bz(&k);
	memcpy(k.b + H_MAGIC, "HdrX", 4);
	expect_bad(&k, "neither a PVH ELF nor a Linux bzImage");
	{
		struct bzimage bz;
		char err[256] = "";

		CHECK(bzimage_parse(vm, k.b, k.len, "k.bz", &bz, err,
		    sizeof(err)) == -EINVAL);
		CHECK(strstr(err, "kernel k.bz: no \"HdrS\"") != NULL);
	}
	free_img(&k);
	good_bz(&k);
	k.len = 0;
	expect_bad(&k, "empty file");
	k.len = 0x210;
	expect_bad(&k, "truncated bzImage setup header (528 bytes)");
	free_img(&k);

	/* protocol and capabilities */
	good_bz(&k);
	wr16(k.b + H_VERSION, 0x20b);
	expect_bad(&k, "Linux boot protocol 2.11 is too old");
	wr16(k.b + H_VERSION, 0x203);
	expect_bad(&k, "Linux boot protocol 2.03 is too old");
	free_img(&k);
	good_bz(&k);
	wr16(k.b + H_XLF, 0x7e);
	expect_bad(&k, "not a 64-bit kernel (xloadflags 0x7e lacks "
	    "XLF_KERNEL_64)");
	free_img(&k);

	/* header size */
	good_bz(&k);
	k.b[H_JUMP + 1] = 0x20;
	expect_bad(&k, "setup header ends at 0x222");
	k.b[H_JUMP + 1] = 0xff;
	expect_bad(&k, "setup header ends at 0x301");
	free_img(&k);

	/* setup_sects */
	good_bz(&k);
	k.b[H_SETUP_SECTS] = 64;
	expect_bad(&k, "setup_sects 64 is out of range");
	k.b[H_SETUP_SECTS] = 255;
	expect_bad(&k, "setup_sects 255 is out of range");
	free_img(&k);
	mk_bz(&k, 4, 0x100);
	k.b[H_SETUP_SECTS] = 60;		/* setup past the file's end */
	expect_bad(&k, "setup_sects 60 puts the 64-bit kernel at offset "
	    "0x7a00, at or past the end of the file");
	free_img(&k);

	/* truncated 64-bit kernel */
	good_bz(&k);
	k.len -= 16;
	expect_bad(&k, "truncated: the setup header says 0x4000 bytes of "
	    "kernel (syssize)");
	free_img(&k);

	/* layout fields */
	good_bz(&k);
	wr32(k.b + H_INIT_SIZE, 0);
	expect_bad(&k, "init_size is 0");
	free_img(&k);
	good_bz(&k);
	wr32(k.b + H_ALIGN, 0x300000);
	expect_bad(&k, "kernel_alignment 0x300000 is not a power of two");
	wr32(k.b + H_ALIGN, 0);
	expect_bad(&k, "kernel_alignment 0 is not a power of two");
	free_img(&k);
	good_bz(&k);
	k.b[H_RELOC] = 0;
	wr64(k.b + H_PREF, 0x10000);
	expect_bad(&k, "not relocatable, and its pref_address 0x10000 is "
	    "below 1 MiB");
	free_img(&k);

	/* the kernel does not fit in RAM */
	good_bz(&k);
	wr32(k.b + H_INIT_SIZE, 60 * MiB);
	expect_bad(&k, "needs RAM at [0x1000000, 0x4c00000) to start");
	wr32(k.b + H_INIT_SIZE, 8 * MiB);
	wr64(k.b + H_PREF, 0xfffffffffff00000ULL);
	expect_bad(&k, "needs RAM at [0xfffffffffff00000");
	wr64(k.b + H_PREF, RAM);
	expect_bad(&k, "needs RAM at [0x4000000, 0x4800000)");
	k.b[H_RELOC] = 0;
	expect_bad(&k, "needs RAM at [0x4000000, 0x4800000)");
	free_img(&k);
	{
		struct vm *small = vm_new_for_test(20 * MiB);

		good_bz(&k);
		expect_bad_v(small, &k, 0, "", "kernel k.bz: ",
		    "needs RAM at [0x1000000, 0x1800000) to start (pref_address "
		    "and init_size), but low RAM ends at 0x1400000 (20 MiB of "
		    "guest RAM)");
		free_img(&k);
		vm_free(small);
	}

	/* the initrd does not fit */
	good_bz(&k);
	expect_bad_v(vm, &k, 41 * MiB, "", "initrd i.img: ",
	    "41 MiB) do not fit in guest RAM between");
	expect_bad_v(vm, &k, 200 * MiB, "", "initrd i.img: ", "do not fit");
	expect_bad_v(vm, &k, ~0ULL, "", "initrd i.img: ", "do not fit");
	/* overlap: the kernel's init_size reaches into where it would go */
	wr32(k.b + H_INIT_SIZE, 47 * MiB);
	expect_bad_v(vm, &k, MiB + 1, "", "initrd i.img: ",
	    "(0x3f00000) and the end of low RAM (0x4000000)");
	free_img(&k);
	good_bz(&k);
	wr32(k.b + H_INITRD_MAX, 24 * MiB - 1);
	expect_bad_v(vm, &k, 4096, "", "initrd i.img: ",
	    "and the kernel's initrd_addr_max (0x1800000)");
	free_img(&k);

	/* the command line */
	good_bz(&k);
	wr32(k.b + H_CMDLINE_SIZE, 5);
	expect_bad_v(vm, &k, 0, "123456", "boot.append: ", "command line of "
	    "6 bytes is too long for kernel k.bz (its cmdline_size is 5)");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_bad_v(vm, &k, 0, big, "boot.append: ", "at most 4095");
	free_img(&k);
}

/* Every truncation of a good bzImage is refused, none read past it. */
static void
test_truncations(void)
{
	struct img k;
	struct boot_plan p;
	char err[512];
	size_t len;
	uint8_t *copy;

	good_bz(&k);
	for (len = 0; len < k.len; len++) {
		/* an exact-size copy: ASan sees a read past the end */
		copy = malloc(len ? len : 1);
		memcpy(copy, k.b, len);
		CHECK(boot_plan(vm, copy, len, "t", 0, "", "", &p, err,
		    sizeof(err)) == -EINVAL);
		free(copy);
	}
	free_img(&k);
}

/* A minimal PVH ELF64: one PT_LOAD at @paddr of @memsz, a PVH note. */
static size_t
mk_elf(uint8_t *b, uint64_t paddr, uint64_t memsz)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
	uint32_t note[4] = { 4, 8, 18, 0 };
	uint64_t entry = paddr;

	memset(b, 0, 0x300);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x200,
	    .p_paddr = paddr, .p_filesz = 0x100, .p_memsz = memsz };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x100,
	    .p_filesz = 24 };
	memcpy(note + 3, "Xen", 4);
	memcpy(b + 0x100, note, 16);
	memcpy(b + 0x110, &entry, 8);
	memset(b + 0x200, 0x90, 0x100);
	return 0x300;
}

static void
test_pvh_initrd(void)
{
	uint8_t elf[0x300], initrd[12345];
	struct img k = { .b = elf };
	struct boot_plan p;
	const uint8_t *si, *mod;
	char err[512] = "";

	memset(initrd, 0xc3, sizeof(initrd));
	k.len = mk_elf(elf, MiB, 8 * MiB);
	fill_ram(vm);
	CHECK(load(vm, &k, initrd, sizeof(initrd), "ro quiet", &p, err,
	    sizeof(err)) == 0);
	CHECK(p.kind == BOOT_PVH && p.entry == MiB);
	CHECK(p.params == BOOT_START_INFO && p.kernel_end == 9 * MiB);
	CHECK(p.initrd_addr == ((RAM - sizeof(initrd)) & ~0xfffULL));
	si = vm_gpa_ptr(vm, BOOT_START_INFO, 56);
	CHECK(rd32(si) == 0x336ec578 && rd32(si + 4) == 1);
	CHECK(rd32(si + 12) == 1);			/* nr_modules */
	CHECK(rd64(si + 16) == BOOT_MODLIST);		/* modlist_paddr */
	CHECK(rd64(si + 16) >= BOOT_AREA_BASE && rd64(si + 16) + 32 <=
	    BOOT_AREA_END);
	CHECK(rd64(si + 32) == RSDP);
	CHECK(strcmp(vm_gpa_ptr(vm, rd64(si + 24), 1), "ro quiet") == 0);
	mod = vm_gpa_ptr(vm, rd64(si + 16), 32);
	CHECK(rd64(mod) == p.initrd_addr);		/* paddr */
	CHECK(rd64(mod + 8) == sizeof(initrd));		/* size */
	CHECK(rd64(mod + 16) == 0 && rd64(mod + 24) == 0);
	CHECK(memcmp(vm_gpa_ptr(vm, p.initrd_addr, sizeof(initrd)), initrd,
	    sizeof(initrd)) == 0);
	/* the memory map past its entries leaves the module alone */
	CHECK(BOOT_MEMMAP + 24 * rd32(si + 48) <= BOOT_MODLIST);
	CHECK(*(uint8_t *)vm_gpa_ptr(vm, MiB, 1) == 0x90);

	/* without an initrd: no module */
	fill_ram(vm);
	CHECK(load(vm, &k, NULL, 0, "", &p, err, sizeof(err)) == 0);
	CHECK(rd32(si + 12) == 0 && rd64(si + 16) == 0);
	CHECK(*(uint8_t *)vm_gpa_ptr(vm, BOOT_MODLIST, 1) == FILL);

	/* a segment high in low RAM leaves no room above it */
	k.len = mk_elf(elf, 60 * MiB, 3 * MiB);
	expect_bad_v(vm, &k, 2 * MiB, "", "initrd i.img: ", "do not fit in "
	    "guest RAM between the end of the kernel and hyve's boot data "
	    "(0x3f00000)");
	k.len = mk_elf(elf, 60 * MiB, 3 * MiB);
	fill_ram(vm);
	CHECK(load(vm, &k, initrd, 4096, "", &p, err, sizeof(err)) == 0);
	CHECK(p.initrd_addr == RAM - 4096);
	/* a kernel below the boot area: the initrd still above 1 MiB */
	k.len = mk_elf(elf, 0x10000, 0x1000);
	expect_bad_v(vm, &k, RAM - MiB + 1, "", "initrd i.img: ",
	    "boot data (0x100000)");
	/* the ELF loader's own checks come first */
	elf[EI_CLASS] = 9;
	expect_bad_v(vm, &k, 0, "", "kernel k.bz: ", "unknown ELF class 9");
}

static void
write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fwrite(buf, 1, len, f) == len);
	fclose(f);
}

/* From files, as hyve does, and through the configuration. */
static void
test_files(void)
{
	char dir[] = "/tmp/hyve-test-bz-XXXXXX", kp[64], ip[64], ep[64];
	char err[512] = "";
	struct boot_plan p;
	struct img k;
	uint8_t initrd[3000];
	struct vm *v;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(kp, sizeof(kp), "%s/vmlinuz", dir);
	snprintf(ip, sizeof(ip), "%s/initrd.img", dir);
	snprintf(ep, sizeof(ep), "%s/empty", dir);
	memset(initrd, 0x77, sizeof(initrd));
	good_bz(&k);
	write_file(kp, k.b, k.len);
	write_file(ip, initrd, sizeof(initrd));
	write_file(ep, "", 0);

	fill_ram(vm);
	CHECK(boot_load_files(vm, kp, ip, "quiet", &p, err, sizeof(err)) == 0);
	CHECK(p.kind == BOOT_BZIMAGE && p.initrd_size == sizeof(initrd));
	CHECK(memcmp(vm_gpa_ptr(vm, p.initrd_addr, sizeof(initrd)), initrd,
	    sizeof(initrd)) == 0);
	CHECK(memcmp(vm_gpa_ptr(vm, 16 * MiB, k.len - k.setup), k.b + k.setup,
	    k.len - k.setup) == 0);
	/* acpi_build ran: the RSDP hyve passes is where its signature is */
	CHECK(memcmp(vm_gpa_ptr(vm, rd64((uint8_t *)vm_gpa_ptr(vm,
	    BOOT_PARAMS, 4096) + BP_RSDP), 8), "RSD PTR ", 8) == 0);

#define BAD_FILES(kpath, ipath, want) do {				\
	fill_ram(vm);							\
	err[0] = '\0';							\
	CHECK(boot_load_files(vm, kpath, ipath, "", &p, err,		\
	    sizeof(err)) == -EINVAL);					\
	if (strstr(err, want) == NULL)					\
		fprintf(stderr, "expected '%s', got '%s'\n", want, err);	\
	CHECK(strstr(err, want) != NULL && strchr(err, '\n') == NULL);	\
	CHECK(ram_untouched(vm));					\
} while (0)
	{
		char want[128];

		snprintf(want, sizeof(want), "initrd %s: empty file", ep);
		BAD_FILES(kp, ep, want);
		snprintf(want, sizeof(want), "initrd %s/nothing: No such file",
		    dir);
		snprintf(ep, sizeof(ep), "%s/nothing", dir);
		BAD_FILES(kp, ep, want);
		snprintf(want, sizeof(want), "initrd %s: not a regular file",
		    dir);
		BAD_FILES(kp, dir, want);
		snprintf(want, sizeof(want), "kernel %s: No such file", ep);
		BAD_FILES(ep, ip, want);
		snprintf(want, sizeof(want), "kernel %s: neither a PVH ELF",
		    ip);
		BAD_FILES(ip, ip, want);
		snprintf(ep, sizeof(ep), "%s/empty", dir);
		snprintf(want, sizeof(want), "kernel %s: empty file", ep);
		BAD_FILES(ep, NULL, want);
	}
	{
		/* an unreadable initrd (root reads everything: skip then) */
		chmod(ip, 0);
		if (access(ip, R_OK) != 0) {
			char want[128];

			snprintf(want, sizeof(want), "initrd %s: Permission "
			    "denied", ip);
			BAD_FILES(kp, ip, want);
		}
		chmod(ip, 0644);
	}

	/* boot.kernel and boot.initrd through vm_boot_setup() */
	v = vm_new_for_test(RAM);
	CHECK(v != NULL && vm_test_cfg_set(v, "boot.kernel", kp) == 0);
	CHECK(vm_test_cfg_set(v, "boot.initrd", ip) == 0);
	CHECK(vm_boot_setup(v) == 0);
	CHECK(v->entry == 16 * MiB + 0x200 && v->start_info == BOOT_PARAMS);
	CHECK(memcmp(vm_gpa_ptr(v, RAM - 4096, sizeof(initrd)), initrd,
	    sizeof(initrd)) == 0);
	CHECK(cfg_lookup(v->cfg, "boot.initrd")->used);
	vm_free(v);

	unlink(kp);
	unlink(ip);
	unlink(ep);
	rmdir(dir);
	free_img(&k);
}

/* --initrd sets boot.initrd; like --kernel, -r refuses it. */
static void
test_cli(void)
{
	char *ok[] = { "hyve", "--kernel", "k", "--initrd", "i.img", "vm",
	    NULL };
	char *bad[] = { "hyve", "-r", "x.ckp", "--initrd", "i.img", NULL };
	struct cfg *cfg = cfg_new();
	struct cli_opts o;
	enum cli_action a;
	char err[256] = "";

	CHECK(cli_parse(6, ok, cfg, &a, &o, err, sizeof(err)) == 0);
	CHECK(cfg_lookup(cfg, "boot.initrd") != NULL &&
	    strcmp(cfg_lookup(cfg, "boot.initrd")->val, "i.img") == 0);
	cfg_free(cfg);
	cfg = cfg_new();
	CHECK(cli_parse(5, bad, cfg, &a, &o, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "--initrd cannot be combined with -r") != NULL);
	cfg_free(cfg);
}

int
main(void)
{
	vm = vm_new_for_test(RAM);
	if (vm == NULL) {
		fprintf(stderr, "vm_new_for_test failed\n");
		return 1;
	}
	test_good();
	test_layouts();
	test_highmem();
	test_bad();
	test_truncations();
	test_pvh_initrd();
	test_files();
	test_cli();
	vm_free(vm);
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_bzimage: ok\n");
	return 0;
}
