/*
 * Everything the guest does at CPL0 after entry.S: finish the identity map,
 * build the GDT/TSS/IDT, mask the legacy PIC, then leave for CPL3 for good.
 * The project's KVM emulates CPL0 code one instruction at a time (about a
 * microsecond each), so this file does as little as it can; ACPI, timer
 * calibration, AP start-up and every workload run at CPL3.
 */
#include "guest.h"

struct tss {
	u32 rsv0;
	u64 rsp[3];
	u64 rsv1;
	u64 ist[7];
	u64 rsv2;
	u16 rsv3;
	u16 iomap_base;
} __attribute__((packed));

/* One TSS per vCPU followed by a single I/O permission bitmap that they all
 * share (each TSS's iomap_base points at it).  All zero: CPL3 tasks may use
 * any port, as a driver in a kernel could; the byte after the bitmap must
 * be 0xff. */
struct tss_block {
	struct {
		struct tss t;
		u8 pad[128 - sizeof(struct tss)];
	} slot[MAX_CPUS];
	u8 iomap[8192];
	u8 iomap_end;
};
static struct tss_block tssb __attribute__((aligned(4096)));

struct idt_gate {
	u16 off0;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off1;
	u32 off2;
	u32 rsv;
};
static struct idt_gate idt[256] __attribute__((aligned(4096)));
static struct {
	u16 limit;
	u64 base;
} __attribute__((packed)) idt_ptr;

/* RAM above 4 GiB gets 2 MiB pages from here (up to 64 GiB of address space). */
#define HIGH_GB	60
static u64 pd_high[HIGH_GB][512] __attribute__((section(".noinit"), aligned(4096)));

volatile u64 ticks;
volatile u64 spurious_irqs;
u32 boot_start_info;
u64 mapped_top = 4 * GiB;
bool boot_map_truncated;
volatile u64 ap_boot_kstack;
volatile u32 ap_boot_index;
struct fault_info fault_info[MAX_CPUS];

extern u64 pdpt[512];
extern u64 gdt[];
extern char kstacks[];
extern void enter_user(void *rip, u64 arg, u64 rsp) __attribute__((noreturn));
extern void load_idt_tr(void *idtp, u16 tr);
extern char user_start_bsp[], user_start_ap[], user_start_fault[];
extern char isr_timer_bsp[], isr_timer_ap[], isr_ignore[], isr_bp[], exc_255[];
extern char exc_0[], exc_1[], exc_2[], exc_4[], exc_5[], exc_6[], exc_7[], exc_8[],
    exc_9[], exc_10[], exc_11[], exc_12[], exc_13[], exc_14[], exc_15[], exc_16[],
    exc_17[], exc_18[], exc_19[], exc_20[], exc_21[], exc_22[], exc_23[], exc_24[],
    exc_25[], exc_26[], exc_27[], exc_28[], exc_29[], exc_30[], exc_31[];

static void *const exc_table[32] = {
	exc_0, exc_1, exc_2, isr_bp, exc_4, exc_5, exc_6, exc_7, exc_8, exc_9,
	exc_10, exc_11, exc_12, exc_13, exc_14, exc_15, exc_16, exc_17, exc_18,
	exc_19, exc_20, exc_21, exc_22, exc_23, exc_24, exc_25, exc_26, exc_27,
	exc_28, exc_29, exc_30, exc_31,
};

static inline void kout(u16 port, u8 v) { outb(port, v); }

static void set_gate(int vec, void *fn, int dpl)
{
	u64 a = (u64)fn;

	idt[vec].off0 = a & 0xffff;
	idt[vec].sel = SEL_KCODE64;
	idt[vec].ist = 0;
	idt[vec].type = 0x8e | (dpl << 5);	/* present, 64-bit interrupt gate */
	idt[vec].off1 = (a >> 16) & 0xffff;
	idt[vec].off2 = a >> 32;
}

