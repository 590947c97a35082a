/*
 * beacon [PERIOD_US] [COUNT]: writes one '.' to com1 every PERIOD_US
 * microseconds (default 1000), COUNT times (default, or 0: forever).
 *
 * What it is for: a benchmark that pauses the VM, checkpoints it and
 * resumes or restores it (in this process or another) watches the console
 * and takes the first byte after the resume as "the guest runs again".  So:
 * - The wait is a TSC busy loop at CPL3: no interrupt, no tick and no VM
 *   exit stands between the guest running again and its next port write.
 * - Each deadline is PERIOD_US after the previous write, measured from the
 *   TSC read just before that write.  A VM paused for a second writes one
 *   '.' as soon as its TSC passes the deadline (at once if the TSC moved
 *   on during the pause, within PERIOD_US of guest time if the VMM kept the
 *   TSC continuous) and the next one PERIOD_US later: a gap is never made
 *   up by a burst.  A TSC that went backwards (restored from an earlier
 *   value) counts as a passed deadline.
 * - A write is usually one port access (the console reads the UART's LSR
 *   once per 16 characters), under the console lock so that other
 *   workloads' lines stay whole: a line written after dots starts on a
 *   line of its own.
 */
#include "guest.h"
#include "workload.h"

#define PERIOD_MAX_US	60000000ULL	/* one a minute */

struct beacon {
	u64 period_us;
	u64 count;		/* 0: forever */
};
static struct beacon beacons[WL_MAX];
static u32 nbeacons;

static int beacon_parse(struct wl *w)
{
	struct beacon *b = &beacons[nbeacons++];

	w->priv = b;
	b->period_us = 1000;
	b->count = 0;
	if (w->argc > 2 ||
	    (w->argc >= 1 && (parse_u64(w->argv[0], &b->period_us, false) ||
	    !b->period_us || b->period_us > PERIOD_MAX_US)) ||
	    (w->argc == 2 && parse_u64(w->argv[1], &b->count, false))) {
		cprintf("CMDLINE ERROR usage: beacon [PERIOD_US (1-%llu, default 1000)] "
		    "[COUNT (default 0: forever)]", (unsigned long long)PERIOD_MAX_US);
		return -1;
	}
	return 0;
}

static void beacon_run(struct wl *w, u32 idx, u32 n)
{
	struct beacon *b = w->priv;
	u64 period = b->period_us * tsc_khz / 1000;
	u64 first, last, now, gap, max_gap = 0, elapsed_us, t0;
	char cnt[24];

	(void)idx, (void)n;
	if (b->count)
		snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)b->count);
	else
		snprintf(cnt, sizeof(cnt), "forever");
	cprintf("BEACON start period_us=%llu count=%s ticks=%llu", (unsigned long long)b->period_us,
	    cnt, (unsigned long long)ticks);
	t0 = ticks;
	first = last = rdtsc();
	console_putc('.');
	for (u64 i = 1; !b->count || i < b->count; i++) {
		/* unsigned: a TSC that went backwards gives a huge difference */
		while ((now = rdtsc()) - last < period)
			cpu_relax();
		console_putc('.');
		gap = now - last;
		if ((int64_t)gap > 0 && gap > max_gap)
			max_gap = gap;
		last = now;
	}
	elapsed_us = (int64_t)(last - first) > 0 ? (last - first) * 1000 / tsc_khz : 0;
	t0 = ticks - t0;
	/*
	 * The periods come from the calibrated TSC, the ticks from the LAPIC
	 * timer: more than twice the ticks the TSC time allows (plus two for
	 * the edges) means the TSC calibration is wrong and the beacon too
	 * fast.  Fewer ticks are fine (a pause or a TSC that jumped on).
	 */
	if (t0 > 2 + 2 * elapsed_us * hz / 1000000) {
		cprintf("BEACON FAIL n=%llu elapsed_ms=%llu ticks=%llu: the timer saw more time "
		    "than the TSC (calibration)", (unsigned long long)b->count,
		    (unsigned long long)(elapsed_us / 1000), (unsigned long long)t0);
		w->status = ST_FAIL;
		return;
	}
	cprintf("BEACON OK n=%llu period_us=%llu elapsed_ms=%llu max_gap_us=%llu",
	    (unsigned long long)b->count, (unsigned long long)b->period_us,
	    (unsigned long long)(elapsed_us / 1000), (unsigned long long)(max_gap * 1000 / tsc_khz));
}

const struct wl_ops wl_beacon = {
	.name = "beacon",
	.parse = beacon_parse,
	.run = beacon_run,
};
