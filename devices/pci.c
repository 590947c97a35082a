/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * PCI bus 0: configuration mechanism #1, type-0 headers, BARs, the
 * capability list, MSI-X and INTx.  Models use it through pci.h.
 *
 * Locks: bus->cfg_lock serialises config-space accesses (the 0xCF8 latch,
 * BAR moves, command changes) and may be held while BARs are registered
 * with the VM; pd->lock guards MSI-X and INTx state and is a leaf (held
 * only around vm_msi()/vm_irq_line()), so that MMIO accesses to an MSI-X
 * table and interrupts raised by device threads never wait for a BAR move.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"

struct pci_bus {
	struct vm *vm;
	struct pci_bus *next;
	struct pci_dev *devs[PCI_SLOTS][PCI_FUNCS];
	int	ndevs;
	uint32_t cf8;		/* the address latch */
	uint64_t mmio_next;
	uint32_t io_next;
	pthread_mutex_t cfg_lock;
};

static pthread_mutex_t buses_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pci_bus *buses;

static int pci_cf8_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val);
static int pci_cfc_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val);
static int pci_bar_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val);

/* ------------------------------------------------------------------------ */
/* The bus                                                                   */
/* ------------------------------------------------------------------------ */

static struct pci_bus *
pci_bus_find(struct vm *vm)
{
	struct pci_bus *b;

	for (b = buses; b != NULL; b = b->next)
		if (b->vm == vm)
			return (b);
	return (NULL);
}

/* The bus of @vm, created with its config ports on first use. */
static int
pci_bus_get(struct vm *vm, struct pci_bus **bp)
{
	struct pci_bus *b;
	int rc;

	pthread_mutex_lock(&buses_lock);
	b = pci_bus_find(vm);
	if (b != NULL) {
		*bp = b;
		pthread_mutex_unlock(&buses_lock);
		return (0);
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		pthread_mutex_unlock(&buses_lock);
		return (-ENOMEM);
	}
	b->vm = vm;
	b->mmio_next = PCI_MMIO32_BASE;
	b->io_next = PCI_IO_BASE;
	pthread_mutex_init(&b->cfg_lock, NULL);
	rc = vm_pio_register(vm, 0xcf8, 4, pci_cf8_io, b, "pci-cf8");
	if (rc < 0) {
		vm_log(vm, "pci: cannot register config address port 0xcf8: %s",
		    strerror(-rc));
		goto fail;
	}
	rc = vm_pio_register(vm, 0xcfc, 4, pci_cfc_io, b, "pci-cfc");
	if (rc < 0) {
		vm_log(vm, "pci: cannot register config data port 0xcfc: %s",
		    strerror(-rc));
		vm_pio_unregister(vm, 0xcf8);
		goto fail;
	}
	b->next = buses;
	buses = b;
	*bp = b;
	pthread_mutex_unlock(&buses_lock);
	return (0);
fail:
	pthread_mutex_destroy(&b->cfg_lock);
	free(b);
	pthread_mutex_unlock(&buses_lock);
	return (rc);
}

