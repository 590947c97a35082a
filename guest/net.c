/* Ethernet, ARP, IPv4 and ICMP echo: what `ping` needs, nothing more. */
#include "guest.h"
#include "net.h"

#define ETH_ARP		0x0806
#define ETH_IP		0x0800
#define ETH_HLEN	14
#define ECHO_PAYLOAD	56

static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static u16 get16(const u8 *p) { return (u16)p[0] << 8 | p[1]; }
static u32 get32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static void put16(u8 *p, u16 v) { p[0] = v >> 8; p[1] = v; }
static void put32(u8 *p, u32 v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

static u16 csum(const u8 *p, u32 n)
{
	u32 s = 0;

	for (; n > 1; n -= 2, p += 2)
		s += get16(p);
	if (n)
		s += (u32)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

void ip_str(char *buf, size_t n, u32 ip)
{
	snprintf(buf, n, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

static void eth_hdr(u8 *f, const u8 *dst, const u8 *src, u16 type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
}

static int send_padded(struct netif *nif, u8 *f, u32 len)
{
	if (len < 60) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	return vnet_send(nif->dev, f, len);
}

static int arp_send(struct netif *nif, u16 op, const u8 *dst_mac, const u8 *tha, u32 tpa)
{
	u8 f[64];
	u8 *a = f + ETH_HLEN;

	eth_hdr(f, dst_mac, nif->dev->mac, ETH_ARP);
	put16(a, 1);
	put16(a + 2, ETH_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, nif->dev->mac, 6);
	put32(a + 14, nif->ip);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return send_padded(nif, f, ETH_HLEN + 28);
}

int net_arp_request(struct netif *nif)
{
	static const u8 zero[6];

	return arp_send(nif, 1, bcast, zero, nif->peer_ip);
}

static int icmp_send(struct netif *nif, const u8 *dst_mac, u32 dst_ip, u8 type, u16 id, u16 seq,
    const u8 *payload, u32 plen)
{
	u8 f[ETH_HLEN + 20 + 8 + 1500];
	u8 *ip = f + ETH_HLEN, *ic = ip + 20;
	static u16 ip_id;

	if (plen > 1400)
		return -1;
	eth_hdr(f, dst_mac, nif->dev->mac, ETH_IP);
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, 20 + 8 + plen);
	put16(ip + 4, ip_id++);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 1;
	put16(ip + 10, 0);
	put32(ip + 12, nif->ip);
	put32(ip + 16, dst_ip);
	put16(ip + 10, csum(ip, 20));
	ic[0] = type;
	ic[1] = 0;
	put16(ic + 2, 0);
	put16(ic + 4, id);
	put16(ic + 6, seq);
	memcpy(ic + 8, payload, plen);
	put16(ic + 2, csum(ic, 8 + plen));
	return send_padded(nif, f, ETH_HLEN + 20 + 8 + plen);
}

int net_echo_request(struct netif *nif, u16 seq)
{
	u8 payload[ECHO_PAYLOAD];

	for (u32 i = 0; i < sizeof(payload); i++)
		payload[i] = (u8)(seq + i);
	return icmp_send(nif, nif->peer_mac, nif->peer_ip, 8, nif->echo_id, seq, payload,
	    sizeof(payload));
}

static void arp_input(struct netif *nif, const u8 *a, u32 len)
{
	u16 op;
	u32 spa, tpa;

	if (len < 28 || get16(a) != 1 || get16(a + 2) != ETH_IP || a[4] != 6 || a[5] != 4)
		return;
	op = get16(a + 6);
	spa = get32(a + 14);
	tpa = get32(a + 24);
	if (spa == nif->peer_ip && (op == 2 || tpa == nif->ip)) {
		memcpy(nif->peer_mac, a + 8, 6);
		nif->peer_known = true;
	}
	if (op == 1 && tpa == nif->ip) {
		arp_send(nif, 2, a + 8, a + 8, spa);
		nif->arp_answered++;
	}
}

static void ip_input(struct netif *nif, const u8 *eth_src, const u8 *ip, u32 len)
{
	u32 ihl = (ip[0] & 15) * 4, tot;
	const u8 *ic;

	if (len < 20 || (ip[0] >> 4) != 4 || ihl < 20 || ihl > len)
		return;
	tot = get16(ip + 2);
	if (tot < ihl + 8 || tot > len || get32(ip + 16) != nif->ip || ip[9] != 1)
		return;
	if (csum(ip, ihl) != 0 || (get16(ip + 6) & 0x3fff))
		return;		/* bad header or a fragment: not ours to handle */
	ic = ip + ihl;
	if (csum(ic, tot - ihl) != 0)
		return;
	if (ic[0] == 0 && get16(ic + 4) == nif->echo_id && get32(ip + 12) == nif->peer_ip) {
		u16 seq = get16(ic + 6);

		if (seq < nif->nseq && nif->seen[seq] == 1) {
			nif->seen[seq] = 2;
			nif->replies++;
		} else {
			nif->dup_replies++;
		}
	} else if (ic[0] == 8) {
		icmp_send(nif, eth_src, get32(ip + 12), 0, get16(ic + 4), get16(ic + 6), ic + 8,
		    tot - ihl - 8);
		nif->echo_answered++;
	}
}

void net_input(void *ctx, const u8 *f, u32 len)
{
	struct netif *nif = ctx;

	if (len < ETH_HLEN)
		return;
	if (memcmp(f, nif->dev->mac, 6) && memcmp(f, bcast, 6))
		return;
	switch (get16(f + 12)) {
	case ETH_ARP:
		arp_input(nif, f + ETH_HLEN, len - ETH_HLEN);
		break;
	case ETH_IP:
		ip_input(nif, f + 6, f + ETH_HLEN, len - ETH_HLEN);
		break;
	}
}
