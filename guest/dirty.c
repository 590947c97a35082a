/*
 * dirty RATE [SIZE]: rewrites its RAM page after page, in a cycle, at RATE
 * bytes per second, forever.
 *
 * What it is for: the live-migration benchmark's guest "writing 64 MiB/s"
 * (docs/BENCHMARKS.md).  churn writes as fast as the vCPU can, which no
 * pre-copy outruns without throttling; a migration's behaviour depends on
 * the dirty rate against the link, so this one sets it:
 * - Whole 4 KiB pages, every word non-zero and different on every pass,
 *   so a page written is a dirty data page for any VMM (no zero-page or
 *   same-content shortcut) and the bytes written per second are the pages
 *   dirtied per second.
 * - Paced by a TSC busy loop, one page per 4096/RATE s from a deadline
 *   schedule, so a vCPU that the host preempts for a few ms catches up and
 *   the average stays RATE.  A deadline missed by more than 100 ms (the VM
 *   was paused, stopped for a migration or throttled) is moved to now: a
 *   pause is never made up by more than 100 ms worth of pages at once.
 * - Its RAM is a share of what the other workloads left (like churn's); SIZE
 *   takes only the first SIZE bytes of it, so the working set (how much is
 *   dirty after a second) is SIZE or RATE x 1 s, whichever is smaller.
 */
#include "guest.h"
#include "workload.h"

#define PAGE		4096ULL
#define LATE_MS		100

struct dirty {
	u64 rate;		/* bytes per second */
	u64 size;		/* 0: all of its share */
};
static struct dirty dirties[WL_MAX];

static int dirty_parse(struct wl *w)
{
	struct dirty *d = &dirties[w->index];

	w->priv = d;
	*d = (struct dirty){ 0 };
	if (w->argc < 1 || w->argc > 2 || parse_u64(w->argv[0], &d->rate, true) ||
	    d->rate < PAGE || (w->argc == 2 && (parse_u64(w->argv[1], &d->size, true) ||
	    !d->size || d->size % PAGE))) {
		cprintf("CMDLINE ERROR usage: dirty RATE [SIZE] (RATE: bytes per second, "
		    "K/M/G suffix, at least 4K; SIZE: a multiple of 4K)");
		return -1;
	}
	return 0;
}

static int dirty_prepare(struct wl *w)
{
	struct dirty *d = w->priv;

	if (!d->size)
		d->size = ALIGN_DOWN(w->memsize, PAGE);
	if (!d->size || d->size > w->memsize) {
		cprintf("DIRTY FAIL size %lluK does not fit in the %lluK of free RAM this "
		    "workload got", (unsigned long long)(d->size / KiB),
		    (unsigned long long)(w->memsize / KiB));
		return -1;
	}
	return 0;
}

/* Guest-physical address of page `pg` of the workload's RAM. */
static u64 page_addr(const struct wl *w, u64 pg)
{
	u64 off = pg * PAGE;

	for (u32 i = 0; i < w->nmem; i++) {
		u64 n = w->mem[i].end - w->mem[i].start;

		if (off < n)
			return w->mem[i].start + off;
		off -= n;
	}
	return 0;
}

static void dirty_run(struct wl *w, u32 idx, u32 n)
{
	struct dirty *d = w->priv;
	u64 pages = d->size / PAGE, period, late, next, now, ms0;
	u64 key = mix64(seed ^ mix64(0x6469727479ULL));	/* "dirty" */

	(void)idx, (void)n;
	/* tsc_khz * 1000 ticks a second, a page every PAGE/rate of it */
	period = tsc_khz * 1000 * PAGE / d->rate;
	late = tsc_khz * LATE_MS;
	cprintf("DIRTY start rate=%lluK size=%lluK pages=%llu at=%#llx ticks=%llu",
	    (unsigned long long)(d->rate / KiB), (unsigned long long)(d->size / KiB),
	    (unsigned long long)pages, (unsigned long long)page_addr(w, 0),
	    (unsigned long long)ticks);
	next = rdtsc();
	for (u64 pass = 1;; pass++) {
		ms0 = now_ms();
		for (u64 pg = 0; pg < pages; pg++) {
			volatile u64 *q = (volatile u64 *)page_addr(w, pg);
			u64 base = mix64(key ^ (pass << 32) ^ pg);

			while ((now = rdtsc()) < next)
				cpu_relax();
			for (u64 j = 0; j < PAGE / 8; j++)
				q[j] = (base + j) | 1;
			next += period;
			if ((int64_t)(now - next) > (int64_t)late)
				next = now;
		}
		cprintf("DIRTY pass n=%llu ms=%llu", (unsigned long long)pass,
		    (unsigned long long)(now_ms() - ms0));
	}
}

const struct wl_ops wl_dirty = {
	.name = "dirty",
	.takes_rest = true,
	.parse = dirty_parse,
	.prepare = dirty_prepare,
	.run = dirty_run,
};
