/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * PCI bus: config mechanism #1 through the ports, empty slots, read-only
 * registers, BAR placement and sizing, command register decoding, guest
 * BAR moves, the capability list, MSI-X (table, PBA, masking, delivery),
 * INTx, multi-function headers, the host and LPC bridges, and the
 * checkpoint of a function (save, restore into a fresh VM, compare).
 */
#include "test_virtio_drv.h"

/* A model with an I/O BAR, a memory BAR and MSI-X, built from pci.h alone. */
struct tdev {
	struct pci_dev pd;
	uint64_t last_off;
	uint64_t last_val;
	unsigned nwrites;
	uint32_t reg;
};

static int
tdev_barread(struct pci_dev *pd, int bar, uint64_t off, unsigned size,
    uint64_t *val)
{
	struct tdev *t = (struct tdev *)pd;

	(void)size;
	*val = (uint64_t)bar << 56 | off << 32 | t->reg;
	return (0);
}

static int
tdev_barwrite(struct pci_dev *pd, int bar, uint64_t off, unsigned size,
    uint64_t val)
{
	struct tdev *t = (struct tdev *)pd;

	(void)bar;
	(void)size;
	t->last_off = off;
	t->last_val = val;
	t->nwrites++;
	t->reg = (uint32_t)val;
	return (0);
}

static const struct pci_devemu tdev_pe = {
	.barread = tdev_barread,
	.barwrite = tdev_barwrite,
};

static const struct devemu tdev_emu = { .name = "tdev", .pci = &tdev_pe };

static struct tdev *
tdev_new(struct vm *vm, struct dev *d, int slot, int func)
{
	struct tdev *t = calloc(1, sizeof(*t));

	memset(d, 0, sizeof(*d));
	d->emu = &tdev_emu;
	d->vm = vm;
	snprintf(d->id, sizeof(d->id), "tdev@%d", slot);
	snprintf(d->cfg, sizeof(d->cfg), "pci.0.%d.%d", slot, func);
	if (pci_dev_init(&t->pd, d, &tdev_pe, 0x1234, 0x5678, 0x0b4000, 3,
	    0x1234, 0x0001) != 0 ||
	    pci_bar_alloc(&t->pd, 0, PCI_BAR_IO, 32) != 0 ||
	    pci_bar_alloc(&t->pd, 2, PCI_BAR_MEM32, 0x2000) != 0 ||
	    pci_msix_add(&t->pd, 3, 5, 0, 0x800) != 0 ||
	    pci_bar_alloc(&t->pd, 3, PCI_BAR_MEM32, 0x1000) != 0) {
		fprintf(stderr, "tdev_new failed\n");
		exit(1);
	}
	return (t);
}

static void
test_identity_and_empty(struct vm *vm)
{
	uint64_t v;

	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_VENDOR, 4), 0x56781234);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_DEVICE, 2), 0x5678);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_DEVICE + 1, 1), 0x56);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_REVID, 4), 0x0b400003);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_SUBVEND, 4), 0x00011234);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_INTPIN, 1), 1);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_INTLINE, 1), PCI_INTX_GSI_BASE + 5);
	/* Read-only registers stay. */
	cfg_wr(vm, 5, 0, PCIR_VENDOR, 4, 0xdeadbeef);
	cfg_wr(vm, 5, 0, PCIR_CLASS, 1, 0x77);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_VENDOR, 4), 0x56781234);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_CLASS, 1), 0x0b);
	/* Writable ones change. */
	cfg_wr(vm, 5, 0, PCIR_INTLINE, 1, 0x0a);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_INTLINE, 1), 0x0a);
	cfg_wr(vm, 5, 0, PCIR_INTLINE, 1, PCI_INTX_GSI_BASE + 5);
	/* Empty slots, other buses and the disabled latch read all ones. */
	CHECK_EQ(cfg_rd(vm, 9, 0, PCIR_VENDOR, 4), 0xffffffff);
	CHECK_EQ(cfg_rd(vm, 9, 0, PCIR_VENDOR, 2), 0xffff);
	CHECK_EQ(cfg_rd(vm, 9, 0, 3, 1), 0xff);
	CHECK_EQ(cfg_rd(vm, 5, 1, PCIR_VENDOR, 4), 0xffffffff);
	v = 0x80010000U | 5 << 11;	/* bus 1 */
	vm_test_pio(vm, 0xcf8, 4, true, &v);
	v = 0;
	vm_test_pio(vm, 0xcfc, 4, false, &v);
	CHECK_EQ(v, 0xffffffff);
	v = 5 << 11;	/* enable bit clear */
	vm_test_pio(vm, 0xcf8, 4, true, &v);
	v = 0;
	vm_test_pio(vm, 0xcfc, 4, false, &v);
	CHECK_EQ(v, 0xffffffff);
	/* The latch reads back what was written, without the low bits. */
	v = 0x80002a07;
	vm_test_pio(vm, 0xcf8, 4, true, &v);
	v = 0;
	vm_test_pio(vm, 0xcf8, 4, false, &v);
	CHECK_EQ(v, 0x80002a04);
	/* A write to an empty slot does nothing and does not crash. */
	cfg_wr(vm, 9, 0, PCIR_COMMAND, 2, 0xffff);
	CHECK_EQ(cfg_rd(vm, 9, 0, PCIR_COMMAND, 2), 0xffff);
}

