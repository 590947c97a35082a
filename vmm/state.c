/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * KVM state to and from checkpoint documents (see state.h).  Registers are
 * decoded into fields named as a person looks for them (rip, cr3, efer,
 * cs.base...); the local APIC page and the XSAVE area are named register
 * by register too (vmm/regfile.c).  Field names and types are the format:
 * each name is written here as a string, never taken from the KVM struct's
 * member (a renamed kernel or local member must not rename a field); add
 * fields as optional, never rename one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "state.h"

static int
kvm_err(struct vm *vm, const char *what, int id)
{
	int e = errno;

	if (id >= 0)
		vm_log(vm, "vCPU %d: %s: %s", id, what, strerror(e));
	else
		vm_log(vm, "%s: %s", what, strerror(e));
	return -EIO;
}

/* ------------------------------------------------------------------------ */
/* MSRs                                                                      */
/* ------------------------------------------------------------------------ */

static const struct {
	uint32_t index;
	const char *name;
} msr_names[] = {
	{ 0x00000010, "tsc" },
	{ 0x00000011, "kvm_wall_clock" },
	{ 0x00000012, "kvm_system_time" },
	{ 0x0000001b, "apic_base" },
	{ 0x0000003a, "feature_control" },
	{ 0x00000034, "smi_count" },
	{ 0x0000003b, "tsc_adjust" },
	{ 0x00000048, "spec_ctrl" },
	{ 0x0000008b, "ucode_rev" },
	{ 0x000000ce, "platform_info" },
	{ 0x0000010a, "arch_capabilities" },
	{ 0x00000140, "misc_features_enables" },
	{ 0x00000174, "sysenter_cs" },
	{ 0x00000175, "sysenter_esp" },
	{ 0x00000176, "sysenter_eip" },
	{ 0x0000017a, "mcg_status" },
	{ 0x0000017b, "mcg_ctl" },
	{ 0x000001a0, "misc_enable" },
	{ 0x000001d9, "debugctl" },
	{ 0x000001db, "last_branch_from_ip" },
	{ 0x000001dc, "last_branch_to_ip" },
	{ 0x000001dd, "last_int_from_ip" },
	{ 0x000001de, "last_int_to_ip" },
	{ 0x000001fc, "power_ctl" },
	{ 0x00000277, "pat" },
	{ 0x00000345, "perf_capabilities" },
	{ 0x000006e0, "tsc_deadline" },
	{ 0x00000da0, "xss" },
	{ 0x4b564d00, "kvm_wall_clock_new" },
	{ 0x4b564d01, "kvm_system_time_new" },
	{ 0x4b564d02, "kvm_async_pf_en" },
	{ 0x4b564d03, "kvm_steal_time" },
	{ 0x4b564d04, "kvm_pv_eoi_en" },
	{ 0x4b564d05, "kvm_poll_control" },
	{ 0x4b564d06, "kvm_async_pf_int" },
	{ 0x4b564d07, "kvm_async_pf_ack" },
	{ 0xc0000080, "efer" },
	{ 0xc0000081, "star" },
	{ 0xc0000082, "lstar" },
	{ 0xc0000083, "cstar" },
	{ 0xc0000084, "fmask" },
	{ 0xc0000100, "fs_base" },
	{ 0xc0000101, "gs_base" },
	{ 0xc0000102, "kernel_gs_base" },
	{ 0xc0000103, "tsc_aux" },
	{ 0xc0010015, "amd_hwcr" },
	{ 0xc0010117, "amd_vm_hsave_pa" },
	{ 0xc001011f, "amd_virt_spec_ctrl" },
};

const char *
msr_name(uint32_t index)
{
	size_t i;

	for (i = 0; i < sizeof(msr_names) / sizeof(msr_names[0]); i++)
		if (msr_names[i].index == index)
			return msr_names[i].name;
	return NULL;
}

static void
msr_field(uint32_t index, char *buf, size_t size)
{
	const char *n = msr_name(index);

	if (n != NULL)
		snprintf(buf, size, "%s", n);
	else
		snprintf(buf, size, "msr_%08x", index);
}

int
vm_msr_list_init(struct vm *vm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} one;
	uint32_t i;
	int rc = 0;

	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) != 0 &&
	    errno != E2BIG)
		return kvm_err(vm, "KVM_GET_MSR_INDEX_LIST", -1);
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (list == NULL)
		return -EIO;
	list->nmsrs = probe.nmsrs;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) != 0) {
		rc = kvm_err(vm, "KVM_GET_MSR_INDEX_LIST", -1);
		goto out;
	}
	free(vm->msr_index);
	vm->msr_index = calloc(list->nmsrs + 1, sizeof(uint32_t));
	if (vm->msr_index == NULL) {
		rc = -EIO;
		goto out;
	}
	vm->nmsrs = 0;
	/* Keep the ones this host lets us read (some are listed but absent). */
	/* KVM_GET/SET_MSRS take at most 255 entries a call. */
	for (i = 0; i < list->nmsrs && vm->nmsrs < STATE_MAX_MSRS - 1; i++) {
		memset(&one, 0, sizeof(one));
		one.h.nmsrs = 1;
		one.e.index = list->indices[i];
		if (ioctl(vm->vcpus[0].fd, KVM_GET_MSRS, &one) == 1)
			vm->msr_index[vm->nmsrs++] = list->indices[i];
	}
	if (i < list->nmsrs)
		vm_log(vm, "KVM lists %u MSRs; checkpoints keep the first %u "
		    "this host can read", list->nmsrs, vm->nmsrs);
out:
	free(list);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* vCPU state                                                                */
/* ------------------------------------------------------------------------ */

int
vcpu_state_init(struct vm *vm, struct vcpu_state *s)
{
	memset(s, 0, sizeof(*s));
	s->xsave_size = vm->xsave_size;
	if ((s->xsave = calloc(1, s->xsave_size)) == NULL)
		return -ENOMEM;
	if ((s->cpuid = calloc(STATE_MAX_CPUID, sizeof(*s->cpuid))) == NULL) {
		free(s->xsave);
		s->xsave = NULL;
		return -ENOMEM;
	}
	return 0;
}

void
vcpu_state_fini(struct vcpu_state *s)
{
	free(s->xsave);
	free(s->cpuid);
	s->xsave = NULL;
	s->cpuid = NULL;
}

/* KVM_GET/SET_CPUID2 with @s's entries. */
static int
cpuid_ioctl(struct vcpu *v, struct vcpu_state *s, bool set)
{
	struct kvm_cpuid2 *c;
	int rc = 0;

	if (!set) {
		char why[128] = "";
		if ((rc = cpuid_read(v->fd, kvm_ioctl_sys, s->cpuid,
		    STATE_MAX_CPUID, &s->ncpuid, why, sizeof(why))) != 0) {
			vm_log(v->vm, "vCPU %u: KVM_GET_CPUID2: %s%s", v->id,
			    rc == -EIO ? "the kernel's answer is inconsistent: "
			    : strerror(-rc), why);
			return -EIO;
		}
		return 0;
	}
	c = calloc(1, sizeof(*c) + s->ncpuid * sizeof(c->entries[0]));
	if (c == NULL)
		return -ENOMEM;
	c->nent = s->ncpuid;
	memcpy(c->entries, s->cpuid, s->ncpuid * sizeof(c->entries[0]));
	if (ioctl(v->fd, KVM_SET_CPUID2, c) != 0)
		rc = kvm_err(v->vm, "KVM_SET_CPUID2", (int)v->id);
	free(c);
	return rc;
}

int
vcpu_state_get(struct vcpu *v, struct vcpu_state *s)
{
	struct vm *vm = v->vm;
	struct kvm_msrs *m;
	int id = (int)v->id, n;

	/*
	 * The MP state first: reading it makes KVM act on a pending INIT or
	 * SIPI, which resets the registers read next (a checkpoint taken while
	 * the guest brings up its APs would otherwise pair old registers with
	 * the new state).
	 */
	if (ioctl(v->fd, KVM_GET_MP_STATE, &s->mp) != 0)
		return kvm_err(vm, "KVM_GET_MP_STATE", id);
	if (cpuid_ioctl(v, s, false) != 0)
		return -EIO;
	if (ioctl(v->fd, KVM_GET_REGS, &s->regs) != 0)
		return kvm_err(vm, "KVM_GET_REGS", id);
	if (ioctl(v->fd, KVM_GET_SREGS, &s->sregs) != 0)
		return kvm_err(vm, "KVM_GET_SREGS", id);
	if (ioctl(v->fd, vm->xsave2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
	    s->xsave) != 0)
		return kvm_err(vm, "KVM_GET_XSAVE", id);
	/* Without XSAVE on the host there are no XCRs (and no ioctl to ask). */
	memset(&s->xcrs, 0, sizeof(s->xcrs));
	if (vm->has_xcrs && ioctl(v->fd, KVM_GET_XCRS, &s->xcrs) != 0)
		return kvm_err(vm, "KVM_GET_XCRS", id);
	if (ioctl(v->fd, KVM_GET_LAPIC, &s->lapic) != 0)
		return kvm_err(vm, "KVM_GET_LAPIC", id);
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->events) != 0)
		return kvm_err(vm, "KVM_GET_VCPU_EVENTS", id);
	if (ioctl(v->fd, KVM_GET_DEBUGREGS, &s->dregs) != 0)
		return kvm_err(vm, "KVM_GET_DEBUGREGS", id);

	m = calloc(1, sizeof(*m) + vm->nmsrs * sizeof(m->entries[0]));
	if (m == NULL)
		return -ENOMEM;
	m->nmsrs = vm->nmsrs;
	for (unsigned i = 0; i < vm->nmsrs; i++)
		m->entries[i].index = vm->msr_index[i];
	n = ioctl(v->fd, KVM_GET_MSRS, m);
	if (n != (int)vm->nmsrs) {
		vm_log(vm, "vCPU %d: KVM_GET_MSRS read %d of %u MSRs%s%s", id,
		    n, vm->nmsrs, n < 0 ? ": " : "", n < 0 ? strerror(errno) :
		    "");
		free(m);
		return -EIO;
	}
	s->nmsrs = m->nmsrs;
	memcpy(s->msrs, m->entries, m->nmsrs * sizeof(m->entries[0]));
	free(m);
	return 0;
}

