/* Small workloads: ticks, fault and rtc. */
#include "guest.h"
#include "workload.h"

/* ---- ticks N ---- */
static int ticks_parse(struct wl *w)
{
	u64 n;

	if (w->argc != 1 || parse_u64(w->argv[0], &n, false) || n == 0) {
		cprintf("CMDLINE ERROR usage: ticks N (N > 0)");
		return -1;
	}
	w->priv = (void *)n;
	return 0;
}

/*
 * Idles (hlt) until the bootstrap vCPU's timer has ticked N times.  The
 * guest's own view of the time it took comes from the TSC.  A timer that
 * runs at less than half its period is a calibration bug: FAIL.  (Slower is
 * not checked: a loaded host or a pause for a checkpoint delays ticks.)
 */
static void ticks_run(struct wl *w, u32 idx, u32 n)
{
	u64 want = (u64)w->priv, t0, tsc0, elapsed;

	(void)idx, (void)n;
	/* start on a tick edge */
	t0 = ticks;
	while (ticks == t0)
		idle();
	t0 = ticks;
	tsc0 = rdtsc();
	while (ticks - t0 < want)
		idle();
	elapsed = (rdtsc() - tsc0) / tsc_khz;
	if (elapsed * hz * 2 < want * 1000) {
		cprintf("TICKS FAIL n=%llu elapsed_ms=%llu: timer faster than %u Hz",
		    (unsigned long long)want, (unsigned long long)elapsed, hz);
		w->status = ST_FAIL;
		return;
	}
	cprintf("TICKS OK n=%llu elapsed_ms=%llu", (unsigned long long)want,
	    (unsigned long long)elapsed);
}

const struct wl_ops wl_ticks = {
	.name = "ticks",
	.parse = ticks_parse,
	.run = ticks_run,
};

/* ---- rtc ---- */
static int rtc_parse(struct wl *w)
{
	if (w->argc != 0) {
		cprintf("CMDLINE ERROR usage: rtc");
		return -1;
	}
	return 0;
}

static u8 cmos(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static u32 rtc_val(u8 v, u8 regb)
{
	return (regb & 0x04) ? v : (u32)(v >> 4) * 10 + (v & 0x0f);
}

/*
 * The date and time of the MC146818 (what a guest's clock starts from,
 * read as Linux reads it: outside an update, the same twice), in the
 * 24-hour mode and century register (0x32) the FADT describes.
 */
static void rtc_run(struct wl *w, u32 idx, u32 n)
{
	static const u8 regs[7] = { 0x32, 0x09, 0x08, 0x07, 0x04, 0x02, 0x00 };
	u8 a[7], b[7], regb;
	u32 v[7];

	(void)idx, (void)n;
	for (u32 tries = 0;; tries++) {
		while (cmos(0x0a) & 0x80)
			cpu_relax();
		for (u32 i = 0; i < 7; i++)
			a[i] = cmos(regs[i]);
		for (u32 i = 0; i < 7; i++)
			b[i] = cmos(regs[i]);
		if (!memcmp(a, b, sizeof(a)))
			break;
		if (tries == 10) {
			cprintf("RTC FAIL the time changed between every two reads");
			w->status = ST_FAIL;
			return;
		}
	}
	regb = cmos(0x0b);
	for (u32 i = 0; i < 7; i++)
		v[i] = rtc_val(a[i], regb);
	if (!(regb & 0x02)) {
		cprintf("RTC FAIL register B %#x: not in 24-hour mode", regb);
		w->status = ST_FAIL;
		return;
	}
	cprintf("RTC OK %02u%02u-%02u-%02uT%02u:%02u:%02u", v[0], v[1], v[2],
	    v[3], v[4], v[5], v[6]);
}

const struct wl_ops wl_rtc = {
	.name = "rtc",
	.parse = rtc_parse,
	.run = rtc_run,
};

/* ---- fault mmio|port|triple|ud|pf ---- */
enum { F_MMIO, F_PORT, F_TRIPLE, F_UD, F_PF };
static const char *const fault_modes[] = { "mmio", "port", "triple", "ud", "pf" };

#define FAULT_MMIO_ADDR	0xd0000000ULL	/* in the PCI hole, nothing there */
#define FAULT_PORT	0x1234

static int fault_parse(struct wl *w)
{
	if (w->argc == 1)
		for (u64 i = 0; i < ARRAY_SIZE(fault_modes); i++)
			if (!strcmp(w->argv[0], fault_modes[i])) {
				w->priv = (void *)i;
				return 0;
			}
	cprintf("CMDLINE ERROR usage: fault mmio|port|triple|ud|pf");
	return -1;
}

/*
 * Misbehaves on purpose.  A VMM is expected to stop the guest at mmio,
 * port and triple; if the guest is still running afterwards it says so
 * and exits with ST_SURVIVED.  ud and pf are reported by the guest itself
 * (FAULT line, ST_FAULT).
 */
static void fault_run(struct wl *w, u32 idx, u32 n)
{
	u64 mode = (u64)w->priv;
	u32 v;

	(void)idx, (void)n;
	cprintf("FAULT TEST %s", fault_modes[mode]);
	switch (mode) {
	case F_MMIO:
		mmio_write32(FAULT_MMIO_ADDR, 0x12345678);
		v = mmio_read32(FAULT_MMIO_ADDR);
		cprintf("FAULT SURVIVED mmio write to %#llx, read back %#x",
		    (unsigned long long)FAULT_MMIO_ADDR, v);
		break;
	case F_PORT:
		outl(FAULT_PORT, 0x12345678);
		v = inl(FAULT_PORT);
		cprintf("FAULT SURVIVED port %#x write, read back %#x", FAULT_PORT, v);
		break;
	case F_TRIPLE:
		svc(SVC_TRIPLE);
		cprintf("FAULT SURVIVED triple fault");
		break;
	case F_UD:
		__asm__ volatile("ud2");
		cprintf("FAULT SURVIVED ud2");
		break;
	case F_PF:
		v = *(volatile u32 *)(mapped_top + 0x1000);
		cprintf("FAULT SURVIVED read of unmapped %#llx", (unsigned long long)mapped_top + 0x1000);
		break;
	}
	w->status = ST_SURVIVED;
}

const struct wl_ops wl_fault = {
	.name = "fault",
	.parse = fault_parse,
	.run = fault_run,
};
