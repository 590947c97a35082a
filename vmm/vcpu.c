/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * vCPUs: one thread each, running KVM_RUN and dispatching its exits.
 *
 * Stopping and pausing use the same kick: the requester sets a flag (the
 * run state, vmm/run.c), then signals the thread (SIG_KICK).  The handler
 * sets kvm_run.immediate_exit, so a thread that is about to enter KVM_RUN
 * returns at once and one that is inside returns with EINTR; either way it
 * sees the flag at the top of its loop and parks or leaves.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "sandbox.h"
#include "vm_priv.h"

#define SIG_KICK	SIGUSR1
/* Device errors reported per vCPU before hyve keeps quiet about them. */
#define DEV_ERR_REPORTS	10

static __thread struct kvm_run *tls_run;

static void
kick_handler(int sig)
{
	(void)sig;
	if (tls_run != NULL)
		tls_run->immediate_exit = 1;
}

int
vcpu_create(struct vm *vm, unsigned id)
{
	struct vcpu *v = &vm->vcpus[id];
	void *p;
	int fd;

	v->vm = vm;
	v->id = id;
	v->fd = -1;
	if ((fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id)) < 0) {
		int e = errno;
		vm_log(vm, "KVM_CREATE_VCPU %u: %s", id, strerror(e));
		return -e;
	}
	p = mmap(NULL, (size_t)vm->run_mmap_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		vm_log(vm, "mmap of vCPU %u's kvm_run: %s", id, strerror(e));
		close(fd);
		return -e;
	}
	v->fd = fd;
	v->run = p;
	v->run_size = (size_t)vm->run_mmap_size;
	return 0;
}

void
vcpu_destroy(struct vcpu *v)
{
	if (v->run != NULL)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

int
vcpu_setup_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *c = NULL;
	int rc;

	if ((rc = cpuid_for_vcpu(v->vm->supported_cpuid, v->id, v->vm->ncpus,
	    &c)) != 0) {
		vm_log(v->vm, "vCPU %u: building CPUID: %s", v->id,
		    strerror(-rc));
		return rc;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) != 0) {
		rc = -errno;
		vm_log(v->vm, "vCPU %u: KVM_SET_CPUID2: %s", v->id,
		    strerror(errno));
	}
	free(c);
	return rc;
}

/* LINT0 as ExtINT (the PIC) on the BSP, LINT1 as NMI everywhere: as PCs wire them. */
int
vcpu_setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state la;
	uint32_t lint0, lint1;

	if (ioctl(v->fd, KVM_GET_LAPIC, &la) != 0)
		goto fail;
	memcpy(&lint0, &la.regs[0x350], 4);
	memcpy(&lint1, &la.regs[0x360], 4);
	lint0 &= ~0x700U;
	if (v->id == 0)
		lint0 = (lint0 & ~0x10000U) | 0x700;	/* ExtINT, unmasked */
	lint1 = (lint1 & ~0x700U) | 0x400;		/* NMI */
	memcpy(&la.regs[0x350], &lint0, 4);
	memcpy(&la.regs[0x360], &lint1, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &la) != 0)
		goto fail;
	return 0;
fail:
	vm_log(v->vm, "vCPU %u: local APIC setup: %s", v->id, strerror(errno));
	return -errno;
}

static void
flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff,
	    .selector = sel, .type = type, .present = 1, .dpl = 0, .db = 1,
	    .s = 1, .l = 0, .g = 1 };
}

/*
 * The PVH entry state (docs/BOOT.md): 32-bit flat protected mode, paging
 * off, CS/DS/ES/SS/FS/GS flat 4 GiB, TR a busy 32-bit TSS, EBX = the
 * hvm_start_info address.
 */
int
vcpu_setup_pvh(struct vcpu *v, uint32_t entry, uint32_t start_info)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_SREGS, &sr) != 0)
		goto fail;
	flat_seg(&sr.cs, 0x10, 0xb);
	flat_seg(&sr.ds, 0x18, 0x3);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.tr = (struct kvm_segment){ .base = 0, .limit = 0x67,
	    .selector = 0x20, .type = 0xb, .present = 1, .s = 0, .g = 0 };
	sr.ldt = (struct kvm_segment){ .selector = 0, .type = 0x2,
	    .present = 1, .limit = 0xffff };
	sr.gdt.base = 0;
	sr.gdt.limit = 0;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	sr.cr0 = 0x11;		/* PE | ET */
	sr.cr3 = 0;
	sr.cr4 = 0;
	sr.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) != 0)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;
	r.rip = entry;
	r.rbx = start_info;
	if (ioctl(v->fd, KVM_SET_REGS, &r) != 0)
		goto fail;
	return 0;
