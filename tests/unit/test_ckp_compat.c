/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Compatibility rules, one test each: fields are found by name, never by
 * position; a missing optional field takes its default; a missing
 * required field names section.field; unknown fields and sections survive
 * conversion and are reported on restore; a type mismatch names both
 * types; a newer section version is refused with a clear message, an
 * older one is accepted and the code can tell.
 */
#include "test_ckp.h"

/* Version 2 of a UART model: v1 had no "scr" (scratch) register. */
struct uart {
	uint8_t	 lcr;
	uint8_t	 ier;
	uint8_t	 scr;
	uint16_t divisor;
	uint8_t	 fifo[4];
};

static int
uart_io(ckp_io_t *io, struct uart *sc)
{
	int ver;

	if (ckp_io_enter(io, "devices", 1) < 0 ||
	    (ver = ckp_io_enter(io, "uart@0", 2)) < 0)
		return ckp_io_error(io);
	CKP_IO_NAMED(io, "lcr", sc->lcr);
	CKP_IO_NAMED(io, "ier", sc->ier);
	if (ver >= 2 || ckp_io_saving(io))
		CKP_IO_NAMED(io, "scr", sc->scr);
	else
		sc->scr = 0xee;	/* what v1 hardware read back */
	CKP_IO_NAMED_OPT(io, "divisor", sc->divisor, 12);
	ckp_io_bytes(io, "fifo", sc->fifo, sizeof(sc->fifo), 0);
	ckp_io_leave(io);
	ckp_io_leave(io);
	return ckp_io_error(io);
}

static int nwarn;
static char warns[2048];

static void
warn_cb(void *arg, const char *msg)
{
	(void)arg;
	nwarn++;
	strncat(warns, msg, sizeof(warns) - strlen(warns) - 2);
	strcat(warns, "\n");
}

/* Restore from hand-written JSON (no checksum). */
static int
restore_json(const char *js, struct uart *sc, char *msg, size_t msglen)
{
	ckp_doc_t *d = t_decode(js, CKP_LOAD_NOVERIFY);
	int err;

	if (ckp_doc_error(d) != 0) {
		snprintf(msg, msglen, "decode: %s", ckp_doc_errmsg(d));
		ckp_doc_free(d);
		return -999;
	}
	nwarn = 0;
	warns[0] = '\0';
	ckp_doc_set_warn(d, warn_cb, NULL);
	ckp_io_t *io = ckp_io_new(d, CKP_IO_RESTORE);
	memset(sc, 0x55, sizeof(*sc));
	err = uart_io(io, sc);
	snprintf(msg, msglen, "%s", ckp_doc_errmsg(d));
	ckp_io_free(io);
	ckp_doc_free(d);
	return err;
}