int
vcpu_state_set(struct vcpu *v, const struct vcpu_state *s)
{
	struct vm *vm = v->vm;
	struct kvm_msrs *m;
	int id = (int)v->id, n;

	/*
	 * The order of Firecracker's restore, which works here too: CPUID
	 * first (it decides which MSRs and XSAVE features are valid).
	 */
	if (s->ncpuid > 0 && cpuid_ioctl(v, (struct vcpu_state *)s, true) != 0)
		return -EIO;
	if (ioctl(v->fd, KVM_SET_SREGS, &s->sregs) != 0)
		return kvm_err(vm, "KVM_SET_SREGS", id);
	if (ioctl(v->fd, KVM_SET_REGS, &s->regs) != 0)
		return kvm_err(vm, "KVM_SET_REGS", id);
	if (ioctl(v->fd, KVM_SET_XSAVE, s->xsave) != 0)
		return kvm_err(vm, "KVM_SET_XSAVE", id);
	/* KVM refuses an empty list (EINVAL) on a host without XSAVE. */
	if (s->xcrs.nr_xcrs > 0 && ioctl(v->fd, KVM_SET_XCRS, &s->xcrs) != 0)
		return kvm_err(vm, "KVM_SET_XCRS", id);
	if (ioctl(v->fd, KVM_SET_LAPIC, &s->lapic) != 0)
		return kvm_err(vm, "KVM_SET_LAPIC", id);
	m = calloc(1, sizeof(*m) + s->nmsrs * sizeof(m->entries[0]));
	if (m == NULL)
		return -ENOMEM;
	m->nmsrs = s->nmsrs;
	memcpy(m->entries, s->msrs, s->nmsrs * sizeof(m->entries[0]));
	n = ioctl(v->fd, KVM_SET_MSRS, m);
	if (n != (int)s->nmsrs) {
		char name[32] = "?";
		if (n >= 0 && (uint32_t)n < s->nmsrs)
			msr_field(s->msrs[n].index, name, sizeof(name));
		vm_log(vm, "vCPU %d: KVM_SET_MSRS stopped at MSR %d of %u (%s)",
		    id, n, s->nmsrs, name);
		free(m);
		return -EIO;
	}
	free(m);
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &s->events) != 0)
		return kvm_err(vm, "KVM_SET_VCPU_EVENTS", id);
	if (ioctl(v->fd, KVM_SET_MP_STATE, &s->mp) != 0)
		return kvm_err(vm, "KVM_SET_MP_STATE", id);
	if (ioctl(v->fd, KVM_SET_DEBUGREGS, &s->dregs) != 0)
		return kvm_err(vm, "KVM_SET_DEBUGREGS", id);
	return 0;
}

static void
seg_io(ckp_io_t *io, const char *name, struct kvm_segment *seg)
{
	struct kvm_segment *s = seg;

	if (ckp_io_enter(io, name, 1) < 0)
		return;
	CKP_IO_NAMED(io, "base", s->base);
	CKP_IO_NAMED(io, "limit", s->limit);
	CKP_IO_NAMED(io, "selector", s->selector);
	CKP_IO_NAMED(io, "type", s->type);
	CKP_IO_NAMED(io, "present", s->present);
	CKP_IO_NAMED(io, "dpl", s->dpl);
	CKP_IO_NAMED(io, "db", s->db);
	CKP_IO_NAMED(io, "s", s->s);
	CKP_IO_NAMED(io, "l", s->l);
	CKP_IO_NAMED(io, "g", s->g);
	CKP_IO_NAMED(io, "avl", s->avl);
	CKP_IO_NAMED(io, "unusable", s->unusable);
	ckp_io_leave(io);
}

static void
dtable_io(ckp_io_t *io, const char *name, struct kvm_dtable *dt)
{
	struct kvm_dtable *s = dt;

	if (ckp_io_enter(io, name, 1) < 0)
		return;
	CKP_IO_NAMED(io, "base", s->base);
	CKP_IO_NAMED(io, "limit", s->limit);
	ckp_io_leave(io);
}

/*
 * The registers a person looks for first (rip, rsp, cr3, efer...) sit
 * directly in vcpu@N; segments and descriptor tables are subsections.
 */
static void
regs_io(ckp_io_t *io, struct kvm_regs *r)
{
	struct kvm_regs *s = r;

	CKP_IO_NAMED(io, "rip", s->rip);
	CKP_IO_NAMED(io, "rsp", s->rsp);
	CKP_IO_NAMED(io, "rflags", s->rflags);
	CKP_IO_NAMED(io, "rax", s->rax);
	CKP_IO_NAMED(io, "rbx", s->rbx);
	CKP_IO_NAMED(io, "rcx", s->rcx);
	CKP_IO_NAMED(io, "rdx", s->rdx);
	CKP_IO_NAMED(io, "rsi", s->rsi);
	CKP_IO_NAMED(io, "rdi", s->rdi);
	CKP_IO_NAMED(io, "rbp", s->rbp);
	CKP_IO_NAMED(io, "r8", s->r8);
	CKP_IO_NAMED(io, "r9", s->r9);
	CKP_IO_NAMED(io, "r10", s->r10);
	CKP_IO_NAMED(io, "r11", s->r11);
	CKP_IO_NAMED(io, "r12", s->r12);
	CKP_IO_NAMED(io, "r13", s->r13);
	CKP_IO_NAMED(io, "r14", s->r14);
	CKP_IO_NAMED(io, "r15", s->r15);
}

static void
sregs_io(ckp_io_t *io, struct kvm_sregs *sr, uint32_t version)
{
	struct kvm_sregs *s = sr;

	CKP_IO_NAMED(io, "cr0", s->cr0);
	CKP_IO_NAMED(io, "cr2", s->cr2);
	CKP_IO_NAMED(io, "cr3", s->cr3);
	CKP_IO_NAMED(io, "cr4", s->cr4);
	CKP_IO_NAMED(io, "cr8", s->cr8);
	CKP_IO_NAMED(io, "efer", s->efer);
	CKP_IO_NAMED(io, "apic_base", s->apic_base);
	seg_io(io, "cs", &sr->cs);
	seg_io(io, "ds", &sr->ds);
	seg_io(io, "es", &sr->es);
	seg_io(io, "fs", &sr->fs);
	seg_io(io, "gs", &sr->gs);
	seg_io(io, "ss", &sr->ss);
	seg_io(io, "tr", &sr->tr);
	seg_io(io, "ldt", &sr->ldt);
	dtable_io(io, "gdt", &sr->gdt);
	dtable_io(io, "idt", &sr->idt);
	/* Version 2: a 256-bit number, bit N for vector N (vmm/regfile.c). */
	if (version >= 2)
		regfile_hex_io(io, "interrupt_bitmap", sr->interrupt_bitmap,
		    sizeof(sr->interrupt_bitmap));
	else
		ckp_io_bytes(io, "interrupt_bitmap", sr->interrupt_bitmap,
		    sizeof(sr->interrupt_bitmap), 0);
}

static void
events_io(ckp_io_t *io, struct kvm_vcpu_events *ev)
{
	struct kvm_vcpu_events *s = ev;

	if (ckp_io_enter(io, "events", 1) < 0)
		return;
	CKP_IO_NAMED(io, "exception_injected", s->exception.injected);
	CKP_IO_NAMED(io, "exception_nr", s->exception.nr);
	CKP_IO_NAMED(io, "exception_has_error_code",
	    s->exception.has_error_code);
	CKP_IO_NAMED(io, "exception_pending", s->exception.pending);
	CKP_IO_NAMED(io, "exception_error_code", s->exception.error_code);
	CKP_IO_NAMED(io, "exception_has_payload", s->exception_has_payload);
	CKP_IO_NAMED(io, "exception_payload", s->exception_payload);
	CKP_IO_NAMED(io, "interrupt_injected", s->interrupt.injected);
	CKP_IO_NAMED(io, "interrupt_nr", s->interrupt.nr);
	CKP_IO_NAMED(io, "interrupt_soft", s->interrupt.soft);
	CKP_IO_NAMED(io, "interrupt_shadow", s->interrupt.shadow);
	CKP_IO_NAMED(io, "nmi_injected", s->nmi.injected);
	CKP_IO_NAMED(io, "nmi_pending", s->nmi.pending);
	CKP_IO_NAMED(io, "nmi_masked", s->nmi.masked);
	CKP_IO_NAMED(io, "sipi_vector", s->sipi_vector);
	CKP_IO_NAMED(io, "flags", s->flags);
	CKP_IO_NAMED(io, "smi_smm", s->smi.smm);
	CKP_IO_NAMED(io, "smi_pending", s->smi.pending);
	CKP_IO_NAMED(io, "smi_smm_inside_nmi", s->smi.smm_inside_nmi);
	CKP_IO_NAMED(io, "smi_latched_init", s->smi.latched_init);
	ckp_io_field(io, "triple_fault_pending", CKP_TYPE_UINT8,
	    &s->triple_fault.pending, 1, CKP_F_OPTIONAL, 0);
	ckp_io_leave(io);
}

static void
dregs_io(ckp_io_t *io, struct kvm_debugregs *d)
{
	struct kvm_debugregs *s = d;

	if (ckp_io_enter(io, "debugregs", 1) < 0)
		return;
	CKP_IO_NAMED(io, "dr0", s->db[0]);
	CKP_IO_NAMED(io, "dr1", s->db[1]);
	CKP_IO_NAMED(io, "dr2", s->db[2]);
	CKP_IO_NAMED(io, "dr3", s->db[3]);
	CKP_IO_NAMED(io, "dr6", s->dr6);
	CKP_IO_NAMED(io, "dr7", s->dr7);
	CKP_IO_NAMED(io, "flags", s->flags);
	ckp_io_leave(io);
}

static void
msrs_io(const uint32_t *index, unsigned nindex, ckp_io_t *io,
    struct vcpu_state *s)
{
	char name[32];
	unsigned i;

	if (ckp_io_enter(io, "msrs", 1) < 0)
		return;
	if (ckp_io_saving(io)) {
		for (i = 0; i < s->nmsrs; i++) {
			msr_field(s->msrs[i].index, name, sizeof(name));
			ckp_io_field(io, name, CKP_TYPE_UINT64,
			    &s->msrs[i].data, 8, 0, 0);
		}
	} else {
		/*
		 * Restore what this host has: an MSR saved elsewhere and
		 * unknown here is reported (unread field), one missing from
		 * the checkpoint keeps its reset value.
		 */
		s->nmsrs = 0;
		for (i = 0; i < nindex && s->nmsrs < STATE_MAX_MSRS; i++) {
			msr_field(index[i], name, sizeof(name));
			if (!ckp_sec_has(ckp_io_section(io), name))
				continue;
			s->msrs[s->nmsrs].index = index[i];
			ckp_io_field(io, name, CKP_TYPE_UINT64,
			    &s->msrs[s->nmsrs].data, 8, 0, 0);
			s->nmsrs++;
		}
	}
	ckp_io_leave(io);
}

static void
xcrs_io(ckp_io_t *io, struct kvm_xcrs *x)
{
	char name[16];
	unsigned i;

	if (ckp_io_enter(io, "xcrs", 1) < 0)
		return;
	if (ckp_io_saving(io)) {
		for (i = 0; i < x->nr_xcrs && i < KVM_MAX_XCRS; i++) {
			snprintf(name, sizeof(name), "xcr%u", x->xcrs[i].xcr);
			ckp_io_field(io, name, CKP_TYPE_UINT64,
			    &x->xcrs[i].value, 8, 0, 0);
		}
	} else {
		x->nr_xcrs = 0;
		for (i = 0; i < STATE_MAX_XCRS && x->nr_xcrs < KVM_MAX_XCRS;
		    i++) {
			snprintf(name, sizeof(name), "xcr%u", i);
			if (!ckp_sec_has(ckp_io_section(io), name))
				continue;
			x->xcrs[x->nr_xcrs].xcr = i;
			ckp_io_field(io, name, CKP_TYPE_UINT64,
			    &x->xcrs[x->nr_xcrs].value, 8, 0, 0);
			x->nr_xcrs++;
		}
	}
	ckp_io_leave(io);
}

/*
 * One section per CPUID leaf, "leaf_00000007_0" (function, index), with
 * the four registers and KVM's flags.  On restore the guest gets the saved
 * CPUID back: it already looked at it.
 */
