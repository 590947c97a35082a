/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Linux's x86 boot protocol with its 64-bit entry (Linux's
 * Documentation/arch/x86/boot.rst).  A bzImage is a real-mode setup (a
 * boot sector and setup_sects sectors, which hyve never runs) followed by
 * the compressed 64-bit kernel, whose 64-bit entry is 0x200 bytes in.
 * hyve copies that kernel to its load address, fills struct boot_params
 * (the "zero page") with the file's setup header and what a boot loader
 * adds (command line, initrd, E820 map, RSDP), writes a GDT and an
 * identity map of the first 4 GiB, and vmm/vcpu.c starts the BSP in long
 * mode with RSI pointing at boot_params.  docs/BOOT.md has the map.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vm_priv.h"

/* The setup header: the same offsets in the file and in boot_params. */
#define HDR_START		0x1f1
#define HDR_MIN_END		0x264	/* through init_size (protocol 2.10) */
#define HDR_MAX_END		0x290	/* boot_params' next field */
#define OFF_SETUP_SECTS		0x1f1
#define OFF_SYSSIZE		0x1f4
#define OFF_HDR_LEN		0x201	/* the jump's offset: header end - 0x202 */
#define OFF_MAGIC		0x202
#define OFF_VERSION		0x206
#define OFF_TYPE_OF_LOADER	0x210
#define OFF_CODE32_START	0x214
#define OFF_RAMDISK_IMAGE	0x218
#define OFF_RAMDISK_SIZE	0x21c
#define OFF_CMD_LINE_PTR	0x228
#define OFF_INITRD_ADDR_MAX	0x22c
#define OFF_KERNEL_ALIGNMENT	0x230
#define OFF_RELOCATABLE		0x234
#define OFF_XLOADFLAGS		0x236
#define OFF_CMDLINE_SIZE	0x238
#define OFF_HW_SUBARCH		0x23c
#define OFF_HW_SUBARCH_DATA	0x240
#define OFF_SETUP_DATA		0x250
#define OFF_PREF_ADDRESS	0x258
#define OFF_INIT_SIZE		0x260

/* The rest of boot_params (Linux's zero-page.rst). */
#define BP_SIZE			4096
#define BP_ACPI_RSDP_ADDR	0x070
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0	/* 20-byte entries */

#define PROTO_MIN		0x20c	/* 2.12: xloadflags says "64-bit entry" */
#define PROTO_RSDP		0x20e	/* 2.14: boot_params.acpi_rsdp_addr */
#define XLF_KERNEL_64		0x1
#define LOADER_UNDEFINED	0xff	/* type_of_loader for a loader with no ID */
/* Linux's build tool never makes more: 32 KiB of real-mode code. */
#define SETUP_SECTS_MAX		63
#define MiB			0x100000ULL

/* GDT descriptors: flat 4 GiB, present, DPL 0. */
#define GDT_CODE64		0x00af9b000000ffffULL	/* L=1, execute/read */
#define GDT_DATA		0x00cf93000000ffffULL	/* D/B=1, read/write */
#define GDT_TSS64_LO		0x00008b0000000067ULL	/* busy, base 0 */
#define PTE_P_RW		0x3ULL
#define PTE_PS			0x80ULL

static uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void
wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}


int
bzimage_parse(struct vm *vm, const void *file, size_t size, const char *name,
    struct bzimage *bz, char *err, size_t errlen)
{
	const uint8_t *b = file;
	uint64_t low = vm->mem[0].size, pref, align, init_size, syssize;
	unsigned sects;
	uint16_t xlf;