static void
test_bars(struct vm *vm, struct tdev *t)
{
	uint32_t io, mem, sz;
	uint64_t v;

	io = cfg_rd(vm, 5, 0, PCIR_BAR0, 4);
	mem = cfg_rd(vm, 5, 0, PCIR_BAR0 + 8, 4);
	CHECK_EQ(io & 1, 1);
	CHECK((io & ~3U) >= PCI_IO_BASE && (io & ~3U) + 32 <= 0x10000);
	CHECK_EQ(io & 31 & ~3U, 0);
	CHECK_EQ(mem & 0xf, 0);
	CHECK(mem >= PCI_MMIO32_BASE && mem + 0x2000ULL <= PCI_MMIO32_LIMIT);
	CHECK_EQ(mem & 0x1fff, 0);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_BAR0 + 4, 4), 0);	/* unused BAR */
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_COMMAND, 2) &
	    (PCIM_CMD_PORTEN | PCIM_CMD_MEMEN), PCIM_CMD_PORTEN | PCIM_CMD_MEMEN);

	/* Decoded where they are. */
	t->reg = 0x1111;
	v = 0;
	CHECK_EQ(vm_test_pio(vm, (uint16_t)((io & ~3U) + 4), 4, false, &v), 0);
	CHECK_EQ(v & 0xffffffff, 0x1111);
	CHECK_EQ(mmio_wr(vm, mem + 0x10, 4, 0xabcd), 0);
	CHECK_EQ(t->last_off, 0x10);
	CHECK_EQ(t->last_val, 0xabcd);
	CHECK_EQ(mmio_rd(vm, mem + 0x1ff8, 4) >> 32, (2ULL << 24) | 0x1ff8);

	/* Sizing: disable decoding, write all ones, read the mask back. */
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, 0);
	CHECK_EQ(mmio_wr(vm, mem + 0x10, 4, 1), -ENOENT);
	v = 0;
	CHECK_EQ(vm_test_pio(vm, (uint16_t)(io & ~3U), 4, false, &v), -ENOENT);
	cfg_wr(vm, 5, 0, PCIR_BAR0 + 8, 4, 0xffffffff);
	sz = cfg_rd(vm, 5, 0, PCIR_BAR0 + 8, 4);
	CHECK_EQ(sz, 0xffffe000);
	cfg_wr(vm, 5, 0, PCIR_BAR0, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_BAR0, 4), 0xffffffe1);
	cfg_wr(vm, 5, 0, PCIR_BAR0 + 4, 4, 0xffffffff);	/* unimplemented: 0 */
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_BAR0 + 4, 4), 0);
	/* Word-wise sizing too. */
	cfg_wr(vm, 5, 0, PCIR_BAR0 + 8, 4, 0);
	cfg_wr(vm, 5, 0, PCIR_BAR0 + 8, 2, 0xffff);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_BAR0 + 8, 4), 0x0000e000);
	cfg_wr(vm, 5, 0, PCIR_BAR0 + 10, 2, 0xffff);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_BAR0 + 8, 4), 0xffffe000);

	/* The guest moves them; decoding follows when re-enabled. */
	cfg_wr(vm, 5, 0, PCIR_BAR0 + 8, 4, 0xd0000000);
	cfg_wr(vm, 5, 0, PCIR_BAR0, 4, 0xe000);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_BAR0 + 8, 4), 0xd0000000);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_BAR0, 4), 0xe001);
	CHECK_EQ(mmio_wr(vm, 0xd0000010, 4, 5), -ENOENT);
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	CHECK_EQ(mmio_wr(vm, 0xd0000010, 4, 5), 0);
	CHECK_EQ(t->last_val, 5);
	CHECK_EQ(mmio_wr(vm, mem + 0x10, 4, 1), -ENOENT);
	v = 0;
	CHECK_EQ(vm_test_pio(vm, 0xe000, 4, false, &v), 0);
	CHECK_EQ(vm_test_pio(vm, (uint16_t)(io & ~3U), 4, false, &v), -ENOENT);
	/* Moving while decoding (no disable) remaps at once. */
	cfg_wr(vm, 5, 0, PCIR_BAR0 + 8, 4, 0xd0010000);
	CHECK_EQ(mmio_wr(vm, 0xd0000010, 4, 5), -ENOENT);
	CHECK_EQ(mmio_wr(vm, 0xd0010010, 4, 6), 0);
	/* Memory decoding off leaves I/O on. */
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, PCIM_CMD_PORTEN);
	CHECK_EQ(mmio_wr(vm, 0xd0010010, 4, 6), -ENOENT);
	CHECK_EQ(vm_test_pio(vm, 0xe000, 4, false, &v), 0);
	/* Back home. */
	cfg_wr(vm, 5, 0, PCIR_BAR0 + 8, 4, mem);
	cfg_wr(vm, 5, 0, PCIR_BAR0, 4, io);
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	CHECK_EQ(mmio_wr(vm, mem + 0x10, 4, 1), 0);
}