static void
cpuid_io(ckp_io_t *io, struct vcpu_state *s)
{
	struct kvm_cpuid_entry2 *e;
	char name[32];
	ckp_ent_t *ent;
	unsigned fn, idx;
	uint32_t i;
	int n;

	if (ckp_io_saving(io)) {
		if (s->ncpuid == 0 || ckp_io_enter(io, "cpuid", 1) < 0)
			return;
		for (i = 0; i < s->ncpuid; i++) {
			e = &s->cpuid[i];
			snprintf(name, sizeof(name), "leaf_%08x_%u", e->function,
			    e->index);
			if (ckp_io_enter(io, name, 1) < 0)
				break;
			CKP_IO_NAMED(io, "eax", e->eax);
			CKP_IO_NAMED(io, "ebx", e->ebx);
			CKP_IO_NAMED(io, "ecx", e->ecx);
			CKP_IO_NAMED(io, "edx", e->edx);
			CKP_IO_NAMED(io, "flags", e->flags);
			ckp_io_leave(io);
		}
		ckp_io_leave(io);
		return;
	}
	s->ncpuid = 0;
	/* Optional: a checkpoint without it keeps the CPUID built now. */
	if (ckp_io_enter_opt(io, "cpuid", 1) < 0)
		return;
	for (ent = ckp_sec_first(ckp_io_section(io)); ent != NULL &&
	    ckp_io_error(io) == 0; ent = ckp_ent_next(ent)) {
		const char *nm = ckp_ent_name(ent);
		if (ckp_ent_type(ent) != CKP_TYPE_SECTION ||
		    sscanf(nm, "leaf_%8x_%u%n", &fn, &idx, &n) != 2 ||
		    nm[n] != '\0')
			continue;	/* reported as unknown when leaving */
		if (s->ncpuid == STATE_MAX_CPUID) {
			char path[256];
			ckp_sec_path(ckp_io_section(io), path, sizeof(path));
			ckp_doc_set_error(ckp_io_doc(io), -E2BIG, "%s: more "
			    "than %d leaves", path, STATE_MAX_CPUID);
			break;
		}
		e = &s->cpuid[s->ncpuid];
		memset(e, 0, sizeof(*e));
		e->function = fn;
		e->index = idx;
		if (ckp_io_enter(io, nm, 1) < 0)
			break;
		CKP_IO_NAMED(io, "eax", e->eax);
		CKP_IO_NAMED(io, "ebx", e->ebx);
		CKP_IO_NAMED(io, "ecx", e->ecx);
		CKP_IO_NAMED(io, "edx", e->edx);
		CKP_IO_NAMED(io, "flags", e->flags);
		ckp_io_leave(io);
		s->ncpuid++;
	}
	ckp_io_leave(io);
}

/* Register @reg of leaf @fn (index 0) in KVM_GET_SUPPORTED_CPUID @c. */
static uint32_t
cpuid_supported(const struct kvm_cpuid2 *c, uint32_t fn, int reg)
{
	uint32_t i;

	for (i = 0; c != NULL && i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == 0)
			return (&c->entries[i].eax)[reg];
	return 0;
}

static const struct kvm_cpuid_entry2 *
cpuid_find(const struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t fn,
    uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	return NULL;
}

/* Append to @buf (@size bytes, @n used so far), truncating. */
static void __attribute__((format(printf, 4, 5)))
appendf(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n >= size)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *n, size - *n, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n = *n + (size_t)w >= size ? size - 1 : *n + (size_t)w;
}

/*
 * The feature flags a guest may have used must exist here: compare the
 * saved leaves @a (@na entries) of vCPU @id with @b (@nb), the CPUID hyve
 * gives that vCPU on this host, which is what the guest would see if it
 * booted here.  Flags that follow the guest's own settings (OSXSAVE,
 * OSPKE, the APIC enable) are not features.  @supported (may be NULL) is
 * KVM_GET_SUPPORTED_CPUID.  0, or -EINVAL with the message in @msg: every
 * missing feature of every leaf in one list, so that an operator moving a
 * guest learns at once all that this host lacks.
 */
static int
cpuid_features_check(const struct kvm_cpuid_entry2 *a, uint32_t na,
    const struct kvm_cpuid_entry2 *b, uint32_t nb,
    const struct kvm_cpuid2 *supported, unsigned id, char *msg, size_t len)
{
	static const struct {
		uint32_t fn, idx;
		int reg;	/* 0 eax, 1 ebx, 2 ecx, 3 edx */
		uint32_t ignore;
	} feat[] = {
		{ 1, 0, 2, 1U << 27 },			/* OSXSAVE */
		{ 1, 0, 3, (1U << 28) | (1U << 9) },	/* HTT: hyve's; APIC */
		{ 7, 0, 1, 0 }, { 7, 0, 2, 1U << 4 },	/* OSPKE */
		{ 7, 0, 3, 0 },
		{ 0xd, 1, 0, 0 },
		{ 0x80000001, 0, 2, 0 }, { 0x80000001, 0, 3, 0 },
		{ 0x80000021, 0, 0, 0 },		/* AutoIBRS... */
		/*
		 * KVM's paravirtual features (kvmclock, async PF, PV EOI...):
		 * a guest that enabled one would otherwise fail in
		 * KVM_SET_MSRS on a KVM without it, unnamed.
		 */
		{ 0x40000001, 0, 0, 0 },
	};
	static const char *const regname[] = { "eax", "ebx", "ecx", "edx" };
	const struct kvm_cpuid_entry2 *ea, *eb;
	uint32_t va, vb, missing, first = 0;
	char what[512], where[256], reg[32], names[256];
	size_t i, nw = 0, nr = 0, nregs = 0;

	for (i = 0; i < sizeof(feat) / sizeof(feat[0]); i++) {
		ea = cpuid_find(a, na, feat[i].fn, feat[i].idx);
		eb = cpuid_find(b, nb, feat[i].fn, feat[i].idx);
		if (ea == NULL)
			continue;
		va = (&ea->eax)[feat[i].reg];
		vb = eb != NULL ? (&eb->eax)[feat[i].reg] : 0;
		missing = va & ~vb & ~feat[i].ignore;
		/*
		 * VMX and SVM: hyve stopped offering them (it does not save a
		 * nested guest); a checkpoint of an older hyve that had them
		 * still restores where KVM supports them.
		 */
		if (feat[i].fn == 1 && feat[i].reg == 2)
			missing &= ~(cpuid_supported(supported, 1, 2) &
			    (1U << 5));
		if (feat[i].fn == 0x80000001 && feat[i].reg == 2)
			missing &= ~(cpuid_supported(supported, 0x80000001, 2) &
			    (1U << 2));
		if (missing == 0)
			continue;
		cpuid_feature_names(feat[i].fn, feat[i].idx, feat[i].reg,
		    missing, names, sizeof(names));
		snprintf(reg, sizeof(reg), "leaf_%08x_%u.%s", feat[i].fn,
		    feat[i].idx, regname[feat[i].reg]);
		appendf(what, sizeof(what), &nw, "%s%s",
		    nregs > 0 ? ", " : "", names);
		appendf(where, sizeof(where), &nr, "%s%s bits %#x",
		    nregs > 0 ? ", " : "", reg, missing);
		if (nregs++ == 0)
			first = missing;
	}
	/* One register names its field; several, the cpuid section. */
	if (nregs == 1)
		snprintf(msg, len, "devices.vcpu@%u.cpuid.%s: this host lacks "
		    "%s (bits %#x): the checkpoint's CPU has features this "
		    "host's KVM does not offer", id, reg, what, first);
	else if (nregs > 1)
		snprintf(msg, len, "devices.vcpu@%u.cpuid: this host lacks %s "
		    "(%s): the checkpoint's CPU has features this host's KVM "
		    "does not offer", id, what, where);
	if (nregs > 0)
		return -EINVAL;
	/*
	 * The XSAVE area is the CPU's layout: each component the guest may
	 * have saved must be as big and at the same offset here.
	 */
	for (i = 2; i < 64; i++) {
		ea = cpuid_find(a, na, 0xd, (uint32_t)i);
		eb = cpuid_find(b, nb, 0xd, (uint32_t)i);
		if (ea == NULL || ea->eax == 0)
			continue;
		if (eb == NULL || eb->eax != ea->eax || eb->ebx != ea->ebx) {
			snprintf(msg, len, "devices.vcpu@%u.cpuid.leaf_0000000d_"
			    "%zu: XSAVE component %zu is %u bytes at offset %u "
			    "in the checkpoint, %u at %u on this host", id, i, i,
			    ea->eax, ea->ebx, eb != NULL ? eb->eax : 0,
			    eb != NULL ? eb->ebx : 0);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * cpuid_features_check() against the vCPU KVM created here, the one the
 * guest will run on: some KVMs (kvm_pvm) give a vCPU more than
 * KVM_GET_SUPPORTED_CPUID lists, so only a vCPU tells.  A restore makes
 * this check in its dry run, before any device or file exists.
 */
static int
cpuid_check(struct vm *vm, ckp_io_t *io, unsigned id, struct vcpu_state *s)
{
	struct vcpu_state now;
	char msg[1024];
	int rc;

	if (s->ncpuid == 0 || !vm->be->host_cpu || id >= vm->ncpus)
		return 0;
	if ((rc = vcpu_state_init(vm, &now)) != 0)
		return ckp_doc_set_error(ckp_io_doc(io), rc, "out of memory");
	if (cpuid_ioctl(&vm->vcpus[id], &now, false) != 0) {
		vcpu_state_fini(&now);
		return ckp_doc_set_error(ckp_io_doc(io), -EIO,
		    "devices.vcpu@%u.cpuid: cannot read this host's CPUID", id);
	}
	rc = cpuid_features_check(s->cpuid, s->ncpuid, now.cpuid, now.ncpuid,
	    vm->supported_cpuid, id, msg, sizeof(msg));
	if (rc != 0)
		ckp_doc_set_error(ckp_io_doc(io), rc, "%s", msg);
	vcpu_state_fini(&now);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* What KVM refuses, checked before anything is created                      */
/* ------------------------------------------------------------------------ */

#define CR0_PE		(1ULL << 0)
#define CR0_NW		(1ULL << 29)
#define CR0_CD		(1ULL << 30)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_KNOWN	0x205d01ULL	/* SCE, LME, LMA, NXE, SVME, FFXSR, AUTOIBRS */
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define APIC_X2APIC	(1ULL << 10)
#define APIC_ENABLE	(1ULL << 11)
#define XFEAT_FP	(1ULL << 0)
#define XFEAT_SSE	(1ULL << 1)
#define XFEAT_YMM	(1ULL << 2)
#define XFEAT_BNDREGS	(1ULL << 3)
#define XFEAT_BNDCSR	(1ULL << 4)
#define XFEAT_AVX512	(7ULL << 5)	/* opmask, ZMM_Hi256, Hi16_ZMM */
#define XFEAT_XTILE	(3ULL << 17)	/* TILECFG, TILEDATA */
#define MSR_APIC_BASE	0x0000001bU
#define MSR_EFER	0xc0000080U
/* The XSAVE area's legacy region and header (Intel SDM vol. 1, 13.4). */
#define XSAVE_MXCSR	24
#define XSAVE_HDR	512
#define XSAVE_HDR_LEN	64
/* Longest XSAVE area a first reading takes (KVM's are a few KiB). */
#define XSAVE_READ_MAX	(1U << 20)

int
vcpu_host_probe(struct vcpu_host *h)
{
	const struct kvm_cpuid_entry2 *e;
	uint8_t fx[512] __attribute__((aligned(16)));
	struct kvm_cpuid2 *c = NULL;
	uint32_t mask;
	int fd, rc = 0;

	memset(h, 0, sizeof(*h));
	h->xcr0 = XFEAT_FP | XFEAT_SSE;
	if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if ((rc = kvm_supported_cpuid(fd, &c)) != 0)
		goto out;
	h->supported = c;
	/* KVM_SET_XSAVE takes the XSAVE features KVM supports, no others. */
	if ((e = cpuid_find(c->entries, c->nent, 0xd, 0)) != NULL)
		h->xcr0 |= e->eax | (uint64_t)e->edx << 32;
	h->smm = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_SMM) > 0;
	/*
	 * KVM checks MXCSR against the host kernel's mask, which is this
	 * CPU's: what FXSAVE stores (0 means the architectural 0xffbf).
	 */
	memset(fx, 0, sizeof(fx));
	__asm__ volatile("fxsave %0" : "=m" (fx));
	memcpy(&mask, fx + 28, sizeof(mask));
	h->mxcsr_mask = mask != 0 ? mask : 0xffbf;
	h->known = true;
out:
	close(fd);
	return rc;
}

void
vcpu_host_fini(struct vcpu_host *h)
{
	free(h->supported);
	h->supported = NULL;
	h->known = false;
}

static uint32_t
cpuid_reg(const struct kvm_cpuid_entry2 *c, uint32_t n, uint32_t fn,
    uint32_t idx, int reg)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, n, fn, idx);

	if (e == NULL)
		return 0;
	switch (reg) {
	case 0:
		return e->eax;
	case 1:
		return e->ebx;
	case 2:
		return e->ecx;
	default:
		return e->edx;
	}
}

/* KVM's cpuid_maxphyaddr(): 36 unless leaf 0x80000008 says otherwise. */
static unsigned
guest_maxphyaddr(const struct kvm_cpuid_entry2 *c, uint32_t n)
{
	if (cpuid_find(c, n, 0x80000000, 0) == NULL ||
	    cpuid_reg(c, n, 0x80000000, 0, 0) < 0x80000008 ||
	    cpuid_find(c, n, 0x80000008, 0) == NULL)
		return 36;
	return cpuid_reg(c, n, 0x80000008, 0, 0) & 0xff;
}

static uint64_t
above_bit(unsigned bit)
{
	return bit >= 64 ? 0 : ~0ULL << bit;
}

/*
 * CR4 bits KVM takes only when the vCPU's CPUID has the feature
 * (__cr4_reserved_bits() in arch/x86/kvm/x86.h); one of two features is
 * enough for CET.  KVM always takes VME..OSXMMEXCPT (bits 0-10).
 */
static const struct {
	unsigned cr4bit;
	uint32_t fn, idx;
	int	 reg;		/* 0 eax, 1 ebx, 2 ecx, 3 edx */
	unsigned bit;
} cr4_feat[] = {
	{ 11, 7, 0, 2, 2 },	/* UMIP */
	{ 12, 7, 0, 2, 16 },	/* LA57 */
	{ 13, 1, 0, 2, 5 },	/* VMXE: VMX */
	{ 16, 7, 0, 1, 0 },	/* FSGSBASE */
	{ 17, 1, 0, 2, 17 },	/* PCIDE: PCID */
	{ 18, 1, 0, 2, 26 },	/* OSXSAVE: XSAVE */
	{ 20, 7, 0, 1, 7 },	/* SMEP */
	{ 21, 7, 0, 1, 20 },	/* SMAP */
	{ 22, 7, 0, 2, 3 },	/* PKE: PKU */
	{ 23, 7, 0, 2, 7 },	/* CET: shadow stacks */
	{ 23, 7, 0, 3, 20 },	/* CET: indirect branch tracking */
	{ 28, 7, 1, 0, 26 },	/* LAM_SUP: LAM */
	{ 32, 7, 1, 0, 17 },	/* FRED */
};

/*
 * EFER as kvm_valid_efer() takes it: SCE always, the others when the
 * vCPU's CPUID has their feature (LM, NX, SVM, FFXSR, AutoIBRS); without
 * a CPUID, every bit KVM knows.  AutoIBRS is what a Zen 4 guest of a 6.3+
 * host sets, SVME what a guest sets when it loads its own kvm_amd.
 */
static uint64_t
efer_allowed(const struct kvm_cpuid_entry2 *c, uint32_t n)
{
	uint32_t e1c = cpuid_reg(c, n, 0x80000001, 0, 2);
	uint32_t e1d = cpuid_reg(c, n, 0x80000001, 0, 3);
	uint64_t ok = 1;	/* SCE */

	if (n == 0)
		return EFER_KNOWN;
	if (e1d >> 29 & 1)
		ok |= EFER_LME | EFER_LMA;
	if (e1d >> 20 & 1)
		ok |= 1ULL << 11;	/* NXE */
	if (e1c >> 2 & 1)
		ok |= 1ULL << 12;	/* SVME */
	if (e1d >> 25 & 1)
		ok |= 1ULL << 14;	/* FFXSR */
	if (cpuid_reg(c, n, 0x80000021, 0, 0) >> 8 & 1)
		ok |= 1ULL << 21;	/* AUTOIBRS */
	return ok;
}

/* Without a CPUID, every bit KVM knows. */
static uint64_t
cr4_allowed(const struct kvm_cpuid_entry2 *c, uint32_t n)
{
	uint64_t ok = 0x7ff;
	size_t i;

	for (i = 0; i < sizeof(cr4_feat) / sizeof(cr4_feat[0]); i++)
		if (n == 0 || (cpuid_reg(c, n, cr4_feat[i].fn, cr4_feat[i].idx,
		    cr4_feat[i].reg) >> cr4_feat[i].bit & 1))
			ok |= 1ULL << cr4_feat[i].cr4bit;
	return ok;
}

/*
 * apic_base as kvm_apic_set_base() takes it from userspace: 0, or -EINVAL
 * with why in @why.
 */
static int
apic_base_bad(uint64_t v, const struct kvm_cpuid_entry2 *c, uint32_t n,
    char *why, size_t whylen)
{
	unsigned maxphy = guest_maxphyaddr(c, n);
	uint64_t bits = v & (above_bit(maxphy) | 0x2ff);
	bool x2apic = n == 0 || (cpuid_reg(c, n, 1, 0, 2) >> 21 & 1);

	if (bits != 0)
		snprintf(why, whylen, "reserved bits %#llx set (bits 0-7 and 9, "
		    "and from the vCPU's MAXPHYADDR, %u, up)",
		    (unsigned long long)bits, maxphy);
	else if ((v & APIC_X2APIC) != 0 && !x2apic)
		snprintf(why, whylen, "x2APIC mode, but the vCPU's CPUID has no "
		    "x2APIC");
	else if ((v & (APIC_X2APIC | APIC_ENABLE)) == APIC_X2APIC)
		snprintf(why, whylen, "x2APIC enabled with the APIC disabled "
		    "(not a mode)");
	else
		return 0;
	return -EINVAL;
}

#define BAD(...) do {							\
	snprintf(err, errlen, __VA_ARGS__);				\
	return -EINVAL;							\
} while (0)