fail:
	vm_log(v->vm, "vCPU %u: setting PVH entry registers: %s", v->id,
	    strerror(errno));
	return -errno;
}

/*
 * Linux's 64-bit boot protocol (docs/BOOT.md): long mode with paging on
 * through hyve's identity map of 4 GiB, CS = __BOOT_CS (64-bit code), DS,
 * ES, SS (and FS, GS) = __BOOT_DS, the cached descriptors matching the GDT
 * at BOOT_GDT, interrupts off, RSI = boot_params.  The protocol asks for
 * no stack; RSP points at a page of hyve's reserved boot area so that a
 * push before the kernel sets its own lands somewhere harmless.
 */
int
vcpu_setup_linux64(struct vcpu *v, uint64_t entry, uint64_t boot_params)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_SREGS, &sr) != 0)
		goto fail;
	flat_seg(&sr.cs, BOOT_SEL_CODE, 0xb);
	sr.cs.db = 0;
	sr.cs.l = 1;
	flat_seg(&sr.ds, BOOT_SEL_DATA, 0x3);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.tr = (struct kvm_segment){ .base = 0, .limit = 0x67,
	    .selector = BOOT_SEL_TSS, .type = 0xb, .present = 1, .s = 0,
	    .g = 0 };
	sr.ldt = (struct kvm_segment){ .selector = 0, .type = 0x2,
	    .present = 1, .limit = 0xffff };
	sr.gdt.base = BOOT_GDT;
	sr.gdt.limit = BOOT_GDT_LIMIT;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	sr.cr0 = 0x80000011;	/* PG | ET | PE */
	sr.cr3 = BOOT_PML4;
	sr.cr4 = 0x20;		/* PAE */
	sr.efer = 0x500;	/* LMA | LME */
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) != 0)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;
	r.rip = entry;
	r.rsi = boot_params;
	r.rsp = BOOT_STACK_TOP;
	if (ioctl(v->fd, KVM_SET_REGS, &r) != 0)
		goto fail;
	return 0;
fail:
	vm_log(v->vm, "vCPU %u: setting 64-bit Linux entry registers: %s",
	    v->id, strerror(errno));
	return -errno;
}

static uint64_t
vcpu_rip(struct vcpu *v, unsigned *cpl)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	*cpl = 0;
	if (ioctl(v->fd, KVM_GET_SREGS, &sr) == 0)
		*cpl = sr.cs.dpl;
	if (ioctl(v->fd, KVM_GET_REGS, &r) != 0)
		return ~0ULL;
	return r.rip;
}

static bool
warn_once(struct vm *vm, uint16_t port)
{
	uint64_t bit = 1ULL << (port % 64);

	return (atomic_fetch_or(&vm->warned_ports[port / 64], bit) & bit) == 0;
}

static void
report_dev_error(struct vcpu *v, const char *bus, uint64_t addr, bool wr,
    const char *owner, int rc)
{
	static _Atomic unsigned nreports;
	unsigned n = atomic_fetch_add(&nreports, 1);
	unsigned cpl;
	uint64_t rip;

	if (n >= DEV_ERR_REPORTS)
		return;
	rip = vcpu_rip(v, &cpl);
	vm_log(v->vm, "vCPU %u: %s of %s %#" PRIx64 " (%s) failed: %s "
	    "(RIP %#" PRIx64 ")%s", v->id, wr ? "write" : "read", bus, addr,
	    owner, strerror(-rc), rip, n + 1 == DEV_ERR_REPORTS ?
	    "; not reporting further device errors" : "");
}

static uint64_t
size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* 0 to go on, -1 when the vCPU must stop (a stop was requested). */
static int
handle_pio(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;
	bool wr = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned size = run->io.size, i;
	uint16_t port = run->io.port;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	char owner[48];

	for (i = 0; i < run->io.count; i++, data += size) {
		uint64_t val = 0;
		int rc;

		if (wr)
			memcpy(&val, data, size);
		rc = iobus_access(&vm->pio, port, size, wr, &val, owner,
		    sizeof(owner));
		if (rc == -ENOENT) {
			unsigned cpl;
			uint64_t rip, wval = val;

			val = ~0ULL;
			if (legacy_port_name(port) != NULL)
				goto done;
			if (!vm->strictio && !warn_once(vm, port))
				goto done;
			rip = vcpu_rip(v, &cpl);
			if (vm->strictio) {
				vm_request_stop(vm, VM_STOP_FAULT, 0,
				    "vCPU %u: guest %s %u byte%s %s I/O port "
				    "%#x%s%" PRIx64 "%s at RIP %#" PRIx64
				    " (CPL %u): no device there", v->id,
				    wr ? "wrote" : "read", size,
				    size > 1 ? "s" : "", wr ? "to" : "from",
				    port, wr ? " (value 0x" : "",
				    wr ? wval & size_mask(size) : 0,
				    wr ? ")" : "", rip, cpl);
				return -1;
			}
			vm_log(vm, "vCPU %u: guest %s I/O port %#x at RIP %#"
			    PRIx64 ": no device there; ignored "
			    "(x86.strictio=false, reported once per port)",
			    v->id, wr ? "wrote" : "read", port, rip);
		} else if (rc < 0) {
			report_dev_error(v, "port", port, wr, owner, rc);
			val = ~0ULL;
		}
done:
		if (!wr)
			memcpy(data, &val, size);
	}
	return 0;
}

