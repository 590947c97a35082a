/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ckp_io: the type mapping of every C integer type, name derivation, one
 * code path saving and restoring, optional/match/bytes/string variants,
 * enter/leave with versions, and the same refusals and warnings for a
 * section read without a ckp_io (ckp_sec_require, ckp_sec_warn_unknown).
 */
#include <limits.h>

#include "test_ckp.h"

enum color { RED, GREEN, BLUE };

struct dev {
	bool		 b;
	char		 c;
	signed char	 sc;
	unsigned char	 uc;
	short		 s;
	unsigned short	 us;
	int		 i;
	unsigned int	 ui;
	long		 l;
	unsigned long	 ul;
	long long	 ll;
	unsigned long long ull;
	int8_t		 i8;
	uint16_t	 u16;
	int32_t		 i32;
	uint64_t	 u64;
	size_t		 sz;
	enum color	 col;
	uint8_t		 fifo[16];
	char		 name[32];
	uint8_t		 var[64];
	size_t		 varlen;
	uint32_t	 opt;
	uint8_t		 id;
};

static void
test_typeof(void)
{
	struct dev d;
	char cc = 0;

	CHECK(CKP_TYPEOF(d.b) == CKP_TYPE_BOOL);
	CHECK(CKP_TYPEOF(cc) == ((char)-1 < 0 ? CKP_TYPE_INT8 : CKP_TYPE_UINT8));
	CHECK(CKP_TYPEOF(d.sc) == CKP_TYPE_INT8);
	CHECK(CKP_TYPEOF(d.uc) == CKP_TYPE_UINT8);
	CHECK(CKP_TYPEOF(d.s) == CKP_TYPE_INT16);
	CHECK(CKP_TYPEOF(d.us) == CKP_TYPE_UINT16);
	CHECK(CKP_TYPEOF(d.i) == CKP_TYPE_INT32);
	CHECK(CKP_TYPEOF(d.ui) == CKP_TYPE_UINT32);
	CHECK(CKP_TYPEOF(d.l) == (sizeof(long) == 8 ? CKP_TYPE_INT64 : CKP_TYPE_INT32));
	CHECK(CKP_TYPEOF(d.ul) == (sizeof(long) == 8 ? CKP_TYPE_UINT64 : CKP_TYPE_UINT32));
	CHECK(CKP_TYPEOF(d.ll) == CKP_TYPE_INT64);
	CHECK(CKP_TYPEOF(d.ull) == CKP_TYPE_UINT64);
	CHECK(CKP_TYPEOF(d.i8) == CKP_TYPE_INT8);
	CHECK(CKP_TYPEOF(d.u16) == CKP_TYPE_UINT16);
	CHECK(CKP_TYPEOF(d.i32) == CKP_TYPE_INT32);
	CHECK(CKP_TYPEOF(d.u64) == CKP_TYPE_UINT64);
	CHECK(CKP_TYPEOF(d.sz) == (sizeof(size_t) == 8 ? CKP_TYPE_UINT64 : CKP_TYPE_UINT32));
	/* an enum is compatible with its underlying integer type */
	CHECK(CKP_TYPEOF(d.col) == CKP_TYPE_UINT32 || CKP_TYPEOF(d.col) == CKP_TYPE_INT32);
	/* qualifiers do not matter */
	const volatile uint16_t cv = 0;
	CHECK(CKP_TYPEOF(cv) == CKP_TYPE_UINT16);
	/* no mapping for floats, pointers, arrays */
	double f = 0;
	CHECK(CKP_TYPEOF(f) == CKP_TYPE_INVALID);
	CHECK(CKP_TYPEOF(d.fifo) == CKP_TYPE_INVALID);
	void *p = NULL;
	CHECK(CKP_TYPEOF(p) == CKP_TYPE_INVALID);
}

