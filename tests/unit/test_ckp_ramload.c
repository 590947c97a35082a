/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Verified loading of RAM files chunk by chunk (ckp_ram_lazy_*): every
 * chunk fetched in any order, or a range read eagerly with several
 * threads, gives back the memory the checkpoint was written from; hole
 * chunks are recognised without reading; a flipped byte in a data chunk,
 * data in a chunk the list records as zero, zeros where it records data,
 * an altered or missing chunk list, a truncated file, and totals that do
 * not add up are each refused with a message naming the file and the
 * chunk's offset; a checkpoint published later under the same name does
 * not change what an open handle loads.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckp.h"
#include "test_ckp.h"

#define PG	4096u
#define MiB	(1u << 20)
/* 7 MiB and two pages: the last chunk is short. */
#define SIZE	(7ull * MiB + 2 * PG)
#define NCHUNKS	8

static char dir[256];
static bool holes_work;
static unsigned char *mem;	/* what the checkpoint holds */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fill_random(unsigned char *p, size_t len)
{
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t v = rnd() | 1;

		memcpy(p + i, &v, 8);
	}
}

static unsigned char *
mem_new(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static bool
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void
path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void
probe_holes(void)
{
	char p[512];
	int fd;

	path_of(p, sizeof(p), "probe");
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	holes_work = fd >= 0 && ftruncate(fd, 4 * MiB) == 0 &&
	    pwrite(fd, "x", 1, 2 * MiB) == 1 &&
	    lseek(fd, 0, SEEK_DATA) >= (off_t)MiB;
	if (fd >= 0)
		close(fd);
	unlink(p);
	if (!holes_work)
		printf("note: this file system reports no holes; hole chunks "
		    "are read\n");
}

/*
 * The layout: chunk 0 dense, 1 zero, 2 sparse (two pages), 3 zero, 4
 * dense, 5 ends with data that runs into 6 (an extent across chunks),
 * 7 (two pages) one page of data.
 */
static void
make_mem(void)
{
	mem = mem_new(SIZE);
	fill_random(mem, MiB);
	fill_random(mem + 2 * MiB + 3 * PG, PG);
	fill_random(mem + 2 * MiB + 200 * PG, PG);
	fill_random(mem + 4 * MiB, MiB);
	fill_random(mem + 6 * MiB - 2 * PG, 4 * PG);
	fill_random(mem + 7 * MiB + PG, PG);
}

/* Write @m as checkpoint @name; 0 on success. */
static int
write_ckp(const char *name, const unsigned char *m)
{
	char path[512], err[512];
	ckp_ram_seg_t seg = { .host = m, .file_off = 0, .len = SIZE };
	ckp_writer_t *w;
	ckp_doc_t *meta;
	int r;

	path_of(path, sizeof(path), name);
	if ((r = ckp_writer_begin(path, SIZE, &w, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s\n", err);
		return r;
	}
	if ((r = ckp_writer_put_segs(w, &seg, 1, 2)) != 0) {
		ckp_writer_abort(w);
		return r;
	}
	meta = ckp_doc_new("test_ckp_ramload 1");
	r = ckp_writer_commit(w, meta, CKP_ENC_JSON, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	ckp_doc_free(meta);
	return r;
}

/* Open checkpoint @name's meta (not its RAM) and a lazy handle on it. */
static int
lazy_open(const char *name, ckp_doc_t **docp, ckp_ram_lazy_t **lp)
{
	char path[512];

	path_of(path, sizeof(path), name);
	*docp = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
	*lp = NULL;
	if (*docp == NULL || ckp_doc_error(*docp) != 0)
		return *docp ? ckp_doc_error(*docp) : -ENOMEM;
	return ckp_ram_lazy_open(*docp, path, lp);
}

static void
copy_ckp(const char *from, const char *to, bool sparse)
{
	char cmd[2200], a[512], b[512];

	path_of(a, sizeof(a), from);
	path_of(b, sizeof(b), to);
	snprintf(cmd, sizeof(cmd), "cp --sparse=%s '%s' '%s' && cp '%s.meta' "
	    "'%s.meta'", sparse ? "always" : "never", a, b, a, b);
	CHECK(system(cmd) == 0);
}

static void
poke(const char *name, uint64_t off, unsigned char v, bool xor)
{
	char p[512];
	unsigned char b = 0;
	int fd;

	path_of(p, sizeof(p), name);
	fd = open(p, O_RDWR);
	CHECK(fd >= 0);
	if (xor)
		CHECK(pread(fd, &b, 1, (off_t)off) == 1);
	b = xor ? b ^ v : v;
	CHECK(pwrite(fd, &b, 1, (off_t)off) == 1);
	close(fd);
}

/* Every chunk, in a scrambled order, is the memory it came from. */
static void
test_fetch(void)
{
	static const int order[NCHUNKS] = { 5, 1, 7, 0, 3, 6, 2, 4 };
	unsigned char *buf = malloc(MiB);
	char err[512], path[512];
	ckp_ram_lazy_t *l;
	ckp_doc_t *doc;
	bool z;

	CHECK(lazy_open("a.ckp", &doc, &l) == 0);
	if (l == NULL) {
		fprintf(stderr, "%s\n", ckp_doc_errmsg(doc));
		ckp_doc_free(doc);
		free(buf);
		return;
	}
	CHECK(ckp_ram_lazy_size(l) == SIZE);
	CHECK(ckp_ram_lazy_chunk_size(l) == MiB);
	CHECK(ckp_ram_lazy_remaining(l) == NCHUNKS);
	for (int i = 0; i < NCHUNKS; i++) {
		uint64_t off = (uint64_t)order[i] * MiB;
		size_t len = SIZE - off < MiB ? SIZE - off : MiB;

		memset(buf, 0xaa, MiB);
		CHECK(ckp_ram_lazy_fetch(l, off, buf, &z, err, sizeof(err)) == 0);
		CHECK(z == all_zero(mem + off, len));
		if (z && holes_work)
			/* Recognised from the hole, without reading into buf. */
			CHECK(buf[0] == 0xaa && buf[len - 1] == 0xaa);
		if (!z)
			CHECK(memcmp(buf, mem + off, len) == 0);
		if (i == 3)
			CHECK(ckp_ram_lazy_finish(l, err, sizeof(err)) ==
			    -EAGAIN);
	}
	CHECK(ckp_ram_lazy_remaining(l) == 0);
	CHECK(ckp_ram_lazy_finish(l, err, sizeof(err)) == 0);
	/* Fetching again is harmless. */
	CHECK(ckp_ram_lazy_fetch(l, 0, buf, &z, err, sizeof(err)) == 0 && !z);
	CHECK(ckp_ram_lazy_remaining(l) == 0);
	/* Not a chunk offset, or past the end. */
	CHECK(ckp_ram_lazy_fetch(l, PG, buf, &z, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "not the offset of a chunk");
	CHECK(ckp_ram_lazy_fetch(l, 8ull * MiB, buf, &z, err,
	    sizeof(err)) == -EINVAL);
	ckp_ram_lazy_close(l);
	ckp_doc_free(doc);

	/* The same bytes without holes: zero chunks are read and still zero. */
	copy_ckp("a.ckp", "dense.ckp", false);
	CHECK(lazy_open("dense.ckp", &doc, &l) == 0);
	for (uint64_t c = 0; l != NULL && c < NCHUNKS; c++) {
		uint64_t off = c * MiB;
		size_t len = SIZE - off < MiB ? SIZE - off : MiB;

		CHECK(ckp_ram_lazy_fetch(l, off, buf, &z, err, sizeof(err)) == 0);
		CHECK(z == all_zero(mem + off, len));
		CHECK(memcmp(buf, mem + off, len) == 0);
	}
	CHECK(l != NULL && ckp_ram_lazy_finish(l, err, sizeof(err)) == 0);
	ckp_ram_lazy_close(l);
	ckp_doc_free(doc);
	path_of(path, sizeof(path), "dense.ckp");
	free(buf);
}

/* Eager reads of whole and partial ranges, one and several threads. */
static void
test_read(void)
{
	static const struct { uint64_t off, len; unsigned nthreads; } rg[] = {
		{ 0, SIZE, 1 }, { 0, SIZE, 3 }, { 0, SIZE, 0 },
		{ MiB + 5 * PG, 3 * MiB + 7 * PG, 2 },	/* partial chunks */
		{ 7 * MiB, 2 * PG, 1 },			/* the short chunk */
		{ 2 * MiB, 0, 1 },
	};
	char err[512];
	ckp_ram_lazy_t *l;
	ckp_doc_t *doc;

	for (size_t i = 0; i < sizeof(rg) / sizeof(rg[0]); i++) {
		unsigned char *dst = mem_new(SIZE);

		CHECK(lazy_open("a.ckp", &doc, &l) == 0);
		if (l == NULL) {
			ckp_doc_free(doc);
			munmap(dst, SIZE);
			continue;
		}
		CHECK(ckp_ram_lazy_read(l, rg[i].off, dst, rg[i].len,
		    rg[i].nthreads, NULL, NULL, err, sizeof(err)) == 0);
		CHECK(memcmp(dst, mem + rg[i].off, rg[i].len) == 0);
		/* Nothing outside the range was written. */
		CHECK(all_zero(dst + rg[i].len, SIZE - rg[i].len));
		if (rg[i].len == SIZE)
			CHECK(ckp_ram_lazy_finish(l, err, sizeof(err)) == 0);
		else
			CHECK(ckp_ram_lazy_remaining(l) != 0);
		ckp_ram_lazy_close(l);
		ckp_doc_free(doc);
		munmap(dst, SIZE);
	}
	/* Into memory that is not zero: holes are cleared. */
	{
		unsigned char *dst = mem_new(SIZE);

		memset(dst, 0x5c, SIZE);
		CHECK(lazy_open("a.ckp", &doc, &l) == 0);
		CHECK(l != NULL && ckp_ram_lazy_read(l, 0, dst, SIZE, 2, NULL,
		    NULL, err, sizeof(err)) == 0);
		CHECK(memcmp(dst, mem, SIZE) == 0);
		CHECK(l != NULL && ckp_ram_lazy_read(l, PG, dst, SIZE, 1, NULL,
		    NULL, err, sizeof(err)) == -ERANGE);
		ckp_ram_lazy_close(l);
		ckp_doc_free(doc);
		munmap(dst, SIZE);
	}
}

struct prog {
	unsigned calls;
	uint64_t last, total;
};

static void
prog_fn(void *arg, uint64_t done, uint64_t total)
{
	struct prog *p = arg;

	p->calls++;
	CHECK(done >= p->last && done <= total);
	p->last = done;
	p->total = total;
}

static void
test_progress(void)
{
	struct prog p = { 0 };
	char err[512];
	ckp_ram_lazy_t *l;
	ckp_doc_t *doc;
	unsigned char *dst = mem_new(SIZE);

	CHECK(lazy_open("a.ckp", &doc, &l) == 0);
	CHECK(l != NULL && ckp_ram_lazy_read(l, 0, dst, SIZE, 2, prog_fn, &p,
	    err, sizeof(err)) == 0);
	CHECK(p.calls >= 1 && p.last == SIZE && p.total == SIZE);
	ckp_ram_lazy_close(l);
	ckp_doc_free(doc);
	munmap(dst, SIZE);
}

/* A damaged copy @name: fetching chunk @bad fails with @what, others work. */
static void
expect_bad(const char *name, uint64_t bad, const char *what)
{
	unsigned char *buf = malloc(MiB), *dst = mem_new(SIZE);
	char err[512], want[640], path[512];
	ckp_ram_lazy_t *l;
	ckp_doc_t *doc;
	bool z;

	path_of(path, sizeof(path), name);
	snprintf(want, sizeof(want), "RAM file %s: chunk at offset 0x%" PRIx64
	    " %s", path, bad * MiB, what);
	CHECK(lazy_open(name, &doc, &l) == 0);
	for (uint64_t c = 0; l != NULL && c < NCHUNKS; c++) {
		int r = ckp_ram_lazy_fetch(l, c * MiB, buf, &z, err,
		    sizeof(err));

		if (c == bad) {
			CHECK(r == -EBADMSG);
			CHECK_HAS(err, want);
		} else {
			CHECK(r == 0);
		}
	}
	CHECK(l != NULL && ckp_ram_lazy_remaining(l) == 1);
	CHECK(l != NULL && ckp_ram_lazy_finish(l, err, sizeof(err)) == -EAGAIN);
	ckp_ram_lazy_close(l);
	ckp_doc_free(doc);
	/* The eager read finds it too, with the same message. */
	CHECK(lazy_open(name, &doc, &l) == 0);
	err[0] = '\0';
	CHECK(l != NULL && ckp_ram_lazy_read(l, 0, dst, SIZE, 3, NULL, NULL,
	    err, sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, want);
	ckp_ram_lazy_close(l);
	ckp_doc_free(doc);
	/* And the whole-file verification agrees on the chunk. */
	doc = ckp_checkpoint_open(path, 0);
	CHECK(doc != NULL && ckp_doc_error(doc) == -EBADMSG);
	CHECK_HAS(doc ? ckp_doc_errmsg(doc) : NULL, what);
	ckp_doc_free(doc);
	munmap(dst, SIZE);
	free(buf);
}

static void
test_corruption(void)
{
	char err[512], path[512];
	ckp_ram_lazy_t *l;
	ckp_doc_t *doc;

	/* A flipped byte in a dense data chunk. */
	copy_ckp("a.ckp", "flip.ckp", true);
	poke("flip.ckp", 4 * MiB + 12345, 0x01, true);
	expect_bad("flip.ckp", 4, "does not match its checksum");

	/* A flipped byte in the short last chunk. */
	copy_ckp("a.ckp", "flip7.ckp", true);
	poke("flip7.ckp", 7 * MiB + PG + 17, 0x80, true);
	expect_bad("flip7.ckp", 7, "does not match its checksum");

	/* Data in a chunk the list records as zero (a hole). */
	copy_ckp("a.ckp", "hole.ckp", true);
	poke("hole.ckp", 3 * MiB + 777, 0x42, false);
	expect_bad("hole.ckp", 3, "holds data where the meta records zeros");

	/* Zeros where the list records data: chunk 2's two pages wiped. */
	copy_ckp("a.ckp", "wiped.ckp", true);
	path_of(path, sizeof(path), "wiped.ckp");
	{
		unsigned char *z = calloc(1, PG);
		int fd = open(path, O_RDWR);

		CHECK(fd >= 0 && pwrite(fd, z, PG, 2 * MiB + 3 * PG) == PG &&
		    pwrite(fd, z, PG, 2 * MiB + 200 * PG) == PG);
		close(fd);
		free(z);
	}
	expect_bad("wiped.ckp", 2, "holds only zeros where the meta records "
	    "data");

	/* An altered chunk list: one hash changed, the checksum not. */
	CHECK(lazy_open("a.ckp", &doc, &l) == 0);
	ckp_ram_lazy_close(l);
	{
		ckp_sec_t *ram = ckp_sec_find(ckp_doc_root(doc), "ram");
		const void *b;
		size_t n;
		unsigned char *copy;

		CHECK(ram != NULL && ckp_sec_get_bytes(ram, "chunks", &b, &n) == 0);
		copy = malloc(n);
		memcpy(copy, b, n);
		copy[8 + 16] ^= 1;	/* the second record's hash */
		CHECK(ckp_sec_remove(ram, "chunks") == 0);
		ckp_sec_add_bytes(ram, "chunks", copy, n);
		free(copy);
		path_of(path, sizeof(path), "a.ckp");
		l = NULL;
		CHECK(ckp_ram_lazy_open(doc, path, &l) == -EBADMSG && l == NULL);
		CHECK_HAS(ckp_doc_errmsg(doc), "ram.chunks does not add up to "
		    "ram.checksum");
	}
	ckp_doc_free(doc);

	/* A record moved to another chunk (the list names the wrong chunk). */
	CHECK(lazy_open("a.ckp", &doc, &l) == 0);
	ckp_ram_lazy_close(l);
	{
		ckp_sec_t *ram = ckp_sec_find(ckp_doc_root(doc), "ram");
		const void *b;
		size_t n;
		unsigned char *copy;

		CHECK(ram != NULL && ckp_sec_get_bytes(ram, "chunks", &b, &n) == 0);
		copy = malloc(n);
		memcpy(copy, b, n);
		copy[16] = 1;	/* the second record (chunk 2) says chunk 1 */
		CHECK(ckp_sec_remove(ram, "chunks") == 0);
		ckp_sec_add_bytes(ram, "chunks", copy, n);
		free(copy);
		l = NULL;
		CHECK(ckp_ram_lazy_open(doc, path, &l) == -EBADMSG && l == NULL);
	}
	ckp_doc_free(doc);

	/* No list: only whole-file verification is possible. */
	CHECK(lazy_open("a.ckp", &doc, &l) == 0);
	ckp_ram_lazy_close(l);
	CHECK(ckp_sec_remove(ckp_sec_find(ckp_doc_root(doc), "ram"),
	    "chunks") == 0);
	l = NULL;
	CHECK(ckp_ram_lazy_open(doc, path, &l) == -ENOTSUP && l == NULL);
	CHECK_HAS(ckp_doc_errmsg(doc), "no ram.chunks");
	ckp_doc_free(doc);

	/* Totals that do not add up are found once every chunk is in. */
	CHECK(lazy_open("a.ckp", &doc, &l) == 0);
	ckp_ram_lazy_close(l);
	{
		ckp_sec_t *ram = ckp_sec_find(ckp_doc_root(doc), "ram");
		unsigned char *dst = mem_new(SIZE);

		CHECK(ckp_sec_remove(ram, "data_bytes") == 0);
		ckp_sec_add_uint64(ram, "data_bytes", 3 * PG);
		l = NULL;
		CHECK(ckp_ram_lazy_open(doc, path, &l) == 0);
		CHECK(l != NULL && ckp_ram_lazy_read(l, 0, dst, SIZE, 2, NULL,
		    NULL, err, sizeof(err)) == 0);
		CHECK(l != NULL && ckp_ram_lazy_finish(l, err, sizeof(err)) ==
		    -EBADMSG);
		CHECK_HAS(err, "ram.data_bytes is 12288 but RAM file");
		ckp_ram_lazy_close(l);
		munmap(dst, SIZE);
	}
	ckp_doc_free(doc);

	/* A truncated file: refused at open, sizes named. */
	copy_ckp("a.ckp", "trunc.ckp", true);
	path_of(path, sizeof(path), "trunc.ckp");
	CHECK(truncate(path, 6 * MiB) == 0);
	doc = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
	/* (open already checks the size; the lazy open must too on its own) */
	CHECK(doc != NULL && ckp_doc_error(doc) == -EBADMSG);
	ckp_doc_free(doc);
	CHECK(lazy_open("a.ckp", &doc, &l) == 0);
	ckp_ram_lazy_close(l);
	l = NULL;
	CHECK(ckp_ram_lazy_open(doc, path, &l) == -EBADMSG && l == NULL);
	CHECK_HAS(ckp_doc_errmsg(doc), "has 6291456 bytes but the meta records");
	ckp_doc_free(doc);
}

/* A handle keeps loading the file it opened after a publish replaced it. */
static void
test_replaced(void)
{
	unsigned char *other = mem_new(SIZE), *buf = malloc(MiB);
	char err[512];
	ckp_ram_lazy_t *l;
	ckp_doc_t *doc;
	bool z;

	copy_ckp("a.ckp", "r.ckp", true);
	CHECK(lazy_open("r.ckp", &doc, &l) == 0);
	fill_random(other, SIZE);
	CHECK(write_ckp("r.ckp", other) == 0);
	for (uint64_t c = 0; l != NULL && c < NCHUNKS; c++) {
		uint64_t off = c * MiB;
		size_t len = SIZE - off < MiB ? SIZE - off : MiB;

		CHECK(ckp_ram_lazy_fetch(l, off, buf, &z, err, sizeof(err)) == 0);
		CHECK(z ? all_zero(mem + off, len) :
		    memcmp(buf, mem + off, len) == 0);
	}
	ckp_ram_lazy_close(l);
	ckp_doc_free(doc);
	munmap(other, SIZE);
	free(buf);
}

int
main(void)
{
	if (t_tmpdir(dir, sizeof(dir), "test_ckp_ramload") != 0)
		return 1;
	probe_holes();
	make_mem();
	if (write_ckp("a.ckp", mem) != 0) {
		fprintf(stderr, "cannot write the test checkpoint\n");
		t_rmdir(dir);
		return 1;
	}
	test_fetch();
	test_read();
	test_progress();
	test_corruption();
	test_replaced();
	t_rmdir(dir);
	TEST_END();
}
