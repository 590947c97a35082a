/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * RAM files: layouts (zero, dense, sparse, odd) written with
 * ckp_writer_put_segs() must read back as the memory they came from, with
 * zero pages as real holes; the checksum must be the one docs/RAMFILE.md
 * defines (computed here independently) whether computed from memory or
 * from the file; corruption is found and located; rounds of
 * ckp_writer_put() after put_segs leave the file and checksum right;
 * mapping and reading give the content back.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "ckp.h"
#include "test_ckp.h"
#include "ram_impl.h"

#define PG	4096u
#define MiB	(1u << 20)

static char dir[256];
static bool holes_work;

/* ---- helpers ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fill_random(void *p, size_t len)
{
	uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = rnd() | 1;	/* never a zero page */
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

static void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* The checksum exactly as docs/RAMFILE.md spells it, from memory. */
static uint64_t
spec_sum(const unsigned char *m, uint64_t size, uint64_t *data_bytes,
    uint64_t *extents)
{
	XXH3_state_t *st = XXH3_createState();
	uint8_t rec[16];
	bool prev = false;

	*data_bytes = *extents = 0;
	XXH3_64bits_reset(st);
	for (uint64_t c = 0; c * MiB < size; c++) {
		uint64_t off = c * MiB, len = size - off < MiB ? size - off : MiB;

		if (all_zero(m + off, len))
			continue;
		put_le64(rec, c);
		put_le64(rec + 8, XXH3_64bits(m + off, len));
		XXH3_64bits_update(st, rec, 16);
	}
	put_le64(rec, size);
	XXH3_64bits_update(st, rec, 8);
	for (uint64_t p = 0; p < size; p += PG) {
		bool nz = !all_zero(m + p, PG);

		*data_bytes += nz ? PG : 0;
		*extents += nz && !prev;
		prev = nz;
	}
	uint64_t h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

static const char *
sum_of(ckp_doc_t *doc)
{
	ckp_sec_t *ram = ckp_sec_find(ckp_doc_root(doc), "ram");
	const char *s = NULL;

	if (ram != NULL)
		ckp_sec_get_string(ram, "checksum", &s);
	return s;
}

static uint64_t
u64_of(ckp_doc_t *doc, const char *name)
{
	ckp_sec_t *ram = ckp_sec_find(ckp_doc_root(doc), "ram");
	uint64_t v = UINT64_MAX;

	if (ram != NULL)
		ckp_sec_get_uint64(ram, name, &v);
	return v;
}

static ckp_doc_t *
meta_new(int gen)
{
	ckp_doc_t *d = ckp_doc_new("test_ckp_ram 1");
	ckp_sec_t *s = ckp_sec_add(ckp_doc_root(d), "test", 1);

	ckp_sec_add_int32(s, "gen", gen);
	return d;
}

static void
path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Is every page of the file data exactly where memory is non-zero? */
static void
check_holes(const char *path, const unsigned char *m, uint64_t size)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint64_t pos = 0, nz = 0, bad = 0;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	fstat(fd, &st);
	for (uint64_t p = 0; p < size; p += PG)
		nz += !all_zero(m + p, PG);
	/* Allocated blocks: the data plus a little for extent trees. */
	CHECK((uint64_t)st.st_blocks * 512 <= nz * PG + 64 * 1024);
	if (nz == 0)
		CHECK(st.st_blocks == 0);
	if (holes_work) {
		while (pos < size) {
			off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
			off_t h;

			if (d < 0)
				d = (off_t)size;
			for (uint64_t p = pos; p < (uint64_t)d; p += PG)
				bad += !all_zero(m + p, PG);	/* data in a hole */
			if ((uint64_t)d >= size)
				break;
			h = lseek(fd, d, SEEK_HOLE);
			for (uint64_t p = (uint64_t)d; p < (uint64_t)h; p += PG)
				bad += all_zero(m + p, PG);	/* zeros as data */
			pos = (uint64_t)h;
		}
		if (bad != 0)
			fprintf(stderr, "%s: %" PRIu64 " pages not hole/data as "
			    "expected\n", path, bad);
		CHECK(bad == 0);
	}
	close(fd);
}

