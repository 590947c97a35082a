/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The JSON encoding: exact output, the seed review's array layout, string
 * escapes, checksum states, header checks.
 */
#include "test_ckp.h"

/* The seed review's example (D29262), completed into a whole document. */
static const char seed[] =
    "{\n"
    "\"device_params\": [\n"
    "  {\n"
    "    \"vcpus\": [\n"
    "      {\n"
    "        \"vcpus@0\": [\n"
    "          {\n"
    "            \"x2apic_state$uint32\": 0,\n"
    "            \"exitintinfo$uint64\": \"0\",\n"
    "            \"exc_vector$int32\": 0,\n"
    "            \"exc_errcode_valid$int32\": 0,\n"
    "            \"exc_errcode$uint32\": 0,\n"
    "            \"guest_xcr0$uint64\": \"7\",\n"
    "            \"exitinfo$b64\": \"FQAAAAAAAACWXQiB/////wCwHDsBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPYSsBAAAAAAAAAAAAwAAAAMAAAAAAAAAiYGAAwAAMcBdw2YuDx+EDwZIAAgBAAQAAAAAAAIAAAAtAAAALQAAAIADAAAAAAAAAAAAAAAAAAABAIkBAAAAAA==\",\n"
    "            \"nextrip$uint64\": \"ffffffff81085d96\",\n"
    "            \"tsc_offset$uint64\": \"15063e03a9f0\"\n"
    "          }\n"
    "        ]\n"
    "      }\n"
    "    ]\n"
    "  }\n"
    "]\n"
    "}\n";

static void
test_seed(void)
{
	ckp_doc_t *d = t_decode(seed, 0);

	/* no checksum: refused unless told */
	CHECK(ckp_doc_error(d) == -EBADMSG);
	CHECK_HAS(ckp_doc_errmsg(d), "t: no checksum");
	ckp_doc_free(d);

	d = t_decode(seed, CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0);
	CHECK(ckp_doc_sum_state(d) == CKP_SUM_NONE);
	CHECK(ckp_doc_encoding(d) == CKP_ENC_JSON);
	ckp_ent_t *e = ckp_doc_find(d, "device_params.vcpus.vcpus@0.nextrip");
	char *t = ckp_ent_text(e);
	CHECK_STR(t, "ffffffff81085d96");
	free(t);
	ckp_sec_t *v = ckp_ent_section(ckp_doc_find(d, "device_params.vcpus.vcpus@0"));
	CHECK(v != NULL && ckp_sec_version(v) == 0);
	uint64_t tsc;
	CHECK(ckp_sec_get_uint64(v, "tsc_offset", &tsc) == 0 && tsc == 0x15063e03a9f0ull);
	const void *p;
	size_t n;
	CHECK(ckp_sec_get_bytes(v, "exitinfo", &p, &n) == 0 && n == 136);
	CHECK(((const uint8_t *)p)[0] == 0x15);
	/* field order kept */
	CHECK_STR(ckp_ent_name(ckp_sec_first(v)), "x2apic_state");

	/* converting gives nested objects; converting back keeps the tree */
	size_t len;
	char *js = t_encode(d, CKP_ENC_JSON, &len);
	ckp_doc_t *d2 = ckp_doc_decode(js, len, "j", 0);
	CHECK(ckp_doc_error(d2) == 0);
	CHECK(ckp__sec_equal(ckp_doc_root(d), ckp_doc_root(d2)));
	CHECK_HAS(js, "\"vcpus@0\": {\n        \"$version\": 0,\n        \"x2apic_state$uint32\": 0,");
	free(js);
	ckp_doc_free(d2);
	ckp_doc_free(d);

	/* array elements' members are one section; duplicates across them are caught */
	d = t_decode("{\"s\": [ {\"a$uint8\": 1}, {\"b$uint8\": 2}, {} ], \"e\": []}",
	    CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0);
	CHECK(ckp_doc_find(d, "s.a") != NULL && ckp_doc_find(d, "s.b") != NULL);
	CHECK(ckp_ent_section(ckp_doc_find(d, "e")) != NULL);
	ckp_doc_free(d);
	d = t_decode("{\"s\": [ {\"a$uint8\": 1}, {\"a$uint8\": 2} ]}", CKP_LOAD_NOVERIFY);
	CHECK_HAS(ckp_doc_errmsg(d), "t:1:26: duplicate key \"a$uint8\" in section s");
	ckp_doc_free(d);
	d = t_decode("{\"s\": [ {\"$version\": 3}, {\"x$bool\": true} ]}", CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0);
	CHECK(ckp_sec_version(ckp_ent_section(ckp_doc_find(d, "s"))) == 3);
	ckp_doc_free(d);
}