/* The one function a device would write: describes its state once. */
static int
dev_io(ckp_io_t *io, struct dev *d, unsigned idx)
{
	if (ckp_io_enter(io, "devices", 1) < 0)
		return ckp_io_error(io);
	if (ckp_io_enterf(io, 2, "dev@%u", idx) < 0) {
		ckp_io_leave(io);
		return ckp_io_error(io);
	}
	CKP_IO_NAMED_MATCH(io, "id", d->id);
	CKP_IO_NAMED(io, "b", d->b);
	CKP_IO_NAMED(io, "c", d->c);
	CKP_IO_NAMED(io, "sc", d->sc);
	CKP_IO_NAMED(io, "uc", d->uc);
	CKP_IO_NAMED(io, "s", d->s);
	CKP_IO_NAMED(io, "us", d->us);
	CKP_IO_NAMED(io, "i", d->i);
	CKP_IO_NAMED(io, "ui", d->ui);
	CKP_IO_NAMED(io, "l", d->l);
	CKP_IO_NAMED(io, "ul", d->ul);
	CKP_IO_NAMED(io, "ll", d->ll);
	CKP_IO_NAMED(io, "ull", d->ull);
	CKP_IO_NAMED(io, "i8", d->i8);
	CKP_IO_NAMED(io, "u16", d->u16);
	CKP_IO_NAMED(io, "i32", d->i32);
	CKP_IO_NAMED(io, "u64", d->u64);
	CKP_IO_NAMED(io, "sz", d->sz);
	CKP_IO_NAMED(io, "col", d->col);
	ckp_io_bytes(io, "fifo", d->fifo, sizeof(d->fifo), 0);
	ckp_io_string(io, "name", d->name, sizeof(d->name), 0);
	ckp_io_bytes_var(io, "var", d->var, sizeof(d->var), &d->varlen, 0);
	CKP_IO_NAMED_OPT(io, "opt", d->opt, 77);
	ckp_io_leave(io);
	ckp_io_leave(io);
	return ckp_io_error(io);
}

static void
fill(struct dev *d)
{
	memset(d, 0, sizeof(*d));
	d->b = true;
	d->c = 'x';
	d->sc = -128;
	d->uc = 255;
	d->s = -32768;
	d->us = 65535;
	d->i = INT_MIN;
	d->ui = UINT_MAX;
	d->l = LONG_MIN;
	d->ul = ULONG_MAX;
	d->ll = LLONG_MIN;
	d->ull = ULLONG_MAX;
	d->i8 = -5;
	d->u16 = 4242;
	d->i32 = -123456;
	d->u64 = 0xffffffff81085d96ull;
	d->sz = SIZE_MAX;
	d->col = BLUE;
	for (int i = 0; i < 16; i++)
		d->fifo[i] = (uint8_t)(i * 17);
	strcpy(d->name, "uart \xe2\x82\xac");
	d->varlen = 5;
	memcpy(d->var, "hello", 5);
	d->opt = 9;
	d->id = 3;
}

static int nwarn;
static char warns[4096];

static void
warn_cb(void *arg, const char *msg)
{
	(void)arg;
	nwarn++;
	strncat(warns, msg, sizeof(warns) - strlen(warns) - 2);
	strcat(warns, "\n");
}

static void
test_roundtrip(void)
{
	struct dev a, b;
	ckp_doc_t *doc = ckp_doc_new("test");
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_SAVE);

	fill(&a);
	CHECK(ckp_io_saving(io) && !ckp_io_restoring(io));
	CHECK(dev_io(io, &a, 0) == 0);
	CHECK(ckp_io_section(io) == ckp_doc_root(doc));
	ckp_io_free(io);
	CHECK(ckp_doc_error(doc) == 0);
	ckp_ent_t *e = ckp_doc_find(doc, "devices.dev@0.lcr");
	CHECK(e == NULL);
	e = ckp_doc_find(doc, "devices.dev@0.ull");
	CHECK(e != NULL && ckp_ent_type(e) == CKP_TYPE_UINT64);
	CHECK(ckp_sec_version(ckp_ent_section(ckp_doc_find(doc, "devices.dev@0"))) == 2);

	/* through every encoding and back */
	for (ckp_enc_t enc = CKP_ENC_JSON; enc <= CKP_ENC_CONF; enc++) {
		size_t len;
		char *buf = t_encode(doc, enc, &len);
		ckp_doc_t *rd = ckp_doc_decode(buf, len, "rt", 0);
		free(buf);
		CHECK(ckp_doc_error(rd) == 0);
		memset(&b, 0, sizeof(b));
		b.id = 3;	/* must match */
		nwarn = 0;
		ckp_doc_set_warn(rd, warn_cb, NULL);
		io = ckp_io_new(rd, CKP_IO_RESTORE);
		CHECK(dev_io(io, &b, 0) == 0);
		ckp_io_free(io);
		CHECK(nwarn == 0);
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
		ckp_doc_free(rd);
	}
	ckp_doc_free(doc);
}