static void
check_content(const char *path, const unsigned char *m, uint64_t size)
{
	int fd = open(path, O_RDONLY);
	unsigned char *buf = malloc(MiB);
	struct stat st;
	uint64_t bad = UINT64_MAX;

	CHECK(fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size == size);
	for (uint64_t off = 0; fd >= 0 && off < size && bad == UINT64_MAX;
	    off += MiB) {
		size_t n = size - off < MiB ? size - off : MiB;

		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n ||
		    memcmp(buf, m + off, n) != 0)
			bad = off;
	}
	if (bad != UINT64_MAX)
		fprintf(stderr, "%s differs from memory in the MiB at 0x%"
		    PRIx64 "\n", path, bad);
	CHECK(bad == UINT64_MAX);
	free(buf);
	if (fd >= 0)
		close(fd);
}

/* Write @p m as checkpoint @p name through the segments, then check all. */
static void
write_and_check(const char *name, const unsigned char *m, uint64_t size,
    const ckp_ram_seg_t *segs, unsigned nsegs, unsigned nthreads,
    ckp_enc_t enc)
{
	char path[512], err[512], sum[CKP_RAM_SUM_LEN];
	ckp_writer_t *w;
	ckp_doc_t *meta, *doc;
	uint64_t db, ex, h;
	int r;

	path_of(path, sizeof(path), name);
	r = ckp_writer_begin(path, size, &w, err, sizeof(err));
	CHECK(r == 0);
	if (r != 0) {
		fprintf(stderr, "begin: %s\n", err);
		return;
	}
	CHECK(ckp_writer_put_segs(w, segs, nsegs, nthreads) == 0);
	meta = meta_new(1);
	r = ckp_writer_commit(w, meta, enc, err, sizeof(err));
	CHECK(r == 0);
	if (r != 0)
		fprintf(stderr, "commit: %s\n", err);
	h = spec_sum(m, size, &db, &ex);
	ckp__ram_sum_text(h, sum);
	CHECK(sum_of(meta) != NULL && strcmp(sum_of(meta), sum) == 0);
	CHECK(u64_of(meta, "data_bytes") == db);
	CHECK(u64_of(meta, "extents") == ex);
	CHECK(u64_of(meta, "size") == size);
	ckp_doc_free(meta);

	check_content(path, m, size);
	check_holes(path, m, size);

	/* The same checksum again, from the file, by a reader. */
	doc = ckp_checkpoint_open(path, 0);
	CHECK(doc != NULL && ckp_doc_error(doc) == 0);
	if (doc != NULL && ckp_doc_error(doc) != 0)
		fprintf(stderr, "open: %s\n", ckp_doc_errmsg(doc));
	CHECK(doc != NULL && sum_of(doc) != NULL &&
	    strcmp(sum_of(doc), sum) == 0);
	ckp_doc_free(doc);
}

/* One segment per region, the whole RAM. */
static void
test_layouts(void)
{
	const uint64_t size = 8 * MiB;
	unsigned char *m = mem_new(size);
	ckp_ram_seg_t seg = { m, 0, size };

	/* All zero: no data at all. */
	write_and_check("zero.ckp", m, size, &seg, 1, 2, CKP_ENC_JSON);

	/* Dense. */
	fill_random(m, size);
	write_and_check("dense.ckp", m, size, &seg, 1, 3, CKP_ENC_BIN);

	/*
	 * Sparse: first and last pages, both sides of chunk boundaries, a
	 * page whose only non-zero byte is its last, a run crossing a chunk
	 * boundary.
	 */
	memset(m, 0, size);
	m[0] = 1;
	m[size - 1] = 2;
	m[MiB - 1] = 3;
	m[MiB] = 4;
	m[3 * MiB + 5 * PG + PG - 1] = 5;
	fill_random(m + 5 * MiB - 3 * PG, 7 * PG);
	write_and_check("sparse.ckp", m, size, &seg, 1, 4, CKP_ENC_CONF);
	munmap(m, size);
}

/*
 * Odd: a size that is not whole chunks, segments out of order, split at
 * places that are not chunk boundaries, gaps never written, empty ones.
 */
