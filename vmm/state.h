/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The KVM state of a VM and of its vCPUs, as plain structs, with one
 * function per direction to KVM (get: read it; set: apply it, in the order
 * that works) and one function that moves it to or from a checkpoint
 * document field by field (vmm/state.c).
 *
 * A checkpoint writer pauses the vCPUs (vm_pause_vcpus), gets every state
 * and saves it; a restorer builds the VM from the saved configuration,
 * restores (fills and validates) every state, and only then sets them,
 * VM first: memory, irqchip, PIT, clock, then each vCPU.
 */
#ifndef HYVE_STATE_H
#define HYVE_STATE_H

#include <linux/kvm.h>

#include "vm_priv.h"

/* ------------------------------------------------------------------------ */
/* What a configuration makes of a VM: the one answer for creating it        */
/* (vmm/kvm.c, vmm/mem.c) and for checking a checkpoint against it           */
/* ------------------------------------------------------------------------ */

#define VM_MAX_CPUS	254		/* xAPIC IDs, one reserved for broadcast */
#define VM_DEFAULT_CPUS	1
#define VM_DEFAULT_MEM	(256ULL << 20)
#define VM_MIN_MEM	(2ULL << 20)

/* The VM-wide parameters of a configuration (vmm/kvm.c). */
struct vm_params {
	char		 name[72];
	unsigned	 ncpus;
	uint64_t	 mem_size;
};

/*
 * name, cpus and memory.size of @cfg, the defaults where absent, checked
 * as vm_create() takes them (a valid name, 1 to VM_MAX_CPUS vCPUs, memory
 * of 4 KiB pages, at least VM_MIN_MEM and no more than this host can
 * give).  Marks no key used.  0, or -EINVAL with the message, naming the
 * key, in @err.
 */
int vm_params_get(const struct cfg *cfg, struct vm_params *p, char *err,
    size_t errlen);

/* Where guest RAM goes (vmm/mem.c): the regions vm_mem_init() maps. */
struct vm_mem_layout {
	unsigned	 n;
	struct vm_mem_span {
		const char	*name;		/* "lowmem", "highmem" */
		uint64_t	 gpa, size;
		uint64_t	 file_off;	/* in a RAM file: one after the other */
	} r[VM_MAX_MEM_REGIONS];
};

/* The layout of @size bytes of guest RAM: 0, or -EINVAL (0, not 4 KiB pages). */
int vm_mem_layout(uint64_t size, struct vm_mem_layout *l);

#define STATE_MAX_MSRS	256
#define STATE_MAX_XCRS	16
#define STATE_MAX_CPUID	256

struct vcpu_state {
	struct kvm_regs		regs;
	struct kvm_sregs	sregs;
	struct kvm_xcrs		xcrs;
	struct kvm_lapic_state	lapic;
	struct kvm_vcpu_events	events;
	struct kvm_mp_state	mp;
	struct kvm_debugregs	dregs;
	uint32_t		nmsrs;
	struct kvm_msr_entry	msrs[STATE_MAX_MSRS];
	uint8_t			*xsave;		/* vm->xsave_size bytes */
	size_t			xsave_size;
	/* The CPUID the guest sees; 0 entries: keep what the VM has (older checkpoints). */
	uint32_t		ncpuid;
	struct kvm_cpuid_entry2	*cpuid;		/* STATE_MAX_CPUID entries */
};

struct vm_kstate {
	struct kvm_irqchip	pic_master, pic_slave, ioapic;
	struct kvm_pit_state2	pit;
	struct kvm_clock_data	clock;
	uint32_t		tsc_khz;
};

/* Allocate / free the variable parts (xsave) of a vcpu_state. */
int vcpu_state_init(struct vm *vm, struct vcpu_state *s);
void vcpu_state_fini(struct vcpu_state *s);

/* KVM -> struct.  The vCPU must be parked (vm_pause_vcpus) or not running. */
int vcpu_state_get(struct vcpu *v, struct vcpu_state *s);
/* struct -> KVM. */
int vcpu_state_set(struct vcpu *v, const struct vcpu_state *s);
/*
 * struct <-> the current section of @io ("vcpu@N" is the caller's).
 * Restore validates what can be checked without KVM and reports problems
 * in the document's error, naming the field.
 */