static void
test_restore_rules(void)
{
	struct dev a, b;
	ckp_doc_t *doc = ckp_doc_new("test");
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_SAVE);

	fill(&a);
	dev_io(io, &a, 0);
	ckp_io_free(io);

	/* match: a different value is refused, naming both */
	fill(&b);
	b.id = 4;
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	CHECK(dev_io(io, &b, 0) == -EINVAL);
	CHECK_STR(ckp_doc_errmsg(doc),
	    "field devices.dev@0.id must match: the checkpoint has 3, this machine has 4");
	ckp_io_free(io);
	ckp_doc_clear_error(doc);

	/* optional: missing takes the default */
	ckp_sec_remove(ckp_ent_section(ckp_doc_find(doc, "devices.dev@0")), "opt");
	fill(&b);
	b.opt = 1;
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	CHECK(dev_io(io, &b, 0) == 0);
	CHECK(b.opt == 77);
	ckp_io_free(io);

	/* fixed-size bytes must have the size */
	ckp_sec_t *s = ckp_ent_section(ckp_doc_find(doc, "devices.dev@0"));
	ckp_sec_remove(s, "fifo");
	ckp_sec_add_bytes(s, "fifo", "abc", 3);
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	CHECK(dev_io(io, &b, 0) == -EINVAL);
	CHECK_STR(ckp_doc_errmsg(doc), "field devices.dev@0.fifo has 3 bytes, this program expects 16");
	ckp_io_free(io);
	ckp_doc_clear_error(doc);
	ckp_sec_remove(s, "fifo");
	ckp_sec_add_bytes(s, "fifo", a.fifo, 16);

	/* variable bytes: at most the capacity */
	uint8_t big[100] = { 0 };
	ckp_sec_remove(s, "var");
	ckp_sec_add_bytes(s, "var", big, sizeof(big));
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	CHECK(dev_io(io, &b, 0) == -EINVAL);
	CHECK_STR(ckp_doc_errmsg(doc), "field devices.dev@0.var has 100 bytes, at most 64 fit");
	ckp_io_free(io);
	ckp_doc_clear_error(doc);
	ckp_sec_remove(s, "var");
	ckp_sec_add_bytes(s, "var", "", 0);

	/* strings: must fit with their NUL */
	char longs[40];
	memset(longs, 'a', 39);
	longs[39] = '\0';
	ckp_sec_remove(s, "name");
	ckp_sec_add_string(s, "name", longs);
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	CHECK(dev_io(io, &b, 0) == -EINVAL);
	CHECK_STR(ckp_doc_errmsg(doc),
	    "field devices.dev@0.name: string of 39 bytes does not fit a buffer of 32");
	ckp_io_free(io);
	ckp_doc_clear_error(doc);
	ckp_doc_free(doc);
}