int
main(void)
{
	struct uart sc;
	char msg[1024];

	/* by name, not position: reordered fields and sections restore */
	CHECK(restore_json("{\"devices\": {\"$version\": 1,"
	    " \"other@0\": {\"$version\": 1},"
	    " \"uart@0\": {\"$version\": 2, \"fifo$b64\": \"AQIDBA==\", \"divisor$uint16\": 3,"
	    " \"scr$uint8\": 7, \"ier$uint8\": 15, \"lcr$uint8\": 3}}}",
	    &sc, msg, sizeof(msg)) == 0);
	CHECK(sc.lcr == 3 && sc.ier == 15 && sc.scr == 7 && sc.divisor == 3 &&
	    memcmp(sc.fifo, "\1\2\3\4", 4) == 0);

	/* missing optional: default */
	CHECK(restore_json("{\"devices\": {\"$version\": 1, \"uart@0\": {\"$version\": 2,"
	    " \"lcr$uint8\": 3, \"ier$uint8\": 1, \"scr$uint8\": 7, \"fifo$b64\": \"AAAAAA==\"}}}",
	    &sc, msg, sizeof(msg)) == 0);
	CHECK(sc.divisor == 12);
	CHECK(nwarn == 0);

	/* missing required: section.field */
	CHECK(restore_json("{\"devices\": {\"$version\": 1, \"uart@0\": {\"$version\": 2,"
	    " \"lcr$uint8\": 3, \"scr$uint8\": 7, \"fifo$b64\": \"AAAAAA==\"}}}",
	    &sc, msg, sizeof(msg)) == -ENOENT);
	CHECK_STR(msg, "missing field devices.uart@0.ier");

	/* unknown fields and sections: reported, not fatal */
	CHECK(restore_json("{\"devices\": {\"$version\": 1, \"uart@0\": {\"$version\": 2,"
	    " \"lcr$uint8\": 3, \"ier$uint8\": 1, \"scr$uint8\": 7, \"fifo$b64\": \"AAAAAA==\","
	    " \"msr$uint8\": 9, \"future\": {\"$version\": 4, \"x$bool\": true}},"
	    " \"rng@0\": {\"$version\": 1}}}",
	    &sc, msg, sizeof(msg)) == 0);
	CHECK(nwarn == 3);
	CHECK_HAS(warns, "unknown field devices.uart@0.msr$uint8 ignored\n");
	CHECK_HAS(warns, "unknown section devices.uart@0.future (version 4) ignored\n");
	CHECK_HAS(warns, "unknown section devices.rng@0 (version 1) ignored\n");

	/* ... and kept by every conversion */
	ckp_doc_t *d = t_decode("{\"devices\": {\"$version\": 1, \"uart@0\": {\"$version\": 2,"
	    " \"msr$uint8\": 9, \"future\": {\"$version\": 4, \"x$bool\": true}}}}",
	    CKP_LOAD_NOVERIFY);
	for (ckp_enc_t a = CKP_ENC_JSON; a <= CKP_ENC_CONF; a++) {
		size_t len;
		char *buf = t_encode(d, a, &len);
		ckp_doc_t *d2 = ckp_doc_decode(buf, len, "c", 0);
		CHECK(ckp_doc_error(d2) == 0);
		CHECK(ckp_doc_find(d2, "devices.uart@0.msr") != NULL);
		CHECK(ckp_doc_find(d2, "devices.uart@0.future.x") != NULL);
		CHECK(ckp_sec_version(ckp_ent_section(ckp_doc_find(d2,
		    "devices.uart@0.future"))) == 4);
		free(buf);
		ckp_doc_free(d2);
	}
	ckp_doc_free(d);

	/* type mismatch: both types */
	CHECK(restore_json("{\"devices\": {\"$version\": 1, \"uart@0\": {\"$version\": 2,"
	    " \"lcr$uint16\": 3}}}", &sc, msg, sizeof(msg)) == -EINVAL);
	CHECK_STR(msg, "field devices.uart@0.lcr has type uint16, this program expects uint8");

	/* newer version: refused, clearly */
	CHECK(restore_json("{\"devices\": {\"$version\": 1, \"uart@0\": {\"$version\": 3,"
	    " \"lcr$uint8\": 3}}}", &sc, msg, sizeof(msg)) == -EPROTONOSUPPORT);
	CHECK_STR(msg, "section devices.uart@0 has version 3, newer than the 2 this program knows");

	/* older version: accepted; the code sees v1 and fills what v1 lacked */
	CHECK(restore_json("{\"devices\": {\"$version\": 1, \"uart@0\": {\"$version\": 1,"
	    " \"lcr$uint8\": 3, \"ier$uint8\": 1, \"divisor$uint16\": 1, \"fifo$b64\": \"AAAAAA==\"}}}",
	    &sc, msg, sizeof(msg)) == 0);
	CHECK(sc.scr == 0xee && sc.lcr == 3 && sc.divisor == 1);

	/* a seed-review file has no versions (0): accepted as oldest */
	CHECK(restore_json("{\"devices\": [{\"uart@0\": [{"
	    " \"lcr$uint8\": 3, \"ier$uint8\": 1, \"divisor$uint16\": 1, \"fifo$b64\": \"AAAAAA==\"}]}]}",
	    &sc, msg, sizeof(msg)) == 0);
	CHECK(sc.scr == 0xee);

	/* missing section */
	CHECK(restore_json("{\"devices\": {\"$version\": 1}}", &sc, msg,
	    sizeof(msg)) == -ENOENT);
	CHECK_STR(msg, "missing section devices.uart@0");

	/* saving writes what restoring reads */
	struct uart a = { 1, 2, 3, 4, { 5, 6, 7, 8 } }, b;
	d = ckp_doc_new("t");
	ckp_io_t *io = ckp_io_new(d, CKP_IO_SAVE);
	CHECK(uart_io(io, &a) == 0);
	ckp_io_free(io);
	io = ckp_io_new(d, CKP_IO_RESTORE);
	memset(&b, 0, sizeof(b));
	CHECK(uart_io(io, &b) == 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	ckp_io_free(io);
	ckp_doc_free(d);
	TEST_END();
}
