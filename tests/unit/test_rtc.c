/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The MC146818 RTC on a test VM with a controlled host clock: BCD and
 * binary, 24- and 12-hour reads of a known date, update-in-progress,
 * setting the time (frozen while SET, then running from the new time),
 * invalid values, CMOS RAM, and registers C and D.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtc.h"
#include "vm_test.h"

#include "test_check.h"

static struct vm *vm;
static struct rtc_softc *sc;
static int64_t now_ns;

static int64_t
fake_clock(void)
{
	return now_ns;
}

static uint8_t
rd(uint8_t reg)
{
	uint64_t v = reg;

	CHECK(vm_test_pio(vm, RTC_PORT, 1, true, &v) == 0);
	CHECK(vm_test_pio(vm, RTC_PORT + 1, 1, false, &v) == 0);
	return (uint8_t)v;
}

static void
wr(uint8_t reg, uint8_t val)
{
	uint64_t v = reg;

	CHECK(vm_test_pio(vm, RTC_PORT, 1, true, &v) == 0);
	v = val;
	CHECK(vm_test_pio(vm, RTC_PORT + 1, 1, true, &v) == 0);
}

/* 2024-02-29 13:45:59 UTC, a Thursday. */
#define T0	1709214359LL

static void
test_read_bcd_binary(void)
{
	now_ns = T0 * 1000000000 + 500000000;
	CHECK((rd(RTC_REG_B) & (RTC_B_DM | RTC_B_24H)) == RTC_B_24H);
	CHECK(rd(RTC_SEC) == 0x59);
	CHECK(rd(RTC_MIN) == 0x45);
	CHECK(rd(RTC_HOUR) == 0x13);
	CHECK(rd(RTC_WDAY) == 5);
	CHECK(rd(RTC_MDAY) == 0x29);
	CHECK(rd(RTC_MONTH) == 0x02);
	CHECK(rd(RTC_YEAR) == 0x24);
	CHECK(rd(RTC_CENTURY) == 0x20);
	CHECK(rd(RTC_REG_D) == RTC_D_VRT);

	wr(RTC_REG_B, RTC_B_24H | RTC_B_DM);
	CHECK(rd(RTC_SEC) == 59 && rd(RTC_MIN) == 45 && rd(RTC_HOUR) == 13);
	CHECK(rd(RTC_MDAY) == 29 && rd(RTC_MONTH) == 2 && rd(RTC_YEAR) == 24);
	CHECK(rd(RTC_CENTURY) == 20);

	/* 12-hour: 13h is 1 PM */
	wr(RTC_REG_B, RTC_B_DM);
	CHECK(rd(RTC_HOUR) == (1 | RTC_HOUR_PM));
	wr(RTC_REG_B, 0);
	CHECK(rd(RTC_HOUR) == (0x01 | RTC_HOUR_PM));
	/* midnight is 12 AM, noon 12 PM */
	now_ns = (T0 - 13 * 3600 - 45 * 60 - 59) * 1000000000;
	CHECK(rd(RTC_HOUR) == 0x12);
	now_ns += 12LL * 3600 * 1000000000;
	CHECK(rd(RTC_HOUR) == (0x12 | RTC_HOUR_PM));
	wr(RTC_REG_B, RTC_B_24H);
}

static void
test_uip(void)
{
	now_ns = T0 * 1000000000 + 999900000;		/* 100 us before */
	CHECK(rd(RTC_REG_A) & RTC_A_UIP);
	now_ns = T0 * 1000000000 + 999700000;		/* 300 us before */
	CHECK(!(rd(RTC_REG_A) & RTC_A_UIP));
	now_ns = T0 * 1000000000;
	CHECK(!(rd(RTC_REG_A) & RTC_A_UIP));
	CHECK((rd(RTC_REG_A) & 0x7f) == 0x26);
	wr(RTC_REG_A, 0xa6);			/* UIP is read-only */
	CHECK((rd(RTC_REG_A) & 0x7f) == 0x26);
	now_ns = T0 * 1000000000 + 999900000;
	wr(RTC_REG_B, RTC_B_SET | RTC_B_24H);	/* no UIP while SET */
	CHECK(!(rd(RTC_REG_A) & RTC_A_UIP));
	wr(RTC_REG_B, RTC_B_24H);
}