static void
test_caps_msix(struct vm *vm, struct tdev *t)
{
	unsigned c, n;
	uint64_t tbl;
	uint32_t st;
	const struct vm_test_irq *ir;
	size_t nir;

	st = cfg_rd(vm, 5, 0, PCIR_STATUS, 2);
	CHECK(st & PCIM_STATUS_CAPPRESENT);
	c = cap_find(vm, 5, PCIY_MSIX, -1);
	CHECK(c >= 0x40);
	if (c == 0)
		return;
	n = (cfg_rd(vm, 5, 0, c + 2, 2) & 0x7ff) + 1;
	CHECK_EQ(n, 5);
	CHECK_EQ(cfg_rd(vm, 5, 0, c + 4, 4), 3);	/* table: BAR 3, offset 0 */
	CHECK_EQ(cfg_rd(vm, 5, 0, c + 8, 4), 0x803);	/* PBA: BAR 3, 0x800 */
	tbl = bar_addr(vm, 5, 3);
	/* Reset state: every vector masked. */
	CHECK_EQ(mmio_rd(vm, tbl + 12, 4), 1);
	CHECK_EQ(mmio_rd(vm, tbl + 16 * 4 + 12, 4), 1);
	/* Table entries: dword and qword accesses. */
	mmio_wr(vm, tbl + 16 * 2, 4, 0xfee01000);
	mmio_wr(vm, tbl + 16 * 2 + 4, 4, 0);
	mmio_wr(vm, tbl + 16 * 2 + 8, 4, 0x4242);
	CHECK_EQ(mmio_rd(vm, tbl + 16 * 2, 8), 0xfee01000);
	mmio_wr(vm, tbl + 16 * 1, 8, 0xfee02000);
	mmio_wr(vm, tbl + 16 * 1 + 8, 8, 0x0000000100004343ULL);
	CHECK_EQ(mmio_rd(vm, tbl + 16 * 1 + 8, 4), 0x4343);
	CHECK_EQ(mmio_rd(vm, tbl + 16 * 1 + 12, 4), 1);
	/* Reserved control bits do not stick. */
	mmio_wr(vm, tbl + 16 * 1 + 12, 4, 0xfffffffe);
	CHECK_EQ(mmio_rd(vm, tbl + 16 * 1 + 12, 4), 0);
	mmio_wr(vm, tbl + 16 * 1 + 12, 4, 1);

	/* Disabled: nothing is delivered, nothing is pending. */
	vm_test_irq_clear(vm);
	pci_msix_notify(&t->pd, 2);
	ir = vm_test_irqs(vm, &nir);
	CHECK_EQ(nir, 0);
	CHECK_EQ(mmio_rd(vm, tbl + 0x800, 8), 0);
	CHECK(!pci_msix_enabled(&t->pd));

	/* Enabled, vector masked: pending bit, delivered on unmask. */
	cfg_wr(vm, 5, 0, c + 2, 2, PCIM_MSIXCTRL_ENABLE);
	CHECK(pci_msix_enabled(&t->pd));
	CHECK_EQ(cfg_rd(vm, 5, 0, c + 2, 2) & 0xc7ff, 0x8004);
	pci_msix_notify(&t->pd, 2);
	ir = vm_test_irqs(vm, &nir);
	CHECK_EQ(nir, 0);
	CHECK_EQ(mmio_rd(vm, tbl + 0x800, 8), 1 << 2);
	mmio_wr(vm, tbl + 0x800, 8, 0);		/* PBA is read-only */
	CHECK_EQ(mmio_rd(vm, tbl + 0x800, 4), 1 << 2);
	mmio_wr(vm, tbl + 16 * 2 + 12, 4, 0);
	ir = vm_test_irqs(vm, &nir);
	CHECK_EQ(nir, 1);
	if (nir == 1) {
		CHECK_EQ(ir[0].kind, VM_TEST_IRQ_MSI);
		CHECK_EQ(ir[0].addr, 0xfee01000);
		CHECK_EQ(ir[0].data, 0x4242);
	}
	CHECK_EQ(mmio_rd(vm, tbl + 0x800, 8), 0);
	/* Unmasked: delivered at once. */
	pci_msix_notify(&t->pd, 2);
	ir = vm_test_irqs(vm, &nir);
	CHECK_EQ(nir, 2);
	/* Function mask holds every vector; clearing it delivers. */
	cfg_wr(vm, 5, 0, c + 3, 1, (PCIM_MSIXCTRL_ENABLE |
	    PCIM_MSIXCTRL_FMASK) >> 8);
	pci_msix_notify(&t->pd, 2);
	ir = vm_test_irqs(vm, &nir);
	CHECK_EQ(nir, 2);
	CHECK_EQ(mmio_rd(vm, tbl + 0x800, 8), 1 << 2);
	cfg_wr(vm, 5, 0, c + 2, 2, PCIM_MSIXCTRL_ENABLE);
	ir = vm_test_irqs(vm, &nir);
	CHECK_EQ(nir, 3);
	CHECK_EQ(mmio_rd(vm, tbl + 0x800, 8), 0);
	/* Vectors past the table are ignored; table size is read-only. */
	pci_msix_notify(&t->pd, 5);
	pci_msix_notify(&t->pd, 63);
	ir = vm_test_irqs(vm, &nir);
	CHECK_EQ(nir, 3);
	cfg_wr(vm, 5, 0, c + 2, 2, PCIM_MSIXCTRL_ENABLE | 0x7ff);
	CHECK_EQ((cfg_rd(vm, 5, 0, c + 2, 2) & 0x7ff) + 1, 5);
	/* Odd-sized table accesses neither crash nor change entries. */
	mmio_wr(vm, tbl + 16 * 2 + 1, 1, 0xff);
	mmio_wr(vm, tbl + 16 * 2 + 2, 2, 0xffff);
	CHECK_EQ(mmio_rd(vm, tbl + 16 * 2, 4), 0xfee01000);
	CHECK_EQ(mmio_rd(vm, tbl + 16 * 2 + 2, 2), 0);
	/* Past the table and PBA, the model's own registers. */
	CHECK_EQ(mmio_rd(vm, tbl + 0x400, 4) >> 32, (3ULL << 24) | 0x400);
	cfg_wr(vm, 5, 0, c + 2, 2, 0);
	CHECK(!pci_msix_enabled(&t->pd));
}

static void
test_intx(struct vm *vm, struct tdev *t)
{
	unsigned gsi = PCI_INTX_GSI_BASE + 5, c;

	vm_test_irq_clear(vm);
	pci_intx_set(&t->pd, true);
	CHECK_EQ(vm_test_irq_level(vm, gsi), 1);
	CHECK(cfg_rd(vm, 5, 0, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE);
	pci_intx_set(&t->pd, false);
	CHECK_EQ(vm_test_irq_level(vm, gsi), 0);
	CHECK(!(cfg_rd(vm, 5, 0, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE));
	/* INTx disable in the command register drops and blocks the line. */
	pci_intx_set(&t->pd, true);
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN |
	    PCIM_CMD_INTxDIS);
	CHECK_EQ(vm_test_irq_level(vm, gsi), 0);
	pci_intx_set(&t->pd, true);
	CHECK_EQ(vm_test_irq_level(vm, gsi), 0);
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	/* Enabling MSI-X drops INTx. */
	pci_intx_set(&t->pd, true);
	CHECK_EQ(vm_test_irq_level(vm, gsi), 1);
	c = cap_find(vm, 5, PCIY_MSIX, -1);
	cfg_wr(vm, 5, 0, c + 2, 2, PCIM_MSIXCTRL_ENABLE);
	CHECK_EQ(vm_test_irq_level(vm, gsi), 0);
	pci_intx_set(&t->pd, true);
	CHECK_EQ(vm_test_irq_level(vm, gsi), 0);
	cfg_wr(vm, 5, 0, c + 2, 2, 0);
}

static void
test_multifunction(struct vm *vm)
{
	struct dev d2;
	struct tdev *t2;

	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_HDRTYPE, 1), 0);
	t2 = tdev_new(vm, &d2, 5, 3);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_HDRTYPE, 1), 0x80);
	CHECK_EQ(cfg_rd(vm, 5, 3, PCIR_VENDOR, 2), 0x1234);
	CHECK_EQ(cfg_rd(vm, 5, 3, PCIR_HDRTYPE, 1), 0);
	/* Its BARs were placed apart from function 0's. */
	CHECK(bar_addr(vm, 5, 2) != (cfg_rd(vm, 5, 3, PCIR_BAR0 + 8, 4) & ~0xfU));
	pci_dev_fini(&t2->pd);
	free(t2);
	CHECK_EQ(cfg_rd(vm, 5, 3, PCIR_VENDOR, 2), 0xffff);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_HDRTYPE, 1), 0);
}

