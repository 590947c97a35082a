/*
 * Starting the other vCPUs the way firmware does: copy the real-mode
 * trampoline below 1 MiB, then INIT, SIPI, SIPI through the LAPIC ICR, one
 * AP at a time (so each knows its index and stack without atomics at CPL0).
 */
#include "guest.h"
#include "acpi.h"
#include "bootinfo.h"
#include "lapic.h"

extern char kstacks[];

static int icr_send(u32 apic_id, u32 lo)
{
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	for (int i = 0; i < 1000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & (1 << 12)))
			return 0;
		delay_us(10);
	}
	return -1;
}

/* Returns the number of vCPUs running (>= 1); prints why if one failed. */
int smp_start(void)
{
	u32 bsp_id = lapic_id();
	u64 tramp = low_page_for_trampoline();
	u32 n = 1;

	cpus[0].apic_id = bsp_id;
	cpus[0].online = 1;
	if (acpi.ncpu <= 1)
		return 1;
	if (!tramp) {
		cprintf("BOOT FAIL no free page below 1 MiB for the AP trampoline");
		return -1;
	}
	memcpy((void *)tramp, ap_tramp_start, ap_tramp_end - ap_tramp_start);
	for (u32 i = 0; i < acpi.ncpu; i++) {
		u32 id = acpi.apic_ids[i];
		u64 t0;

		if (id == bsp_id)
			continue;
		if (id > 0xff) {
			cprintf("BOOT FAIL cpu apic_id=%u needs x2APIC", id);
			return -1;
		}
		cpus[n].apic_id = id;
		cpus[n].online = 0;
		ap_boot_index = n;
		ap_boot_kstack = (u64)kstacks + (u64)(n + 1) * KSTACK_SIZE;
		mb();
		if (icr_send(id, 0x4500) < 0)		/* INIT, assert */
			goto icr_fail;
		delay_us(10000);
		if (icr_send(id, 0x4600 | (tramp >> 12)) < 0)	/* SIPI */
			goto icr_fail;
		delay_us(200);
		if (icr_send(id, 0x4600 | (tramp >> 12)) < 0)
			goto icr_fail;
		t0 = now_ms();
		while (!cpus[n].online && now_ms() - t0 < 2000)
			cpu_relax();
		if (!cpus[n].online) {
			cprintf("BOOT FAIL cpu %u (apic_id=%u) did not start", n, id);
			return -1;
		}
		n++;
		continue;
icr_fail:
		cprintf("BOOT FAIL ICR stuck sending to apic_id=%u", id);
		return -1;
	}
	return n;
}
