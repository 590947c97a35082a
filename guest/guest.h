/* The test guest's shared declarations. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "layout.h"

#define GUEST_VERSION	"1.2"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a) - 1))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))
#define KiB		1024ULL
#define MiB		(1024ULL * 1024)
#define GiB		(1024ULL * 1024 * 1024)

/* Exit statuses written to port 0xf4 (docs/GUEST.md) */
#define ST_OK		0
#define ST_FAIL		1	/* a workload failed */
#define ST_CMDLINE	2	/* bad command line */
#define ST_FAULT	3	/* unexpected exception */
#define ST_BOOT		4	/* boot problem: bad start info, AP did not start... */
#define ST_SURVIVED	5	/* a `fault` workload was not stopped by the VMM */

/* ---- port I/O, MMIO, CPU ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u16 mmio_read16(u64 a) { return *(volatile u16 *)a; }
static inline void mmio_write16(u64 a, u16 v) { *(volatile u16 *)a = v; }
static inline u8 mmio_read8(u64 a) { return *(volatile u8 *)a; }
static inline void mmio_write8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline u64 mmio_read64(u64 a) { return *(volatile u64 *)a; }
static inline void mmio_write64(u64 a, u64 v) { *(volatile u64 *)a = v; }

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}
static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mb(void) { __asm__ volatile("mfence" ::: "memory"); }

/* int3 service call from CPL3 (layout.h SVC_*). */
static inline void svc(u64 nr)
{
	__asm__ volatile("int3" : "+a"(nr) :: "memory");
}
/* Wait for the next interrupt on this vCPU (a timer tick at most 1/hz away). */
static inline void idle(void) { svc(SVC_IDLE); }

/* ---- spinlock (lock cmpxchg works at CPL3) ---- */
typedef struct { volatile u32 v; } spinlock_t;
static inline bool spin_trylock(spinlock_t *l)
{
	u32 expected = 0;
	return __atomic_compare_exchange_n(&l->v, &expected, 1, false,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
static inline void spin_lock(spinlock_t *l)
{
	while (!spin_trylock(l))
		while (l->v)
			cpu_relax();
}
static inline void spin_unlock(spinlock_t *l) { __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE); }

/* ---- lib.c ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* parse an unsigned number (decimal or 0x hex) with an optional K/M/G suffix */
int parse_u64(const char *s, u64 *out, bool suffix);
int parse_ipv4(const char *s, u32 *out);

/* ---- console.c ---- */
void console_init(void);
/* one line, formatted, written whole under the console lock ('\n' added) */
void cprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_write(const char *s, size_t n);
/* one character without a newline (beacon); the next line starts on its own */
void console_putc(char c);
void console_force_unlock(void);

/* ---- kernel.c (CPL0) and the state it leaves to CPL3 ---- */
struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;
	u32 memmap_entries;
	u32 reserved;
};
struct hvm_memmap_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};

struct exc_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error, rip, cs, rflags, rsp, ss;
};
struct fault_info {
	struct exc_frame f;
	u64 cr2;
	u32 cpu;
	volatile u32 valid;
};

extern volatile u64 ticks;		/* BSP timer interrupts */
extern volatile u64 spurious_irqs;
extern u32 boot_start_info;		/* EBX at entry */
extern u64 mapped_top;			/* identity map covers [0, mapped_top) */
extern bool boot_map_truncated;
extern volatile u64 ap_boot_kstack;
extern volatile u32 ap_boot_index;
extern struct fault_info fault_info[MAX_CPUS];
extern char __image_start[], __image_end[];
extern char ustacks[];
extern char ap_tramp_start[], ap_tramp_end[];

static inline u64 ustack_top(u32 cpu)
{
	return (u64)ustacks + (u64)(cpu + 1) * USTACK_SIZE - 8;
}

/* ---- main.c ---- */
struct cpu_state {
	u32 apic_id;
	volatile u32 online;
};
extern struct cpu_state cpus[MAX_CPUS];
extern u32 ncpus;
extern u32 hz;
extern u64 seed;
extern u64 tsc_khz;
extern u64 lapic_hz;
extern bool verbose;
void power_off(u32 status) __attribute__((noreturn));
void guest_exit(u32 status) __attribute__((noreturn));
u64 now_ms(void);		/* TSC based */
void delay_us(u64 us);
void wait_ticks(u64 n);		/* idles on this vCPU until `ticks` advanced by n */

#endif