static void
test_slot_conflict(struct vm *vm)
{
	struct dev d;
	struct pci_dev pd;
	const char *log;
	int rc;

	memset(&d, 0, sizeof(d));
	d.emu = &tdev_emu;
	d.vm = vm;
	snprintf(d.cfg, sizeof(d.cfg), "pci.0.5.0");
	cap_begin();
	rc = pci_dev_init(&pd, &d, &tdev_pe, 1, 2, 0, 0, 0, 0);
	log = cap_end();
	CHECK_EQ(rc, -EEXIST);
	CHECK_HAS(log, "slot 5 function 0 is already taken");
	snprintf(d.cfg, sizeof(d.cfg), "pci.0.32.0");
	cap_begin();
	rc = pci_dev_init(&pd, &d, &tdev_pe, 1, 2, 0, 0, 0, 0);
	log = cap_end();
	CHECK(rc < 0);
	CHECK_HAS(log, "pci.0.32.0");
}

static void
test_bridges(void)
{
	struct vm *vm = vm_new_for_test(64 << 20);
	struct dev *hb, *lpc;

	hb = vm_test_dev_add(vm, "hostbridge", "pci.0.0.0", "hostbridge@0");
	lpc = vm_test_dev_add(vm, "lpc", "pci.0.1.0", "lpc@0");
	CHECK(hb != NULL && lpc != NULL);
	CHECK(hb != NULL && hb->emu->pci != NULL);
	CHECK_EQ(cfg_rd(vm, 0, 0, PCIR_VENDOR, 4), 0x12751275);
	CHECK_EQ(cfg_rd(vm, 0, 0, PCIR_REVID, 4) >> 8, 0x060000);
	CHECK_EQ(cfg_rd(vm, 1, 0, PCIR_VENDOR, 4), 0x70008086);
	CHECK_EQ(cfg_rd(vm, 1, 0, PCIR_REVID, 4) >> 8, 0x060100);
	CHECK_EQ(cfg_rd(vm, 0, 0, PCIR_BAR0, 4), 0);
	CHECK_EQ(cfg_rd(vm, 1, 0, PCIR_CAP_PTR, 1), 0);
	vm_free(vm);
	/* The bus went with the VM: a new one starts empty. */
	vm = vm_new_for_test(64 << 20);
	CHECK(pci_lookup(vm, 0, 0) == NULL);
	vm_free(vm);
}

static void
test_checkpoint(struct vm *vm, struct tdev *t)
{
	struct vm *vm2;
	struct dev d2;
	struct tdev *t2;
	ckp_doc_t *doc;
	ckp_io_t *io;
	unsigned c, i;
	int rc;
	uint64_t tbl;

	/* Program something worth saving. */
	c = cap_find(vm, 5, PCIY_MSIX, -1);
	tbl = bar_addr(vm, 5, 3);
	cfg_wr(vm, 5, 0, c + 2, 2, PCIM_MSIXCTRL_ENABLE);
	mmio_wr(vm, tbl + 16 * 4, 4, 0xfee0c000);
	mmio_wr(vm, tbl + 16 * 4 + 8, 4, 0x55);
	pci_msix_notify(&t->pd, 4);	/* masked: pending */
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, 0);
	cfg_wr(vm, 5, 0, PCIR_BAR0 + 8, 4, 0xd8000000);
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_BUSMASTEREN);
	cfg_wr(vm, 5, 0, PCIR_CACHELNSZ, 1, 0x10);

	doc = ckp_doc_new("test");
	io = ckp_io_new(doc, CKP_IO_SAVE);
	ckp_io_enter(io, "tdev@5", 1);
	rc = pci_dev_save(&t->pd, io);
	ckp_io_leave(io);
	CHECK_EQ(rc, 0);
	CHECK_EQ(ckp_doc_error(doc), 0);
	if (rc != 0)
		fprintf(stderr, "save: %s\n", ckp_doc_errmsg(doc));
	ckp_io_free(io);
	CHECK(ckp_doc_find(doc, "tdev@5.pci.bar@2.addr") != NULL);
	CHECK(ckp_doc_find(doc, "tdev@5.pci.msix.vector@4.data") != NULL);
	CHECK(ckp_doc_find(doc, "tdev@5.pci.command") != NULL);

	/* Restore into a fresh VM: nothing moves before resume. */
	vm2 = vm_new_for_test(64 << 20);
	t2 = tdev_new(vm2, &d2, 5, 0);
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	ckp_io_enter(io, "tdev@5", 1);
	rc = pci_dev_restore(&t2->pd, io);
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK_EQ(rc, 0);
	if (rc != 0)
		fprintf(stderr, "restore: %s\n", ckp_doc_errmsg(doc));
	CHECK_EQ(mmio_wr(vm2, 0xd8000010, 4, 1), -ENOENT);
	CHECK_EQ(pci_dev_resume(&t2->pd), 0);
	CHECK(memcmp(t->pd.cfg, t2->pd.cfg, PCI_CFG_SIZE) == 0);
	for (i = 0; i < PCI_NBARS; i++)
		CHECK_EQ(t->pd.bar[i].addr, t2->pd.bar[i].addr);
	CHECK_EQ(mmio_wr(vm2, 0xd8000010, 4, 1), 0);
	CHECK_EQ(t2->last_val, 1);
	CHECK_EQ(cfg_rd(vm2, 5, 0, PCIR_CACHELNSZ, 1), 0x10);
	CHECK(pci_msix_enabled(&t2->pd));
	CHECK_EQ(t2->pd.msix.table[4].addr, 0xfee0c000);
	CHECK_EQ(t2->pd.msix.table[4].data, 0x55);
	CHECK_EQ(t2->pd.msix.pba, 1 << 4);
	/* The pending vector fires in the restored VM once unmasked. */
	vm_test_irq_clear(vm2);
	mmio_wr(vm2, bar_addr(vm2, 5, 3) + 16 * 4 + 12, 4, 0);
	{
		size_t n;
		const struct vm_test_irq *ir = vm_test_irqs(vm2, &n);
		CHECK_EQ(n, 1);
		if (n == 1)
			CHECK_EQ(ir[0].data, 0x55);
	}

	/* A checkpoint of another device is refused, naming both. */
	{
		ckp_ent_t *e = ckp_doc_find(doc, "tdev@5.pci.bar@2.size");
		ckp_doc_t *d3 = doc;
		CHECK(e != NULL && ckp_ent_set_text(e, "4000") == 0);
		io = ckp_io_new(d3, CKP_IO_RESTORE);
		ckp_io_enter(io, "tdev@5", 1);
		rc = pci_dev_restore(&t2->pd, io);
		ckp_io_free(io);
		CHECK(rc < 0);
		CHECK_HAS(ckp_doc_errmsg(d3), "bar@2");
		CHECK_EQ(t2->pd.bar[2].addr, 0xd8000000);
	}
	pci_dev_fini(&t2->pd);
	free(t2);
	vm_free(vm2);
	ckp_doc_free(doc);
	cfg_wr(vm, 5, 0, c + 2, 2, 0);
}

