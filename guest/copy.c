/*
 * copy [SIZE]: reads SIZE bytes (default 500M) from the first virtio-blk
 * disk and writes them to the second in large requests (1 MiB, several
 * data descriptors each, up to NBUF in flight), flushes, reads the copy
 * back, and compares XXH64 (seed 0) of what was read with XXH64 of what
 * came back.  Prints `COPY OK <xxh64>`: a host test checks it with
 * guest/tools/xxh64sum SRC SIZE.
 */
#include "guest.h"
#include "bootinfo.h"
#include "virtio_blk.h"
#include "workload.h"
#include "xxhash.h"

#define CHUNK		(1024 * 1024)
#define NBUF		8
#define DEFAULT_SIZE	(500 * MiB)
#define STALL_SECONDS	60	/* no completion for this long: FAIL (ticks: pauses do not count) */

enum { B_FREE, B_READING, B_READ, B_WRITING };

struct buf {
	u8 *data;
	u32 state;
	u64 chunk;
};

struct copy {
	u64 size;
	struct vblk src, dst;
	struct buf buf[NBUF];
	u32 chunk;		/* bytes per request */
};
static struct copy copies[2];
static u32 ncopies;

static int copy_parse(struct wl *w)
{
	struct copy *c;

	if (ncopies >= ARRAY_SIZE(copies)) {
		cprintf("CMDLINE ERROR at most %u copy workloads", (u32)ARRAY_SIZE(copies));
		return -1;
	}
	c = &copies[ncopies++];
	w->priv = c;
	c->size = DEFAULT_SIZE;
	if (w->argc > 1 || (w->argc == 1 && (parse_u64(w->argv[0], &c->size, true) ||
	    !c->size || c->size % 512))) {
		cprintf("CMDLINE ERROR usage: copy [SIZE] (bytes, K/M/G suffix, a multiple of 512)");
		return -1;
	}
	return 0;
}

static void fmt_bytes(char *b, size_t n, u64 v)
{
	if (v % MiB == 0)
		snprintf(b, n, "%lluM", (unsigned long long)(v / MiB));
	else
		snprintf(b, n, "%llu", (unsigned long long)v);
}

static int copy_prepare(struct wl *w)
{
	struct copy *c = w->priv;
	u32 i = (u32)(c - copies) * 2;
	char sz[24];

	if (vblk_open(&c->src, i, "blk-src") < 0 || vblk_open(&c->dst, i + 1, "blk-dst") < 0) {
		cprintf("COPY FAIL need virtio-blk disks %u and %u (PCI 1af4:1042), found %s", i, i + 1,
		    pci_find(VIRTIO_VENDOR, VIRTIO_DEV_BLK, i) ? "only the first" : "none");
		return -1;
	}
	fmt_bytes(sz, sizeof(sz), c->size);
	if (c->src.capacity * 512 < c->size || c->dst.capacity * 512 < c->size) {
		cprintf("COPY FAIL size %s larger than a disk (source %llu, target %llu bytes)", sz,
		    (unsigned long long)c->src.capacity * 512, (unsigned long long)c->dst.capacity * 512);
		return -1;
	}
	c->chunk = MIN(vblk_max_request(&c->src, CHUNK), vblk_max_request(&c->dst, CHUNK));
	if (c->chunk < 512) {
		cprintf("COPY FAIL the disks take no request of 512 bytes");
		return -1;
	}
	for (u32 b = 0; b < NBUF; b++) {
		c->buf[b].data = phys_alloc(c->chunk, 4096);
		if (!c->buf[b].data) {
			cprintf("COPY FAIL no memory for buffers");
			return -1;
		}
	}
	if (verbose)
		cprintf("COPY disks %s -> %s request=%u segments=%u/%u", pci_name(c->src.vd.pci),
		    pci_name(c->dst.vd.pci), c->chunk, c->src.max_segs, c->dst.max_segs);
	return 0;
}

static u32 chunk_len(struct copy *c, u64 k)
{
	return MIN((u64)c->chunk, c->size - k * c->chunk);
}

/* Waits without burning the host for long: spin briefly after progress,
 * then sleep to the next tick. */
static void wait_some(u64 last_progress_tsc)
{
	if (rdtsc() - last_progress_tsc < 2 * tsc_khz)
		cpu_relax();
	else
		idle();
}

/*
 * One pipelined pass over the chunks: read each from `from`; hash the
 * chunks in order; if `to`, write each to it.  Returns 0 or prints FAIL.
 */
static int pass(struct wl *w, struct copy *c, struct vblk *from, struct vblk *to,
    struct xxh64 *h, const char *what)
{
	u64 nchunks = (c->size + c->chunk - 1) / c->chunk;
	u64 next_read = 0, next_hash = 0, done = 0, last_tick = ticks, tsc_prog = rdtsc();
	u32 tenth = 1;
	char a[24], b[24];

