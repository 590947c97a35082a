/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The interfaces hyve's devices use: guest memory, port and MMIO dispatch,
 * interrupts, configuration, and the device ops table.  vmm/ implements
 * them; devices/ (one file per device) uses them.
 */
#ifndef HYVE_VMM_H
#define HYVE_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckp.h"

struct vm;
struct dev;
struct cfg;
struct pci_devemu;

/* ------------------------------------------------------------------------ */
/* Guest-physical layout and interrupts (docs/BOOT.md)                       */
/* ------------------------------------------------------------------------ */

/* RAM: [0, min(size, 3 GiB)) then the rest from 4 GiB. */
#define VM_LOWMEM_MAX		0xC0000000ULL
#define VM_HIGHMEM_BASE		0x100000000ULL
/* Where 32-bit PCI memory BARs go: [VM_PCI_MMIO_BASE, VM_PCI_MMIO_END). */
#define VM_PCI_MMIO_BASE	0xC0000000ULL
#define VM_PCI_MMIO_END		0xFEC00000ULL
#define VM_IOAPIC_BASE		0xFEC00000ULL
#define VM_LAPIC_BASE		0xFEE00000ULL
/*
 * GSIs: 0-15 are the ISA IRQs (PIC and IOAPIC pins 0-15, except that ISA
 * IRQ 0, the PIT, is IOAPIC pin 2 as the MADT says); 16-23 are IOAPIC-only
 * pins, free for PCI INTx.  Used: 4 com1/com3, 3 com2/com4, 8 RTC, 9 SCI.
 */
#define VM_NR_GSIS		24
#define VM_GSI_PCI_FIRST	16

/* ------------------------------------------------------------------------ */
/* Guest memory                                                              */
/* ------------------------------------------------------------------------ */

/*
 * The host address of guest-physical [gpa, gpa + len), or NULL unless the
 * whole range lies inside one guest RAM region.  Devices must go through
 * this for every guest-supplied address: it is what keeps a guest from
 * making hyve touch host memory outside guest RAM.
 */
void *vm_gpa_ptr(struct vm *vm, uint64_t gpa, uint64_t len);

/* Mark guest pages written by a device (for dirty tracking while a
 * checkpoint is being written with the guest running). */
void vm_gpa_dirty(struct vm *vm, uint64_t gpa, uint64_t len);

/* ------------------------------------------------------------------------ */
/* Port I/O and MMIO dispatch                                                */
/* ------------------------------------------------------------------------ */

/*
 * An access of @size bytes (1, 2, 4 or 8) at @off from the start of the
 * registered range.  Writes pass the value in *val; reads store it there.
 * Return 0, or a negative errno to report a fault (hyve logs it with the
 * owner's name and address).
 */
typedef int io_fn(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val);

int vm_pio_register(struct vm *vm, uint16_t base, uint16_t len, io_fn *fn,
    void *opaque, const char *owner);
int vm_pio_unregister(struct vm *vm, uint16_t base);
int vm_mmio_register(struct vm *vm, uint64_t base, uint64_t len, io_fn *fn,
    void *opaque, const char *owner);
int vm_mmio_unregister(struct vm *vm, uint64_t base);
/*
 * Handlers run on vCPU threads, several at once: a device serializes its
 * own state.  A handler may (un)register ranges.  An access is dispatched
 * only when it lies wholly inside one registered range; registering a
 * range that overlaps another fails with -EEXIST (logged, naming both
 * owners).
 */

/* ------------------------------------------------------------------------ */
/* Interrupts (in-kernel irqchip)                                            */
/* ------------------------------------------------------------------------ */

/* Drive IOAPIC/PIC input @gsi to @level (0 or 1). */
int vm_irq_line(struct vm *vm, unsigned gsi, int level);
/* Pulse an edge-triggered line. */
int vm_irq_pulse(struct vm *vm, unsigned gsi);
/* Deliver an MSI. */
int vm_msi(struct vm *vm, uint64_t addr, uint32_t data);

/* ------------------------------------------------------------------------ */
/* Requests from devices to stop the VM (vCPU threads or device threads)     */
/* ------------------------------------------------------------------------ */

/* The guest powered off with @status (0 = success); hyve exits 0 or 1. */
void vm_poweroff(struct vm *vm, int status);
/* The guest asked for a reset; hyve does not reboot: it stops (exit 0). */
void vm_request_reset(struct vm *vm);
unsigned vm_ncpus(const struct vm *vm);

/* ------------------------------------------------------------------------ */
/* Configuration (bhyve config-file keys: "cpus", "memory.size",            */
/* "pci.0.3.0.device", "lpc.com1.path"...)                                   */
/* ------------------------------------------------------------------------ */

/*
 * The value of @key, or NULL when unset.  Reading a key marks it used:
 * once every device is initialised, hyve rejects any key nobody read
 * ("unknown config key"), so a device must read every key it accepts
 * during init.  Values are strings; docs/CONFIG.md lists the keys.
 */