static void
pci_bus_put(struct pci_bus *b)
{
	struct pci_bus **pp;

	pthread_mutex_lock(&buses_lock);
	if (b->ndevs > 0) {
		pthread_mutex_unlock(&buses_lock);
		return;
	}
	for (pp = &buses; *pp != NULL; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	pthread_mutex_unlock(&buses_lock);
	vm_pio_unregister(b->vm, 0xcf8);
	vm_pio_unregister(b->vm, 0xcfc);
	pthread_mutex_destroy(&b->cfg_lock);
	free(b);
}

struct pci_dev *
pci_lookup(struct vm *vm, int slot, int func)
{
	struct pci_bus *b;
	struct pci_dev *pd = NULL;

	if (slot < 0 || slot >= PCI_SLOTS || func < 0 || func >= PCI_FUNCS)
		return (NULL);
	pthread_mutex_lock(&buses_lock);
	b = pci_bus_find(vm);
	if (b != NULL)
		pd = b->devs[slot][func];
	pthread_mutex_unlock(&buses_lock);
	return (pd);
}

/* ------------------------------------------------------------------------ */
/* Config space helpers                                                      */
/* ------------------------------------------------------------------------ */

uint8_t
pci_get8(const struct pci_dev *pd, unsigned off)
{
	return (pd->cfg[off & 0xff]);
}

uint16_t
pci_get16(const struct pci_dev *pd, unsigned off)
{
	return ((uint16_t)(pci_get8(pd, off) | pci_get8(pd, off + 1) << 8));
}

uint32_t
pci_get32(const struct pci_dev *pd, unsigned off)
{
	return ((uint32_t)pci_get16(pd, off) | (uint32_t)pci_get16(pd, off + 2) << 16);
}

void
pci_set8(struct pci_dev *pd, unsigned off, uint8_t v)
{
	pd->cfg[off & 0xff] = v;
}

void
pci_set16(struct pci_dev *pd, unsigned off, uint16_t v)
{
	pci_set8(pd, off, (uint8_t)v);
	pci_set8(pd, off + 1, (uint8_t)(v >> 8));
}

void
pci_set32(struct pci_dev *pd, unsigned off, uint32_t v)
{
	pci_set16(pd, off, (uint16_t)v);
	pci_set16(pd, off + 2, (uint16_t)(v >> 16));
}

void
pci_cfg_set_wmask(struct pci_dev *pd, unsigned off, unsigned len, uint8_t mask)
{
	unsigned i;

	for (i = 0; i < len && off + i < PCI_CFG_SIZE; i++)
		pd->wmask[off + i] = mask;
}

/* "pci.0.3.1" -> slot 3, func 1. */
static int
pci_parse_node(const char *node, int *slot, int *func)
{
	unsigned b, s, f;
	int n = 0;

	if (sscanf(node, "pci.%u.%u.%u%n", &b, &s, &f, &n) != 3 ||
	    node[n] != '\0')
		return (-EINVAL);
	if (b != 0 || s >= PCI_SLOTS || f >= PCI_FUNCS)
		return (-ERANGE);
	*slot = (int)s;
	*func = (int)f;
	return (0);
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */
/* ------------------------------------------------------------------------ */

int
pci_dev_init(struct pci_dev *pd, struct dev *d, const struct pci_devemu *pe,
    uint16_t vendor, uint16_t device, uint32_t class, uint8_t rev,
    uint16_t subvendor, uint16_t subdevice)
{
	struct pci_bus *b;
	int slot, func, rc, i;

	memset(pd, 0, sizeof(*pd));
	pd->d = d;
	pd->vm = d->vm;
	pd->pe = pe;
	snprintf(pd->namebuf, sizeof(pd->namebuf), "%s@%s",
	    d->emu != NULL ? d->emu->name : "pci", d->cfg);
	pd->name = pd->namebuf;
	rc = pci_parse_node(d->cfg, &slot, &func);
	if (rc < 0) {
		vm_log(d->vm, "%s: config node \"%s\" is not pci.0.SLOT.FUNC "
		    "with SLOT < %d and FUNC < %d", pd->name, d->cfg, PCI_SLOTS,
		    PCI_FUNCS);
		return (rc);
	}
	pd->slot = (uint8_t)slot;
	pd->func = (uint8_t)func;
	pthread_mutex_init(&pd->lock, NULL);

	pci_set16(pd, PCIR_VENDOR, vendor);
	pci_set16(pd, PCIR_DEVICE, device);
	pci_set8(pd, PCIR_REVID, rev);
	pci_set8(pd, PCIR_PROGIF, (uint8_t)class);
	pci_set8(pd, PCIR_SUBCLASS, (uint8_t)(class >> 8));
	pci_set8(pd, PCIR_CLASS, (uint8_t)(class >> 16));
	pci_set8(pd, PCIR_HDRTYPE, 0);
	pci_set16(pd, PCIR_SUBVEND, subvendor);
	pci_set16(pd, PCIR_SUBDEV, subdevice);
	pd->intx_gsi = PCI_INTX_GSI(slot);
	pci_set8(pd, PCIR_INTLINE, (uint8_t)pd->intx_gsi);
	pci_set8(pd, PCIR_INTPIN, PCI_INTX_PIN);
	pd->cap_next = 0x40;
	/* command: I/O, memory, bus master, INTx disable; cache line, latency, interrupt line */
	pci_cfg_set_wmask(pd, PCIR_COMMAND, 1, 0x07);
	pci_cfg_set_wmask(pd, PCIR_COMMAND + 1, 1, 0x04);
	pci_cfg_set_wmask(pd, PCIR_CACHELNSZ, 2, 0xff);
	pci_cfg_set_wmask(pd, PCIR_INTLINE, 1, 0xff);
	for (i = 0; i < PCI_NBARS; i++) {
		pd->bar[i].ctx.pd = pd;
		pd->bar[i].ctx.idx = i;
	}

	rc = pci_bus_get(d->vm, &b);
	if (rc < 0)
		goto fail;
	pthread_mutex_lock(&buses_lock);
	if (b->devs[slot][func] != NULL) {
		pthread_mutex_unlock(&buses_lock);
		vm_log(d->vm, "%s: PCI slot %d function %d is already taken by %s",
		    pd->name, slot, func, b->devs[slot][func]->name);
		pci_bus_put(b);
		rc = -EEXIST;
		goto fail;
	}
	b->devs[slot][func] = pd;
	b->ndevs++;
	pd->bus = b;
	pthread_mutex_unlock(&buses_lock);
	memcpy(pd->cfg_init, pd->cfg, sizeof(pd->cfg));
	return (0);
fail:
	pthread_mutex_destroy(&pd->lock);
	return (rc);
}

/* The all-ones pattern a guest writes to size a BAR, as it reads back. */
static uint64_t
bar_sizing_pattern(enum pci_bar_type type, uint64_t size)
{
	return ((uint32_t)~(size - 1) & (type == PCI_BAR_IO ? 0xfffffffcU :
	    0xfffffff0U));
}

/* Does the guest ask for the BAR to be decoded (the I/O limit aside)? */
static bool
bar_wanted(enum pci_bar_type type, uint64_t size, uint64_t addr,
    uint16_t command)
{
	if (type == PCI_BAR_IO && (command & PCIM_CMD_PORTEN) == 0)
		return (false);
	if (type == PCI_BAR_MEM32 && (command & PCIM_CMD_MEMEN) == 0)
		return (false);
	if (type != PCI_BAR_IO && type != PCI_BAR_MEM32)
		return (false);
	/* The sizing pattern is not a place. */
	return (addr != 0 && size != 0 &&
	    addr != bar_sizing_pattern(type, size));
}

bool
pci_bar_decodes(enum pci_bar_type type, uint64_t size, uint64_t addr,
    uint16_t command)
{
	if (!bar_wanted(type, size, addr, command))
		return (false);
	return (type != PCI_BAR_IO || addr + size <= 0x10000);
}

static void
bar_unmap(struct pci_dev *pd, int idx)
{
	struct pci_bar *bar = &pd->bar[idx];

	if (!bar->mapped)
		return;
	if (bar->type == PCI_BAR_IO)
		vm_pio_unregister(pd->vm, (uint16_t)bar->mapped_addr);
	else
		vm_mmio_unregister(pd->vm, bar->mapped_addr);
	bar->mapped = false;
}

/* Make the VM's view of BAR @idx match its address and the command register. */
static void
bar_update(struct pci_dev *pd, int idx)
{
	struct pci_bar *bar = &pd->bar[idx];
	bool want;
	int rc;

	if (bar->type == PCI_BAR_NONE)
		return;
	/* A guest that sizes a BAR with decoding on gets no mapping. */
	want = bar_wanted(bar->type, bar->size, bar->addr,
	    pci_get16(pd, PCIR_COMMAND));
	if (bar->mapped && (!want || bar->mapped_addr != bar->addr))
		bar_unmap(pd, idx);
	if (!want || bar->mapped)
		return;
	if (bar->type == PCI_BAR_IO) {
		if (bar->addr + bar->size > 0x10000) {
			vm_log_guest(pd->vm, "%s: BAR %d: I/O address 0x%" PRIx64
			    " is past 0xffff; not decoded", pd->name, idx,
			    bar->addr);
			return;
		}
		rc = vm_pio_register(pd->vm, (uint16_t)bar->addr,
		    (uint16_t)bar->size, pci_bar_io, &bar->ctx, pd->name);
	} else {
		rc = vm_mmio_register(pd->vm, bar->addr, bar->size, pci_bar_io,
		    &bar->ctx, pd->name);
	}
	if (rc < 0) {
		vm_log_guest(pd->vm, "%s: BAR %d: cannot decode %s 0x%" PRIx64
		    "+0x%" PRIx64 ": %s", pd->name, idx,
		    bar->type == PCI_BAR_IO ? "I/O" : "MMIO", bar->addr,
		    bar->size, strerror(-rc));
		return;
	}
	bar->mapped = true;
	bar->mapped_addr = bar->addr;
}

static void
bars_update(struct pci_dev *pd)
{
	int i;

	for (i = 0; i < PCI_NBARS; i++)
		bar_update(pd, i);
}

static uint32_t
bar_cfg_value(const struct pci_bar *bar)
{
	if (bar->type == PCI_BAR_IO)
		return (((uint32_t)bar->addr & 0xfffffffcU) | 1);
	if (bar->type == PCI_BAR_MEM32)
		return ((uint32_t)bar->addr & 0xfffffff0U);
	return (0);
}

int
pci_bar_alloc(struct pci_dev *pd, int idx, enum pci_bar_type type,
    uint64_t size)
{
	struct pci_bus *b = pd->bus;
	struct pci_bar *bar;
	uint64_t addr;
	int rc = 0;

	if (idx < 0 || idx >= PCI_NBARS || pd->bar[idx].type != PCI_BAR_NONE ||
	    size == 0 || (size & (size - 1)) != 0)
		return (-EINVAL);
	if (type == PCI_BAR_MEM32 && size < 4096)
		size = 4096;	/* keep every MMIO BAR on its own page */
	if (type == PCI_BAR_IO && (size < 4 || size > 256))
		return (-EINVAL);
	pthread_mutex_lock(&b->cfg_lock);
	if (type == PCI_BAR_IO) {
		addr = (b->io_next + size - 1) & ~(size - 1);
		if (addr + size > PCI_IO_LIMIT) {
			rc = -ENOSPC;
			goto out;
		}
		b->io_next = (uint32_t)(addr + size);
	} else if (type == PCI_BAR_MEM32) {
		addr = (b->mmio_next + size - 1) & ~(size - 1);
		if (addr + size > PCI_MMIO32_LIMIT) {
			rc = -ENOSPC;
			goto out;
		}
		b->mmio_next = addr + size;
	} else {
		rc = -EINVAL;
		goto out;
	}
	bar = &pd->bar[idx];
	bar->type = type;
	bar->size = size;
	bar->addr = addr;
	pd->bar_init[idx] = addr;
	pci_set32(pd, PCIR_BAR0 + 4 * idx, bar_cfg_value(bar));
	pci_set16(pd, PCIR_COMMAND, pci_get16(pd, PCIR_COMMAND) |
	    (type == PCI_BAR_IO ? PCIM_CMD_PORTEN : PCIM_CMD_MEMEN));
	memcpy(pd->cfg_init, pd->cfg, sizeof(pd->cfg));
	bar_update(pd, idx);
out:
	pthread_mutex_unlock(&b->cfg_lock);
	if (rc == -ENOSPC)
		vm_log(pd->vm, "%s: BAR %d: no room for 0x%" PRIx64 " bytes of %s "
		    "space", pd->name, idx, size, type == PCI_BAR_IO ? "I/O" : "MMIO");
	return (rc);
}

int
pci_cap_add(struct pci_dev *pd, const uint8_t *cap, unsigned len)
{
	unsigned off = (pd->cap_next + 3) & ~3U;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return (-ENOSPC);
	memcpy(pd->cfg + off, cap, len);
	pd->cfg[off + 1] = 0;
	if (pd->cap_last == 0)
		pci_set8(pd, PCIR_CAP_PTR, (uint8_t)off);
	else
		pd->cfg[pd->cap_last] = (uint8_t)off;
	pd->cap_last = (uint8_t)(off + 1);
	pd->cap_next = (uint8_t)(off + len < PCI_CFG_SIZE ? off + len : 0xff);
	pci_set16(pd, PCIR_STATUS, pci_get16(pd, PCIR_STATUS) |
	    PCIM_STATUS_CAPPRESENT);
	memcpy(pd->cfg_init, pd->cfg, sizeof(pd->cfg));
	return ((int)off);
}

int
pci_msix_add(struct pci_dev *pd, int bar, uint16_t nvec, uint32_t table_off,
    uint32_t pba_off)
{
	uint8_t cap[12] = { PCIY_MSIX, 0 };
	unsigned i;
	int off;

	if (nvec == 0 || nvec > PCI_MSIX_MAX || bar < 0 || bar >= PCI_NBARS ||
	    pd->msix.present || (table_off & 7) != 0 || (pba_off & 7) != 0)
		return (-EINVAL);
	cap[2] = (uint8_t)(nvec - 1);
	cap[3] = (uint8_t)((nvec - 1) >> 8);
	cap[4] = (uint8_t)(table_off | (uint32_t)bar);
	cap[5] = (uint8_t)(table_off >> 8);
	cap[6] = (uint8_t)(table_off >> 16);
	cap[7] = (uint8_t)(table_off >> 24);
	cap[8] = (uint8_t)(pba_off | (uint32_t)bar);
	cap[9] = (uint8_t)(pba_off >> 8);
	cap[10] = (uint8_t)(pba_off >> 16);
	cap[11] = (uint8_t)(pba_off >> 24);
	off = pci_cap_add(pd, cap, sizeof(cap));
	if (off < 0)
		return (off);
	pd->msix.present = true;
	pd->msix.cap = (uint8_t)off;
	pd->msix.bar = bar;
	pd->msix.nvec = nvec;
	pd->msix.table_off = table_off;
	pd->msix.pba_off = pba_off;
	for (i = 0; i < nvec; i++)
		pd->msix.table[i].ctrl = PCIM_MSIX_VCTRL_MASK;
	return (0);
}

void
pci_dev_fini(struct pci_dev *pd)
{
	struct pci_bus *b = pd->bus;
	int i;

	if (b == NULL)
		return;
	pci_intx_set(pd, false);
	pthread_mutex_lock(&b->cfg_lock);
	for (i = 0; i < PCI_NBARS; i++)
		bar_unmap(pd, i);
	pthread_mutex_unlock(&b->cfg_lock);
	pthread_mutex_lock(&buses_lock);
	if (b->devs[pd->slot][pd->func] == pd) {
		b->devs[pd->slot][pd->func] = NULL;
		b->ndevs--;
	}
	pthread_mutex_unlock(&buses_lock);
	pci_bus_put(b);
	pd->bus = NULL;
	pthread_mutex_destroy(&pd->lock);
}

void
pci_dev_reset(struct pci_dev *pd)
{
	unsigned i;

	pci_intx_set(pd, false);
	pthread_mutex_lock(&pd->bus->cfg_lock);
	memcpy(pd->cfg, pd->cfg_init, sizeof(pd->cfg));
	for (i = 0; i < PCI_NBARS; i++)
		pd->bar[i].addr = pd->bar_init[i];
	pthread_mutex_lock(&pd->lock);
	pd->msix.enabled = false;
	pd->msix.fmask = false;
	pd->msix.pba = 0;
	for (i = 0; i < PCI_MSIX_MAX; i++) {
		pd->msix.table[i].addr = 0;
		pd->msix.table[i].data = 0;
		pd->msix.table[i].ctrl = i < pd->msix.nvec ?
		    PCIM_MSIX_VCTRL_MASK : 0;
	}
	pthread_mutex_unlock(&pd->lock);
	bars_update(pd);
	pthread_mutex_unlock(&pd->bus->cfg_lock);
}

/* ------------------------------------------------------------------------ */
/* Interrupts                                                                */
/* ------------------------------------------------------------------------ */

bool
pci_msix_enabled(struct pci_dev *pd)
{
	bool en;

	pthread_mutex_lock(&pd->lock);
	en = pd->msix.present && pd->msix.enabled;
	pthread_mutex_unlock(&pd->lock);
	return (en);
}

static void
msix_deliver_locked(struct pci_dev *pd, unsigned vec)
{
	struct pci_msix_entry *e = &pd->msix.table[vec];
	int rc;

	rc = vm_msi(pd->vm, e->addr, e->data);
	/*
	 * KVM_SIGNAL_MSI's -1 for "no local APIC matched" reaches us as
	 * EPERM, which reads like a host permission problem: it is the
	 * guest's programming (destination ID in address bits 19-12).
	 */
	if (rc == -EPERM)
		vm_log_guest(pd->vm, "%s: MSI-X vector %u (addr 0x%" PRIx64
		    " data 0x%x) not delivered: no vCPU has the destination "
		    "APIC ID %u the guest programmed", pd->name, vec, e->addr,
		    e->data, (unsigned)((e->addr >> 12) & 0xff));
	else if (rc < 0)
		vm_log_guest(pd->vm, "%s: MSI-X vector %u (addr 0x%" PRIx64
		    " data 0x%x) not delivered: %s", pd->name, vec, e->addr,
		    e->data, strerror(-rc));
}

void
pci_msix_notify(struct pci_dev *pd, unsigned vec)
{
	pthread_mutex_lock(&pd->lock);
	if (!pd->msix.present || !pd->msix.enabled || vec >= pd->msix.nvec) {
		pthread_mutex_unlock(&pd->lock);
		return;
	}
	if (pd->msix.fmask || (pd->msix.table[vec].ctrl & PCIM_MSIX_VCTRL_MASK))
		pd->msix.pba |= 1ULL << vec;
	else
		msix_deliver_locked(pd, vec);
	pthread_mutex_unlock(&pd->lock);
}

/* Deliver pending vectors that are no longer masked.  pd->lock held. */
static void
msix_flush_pending_locked(struct pci_dev *pd)
{
	unsigned i;

	if (!pd->msix.enabled || pd->msix.fmask || pd->msix.pba == 0)
		return;
	for (i = 0; i < pd->msix.nvec; i++) {
		if ((pd->msix.pba & (1ULL << i)) == 0 ||
		    (pd->msix.table[i].ctrl & PCIM_MSIX_VCTRL_MASK) != 0)
			continue;
		pd->msix.pba &= ~(1ULL << i);
		msix_deliver_locked(pd, i);
	}
}

/* pd->lock held. */
static void
intx_apply_locked(struct pci_dev *pd, bool level)
{
	uint16_t st;

	if (level == pd->intx_asserted)
		return;
	pd->intx_asserted = level;
	st = pci_get16(pd, PCIR_STATUS);
	pci_set16(pd, PCIR_STATUS, level ? (st | PCIM_STATUS_INTxSTATE) :
	    (st & ~PCIM_STATUS_INTxSTATE));
	vm_irq_line(pd->vm, pd->intx_gsi, level ? 1 : 0);
}

void
pci_intx_set(struct pci_dev *pd, bool level)
{
	pthread_mutex_lock(&pd->lock);
	if ((pd->msix.present && pd->msix.enabled) ||
	    (pci_get16(pd, PCIR_COMMAND) & PCIM_CMD_INTxDIS) != 0)
		level = false;
	intx_apply_locked(pd, level);
	pthread_mutex_unlock(&pd->lock);
}

/* ------------------------------------------------------------------------ */
/* Config space accesses                                                     */
/* ------------------------------------------------------------------------ */

static bool
pci_slot_multi(const struct pci_dev *pd)
{
	int f;

	for (f = 1; f < PCI_FUNCS; f++)
		if (pd->bus->devs[pd->slot][f] != NULL)
			return (true);
	return (false);
}

static uint32_t
cfg_read_locked(struct pci_dev *pd, unsigned off, unsigned size)
{
	uint32_t v = 0;
	unsigned i;

	if (pd->pe != NULL && pd->pe->cfgread != NULL &&
	    pd->pe->cfgread(pd, off, size, &v) == 0)
		return (v);
	for (i = 0; i < size; i++) {
		uint8_t b = pd->cfg[off + i];
		/* Function 0 says "multi-function" when the slot has others. */
		if (off + i == PCIR_HDRTYPE && pd->func == 0 &&
		    pci_slot_multi(pd))
			b |= 0x80;
		v |= (uint32_t)b << (8 * i);
	}
	return (v);
}

/* A dword write to a BAR register: move it, or answer a sizing probe. */
static void
bar_write(struct pci_dev *pd, int idx, uint32_t val)
{
	struct pci_bar *bar = &pd->bar[idx];

	if (bar->type == PCI_BAR_NONE)
		return;
	bar->addr = val & ~(uint32_t)(bar->size - 1) &
	    (bar->type == PCI_BAR_IO ? 0xfffffffcU : 0xfffffff0U);
	pci_set32(pd, PCIR_BAR0 + 4 * idx, bar_cfg_value(bar));
	bar_update(pd, idx);
}

static void
msix_ctrl_write(struct pci_dev *pd, uint16_t ctrl)
{
	uint16_t old = pci_get16(pd, pd->msix.cap + 2);
	uint16_t nv = (uint16_t)((old & ~(PCIM_MSIXCTRL_ENABLE |
	    PCIM_MSIXCTRL_FMASK)) | (ctrl & (PCIM_MSIXCTRL_ENABLE |
	    PCIM_MSIXCTRL_FMASK)));

	pthread_mutex_lock(&pd->lock);
	pci_set16(pd, pd->msix.cap + 2, nv);
	pd->msix.enabled = (nv & PCIM_MSIXCTRL_ENABLE) != 0;
	pd->msix.fmask = (nv & PCIM_MSIXCTRL_FMASK) != 0;
	if (pd->msix.enabled)
		intx_apply_locked(pd, false);
	msix_flush_pending_locked(pd);
	pthread_mutex_unlock(&pd->lock);
}

static void
cfg_write_locked(struct pci_dev *pd, unsigned off, unsigned size, uint32_t val)
{
	uint16_t oldcmd = pci_get16(pd, PCIR_COMMAND), newcmd;
	unsigned i, o;

	if (pd->pe != NULL && pd->pe->cfgwrite != NULL &&
	    pd->pe->cfgwrite(pd, off, size, val) == 0)
		return;
	if (off >= PCIR_BAR0 && off < PCIR_BAR0 + 4 * PCI_NBARS) {
		/* Merge partial writes into the dword, as sizing code may use words. */
		o = off & ~3U;
		uint32_t d = pci_get32(pd, o);
		for (i = 0; i < size; i++) {
			unsigned sh = 8 * ((off - o) + i);
			d = (d & ~(0xffU << sh)) | (((val >> (8 * i)) & 0xff) << sh);
		}
		bar_write(pd, (int)(o - PCIR_BAR0) / 4, d);
		return;
	}
	if (pd->msix.present && off <= pd->msix.cap + 3U &&
	    off + size > pd->msix.cap + 2U) {
		uint16_t ctrl = pci_get16(pd, pd->msix.cap + 2);
		for (i = 0; i < size; i++) {
			o = off + i;
			if (o == pd->msix.cap + 2U)
				ctrl = (uint16_t)((ctrl & 0xff00) | ((val >> (8 * i)) & 0xff));
			else if (o == pd->msix.cap + 3U)
				ctrl = (uint16_t)((ctrl & 0x00ff) | (((val >> (8 * i)) & 0xff) << 8));
		}
		msix_ctrl_write(pd, ctrl);
		return;
	}
	for (i = 0; i < size; i++) {
		o = off + i;
		uint8_t m = pd->wmask[o];
		pd->cfg[o] = (uint8_t)((pd->cfg[o] & ~m) | ((val >> (8 * i)) & m));
	}
	newcmd = pci_get16(pd, PCIR_COMMAND);
	if (newcmd != oldcmd) {
		bars_update(pd);
		if ((newcmd & PCIM_CMD_INTxDIS) != 0) {
			pthread_mutex_lock(&pd->lock);
			intx_apply_locked(pd, false);
			pthread_mutex_unlock(&pd->lock);
		}
	}
}

static bool
cfg_access_ok(unsigned off, unsigned size)
{
	return ((size == 1 || size == 2 || size == 4) && off < PCI_CFG_SIZE &&
	    (off & 3) + size <= 4);
}

uint32_t
pci_cfg_read(struct vm *vm, int slot, int func, unsigned off, unsigned size)
{
	struct pci_dev *pd = pci_lookup(vm, slot, func);
	uint32_t v;

	if (!cfg_access_ok(off, size))
		return (0xffffffffU);
	if (pd == NULL)
		return (size == 4 ? 0xffffffffU : (1U << (8 * size)) - 1);
	pthread_mutex_lock(&pd->bus->cfg_lock);
	v = cfg_read_locked(pd, off, size);
	pthread_mutex_unlock(&pd->bus->cfg_lock);
	return (v);
}

void
pci_cfg_write(struct vm *vm, int slot, int func, unsigned off, unsigned size,
    uint32_t val)
{
	struct pci_dev *pd = pci_lookup(vm, slot, func);

	if (pd == NULL || !cfg_access_ok(off, size))
		return;
	pthread_mutex_lock(&pd->bus->cfg_lock);
	cfg_write_locked(pd, off, size, val);
	pthread_mutex_unlock(&pd->bus->cfg_lock);
}

static int
pci_cf8_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct pci_bus *b = opaque;

	/* Only dword accesses reach the address latch; others go nowhere. */
	if (off != 0 || size != 4) {
		if (!is_write)
			*val = (1ULL << (8 * (size > 4 ? 4 : size))) - 1;
		return (0);
	}
	pthread_mutex_lock(&b->cfg_lock);
	if (is_write)
		b->cf8 = (uint32_t)*val & 0x80fffffcU;
	else
		*val = b->cf8;
	pthread_mutex_unlock(&b->cfg_lock);
	return (0);
}

static int
pci_cfc_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct pci_bus *b = opaque;
	struct pci_dev *pd = NULL;
	uint32_t a;
	unsigned reg, slot, func;

	pthread_mutex_lock(&b->cfg_lock);
	a = b->cf8;
	reg = (a & 0xfc) + (unsigned)off;
	slot = (a >> 11) & 0x1f;
	func = (a >> 8) & 0x7;
	if ((a & 0x80000000U) != 0 && ((a >> 16) & 0xff) == 0 &&
	    cfg_access_ok(reg, size))
		pd = b->devs[slot][func];
	if (pd == NULL) {
		if (!is_write)
			*val = (1ULL << (8 * (size > 4 ? 4 : size))) - 1;
	} else if (is_write) {
		cfg_write_locked(pd, reg, size, (uint32_t)*val);
	} else {
		*val = cfg_read_locked(pd, reg, size);
	}
	pthread_mutex_unlock(&b->cfg_lock);
	return (0);
}

