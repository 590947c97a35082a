/*
 * virtio-blk driver: one request queue, several requests in flight, each a
 * header descriptor, data split over several descriptors (the device's
 * seg_max/size_max respected), and a status byte.
 */
#include "guest.h"
#include "bootinfo.h"
#include "virtio_blk.h"

#define F_SIZE_MAX	(1ULL << 1)
#define F_SEG_MAX	(1ULL << 2)
#define F_FLUSH		(1ULL << 9)
#define SEG_LEN		(256 * 1024)

int vblk_open(struct vblk *b, u32 nth, const char *name)
{
	struct pci_dev *pd = pci_find(VIRTIO_VENDOR, VIRTIO_DEV_BLK, nth);

	if (!pd)
		return -1;
	b->vd.name = name;
	if (virtio_pci_init(&b->vd, pd, F_SIZE_MAX | F_SEG_MAX | F_FLUSH, 0) < 0)
		return -1;
	if (!b->vd.devcfg) {
		cprintf("VIRTIO %s: no device configuration capability", name);
		return -1;
	}
	b->capacity = vcfg_read64(&b->vd, 0);
	b->seg_len = SEG_LEN;
	if (b->vd.features & F_SIZE_MAX) {
		u32 sm = vcfg_read32(&b->vd, 8);

		if (sm >= 4096 && sm < b->seg_len)
			b->seg_len = ALIGN_DOWN(sm, 4096);
	}
	if (virtio_queue_init(&b->vd, &b->vq, 0, 256) < 0)
		return -1;
	b->max_segs = MIN(b->vq.size - 2, 64);
	if (b->vd.features & F_SEG_MAX) {
		u32 sm = vcfg_read32(&b->vd, 12);

		if (sm >= 1 && sm < b->max_segs)
			b->max_segs = sm;
	}
	b->can_flush = b->vd.features & F_FLUSH;
	b->req = phys_alloc(sizeof(struct vblk_req) * VBLK_MAX_REQS, 64);
	if (!b->req || b->vq.size > ARRAY_SIZE(b->head_req))
		return -1;
	return virtio_driver_ok(&b->vd);
}

u32 vblk_max_request(const struct vblk *b, u32 want)
{
	u64 m = (u64)b->seg_len * b->max_segs;

	return ALIGN_DOWN(MIN(m, want), 512);
}

int vblk_submit(struct vblk *b, u32 type, u64 sector, void *buf, u32 len, void *tag)
{
	u64 addr[2 + 64];
	u32 lens[2 + 64];
	u16 wr[2 + 64];
	u32 n = 0, slot;
	struct vblk_req *r = NULL;
	int head;

	for (slot = 0; slot < VBLK_MAX_REQS; slot++)
		if (!b->req[slot].busy) {
			r = &b->req[slot];
			break;
		}
	if (!r)
		return -11;
	r->type = type;
	r->rsv = 0;
	r->sector = sector;
	r->status = 0xff;
	r->tag = tag;
	addr[n] = (u64)r;
	lens[n] = 16;
	wr[n++] = 0;
	for (u32 off = 0; off < len && n < 1 + b->max_segs; off += b->seg_len) {
		addr[n] = (u64)buf + off;
		lens[n] = MIN(b->seg_len, len - off);
		wr[n++] = type == VBLK_T_IN;
	}
	if (len && (u64)(n - 1) * b->seg_len < len)
		return -22;	/* larger than vblk_max_request() */
	addr[n] = (u64)&r->status;
	lens[n] = 1;
	wr[n++] = 1;
	head = virtq_add(&b->vq, addr, lens, wr, n);
	if (head < 0)
		return -11;
	r->busy = true;
	b->head_req[head] = slot;
	b->inflight++;
	return 0;
}

void vblk_kick(struct vblk *b)
{
	virtq_kick(&b->vq);
}

bool vblk_poll(struct vblk *b, void **tag, u8 *status)
{
	u16 id;
	u32 len;
	struct vblk_req *r;

	if (!virtq_get(&b->vq, &id, &len))
		return false;
	if (id >= b->vq.size || b->head_req[id] >= VBLK_MAX_REQS ||
	    !b->req[b->head_req[id]].busy) {
		*tag = NULL;
		*status = 0xfe;		/* the device returned something we never sent */
		return true;
	}
	r = &b->req[b->head_req[id]];
	r->busy = false;
	b->inflight--;
	*tag = r->tag;
	*status = r->status;
	return true;
}
