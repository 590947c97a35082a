/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * RAM file benchmark: every figure is a ratio against a baseline measured
 * in the same run on the same file system.
 *
 *   bench_ram [--quick] [--threads N] [--reps N] [--no-warm] [--no-drop]
 *             [--sizes LIST] [--variants LIST] [--dense-only] [DIR]
 *
 * DIR (default $TMPDIR, else /tmp) should be on the disk checkpoints go
 * to, not a tmpfs.  Cases (issue 6):
 *  - dense: random data of each size in --sizes (default 256M,1G,4G)
 *    written as a checkpoint (begin, put_segs, commit: RAM, checksum,
 *    meta, fsyncs, renames) against a plain sequential write()+fsync of
 *    the same bytes and an O_DIRECT write()+fsync; --variants writes it
 *    also with other writer settings (below), interleaved in the same run;
 *  - sparse: a 4 GiB guest with 64 MiB touched, clustered or scattered,
 *    written as one segment or as the touched runs only, against the dense
 *    4 GiB checkpoint; allocated blocks against touched bytes;
 *  - rounds: put_segs then ckp_writer_put of 1% of the pages (clustered
 *    or scattered): re-hashing only the chunks touched against re-hashing
 *    the whole file;
 *  - checksum from the file (ckp_ram_verify), page cache warm and cold,
 *    against XXH3 over the same bytes in memory;
 *  - loading: ckp_ram_map (and touching every page) and ckp_ram_read,
 *    warm and cold, against a plain read() of the file.
 * Memory is mapped as hyve maps guest RAM (MADV_HUGEPAGE).  --quick
 * divides the sizes by 8.  Dense and sparse writes are medians of --reps
 * runs (default 3; ranges in parentheses), the order of the things
 * compared rotating from one run to the next; the other cases the best of
 * --reps.  Before each timed write: the page cache dropped (as root;
 * --no-drop keeps it) and warm() (see there).
 *
 * Writer variants (--variants, comma-separated; each a '+'-joined list of
 * changes to libckp's defaults, "default" for none): winN (page-cache
 * window of N MiB), nowin (no window), direct (O_DIRECT), tN (N threads).
  */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "ckp.h"
#include "ram_impl.h"

#define MiB	((uint64_t)1 << 20)
#define GiB	((uint64_t)1 << 30)
#define PG	((uint64_t)4096)

static char dir[512];
static unsigned nthreads;
static int reps = 3;
static bool warm_on = true;
static bool drop_on;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_ram: %s: %s\n", what, msg);
	exit(1);
}

static unsigned char *
mem_new(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", strerror(errno));
	/* As hyve maps guest RAM (vmm/mem.c). */
	(void)madvise(p, len, MADV_HUGEPAGE);
	return p;
}

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fill_random(unsigned char *p, uint64_t len)
{
	uint64_t *w = (uint64_t *)p;

	for (uint64_t i = 0; i < len / 8; i++)
		w[i] = rnd();
}

static void
path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void
rm_ckp(const char *path)
{
	char p[700];

	unlink(path);
	snprintf(p, sizeof(p), "%s.meta", path);
	unlink(p);
}

/*
 * On a VM whose freed memory goes back to the host (free page reporting,
 * as on the machines this project runs on), the first touch of a page
 * costs a host fault: a 1 GiB write+fsync varied from 0.6 to 2.9 s.  Touch
 * and free as much memory as the next timed step will take, right before
 * it, so that baseline and hyve start alike.  --no-warm turns this off.
 */
static void
warm(uint64_t len)
{
	unsigned char *p;

	if (!warm_on)
		return;
	p = mem_new(len);
	for (uint64_t off = 0; off < len; off += PG)
		p[off] = 1;
	munmap(p, len);
}

/*
 * Before a timed write: the whole page cache dropped (as root), as
 * bench/run.sh does before each suspend, so that every writer starts with
 * the same free memory and nothing of an earlier file to write back.
 */
static void
drop_all(void)
{
	int fd;

	if (!drop_on)
		return;
	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "3\n", 2) != 2)
		drop_on = false;
	if (fd >= 0)
		close(fd);
}

/* Drop the file's pages from the page cache (they are clean after fsync). */
static void
drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

/* ---- the things measured ---- */

