/*
 * badvq MODES [DEVICE]: programs a virtio device wrongly on purpose and
 * checks that the device says so the way virtio 1.x asks (DEVICE_NEEDS_RESET
 * in the device status), stops the queue, and works again after a reset.
 *
 * MODES: oob, loop, len, qsize, a comma-separated list of them, or `all`.
 * DEVICE: blk[N] (default blk0: the first virtio-blk device in PCI scan
 * order) or net[N] (virtio-net; the bad requests go to its transmit queue).
 *
 * For each mode, with the device freshly reset and initialised:
 *  1. a good request must succeed (blk: read sector 0; net: send a frame);
 *  2. the bad programming:
 *     oob   a request whose data buffer lies at 512 GiB (no RAM there)
 *     loop  a chain of two device-readable descriptors naming each other
 *     len   a request whose data descriptor has length 0xffffffff
 *     qsize (after a reset) the queue size set to the maximum - 1, which is
 *           not a power of two, then the queue enabled (no DRIVER_OK)
 *  3. within 2 s (timer ticks) the status must have NEEDS_RESET (0x40); for
 *     qsize a device that refused the size or the enable is accepted too;
 *  4. (oob, loop, len) a good request posted after it must not be served
 *     within hz/5 ticks: the queue is stopped;
 *  5. reset, initialise again, and a good request must succeed (blk: the
 *     same bytes as in step 1).
 * Verdict per mode: `BADVQ OK mode=M status=0xSS dev=D queue=Q isr=0xI ...`
 * (status and ISR as read right after the error) or `BADVQ FAIL mode=M ...`.
 */
#include "guest.h"
#include "bootinfo.h"
#include "virtio_blk.h"
#include "virtio_net.h"
#include "workload.h"
#include "xxhash.h"

enum { M_OOB, M_LOOP, M_LEN, M_QSIZE, NMODES };
static const char *const mode_names[NMODES] = { "oob", "loop", "len", "qsize" };

#define OOB_ADDR	(512 * GiB)	/* above any RAM the guest maps (64 GiB) */
#define OOB_LEN		(64 * 1024)	/* more than a bounce buffer (QEMU maps MMIO through one) */
#define QMAX		256
#define WAIT_NEEDS_RESET_S 2
#define WAIT_IO_S	5

struct badvq {
	u32 modes[NMODES * 2];
	u32 nmodes;
	bool net;
	u32 nth;
	char dev[8];		/* "blk0", "net1" */
	u16 nq, bad_q;		/* queues used; the one misprogrammed */
	struct virtio_dev vd;
	struct virtq vq[2];
	void *qmem[2];
	u8 *buf;		/* OOB_LEN bytes, 4 KiB aligned */
	struct vblk_req *req;	/* blk request header and status */
	u64 capacity;
	u64 sector0;		/* XXH64 of sector 0 as first read */
	bool have_sector0;
};
static struct badvq badvqs[4];
static u32 nbadvqs;

static int badvq_parse(struct wl *w)
{
	struct badvq *b;
	char *p;

	if (nbadvqs >= ARRAY_SIZE(badvqs)) {
		cprintf("CMDLINE ERROR at most %u badvq workloads", (u32)ARRAY_SIZE(badvqs));
		return -1;
	}
	b = &badvqs[nbadvqs++];
	w->priv = b;
	if (w->argc < 1 || w->argc > 2)
		goto usage;
	for (p = w->argv[0]; *p;) {
		char *e = strchr(p, ',');
		u32 len = e ? (u32)(e - p) : strlen(p);
		bool found = false;

		if (len == 3 && !strncmp(p, "all", 3)) {
			if (b->nmodes + NMODES > ARRAY_SIZE(b->modes))
				goto usage;
			for (u32 m = 0; m < NMODES; m++)
				b->modes[b->nmodes++] = m;
			found = true;
		}
		for (u32 m = 0; m < NMODES && !found; m++)
			if (strlen(mode_names[m]) == len && !strncmp(p, mode_names[m], len)) {
				if (b->nmodes >= ARRAY_SIZE(b->modes))
					goto usage;
				b->modes[b->nmodes++] = m;
				found = true;
			}
		if (!found)
			goto usage;
		p += len;
		if (*p == ',' && *++p == 0)
			goto usage;
	}
	if (!b->nmodes)
		goto usage;
	b->nth = 0;
	if (w->argc == 2) {
		const char *d = w->argv[1];
		u64 n = 0;

		if (!strncmp(d, "blk", 3))
			b->net = false;
		else if (!strncmp(d, "net", 3))
			b->net = true;
		else
			goto usage;
		if (d[3] && (parse_u64(d + 3, &n, false) || n >= PCI_MAX))
			goto usage;
		b->nth = n;
	}
	snprintf(b->dev, sizeof(b->dev), "%s%u", b->net ? "net" : "blk", b->nth);
	return 0;
usage:
	cprintf("CMDLINE ERROR usage: badvq oob|loop|len|qsize|all[,MODE...] [blk[N]|net[N]]");
	return -1;
}