static void
test_odd(void)
{
	const uint64_t size = 5 * MiB + 7 * PG;
	unsigned char *m = mem_new(size), *a = mem_new(size), *b = mem_new(size);
	ckp_ram_seg_t segs[4];

	fill_random(m, size);
	/* Gap: [2 MiB + 3 pages, 3 MiB + 1 page) stays zero (never written). */
	memset(m + 2 * MiB + 3 * PG, 0, MiB - 2 * PG);
	memset(m + 4 * MiB, 0, 9 * PG);	/* zero pages inside a segment */
	/* Segments from two separate host buffers, as a VMM's regions. */
	memcpy(a, m, size);
	memcpy(b, m, size);
	segs[0] = (ckp_ram_seg_t){ b + 3 * MiB + PG, 3 * MiB + PG,
	    size - (3 * MiB + PG) };
	segs[1] = (ckp_ram_seg_t){ a, 0, MiB + 5 * PG };
	segs[2] = (ckp_ram_seg_t){ b + MiB + 5 * PG, MiB + 5 * PG,
	    MiB - 2 * PG };
	segs[3] = (ckp_ram_seg_t){ a, 0, 0 };
	write_and_check("odd.ckp", m, size, segs, 4, 3, CKP_ENC_JSON);
	/* One thread and many give the same file. */
	write_and_check("odd1.ckp", m, size, segs, 4, 1, CKP_ENC_JSON);
	munmap(m, size);
	munmap(a, size);
	munmap(b, size);
}

/* Bad segments: a sticky error, no temporaries left, nothing published. */
static void
test_bad_segs(void)
{
	char path[512], tmp[600], err[512];
	unsigned char *m = mem_new(2 * MiB);
	ckp_ram_seg_t bad[] = {
		{ m, 100, PG },			/* misaligned offset */
		{ m, 0, 100 },			/* partial page */
		{ m, MiB, 2 * MiB },		/* past the end */
		{ NULL, 0, PG },		/* no memory */
	};
	ckp_ram_seg_t ovl[] = { { m, 0, 2 * PG }, { m, PG, PG } };
	ckp_writer_t *w;

	path_of(path, sizeof(path), "bad.ckp");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(ckp_writer_begin(path, 2 * MiB, &w, err, sizeof(err)) == 0);
		if (i < sizeof(bad) / sizeof(bad[0]))
			CHECK(ckp_writer_put_segs(w, &bad[i], 1, 2) == -EINVAL);
		else
			CHECK(ckp_writer_put_segs(w, ovl, 2, 2) == -EINVAL);
		CHECK(ckp_writer_error(w) == -EINVAL);
		CHECK_HAS(ckp_writer_errmsg(w), "bad.ckp");
		CHECK(ckp_writer_sync(w) == -EINVAL);	/* sticky */
		CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
		/* Sticky: later calls fail too, commit publishes nothing. */
		CHECK(ckp_writer_put(w, 0, m, PG) == -EINVAL);
		ckp_doc_t *meta = meta_new(1);
		CHECK(ckp_writer_commit(w, meta, CKP_ENC_JSON, err,
		    sizeof(err)) == -EINVAL);
		ckp_doc_free(meta);
		CHECK(access(path, F_OK) < 0);
	}
	CHECK(ckp_writer_begin(path, 3 * PG + 1, &w, err, sizeof(err)) ==
	    -EINVAL);
	CHECK_HAS(err, "multiple of 4096");
	munmap(m, 2 * MiB);
}

static void
flip(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c = 0;

	pread(fd, &c, 1, (off_t)off);
	c ^= 0x40;
	pwrite(fd, &c, 1, (off_t)off);
	close(fd);
}

