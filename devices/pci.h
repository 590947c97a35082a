/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * PCI bus 0 for hyve: configuration mechanism #1 (ports 0xCF8/0xCFC),
 * type-0 headers, BARs placed by hyve and moved by the guest, a capability
 * list, MSI-X with its table and PBA in a BAR, and INTx on an IOAPIC pin.
 *
 * A PCI model embeds a struct pci_dev (usually as the first member of its
 * softc), fills it with pci_dev_init(), adds BARs and capabilities, and
 * points struct devemu.pci at its struct pci_devemu: the hooks this file
 * calls for accesses it does not handle itself.  See docs/DEVICES.md.
 */
#ifndef HYVE_PCI_H
#define HYVE_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

#define PCI_SLOTS		32
#define PCI_FUNCS		8
#define PCI_CFG_SIZE		256
#define PCI_NBARS		6

/* Type-0 header offsets. */
#define PCIR_VENDOR		0x00
#define PCIR_DEVICE		0x02
#define PCIR_COMMAND		0x04
#define PCIR_STATUS		0x06
#define PCIR_REVID		0x08
#define PCIR_PROGIF		0x09
#define PCIR_SUBCLASS		0x0a
#define PCIR_CLASS		0x0b
#define PCIR_CACHELNSZ		0x0c
#define PCIR_LATTIMER		0x0d
#define PCIR_HDRTYPE		0x0e
#define PCIR_BAR0		0x10
#define PCIR_SUBVEND		0x2c
#define PCIR_SUBDEV		0x2e
#define PCIR_ROM		0x30
#define PCIR_CAP_PTR		0x34
#define PCIR_INTLINE		0x3c
#define PCIR_INTPIN		0x3d

#define PCIM_CMD_PORTEN		0x0001
#define PCIM_CMD_MEMEN		0x0002
#define PCIM_CMD_BUSMASTEREN	0x0004
#define PCIM_CMD_INTxDIS	0x0400
#define PCIM_STATUS_INTxSTATE	0x0008
#define PCIM_STATUS_CAPPRESENT	0x0010

#define PCIY_MSIX		0x11
#define PCIY_VENDOR		0x09
#define PCIM_MSIXCTRL_ENABLE	0x8000
#define PCIM_MSIXCTRL_FMASK	0x4000
#define PCIM_MSIX_VCTRL_MASK	0x1

/* Where hyve places BARs: 32-bit MMIO in the hole below the IOAPIC, I/O above the legacy ports. */
#define PCI_MMIO32_BASE		VM_PCI_MMIO_BASE
#define PCI_MMIO32_LIMIT	VM_PCI_MMIO_END
#define PCI_IO_BASE		0xc000U
#define PCI_IO_LIMIT		0x10000U

/*
 * INTx: a function that can interrupt reports pin A (INTA#; the bridges
 * report none), and pin A of slot S is wired to IOAPIC input
 * PCI_INTX_GSI_BASE + S % 8.  The DSDT's _PRT says the same (vmm/acpi.c).
 */
#define PCI_INTX_GSI_BASE	VM_GSI_PCI_FIRST
#define PCI_INTX_PIN		1
#define PCI_INTX_GSI(slot)	(PCI_INTX_GSI_BASE + (unsigned)(slot) % 8)

#define PCI_MSIX_MAX		64

enum pci_bar_type {
	PCI_BAR_NONE = 0,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
};

struct pci_dev;

/*
 * A PCI model's hooks.  Every one is optional.  Offsets and sizes are what
 * the guest used; values are little-endian integers.
 *  cfgread/cfgwrite: called first for every config access; return 0 when
 *    handled, -ENOENT to let pci.c do the default (the header, BARs, the
 *    MSI-X capability, and the bytes a model made writable).
 *  barread/barwrite: accesses to a BAR outside the MSI-X table and PBA
 *    (pci.c serves those); @off is relative to the BAR's start.  Return 0
 *    or a negative errno (the access is then logged by hyve).
 *  msix_unmask: a vector was unmasked (for models that keep pending state).
 */
struct pci_devemu {
	int	(*cfgread)(struct pci_dev *pd, unsigned off, unsigned size,
		    uint32_t *val);
	int	(*cfgwrite)(struct pci_dev *pd, unsigned off, unsigned size,
		    uint32_t val);
	int	(*barread)(struct pci_dev *pd, int bar, uint64_t off,
		    unsigned size, uint64_t *val);
	int	(*barwrite)(struct pci_dev *pd, int bar, uint64_t off,
		    unsigned size, uint64_t val);
};

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;		/* power of two; MEM32 >= 4096, IO >= 4 */
	uint64_t addr;		/* as programmed (the guest may move it) */
	bool	mapped;		/* currently registered with the VM */
	uint64_t mapped_addr;	/* where it is registered */
	struct pci_dev_bar_ctx {
		struct pci_dev *pd;
		int	idx;
	} ctx;
};

