/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Helpers for the PCI and virtio unit tests (tests/unit/test_pci*.c,
 * test_virtio*.c): checks, stderr capture, config space through ports
 * 0xCF8/0xCFC, and a small virtio driver that keeps its rings in the
 * test VM's guest RAM and talks to the device only through MMIO.
 */
#ifndef TEST_VIRTIO_DRV_H
#define TEST_VIRTIO_DRV_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"
#include "vm_test.h"
#include "pci.h"
#include "virtio.h"

static int t_fails;
static int t_checks;

#define CHECK(cond) do {						\
	t_checks++;							\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		t_fails++;						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	unsigned long long a_ = (unsigned long long)(a);		\
	unsigned long long b_ = (unsigned long long)(b);		\
	t_checks++;							\
	if (a_ != b_) {							\
		fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s: "	\
		    "0x%llx != 0x%llx\n", __FILE__, __LINE__, #a, #b,	\
		    a_, b_);						\
		t_fails++;						\
	}								\
} while (0)

#define CHECK_HAS(hay, needle) do {					\
	const char *h_ = (hay), *n_ = (needle);				\
	t_checks++;							\
	if (h_ == NULL || strstr(h_, n_) == NULL) {			\
		fprintf(stderr, "%s:%d: CHECK_HAS failed: %s\n"		\
		    "   text:     %s\n   expected: %s\n", __FILE__,	\
		    __LINE__, #hay, h_ ? h_ : "(null)", n_);		\
		t_fails++;						\
	}								\
} while (0)

#define TEST_END() do {							\
	printf("%d checks, %d failed\n", t_checks, t_fails);		\
	return t_fails ? 1 : 0;						\
} while (0)

/* ------------------------------------------------------------------------ */
/* stderr capture (vm_log messages)                                          */
/* ------------------------------------------------------------------------ */

static int t_cap_fd = -1, t_cap_saved = -1;
static char t_cap_buf[16384];

