/*
 * PVH entry, the switch to long mode (shared by the bootstrap vCPU and the
 * APs), the real-mode AP trampoline, and every interrupt entry.  All of this
 * runs at CPL0, which the project's KVM emulates one instruction at a time,
 * so the paths are short: page tables for the low 4 GiB are static data,
 * and the timer handler is a handful of instructions.
 */
#include "layout.h"

/* XEN_ELFNOTE_PHYS32_ENTRY: QEMU and hyve start us here, 32-bit flat, no paging. */
	.section .note.pvh, "a", @note
	.p2align 2
	.long 4, 8, 18
	.asciz "Xen"
	.p2align 2
	.quad pvh_entry32

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry32
pvh_entry32:
	cli
	cld
	movl %ebx, %ebp			/* hvm_start_info */
	xorl %esi, %esi			/* not an AP */
	jmp common32

	/* From the AP trampoline: CS = SEL_KCODE32, paging off. */
	.globl ap_entry32
ap_entry32:
	cli
	cld
	movl $SEL_KDATA, %eax		/* DS still has the real-mode base */
	movl %eax, %ds
	movl $1, %esi
	xorl %ebp, %ebp
common32:
	lgdt gdt_ptr
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	ljmp $SEL_KCODE32, $1f
1:	movl $0x620, %eax		/* PAE | OSFXSR | OSXMMEXCPT */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl $0x80010033, %eax		/* PG | WP | NE | ET | MP | PE */
	movl %eax, %cr0
	ljmp $SEL_KCODE64, $entry64

	.code64
entry64:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	testl %esi, %esi
	jnz 2f
	movq $kstacks + KSTACK_SIZE, %rsp
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	shrq $3, %rcx
	xorl %eax, %eax
	rep stosq
	movl %ebp, %edi
	call kmain_bsp
	ud2
2:	movq ap_boot_kstack(%rip), %rsp
	call kmain_ap
	ud2

/*
 * enter_user(rip, arg, rsp): iretq to CPL3 with interrupts enabled and
 * IOPL 3.  The TSS I/O bitmap already lets CPL3 use every port (kvm_pvm
 * ignores IOPL); IOPL 3 is for QEMU's TCG, which checks the bitmap only
 * through an *available* TSS in TR's cache (type 9) and so raises #GP once
 * a restore has loaded TR as busy (type 11, as KVM reports it and as VMX
 * requires): seen in the nested tier (docs/NESTED.md).
 */
	.globl enter_user
enter_user:
	movl $SEL_UDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	pushq $SEL_UDATA
	pushq %rdx
	pushq $0x3202
	pushq $SEL_UCODE64
	pushq %rdi
	movq %rsi, %rdi
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %ebp, %ebp
	iretq

/* CPL3 landing pad: call the task function (rdi = arg), it must not return. */
	.globl user_start_bsp, user_start_ap, user_start_fault
user_start_bsp:
	call user_main_bsp
	ud2
user_start_ap:
	call user_main_ap
	ud2
user_start_fault:
	call user_fault_report
	ud2

/* kernel helpers called from C at CPL0 */
	.globl load_idt_tr
load_idt_tr:				/* (idt pointer, tss selector) */
	lidt (%rdi)
	ltr %si
	ret

/* ---------------------------------------------------------------- */
/* Interrupts.  The timer handlers stay minimal: each instruction here is
 * emulated. */
	.p2align 4
	.globl isr_timer_bsp
isr_timer_bsp:
	pushq %rax
	incq ticks(%rip)
	movl $LAPIC_BASE + 0xb0, %eax	/* EOI */
	movl $0, (%rax)
	popq %rax
	iretq

	.p2align 4
	.globl isr_timer_ap
isr_timer_ap:
	pushq %rax
	movl $LAPIC_BASE + 0xb0, %eax
	movl $0, (%rax)
	popq %rax
	iretq

	/* LAPIC spurious and (masked) legacy PIC vectors: no EOI. */
	.p2align 4
	.globl isr_ignore