static int
check_sregs(const struct vcpu_state *s, const struct kvm_cpuid_entry2 *c,
    uint32_t n, const char *path, char *err, size_t errlen)
{
	const struct kvm_sregs *sr = &s->sregs;
	uint64_t bits, cr4ok = cr4_allowed(c, n);
	unsigned maxphy = guest_maxphyaddr(c, n);
	char why[160];

	if ((sr->cr0 >> 32) != 0)
		BAD("%s.cr0 %#llx: bits 63-32 are reserved", path,
		    (unsigned long long)sr->cr0);
	if ((sr->cr0 & CR0_NW) != 0 && (sr->cr0 & CR0_CD) == 0)
		BAD("%s.cr0 %#llx: NW (not write-through) without CD (cache "
		    "disable)", path, (unsigned long long)sr->cr0);
	if ((sr->cr0 & CR0_PG) != 0 && (sr->cr0 & CR0_PE) == 0)
		BAD("%s.cr0 %#llx: paging (PG) without protected mode (PE)",
		    path, (unsigned long long)sr->cr0);
	if ((sr->cr4 & ~cr4ok) != 0)
		BAD("%s.cr4 %#llx: bits %#llx are reserved%s", path,
		    (unsigned long long)sr->cr4,
		    (unsigned long long)(sr->cr4 & ~cr4ok), n > 0 ?
		    " for the vCPU's CPUID" : "");
	if ((sr->efer & ~efer_allowed(c, n)) != 0)
		BAD("%s.efer %#llx: bits %#llx are reserved%s", path,
		    (unsigned long long)sr->efer,
		    (unsigned long long)(sr->efer & ~efer_allowed(c, n)),
		    n > 0 ? " for the vCPU's CPUID" : "");
	if ((sr->efer & EFER_LME) != 0 && (sr->cr0 & CR0_PG) != 0) {
		/* Long mode: KVM's kvm_is_valid_sregs(). */
		if ((sr->efer & EFER_LMA) == 0 || (sr->cr4 & CR4_PAE) == 0)
			BAD("%s.efer %#llx: long mode (EFER.LME with cr0.PG) "
			    "needs EFER.LMA and cr4.PAE (cr4 %#llx)", path,
			    (unsigned long long)sr->efer,
			    (unsigned long long)sr->cr4);
		/* LAM's metadata bits 61-62 are not an address. */
		bits = sr->cr3 & above_bit(maxphy);
		if (cpuid_reg(c, n, 7, 1, 0) >> 26 & 1)
			bits &= ~(3ULL << 61);
		if (bits != 0)
			BAD("%s.cr3 %#llx: bits %#llx are at or above the vCPU's "
			    "MAXPHYADDR (%u)", path,
			    (unsigned long long)sr->cr3,
			    (unsigned long long)bits, maxphy);
	} else {
		if ((sr->efer & EFER_LMA) != 0)
			BAD("%s.efer %#llx: EFER.LMA (long mode active) without "
			    "EFER.LME and cr0.PG (cr0 %#llx)", path,
			    (unsigned long long)sr->efer,
			    (unsigned long long)sr->cr0);
		if (sr->cs.l != 0)
			BAD("%s.cs.l: a 64-bit code segment outside long mode "
			    "(efer %#llx, cr0 %#llx)", path,
			    (unsigned long long)sr->efer,
			    (unsigned long long)sr->cr0);
	}
	if (apic_base_bad(sr->apic_base, c, n, why, sizeof(why)) != 0)
		BAD("%s.apic_base %#llx: %s", path,
		    (unsigned long long)sr->apic_base, why);
	return 0;
}

