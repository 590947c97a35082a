/*
 * virtio-net driver: receive queue 0 filled with 2 KiB buffers, transmit
 * queue 1 with one descriptor per frame (header + frame); no offloads, no
 * mergeable buffers, so every frame fits one buffer.  Polled.
 */
#include "guest.h"
#include "bootinfo.h"
#include "virtio_net.h"

#define F_MAC	(1ULL << 5)

static int rx_post(struct vnet *n, u16 slot)
{
	u64 a = (u64)n->rxbuf + (u64)slot * VNET_BUF;
	u32 l = VNET_BUF;
	u16 w = 1;
	int head = virtq_add(&n->rx, &a, &l, &w, 1);

	if (head < 0)
		return -1;
	n->rx_slot[head] = slot;
	return 0;
}

int vnet_open(struct vnet *n, u32 nth)
{
	struct pci_dev *pd = pci_find(VIRTIO_VENDOR, VIRTIO_DEV_NET, nth);

	if (!pd)
		return -1;
	n->vd.name = "net";
	if (virtio_pci_init(&n->vd, pd, F_MAC, 0) < 0)
		return -1;
	if ((n->vd.features & F_MAC) && n->vd.devcfg) {
		for (int i = 0; i < 6; i++)
			n->mac[i] = vcfg_read8(&n->vd, i);
	} else {
		/* locally administered, stable */
		static const u8 def[6] = { 0x52, 0x54, 0x00, 0x68, 0x79, 0x76 };

		memcpy(n->mac, def, 6);
	}
	if (virtio_queue_init(&n->vd, &n->rx, 0, VNET_QSIZE) < 0 ||
	    virtio_queue_init(&n->vd, &n->tx, 1, VNET_QSIZE) < 0)
		return -1;
	n->rxbuf = phys_alloc((u64)n->rx.size * VNET_BUF, 4096);
	n->txbuf = phys_alloc((u64)n->tx.size * VNET_BUF, 4096);
	if (!n->rxbuf || !n->txbuf)
		return -1;
	for (u16 i = 0; i < n->rx.size; i++)
		if (rx_post(n, i) < 0)
			return -1;
	if (virtio_driver_ok(&n->vd) < 0)
		return -1;
	virtq_kick(&n->rx);
	return 0;
}

static void tx_reclaim(struct vnet *n)
{
	u16 id;
	u32 len;

	while (virtq_get(&n->tx, &id, &len))
		if (id < n->tx.size)
			n->tx_busy[n->tx_slot[id]] = false;
}

int vnet_send(struct vnet *n, const void *frame, u32 len)
{
	u16 slot, w = 0;
	u8 *b;
	u64 a;
	u32 l;
	int head;

	if (len + VNET_HDR > VNET_BUF)
		return -1;
	tx_reclaim(n);
	for (slot = 0; slot < n->tx.size && n->tx_busy[slot]; slot++)
		;
	if (slot == n->tx.size)
		return -1;
	b = n->txbuf + (u64)slot * VNET_BUF;
	memset(b, 0, VNET_HDR);
	memcpy(b + VNET_HDR, frame, len);
	a = (u64)b;
	l = VNET_HDR + len;
	head = virtq_add(&n->tx, &a, &l, &w, 1);
	if (head < 0)
		return -1;
	n->tx_busy[slot] = true;
	n->tx_slot[head] = slot;
	n->tx_frames++;
	virtq_kick(&n->tx);
	return 0;
}

u32 vnet_poll(struct vnet *n, void (*fn)(void *ctx, const u8 *frame, u32 len), void *ctx)
{
	u32 got = 0;
	u16 id;
	u32 len;

	while (virtq_get(&n->rx, &id, &len)) {
		u16 slot;

		if (id >= n->rx.size)
			continue;
		slot = n->rx_slot[id];
		if (len > VNET_HDR && len <= VNET_BUF) {
			fn(ctx, n->rxbuf + (u64)slot * VNET_BUF + VNET_HDR, len - VNET_HDR);
			n->rx_frames++;
		} else {
			n->rx_dropped++;
		}
		rx_post(n, slot);
		got++;
	}
	if (got)
		virtq_kick(&n->rx);
	tx_reclaim(n);
	return got;
}