static int badvq_prepare(struct wl *w)
{
	struct badvq *b = w->priv;
	struct pci_dev *pd = pci_find(VIRTIO_VENDOR, b->net ? VIRTIO_DEV_NET : VIRTIO_DEV_BLK,
	    b->nth);

	if (!pd) {
		cprintf("BADVQ FAIL dev=%s: no such device (virtio-%s number %u, PCI 1af4:%04x)",
		    b->dev, b->net ? "net" : "blk", b->nth, b->net ? VIRTIO_DEV_NET : VIRTIO_DEV_BLK);
		return -1;
	}
	b->vd.name = b->dev;
	if (virtio_pci_init(&b->vd, pd, 0, 0) < 0) {
		cprintf("BADVQ FAIL dev=%s: cannot initialise %s", b->dev, pci_name(pd));
		return -1;
	}
	b->nq = b->net ? 2 : 1;
	b->bad_q = b->net ? 1 : 0;	/* net: transmit */
	for (u32 q = 0; q < b->nq; q++)
		b->qmem[q] = phys_alloc(virtq_mem_size(QMAX), 4096);
	b->buf = phys_alloc(OOB_LEN, 4096);
	b->req = phys_alloc(sizeof(*b->req), 64);
	if (!b->qmem[0] || !b->qmem[b->nq - 1] || !b->buf || !b->req) {
		cprintf("BADVQ FAIL dev=%s: no memory", b->dev);
		return -1;
	}
	if (!b->net) {
		if (!b->vd.devcfg) {
			cprintf("BADVQ FAIL dev=%s: no device configuration capability", b->dev);
			return -1;
		}
		b->capacity = vcfg_read64(&b->vd, 0);
		if (!b->capacity) {
			cprintf("BADVQ FAIL dev=%s: the disk is empty", b->dev);
			return -1;
		}
	}
	virtio_reset(&b->vd);
	return 0;
}

/* reset, features, queues (all good unless `bad_size`), DRIVER_OK unless `bad_size` */
static int setup(struct badvq *b, u16 bad_size, u16 *size_rb, u16 *enable_rb)
{
	struct virtio_dev *vd = &b->vd;

	if (virtio_negotiate(vd, 0, 0) < 0)
		return -1;
	for (u16 q = 0; q < b->nq; q++) {
		struct virtq *vq = &b->vq[q];

		if (bad_size && q == b->bad_q) {
			/*
			 * The driver's usual path with the size written first:
			 * virtio_queue_init_at() keeps a size it reads back that
			 * is at most bad_size, and a queue of bad_size entries
			 * has the same ring layout as one of QMAX.
			 */
			mmio_write16(vd->common + CFG_Q_SELECT, q);
			mmio_write16(vd->common + CFG_Q_SIZE, bad_size);
			*size_rb = mmio_read16(vd->common + CFG_Q_SIZE);
			if (virtio_queue_init_at(vd, vq, q, bad_size, b->qmem[q]) < 0)
				return -1;
			*enable_rb = mmio_read16(vd->common + CFG_Q_ENABLE);
			continue;
		}
		if (virtio_queue_init_at(vd, vq, q, QMAX, b->qmem[q]) < 0)
			return -1;
		if (vq->size < 4) {
			cprintf("VIRTIO %s: queue %u has only %u entries", b->dev, q, vq->size);
			return -1;
		}
	}
	if (bad_size)
		return 0;
	return virtio_driver_ok(vd);
}

/* Posts a good request (not kicked): blk reads sector 0, net sends a broadcast frame. */
static int post_good(struct badvq *b)
{
	struct virtq *vq = &b->vq[b->bad_q];

	if (b->net) {
		static const u8 frame[] = {
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0x42, 0x41, 0x44,
			0x88, 0xb5,	/* local experimental ethertype */
			'H', 'Y', 'V', 'E', '-', 'B', 'A', 'D', 'V', 'Q',
		};
		u64 a = (u64)b->buf;
		u32 l = VNET_HDR + 60;
		u16 wr = 0;

		memset(b->buf, 0, l);
		memcpy(b->buf + VNET_HDR, frame, sizeof(frame));
		return virtq_add(vq, &a, &l, &wr, 1) < 0 ? -1 : 0;
	} else {
		u64 a[3] = { (u64)b->req, (u64)b->buf, (u64)&b->req->status };
		u32 l[3] = { 16, 512, 1 };
		u16 wr[3] = { 0, 1, 1 };

		b->req->type = VBLK_T_IN;
		b->req->rsv = 0;
		b->req->sector = 0;
		b->req->status = 0xff;
		memset(b->buf, 0xa5, 512);
		return virtq_add(vq, a, l, wr, 3) < 0 ? -1 : 0;
	}
}

