/*
 * ping COUNT PEER_IP GUEST_IP: answers ARP for GUEST_IP, resolves PEER_IP,
 * sends COUNT ICMP echo requests, 10 per second (by timer ticks), then waits
 * up to 2 s for the last replies.  PING OK when at least 90% came back.
 * Timing is all in ticks, so a VM paused for a checkpoint just resumes.
 */
#include "guest.h"
#include "bootinfo.h"
#include "net.h"
#include "workload.h"

#define ARP_TRIES	5	/* one a second */
#define PER_SECOND	10

struct ping {
	u64 count;
	struct vnet dev;
	struct netif nif;
};
static struct ping pings[1];
static u32 npings;

static int ping_parse(struct wl *w)
{
	struct ping *p;
	u32 peer, ip;

	if (npings >= ARRAY_SIZE(pings)) {
		cprintf("CMDLINE ERROR at most one ping workload");
		return -1;
	}
	p = &pings[npings++];
	w->priv = p;
	if (w->argc != 3 || parse_u64(w->argv[0], &p->count, false) || !p->count ||
	    p->count > 65535 || parse_ipv4(w->argv[1], &peer) || parse_ipv4(w->argv[2], &ip)) {
		cprintf("CMDLINE ERROR usage: ping COUNT(1-65535) PEER_IP GUEST_IP");
		return -1;
	}
	p->nif.peer_ip = peer;
	p->nif.ip = ip;
	return 0;
}

static int ping_prepare(struct wl *w)
{
	struct ping *p = w->priv;

	if (vnet_open(&p->dev, 0) < 0) {
		cprintf("PING FAIL sent=0 received=0: no usable virtio-net device (PCI 1af4:1041)");
		return -1;
	}
	p->nif.dev = &p->dev;
	p->nif.echo_id = 0x4876;	/* "Hv" */
	p->nif.nseq = p->count;
	p->nif.seen = phys_alloc(p->count, 64);
	if (!p->nif.seen) {
		cprintf("PING FAIL sent=0 received=0: no memory");
		return -1;
	}
	return 0;
}

static void poll(struct ping *p)
{
	vnet_poll(&p->dev, net_input, &p->nif);
}

static void ping_run(struct wl *w, u32 idx, u32 n)
{
	struct ping *p = w->priv;
	struct netif *nif = &p->nif;
	u64 interval = MAX(hz / PER_SECOND, 1), t, last_print;
	u32 sent = 0;
	char peer[20], me[20];

	(void)idx, (void)n;
	ip_str(peer, sizeof(peer), nif->peer_ip);
	ip_str(me, sizeof(me), nif->ip);
	cprintf("PING start count=%llu peer=%s guest=%s mac=%02x:%02x:%02x:%02x:%02x:%02x ticks=%llu",
	    (unsigned long long)p->count, peer, me, p->dev.mac[0], p->dev.mac[1], p->dev.mac[2],
	    p->dev.mac[3], p->dev.mac[4], p->dev.mac[5], (unsigned long long)ticks);
	for (u32 try = 0; try < ARP_TRIES && !nif->peer_known; try++) {
		net_arp_request(nif);
		t = ticks;
		while (!nif->peer_known && ticks - t < hz) {
			poll(p);
			idle();
		}
	}
	if (!nif->peer_known) {
		cprintf("PING no ARP reply from %s in %u s", peer, ARP_TRIES);
		cprintf("PING FAIL sent=0 received=0");
		w->status = ST_FAIL;
		return;
	}
	cprintf("PING peer %s is at %02x:%02x:%02x:%02x:%02x:%02x", peer, nif->peer_mac[0],
	    nif->peer_mac[1], nif->peer_mac[2], nif->peer_mac[3], nif->peer_mac[4],
	    nif->peer_mac[5]);
	t = ticks;
	last_print = t;
	while (sent < p->count) {
		if (ticks - t >= sent * interval) {
			nif->seen[sent] = 1;
			if (net_echo_request(nif, sent) < 0)
				nif->seen[sent] = 0;	/* counts as lost */
			sent++;
		}
		poll(p);
		if (ticks - last_print >= hz) {
			last_print = ticks;
			cprintf("PING progress sent=%u received=%u ticks=%llu", sent, nif->replies,
			    (unsigned long long)ticks);
		}
		idle();
	}
	t = ticks;
	while (nif->replies < sent && ticks - t < 2 * hz) {
		poll(p);
		idle();
	}
	poll(p);
	if (verbose || nif->dup_replies)
		cprintf("PING stats rx_frames=%llu tx_frames=%llu dup=%u arp_answered=%u echo_answered=%u",
		    (unsigned long long)p->dev.rx_frames, (unsigned long long)p->dev.tx_frames,
		    nif->dup_replies, nif->arp_answered, nif->echo_answered);
	if ((u64)nif->replies * 10 >= (u64)sent * 9) {
		cprintf("PING OK sent=%u received=%u", sent, nif->replies);
	} else {
		cprintf("PING FAIL sent=%u received=%u", sent, nif->replies);
		w->status = ST_FAIL;
	}
}

const struct wl_ops wl_ping = {
	.name = "ping",
	.parse = ping_parse,
	.prepare = ping_prepare,
	.run = ping_run,
};