/* One flipped byte is found and located; truncation names both sizes. */
static void
test_corruption(void)
{
	const uint64_t size = 24 * MiB;
	unsigned char *m = mem_new(size);
	ckp_ram_seg_t seg = { m, 0, size };
	char path[512], meta[600], err[512], want[128];
	ckp_writer_t *w;
	ckp_doc_t *d;
	const uint64_t offs[] = {
		0x1200000 + 77,		/* in data */
		0x0,			/* first byte */
		size - 1,		/* last byte */
		0x300000 + 4096 * 3,	/* in a hole (a zero chunk) */
		0x1000000 + 9 * 4096 + 1, /* a zero page of a data chunk */
	};

	fill_random(m, size);
	memset(m + 3 * MiB, 0, MiB);
	memset(m + 16 * MiB + 8 * PG, 0, 4 * PG);
	path_of(path, sizeof(path), "corrupt.ckp");
	snprintf(meta, sizeof(meta), "%s.meta", path);
	CHECK(ckp_writer_begin(path, size, &w, err, sizeof(err)) == 0);
	CHECK(ckp_writer_put_segs(w, &seg, 1, 2) == 0);
	d = meta_new(1);
	CHECK(ckp_writer_commit(w, d, CKP_ENC_JSON, err, sizeof(err)) == 0);
	ckp_doc_free(d);

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		flip(path, offs[i]);
		d = ckp_checkpoint_open(meta, 0);
		CHECK(ckp_doc_error(d) == -EBADMSG);
		snprintf(want, sizeof(want), "chunk at offset 0x%" PRIx64,
		    offs[i] / MiB * MiB);
		CHECK_HAS(ckp_doc_errmsg(d), want);
		CHECK_HAS(ckp_doc_errmsg(d), "corrupt.ckp");
		ckp_doc_free(d);
		/* Without the RAM check the meta is fine. */
		d = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
		CHECK(ckp_doc_error(d) == 0);
		ckp_doc_free(d);
		flip(path, offs[i]);
		d = ckp_checkpoint_open(path, 0);
		CHECK(ckp_doc_error(d) == 0);
		ckp_doc_free(d);
	}

	/* Truncated, or grown: named with both sizes, even without hashing. */
	CHECK(truncate(path, (off_t)(size - MiB)) == 0);
	d = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
	CHECK(ckp_doc_error(d) == -EBADMSG);
	snprintf(want, sizeof(want), "has %" PRIu64 " bytes but the meta "
	    "records %" PRIu64 " (truncated)", size - MiB, size);
	CHECK_HAS(ckp_doc_errmsg(d), want);
	ckp_doc_free(d);
	CHECK(truncate(path, (off_t)(size + PG)) == 0);
	d = ckp_checkpoint_open(path, 0);
	CHECK(ckp_doc_error(d) == -EBADMSG);
	CHECK_HAS(ckp_doc_errmsg(d), "records 25165824");
	ckp_doc_free(d);
	CHECK(unlink(path) == 0);
	d = ckp_checkpoint_open(path, 0);
	CHECK(ckp_doc_error(d) == -ENOENT);
	CHECK_HAS(ckp_doc_errmsg(d), "corrupt.ckp");
	ckp_doc_free(d);
	munmap(m, size);
}

/* A meta edited consistently (re-checksummed) but wrongly. */
static void
test_meta_edits(void)
{
	const uint64_t size = 4 * MiB;
	unsigned char *m = mem_new(size);
	ckp_ram_seg_t seg = { m, 0, size };
	char path[512], meta[600], err[512];
	ckp_writer_t *w;
	ckp_doc_t *d;
	ckp_ent_t *e;

	fill_random(m, size);
	path_of(path, sizeof(path), "edit.ckp");
	snprintf(meta, sizeof(meta), "%s.meta", path);
	CHECK(ckp_writer_begin(path, size, &w, err, sizeof(err)) == 0);
	CHECK(ckp_writer_put_segs(w, &seg, 1, 2) == 0);
	d = meta_new(1);
	CHECK(ckp_writer_commit(w, d, CKP_ENC_JSON, err, sizeof(err)) == 0);
	ckp_doc_free(d);

	/* A checksum that the chunk list does not add up to. */
	d = ckp_doc_load(meta, 0);
	e = ckp_doc_find(d, "ram.checksum");
	CHECK(e != NULL && ckp_ent_set_text(e, "xxh3-64:0123456789abcdef") == 0);
	CHECK(ckp_doc_save(d, meta, CKP_ENC_JSON) == 0);
	ckp_doc_free(d);
	d = ckp_checkpoint_open(path, 0);
	CHECK(ckp_doc_error(d) == -EBADMSG);
	CHECK_HAS(ckp_doc_errmsg(d), "does not match ram.checksum (recorded "
	    "xxh3-64:0123456789abcdef");
	ckp_doc_free(d);

	/* A spelling that is no checksum. */
	d = ckp_doc_load(meta, 0);
	CHECK(ckp_ent_set_text(ckp_doc_find(d, "ram.checksum"), "crc:12") == 0);
	CHECK(ckp_doc_save(d, meta, CKP_ENC_JSON) == 0);
	ckp_doc_free(d);
	d = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
	CHECK(ckp_doc_error(d) == -EINVAL);
	CHECK_HAS(ckp_doc_errmsg(d), "ram.checksum \"crc:12\"");
	ckp_doc_free(d);

	/* A newer section version than this code knows. */
	d = ckp_doc_load(meta, 0);
	ckp_sec_set_version(ckp_sec_find(ckp_doc_root(d), "ram"), 2);
	CHECK(ckp_doc_save(d, meta, CKP_ENC_JSON) == 0);
	ckp_doc_free(d);
	d = ckp_checkpoint_open(path, 0);
	CHECK(ckp_doc_error(d) == -ENOTSUP);
	CHECK_HAS(ckp_doc_errmsg(d), "version 2");
	ckp_doc_free(d);

	/* No ram section at all. */
	d = ckp_doc_load(meta, 0);
	CHECK(ckp_sec_remove(ckp_doc_root(d), "ram") == 0);
	CHECK(ckp_doc_save(d, meta, CKP_ENC_JSON) == 0);
	ckp_doc_free(d);
	d = ckp_checkpoint_open(path, 0);
	CHECK(ckp_doc_error(d) == -ENOENT);
	CHECK_HAS(ckp_doc_errmsg(d), "no \"ram\" section");
	ckp_doc_free(d);
	munmap(m, size);
}