static void
count_warning(void *arg, const char *msg)
{
	fprintf(stderr, "restore warning: %s\n", msg);
	(*(int *)arg)++;
}

/*
 * An asserted INTx line survives a checkpoint: saved as intx_asserted,
 * read back under that name (no "unknown field" warning), and driven
 * again when the restored function resumes.
 */
static void
test_checkpoint_intx(struct vm *vm, struct tdev *t)
{
	struct vm *vm2 = vm_new_for_test(64 << 20);
	struct dev d2;
	struct tdev *t2;
	ckp_doc_t *doc = ckp_doc_new("test");
	ckp_io_t *io;
	int nwarn = 0;

	(void)vm;
	pci_intx_set(&t->pd, true);
	CHECK(t->pd.intx_asserted);
	io = ckp_io_new(doc, CKP_IO_SAVE);
	ckp_io_enter(io, "tdev@5", 1);
	CHECK_EQ(pci_dev_save(&t->pd, io), 0);
	ckp_io_leave(io);
	ckp_io_free(io);
	pci_intx_set(&t->pd, false);

	t2 = tdev_new(vm2, &d2, 5, 0);
	ckp_doc_set_warn(doc, count_warning, &nwarn);
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	ckp_io_enter(io, "tdev@5", 1);
	CHECK_EQ(pci_dev_restore(&t2->pd, io), 0);
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK_EQ(nwarn, 0);
	CHECK_EQ(vm_test_irq_level(vm2, t2->pd.intx_gsi), 0);
	CHECK_EQ(pci_dev_resume(&t2->pd), 0);
	CHECK_EQ(vm_test_irq_level(vm2, t2->pd.intx_gsi), 1);
	pci_dev_fini(&t2->pd);
	free(t2);
	vm_free(vm2);
	ckp_doc_free(doc);
}

/* Save @pd into a new document under "x@0". */
static ckp_doc_t *
save_pd(struct pci_dev *pd)
{
	ckp_doc_t *doc = ckp_doc_new("test");
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_SAVE);

	ckp_io_enter(io, "x@0", 1);
	CHECK_EQ(pci_dev_save(pd, io), 0);
	ckp_io_leave(io);
	ckp_io_free(io);
	return (doc);
}

static int
restore_pd(struct pci_dev *pd, ckp_doc_t *doc)
{
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_RESTORE);
	int rc;

	ckp_io_enter(io, "x@0", 1);
	rc = pci_dev_restore(pd, io);
	ckp_io_leave(io);
	ckp_io_free(io);
	return (rc);
}

static void
set_field(ckp_doc_t *doc, const char *path, const char *text)
{
	ckp_ent_t *e = ckp_doc_find(doc, path);

	CHECK(e != NULL && ckp_ent_set_text(e, text) == 0);
}

/*
 * A damaged checkpoint cannot leave a line asserted that nothing would ever
 * lower (found by fuzz/fuzz_hyve_devstate.c): not on a function without an
 * interrupt pin, not with MSI-X enabled, not with INTx disabled; and the
 * status register's interrupt bit is the line, whatever the raw bytes say.
 */