static int
check_xsave(const struct vcpu_state *s, const struct vcpu_host *h,
    const char *path, char *err, size_t errlen)
{
	uint64_t bv, comp;
	uint32_t mxcsr, mask;
	size_t i;

	if (s->xsave_size < XSAVE_HDR + XSAVE_HDR_LEN)
		BAD("%s.xsave: %zu bytes, shorter than an XSAVE area's legacy "
		    "region and header (%d)", path, s->xsave_size,
		    XSAVE_HDR + XSAVE_HDR_LEN);
	memcpy(&bv, s->xsave + XSAVE_HDR, 8);
	memcpy(&comp, s->xsave + XSAVE_HDR + 8, 8);
	memcpy(&mxcsr, s->xsave + XSAVE_MXCSR, 4);
	if (comp != 0)
		BAD("%s.xsave: XCOMP_BV %#llx (the compacted format); KVM takes "
		    "the standard format only", path, (unsigned long long)comp);
	for (i = XSAVE_HDR + 16; i < XSAVE_HDR + XSAVE_HDR_LEN; i++)
		if (s->xsave[i] != 0)
			BAD("%s.xsave: byte %zu of the XSAVE header (reserved) is "
			    "%#x, not 0", path, i - XSAVE_HDR, s->xsave[i]);
	if (h != NULL && h->known && (bv & ~h->xcr0) != 0) {
		char what[256];
		xstate_names(bv & ~h->xcr0, what, sizeof(what));
		BAD("%s.xsave: XSTATE_BV %#llx has state components %#llx (%s) "
		    "this host's KVM does not support (it supports %#llx)", path,
		    (unsigned long long)bv, (unsigned long long)(bv & ~h->xcr0),
		    what, (unsigned long long)h->xcr0);
	}
	/* Bits 31-16 are reserved on every CPU; the rest per this one. */
	mask = h != NULL && h->known ? h->mxcsr_mask : 0xffff;
	if ((bv & (XFEAT_FP | XFEAT_SSE | XFEAT_YMM)) != 0 &&
	    (mxcsr & ~mask) != 0)
		BAD("%s.xsave: MXCSR %#x sets reserved bits %#x (this CPU's "
		    "MXCSR mask is %#x)", path, mxcsr, mxcsr & ~mask, mask);
	return 0;
}

/* xcr0 as KVM's __kvm_set_xcr() takes it. */
static int
check_xcrs(const struct vcpu_state *s, const struct kvm_cpuid_entry2 *c,
    uint32_t n, const struct vcpu_host *h, const char *path, char *err,
    size_t errlen)
{
	uint64_t x = 0, valid;
	const char *why = NULL;
	uint32_t i;
	bool found = false;

	for (i = 0; i < s->xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (s->xcrs.xcrs[i].xcr == 0) {
			x = s->xcrs.xcrs[i].value;
			found = true;
		}
	if (!found)
		return 0;
	if ((x & XFEAT_FP) == 0)
		why = "x87 state (bit 0) must be enabled";
	else if ((x & XFEAT_YMM) != 0 && (x & XFEAT_SSE) == 0)
		why = "AVX (bit 2) needs SSE (bit 1)";
	else if (((x & XFEAT_BNDREGS) == 0) != ((x & XFEAT_BNDCSR) == 0))
		why = "MPX's BNDREGS and BNDCSR (bits 3, 4) go together";
	else if ((x & XFEAT_AVX512) != 0 && ((x & XFEAT_YMM) == 0 ||
	    (x & XFEAT_AVX512) != XFEAT_AVX512))
		why = "AVX-512 (bits 5-7) needs all three and AVX";
	else if ((x & XFEAT_XTILE) != 0 && (x & XFEAT_XTILE) != XFEAT_XTILE)
		why = "AMX's TILECFG and TILEDATA (bits 17, 18) go together";
	if (why != NULL)
		BAD("%s.xcrs.xcr0 %#llx: %s", path, (unsigned long long)x, why);
	if (n == 0)
		return 0;
	/* The features the vCPU's CPUID (leaf 0xD) offers and KVM supports. */
	valid = cpuid_reg(c, n, 0xd, 0, 0) |
	    (uint64_t)cpuid_reg(c, n, 0xd, 0, 3) << 32;
	if (h != NULL && h->known)
		valid &= h->xcr0;
	valid |= XFEAT_FP;
	if ((x & ~valid) != 0)
		BAD("%s.xcrs.xcr0 %#llx: features %#llx are not in the vCPU's "
		    "CPUID leaf 0xD%s (%#llx)", path, (unsigned long long)x,
		    (unsigned long long)(x & ~valid), h != NULL && h->known ?
		    " or not supported by this host's KVM" : "",
		    (unsigned long long)valid);
	return 0;
}

/* KVM_SET_VCPU_EVENTS, and KVM_SET_MP_STATE that follows it. */
static int
check_events(const struct vcpu_state *s, const struct vcpu_host *h,
    const char *path, char *err, size_t errlen)
{
	/* hyve enables neither exception payloads nor triple-fault events. */
	const uint32_t valid = KVM_VCPUEVENT_VALID_NMI_PENDING |
	    KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW |
	    KVM_VCPUEVENT_VALID_SMM;
	const struct kvm_vcpu_events *ev = &s->events;
	static const char *const boolname[] = { "exception_injected",
	    "exception_pending", "exception_has_error_code",
	    "interrupt_injected", "interrupt_soft", "nmi_injected",
	    "nmi_masked", "smi_smm", "smi_pending", "smi_smm_inside_nmi",
	    "smi_latched_init" };
	const uint8_t boolval[] = { ev->exception.injected,
	    ev->exception.pending, ev->exception.has_error_code,
	    ev->interrupt.injected, ev->interrupt.soft, ev->nmi.injected,
	    ev->nmi.masked, ev->smi.smm, ev->smi.pending,
	    ev->smi.smm_inside_nmi, ev->smi.latched_init };
	uint32_t mp = s->mp.mp_state;
	bool smm = (ev->flags & KVM_VCPUEVENT_VALID_SMM) != 0 &&
	    (ev->smi.smm || ev->smi.pending);
	size_t i;

	if ((ev->flags & ~valid) != 0)
		BAD("%s.events.flags %#x: bits %#x are not for KVM_SET_VCPU_EVENTS "
		    "in a VM that enables neither exception payloads nor "
		    "triple-fault events", path, ev->flags, ev->flags & ~valid);
	for (i = 0; i < sizeof(boolval); i++)
		if (boolval[i] > 1)
			BAD("%s.events.%s is %u, neither 0 nor 1", path,
			    boolname[i], boolval[i]);
	if ((ev->exception.injected || ev->exception.pending) &&
	    (ev->exception.nr > 31 || ev->exception.nr == 2))
		BAD("%s.events.exception_nr %u: not an exception vector (0-31, "
		    "and 2 is the NMI)", path, ev->exception.nr);
	if (ev->interrupt.shadow > (KVM_X86_SHADOW_INT_MOV_SS |
	    KVM_X86_SHADOW_INT_STI))
		BAD("%s.events.interrupt_shadow %#x: bits other than MOV SS "
		    "(1) and STI (2)", path, ev->interrupt.shadow);
	if ((ev->flags & KVM_VCPUEVENT_VALID_SMM) != 0 && h != NULL &&
	    h->known && !h->smm && (ev->smi.smm || ev->smi.pending ||
	    ev->smi.smm_inside_nmi))
		BAD("%s.events.smi_%s: the vCPU was in or about to enter SMM, "
		    "and this host's KVM has no SMM", path, ev->smi.smm ? "smm" :
		    ev->smi.pending ? "pending" : "smm_inside_nmi");
	/* x86 MP states; 5-8 are s390's, which KVM_SET_MP_STATE refuses. */
	if (mp > KVM_MP_STATE_AP_RESET_HOLD ||
	    (mp > KVM_MP_STATE_SIPI_RECEIVED && mp < KVM_MP_STATE_AP_RESET_HOLD))
		BAD("%s.mp_state %u: not an x86 KVM MP state (0-4, 9)", path, mp);
	if (smm && (mp == KVM_MP_STATE_INIT_RECEIVED ||
	    mp == KVM_MP_STATE_SIPI_RECEIVED))
		BAD("%s.mp_state %u: INIT or SIPI received while in SMM or with "
		    "an SMI pending (events.smi_*), which KVM refuses", path, mp);
	return 0;
}

int
vcpu_state_check(const struct vcpu_state *s,
    const struct kvm_cpuid_entry2 *cpuid, uint32_t ncpuid,
    const struct vcpu_host *h, const char *path, char *err, size_t errlen)
{
	const struct kvm_debugregs *d = &s->dregs;
	char why[160];
	uint32_t i;
	int rc;

	if ((rc = check_sregs(s, cpuid, ncpuid, path, err, errlen)) != 0 ||
	    (rc = check_xsave(s, h, path, err, errlen)) != 0 ||
	    (rc = check_xcrs(s, cpuid, ncpuid, h, path, err, errlen)) != 0 ||
	    (rc = check_events(s, h, path, err, errlen)) != 0)
		return rc;
	if (d->flags != 0)
		BAD("%s.debugregs.flags %#llx: must be 0", path,
		    (unsigned long long)d->flags);
	/* KVM's kvm_dr6_valid() and kvm_dr7_valid(). */
	if ((d->dr6 >> 32) != 0)
		BAD("%s.debugregs.dr6 %#llx: bits 63-32 are reserved", path,
		    (unsigned long long)d->dr6);
	if ((d->dr7 >> 32) != 0)
		BAD("%s.debugregs.dr7 %#llx: bits 63-32 are reserved", path,
		    (unsigned long long)d->dr7);
	/* The MSRs that carry the same registers again are applied later. */
	for (i = 0; i < s->nmsrs && i < STATE_MAX_MSRS; i++) {
		uint64_t v = s->msrs[i].data;
		if (s->msrs[i].index == MSR_APIC_BASE &&
		    apic_base_bad(v, cpuid, ncpuid, why, sizeof(why)) != 0)
			BAD("%s.msrs.apic_base %#llx: %s", path,
			    (unsigned long long)v, why);
		if (s->msrs[i].index == MSR_EFER &&
		    (v & ~efer_allowed(cpuid, ncpuid)) != 0)
			BAD("%s.msrs.efer %#llx: bits %#llx are reserved%s", path,
			    (unsigned long long)v,
			    (unsigned long long)(v & ~efer_allowed(cpuid, ncpuid)),
			    ncpuid > 0 ? " for the vCPU's CPUID" : "");
	}
	return 0;
}

#undef BAD

/* What reading a vCPU's section takes from where the vCPU goes. */
struct vcpu_reader {
	/* The XSAVE layout when the checkpoint has no CPUID (leaf 0xD). */
	const struct kvm_cpuid_entry2 *cpuid;
	uint32_t	 ncpuid;
	const uint32_t	*msr_index;	/* the MSRs read where saved */
	unsigned	 nmsrs;
	bool		 xsave_any;	/* format 1: an XSAVE block of any length */
};

/*
 * vCPU @s to or from the current section of @io; *@len gets the extent of
 * the XSAVE area read.  The one reading of a vCPU's section: the restore's
 * and the checks' without a VM.
 */
static int
vcpu_state_rw(const struct vcpu_reader *rd, ckp_io_t *io,
    struct vcpu_state *s, size_t *len)
{
	uint32_t ver = ckp_io_saving(io) ? VCPU_STATE_VERSION :
	    ckp_sec_version(ckp_io_section(io));

	*len = s->xsave_size;
	regs_io(io, &s->regs);
	sregs_io(io, &s->sregs, ver);
	/* The XSAVE layout is the vCPU's CPUID leaf 0xD: read it first. */
	cpuid_io(io, s);
	if (ver >= 2) {
		const struct kvm_cpuid_entry2 *lc = s->cpuid;
		uint32_t ln = s->ncpuid;
		if (ln == 0) {
			lc = rd->cpuid;
			ln = rd->ncpuid;
		}
		regfile_xsave_io(io, s->xsave, s->xsave_size, len, lc, ln);
	} else if (rd->xsave_any && ckp_io_restoring(io)) {
		ckp_io_bytes_var(io, "xsave", s->xsave, s->xsave_size, len, 0);
	} else {
		ckp_io_bytes(io, "xsave", s->xsave, s->xsave_size, 0);
	}
	xcrs_io(io, &s->xcrs);
	if (ver >= 2)
		regfile_lapic_io(io, &s->lapic);
	else
		ckp_io_bytes(io, "lapic", s->lapic.regs, sizeof(s->lapic.regs),
		    0);
	events_io(io, &s->events);
	CKP_IO_NAMED(io, "mp_state", s->mp.mp_state);
	dregs_io(io, &s->dregs);
	msrs_io(rd->msr_index, rd->nmsrs, io, s);
	return ckp_io_error(io);
}

int
vcpu_state_precheck(ckp_doc_t *doc, unsigned id, unsigned ncpus,
    const struct vcpu_host *h)
{
	/* The MSRs vcpu_state_check() looks at. */
	static const uint32_t msrs[] = { MSR_APIC_BASE, MSR_EFER };
	struct vcpu_reader rd = { .msr_index = msrs,
	    .nmsrs = sizeof(msrs) / sizeof(msrs[0]), .xsave_any = true };
	const struct kvm_cpuid_entry2 *c = NULL;
	struct kvm_cpuid2 *built = NULL;
	struct vcpu_state *s;
	ckp_io_t *io = NULL;
	char path[32], msg[512];
	uint32_t nc = 0;
	size_t len = 0;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->xsave = malloc(XSAVE_READ_MAX)) == NULL ||
	    (s->cpuid = calloc(STATE_MAX_CPUID, sizeof(*s->cpuid))) == NULL ||
	    (io = ckp_io_new(doc, CKP_IO_RESTORE)) == NULL) {
		rc = ckp_doc_set_error(doc, -ENOMEM, "out of memory");
		goto out;
	}
	s->xsave_size = XSAVE_READ_MAX;
	/* As vm_restore_state() lays out XSAVE without a saved CPUID. */
	if (h != NULL && h->known && h->supported != NULL) {
		rd.cpuid = h->supported->entries;
		rd.ncpuid = h->supported->nent;
	}
	snprintf(path, sizeof(path), "devices.vcpu@%u", id);
	if (ckp_io_enter(io, "devices", 1) >= 0) {
		if (ckp_io_enterf(io, VCPU_STATE_VERSION, "vcpu@%u", id) >= 0) {
			vcpu_state_rw(&rd, io, s, &len);
			ckp_io_leave(io);
		}
		ckp_io_leave(io);
	}
	if ((rc = ckp_doc_error(doc)) != 0)
		goto out;
	s->xsave_size = len;
	/* The CPUID KVM will check against: the checkpoint's, else hyve's. */
	if (s->ncpuid > 0) {
		c = s->cpuid;
		nc = s->ncpuid;
	} else if (h != NULL && h->known &&
	    cpuid_for_vcpu(h->supported, id, ncpus, &built) == 0) {
		c = built->entries;
		nc = built->nent;
	}
	if ((rc = vcpu_state_check(s, c, nc, h, path, msg, sizeof(msg))) != 0)
		ckp_doc_set_error(doc, rc, "%s", msg);
