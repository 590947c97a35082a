#ifndef GUEST_VIRTIO_NET_H
#define GUEST_VIRTIO_NET_H
#include "virtio_pci.h"

#define VNET_BUF	2048
#define VNET_HDR	12	/* struct virtio_net_hdr with VERSION_1 (num_buffers included) */
#define VNET_QSIZE	128

struct vnet {
	struct virtio_dev vd;
	struct virtq rx, tx;
	u8 mac[6];
	u8 *rxbuf, *txbuf;	/* VNET_QSIZE buffers of VNET_BUF each */
	u16 rx_slot[VNET_QSIZE];	/* descriptor head -> buffer */
	u16 tx_slot[VNET_QSIZE];
	bool tx_busy[VNET_QSIZE];
	u64 rx_frames, tx_frames, rx_dropped;
};

int vnet_open(struct vnet *n, u32 nth);
/* copies the Ethernet frame (without FCS) out; -1 if every tx buffer is busy */
int vnet_send(struct vnet *n, const void *frame, u32 len);
/* hands every received frame to fn, then gives the buffers back */
u32 vnet_poll(struct vnet *n, void (*fn)(void *ctx, const u8 *frame, u32 len), void *ctx);

#endif
