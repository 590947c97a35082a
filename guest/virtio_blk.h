#ifndef GUEST_VIRTIO_BLK_H
#define GUEST_VIRTIO_BLK_H
#include "virtio_pci.h"

#define VBLK_T_IN	0
#define VBLK_T_OUT	1
#define VBLK_T_FLUSH	4
#define VBLK_MAX_REQS	32

/* one request's header and status, device-visible memory */
struct vblk_req {
	u32 type, rsv;
	u64 sector;
	volatile u8 status;
	bool busy;
	void *tag;
} __attribute__((aligned(64)));

struct vblk {
	struct virtio_dev vd;
	struct virtq vq;
	u64 capacity;		/* 512-byte sectors */
	u32 seg_len;		/* bytes per data descriptor */
	u32 max_segs;		/* data descriptors per request */
	bool can_flush;
	struct vblk_req *req;	/* VBLK_MAX_REQS of them */
	u16 head_req[1024];	/* descriptor head -> request slot */
	u32 inflight;
};

/* nth virtio-blk device (PCI scan order), initialised and ready */
int vblk_open(struct vblk *b, u32 nth, const char *name);
/* largest request the device takes (multiple of 512, at most `want`) */
u32 vblk_max_request(const struct vblk *b, u32 want);
/* queue a request; -EAGAIN (-11) if the ring is full; kick to send */
int vblk_submit(struct vblk *b, u32 type, u64 sector, void *buf, u32 len, void *tag);
void vblk_kick(struct vblk *b);
/* a completed request: its tag and virtio status (0 = OK); false if none */
bool vblk_poll(struct vblk *b, void **tag, u8 *status);

#endif
