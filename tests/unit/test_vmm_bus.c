/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The test VM (vm_new_for_test): guest memory bounds, port/MMIO
 * registration and dispatch, and the interrupt log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_test.h"

#include "test_check.h"

struct rec {
	uint64_t off;
	unsigned size;
	bool wr;
	uint64_t val;
	int calls;
};

static int
rec_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct rec *r = opaque;

	r->off = off;
	r->size = size;
	r->wr = is_write;
	r->calls++;
	if (is_write)
		r->val = *val;
	else
		*val = 0xab00 + off;
	return 0;
}

static int
err_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	(void)opaque; (void)off; (void)size; (void)is_write; (void)val;
	return -EIO;
}

/* A handler that moves its own range, as PCI BAR programming does. */
struct mover {
	struct vm *vm;
	uint16_t base;
};

static int
mover_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct mover *m = opaque;

	(void)off; (void)size;
	if (is_write) {
		CHECK(vm_pio_unregister(m->vm, m->base) == 0);
		m->base = (uint16_t)*val;
		CHECK(vm_pio_register(m->vm, m->base, 4, mover_io, m,
		    "mover") == 0);
	} else {
		*val = m->base;
	}
	return 0;
}

static void
test_memory(void)
{
	/* 3 GiB + 16 MiB: low RAM up to 3 GiB, the rest from 4 GiB. */
	uint64_t size = (3ULL << 30) + (16ULL << 20);
	struct vm *vm = vm_new_for_test(size);
	uint8_t *p;

	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	CHECK(vm_gpa_ptr(vm, 0, 4096) != NULL);
	CHECK(vm_gpa_ptr(vm, VM_LOWMEM_MAX - 4096, 4096) != NULL);
	CHECK(vm_gpa_ptr(vm, VM_LOWMEM_MAX - 4096, 4097) == NULL);
	CHECK(vm_gpa_ptr(vm, VM_LOWMEM_MAX, 1) == NULL);
	CHECK(vm_gpa_ptr(vm, VM_HIGHMEM_BASE - 1, 2) == NULL);
	CHECK(vm_gpa_ptr(vm, VM_HIGHMEM_BASE, 16 << 20) != NULL);
	CHECK(vm_gpa_ptr(vm, VM_HIGHMEM_BASE, (16 << 20) + 1) == NULL);
	CHECK(vm_gpa_ptr(vm, VM_HIGHMEM_BASE + (16 << 20), 1) == NULL);
	CHECK(vm_gpa_ptr(vm, ~0ULL, 2) == NULL);
	CHECK(vm_gpa_ptr(vm, 4096, ~0ULL) == NULL);
	CHECK(vm_gpa_ptr(vm, 0x10, ~0ULL - 8) == NULL);
	p = vm_gpa_ptr(vm, 0x1000, 8);
	CHECK(p != NULL);
	if (p != NULL) {
		memcpy(p, "hyve", 5);
		CHECK(memcmp(vm_gpa_ptr(vm, 0x1000, 5), "hyve", 5) == 0);
	}
	vm_gpa_dirty(vm, 0x1000, 4096);	/* no dirty log: must not crash */
	/* MMIO cannot be registered over RAM. */
	CHECK(vm_mmio_register(vm, 0x1000, 0x1000, err_io, NULL, "x") != 0);
	CHECK(vm_mmio_register(vm, VM_HIGHMEM_BASE - 0x1000, 0x2000, err_io,
	    NULL, "x") != 0);
	CHECK(vm_mmio_register(vm, VM_PCI_MMIO_BASE, 0x1000, err_io, NULL,
	    "x") == 0);
	vm_free(vm);
	CHECK(vm_new_for_test(1000) == NULL);	/* not a page multiple */
}