static inline void
cap_begin(void)
{
	char path[] = "/tmp/hyve-test-log-XXXXXX";

	fflush(stderr);
	t_cap_fd = mkstemp(path);
	if (t_cap_fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(path);
	t_cap_saved = dup(2);
	dup2(t_cap_fd, 2);
}

/* @return what was written to stderr since cap_begin() (also echoed). */
static inline const char *
cap_end(void)
{
	ssize_t n;

	fflush(stderr);
	dup2(t_cap_saved, 2);
	close(t_cap_saved);
	lseek(t_cap_fd, 0, SEEK_SET);
	n = read(t_cap_fd, t_cap_buf, sizeof(t_cap_buf) - 1);
	t_cap_buf[n > 0 ? n : 0] = '\0';
	close(t_cap_fd);
	fputs(t_cap_buf, stderr);
	if (n > 0 && t_cap_buf[n - 1] != '\n')
		fputs("...\n", stderr);
	return (t_cap_buf);
}

/* ------------------------------------------------------------------------ */
/* Config space and MMIO as a guest does them                                */
/* ------------------------------------------------------------------------ */

static inline uint32_t
cfg_rd(struct vm *vm, int slot, int func, unsigned off, unsigned size)
{
	uint64_t v = 0x80000000U | (unsigned)slot << 11 | (unsigned)func << 8 |
	    (off & 0xfc);

	vm_test_pio(vm, 0xcf8, 4, true, &v);
	v = 0;
	vm_test_pio(vm, (uint16_t)(0xcfc + (off & 3)), size, false, &v);
	return ((uint32_t)v);
}

static inline void
cfg_wr(struct vm *vm, int slot, int func, unsigned off, unsigned size,
    uint32_t val)
{
	uint64_t v = 0x80000000U | (unsigned)slot << 11 | (unsigned)func << 8 |
	    (off & 0xfc);

	vm_test_pio(vm, 0xcf8, 4, true, &v);
	v = val;
	vm_test_pio(vm, (uint16_t)(0xcfc + (off & 3)), size, true, &v);
}

static inline uint64_t
mmio_rd(struct vm *vm, uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	if (vm_test_mmio(vm, addr, size, false, &v) != 0)
		return (~0ULL);
	return (v);
}

static inline int
mmio_wr(struct vm *vm, uint64_t addr, unsigned size, uint64_t v)
{
	return (vm_test_mmio(vm, addr, size, true, &v));
}

/* Offset of capability @id (and, for vendor caps, cfg_type @type), 0 if none. */
static inline unsigned
cap_find(struct vm *vm, int slot, unsigned id, int type)
{
	unsigned off = cfg_rd(vm, slot, 0, PCIR_CAP_PTR, 1), n = 0;

	while (off != 0 && n++ < 48) {
		if (cfg_rd(vm, slot, 0, off, 1) == id && (type < 0 ||
		    cfg_rd(vm, slot, 0, off + 3, 1) == (unsigned)type))
			return (off);
		off = cfg_rd(vm, slot, 0, off + 1, 1);
	}
	return (0);
}

/* ------------------------------------------------------------------------ */
/* A virtio driver                                                           */
/* ------------------------------------------------------------------------ */

struct tq {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx;	/* next avail slot */
	uint16_t next_desc;
};

struct tdrv {
	struct vm *vm;
	int	slot;
	uint64_t common, notify, isr, devcfg, msix;
	uint32_t notify_mult;
	uint64_t mem_next;
	unsigned nq;
	struct tq q[VIRTIO_MAX_QUEUES];
};

#define T_MSI_ADDR	0xfee00000ULL
#define T_MSI_DATA(v)	(0x40U + (v))

static inline uint64_t
galloc(struct tdrv *t, uint64_t len, uint64_t align)
{
	uint64_t a = (t->mem_next + align - 1) & ~(align - 1);

	t->mem_next = a + len;
	memset(vm_gpa_ptr(t->vm, a, len), 0, len);
	return (a);
}

static inline void *
gp(struct tdrv *t, uint64_t gpa, uint64_t len)
{
	return (vm_gpa_ptr(t->vm, gpa, len));
}

static inline uint64_t
bar_addr(struct vm *vm, int slot, int bar)
{
	return (cfg_rd(vm, slot, 0, PCIR_BAR0 + 4 * bar, 4) & ~0xfULL);
}

/* Find the capabilities and BARs of the virtio device at @slot. */
static inline int
drv_attach(struct tdrv *t, struct vm *vm, int slot)
{
	unsigned c;

	memset(t, 0, sizeof(*t));
	t->vm = vm;
	t->slot = slot;
	t->mem_next = 0x100000;
	if (cfg_rd(vm, slot, 0, PCIR_VENDOR, 2) != VIRTIO_VENDOR)
		return (-ENODEV);
	cfg_wr(vm, slot, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN |
	    PCIM_CMD_BUSMASTEREN);
#define CAPADDR(type, var) do {						\
	c = cap_find(vm, slot, PCIY_VENDOR, type);			\
	if (c == 0)							\
		return (-ENOENT);					\
	var = bar_addr(vm, slot, (int)cfg_rd(vm, slot, 0, c + 4, 1)) +	\
	    cfg_rd(vm, slot, 0, c + 8, 4);				\
} while (0)
	CAPADDR(VIRTIO_PCI_CAP_COMMON_CFG, t->common);
	CAPADDR(VIRTIO_PCI_CAP_NOTIFY_CFG, t->notify);
	t->notify_mult = cfg_rd(vm, slot, 0, c + 16, 4);
	CAPADDR(VIRTIO_PCI_CAP_ISR_CFG, t->isr);
	CAPADDR(VIRTIO_PCI_CAP_DEVICE_CFG, t->devcfg);
#undef CAPADDR
	c = cap_find(vm, slot, PCIY_MSIX, -1);
	if (c == 0)
		return (-ENOENT);
	t->msix = bar_addr(vm, slot, (int)(cfg_rd(vm, slot, 0, c + 4, 4) & 7)) +
	    (cfg_rd(vm, slot, 0, c + 4, 4) & ~7U);
	t->nq = (unsigned)mmio_rd(vm, t->common + 0x12, 2);
	return (0);
}

