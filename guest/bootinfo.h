#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H
#include "guest.h"

#define CMDLINE_MAX	1024
#define MEMMAP_MAX	64

struct range {
	u64 start, end;
};

extern char cmdline[CMDLINE_MAX];
extern struct hvm_memmap_entry memmap[MEMMAP_MAX];
extern u32 memmap_n;
extern u64 rsdp_paddr;
extern u64 ram_total;
extern const char *memmap_source;
extern struct range free_ranges[MEMMAP_MAX];
extern u32 nfree;

int bootinfo_copy(void);
void mem_init(void);
u64 mem_free_total(void);
void *phys_alloc(u64 size, u64 align);
u64 low_page_for_trampoline(void);

#endif
