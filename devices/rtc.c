/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * MC146818 real-time clock and CMOS RAM on ports 0x70/0x71.
 *
 * The clock is the host's realtime clock plus an offset in whole seconds,
 * so a guest that sets the time keeps its own, and a restored guest's
 * clock carries on from the host's clock (like a machine that slept).
 * Time registers are computed on every read, in BCD or binary and 12- or
 * 24-hour form as register B says.  UIP reads 1 during the last 244 us of
 * each second, so a guest's "wait for !UIP, read, check" loop works.
 * Not emulated: the periodic, alarm and update interrupts (IRQ 8); the
 * AF and UF flags of register C are computed when it is read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtc.h"

/* The dates a guest can set (century 19-99): 1900-01-01 to 9999-12-31 23:59:59. */
#define RTC_MIN_SECS	(-2208988800LL)
#define RTC_MAX_SECS	253402300799LL

static int64_t
host_ns(struct rtc_softc *sc)
{
	struct timespec ts;

	if (sc->clock != NULL)
		return sc->clock();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Host seconds, moved to local time when rtc.use_localtime is set. */
static int64_t
host_sec(struct rtc_softc *sc, int64_t ns)
{
	int64_t s = ns / 1000000000;

	if (sc->use_localtime) {
		struct tm tm;
		time_t t = (time_t)s;
		if (localtime_r(&t, &tm) != NULL)
			s += tm.tm_gmtoff;
	}
	return s;
}

int64_t
rtc_now(struct rtc_softc *sc)
{
	if (sc->nvram[RTC_REG_B] & RTC_B_SET)
		return sc->frozen;
	return host_sec(sc, host_ns(sc)) + sc->offset;
}

static uint8_t
to_bcd(const struct rtc_softc *sc, unsigned v)
{
	if (sc->nvram[RTC_REG_B] & RTC_B_DM)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

/* -1 when @v is not a valid BCD byte. */
static int
from_bcd(const struct rtc_softc *sc, uint8_t v)
{
	if (sc->nvram[RTC_REG_B] & RTC_B_DM)
		return v;
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t
hour_out(const struct rtc_softc *sc, int h)
{
	bool pm;

	if (sc->nvram[RTC_REG_B] & RTC_B_24H)
		return to_bcd(sc, (unsigned)h);
	pm = h >= 12;
	h %= 12;
	if (h == 0)
		h = 12;
	return to_bcd(sc, (unsigned)h) | (pm ? RTC_HOUR_PM : 0);
}

static int
hour_in(const struct rtc_softc *sc, uint8_t v)
{
	int h;

	if (sc->nvram[RTC_REG_B] & RTC_B_24H)
		return from_bcd(sc, v);
	h = from_bcd(sc, v & ~RTC_HOUR_PM);
	if (h < 1 || h > 12)
		return -1;
	h %= 12;
	return (v & RTC_HOUR_PM) ? h + 12 : h;
}

static bool
is_time_reg(unsigned reg)
{
	return reg == RTC_SEC || reg == RTC_MIN || reg == RTC_HOUR ||
	    reg == RTC_WDAY || reg == RTC_MDAY || reg == RTC_MONTH ||
	    reg == RTC_YEAR || reg == RTC_CENTURY;
}

static uint8_t
time_read(struct rtc_softc *sc, unsigned reg)
{
	time_t t = (time_t)rtc_now(sc);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return 0xff;
	switch (reg) {
	case RTC_SEC:
		return to_bcd(sc, (unsigned)tm.tm_sec);
	case RTC_MIN:
		return to_bcd(sc, (unsigned)tm.tm_min);
	case RTC_HOUR:
		return hour_out(sc, tm.tm_hour);
	case RTC_WDAY:
		return to_bcd(sc, (unsigned)tm.tm_wday + 1);
	case RTC_MDAY:
		return to_bcd(sc, (unsigned)tm.tm_mday);
	case RTC_MONTH:
		return to_bcd(sc, (unsigned)tm.tm_mon + 1);
	case RTC_YEAR:
		return to_bcd(sc, (unsigned)(tm.tm_year + 1900) % 100);
	case RTC_CENTURY:
		return to_bcd(sc, (unsigned)(tm.tm_year + 1900) / 100);
	}
	return 0xff;
}

/* The guest sets one field of the time: the rest of the date stays. */
static void
time_write(struct rtc_softc *sc, unsigned reg, uint8_t v)
{
	time_t t = (time_t)rtc_now(sc);
	struct tm tm;
	int x = reg == RTC_HOUR ? hour_in(sc, v) : from_bcd(sc, v);
	int64_t secs;

	if (x < 0 || gmtime_r(&t, &tm) == NULL)
		goto bad;
	switch (reg) {
	case RTC_SEC:
		if (x > 59)
			goto bad;
		tm.tm_sec = x;
		break;
	case RTC_MIN:
		if (x > 59)
			goto bad;
		tm.tm_min = x;
		break;
	case RTC_HOUR:
		if (x > 23)
			goto bad;
		tm.tm_hour = x;
		break;
	case RTC_WDAY:
		/* Derived from the date; accepted and ignored. */
		return;
	case RTC_MDAY:
		if (x < 1 || x > 31)
			goto bad;
		tm.tm_mday = x;
		break;
	case RTC_MONTH:
		if (x < 1 || x > 12)
			goto bad;
		tm.tm_mon = x - 1;
		break;
	case RTC_YEAR:
		if (x > 99)
			goto bad;
		tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + x - 1900;
		break;
	case RTC_CENTURY:
		if (x < 19 || x > 99)
			goto bad;
		tm.tm_year = x * 100 + (tm.tm_year + 1900) % 100 - 1900;
		break;
	}
	secs = (int64_t)timegm(&tm);
	if (sc->nvram[RTC_REG_B] & RTC_B_SET)
		sc->frozen = secs;
	else
		sc->offset = secs - host_sec(sc, host_ns(sc));
	return;
bad:
	/* A real MC146818 would store garbage; keep the clock sane. */
	vm_log_guest(sc->dev->vm, "rtc: ignored invalid value %#x for register "
	    "%#x", v, reg);
}

static bool
uip(struct rtc_softc *sc)
{
	int64_t ns = host_ns(sc);

	if (sc->nvram[RTC_REG_B] & RTC_B_SET)
		return false;
	return ns % 1000000000 >= 1000000000 - RTC_UIP_USEC * 1000;
}

static bool
alarm_match(struct rtc_softc *sc)
{
	/* 0xc0-0xff in an alarm register matches any value. */
	static const unsigned a[3] = { RTC_SEC_ALARM, RTC_MIN_ALARM,
	    RTC_HOUR_ALARM };
	static const unsigned t[3] = { RTC_SEC, RTC_MIN, RTC_HOUR };
	unsigned i;

	for (i = 0; i < 3; i++) {
		uint8_t al = sc->nvram[a[i]];
		if ((al & 0xc0) == 0xc0)
			continue;
		if (al != time_read(sc, t[i]))
			return false;
	}
	return true;
}

static uint8_t
reg_read(struct rtc_softc *sc, unsigned reg)
{
	uint8_t v;
	int64_t now;

	if (is_time_reg(reg))
		return time_read(sc, reg);
	switch (reg) {
	case RTC_REG_A:
		return (sc->nvram[RTC_REG_A] & 0x7f) | (uip(sc) ? RTC_A_UIP : 0);
	case RTC_REG_C:
		/* Flags as of now; reading clears them. */
		v = 0;
		now = rtc_now(sc);
		if (now != sc->last_sec)
			v |= RTC_C_UF;
		if (alarm_match(sc))
			v |= RTC_C_AF;
		sc->last_sec = now;
		if (v & sc->nvram[RTC_REG_B] & (RTC_B_AIE | RTC_B_UIE))
			v |= RTC_C_IRQF;
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	}
	return sc->nvram[reg];
}

static void
reg_write(struct rtc_softc *sc, unsigned reg, uint8_t v)
{
	uint8_t old;

	if (is_time_reg(reg)) {
		time_write(sc, reg, v);
		return;
	}
	switch (reg) {
	case RTC_REG_A:
		sc->nvram[RTC_REG_A] = v & 0x7f;
		return;
	case RTC_REG_B:
		old = sc->nvram[RTC_REG_B];
		if ((v & RTC_B_SET) && !(old & RTC_B_SET))
			sc->frozen = rtc_now(sc);
		if (!(v & RTC_B_SET) && (old & RTC_B_SET))
			sc->offset = sc->frozen - host_sec(sc, host_ns(sc));
		if (v & RTC_B_SET)
			v &= ~RTC_B_UIE;	/* as the datasheet says */
		sc->nvram[RTC_REG_B] = v;
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return;		/* read-only */
	}
	sc->nvram[reg] = v;
}

static int
rtc_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct rtc_softc *sc = opaque;

	(void)size;	/* byte registers: wider accesses use the low byte */
	pthread_mutex_lock(&sc->mtx);
	if (off == 0) {
		if (is_write) {
			sc->index = *val & 0x7f;
			sc->nmi_disabled = (*val & 0x80) != 0;
		} else {
			*val = 0xff;	/* the index port is write-only */
		}
	} else if (is_write) {
		reg_write(sc, sc->index, (uint8_t)*val);
	} else {
		*val = reg_read(sc, sc->index);
	}
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

static void
rtc_reset(struct dev *d)
{
	struct rtc_softc *sc = d->softc;

	pthread_mutex_lock(&sc->mtx);
	/* Reset clears only the interrupt enables and flags. */
	sc->nvram[RTC_REG_B] &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE);
	pthread_mutex_unlock(&sc->mtx);
}

static int
rtc_init(struct dev *d)
{
	struct rtc_softc *sc;
	int rc;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return -ENOMEM;
	sc->dev = d;
	pthread_mutex_init(&sc->mtx, NULL);
	if ((rc = dev_cfg_get_bool(d, "use_localtime", false,
	    &sc->use_localtime)) != 0)
		goto fail;
	sc->nvram[RTC_REG_A] = 0x26;	/* 32.768 kHz time base, 1024 Hz */
	sc->nvram[RTC_REG_B] = RTC_B_24H;	/* BCD, 24-hour */
	sc->offset = 0;
	sc->last_sec = rtc_now(sc);
	if ((rc = vm_pio_register(d->vm, RTC_PORT, 2, rtc_io, sc,
	    "rtc")) != 0)
		goto fail;
	d->softc = sc;
	return 0;
fail:
	pthread_mutex_destroy(&sc->mtx);
	free(sc);
	return rc;
}

static void
rtc_fini(struct dev *d)
{
	struct rtc_softc *sc = d->softc;

	if (sc == NULL)
		return;
	vm_pio_unregister(d->vm, RTC_PORT);
	pthread_mutex_destroy(&sc->mtx);
	free(sc);
	d->softc = NULL;
}

/* ------------------------------------------------------------------------ */
/* Checkpoint                                                                */
/* ------------------------------------------------------------------------ */

/*
 * The clock is saved as its offset from the host's clock, so a restored
 * guest's RTC goes on from the host's time, as a machine's RTC does after
 * it slept.  "time" (the RTC's time when saved) is for people reading the
 * checkpoint.
 */
struct rtc_state {
	uint8_t	nvram[RTC_NREGS];
	uint8_t	index;
	bool	nmi_disabled;
	int64_t	offset, frozen, last_sec, time;
};

static int
rtc_state_io(ckp_io_t *io, struct rtc_state *s)
{
	CKP_IO_NAMED(io, "index", s->index);
	CKP_IO_NAMED(io, "nmi_disabled", s->nmi_disabled);
	ckp_io_bytes(io, "nvram", s->nvram, sizeof(s->nvram), 0);
	CKP_IO_NAMED(io, "offset", s->offset);
	CKP_IO_NAMED(io, "frozen", s->frozen);
	CKP_IO_NAMED_OPT(io, "last_sec", s->last_sec, 0);
	CKP_IO_NAMED_OPT(io, "time", s->time, 0);
	return ckp_io_error(io);
}

static int
rtc_save(struct dev *d, ckp_io_t *io)
{
	struct rtc_softc *sc = d->softc;
	struct rtc_state s;

	pthread_mutex_lock(&sc->mtx);
	memcpy(s.nvram, sc->nvram, sizeof(s.nvram));
	s.index = sc->index;
	s.nmi_disabled = sc->nmi_disabled;
	s.offset = sc->offset;
	s.frozen = sc->frozen;
	s.last_sec = sc->last_sec;
	s.time = rtc_now(sc);
	pthread_mutex_unlock(&sc->mtx);
	return rtc_state_io(io, &s);
}

static int
rtc_restore(struct dev *d, ckp_io_t *io)
{
	struct rtc_softc *sc = d->softc;
	struct rtc_state s;
	int rc;

	memset(&s, 0, sizeof(s));
	if ((rc = rtc_state_io(io, &s)) != 0)
		return rc;
	if (s.index >= RTC_NREGS)
		return ckp_doc_set_error(ckp_io_doc(io), -EINVAL,
		    "%s: index %u is not a register (0-127)", d->id, s.index);
	/*
	 * A guest can only set dates of years 1900-9999; a clock further out
	 * would overflow rtc_now() and the year arithmetic of every read.
	 */
	if (s.frozen < RTC_MIN_SECS || s.frozen > RTC_MAX_SECS)
		return ckp_doc_set_error(ckp_io_doc(io), -EINVAL,
		    "%s: frozen %lld is not a time of the years 1900-9999 "
		    "(%lld..%lld)", d->id, (long long)s.frozen,
		    (long long)RTC_MIN_SECS, (long long)RTC_MAX_SECS);
	if (s.offset < RTC_MIN_SECS - RTC_MAX_SECS ||
	    s.offset > RTC_MAX_SECS - RTC_MIN_SECS)
		return ckp_doc_set_error(ckp_io_doc(io), -EINVAL,
		    "%s: offset %lld s from the host's clock is more than the "
		    "%lld s between 1900 and 9999", d->id, (long long)s.offset,
		    (long long)(RTC_MAX_SECS - RTC_MIN_SECS));
	pthread_mutex_lock(&sc->mtx);
	memcpy(sc->nvram, s.nvram, sizeof(sc->nvram));
	sc->index = s.index;
	sc->nmi_disabled = s.nmi_disabled;
	sc->offset = s.offset;
	sc->frozen = s.frozen;
	sc->last_sec = s.last_sec;
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

const struct devemu devemu_rtc = {
	.name = "rtc",
	.version = 1,
	.init = rtc_init,
	.reset = rtc_reset,
	.save = rtc_save,
	.restore = rtc_restore,
	.fini = rtc_fini,
};