	for (u32 i = 0; i < NBUF; i++)
		c->buf[i].state = B_FREE;
	fmt_bytes(b, sizeof(b), c->size);
	while (done < nchunks) {
		bool kick_from = false, kick_to = false, progress = false;
		void *tag;
		u8 st;

		for (u32 i = 0; i < NBUF && next_read < nchunks; i++) {
			struct buf *bf = &c->buf[i];

			if (bf->state != B_FREE)
				continue;
			if (vblk_submit(from, VBLK_T_IN, next_read * (c->chunk / 512), bf->data,
			    chunk_len(c, next_read), bf) < 0)
				break;
			bf->state = B_READING;
			bf->chunk = next_read++;
			kick_from = true;
		}
		if (kick_from)
			vblk_kick(from);
		while (vblk_poll(from, &tag, &st)) {
			struct buf *bf = tag;

			if (!bf || st) {
				cprintf("COPY FAIL %s: read of chunk %llu from %s failed (status %u)", what,
				    bf ? (unsigned long long)bf->chunk : 0ULL, from->vd.name, st);
				return -1;
			}
			bf->state = B_READ;
			progress = true;
		}
		/* hash in disk order, then hand the buffer on */
		for (bool again = true; again;) {
			again = false;
			for (u32 i = 0; i < NBUF; i++) {
				struct buf *bf = &c->buf[i];

				if (bf->state != B_READ || bf->chunk != next_hash)
					continue;
				if (to && vblk_submit(to, VBLK_T_OUT, bf->chunk * (c->chunk / 512),
				    bf->data, chunk_len(c, bf->chunk), bf) < 0)
					break;	/* ring full: next time */
				xxh64_update(h, bf->data, chunk_len(c, bf->chunk));
				next_hash++;
				again = true;
				if (to) {
					bf->state = B_WRITING;
					kick_to = true;
				} else {
					bf->state = B_FREE;
					done++;
					progress = true;
				}
			}
		}
		if (kick_to)
			vblk_kick(to);
		while (to && vblk_poll(to, &tag, &st)) {
			struct buf *bf = tag;

			if (!bf || st) {
				cprintf("COPY FAIL %s: write of chunk %llu to %s failed (status %u)", what,
				    bf ? (unsigned long long)bf->chunk : 0ULL, to->vd.name, st);
				return -1;
			}
			bf->state = B_FREE;
			done++;
			progress = true;
		}
		if (progress || kick_to || kick_from) {
			last_tick = ticks;
			tsc_prog = rdtsc();
		} else if (ticks - last_tick > (u64)STALL_SECONDS * hz) {
			cprintf("COPY FAIL %s: no disk progress for %u s (%llu of %llu chunks done)",
			    what, STALL_SECONDS, (unsigned long long)done, (unsigned long long)nchunks);
			return -1;
		} else {
			wait_some(tsc_prog);
		}
		if (tenth <= 10 && done * 10 >= nchunks * tenth) {
			while (tenth <= 10 && done * 10 >= nchunks * tenth)
				tenth++;
			fmt_bytes(a, sizeof(a), MIN(done * c->chunk, c->size));
			cprintf("COPY %s %s/%s ticks=%llu", what, a, b, (unsigned long long)ticks);
		}
	}
	(void)w;
	return 0;
}

static int flush(struct vblk *d)
{
	u64 t0 = ticks;
	void *tag;
	u8 st;

	if (!d->can_flush)
		return 0;
	if (vblk_submit(d, VBLK_T_FLUSH, 0, NULL, 0, d) < 0)
		return -1;
	vblk_kick(d);
	while (!vblk_poll(d, &tag, &st)) {
		if (ticks - t0 > (u64)STALL_SECONDS * hz)
			return -1;
		idle();
	}
	return st ? -1 : 0;
}

static void copy_run(struct wl *w, u32 idx, u32 n)
{
	struct copy *c = w->priv;
	struct xxh64 hs, hd;
	u64 ms0 = now_ms(), t0 = ticks, src_sum, dst_sum;
	char sz[24];

	(void)idx, (void)n;
	fmt_bytes(sz, sizeof(sz), c->size);
	cprintf("COPY start size=%s request=%u ticks=%llu", sz, c->chunk, (unsigned long long)ticks);
	xxh64_init(&hs, 0);
	if (pass(w, c, &c->src, &c->dst, &hs, "copy") < 0)
		goto fail;
	if (flush(&c->dst) < 0) {
		cprintf("COPY FAIL flush of %s failed", c->dst.vd.name);
		goto fail;
	}
	xxh64_init(&hd, 0);
	if (pass(w, c, &c->dst, NULL, &hd, "verify") < 0)
		goto fail;
	src_sum = xxh64_digest(&hs);
	dst_sum = xxh64_digest(&hd);
	cprintf("COPY done size=%s ms=%llu ticks=%llu", sz, (unsigned long long)(now_ms() - ms0),
	    (unsigned long long)(ticks - t0));
	if (src_sum != dst_sum) {
		cprintf("COPY FAIL checksum source %016llx copy %016llx", (unsigned long long)src_sum,
		    (unsigned long long)dst_sum);
		goto fail;
	}
	cprintf("COPY OK %016llx", (unsigned long long)src_sum);
	return;
fail:
	w->status = ST_FAIL;
}

const struct wl_ops wl_copy = {
	.name = "copy",
	.parse = copy_parse,
	.prepare = copy_prepare,
	.run = copy_run,
};