static void
test_checkpoint_intx_bad(struct vm *vm, struct tdev *t)
{
	struct vm *vm2 = vm_new_for_test(64 << 20);
	struct dev *hb = vm_test_dev_add(vm2, "hostbridge", "pci.0.0.0",
	    "hostbridge@0");
	struct dev d2;
	struct tdev *t2 = tdev_new(vm2, &d2, 5, 0);
	struct pci_dev *hpd = hb->softc;
	ckp_doc_t *doc;
	unsigned c = cap_find(vm, 5, PCIY_MSIX, -1);
	uint8_t cfg[PCI_CFG_SIZE];
	int rc;

	(void)t;
	doc = save_pd(hpd);
	set_field(doc, "x@0.pci.intx_asserted", "true");
	rc = restore_pd(hpd, doc);
	CHECK(rc < 0);
	CHECK_HAS(ckp_doc_errmsg(doc), "hostbridge@pci.0.0.0");
	CHECK_HAS(ckp_doc_errmsg(doc), "intx_asserted");
	CHECK_EQ(pci_dev_resume(hpd), 0);
	CHECK_EQ(vm_test_irq_level(vm2, hpd->intx_gsi), 0);
	ckp_doc_free(doc);

	/* MSI-X enabled, then INTx disabled, with the line "asserted". */
	cfg_wr(vm2, 5, 0, c + 2, 2, PCIM_MSIXCTRL_ENABLE);
	doc = save_pd(&t2->pd);
	set_field(doc, "x@0.pci.intx_asserted", "true");
	rc = restore_pd(&t2->pd, doc);
	CHECK(rc < 0);
	CHECK_HAS(ckp_doc_errmsg(doc), "intx_asserted");
	CHECK_HAS(ckp_doc_errmsg(doc), "msix.enabled");
	ckp_doc_free(doc);
	cfg_wr(vm2, 5, 0, c + 2, 2, 0);
	cfg_wr(vm2, 5, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_INTxDIS);
	doc = save_pd(&t2->pd);
	set_field(doc, "x@0.pci.intx_asserted", "true");
	rc = restore_pd(&t2->pd, doc);
	CHECK(rc < 0);
	CHECK_HAS(ckp_doc_errmsg(doc), "INTx disabled");
	CHECK_EQ(pci_dev_resume(&t2->pd), 0);
	CHECK_EQ(vm_test_irq_level(vm2, t2->pd.intx_gsi), 0);
	ckp_doc_free(doc);

	/* Raw status saying "interrupt" with the line low: the line wins. */
	cfg_wr(vm2, 5, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	doc = save_pd(&t2->pd);
	memcpy(cfg, t2->pd.cfg, sizeof(cfg));
	cfg[PCIR_STATUS] |= PCIM_STATUS_INTxSTATE;
	{
		ckp_sec_t *ps = ckp_ent_section(ckp_doc_find(doc, "x@0.pci"));
		CHECK(ps != NULL && ckp_sec_remove(ps, "cfg") == 0);
		ckp_sec_add_bytes(ps, "cfg", cfg, sizeof(cfg));
	}
	CHECK_EQ(restore_pd(&t2->pd, doc), 0);
	CHECK_EQ(pci_dev_resume(&t2->pd), 0);
	CHECK_EQ(vm_test_irq_level(vm2, t2->pd.intx_gsi), 0);
	CHECK_EQ(cfg_rd(vm2, 5, 0, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE, 0);
	ckp_doc_free(doc);

	pci_dev_fini(&t2->pd);
	free(t2);
	vm_free(vm2);
}

/* Replace the raw config bytes saved in @doc by @cfg. */
static void
set_cfg(ckp_doc_t *doc, const uint8_t *cfg)
{
	ckp_sec_t *ps = ckp_ent_section(ckp_doc_find(doc, "x@0.pci"));

	CHECK(ps != NULL && ckp_sec_remove(ps, "cfg") == 0);
	ckp_sec_add_bytes(ps, "cfg", cfg, PCI_CFG_SIZE);
}

/*
 * The raw config bytes of a checkpoint may not change what the guest cannot
 * write: a capability pointing elsewhere, another MSI-X table size, an
 * interrupt pin, command bits beyond the writable ones.  The guest would
 * drive a device hyve does not emulate (fuzz/fuzz_hyve_devstate.c checks
 * every read-only bit after a restore).  Writable bytes are restored.
 */
static void
test_checkpoint_readonly(struct vm *vm, struct tdev *t)
{
	struct vm *vm2 = vm_new_for_test(64 << 20);
	struct dev d2;
	struct tdev *t2 = tdev_new(vm2, &d2, 5, 0);
	unsigned c = cap_find(vm, 5, PCIY_MSIX, -1);
	const unsigned offs[] = { PCIR_CAP_PTR, c + 1, c + 2, c + 4, PCIR_INTPIN,
	    PCIR_HDRTYPE, PCIR_STATUS + 1 };
	uint8_t cfg[PCI_CFG_SIZE];
	ckp_doc_t *doc;
	char want[32];
	unsigned i;

	(void)t;
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		doc = save_pd(&t2->pd);
		memcpy(cfg, t2->pd.cfg, sizeof(cfg));
		cfg[offs[i]] ^= 0x01;
		set_cfg(doc, cfg);
		CHECK(restore_pd(&t2->pd, doc) < 0);
		snprintf(want, sizeof(want), "cfg byte 0x%02x", offs[i]);
		CHECK_HAS(ckp_doc_errmsg(doc), want);
		CHECK_EQ(t2->pd.cfg[offs[i]], t2->pd.cfg_init[offs[i]]);
		ckp_doc_free(doc);
	}
	doc = save_pd(&t2->pd);
	set_field(doc, "x@0.pci.command", "258");	/* SERR + memory */
	CHECK(restore_pd(&t2->pd, doc) < 0);
	CHECK_HAS(ckp_doc_errmsg(doc), "command 0x0102");
	ckp_doc_free(doc);
	/* What the guest can write comes back. */
	doc = save_pd(&t2->pd);
	memcpy(cfg, t2->pd.cfg, sizeof(cfg));
	cfg[PCIR_CACHELNSZ] = 0x20;
	cfg[PCIR_INTLINE] = 11;
	set_cfg(doc, cfg);
	CHECK_EQ(restore_pd(&t2->pd, doc), 0);
	CHECK_EQ(pci_dev_resume(&t2->pd), 0);
	CHECK_EQ(cfg_rd(vm2, 5, 0, PCIR_CACHELNSZ, 1), 0x20);
	CHECK_EQ(cfg_rd(vm2, 5, 0, PCIR_INTLINE, 1), 11);
	ckp_doc_free(doc);
	pci_dev_fini(&t2->pd);
	free(t2);
	vm_free(vm2);
}

/*
 * Random config writes and BAR accesses of every size: no crash, no access
 * outside what is registered (ASan), and the identity never changes.
 */
static void
test_garbage(struct vm *vm, struct tdev *t)
{
	uint64_t x = 0x2545f4914f6cdd1dULL, v;
	unsigned i, off, size, c;
	static const unsigned sizes[] = { 1, 2, 4 };

	(void)t;
	cap_begin();
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size = sizes[x % 3];
		off = (unsigned)(x >> 8) % 256 & ~(size - 1);
		if ((x >> 20) % 4 == 0) {
			v = x >> 32;
			mmio_wr(vm, bar_addr(vm, 5, 3) + ((x >> 24) % 0x1000 &
			    ~(uint64_t)(size - 1)), size, v);
		} else if ((x >> 20) % 4 == 1) {
			(void)mmio_rd(vm, bar_addr(vm, 5, 3) + ((x >> 24) %
			    0x1000), 8);
		} else {
			cfg_wr(vm, 5, 0, off, size, (uint32_t)(x >> 32));
		}
		if (i % 64 == 0)
			pci_msix_notify(&t->pd, (unsigned)(x % 8));
	}
	(void)cap_end();
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_VENDOR, 4), 0x56781234);
	CHECK_EQ(cfg_rd(vm, 5, 0, PCIR_REVID, 4), 0x0b400003);
	c = cap_find(vm, 5, PCIY_MSIX, -1);
	CHECK(c != 0);
	CHECK_EQ((cfg_rd(vm, 5, 0, c + 2, 2) & 0x7ff) + 1, 5);
	/* Put it back where the other tests expect it. */
	cfg_wr(vm, 5, 0, c + 2, 2, 0);
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, 0);
	for (i = 0; i < PCI_NBARS; i++)
		cfg_wr(vm, 5, 0, PCIR_BAR0 + 4 * i, 4,
		    (uint32_t)t->pd.bar_init[i]);
	cfg_wr(vm, 5, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	CHECK_EQ(mmio_wr(vm, t->pd.bar_init[2] + 0x10, 4, 77), 0);
	CHECK_EQ(t->last_val, 77);
}

