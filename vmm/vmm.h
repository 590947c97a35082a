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
struct pci_devemu;

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
/* Configuration (bhyve config-file keys: "cpus", "memory.size",            */
/* "pci.0.3.0.device", "lpc.com1.path"...)                                   */
/* ------------------------------------------------------------------------ */

const char *vm_cfg_get(const struct vm *vm, const char *key);
/* Key relative to the device's config node ("path" -> "pci.0.3.0.path"). */
const char *dev_cfg_get(const struct dev *d, const char *subkey);
const char *vm_name(const struct vm *vm);

/* Log a message prefixed with "hyve: NAME: " on stderr. */
void vm_log(const struct vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * One const table per device model, listed in one explicit array
 * (devices/devices.c), like bhyve's pci_devemu.  A device's checkpoint code
 * lives in its own file, field by field, by name (CKP_IO...).
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
	int	(*init)(struct dev *d);
	void	(*reset)(struct dev *d);
	int	(*pause)(struct dev *d);   /* no more guest memory writes or interrupts after return; drains I/O */
	int	(*resume)(struct dev *d);  /* after pause or restore */
	int	(*save)(struct dev *d, ckp_io_t *io);
	int	(*restore)(struct dev *d, ckp_io_t *io);
	void	(*fini)(struct dev *d);
	const struct pci_devemu *pci;	/* PCI models only */
};

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
