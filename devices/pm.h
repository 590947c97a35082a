/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Power management ports (devices/pm.c): the isa-debug-exit compatible
 * power-off port and ACPI fixed hardware.  vmm/acpi.c describes the same
 * registers in the FADT, so both take them from here.
 */
#ifndef HYVE_PM_H
#define HYVE_PM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

#define PM_DEBUG_EXIT_PORT	0xf4	/* write: power off with that status */
#define PM_DEBUG_EXIT_LEN	4
#define PM_KBC_PORT		0x64	/* 8042 command: 0xfe = reset */
#define PM_KBC_RESET		0xfe

#define PM_IO_BASE		0x600
#define PM1_EVT_BLK		(PM_IO_BASE + 0x0)	/* PM1_STS, PM1_EN */
#define PM1_EVT_LEN		4
#define PM1_CNT_BLK		(PM_IO_BASE + 0x4)
#define PM1_CNT_LEN		2
#define PM_TMR_BLK		(PM_IO_BASE + 0x8)
#define PM_TMR_LEN		4
#define PM_RESET_REG		(PM_IO_BASE + 0xc)
#define PM_RESET_VALUE		0x01
#define PM_IO_LEN		0x10
#define PM_SCI_IRQ		9
#define PM_SLP_TYP_S5		5	/* the _S5_ package in the DSDT */
#define PM_TMR_HZ		3579545ULL

#define PM1_STS_TMR		0x0001
#define PM1_STS_PWRBTN		0x0100
#define PM1_STS_WAK		0x8000
#define PM1_CNT_SCI_EN		0x0001
#define PM1_CNT_SLP_TYP(v)	(((v) >> 10) & 7)
#define PM1_CNT_SLP_EN		0x2000

struct pm_softc {
	struct dev	*dev;
	pthread_mutex_t	 mtx;
	bool		 reg_exit, reg_kbc, reg_pm;
	/* registers */
	uint16_t	 pm1_sts;
	uint16_t	 pm1_en;
	uint16_t	 pm1_cnt;
	int64_t		 tmr_offset;	/* PM timer = host ticks + offset */
	uint32_t	 tmr_saved;	/* restored value, applied by resume */
	bool		 tmr_restored;
	int		 sci_level;
};

#endif /* HYVE_PM_H */