static double
plain_write(const char *path, const unsigned char *m, uint64_t len,
    bool direct)
{
	double t0;
	int fd;

	drop_all();
	warm(len + len / 2);
	t0 = now();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
	    (direct ? O_DIRECT : 0), 0600);

	if (fd < 0)
		return -1;
	for (uint64_t off = 0; off < len; off += 8 * MiB) {
		size_t n = len - off < 8 * MiB ? len - off : 8 * MiB;

		if (write(fd, m + off, n) != (ssize_t)n)
			die(path, strerror(errno));
	}
	if (fsync(fd) < 0)
		die(path, strerror(errno));
	close(fd);
	return now() - t0;
}

static double
ckp_write(const char *path, const ckp_ram_seg_t *segs, unsigned nsegs,
    uint64_t size)
{
	char err[512];
	ckp_writer_t *w;
	ckp_doc_t *meta = ckp_doc_new("bench_ram");
	double t0;

	drop_all();
	warm(size + size / 2);
	t0 = now();
	if (ckp_writer_begin(path, size, &w, err, sizeof(err)) < 0)
		die("begin", err);
	if (ckp_writer_put_segs(w, segs, nsegs, nthreads) < 0)
		die("put_segs", ckp_writer_errmsg(w));
	if (ckp_writer_commit(w, meta, CKP_ENC_BIN, err, sizeof(err)) < 0)
		die("commit", err);
	t0 = now() - t0;
	ckp_doc_free(meta);
	return t0;
}

static uint64_t
blocks_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static double
verify(const char *path)
{
	ckp_doc_t *d = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
	char ram[512];
	double t0;

	ckp_ram_path(path, ram, sizeof(ram));
	t0 = now();
	if (ckp_doc_error(d) != 0 || ckp_ram_verify(d, ram, nthreads) < 0)
		die("verify", ckp_doc_errmsg(d));
	t0 = now() - t0;
	ckp_doc_free(d);
	return t0;
}

struct hm {
	const unsigned char *m;
	uint64_t	 sink[64];
};

static int
hm_unit(void *arg, uint64_t unit, unsigned tid)
{
	struct hm *h = arg;

	h->sink[tid % 64] ^= XXH3_64bits(h->m + unit * MiB, MiB);
	return 0;
}

/* XXH3 over the same bytes in memory, 1 MiB chunks, as many threads. */
static double
hash_mem(const unsigned char *m, uint64_t len)
{
	struct hm h = { .m = m };
	double t0 = now();

	ckp__parallel(nthreads, len / MiB, hm_unit, NULL, &h);
	return now() - t0;
}

static double
plain_read(const char *path, uint64_t len)
{
	unsigned char *dst;
	int fd = open(path, O_RDONLY);
	double t0;

	warm(len + len / 2);
	dst = mem_new(len);
	t0 = now();

	for (uint64_t off = 0; off < len; off += 8 * MiB)
		if (pread(fd, dst + off, 8 * MiB, (off_t)off) < 0)
			die(path, strerror(errno));
	t0 = now() - t0;
	close(fd);
	munmap(dst, len);
	return t0;
}

static double
ram_read(const char *path, uint64_t len)
{
	unsigned char *dst;
	double t0;
	int r;

	warm(len + len / 2);
	dst = mem_new(len);
	t0 = now();
	r = ckp_ram_read(path, 0, dst, len, nthreads);

	t0 = now() - t0;
	if (r < 0)
		die("ckp_ram_read", strerror(-r));
	munmap(dst, len);
	return t0;
}

/* Map, and optionally touch every page as a guest might (read). */
static double
ram_map(const char *path, uint64_t len, bool touch)
{
	unsigned char *dst;
	volatile unsigned char sink = 0;
	double t0;
	int r;

	warm(len + len / 2);
	dst = mem_new(len);
	t0 = now();
	r = ckp_ram_map(path, 0, dst, len);

	if (r < 0)
		die("ckp_ram_map", strerror(-r));
	if (touch)
		for (uint64_t off = 0; off < len; off += PG)
			sink ^= dst[off];
	t0 = now() - t0;
	(void)sink;
	munmap(dst, len);
	return t0;
}