out:
	ckp_io_free(io);
	free(built);
	if (s != NULL) {
		free(s->xsave);
		free(s->cpuid);
		free(s);
	}
	return rc;
}

int
vcpu_state_io(struct vm *vm, ckp_io_t *io, struct vcpu_state *s)
{
	ckp_doc_t *doc = ckp_io_doc(io);
	struct vcpu_reader rd = { .msr_index = vm->msr_index,
	    .nmsrs = vm->nmsrs };
	size_t len;

	if (vm->supported_cpuid != NULL) {
		rd.cpuid = vm->supported_cpuid->entries;
		rd.ncpuid = vm->supported_cpuid->nent;
	}
	if (vcpu_state_rw(&rd, io, s, &len) != 0 || ckp_io_saving(io))
		return ckp_io_error(io);

	/* What KVM refuses is vcpu_state_check()'s; this needs the vCPU. */
	if (s->xcrs.nr_xcrs > 0 && vm->be->host_cpu && !vm->has_xcrs)
		return ckp_doc_set_error(doc, -EINVAL, "xcrs: the checkpoint's "
		    "CPU had XSAVE (xcr%u = %#llx), this host's KVM has none",
		    s->xcrs.xcrs[0].xcr,
		    (unsigned long long)s->xcrs.xcrs[0].value);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* VM state: irqchip, PIT, clock                                             */
/* ------------------------------------------------------------------------ */

int
vm_kstate_get(struct vm *vm, struct vm_kstate *s)
{
	int khz;

	memset(s, 0, sizeof(*s));
	s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->pic_master) != 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->pic_slave) != 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->ioapic) != 0)
		return kvm_err(vm, "KVM_GET_IRQCHIP", -1);
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &s->pit) != 0)
		return kvm_err(vm, "KVM_GET_PIT2", -1);
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &s->clock) != 0)
		return kvm_err(vm, "KVM_GET_CLOCK", -1);
	if ((khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0)) < 0)
		return kvm_err(vm, "KVM_GET_TSC_KHZ", 0);
	s->tsc_khz = (uint32_t)khz;
	return 0;
}

int
vm_kstate_set(struct vm *vm, const struct vm_kstate *s)
{
	struct kvm_clock_data clock = { .clock = s->clock.clock };
	unsigned i;
	int khz;

	if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &s->pic_master) != 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &s->pic_slave) != 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &s->ioapic) != 0)
		return kvm_err(vm, "KVM_SET_IRQCHIP", -1);
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &s->pit) != 0)
		return kvm_err(vm, "KVM_SET_PIT2", -1);
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) != 0)
		return kvm_err(vm, "KVM_SET_CLOCK", -1);
	/*
	 * The guest calibrated against this TSC rate: keep it if KVM can
	 * scale the TSC.  Within 250 ppm KVM would not scale anyway (two
	 * hosts of one model differ by that much).  Without TSC scaling
	 * KVM_SET_TSC_KHZ fails, yet has already stored the rate it refused
	 * as the vCPU's (Linux 5.10-6.x), which timers then use and the next
	 * checkpoint records: put back the host's rate on every vCPU tried.
	 */
	khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz > 0 && s->tsc_khz != 0 &&
	    (uint64_t)llabs((long long)khz - (long long)s->tsc_khz) * 4000 >
	    (uint64_t)khz) {
		const char *why = NULL;
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		    KVM_CAP_TSC_CONTROL) <= 0)
			why = "this KVM has no TSC control";
		for (i = 0; why == NULL && i < vm->ncpus; i++) {
			if (ioctl(vm->vcpus[i].fd, KVM_SET_TSC_KHZ,
			    (unsigned long)s->tsc_khz) == 0)
				continue;
			why = strerror(errno);
			for (; ; i--) {
				(void)ioctl(vm->vcpus[i].fd, KVM_SET_TSC_KHZ,
				    (unsigned long)khz);
				if (i == 0)
					break;
			}
		}
		if (why != NULL)
			vm_log(vm, "the checkpoint's TSC runs at %u kHz, this "
			    "host's at %d kHz and KVM cannot scale it (%s); "
			    "guest time will drift", s->tsc_khz, khz, why);
	}
	return 0;
}

static void
pic_io(ckp_io_t *io, const char *name, struct kvm_pic_state *p)
{
	struct kvm_pic_state *s = p;

	if (ckp_io_enter(io, name, 1) < 0)
		return;
	CKP_IO_NAMED(io, "last_irr", s->last_irr);
	CKP_IO_NAMED(io, "irr", s->irr);
	CKP_IO_NAMED(io, "imr", s->imr);
	CKP_IO_NAMED(io, "isr", s->isr);
	CKP_IO_NAMED(io, "priority_add", s->priority_add);
	CKP_IO_NAMED(io, "irq_base", s->irq_base);
	CKP_IO_NAMED(io, "read_reg_select", s->read_reg_select);
	CKP_IO_NAMED(io, "poll", s->poll);
	CKP_IO_NAMED(io, "special_mask", s->special_mask);
	CKP_IO_NAMED(io, "init_state", s->init_state);
	CKP_IO_NAMED(io, "auto_eoi", s->auto_eoi);
	CKP_IO_NAMED(io, "rotate_on_auto_eoi", s->rotate_on_auto_eoi);
	CKP_IO_NAMED(io, "special_fully_nested_mode", s->special_fully_nested_mode);
	CKP_IO_NAMED(io, "init4", s->init4);
	CKP_IO_NAMED(io, "elcr", s->elcr);
	CKP_IO_NAMED(io, "elcr_mask", s->elcr_mask);
	ckp_io_leave(io);
}

static void
ioapic_io(ckp_io_t *io, struct kvm_ioapic_state *a)
{
	struct kvm_ioapic_state *s = a;
	char name[16];
	unsigned i;

	if (ckp_io_enter(io, "ioapic", 1) < 0)
		return;
	CKP_IO_NAMED(io, "base_address", s->base_address);
	CKP_IO_NAMED(io, "ioregsel", s->ioregsel);
	CKP_IO_NAMED(io, "id", s->id);
	CKP_IO_NAMED(io, "irr", s->irr);
	for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++) {
		snprintf(name, sizeof(name), "redir%u", i);
		ckp_io_field(io, name, CKP_TYPE_UINT64, &s->redirtbl[i].bits, 8,
		    0, 0);
	}
	ckp_io_leave(io);
}

static void
pit_io(ckp_io_t *io, struct kvm_pit_state2 *p)
{
	unsigned i;

	if (ckp_io_enter(io, "pit", 1) < 0)
		return;
	for (i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *s = &p->channels[i];
		if (ckp_io_enterf(io, 1, "channel@%u", i) < 0)
			break;
		CKP_IO_NAMED(io, "count", s->count);
		CKP_IO_NAMED(io, "latched_count", s->latched_count);
		CKP_IO_NAMED(io, "count_latched", s->count_latched);
		CKP_IO_NAMED(io, "status_latched", s->status_latched);
		CKP_IO_NAMED(io, "status", s->status);
		CKP_IO_NAMED(io, "read_state", s->read_state);
		CKP_IO_NAMED(io, "write_state", s->write_state);
		CKP_IO_NAMED(io, "write_latch", s->write_latch);
		CKP_IO_NAMED(io, "rw_mode", s->rw_mode);
		CKP_IO_NAMED(io, "mode", s->mode);
		CKP_IO_NAMED(io, "bcd", s->bcd);
		CKP_IO_NAMED(io, "gate", s->gate);
		CKP_IO_NAMED(io, "count_load_time", s->count_load_time);
		ckp_io_leave(io);
	}
	CKP_IO_NAMED(io, "flags", p->flags);
	ckp_io_leave(io);
}