/* ------------------------------------------------------------------------ */
/* BAR accesses: MSI-X table and PBA here, the rest to the model             */
/* ------------------------------------------------------------------------ */

static void
msix_table_access(struct pci_dev *pd, uint64_t off, unsigned size,
    bool is_write, uint64_t *val)
{
	struct pci_msix_entry *e;
	unsigned vec = (unsigned)(off / 16), field = (unsigned)(off % 16);
	bool was_masked;

	/* Only aligned dword and qword accesses are defined. */
	if ((size != 4 && size != 8) || (field & (size - 1)) != 0) {
		if (!is_write)
			*val = 0;
		return;
	}
	pthread_mutex_lock(&pd->lock);
	e = &pd->msix.table[vec];
	if (!is_write) {
		switch (field) {
		case 0:
			*val = size == 8 ? e->addr : (uint32_t)e->addr;
			break;
		case 4:
			*val = (uint32_t)(e->addr >> 32);
			break;
		case 8:
			*val = size == 8 ? ((uint64_t)e->ctrl << 32 | e->data) :
			    e->data;
			break;
		default:
			*val = e->ctrl;
			break;
		}
		pthread_mutex_unlock(&pd->lock);
		return;
	}
	was_masked = (e->ctrl & PCIM_MSIX_VCTRL_MASK) != 0;
	switch (field) {
	case 0:
		if (size == 8)
			e->addr = *val;
		else
			e->addr = (e->addr & ~0xffffffffULL) | (uint32_t)*val;
		break;
	case 4:
		e->addr = (e->addr & 0xffffffffULL) | (*val << 32);
		break;
	case 8:
		e->data = (uint32_t)*val;
		if (size == 8)
			e->ctrl = (uint32_t)(*val >> 32) & PCIM_MSIX_VCTRL_MASK;
		break;
	default:
		e->ctrl = (uint32_t)*val & PCIM_MSIX_VCTRL_MASK;
		break;
	}
	if (was_masked && (e->ctrl & PCIM_MSIX_VCTRL_MASK) == 0)
		msix_flush_pending_locked(pd);
	pthread_mutex_unlock(&pd->lock);
}

