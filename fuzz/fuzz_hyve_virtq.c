/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: a malicious virtio driver.  Each input is a program of
 * guest operations on a virtio-blk (slot 3, on a memfd image) and a
 * virtio-net (slot 4, on a SOCK_SEQPACKET pair) in a test VM without KVM:
 * PCI config accesses through 0xCF8/0xCFC (BARs, command, MSI-X control),
 * common-config and other BAR accesses (feature negotiation, queue setup,
 * status and reset, MSI-X table, ISR, notifications), raw writes of guest
 * RAM (descriptor tables, rings, request headers, buffers), ready-made
 * requests of odd shapes, frames from the net backend, pause/resume and
 * system reset.  The rule checked is docs/DEVICES.md's: whatever the guest
 * does, hyve does not crash, hang, leak, or touch memory outside guest RAM
 * (ASan/UBSan watch), and a function's INTx line is what its status
 * register says and low under MSI-X.  Requests are completed before the
 * next operation (virtio_blk_test_drain(), virtio_net_test_rx()), so a run
 * is repeatable.  The first input bytes choose the disk: its size (not
 * always whole sectors), read-only, a 1 KiB/s bandwidth limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm.h"
#include "vm_test.h"
#include "fuzz_in.h"
#include "pci.h"
#include "virtio.h"

#define RAM_SIZE	(128 * 1024)
#define MAX_OPS		512
#define BLK_SLOT	3
#define NET_SLOT	4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------------------ */
/* Reading the input (fuzz_in.h)                                            */
/* ------------------------------------------------------------------------ */

/* A guest address: mostly inside RAM, sometimes anything at all. */
static uint64_t
gaddr(struct in *in)
{
	uint8_t f = u8(in);

	switch (f & 7) {
	case 7:
		return (u64(in));
	case 6:	/* near the end of RAM */
		return (RAM_SIZE - (u16(in) & 0x1ff));
	default:
		return (u16(in) % RAM_SIZE * 2 % RAM_SIZE);
	}
}

/* A length: mostly small, sometimes anything. */
static uint32_t
glen(struct in *in)
{
	uint8_t f = u8(in);

	if ((f & 0xf) == 0xf)
		return (u32(in));
	if ((f & 0xf) == 0xe)
		return (512U * (f >> 4));
	return (u16(in) & 0x3fff);
}

static unsigned
asize(struct in *in)
{
	static const unsigned s[4] = { 1, 2, 4, 8 };

	return (s[u8(in) & 3]);
}

/* ------------------------------------------------------------------------ */
/* The fuzzed VM                                                             */
/* ------------------------------------------------------------------------ */

struct fq {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx;
};

struct fdev {
	struct dev *d;
	int	slot;
	unsigned nq;
	struct fq q[VIRTIO_MAX_QUEUES];
};

struct fvm {
	struct vm *vm;
	uint8_t	*ram;
	struct fdev blk, net;
	int	peer;		/* our end of the net backend */
	uint64_t bump;		/* next free guest RAM for ready-made requests */
};

static int img_fd = -1;
static char img_path[64];

static void
cfg_addr(struct vm *vm, int slot, int func, unsigned off)
{
	uint64_t v = 0x80000000U | (unsigned)slot << 11 | (unsigned)func << 8 |
	    (off & 0xfc);

	vm_test_pio(vm, 0xcf8, 4, true, &v);
}

static uint32_t
cfg_rd(struct vm *vm, int slot, unsigned off, unsigned size)
{
	uint64_t v = 0;

	cfg_addr(vm, slot, 0, off);
	vm_test_pio(vm, (uint16_t)(0xcfc + (off & 3)), size, false, &v);
	return ((uint32_t)v);
}

static void
cfg_wr(struct vm *vm, int slot, unsigned off, unsigned size, uint32_t val)
{
	uint64_t v = val;

	cfg_addr(vm, slot, 0, off);
	vm_test_pio(vm, (uint16_t)(0xcfc + (off & 3)), size, true, &v);
}

