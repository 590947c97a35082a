/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: hyve's kernel and initrd placement (vmm/boot.c) with
 * the bzImage parser and boot_params writer (vmm/bzimage.c) and the PVH
 * ELF loader behind it, on arbitrary bytes.  The first two bytes choose
 * the initrd's size (in 4 KiB pages, 0: none, plus an odd tail) and the
 * command line's length; the rest is the kernel file.  Guest RAM is two
 * heap buffers of their exact size (8 MiB at 0, 64 KiB above 4 GiB), so
 * ASan sees any access outside them.  A refused input must leave RAM as it
 * was, with one line naming the file or key; an accepted one must have
 * its kernel, initrd and boot data where the protocol and docs/BOOT.md
 * say, without overlap.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_priv.h"

#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c); \
		abort();						\
	}								\
} while (0)

#define LOW_SIZE	(8ULL << 20)
#define HIGH_SIZE	(64ULL << 10)

static struct vm *vm;
static uint8_t *zero;
static uint8_t *high_zero;
static uint8_t initrd[1 << 20];
static char cmdline[255 * 17 + 1];

static void
setup(void)
{
	size_t i;

	/* Only what the loaders read: the RAM layout and its size. */
	vm = calloc(1, sizeof(*vm));
	zero = calloc(1, LOW_SIZE);
	high_zero = calloc(1, HIGH_SIZE);
	FUZZ_ASSERT(vm != NULL && zero != NULL && high_zero != NULL);
	snprintf(vm->name, sizeof(vm->name), "fuzz");
	vm->be = &vm_test_backend;
	vm->mem_size = LOW_SIZE + HIGH_SIZE;
	vm->nmem = 2;
	vm->mem[0] = (struct vm_mem_region){ .name = "lowmem", .gpa = 0,
	    .size = LOW_SIZE, .host = calloc(1, LOW_SIZE) };
	vm->mem[1] = (struct vm_mem_region){ .name = "highmem",
	    .gpa = VM_HIGHMEM_BASE, .size = HIGH_SIZE,
	    .host = calloc(1, HIGH_SIZE) };
	FUZZ_ASSERT(vm->mem[0].host != NULL && vm->mem[1].host != NULL);
	for (i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 31 + 7);
	memset(cmdline, 'c', sizeof(cmdline));
}

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static bool
overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void
check_accepted(const struct boot_plan *p, size_t ilen, size_t clen)
{
	uint64_t low = vm->mem[0].size;

	FUZZ_ASSERT(p->kind == BOOT_PVH || p->kind == BOOT_BZIMAGE);
	FUZZ_ASSERT(vm_gpa_ptr(vm, p->entry, 1) != NULL);
	FUZZ_ASSERT(p->entry <= 0xffffffffULL);
	FUZZ_ASSERT(p->initrd_size == ilen);
	if (ilen != 0) {
		FUZZ_ASSERT((p->initrd_addr & 0xfff) == 0);
		FUZZ_ASSERT(p->initrd_addr >= BOOT_AREA_END);
		FUZZ_ASSERT(p->initrd_addr >= p->kernel_end);
		FUZZ_ASSERT(p->initrd_addr + ilen <= low);
		FUZZ_ASSERT(memcmp(vm_gpa_ptr(vm, p->initrd_addr, ilen),
		    initrd, ilen) == 0);
	}
	FUZZ_ASSERT(strlen(vm_gpa_ptr(vm, BOOT_CMDLINE, 1)) == clen);
	if (p->kind == BOOT_BZIMAGE) {
		const struct bzimage *bz = &p->bz;
		const uint8_t *bp = vm_gpa_ptr(vm, BOOT_PARAMS, 4096);

		FUZZ_ASSERT(p->entry == bz->load + 0x200);
		FUZZ_ASSERT(bz->load >= BOOT_AREA_END && bz->run_start >=
		    BOOT_AREA_END);
		FUZZ_ASSERT(bz->load + bz->pm_size <= low &&
		    bz->run_end <= low && bz->run_start < bz->run_end);
		FUZZ_ASSERT(!overlap(bz->load, bz->pm_size, BOOT_AREA_BASE,
		    BOOT_AREA_END - BOOT_AREA_BASE));
		FUZZ_ASSERT(ilen == 0 || (!overlap(bz->load, bz->pm_size,
		    p->initrd_addr, ilen) && !overlap(bz->run_start,
		    bz->run_end - bz->run_start, p->initrd_addr, ilen)));
		FUZZ_ASSERT(clen <= bz->cmdline_size);
		FUZZ_ASSERT(bp[0x210] == 0xff);
		FUZZ_ASSERT(memcmp(bp + 0x202, "HdrS", 4) == 0);
		FUZZ_ASSERT(rd32(bp + 0x218) == p->initrd_addr);
		FUZZ_ASSERT(rd32(bp + 0x21c) == ilen);
		FUZZ_ASSERT(rd32(bp + 0x228) == BOOT_CMDLINE);
		FUZZ_ASSERT(bp[0x1e8] >= 3 && bp[0x1e8] <= BOOT_E820_MAX);
	} else {
		const uint8_t *si = vm_gpa_ptr(vm, BOOT_START_INFO, 56);

		FUZZ_ASSERT(rd32(si + 12) == (ilen != 0));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_plan p;
	char err[512] = "";
	size_t ilen, clen;
	int rc;

	if (vm == NULL)
		setup();
	if (size < 2)
		return 0;
	/* Up to 1 MiB of initrd; page multiples and odd sizes alike. */
	ilen = data[0] == 0 ? 0 : ((size_t)(data[0] & 0x7f) << 13) +
	    (data[0] & 0x80 ? 0 : 123);
	if (ilen > sizeof(initrd))
		ilen = sizeof(initrd);
	/* Up to past the 4095 bytes hyve takes, and past cmdline_size. */
	clen = (size_t)data[1] * 17;
	cmdline[clen] = '\0';
	rc = boot_plan(vm, data + 2, size - 2, "fuzz", ilen, "fuzz.img",
	    cmdline, &p, err, sizeof(err));
	if (rc == 0) {
		rc = boot_write(vm, &p, data + 2, size - 2, initrd, cmdline,
		    BOOT_ACPI_BASE, err, sizeof(err));
		FUZZ_ASSERT(rc == 0);
		check_accepted(&p, ilen, clen);
		/* Start the next input from empty RAM again. */
		memset(vm->mem[0].host, 0, LOW_SIZE);
		memset(vm->mem[1].host, 0, HIGH_SIZE);
		cmdline[clen] = 'c';
		return 0;
	}
	cmdline[clen] = 'c';
	if (rc != -EINVAL)
		fprintf(stderr, "rc %d: %s\n", rc, err);
	FUZZ_ASSERT(rc == -EINVAL);
	FUZZ_ASSERT((strncmp(err, "kernel fuzz: ", 13) == 0 && err[13] != '\0')
	    || strncmp(err, "initrd fuzz.img: ", 17) == 0 ||
	    strncmp(err, "boot.append: ", 13) == 0);
	FUZZ_ASSERT(strchr(err, '\n') == NULL);
	/* Checked first, written after: a refused file wrote nothing. */
	FUZZ_ASSERT(memcmp(vm->mem[0].host, zero, LOW_SIZE) == 0);
	FUZZ_ASSERT(memcmp(vm->mem[1].host, high_zero, HIGH_SIZE) == 0);
	return 0;
}
