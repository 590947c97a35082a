/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * MC146818 RTC and CMOS RAM (devices/rtc.c), shared with its unit test.
 */
#ifndef HYVE_RTC_H
#define HYVE_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

#define RTC_PORT	0x70	/* index (bit 7: NMI disable) */
#define RTC_NREGS	128

#define RTC_SEC		0x00
#define RTC_SEC_ALARM	0x01
#define RTC_MIN		0x02
#define RTC_MIN_ALARM	0x03
#define RTC_HOUR	0x04
#define RTC_HOUR_ALARM	0x05
#define RTC_WDAY	0x06
#define RTC_MDAY	0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d
#define RTC_CENTURY	0x32	/* where the FADT says the century is */

#define RTC_A_UIP	0x80
#define RTC_B_SET	0x80
#define RTC_B_PIE	0x40
#define RTC_B_AIE	0x20
#define RTC_B_UIE	0x10
#define RTC_B_DM	0x04	/* binary (else BCD) */
#define RTC_B_24H	0x02
#define RTC_C_IRQF	0x80
#define RTC_C_AF	0x20
#define RTC_C_UF	0x10
#define RTC_D_VRT	0x80
#define RTC_HOUR_PM	0x80	/* 12-hour mode */

/* Microseconds before each second during which UIP reads 1. */
#define RTC_UIP_USEC	244

struct rtc_softc {
	struct dev	*dev;
	pthread_mutex_t	 mtx;
	bool		 registered;
	bool		 use_localtime;
	/* For tests: the host clock (ns since the epoch); NULL = real. */
	int64_t		(*clock)(void);

	/* guest-visible state */
	uint8_t		 index;		/* selected register */
	bool		 nmi_disabled;	/* bit 7 of the last index write */
	uint8_t		 nvram[RTC_NREGS];	/* alarms, A-D, CMOS RAM */
	int64_t		 offset;	/* RTC seconds - host seconds */
	int64_t		 frozen;	/* RTC seconds while B.SET holds the clock */
	int64_t		 last_sec;	/* RTC second at the last C read (UF) */
};

extern const struct devemu devemu_rtc;

/* The RTC's current time, seconds since 1970 as broken-down UTC fields. */
int64_t rtc_now(struct rtc_softc *sc);

#endif /* HYVE_RTC_H */