static void setup_tss(u32 cpu)
{
	struct tss *t = &tssb.slot[cpu].t;
	u64 base = (u64)t;
	u64 iomap = (u64)tssb.iomap - base;
	u64 limit = iomap + sizeof(tssb.iomap);	/* includes the 0xff byte */
	u64 *d = &gdt[SEL_TSS0 / 8 + 2 * cpu];

	t->rsp[0] = (u64)kstacks + (u64)(cpu + 1) * KSTACK_SIZE;
	t->iomap_base = iomap;
	d[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
	    (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	d[1] = base >> 32;
	load_idt_tr(&idt_ptr, SEL_TSS0 + 16 * cpu);
}

/* Map RAM above 4 GiB, as the memory map describes it.  Only adds entries. */
static void map_high(const struct hvm_start_info *si)
{
	const struct hvm_memmap_entry *e;
	u64 top = 4 * GiB;
	u32 i;

	if (si->magic != PVH_MAGIC || si->version < 1 || !si->memmap_paddr)
		return;
	e = (const struct hvm_memmap_entry *)si->memmap_paddr;
	for (i = 0; i < si->memmap_entries && i < 128; i++)
		if (e[i].type == 1 && e[i].addr + e[i].size > top)
			top = e[i].addr + e[i].size;
	top = ALIGN_UP(top, GiB);
	if (top > (4 + HIGH_GB) * GiB) {
		top = (4 + HIGH_GB) * GiB;
		boot_map_truncated = true;
	}
	for (u64 gb = 4; gb < top / GiB; gb++) {
		u64 *pd = pd_high[gb - 4];

		for (u64 j = 0; j < 512; j++)
			pd[j] = (gb << 30) + (j << 21) + 0x87;
		pdpt[gb] = (u64)pd + 0x7;
	}
	mapped_top = top;
}

void kmain_bsp(u32 start_info)
{
	int i;

	boot_start_info = start_info;
	map_high((const struct hvm_start_info *)(u64)start_info);

	for (i = 0; i < 256; i++)
		set_gate(i, exc_255, 0);
	for (i = 0; i < 32; i++)
		set_gate(i, exc_table[i], 0);
	set_gate(3, isr_bp, 3);
	set_gate(VEC_TIMER_BSP, isr_timer_bsp, 0);
	set_gate(VEC_TIMER_AP, isr_timer_ap, 0);
	for (i = 0; i < 16; i++)
		set_gate(VEC_PIC_BASE + i, isr_ignore, 0);
	set_gate(VEC_SPURIOUS, isr_ignore, 0);
	idt_ptr.limit = sizeof(idt) - 1;
	idt_ptr.base = (u64)idt;
	tssb.iomap_end = 0xff;

	/* Legacy PIC: firmware may have left IRQ0 unmasked in virtual-wire
	 * mode; move it off the exception vectors and mask everything. */
	kout(0x20, 0x11); kout(0xa0, 0x11);
	kout(0x21, VEC_PIC_BASE); kout(0xa1, VEC_PIC_BASE + 8);
	kout(0x21, 4); kout(0xa1, 2);
	kout(0x21, 1); kout(0xa1, 1);
	kout(0x21, 0xff); kout(0xa1, 0xff);

	setup_tss(0);
	enter_user(user_start_bsp, 0, ustack_top(0));
}

void kmain_ap(void)
{
	u32 cpu = ap_boot_index;

	setup_tss(cpu);
	enter_user(user_start_ap, cpu, ustack_top(cpu));
}

/* Raw console output from CPL0, for when the CPL3 path cannot be trusted. */
static void kputs(const char *m)
{
	while (*m)
		outb(0x3f8, *m++);
}

static void kputx(u64 v)
{
	int i;

	outb(0x3f8, '0'); outb(0x3f8, 'x');
	for (i = 60; i >= 0; i -= 4)
		outb(0x3f8, "0123456789abcdef"[(v >> i) & 0xf]);
}

/* Any exception: record it, then report from CPL3 (fast there).  A fault
 * while reporting one stops the guest from here. */
void kexception(struct exc_frame *f)
{
	u64 cpu = ((u64)f - (u64)kstacks) >> KSTACK_SHIFT;
	struct fault_info *fi;
	u64 cr2;

	if (cpu >= MAX_CPUS)
		cpu = 0;
	fi = &fault_info[cpu];
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	if (fi->valid) {
		/* Both faults, from here: the CPL3 report is what failed. */
		kputs("FAULT while reporting a fault: first vector=");
		kputx(fi->f.vector);
		kputs(" error="); kputx(fi->f.error);
		kputs(" rip="); kputx(fi->f.rip);
		kputs(" cs="); kputx(fi->f.cs);
		kputs(" cr2="); kputx(fi->cr2);
		kputs("; second vector="); kputx(f->vector);
		kputs(" error="); kputx(f->error);
		kputs(" rip="); kputx(f->rip);
		kputs(" cr2="); kputx(cr2);
		kputs("\nGUEST EXIT status=3\n");
		outl(0xf4, ST_FAULT);
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	fi->f = *f;
	fi->cr2 = cr2;
	fi->cpu = cpu;
	fi->valid = 1;
	enter_user(user_start_fault, cpu, ustack_top(cpu));
}