static uint64_t
bar(struct fvm *f, struct fdev *fd, int idx)
{
	return (cfg_rd(f->vm, fd->slot, PCIR_BAR0 + 4 * (unsigned)idx, 4) &
	    ~0xfULL);
}

static uint64_t
mmio(struct fvm *f, uint64_t addr, unsigned size, bool wr, uint64_t v)
{
	if (vm_test_mmio(f->vm, addr, size, wr, &v) != 0)
		return (~0ULL);
	return (v);
}

static void
common_wr(struct fvm *f, struct fdev *fd, unsigned off, unsigned size,
    uint64_t v)
{
	mmio(f, bar(f, fd, VIRTIO_BAR) + VIRTIO_COMMON_OFF + off, size, true, v);
}

static uint64_t
common_rd(struct fvm *f, struct fdev *fd, unsigned off, unsigned size)
{
	return (mmio(f, bar(f, fd, VIRTIO_BAR) + VIRTIO_COMMON_OFF + off, size,
	    false, 0));
}

static void
kick(struct fvm *f, struct fdev *fd, unsigned q)
{
	mmio(f, bar(f, fd, VIRTIO_BAR) + VIRTIO_NOTIFY_OFF +
	    VIRTIO_NOTIFY_MULT * q, 2, true, q);
}

static void *
ram(struct fvm *f, uint64_t gpa, uint64_t len)
{
	return (vm_gpa_ptr(f->vm, gpa, len));
}

static uint64_t
balloc(struct fvm *f, uint64_t len, uint64_t align)
{
	uint64_t a = (f->bump + align - 1) & ~(align - 1);

	if (len > RAM_SIZE / 2)
		len = RAM_SIZE / 2;
	if (a + len > RAM_SIZE)
		a = 0x1000;	/* wrap: overlapping old buffers is fine */
	f->bump = a + len;
	return (a);
}

static void
wr_desc(struct fvm *f, struct fq *q, unsigned i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };
	void *p;

	if (q->size == 0)
		return;
	p = ram(f, q->desc + 16ULL * (i % q->size), 16);
	if (p != NULL)
		memcpy(p, &d, 16);
}

static void
push_avail(struct fvm *f, struct fq *q, uint16_t head)
{
	uint8_t *p;

	if (q->size == 0)
		return;
	p = ram(f, q->avail, 4 + 2ULL * q->size);
	if (p == NULL)
		return;
	memcpy(p + 4 + 2 * (q->avail_idx % q->size), &head, 2);
	q->avail_idx++;
	memcpy(p + 2, &q->avail_idx, 2);
}

