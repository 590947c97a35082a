/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: the PVH kernel loader (vmm/elf.c) on arbitrary bytes.
 * Guest RAM is two heap buffers of their exact size (2 MiB of low RAM at 0
 * and 64 KiB above 4 GiB), so ASan sees any write or read outside them as
 * it sees one outside the input.  A refused file must leave RAM as it was
 * and come with one line naming the file; an accepted one must have its
 * entry point in RAM below 4 GiB.
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

#define LOW_SIZE	(2ULL << 20)
#define HIGH_SIZE	(64ULL << 10)

static struct vm *vm;
static uint8_t *zero;
static uint8_t *high_zero;

static void
setup(void)
{
	/* Only what the loader reads: the RAM layout and its size. */
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	uint64_t entry = 0;
	int rc;

	if (vm == NULL)
		setup();
	rc = pvh_load_elf_buf(vm, data, size, "fuzz", &entry, err,
	    sizeof(err));
	if (rc == 0) {
		FUZZ_ASSERT(entry <= 0xffffffffULL);
		FUZZ_ASSERT(vm_gpa_ptr(vm, entry, 1) != NULL);
		/* Start the next input from empty RAM again. */
		memset(vm->mem[0].host, 0, LOW_SIZE);
		memset(vm->mem[1].host, 0, HIGH_SIZE);
		return 0;
	}
	if (rc != -EINVAL)
		fprintf(stderr, "rc %d: %s\n", rc, err);
	FUZZ_ASSERT(rc == -EINVAL);
	FUZZ_ASSERT(strncmp(err, "kernel fuzz: ", 13) == 0 && err[13] != '\0');
	FUZZ_ASSERT(strchr(err, '\n') == NULL);
	/* Checked first, written after: a refused file wrote nothing. */
	FUZZ_ASSERT(memcmp(vm->mem[0].host, zero, LOW_SIZE) == 0);
	FUZZ_ASSERT(memcmp(vm->mem[1].host, high_zero, HIGH_SIZE) == 0);
	return 0;
}