static void
test_exact_output(void)
{
	ckp_doc_t *d = ckp_doc_new_empty();
	ckp_sec_t *r = ckp_doc_root(d), *s;
	size_t len;
	char *out;

	s = ckp_sec_add(r, "devices", 2);
	s = ckp_sec_add(s, "vcpu@0", 1);
	ckp_sec_add_uint64(s, "rip", 0xffffffff81085d96ull);
	ckp_sec_add_int64(s, "neg", -26);
	ckp_sec_add_uint8(s, "u", 200);
	ckp_sec_add_bool(s, "b", true);
	ckp_sec_add_string(s, "s", "a\"b\\c\n\x01/\xc3\xa9");
	ckp_sec_add_bytes(s, "raw", "foo", 3);
	ckp_sec_add(r, "empty", 0);
	out = t_encode(d, CKP_ENC_JSON, &len);
	char want[2048];
	snprintf(want, sizeof(want),
	    "{\n"
	    "  \"devices\": {\n"
	    "    \"$version\": 2,\n"
	    "    \"vcpu@0\": {\n"
	    "      \"$version\": 1,\n"
	    "      \"rip$uint64\": \"ffffffff81085d96\",\n"
	    "      \"neg$int64\": \"-1a\",\n"
	    "      \"u$uint8\": 200,\n"
	    "      \"b$bool\": true,\n"
	    "      \"s$string\": \"a\\\"b\\\\c\\n\\u0001/\xc3\xa9\",\n"
	    "      \"raw$b64\": \"Zm9v\"\n"
	    "    }\n"
	    "  },\n"
	    "  \"empty\": {\n"
	    "    \"$version\": 0\n"
	    "  },\n"
	    "  \"$checksum\": \"%s\"\n"
	    "}\n", ckp_doc_checksum(d));
	CHECK(len == strlen(want));
	out[len - 1] = '\0';
	want[strlen(want) - 1] = '\0';
	CHECK_STR(out, want);
	free(out);
	ckp_doc_free(d);

	d = ckp_doc_new_empty();
	out = t_encode(d, CKP_ENC_JSON, &len);
	snprintf(want, sizeof(want), "{\n  \"$checksum\": \"%s\"\n}\n",
	    ckp_doc_checksum(d));
	CHECK(len == strlen(want) && memcmp(out, want, len) == 0);
	free(out);
	ckp_doc_free(d);
}

static void
test_lenient_input(void)
{
	ckp_doc_t *d;
	const char *s;

	/* escapes in strings and keys, \/ inside base64, surrogate pairs */
	d = t_decode("\xef\xbb\xbf \r\n\t{ \"a\\u0024uint8\" : 5 ,"
	    "\"s$string\":\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\t\\r\\n\\\"\\\\\","
	    "\"b$b64\":\"Zm9v\\/w==\", \"x$uint64\": \"ABCDEF\", \"e\": {} }  \n",
	    CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0);
	if (ckp_doc_error(d))
		fprintf(stderr, "%s\n", ckp_doc_errmsg(d));
	ckp_sec_t *r = ckp_doc_root(d);
	uint8_t u8;
	CHECK(ckp_sec_get_uint8(r, "a", &u8) == 0 && u8 == 5);
	CHECK(ckp_sec_get_string(r, "s", &s) == 0 &&
	    strcmp(s, "\xc3\xa9\xf0\x9f\x98\x80/\b\f\t\r\n\"\\") == 0);
	const void *p;
	size_t n;
	CHECK(ckp_sec_get_bytes(r, "b", &p, &n) == 0 && n == 4 &&
	    memcmp(p, "foo\xff", 4) == 0);
	uint64_t x;
	CHECK(ckp_sec_get_uint64(r, "x", &x) == 0 && x == 0xabcdef);
	CHECK(ckp_sec_version(ckp_sec_find(r, "e")) == 0);
	ckp_doc_free(d);

	/* -0 is 0 */
	d = t_decode("{\"a$int8\": -0}", CKP_LOAD_NOVERIFY);
	int8_t i8 = 1;
	CHECK(ckp_sec_get_int8(ckp_doc_root(d), "a", &i8) == 0 && i8 == 0);
	ckp_doc_free(d);
}

