/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The document tree: names, duplicates, order, lookups, paths, removal,
 * the sticky error, getters, entries as text, the header.
 */
#include <time.h>

#include "test_ckp.h"

static int nwarn;
static char lastwarn[512];

static void
warn_cb(void *arg, const char *msg)
{
	(void)arg;
	nwarn++;
	snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
}

static void
test_names(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *r = ckp_doc_root(d);
	char longname[CKP_MAX_NAME + 2];

	CHECK(ckp_sec_add(r, "vcpu@0", 1) != NULL);
	CHECK(ckp_sec_add(r, "vcpu@4294967295", 1) != NULL);
	CHECK(ckp_sec_add(r, "a-b_C9", 1) != NULL);
	CHECK(ckp_doc_error(d) == 0);

	static const char *bad_secs[] = { "", "a.b", "a b", "a$b", "@1", "a@",
	    "a@01", "a@-1", "a@1x", "a@4294967296", "a@1@2", "caf\xc3\xa9" };
	for (size_t i = 0; i < sizeof(bad_secs) / sizeof(bad_secs[0]); i++) {
		ckp_doc_clear_error(d);
		CHECK(ckp_sec_add(r, bad_secs[i], 1) == NULL);
		CHECK(ckp_doc_error(d) == -EINVAL);
		CHECK_HAS(ckp_doc_errmsg(d), "invalid section name");
	}
	ckp_doc_clear_error(d);
	ckp_sec_add_uint8(r, "f@0", 1);	/* @N is for sections only */
	CHECK_HAS(ckp_doc_errmsg(d), "invalid field name 'f@0' in the root section");

	memset(longname, 'x', CKP_MAX_NAME);
	longname[CKP_MAX_NAME] = '\0';
	ckp_doc_clear_error(d);
	ckp_sec_add_uint8(r, longname, 1);
	CHECK(ckp_doc_error(d) == 0);
	longname[CKP_MAX_NAME] = 'x';
	longname[CKP_MAX_NAME + 1] = '\0';
	ckp_sec_add_uint8(r, longname, 1);
	CHECK(ckp_doc_error(d) == -EINVAL);

	/* sticky: later calls are no-ops until cleared */
	ckp_sec_add_uint8(r, "fine", 1);
	CHECK(!ckp_sec_has(r, "fine"));
	ckp_doc_clear_error(d);
	CHECK_STR(ckp_doc_errmsg(d), "");
	ckp_sec_add_uint8(r, "fine", 1);
	CHECK(ckp_sec_has(r, "fine"));

	/* duplicates: by name, whatever the type */
	ckp_sec_add_uint16(r, "fine", 2);
	CHECK(ckp_doc_error(d) == -EEXIST);
	CHECK_HAS(ckp_doc_errmsg(d), "duplicate name 'fine' in the root section");
	ckp_doc_clear_error(d);
	ckp_sec_t *dev = ckp_sec_add(r, "devices", 1);
	ckp_sec_add(dev, "uart@0", 2);
	ckp_sec_add(dev, "uart@0", 2);
	CHECK_HAS(ckp_doc_errmsg(d), "duplicate name 'uart@0' in section devices");
	ckp_doc_free(d);
}

static void
test_order_lookup(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *r = ckp_doc_root(d), *s;
	char name[32];
	int i;

	/* many entries: the hash index must find every one, order kept */
	s = ckp_sec_add(r, "big", 1);
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "n%d", 4999 - i);
		ckp_sec_add_uint32(s, name, (uint32_t)i);
	}
	CHECK(ckp_doc_error(d) == 0);
	i = 0;
	bool order_ok = true, lookup_ok = true;
	for (ckp_ent_t *e = ckp_sec_first(s); e; e = ckp_ent_next(e), i++) {
		snprintf(name, sizeof(name), "n%d", 4999 - i);
		if (strcmp(ckp_ent_name(e), name) != 0)
			order_ok = false;
		if (ckp_sec_lookup(s, name) != e)
			lookup_ok = false;
	}
	CHECK(order_ok && lookup_ok && i == 5000);
	CHECK(ckp_sec_lookup(s, "n5000") == NULL);
	uint32_t v;
	CHECK(ckp_sec_get_uint32(s, "n0", &v) == 0 && v == 4999);

	/* removal keeps order and lookups right, in a small and a big section */
	for (i = 0; i < 5000; i += 2) {
		snprintf(name, sizeof(name), "n%d", i);
		CHECK(i > 10 || ckp_sec_remove(s, name) == 0);
		if (i > 10)
			ckp_sec_remove(s, name);
	}
	CHECK(ckp_sec_remove(s, "n0") == -ENOENT);
	CHECK(ckp_sec_lookup(s, "n1") != NULL);
	CHECK(ckp_sec_lookup(s, "n2") == NULL);
	ckp_sec_add_bool(s, "n2", true);	/* a removed name can come back */
	CHECK(ckp_doc_error(d) == 0);
	i = 0;
	for (ckp_ent_t *e = ckp_sec_first(s); e; e = ckp_ent_next(e))
		i++;
	CHECK(i == 2501);

	s = ckp_sec_add(r, "small", 1);
	ckp_sec_add_uint8(s, "a", 1);
	ckp_sec_add_uint8(s, "b", 2);
	ckp_sec_add_uint8(s, "c", 3);
	CHECK(ckp_sec_remove(s, "b") == 0);
	CHECK_STR(ckp_ent_name(ckp_sec_first(s)), "a");
	CHECK_STR(ckp_ent_name(ckp_ent_next(ckp_sec_first(s))), "c");
	CHECK(ckp_ent_next(ckp_ent_next(ckp_sec_first(s))) == NULL);
	ckp_doc_free(d);
}

