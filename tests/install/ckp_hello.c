/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A program of someone else's that uses an installed libckp: it includes
 * <ckp.h> and links with `pkg-config --cflags --libs ckp`, nothing of this
 * tree.  tests/e2e/libckp_install.sh builds it against `make install`
 * output and checks what it prints.
 *
 * It writes a document (fields added by hand, and a struct through ckp_io),
 * encodes it as JSON, decodes that, and reads everything back.
 */
#include <ckp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct uart {
	uint8_t		lcr;
	uint16_t	divisor;
	bool		loopback;
};

/* One description of the state, for both directions. */
static int
uart_io(ckp_io_t *io, struct uart *u)
{
	if (ckp_io_enter(io, "uart@0", 1) < 0)
		return ckp_io_error(io);
	CKP_IO_NAMED(io, "lcr", u->lcr);
	CKP_IO_NAMED(io, "divisor", u->divisor);
	CKP_IO_NAMED_OPT(io, "loopback", u->loopback, false);
	ckp_io_leave(io);
	return ckp_io_error(io);
}

int
main(void)
{
	struct uart saved = { .lcr = 3, .divisor = 12, .loopback = true };
	struct uart restored = { 0 };
	ckp_doc_t *doc, *back;
	ckp_sec_t *demo;
	ckp_io_t *io;
	const char *greeting, *format;
	uint64_t answer = 0;
	void *buf;
	size_t len;

	if ((doc = ckp_doc_new("ckp_hello 1")) == NULL)
		return 1;
	demo = ckp_sec_add(ckp_doc_root(doc), "demo", 1);
	ckp_sec_add_uint64(demo, "answer", 42);
	ckp_sec_add_string(demo, "greeting", "hello");
	if ((io = ckp_io_new(doc, CKP_IO_SAVE)) == NULL)
		return 1;
	uart_io(io, &saved);
	ckp_io_free(io);
	if (ckp_doc_error(doc) != 0 ||
	    ckp_doc_encode(doc, CKP_ENC_JSON, &buf, &len) != 0) {
		fprintf(stderr, "ckp_hello: %s\n", ckp_doc_errmsg(doc));
		return 1;
	}
	ckp_doc_free(doc);

	back = ckp_doc_decode(buf, len, "<memory>", 0);
	free(buf);
	if (back == NULL)
		return 1;
	demo = ckp_sec_find(ckp_doc_root(back), "demo");
	ckp_sec_get_uint64(demo, "answer", &answer);
	ckp_sec_get_string(demo, "greeting", &greeting);
	ckp_sec_get_string(ckp_sec_find(ckp_doc_root(back), "header"),
	    "format", &format);
	if ((io = ckp_io_new(back, CKP_IO_RESTORE)) == NULL)
		return 1;
	uart_io(io, &restored);
	ckp_io_free(io);
	/* The sticky error: one check after all the reads. */
	if (demo == NULL || ckp_doc_error(back) != 0) {
		fprintf(stderr, "ckp_hello: %s\n", demo == NULL ?
		    "no section demo" : ckp_doc_errmsg(back));
		return 1;
	}
	printf("%s answer=%llu greeting=%s lcr=%u divisor=%u loopback=%d "
	    "checksum=%s\n", format, (unsigned long long)answer, greeting,
	    restored.lcr, restored.divisor, restored.loopback,
	    ckp_doc_sum_state(back) == CKP_SUM_OK ? "ok" : "bad");
	ckp_doc_free(back);
	return 0;
}