static inline uint8_t
drv_status(struct tdrv *t)
{
	return ((uint8_t)mmio_rd(t->vm, t->common + 0x14, 1));
}

static inline void
drv_set_status(struct tdrv *t, uint8_t s)
{
	mmio_wr(t->vm, t->common + 0x14, 1, s);
}

static inline uint64_t
drv_device_features(struct tdrv *t)
{
	mmio_wr(t->vm, t->common + 0x00, 4, 0);
	uint64_t lo = mmio_rd(t->vm, t->common + 0x04, 4);
	mmio_wr(t->vm, t->common + 0x00, 4, 1);
	uint64_t hi = mmio_rd(t->vm, t->common + 0x04, 4);
	return (hi << 32 | lo);
}

/* Negotiate @want & offered; @return the status after FEATURES_OK. */
static inline uint8_t
drv_negotiate(struct tdrv *t, uint64_t want)
{
	uint64_t f = drv_device_features(t) & want;

	drv_set_status(t, 0);
	drv_set_status(t, VIRTIO_S_ACKNOWLEDGE);
	drv_set_status(t, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	mmio_wr(t->vm, t->common + 0x08, 4, 0);
	mmio_wr(t->vm, t->common + 0x0c, 4, (uint32_t)f);
	mmio_wr(t->vm, t->common + 0x08, 4, 1);
	mmio_wr(t->vm, t->common + 0x0c, 4, (uint32_t)(f >> 32));
	drv_set_status(t, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
	    VIRTIO_S_FEATURES_OK);
	return (drv_status(t));
}

/* Enable MSI-X: vector 0 config, vector 1+q for queue q, all unmasked. */
static inline void
drv_msix(struct tdrv *t)
{
	unsigned c = cap_find(t->vm, t->slot, PCIY_MSIX, -1), i;
	unsigned n = (cfg_rd(t->vm, t->slot, 0, c + 2, 2) & 0x7ff) + 1;

	cfg_wr(t->vm, t->slot, 0, c + 2, 2, PCIM_MSIXCTRL_ENABLE);
	for (i = 0; i < n; i++) {
		mmio_wr(t->vm, t->msix + 16 * i, 4, T_MSI_ADDR);
		mmio_wr(t->vm, t->msix + 16 * i + 4, 4, 0);
		mmio_wr(t->vm, t->msix + 16 * i + 8, 4, T_MSI_DATA(i));
		mmio_wr(t->vm, t->msix + 16 * i + 12, 4, 0);
	}
	mmio_wr(t->vm, t->common + 0x10, 2, 0);
}

static inline void
drv_queue_addrs(struct tdrv *t, unsigned q, uint64_t desc, uint64_t avail,
    uint64_t used)
{
	mmio_wr(t->vm, t->common + 0x16, 2, q);
	mmio_wr(t->vm, t->common + 0x20, 4, (uint32_t)desc);
	mmio_wr(t->vm, t->common + 0x24, 4, (uint32_t)(desc >> 32));
	mmio_wr(t->vm, t->common + 0x28, 4, (uint32_t)avail);
	mmio_wr(t->vm, t->common + 0x2c, 4, (uint32_t)(avail >> 32));
	mmio_wr(t->vm, t->common + 0x30, 4, (uint32_t)used);
	mmio_wr(t->vm, t->common + 0x34, 4, (uint32_t)(used >> 32));
}

/* Set up queue @q with @size entries in fresh guest memory and enable it. */
static inline void
drv_queue(struct tdrv *t, unsigned q, uint16_t size)
{
	struct tq *tq = &t->q[q];

	memset(tq, 0, sizeof(*tq));
	tq->size = size;
	tq->desc = galloc(t, 16ULL * size, 4096);
	tq->avail = galloc(t, 6 + 2ULL * size, 4096);
	tq->used = galloc(t, 6 + 8ULL * size, 4096);
	mmio_wr(t->vm, t->common + 0x16, 2, q);
	mmio_wr(t->vm, t->common + 0x18, 2, size);
	drv_queue_addrs(t, q, tq->desc, tq->avail, tq->used);
	mmio_wr(t->vm, t->common + 0x1a, 2, q + 1);
	mmio_wr(t->vm, t->common + 0x1c, 2, 1);
}

static inline void
drv_ok(struct tdrv *t)
{
	drv_set_status(t, drv_status(t) | VIRTIO_S_DRIVER_OK);
}

struct tbuf {
	uint64_t gpa;
	uint32_t len;
	bool	write;
};

static inline struct vring_desc *
drv_desc(struct tdrv *t, unsigned q, unsigned i)
{
	return ((struct vring_desc *)gp(t, t->q[q].desc + 16ULL * i, 16));
}

/* Write a chain of @n buffers from the next free descriptors; @return its head. */
static inline uint16_t
drv_chain(struct tdrv *t, unsigned q, const struct tbuf *b, unsigned n)
{
	struct tq *tq = &t->q[q];
	uint16_t head = tq->next_desc, i;

	for (i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % tq->size);
		struct vring_desc *vd = drv_desc(t, q, d);
		vd->addr = b[i].gpa;
		vd->len = b[i].len;
		vd->flags = (uint16_t)((b[i].write ? VRING_DESC_F_WRITE : 0) |
		    ((unsigned)i + 1 < n ? VRING_DESC_F_NEXT : 0));
		vd->next = (uint16_t)((d + 1) % tq->size);
	}
	tq->next_desc = (uint16_t)((head + n) % tq->size);
	return (head);
}