static double
minv(double a, double b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of @p n values (sorted in place). */
static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A writer setting (ckp__write_window, ckp__write_direct, threads). */
struct variant {
	char		 name[32];
	uint64_t	 window;
	bool		 direct;
	unsigned	 threads;
	double		*t;		/* per run */
};

static int
variant_parse(const char *spec, struct variant *v)
{
	char buf[64], *tok, *save;

	snprintf(v->name, sizeof(v->name), "%s", spec);
	v->window = CKP_WRITE_WINDOW;
	v->direct = false;
	v->threads = nthreads;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, "+", &save); tok != NULL;
	    tok = strtok_r(NULL, "+", &save)) {
		if (strcmp(tok, "default") == 0)
			continue;
		else if (strcmp(tok, "nowin") == 0)
			v->window = 0;
		else if (strncmp(tok, "win", 3) == 0 && atoi(tok + 3) > 0)
			v->window = (uint64_t)atoi(tok + 3) * MiB;
		else if (strcmp(tok, "direct") == 0)
			v->direct = true;
		else if (tok[0] == 't' && atoi(tok + 1) > 0)
			v->threads = (unsigned)atoi(tok + 1);
		else
			return -1;
	}
	return 0;
}

static double
ckp_write_as(const struct variant *v, const char *path,
    const ckp_ram_seg_t *segs, unsigned nsegs, uint64_t size)
{
	unsigned nt = nthreads;
	double t;

	ckp__write_window = v->window;
	ckp__write_direct = v->direct;
	nthreads = v->threads;
	t = ckp_write(path, segs, nsegs, size);
	nthreads = nt;
	ckp__write_window = CKP_WRITE_WINDOW;
	ckp__write_direct = false;
	return t;
}

static const char *
range(char *buf, double *v, int n, uint64_t bytes)
{
	double m;

	qsort(v, (size_t)n, sizeof(*v), dbl_cmp);
	m = median(v, n);
	if (n > 1)
		snprintf(buf, 96, "%.3f s (%.3f-%.3f)%s", m, v[0], v[n - 1],
		    "");
	else
		snprintf(buf, 96, "%.3f s", m);
	if (bytes != 0)
		snprintf(buf + strlen(buf), 96 - strlen(buf), " %.2f GB/s",
		    (double)bytes / m / 1e9);
	return buf;
}

/* ---- report ---- */

static void
row(const char *what, const char *hyve, const char *base, double ratio,
    const char *target)
{
	char r[32];

	if (ratio >= 0)
		snprintf(r, sizeof(r), "%.3f", ratio);
	else
		snprintf(r, sizeof(r), "-");
	printf("| %s | %s | %s | %s | %s |\n", what, hyve, base, r, target);
}

static const char *
secs(char *buf, double t, uint64_t bytes)
{
	if (bytes != 0)
		snprintf(buf, 64, "%.3f s (%.2f GB/s)", t, (double)bytes / t /
		    1e9);
	else
		snprintf(buf, 64, "%.3f s", t);
	return buf;
}

static const char *
sz(uint64_t n)
{
	static char buf[4][32];
	static int i;

	i = (i + 1) % 4;
	if (n >= GiB && n % GiB == 0)
		snprintf(buf[i], sizeof(buf[i]), "%" PRIu64 " GiB", n / GiB);
	else
		snprintf(buf[i], sizeof(buf[i]), "%" PRIu64 " MiB", n / MiB);
	return buf[i];
}

static const char *
fstype(const char *d)
{
	struct statfs sf;

	if (statfs(d, &sf) < 0)
		return "?";
	switch ((unsigned long)sf.f_type) {
	case 0xEF53: return "ext2/3/4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x01021994: return "tmpfs";
	case 0x6969: return "nfs";
	case 0x794c7630: return "overlayfs";
	default: return "other";
	}
}

struct sparse {
	const char	*name;
	ckp_ram_seg_t	*segs;		/* the touched runs */
	unsigned	 nsegs;
	double		 t_all, t_runs;	/* medians */
	double		*t_all_v, *t_runs_v;	/* per run */
	uint64_t	 blocks;
};

/*
 * Touch exactly @p touched bytes of @p s in runs: 2 MiB aligned runs of
 * 2 MiB, or (@p scattered) runs of 1 to 64 pages, a free page apart.
 */
static void
make_sparse(unsigned char *s, uint64_t big, uint64_t touched, bool scattered,
    struct sparse *sp)
{
	uint64_t npg = big / PG, cap = touched / PG + 1;
	unsigned char *used = calloc(npg, 1);