int vcpu_state_io(struct vm *vm, ckp_io_t *io, struct vcpu_state *s);

/*
 * The version of a devices.vcpu@N section hyve writes.  1: the XSAVE area,
 * the LAPIC page and the interrupt bitmap as b64 blocks (still read);
 * 2: register by register (vmm/regfile.c).
 */
#define VCPU_STATE_VERSION	2

/*
 * vmm/regfile.c.  @p's @len bytes (a little-endian value) as a string of
 * hex digits, the most significant first.
 */
void regfile_hex_io(ckp_io_t *io, const char *name, void *p, size_t len);
/* Section "lapic": the xAPIC register page by register name. */
void regfile_lapic_io(ckp_io_t *io, struct kvm_lapic_state *l);
/*
 * Section "xsave": the standard-format XSAVE @area by register, each
 * component in use placed per CPUID leaf 0xD of @c (@nc entries).  Save:
 * *@len bytes.  Restore: fills @area (@cap bytes; zero where nothing is
 * saved) and sets *@len to the extent used.  0 or the document's error.
 */
int regfile_xsave_io(ckp_io_t *io, uint8_t *area, size_t cap, size_t *len,
    const struct kvm_cpuid_entry2 *c, uint32_t nc);

/*
 * What this host's KVM takes in a vCPU's state, learned from /dev/kvm and
 * the CPU, so that a restore refuses, naming the field, a checkpoint KVM
 * would refuse (or take to mean something else) before it applies any.
 */
struct vcpu_host {
	bool		 known;		/* /dev/kvm answered */
	uint64_t	 xcr0;		/* XSAVE features KVM supports (CPUID 0xD.0) */
	uint32_t	 mxcsr_mask;	/* MXCSR bits this CPU has (FXSAVE) */
	bool		 smm;		/* KVM_CAP_X86_SMM */
	struct kvm_cpuid2 *supported;	/* KVM_GET_SUPPORTED_CPUID */
};

/*
 * Fill @h; without /dev/kvm (-errno) it stays !known and only the checks
 * that need no host are made (creating the VM then says what is wrong).
 */
int vcpu_host_probe(struct vcpu_host *h);
void vcpu_host_fini(struct vcpu_host *h);

/*
 * What KVM_SET_SREGS, _XSAVE, _XCRS, _VCPU_EVENTS, _MP_STATE, _DEBUGREGS
 * and _MSRS (apic_base, efer) refuse in @s, or take to mean nothing, as
 * Linux checks it (arch/x86/kvm): reserved bits of cr0, cr4 (for the
 * vCPU's CPUID), efer and apic_base (MAXPHYADDR, x2APIC), the 64-bit mode
 * invariants, the XSAVE header and MXCSR, xcr0's feature rules, event
 * flags and vectors, MP states, dr6/dr7.  @cpuid (@ncpuid entries, may be
 * 0) is the CPUID the vCPU will have; @h may be NULL or !known (checks
 * against the host skipped).  @path ("devices.vcpu@0") prefixes the field
 * named in @err.  0 or -EINVAL.
 */
int vcpu_state_check(const struct vcpu_state *s,
    const struct kvm_cpuid_entry2 *cpuid, uint32_t ncpuid,
    const struct vcpu_host *h, const char *path, char *err, size_t errlen);

/*
 * devices.vcpu@N (N = @id) of @doc checked without a VM (fuzz_hyve_devstate,
 * unit tests; a restore checks against its VM's own vCPUs instead): read
 * by the code vcpu_state_io() reads it with, taking a format-1 XSAVE block
 * of any length and only the MSRs vcpu_state_check() looks at, and
 * vcpu_state_check() it with the CPUID it would have (the checkpoint's,
 * else the one hyve builds for vCPU @id of @ncpus from @h).  Errors are the
 * document's, naming the field.  The other MSRs go unread, and would be
 * warned about as unknown: turn the document's warnings off meanwhile.
 */
int vcpu_state_precheck(ckp_doc_t *doc, unsigned id, unsigned ncpus,
    const struct vcpu_host *h);

int vm_kstate_get(struct vm *vm, struct vm_kstate *s);
int vm_kstate_set(struct vm *vm, const struct vm_kstate *s);
int vm_kstate_io(struct vm *vm, ckp_io_t *io, struct vm_kstate *s);

