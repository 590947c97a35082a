/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A VM without KVM, for unit tests of device models: guest RAM laid out as
 * in a real VM, the port and MMIO buses, configuration, device instances,
 * and a log of the interrupts devices raised.  Needs no /dev/kvm: its
 * backend is vm_test_backend (vmm/backend_test.c).  Test builds only
 * (HYVE_TEST_HOOKS): release programs have none of it.
 */
#ifndef HYVE_VM_TEST_H
#define HYVE_VM_TEST_H

#include "vmm.h"

/* Fini every device (reverse order), free RAM, buses and config. */
void vm_free(struct vm *vm);

#ifdef HYVE_TEST_HOOKS
/* A VM named "test" with @mem_size bytes of RAM (low, then above 4 GiB). */
struct vm *vm_new_for_test(uint64_t mem_size);

/* Set a config key (before vm_test_dev_add() of the device that reads it). */
int vm_test_cfg_set(struct vm *vm, const char *key, const char *value);

/*
 * Create an instance of @model with config node @node and checkpoint id
 * @id, and run its init.  NULL when the model is unknown or init failed
 * (the reason is logged).
 */
struct dev *vm_test_dev_add(struct vm *vm, const char *model,
    const char *node, const char *id);

/*
 * Dispatch an access as a vCPU exit would.  Returns the handler's result,
 * or -ENOENT when no range covers [addr, addr + size).
 */
int vm_test_pio(struct vm *vm, uint16_t port, unsigned size, bool is_write,
    uint64_t *val);
int vm_test_mmio(struct vm *vm, uint64_t addr, unsigned size, bool is_write,
    uint64_t *val);

/* Interrupts raised so far, in order (vm_irq_pulse logs 1 then 0). */
enum vm_test_irq_kind { VM_TEST_IRQ_LINE = 1, VM_TEST_IRQ_MSI };
struct vm_test_irq {
	enum vm_test_irq_kind kind;
	unsigned gsi;		/* LINE */
	int level;		/* LINE */
	uint64_t addr;		/* MSI */
	uint32_t data;		/* MSI */
};
/* The log (valid until the next interrupt or clear) and its length. */
const struct vm_test_irq *vm_test_irqs(struct vm *vm, size_t *n);
void vm_test_irq_clear(struct vm *vm);
/* Current level of @gsi as the devices drove it (0 if never). */
int vm_test_irq_level(struct vm *vm, unsigned gsi);

/* Stop requests devices made (vm_poweroff/vm_request_reset). */
struct vm_test_stop {
	int requested;		/* 0 none, 1 poweroff, 2 reset */
	int status;		/* poweroff status */
};
struct vm_test_stop vm_test_stop_state(struct vm *vm);

/*
 * vm_log_guest's budget: @max lines per @window_ms (0: hyve's default, 10
 * per 10 s).  A test VM logs every line unless a test sets one.
 */
void vm_test_log_budget(struct vm *vm, unsigned max, unsigned window_ms);
#endif /* HYVE_TEST_HOOKS */

#endif /* HYVE_VM_TEST_H */
