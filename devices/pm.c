/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Power management: the ways a guest stops itself.
 *  - port 0xf4 (QEMU's isa-debug-exit): a write powers off with that status;
 *  - ACPI fixed hardware: PM1 event/control registers (S5 through SLP_TYP
 *    and SLP_EN, as the DSDT's _S5_ says), the 3.579545 MHz PM timer, and
 *    the FADT reset register;
 *  - the 8042 reset command (0xfe to port 0x64), Linux's reboot fallback.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pm.h"
#include "vmm.h"

static int64_t
host_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)(((__int128)ts.tv_sec * 1000000000 + ts.tv_nsec) *
	    PM_TMR_HZ / 1000000000);
}

static void
update_sci(struct pm_softc *sc)
{
	int level = (sc->pm1_sts & sc->pm1_en) != 0 &&
	    (sc->pm1_cnt & PM1_CNT_SCI_EN) != 0;

	if (level != sc->sci_level) {
		sc->sci_level = level;
		(void)vm_irq_line(sc->dev->vm, PM_SCI_IRQ, level);
	}
}

static int
debug_exit_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct pm_softc *sc = opaque;
	uint64_t v;

	(void)off;
	if (!is_write) {
		*val = ~0ULL;
		return 0;
	}
	v = *val & (size >= 8 ? ~0ULL : ((1ULL << (8 * size)) - 1));
	vm_poweroff(sc->dev->vm, (int)(uint32_t)v);
	return 0;
}

static int
kbc_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct pm_softc *sc = opaque;

	(void)off;
	(void)size;
	if (!is_write) {
		/* No 8042 here (the FADT says so): reads float high. */
		*val = ~0ULL;
		return 0;
	}
	if ((*val & 0xff) == PM_KBC_RESET)
		vm_request_reset(sc->dev->vm);
	return 0;
}

static uint32_t
pm_read(struct pm_softc *sc, unsigned reg, unsigned size)
{
	uint32_t v;

	switch (reg) {
	case PM1_EVT_BLK - PM_IO_BASE:
		v = sc->pm1_sts | (uint32_t)sc->pm1_en << 16;
		break;
	case PM1_EVT_BLK - PM_IO_BASE + 2:
		v = sc->pm1_en;
		break;
	case PM1_CNT_BLK - PM_IO_BASE:
		v = sc->pm1_cnt & ~PM1_CNT_SLP_EN;
		break;
	case PM_TMR_BLK - PM_IO_BASE:
		v = (uint32_t)(host_ticks() + sc->tmr_offset);
		break;
	default:
		v = 0;
		break;
	}
	if (size < 4)
		v &= (1U << (8 * size)) - 1;
	return v;
}

static void
pm_write(struct pm_softc *sc, unsigned reg, unsigned size, uint32_t v)
{
	switch (reg) {
	case PM1_EVT_BLK - PM_IO_BASE:
		sc->pm1_sts &= ~(uint16_t)v;	/* write 1 to clear */
		if (size == 4)
			sc->pm1_en = (uint16_t)(v >> 16);
		break;
	case PM1_EVT_BLK - PM_IO_BASE + 2:
		sc->pm1_en = (uint16_t)v;
		break;
	case PM1_CNT_BLK - PM_IO_BASE:
		/* SCI_EN stays set: there is no SMI_CMD to leave ACPI mode. */
		sc->pm1_cnt = (uint16_t)((v & ~PM1_CNT_SLP_EN) |
		    PM1_CNT_SCI_EN);
		if ((v & PM1_CNT_SLP_EN) &&
		    PM1_CNT_SLP_TYP(v) == PM_SLP_TYP_S5)
			vm_poweroff(sc->dev->vm, 0);
		else if (v & PM1_CNT_SLP_EN)
			vm_log_guest(sc->dev->vm, "pm: guest asked for sleep "
			    "type %u, which is not offered (only S5); ignored",
			    PM1_CNT_SLP_TYP(v));
		break;
	case PM_RESET_REG - PM_IO_BASE:
		if ((v & 0xff) == PM_RESET_VALUE)
			vm_request_reset(sc->dev->vm);
		break;
	default:
		break;	/* the timer is read-only */
	}
}

static int
pm_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct pm_softc *sc = opaque;

	pthread_mutex_lock(&sc->mtx);
	if (is_write)
		pm_write(sc, (unsigned)off, size, (uint32_t)*val);
	else
		*val = pm_read(sc, (unsigned)off, size);
	update_sci(sc);
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

