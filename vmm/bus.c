/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Port and MMIO dispatch: a sorted array of disjoint ranges per bus.  A
 * lookup copies the range under a read lock and calls the handler without
 * it, so a handler may register or move ranges (PCI BAR programming).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_priv.h"

void
iobus_init(struct iobus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void
iobus_fini(struct iobus *bus)
{
	free(bus->r);
	bus->r = NULL;
	bus->n = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose end is above @addr. */
static size_t
lower(const struct iobus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct io_range *r = &bus->r[mid];
		if (r->base + (r->len - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
iobus_register(struct vm *vm, struct iobus *bus, uint64_t base, uint64_t len,
    io_fn *fn, void *opaque, const char *owner)
{
	struct io_range *nr;
	size_t i;
	int rc = 0;

	if (len == 0 || base + (len - 1) < base || fn == NULL) {
		vm_log(vm, "%s: bad %s range %#" PRIx64 "+%#" PRIx64,
		    owner, bus->name, base, len);
		return -EINVAL;
	}
	pthread_rwlock_wrlock(&bus->lock);
	i = lower(bus, base);
	if (i < bus->n && bus->r[i].base <= base + (len - 1)) {
		vm_log(vm, "%s: %s range %#" PRIx64 "-%#" PRIx64 " overlaps "
		    "%s's %#" PRIx64 "-%#" PRIx64, owner, bus->name, base,
		    base + len - 1, bus->r[i].owner, bus->r[i].base,
		    bus->r[i].base + bus->r[i].len - 1);
		rc = -EEXIST;
		goto out;
	}
	if (bus->n == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		if ((nr = realloc(bus->r, cap * sizeof(*nr))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		bus->r = nr;
		bus->cap = cap;
	}
	memmove(&bus->r[i + 1], &bus->r[i], (bus->n - i) * sizeof(bus->r[0]));
	bus->r[i] = (struct io_range){ .base = base, .len = len, .fn = fn,
	    .opaque = opaque };
	snprintf(bus->r[i].owner, sizeof(bus->r[i].owner), "%s", owner);
	bus->n++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return rc;
}

int
iobus_unregister(struct iobus *bus, uint64_t base)
{
	size_t i;
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = lower(bus, base);
	if (i < bus->n && bus->r[i].base == base) {
		memmove(&bus->r[i], &bus->r[i + 1],
		    (bus->n - i - 1) * sizeof(bus->r[0]));
		bus->n--;
		rc = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return rc;
}

int
iobus_access(struct iobus *bus, uint64_t addr, unsigned size, bool is_write,
    uint64_t *val, char *owner, size_t ownerlen)
{
	struct io_range r;
	size_t i;
	bool found = false;

	pthread_rwlock_rdlock(&bus->lock);
	i = lower(bus, addr);
	if (i < bus->n && bus->r[i].base <= addr &&
	    addr - bus->r[i].base + size <= bus->r[i].len) {
		r = bus->r[i];
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!found)
		return -ENOENT;
	if (owner != NULL)
		snprintf(owner, ownerlen, "%s", r.owner);
	return r.fn(r.opaque, addr - r.base, size, is_write, val);
}

int
vm_pio_register(struct vm *vm, uint16_t base, uint16_t len, io_fn *fn,
    void *opaque, const char *owner)
{
	if ((uint32_t)base + len > 0x10000) {
		vm_log(vm, "%s: port range %#x+%#x beyond 0xffff", owner,
		    base, len);
		return -EINVAL;
	}
	return iobus_register(vm, &vm->pio, base, len, fn, opaque, owner);
}

int
vm_pio_unregister(struct vm *vm, uint16_t base)
{
	return iobus_unregister(&vm->pio, base);
}

int
vm_mmio_register(struct vm *vm, uint64_t base, uint64_t len, io_fn *fn,
    void *opaque, const char *owner)
{
	unsigned i;

	/* Accesses to RAM never exit to hyve: such a range would be dead. */
	for (i = 0; i < vm->nmem && len != 0; i++) {
		const struct vm_mem_region *r = &vm->mem[i];
		if (base < r->gpa + r->size && r->gpa <= base + (len - 1)) {
			vm_log(vm, "%s: MMIO range %#" PRIx64 "+%#" PRIx64
			    " overlaps guest RAM (%s)", owner, base, len,
			    r->name);
			return -EINVAL;
		}
	}
	return iobus_register(vm, &vm->mmio, base, len, fn, opaque, owner);
}

int
vm_mmio_unregister(struct vm *vm, uint64_t base)
{
	return iobus_unregister(&vm->mmio, base);
}
