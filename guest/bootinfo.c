/*
 * What the VMM told us at entry (hvm_start_info): copied into the image
 * first thing at CPL3, because the originals may sit in RAM that the
 * workloads later overwrite.  Also the physical memory allocator: a bump
 * allocator over the RAM ranges above the image, used while the bootstrap
 * vCPU prepares workloads; whatever is left goes to `churn`.
 */
#include "guest.h"
#include "bootinfo.h"

char cmdline[CMDLINE_MAX];
struct hvm_memmap_entry memmap[MEMMAP_MAX];
u32 memmap_n;
u64 rsdp_paddr;
u64 ram_total;
const char *memmap_source = "pvh";

struct range free_ranges[MEMMAP_MAX];
u32 nfree;

int bootinfo_copy(void)
{
	const struct hvm_start_info *si = (const void *)(u64)boot_start_info;

	if (!boot_start_info || si->magic != PVH_MAGIC)
		return -1;
	if (si->cmdline_paddr && si->cmdline_paddr < mapped_top) {
		const char *c = (const char *)si->cmdline_paddr;
		u32 i;

		for (i = 0; i < CMDLINE_MAX - 1 && c[i]; i++)
			cmdline[i] = c[i];
		cmdline[i] = 0;
	}
	rsdp_paddr = si->rsdp_paddr;
	if (si->version >= 1 && si->memmap_paddr && si->memmap_entries) {
		const struct hvm_memmap_entry *e = (const void *)si->memmap_paddr;

		memmap_n = MIN(si->memmap_entries, MEMMAP_MAX);
		for (u32 i = 0; i < memmap_n; i++)
			memmap[i] = e[i];
	} else {
		/* No memory map (PVH version 0): ask the CMOS the way SeaBIOS
		 * and QEMU record it: KiB above 1 MiB / 64 KiB blocks above
		 * 16 MiB / 64 KiB blocks above 4 GiB. */
		u64 below4g, above4g;

		outb(0x70, 0x34); below4g = inb(0x71);
		outb(0x70, 0x35); below4g |= (u64)inb(0x71) << 8;
		below4g = below4g * 64 * KiB + 16 * MiB;
		outb(0x70, 0x5b); above4g = inb(0x71);
		outb(0x70, 0x5c); above4g |= (u64)inb(0x71) << 8;
		outb(0x70, 0x5d); above4g |= (u64)inb(0x71) << 16;
		above4g *= 64 * KiB;
		/* not written by this VMM's firmware (all ones, or beyond the
		 * 3.5 GiB that QEMU ever puts below 4 GiB): no memory map */
		if (below4g > 0xe0000000ULL || below4g <= 16 * MiB || above4g >= 0xffffffULL * 64 * KiB)
			return -2;
		memmap[0] = (struct hvm_memmap_entry){ 0, 640 * KiB, 1, 0 };
		memmap[1] = (struct hvm_memmap_entry){ MiB, below4g - MiB, 1, 0 };
		memmap_n = 2;
		if (above4g)
			memmap[memmap_n++] = (struct hvm_memmap_entry){ 4 * GiB, above4g, 1, 0 };
		memmap_source = "cmos";
	}
	for (u32 i = 0; i < memmap_n; i++)
		if (memmap[i].type == 1)
			ram_total += memmap[i].size;
	return 0;
}

/* Free RAM: type 1 ranges above the image (and above 1 MiB), clipped to
 * what the identity map covers, 4 KiB aligned, sorted by address. */
void mem_init(void)
{
	u64 lo_limit = ALIGN_UP((u64)__image_end, 4096);

	nfree = 0;
	for (u32 i = 0; i < memmap_n; i++) {
		u64 a = memmap[i].addr, e = memmap[i].addr + memmap[i].size;

		if (memmap[i].type != 1)
			continue;
		a = ALIGN_UP(MAX(a, lo_limit), 4096);
		e = ALIGN_DOWN(MIN(e, mapped_top), 4096);
		if (e <= a)
			continue;
		free_ranges[nfree++] = (struct range){ a, e };
	}
	for (u32 i = 1; i < nfree; i++)
		for (u32 j = i; j > 0 && free_ranges[j].start < free_ranges[j - 1].start; j--) {
			struct range t = free_ranges[j];

			free_ranges[j] = free_ranges[j - 1];
			free_ranges[j - 1] = t;
		}
	/* overlapping entries in a sloppy map: trim */
	for (u32 i = 1; i < nfree; i++)
		if (free_ranges[i].start < free_ranges[i - 1].end)
			free_ranges[i].start = MIN(free_ranges[i - 1].end, free_ranges[i].end);
}

u64 mem_free_total(void)
{
	u64 t = 0;

	for (u32 i = 0; i < nfree; i++)
		t += free_ranges[i].end - free_ranges[i].start;
	return t;
}

/* Bootstrap vCPU only, before the tasks start. Zeroed. */
void *phys_alloc(u64 size, u64 align)
{
	size = ALIGN_UP(size, 64);
	for (u32 i = 0; i < nfree; i++) {
		u64 a = ALIGN_UP(free_ranges[i].start, align);

		if (a + size <= free_ranges[i].end) {
			free_ranges[i].start = a + size;
			memset((void *)a, 0, size);
			return (void *)a;
		}
	}
	return NULL;
}

/* Low memory (< 1 MiB) page for the AP trampoline: free RAM per the map. */
u64 low_page_for_trampoline(void)
{
	for (u64 p = 0x8000; p < 0x9f000; p += 0x1000) {
		for (u32 i = 0; i < memmap_n; i++)
			if (memmap[i].type == 1 && memmap[i].addr <= p &&
			    memmap[i].addr + memmap[i].size >= p + 0x1000)
				return p;
	}
	return 0;
}
