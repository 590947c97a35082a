/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The virtio PCI transport and split virtqueues, driven through MMIO by
 * the driver in test_virtio_drv.h, with virtio-blk as the device: PCI
 * identity and capabilities, feature negotiation, the status machine and
 * reset, queue configuration, interrupts (MSI-X and ISR + INTx), and every
 * malformed-queue case: each must set DEVICE_NEEDS_RESET, stop the queue,
 * raise a config interrupt, log device, queue and descriptor, and touch
 * nothing outside guest RAM (run under ASan to see that).
 */
#include "test_virtio_drv.h"

#define SLOT		3
#define MEM		(256ULL << 20)
#define IMG_SECTORS	2048

static char img[64];
static const char *devname = "virtio-blk@pci.0.3.0";

static struct dev *
blk_add(struct vm *vm)
{
	struct dev *d;

	vm_test_cfg_set(vm, "pci.0.3.0.device", "virtio-blk");
	vm_test_cfg_set(vm, "pci.0.3.0.path", img);
	d = vm_test_dev_add(vm, "virtio-blk", "pci.0.3.0", "virtio-blk@0");
	if (d == NULL) {
		fprintf(stderr, "cannot create virtio-blk\n");
		exit(1);
	}
	return (d);
}

/* A blk request: header, @dlen data bytes (device-writable for IN), status. */
struct req {
	uint64_t hdr, data, status;
};