/* ------------------------------------------------------------------------ */
/* BARs a restore refuses before anything exists (pci_bars_check)            */
/* ------------------------------------------------------------------------ */

/* The decoding rule a restore checks is the one the bus applies. */
static void
test_bar_decodes(void)
{
	static const uint32_t addrs[] = { 0xc0100000, 0, 0xffffe000,
	    0xfffff000, 0xd0000000 };
	static const uint32_t ios[] = { 0xd000, 0, 0xffffffe0, 0x1ffe0 };
	struct vm *vm = vm_new_for_test(64 << 20);
	struct dev d;
	struct tdev *t = tdev_new(vm, &d, 6, 0);
	uint16_t cmd;
	size_t i;

	for (cmd = 0; cmd < 4; cmd++) {
		cfg_wr(vm, 6, 0, PCIR_COMMAND, 2, cmd);
		for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
			cfg_wr(vm, 6, 0, PCIR_BAR0 + 8, 4, addrs[i]);
			CHECK_EQ(t->pd.bar[2].mapped, pci_bar_decodes(
			    PCI_BAR_MEM32, 0x2000, t->pd.bar[2].addr, cmd));
		}
		for (i = 0; i < sizeof(ios) / sizeof(ios[0]); i++) {
			cfg_wr(vm, 6, 0, PCIR_BAR0, 4, ios[i] | 1);
			CHECK_EQ(t->pd.bar[0].mapped, pci_bar_decodes(PCI_BAR_IO,
			    32, t->pd.bar[0].addr, cmd));
		}
	}
	/* Sizing with decoding on maps nothing; 0 is not a place either. */
	CHECK(!pci_bar_decodes(PCI_BAR_MEM32, 0x2000, 0xffffe000,
	    PCIM_CMD_MEMEN));
	CHECK(!pci_bar_decodes(PCI_BAR_MEM32, 0x2000, 0, PCIM_CMD_MEMEN));
	CHECK(!pci_bar_decodes(PCI_BAR_IO, 32, 0x1ffe0, PCIM_CMD_PORTEN));
	CHECK(pci_bar_decodes(PCI_BAR_IO, 32, 0xffe0, PCIM_CMD_PORTEN));
	CHECK(!pci_bar_decodes(PCI_BAR_IO, 32, 0xffe0, PCIM_CMD_MEMEN));
	pci_dev_fini(&t->pd);
	free(t);
	vm_free(vm);
}

/*
 * Two functions whose BARs the guest swapped: restored and resumed one
 * after the other, both are decoded where the checkpoint puts them,
 * whichever resumes first (the other's BAR sat there when it was created).
 */
static void
test_bar_swap(void)
{
	struct vm *vm = vm_new_for_test(64 << 20);
	struct dev da, db;
	struct tdev *a = tdev_new(vm, &da, 6, 0), *b = tdev_new(vm, &db, 7, 0);
	uint64_t aa = a->pd.bar[2].addr, ba = b->pd.bar[2].addr;
	ckp_doc_t *sa = save_pd(&a->pd), *sb = save_pd(&b->pd);
	char text[32];

	CHECK(a->pd.bar[2].mapped && b->pd.bar[2].mapped && aa != ba);
	snprintf(text, sizeof(text), "%llx", (unsigned long long)ba);
	set_field(sa, "x@0.pci.bar@2.addr", text);
	snprintf(text, sizeof(text), "%llx", (unsigned long long)aa);
	set_field(sb, "x@0.pci.bar@2.addr", text);
	CHECK_EQ(restore_pd(&a->pd, sa), 0);
	CHECK_EQ(restore_pd(&b->pd, sb), 0);
	CHECK_EQ(pci_dev_resume(&a->pd), 0);
	CHECK_EQ(pci_dev_resume(&b->pd), 0);
	CHECK(a->pd.bar[2].mapped && a->pd.bar[2].mapped_addr == ba);
	CHECK(b->pd.bar[2].mapped && b->pd.bar[2].mapped_addr == aa);
	CHECK_EQ(mmio_wr(vm, ba + 8, 4, 0x5a), 0);
	CHECK_EQ(a->last_val, 0x5a);
	CHECK_EQ(mmio_wr(vm, aa + 8, 4, 0xa5), 0);
	CHECK_EQ(b->last_val, 0xa5);
	ckp_doc_free(sa);
	ckp_doc_free(sb);
	pci_dev_fini(&a->pd);
	pci_dev_fini(&b->pd);
	free(a);
	free(b);
	vm_free(vm);
}

static void
doc_bar(ckp_sec_t *pci, unsigned n, const char *type, uint64_t size,
    uint64_t addr)
{
	ckp_sec_t *b = ckp_sec_addf(pci, 1, "bar@%u", n);

	ckp_sec_add_string(b, "type", type);
	ckp_sec_add_uint64(b, "size", size);
	ckp_sec_add_uint64(b, "addr", addr);
}

/*
 * Device a@0 (I/O and memory decoding): bar@0 I/O 32 at @io, bar@2 memory
 * 0x2000 at 0xc0000000; b@0 (@bcmd): bar@1 memory 0x1000 at @b.
 */
