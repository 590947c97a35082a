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
	atomic_bool	 synced;	/* RAM file hashed and fsync'd since the last put */
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
	char msg[2 * CKP_RAM_ERRMAX];
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
	atomic_init(&w->synced, false);
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
 * put_segs is a pipeline.  Scanners (every thread) take the chunks in file
 * order, find their zero pages, summarise and hash them from memory and
 * list what is to be written (one op per run of pages).  The calling
 * thread is the only writer: it writes the chunks' ops in file order,
 * gathering neighbouring runs into writes of up to WRITE_MAX, and helps
 * scanning while the chunk it needs next is not ready.
 *
 * One writer because buffered writes to one file serialise on its inode
 * lock (ext4, xfs): with two, the second spun on it (22% of a dense 1 GiB
 * checkpoint's time) and the checkpoint was no faster; hashing (11%) runs
 * beside the writer instead of in turn with it.  In file order, so that
 * the page cache the file occupies is one window (below).  Scanners stay
 * at most nslots chunks ahead: a chunk is copied soon after it was hashed
 * (still in the CPU's caches) and the ops need fixed memory.
 */
#define WRITE_MAX	(8u << 20)

uint64_t ckp__write_window = CKP_WRITE_WINDOW;
bool ckp__write_direct;

/* A range to write: from host memory, or (host NULL) zeros. */
struct wop {
	const unsigned char *host;
	uint64_t	 off;
	uint64_t	 len;
};

struct piece {
	const unsigned char *host;
	uint64_t	 off;
	uint64_t	 len;
};

/* One chunk between its scanner and the writer. */
struct slot {
	bool		 ready;		/* scanned, not yet written (segw.mu) */
	bool		 valid;		/* sum is the file's chunk after writing */
	bool		 pristine;	/* a hole before this put_segs */
	unsigned	 nops;
	struct wop	*ops;		/* CKP_RAM_CHUNK / PAGE at most */
	struct ckp__csum sum;
	uint64_t	 covered;	/* bytes of segments in the chunk */
};

struct segw {
	struct ckp_writer *w;
	ckp_ram_seg_t	*segs;		/* sorted by file_off */
	unsigned	 nsegs;
	uint64_t	*chunk;		/* per unit: chunk index */
	unsigned	*first;		/* per unit: first segment in it */
	uint64_t	 nunits;
	XXH3_state_t	**xs;		/* per thread */
	struct piece	**pieces;	/* per thread: CKP_RAM_CHUNK / PAGE */
	struct slot	*slots;		/* unit u in slots[u % nslots] */
	unsigned	 nslots;
	pthread_mutex_t	 mu;
	pthread_cond_t	 ready_cv;	/* a slot became ready: the writer */
	pthread_cond_t	 free_cv;	/* the writer moved on: scanners */
	uint64_t	 next_scan;	/* next unit to claim (mu) */
	uint64_t	 next_write;	/* units below it are written (mu) */
	bool		 stop;		/* (mu) */
	/* The writer's own. */
	int		 dfd;		/* O_DIRECT descriptor, or -1 */
	struct wop	 pend;		/* a write being gathered */
	uint64_t	 win_lo;	/* written, maybe cached from here on */
	uint64_t	 done;
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
segw_tick(struct segw *s)
{
	uint64_t now;

	if (s->w->progress == NULL)
		return;
	now = mono_ms();
	if (now - s->last_ms < 100)
		return;
	s->last_ms = now;
	s->w->progress(s->w->progress_arg, s->done, s->total);
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

/*
 * The ops of one piece (inside one chunk): a write per run of non-zero
 * pages; a zeroing per run of zero pages unless the chunk is a hole.
 */
static void
scan_piece(struct slot *sl, const unsigned char *host, uint64_t off,
    uint64_t len, bool pristine, struct ckp__cacc *acc)
{
	uint64_t run = 0, zrun = 0;	/* lengths of the open runs */

	for (uint64_t p = 0; p <= len; p += CKP_RAM_PAGE) {
		bool end = p == len;
		bool nz = !end && !ckp__is_zero(host + p, CKP_RAM_PAGE);

		if (!end)
			ckp__cacc_page(acc, nz);
		if ((end || !nz) && run != 0) {
			sl->ops[sl->nops++] = (struct wop){ host + p - run,
			    off + p - run, run };
			run = 0;
		}
		if ((end || nz) && zrun != 0) {
			sl->ops[sl->nops++] = (struct wop){ NULL, off + p - zrun,
			    zrun };
			zrun = 0;
		}
		if (end)
			break;
		if (nz)
			run += CKP_RAM_PAGE;
		else if (!pristine)
			zrun += CKP_RAM_PAGE;
	}
}

/* Scan unit @p u into @p sl: ops, summary and (when valid) hash. */
static void
scan_unit(struct segw *s, uint64_t u, unsigned tid, struct slot *sl)
{
	struct ckp_writer *w = s->w;
	uint64_t c = s->chunk[u];
	uint64_t cstart = c * w->chunk_size;
	uint64_t cend = cstart + w->chunk_size < w->size ?
	    cstart + w->chunk_size : w->size;
	struct piece *pc = s->pieces[tid];
	struct ckp__cacc acc;
	unsigned np = 0;

	sl->pristine = atomic_load(&w->state[c]) == CKP__C_PRISTINE;
	sl->nops = 0;
	sl->covered = 0;
	ckp__cacc_start(&acc, &sl->sum);
	for (unsigned i = s->first[u]; i < s->nsegs &&
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
		scan_piece(sl, pc[np].host, ps, pe - ps, sl->pristine, &acc);
		sl->covered += pe - ps;
		np++;
	}
	ckp__cacc_zeros(&acc, (uint32_t)((cend - cstart) / CKP_RAM_PAGE -
	    acc.page));
	ckp__cacc_end(&acc);
	/* Else the file keeps bytes of an earlier write beside the pieces. */
	sl->valid = sl->covered == cend - cstart || sl->pristine;
	if (sl->valid && sl->sum.data_pages != 0)
		sl->sum.hash = hash_pieces(s->xs[tid], pc, np, cstart, cend);
}

/*
 * Bound the page cache the file occupies: start writeback of what was just
 * written (the disk works while the next chunks are copied, and commit's
 * fsync finds little left), and wait for and drop what lies more than
 * ckp__write_window behind.  Measured (docs/RAMFILE.md section 7): without
 * the window a dense 4 GiB checkpoint took 3-6x an O_DIRECT write of the
 * same bytes, most of it copying into page cache that had to grow into
 * memory the host had taken back; with it, that memory is reused.
 * Without sync_file_range (not Linux) writeback starts at commit's fsync.
 */
static void
window_advance(struct segw *s, uint64_t from, uint64_t to)
{
#if defined(SYNC_FILE_RANGE_WRITE) && defined(SYNC_FILE_RANGE_WAIT_BEFORE) && \
    defined(SYNC_FILE_RANGE_WAIT_AFTER)
	struct ckp_writer *w = s->w;
	uint64_t win = ckp__write_window, end;

	(void)sync_file_range(w->fd, (off_t)from, (off_t)(to - from),
	    SYNC_FILE_RANGE_WRITE);
	if (win == 0)
		return;
	if (s->win_lo == UINT64_MAX)
		s->win_lo = from;
	if (to - s->win_lo <= win)
		return;
	end = (to - win) / CKP_RAM_PAGE * CKP_RAM_PAGE;
	/*
	 * Errors surface at commit's fsync (the kernel keeps them for the
	 * file); the pages that failed stay dirty and are not dropped.
	 */
	(void)sync_file_range(w->fd, (off_t)s->win_lo, (off_t)(end - s->win_lo),
	    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
	    SYNC_FILE_RANGE_WAIT_AFTER);
#ifdef POSIX_FADV_DONTNEED
	(void)posix_fadvise(w->fd, (off_t)s->win_lo, (off_t)(end - s->win_lo),
	    POSIX_FADV_DONTNEED);
#endif
	s->win_lo = end;
#else
	(void)s;
	(void)from;
	(void)to;
#endif
}

/* Write the gathered run. */
static int
flush_pend(struct segw *s)
{
	struct ckp_writer *w = s->w;
	struct wop *p = &s->pend;
	int r;

	if (p->len == 0)
		return 0;
	if (s->dfd >= 0 && (uintptr_t)p->host % CKP_RAM_PAGE == 0) {
		r = ckp__pwrite_all(s->dfd, p->host, p->len, p->off);
		if (r != -EINVAL)
			goto done;
		/* Alignment this file system will not take: buffered. */
		close(s->dfd);
		s->dfd = -1;
	}
	r = ckp__pwrite_all(w->fd, p->host, p->len, p->off);
	if (r == 0)
		window_advance(s, p->off, p->off + p->len);
done:
	if (r < 0)
		return w_fail(w, r, "writing %s at offset 0x%" PRIx64 ": %s",
		    w->n.rtmp, p->off, strerror(-r));
	p->len = 0;
	return 0;
}

/* The writer: the ops of unit @p u, then the chunk's state. */
static int
write_unit(struct segw *s, uint64_t u, const struct slot *sl)
{
	struct ckp_writer *w = s->w;
	struct wop *p = &s->pend;
	uint64_t c = s->chunk[u];
	int r;

	for (unsigned i = 0; i < sl->nops; i++) {
		const struct wop *op = &sl->ops[i];

		if (op->host == NULL) {
			if ((r = zero_range(w, op->off, op->len)) < 0)
				return w_fail(w, r, "zeroing %s at offset 0x%"
				    PRIx64 ": %s", w->n.rtmp, op->off,
				    strerror(-r));
			continue;
		}
		if (p->len != 0 && p->off + p->len == op->off &&
		    p->host + p->len == op->host &&
		    p->len + op->len <= WRITE_MAX) {
			p->len += op->len;
			continue;
		}
		if ((r = flush_pend(s)) < 0)
			return r;
		*p = *op;
	}
	if (sl->valid) {
		w->cs[c] = sl->sum;
		atomic_store(&w->state[c], sl->pristine && sl->nops == 0 ?
		    CKP__C_PRISTINE : CKP__C_CLEAN);
	} else
		atomic_store(&w->state[c], CKP__C_DIRTY);
	s->done += sl->covered;
	return 0;
}

struct scan_thr {
	struct segw	*s;
	unsigned	 tid;
	pthread_t	 thr;
};

/* A unit may be claimed: there is one, and its slot has been written. */
static bool
can_scan(const struct segw *s)
{
	return s->next_scan < s->nunits &&
	    s->next_scan < s->next_write + s->nslots;
}

/* With s->mu held: claim the next unit and scan it (without the lock). */
static void
scan_next(struct segw *s, unsigned tid)
{
	uint64_t u = s->next_scan++;
	struct slot *sl = &s->slots[u % s->nslots];

	pthread_mutex_unlock(&s->mu);
	scan_unit(s, u, tid, sl);
	pthread_mutex_lock(&s->mu);
	sl->ready = true;
	pthread_cond_signal(&s->ready_cv);
}

static void *
scan_main(void *arg)
{
	struct scan_thr *t = arg;
	struct segw *s = t->s;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stop && s->next_scan < s->nunits && !can_scan(s))
			pthread_cond_wait(&s->free_cv, &s->mu);
		if (s->stop || s->next_scan >= s->nunits)
			break;
		scan_next(s, t->tid);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* The calling thread: write every unit in order, scanning when idle. */
static int
write_all(struct segw *s)
{
	int r = 0;

	for (uint64_t u = 0; u < s->nunits && r == 0; u++) {
		struct slot *sl = &s->slots[u % s->nslots];

		pthread_mutex_lock(&s->mu);
		while (!sl->ready) {
			if (can_scan(s))
				scan_next(s, 0);
			else
				pthread_cond_wait(&s->ready_cv, &s->mu);
		}
		pthread_mutex_unlock(&s->mu);
		r = write_unit(s, u, sl);
		pthread_mutex_lock(&s->mu);
		sl->ready = false;
		s->next_write = u + 1;
		pthread_cond_broadcast(&s->free_cv);
		pthread_mutex_unlock(&s->mu);
		segw_tick(s);
	}
	if (r == 0)
		r = flush_pend(s);
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->free_cv);
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int
segw_run(struct segw *s, unsigned nthreads)
{
	struct scan_thr *thr = NULL;
	unsigned started = 0;
	int r;

	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->ready_cv, NULL);
	pthread_cond_init(&s->free_cv, NULL);
	s->dfd = -1;
	s->win_lo = UINT64_MAX;
#ifdef O_DIRECT
	if (ckp__write_direct)
		s->dfd = open(s->w->n.rtmp, O_WRONLY | O_DIRECT | O_CLOEXEC);
#endif
	if (nthreads > s->nunits)
		nthreads = s->nunits == 0 ? 1 : (unsigned)s->nunits;
	if (nthreads > 1 && (thr = calloc(nthreads, sizeof(*thr))) != NULL) {
		for (unsigned i = 1; i < nthreads; i++) {
			thr[started].s = s;
			thr[started].tid = i;
			/* Fewer threads than asked for is slower, not wrong. */
			if (pthread_create(&thr[started].thr, NULL, scan_main,
			    &thr[started]) != 0)
				break;
			started++;
		}
	}
	r = write_all(s);
	for (unsigned i = 0; i < started; i++)
		pthread_join(thr[i].thr, NULL);
	free(thr);
	if (s->dfd >= 0)
		close(s->dfd);
	pthread_cond_destroy(&s->free_cv);
	pthread_cond_destroy(&s->ready_cv);
	pthread_mutex_destroy(&s->mu);
	return r;
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
	atomic_store(&w->synced, false);
	s.nslots = nthreads * 4 < CKP_WRITE_AHEAD_MIN ? CKP_WRITE_AHEAD_MIN :
	    nthreads * 4;
	s.chunk = malloc((nunits + 1) * sizeof(*s.chunk));
	s.first = malloc((nunits + 1) * sizeof(*s.first));
	s.xs = calloc(nthreads, sizeof(*s.xs));
	s.pieces = calloc(nthreads, sizeof(*s.pieces));
	s.slots = calloc(s.nslots, sizeof(*s.slots));
	r = -ENOMEM;
	if (s.chunk == NULL || s.first == NULL || s.xs == NULL ||
	    s.pieces == NULL || s.slots == NULL)
		goto nomem;
	for (unsigned i = 0; i < nthreads; i++) {
		s.xs[i] = XXH3_createState();
		s.pieces[i] = malloc(CKP_RAM_CHUNK / CKP_RAM_PAGE *
		    sizeof(struct piece));
		if (s.xs[i] == NULL || s.pieces[i] == NULL)
			goto nomem;
	}
	for (unsigned i = 0; i < s.nslots; i++)
		if ((s.slots[i].ops = malloc(CKP_RAM_CHUNK / CKP_RAM_PAGE *
		    sizeof(struct wop))) == NULL)
			goto nomem;
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
	s.nunits = nunits;
	if (nthreads > w->nthreads)
		w->nthreads = nthreads;
	s.last_ms = mono_ms();
	r = segw_run(&s, nthreads);
	if (r == 0 && w->progress != NULL)
		w->progress(w->progress_arg, s.done, s.total);
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
	if (s.slots != NULL)
		for (unsigned i = 0; i < s.nslots; i++)
			free(s.slots[i].ops);
	free(s.xs);
	free(s.pieces);
	free(s.slots);
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
	atomic_store(&w->synced, false);
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
	if (file != NULL)
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
ckp_writer_sync(ckp_writer_t *w)
{
	unsigned char *todo;
	char err[CKP_RAM_ERRMAX];
	bool any = false;
	int r;

	if ((r = atomic_load(&w->err)) != 0)
		return r;
	if (atomic_load(&w->synced))
		return 0;
	if ((todo = malloc(w->nchunks + 1)) == NULL)
		return w_fail(w, -ENOMEM, "checkpoint %s: %s", w->n.ram,
		    strerror(ENOMEM));
	for (uint64_t c = 0; c < w->nchunks; c++) {
		todo[c] = atomic_load(&w->state[c]) == CKP__C_DIRTY;
		any |= todo[c];
	}
	if (any && (r = ckp__ram_sum_file(w->fd, w->n.rtmp, w->size,
	    w->chunk_size, w->cs, todo, w->nthreads, err, sizeof(err))) < 0) {
		free(todo);
		return w_fail(w, r, "%s", err);
	}
	for (uint64_t c = 0; c < w->nchunks; c++)
		if (todo[c])
			atomic_store(&w->state[c], CKP__C_CLEAN);
	free(todo);
	if (fsync(w->fd) < 0)
		return w_fail(w, -errno, "fsync %s: %s", w->n.rtmp,
		    strerror(errno));
	ckp__crash_point("ram-synced");
	atomic_store(&w->synced, true);
	return 0;
}

int
ckp_writer_commit(ckp_writer_t *w, ckp_doc_t *meta, ckp_enc_t enc,
    char *errbuf, size_t errlen)
{
	struct ckp__ram_totals t;
	uint8_t *blob = NULL;
	size_t bloblen = 0, mlen = 0;
	void *mbuf = NULL;
	bool renamed = false;
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
	if ((r = ckp_writer_sync(w)) < 0) {
		fmt_err(errbuf, errlen, "%s", w->errmsg);
		goto fail;
	}
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
	/* A meta no reader would take is no checkpoint: keep the old one. */
	if (mlen > CKP_DOC_MAX_DEFAULT) {
		r = -EFBIG;
		fmt_err(errbuf, errlen, "checkpoint %s: the meta has %zu bytes, "
		    "more than the %zu readers take", w->n.ram, mlen,
		    (size_t)CKP_DOC_MAX_DEFAULT);
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
	free(blob);
	free(mbuf);
	return 0;
nomem:
	r = -ENOMEM;
	fmt_err(errbuf, errlen, "checkpoint %s: %s", w->n.ram,
	    strerror(ENOMEM));
fail:
	ckp_writer_abort(w);
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