static void
test_set_time(void)
{
	now_ns = T0 * 1000000000;
	wr(RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_UIE);
	CHECK(!(rd(RTC_REG_B) & RTC_B_UIE));	/* SET clears UIE */
	wr(RTC_CENTURY, 0x20);
	wr(RTC_YEAR, 0x30);
	wr(RTC_MONTH, 0x12);
	wr(RTC_MDAY, 0x31);
	wr(RTC_HOUR, 0x23);
	wr(RTC_MIN, 0x59);
	wr(RTC_SEC, 0x58);
	/* frozen while SET holds the clock */
	now_ns += 5LL * 1000000000;
	CHECK(rd(RTC_SEC) == 0x58 && rd(RTC_YEAR) == 0x30);
	wr(RTC_REG_B, RTC_B_24H);
	/* runs from the new time: 2030-12-31 23:59:58 + 3 s */
	now_ns += 3LL * 1000000000;
	CHECK(rd(RTC_SEC) == 0x01);
	CHECK(rd(RTC_MIN) == 0x00 && rd(RTC_HOUR) == 0x00);
	CHECK(rd(RTC_MDAY) == 0x01 && rd(RTC_MONTH) == 0x01);
	CHECK(rd(RTC_YEAR) == 0x31 && rd(RTC_CENTURY) == 0x20);
	CHECK(rd(RTC_WDAY) == 4);	/* 2031-01-01 is a Wednesday */
	CHECK(sc->offset != 0);

	/* one field written while running keeps the others */
	wr(RTC_MIN, 0x30);
	CHECK(rd(RTC_MIN) == 0x30 && rd(RTC_HOUR) == 0x00 &&
	    rd(RTC_YEAR) == 0x31);
	/* binary mode writes */
	wr(RTC_REG_B, RTC_B_24H | RTC_B_DM);
	wr(RTC_HOUR, 17);
	CHECK(rd(RTC_HOUR) == 17);
	/* 12-hour mode writes: 5 PM is 17h */
	wr(RTC_REG_B, RTC_B_DM);
	wr(RTC_HOUR, 5 | RTC_HOUR_PM);
	wr(RTC_REG_B, RTC_B_DM | RTC_B_24H);
	CHECK(rd(RTC_HOUR) == 17);
	wr(RTC_REG_B, RTC_B_24H);

	/* invalid values are refused, the clock stays sane */
	wr(RTC_SEC, 0x5a);	/* not BCD */
	wr(RTC_MONTH, 0x13);
	wr(RTC_MDAY, 0x00);
	wr(RTC_HOUR, 0x24);
	CHECK(rd(RTC_MONTH) == 0x01 && rd(RTC_MDAY) == 0x01 &&
	    rd(RTC_HOUR) == 0x17);
	wr(RTC_REG_B, 0);
	wr(RTC_HOUR, 0x13);	/* hour 13 in 12-hour mode */
	wr(RTC_REG_B, RTC_B_24H);
	CHECK(rd(RTC_HOUR) == 0x17);
}

static void
test_nvram_c(void)
{
	uint64_t v;
	unsigned i;

	for (i = 0x0e; i < RTC_NREGS; i++)
		if (i != RTC_CENTURY)
			wr((uint8_t)i, (uint8_t)(i ^ 0x5a));
	for (i = 0x0e; i < RTC_NREGS; i++)
		if (i != RTC_CENTURY)
			CHECK(rd((uint8_t)i) == (uint8_t)(i ^ 0x5a));
	/* bit 7 of the index masks NMIs and does not select a register */
	v = 0x80 | 0x20;
	CHECK(vm_test_pio(vm, RTC_PORT, 1, true, &v) == 0);
	CHECK(sc->nmi_disabled && sc->index == 0x20);
	CHECK(vm_test_pio(vm, RTC_PORT + 1, 1, false, &v) == 0 &&
	    v == (0x20 ^ 0x5a));
	CHECK(vm_test_pio(vm, RTC_PORT, 1, false, &v) == 0 && v == 0xff);

	/* C: UF once the second changed since the last read; cleared by reading */
	(void)rd(RTC_REG_C);
	CHECK(rd(RTC_REG_C) == 0 || (rd(RTC_REG_C) & RTC_C_UF) == 0);
	now_ns += 1000000000;
	CHECK(rd(RTC_REG_C) & RTC_C_UF);
	CHECK(!(rd(RTC_REG_C) & RTC_C_UF));
	/* alarm "don't care" in all three registers matches */
	wr(RTC_SEC_ALARM, 0xff);
	wr(RTC_MIN_ALARM, 0xff);
	wr(RTC_HOUR_ALARM, 0xff);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	CHECK((rd(RTC_REG_C) & (RTC_C_AF | RTC_C_IRQF)) ==
	    (RTC_C_AF | RTC_C_IRQF));
	wr(RTC_REG_B, RTC_B_24H);
	wr(RTC_REG_C, 0xff);		/* read-only */
	wr(RTC_REG_D, 0x00);
	CHECK(rd(RTC_REG_D) == RTC_D_VRT);
}

