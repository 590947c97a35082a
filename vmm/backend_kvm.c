/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The backend of every VM hyve runs: interrupts, memory slots, the dirty
 * log and the boot vCPU go to KVM, and the guest's own stop requests stop
 * the VM (struct vm_backend_ops, vm_priv.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "vm_priv.h"

static int
kvm_dirty_get(struct vm *vm, const struct vm_mem_region *r,
    unsigned long *bitmap)
{
	struct kvm_dirty_log log = { .slot = r->slot, .dirty_bitmap = bitmap };

	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) != 0) {
		int e = errno;
		vm_log(vm, "KVM_GET_DIRTY_LOG %s: %s", r->name, strerror(e));
		return -e;
	}
	return 0;
}

static int
kvm_irq_line(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) != 0)
		return -errno;
	return 0;
}

static int
kvm_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	/* 1: delivered, 0: blocked by the guest (e.g. masked): not an error. */
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

static void
kvm_poweroff(struct vm *vm, int status)
{
	vm_request_stop(vm, VM_STOP_POWEROFF, status,
	    "guest powered off, status %d", status);
}

static void
kvm_reset(struct vm *vm)
{
	vm_request_stop(vm, VM_STOP_RESET, 0,
	    "guest requested a reset; hyve does not reboot guests, stopping");
}

static int
kvm_boot_cpu(struct vm *vm, const struct boot_plan *p)
{
	int rc;

	if (p->kind == BOOT_PVH)
		rc = vcpu_setup_pvh(&vm->vcpus[0], (uint32_t)p->entry,
		    (uint32_t)p->params);
	else
		rc = vcpu_setup_linux64(&vm->vcpus[0], p->entry, p->params);
	return rc != 0 ? -EIO : 0;
}

const struct vm_backend_ops vm_kvm_backend = {
	.name = "kvm",
	.ram_guard = 0,
	.host_cpu = true,
	.mem_register = vm_mem_kvm_register,
	.dirty_get = kvm_dirty_get,
	.irq_line = kvm_irq_line,
	.msi = kvm_msi,
	.poweroff = kvm_poweroff,
	.reset = kvm_reset,
	.boot_cpu = kvm_boot_cpu,
	.fini = NULL,
};