/* The driver's side of queue setup, with input choosing every value. */
static void
setup(struct fvm *f, struct fdev *fd, struct in *in)
{
	uint8_t how = u8(in);
	uint32_t feat_lo, feat_hi;
	unsigned q, i;

	common_wr(f, fd, 0x14, 1, 0);
	common_wr(f, fd, 0x14, 1, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	common_wr(f, fd, 0x00, 4, 0);
	feat_lo = (uint32_t)common_rd(f, fd, 0x04, 4);
	common_wr(f, fd, 0x00, 4, 1);
	feat_hi = (uint32_t)common_rd(f, fd, 0x04, 4);
	if ((how & 1) != 0) {	/* not what the device offers */
		feat_lo ^= u32(in);
		feat_hi ^= u32(in);
	}
	common_wr(f, fd, 0x08, 4, 0);
	common_wr(f, fd, 0x0c, 4, feat_lo);
	common_wr(f, fd, 0x08, 4, 1);
	common_wr(f, fd, 0x0c, 4, feat_hi);
	common_wr(f, fd, 0x14, 1, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
	    VIRTIO_S_FEATURES_OK);
	if ((how & 2) != 0) {	/* MSI-X on, every vector unmasked */
		unsigned c = cfg_rd(f->vm, fd->slot, PCIR_CAP_PTR, 1);
		for (i = 0; c != 0 && i < 16; i++) {
			if (cfg_rd(f->vm, fd->slot, c, 1) == PCIY_MSIX)
				break;
			c = cfg_rd(f->vm, fd->slot, c + 1, 1);
		}
		if (c != 0) {
			cfg_wr(f->vm, fd->slot, c + 2, 2, PCIM_MSIXCTRL_ENABLE);
			for (i = 0; i <= fd->nq; i++) {
				uint64_t t = bar(f, fd, VIRTIO_MSIX_BAR) + 16 * i;
				mmio(f, t, 4, true, 0xfee00000U);
				mmio(f, t + 4, 4, true, 0);
				mmio(f, t + 8, 4, true, 0x40 + i);
				mmio(f, t + 12, 4, true, 0);
			}
			common_wr(f, fd, 0x10, 2, 0);
		}
	}
	for (q = 0; q < fd->nq; q++) {
		struct fq *fq = &fd->q[q];
		uint8_t sz = u8(in);
		memset(fq, 0, sizeof(*fq));
		fq->size = (sz & 0xf0) == 0xf0 ? (uint16_t)(sz << 4) :
		    (uint16_t)(1U << (sz % 9));
		if (fq->size == 0)
			fq->size = 1;
		if ((how & 4) != 0) {
			fq->desc = gaddr(in);
			fq->avail = gaddr(in);
			fq->used = gaddr(in);
		} else {
			fq->desc = balloc(f, 16ULL * fq->size, 16);
			fq->avail = balloc(f, 6 + 2ULL * fq->size, 2);
			fq->used = balloc(f, 6 + 8ULL * fq->size, 4);
		}
		common_wr(f, fd, 0x16, 2, q);
		common_wr(f, fd, 0x18, 2, fq->size);
		common_wr(f, fd, 0x20, 8, fq->desc);
		common_wr(f, fd, 0x28, 8, fq->avail);
		common_wr(f, fd, 0x30, 8, fq->used);
		common_wr(f, fd, 0x1a, 2, q + 1);
		common_wr(f, fd, 0x1c, 2, 1);
		/* the driver starts with zeroed rings */
		void *p = ram(f, fq->avail, 6 + 2ULL * fq->size);
		if (p != NULL)
			memset(p, 0, 6 + 2ULL * fq->size);
		if ((p = ram(f, fq->used, 6 + 8ULL * fq->size)) != NULL)
			memset(p, 0, 6 + 8ULL * fq->size);
	}
	common_wr(f, fd, 0x14, 1, (uint8_t)common_rd(f, fd, 0x14, 1) |
	    VIRTIO_S_DRIVER_OK);
}

/*
 * A chain of @nseg buffers of input-chosen lengths (the first @nread
 * device-readable) built in fresh RAM, directly or as an indirect table,
 * put on the avail ring.  @hdr (@hlen bytes) goes at the start.
 */
static void
chain(struct fvm *f, struct fq *q, struct in *in, unsigned nseg,
    unsigned nread, const void *hdr, unsigned hlen)
{
	uint8_t how = u8(in);
	bool indirect = (how & 1) != 0;
	uint16_t head = (uint16_t)u8(in);
	unsigned i;
	uint64_t itab = 0;

	if (q->size == 0 || nseg == 0)
		return;
	if (!indirect && nseg > q->size)
		nseg = q->size;
	if (indirect)
		itab = (how & 0x20) != 0 ? gaddr(in) : balloc(f, 16ULL * nseg, 16);
	for (i = 0; i < nseg; i++) {
		uint32_t len = i == 0 && hlen > 0 && (how & 2) == 0 ? hlen :
		    glen(in);
		uint64_t a = (how & 0x40) != 0 && (i & 1) != 0 ? gaddr(in) :
		    balloc(f, len, (how & 4) != 0 ? 1 : 8);
		uint16_t fl = (uint16_t)((i >= nread ? VRING_DESC_F_WRITE : 0) |
		    (i + 1 < nseg ? VRING_DESC_F_NEXT : 0));
		struct vring_desc d;
		if ((how & 0x10) != 0)	/* flags the layout does not call for */
			fl ^= (uint16_t)(u8(in) & 7);
		if (len > RAM_SIZE / 2 && (how & 8) == 0)
			len = RAM_SIZE / 2;
		if (i == 0 && hdr != NULL) {
			void *p = ram(f, a, hlen);
			if (p != NULL)
				memcpy(p, hdr, hlen);
		}
		if (indirect) {
			d = (struct vring_desc){ a, len, fl, (uint16_t)(i + 1) };
			void *p = ram(f, itab + 16ULL * i, 16);
			if (p != NULL)
				memcpy(p, &d, 16);
		} else {
			wr_desc(f, q, head + i, a, len, fl,
			    (uint16_t)((head + i + 1) % q->size));
		}
	}
	if (indirect)
		wr_desc(f, q, head, itab, 16 * nseg, VRING_DESC_F_INDIRECT, 0);
	push_avail(f, q, (uint16_t)(head % q->size));
}

static void
blk_request(struct fvm *f, struct in *in)
{
	static const uint32_t types[] = { 0, 1, 4, 8, 0, 1 };
	uint8_t hdr[16] = { 0 };
	uint8_t t = u8(in);
	uint32_t type = t < 0xf0 ? types[t % 6] : u32(in);
	uint64_t sector = (t & 0x80) != 0 ? u64(in) : u8(in);
	unsigned nseg = 2 + u8(in) % 6, nread;

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	nread = type == 1 ? nseg - 1 : 1;
	if ((t & 0x40) != 0)
		nread = u8(in) % (nseg + 1);
	chain(f, &f->blk.q[0], in, nseg, nread, hdr, 16);
	kick(f, &f->blk, 0);
}

static void
net_tx(struct fvm *f, struct in *in)
{
	uint8_t hdr[12] = { 0 };
	unsigned nseg = 1 + u8(in) % 4;
	uint8_t buf[256];
	ssize_t n;

	chain(f, &f->net.q[1], in, nseg, u8(in) < 0xf0 ? nseg : 0, hdr, 12);
	kick(f, &f->net, 1);
	/* keep the backend from filling up */
	do {
		n = recv(f->peer, buf, sizeof(buf), MSG_DONTWAIT);
	} while (n > 0);
}

static void
net_rx(struct fvm *f, struct in *in)
{
	uint8_t how = u8(in);
	unsigned nbuf = how & 3, i;
	size_t len;
	uint8_t *frame;

	for (i = 0; i < nbuf; i++)
		chain(f, &f->net.q[0], in, 1 + u8(in) % 3, (how & 4) != 0 ? 1 : 0,
		    NULL, 0);
	if ((how & 8) != 0)
		kick(f, &f->net, 0);
	len = (how & 0x10) != 0 ? (size_t)u16(in) + (how >> 5) * 1000 :
	    u8(in);
	frame = calloc(1, len + 1);
	if (frame == NULL)
		return;
	for (i = 0; i < len && in->n > 0; i++)
		frame[i] = u8(in);
	(void)virtio_net_test_rx(f->net.d, frame, len);
	free(frame);
}

#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c); \
		abort();						\
	}								\
} while (0)

