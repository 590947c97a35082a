/*
 * ACPI, read-only: RSDP -> XSDT/RSDT -> MADT (which vCPUs exist) and FADT
 * (the PM timer, a calibration fallback).  Runs at CPL3 over the identity
 * map; tables are only read during boot, before any workload touches RAM.
 */
#include "guest.h"
#include "acpi.h"
#include "bootinfo.h"

struct acpi_info acpi;

struct sdt_hdr {
	char sig[4];
	u32 len;
	u8 rev;
	u8 csum;
	char oem[6];
	char oem_table[8];
	u32 oem_rev;
	u32 creator;
	u32 creator_rev;
} __attribute__((packed));

static bool sum_ok(const void *p, u32 n)
{
	const u8 *b = p;
	u8 s = 0;

	while (n--)
		s += *b++;
	return s == 0;
}

static u64 scan_rsdp(u64 start, u64 len)
{
	for (u64 p = start; p + 20 <= start + len; p += 16)
		if (!memcmp((void *)p, "RSD PTR ", 8) && sum_ok((void *)p, 20))
			return p;
	return 0;
}

static u64 find_rsdp(void)
{
	u64 ebda;

	if (rsdp_paddr) {
		acpi.rsdp_source = "pvh";
		return rsdp_paddr;
	}
	acpi.rsdp_source = "scan";
	ebda = (u64)*(volatile u16 *)0x40e << 4;
	if (ebda >= 0x80000 && ebda < 0xa0000) {
		u64 p = scan_rsdp(ebda, 1024);

		if (p)
			return p;
	}
	return scan_rsdp(0xe0000, 0x20000);
}

static bool table_ok(u64 addr)
{
	const struct sdt_hdr *h = (const void *)addr;

	if (!addr || addr + sizeof(*h) > mapped_top)
		return false;
	return h->len >= sizeof(*h) && addr + h->len <= mapped_top && sum_ok(h, h->len);
}

static void parse_madt(const struct sdt_hdr *h)
{
	const u8 *p = (const u8 *)h + 44, *end = (const u8 *)h + h->len;

	acpi.lapic_addr = *(const u32 *)((const u8 *)h + 36);
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		u32 id = ~0u, flags = 0;

		if (p[0] == 0 && p[1] >= 8) {		/* Processor Local APIC */
			id = p[3];
			flags = *(const u32 *)(p + 4);
		} else if (p[0] == 9 && p[1] >= 16) {	/* Processor Local x2APIC */
			id = *(const u32 *)(p + 4);
			flags = *(const u32 *)(p + 8);
		} else if (p[0] == 1 && p[1] >= 12) {	/* I/O APIC */
			acpi.ioapic_addr = *(const u32 *)(p + 4);
		}
		/* enabled, or online-capable (ACPI 6.3): both can be started */
		if (id != ~0u && (flags & 3) && acpi.ncpu < MAX_CPUS)
			acpi.apic_ids[acpi.ncpu++] = id;
		else if (id != ~0u && (flags & 3))
			acpi.cpus_ignored++;
		p += p[1];
	}
}

static void parse_fadt(const struct sdt_hdr *h)
{
	const u8 *b = (const u8 *)h;

	if (h->len >= 80)
		acpi.pm_timer_port = *(const u32 *)(b + 76);
	if (h->len >= 116)
		acpi.pm_timer_32bit = (*(const u32 *)(b + 112) >> 8) & 1;
	/* hardware-reduced ACPI (microvm) has no PM timer */
	if (h->len >= 116 && ((*(const u32 *)(b + 112) >> 20) & 1))
		acpi.pm_timer_port = 0;
	if (acpi.pm_timer_port > 0xffff)
		acpi.pm_timer_port = 0;
}

int acpi_init(void)
{
	u64 rsdp = find_rsdp();
	const u8 *r;
	u64 root;
	u32 esz, n;
	const struct sdt_hdr *rh;

	if (!rsdp || !sum_ok((void *)rsdp, 20))
		return -1;
	r = (const u8 *)rsdp;
	acpi.rsdp = rsdp;
	if (r[15] >= 2 && *(const u64 *)(r + 24) && *(const u32 *)(r + 20) >= 36 &&
	    *(const u32 *)(r + 20) <= 64 && sum_ok(r, *(const u32 *)(r + 20))) {
		root = *(const u64 *)(r + 24);
		esz = 8;
	} else {
		root = *(const u32 *)(r + 16);
		esz = 4;
	}
	if (!table_ok(root))
		return -2;
	rh = (const void *)root;
	n = (rh->len - sizeof(*rh)) / esz;
	for (u32 i = 0; i < n; i++) {
		const u8 *ep = (const u8 *)rh + sizeof(*rh) + i * esz;
		u64 t = esz == 8 ? *(const u64 *)ep : *(const u32 *)ep;
		const struct sdt_hdr *h = (const void *)t;

		if (!table_ok(t))
			continue;
		if (!memcmp(h->sig, "APIC", 4))
			parse_madt(h);
		else if (!memcmp(h->sig, "FACP", 4))
			parse_fadt(h);
	}
	return acpi.ncpu ? 0 : -3;
}