const char *vm_cfg_get(const struct vm *vm, const char *key);
/* Key relative to the device's config node ("path" -> "pci.0.3.0.path"). */
const char *dev_cfg_get(const struct dev *d, const char *subkey);
const char *vm_name(const struct vm *vm);
/*
 * True while hyve creates the devices of a VM that is being restored from a
 * checkpoint (hyve -r): their state comes from the checkpoint next, and
 * what the guest already wrote (a console file) is continued, not reset.
 */
bool vm_restoring(const struct vm *vm);

/*
 * Typed reads.  An absent key gives @def.  A malformed or out-of-range
 * value is logged (naming the key and the value) and returns -EINVAL.
 * Booleans: true/false, yes/no, on/off, 1/0.  Integers: C syntax (0x..),
 * sizes accept a K/M/G/T suffix (powers of 1024).
 */
int vm_cfg_get_bool(const struct vm *vm, const char *key, bool def, bool *out);
int dev_cfg_get_bool(const struct dev *d, const char *subkey, bool def,
    bool *out);
int dev_cfg_get_u64(const struct dev *d, const char *subkey, uint64_t def,
    uint64_t min, uint64_t max, uint64_t *out);
int dev_cfg_get_size(const struct dev *d, const char *subkey, uint64_t def,
    uint64_t min, uint64_t max, uint64_t *out);

/*
 * Building configuration before the VM exists (the -s/-l parsers and the
 * devemu parse_args hook).  @node is a dotted prefix ("pci.0.3.0").
 * Return 0 or a negative errno; messages go into @err.
 */
int cfg_node_set(struct cfg *cfg, const char *node, const char *subkey,
    const char *value);
const char *cfg_node_get(const struct cfg *cfg, const char *node,
    const char *subkey);
/*
 * The default parse_args: "a=1,b,c=x" sets NODE.a=1, NODE.b=true,
 * NODE.c=x (bhyve's legacy option syntax).
 */
int cfg_parse_kv_args(struct cfg *cfg, const char *node, const char *args,
    char *err, size_t errlen);

/* Size with an optional K/M/G/T suffix (powers of 1024); no suffix = bytes. */
int cfg_parse_size(const char *s, uint64_t *out);

/* Log a message prefixed with "hyve: NAME: " on stderr. */
void vm_log(const struct vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * vm_log() for what the guest did wrong (a bad request, a bad register
 * value): a guest may repeat it as fast as it likes, so these messages
 * share a budget (10 per 10 s); the next one logged says how many were
 * dropped.
 */
void vm_log_guest(const struct vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * One const table per device model, listed in one explicit array
 * (devices/devices.c), like bhyve's pci_devemu.  A device's checkpoint code
 * lives in its own file, field by field, by a name written in the source
 * (CKP_IO_NAMED...).
 *
 * save and restore are called with the checkpoint cursor inside the
 * device's own section (named d->id, version emu->version); they add or
 * read fields there (and sub-sections of their own).
 *
 * Checkpoint order: pause every device, save, then resume (checkpoint) or
 * exit (suspend).  Restore order: init from the saved configuration, restore
 * every device (fill and validate state only, no side effects outside the
 * device), and only when all succeeded, resume every device (which applies
 * the restored state and starts it).
 */
struct devemu {
	const char *name;	/* model name, as in "-s 3:0,virtio-blk" */
	uint32_t version;	/* checkpoint section version it writes/knows */
	int	(*init)(struct dev *d);	/* on failure: vm_log() why (naming the key), return -errno */
	void	(*reset)(struct dev *d);
	int	(*pause)(struct dev *d);   /* no more guest memory writes or interrupts after return; drains I/O */
	int	(*resume)(struct dev *d);  /* after pause or restore, and once before the vCPUs first run */
	int	(*save)(struct dev *d, ckp_io_t *io);
	int	(*restore)(struct dev *d, ckp_io_t *io);
	void	(*fini)(struct dev *d);
	const struct pci_devemu *pci;	/* PCI models only */
	/*
	 * "-s SLOT,MODEL,ARGS": turn ARGS into keys under @node (e.g.
	 * "pci.0.3.0.path").  NULL: cfg_parse_kv_args().  Runs before the
	 * VM exists; init later reads the keys with dev_cfg_get().
	 */
	int	(*parse_args)(struct cfg *cfg, const char *node,
		    const char *args, char *err, size_t errlen);
};

/*
 * hyve creates the instances (vmm/devs.c), in this order: "pm" (node "pm",
 * id "pm"), "rtc" (node "rtc", id "rtc"), one "uart" per configured
 * lpc.comN node (id "uart@N-1"), then one per pci.B.S.F.device key in
 * B.S.F order (model named by the key, id "MODEL@K", K counting instances
 * of that model from 0).  init runs in that order, fini in reverse.
 */
struct dev {
	const struct devemu *emu;
	struct vm *vm;
	char id[48];		/* checkpoint section name, e.g. "uart@0" */
	char cfg[48];		/* config node, e.g. "pci.0.3.0" or "lpc.com1" */
	void *softc;
};

/* The device models, NULL-terminated (devices/devices.c). */
extern const struct devemu *const devemu_table[];
const struct devemu *devemu_find(const char *name);

#endif /* HYVE_VMM_H */