/* Waits up to `limit` ticks for a completion: 1 done, 0 not done. */
static int wait_used(struct badvq *b, u64 limit)
{
	struct virtq *vq = &b->vq[b->bad_q];
	u64 t0 = ticks, spin0 = rdtsc();
	u16 id;
	u32 len;

	while (!virtq_get(vq, &id, &len)) {
		if (ticks - t0 > limit)
			return 0;
		if (rdtsc() - spin0 < tsc_khz)	/* 1 ms of spinning, then sleep */
			cpu_relax();
		else
			idle();
	}
	return 1;
}

/* A good request, start to finish: 0, or -1 with the reason in `why`. */
static int good_io(struct badvq *b, char *why, u32 whylen, const char *when)
{
	if (post_good(b) < 0) {
		snprintf(why, whylen, "%s: no room in the queue for a good request", when);
		return -1;
	}
	virtq_kick(&b->vq[b->bad_q]);
	if (!wait_used(b, (u64)WAIT_IO_S * hz)) {
		snprintf(why, whylen, "%s: a good %s got no completion in %u s", when,
		    b->net ? "transmit" : "read", WAIT_IO_S);
		return -1;
	}
	if (!b->net) {
		struct xxh64 h;
		u64 sum;

		if (b->req->status != 0) {
			snprintf(why, whylen, "%s: a good read of sector 0 failed (status %u)", when,
			    b->req->status);
			return -1;
		}
		xxh64_init(&h, 0);
		xxh64_update(&h, b->buf, 512);
		sum = xxh64_digest(&h);
		if (!b->have_sector0) {
			b->sector0 = sum;
			b->have_sector0 = true;
		} else if (sum != b->sector0) {
			snprintf(why, whylen, "%s: sector 0 read back as %016llx, first read %016llx",
			    when, (unsigned long long)sum, (unsigned long long)b->sector0);
			return -1;
		}
	}
	return 0;
}

static void put_desc(struct virtq *vq, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	vq->desc[i] = (struct virtq_desc){ addr, len, flags, next };
}

static void publish(struct virtq *vq, u16 head)
{
	vq->avail[2 + (vq->avail_idx % vq->size)] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->avail_idx++;
	vq->avail[1] = vq->avail_idx;
}

/*
 * The bad chain, in the last descriptors of the table (good requests take
 * theirs from the front of the free list, which a fresh queue starts at 0).
 */
static void post_bad(struct badvq *b, u32 mode)
{
	struct virtq *vq = &b->vq[b->bad_q];
	u16 h = vq->size - 3, d = vq->size - 2, s = vq->size - 1;
	u64 data = mode == M_OOB ? OOB_ADDR : (u64)b->buf;
	u32 dlen = mode == M_OOB ? OOB_LEN : 0xffffffffu;

	b->req->type = VBLK_T_IN;
	b->req->rsv = 0;
	b->req->sector = 0;
	b->req->status = 0xff;
	memset(b->buf, 0, VNET_HDR + 60);
	if (mode == M_LOOP) {
		/* device-readable both, so the only thing wrong is the loop */
		put_desc(vq, h, (u64)b->req, 16, VIRTQ_DESC_F_NEXT, d);
		put_desc(vq, d, (u64)b->buf, 512, VIRTQ_DESC_F_NEXT, h);
	} else if (b->net) {
		/* transmit: one device-readable buffer, header and frame */
		put_desc(vq, h, data, dlen, 0, 0);
	} else {
		put_desc(vq, h, (u64)b->req, 16, VIRTQ_DESC_F_NEXT, d);
		put_desc(vq, d, data, dlen, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, s);
		put_desc(vq, s, (u64)&b->req->status, 1, VIRTQ_DESC_F_WRITE, 0);
	}
	publish(vq, h);
	virtq_kick(vq);
}