static void
test_checksum_states(void)
{
	ckp_doc_t *d = t_sample_doc();
	size_t len;
	char *js = t_encode(d, CKP_ENC_JSON, &len);
	char sum[CKP_SUM_TEXT_LEN];

	snprintf(sum, sizeof(sum), "%s", ckp_doc_checksum(d));
	ckp_doc_free(d);
	d = ckp_doc_decode(js, len, "f.json", 0);
	CHECK(ckp_doc_error(d) == 0 && ckp_doc_sum_state(d) == CKP_SUM_OK);
	ckp_doc_free(d);

	/* a hand edit breaks the checksum: error shows both values */
	char *edit = strstr(js, "\"i8max$int8\": 127");
	memcpy(edit, "\"i8max$int8\": 126", 17);
	d = ckp_doc_decode(js, len, "f.json", 0);
	CHECK(ckp_doc_error(d) == -EBADMSG);
	CHECK_HAS(ckp_doc_errmsg(d), "f.json:");
	CHECK_HAS(ckp_doc_errmsg(d), ": checksum mismatch: the file says ");
	CHECK_HAS(ckp_doc_errmsg(d), sum);
	CHECK(ckp_sec_first(ckp_doc_root(d)) == NULL);	/* nothing half-read */
	ckp_doc_free(d);
	/* CKP_LOAD_UNSEALED takes a missing checksum only, not a wrong one */
	d = ckp_doc_decode(js, len, "f.json", CKP_LOAD_UNSEALED);
	CHECK(ckp_doc_error(d) == -EBADMSG);
	CHECK_HAS(ckp_doc_errmsg(d), ": checksum mismatch: ");
	ckp_doc_free(d);
	{
		static const char hand[] = "{ \"a$uint8\": 1 }";
		d = ckp_doc_decode(hand, sizeof(hand) - 1, "h.json", 0);
		CHECK(ckp_doc_error(d) == -EBADMSG);
		CHECK_HAS(ckp_doc_errmsg(d), "h.json: no checksum");
		ckp_doc_free(d);
		d = ckp_doc_decode(hand, sizeof(hand) - 1, "h.json",
		    CKP_LOAD_UNSEALED);
		CHECK(ckp_doc_error(d) == 0 &&
		    ckp_doc_sum_state(d) == CKP_SUM_NONE);
		CHECK(ckp_sec_lookup(ckp_doc_root(d), "a") != NULL);
		ckp_doc_free(d);
	}
	d = ckp_doc_decode(js, len, "f.json", CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0 && ckp_doc_sum_state(d) == CKP_SUM_BAD);
	CHECK(strcmp(ckp_doc_checksum(d), sum) != 0);
	/* re-encoding re-seals */
	size_t l2;
	char *j2 = t_encode(d, CKP_ENC_JSON, &l2);
	ckp_doc_t *d2 = ckp_doc_decode(j2, l2, "g", 0);
	CHECK(ckp_doc_error(d2) == 0 && ckp_doc_sum_state(d2) == CKP_SUM_OK);
	free(j2);
	ckp_doc_free(d2);
	ckp_doc_free(d);
	free(js);
}

static void
test_header_checks(void)
{
	ckp_doc_t *d;

	d = t_decode("{\"header\": {\"$version\": 1, \"format$string\": \"ckp\","
	    " \"format_version$uint32\": 2}}", CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == -EPROTONOSUPPORT);
	CHECK_STR(ckp_doc_errmsg(d),
	    "t: format version 2 is newer than the 1 this program reads; use a newer ckp");
	ckp_doc_free(d);
	d = t_decode("{\"header\": {\"format$string\": \"qemu\"}}", CKP_LOAD_NOVERIFY);
	CHECK_STR(ckp_doc_errmsg(d),
	    "t: header.format is 'qemu', not 'ckp': not a checkpoint document");
	ckp_doc_free(d);
	d = t_decode("{\"header\": {\"format_version$uint8\": 1}}", CKP_LOAD_NOVERIFY);
	CHECK_HAS(ckp_doc_errmsg(d), "header.format_version has type uint8, expected uint32");
	ckp_doc_free(d);
	d = t_decode("{\"header\": {\"format$string\": \"ckp\", \"format_version$uint32\": 1}}",
	    CKP_LOAD_NOVERIFY);
	CHECK(ckp_doc_error(d) == 0);
	ckp_doc_free(d);
}

int
main(void)
{
	test_seed();
	test_exact_output();
	test_lenient_input();
	test_checksum_states();
	test_header_checks();
	TEST_END();
}