	sp->segs = calloc(cap, sizeof(*sp->segs));
	sp->nsegs = 0;
	for (uint64_t done = 0; done < touched;) {
		uint64_t run = scattered ? 1 + rnd() % 64 : 512;
		uint64_t at = scattered ? 1 + rnd() % (npg - 66) :
		    rnd() % (npg / 512) * 512;
		bool free_ = true;

		if (run > (touched - done) / PG)
			run = (touched - done) / PG;
		for (uint64_t p = at > 0 ? at - 1 : 0; p <= at + run && p < npg;
		    p++)
			free_ &= !used[p];
		if (!free_)
			continue;
		memset(used + at, 1, run);
		fill_random(s + at * PG, run * PG);
		for (uint64_t p = 0; p < run; p++)
			s[(at + p) * PG] |= 1;
		sp->segs[sp->nsegs++] = (ckp_ram_seg_t){ s + at * PG, at * PG,
		    run * PG };
		done += run * PG;
	}
	free(used);
}

/* Parse "256M,1G,4G". */
static int
parse_sizes(const char *spec, uint64_t *sizes, int max)
{
	char buf[256], *tok, *save, *end;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, ",", &save)) {
		uint64_t v = strtoull(tok, &end, 10);

		if (*end == 'G' || *end == 'g')
			v *= GiB;
		else if (*end == 'M' || *end == 'm')
			v *= MiB;
		else
			return -1;
		if (v == 0 || v % MiB != 0)
			return -1;
		sizes[n++] = v;
	}
	return n;
}