static void
pm_reset(struct dev *d)
{
	struct pm_softc *sc = d->softc;

	pthread_mutex_lock(&sc->mtx);
	sc->pm1_sts = 0;
	sc->pm1_en = 0;
	sc->pm1_cnt = PM1_CNT_SCI_EN;
	update_sci(sc);
	pthread_mutex_unlock(&sc->mtx);
}

static void pm_fini(struct dev *d);

static int
pm_init(struct dev *d)
{
	struct pm_softc *sc;
	int rc;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return -ENOMEM;
	sc->dev = d;
	d->softc = sc;
	pthread_mutex_init(&sc->mtx, NULL);
	sc->pm1_cnt = PM1_CNT_SCI_EN;
	sc->tmr_offset = -host_ticks();
	if ((rc = vm_pio_register(d->vm, PM_DEBUG_EXIT_PORT,
	    PM_DEBUG_EXIT_LEN, debug_exit_io, sc, "pm (debug-exit)")) != 0)
		goto fail;
	sc->reg_exit = true;
	if ((rc = vm_pio_register(d->vm, PM_KBC_PORT, 1, kbc_io, sc,
	    "pm (8042 reset)")) != 0)
		goto fail;
	sc->reg_kbc = true;
	if ((rc = vm_pio_register(d->vm, PM_IO_BASE, PM_IO_LEN, pm_io, sc,
	    "pm (ACPI)")) != 0)
		goto fail;
	sc->reg_pm = true;
	return 0;
fail:
	pm_fini(d);
	return rc;
}

static void
pm_fini(struct dev *d)
{
	struct pm_softc *sc = d->softc;

	if (sc == NULL)
		return;
	if (sc->reg_exit)
		vm_pio_unregister(d->vm, PM_DEBUG_EXIT_PORT);
	if (sc->reg_kbc)
		vm_pio_unregister(d->vm, PM_KBC_PORT);
	if (sc->reg_pm)
		vm_pio_unregister(d->vm, PM_IO_BASE);
	pthread_mutex_destroy(&sc->mtx);
	free(sc);
	d->softc = NULL;
}

static int
pm_resume(struct dev *d)
{
	struct pm_softc *sc = d->softc;

	pthread_mutex_lock(&sc->mtx);
	/* A restored PM timer goes on from its saved value. */
	if (sc->tmr_restored) {
		sc->tmr_offset = (int64_t)sc->tmr_saved - host_ticks();
		sc->tmr_restored = false;
	}
	sc->sci_level = -1;
	update_sci(sc);
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Checkpoint: the PM1 registers and the PM timer's value.                   */
/* ------------------------------------------------------------------------ */

struct pm_state {
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint32_t tmr;
};

static int
pm_state_io(ckp_io_t *io, struct pm_state *s)
{
	CKP_IO_NAMED(io, "pm1_sts", s->pm1_sts);
	CKP_IO_NAMED(io, "pm1_en", s->pm1_en);
	CKP_IO_NAMED(io, "pm1_cnt", s->pm1_cnt);
	CKP_IO_NAMED(io, "tmr", s->tmr);
	return ckp_io_error(io);
}

static int
pm_save(struct dev *d, ckp_io_t *io)
{
	struct pm_softc *sc = d->softc;
	struct pm_state s;

	pthread_mutex_lock(&sc->mtx);
	s = (struct pm_state){ .pm1_sts = sc->pm1_sts, .pm1_en = sc->pm1_en,
	    .pm1_cnt = sc->pm1_cnt,
	    .tmr = (uint32_t)(host_ticks() + sc->tmr_offset) };
	pthread_mutex_unlock(&sc->mtx);
	return pm_state_io(io, &s);
}

static int
pm_restore(struct dev *d, ckp_io_t *io)
{
	struct pm_softc *sc = d->softc;
	struct pm_state s;
	int rc;

	memset(&s, 0, sizeof(s));
	if ((rc = pm_state_io(io, &s)) != 0)
		return rc;
	pthread_mutex_lock(&sc->mtx);
	sc->pm1_sts = s.pm1_sts;
	sc->pm1_en = s.pm1_en;
	sc->pm1_cnt = (uint16_t)((s.pm1_cnt & ~PM1_CNT_SLP_EN) |
	    PM1_CNT_SCI_EN);
	sc->tmr_saved = s.tmr;
	sc->tmr_restored = true;
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

const struct devemu devemu_pm = {
	.name = "pm",
	.version = 1,
	.init = pm_init,
	.reset = pm_reset,
	.resume = pm_resume,
	.save = pm_save,
	.restore = pm_restore,
	.fini = pm_fini,
};
