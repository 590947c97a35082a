#ifndef GUEST_VIRTIO_PCI_H
#define GUEST_VIRTIO_PCI_H
#include "guest.h"
#include "pci.h"

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_DEV_NET		0x1041
#define VIRTIO_DEV_BLK		0x1042
#define VIRTIO_F_VERSION_1	(1ULL << 32)

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

int virtio_pci_init(struct virtio_dev *vd, struct pci_dev *pd, u64 wanted, u64 required);
int virtio_queue_init(struct virtio_dev *vd, struct virtq *vq, u16 index, u16 max_size);
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
