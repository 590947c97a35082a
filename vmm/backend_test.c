/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The test VM (vm_test.h): guest RAM and buses as in a real VM, no KVM.
 * Its backend records the interrupts devices raise and the stop requests
 * the guest makes for the test to read, instead of sending them, and
 * puts a guard page on each side of a RAM region, so that a device access
 * just outside guest RAM faults instead of landing in whatever the host
 * mapped there.  Test builds only (HYVE_TEST_HOOKS).
 */
#ifdef HYVE_TEST_HOOKS

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "vm_priv.h"

struct vm_test_state {
	pthread_mutex_t	 lock;
	struct vm_test_irq *irq;
	size_t		 nirq, cap;
	int		 level[VM_NR_GSIS];
	struct vm_test_stop stop;
};

/* A VM the fuzzers built by hand has no state: nothing is recorded. */
static void
irq_log(struct vm *vm, struct vm_test_irq ev)
{
	struct vm_test_state *t = vm->tstate;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->nirq == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct vm_test_irq *n = realloc(t->irq, cap * sizeof(*n));
		if (n == NULL) {
			pthread_mutex_unlock(&t->lock);
			return;
		}
		t->irq = n;
		t->cap = cap;
	}
	t->irq[t->nirq++] = ev;
	if (ev.kind == VM_TEST_IRQ_LINE)
		t->level[ev.gsi] = ev.level;
	pthread_mutex_unlock(&t->lock);
}

static void
stop_log(struct vm *vm, int requested, int status)
{
	struct vm_test_state *t = vm->tstate;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->stop.requested == 0)
		t->stop = (struct vm_test_stop){ requested, status };
	pthread_mutex_unlock(&t->lock);
}

static int
test_mem_register(struct vm *vm)
{
	(void)vm;
	return 0;
}

/* Only devices write a test VM's RAM (vm_gpa_dirty()): no vCPU did. */
static int
test_dirty_get(struct vm *vm, const struct vm_mem_region *r,
    unsigned long *bitmap)
{
	(void)vm;
	(void)r;
	(void)bitmap;
	return 0;
}

static int
test_irq_line(struct vm *vm, unsigned gsi, int level)
{
	irq_log(vm, (struct vm_test_irq){ .kind = VM_TEST_IRQ_LINE,
	    .gsi = gsi, .level = level });
	return 0;
}

static int
test_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	irq_log(vm, (struct vm_test_irq){ .kind = VM_TEST_IRQ_MSI,
	    .addr = addr, .data = data });
	return 0;
}

static void
test_poweroff(struct vm *vm, int status)
{
	stop_log(vm, 1, status);
}

static void
test_reset(struct vm *vm)
{
	stop_log(vm, 2, 0);
}

/* No vCPU: the test reads vm->entry and vm->start_info instead. */
static int
test_boot_cpu(struct vm *vm, const struct boot_plan *plan)
{
	(void)vm;
	(void)plan;
	return 0;
}

static void
test_fini(struct vm *vm)
{
	struct vm_test_state *t = vm->tstate;

	if (t == NULL)
		return;
	free(t->irq);
	pthread_mutex_destroy(&t->lock);
	free(t);
	vm->tstate = NULL;
}

const struct vm_backend_ops vm_test_backend = {
	.name = "test",
	.ram_guard = 4096,
	.host_cpu = false,
	.mem_register = test_mem_register,
	.dirty_get = test_dirty_get,
	.irq_line = test_irq_line,
	.msi = test_msi,
	.poweroff = test_poweroff,
	.reset = test_reset,
	.boot_cpu = test_boot_cpu,
	.fini = test_fini,
};

struct vm *
vm_new_for_test(uint64_t mem_size)
{
	struct cfg *cfg;
	struct vm *vm;

	if ((cfg = cfg_new()) == NULL)
		return NULL;
	if ((vm = vm_alloc(cfg)) == NULL) {
		cfg_free(cfg);
		return NULL;
	}
	vm->be = &vm_test_backend;
	if ((vm->tstate = calloc(1, sizeof(*vm->tstate))) == NULL) {
		vm_free(vm);
		return NULL;
	}
	pthread_mutex_init(&vm->tstate->lock, NULL);
	vm->ncpus = 1;
	/* Device tests check the line of every bad request they make. */
	vm->glog_max = UINT_MAX;
	snprintf(vm->name, sizeof(vm->name), "test");
	if (vm_mem_init(vm, mem_size) != 0) {
		vm_free(vm);
		return NULL;
	}
	return vm;
}

void
vm_test_log_budget(struct vm *vm, unsigned max, unsigned window_ms)
{
	vm->glog_max = max;
	vm->glog_window_ms = window_ms;
}

int
vm_test_cfg_set(struct vm *vm, const char *key, const char *value)
{
	char err[256];
	int rc;

	if ((rc = cfg_set(vm->cfg, key, value, "test", err,
	    sizeof(err))) != 0)
		vm_log(vm, "%s", err);
	return rc;
}

struct dev *
vm_test_dev_add(struct vm *vm, const char *model, const char *node,
    const char *id)
{
	const struct devemu *emu = devemu_find(model);

	if (emu == NULL) {
		vm_log(vm, "unknown device model '%s'", model);
		return NULL;
	}
	return vm_dev_add(vm, emu, node, id);
}

int
vm_test_pio(struct vm *vm, uint16_t port, unsigned size, bool is_write,
    uint64_t *val)
{
	return iobus_access(&vm->pio, port, size, is_write, val, NULL, 0);
}

int
vm_test_mmio(struct vm *vm, uint64_t addr, unsigned size, bool is_write,
    uint64_t *val)
{
	return iobus_access(&vm->mmio, addr, size, is_write, val, NULL, 0);
}

const struct vm_test_irq *
vm_test_irqs(struct vm *vm, size_t *n)
{
	*n = vm->tstate->nirq;
	return vm->tstate->irq;
}

void
vm_test_irq_clear(struct vm *vm)
{
	pthread_mutex_lock(&vm->tstate->lock);
	vm->tstate->nirq = 0;
	pthread_mutex_unlock(&vm->tstate->lock);
}

int
vm_test_irq_level(struct vm *vm, unsigned gsi)
{
	return gsi < VM_NR_GSIS ? vm->tstate->level[gsi] : 0;
}

struct vm_test_stop
vm_test_stop_state(struct vm *vm)
{
	struct vm_test_stop s;

	pthread_mutex_lock(&vm->tstate->lock);
	s = vm->tstate->stop;
	pthread_mutex_unlock(&vm->tstate->lock);
	return s;
}

#endif /* HYVE_TEST_HOOKS */