static struct req
req_alloc(struct tdrv *t, uint32_t type, uint64_t sector, uint32_t dlen)
{
	struct req r;
	uint8_t *h;

	r.hdr = galloc(t, 16, 16);
	r.data = dlen ? galloc(t, dlen, 512) : 0;
	r.status = galloc(t, 1, 1);
	h = gp(t, r.hdr, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	*(uint8_t *)gp(t, r.status, 1) = 0xee;
	return (r);
}

static uint16_t
req_chain(struct tdrv *t, const struct req *r, uint32_t dlen, bool in)
{
	struct tbuf b[3] = {
		{ r->hdr, 16, false },
		{ r->data, dlen, in },
		{ r->status, 1, true },
	};

	if (dlen == 0) {
		b[1] = b[2];
		return (drv_chain(t, 0, b, 2));
	}
	return (drv_chain(t, 0, b, 3));
}

/* Bring the device up with MSI-X and one queue of @qsize. */
static void
setup(struct tdrv *t, struct vm *vm, uint16_t qsize, uint64_t want)
{
	uint8_t st;

	CHECK_EQ(drv_attach(t, vm, SLOT), 0);
	st = drv_negotiate(t, want);
	CHECK(st & VIRTIO_S_FEATURES_OK);
	drv_msix(t);
	drv_queue(t, 0, qsize);
	drv_ok(t);
	vm_test_irq_clear(vm);
}

static void
test_identity(struct vm *vm)
{
	unsigned c;

	CHECK_EQ(cfg_rd(vm, SLOT, 0, PCIR_VENDOR, 4), 0x10421af4);
	CHECK_EQ(cfg_rd(vm, SLOT, 0, PCIR_REVID, 1), 1);
	CHECK_EQ(cfg_rd(vm, SLOT, 0, PCIR_REVID, 4) >> 8, 0x018000);
	CHECK_EQ(cfg_rd(vm, SLOT, 0, PCIR_SUBVEND, 2), 0x1af4);
	c = cap_find(vm, SLOT, PCIY_VENDOR, VIRTIO_PCI_CAP_COMMON_CFG);
	CHECK(c != 0);
	CHECK_EQ(cfg_rd(vm, SLOT, 0, c + 4, 1), VIRTIO_BAR);
	CHECK(cfg_rd(vm, SLOT, 0, c + 12, 4) >= 0x38);
	c = cap_find(vm, SLOT, PCIY_VENDOR, VIRTIO_PCI_CAP_NOTIFY_CFG);
	CHECK(c != 0);
	CHECK_EQ(cfg_rd(vm, SLOT, 0, c + 2, 1), 20);
	CHECK(cap_find(vm, SLOT, PCIY_VENDOR, VIRTIO_PCI_CAP_ISR_CFG) != 0);
	CHECK(cap_find(vm, SLOT, PCIY_VENDOR, VIRTIO_PCI_CAP_DEVICE_CFG) != 0);
	c = cap_find(vm, SLOT, PCIY_MSIX, -1);
	CHECK(c != 0);
	CHECK_EQ((cfg_rd(vm, SLOT, 0, c + 2, 2) & 0x7ff) + 1, 2);
	CHECK_EQ(cfg_rd(vm, SLOT, 0, c + 4, 4) & 7, VIRTIO_MSIX_BAR);
	/* BAR 4 is 32-bit memory in the PCI hole. */
	CHECK(bar_addr(vm, SLOT, VIRTIO_BAR) >= PCI_MMIO32_BASE);
	CHECK_EQ(cfg_rd(vm, SLOT, 0, PCIR_BAR0 + 4 * VIRTIO_BAR, 4) & 0xf, 0);
}

static void
test_negotiation(struct vm *vm)
{
	struct tdrv t;
	uint64_t f;
	const char *log;
	uint8_t st;

	CHECK_EQ(drv_attach(&t, vm, SLOT), 0);
	CHECK_EQ(t.nq, 1);
	f = drv_device_features(&t);
	CHECK(f & (1ULL << VIRTIO_F_VERSION_1));
	CHECK(f & (1ULL << VIRTIO_F_INDIRECT_DESC));
	CHECK(f & (1ULL << 9));		/* FLUSH */
	CHECK(!(f & (1ULL << 5)));	/* not RO */
	CHECK(!(f & (1ULL << VIRTIO_F_EVENT_IDX)));
	CHECK_EQ(mmio_rd(vm, t.devcfg, 8), IMG_SECTORS);
	CHECK_EQ(mmio_rd(vm, t.devcfg + 20, 4), 512);
	CHECK_EQ(mmio_rd(vm, t.devcfg + 12, 4), 254);
	/* Unaligned/odd reads of device config work byte by byte. */
	CHECK_EQ(mmio_rd(vm, t.devcfg + 1, 1), IMG_SECTORS >> 8);

	/* Without VERSION_1: refused. */
	cap_begin();
	st = drv_negotiate(&t, f & ~(1ULL << VIRTIO_F_VERSION_1));
	log = cap_end();
	CHECK(!(st & VIRTIO_S_FEATURES_OK));
	CHECK_HAS(log, devname);
	CHECK_HAS(log, "VERSION_1");
	/* A feature the device does not offer: refused. */
	drv_set_status(&t, 0);
	drv_set_status(&t, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	mmio_wr(vm, t.common + 0x08, 4, 0);
	mmio_wr(vm, t.common + 0x0c, 4, (uint32_t)f);
	mmio_wr(vm, t.common + 0x08, 4, 1);
	mmio_wr(vm, t.common + 0x0c, 4, (uint32_t)(f >> 32) | 0x100);
	cap_begin();
	drv_set_status(&t, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
	    VIRTIO_S_FEATURES_OK);
	log = cap_end();
	CHECK(!(drv_status(&t) & VIRTIO_S_FEATURES_OK));
	CHECK_HAS(log, "does not offer");
	/* The offered set: accepted, and frozen once FEATURES_OK is set. */
	st = drv_negotiate(&t, f);
	CHECK(st & VIRTIO_S_FEATURES_OK);
	mmio_wr(vm, t.common + 0x08, 4, 0);
	mmio_wr(vm, t.common + 0x0c, 4, 0);
	CHECK_EQ(mmio_rd(vm, t.common + 0x0c, 4), (uint32_t)f);
	/* FEATURES_OK cannot be taken back but by a reset. */
	drv_set_status(&t, VIRTIO_S_ACKNOWLEDGE);
	CHECK(drv_status(&t) & VIRTIO_S_FEATURES_OK);
	drv_set_status(&t, 0);
	CHECK_EQ(drv_status(&t), 0);
	mmio_wr(vm, t.common + 0x08, 4, 0);
	CHECK_EQ(mmio_rd(vm, t.common + 0x0c, 4), 0);
}

static void
test_queue_config(struct vm *vm)
{
	struct tdrv t;

	CHECK_EQ(drv_attach(&t, vm, SLOT), 0);
	drv_negotiate(&t, ~0ULL >> 1 & drv_device_features(&t));
	mmio_wr(vm, t.common + 0x16, 2, 0);
	CHECK_EQ(mmio_rd(vm, t.common + 0x18, 2), 256);
	CHECK_EQ(mmio_rd(vm, t.common + 0x1e, 2), 0);
	CHECK_EQ(mmio_rd(vm, t.common + 0x1c, 2), 0);
	CHECK_EQ(mmio_rd(vm, t.common + 0x1a, 2), VIRTIO_NO_VECTOR);
	/* Vectors past the table read back as NO_VECTOR. */
	mmio_wr(vm, t.common + 0x1a, 2, 7);
	CHECK_EQ(mmio_rd(vm, t.common + 0x1a, 2), VIRTIO_NO_VECTOR);
	mmio_wr(vm, t.common + 0x1a, 2, 1);
	CHECK_EQ(mmio_rd(vm, t.common + 0x1a, 2), 1);
	mmio_wr(vm, t.common + 0x10, 2, 9);
	CHECK_EQ(mmio_rd(vm, t.common + 0x10, 2), VIRTIO_NO_VECTOR);
	/* 64-bit addresses in two halves and whole. */
	mmio_wr(vm, t.common + 0x20, 4, 0x12345000);
	mmio_wr(vm, t.common + 0x24, 4, 0x1);
	CHECK_EQ(mmio_rd(vm, t.common + 0x20, 8), 0x112345000ULL);
	mmio_wr(vm, t.common + 0x28, 8, 0x200000);
	CHECK_EQ(mmio_rd(vm, t.common + 0x28, 4), 0x200000);
	/* A queue that does not exist reads as size 0 and ignores writes. */
	mmio_wr(vm, t.common + 0x16, 2, 5);
	CHECK_EQ(mmio_rd(vm, t.common + 0x18, 2), 0);
	mmio_wr(vm, t.common + 0x1c, 2, 1);
	CHECK_EQ(mmio_rd(vm, t.common + 0x1c, 2), 0);
	/* Notify on a queue that does not exist: nothing. */
	mmio_wr(vm, t.notify + 4 * 3, 2, 3);
	/* Writes to read-only fields are ignored. */
	mmio_wr(vm, t.common + 0x12, 2, 9);
	CHECK_EQ(mmio_rd(vm, t.common + 0x12, 2), 1);
	drv_set_status(&t, 0);
}

/* A GET_ID request through the queue. */
static uint16_t
get_id(struct tdrv *t, struct req *r)
{
	uint16_t h;

	*r = req_alloc(t, 8, 0, 20);
	h = req_chain(t, r, 20, true);
	drv_avail(t, 0, h);
	drv_kick(t, 0);
	return (h);
}

static void
test_queue_and_interrupts(struct vm *vm)
{
	struct tdrv t;
	struct req r;
	struct vring_used_elem e;
	uint16_t h;
	uint64_t isr;
	unsigned gsi = PCI_INTX_GSI_BASE + SLOT;
	struct vring_avail *a;

	setup(&t, vm, 16, ~0ULL);
	h = get_id(&t, &r);
	CHECK_EQ(drv_wait_used(&t, 0, 1, 2000), 0);
	e = drv_used_elem(&t, 0, 0);
	CHECK_EQ(e.id, h);
	CHECK_EQ(e.len, 21);
	CHECK_EQ(*(uint8_t *)gp(&t, r.status, 1), 0);
	CHECK(memcmp(gp(&t, r.data, 20), "HYVE-pci.0.3.0", 15) == 0);
	CHECK_EQ(msi_count(vm, 1), 1);
	CHECK_EQ(msi_count(vm, 0), 0);

	/* The driver asks for no interrupts: none. */
	a = gp(&t, t.q[0].avail, 4);
	a->flags = VRING_AVAIL_F_NO_INTERRUPT;
	get_id(&t, &r);
	CHECK_EQ(drv_wait_used(&t, 0, 2, 2000), 0);
	CHECK_EQ(msi_count(vm, 1), 1);
	a->flags = 0;

	/* Masked vector: pending, delivered on unmask. */
	mmio_wr(vm, t.msix + 16 + 12, 4, 1);
	get_id(&t, &r);
	CHECK_EQ(drv_wait_used(&t, 0, 3, 2000), 0);
	CHECK_EQ(msi_count(vm, 1), 1);
	CHECK_EQ(mmio_rd(vm, t.msix + VIRTIO_MSIX_PBA_OFF, 8), 2);
	mmio_wr(vm, t.msix + 16 + 12, 4, 0);
	CHECK_EQ(msi_count(vm, 1), 2);

	/* MSI-X off: ISR bit 0 and INTx, cleared by reading the ISR. */
	cfg_wr(vm, SLOT, 0, cap_find(vm, SLOT, PCIY_MSIX, -1) + 2, 2, 0);
	vm_test_irq_clear(vm);
	get_id(&t, &r);
	CHECK_EQ(drv_wait_used(&t, 0, 4, 2000), 0);
	/* The worker raises the line right after the used index moves. */
	for (int i = 0; i < 1000 && vm_test_irq_level(vm, gsi) == 0; i++)
		usleep(1000);
	CHECK_EQ(vm_test_irq_level(vm, gsi), 1);
	isr = mmio_rd(vm, t.isr, 1);
	CHECK_EQ(isr, VIRTIO_ISR_QUEUE);
	CHECK_EQ(vm_test_irq_level(vm, gsi), 0);
	CHECK_EQ(mmio_rd(vm, t.isr, 1), 0);
	drv_set_status(&t, 0);
}

/*
 * A malformed case: @make builds it (on a queue of 8 with MSI-X on), then
 * the checks every case shares.  @desc is the descriptor the message must
 * name (-1: none).
 */
typedef void mkbad_fn(struct tdrv *t);

static void
bad_case(struct vm *vm, const char *what, mkbad_fn *make, int desc,
    const char *expect, uint16_t qsize, uint64_t want)
{
	struct tdrv t;
	struct req r;
	const char *log;
	char where[64];
	uint16_t used0;

	fprintf(stderr, "-- malformed: %s\n", what);
	setup(&t, vm, qsize, want);
	cap_begin();
	make(&t);
	log = cap_end();
	CHECK(drv_status(&t) & VIRTIO_S_NEEDS_RESET);
	CHECK_HAS(log, devname);
	CHECK_HAS(log, "queue 0");
	if (desc >= 0) {
		snprintf(where, sizeof(where), "descriptor %d", desc);
		CHECK_HAS(log, where);
	}
	CHECK_HAS(log, expect);
	CHECK_HAS(log, "needs reset");
	CHECK_EQ(msi_count(vm, 0), 1);		/* config change */
	/* The queue is stopped: a good request now is left alone. */
	used0 = drv_used_idx(&t, 0);
	t.q[0].next_desc = 0;
	cap_begin();
	get_id(&t, &r);
	usleep(20000);
	(void)cap_end();
	CHECK_EQ(drv_used_idx(&t, 0), used0);
	CHECK_EQ(*(uint8_t *)gp(&t, r.status, 1), 0xee);
	/* NEEDS_RESET sticks until a reset; after it the device works again. */
	drv_set_status(&t, drv_status(&t) & ~VIRTIO_S_NEEDS_RESET);
	CHECK(drv_status(&t) & VIRTIO_S_NEEDS_RESET);
	drv_set_status(&t, 0);
	CHECK_EQ(drv_status(&t), 0);
	setup(&t, vm, 8, ~0ULL);
	get_id(&t, &r);
	CHECK_EQ(drv_wait_used(&t, 0, 1, 2000), 0);
	CHECK_EQ(*(uint8_t *)gp(&t, r.status, 1), 0);
	drv_set_status(&t, 0);
}

static void
submit(struct tdrv *t, const struct tbuf *b, unsigned n)
{
	uint16_t h = drv_chain(t, 0, b, n);

	drv_avail(t, 0, h);
	drv_kick(t, 0);
}

static void
mk_outside_ram(struct tdrv *t)
{
	struct req r = req_alloc(t, 0, 0, 512);
	struct tbuf b[3] = { { r.hdr, 16, false }, { MEM + 0x1000, 512, true },
	    { r.status, 1, true } };

	t->q[0].next_desc = 4;
	submit(t, b, 3);	/* descriptors 4, 5, 6: 5 is bad */
}

static void
mk_hole(struct tdrv *t)
{
	struct req r = req_alloc(t, 0, 0, 512);
	struct tbuf b[3] = { { r.hdr, 16, false },
	    { MEM - 256, 512, true },	/* straddles the end of RAM */
	    { r.status, 1, true } };

	submit(t, b, 3);
}

static void
mk_overflow(struct tdrv *t)
{
	struct req r = req_alloc(t, 0, 0, 512);
	struct tbuf b[3] = { { r.hdr, 16, false },
	    { 0xfffffffffffff000ULL, 0x2000, true }, { r.status, 1, true } };

	submit(t, b, 3);
}

static void
mk_loop(struct tdrv *t)
{
	struct req r = req_alloc(t, 0, 0, 512);
	struct tbuf b[3] = { { r.hdr, 16, false }, { r.data, 512, true },
	    { r.status, 1, true } };
	uint16_t h = drv_chain(t, 0, b, 3);

	/* The status descriptor points back to the data. */
	drv_desc(t, 0, (unsigned)h + 2)->flags |= VRING_DESC_F_NEXT;
	drv_desc(t, 0, (unsigned)h + 2)->next = (uint16_t)(h + 1);
	drv_avail(t, 0, h);
	drv_kick(t, 0);
}

static void
mk_self_loop(struct tdrv *t)
{
	struct req r = req_alloc(t, 0, 0, 0);
	struct tbuf b[1] = { { r.hdr, 16, false } };
	uint16_t h = drv_chain(t, 0, b, 1);

	drv_desc(t, 0, h)->flags = VRING_DESC_F_NEXT;
	drv_desc(t, 0, h)->next = h;
	drv_avail(t, 0, h);
	drv_kick(t, 0);
}

static void
mk_oversized(struct tdrv *t)
{
	/* Each buffer is inside RAM; together they pass VQ_MAX_CHAIN_BYTES. */
	struct req r = req_alloc(t, 0, 0, 0);
	struct tbuf b[4] = { { r.hdr, 16, false }, { 0x1000000, 100U << 20, true },
	    { 0x1000000, 100U << 20, true }, { r.status, 1, true } };

	submit(t, b, 4);
}

static void
mk_huge_len(struct tdrv *t)
{
	struct req r = req_alloc(t, 0, 0, 0);
	struct tbuf b[3] = { { r.hdr, 16, false }, { 0x100000, 0xffffffffU, true },
	    { r.status, 1, true } };

	submit(t, b, 3);
}

static void
mk_next_out_of_range(struct tdrv *t)
{
	struct req r = req_alloc(t, 0, 0, 512);
	struct tbuf b[3] = { { r.hdr, 16, false }, { r.data, 512, true },
	    { r.status, 1, true } };
	uint16_t h = drv_chain(t, 0, b, 3);

	drv_desc(t, 0, (unsigned)h + 1)->next = 500;
	drv_avail(t, 0, h);
	drv_kick(t, 0);
}

static void
mk_head_out_of_range(struct tdrv *t)
{
	drv_avail(t, 0, 8);
	drv_kick(t, 0);
}

static void
mk_avail_jump(struct tdrv *t)
{
	struct vring_avail *a = gp(t, t->q[0].avail, 4);

	__atomic_store_n(&a->idx, 300, __ATOMIC_RELEASE);
	drv_kick(t, 0);
}

static void
mk_read_after_write(struct tdrv *t)
{
	struct req r = req_alloc(t, 1, 0, 512);
	struct tbuf b[3] = { { r.hdr, 16, false }, { r.status, 1, true },
	    { r.data, 512, false } };

	submit(t, b, 3);
}

static void
mk_short_header(struct tdrv *t)
{
	struct req r = req_alloc(t, 0, 0, 0);
	struct tbuf b[2] = { { r.hdr, 8, false }, { r.status, 1, true } };

	submit(t, b, 2);
}

static void
mk_no_status(struct tdrv *t)
{
	struct req r = req_alloc(t, 1, 0, 512);
	struct tbuf b[2] = { { r.hdr, 16, false }, { r.data, 512, false } };

	submit(t, b, 2);
}

static void
queue_enable_bad(struct tdrv *t, uint16_t size, uint64_t desc, uint64_t avail,
    uint64_t used)
{
	drv_set_status(t, 0);
	drv_negotiate(t, ~0ULL >> 1 & drv_device_features(t));
	drv_msix(t);
	mmio_wr(t->vm, t->common + 0x16, 2, 0);
	mmio_wr(t->vm, t->common + 0x18, 2, size);
	drv_queue_addrs(t, 0, desc, avail, used);
	drv_ok(t);
	vm_test_irq_clear(t->vm);
	mmio_wr(t->vm, t->common + 0x1c, 2, 1);
	CHECK_EQ(mmio_rd(t->vm, t->common + 0x1c, 2), 0);
}

static void
mk_qsize_not_pow2(struct tdrv *t)
{
	queue_enable_bad(t, 3, 0x200000, 0x201000, 0x202000);
}

static void
mk_qsize_too_big(struct tdrv *t)
{
	queue_enable_bad(t, 512, 0x200000, 0x201000, 0x202000);
}

static void
mk_used_outside(struct tdrv *t)
{
	queue_enable_bad(t, 8, 0x200000, 0x201000, MEM - 16);
}

static void
mk_desc_outside(struct tdrv *t)
{
	queue_enable_bad(t, 8, 0x7fff00000000ULL, 0x201000, 0x202000);
}

static void
mk_ring_misaligned(struct tdrv *t)
{
	queue_enable_bad(t, 8, 0x200008, 0x201000, 0x202000);
}

/* Indirect tables. */
static uint64_t
indirect_table(struct tdrv *t, const struct tbuf *b, unsigned n)
{
	uint64_t tbl = galloc(t, 16ULL * n, 16);
	struct vring_desc *d = gp(t, tbl, 16ULL * n);
	unsigned i;

	for (i = 0; i < n; i++) {
		d[i].addr = b[i].gpa;
		d[i].len = b[i].len;
		d[i].flags = (uint16_t)((b[i].write ? VRING_DESC_F_WRITE : 0) |
		    (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		d[i].next = (uint16_t)(i + 1);
	}
	return (tbl);
}

static void
submit_indirect(struct tdrv *t, uint64_t tbl, uint32_t len, uint16_t extra)
{
	struct tbuf b = { tbl, len, false };
	uint16_t h = drv_chain(t, 0, &b, 1);

	drv_desc(t, 0, h)->flags = (uint16_t)(VRING_DESC_F_INDIRECT | extra);
	drv_avail(t, 0, h);
	drv_kick(t, 0);
}

static void
mk_ind_nested(struct tdrv *t)
{
	struct req r = req_alloc(t, 8, 0, 20);
	struct tbuf b[3] = { { r.hdr, 16, false }, { r.data, 20, true },
	    { r.status, 1, true } };
	uint64_t tbl = indirect_table(t, b, 3);

	((struct vring_desc *)gp(t, tbl, 48))[1].flags |= VRING_DESC_F_INDIRECT;
	submit_indirect(t, tbl, 48, 0);
}

static void
mk_ind_len(struct tdrv *t)
{
	struct req r = req_alloc(t, 8, 0, 20);
	struct tbuf b[3] = { { r.hdr, 16, false }, { r.data, 20, true },
	    { r.status, 1, true } };

	submit_indirect(t, indirect_table(t, b, 3), 40, 0);
}

static void
mk_ind_too_long(struct tdrv *t)
{
	struct req r = req_alloc(t, 0, 0, 512);
	struct tbuf b[16];
	unsigned i;

	b[0] = (struct tbuf){ r.hdr, 16, false };
	for (i = 1; i < 15; i++)
		b[i] = (struct tbuf){ r.data, 512, true };
	b[15] = (struct tbuf){ r.status, 1, true };
	submit_indirect(t, indirect_table(t, b, 16), 16 * 16, 0);
}

static void
mk_ind_loop(struct tdrv *t)
{
	struct req r = req_alloc(t, 8, 0, 20);
	struct tbuf b[3] = { { r.hdr, 16, false }, { r.data, 20, true },
	    { r.status, 1, true } };
	uint64_t tbl = indirect_table(t, b, 3);
	struct vring_desc *d = gp(t, tbl, 48);

	d[2].flags |= VRING_DESC_F_NEXT;
	d[2].next = 1;
	submit_indirect(t, tbl, 48, 0);
}

static void
mk_ind_outside(struct tdrv *t)
{
	submit_indirect(t, MEM - 32, 64, 0);
}

static void
mk_ind_next(struct tdrv *t)
{
	struct req r = req_alloc(t, 8, 0, 20);
	struct tbuf b[3] = { { r.hdr, 16, false }, { r.data, 20, true },
	    { r.status, 1, true } };

	submit_indirect(t, indirect_table(t, b, 3), 48, VRING_DESC_F_NEXT);
}

static void
mk_ind_not_negotiated(struct tdrv *t)
{
	struct req r = req_alloc(t, 8, 0, 20);
	struct tbuf b[3] = { { r.hdr, 16, false }, { r.data, 20, true },
	    { r.status, 1, true } };

	submit_indirect(t, indirect_table(t, b, 3), 48, 0);
}

static void
test_indirect_ok(struct vm *vm)
{
	struct tdrv t;
	struct req r;
	struct tbuf b[3];
	uint16_t h;

	setup(&t, vm, 8, ~0ULL);
	r = req_alloc(&t, 8, 0, 20);
	b[0] = (struct tbuf){ r.hdr, 16, false };
	b[1] = (struct tbuf){ r.data, 20, true };
	b[2] = (struct tbuf){ r.status, 1, true };
	/* A direct descriptor, then the indirect table, as the spec allows. */
	{
		uint64_t tbl = indirect_table(&t, b + 1, 2);
		struct tbuf d[2] = { b[0], { tbl, 32, false } };
		h = drv_chain(&t, 0, d, 2);
		drv_desc(&t, 0, (unsigned)h + 1)->flags = VRING_DESC_F_INDIRECT;
		drv_avail(&t, 0, h);
		drv_kick(&t, 0);
	}
	CHECK_EQ(drv_wait_used(&t, 0, 1, 2000), 0);
	CHECK_EQ(drv_used_elem(&t, 0, 0).id, h);
	CHECK_EQ(*(uint8_t *)gp(&t, r.status, 1), 0);
	CHECK(memcmp(gp(&t, r.data, 20), "HYVE-", 5) == 0);
	CHECK_EQ(drv_status(&t) & VIRTIO_S_NEEDS_RESET, 0);
	drv_set_status(&t, 0);
}

/*
 * Garbage: descriptor tables and avail rings full of random values, many
 * times over.  Each round must end with the request served or the device
 * asking for a reset, and hyve never touching memory outside guest RAM
 * (ASan) or hanging.
 */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (rnd_state);
}

static uint64_t
rnd_addr(void)
{
	switch (rnd() % 6) {
	case 0:
		return (rnd());
	case 1:
		return (MEM - (rnd() % 8192));
	case 2:
		return (0x100000ULL + rnd() % 0x100000);
	default:
		return (0x800000ULL + rnd() % (MEM - 0x900000ULL));
	}
}

static void
test_garbage(struct vm *vm)
{
	struct tdrv t;
	unsigned round, i, broken = 0;
	uint16_t qsize;

	cap_begin();
	for (round = 0; round < 3000; round++) {
		qsize = (uint16_t)(1U << (rnd() % 5 + 1));
		setup(&t, vm, qsize, rnd() % 2 ? ~0ULL :
		    ~(1ULL << VIRTIO_F_INDIRECT_DESC));
		for (i = 0; i < qsize; i++) {
			struct vring_desc *d = drv_desc(&t, 0, i);
			d->addr = rnd_addr();
			d->len = (uint32_t)(rnd() % 3 == 0 ? rnd() :
			    rnd() % 4096);
			d->flags = (uint16_t)(rnd() % 8);
			d->next = (uint16_t)(rnd() % 3 == 0 ? rnd() :
			    rnd() % qsize);
			/* Some indirect tables of random descriptors too. */
			if ((d->flags & VRING_DESC_F_INDIRECT) && rnd() % 2) {
				uint64_t tb = 0x400000ULL + (rnd() % 64) * 4096;
				struct vring_desc *x = gp(&t, tb, 4096);
				for (unsigned k = 0; k < 256; k++) {
					x[k].addr = rnd_addr();
					x[k].len = (uint32_t)(rnd() % 8192);
					x[k].flags = (uint16_t)(rnd() % 8);
					x[k].next = (uint16_t)(rnd() % 300);
				}
				d->addr = tb;
				d->len = (uint32_t)(16 * (rnd() % 20));
			}
		}
		{
			struct vring_avail *a = gp(&t, t.q[0].avail,
			    6 + 2ULL * qsize);
			for (i = 0; i < qsize; i++)
				a->ring[i] = (uint16_t)(rnd() % 4 == 0 ? rnd() :
				    rnd() % qsize);
			__atomic_store_n(&a->idx, (uint16_t)(rnd() % 3 == 0 ?
			    rnd() : rnd() % (qsize + 1U)), __ATOMIC_RELEASE);
		}
		drv_kick(&t, 0);
		if (drv_status(&t) & VIRTIO_S_NEEDS_RESET)
			broken++;
		/* The reset waits for requests the I/O threads took. */
		drv_set_status(&t, 0);
	}
	(void)cap_end();
	fprintf(stderr, "garbage: %u of %u rounds needed a reset\n", broken,
	    round);
	CHECK(broken > round / 2);
	/* Still a working device. */
	{
		struct req r;
		setup(&t, vm, 8, ~0ULL);
		get_id(&t, &r);
		CHECK_EQ(drv_wait_used(&t, 0, 1, 2000), 0);
		CHECK_EQ(*(uint8_t *)gp(&t, r.status, 1), 0);
		drv_set_status(&t, 0);
	}
}

/* Save @d (paused, then resumed) into a new document. */
static ckp_doc_t *
save_dev(struct dev *d)
{
	ckp_doc_t *doc = ckp_doc_new("test");
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_SAVE);

	CHECK_EQ(d->emu->pause(d), 0);
	ckp_io_enter(io, d->id, d->emu->version);
	CHECK_EQ(d->emu->save(d, io), 0);
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK_EQ(d->emu->resume(d), 0);
	return (doc);
}

static int
restore_dev(struct dev *d, ckp_doc_t *doc)
{
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_RESTORE);
	int rc;

	ckp_io_enter(io, d->id, d->emu->version);
	rc = d->emu->restore(d, io);
	ckp_io_leave(io);
	ckp_io_free(io);
	return (rc);
}

/*
 * Before FEATURES_OK a driver may write feature bits the device does not
 * offer (FEATURES_OK is what gets refused), and a checkpoint taken then
 * must restore: it was refused as "not a subset", so a guest could make
 * its own checkpoint unusable (found by fuzz/fuzz_hyve_devstate.c, which
 * restores what the devices save).  With FEATURES_OK set, the features
 * were checked and a checkpoint claiming others is still refused.
 */
static void
test_checkpoint_features(void)
{
	struct vm *vm = vm_new_for_test(MEM), *vm2 = vm_new_for_test(MEM);
	struct dev *d = blk_add(vm), *d2 = blk_add(vm2);
	struct tdrv t, t2;
	ckp_doc_t *doc;
	ckp_ent_t *e;

	CHECK_EQ(drv_attach(&t, vm, SLOT), 0);
	drv_set_status(&t, 0);
	drv_set_status(&t, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	mmio_wr(vm, t.common + 0x08, 4, 0);
	mmio_wr(vm, t.common + 0x0c, 4, 0x00bf0000);	/* not offered */
	doc = save_dev(d);
	CHECK_EQ(restore_dev(d2, doc), 0);
	if (ckp_doc_error(doc) != 0)
		fprintf(stderr, "restore: %s\n", ckp_doc_errmsg(doc));
	CHECK_EQ(d2->emu->resume(d2), 0);
	CHECK_EQ(drv_attach(&t2, vm2, SLOT), 0);
	mmio_wr(vm2, t2.common + 0x08, 4, 0);
	CHECK_EQ(mmio_rd(vm2, t2.common + 0x0c, 4), 0x00bf0000);
	cap_begin();
	drv_set_status(&t2, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
	    VIRTIO_S_FEATURES_OK);
	CHECK_HAS(cap_end(), "FEATURES_OK refused");
	CHECK_EQ(drv_status(&t2) & VIRTIO_S_FEATURES_OK, 0);
	ckp_doc_free(doc);

	/* Negotiated, then a checkpoint claiming more: refused. */
	CHECK(drv_negotiate(&t, ~0ULL) & VIRTIO_S_FEATURES_OK);
	doc = save_dev(d);
	e = ckp_doc_find(doc, "virtio-blk@0.virtio.driver_features");
	CHECK(e != NULL && ckp_ent_set_text(e, "1100bf0000") == 0);
	CHECK(restore_dev(d2, doc) < 0);
	CHECK_HAS(ckp_doc_errmsg(doc), "virtio.driver_features 0x1100bf0000");
	CHECK_HAS(ckp_doc_errmsg(doc), devname);
	ckp_doc_free(doc);
	vm_free(vm2);
	vm_free(vm);
}

int
main(void)
{
	struct vm *vm;
	uint64_t all = ~0ULL, noind = ~(1ULL << VIRTIO_F_INDIRECT_DESC);
	int fd;

	snprintf(img, sizeof(img), "/tmp/hyve-test-virtio-XXXXXX");
	fd = mkstemp(img);
	if (fd < 0 || ftruncate(fd, IMG_SECTORS * 512) < 0) {
		perror("temp image");
		return (1);
	}
	close(fd);
	vm = vm_new_for_test(MEM);
	if (vm == NULL) {
		fprintf(stderr, "vm_new_for_test failed\n");
		return (1);
	}
	blk_add(vm);
	test_identity(vm);
	test_negotiation(vm);
	test_queue_config(vm);
	test_queue_and_interrupts(vm);
	test_indirect_ok(vm);
	test_checkpoint_features();

	bad_case(vm, "buffer outside RAM", mk_outside_ram, 5,
	    "outside guest RAM", 8, all);
	bad_case(vm, "buffer across the end of RAM", mk_hole, 1,
	    "outside guest RAM", 8, all);
	bad_case(vm, "address + length overflows", mk_overflow, 1, "wraps",
	    8, all);
	bad_case(vm, "chain loop", mk_loop, -1, "longer than the queue size",
	    8, all);
	bad_case(vm, "descriptor pointing to itself", mk_self_loop, 0,
	    "longer than the queue size", 8, all);
	bad_case(vm, "chain of more bytes than allowed", mk_oversized, 2,
	    "more than", 8, all);
	bad_case(vm, "oversized descriptor length", mk_huge_len, 1,
	    "more than", 8, all);
	bad_case(vm, "next index past the table", mk_next_out_of_range, 1,
	    "past the descriptor table", 8, all);
	bad_case(vm, "avail ring names a descriptor past the table",
	    mk_head_out_of_range, 8, "past the queue size", 8, all);
	bad_case(vm, "avail index jump", mk_avail_jump, -1,
	    "avail index jumped", 8, all);
	bad_case(vm, "readable after writable", mk_read_after_write, 2,
	    "device-readable buffer after", 8, all);
	bad_case(vm, "blk header too short", mk_short_header, 0,
	    "less than 16", 8, all);
	bad_case(vm, "blk request without status", mk_no_status, 0,
	    "status", 8, all);
	bad_case(vm, "queue size not a power of two", mk_qsize_not_pow2, -1,
	    "queue size 3 is not a power of two", 8, all);
	bad_case(vm, "queue size above the maximum", mk_qsize_too_big, -1,
	    "queue size 512", 8, all);
	bad_case(vm, "used ring outside RAM", mk_used_outside, -1,
	    "used ring", 8, all);
	bad_case(vm, "descriptor table outside RAM", mk_desc_outside, -1,
	    "descriptor ring", 8, all);
	bad_case(vm, "misaligned ring", mk_ring_misaligned, -1,
	    "not aligned", 8, all);
	bad_case(vm, "nested indirect", mk_ind_nested, 0,
	    "inside an indirect table", 8, all);
	bad_case(vm, "indirect length not a multiple of 16", mk_ind_len, 0,
	    "indirect table length 40", 8, all);
	bad_case(vm, "indirect table longer than the queue", mk_ind_too_long, 0,
	    "indirect table length 256", 8, all);
	bad_case(vm, "loop inside an indirect table", mk_ind_loop, 0,
	    "longer than the queue size", 8, all);
	bad_case(vm, "indirect table outside RAM", mk_ind_outside, 0,
	    "indirect table", 8, all);
	bad_case(vm, "indirect with NEXT", mk_ind_next, 0, "with NEXT set",
	    8, all);
	bad_case(vm, "indirect not negotiated", mk_ind_not_negotiated, 0,
	    "without VIRTIO_F_INDIRECT_DESC", 8, noind);

	test_garbage(vm);
	vm_free(vm);
	unlink(img);
	TEST_END();
}