/*
 * A checkpoint whose clock is further out than the years 1900-9999 a guest
 * can set is refused, naming the field; before, offset 0x7fff...
 * overflowed rtc_now() (found by fuzz/fuzz_hyve_devstate.c, UBSan).
 */
static void
test_restore_range(struct dev *d)
{
	static const struct {
		const char *field, *value;
		bool ok;
	} cases[] = {
		{ "offset", "7fffffffffffffff", false },
		{ "offset", "-8000000000000000", false },
		{ "offset", "3b9aca0000", false },	/* 2.5e11 + */
		{ "frozen", "7fffffffffffffff", false },
		{ "frozen", "-83aa7e81", false },	/* 1899-12-31 23:59:59 */
		{ "frozen", "-83aa7e80", true },	/* 1900-01-01 */
		{ "frozen", "3afff4417f", true },	/* 9999-12-31 23:59:59 */
		{ "offset", "-1e187e00", true },
	};
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ckp_doc_t *doc = ckp_doc_new("test");
		ckp_io_t *io = ckp_io_new(doc, CKP_IO_SAVE);
		char path[64];
		ckp_ent_t *e;
		int64_t off0 = sc->offset, fr0 = sc->frozen;
		int rc;

		ckp_io_enter(io, "rtc", 1);
		CHECK(d->emu->save(d, io) == 0);
		ckp_io_leave(io);
		ckp_io_free(io);
		snprintf(path, sizeof(path), "rtc.%s", cases[i].field);
		e = ckp_doc_find(doc, path);
		CHECK(e != NULL && ckp_ent_set_text(e, cases[i].value) == 0);
		io = ckp_io_new(doc, CKP_IO_RESTORE);
		ckp_io_enter(io, "rtc", 1);
		rc = d->emu->restore(d, io);
		ckp_io_leave(io);
		ckp_io_free(io);
		if (cases[i].ok) {
			CHECK(rc == 0);
		} else {
			CHECK(rc < 0);
			CHECK(strstr(ckp_doc_errmsg(doc), cases[i].field) != NULL);
			CHECK(strstr(ckp_doc_errmsg(doc), "rtc") != NULL);
			CHECK(sc->offset == off0 && sc->frozen == fr0);
		}
		/* whatever was accepted reads as a date */
		wr(RTC_REG_B, RTC_B_24H | (strcmp(cases[i].field, "frozen") == 0 ?
		    RTC_B_SET : 0));
		(void)rd(RTC_YEAR);
		(void)rd(RTC_CENTURY);
		(void)rd(RTC_REG_C);
		ckp_doc_free(doc);
	}
	wr(RTC_REG_B, RTC_B_24H);
	sc->offset = 0;
}

int
main(void)
{
	struct dev *d;

	vm = vm_new_for_test(4 << 20);
	CHECK(vm != NULL);
	CHECK(vm_test_cfg_set(vm, "rtc.use_localtime", "false") == 0);
	d = vm_test_dev_add(vm, "rtc", "rtc", "rtc");
	CHECK(d != NULL);
	if (d == NULL)
		return 1;
	sc = d->softc;
	sc->clock = fake_clock;
	test_read_bcd_binary();
	test_uip();
	test_set_time();
	test_nvram_c();
	test_restore_range(d);
	vm_free(vm);

	/* with the real clock the RTC reads today's year */
	{
		time_t t = time(NULL);
		struct tm tm;
		uint8_t y;

		vm = vm_new_for_test(4 << 20);
		d = vm_test_dev_add(vm, "rtc", "rtc", "rtc");
		sc = d->softc;
		gmtime_r(&t, &tm);
		y = rd(RTC_YEAR);
		CHECK(((y >> 4) * 10 + (y & 15)) == tm.tm_year % 100);
		vm_free(vm);
	}
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_rtc: ok\n");
	return 0;
}
