#ifndef GUEST_VIRTIO_PCI_H
#define GUEST_VIRTIO_PCI_H
#include "guest.h"
#include "pci.h"

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_DEV_NET		0x1041
#define VIRTIO_DEV_BLK		0x1042
#define VIRTIO_F_VERSION_1	(1ULL << 32)

/* common configuration structure (virtio 1.x, 4.1.4.3) */
#define CFG_DEV_FEAT_SEL	0x00
#define CFG_DEV_FEAT		0x04
#define CFG_DRV_FEAT_SEL	0x08
#define CFG_DRV_FEAT		0x0c
#define CFG_MSIX_CONFIG		0x10
#define CFG_NUM_QUEUES		0x12
#define CFG_STATUS		0x14
#define CFG_GENERATION		0x15
#define CFG_Q_SELECT		0x16
#define CFG_Q_SIZE		0x18
#define CFG_Q_MSIX		0x1a
#define CFG_Q_ENABLE		0x1c
#define CFG_Q_NOTIFY_OFF	0x1e
#define CFG_Q_DESC		0x20
#define CFG_Q_DRIVER		0x28
#define CFG_Q_DEVICE		0x30

/* device status bits */
#define VIRTIO_S_ACKNOWLEDGE	1
#define VIRTIO_S_DRIVER		2
#define VIRTIO_S_DRIVER_OK	4
#define VIRTIO_S_FEATURES_OK	8
#define VIRTIO_S_NEEDS_RESET	0x40
#define VIRTIO_S_FAILED		0x80

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2

struct virtq_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

/* A split virtqueue, polled: the driver never asks for interrupts. */
struct virtq {
	u16 size, index;
	struct virtq_desc *desc;
	volatile u16 *avail;		/* flags, idx, ring[size], used_event */
	volatile u8 *used;		/* flags, idx, {id, len}[size], avail_event */
	u64 notify_addr;
	u16 free_head, nfree;
	u16 avail_idx;			/* next avail->idx to publish */
	u16 used_seen;			/* used->idx consumed so far */
	u16 *next_free;			/* free descriptor list */
};

struct virtio_dev {
	struct pci_dev *pci;
	u64 common, isr, devcfg, notify;
	u32 notify_mult;
	u64 features;
	const char *name;
};

/* capabilities, then virtio_negotiate() */
int virtio_pci_init(struct virtio_dev *vd, struct pci_dev *pd, u64 wanted, u64 required);
/* reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (checked) */
int virtio_negotiate(struct virtio_dev *vd, u64 wanted, u64 required);
int virtio_queue_init(struct virtio_dev *vd, struct virtq *vq, u16 index, u16 max_size);
/* bytes a queue of `size` entries needs (rings and free list) */
u64 virtq_mem_size(u16 size);
/* same, in memory `at` (virtq_mem_size(max_size) bytes, 4 KiB aligned; cleared) or allocated if NULL */
int virtio_queue_init_at(struct virtio_dev *vd, struct virtq *vq, u16 index, u16 max_size,
    void *at);
void virtio_wr64(u64 a, u64 v);	/* two 32-bit MMIO writes, low first */
int virtio_driver_ok(struct virtio_dev *vd);
u8 virtio_status(struct virtio_dev *vd);
void virtio_reset(struct virtio_dev *vd);

/* chain of n buffers; returns the head id or -1 if the ring is full */
int virtq_add(struct virtq *vq, const u64 *addr, const u32 *len, const u16 *write, u32 n);
void virtq_kick(struct virtq *vq);
/* next completed chain: its head id and the bytes the device wrote; false if none */
bool virtq_get(struct virtq *vq, u16 *id, u32 *len);

static inline u8 vcfg_read8(struct virtio_dev *vd, u32 off) { return mmio_read8(vd->devcfg + off); }
static inline u16 vcfg_read16(struct virtio_dev *vd, u32 off) { return mmio_read16(vd->devcfg + off); }
static inline u32 vcfg_read32(struct virtio_dev *vd, u32 off) { return mmio_read32(vd->devcfg + off); }
u64 vcfg_read64(struct virtio_dev *vd, u32 off);

#endif