static int
pci_bar_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct pci_dev_bar_ctx *ctx = opaque;
	struct pci_dev *pd = ctx->pd;
	struct pci_msix *m = &pd->msix;
	uint64_t pba_len;

	if (m->present && m->bar == ctx->idx) {
		if (off >= m->table_off && off + size <= m->table_off +
		    16ULL * m->nvec) {
			msix_table_access(pd, off - m->table_off, size, is_write,
			    val);
			return (0);
		}
		pba_len = 8ULL * ((m->nvec + 63) / 64);
		if (off >= m->pba_off && off + size <= m->pba_off + pba_len) {
			if (!is_write) {
				pthread_mutex_lock(&pd->lock);
				*val = m->pba >> (8 * (off - m->pba_off));
				if (size < 8)
					*val &= (1ULL << (8 * size)) - 1;
				pthread_mutex_unlock(&pd->lock);
			}
			return (0);
		}
	}
	if (is_write) {
		if (pd->pe != NULL && pd->pe->barwrite != NULL)
			return (pd->pe->barwrite(pd, ctx->idx, off, size, *val));
		return (0);
	}
	*val = 0;
	if (pd->pe != NULL && pd->pe->barread != NULL)
		return (pd->pe->barread(pd, ctx->idx, off, size, val));
	return (0);
}

