#ifndef GUEST_NET_H
#define GUEST_NET_H
#include "virtio_net.h"

/* Just enough IPv4 for ping: ARP (both ways), ICMP echo (both ways). */
struct netif {
	struct vnet *dev;
	u32 ip, peer_ip;	/* host byte order */
	u8 peer_mac[6];
	bool peer_known;
	u16 echo_id;
	u8 *seen;		/* one byte per sequence number we sent */
	u32 nseq;
	u32 replies;		/* distinct replies to our requests */
	u32 dup_replies, arp_answered, echo_answered;
};

void net_input(void *ctx, const u8 *frame, u32 len);
int net_arp_request(struct netif *nif);
int net_echo_request(struct netif *nif, u16 seq);
void ip_str(char *buf, size_t n, u32 ip);

#endif