/*
 * The INTx line of each function is what its status register says, and
 * low while MSI-X is enabled (virtio's MSI-X capability is at 0x84) or
 * INTx is disabled.
 */
static void
check_intx(struct fvm *f)
{
	struct fdev *fds[2] = { &f->blk, &f->net };
	int i;

	for (i = 0; i < 2; i++) {
		int slot = fds[i]->slot;
		int level = vm_test_irq_level(f->vm,
		    PCI_INTX_GSI_BASE + (unsigned)slot % 8);
		uint16_t st = (uint16_t)cfg_rd(f->vm, slot, PCIR_STATUS, 2);
		FUZZ_ASSERT(level == ((st & PCIM_STATUS_INTxSTATE) != 0));
		if ((cfg_rd(f->vm, slot, 0x86, 2) & PCIM_MSIXCTRL_ENABLE) != 0 ||
		    (cfg_rd(f->vm, slot, PCIR_COMMAND, 2) & PCIM_CMD_INTxDIS) != 0)
			FUZZ_ASSERT(level == 0);
	}
}

/* One guest operation. */
static void
step(struct fvm *f, struct in *in)
{
	uint8_t op = u8(in), sel = u8(in);
	struct fdev *fd = (sel & 1) != 0 ? &f->net : &f->blk;
	struct fq *q = &fd->q[(sel >> 1) % fd->nq];
	unsigned off, sz;
	uint64_t v;

	switch (op % 20) {
	case 0:	/* config write, our devices or any slot */
	case 1:	/* config read */
		off = u8(in);
		sz = (unsigned[]){ 1, 2, 4 }[u8(in) % 3];
		v = u32(in);
		if ((sel & 0x80) != 0) {
			cfg_addr(f->vm, (sel >> 1) & 31, sel >> 6 & 1, off);
			vm_test_pio(f->vm, (uint16_t)(0xcfc + (off & 3)), sz,
			    op % 20 == 0, &v);
		} else if (op % 20 == 0) {
			cfg_wr(f->vm, fd->slot, off, sz, (uint32_t)v);
		} else {
			(void)cfg_rd(f->vm, fd->slot, off, sz);
		}
		break;
	case 2:	/* raw 0xcf8..0xcff accesses of any size */
		off = u8(in) & 7;
		sz = asize(in);
		v = u32(in);
		vm_test_pio(f->vm, (uint16_t)(0xcf8 + off), sz, (sel & 2) != 0,
		    &v);
		break;
	case 3:	/* common config write */
		off = u8(in) % 0x40;
		sz = asize(in);
		common_wr(f, fd, off, sz, u64(in));
		break;
	case 4:
		off = u8(in) % 0x40;
		(void)common_rd(f, fd, off, asize(in));
		break;
	case 5: {	/* any access to BAR 1 or 4 */
		int b = (sel & 2) != 0 ? VIRTIO_BAR : VIRTIO_MSIX_BAR;
		uint64_t o = u16(in) % (b == VIRTIO_BAR ? VIRTIO_BAR_SIZE :
		    VIRTIO_MSIX_BAR_SIZE);
		sz = asize(in);
		v = u64(in);
		mmio(f, bar(f, fd, b) + o, sz, (sel & 4) != 0, v);
		break;
	}
	case 6:	/* notify */
		kick(f, fd, (sel >> 1) & 3);
		break;
	case 7: {	/* raw guest RAM */
		uint64_t a = u16(in) % RAM_SIZE;
		unsigned n = u8(in);
		uint8_t *p = ram(f, a, 0);
		for (unsigned i = 0; i < n && a + i < RAM_SIZE; i++)
			p[i] = u8(in);
		break;
	}
	case 8: {	/* one descriptor */
		uint16_t idx = u8(in);
		uint64_t a = gaddr(in);
		uint32_t len = glen(in);
		uint16_t fl = u8(in) & 7, next = u8(in);
		wr_desc(f, q, idx, a, len, fl, next);
		break;
	}
	case 9:	/* avail ring: a head, or any index */
		if ((sel & 0x80) != 0) {
			uint8_t *p = q->size ? ram(f, q->avail, 4) : NULL;
			uint16_t idx = u16(in), fl = u8(in) & 1;
			if (p != NULL) {
				memcpy(p, &fl, 2);
				memcpy(p + 2, &idx, 2);
				q->avail_idx = idx;
			}
		} else {
			push_avail(f, q, u8(in));
		}
		break;
	case 10:
		setup(f, fd, in);
		break;
	case 11:
		blk_request(f, in);
		break;
	case 12:
		net_tx(f, in);
		break;
	case 13:
		net_rx(f, in);
		break;
	case 14:	/* device status, 0 resets */
		common_wr(f, fd, 0x14, 1, u8(in));
		break;
	case 15:
		if (fd->d->emu->pause(fd->d) == 0)
			fd->d->emu->resume(fd->d);
		break;
	case 16:	/* system reset */
		fd->d->emu->reset(fd->d);
		break;
	case 17: {	/* MSI-X control and one table entry */
		uint64_t t;
		cfg_wr(f->vm, fd->slot, 0x40 + (u8(in) & 0x3c) + 2, 2, u16(in));
		t = bar(f, fd, VIRTIO_MSIX_BAR) + 16 * (u8(in) % 8);
		mmio(f, t + 4 * (u8(in) & 3), 4, true, u32(in));
		break;
	}
	case 18:	/* ISR and device config reads */
		(void)mmio(f, bar(f, fd, VIRTIO_BAR) + VIRTIO_ISR_OFF, 1, false, 0);
		(void)mmio(f, bar(f, fd, VIRTIO_BAR) + VIRTIO_DEVCFG_OFF +
		    (u8(in) & 0x3f), asize(in), false, 0);
		break;
	case 19:	/* move or size a BAR */
		off = (sel & 2) != 0 ? VIRTIO_BAR : VIRTIO_MSIX_BAR;
		cfg_wr(f->vm, fd->slot, PCIR_BAR0 + 4 * off, 4,
		    (sel & 4) != 0 ? 0xffffffffU : 0xc0000000U + u16(in) * 0x1000U);
		if ((sel & 8) != 0)
			cfg_wr(f->vm, fd->slot, PCIR_COMMAND, 2, u16(in));
		break;
	}
	virtio_blk_test_drain(f->blk.d);
	check_intx(f);
}