int
vm_kstate_io(struct vm *vm, ckp_io_t *io, struct vm_kstate *s)
{
	ckp_doc_t *doc = ckp_io_doc(io);
	unsigned i;

	(void)vm;
	if (ckp_io_restoring(io)) {
		memset(s, 0, sizeof(*s));
		s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
		s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
		s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	}
	if (ckp_io_enter(io, "irqchip", 1) >= 0) {
		pic_io(io, "pic_master", &s->pic_master.chip.pic);
		pic_io(io, "pic_slave", &s->pic_slave.chip.pic);
		ioapic_io(io, &s->ioapic.chip.ioapic);
		ckp_io_leave(io);
	}
	pit_io(io, &s->pit);
	if (ckp_io_enter(io, "clock", 1) >= 0) {
		CKP_IO_NAMED(io, "kvmclock_ns", s->clock.clock);
		CKP_IO_NAMED(io, "tsc_khz", s->tsc_khz);
		ckp_io_leave(io);
	}
	if (ckp_io_error(io) != 0 || ckp_io_saving(io))
		return ckp_io_error(io);
	for (i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &s->pit.channels[i];
		/* KVM marks a channel never programmed with mode 0xff. */
		if ((c->mode > 5 && c->mode != 0xff) || c->rw_mode > 3 ||
		    c->bcd > 1)
			return ckp_doc_set_error(doc, -EINVAL, "pit.channel@%u: "
			    "mode %u, rw_mode %u, bcd %u out of range", i,
			    c->mode, c->rw_mode, c->bcd);
	}
	if (s->ioapic.chip.ioapic.base_address != VM_IOAPIC_BASE)
		return ckp_doc_set_error(doc, -EINVAL, "irqchip.ioapic."
		    "base_address %#llx is not hyve's %#llx",
		    (unsigned long long)s->ioapic.chip.ioapic.base_address,
		    VM_IOAPIC_BASE);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The whole VM but its RAM and configuration                                */
/* ------------------------------------------------------------------------ */

/* The memory section: what a restore checks its VM's layout against. */
void
vm_memory_io(struct vm *vm, ckp_io_t *io)
{
	unsigned i;

	if (ckp_io_enter(io, "memory", 1) < 0)
		return;
	ckp_io_field(io, "size", CKP_TYPE_UINT64, &vm->mem_size, 8, 0, 0);
	for (i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *r = &vm->mem[i];
		if (ckp_io_enterf(io, 1, "region@%u", i) < 0)
			break;
		ckp_io_field(io, "gpa", CKP_TYPE_UINT64, &r->gpa, 8, 0, 0);
		ckp_io_field(io, "size", CKP_TYPE_UINT64, &r->size, 8, 0, 0);
		ckp_io_field(io, "file_off", CKP_TYPE_UINT64, &r->file_off, 8,
		    0, 0);
		ckp_io_leave(io);
	}
	ckp_io_leave(io);
}

int
dev_ckp_check(const struct devemu *emu, const char *id, bool save, char *err,
    size_t errlen)
{
	if ((save ? emu->save : emu->restore) != NULL)
		return 0;
	snprintf(err, errlen, "device %s (%s) cannot be %s: its model has no "
	    "checkpoint code", id, emu->name, save ? "saved" : "restored");
	return -ENOTSUP;
}

int
vm_devs_saveable(struct vm *vm, char *err, size_t errlen)
{
	unsigned i;
	int rc;

	for (i = 0; i < vm->ndevs; i++)
		if ((rc = dev_ckp_check(vm->devs[i]->emu, vm->devs[i]->id, true,
		    err, errlen)) != 0)
			return rc;
	return 0;
}

int
vm_save_state(struct vm *vm, ckp_io_t *io)
{
	ckp_doc_t *doc = ckp_io_doc(io);
	struct vm_kstate ks;
	struct vcpu_state vs;
	char msg[256];
	unsigned i;
	int rc;

	if ((rc = vm_devs_saveable(vm, msg, sizeof(msg))) != 0)
		return ckp_doc_set_error(doc, rc, "%s", msg);
	vm_memory_io(vm, io);
	if ((rc = vm_kstate_get(vm, &ks)) != 0)
		return ckp_doc_set_error(doc, rc, "reading the VM's KVM state "
		    "failed");
	if (ckp_io_enter(io, "vm", 1) >= 0) {
		vm_kstate_io(vm, io, &ks);
		ckp_io_leave(io);
	}
	if ((rc = vcpu_state_init(vm, &vs)) != 0)
		return ckp_doc_set_error(doc, rc, "out of memory");
	/* vCPUs are devices too: devices.vcpu@N, then the device models. */
	if (ckp_io_enter(io, "devices", 1) >= 0) {
		for (i = 0; i < vm->ncpus && ckp_io_error(io) == 0; i++) {
			if ((rc = vcpu_state_get(&vm->vcpus[i], &vs)) != 0) {
				ckp_doc_set_error(doc, rc, "reading vCPU %u's "
				    "KVM state failed", i);
				break;
			}
			if (ckp_io_enterf(io, VCPU_STATE_VERSION, "vcpu@%u", i) < 0)
				break;
			vcpu_state_io(vm, io, &vs);
			ckp_io_leave(io);
		}
		for (i = 0; i < vm->ndevs && ckp_io_error(io) == 0; i++) {
			struct dev *d = vm->devs[i];
			if (ckp_io_enter(io, d->id, d->emu->version) < 0)
				break;
			d->emu->save(d, io);
			ckp_io_leave(io);
		}
		ckp_io_leave(io);
	}
	vcpu_state_fini(&vs);
	return ckp_io_error(io);
}

/* ------------------------------------------------------------------------ */
/* Restore: what the checkpoint must fit, then the state itself             */
/* ------------------------------------------------------------------------ */

int
vm_shape_from_cfg(const struct cfg *cfg, struct vm_shape *sh, char *err,
    size_t errlen)
{
	int rc;

	memset(sh, 0, sizeof(*sh));
	sh->cfg = cfg;
	if ((rc = vm_params_get(cfg, &sh->p, err, errlen)) != 0)
		return rc;
	if (vm_mem_layout(sh->p.mem_size, &sh->mem) != 0) {
		snprintf(err, errlen, "memory.size: no layout for %" PRIu64
		    " bytes", sh->p.mem_size);
		return -EINVAL;
	}
	if ((rc = vm_devs_plan(cfg, &sh->devs, &sh->ndevs, err, errlen)) != 0)
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	return 0;
}

/*
 * The shape of @vm as it is: its vCPUs, its regions, and its devices, or
 * those its configuration names when they are not created yet (@planned).
 */
static int
vm_shape_of(struct vm *vm, bool planned, struct vm_shape *sh, char *err,
    size_t errlen)
{
	unsigned i;
	int rc;

	memset(sh, 0, sizeof(*sh));
	sh->cfg = vm->cfg;
	snprintf(sh->p.name, sizeof(sh->p.name), "%s", vm->name);
	sh->p.ncpus = vm->ncpus;
	sh->p.mem_size = vm->mem_size;
	for (i = 0; i < vm->nmem && i < VM_MAX_MEM_REGIONS; i++)
		sh->mem.r[sh->mem.n++] = (struct vm_mem_span){ vm->mem[i].name,
		    vm->mem[i].gpa, vm->mem[i].size, vm->mem[i].file_off };
	if (planned) {
		if ((rc = vm_devs_plan(vm->cfg, &sh->devs, &sh->ndevs, err,
		    errlen)) != 0)
			return rc == -ENOMEM ? -ENOMEM : -EINVAL;
		return 0;
	}
	if (vm->ndevs > 0 &&
	    (sh->devs = calloc(vm->ndevs, sizeof(*sh->devs))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < vm->ndevs; i++) {
		struct dev_plan *p = &sh->devs[sh->ndevs++];
		p->emu = vm->devs[i]->emu;
		snprintf(p->node, sizeof(p->node), "%s", vm->devs[i]->cfg);
		snprintf(p->id, sizeof(p->id), "%s", vm->devs[i]->id);
	}
	return 0;
}

void
vm_shape_fini(struct vm_shape *sh)
{
	free(sh->devs);
	sh->devs = NULL;
	sh->ndevs = 0;
}

/* The value of @key in @sh's configuration for a message, or @def. */
static const char *
shape_val(const struct vm_shape *sh, const char *key, const char *def)
{
	const struct cfg_ent *e = sh->cfg != NULL ? cfg_lookup(sh->cfg, key) :
	    NULL;

	return e != NULL ? e->val : def;
}

/* memory: the size and the regions @sh's layout has, in its order. */
static int
memory_check(const struct vm_shape *sh, ckp_io_t *io)
{
	ckp_doc_t *doc = ckp_io_doc(io);
	const struct cfg_ent *m = sh->cfg != NULL ?
	    cfg_lookup(sh->cfg, "memory.size") : NULL;
	uint64_t size = 0, g = 0, sz = 0, o = 0;
	char name[32];
	unsigned i;

	if (ckp_io_enter(io, "memory", 1) < 0)
		return ckp_io_error(io);
	ckp_io_field(io, "size", CKP_TYPE_UINT64, &size, 8, 0, 0);
	if (ckp_io_error(io) == 0 && size != sh->p.mem_size)
		ckp_doc_set_error(doc, -EINVAL, "memory.size: the checkpoint "
		    "holds %" PRIu64 " MiB of RAM, the configuration asks for "
		    "%" PRIu64 " MiB (memory.size=%s, %s)", size >> 20,
		    sh->p.mem_size >> 20, m != NULL ? m->val : "default",
		    m != NULL ? m->origin : "default");
	for (i = 0; i < sh->mem.n && ckp_io_error(io) == 0; i++) {
		const struct vm_mem_span *r = &sh->mem.r[i];
		if (ckp_io_enterf(io, 1, "region@%u", i) < 0)
			break;
		ckp_io_field(io, "gpa", CKP_TYPE_UINT64, &g, 8, 0, 0);
		ckp_io_field(io, "size", CKP_TYPE_UINT64, &sz, 8, 0, 0);
		ckp_io_field(io, "file_off", CKP_TYPE_UINT64, &o, 8, 0, 0);
		if (ckp_io_error(io) == 0 && (g != r->gpa || sz != r->size ||
		    o != r->file_off))
			ckp_doc_set_error(doc, -EINVAL, "memory.region@%u: guest "
			    "address %#" PRIx64 ", %" PRIu64 " bytes at file "
			    "offset %#" PRIx64 "; this hyve lays %" PRIu64
			    " MiB out as %#" PRIx64 ", %" PRIu64 " bytes at "
			    "%#" PRIx64, i, g, sz, o, sh->p.mem_size >> 20,
			    r->gpa, r->size, r->file_off);
		ckp_io_leave(io);
	}
	snprintf(name, sizeof(name), "region@%u", sh->mem.n);
	if (ckp_io_error(io) == 0 &&
	    ckp_sec_find(ckp_io_section(io), name) != NULL)
		ckp_doc_set_error(doc, -EINVAL, "memory.%s: this hyve lays %"
		    PRIu64 " MiB out in %u region%s", name, sh->p.mem_size >> 20,
		    sh->mem.n, sh->mem.n > 1 ? "s" : "");
	ckp_io_leave(io);
	return ckp_io_error(io);
}

/*
 * devices: one vcpu@N per vCPU, a section with restore code for every
 * device of @sh, and nothing else: the one place that tells a section of
 * devices hyve has nothing to restore into.
 */
static int
devices_check(const struct vm_shape *sh, ckp_sec_t *devs)
{
	ckp_doc_t *doc = ckp_sec_doc(devs);
	char name[24], msg[256];
	ckp_ent_t *e;
	unsigned idx;
	size_t i;
	int end, rc;

	for (idx = 0; idx < sh->p.ncpus; idx++) {
		snprintf(name, sizeof(name), "vcpu@%u", idx);
		if (ckp_sec_find(devs, name) == NULL)
			return ckp_doc_set_error(doc, -EINVAL, "the configuration "
			    "has %u vCPUs (cpus=%s) but the checkpoint holds "
			    "state for %u", sh->p.ncpus, shape_val(sh, "cpus",
			    "1"), idx);
		if (ckp_sec_require(devs, name, VCPU_STATE_VERSION) == NULL)
			return ckp_doc_error(doc);
	}
	for (i = 0; i < sh->ndevs; i++) {
		const struct dev_plan *p = &sh->devs[i];
		if ((rc = dev_ckp_check(p->emu, p->id, false, msg,
		    sizeof(msg))) != 0)
			return ckp_doc_set_error(doc, rc, "%s", msg);
		if (ckp_sec_find(devs, p->id) == NULL)
			return ckp_doc_set_error(doc, -EINVAL, "devices.%s: "
			    "missing section: the configuration has device %s "
			    "(%s, %s) but the checkpoint holds no state for it",
			    p->id, p->id, p->emu->name, p->node);
		if (ckp_sec_require(devs, p->id, p->emu->version) == NULL)
			return ckp_doc_error(doc);
	}
	for (e = ckp_sec_first(devs); e != NULL; e = ckp_ent_next(e)) {
		end = 0;
		if (sscanf(ckp_ent_name(e), "vcpu@%u%n", &idx, &end) == 1 &&
		    ckp_ent_name(e)[end] == '\0') {
			if (idx >= sh->p.ncpus)
				return ckp_doc_set_error(doc, -EINVAL, "the "
				    "checkpoint holds state for more vCPUs than "
				    "the %u configured (cpus=%s): devices.%s",
				    sh->p.ncpus, shape_val(sh, "cpus", "1"),
				    ckp_ent_name(e));
			continue;
		}
		for (i = 0; i < sh->ndevs; i++)
			if (strcmp(sh->devs[i].id, ckp_ent_name(e)) == 0)
				break;
		if (i == sh->ndevs)
			return ckp_doc_set_error(doc, -EINVAL, "devices.%s: no "
			    "such device in this VM's configuration (hyve has no "
			    "device to restore it into)", ckp_ent_name(e));
	}
	return 0;
}

/* vm_restore_check(), keeping the vm section's state in @ks. */
static int
restore_check(const struct vm_shape *sh, ckp_io_t *io, struct vm_kstate *ks)
{
	ckp_sec_t *devs;

	if (memory_check(sh, io) != 0)
		return ckp_io_error(io);
	if (ckp_io_enter(io, "vm", 1) >= 0) {
		vm_kstate_io(NULL, io, ks);
		ckp_io_leave(io);
	}
	if (ckp_io_error(io) != 0)
		return ckp_io_error(io);
	if ((devs = ckp_sec_require(ckp_io_section(io), "devices", 1)) == NULL)
		return ckp_io_error(io);
	return devices_check(sh, devs);
}

int
vm_restore_check(const struct vm_shape *sh, ckp_io_t *io)
{
	struct vm_kstate ks;

	return restore_check(sh, io, &ks);
}

void
vm_restore_free(struct vm_restore *r)
{
	unsigned i;

	if (r == NULL)
		return;
	for (i = 0; r->vcpus != NULL && i < r->ncpus; i++)
		vcpu_state_fini(&r->vcpus[i]);
	free(r->vcpus);
	free(r);
}

/* vcpu_state_check() against the CPUID vCPU @id will have. */
static int
vcpu_check(struct vm *vm, ckp_io_t *io, unsigned id, struct vcpu_state *s,
    const struct vcpu_host *h)
{
	struct kvm_cpuid2 *built = NULL;
	const struct kvm_cpuid_entry2 *c = s->cpuid;
	uint32_t n = s->ncpuid;
	char path[32], msg[512];
	int rc;

	if (n == 0 && vm->supported_cpuid != NULL &&
	    cpuid_for_vcpu(vm->supported_cpuid, id, vm->ncpus, &built) == 0) {
		c = built->entries;
		n = built->nent;
	}
	snprintf(path, sizeof(path), "devices.vcpu@%u", id);
	if ((rc = vcpu_state_check(s, c, n, h, path, msg, sizeof(msg))) != 0)
		ckp_doc_set_error(ckp_io_doc(io), rc, "%s", msg);
	free(built);
	return rc;
}

int
vm_restore_state(struct vm *vm, ckp_io_t *io, struct vm_restore **rp)
{
	ckp_doc_t *doc = ckp_io_doc(io);
	struct vcpu_host host = { .known = false };
	struct vm_shape sh;
	struct vm_restore *r;
	char msg[512];
	unsigned i;
	int rc;

	if (rp != NULL)
		*rp = NULL;
	if ((rc = vm_shape_of(vm, rp == NULL, &sh, msg, sizeof(msg))) != 0) {
		vm_shape_fini(&sh);
		return ckp_doc_set_error(doc, rc, "%s", msg);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->vcpus = calloc(vm->ncpus, sizeof(*r->vcpus))) == NULL) {
		free(r);
		vm_shape_fini(&sh);
		return ckp_doc_set_error(doc, -ENOMEM, "out of memory");
	}
	r->ncpus = vm->ncpus;
	for (i = 0; i < vm->ncpus; i++)
		if (vcpu_state_init(vm, &r->vcpus[i]) != 0) {
			vm_restore_free(r);
			vm_shape_fini(&sh);
			return ckp_doc_set_error(doc, -ENOMEM, "out of memory");
		}
	/* What KVM_SET_* will take on this host, asked of /dev/kvm. */
	if (vm->be->host_cpu)
		(void)vcpu_host_probe(&host);
	if (restore_check(&sh, io, &r->ks) == 0 &&
	    ckp_io_enter(io, "devices", 1) >= 0) {
		for (i = 0; i < vm->ncpus && ckp_io_error(io) == 0; i++) {
			if (ckp_io_enterf(io, VCPU_STATE_VERSION, "vcpu@%u", i) < 0)
				break;
			if (vcpu_state_io(vm, io, &r->vcpus[i]) == 0 &&
			    vcpu_check(vm, io, i, &r->vcpus[i], &host) == 0)
				cpuid_check(vm, io, i, &r->vcpus[i]);
			ckp_io_leave(io);
		}
		/* Each has restore code and a section (restore_check()). */
		for (i = 0; rp != NULL && i < vm->ndevs &&
		    ckp_io_error(io) == 0; i++) {
			struct dev *d = vm->devs[i];
			if (ckp_io_enter(io, d->id, d->emu->version) < 0)
				break;
			d->emu->restore(d, io);
			ckp_io_leave(io);
		}
		ckp_io_leave(io);
	}
	vcpu_host_fini(&host);
	vm_shape_fini(&sh);
	if ((rc = ckp_io_error(io)) != 0 || rp == NULL) {
		vm_restore_free(r);
		return rc;
	}
	*rp = r;
	return 0;
}

/*
 * The guest's TSC goes on from the value saved.  Writing MSR_IA32_TSC
 * (vcpu_state_set) is not enough: KVM takes a host write that lands within
 * a second of the value it expects as an attempt to synchronize the vCPUs
 * and keeps its own, so a guest checkpointed in its first second found its
 * TSC back near zero after a restore (seen on kvm_amd; kvm_pvm lets the
 * guest read the host's TSC and hides it).  The vCPU's TSC offset attribute
 * (Linux 5.16) sets it exactly.  Every vCPU gets the same offset, so that
 * KVM counts them as synchronized, computed from the highest TSC saved:
 * the vCPUs were read one after the other within microseconds, and none
 * may see its TSC go back.  Without the attribute the MSR write stays
 * (docs/KVM-HOSTS.md).
 */
static int tsc_restore_msr(struct vm *, const struct vm_restore *, uint64_t);
static int tsc_deadline_again(struct vm *, const struct vm_restore *);

static int
tsc_restore(struct vm *vm, const struct vm_restore *r)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = 0x10 };
	struct kvm_device_attr a = { .group = KVM_VCPU_TSC_CTRL,
	    .attr = KVM_VCPU_TSC_OFFSET };
	uint64_t saved = 0, off;
	bool have = false;
	unsigned i, k;

	for (k = 0; k < r->ncpus; k++)
		for (i = 0; i < r->vcpus[k].nmsrs; i++)
			if (r->vcpus[k].msrs[i].index == 0x10 &&
			    (!have || r->vcpus[k].msrs[i].data > saved)) {
				saved = r->vcpus[k].msrs[i].data;
				have = true;
			}
	if (!have)
		return 0;
	if (vm->tsc_no_attr || ioctl(vm->vcpus[0].fd, KVM_HAS_DEVICE_ATTR,
	    &a) != 0)
		return tsc_restore_msr(vm, r, saved);
	a.addr = (uint64_t)(uintptr_t)&off;
	/* guest TSC = scaled host TSC + offset: move the offset by the gap. */
	if (ioctl(vm->vcpus[0].fd, KVM_GET_DEVICE_ATTR, &a) != 0)
		return kvm_err(vm, "KVM_GET_DEVICE_ATTR (TSC offset)", 0);
	if (ioctl(vm->vcpus[0].fd, KVM_GET_MSRS, &m) != 1)
		return kvm_err(vm, "KVM_GET_MSRS (TSC)", 0);
	off += saved - m.e.data;
	for (i = 0; i < vm->ncpus; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_SET_DEVICE_ATTR, &a) != 0)
			return kvm_err(vm, "KVM_SET_DEVICE_ATTR (TSC offset)",
			    (int)i);
	return tsc_deadline_again(vm, r);
}