static void
test_pio(void)
{
	struct vm *vm = vm_new_for_test(16 << 20);
	struct rec a = { 0 }, b = { 0 };
	struct mover m;
	uint64_t v;

	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	CHECK(vm_pio_register(vm, 0x100, 8, rec_io, &a, "a") == 0);
	/* overlaps: inside, straddling either end, covering */
	CHECK(vm_pio_register(vm, 0x104, 1, rec_io, &b, "b") == -EEXIST);
	CHECK(vm_pio_register(vm, 0xfc, 8, rec_io, &b, "b") == -EEXIST);
	CHECK(vm_pio_register(vm, 0x107, 2, rec_io, &b, "b") == -EEXIST);
	CHECK(vm_pio_register(vm, 0x0, 0x1000, rec_io, &b, "b") == -EEXIST);
	CHECK(vm_pio_register(vm, 0xffff, 2, rec_io, &b, "b") == -EINVAL);
	CHECK(vm_pio_register(vm, 0x200, 0, rec_io, &b, "b") == -EINVAL);
	/* adjacent is fine */
	CHECK(vm_pio_register(vm, 0x108, 4, rec_io, &b, "b") == 0);
	CHECK(vm_pio_register(vm, 0xf8, 8, rec_io, &b, "b2") == 0);

	v = 0x5a;
	CHECK(vm_test_pio(vm, 0x103, 1, true, &v) == 0);
	CHECK(a.calls == 1 && a.off == 3 && a.size == 1 && a.wr &&
	    a.val == 0x5a);
	CHECK(vm_test_pio(vm, 0x106, 2, false, &v) == 0);
	CHECK(v == 0xab06 && a.off == 6 && !a.wr);
	CHECK(vm_test_pio(vm, 0x109, 1, false, &v) == 0 && b.off == 1);
	CHECK(vm_test_pio(vm, 0xff, 1, false, &v) == 0 && b.off == 7);
	/* an access straddling two ranges is nobody's */
	CHECK(vm_test_pio(vm, 0x107, 2, false, &v) == -ENOENT);
	CHECK(vm_test_pio(vm, 0x300, 1, false, &v) == -ENOENT);
	CHECK(vm_pio_unregister(vm, 0x100) == 0);
	CHECK(vm_pio_unregister(vm, 0x100) == -ENOENT);
	CHECK(vm_test_pio(vm, 0x103, 1, false, &v) == -ENOENT);
	CHECK(vm_pio_register(vm, 0x100, 8, err_io, NULL, "err") == 0);
	CHECK(vm_test_pio(vm, 0x100, 1, false, &v) == -EIO);

	/* a handler re-registering itself from inside the dispatch */
	m.vm = vm;
	m.base = 0x400;
	CHECK(vm_pio_register(vm, 0x400, 4, mover_io, &m, "mover") == 0);
	v = 0x500;
	CHECK(vm_test_pio(vm, 0x400, 4, true, &v) == 0);
	CHECK(vm_test_pio(vm, 0x400, 4, false, &v) == -ENOENT);
	CHECK(vm_test_pio(vm, 0x500, 4, false, &v) == 0 && v == 0x500);
	vm_free(vm);
}

static void
test_mmio_irq(void)
{
	struct vm *vm = vm_new_for_test(16 << 20);
	const struct vm_test_irq *ev;
	struct rec a = { 0 };
	uint64_t v;
	size_t n;

	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	CHECK(vm_mmio_register(vm, 0xc0001000, 0x1000, rec_io, &a, "a") == 0);
	CHECK(vm_mmio_register(vm, 0xc0001800, 0x1000, rec_io, &a, "a") ==
	    -EEXIST);
	v = 0x1122334455667788ULL;
	CHECK(vm_test_mmio(vm, 0xc0001ff8, 8, true, &v) == 0);
	CHECK(a.off == 0xff8 && a.size == 8 && a.val == v);
	CHECK(vm_test_mmio(vm, 0xc0001ffc, 8, true, &v) == -ENOENT);

	CHECK(vm_irq_line(vm, 4, 1) == 0);
	CHECK(vm_test_irq_level(vm, 4) == 1);
	CHECK(vm_irq_pulse(vm, 9) == 0);
	CHECK(vm_msi(vm, 0xfee00000, 0x4041) == 0);
	CHECK(vm_irq_line(vm, VM_NR_GSIS, 1) == -EINVAL);
	ev = vm_test_irqs(vm, &n);
	CHECK(n == 4);
	if (n == 4) {
		CHECK(ev[0].kind == VM_TEST_IRQ_LINE && ev[0].gsi == 4 &&
		    ev[0].level == 1);
		CHECK(ev[1].gsi == 9 && ev[1].level == 1);
		CHECK(ev[2].gsi == 9 && ev[2].level == 0);
		CHECK(ev[3].kind == VM_TEST_IRQ_MSI &&
		    ev[3].addr == 0xfee00000 && ev[3].data == 0x4041);
	}
	CHECK(vm_test_irq_level(vm, 9) == 0);
	vm_test_irq_clear(vm);
	vm_test_irqs(vm, &n);
	CHECK(n == 0);
	CHECK(vm_test_irq_level(vm, 4) == 1);	/* levels survive a clear */

	CHECK(vm_test_stop_state(vm).requested == 0);
	vm_poweroff(vm, 7);
	vm_request_reset(vm);	/* the first request wins */
	CHECK(vm_test_stop_state(vm).requested == 1);
	CHECK(vm_test_stop_state(vm).status == 7);
	vm_free(vm);
}

static void
test_devices(void)
{
	struct vm *vm = vm_new_for_test(16 << 20);
	uint64_t v;

	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	CHECK(vm_test_dev_add(vm, "no-such-model", "x", "x") == NULL);
	CHECK(vm_test_dev_add(vm, "pm", "pm", "pm") != NULL);
	/* a second instance collides on its ports and fails cleanly */
	CHECK(vm_test_dev_add(vm, "pm", "pm", "pm2") == NULL);
	v = 3;
	CHECK(vm_test_pio(vm, 0xf4, 1, true, &v) == 0);
	CHECK(vm_test_stop_state(vm).requested == 1);
	CHECK(vm_test_stop_state(vm).status == 3);
	CHECK(vm_ncpus(vm) == 1);
	CHECK(strcmp(vm_name(vm), "test") == 0);
	vm_free(vm);
}

int
main(void)
{
	test_memory();
	test_pio();
	test_mmio_irq();
	test_devices();
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_bus: ok\n");
	return 0;
}
