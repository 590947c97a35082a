/* Constants shared by entry.S and the C code. */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#define MAX_CPUS	32
#define KSTACK_SHIFT	14			/* 16 KiB CPL0 stack per vCPU */
#define KSTACK_SIZE	(1 << KSTACK_SHIFT)
#define USTACK_SIZE	(64 * 1024)		/* CPL3 stack per vCPU */

/* GDT selectors */
#define SEL_KCODE32	0x08
#define SEL_KDATA	0x10
#define SEL_KCODE64	0x18
#define SEL_UDATA	0x23
#define SEL_UCODE64	0x2b
#define SEL_TSS0	0x30			/* 16 bytes per vCPU */
#define GDT_ENTRIES	(6 + 2 * MAX_CPUS)

/* Interrupt vectors */
#define VEC_TIMER_BSP	0x20	/* counts ticks */
#define VEC_TIMER_AP	0x21	/* only wakes hlt */
#define VEC_PIC_BASE	0x30	/* legacy PIC remapped here, all masked */
#define VEC_SPURIOUS	0xff

/* int3 services (RAX = service number), the only way from CPL3 to CPL0 */
#define SVC_IDLE	0	/* sti; hlt: wait for the next interrupt */
#define SVC_TRIPLE	1	/* load an empty IDT and fault */

#define LAPIC_BASE	0xfee00000
#define PVH_MAGIC	0x336ec578

#endif