static ckp_doc_t *
bars_doc(uint64_t io, uint16_t bcmd, uint64_t b)
{
	ckp_doc_t *doc = ckp_doc_new("t");
	ckp_sec_t *devs = ckp_sec_add(ckp_doc_root(doc), "devices", 1), *pci;

	pci = ckp_sec_add(ckp_sec_add(devs, "a@0", 1), "pci", 1);
	ckp_sec_add_uint16(pci, "command", PCIM_CMD_PORTEN | PCIM_CMD_MEMEN);
	doc_bar(pci, 0, "io", 32, io);
	doc_bar(pci, 2, "mem32", 0x2000, 0xc0000000);
	pci = ckp_sec_add(ckp_sec_add(devs, "b@0", 1), "pci", 1);
	ckp_sec_add_uint16(pci, "command", bcmd);
	doc_bar(pci, 1, "mem32", 0x1000, b);
	return (doc);
}

/* pci_bars_check on bars_doc(): 0, or the message holding @want. */
static void
bars_case(uint64_t io, uint16_t bcmd, uint64_t b, const char *want,
    const char *want2)
{
	static const struct pci_range fixed[] = {
		{ PCI_BAR_MEM32, 0, 64 << 20, "guest RAM" },
		{ PCI_BAR_MEM32, 0xfec00000, 0x1000, "the IOAPIC" },
		{ PCI_BAR_MEM32, 0xfee00000, 0x1000, "the local APIC of vcpu@0" },
		{ PCI_BAR_IO, PCI_CFG_PORT, PCI_CFG_PORT_LEN,
		    "the PCI configuration ports" },
	};
	static const char *const ids[] = { "a@0", "b@0" };
	ckp_doc_t *doc = bars_doc(io, bcmd, b);
	char err[512] = "";
	int rc;

	rc = pci_bars_check(ckp_sec_find(ckp_doc_root(doc), "devices"), ids, 2,
	    fixed, sizeof(fixed) / sizeof(fixed[0]), err, sizeof(err));
	if (want == NULL) {
		CHECK_EQ(rc, 0);
		if (rc != 0)
			fprintf(stderr, "    refused: %s\n", err);
	} else {
		CHECK_EQ(rc, -EINVAL);
		CHECK_HAS(err, want);
		if (want2 != NULL)
			CHECK_HAS(err, want2);
	}
	CHECK_EQ(ckp_doc_error(doc), 0);
	ckp_doc_free(doc);
}

static void
test_bars_check(void)
{
	const uint16_t mem = PCIM_CMD_MEMEN;
	ckp_doc_t *doc;
	ckp_sec_t *bar;
	const char *ids[] = { "a@0", "b@0", "nosuch@0" };
	char err[256];

	bars_case(0xc000, mem, 0xc0002000, NULL, NULL);
	/* Over each other: both named. */
	bars_case(0xc000, mem, 0xc0001000, "devices.b@0.pci.bar@1: memory BAR "
	    "at 0xc0001000-0xc0001fff overlaps devices.a@0.pci.bar@2", NULL);
	/* Not decoding, or the sizing pattern: nothing is mapped there. */
	bars_case(0xc000, 0, 0xc0001000, NULL, NULL);
	bars_case(0xc000, mem, 0xfffff000, NULL, NULL);
	bars_case(0xc000, mem, 0, NULL, NULL);
	/* Guest RAM, the IOAPIC, the LAPIC. */
	bars_case(0xc000, mem, 0x100000, "devices.b@0.pci.bar@1", "guest RAM");
	bars_case(0xc000, mem, 0x3fff000, "devices.b@0.pci.bar@1",
	    "guest RAM");
	bars_case(0xc000, mem, 0x4000000, NULL, NULL);
	bars_case(0xc000, mem, 0xfec00000, "devices.b@0.pci.bar@1",
	    "the IOAPIC");
	bars_case(0xc000, mem, 0xfee00000, "devices.b@0.pci.bar@1",
	    "the local APIC of vcpu@0");
	bars_case(0xc000, mem, 0xfee01000, NULL, NULL);
	/* An I/O BAR over 0xCF8, or past 0xffff (never decoded). */
	bars_case(0xce0, mem, 0xc0002000, "devices.a@0.pci.bar@0: I/O BAR at "
	    "0xce0-0xcff", "the PCI configuration ports");
	bars_case(0x1ffe0, mem, 0xc0002000, NULL, NULL);
	/* Misshapen BARs are pci_dev_restore()'s to refuse, by name. */
	bars_case(0xc000, mem, 0xc0000800, NULL, NULL);	/* misaligned */
	doc = bars_doc(0xc000, mem, 0xc0001000);
	bar = ckp_sec_find(ckp_sec_find(ckp_sec_find(ckp_sec_find(
	    ckp_doc_root(doc), "devices"), "b@0"), "pci"), "bar@1");
	CHECK_EQ(ckp_sec_remove(bar, "addr"), 0);
	ckp_sec_add_uint32(bar, "addr", 0xc0001000);
	CHECK_EQ(pci_bars_check(ckp_sec_find(ckp_doc_root(doc), "devices"),
	    ids, 3, NULL, 0, err, sizeof(err)), 0);
	CHECK_EQ(ckp_doc_error(doc), 0);
	ckp_doc_free(doc);
}

int
main(void)
{
	struct vm *vm = vm_new_for_test(64 << 20);
	struct dev d;
	struct tdev *t;

	if (vm == NULL) {
		fprintf(stderr, "vm_new_for_test failed\n");
		return (1);
	}
	t = tdev_new(vm, &d, 5, 0);
	test_identity_and_empty(vm);
	test_bars(vm, t);
	test_caps_msix(vm, t);
	test_intx(vm, t);
	test_multifunction(vm);
	test_slot_conflict(vm);
	test_checkpoint(vm, t);
	test_checkpoint_intx(vm, t);
	test_checkpoint_intx_bad(vm, t);
	test_checkpoint_readonly(vm, t);
	test_garbage(vm, t);
	pci_dev_fini(&t->pd);
	free(t);
	/* Bus gone with its last function, ports too. */
	{
		uint64_t v = 0;
		CHECK(pci_lookup(vm, 5, 0) == NULL);
		CHECK_EQ(vm_test_pio(vm, 0xcfc, 4, false, &v), -ENOENT);
	}
	vm_free(vm);
	test_bridges();
	test_bar_decodes();
	test_bar_swap();
	test_bars_check();
	TEST_END();
}
