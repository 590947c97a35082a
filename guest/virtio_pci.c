/*
 * virtio 1.x over PCI, modern interface only: capability parsing, feature
 * negotiation, split virtqueues.  All from CPL3: the BARs are user-mapped
 * MMIO, the rings ordinary RAM (guest-physical == virtual).  Each MMIO access
 * is a VM exit, so the hot path touches only the notify register.
 */
#include "guest.h"
#include "bootinfo.h"
#include "virtio_pci.h"

void virtio_wr64(u64 a, u64 v)
{
	mmio_write32(a, (u32)v);
	mmio_write32(a + 4, v >> 32);
}

u64 vcfg_read64(struct virtio_dev *vd, u32 off)
{
	u32 lo, hi;
	u8 gen;

	do {
		gen = mmio_read8(vd->common + CFG_GENERATION);
		lo = mmio_read32(vd->devcfg + off);
		hi = mmio_read32(vd->devcfg + off + 4);
	} while (gen != mmio_read8(vd->common + CFG_GENERATION));
	return (u64)hi << 32 | lo;
}

u8 virtio_status(struct virtio_dev *vd)
{
	return mmio_read8(vd->common + CFG_STATUS);
}

void virtio_reset(struct virtio_dev *vd)
{
	mmio_write8(vd->common + CFG_STATUS, 0);
	/* reset completes when status reads back 0 (bounded) */
	for (int i = 0; i < 100000 && mmio_read8(vd->common + CFG_STATUS); i++)
		cpu_relax();
}

int virtio_pci_init(struct virtio_dev *vd, struct pci_dev *pd, u64 wanted, u64 required)
{
	u8 cap;
	int guard = 0;

	vd->pci = pd;
	if (pci_enable(pd) < 0)
		return -1;
	if (!(pci_read16(pd, 0x06) & 0x10)) {
		cprintf("VIRTIO %s %s: no capability list", vd->name, pci_name(pd));
		return -1;
	}
	for (cap = pci_read8(pd, 0x34) & 0xfc; cap && guard < 48; guard++) {
		u8 id = pci_read8(pd, cap), next = pci_read8(pd, cap + 1) & 0xfc;

		if (id == 0x09) {		/* vendor specific: virtio */
			u8 type = pci_read8(pd, cap + 3), bar = pci_read8(pd, cap + 4);
			u32 off = pci_read32(pd, cap + 8);
			u64 base;

			if (bar < 6 && pd->bar_size[bar] && !pd->bar_io[bar]) {
				base = pd->bar[bar] + off;
				switch (type) {
				case 1: vd->common = base; break;
				case 2:
					vd->notify = base;
					vd->notify_mult = pci_read32(pd, cap + 16);
					break;
				case 3: vd->isr = base; break;
				case 4: vd->devcfg = base; break;
				}
			}
		} else if (id == 0x11) {	/* MSI-X: keep it off, we poll */
			u16 ctl = pci_read16(pd, cap + 2);

			pci_write16(pd, cap + 2, ctl & ~0x8000);
		}
		cap = next;
	}
	if (!vd->common || !vd->notify || !vd->isr) {
		cprintf("VIRTIO %s %s: missing common/notify/ISR capability (legacy-only device?)",
		    vd->name, pci_name(pd));
		return -1;
	}
	return virtio_negotiate(vd, wanted, required);
}