	memset(bz, 0, sizeof(*bz));
	if (size < OFF_MAGIC + 4 || memcmp(b + OFF_MAGIC, "HdrS", 4) != 0)
		return kernel_fail(err, errlen, name, "no \"HdrS\" signature at offset "
		    "0x202: not a Linux bzImage");
	if (size < HDR_MIN_END)
		return kernel_fail(err, errlen, name, "truncated bzImage setup header "
		    "(%zu bytes)", size);
	bz->version = rd16(b + OFF_VERSION);
	if (bz->version < PROTO_MIN)
		return kernel_fail(err, errlen, name, "Linux boot protocol %u.%02u is "
		    "too old: hyve needs 2.12 or later (xloadflags, for the "
		    "64-bit entry)", bz->version >> 8, bz->version & 0xff);
	xlf = rd16(b + OFF_XLOADFLAGS);
	if ((xlf & XLF_KERNEL_64) == 0)
		return kernel_fail(err, errlen, name, "not a 64-bit kernel (xloadflags "
		    "%#x lacks XLF_KERNEL_64): hyve starts Linux at its 64-bit "
		    "entry only", xlf);
	bz->hdr_end = 0x202 + b[OFF_HDR_LEN];
	if (bz->hdr_end < HDR_MIN_END || bz->hdr_end > HDR_MAX_END)
		return kernel_fail(err, errlen, name, "setup header ends at %#x "
		    "(0x202 + the byte at 0x201); protocol 2.12 needs %#x to "
		    "%#x", bz->hdr_end, HDR_MIN_END, HDR_MAX_END);
	/* 0 means 4, for kernels older than anything hyve takes. */
	sects = b[OFF_SETUP_SECTS] != 0 ? b[OFF_SETUP_SECTS] : 4;
	if (sects > SETUP_SECTS_MAX)
		return kernel_fail(err, errlen, name, "setup_sects %u is out of range "
		    "(at most %d: 32 KiB of real-mode setup)", sects,
		    SETUP_SECTS_MAX);
	bz->setup_size = ((uint64_t)sects + 1) * 512;
	if (bz->setup_size >= size)
		return kernel_fail(err, errlen, name, "setup_sects %u puts the 64-bit "
		    "kernel at offset %#" PRIx64 ", at or past the end of the "
		    "file (%zu bytes): truncated?", sects, bz->setup_size,
		    size);
	bz->pm_size = size - bz->setup_size;
	syssize = (uint64_t)rd32(b + OFF_SYSSIZE) * 16;
	if (syssize > bz->pm_size)
		return kernel_fail(err, errlen, name, "truncated: the setup header "
		    "says %#" PRIx64 " bytes of kernel (syssize) follow the "
		    "setup, the file has %#" PRIx64, syssize, bz->pm_size);

	init_size = rd32(b + OFF_INIT_SIZE);
	pref = rd64(b + OFF_PREF_ADDRESS);
	align = rd32(b + OFF_KERNEL_ALIGNMENT);
	if (init_size == 0)
		return kernel_fail(err, errlen, name, "init_size is 0: the header "
		    "does not say how much memory the kernel needs to start");
	if (b[OFF_RELOCATABLE] != 0) {
		/*
		 * The kernel decompresses where it was loaded, aligned up,
		 * but never below pref_address: loading it lower gains
		 * nothing.
		 */
		if (align < 4096 || (align & (align - 1)) != 0)
			return kernel_fail(err, errlen, name, "kernel_alignment %#"
			    PRIx64 " is not a power of two of at least 4 KiB",
			    align);
		bz->run_start = pref < MiB ? MiB : pref;
		if (bz->run_start < low)
			bz->run_start = (bz->run_start + align - 1) &
			    ~(align - 1);
		bz->load = bz->run_start;
	} else {
		/* It moves itself from 1 MiB to pref_address. */
		if (pref < MiB)
			return kernel_fail(err, errlen, name, "not relocatable, and "
			    "its pref_address %#" PRIx64 " is below 1 MiB",
			    pref);
		bz->run_start = pref;
		bz->load = MiB;
	}
	if (bz->run_start > low || init_size > low - bz->run_start)
		return kernel_fail(err, errlen, name, "needs RAM at [%#" PRIx64 ", %#"
		    PRIx64 ") to start (pref_address and init_size), but low "
		    "RAM ends at %#" PRIx64 " (%" PRIu64 " MiB of guest RAM): "
		    "give the guest more memory", bz->run_start,
		    bz->run_start + init_size, low, vm->mem_size >> 20);
	bz->run_end = bz->run_start + init_size;
	if (bz->load > low || bz->pm_size > low - bz->load)
		return kernel_fail(err, errlen, name, "its %#" PRIx64 " bytes of "
		    "64-bit kernel at %#" PRIx64 " do not fit in low RAM "
		    "(ends at %#" PRIx64 ", %" PRIu64 " MiB of guest RAM)",
		    bz->pm_size, bz->load, low, vm->mem_size >> 20);
	bz->cmdline_size = rd32(b + OFF_CMDLINE_SIZE);
	bz->initrd_max = rd32(b + OFF_INITRD_ADDR_MAX);
	return 0;
}