static void
test_save_errors(void)
{
	ckp_doc_t *doc = ckp_doc_new_empty();
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_SAVE);
	struct { int regs[4]; double f; char s[4]; } st = { { 1 }, 1.0, "abc" };
	int i = 0;

	/* a name that is not one: the message says what names are */
	CKP_IO_NAMED(io, "regs[i]", st.regs[i]);
	CHECK_HAS(ckp_doc_errmsg(doc), "invalid field name 'regs[i]' in the root (names match [A-Za-z0-9_-]+, at most 128 bytes)");
	ckp_doc_clear_error(doc);
	CKP_IO_NAMED(io, "regs_0", st.regs[0]);
	CHECK(ckp_doc_error(doc) == 0 && ckp_sec_has(ckp_doc_root(doc), "regs_0"));
	CKP_IO_NAMED(io, "f", st.f);
	CHECK_HAS(ckp_doc_errmsg(doc), "field f: unsupported C type (integers and bool only; use ckp_io_bytes for arrays and structs)");
	ckp_doc_clear_error(doc);
	CHECK(ckp_io_field(io, "w", CKP_TYPE_UINT32, &i, 2, 0, 0) == -EINVAL);
	CHECK_HAS(ckp_doc_errmsg(doc), "field w: a C variable of 2 bytes cannot hold a uint32");
	ckp_doc_clear_error(doc);
	CKP_IO_NAMED(io, "regs_0", st.regs[1]);
	CHECK_HAS(ckp_doc_errmsg(doc), "duplicate field regs_0");
	ckp_doc_clear_error(doc);
	memcpy(st.s, "abcd", 4);	/* not terminated */
	CHECK(ckp_io_string(io, "s", st.s, sizeof(st.s), 0) == -EINVAL);
	CHECK_HAS(ckp_doc_errmsg(doc), "field s: string is not NUL-terminated within 4 bytes");
	ckp_doc_clear_error(doc);
	ckp_io_leave(io);
	CHECK_HAS(ckp_doc_errmsg(doc), "ckp_io_leave() without a matching ckp_io_enter()");
	ckp_io_free(io);
	ckp_doc_free(doc);

	/* after a failed enter, errors are sticky and leave stays balanced */
	doc = ckp_doc_new_empty();
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	CHECK(ckp_io_enter(io, "devices", 1) == -ENOENT);
	CHECK_STR(ckp_doc_errmsg(doc), "missing section devices");
	CKP_IO_NAMED(io, "i", i);
	ckp_io_leave(io);
	CHECK(ckp_io_section(io) == ckp_doc_root(doc));
	CHECK_STR(ckp_doc_errmsg(doc), "missing section devices");
	ckp_io_free(io);
	ckp_doc_free(doc);
	CHECK(ckp_io_new(NULL, CKP_IO_SAVE) == NULL);
}

static void
test_enter_opt(void)
{
	ckp_doc_t *doc = ckp_doc_new_empty();
	ckp_sec_add(ckp_doc_root(doc), "present", 3);
	ckp_sec_add_uint8(ckp_doc_root(doc), "field", 1);
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_RESTORE);

	CHECK(ckp_io_enter_opt(io, "absent", 1) == -ENOENT);
	CHECK(ckp_doc_error(doc) == 0);
	CHECK(ckp_io_section(io) == ckp_doc_root(doc));
	CHECK(ckp_io_enter_opt(io, "present", 5) == 3);	/* returns the saved version */
	CHECK(ckp_io_section(io) == ckp_sec_find(ckp_doc_root(doc), "present"));
	ckp_io_leave(io);
	CHECK(ckp_io_enter(io, "field", 1) == -EINVAL);
	CHECK_STR(ckp_doc_errmsg(doc), "field is a uint8 field, this program expects a section");
	ckp_io_leave(io);
	ckp_io_free(io);
	ckp_doc_free(doc);

	doc = ckp_doc_new_empty();
	io = ckp_io_new(doc, CKP_IO_SAVE);
	CHECK(ckp_io_enter(io, "s", 7) == 7);
	CHECK(ckp_io_enter_opt(io, "t", 2) == 2);
	ckp_io_leave(io);
	ckp_io_leave(io);
	CHECK(ckp_doc_find(doc, "s.t") != NULL);
	CHECK(ckp_io_doc(io) == doc);
	ckp_io_free(io);
	ckp_doc_free(doc);
}

/*
 * ckp_sec_require() refuses what ckp_io_enter() refuses on restore, in the
 * same words, and takes what it takes; it marks nothing read.
 */