int virtio_negotiate(struct virtio_dev *vd, u64 wanted, u64 required)
{
	struct pci_dev *pd = vd->pci;
	u64 dev_feat;

	virtio_reset(vd);
	mmio_write8(vd->common + CFG_STATUS, VIRTIO_S_ACKNOWLEDGE);
	mmio_write8(vd->common + CFG_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	mmio_write32(vd->common + CFG_DEV_FEAT_SEL, 0);
	dev_feat = mmio_read32(vd->common + CFG_DEV_FEAT);
	mmio_write32(vd->common + CFG_DEV_FEAT_SEL, 1);
	dev_feat |= (u64)mmio_read32(vd->common + CFG_DEV_FEAT) << 32;
	required |= VIRTIO_F_VERSION_1;
	if ((dev_feat & required) != required) {
		cprintf("VIRTIO %s %s: device features %#llx lack required %#llx", vd->name,
		    pci_name(pd), (unsigned long long)dev_feat, (unsigned long long)required);
		mmio_write8(vd->common + CFG_STATUS, VIRTIO_S_FAILED);
		return -1;
	}
	vd->features = dev_feat & (wanted | required);
	mmio_write32(vd->common + CFG_DRV_FEAT_SEL, 0);
	mmio_write32(vd->common + CFG_DRV_FEAT, (u32)vd->features);
	mmio_write32(vd->common + CFG_DRV_FEAT_SEL, 1);
	mmio_write32(vd->common + CFG_DRV_FEAT, vd->features >> 32);
	mmio_write8(vd->common + CFG_STATUS,
	    VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	if (!(virtio_status(vd) & VIRTIO_S_FEATURES_OK)) {
		cprintf("VIRTIO %s %s: device refused features %#llx", vd->name, pci_name(pd),
		    (unsigned long long)vd->features);
		mmio_write8(vd->common + CFG_STATUS, VIRTIO_S_FAILED);
		return -1;
	}
	mmio_write16(vd->common + CFG_MSIX_CONFIG, 0xffff);
	return 0;
}

u64 virtq_mem_size(u16 size)
{
	return ALIGN_UP(16ULL * size, 4096) + ALIGN_UP(6 + 2ULL * size, 4096) +
	    ALIGN_UP(6 + 8ULL * size, 4096) + 2ULL * size;
}

int virtio_queue_init(struct virtio_dev *vd, struct virtq *vq, u16 index, u16 max_size)
{
	return virtio_queue_init_at(vd, vq, index, max_size, NULL);
}

int virtio_queue_init_at(struct virtio_dev *vd, struct virtq *vq, u16 index, u16 max_size,
    void *at)
{
	u16 size;
	u64 desc_sz, avail_sz;
	u8 *mem = at;

	if (index >= mmio_read16(vd->common + CFG_NUM_QUEUES)) {
		cprintf("VIRTIO %s: no queue %u", vd->name, index);
		return -1;
	}
	mmio_write16(vd->common + CFG_Q_SELECT, index);
	size = mmio_read16(vd->common + CFG_Q_SIZE);
	if (!size) {
		cprintf("VIRTIO %s: queue %u unavailable", vd->name, index);
		return -1;
	}
	if (size > max_size) {
		/* queue sizes stay powers of two */
		while (size > max_size)
			size >>= 1;
		mmio_write16(vd->common + CFG_Q_SIZE, size);
	}
	desc_sz = 16ULL * size;
	avail_sz = 6 + 2ULL * size;
	if (mem)
		memset(mem, 0, virtq_mem_size(size));	/* old rings would look like completions */
	else
		mem = phys_alloc(virtq_mem_size(size), 4096);
	if (!mem) {
		cprintf("VIRTIO %s: no memory for queue %u", vd->name, index);
		return -1;
	}
	vq->size = size;
	vq->index = index;
	vq->desc = (struct virtq_desc *)mem;
	vq->avail = (volatile u16 *)(mem + ALIGN_UP(desc_sz, 4096));
	vq->used = mem + ALIGN_UP(desc_sz, 4096) + ALIGN_UP(avail_sz, 4096);
	vq->next_free = (u16 *)(vq->used + ALIGN_UP(6 + 8ULL * size, 4096));
	for (u16 i = 0; i < size; i++)
		vq->next_free[i] = i + 1;
	vq->free_head = 0;
	vq->nfree = size;
	vq->avail_idx = 0;
	vq->used_seen = 0;
	vq->avail[0] = 1;	/* VIRTQ_AVAIL_F_NO_INTERRUPT: we poll */
	vq->notify_addr = vd->notify +
	    (u64)mmio_read16(vd->common + CFG_Q_NOTIFY_OFF) * vd->notify_mult;
	mmio_write16(vd->common + CFG_Q_MSIX, 0xffff);
	virtio_wr64(vd->common + CFG_Q_DESC, (u64)vq->desc);
	virtio_wr64(vd->common + CFG_Q_DRIVER, (u64)vq->avail);
	virtio_wr64(vd->common + CFG_Q_DEVICE, (u64)vq->used);
	mmio_write16(vd->common + CFG_Q_ENABLE, 1);
	return 0;
}

int virtio_driver_ok(struct virtio_dev *vd)
{
	mmio_write8(vd->common + CFG_STATUS,
	    VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK | VIRTIO_S_DRIVER_OK);
	if (virtio_status(vd) & (VIRTIO_S_NEEDS_RESET | VIRTIO_S_FAILED)) {
		cprintf("VIRTIO %s: device status %#x after DRIVER_OK", vd->name, virtio_status(vd));
		return -1;
	}
	return 0;
}

int virtq_add(struct virtq *vq, const u64 *addr, const u32 *len, const u16 *write, u32 n)
{
	u16 head, d;

	if (!n || vq->nfree < n)
		return -1;
	head = d = vq->free_head;
	for (u32 i = 0; i < n; i++) {
		struct virtq_desc *de = &vq->desc[d];

		de->addr = addr[i];
		de->len = len[i];
		de->flags = write[i] ? VIRTQ_DESC_F_WRITE : 0;
		d = vq->next_free[d];
		if (i + 1 < n) {
			de->flags |= VIRTQ_DESC_F_NEXT;
			de->next = d;
		}
	}
	vq->free_head = d;
	vq->nfree -= n;
	vq->avail[2 + (vq->avail_idx % vq->size)] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->avail_idx++;
	vq->avail[1] = vq->avail_idx;
	return head;
}

void virtq_kick(struct virtq *vq)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* the device may ask not to be notified (used->flags bit 0) */
	if (*(volatile u16 *)vq->used & 1)
		return;
	mmio_write16(vq->notify_addr, vq->index);
}

bool virtq_get(struct virtq *vq, u16 *id, u32 *len)
{
	volatile u16 *uidx = (volatile u16 *)(vq->used + 2);
	volatile u32 *elem;
	u16 d, n = 1;

	if (*uidx == vq->used_seen)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	elem = (volatile u32 *)(vq->used + 4 + 8 * (vq->used_seen % vq->size));
	*id = elem[0];
	*len = elem[1];
	vq->used_seen++;
	if (*id >= vq->size)
		return true;	/* a broken device: do not free anything */
	/* return the chain to the free list */
	d = *id;
	while ((vq->desc[d].flags & VIRTQ_DESC_F_NEXT) && n < vq->size) {
		d = vq->desc[d].next;
		n++;
	}
	vq->next_free[d] = vq->free_head;
	vq->free_head = *id;
	vq->nfree += n;
	return true;
}