/* ------------------------------------------------------------------------ */
/* Checkpoint                                                                */
/* ------------------------------------------------------------------------ */

static bool
pci_bus_first(const struct pci_dev *pd)
{
	struct pci_bus *b = pd->bus;
	int s, f;

	for (s = 0; s < PCI_SLOTS; s++)
		for (f = 0; f < PCI_FUNCS; f++)
			if (b->devs[s][f] != NULL)
				return (b->devs[s][f] == pd);
	return (false);
}

static const char *
bar_type_name(enum pci_bar_type type)
{
	return (type == PCI_BAR_IO ? "io" : type == PCI_BAR_MEM32 ? "mem32" :
	    "");
}

/*
 * The fields of the "pci" section, once for save and restore.  Which
 * BARs and MSI-X vectors there are comes from @st as the caller filled it
 * from the function (pci_state_get()), so a restore reads the sections
 * this function has; a count of vectors other than the function's stops
 * the reading of vectors (the caller refuses it, naming both counts).
 */
static int
pci_state_io(ckp_io_t *io, struct pci_state *st)
{
	uint16_t nvec;
	uint32_t i;

	/* A failed enter records the error; its leave below matches it. */
	ckp_io_enter(io, "pci", 1);
	ckp_io_bytes(io, "cfg", st->cfg, sizeof(st->cfg), 0);
	CKP_IO_NAMED(io, "command", st->command);
	for (i = 0; i < PCI_NBARS && ckp_io_error(io) == 0; i++) {
		struct pci_bar_state *b = &st->bar[i];
		if (b->type[0] == '\0')
			continue;
		ckp_io_enterf(io, 1, "bar@%u", i);
		ckp_io_string(io, "type", b->type, sizeof(b->type), 0);
		CKP_IO_NAMED(io, "size", b->size);
		CKP_IO_NAMED(io, "addr", b->addr);
		ckp_io_leave(io);
	}
	if (st->msix) {
		ckp_io_enter(io, "msix", 1);
		nvec = st->nvec;
		CKP_IO_NAMED(io, "nvec", st->nvec);
		CKP_IO_NAMED(io, "enabled", st->msix_enabled);
		CKP_IO_NAMED(io, "function_mask", st->msix_fmask);
		CKP_IO_NAMED(io, "pba", st->pba);
		for (i = 0; i < nvec && st->nvec == nvec &&
		    ckp_io_error(io) == 0; i++) {
			ckp_io_enterf(io, 1, "vector@%u", i);
			CKP_IO_NAMED(io, "addr", st->vec[i].addr);
			CKP_IO_NAMED(io, "data", st->vec[i].data);
			CKP_IO_NAMED(io, "ctrl", st->vec[i].ctrl);
			ckp_io_leave(io);
		}
		ckp_io_leave(io);
	}
	/* Only the first function on the bus saves the latch. */
	if (ckp_io_restoring(io))
		st->has_cf8 = ckp_sec_has(ckp_io_section(io), "bus_cf8");
	if (st->has_cf8)
		CKP_IO_NAMED(io, "bus_cf8", st->cf8);
	CKP_IO_NAMED_OPT(io, "intx_asserted", st->intx_asserted, false);
	ckp_io_leave(io);
	return (ckp_io_error(io));
}