/* Put @head on the avail ring (without kicking). */
static inline void
drv_avail(struct tdrv *t, unsigned q, uint16_t head)
{
	struct tq *tq = &t->q[q];
	struct vring_avail *a = gp(t, tq->avail, 6 + 2ULL * tq->size);

	a->ring[tq->avail_idx % tq->size] = head;
	tq->avail_idx++;
	__atomic_store_n(&a->idx, tq->avail_idx, __ATOMIC_RELEASE);
}

static inline void
drv_kick(struct tdrv *t, unsigned q)
{
	mmio_wr(t->vm, t->notify + (uint64_t)t->notify_mult * q, 2, q);
}

static inline uint16_t
drv_used_idx(struct tdrv *t, unsigned q)
{
	struct vring_used *u = gp(t, t->q[q].used, 4);

	return (__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
}

static inline struct vring_used_elem
drv_used_elem(struct tdrv *t, unsigned q, uint16_t i)
{
	struct vring_used *u = gp(t, t->q[q].used, 6 + 8ULL * t->q[q].size);

	return (u->ring[i % t->q[q].size]);
}

/* Wait up to @ms for used->idx to reach @want; @return 0 or -ETIMEDOUT. */
static inline int
drv_wait_used(struct tdrv *t, unsigned q, uint16_t want, int ms)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < ms; i++) {
		if ((int16_t)(drv_used_idx(t, q) - want) >= 0)
			return (0);
		nanosleep(&ts, NULL);
	}
	return (-ETIMEDOUT);
}

/* Count MSIs with data T_MSI_DATA(@vec) in the test VM's log. */
static inline unsigned
msi_count(struct vm *vm, unsigned vec)
{
	const struct vm_test_irq *ir;
	size_t n, i;
	unsigned k = 0;

	ir = vm_test_irqs(vm, &n);
	for (i = 0; i < n; i++)
		if (ir[i].kind == VM_TEST_IRQ_MSI && ir[i].addr == T_MSI_ADDR &&
		    ir[i].data == T_MSI_DATA(vec))
			k++;
	return (k);
}

#endif /* TEST_VIRTIO_DRV_H */
