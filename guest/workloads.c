/* Small workloads: ticks and fault. */
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