static int
handle_mmio(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;
	bool wr = run->mmio.is_write;
	unsigned size = run->mmio.len;
	uint64_t addr = run->mmio.phys_addr, val = 0;
	char owner[48];
	int rc;

	if (size == 0 || size > 8)
		size = 8;
	if (wr)
		memcpy(&val, run->mmio.data, size);
	rc = iobus_access(&vm->mmio, addr, size, wr, &val, owner,
	    sizeof(owner));
	if (rc == -ENOENT) {
		static _Atomic unsigned nwarn;
		unsigned cpl;
		uint64_t rip, wval = val;

		val = ~0ULL;
		if (vm->strictmmio || atomic_fetch_add(&nwarn, 1) <
		    DEV_ERR_REPORTS) {
			rip = vcpu_rip(v, &cpl);
			if (vm->strictmmio) {
				vm_request_stop(vm, VM_STOP_FAULT, 0,
				    "vCPU %u: guest %s %u byte%s %s unmapped "
				    "MMIO address %#" PRIx64 "%s%" PRIx64 "%s "
				    "at RIP %#" PRIx64 " (CPL %u): no device "
				    "or RAM there", v->id, wr ? "wrote" : "read",
				    size, size > 1 ? "s" : "", wr ? "to" : "from",
				    addr, wr ? " (value 0x" : "",
				    wr ? wval & size_mask(size) : 0,
				    wr ? ")" : "", rip, cpl);
				return -1;
			}
			vm_log(vm, "vCPU %u: guest %s unmapped MMIO address %#"
			    PRIx64 " at RIP %#" PRIx64 "; ignored "
			    "(x86.strictmmio=false)", v->id,
			    wr ? "wrote" : "read", addr, rip);
		}
	} else if (rc < 0) {
		report_dev_error(v, "MMIO", addr, wr, owner, rc);
		val = ~0ULL;
	}
	if (!wr)
		memcpy(run->mmio.data, &val, size);
	return 0;
}

static const char *
internal_suberror(uint32_t s)
{
	switch (s) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exception while delivering an event";
	default:
		return "internal error";
	}
}

/* 0 to go on, -1 to leave the loop (a stop was requested). */
static int
handle_exit(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;
	unsigned cpl;
	uint64_t rip;

	v->nexits++;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		v->io_pending = true;
		return handle_pio(v);
	case KVM_EXIT_MMIO:
		v->io_pending = true;
		return handle_mmio(v);
	case KVM_EXIT_INTR:
		return 0;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; hyve always has one. */
		return 0;
	case KVM_EXIT_SHUTDOWN:
		rip = vcpu_rip(v, &cpl);
		vm_request_stop(vm, VM_STOP_FAULT, 0, "vCPU %u: triple fault "
		    "(shutdown) at RIP %#" PRIx64 " (CPL %u)", v->id, rip, cpl);
		return -1;
	case KVM_EXIT_INTERNAL_ERROR: {
		char data[160] = "";
		uint32_t i, n = run->internal.ndata;
		size_t len = 0;

		if (n > 8)
			n = 8;
		for (i = 0; i < n && len < sizeof(data); i++)
			len += (size_t)snprintf(data + len, sizeof(data) - len,
			    " %#llx", (unsigned long long)run->internal.data[i]);
		rip = vcpu_rip(v, &cpl);
		vm_request_stop(vm, VM_STOP_FAULT, 0, "vCPU %u: KVM could not "
		    "run the guest: %s (suberror %u) at RIP %#" PRIx64
		    " (CPL %u)%s%s", v->id,
		    internal_suberror(run->internal.suberror),
		    run->internal.suberror, rip, cpl, n ? "; data" : "", data);
		return -1;
	}
	case KVM_EXIT_FAIL_ENTRY:
		rip = vcpu_rip(v, &cpl);
		vm_request_stop(vm, VM_STOP_HOST, 0, "vCPU %u: KVM could not "
		    "enter the guest (hardware entry failure reason %#llx) at "
		    "RIP %#" PRIx64, v->id, (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason, rip);
		return -1;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_poweroff(vm, 0);
			return -1;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_reset(vm);
			return -1;
		default:
			vm_request_stop(vm, VM_STOP_FAULT, 0, "vCPU %u: guest "
			    "crashed (system event %u)", v->id,
			    run->system_event.type);
			return -1;
		}
	default:
		rip = vcpu_rip(v, &cpl);
		vm_request_stop(vm, VM_STOP_HOST, 0, "vCPU %u: unhandled KVM "
		    "exit reason %u at RIP %#" PRIx64, v->id, run->exit_reason,
		    rip);
		return -1;
	}
}