/*
 * Whether device @id of model @emu can be saved (@save) or restored: 0, or
 * -ENOTSUP with "device ID (MODEL) cannot be saved: its model has no
 * checkpoint code" ("restored" for a restore) in @err.
 */
int dev_ckp_check(const struct devemu *emu, const char *id, bool save,
    char *err, size_t errlen);
/* dev_ckp_check() of every device of @vm for a save: the first refusal. */
int vm_devs_saveable(struct vm *vm, char *err, size_t errlen);

/*
 * Everything of a VM but its RAM and configuration (which the caller
 * stores: the RAM file, cfg_save_ckp()), at the cursor of @io:
 *   memory { size, region@N { gpa, size, file_off } }  (must match on restore)
 *   vm { irqchip { pic_master, pic_slave, ioapic }, pit, clock }
 *   devices { vcpu@N { rip, rsp, ..., cr3, efer, cs.., xsave, xcrs, lapic, events, mp_state, debugregs, msrs,
 *            cpuid (optional) }
 *   devices { <dev id> { the device's own fields } ... }
 * Save: vCPUs parked (vm_pause_vcpus) and devices paused.  A device without
 * checkpoint code makes it fail, naming the device (dev_ckp_check()).
 */
int vm_save_state(struct vm *vm, ckp_io_t *io);
/* Only the memory section of it (a migration's HELLO, docs/MIGRATION.md). */
void vm_memory_io(struct vm *vm, ckp_io_t *io);

/*
 * What a checkpoint must fit to be restored into a VM: its vCPUs, its
 * memory layout and its devices, as its configuration describes them
 * before it exists (vm_shape_from_cfg) or as the VM has them.
 */
struct vm_shape {
	const struct cfg *cfg;		/* where cpus and memory.size came from */
	struct vm_params p;
	struct vm_mem_layout mem;
	struct dev_plan	*devs;		/* each device's model, node and id */
	size_t		 ndevs;
};

/*
 * The shape of the VM @cfg describes: vm_params_get(), vm_mem_layout()
 * and vm_devs_plan(), exactly what vm_create() and vm_devs_init() would
 * make of it.  0, or -EINVAL (-ENOMEM) with the message in @err.
 */
int vm_shape_from_cfg(const struct cfg *cfg, struct vm_shape *sh, char *err,
    size_t errlen);
void vm_shape_fini(struct vm_shape *sh);

/*
 * The part of vm_restore_state() that needs nothing but the document and
 * @sh, for a restore to run before anything exists: the memory section
 * against the layout, the vm section (read and checked), one vcpu@N per
 * vCPU and no more, and for every device of @sh restore code and a
 * section, and a device for every other section of devices; versions as
 * ckp_io_enter() takes them.  Reads what it checks through @io (at the
 * root), so unknown fields there are reported.  0 or the document's error,
 * naming the section or field.
 */
int vm_restore_check(const struct vm_shape *sh, ckp_io_t *io);

/* What vm_restore_state() read and checked, for vm_apply_state(). */
struct vm_restore {
	struct vm_kstate	 ks;
	struct vcpu_state	*vcpus;
	unsigned		 ncpus;
};
/*
 * Restore, step 1: read and check everything (vm_restore_check() first,
 * then every vCPU against this VM's, then each device's section by its
 * restore op, which fills the device), and change nothing in KVM.  Errors
 * are in the document, naming the field; a device section with no device
 * here is an error.  With @rp NULL, a dry run for a VM whose devices are
 * not created yet: the same reading and checks, device sections checked
 * against the devices its configuration names, no restore op run and
 * nothing kept.
 */
int vm_restore_state(struct vm *vm, ckp_io_t *io, struct vm_restore **rp);
/* Step 2: apply to KVM (VM first, then each vCPU), before devices resume. */
int vm_apply_state(struct vm *vm, const struct vm_restore *r);
void vm_restore_free(struct vm_restore *r);

/* The MSRs hyve saves: KVM's list, minus those this host cannot read. */
int vm_msr_list_init(struct vm *vm);
/* A readable name for MSR @index ("tsc", "lstar") or NULL. */
const char *msr_name(uint32_t index);

#endif /* HYVE_STATE_H */