static int
init_once(void)
{
	if (img_fd >= 0)
		return (0);
	img_fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
	if (img_fd < 0)
		return (-errno);
	snprintf(img_path, sizeof(img_path), "/proc/self/fd/%d", img_fd);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct fvm f;
	int sv[2];
	char be[32];
	uint8_t cfgb, cfgb2;
	unsigned n;

	if (init_once() < 0)
		abort();
	memset(&f, 0, sizeof(f));
	f.bump = 0x1000;
	/* First bytes: the disk's size (not always whole sectors), ro, serial. */
	cfgb = u8(&in);
	cfgb2 = (cfgb & 0x40) != 0 ? u8(&in) : 0;
	if (ftruncate(img_fd, 0) != 0 ||
	    ftruncate(img_fd, (off_t)(cfgb & 0x3f) * 1024 + (cfgb2 & 0x7f)) != 0)
		abort();
	if ((f.vm = vm_new_for_test(RAM_SIZE)) == NULL)
		abort();
	vm_test_cfg_set(f.vm, "pci.0.3.0.device", "virtio-blk");
	vm_test_cfg_set(f.vm, "pci.0.3.0.path", img_path);
	vm_test_cfg_set(f.vm, "pci.0.3.0.ro", (cfgb & 0x80) != 0 ? "on" : "off");
	/* A bandwidth limit a guest can queue hours of work against. */
	if ((cfgb2 & 0x80) != 0)
		vm_test_cfg_set(f.vm, "pci.0.3.0.bps", "1K");
	f.blk.d = vm_test_dev_add(f.vm, "virtio-blk", "pci.0.3.0",
	    "virtio-blk@0");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	f.peer = sv[1];
	snprintf(be, sizeof(be), "fd:%d", sv[0]);
	vm_test_cfg_set(f.vm, "pci.0.4.0.device", "virtio-net");
	vm_test_cfg_set(f.vm, "pci.0.4.0.backend", be);
	f.net.d = vm_test_dev_add(f.vm, "virtio-net", "pci.0.4.0",
	    "virtio-net@0");
	if (f.blk.d == NULL || f.net.d == NULL)
		abort();
	f.blk.slot = BLK_SLOT;
	f.blk.nq = 1;
	f.net.slot = NET_SLOT;
	f.net.nq = 2;
	f.blk.d->emu->resume(f.blk.d);
	f.net.d->emu->resume(f.net.d);
	/* Then guest RAM's first page, then operations. */
	for (n = 0; n < 4096 && in.n > 0 && (cfgb & 0x20) != 0; n++)
		*(uint8_t *)ram(&f, n, 1) = u8(&in);
	for (n = 0; n < MAX_OPS && in.n > 0; n++)
		step(&f, &in);
	vm_free(f.vm);	/* closes sv[0], the net backend */
	close(sv[1]);
	return (0);
}
