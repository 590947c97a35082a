/*
 * The guest's life at CPL3: boot information, console, then (later) ACPI,
 * timer, APs and the workloads; a verdict line and power-off.
 */
#include "guest.h"
#include "bootinfo.h"

struct cpu_state cpus[MAX_CPUS];
u32 ncpus = 1;
u32 hz = 100;
u64 seed = 1;
u64 tsc_khz;
u64 lapic_hz;
bool verbose;

void power_off(u32 status)
{
	outl(0xf4, status);
	/* no isa-debug-exit device: nothing else to do but stop */
	for (;;)
		idle();
}

void guest_exit(u32 status)
{
	cprintf("GUEST EXIT status=%u", status);
	power_off(status);
}

void user_main_bsp(void)
{
	int rc;

	console_init();
	rc = bootinfo_copy();
	if (rc) {
		cprintf("BOOT FAIL no hvm_start_info at %#x", boot_start_info);
		guest_exit(ST_BOOT);
	}
	mem_init();
	cprintf("HYVE-GUEST %s cpus=%u ram=%lluM cmdline=\"%s\"", GUEST_VERSION, ncpus,
	    (unsigned long long)(ram_total / MiB), cmdline);
	guest_exit(ST_OK);
}

void user_main_ap(u32 cpu)
{
	(void)cpu;
	for (;;)
		idle();
}

void user_fault_report(u32 cpu)
{
	struct fault_info *fi = &fault_info[cpu];

	console_force_unlock();
	cprintf("FAULT vector=%llu err=%#llx rip=%#llx cs=%#llx rsp=%#llx cr2=%#llx cpu=%u",
	    (unsigned long long)fi->f.vector, (unsigned long long)fi->f.error,
	    (unsigned long long)fi->f.rip, (unsigned long long)fi->f.cs,
	    (unsigned long long)fi->f.rsp, (unsigned long long)fi->cr2, cpu);
	guest_exit(ST_FAULT);
}