/* @pd's state as a checkpoint holds it.  bus cfg_lock and pd->lock held. */
static void
pci_state_get(struct pci_dev *pd, struct pci_state *st)
{
	uint32_t i;

	memset(st, 0, sizeof(*st));
	memcpy(st->cfg, pd->cfg, sizeof(st->cfg));
	st->command = pci_get16(pd, PCIR_COMMAND);
	for (i = 0; i < PCI_NBARS; i++) {
		snprintf(st->bar[i].type, sizeof(st->bar[i].type), "%s",
		    bar_type_name(pd->bar[i].type));
		st->bar[i].size = pd->bar[i].size;
		st->bar[i].addr = pd->bar[i].addr;
	}
	st->msix = pd->msix.present;
	st->nvec = pd->msix.nvec;
	st->msix_enabled = pd->msix.enabled;
	st->msix_fmask = pd->msix.fmask;
	st->pba = pd->msix.pba;
	memcpy(st->vec, pd->msix.table, sizeof(st->vec));
	st->has_cf8 = pci_bus_first(pd);
	st->cf8 = pd->bus->cf8;
	st->intx_asserted = pd->intx_asserted;
}

int
pci_dev_save(struct pci_dev *pd, ckp_io_t *io)
{
	struct pci_state st;

	pthread_mutex_lock(&pd->bus->cfg_lock);
	pthread_mutex_lock(&pd->lock);
	pci_state_get(pd, &st);
	pthread_mutex_unlock(&pd->lock);
	pthread_mutex_unlock(&pd->bus->cfg_lock);
	return (pci_state_io(io, &st));
}

