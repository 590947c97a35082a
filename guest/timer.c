/*
 * Time: the TSC and the LAPIC timer are calibrated once against the PIT
 * (channel 0, read back with latch commands: needs no speaker port), or the
 * ACPI PM timer, or CPUID's frequency leaves; then every vCPU runs its
 * LAPIC timer periodically at `hz`.  Only the bootstrap vCPU's interrupt
 * counts `ticks`; the others only wake their vCPU from hlt.  All at CPL3:
 * the LAPIC is user-mapped MMIO and the ports are open in the TSS bitmap.
 */
#include "guest.h"
#include "acpi.h"
#include "lapic.h"

const char *clock_source = "none";
#define PIT_HZ		1193182ULL
#define PMTMR_HZ	3579545ULL
#define CAL_MS		50

static u16 pit_read0(void)
{
	u8 lo, hi;

	outb(0x43, 0x00);	/* latch channel 0 */
	lo = inb(0x40);
	hi = inb(0x40);
	return lo | (u16)hi << 8;
}

static void lapic_cal_start(void)
{
	lapic_write(LAPIC_TDCR, 0x3);	/* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, 0x10000 | VEC_TIMER_AP);	/* masked one-shot */
	lapic_write(LAPIC_TMICT, 0xffffffff);
}

/* Measure TSC cycles and LAPIC counts over CAL_MS of a reference clock
 * given as "read counter" with a width mask and a frequency. */
static int cal_against(u32 (*read)(void), u32 mask, u64 freq, u64 *tsc_hz, u64 *apic_hz)
{
	u64 target = freq * CAL_MS / 1000, acc = 0, t0, t1, iters = 0;
	u32 prev, cur, a0, a1;

	lapic_cal_start();
	prev = read();
	t0 = rdtsc();
	a0 = lapic_read(LAPIC_TMCCT);
	while (acc < target) {
		cur = read();
		acc += (cur - prev) & mask;
		prev = cur;
		if (++iters > 2000000)
			return -1;	/* reference does not move */
	}
	t1 = rdtsc();
	a1 = lapic_read(LAPIC_TMCCT);
	*tsc_hz = (t1 - t0) * freq / acc;
	*apic_hz = (u64)(a0 - a1) * freq / acc;
	lapic_write(LAPIC_TMICT, 0);
	return 0;
}

/* PIT counts down; turn it into an up-counter for cal_against. */
static u32 pit_up(void) { return (u16)(0xffff - pit_read0()); }
static u32 pm_read(void) { return inl(acpi.pm_timer_port); }

static bool pit_present(void)
{
	u16 a, b;

	outb(0x43, 0x34);	/* channel 0, lo/hi, mode 2, binary */
	outb(0x40, 0x00);
	outb(0x40, 0x00);	/* period 65536 */
	a = pit_read0();
	for (int i = 0; i < 50; i++) {
		b = pit_read0();
		if (b != a && b != 0xffff)
			return true;
	}
	return false;
}

int timer_calibrate(void)
{
	u64 tsc_hz = 0, apic_hz = 0;
	u32 a, b, c, d;

	if (pit_present() && !cal_against(pit_up, 0xffff, PIT_HZ, &tsc_hz, &apic_hz)) {
		clock_source = "pit";
		/* leave channel 0 quiet: one-shot, then it stops */
		outb(0x43, 0x30);
		outb(0x40, 0x01);
		outb(0x40, 0x00);
	} else if (acpi.pm_timer_port &&
	    !cal_against(pm_read, acpi.pm_timer_32bit ? 0xffffffff : 0xffffff, PMTMR_HZ,
	    &tsc_hz, &apic_hz)) {
		clock_source = "pmtimer";
	} else {
		/* No reference clock: CPUID's TSC leaf, or the hypervisor
		 * timing leaf; the LAPIC timer of KVM runs at 1 GHz. */
		cpuid(0, 0, &a, &b, &c, &d);
		if (a >= 0x15) {
			cpuid(0x15, 0, &a, &b, &c, &d);
			if (a && b && c)
				tsc_hz = (u64)c * b / a;
		}
		cpuid(0x40000000, 0, &a, &b, &c, &d);
		if (!tsc_hz && a >= 0x40000010) {
			cpuid(0x40000010, 0, &a, &b, &c, &d);
			tsc_hz = (u64)a * 1000;
			apic_hz = (u64)b * 1000 / 16;
		}
		if (!apic_hz)
			apic_hz = 1000000000ULL / 16;
		if (!tsc_hz)
			return -1;
		clock_source = "cpuid";
	}
	if (!tsc_hz || !apic_hz)
		return -1;
	tsc_khz = tsc_hz / 1000;
	lapic_hz = apic_hz;
	return 0;
}

void lapic_setup(bool bsp)
{
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, 0x10000);
	lapic_write(LAPIC_LVT_ERR, 0x10000);
	lapic_write(LAPIC_TDCR, 0x3);
	lapic_write(LAPIC_LVT_TIMER, (1 << 17) | (bsp ? VEC_TIMER_BSP : VEC_TIMER_AP));
	lapic_write(LAPIC_TMICT, MAX(lapic_hz / hz, 1));
}

u64 now_ms(void)
{
	return rdtsc() / tsc_khz;
}

void delay_us(u64 us)
{
	u64 end = rdtsc() + us * tsc_khz / 1000;

	while ((int64_t)(rdtsc() - end) < 0)
		cpu_relax();
}

void wait_ticks(u64 n)
{
	u64 start = ticks;

	while (ticks - start < n)
		idle();
}
