/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * RAM summaries of memory (ckp_ram_sum_*): for the same bytes, the "ram"
 * section they write is field for field the one a RAM file written by
 * ckp_writer gets (checksum, chunks, data_bytes, extents, size), also
 * after chunks are summarised again in any order; and a summary checks
 * a section, naming the first chunk that differs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_ckp.h"

#define PG	4096u
#define MiB	(1u << 20)

static char dir[] = "/tmp/test_ckp_ram_mem.XXXXXX";

/* The ram section a RAM file of @m gets, through ckp_writer. */
static ckp_doc_t *
file_meta(const unsigned char *m, uint64_t size)
{
	char path[512], err[512];
	ckp_ram_seg_t seg = { .host = m, .file_off = 0, .len = size };
	ckp_writer_t *w;
	ckp_doc_t *meta = ckp_doc_new("test");

	snprintf(path, sizeof(path), "%s/f.ckp", dir);
	CHECK(ckp_writer_begin(path, size, &w, err, sizeof(err)) == 0);
	CHECK(ckp_writer_put_segs(w, &seg, 1, 1) == 0);
	CHECK(ckp_writer_commit(w, meta, CKP_ENC_BIN, err, sizeof(err)) == 0);
	return meta;
}

static ckp_ent_t *
ram_field(ckp_doc_t *doc, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "ram.%s", name);
	return ckp_doc_find(doc, path);
}

/* Every field but "file" equal in type and value. */
static void
same_ram(ckp_doc_t *a, ckp_doc_t *b)
{
	static const char *const f[] = { "size", "checksum", "chunk_size",
	    "data_bytes", "extents", "chunks" };
	unsigned i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		ckp_ent_t *x = ram_field(a, f[i]), *y = ram_field(b, f[i]);
		char *bx, *by;

		CHECK(x != NULL && y != NULL);
		if (x == NULL || y == NULL)
			continue;
		CHECK(ckp_ent_type(x) == ckp_ent_type(y));
		bx = ckp_ent_text(x);
		by = ckp_ent_text(y);
		CHECK(bx != NULL && by != NULL && strcmp(bx, by) == 0);
		if (bx != NULL && by != NULL && strcmp(bx, by) != 0)
			fprintf(stderr, "ram.%s: %s vs %s\n", f[i], bx, by);
		free(bx);
		free(by);
	}
}

static void
sum_all(ckp_ram_sum_t *s, const unsigned char *m, int reverse)
{
	uint64_t n = ckp_ram_sum_nchunks(s), i;
	uint32_t cs = ckp_ram_sum_chunk_size(s);

	for (i = 0; i < n; i++) {
		uint64_t c = reverse ? n - 1 - i : i;
		CHECK(ckp_ram_sum_chunk(s, c, m + c * cs) == 0);
	}
}

static void
test_layout(const char *name, uint64_t size, void (*fill)(unsigned char *,
    uint64_t))
{
	unsigned char *m = calloc(1, size);
	ckp_doc_t *fm, *mm = ckp_doc_new("test");
	ckp_ram_sum_t *s = ckp_ram_sum_new(size);
	char err[512];

	printf("layout %s (%llu bytes)\n", name, (unsigned long long)size);
	fill(m, size);
	fm = file_meta(m, size);
	CHECK(s != NULL);
	/* Stale summaries first: what counts is each chunk's last one. */
	memset(m, 0x5a, size / 2);
	sum_all(s, m, 0);
	memset(m, 0, size);
	fill(m, size);
	sum_all(s, m, 1);
	CHECK(ckp_ram_sum_section(s, mm, "x.ckp") == 0);
	same_ram(fm, mm);
	CHECK(ckp_ram_sum_check(s, fm, err, sizeof(err)) == 0);
	if (ckp_ram_sum_check(s, fm, err, sizeof(err)) != 0)
		fprintf(stderr, "check: %s\n", err);
	ckp_ram_sum_free(s);
	ckp_doc_free(fm);
	ckp_doc_free(mm);
	free(m);
}

static void fill_zero(unsigned char *m, uint64_t n) { (void)m; (void)n; }

static void
fill_sparse(unsigned char *m, uint64_t n)
{
	m[0] = 1;
	m[n / 2 + 17] = 2;
	memset(m + 3 * MiB - PG, 0xff, 2 * PG);	/* a run across two chunks */
	m[n - 1] = 3;
}

static void
fill_dense(unsigned char *m, uint64_t n)
{
	for (uint64_t i = 0; i < n; i += 8)
		m[i] = (unsigned char)(i >> 12);
}

static void
test_check_names_chunk(void)
{
	const uint64_t size = 4 * MiB + 2 * PG;
	unsigned char *m = calloc(1, size);
	ckp_ram_sum_t *s = ckp_ram_sum_new(size);
	ckp_doc_t *fm;
	char err[512] = "";

	fill_sparse(m, size);
	fm = file_meta(m, size);
	sum_all(s, m, 0);
	CHECK(ckp_ram_sum_check(s, fm, err, sizeof(err)) == 0);

	m[2 * MiB + 5] ^= 1;			/* data changed */
	CHECK(ckp_ram_sum_chunk(s, 2, m + 2 * MiB) == 0);
	CHECK(ckp_ram_sum_check(s, fm, err, sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "chunk at offset 0x200000");
	m[2 * MiB + 5] ^= 1;
	CHECK(ckp_ram_sum_chunk(s, 2, m + 2 * MiB) == 0);
	CHECK(ckp_ram_sum_check(s, fm, err, sizeof(err)) == 0);

	m[0] = 0;				/* data became zeros */
	CHECK(ckp_ram_sum_chunk(s, 0, m) == 0);
	CHECK(ckp_ram_sum_check(s, fm, err, sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "chunk at offset 0x0 holds only zeros");
	ckp_ram_sum_free(s);

	/* Another size is refused as such. */
	s = ckp_ram_sum_new(size + PG);
	CHECK(ckp_ram_sum_check(s, fm, err, sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "ram.size");
	ckp_ram_sum_free(s);

	CHECK(ckp_ram_sum_new(0) == NULL);
	CHECK(ckp_ram_sum_new(PG + 1) == NULL);
	s = ckp_ram_sum_new(size);
	CHECK(ckp_ram_sum_chunk(s, ckp_ram_sum_nchunks(s), m) == -EINVAL);
	ckp_ram_sum_free(s);
	ckp_doc_free(fm);
	free(m);
}

int
main(void)
{
	char cmd[600];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_layout("zero", 3 * MiB, fill_zero);
	test_layout("sparse", 4 * MiB + 2 * PG, fill_sparse);
	test_layout("dense", 2 * MiB + PG, fill_dense);
	test_layout("one page", PG, fill_dense);
	test_check_names_chunk();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	TEST_END();
}
