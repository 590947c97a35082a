/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The checkpoint writer: RAM into FILE.ckp.tmp (zero pages as holes,
 * non-zero pages as extents, chunk checksums computed from memory while
 * writing), then the meta and the atomic publish (publish.c).
 *
 * Each 1 MiB chunk of the file has a state.  PRISTINE: nothing was ever
 * written there, the file is a hole.  CLEAN: ckp_writer_put_segs() wrote
 * the whole chunk (or wrote into a pristine one) and summarised it from
 * memory as it went.  DIRTY: ckp_writer_put() changed it after that;
 * commit summarises it again from the file.  So a suspend (one put_segs
 * of a stopped guest) never reads RAM twice, and checkpoint-and-continue
 * (put_segs while the guest runs, then puts of the pages it dirtied) reads
 * back only the chunks those pages fall in, after the guest has resumed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "ram_impl.h"

struct ckp_writer {
	struct ckp__names n;
	int		 fd;		/* the RAM temporary, locked */
	uint64_t	 size;
	uint64_t	 nchunks;
	uint32_t	 chunk_size;
	atomic_uchar	*state;		/* CKP__C_* per chunk */
	struct ckp__csum *cs;		/* per chunk; valid when CLEAN */
	unsigned	 nthreads;	/* for commit: as many as put_segs used */
	ckp_progress_fn	*progress;
	void		*progress_arg;
	atomic_bool	 no_punch;	/* the file system cannot punch holes */
	atomic_int	 err;		/* sticky */
	pthread_mutex_t	 mu;		/* errmsg */
	char		 errmsg[CKP_RAM_ERRMAX];
	bool		 removed;	/* temporaries unlinked */
};

static const unsigned char zeros[64 * 1024];

