/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The parts of a VM that need no KVM: allocation, logging, and the
 * interrupts and stop requests of devices and the guest, which go to the
 * VM's backend (vmm/backend_kvm.c, or vmm/backend_test.c in unit tests).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lazyram.h"
#include "vm_priv.h"

struct vm *
vm_alloc(struct cfg *cfg)
{
	struct vm *vm;

	if ((vm = calloc(1, sizeof(*vm))) == NULL)
		return NULL;
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->event_fd = -1;
	iobus_init(&vm->pio, "port");
	iobus_init(&vm->mmio, "MMIO");
	vm_run_init(vm);
	vm_ckpt_state_init(vm);
	vm->be = &vm_kvm_backend;
	vm->strictio = vm->strictmmio = true;
	return vm;
}

void
vm_free(struct vm *vm)
{
	unsigned i;

	if (vm == NULL)
		return;
	vm_devs_fini(vm);
	/* No thread is left that could touch guest RAM. */
	lazyram_free(vm);
	for (i = 0; vm->vcpus != NULL && i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm_mem_fini(vm);
	iobus_fini(&vm->pio);
	iobus_fini(&vm->mmio);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	free(vm->supported_cpuid);
	free(vm->msr_index);
	vm_run_fini(vm);
	vm_ckpt_state_fini(vm);
	if (vm->be->fini != NULL)
		vm->be->fini(vm);
	cfg_free(vm->cfg);
	free(vm);
}

const char *
vm_name(const struct vm *vm)
{
	return vm->name;
}

bool
vm_restoring(const struct vm *vm)
{
	return vm->restoring;
}

unsigned
vm_ncpus(const struct vm *vm)
{
	return vm->ncpus;
}

void
vm_logv(const struct vm *vm, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	/* One write per message keeps lines from several threads whole. */
	if (vm != NULL && vm->name[0] != '\0')
		n = snprintf(buf, sizeof(buf), "hyve: %s: ", vm->name);
	else
		n = snprintf(buf, sizeof(buf), "hyve: ");
	if (n < 0)
		return;
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	if (vm != NULL)
		atomic_fetch_add(&((struct vm *)vm)->nlogs, 1);
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}

void
vm_log(const struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vm_logv(vm, fmt, ap);
	va_end(ap);
}

#define GUEST_LOG_MAX		10
#define GUEST_LOG_WINDOW_MS	10000

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
vm_log_guest(const struct vm *vm, const char *fmt, ...)
{
	struct vm *v = (struct vm *)vm;
	char msg[900];
	uint64_t now, start, win;
	unsigned dropped, max;
	va_list ap;

	if (v == NULL)
		goto log;
	win = v->glog_window_ms != 0 ? v->glog_window_ms : GUEST_LOG_WINDOW_MS;
	max = v->glog_max != 0 ? v->glog_max : GUEST_LOG_MAX;
	now = mono_ms();
	start = atomic_load(&v->glog_start_ms);
	/* A new window: one thread wins the exchange and resets the count. */
	if ((start == 0 || now - start >= win) &&
	    atomic_compare_exchange_strong(&v->glog_start_ms, &start,
	    now != 0 ? now : 1))
		atomic_store(&v->glog_count, 0);
	if (atomic_fetch_add(&v->glog_count, 1) >= max) {
		atomic_fetch_add(&v->glog_dropped, 1);
		return;
	}
	dropped = atomic_exchange(&v->glog_dropped, 0);
	if (dropped != 0) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		vm_log(vm, "%s (%u more such guest errors were not logged)",
		    msg, dropped);
		return;
	}
log:
	va_start(ap, fmt);
	vm_logv(vm, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Interrupts                                                                */
/* ------------------------------------------------------------------------ */

int
vm_irq_line(struct vm *vm, unsigned gsi, int level)
{
	if (gsi >= VM_NR_GSIS)
		return -EINVAL;
	return vm->be->irq_line(vm, gsi, level ? 1 : 0);
}

int
vm_irq_pulse(struct vm *vm, unsigned gsi)
{
	int rc;

	if ((rc = vm_irq_line(vm, gsi, 1)) != 0)
		return rc;
	return vm_irq_line(vm, gsi, 0);
}

int
vm_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	return vm->be->msi(vm, addr, data);
}

/* ------------------------------------------------------------------------ */
/* The guest's stop requests                                                 */
/* ------------------------------------------------------------------------ */

void
vm_poweroff(struct vm *vm, int status)
{
	vm->be->poweroff(vm, status);
}

void
vm_request_reset(struct vm *vm)
{
	vm->be->reset(vm);
}