/*
 * Park until the pause ends; true when the VM is stopping instead.
 * A port or MMIO read handled before the pause is completed first (an
 * immediate-exit KVM_RUN), so the saved registers hold its result.
 */
static bool
park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	/*
	 * Completing one access may need another exit (an access that
	 * crosses a page or is wider than 8 bytes, a read-modify-write, a
	 * string instruction): handle exits until KVM_RUN says the
	 * instruction is done (EINTR, immediate_exit), so that a checkpoint
	 * never holds half an instruction.
	 */
	while (v->io_pending && !vm_run_stopping(vm)) {
		v->run->immediate_exit = 1;
		if (ioctl(v->fd, KVM_RUN, 0) != 0) {
			v->run->immediate_exit = 0;
			v->io_pending = false;
			break;
		}
		v->run->immediate_exit = 0;
		v->io_pending = false;
		if (handle_exit(v) != 0)
			break;
	}
	return vm_run_vcpu_park(v);
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Auto-converge (a migration's, vm_run_throttle_set()): once the vCPU has
 * run its share of a 10 ms period, it sleeps the rest.  The migration
 * kicks every vCPU each period, so a guest that never exits comes here
 * too.  A pause or stop is not held up by a sleep (at most 9.9 ms).
 */
static void
throttle(struct vcpu *v)
{
	static __thread uint64_t ran_from;
	unsigned pct = vm_run_throttle(v->vm);
	struct timespec ts;
	uint64_t now;

	if (pct == 0) {
		ran_from = 0;
		return;
	}
	now = mono_us();
	if (ran_from == 0 || now - ran_from > 1000000) {
		ran_from = now;
		return;
	}
	if (now - ran_from < (uint64_t)(100 - pct) * 100 ||
	    vm_run_vcpu_should_park(v->vm))
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)pct * 100000;
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
	ran_from = mono_us();
}

static void *
vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;

	sandbox_enter(vm, SBX_VCPU, "%u", v->id);
	tls_run = v->run;
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		throttle(v);
		if (vm_run_vcpu_should_park(vm)) {
			if (park(v))
				break;
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) != 0) {
			int e = errno;
			v->run->immediate_exit = 0;
			if (e == EINTR || e == EAGAIN)
				continue;
			vm_request_stop(vm, VM_STOP_HOST, 0,
			    "vCPU %u: KVM_RUN: %s", v->id, strerror(e));
			break;
		}
		v->io_pending = false;
		v->run->immediate_exit = 0;
		atomic_thread_fence(memory_order_seq_cst);
		if (handle_exit(v) != 0)
			break;
	}
	tls_run = NULL;
	vm_run_vcpu_exit(v);
	return NULL;
}

void
vcpu_kick(struct vcpu *v)
{
	pthread_kill(v->thread, SIG_KICK);
}

int
vcpus_start(struct vm *vm)
{
	struct sigaction sa;
	unsigned n;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_KICK, &sa, NULL) != 0)
		return -errno;
	/*
	 * APs first, so that they wait in KVM_RUN (UNINITIALIZED) for the
	 * BSP's INIT/SIPI; the BSP last.
	 */
	for (n = 0; n < vm->ncpus; n++) {
		struct vcpu *v = &vm->vcpus[(n + 1) % vm->ncpus];
		if ((rc = vm_run_vcpu_start(v, vcpu_main)) != 0) {
			vm_request_stop(vm, VM_STOP_HOST, 0, "cannot start a "
			    "thread for vCPU %u: %s", v->id, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void
vcpus_join(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->ncpus; i++) {
		if (!vm->vcpus[i].thread_started)
			continue;
		pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].thread_started = false;
	}
}