static int
pci_restore_fail(ckp_io_t *io, struct pci_dev *pd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
pci_restore_fail(ckp_io_t *io, struct pci_dev *pd, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return (ckp_doc_set_error(ckp_io_doc(io), -EINVAL, "%s: pci: %s",
	    pd->name, msg));
}

/*
 * The decoded fields (command, BAR addresses, MSI-X control) are what a
 * person edits, so they win over the raw config bytes, which are patched
 * to match.  Identity (IDs, class, BAR types and sizes, vectors) must be
 * the same as the model built now.  @st is left as the commit applies it.
 */
int
pci_dev_restore_check(struct pci_dev *pd, ckp_io_t *io, struct pci_state *st)
{
	uint8_t *cfg = st->cfg;
	uint16_t ctrl;
	uint8_t cap;
	uint32_t i;
	int rc;

	/* Start from the function as built: it says which sections to read. */
	pthread_mutex_lock(&pd->bus->cfg_lock);
	pthread_mutex_lock(&pd->lock);
	pci_state_get(pd, st);
	pthread_mutex_unlock(&pd->lock);
	pthread_mutex_unlock(&pd->bus->cfg_lock);
	if ((rc = pci_state_io(io, st)) < 0)
		return (rc);

	if (memcmp(cfg, pd->cfg_init, 4) != 0 ||
	    memcmp(cfg + PCIR_REVID, pd->cfg_init + PCIR_REVID, 4) != 0 ||
	    memcmp(cfg + PCIR_SUBVEND, pd->cfg_init + PCIR_SUBVEND, 4) != 0)
		return (pci_restore_fail(io, pd, "saved config space is of "
		    "device %04x:%04x class %02x%02x%02x, this slot holds "
		    "%04x:%04x class %02x%02x%02x", cfg[0] | cfg[1] << 8,
		    cfg[2] | cfg[3] << 8, cfg[0xb], cfg[0xa], cfg[9],
		    pci_get16(pd, 0), pci_get16(pd, 2), pd->cfg_init[0xb],
		    pd->cfg_init[0xa], pd->cfg_init[9]));
	cfg[PCIR_COMMAND] = (uint8_t)st->command;
	cfg[PCIR_COMMAND + 1] = (uint8_t)(st->command >> 8);
	for (i = 0; i < PCI_NBARS; i++) {
		const struct pci_bar *bar = &pd->bar[i];
		struct pci_bar_state *b = &st->bar[i];
		struct pci_bar tmp;
		uint32_t v;
		if (bar->type == PCI_BAR_NONE)
			continue;
		if (strcmp(b->type, bar_type_name(bar->type)) != 0 ||
		    b->size != bar->size)
			return (pci_restore_fail(io, pd, "bar@%u is %s of 0x%"
			    PRIx64 " bytes, this device has %s of 0x%" PRIx64,
			    i, b->type, b->size, bar_type_name(bar->type),
			    bar->size));
		if ((b->addr & (b->size - 1)) != 0 || b->addr > 0xffffffffULL)
			return (pci_restore_fail(io, pd, "bar@%u.addr 0x%" PRIx64
			    " is not a 32-bit address aligned to its size 0x%"
			    PRIx64, i, b->addr, b->size));
		tmp = *bar;
		tmp.addr = b->addr;
		v = bar_cfg_value(&tmp);
		memcpy(cfg + PCIR_BAR0 + 4 * i, &v, 4);
	}
	if (pd->msix.present) {
		if (st->nvec != pd->msix.nvec)
			return (pci_restore_fail(io, pd, "msix.nvec is %u, this "
			    "device has %u vectors", st->nvec, pd->msix.nvec));
		/* Only the mask bit of a vector's control is writable. */
		for (i = 0; i < st->nvec; i++)
			st->vec[i].ctrl &= PCIM_MSIX_VCTRL_MASK;
		if (st->nvec < 64)
			st->pba &= (1ULL << st->nvec) - 1;
		cap = pd->msix.cap;
		ctrl = (uint16_t)((cfg[cap + 2] | cfg[cap + 3] << 8) &
		    ~(PCIM_MSIXCTRL_ENABLE | PCIM_MSIXCTRL_FMASK));
		ctrl |= (st->msix_enabled ? PCIM_MSIXCTRL_ENABLE : 0) |
		    (st->msix_fmask ? PCIM_MSIXCTRL_FMASK : 0);
		cfg[cap + 2] = (uint8_t)ctrl;
		cfg[cap + 3] = (uint8_t)(ctrl >> 8);
	}
	/*
	 * pci_dev_resume() drives the line as saved, and only pci_intx_set()
	 * (a model's own interrupt) ever lowers it: a line no model raises
	 * (no pin), or one MSI-X or INTx disable keeps low, would stay
	 * asserted for good, a level interrupt the guest cannot acknowledge.
	 */
	if (st->intx_asserted && pd->cfg_init[PCIR_INTPIN] == 0)
		return (pci_restore_fail(io, pd, "intx_asserted is true, but "
		    "this function has no interrupt pin"));
	if (st->intx_asserted && ((pd->msix.present && st->msix_enabled) ||
	    (st->command & PCIM_CMD_INTxDIS) != 0))
		return (pci_restore_fail(io, pd, "intx_asserted is true with %s",
		    pd->msix.present && st->msix_enabled ? "msix.enabled" :
		    "INTx disabled in command"));
	/* The status bit follows the line, which pci_dev_resume() drives. */
	cfg[PCIR_STATUS] &= (uint8_t)~PCIM_STATUS_INTxSTATE;
	/*
	 * Every bit the guest cannot write must be this device's: the
	 * capability list, the virtio capabilities' BAR offsets, MSI-X table
	 * size and location, header type, interrupt pin...  Otherwise the guest
	 * would drive a device hyve does not emulate.  BARs come from bar@N.
	 */
	for (i = 0; i < PCI_CFG_SIZE; i++) {
		uint8_t ro = (uint8_t)~pd->wmask[i];
		if (i >= PCIR_BAR0 && i < PCIR_BAR0 + 4 * PCI_NBARS)
			continue;
		if (pd->msix.present && i == pd->msix.cap + 3U)
			ro &= (uint8_t)~((PCIM_MSIXCTRL_ENABLE |
			    PCIM_MSIXCTRL_FMASK) >> 8);
		if (((cfg[i] ^ pd->cfg_init[i]) & ro) == 0)
			continue;
		if (i == PCIR_COMMAND || i == PCIR_COMMAND + 1)
			return (pci_restore_fail(io, pd, "command 0x%04x sets "
			    "bits the guest cannot write (writable: 0x%04x)",
			    st->command, pd->wmask[PCIR_COMMAND] |
			    pd->wmask[PCIR_COMMAND + 1] << 8));
		return (pci_restore_fail(io, pd, "cfg byte 0x%02x is 0x%02x, "
		    "where this device has 0x%02x (read-only bits 0x%02x)", i,
		    cfg[i], pd->cfg_init[i], ro));
	}
	st->cf8 &= 0x80fffffcU;
	return (0);
}

/* Mappings and the INTx line change in pci_dev_resume(). */
void
pci_dev_restore_commit(struct pci_dev *pd, const struct pci_state *st)
{
	uint32_t i;

	pthread_mutex_lock(&pd->bus->cfg_lock);
	pthread_mutex_lock(&pd->lock);
	memcpy(pd->cfg, st->cfg, sizeof(pd->cfg));
	for (i = 0; i < PCI_NBARS; i++)
		if (pd->bar[i].type != PCI_BAR_NONE)
			pd->bar[i].addr = st->bar[i].addr;
	if (pd->msix.present) {
		pd->msix.enabled = st->msix_enabled;
		pd->msix.fmask = st->msix_fmask;
		pd->msix.pba = st->pba;
		memcpy(pd->msix.table, st->vec,
		    pd->msix.nvec * sizeof(pd->msix.table[0]));
	}
	pd->intx_asserted = false;
	pd->intx_restore = st->intx_asserted;
	if (st->has_cf8)
		pd->bus->cf8 = st->cf8;
	pthread_mutex_unlock(&pd->lock);
	pthread_mutex_unlock(&pd->bus->cfg_lock);
}

int
pci_dev_restore(struct pci_dev *pd, ckp_io_t *io)
{
	struct pci_state st;
	int rc;

	if ((rc = pci_dev_restore_check(pd, io, &st)) < 0)
		return (rc);
	pci_dev_restore_commit(pd, &st);
	return (0);
}

/* A BAR a restore would decode, read from a checkpoint's document. */
struct bar_win {
	enum pci_bar_type type;
	uint64_t base;
	uint64_t size;
	uint16_t command;
	char	 name[CKP_MAX_NAME + 32];	/* devices.ID.pci.bar@N */
};

/*
 * Fields of exactly the type pci_dev_restore() reads, or nothing: a
 * getter would record a sticky error, and what is missing or mistyped is
 * pci_dev_restore()'s to refuse by name.
 */
static bool
doc_field(const ckp_sec_t *sec, const char *name, ckp_type_t type)
{
	const ckp_ent_t *e = ckp_sec_lookup(sec, name);

	return (e != NULL && ckp_ent_type(e) == type);
}

static bool
ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return (alen != 0 && blen != 0 && a <= b + (blen - 1) &&
	    b <= a + (alen - 1));
}

/* Collect the decoding BARs of device @id into @w; returns how many. */
static size_t
bars_of(ckp_sec_t *devices, const char *id, struct bar_win *w)
{
	ckp_sec_t *dev, *pci, *bar;
	const char *type;
	uint64_t size, addr;
	uint16_t command;
	enum pci_bar_type t;
	char bn[16];
	size_t n = 0;
	unsigned i;

	if ((dev = ckp_sec_find(devices, id)) == NULL ||
	    (pci = ckp_sec_find(dev, "pci")) == NULL ||
	    !doc_field(pci, "command", CKP_TYPE_UINT16) ||
	    ckp_sec_get_uint16(pci, "command", &command) != 0)
		return (0);
	for (i = 0; i < PCI_NBARS; i++) {
		snprintf(bn, sizeof(bn), "bar@%u", i);
		if ((bar = ckp_sec_find(pci, bn)) == NULL ||
		    !doc_field(bar, "type", CKP_TYPE_STRING) ||
		    !doc_field(bar, "size", CKP_TYPE_UINT64) ||
		    !doc_field(bar, "addr", CKP_TYPE_UINT64) ||
		    ckp_sec_get_string(bar, "type", &type) != 0 ||
		    ckp_sec_get_uint64(bar, "size", &size) != 0 ||
		    ckp_sec_get_uint64(bar, "addr", &addr) != 0)
			continue;
		t = strcmp(type, "io") == 0 ? PCI_BAR_IO :
		    strcmp(type, "mem32") == 0 ? PCI_BAR_MEM32 : PCI_BAR_NONE;
		/* Shapes pci_dev_restore() refuses are refused there. */
		if (t == PCI_BAR_NONE || size == 0 || (size & (size - 1)) != 0 ||
		    (addr & (size - 1)) != 0 || addr > 0xffffffffULL ||
		    !pci_bar_decodes(t, size, addr, command))
			continue;
		w[n].type = t;
		w[n].base = addr;
		w[n].size = size;
		w[n].command = command;
		snprintf(w[n].name, sizeof(w[n].name), "devices.%s.pci.%s", id,
		    bn);
		n++;
	}
	return (n);
}