int
main(int argc, char **argv)
{
	uint64_t dense = GiB, big = 4 * GiB, touched = 64 * MiB, maxsize = 0;
	uint64_t sizes[8];
	const char *t = getenv("TMPDIR");
	const char *size_spec = "256M,1G,4G", *var_spec = "default";
	char pa[600], pb[600], h[400];
	double tc4 = -1;
	struct sparse sparse[2] = { { .name = "clustered" },
	    { .name = "scattered" } };
	struct variant var[8];
	unsigned char *m, *s;
	ckp_ram_seg_t seg;
	bool quick = false, dense_only = false;
	int nsizes, nvar = 0;

	snprintf(dir, sizeof(dir), "%s", t != NULL && *t ? t : "/tmp");
	nthreads = ckp__default_threads();
	drop_on = geteuid() == 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			nthreads = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-warm") == 0)
			warm_on = false;
		else if (strcmp(argv[i], "--no-drop") == 0)
			drop_on = false;
		else if (strcmp(argv[i], "--dense-only") == 0)
			dense_only = true;
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc)
			size_spec = argv[++i];
		else if (strcmp(argv[i], "--variants") == 0 && i + 1 < argc)
			var_spec = argv[++i];
		else if (argv[i][0] != '-')
			snprintf(dir, sizeof(dir), "%s", argv[i]);
		else {
			fprintf(stderr, "usage: bench_ram [--quick] [--threads N] "
			    "[--reps N] [--no-warm] [--no-drop] [--sizes LIST] "
			    "[--variants LIST] [--dense-only] [DIR]\n");
			return 2;
		}
	}
	if ((nsizes = parse_sizes(size_spec, sizes, 8)) <= 0) {
		fprintf(stderr, "bench_ram: bad --sizes %s (e.g. 256M,1G,4G)\n",
		    size_spec);
		return 2;
	}
	if (reps < 1)
		reps = 1;
	{
		char buf[256], *tok, *save;

		snprintf(buf, sizeof(buf), "%s", var_spec);
		for (tok = strtok_r(buf, ",", &save); tok != NULL && nvar < 8;
		    tok = strtok_r(NULL, ",", &save)) {
			if (variant_parse(tok, &var[nvar]) < 0) {
				fprintf(stderr, "bench_ram: bad variant %s (e.g. "
				    "default,nowin,win16,direct,t1)\n", tok);
				return 2;
			}
			var[nvar].t = calloc((size_t)reps, sizeof(double));
			nvar++;
		}
	}
	if (quick) {
		dense /= 8;
		big /= 8;
		touched /= 8;
		for (int i = 0; i < nsizes; i++)
			sizes[i] = sizes[i] / 8 / MiB * MiB;
	}
	for (int i = 0; i < nsizes; i++)
		if (sizes[i] > maxsize)
			maxsize = sizes[i];
	if (!dense_only && maxsize < big)
		maxsize = big;
	printf("bench_ram: %s (%s), %u threads, page-cache window %" PRIu64
	    " MiB, %s of %d, page cache %s before each timed write%s\n\n",
	    dir, fstype(dir), nthreads, (uint64_t)CKP_WRITE_WINDOW / MiB,
	    reps > 1 ? "medians" : "one run", reps, drop_on ? "dropped" :
	    "not dropped", quick ? ", --quick" : "");
	printf("| case | hyve | baseline | ratio | target |\n");
	printf("|---|---|---|---|---|\n");

	/*
	 * Dense: a plain write+fsync, an O_DIRECT write+fsync and every
	 * writer variant, in an order that rotates from run to run.
	 */
	m = mem_new(maxsize);
	fill_random(m, maxsize);
	path_of(pa, sizeof(pa), "bench_plain");
	path_of(pb, sizeof(pb), "bench_dense.ckp");
	for (int si = 0; si < nsizes; si++) {
		uint64_t len = sizes[si];
		double *tp = calloc((size_t)reps, sizeof(double));
		double *td = calloc((size_t)reps, sizeof(double));
		double mp, md;
		int nsteps = 2 + nvar;
		char x1[96], x2[96];

		seg = (ckp_ram_seg_t){ m, 0, len };
		for (int i = 0; i < reps; i++)
			for (int k = 0; k < nsteps; k++) {
				int step = (k + i) % nsteps;

				if (step == 0) {
					tp[i] = plain_write(pa, m, len, false);
					unlink(pa);
				} else if (step == 1) {
					td[i] = plain_write(pa, m, len, true);
					unlink(pa);
				} else {
					struct variant *v = &var[step - 2];

					v->t[i] = ckp_write_as(v, pb, &seg, 1, len);
					rm_ckp(pb);
				}
			}
		mp = median(tp, reps);
		md = median(td, reps);
		for (int k = 0; k < nvar; k++) {
			struct variant *v = &var[k];
			double mv = median(v->t, reps);

			if (nvar > 1 || strcmp(v->name, "default") != 0)
				snprintf(h, sizeof(h), "dense %s write, %.31s",
				    sz(len), v->name);
			else
				snprintf(h, sizeof(h), "dense %s write", sz(len));
			row(h, range(x1, v->t, reps, len), range(x2, tp, reps,
			    len), mv / mp, "<= 1.2 (write+fsync)");
			row("  same vs O_DIRECT write+fsync", range(x1, v->t,
			    reps, len), range(x2, td, reps, len), mv / md,
			    "(reference)");
			if (k == 0 && len == big)
				tc4 = mv;
		}
		free(tp);
		free(td);
	}
	if (dense_only)
		goto done;
	seg = (ckp_ram_seg_t){ m, 0, dense };
	path_of(pb, sizeof(pb), "bench_dense.ckp");

	/*
	 * Rounds (checkpoint-and-continue): put_segs, then 1% of the pages
	 * put again, clustered (runs of 64 pages) or scattered.  Commit
	 * re-hashes only the chunks those fall in, from the file; the
	 * alternative is to re-hash the whole file.  Both measured on the
	 * committed file, page cache warm, as commit finds it.
	 */
	for (int pat = 0; pat < 2; pat++) {
		char err[512], x1[64], x2[64];
		uint64_t npages = dense / PG, nput = npages / 100, ndirty = 0;
		uint64_t run = pat == 0 ? 64 : 1, nch = dense / MiB;
		double tcommit = -1, tput = -1, tdirty = -1, tall = -1;
		unsigned char *dirty = calloc(nch + 1, 1);
		struct ckp__csum *cs = calloc(nch + 1, sizeof(*cs));

		for (int i = 0; i < reps; i++) {
			ckp_writer_t *w;
			ckp_doc_t *meta = ckp_doc_new("bench_ram");
			double t0;
			int fd;

			warm(dense + dense / 2);
			if (ckp_writer_begin(pb, dense, &w, err, sizeof(err)) < 0)
				die("begin", err);
			ckp_writer_put_segs(w, &seg, 1, nthreads);
			memset(dirty, 0, nch + 1);
			t0 = now();
			for (uint64_t k = 0; k < nput; k += run) {
				uint64_t p = rnd() % (npages - run + 1);

				for (uint64_t q = p; q < p + run; q++)
					m[q * PG] ^= 1;
				ckp_writer_put(w, p * PG, m + p * PG, run * PG);
				dirty[p * PG / MiB] = 1;
				dirty[((p + run) * PG - 1) / MiB] = 1;
			}
			tput = minv(tput, now() - t0);
			t0 = now();
			if (ckp_writer_commit(w, meta, CKP_ENC_BIN, err,
			    sizeof(err)) < 0)
				die("commit", err);
			tcommit = minv(tcommit, now() - t0);
			ckp_doc_free(meta);
			fd = open(pb, O_RDONLY);
			t0 = now();
			ckp__ram_sum_file(fd, pb, dense, CKP_RAM_CHUNK, cs, dirty,
			    nthreads, err, sizeof(err));
			tdirty = minv(tdirty, now() - t0);
			t0 = now();
			ckp__ram_sum_file(fd, pb, dense, CKP_RAM_CHUNK, cs, NULL,
			    nthreads, err, sizeof(err));
			tall = minv(tall, now() - t0);
			close(fd);
			rm_ckp(pb);
		}
		for (uint64_t c = 0; c < nch; c++)
			ndirty += dirty[c];
		snprintf(h, sizeof(h), "rounds, %s: %" PRIu64 " pages put in %.3f"
		    " s; commit %.3f s; re-hash of the %" PRIu64 "/%" PRIu64
		    " chunks touched", pat == 0 ? "clustered" : "scattered",
		    nput, tput, tcommit, ndirty, nch);
		row(h, secs(x1, tdirty, 0), secs(x2, tall, dense), tdirty / tall,
		    "(vs re-hash of the whole file)");
		free(dirty);
		free(cs);
	}

	/* Checksum from the file, and loading, on the dense file. */
	ckp_write(pb, &seg, 1, dense);
	{
		char x1[64], x2[64];
		double tw = -1, tcold = -1, tm = hash_mem(m, dense);

		/*
		 * Warm: as a verify right after the write would find it if
		 * the writer kept the file in the page cache (it keeps only
		 * its window: see the cold figure for a verify after it).
		 */
		verify(pb);
		for (int i = 0; i < reps; i++) {
			tw = minv(tw, verify(pb));
			drop_cache(pb);
			tcold = minv(tcold, verify(pb));
		}
		row("verify (checksum from file), warm", secs(x1, tw, dense),
		    secs(x2, tm, dense), tw / tm, "(vs XXH3 of memory, same threads)");
		row("verify (checksum from file), cold", secs(x1, tcold, dense),
		    secs(x2, tm, dense), tcold / tm, "(vs XXH3 of memory, same threads)");
	}
	{
		char x1[64], x2[64];
		double rw = -1, rc = -1, mw = -1, mc = -1, mt = -1, pw = -1,
		    pc = -1;

		for (int i = 0; i < reps; i++) {
			pw = minv(pw, plain_read(pb, dense));
			rw = minv(rw, ram_read(pb, dense));
			mw = minv(mw, ram_map(pb, dense, false));
			mt = minv(mt, ram_map(pb, dense, true));
			drop_cache(pb);
			pc = minv(pc, plain_read(pb, dense));
			drop_cache(pb);
			rc = minv(rc, ram_read(pb, dense));
			drop_cache(pb);
			mc = minv(mc, ram_map(pb, dense, true));
		}
		row("dense load: ckp_ram_read, warm", secs(x1, rw, dense),
		    secs(x2, pw, dense), rw / pw, "(vs plain pread)");
		row("dense load: ckp_ram_read, cold", secs(x1, rc, dense),
		    secs(x2, pc, dense), rc / pc, "(vs plain pread)");
		row("dense load: ckp_ram_map alone", secs(x1, mw, 0),
		    secs(x2, rw, dense), mw / rw, "(vs ckp_ram_read)");
		row("dense load: map + touch every page, warm", secs(x1, mt,
		    dense), secs(x2, rw, dense), mt / rw, "(vs ckp_ram_read)");
		row("dense load: map + touch every page, cold", secs(x1, mc,
		    dense), secs(x2, rc, dense), mc / rc, "(vs ckp_ram_read)");
	}
	rm_ckp(pb);

	/* Dense at the big size, for the sparse ratio, unless measured above. */
	if (tc4 < 0) {
		double *tv = calloc((size_t)reps, sizeof(double));

		seg = (ckp_ram_seg_t){ m, 0, big };
		path_of(pb, sizeof(pb), "bench_dense4.ckp");
		for (int i = 0; i < reps; i++) {
			tv[i] = ckp_write(pb, &seg, 1, big);
			rm_ckp(pb);
		}
		tc4 = median(tv, reps);
		free(tv);
	}

	/*
	 * Sparse: fresh mappings (as hyve's guest RAM: MADV_HUGEPAGE) with
	 * 64 MiB touched, clustered (2 MiB runs, as a guest's allocator
	 * leaves them) or scattered (runs of 1 to 64 pages at random places,
	 * each touching its own huge page: about 1 GiB to scan that is not
	 * the shared zero page).  Written with one segment for all RAM (the
	 * library finds the zero pages) and with the touched runs only (a VMM
	 * that knows which pages the guest wrote, e.g. from KVM's dirty log).
	 */
	for (int lay = 0; lay < 2; lay++) {
		struct sparse *sp = &sparse[lay];

		s = mem_new(big);
		make_sparse(s, big, touched, lay == 1, sp);
		path_of(pa, sizeof(pa), "bench_sparse.ckp");
		seg = (ckp_ram_seg_t){ s, 0, big };
		sp->t_all_v = calloc((size_t)reps, sizeof(double));
		sp->t_runs_v = calloc((size_t)reps, sizeof(double));
		for (int i = 0; i < reps; i++) {
			sp->t_all_v[i] = ckp_write(pa, &seg, 1, big);
			sp->blocks = blocks_of(pa);
			rm_ckp(pa);
			sp->t_runs_v[i] = ckp_write(pa, sp->segs, sp->nsegs, big);
			if (i + 1 < reps)
				rm_ckp(pa);
		}
		sp->t_all = median(sp->t_all_v, reps);
		sp->t_runs = median(sp->t_runs_v, reps);
		{
			ckp_doc_t *d = ckp_checkpoint_open(pa, 0);
			uint64_t db = 0, ex = 0;
			char x1[64], x2[64];

			if (ckp_doc_error(d) != 0)
				die("sparse", ckp_doc_errmsg(d));
			ckp_sec_get_uint64(ckp_sec_find(ckp_doc_root(d), "ram"),
			    "data_bytes", &db);
			ckp_sec_get_uint64(ckp_sec_find(ckp_doc_root(d), "ram"),
			    "extents", &ex);
			ckp_doc_free(d);
			if (db != touched)
				die("sparse", "data_bytes != touched bytes");
			snprintf(x1, sizeof(x1), "%.1f MiB allocated",
			    (double)sp->blocks / MiB);
			snprintf(x2, sizeof(x2), "%.1f MiB touched, %" PRIu64
			    " extents", (double)touched / MiB, ex);
			snprintf(h, sizeof(h), "sparse %s, %s: blocks", sz(big),
			    sp->name);
			row(h, x1, x2, (double)sp->blocks / (double)touched,
			    "<= 1.1");
		}
		if (lay == 1) {
			char x1[64];
			double vs = -1, rs = -1, ms = -1;

			for (int i = 0; i < reps; i++) {
				vs = minv(vs, verify(pa));
				rs = minv(rs, ram_read(pa, big));
				ms = minv(ms, ram_map(pa, big, false));
			}
			snprintf(h, sizeof(h), "sparse %s: verify", sz(big));
			row(h, secs(x1, vs, 0), "-", -1, "(info)");
			snprintf(h, sizeof(h), "sparse %s: ckp_ram_read",
			    sz(big));
			row(h, secs(x1, rs, 0), "-", -1, "(info)");
			snprintf(h, sizeof(h), "sparse %s: ckp_ram_map",
			    sz(big));
			row(h, secs(x1, ms, 0), "-", -1, "(info)");
		}
		rm_ckp(pa);
		munmap(s, big);
		free(sp->segs);
	}

	{
		char x1[96], x2[64];

		for (int lay = 0; lay < 2; lay++) {
			struct sparse *sp = &sparse[lay];

			snprintf(h, sizeof(h), "sparse %s (%s touched, %s) write,"
			    " one segment", sz(big), sz(touched), sp->name);
			row(h, range(x1, sp->t_all_v, reps, 0), secs(x2, tc4, 0),
			    sp->t_all / tc4, "<= 0.05 (vs dense same size)");
			snprintf(h, sizeof(h), "sparse %s (%s touched, %s) write,"
			    " %u segments (touched runs)", sz(big), sz(touched),
			    sp->name, sp->nsegs);
			row(h, range(x1, sp->t_runs_v, reps, 0), secs(x2, tc4, 0),
			    sp->t_runs / tc4, "<= 0.05 (vs dense same size)");
			free(sp->t_all_v);
			free(sp->t_runs_v);
		}
	}
done:
	munmap(m, maxsize);
	return 0;
}