static void
test_paths(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *r = ckp_doc_root(d), *dev, *v;
	char buf[64];

	dev = ckp_sec_add(r, "devices", 1);
	v = ckp_sec_addf(dev, 3, "vcpu@%d", 0);
	ckp_sec_add_uint64(v, "rip", 0xffffffff81085d96ull);
	CHECK(ckp_sec_path(v, buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "devices.vcpu@0");
	CHECK(ckp_sec_path(r, buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "");
	CHECK(ckp_sec_path(v, buf, 8) == -ENOSPC);
	CHECK_STR(ckp_sec_name(v), "vcpu@0");
	CHECK_STR(ckp_sec_name(r), "");
	CHECK(ckp_sec_parent(v) == dev);
	CHECK(ckp_sec_parent(r) == NULL);
	CHECK(ckp_sec_doc(v) == d);
	CHECK(ckp_sec_version(v) == 3);
	ckp_sec_set_version(v, 4);
	CHECK(ckp_sec_version(v) == 4);
	CHECK(ckp_sec_find(dev, "vcpu@0") == v);
	CHECK(ckp_sec_find(v, "rip") == NULL);	/* a field, not a section */

	ckp_ent_t *e = ckp_doc_find(d, "devices.vcpu@0.rip");
	CHECK(e != NULL && ckp_ent_type(e) == CKP_TYPE_UINT64);
	CHECK(ckp_doc_find(d, "devices.vcpu@0") != NULL);
	CHECK(ckp_ent_section(ckp_doc_find(d, "devices.vcpu@0")) == v);
	CHECK(ckp_doc_find(d, "devices.vcpu@0.rip.x") == NULL);
	CHECK(ckp_doc_find(d, "devices.vcpu@1.rip") == NULL);
	CHECK(ckp_doc_find(d, "devices.vcpu@0.$version") == NULL);
	CHECK(ckp_doc_find(d, "") == NULL);
	CHECK(ckp_doc_find(d, "devices..rip") == NULL);

	/* depth limit */
	ckp_sec_t *s = r;
	for (int i = 0; i < CKP_MAX_DEPTH && s; i++)
		s = ckp_sec_add(s, "l", 1);
	CHECK(s != NULL && ckp_doc_error(d) == 0);
	CHECK(ckp_sec_add(s, "l", 1) == NULL);
	CHECK(ckp_doc_error(d) == -E2BIG);
	CHECK_HAS(ckp_doc_errmsg(d), "deeper than 64 levels");
	ckp_doc_free(d);
}

static void
test_getters(void)
{
	ckp_doc_t *d = t_sample_doc();
	ckp_sec_t *t = ckp_sec_find(ckp_doc_root(d), "types");
	int8_t i8; int16_t i16; int32_t i32; int64_t i64;
	uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
	bool b;
	const char *s;
	const void *p;
	size_t n;

	CHECK(ckp_sec_get_int8(t, "i8min", &i8) == 0 && i8 == INT8_MIN);
	CHECK(ckp_sec_get_int16(t, "i16min", &i16) == 0 && i16 == INT16_MIN);
	CHECK(ckp_sec_get_int32(t, "i32min", &i32) == 0 && i32 == INT32_MIN);
	CHECK(ckp_sec_get_int64(t, "i64min", &i64) == 0 && i64 == INT64_MIN);
	CHECK(ckp_sec_get_uint8(t, "u8max", &u8) == 0 && u8 == UINT8_MAX);
	CHECK(ckp_sec_get_uint16(t, "u16max", &u16) == 0 && u16 == UINT16_MAX);
	CHECK(ckp_sec_get_uint32(t, "u32max", &u32) == 0 && u32 == UINT32_MAX);
	CHECK(ckp_sec_get_uint64(t, "u64max", &u64) == 0 && u64 == UINT64_MAX);
	CHECK(ckp_sec_get_bool(t, "yes", &b) == 0 && b);
	CHECK(ckp_sec_get_string(t, "unicode", &s) == 0 &&
	    strcmp(s, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad") == 0);
	CHECK(ckp_sec_get_bytes(t, "b7", &p, &n) == 0 && n == 7 &&
	    memcmp(p, "\x00\xff\x10\x80\x7f\x01\xfe", 7) == 0);
	CHECK(ckp_sec_get_bytes(t, "nobytes", &p, &n) == 0 && n == 0);
	CHECK(ckp_doc_error(d) == 0);

	CHECK(ckp_sec_get_uint16(t, "u8max", &u16) == -EINVAL);
	CHECK_STR(ckp_doc_errmsg(d), "field types.u8max has type uint8, expected uint16");
	ckp_doc_clear_error(d);
	CHECK(ckp_sec_get_uint8(t, "nope", &u8) == -ENOENT);
	CHECK_STR(ckp_doc_errmsg(d), "missing field types.nope");
	ckp_doc_clear_error(d);

	CHECK(ckp_sec_has(t, "yes"));
	CHECK(!ckp_sec_has(t, "maybe"));
	ckp_doc_free(d);
}

static void
test_text(void)
{
	ckp_doc_t *d = t_sample_doc();
	static const struct {
		const char *path, *text;
	} want[] = {
		{ "types.i8min", "-128" },
		{ "types.i32max", "2147483647" },
		{ "types.i64min", "-8000000000000000" },
		{ "types.i64neg", "-1a" },
		{ "types.u64max", "ffffffffffffffff" },
		{ "types.u64zero", "0" },
		{ "types.u32max", "4294967295" },
		{ "types.yes", "true" },
		{ "types.no", "false" },
		{ "types.empty", "" },
		{ "types.b7", "AP8QgH8B/g==" },
		{ "types.nobytes", "" },
		{ "devices.vcpu@0.rip", "ffffffff81085d96" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ckp_ent_t *e = ckp_doc_find(d, want[i].path);
		char *t = ckp_ent_text(e);
		CHECK_STR(t, want[i].text);
		free(t);
	}
	CHECK(ckp_ent_text(ckp_doc_find(d, "devices")) == NULL);

	/* set_text keeps the type and refuses bad text without changing */
	ckp_ent_t *e = ckp_doc_find(d, "types.u8max");
	CHECK(ckp_ent_set_text(e, "17") == 0);
	CHECK(ckp_ent_type(e) == CKP_TYPE_UINT8);
	char *t = ckp_ent_text(e);
	CHECK_STR(t, "17");
	free(t);
	CHECK(ckp_ent_set_text(e, "256") == -ERANGE);
	CHECK_STR(ckp_doc_errmsg(d), "types.u8max: '256' is out of range for type uint8");
	ckp_doc_clear_error(d);
	CHECK(ckp_ent_set_text(e, "0x10") == -EINVAL);
	CHECK_HAS(ckp_doc_errmsg(d), "types.u8max: '0x10' is not a valid value for type uint8 (decimal)");
	ckp_doc_clear_error(d);
	t = ckp_ent_text(e);
	CHECK_STR(t, "17");
	free(t);

	e = ckp_doc_find(d, "devices.vcpu@0.rip");
	CHECK(ckp_ent_set_text(e, "FFFFFFFF81085DA0") == 0);	/* read either case */
	t = ckp_ent_text(e);
	CHECK_STR(t, "ffffffff81085da0");	/* written lowercase */
	free(t);
	CHECK(ckp_ent_set_text(e, "10000000000000000") == -ERANGE);
	ckp_doc_clear_error(d);
	CHECK(ckp_ent_set_text(e, "-1") == -ERANGE);
	ckp_doc_clear_error(d);

	e = ckp_doc_find(d, "types.b7");
	CHECK(ckp_ent_set_text(e, "AAE=") == 0);
	CHECK(ckp_ent_set_text(e, "AAF=") == -EINVAL);	/* pad bits not zero */
	ckp_doc_clear_error(d);
	CHECK(ckp_ent_set_text(e, "AAE") == -EINVAL);
	ckp_doc_clear_error(d);
	t = ckp_ent_text(e);
	CHECK_STR(t, "AAE=");
	free(t);

	e = ckp_doc_find(d, "types.yes");
	CHECK(ckp_ent_set_text(e, "false") == 0);
	CHECK(ckp_ent_set_text(e, "1") == -EINVAL);
	ckp_doc_clear_error(d);
	e = ckp_doc_find(d, "types.empty");
	CHECK(ckp_ent_set_text(e, "now \xe2\x82\xac") == 0);
	CHECK(ckp_ent_set_text(e, "bad \xff") == -EINVAL);
	ckp_doc_clear_error(d);
	CHECK(ckp_ent_set_text(ckp_doc_find(d, "devices"), "1") == -EINVAL);
	ckp_doc_clear_error(d);

	/* add_text */
	ckp_sec_t *r = ckp_doc_root(d);
	e = ckp_sec_add_text(r, "added", CKP_TYPE_INT64, "-7fffffffffffffff");
	CHECK(e != NULL && ckp_ent_type(e) == CKP_TYPE_INT64);
	int64_t v;
	CHECK(ckp_sec_get_int64(r, "added", &v) == 0 && v == -INT64_MAX);
	CHECK(ckp_sec_add_text(r, "added2", CKP_TYPE_INT16, "40000") == NULL);
	CHECK_HAS(ckp_doc_errmsg(d), "added2: '40000' is out of range for type int16");
	CHECK(!ckp_sec_has(r, "added2"));
	ckp_doc_clear_error(d);
	CHECK(ckp_sec_add_text(r, "added", CKP_TYPE_INT8, "1") == NULL);
	CHECK_HAS(ckp_doc_errmsg(d), "duplicate name 'added'");
	ckp_doc_clear_error(d);
	CHECK(ckp_sec_add_text(r, "s", CKP_TYPE_SECTION, "1") == NULL);
	ckp_doc_clear_error(d);
	e = ckp_sec_add_text(r, "bytes", CKP_TYPE_B64, "AP8QgH8B/g==");
	const void *p;
	size_t n;
	CHECK(e != NULL && ckp_ent_bytes(e, &p, &n) == 0 && n == 7);
	CHECK(ckp_ent_bytes(ckp_doc_find(d, "types.yes"), &p, &n) == -EINVAL);
	ckp_doc_free(d);
}

static void
test_equal(void)
{
	ckp_doc_t *a = t_sample_doc(), *b = t_sample_doc();

	CHECK(ckp__sec_equal(ckp_doc_root(a), ckp_doc_root(b)));
	CHECK(ckp_ent_equal(ckp_doc_find(a, "devices"), ckp_doc_find(b, "devices")));
	ckp_ent_set_text(ckp_doc_find(b, "devices.vcpu@1.deep.deeper.x"), "-6");
	CHECK(!ckp_ent_equal(ckp_doc_find(a, "devices"), ckp_doc_find(b, "devices")));
	CHECK(!ckp__sec_equal(ckp_doc_root(a), ckp_doc_root(b)));
	ckp_ent_set_text(ckp_doc_find(b, "devices.vcpu@1.deep.deeper.x"), "-5");
	ckp_sec_set_version(ckp_sec_find(ckp_doc_root(b), "devices"), 9);
	CHECK(!ckp_ent_equal(ckp_doc_find(a, "devices"), ckp_doc_find(b, "devices")));
	CHECK(!ckp_ent_equal(ckp_doc_find(a, "types.i8min"), ckp_doc_find(a, "types.i8max")));
	CHECK(ckp_ent_equal(NULL, NULL));
	CHECK(!ckp_ent_equal(ckp_doc_find(a, "types"), NULL));
	ckp_doc_free(a);
	ckp_doc_free(b);
}

static void
test_header(void)
{
	char created[64];
	time_t now = time(NULL);
	struct tm tm;

	unsetenv("SOURCE_DATE_EPOCH");
	ckp_doc_t *d = ckp_doc_new("hyve 0.1.0");
	ckp_sec_t *h = ckp_sec_find(ckp_doc_root(d), "header");
	const char *s;
	uint32_t v;

	CHECK(h != NULL && ckp_sec_version(h) == 1);
	CHECK(ckp_sec_get_string(h, "format", &s) == 0 && strcmp(s, "ckp") == 0);
	CHECK(ckp_sec_get_uint32(h, "format_version", &v) == 0 &&
	    v == CKP_FORMAT_VERSION);
	CHECK(ckp_sec_get_string(h, "producer", &s) == 0 &&
	    strcmp(s, "hyve 0.1.0") == 0);
	CHECK(ckp_sec_get_string(h, "created", &s) == 0 && strlen(s) == 20 &&
	    s[4] == '-' && s[10] == 'T' && s[19] == 'Z');
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT", &tm);
	CHECK(strncmp(s, created, 11) == 0);
	CHECK_STR(ckp_ent_name(ckp_sec_first(ckp_doc_root(d))), "header");
	ckp_doc_free(d);

	setenv("SOURCE_DATE_EPOCH", "1795628711", 1);
	d = ckp_doc_new("x");
	h = ckp_sec_find(ckp_doc_root(d), "header");
	CHECK(ckp_sec_get_string(h, "created", &s) == 0);
	CHECK_STR(s, "2026-11-25T17:45:11Z");
	ckp_doc_free(d);
}

static void
test_types_encs(void)
{
	static const char *names[] = { "int8", "int16", "int32", "int64",
	    "uint8", "uint16", "uint32", "uint64", "bool", "string", "b64",
	    "section" };
	for (int t = CKP_TYPE_INT8; t <= CKP_TYPE_SECTION; t++) {
		CHECK_STR(ckp_type_name((ckp_type_t)t), names[t - 1]);
		CHECK((int)ckp_type_from_name(names[t - 1], strlen(names[t - 1])) == t);
	}
	CHECK(ckp_type_name(CKP_TYPE_INVALID) == NULL);
	CHECK(ckp_type_name((ckp_type_t)99) == NULL);
	CHECK(ckp_type_from_name("uint", 4) == CKP_TYPE_INVALID);
	CHECK(ckp_type_from_name("uint88", 5) == CKP_TYPE_UINT8);
	CHECK(ckp_enc_from_name("json") == CKP_ENC_JSON);
	CHECK(ckp_enc_from_name("bin") == CKP_ENC_BIN);
	CHECK(ckp_enc_from_name("conf") == CKP_ENC_CONF);
	CHECK(ckp_enc_from_name("xml") == CKP_ENC_NONE);
	CHECK_STR(ckp_enc_name(CKP_ENC_CONF), "conf");
	CHECK(ckp_enc_name(CKP_ENC_NONE) == NULL);
}

static void
test_warn(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();

	ckp_doc_warn(d, "nobody listens %d", 1);	/* default: dropped */
	ckp_doc_set_warn(d, warn_cb, NULL);
	ckp_doc_warn(d, "hello %s", "world");
	CHECK(nwarn == 1);
	CHECK_STR(lastwarn, "hello world");
	CHECK(ckp_doc_set_error(d, -EIO, "first %d", 1) == -EIO);
	CHECK(ckp_doc_set_error(d, -EINVAL, "second") == -EINVAL);
	CHECK(ckp_doc_error(d) == -EIO);
	CHECK_STR(ckp_doc_errmsg(d), "first 1");
	ckp_doc_free(d);
	ckp_doc_free(NULL);
}

/* The header rule ckp check and a restore share. */
static void
test_check_header(void)
{
	ckp_doc_t *d = ckp_doc_new("t 1");
	ckp_sec_t *h = ckp_sec_find(ckp_doc_root(d), "header");
	char why[160] = "";

	CHECK(ckp_doc_check_header(d, why, sizeof(why)) == 0);
	CHECK(ckp_sec_remove(h, "created") == 0);
	CHECK(ckp_doc_check_header(d, why, sizeof(why)) == -EINVAL);
	CHECK_STR(why, "header.created is missing");
	ckp_sec_add_uint32(h, "created", 1);
	CHECK(ckp_doc_check_header(d, why, sizeof(why)) == -EINVAL);
	CHECK_STR(why, "header.created has type uint32, expected string");
	CHECK(ckp_sec_remove(ckp_doc_root(d), "header") == 0);
	CHECK(ckp_doc_check_header(d, why, sizeof(why)) == -EINVAL);
	CHECK_STR(why, "no header section");
	CHECK(ckp_doc_error(d) == 0);
	ckp_doc_free(d);
}

int
main(void)
{
	test_check_header();
	test_names();
	test_order_lookup();
	test_paths();
	test_getters();
	test_text();
	test_equal();
	test_header();
	test_types_encs();
	test_warn();
	TEST_END();
}