int
pci_bars_check(ckp_sec_t *devices, const char *const *ids, size_t nids,
    const struct pci_range *fixed, size_t nfixed, char *err, size_t errlen)
{
	struct bar_win *w;
	const char *space;
	size_t n = 0, i, j;
	int rc = 0;

	if ((w = calloc(nids * PCI_NBARS + 1, sizeof(*w))) == NULL)
		return (-ENOMEM);
	for (i = 0; i < nids; i++)
		n += bars_of(devices, ids[i], w + n);
	for (i = 0; i < n && rc == 0; i++) {
		space = w[i].type == PCI_BAR_IO ? "I/O" : "memory";
		for (j = 0; j < i && rc == 0; j++)
			if (w[j].type == w[i].type && ranges_overlap(w[i].base,
			    w[i].size, w[j].base, w[j].size)) {
				snprintf(err, errlen, "%s: %s BAR at 0x%" PRIx64
				    "-0x%" PRIx64 " overlaps %s at 0x%" PRIx64
				    "-0x%" PRIx64 ", both decoding (pci.command "
				    "0x%04x and 0x%04x): the bus decodes only one",
				    w[i].name, space, w[i].base,
				    w[i].base + w[i].size - 1, w[j].name,
				    w[j].base, w[j].base + w[j].size - 1,
				    w[i].command, w[j].command);
				rc = -EINVAL;
			}
		for (j = 0; j < nfixed && rc == 0; j++)
			if (fixed[j].type == w[i].type && ranges_overlap(
			    w[i].base, w[i].size, fixed[j].base, fixed[j].size)) {
				snprintf(err, errlen, "%s: %s BAR at 0x%" PRIx64
				    "-0x%" PRIx64 " overlaps %s at 0x%" PRIx64
				    "-0x%" PRIx64 " while decoding (pci.command "
				    "0x%04x): accesses to the overlap do not reach "
				    "the BAR",
				    w[i].name, space, w[i].base,
				    w[i].base + w[i].size - 1, fixed[j].what,
				    fixed[j].base, fixed[j].base + fixed[j].size - 1,
				    w[i].command);
				rc = -EINVAL;
			}
	}
	free(w);
	return (rc);
}

/*
 * Unmap every BAR on @b mapped where it no longer belongs.  Functions
 * resume one by one, and a restored BAR may go where another function's
 * BAR was placed when it was created: unless that one is gone first, the
 * first to resume would not be decoded although nothing overlaps once all
 * have moved (two BARs the guest swapped).  b->cfg_lock held.
 */
static void
bus_unmap_stale(struct pci_bus *b)
{
	struct pci_dev *o;
	int s, f, i;

	for (s = 0; s < PCI_SLOTS; s++)
		for (f = 0; f < PCI_FUNCS; f++) {
			if ((o = b->devs[s][f]) == NULL)
				continue;
			for (i = 0; i < PCI_NBARS; i++)
				if (o->bar[i].mapped && (o->bar[i].mapped_addr !=
				    o->bar[i].addr || !bar_wanted(o->bar[i].type,
				    o->bar[i].size, o->bar[i].addr,
				    pci_get16(o, PCIR_COMMAND))))
					bar_unmap(o, i);
		}
}

int
pci_dev_resume(struct pci_dev *pd)
{
	bool level;

	pthread_mutex_lock(&pd->bus->cfg_lock);
	bus_unmap_stale(pd->bus);
	bars_update(pd);
	pthread_mutex_unlock(&pd->bus->cfg_lock);
	pthread_mutex_lock(&pd->lock);
	level = pd->intx_restore;
	pd->intx_restore = false;
	if (level)
		intx_apply_locked(pd, true);
	msix_flush_pending_locked(pd);
	pthread_mutex_unlock(&pd->lock);
	return (0);
}

/* ------------------------------------------------------------------------ */
/* "-s SLOT,MODEL,ARGS" with a leading positional argument                   */
/* ------------------------------------------------------------------------ */

int
pci_parse_args_first(struct cfg *cfg, const char *node, const char *args,
    const char *first_key, char *err, size_t errlen)
{
	const char *comma;
	char *first;
	int rc;

	if (args == NULL || *args == '\0')
		return (0);
	comma = strchr(args, ',');
	first = strndup(args, comma != NULL ? (size_t)(comma - args) :
	    strlen(args));
	if (first == NULL)
		return (-ENOMEM);
	if (strchr(first, '=') != NULL) {
		free(first);
		return (cfg_parse_kv_args(cfg, node, args, err, errlen));
	}
	rc = cfg_node_set(cfg, node, first_key, first);
	if (rc != 0)
		snprintf(err, errlen, "cannot set %s.%s to \"%s\": %s", node,
		    first_key, first, strerror(rc < 0 ? -rc : rc));
	free(first);
	if (rc == 0 && comma != NULL)
		rc = cfg_parse_kv_args(cfg, node, comma + 1, err, errlen);
	return (rc);
}

/* ------------------------------------------------------------------------ */
/* Identity-only functions (host bridge, LPC bridge)                         */
/* ------------------------------------------------------------------------ */

int
pci_ident_init(struct dev *d, const struct pci_devemu *pe, uint16_t vendor,
    uint16_t device, uint32_t class)
{
	struct pci_dev *pd;
	int rc;

	if ((pd = calloc(1, sizeof(*pd))) == NULL)
		return (-ENOMEM);
	rc = pci_dev_init(pd, d, pe, vendor, device, class, 0, 0, 0);
	if (rc < 0) {
		free(pd);
		return (rc);
	}
	/* No interrupt pin: nothing behind it ever interrupts. */
	pci_set8(pd, PCIR_INTPIN, 0);
	pci_set8(pd, PCIR_INTLINE, 0);
	pci_cfg_set_wmask(pd, PCIR_INTLINE, 1, 0);
	memcpy(pd->cfg_init, pd->cfg, sizeof(pd->cfg));
	d->softc = pd;
	return (0);
}

void
pci_ident_fini(struct dev *d)
{
	pci_dev_fini(d->softc);
	free(d->softc);
	d->softc = NULL;
}

void
pci_ident_reset(struct dev *d)
{
	pci_dev_reset(d->softc);
}

int
pci_ident_save(struct dev *d, ckp_io_t *io)
{
	return (pci_dev_save(d->softc, io));
}

int
pci_ident_restore(struct dev *d, ckp_io_t *io)
{
	return (pci_dev_restore(d->softc, io));
}

int
pci_ident_resume(struct dev *d)
{
	return (pci_dev_resume(d->softc));
}
