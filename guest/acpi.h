#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H
#include "guest.h"

struct acpi_info {
	u64 rsdp;
	const char *rsdp_source;
	u32 lapic_addr, ioapic_addr;
	u32 apic_ids[MAX_CPUS];	/* MADT order */
	u32 ncpu;
	u32 cpus_ignored;	/* beyond MAX_CPUS */
	u32 pm_timer_port;
	bool pm_timer_32bit;
};
extern struct acpi_info acpi;
int acpi_init(void);

#endif