isr_ignore:
	incq spurious_irqs(%rip)
	iretq

	/* int3 from CPL3: a tiny service call, number in RAX. */
	.p2align 4
	.globl isr_bp
isr_bp:
	cmpq $SVC_IDLE, %rax
	jne 1f
	sti
	hlt
	cli
	iretq
1:	cmpq $SVC_TRIPLE, %rax
	jne 2f
	lidt empty_idt_ptr
	ud2
2:	pushq $0
	pushq $3
	jmp exc_common

.macro EXC vec, err
	.p2align 4
	.globl exc_\vec
exc_\vec:
	.if \err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp exc_common
.endm
	EXC 0, 0
	EXC 1, 0
	EXC 2, 0
	EXC 4, 0
	EXC 5, 0
	EXC 6, 0
	EXC 7, 0
	EXC 8, 1
	EXC 9, 0
	EXC 10, 1
	EXC 11, 1
	EXC 12, 1
	EXC 13, 1
	EXC 14, 1
	EXC 15, 0
	EXC 16, 0
	EXC 17, 1
	EXC 18, 0
	EXC 19, 0
	EXC 20, 0
	EXC 21, 1
	EXC 22, 0
	EXC 23, 0
	EXC 24, 0
	EXC 25, 0
	EXC 26, 0
	EXC 27, 0
	EXC 28, 0
	EXC 29, 1
	EXC 30, 1
	EXC 31, 0
	/* any other vector that arrives: the IDT entry points here with the
	 * vector unknown; report it as 255 */
	EXC 255, 0

/* Stack: vector, error, rip, cs, rflags, rsp, ss.  Save the registers
 * and let C record the fault; it then leaves to the CPL3 reporter. */
exc_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	andq $-16, %rsp
	call kexception
	ud2

/* ---------------------------------------------------------------- */
/* AP trampoline: copied below 1 MiB at run time, entered by SIPI in real
 * mode at CS = page >> 4, IP = 0. */
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl ap_tramp_gdtptr - ap_tramp_start
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_KCODE32, $ap_entry32
	.p2align 3
ap_tramp_gdtptr:
	.word gdt_end - gdt - 1
	.long gdt
ap_tramp_end:
	.code64

/* ---------------------------------------------------------------- */
	.section .data.pagetables, "aw"
	.p2align 12
	/* Identity map of 0-4 GiB with 2 MiB user pages; the 3-4 GiB hole
	 * uncached.  RAM above 4 GiB is added by kmain_bsp. */
	.globl pml4, pdpt, pd_low
pml4:
	.quad pdpt + 0x7
	.fill 511, 8, 0
pdpt:
	.quad pd_low + 0x7, pd_low + 0x1007, pd_low + 0x2007, pd_low + 0x3007
	.fill 508, 8, 0
pd_low:
	.set i, 0
	.rept 2048
	.if i < 1536
	.quad (i << 21) | 0x87
	.else
	.quad (i << 21) | 0x9f
	.endif
	.set i, i + 1
	.endr

	.data
	.p2align 4
	.globl gdt, gdt_end, gdt_ptr
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08 code32 */
	.quad 0x00cf92000000ffff	/* 0x10 data */
	.quad 0x00af9a000000ffff	/* 0x18 code64 */
	.quad 0x00cff2000000ffff	/* 0x20 user data */
	.quad 0x00affa000000ffff	/* 0x28 user code64 */
	.fill 2 * MAX_CPUS, 8, 0	/* TSS descriptors, filled at run time */
gdt_end:
	.p2align 4
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt
	.p2align 4
empty_idt_ptr:
	.word 0
	.quad 0

	.section .noinit, "aw", @nobits
	.p2align 12
	.globl kstacks, ustacks
kstacks:
	.skip KSTACK_SIZE * MAX_CPUS
ustacks:
	.skip USTACK_SIZE * MAX_CPUS

	.section .note.GNU-stack, "", @progbits