static void
test_sec_require(void)
{
	static const struct {
		const char *name;
		uint32_t version;
		int err;
	} c[] = {
		{ "dev", 2, 0 }, { "dev", 9, 0 },	/* as new, or older */
		{ "dev", 1, -EPROTONOSUPPORT },		/* newer than known */
		{ "absent", 1, -ENOENT },
		{ "field", 1, -EINVAL },		/* not a section */
	};
	char viaio[256];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ckp_doc_t *doc = ckp_doc_new_empty();
		ckp_sec_t *root = ckp_doc_root(doc), *devs, *got;
		ckp_io_t *io;

		devs = ckp_sec_add(root, "devices", 1);
		ckp_sec_add(devs, "dev", 2);
		ckp_sec_add_uint8(devs, "field", 1);
		io = ckp_io_new(doc, CKP_IO_RESTORE);
		CHECK(ckp_io_enter(io, "devices", 1) == 1);
		CHECK((ckp_io_enter(io, c[i].name, c[i].version) < 0) ==
		    (c[i].err != 0));
		snprintf(viaio, sizeof(viaio), "%s", ckp_doc_errmsg(doc));
		CHECK(ckp_doc_error(doc) == c[i].err);
		ckp_io_free(io);
		ckp_doc_clear_error(doc);

		got = ckp_sec_require(devs, c[i].name, c[i].version);
		CHECK((got == NULL) == (c[i].err != 0));
		CHECK(got == NULL || got == ckp_sec_find(devs, c[i].name));
		CHECK(ckp_doc_error(doc) == c[i].err);
		CHECK_STR(ckp_doc_errmsg(doc), viaio);
		/* A document's first error stays. */
		if (c[i].err != 0) {
			CHECK(ckp_sec_require(devs, "dev", 2) == NULL);
			CHECK_STR(ckp_doc_errmsg(doc), viaio);
		}
		ckp_doc_free(doc);
	}
	CHECK(ckp_sec_require(NULL, "x", 1) == NULL);
}

/* ckp_sec_warn_unknown() says what ckp_io_leave() says of unread entries. */
static void
test_warn_unknown(void)
{
	static const char *const known[] = { "header", "devices", "ram" };
	ckp_doc_t *doc = ckp_doc_new_empty();
	ckp_sec_t *root = ckp_doc_root(doc), *s;
	ckp_io_t *io;
	char viaio[4096];

	ckp_sec_add(root, "header", 1);
	ckp_sec_add(root, "devices", 1);
	ckp_sec_add(root, "future", 3);
	ckp_sec_add_uint16(root, "ram", 7);		/* known name, not a section */
	ckp_sec_add_string(root, "note", "x");
	nwarn = 0;
	warns[0] = '\0';
	ckp_doc_set_warn(doc, warn_cb, NULL);
	ckp_sec_warn_unknown(root, known, sizeof(known) / sizeof(known[0]));
	CHECK(nwarn == 3);
	CHECK_STR(warns, "unknown section future (version 3) ignored\n"
	    "unknown field ram$uint16 ignored\n"
	    "unknown field note$string ignored\n");

	/* The same entries one level down, left unread by a ckp_io. */
	s = ckp_sec_add(root, "top", 1);
	ckp_sec_add(s, "future", 3);
	ckp_sec_add_uint16(s, "ram", 7);
	ckp_sec_add_string(s, "note", "x");
	warns[0] = '\0';
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	CHECK(ckp_io_enter(io, "top", 1) == 1);
	ckp_io_leave(io);
	ckp_io_free(io);
	snprintf(viaio, sizeof(viaio), "%s", warns);
	warns[0] = '\0';
	ckp_sec_warn_unknown(s, NULL, 0);
	CHECK_STR(warns, viaio);
	CHECK_HAS(warns, "unknown section top.future (version 3) ignored");
	ckp_doc_set_warn(doc, NULL, NULL);
	ckp_doc_free(doc);
}

int
main(void)
{
	test_typeof();
	test_roundtrip();
	test_restore_rules();
	test_save_errors();
	test_enter_opt();
	test_sec_require();
	test_warn_unknown();
	TEST_END();
}
