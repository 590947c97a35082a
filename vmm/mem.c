/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Guest RAM: an explicit list of regions (low RAM below the 3 GiB PCI hole,
 * high RAM from 4 GiB), each an anonymous mapping and one KVM memory slot.
 * A checkpoint stores the regions one after the other in its RAM file, at
 * region->file_off.  vm_mem_layout() is the one place that says where
 * they go: a restore checks a checkpoint against it before mapping any.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "state.h"
#include "vm_priv.h"

#define PAGE_SIZE	4096ULL
#define BITS_PER_LONG	(8 * sizeof(unsigned long))

static int
add_region(struct vm *vm, const char *name, uint64_t gpa, uint64_t size,
    uint64_t file_off)
{
	struct vm_mem_region *r;
	/*
	 * Test VMs (device unit tests, fuzzers) put an inaccessible page on
	 * each side of a region, so that a device access just outside guest
	 * RAM faults instead of landing in whatever the host mapped there.
	 */
	uint64_t guard = vm->be->ram_guard;
	void *p;

	if (vm->nmem == VM_MAX_MEM_REGIONS)
		return -ENOSPC;
	p = mmap(NULL, size + 2 * guard, guard != 0 ? PROT_NONE :
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (guard != 0) {
		p = (char *)p + guard;
		if (mprotect(p, size, PROT_READ | PROT_WRITE) != 0) {
			int e = errno;

			munmap((char *)p - guard, size + 2 * guard);
			return -e;
		}
	}
	/* Large guests benefit from THP; harmless where unsupported. */
	(void)madvise(p, size, MADV_HUGEPAGE);
	/* Guest RAM in a core dump of hyve would be huge and private. */
	(void)madvise(p, size, MADV_DONTDUMP);
	r = &vm->mem[vm->nmem];
	*r = (struct vm_mem_region){ .name = name, .gpa = gpa, .size = size,
	    .host = p, .file_off = file_off, .slot = vm->nmem };
	vm->nmem++;
	return 0;
}

int
vm_mem_layout(uint64_t size, struct vm_mem_layout *l)
{
	uint64_t low = size < VM_LOWMEM_MAX ? size : VM_LOWMEM_MAX;

	memset(l, 0, sizeof(*l));
	if (size == 0 || (size & (PAGE_SIZE - 1)) != 0)
		return -EINVAL;
	l->r[l->n++] = (struct vm_mem_span){ "lowmem", 0, low, 0 };
	if (size > low)
		l->r[l->n++] = (struct vm_mem_span){ "highmem",
		    VM_HIGHMEM_BASE, size - low, low };
	return 0;
}

int
vm_mem_init(struct vm *vm, uint64_t size)
{
	struct vm_mem_layout l;
	unsigned i;
	int rc;

	if ((rc = vm_mem_layout(size, &l)) != 0)
		return rc;
	vm->mem_size = size;
	for (i = 0; i < l.n; i++) {
		if ((rc = add_region(vm, l.r[i].name, l.r[i].gpa, l.r[i].size,
		    l.r[i].file_off)) != 0) {
			vm_mem_fini(vm);
			return rc;
		}
	}
	return 0;
}

void
vm_mem_fini(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->nmem; i++) {
		uint64_t guard = vm->be->ram_guard;

		munmap((char *)vm->mem[i].host - guard, vm->mem[i].size +
		    2 * guard);
		free((void *)vm->mem[i].dirty);
	}
	vm->nmem = 0;
}

int
vm_mem_kvm_register(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *r = &vm->mem[i];
		struct kvm_userspace_memory_region kr = {
			.slot = r->slot,
			.flags = r->kvm_flags,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) != 0) {
			int e = errno;
			vm_log(vm, "KVM_SET_USER_MEMORY_REGION %s (%#" PRIx64
			    ", %" PRIu64 " bytes): %s", r->name, r->gpa,
			    r->size, strerror(e));
			return -e;
		}
	}
	return 0;
}

void *
vm_gpa_ptr(struct vm *vm, uint64_t gpa, uint64_t len)
{
	unsigned i;

	for (i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *r = &vm->mem[i];
		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa)) {
			if (len == 0 && gpa - r->gpa == r->size)
				continue;
			return r->host + (gpa - r->gpa);
		}
	}
	return NULL;
}

void
vm_gpa_dirty(struct vm *vm, uint64_t gpa, uint64_t len)
{
	unsigned i;
	uint64_t pg, last;

	if (len == 0)
		return;
	for (i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *r = &vm->mem[i];
		if (r->dirty == NULL || gpa < r->gpa ||
		    gpa - r->gpa >= r->size)
			continue;
		pg = (gpa - r->gpa) / PAGE_SIZE;
		last = (gpa - r->gpa + len - 1) / PAGE_SIZE;
		if (last >= r->size / PAGE_SIZE)
			last = r->size / PAGE_SIZE - 1;
		for (; pg <= last; pg++)
			atomic_fetch_or(&r->dirty[pg / BITS_PER_LONG],
			    1UL << (pg % BITS_PER_LONG));
	}
}

/* MemAvailable + SwapFree from /proc/meminfo; 0 if unreadable. */
uint64_t
vm_mem_host_limit(void)
{
	char line[256];
	uint64_t avail = 0, swap = 0, v;
	bool have_avail = false;
	FILE *f;

	if ((f = fopen("/proc/meminfo", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &v) == 1) {
			avail = v * 1024;
			have_avail = true;
		} else if (sscanf(line, "SwapFree: %" SCNu64 " kB", &v) == 1) {
			swap = v * 1024;
		}
	}
	fclose(f);
	return have_avail ? avail + swap : 0;
}

/* ------------------------------------------------------------------------ */
/* Dirty page tracking (checkpoints written while the guest runs)            */
/* ------------------------------------------------------------------------ */

static size_t
bitmap_longs(const struct vm_mem_region *r)
{
	return (size_t)((r->size / PAGE_SIZE + BITS_PER_LONG - 1) /
	    BITS_PER_LONG);
}

int
vm_mem_dirty_log(struct vm *vm, bool on)
{
	unsigned i;
	int rc;

	for (i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *r = &vm->mem[i];

		if (on && r->dirty == NULL &&
		    (r->dirty = calloc(bitmap_longs(r), sizeof(long))) == NULL)
			return -ENOMEM;
		if (on)
			r->kvm_flags |= KVM_MEM_LOG_DIRTY_PAGES;
		else
			r->kvm_flags &= ~KVM_MEM_LOG_DIRTY_PAGES;
	}
	if ((rc = vm->be->mem_register(vm)) != 0)
		return rc;
	if (!on) {
		for (i = 0; i < vm->nmem; i++) {
			free((void *)vm->mem[i].dirty);
			vm->mem[i].dirty = NULL;
		}
	}
	return 0;
}

int
vm_mem_dirty_get(struct vm *vm, unsigned idx, unsigned long *bitmap)
{
	struct vm_mem_region *r;
	size_t n, i;
	int rc;

	if (idx >= vm->nmem || vm->mem[idx].dirty == NULL)
		return -EINVAL;
	r = &vm->mem[idx];
	n = bitmap_longs(r);
	memset(bitmap, 0, n * sizeof(long));
	if ((rc = vm->be->dirty_get(vm, r, bitmap)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		bitmap[i] |= atomic_exchange(&r->dirty[i], 0UL);
	return 0;
}
