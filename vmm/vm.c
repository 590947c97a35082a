/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The parts of a VM that need no KVM: allocation, logging, interrupts and
 * stop requests (recorded instead of sent when the VM is a test VM), and
 * the test constructor that device unit tests use.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

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
#ifdef HYVE_TEST_HOOKS
	pthread_mutex_init(&vm->test_lock, NULL);
#endif
	vm->strictio = vm->strictmmio = true;
	return vm;
}

#ifdef HYVE_TEST_HOOKS
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
	vm->test = true;
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
#endif

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
#ifdef HYVE_TEST_HOOKS
	free(vm->tirq);
	pthread_mutex_destroy(&vm->test_lock);
#endif
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

#ifdef HYVE_TEST_HOOKS
void
vm_test_log_budget(struct vm *vm, unsigned max, unsigned window_ms)
{
	vm->glog_max = max;
	vm->glog_window_ms = window_ms;
}
#endif

/* ------------------------------------------------------------------------ */
/* Interrupts                                                                */
/* ------------------------------------------------------------------------ */

#ifdef HYVE_TEST_HOOKS
static void
test_irq_log(struct vm *vm, struct vm_test_irq ev)
{
	pthread_mutex_lock(&vm->test_lock);
	if (vm->ntirq == vm->tirq_cap) {
		size_t cap = vm->tirq_cap ? vm->tirq_cap * 2 : 64;
		struct vm_test_irq *n = realloc(vm->tirq, cap * sizeof(*n));
		if (n == NULL) {
			pthread_mutex_unlock(&vm->test_lock);
			return;
		}
		vm->tirq = n;
		vm->tirq_cap = cap;
	}
	vm->tirq[vm->ntirq++] = ev;
	if (ev.kind == VM_TEST_IRQ_LINE)
		vm->tlevel[ev.gsi] = ev.level;
	pthread_mutex_unlock(&vm->test_lock);
}
#endif

int
vm_irq_line(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };

	if (gsi >= VM_NR_GSIS)
		return -EINVAL;
#ifdef HYVE_TEST_HOOKS
	if (vm->test) {
		test_irq_log(vm, (struct vm_test_irq){ .kind =
		    VM_TEST_IRQ_LINE, .gsi = gsi, .level = level ? 1 : 0 });
		return 0;
	}
#endif
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) != 0)
		return -errno;
	return 0;
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
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

#ifdef HYVE_TEST_HOOKS
	if (vm->test) {
		test_irq_log(vm, (struct vm_test_irq){ .kind = VM_TEST_IRQ_MSI,
		    .addr = addr, .data = data });
		return 0;
	}
#endif
	/* 1: delivered, 0: blocked by the guest (e.g. masked): not an error. */
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Stopping                                                                  */
/* ------------------------------------------------------------------------ */

void
vm_poweroff(struct vm *vm, int status)
{
#ifdef HYVE_TEST_HOOKS
	if (vm->test) {
		pthread_mutex_lock(&vm->test_lock);
		if (vm->tstop.requested == 0)
			vm->tstop = (struct vm_test_stop){ 1, status };
		pthread_mutex_unlock(&vm->test_lock);
		return;
	}
#endif
	vm_request_stop(vm, VM_STOP_POWEROFF, status,
	    "guest powered off, status %d", status);
}

void
vm_request_reset(struct vm *vm)
{
#ifdef HYVE_TEST_HOOKS
	if (vm->test) {
		pthread_mutex_lock(&vm->test_lock);
		if (vm->tstop.requested == 0)
			vm->tstop = (struct vm_test_stop){ 2, 0 };
		pthread_mutex_unlock(&vm->test_lock);
		return;
	}
#endif
	vm_request_stop(vm, VM_STOP_RESET, 0,
	    "guest requested a reset; hyve does not reboot guests, stopping");
}

/* ------------------------------------------------------------------------ */
/* Test helpers (vm_test.h), test builds only                                */
/* ------------------------------------------------------------------------ */

#ifdef HYVE_TEST_HOOKS

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
	*n = vm->ntirq;
	return vm->tirq;
}

void
vm_test_irq_clear(struct vm *vm)
{
	pthread_mutex_lock(&vm->test_lock);
	vm->ntirq = 0;
	pthread_mutex_unlock(&vm->test_lock);
}

int
vm_test_irq_level(struct vm *vm, unsigned gsi)
{
	return gsi < VM_NR_GSIS ? vm->tlevel[gsi] : 0;
}

struct vm_test_stop
vm_test_stop_state(struct vm *vm)
{
	struct vm_test_stop s;

	pthread_mutex_lock(&vm->test_lock);
	s = vm->tstop;
	pthread_mutex_unlock(&vm->test_lock);
	return s;
}
#endif /* HYVE_TEST_HOOKS */
