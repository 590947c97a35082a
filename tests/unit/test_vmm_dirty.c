/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Dirty page tracking: pages written by devices (vm_gpa_dirty) on a test
 * VM, and, on KVM, pages written by a running guest: exactly the page it
 * writes, not the code page it only reads, and nothing once the guest
 * stops writing; turning tracking off and on again starts clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vm_priv.h"

#include "test_check.h"

#define BITS	(8 * sizeof(unsigned long))

static bool
bit(const unsigned long *b, uint64_t page)
{
	return (b[page / BITS] >> (page % BITS)) & 1;
}

static unsigned
popcount(const unsigned long *b, size_t longs)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < longs; i++)
		n += (unsigned)__builtin_popcountl(b[i]);
	return n;
}

static void
test_devices(void)
{
	struct vm *vm = vm_new_for_test((3ULL << 30) + (8 << 20));
	size_t lo = (size_t)((vm->mem[0].size / 4096 + BITS - 1) / BITS);
	size_t hi = (size_t)((vm->mem[1].size / 4096 + BITS - 1) / BITS);
	unsigned long *b = calloc(lo, sizeof(long));

	CHECK(vm_mem_dirty_get(vm, 0, b) == -EINVAL);	/* not on */
	vm_gpa_dirty(vm, 0x3000, 1);			/* ignored: off */
	CHECK(vm_mem_dirty_log(vm, true) == 0);
	CHECK(vm_mem_dirty_get(vm, 0, b) == 0 && popcount(b, lo) == 0);
	vm_gpa_dirty(vm, 0x3000, 1);
	vm_gpa_dirty(vm, 0x4fff, 2);			/* straddles 2 pages */
	vm_gpa_dirty(vm, VM_HIGHMEM_BASE + 0x2000, 0x2000);
	vm_gpa_dirty(vm, VM_LOWMEM_MAX - 1, 0x10000);	/* clipped at the end */
	vm_gpa_dirty(vm, 0xd0000000, 4096);		/* not RAM: nothing */
	CHECK(vm_mem_dirty_get(vm, 0, b) == 0);
	CHECK(bit(b, 3) && bit(b, 4) && bit(b, 5) && !bit(b, 2) && !bit(b, 6));
	CHECK(bit(b, VM_LOWMEM_MAX / 4096 - 1));
	CHECK(popcount(b, lo) == 4);
	CHECK(vm_mem_dirty_get(vm, 0, b) == 0 && popcount(b, lo) == 0);
	CHECK(vm_mem_dirty_get(vm, 1, b) == 0);
	CHECK(bit(b, 2) && bit(b, 3) && popcount(b, hi) == 2);
	CHECK(vm_mem_dirty_get(vm, 2, b) == -EINVAL);
	CHECK(vm_mem_dirty_log(vm, false) == 0);
	CHECK(vm_mem_dirty_get(vm, 0, b) == -EINVAL);
	free(b);
	vm_free(vm);
}

/* inc dword [0x5000]; jmp back: reads page 0x100, writes page 0x5 */
static void
test_kvm(void)
{
	static const uint8_t code[] = { 0xff, 0x05, 0x00, 0x50, 0x00, 0x00,
	    0xeb, 0xf8 };
	struct cfg *cfg = cfg_new();
	struct vm *vm;
	unsigned long *b;
	size_t lo;
	char err[256];
	int i;

	CHECK(cfg_set(cfg, "name", "dirty", "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "memory.size", "16M", "t", err, sizeof(err)) == 0);
	if (vm_create(cfg, &vm) != 0) {
		CHECK(!"vm_create");
		vm_free(vm);
		return;
	}
	lo = (size_t)((vm->mem[0].size / 4096 + BITS - 1) / BITS);
	b = calloc(lo, sizeof(long));
	memcpy(vm_gpa_ptr(vm, 0x100000, sizeof(code)), code, sizeof(code));
	CHECK(vcpu_setup_pvh(&vm->vcpus[0], 0x100000, 0) == 0);
	CHECK(vm_mem_dirty_log(vm, true) == 0);
	CHECK(vm_mem_dirty_get(vm, 0, b) == 0);
	CHECK(vcpus_start(vm) == 0);
	for (i = 0; i < 1000 && *(volatile uint32_t *)vm_gpa_ptr(vm, 0x5000, 4)
	    < 1000; i++)
		usleep(1000);
	CHECK(vm_pause_vcpus(vm) == 0);
	CHECK(vm_mem_dirty_get(vm, 0, b) == 0);
	CHECK(bit(b, 5));
	/*
	 * Only the page written, and perhaps the page the code was fetched
	 * from: under QEMU's TCG-emulated nested paging (the nested tier)
	 * KVM's D-bit dirty logging also sees pages that were only read.
	 * Reporting too much is safe for a checkpoint; too little is not.
	 */
	CHECK(popcount(b, lo) == 1U + (unsigned)bit(b, 0x100));
	/* while paused, nothing more is written */
	CHECK(vm_mem_dirty_get(vm, 0, b) == 0 && popcount(b, lo) == 0);
	/* a device write shows up with the guest's */
	vm_gpa_dirty(vm, 0x7000, 8);
	vm_resume_vcpus(vm);
	usleep(20000);
	CHECK(vm_pause_vcpus(vm) == 0);
	CHECK(vm_mem_dirty_get(vm, 0, b) == 0);
	CHECK(bit(b, 5) && bit(b, 7) && popcount(b, lo) == 2U + (unsigned)bit(b, 0x100));
	/* off and on: a clean start */
	CHECK(vm_mem_dirty_log(vm, false) == 0);
	CHECK(vm_mem_dirty_log(vm, true) == 0);
	CHECK(vm_mem_dirty_get(vm, 0, b) == 0);
	/* KVM may report all or nothing here (and the code page, above) */
	CHECK(popcount(b, lo) <= 1U + (unsigned)bit(b, 0x100));
	vm_resume_vcpus(vm);
	usleep(20000);
	vm_request_stop(vm, VM_STOP_SIGNAL, 15, "done");
	vcpus_join(vm);
	CHECK(vm_mem_dirty_get(vm, 0, b) == 0 && bit(b, 5));
	free(b);
	vm_free(vm);
}

int
main(void)
{
	int fd;

	test_devices();
	if ((fd = open("/dev/kvm", O_RDWR)) >= 0) {
		close(fd);
		test_kvm();
	} else {
		printf("SKIP: no /dev/kvm; device dirty tracking %s\n",
		    failures ? "FAILED" : "passed");
		return failures ? 1 : 77;
	}
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_dirty: ok\n");
	return 0;
}