static void
fmt_err(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt_err(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/*
 * Record the first error.  Nothing half-written may stay behind: the
 * temporary goes at once (which also gives back the space on ENOSPC).
 */
static int
w_fail(struct ckp_writer *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
w_fail(struct ckp_writer *w, int err, const char *fmt, ...)
{
	int zero = 0;
	va_list ap;

	pthread_mutex_lock(&w->mu);
	if (atomic_compare_exchange_strong(&w->err, &zero, err)) {
		va_start(ap, fmt);
		vsnprintf(w->errmsg, sizeof(w->errmsg), fmt, ap);
		va_end(ap);
		if (!w->removed) {
			unlink(w->n.rtmp);
			w->removed = true;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return atomic_load(&w->err);
}

int
ckp_writer_error(const ckp_writer_t *w)
{
	return atomic_load(&((ckp_writer_t *)w)->err);
}

const char *
ckp_writer_errmsg(const ckp_writer_t *w)
{
	return w->errmsg;
}

void
ckp_writer_set_progress(ckp_writer_t *w, ckp_progress_fn *fn, void *arg)
{
	w->progress = fn;
	w->progress_arg = arg;
}

static void
writer_free(struct ckp_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->state);
	free(w->cs);
	pthread_mutex_destroy(&w->mu);
	ckp__names_free(&w->n);
	free(w);
}

/* Is an existing @p path something a rename may replace? */
static int
check_target(const char *path, char *errbuf, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		fmt_err(errbuf, errlen, "cannot write checkpoint: %s: %s", path,
		    strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		fmt_err(errbuf, errlen, "cannot write checkpoint: %s exists and "
		    "is not a regular file", path);
		return -EEXIST;
	}
	return 0;
}

int
ckp_writer_begin(const char *path, uint64_t ram_size, ckp_writer_t **wp,
    char *errbuf, size_t errlen)
{
	struct ckp_writer *w;
	enum ckp__recover_state st;
	char msg[CKP_RAM_ERRMAX];
	bool fwd;
	int r, tries = 0;

	*wp = NULL;
	fmt_err(errbuf, errlen, "%s", "");
	if (ram_size % CKP_RAM_PAGE != 0) {
		fmt_err(errbuf, errlen, "checkpoint %s: RAM size %" PRIu64
		    " is not a multiple of %u", path, ram_size, CKP_RAM_PAGE);
		return -EINVAL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	atomic_init(&w->err, 0);
	atomic_init(&w->no_punch, false);
	if ((r = ckp__names_init(&w->n, path)) < 0) {
		fmt_err(errbuf, errlen, "%s: not a checkpoint name (empty, a "
		    "directory, or ending in .tmp)", path != NULL ? path : "");
		goto fail;
	}
	if ((r = check_target(w->n.ram, errbuf, errlen)) < 0 ||
	    (r = check_target(w->n.meta, errbuf, errlen)) < 0)
		goto fail;
	w->size = ram_size;
	w->chunk_size = CKP_RAM_CHUNK;
	w->nchunks = ckp__nchunks(ram_size, w->chunk_size);
	w->nthreads = ckp__default_threads();
	w->state = calloc(w->nchunks + 1, sizeof(*w->state));
	w->cs = calloc(w->nchunks + 1, sizeof(*w->cs));
	if (w->state == NULL || w->cs == NULL) {
		r = -ENOMEM;
		fmt_err(errbuf, errlen, "checkpoint %s: %s", w->n.ram,
		    strerror(ENOMEM));
		goto fail;
	}

	for (;;) {
		r = ckp__recover(&w->n, &st, &fwd, msg, sizeof(msg));
		if (r == -EBUSY) {
			fmt_err(errbuf, errlen, "a checkpoint to %s is already "
			    "being written", w->n.ram);
			goto fail;
		}
		if (r < 0) {
			fmt_err(errbuf, errlen, "cannot write checkpoint %s: "
			    "%s", w->n.ram, msg);
			goto fail;
		}
		r = ckp__tmp_create(w->n.rtmp, &w->fd);
		if (r == 0)
			break;
		/* Another writer got there between recovery and create. */
		if ((r == -EEXIST || r == -EAGAIN) && ++tries < 5)
			continue;
		if (r == -EEXIST || r == -EAGAIN) {
			r = -EBUSY;
			fmt_err(errbuf, errlen, "a checkpoint to %s is already "
			    "being written", w->n.ram);
		} else
			fmt_err(errbuf, errlen, "cannot write checkpoint %s: "
			    "cannot create %s: %s", w->n.ram, w->n.rtmp,
			    strerror(-r));
		goto fail;
	}
	if (ftruncate(w->fd, (off_t)ram_size) < 0) {
		r = -errno;
		fmt_err(errbuf, errlen, "cannot write checkpoint %s: cannot "
		    "size %s to %" PRIu64 " bytes: %s", w->n.ram, w->n.rtmp,
		    ram_size, strerror(errno));
		unlink(w->n.rtmp);
		goto fail;
	}
	ckp__crash_point("begin");
	*wp = w;
	return 0;
fail:
	writer_free(w);
	return r;
}

/* ---- writing pages ---- */

/* Make [off, off + len) of the file zero: punch a hole, else write zeros. */
static int
zero_range(struct ckp_writer *w, uint64_t off, uint64_t len)
{
#if defined(FALLOC_FL_PUNCH_HOLE) && defined(FALLOC_FL_KEEP_SIZE)
	if (!atomic_load_explicit(&w->no_punch, memory_order_relaxed)) {
		if (fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    (off_t)off, (off_t)len) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
			return -errno;
		atomic_store(&w->no_punch, true);
	}
#elif defined(SPACECTL_DEALLOC)
	if (!atomic_load_explicit(&w->no_punch, memory_order_relaxed)) {
		struct spacectl_range rg = { .r_offset = (off_t)off,
		    .r_len = (off_t)len };

		if (fspacectl(w->fd, SPACECTL_DEALLOC, &rg, 0, NULL) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL &&
		    errno != ENODEV)
			return -errno;
		atomic_store(&w->no_punch, true);
	}
#endif
	while (len > 0) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		int r;

		if ((r = ckp__pwrite_all(w->fd, zeros, n, off)) < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Write the pages of one piece (inside one chunk) to the file: non-zero
 * runs with one pwrite each; zero runs punched unless the chunk is still a
 * hole.  @p acc (may be NULL) accumulates the chunk summary.
 * *@p wrote is set when the file changed.
 */
static int
write_piece(struct ckp_writer *w, const unsigned char *host, uint64_t off,
    uint64_t len, bool pristine, struct ckp__cacc *acc, bool *wrote)
{
	uint64_t run = 0, zrun = 0;	/* lengths of the open runs */
	int r = 0;

	for (uint64_t p = 0; p <= len; p += CKP_RAM_PAGE) {
		bool end = p == len;
		bool nz = !end && !ckp__is_zero(host + p, CKP_RAM_PAGE);

		if (!end && acc != NULL)
			ckp__cacc_page(acc, nz);
		if ((end || !nz) && run != 0) {
			r = ckp__pwrite_all(w->fd, host + p - run, run,
			    off + p - run);
			if (r < 0) {
				r = w_fail(w, r, "writing %s at offset 0x%"
				    PRIx64 ": %s", w->n.rtmp, off + p - run,
				    strerror(-r));
				return r;
			}
			*wrote = true;
			run = 0;
		}
		if ((end || nz) && zrun != 0) {
			r = zero_range(w, off + p - zrun, zrun);
			if (r < 0) {
				r = w_fail(w, r, "zeroing %s at offset 0x%"
				    PRIx64 ": %s", w->n.rtmp, off + p - zrun,
				    strerror(-r));
				return r;
			}
			*wrote = true;
			zrun = 0;
		}
		if (end)
			break;
		if (nz)
			run += CKP_RAM_PAGE;
		else if (!pristine)
			zrun += CKP_RAM_PAGE;
	}
	return 0;
}

/* ---- put_segs ---- */

/*
 * Start writing back the chunk just written: the disk then works while the
 * next chunks are copied, and commit's fsync finds little left to do
 * (measured: a dense 1 GiB checkpoint in 0.3x to 0.7x the time of write +
 * fsync of the same bytes).  Per chunk rather than in 8 MiB batches: the
 * same for a dense guest, and a sparse one's scattered extents went out
 * faster (0.04 s against 0.06 s for 500 extents).
 */
static void
start_writeback(struct ckp_writer *w, uint64_t from, uint64_t to)
{
#ifdef SYNC_FILE_RANGE_WRITE
	(void)sync_file_range(w->fd, (off_t)from, (off_t)(to - from),
	    SYNC_FILE_RANGE_WRITE);
#else
	(void)w;
	(void)from;
	(void)to;
#endif
}

struct piece {
	const unsigned char *host;
	uint64_t	 off;
	uint64_t	 len;
};

struct segw {
	struct ckp_writer *w;
	ckp_ram_seg_t	*segs;		/* sorted by file_off */
	unsigned	 nsegs;
	uint64_t	*chunk;		/* per unit: chunk index */
	unsigned	*first;		/* per unit: first segment in it */
	XXH3_state_t	**xs;		/* per thread */
	struct piece	**pieces;	/* per thread: CKP_RAM_CHUNK / PAGE */
	atomic_uint_fast64_t done;
	uint64_t	 total;
	uint64_t	 last_ms;	/* last progress report */
};

static int
seg_cmp(const void *a, const void *b)
{
	const ckp_ram_seg_t *x = a, *y = b;

	return x->file_off < y->file_off ? -1 : x->file_off > y->file_off;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
segw_tick(void *arg)
{
	struct segw *s = arg;
	uint64_t now;

	if (s->w->progress == NULL)
		return;
	now = mono_ms();
	if (now - s->last_ms < 100)
		return;
	s->last_ms = now;
	s->w->progress(s->w->progress_arg, atomic_load(&s->done), s->total);
}

/* Hash a chunk's pieces, the gaps between them being zeros (a hole). */
static uint64_t
hash_pieces(XXH3_state_t *xs, const struct piece *pc, unsigned np,
    uint64_t cstart, uint64_t cend)
{
	uint64_t pos = cstart;

	if (np == 1 && pc[0].off == cstart && pc[0].len == cend - cstart)
		return XXH3_64bits(pc[0].host, pc[0].len);
	XXH3_64bits_reset(xs);
	for (unsigned i = 0; i <= np; i++) {
		uint64_t to = i < np ? pc[i].off : cend;

		while (pos < to) {
			uint64_t n = to - pos < sizeof(zeros) ? to - pos :
			    sizeof(zeros);

			XXH3_64bits_update(xs, zeros, n);
			pos += n;
		}
		if (i < np) {
			XXH3_64bits_update(xs, pc[i].host, pc[i].len);
			pos += pc[i].len;
		}
	}
	return XXH3_64bits_digest(xs);
}

static int
segw_unit(void *arg, uint64_t unit, unsigned tid)
{
	struct segw *s = arg;
	struct ckp_writer *w = s->w;
	uint64_t c = s->chunk[unit];
	uint64_t cstart = c * w->chunk_size;
	uint64_t cend = cstart + w->chunk_size < w->size ?
	    cstart + w->chunk_size : w->size;
	bool pristine = atomic_load(&w->state[c]) == CKP__C_PRISTINE;
	bool wrote = false;
	struct piece *pc = s->pieces[tid];
	unsigned np = 0;
	uint64_t covered = 0;
	struct ckp__csum sum;
	struct ckp__cacc acc;
	int r;

	ckp__cacc_start(&acc, &sum);
	for (unsigned i = s->first[unit]; i < s->nsegs &&
	    s->segs[i].file_off < cend; i++) {
		const ckp_ram_seg_t *sg = &s->segs[i];
		uint64_t ps = sg->file_off > cstart ? sg->file_off : cstart;
		uint64_t pe = sg->file_off + sg->len < cend ?
		    sg->file_off + sg->len : cend;

		if (pe <= ps)
			continue;
		pc[np].host = (const unsigned char *)sg->host +
		    (ps - sg->file_off);
		pc[np].off = ps;
		pc[np].len = pe - ps;
		ckp__cacc_zeros(&acc, (uint32_t)((ps - cstart) / CKP_RAM_PAGE -
		    acc.page));
		if ((r = write_piece(w, pc[np].host, ps, pe - ps, pristine,
		    &acc, &wrote)) < 0)
			return r;
		covered += pe - ps;
		np++;
	}
	ckp__cacc_zeros(&acc, (uint32_t)((cend - cstart) / CKP_RAM_PAGE -
	    acc.page));
	ckp__cacc_end(&acc);
	if (covered == cend - cstart || pristine) {
		/* The file's chunk is what memory holds (holes for the gaps). */
		if (sum.data_pages != 0)
			sum.hash = hash_pieces(s->xs[tid], pc, np, cstart, cend);
		w->cs[c] = sum;
		atomic_store(&w->state[c], pristine && !wrote ?
		    CKP__C_PRISTINE : CKP__C_CLEAN);
	} else
		atomic_store(&w->state[c], CKP__C_DIRTY);
	atomic_fetch_add(&s->done, covered);
	if (wrote)
		start_writeback(w, cstart, cend);
	return 0;
}

int
ckp_writer_put_segs(ckp_writer_t *w, const ckp_ram_seg_t *segs,
    unsigned nsegs, unsigned nthreads)
{
	struct segw s = { .w = w, .nsegs = nsegs };
	uint64_t nunits = 0, last = UINT64_MAX, prev_end = 0;
	int r;

	if ((r = atomic_load(&w->err)) != 0)
		return r;
	if (nsegs == 0)
		return 0;
	if (nthreads == 0)
		nthreads = ckp__default_threads();
	if (nthreads > 256)
		nthreads = 256;
	atomic_init(&s.done, 0);
	if ((s.segs = malloc(nsegs * sizeof(*segs))) == NULL)
		return w_fail(w, -ENOMEM, "writing %s: %s", w->n.ram,
		    strerror(ENOMEM));
	memcpy(s.segs, segs, nsegs * sizeof(*segs));
	qsort(s.segs, nsegs, sizeof(*segs), seg_cmp);
	for (unsigned i = 0; i < nsegs; i++) {
		const ckp_ram_seg_t *sg = &s.segs[i];

		if (sg->len % CKP_RAM_PAGE != 0 ||
		    sg->file_off % CKP_RAM_PAGE != 0 || sg->file_off > w->size ||
		    sg->len > w->size - sg->file_off ||
		    (sg->len != 0 && sg->host == NULL)) {
			r = w_fail(w, -EINVAL, "writing %s: bad segment (file "
			    "offset 0x%" PRIx64 ", length 0x%" PRIx64 ", RAM "
			    "size 0x%" PRIx64 ")", w->n.ram, sg->file_off,
			    sg->len, w->size);
			goto out;
		}
		if (sg->len != 0 && sg->file_off < prev_end) {
			r = w_fail(w, -EINVAL, "writing %s: segments overlap "
			    "at file offset 0x%" PRIx64, w->n.ram, sg->file_off);
			goto out;
		}
		if (sg->len != 0)
			prev_end = sg->file_off + sg->len;
		s.total += sg->len;
		if (sg->len != 0) {
			uint64_t c0 = sg->file_off / w->chunk_size;
			uint64_t c1 = (sg->file_off + sg->len - 1) /
			    w->chunk_size;

			nunits += c1 - c0 + 1 - (c0 == last);
			last = c1;
		}
	}
	s.chunk = malloc((nunits + 1) * sizeof(*s.chunk));
	s.first = malloc((nunits + 1) * sizeof(*s.first));
	s.xs = calloc(nthreads, sizeof(*s.xs));
	s.pieces = calloc(nthreads, sizeof(*s.pieces));
	r = -ENOMEM;
	if (s.chunk == NULL || s.first == NULL || s.xs == NULL ||
	    s.pieces == NULL)
		goto nomem;
	for (unsigned i = 0; i < nthreads; i++) {
		s.xs[i] = XXH3_createState();
		s.pieces[i] = malloc(CKP_RAM_CHUNK / CKP_RAM_PAGE *
		    sizeof(struct piece));
		if (s.xs[i] == NULL || s.pieces[i] == NULL)
			goto nomem;
	}
	nunits = 0;
	last = UINT64_MAX;
	for (unsigned i = 0; i < nsegs; i++) {
		const ckp_ram_seg_t *sg = &s.segs[i];

		if (sg->len == 0)
			continue;
		for (uint64_t c = sg->file_off / w->chunk_size;
		    c <= (sg->file_off + sg->len - 1) / w->chunk_size; c++) {
			if (c == last)
				continue;
			s.chunk[nunits] = c;
			s.first[nunits] = i;
			nunits++;
			last = c;
		}
	}
	if (nthreads > w->nthreads)
		w->nthreads = nthreads;
	s.last_ms = mono_ms();
	r = ckp__parallel(nthreads, nunits, segw_unit, segw_tick, &s);
	if (r == 0 && w->progress != NULL)
		w->progress(w->progress_arg, atomic_load(&s.done), s.total);
	ckp__crash_point("put-segs");
	goto out;
nomem:
	r = w_fail(w, -ENOMEM, "writing %s: %s", w->n.ram, strerror(ENOMEM));
out:
	if (s.xs != NULL)
		for (unsigned i = 0; i < nthreads; i++)
			XXH3_freeState(s.xs[i]);
	if (s.pieces != NULL)
		for (unsigned i = 0; i < nthreads; i++)
			free(s.pieces[i]);
	free(s.xs);
	free(s.pieces);
	free(s.chunk);
	free(s.first);
	free(s.segs);
	return r;
}

int
ckp_writer_put(ckp_writer_t *w, uint64_t file_off, const void *data,
    uint64_t len)
{
	const unsigned char *host = data;
	int r;

	if ((r = atomic_load(&w->err)) != 0)
		return r;
	if (len % CKP_RAM_PAGE != 0 || file_off % CKP_RAM_PAGE != 0 ||
	    file_off > w->size || len > w->size - file_off ||
	    (len != 0 && data == NULL))
		return w_fail(w, -EINVAL, "writing %s: bad range (file offset "
		    "0x%" PRIx64 ", length 0x%" PRIx64 ", RAM size 0x%" PRIx64
		    ")", w->n.ram, file_off, len, w->size);
	while (len > 0) {
		uint64_t c = file_off / w->chunk_size;
		uint64_t cend = (c + 1) * w->chunk_size;
		uint64_t n = cend - file_off < len ? cend - file_off : len;
		bool wrote = false;

		r = write_piece(w, host, file_off, n,
		    atomic_load(&w->state[c]) == CKP__C_PRISTINE, NULL, &wrote);
		if (r < 0)
			return r;
		if (wrote)
			atomic_store(&w->state[c], CKP__C_DIRTY);
		host += n;
		file_off += n;
		len -= n;
	}
	ckp__crash_point("put");
	return 0;
}

/* ---- commit ---- */

int
ckp__ram_sec_write(ckp_doc_t *meta, const char *file,
    const struct ckp__ram_totals *t, const uint8_t *blob, size_t bloblen)
{
	ckp_sec_t *root = ckp_doc_root(meta), *ram;
	char sum[CKP_RAM_SUM_LEN];

	if (ckp_sec_find(root, "ram") != NULL)
		ckp_sec_remove(root, "ram");
	if ((ram = ckp_sec_add(root, "ram", CKP_RAM_SEC_VERSION)) == NULL)
		return ckp_doc_error(meta);
	ckp__ram_sum_text(t->checksum, sum);
	ckp_sec_add_string(ram, "file", file);
	ckp_sec_add_uint64(ram, "size", t->size);
	ckp_sec_add_string(ram, "checksum", sum);
	ckp_sec_add_uint32(ram, "chunk_size", t->chunk_size);
	ckp_sec_add_uint64(ram, "data_bytes", t->data_bytes);
	ckp_sec_add_uint64(ram, "extents", t->extents);
	ckp_sec_add_bytes(ram, "chunks", blob, bloblen);
	return ckp_doc_error(meta);
}

int
ckp_writer_commit(ckp_writer_t *w, ckp_doc_t *meta, ckp_enc_t enc,
    char *errbuf, size_t errlen)
{
	struct ckp__ram_totals t;
	unsigned char *todo = NULL;
	uint8_t *blob = NULL;
	size_t bloblen = 0, mlen = 0;
	void *mbuf = NULL;
	bool any = false, renamed = false;
	char err[CKP_RAM_ERRMAX];
	int r;

	fmt_err(errbuf, errlen, "%s", "");
	if ((r = atomic_load(&w->err)) != 0) {
		fmt_err(errbuf, errlen, "%s", w->errmsg);
		goto fail;
	}
	if (meta == NULL) {
		r = -EINVAL;
		fmt_err(errbuf, errlen, "checkpoint %s: no meta document",
		    w->n.ram);
		goto fail;
	}
	if ((r = ckp_doc_error(meta)) != 0) {
		fmt_err(errbuf, errlen, "checkpoint %s: the meta has an error: "
		    "%s", w->n.ram, ckp_doc_errmsg(meta));
		goto fail;
	}
	if ((todo = malloc(w->nchunks + 1)) == NULL)
		goto nomem;
	for (uint64_t c = 0; c < w->nchunks; c++) {
		todo[c] = atomic_load(&w->state[c]) == CKP__C_DIRTY;
		any |= todo[c];
	}
	if (any && (r = ckp__ram_sum_file(w->fd, w->n.rtmp, w->size,
	    w->chunk_size, w->cs, todo, w->nthreads, err, sizeof(err))) < 0) {
		fmt_err(errbuf, errlen, "%s", err);
		goto fail;
	}
	if (fsync(w->fd) < 0) {
		r = -errno;
		fmt_err(errbuf, errlen, "fsync %s: %s", w->n.rtmp,
		    strerror(errno));
		goto fail;
	}
	ckp__crash_point("ram-synced");
	if ((r = ckp__ram_combine(w->cs, w->size, w->chunk_size, &t, &blob,
	    &bloblen)) < 0)
		goto nomem;
	if ((r = ckp__ram_sec_write(meta, w->n.base, &t, blob, bloblen)) < 0) {
		fmt_err(errbuf, errlen, "checkpoint %s: recording the ram "
		    "section: %s", w->n.ram, ckp_doc_errmsg(meta));
		goto fail;
	}
	if ((r = ckp_doc_encode(meta, enc, &mbuf, &mlen)) < 0) {
		fmt_err(errbuf, errlen, "checkpoint %s: encoding the meta: %s",
		    w->n.ram, ckp_doc_error(meta) != 0 ? ckp_doc_errmsg(meta) :
		    strerror(-r));
		goto fail;
	}
	if ((r = ckp__publish(&w->n, mbuf, mlen, &renamed, err,
	    sizeof(err))) < 0) {
		fmt_err(errbuf, errlen, "checkpoint %s: %s", w->n.ram, err);
		if (renamed)
			w->removed = true;	/* recovery's job now */
		goto fail;
	}
	w->removed = true;
	writer_free(w);
	free(todo);
	free(blob);
	free(mbuf);
	return 0;
nomem:
	r = -ENOMEM;
	fmt_err(errbuf, errlen, "checkpoint %s: %s", w->n.ram,
	    strerror(ENOMEM));
fail:
	ckp_writer_abort(w);
	free(todo);
	free(blob);
	free(mbuf);
	return r;
}

void
ckp_writer_abort(ckp_writer_t *w)
{
	if (w == NULL)
		return;
	if (!w->removed)
		unlink(w->n.rtmp);
	writer_free(w);
}
