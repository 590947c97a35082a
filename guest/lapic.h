#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H
#include "guest.h"

#define LAPIC_ID	0x20
#define LAPIC_EOI	0xb0
#define LAPIC_TPR	0x80
#define LAPIC_SVR	0xf0
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_ERR	0x370
#define LAPIC_TMICT	0x380
#define LAPIC_TMCCT	0x390
#define LAPIC_TDCR	0x3e0

static inline u32 lapic_read(u32 reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(u32 reg, u32 v) { mmio_write32(LAPIC_BASE + reg, v); }
static inline u32 lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }

extern const char *clock_source;
int timer_calibrate(void);
void lapic_setup(bool bsp);
int smp_start(void);

#endif