struct pci_msix_entry {
	uint64_t addr;
	uint32_t data;
	uint32_t ctrl;		/* bit 0: masked */
};

struct pci_msix {
	bool	present;
	uint8_t	cap;		/* offset of the capability in config space */
	int	bar;		/* BAR holding table and PBA */
	uint32_t table_off;
	uint32_t pba_off;
	uint16_t nvec;
	bool	enabled;	/* message control: MSI-X enable */
	bool	fmask;		/* message control: function mask */
	struct pci_msix_entry table[PCI_MSIX_MAX];
	uint64_t pba;		/* pending bits, one per vector */
};

struct pci_bus;

struct pci_dev {
	struct dev *d;
	struct vm *vm;
	struct pci_bus *bus;
	const struct pci_devemu *pe;
	const char *name;	/* for messages: "virtio-blk@pci.0.3.0" */
	char	namebuf[80];
	uint8_t	slot, func;
	uint8_t	cfg[PCI_CFG_SIZE];	/* the config space as the guest sees it */
	uint8_t	wmask[PCI_CFG_SIZE];	/* guest-writable bits outside BARs and MSI-X */
	uint8_t	cfg_init[PCI_CFG_SIZE];	/* config space at init, for reset */
	uint8_t	cap_next;	/* where the next capability goes */
	uint8_t	cap_last;	/* offset of the last capability's next pointer, 0 if none */
	struct pci_bar bar[PCI_NBARS];
	uint64_t bar_init[PCI_NBARS];
	struct pci_msix msix;
	unsigned intx_gsi;
	bool	intx_asserted;
	bool	intx_restore;	/* restored level, applied by pci_dev_resume() */
	pthread_mutex_t lock;	/* config space, BAR mapping, MSI-X state; a leaf lock */
};

/*
 * Make @pd a PCI function at the slot and function named by d->cfg
 * ("pci.0.SLOT.FUNC"), with identity registers set.  @class is
 * class << 16 | subclass << 8 | progif.
 */
int pci_dev_init(struct pci_dev *pd, struct dev *d, const struct pci_devemu *pe,
    uint16_t vendor, uint16_t device, uint32_t class, uint8_t rev,
    uint16_t subvendor, uint16_t subdevice);
/* Take it off the bus, unmap its BARs. */
void pci_dev_fini(struct pci_dev *pd);
/* Allocate BAR @idx of @type and @size, placed by hyve, decoding enabled. */
int pci_bar_alloc(struct pci_dev *pd, int idx, enum pci_bar_type type,
    uint64_t size);
/*
 * Append a capability of @len bytes (its first two, id and next pointer,
 * are filled here).  @return its config-space offset, or a negative errno.
 */
int pci_cap_add(struct pci_dev *pd, const uint8_t *cap, unsigned len);
/* Add an MSI-X capability with @nvec vectors; table at @table_off, PBA at @pba_off in BAR @bar. */
int pci_msix_add(struct pci_dev *pd, int bar, uint16_t nvec,
    uint32_t table_off, uint32_t pba_off);

/* Mark bytes of config space guest-writable (a model's own registers). */
void pci_cfg_set_wmask(struct pci_dev *pd, unsigned off, unsigned len,
    uint8_t mask);

/* Config space accessors for models (host side, no side effects). */
uint8_t pci_get8(const struct pci_dev *pd, unsigned off);
uint16_t pci_get16(const struct pci_dev *pd, unsigned off);
uint32_t pci_get32(const struct pci_dev *pd, unsigned off);
void pci_set8(struct pci_dev *pd, unsigned off, uint8_t v);
void pci_set16(struct pci_dev *pd, unsigned off, uint16_t v);
void pci_set32(struct pci_dev *pd, unsigned off, uint32_t v);

/* @return true when MSI-X is enabled (then INTx is not used). */
bool pci_msix_enabled(struct pci_dev *pd);
/*
 * Raise MSI-X vector @vec: delivered through vm_msi() unless masked, in
 * which case its pending bit is set and it is delivered on unmask.
 * Vectors past the table are ignored.  Safe from any thread.
 */
void pci_msix_notify(struct pci_dev *pd, unsigned vec);
/* Drive the INTx line (level).  Ignored while MSI-X is enabled or INTx is disabled. */
void pci_intx_set(struct pci_dev *pd, bool level);

/*
 * Would a BAR of @type and @size at @addr be decoded with @command in the
 * command register?  Its space's enable bit must be set, and the address
 * must be neither 0 nor the all-ones sizing pattern (a guest sizing a BAR
 * with decoding on gets no mapping).  An I/O BAR that passes 0xffff is
 * not decoded either (logged when it happens).  The rule the bus applies
 * when the guest programs a BAR, and the one a restore checks.
 */
bool pci_bar_decodes(enum pci_bar_type type, uint64_t size, uint64_t addr,
    uint16_t command);

