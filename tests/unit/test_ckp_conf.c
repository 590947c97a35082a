/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The conf encoding: exact output, comments and blank lines, CRLF, blanks
 * around '=', escapes, line order (sections exist from their first
 * mention), $version after a section's fields.
 */
#include "test_ckp.h"

static void
test_exact_output(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *r = ckp_doc_root(d), *s;
	size_t len;
	char want[1024];

	ckp_sec_add_uint8(r, "top", 1);
	s = ckp_sec_add(r, "devices", 2);
	ckp_sec_add(s, "empty", 0);
	s = ckp_sec_add(s, "vcpu@0", 1);
	ckp_sec_add_uint64(s, "rip", 0xffffffff81085d96ull);
	ckp_sec_add_string(s, "s", " a\\b\tc\nd\re\x01 ");
	ckp_sec_add_string(s, "e", "");
	ckp_sec_add_bytes(s, "raw", "foo", 3);
	ckp_sec_add_bool(r, "last", false);
	char *out = t_encode(d, CKP_ENC_CONF, &len);
	snprintf(want, sizeof(want),
	    "top$uint8=1\n"
	    "devices.$version=2\n"
	    "devices.empty.$version=0\n"
	    "devices.vcpu@0.$version=1\n"
	    "devices.vcpu@0.rip$uint64=ffffffff81085d96\n"
	    "devices.vcpu@0.s$string=\\x20a\\\\b\\tc\\nd\\re\\x01\\x20\n"
	    "devices.vcpu@0.e$string=\n"
	    "devices.vcpu@0.raw$b64=Zm9v\n"
	    "last$bool=false\n"
	    "$checksum=%s\n", ckp_doc_checksum(d));
	CHECK(len == strlen(want));
	out[len - 1] = '\0';
	want[strlen(want) - 1] = '\0';
	CHECK_STR(out, want);
	free(out);
	ckp_doc_free(d);
}

static void
test_reading(void)
{
	const char *s;
	ckp_doc_t *d;

	/* comments, blank lines, CRLF, blanks around '=' and the value */
	d = t_decode("# a comment\r\n\r\n   # indented comment\n"
	    "  a.x$uint8 = 5 \r\n"
	    "\ta.s$string=\t  two words \\x20\r\n"
	    "a.h$string=#not a comment\n"
	    "a.$version = 3\n", CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0);
	if (ckp_doc_error(d))
		fprintf(stderr, "%s\n", ckp_doc_errmsg(d));
	ckp_sec_t *a = ckp_sec_find(ckp_doc_root(d), "a");
	uint8_t u8;
	CHECK(a != NULL && ckp_sec_version(a) == 3);
	CHECK(ckp_sec_get_uint8(a, "x", &u8) == 0 && u8 == 5);
	CHECK(ckp_sec_get_string(a, "s", &s) == 0 && strcmp(s, "two words  ") == 0);
	CHECK(ckp_sec_get_string(a, "h", &s) == 0 && strcmp(s, "#not a comment") == 0);
	ckp_doc_free(d);

	/* lines in any order; insertion order is first mention */
	d = t_decode("b.y$uint8=1\na.x$uint8=2\nb.$version=4\nb.c.z$bool=true\n"
	    "a.$version=1\nroot$int8=-1\nb.w$uint8=3\n", CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0);
	ckp_ent_t *e = ckp_sec_first(ckp_doc_root(d));
	CHECK_STR(ckp_ent_name(e), "b");
	CHECK_STR(ckp_ent_name(ckp_ent_next(e)), "a");
	CHECK_STR(ckp_ent_name(ckp_ent_next(ckp_ent_next(e))), "root");
	ckp_sec_t *b = ckp_ent_section(e);
	CHECK(ckp_sec_version(b) == 4);
	e = ckp_sec_first(b);
	CHECK_STR(ckp_ent_name(e), "y");
	CHECK_STR(ckp_ent_name(ckp_ent_next(e)), "c");
	CHECK_STR(ckp_ent_name(ckp_ent_next(ckp_ent_next(e))), "w");
	/* sections without a $version line have version 0 */
	CHECK(ckp_sec_version(ckp_sec_find(b, "c")) == 0);
	ckp_doc_free(d);

	/* escapes */
	d = t_decode("s$string=\\\\\\n\\t\\r\\x41\\xe2\\x82\\xac\n", CKP_LOAD_NOVERIFY);
	CHECK(ckp_sec_get_string(ckp_doc_root(d), "s", &s) == 0 &&
	    strcmp(s, "\\\n\t\rA\xe2\x82\xac") == 0);
	ckp_doc_free(d);

	/* no trailing newline on the last line */
	d = t_decode("a$uint8=1", CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0 && ckp_sec_has(ckp_doc_root(d), "a"));
	ckp_doc_free(d);

	/* comments after $checksum are fine */
	ckp_doc_t *o = t_sample_doc();
	size_t len;
	char *buf = t_encode(o, CKP_ENC_CONF, &len);
	char *more = malloc(len + 64);
	memcpy(more, buf, len);
	strcpy(more + len, "\n# trailing comment\n\n");
	d = t_decode(more, 0);
	CHECK(ckp_doc_error(d) == 0 && ckp_doc_sum_state(d) == CKP_SUM_OK);
	ckp_doc_free(d);
	/* a hand edit is caught, by line */
	char *p = strstr(more, "types.i8max$int8=127");
	memcpy(p, "types.i8max$int8=126", 20);
	d = t_decode(more, 0);
	CHECK(ckp_doc_error(d) == -EBADMSG);
	CHECK_HAS(ckp_doc_errmsg(d), ": checksum mismatch: the file says ");
	free(more);
	free(buf);
	ckp_doc_free(d);
	ckp_doc_free(o);
}

/* Found by fuzzing: a conf document may begin with "CKPB". */
static void
test_detect(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_add(ckp_doc_root(d), "CKPBx", 1);
	size_t len;
	char *buf = t_encode(d, CKP_ENC_CONF, &len);
	ckp_doc_t *d2 = ckp_doc_decode(buf, len, "t", 0);
	CHECK(ckp_doc_error(d2) == 0 && ckp_doc_encoding(d2) == CKP_ENC_CONF);
	ckp_doc_free(d2);
	free(buf);
	ckp_doc_free(d);
	CHECK(ckp__detect("CKPB\1\0", 6) == CKP_ENC_BIN);
	CHECK(ckp__detect("CKPB", 4) == CKP_ENC_BIN);
	CHECK(ckp__detect("CKPB.$version=1", 15) == CKP_ENC_CONF);
	CHECK(ckp__detect(" \n{", 3) == CKP_ENC_JSON);
	CHECK(ckp__detect("# x\n", 4) == CKP_ENC_CONF);
	CHECK(ckp__detect("\x7f" "ELF", 4) == CKP_ENC_BIN);
}

int
main(void)
{
	test_detect();
	test_exact_output();
	test_reading();
	TEST_END();
}