static bool one_mode(struct badvq *b, u32 mode)
{
	struct virtio_dev *vd = &b->vd;
	char why[200] = "", extra[64] = "";
	u16 bad_size = 0, size_rb = 0, enable_rb = 0;
	u8 status = 0, isr = 0;
	u64 t0;
	bool needs_reset, refused = false;

	if (setup(b, 0, NULL, NULL) < 0) {
		snprintf(why, sizeof(why), "before: the device did not initialise");
		goto fail;
	}
	if (good_io(b, why, sizeof(why), "before") < 0)
		goto fail;
	if (mode == M_QSIZE) {
		u16 max;

		virtio_reset(vd);
		mmio_write16(vd->common + CFG_Q_SELECT, b->bad_q);
		max = mmio_read16(vd->common + CFG_Q_SIZE);
		if (max < 4) {
			snprintf(why, sizeof(why), "queue %u maximum size %u: no bad size below it",
			    b->bad_q, max);
			goto fail;
		}
		bad_size = max - 1;
		while (bad_size > 2 && !(bad_size & (bad_size - 1)))
			bad_size--;
		if (setup(b, bad_size, &size_rb, &enable_rb) < 0) {
			snprintf(why, sizeof(why), "the device did not initialise");
			goto fail;
		}
		snprintf(extra, sizeof(extra), " size=%u/%u enable=%u", size_rb, bad_size, enable_rb);
	} else {
		post_bad(b, mode);
	}
	/* a device may notice asynchronously (QEMU's ioeventfd) */
	t0 = ticks;
	while (!((status = virtio_status(vd)) & VIRTIO_S_NEEDS_RESET) &&
	    ticks - t0 <= (u64)WAIT_NEEDS_RESET_S * hz)
		idle();
	isr = mmio_read8(vd->isr);
	needs_reset = status & VIRTIO_S_NEEDS_RESET;
	if (mode == M_QSIZE)
		refused = size_rb != bad_size || !enable_rb;
	if (!needs_reset && !refused) {
		if (mode == M_QSIZE) {
			/* say whether the device then ran the queue at that size */
			char how[120];

			snprintf(how, sizeof(how), "then a good %s through it succeeded",
			    b->net ? "transmit" : "read");

			if (virtio_driver_ok(vd) < 0)
				snprintf(how, sizeof(how), "DRIVER_OK then failed");
			else
				good_io(b, how, sizeof(how), "then");	/* a failure says why in how */
			snprintf(why, sizeof(why), "queue enabled with size %u and NEEDS_RESET "
			    "(0x40) not set; %s", bad_size, how);
		} else {
			snprintf(why, sizeof(why), "NEEDS_RESET (0x40) not set %u s after the kick",
			    WAIT_NEEDS_RESET_S);
		}
		goto fail;
	}
	if (mode != M_QSIZE) {
		/* the queue must be stopped: a good request now is not served */
		if (post_good(b) < 0) {
			snprintf(why, sizeof(why), "no room in the queue for a good request");
			goto fail;
		}
		virtq_kick(&b->vq[b->bad_q]);
		if (wait_used(b, MAX(hz / 5, 2))) {
			snprintf(why, sizeof(why), "the device served a request after the error "
			    "(queue not stopped)");
			goto fail;
		}
	}
	virtio_reset(vd);
	if (virtio_status(vd) != 0) {
		snprintf(why, sizeof(why), "status %#x after a reset", virtio_status(vd));
		goto fail;
	}
	if (setup(b, 0, NULL, NULL) < 0) {
		snprintf(why, sizeof(why), "after reset: the device did not initialise");
		goto fail;
	}
	if (good_io(b, why, sizeof(why), "after reset") < 0)
		goto fail;
	cprintf("BADVQ OK mode=%s status=0x%02x dev=%s queue=%u isr=%#x%s%s", mode_names[mode],
	    status, b->dev, b->bad_q, isr, extra, needs_reset ? "" : " refused");
	return true;
fail:
	cprintf("BADVQ FAIL mode=%s status=0x%02x dev=%s queue=%u isr=%#x%s: %s", mode_names[mode],
	    status ? status : virtio_status(vd), b->dev, b->bad_q, isr, extra, why);
	return false;
}

static void badvq_run(struct wl *w, u32 idx, u32 n)
{
	struct badvq *b = w->priv;
	u32 nok = 0;

	(void)idx, (void)n;
	cprintf("BADVQ start dev=%s pci=%s modes=%u ticks=%llu", b->dev, pci_name(b->vd.pci),
	    b->nmodes, (unsigned long long)ticks);
	for (u32 i = 0; i < b->nmodes; i++)
		nok += one_mode(b, b->modes[i]);
	if (!b->net && b->have_sector0)
		cprintf("BADVQ done dev=%s modes=%u ok=%u sector0=%016llx capacity=%llu", b->dev,
		    b->nmodes, nok, (unsigned long long)b->sector0, (unsigned long long)b->capacity);
	else
		cprintf("BADVQ done dev=%s modes=%u ok=%u", b->dev, b->nmodes, nok);
	if (nok != b->nmodes)
		w->status = ST_FAIL;
}

const struct wl_ops wl_badvq = {
	.name = "badvq",
	.parse = badvq_parse,
	.prepare = badvq_prepare,
	.run = badvq_run,
};