/* A range no decoding BAR may overlap (guest RAM, the IOAPIC...). */
struct pci_range {
	enum pci_bar_type type;	/* the space: PCI_BAR_IO or PCI_BAR_MEM32 */
	uint64_t base;
	uint64_t size;
	const char *what;	/* for messages: "guest RAM", "the IOAPIC" */
};

/* The 0xCF8/0xCFC configuration ports: no I/O BAR may take them. */
#define PCI_CFG_PORT		0xcf8
#define PCI_CFG_PORT_LEN	8

/*
 * Before a restore creates anything: the BARs of the PCI functions @ids
 * (device ids, "virtio-blk@0") as their sections under @devices hold them
 * (pci.command, pci.bar@N.type, size, addr).  Every BAR that would decode
 * must overlap no other decoding BAR and none of @fixed: a guest could
 * not have both decoded (the bus maps the first and refuses the second,
 * and a checkpoint does not say which came first), and a BAR over RAM,
 * the IOAPIC or a local APIC would never see an access.  A field that is
 * missing or of another type is left to pci_dev_restore(), which refuses
 * it by name.  Returns 0, or -EINVAL with a message naming the BAR
 * ("devices.virtio-blk@0.pci.bar@4") and what it overlaps in @err.
 */
int pci_bars_check(ckp_sec_t *devices, const char *const *ids, size_t nids,
    const struct pci_range *fixed, size_t nfixed, char *err, size_t errlen);

/* Reset to the state after init: config space, BARs, MSI-X. */
void pci_dev_reset(struct pci_dev *pd);

/*
 * Checkpoint: the "pci" section of a device (config space, command, BARs,
 * MSI-X table and PBA; the bus's address latch for the first function on
 * the bus).  Restore fills and checks; pci_dev_resume() maps BARs.
 */
int pci_dev_save(struct pci_dev *pd, ckp_io_t *io);
int pci_dev_restore(struct pci_dev *pd, ckp_io_t *io);
int pci_dev_resume(struct pci_dev *pd);

/* One BAR in a checkpoint: section "bar@N". */
struct pci_bar_state {
	char	 type[8];	/* "io" or "mem32"; "" when the function has none */
	uint64_t size;
	uint64_t addr;
};

/*
 * The "pci" section as plain data, the one list of its fields for save and
 * restore (pci_state_io() in pci.c).  Which BARs, whether there is an
 * "msix" section and how many vectors it has are the function's as built
 * (pci_dev_restore_check() starts from them).
 */
struct pci_state {
	uint8_t	 cfg[PCI_CFG_SIZE];
	uint16_t command;
	struct pci_bar_state bar[PCI_NBARS];
	bool	 msix;		/* the function has MSI-X */
	uint16_t nvec;
	bool	 msix_enabled;
	bool	 msix_fmask;
	uint64_t pba;
	struct pci_msix_entry vec[PCI_MSIX_MAX];
	bool	 has_cf8;	/* the first function on a bus holds its latch */
	uint32_t cf8;
	bool	 intx_asserted;
};

/*
 * A restore in two steps, for a model that must check its own state and
 * the transport's before it changes anything: read the "pci" section into
 * @st and check it against @pd (nothing of @pd changes), then commit it.
 * pci_dev_restore() is the two in a row.
 */
int pci_dev_restore_check(struct pci_dev *pd, ckp_io_t *io,
    struct pci_state *st);
void pci_dev_restore_commit(struct pci_dev *pd, const struct pci_state *st);

/*
 * A function that is an identity in config space and nothing else (host
 * bridge, LPC bridge): init with its IDs, and ops for the rest of
 * struct devemu whose softc is the struct pci_dev itself.
 */
int pci_ident_init(struct dev *d, const struct pci_devemu *pe,
    uint16_t vendor, uint16_t device, uint32_t class);
void pci_ident_fini(struct dev *d);
void pci_ident_reset(struct dev *d);
int pci_ident_save(struct dev *d, ckp_io_t *io);
int pci_ident_restore(struct dev *d, ckp_io_t *io);
int pci_ident_resume(struct dev *d);

/*
 * Config-space access as through 0xCF8/0xCFC, for tests and tools:
 * @off 0..255, @size 1, 2 or 4, inside one dword.
 */
uint32_t pci_cfg_read(struct vm *vm, int slot, int func, unsigned off,
    unsigned size);
void pci_cfg_write(struct vm *vm, int slot, int func, unsigned off,
    unsigned size, uint32_t val);
/* The function at slot/func of @vm's bus, or NULL. */
struct pci_dev *pci_lookup(struct vm *vm, int slot, int func);

/*
 * parse_args for models whose first "-s" argument is positional:
 * "disk.img,ro" -> NODE.@first_key=disk.img, NODE.ro=true; the rest (and a
 * first argument holding '=') as cfg_parse_kv_args() reads them.
 */
int pci_parse_args_first(struct cfg *cfg, const char *node, const char *args,
    const char *first_key, char *err, size_t errlen);

#endif /* HYVE_PCI_H */