/*
 * Before Linux 5.16 there is no offset attribute, only the MSR, and its
 * synchronization rule (a write within a second of the value KVM expects
 * keeps KVM's value).  On vCPU 0 a first write far (3 s) from both the
 * expected and the saved value moves KVM's expectation away, so that the
 * saved value, written next, is taken exactly; the other vCPUs' writes of
 * the same value are then matched to vCPU 0's offset, as with the
 * attribute.
 */
static int
tsc_restore_msr(struct vm *vm, const struct vm_restore *r, uint64_t saved)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = 0x10 };
	uint64_t far = (uint64_t)(r->ks.tsc_khz != 0 ? r->ks.tsc_khz :
	    3000000) * 3000;
	unsigned i;

	if (ioctl(vm->vcpus[0].fd, KVM_GET_MSRS, &m) != 1)
		return kvm_err(vm, "KVM_GET_MSRS (TSC)", 0);
	m.e.data = (m.e.data > saved ? m.e.data : saved) + far;
	if (ioctl(vm->vcpus[0].fd, KVM_SET_MSRS, &m) != 1)
		return kvm_err(vm, "KVM_SET_MSRS (TSC)", 0);
	m.e.data = saved;
	for (i = 0; i < vm->ncpus; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_SET_MSRS, &m) != 1)
			return kvm_err(vm, "KVM_SET_MSRS (TSC)", (int)i);
	return tsc_deadline_again(vm, r);
}

/*
 * A TSC deadline is a guest TSC value, which KVM turned into a host time
 * when the MSR was written, under the old offset: write it again.
 */
static int
tsc_deadline_again(struct vm *vm, const struct vm_restore *r)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1 };
	unsigned i, k;

	for (k = 0; k < r->ncpus; k++)
		for (i = 0; i < r->vcpus[k].nmsrs; i++) {
			if (r->vcpus[k].msrs[i].index != 0x6e0 ||
			    r->vcpus[k].msrs[i].data == 0)
				continue;
			m.e.index = 0x6e0;
			m.e.data = r->vcpus[k].msrs[i].data;
			if (ioctl(vm->vcpus[k].fd, KVM_SET_MSRS, &m) != 1)
				return kvm_err(vm, "KVM_SET_MSRS (TSC deadline)",
				    (int)k);
		}
	return 0;
}

int
vm_apply_state(struct vm *vm, const struct vm_restore *r)
{
	unsigned i;
	int rc;

	if ((rc = vm_kstate_set(vm, &r->ks)) != 0)
		return rc;
	for (i = 0; i < vm->ncpus; i++)
		if ((rc = vcpu_state_set(&vm->vcpus[i], &r->vcpus[i])) != 0)
			return rc;
	return tsc_restore(vm, r);
}