/* ---- rounds of puts after put_segs (checkpoint-and-continue) ---- */

struct putter {
	ckp_writer_t	*w;
	unsigned char	*m;
	uint64_t	 first, step, npages;
};

static void *
putter_main(void *arg)
{
	struct putter *p = arg;

	for (uint64_t i = p->first; i < p->npages; i += p->step)
		if (ckp_writer_put(p->w, i * PG, p->m + i * PG, PG) != 0)
			return (void *)1;
	return NULL;
}

static void
test_rounds(void)
{
	const uint64_t size = 16 * MiB;
	unsigned char *m = mem_new(size);
	ckp_ram_seg_t seg = { m, 0, size };
	char path[512], err[512], sum[CKP_RAM_SUM_LEN];
	ckp_writer_t *w;
	ckp_doc_t *meta, *d;
	uint64_t db, ex;
	pthread_t thr[4];
	struct putter pt[4];
	void *ret;

	fill_random(m, 8 * MiB);	/* upper half zero: holes */
	path_of(path, sizeof(path), "rounds.ckp");
	CHECK(ckp_writer_begin(path, size, &w, err, sizeof(err)) == 0);
	CHECK(ckp_writer_put_segs(w, &seg, 1, 2) == 0);

	/* Round 2: the guest ran on. */
	memset(m + 5 * PG, 0, PG);		/* data page turned zero */
	memset(m + 2 * MiB, 0, 3 * PG);		/* first pages of a chunk */
	m[10 * MiB + 7] = 0x11;			/* a hole page dirtied */
	m[MiB + 100] ^= 0xff;			/* a data page changed */
	CHECK(ckp_writer_put(w, 5 * PG, m + 5 * PG, PG) == 0);
	CHECK(ckp_writer_put(w, 2 * MiB, m + 2 * MiB, 3 * PG) == 0);
	CHECK(ckp_writer_put(w, 10 * MiB, m + 10 * MiB, PG) == 0);
	CHECK(ckp_writer_put(w, MiB, m + MiB, PG) == 0);
	/* A range across a chunk boundary: 2 data pages then a zeroed one. */
	memset(m + 4 * MiB, 0, PG);
	CHECK(ckp_writer_put(w, 4 * MiB - 2 * PG, m + 4 * MiB - 2 * PG,
	    3 * PG) == 0);
	/* Synced between rounds: the puts after it must be hashed again. */
	CHECK(ckp_writer_sync(w) == 0);

	/* Round 3: four threads at once, every 7th page of the top half. */
	for (uint64_t i = 2048; i < 4096; i += 7)
		memset(m + i * PG, (int)(i & 0x7f) | 1, 64);
	for (int i = 0; i < 4; i++) {
		pt[i] = (struct putter){ w, m, 2048 + 7 * (uint64_t)i, 28,
		    4096 };
		pthread_create(&thr[i], NULL, putter_main, &pt[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(thr[i], &ret);
		CHECK(ret == NULL);
	}
	/* And a whole-chunk put_segs again over a put chunk: CLEAN again. */
	fill_random(m + 6 * MiB, MiB);
	ckp_ram_seg_t again = { m + 6 * MiB, 6 * MiB, MiB };
	CHECK(ckp_writer_put_segs(w, &again, 1, 2) == 0);
	CHECK(ckp_writer_sync(w) == 0);
	CHECK(ckp_writer_sync(w) == 0);		/* nothing left: a no-op */

	meta = meta_new(2);
	CHECK(ckp_writer_commit(w, meta, CKP_ENC_JSON, err, sizeof(err)) == 0);
	ckp__ram_sum_text(spec_sum(m, size, &db, &ex), sum);
	CHECK(sum_of(meta) != NULL && strcmp(sum_of(meta), sum) == 0);
	CHECK(u64_of(meta, "data_bytes") == db);
	CHECK(u64_of(meta, "extents") == ex);
	ckp_doc_free(meta);
	check_content(path, m, size);
	check_holes(path, m, size);
	d = ckp_checkpoint_open(path, 0);
	CHECK(ckp_doc_error(d) == 0);
	ckp_doc_free(d);
	munmap(m, size);
}

/* ---- progress ---- */

struct prog {
	pthread_t	 self;
	unsigned	 calls;
	bool		 other_thread, backwards;
	uint64_t	 last, total;
};

static void
prog_fn(void *arg, uint64_t done, uint64_t total)
{
	struct prog *p = arg;

	p->calls++;
	if (!pthread_equal(p->self, pthread_self()))
		p->other_thread = true;
	if (done < p->last)
		p->backwards = true;
	p->last = done;
	p->total = total;
}

static void
test_progress(void)
{
	const uint64_t size = 32 * MiB;
	unsigned char *m = mem_new(size);
	ckp_ram_seg_t segs[2] = { { m, 0, 16 * MiB },
	    { m + 16 * MiB, 16 * MiB, 16 * MiB } };
	struct prog p = { .self = pthread_self() };
	char path[512], err[512];
	ckp_writer_t *w;

	fill_random(m, size);
	path_of(path, sizeof(path), "progress.ckp");
	CHECK(ckp_writer_begin(path, size, &w, err, sizeof(err)) == 0);
	ckp_writer_set_progress(w, prog_fn, &p);
	CHECK(ckp_writer_put_segs(w, segs, 2, 4) == 0);
	CHECK(p.calls >= 1);
	CHECK(!p.other_thread);
	CHECK(!p.backwards);
	CHECK(p.last == size && p.total == size);
	ckp_writer_abort(w);
	CHECK(access(path, F_OK) < 0);

	/* Verifying reports progress too, on the caller's thread, to the end. */
	ckp_doc_t *d = meta_new(1);
	CHECK(ckp_writer_begin(path, size, &w, err, sizeof(err)) == 0);
	CHECK(ckp_writer_put_segs(w, segs, 2, 4) == 0);
	CHECK(ckp_writer_commit(w, d, CKP_ENC_JSON, err, sizeof(err)) == 0);
	p = (struct prog){ .self = pthread_self() };
	CHECK(ckp_ram_verify_progress(d, path, 4, prog_fn, &p) == 0);
	CHECK(ckp_doc_error(d) == 0);
	CHECK(p.calls >= 1);
	CHECK(!p.other_thread);
	CHECK(!p.backwards);
	CHECK(p.last == size && p.total == size);
	/* With progress or without, a flipped byte is found. */
	flip(path, 5 * MiB + 3);
	p = (struct prog){ .self = pthread_self() };
	CHECK(ckp_ram_verify_progress(d, path, 4, prog_fn, &p) == -EBADMSG);
	CHECK(strstr(ckp_doc_errmsg(d), "chunk at offset 0x500000") != NULL);
	ckp_doc_free(d);
	munmap(m, size);
}

/* ---- loading ---- */

static void
test_load(void)
{
	const uint64_t size = 12 * MiB;
	unsigned char *m = mem_new(size), *dst;
	ckp_ram_seg_t seg = { m, 0, size };
	char path[512], err[512];
	ckp_writer_t *w;
	ckp_doc_t *d;
	long pg = sysconf(_SC_PAGESIZE);

	fill_random(m, size);
	memset(m + 2 * MiB, 0, 3 * MiB + 5 * PG);
	memset(m + 9 * MiB + 3 * PG, 0, PG);
	path_of(path, sizeof(path), "load.ckp");
	CHECK(ckp_writer_begin(path, size, &w, err, sizeof(err)) == 0);
	CHECK(ckp_writer_put_segs(w, &seg, 1, 2) == 0);
	d = meta_new(1);
	CHECK(ckp_writer_commit(w, d, CKP_ENC_JSON, err, sizeof(err)) == 0);
	ckp_doc_free(d);

	/* mmap: content equal, writes stay private. */
	dst = mem_new(size + 2 * MiB);
	CHECK(ckp_ram_map(path, 0, dst, 4 * MiB) == 0);
	CHECK(ckp_ram_map(path, 4 * MiB, dst + 4 * MiB, size - 4 * MiB) == 0);
	CHECK(memcmp(dst, m, size) == 0);
	dst[0] ^= 1;
	dst[3 * MiB] = 9;
	check_content(path, m, size);
	CHECK(ckp_ram_map(path, 0, dst, size + (uint64_t)pg) == -ERANGE);
	CHECK(ckp_ram_map(path, 100, dst, (uint64_t)pg) == -EINVAL);
	CHECK(ckp_ram_map(path, 0, dst + 1, (uint64_t)pg) == -EINVAL);
	munmap(dst, size + 2 * MiB);

	/* read: into garbage (holes must become zero) and into fresh memory. */
	for (unsigned nthr = 1; nthr <= 3; nthr += 2) {
		dst = mem_new(size);
		memset(dst, 0xaa, size);
		CHECK(ckp_ram_read(path, 0, dst, size, nthr) == 0);
		CHECK(memcmp(dst, m, size) == 0);
		munmap(dst, size);
	}
	/* Stripes that are no multiple of anything: 5 threads, odd range. */
	dst = mem_new(size);
	memset(dst, 0x55, size);
	CHECK(ckp_ram_read(path, PG, dst, size - 3 * PG, 5) == 0);
	CHECK(memcmp(dst, m + PG, size - 3 * PG) == 0);
	CHECK(dst[size - 3 * PG] == 0x55);
	munmap(dst, size);
	dst = mem_new(size);
	CHECK(ckp_ram_read(path, MiB + PG, dst, 7 * MiB, 2) == 0);
	CHECK(memcmp(dst, m + MiB + PG, 7 * MiB) == 0);
	CHECK(ckp_ram_read(path, MiB, dst, size, 2) == -ERANGE);
	munmap(dst, size);
	CHECK(ckp_ram_read(path, 0, NULL, 0, 1) == 0);
	munmap(m, size);
}

/* Names: .meta or not, .tmp refused. */
static void
test_names(void)
{
	char buf[64];

	CHECK(ckp_ram_path("a/b.ckp.meta", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "a/b.ckp") == 0);
	CHECK(ckp_ram_path("b.ckp", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "b.ckp") == 0);
	CHECK(ckp_ram_path("x.ckp.tmp", buf, sizeof(buf)) == -EINVAL);
	CHECK(ckp_ram_path("dir/", buf, sizeof(buf)) == -EINVAL);
	CHECK(ckp_ram_path("", buf, sizeof(buf)) == -EINVAL);
	CHECK(ckp_ram_path("a.ckp", buf, 3) == -ENAMETOOLONG);
}

/* The zero test itself, on every offset of a lone non-zero byte. */
static void
test_is_zero(void)
{
	unsigned char *p = calloc(1, 3 * PG);
	int bad = 0;

	for (size_t i = 0; i < PG; i++) {
		p[PG + i] = 0x80;
		bad += ckp__is_zero(p + PG, PG);
		bad += ckp__is_zero(p, 3 * PG);
		bad += ckp__is_zero(p + PG + i, 1);
		p[PG + i] = 0;
	}
	CHECK(bad == 0);
	CHECK(ckp__is_zero(p, 3 * PG));
	CHECK(ckp__is_zero(p + 3, 61));
	free(p);
}

static void
probe_holes(void)
{
	char path[512];
	int fd;

	path_of(path, sizeof(path), "probe");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (ftruncate(fd, 4 * MiB) == 0 && pwrite(fd, "x", 1, 2 * MiB) == 1) {
		off_t d = lseek(fd, 0, SEEK_DATA);
		holes_work = d >= (off_t)MiB;
	}
	if (!holes_work)
		printf("note: %s has no SEEK_HOLE; hole placement unchecked\n",
		    dir);
	close(fd);
	unlink(path);
}

int
main(void)
{
	if (t_tmpdir(dir, sizeof(dir), "test_ckp_ram") != 0)
		return 1;
	probe_holes();
	test_is_zero();
	test_names();
	test_layouts();
	test_odd();
	test_bad_segs();
	test_corruption();
	test_meta_edits();
	test_rounds();
	test_progress();
	test_load();
	t_rmdir(dir);
	TEST_END();
}