/* A GDT with Linux's __BOOT_CS and __BOOT_DS, and a busy 64-bit TSS. */
static void
write_gdt(uint8_t *gdt)
{
	memset(gdt, 0, BOOT_GDT_LIMIT + 1);
	wr64(gdt + BOOT_SEL_CODE, GDT_CODE64);
	wr64(gdt + BOOT_SEL_DATA, GDT_DATA);
	wr64(gdt + BOOT_SEL_TSS, GDT_TSS64_LO);
}

/* [0, 4 GiB) mapped to itself with 2 MiB pages: PML4, PDPT, 4 PDs. */
static void
write_page_tables(uint8_t *pml4)
{
	uint8_t *pdpt = pml4 + (BOOT_PDPT - BOOT_PML4);
	uint8_t *pd = pml4 + (BOOT_PD - BOOT_PML4);
	uint64_t i;

	memset(pml4, 0, BOOT_PD + 4 * 4096 - BOOT_PML4);
	wr64(pml4, BOOT_PDPT | PTE_P_RW);
	for (i = 0; i < 4; i++)
		wr64(pdpt + 8 * i, (BOOT_PD + 4096 * i) | PTE_P_RW);
	for (i = 0; i < 4 * 512; i++)
		wr64(pd + 8 * i, (i << 21) | PTE_P_RW | PTE_PS);
}

int
bzimage_write(struct vm *vm, const struct bzimage *bz, const void *file,
    uint64_t initrd, uint64_t initrd_size, uint64_t rsdp)
{
	const uint8_t *b = file;
	struct boot_e820 map[BOOT_E820_MAX];
	uint8_t *dst, *bp, *gdt, *pt, *stack, *e;
	unsigned n, i;

	if ((dst = vm_gpa_ptr(vm, bz->load, bz->pm_size)) == NULL ||
	    (bp = vm_gpa_ptr(vm, BOOT_PARAMS, BP_SIZE)) == NULL ||
	    (gdt = vm_gpa_ptr(vm, BOOT_GDT, BOOT_GDT_LIMIT + 1)) == NULL ||
	    (pt = vm_gpa_ptr(vm, BOOT_PML4, BOOT_PD + 4 * 4096 -
	    BOOT_PML4)) == NULL ||
	    (stack = vm_gpa_ptr(vm, BOOT_STACK_TOP - 4096, 4096)) == NULL)
		return -EINVAL;
	memcpy(dst, b + bz->setup_size, bz->pm_size);

	/* A clean zero page with the file's header: sentinel 0, all known. */
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_START, b + HDR_START, bz->hdr_end - HDR_START);
	bp[OFF_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	wr32(bp + OFF_CODE32_START, (uint32_t)bz->load);
	wr32(bp + OFF_RAMDISK_IMAGE, (uint32_t)initrd);
	wr32(bp + OFF_RAMDISK_SIZE, (uint32_t)initrd_size);
	wr32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd >> 32));
	wr32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	wr32(bp + OFF_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE);
	wr32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(BOOT_CMDLINE >> 32));
	/* A plain PC, and no setup_data list for the kernel to follow. */
	wr32(bp + OFF_HW_SUBARCH, 0);
	wr64(bp + OFF_HW_SUBARCH_DATA, 0);
	wr64(bp + OFF_SETUP_DATA, 0);
	/* Older kernels find the RSDP by scanning 0xE0000-0xFFFFF. */
	if (bz->version >= PROTO_RSDP)
		wr64(bp + BP_ACPI_RSDP_ADDR, rsdp);
	n = boot_e820_map(vm, map);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	for (i = 0; i < n; i++) {
		e = bp + BP_E820_TABLE + 20 * i;
		wr64(e, map[i].addr);
		wr64(e + 8, map[i].size);
		wr32(e + 16, map[i].type);
	}

	write_gdt(gdt);
	write_page_tables(pt);
	memset(stack, 0, 4096);
	return 0;
}
