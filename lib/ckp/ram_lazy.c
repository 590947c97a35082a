/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Verified loading of a RAM file, chunk by chunk (docs/RAMFILE.md section
 * 8): each chunk is checked against its record in ram.chunks when it is
 * read, so that a VMM can start the guest at once and load each chunk the
 * first time it is touched, or read all of RAM and check it in the same
 * pass.  The record list itself is checked against ram.checksum first
 * (no file read): a list someone altered is never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ram_impl.h"
#include "ram_read.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* Smallest stripe one thread of ckp_ram_lazy_read() takes. */
#define STRIPE_MIN	(8u << 20)

struct ckp_ram_lazy {
	char		*path;
	int		 fd;
	uint64_t	 size;
	uint32_t	 chunk_size;
	uint64_t	 nchunks;
	uint64_t	*hash;		/* per chunk: expected XXH3 */
	unsigned char	*has_data;	/* per chunk: the meta records data */
	struct ckp__csum *cs;		/* per chunk: summary, once fetched */
	atomic_uchar	*done;		/* per chunk: fetched and checked */
	atomic_uint_fast64_t ndone;
	bool		 have_data_bytes, have_extents;
	uint64_t	 data_bytes, extents;
	uint64_t	 checksum;
};

int
ckp_ram_lazy_open(ckp_doc_t *doc, const char *ram_path, ckp_ram_lazy_t **lp)
{
	struct ckp__ram_info ri;
	ckp_ram_lazy_t *l;
	int r;

	*lp = NULL;
	if ((r = ckp__ram_info(doc, &ri)) < 0)
		return r;
	if (ri.chunks == NULL)
		return ckp_doc_set_error(doc, -ENOTSUP, "the meta has no "
		    "ram.chunks: RAM file %s can only be verified whole",
		    ram_path);
	/* Trusting a list that does not add up would let a tamperer pick the hashes. */
	if (!ckp__ram_chunks_usable(&ri))
		return ckp_doc_set_error(doc, -EBADMSG, "ram.chunks does not "
		    "add up to ram.checksum %s (the meta's chunk list is damaged "
		    "or was altered)", ri.sumtext);
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto nomem;
	l->fd = -1;
	l->size = ri.size;
	l->chunk_size = ri.chunk_size;
	l->nchunks = ckp__nchunks(ri.size, ri.chunk_size);
	l->checksum = ri.sum;
	l->have_data_bytes = ri.have_data_bytes;
	l->data_bytes = ri.data_bytes;
	l->have_extents = ri.have_extents;
	l->extents = ri.extents;
	atomic_init(&l->ndone, 0);
	if ((l->path = strdup(ram_path)) == NULL ||
	    (l->hash = calloc(l->nchunks + 1, sizeof(*l->hash))) == NULL ||
	    (l->has_data = calloc(l->nchunks + 1, 1)) == NULL ||
	    (l->cs = calloc(l->nchunks + 1, sizeof(*l->cs))) == NULL ||
	    (l->done = calloc(l->nchunks + 1, sizeof(*l->done))) == NULL) {
		ckp_ram_lazy_close(l);
		goto nomem;
	}
	for (uint64_t c = 0; c < l->nchunks; c++)
		atomic_init(&l->done[c], 0);
	/* Usable: indices below nchunks and strictly increasing. */
	for (size_t i = 0; i < ri.chunks_len; i += CKP_RAM_CHUNK_REC) {
		uint64_t c = ckp__get_le64(ri.chunks + i);

		l->has_data[c] = 1;
		l->hash[c] = ckp__get_le64(ri.chunks + i + 8);
	}
	if ((l->fd = open(ram_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		r = ckp_doc_set_error(doc, -errno, "RAM file %s: %s", ram_path,
		    strerror(errno));
		ckp_ram_lazy_close(l);
		return r;
	}
	if ((r = ckp__ram_check_file(doc, &ri, ram_path, l->fd)) < 0) {
		ckp_ram_lazy_close(l);
		return r;
	}
	*lp = l;
	return 0;
nomem:
	return ckp_doc_set_error(doc, -ENOMEM, "RAM file %s: %s", ram_path,
	    strerror(ENOMEM));
}

uint64_t
ckp_ram_lazy_size(const ckp_ram_lazy_t *l)
{
	return l->size;
}

uint32_t
ckp_ram_lazy_chunk_size(const ckp_ram_lazy_t *l)
{
	return l->chunk_size;
}

uint64_t
ckp_ram_lazy_remaining(const ckp_ram_lazy_t *l)
{
	return l->nchunks - atomic_load(&l->ndone);
}

void
ckp_ram_lazy_close(ckp_ram_lazy_t *l)
{
	if (l == NULL)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l->hash);
	free(l->has_data);
	free(l->cs);
	free((void *)l->done);
	free(l);
}

static void
clear(unsigned char *p, uint64_t len, bool keep_zero)
{
	if (keep_zero)
		ckp__zero_if_needed(p, len);
	else
		memset(p, 0, len);
}

static int
io_error(const ckp_ram_lazy_t *l, int r, uint64_t off, char *err,
    size_t errlen)
{
	snprintf(err, errlen, "reading RAM file %s at offset 0x%" PRIx64 ": %s",
	    l->path, off, r == -ENODATA ? "file shorter than expected" :
	    strerror(-r));
	return r;
}

/*
 * Load chunk @c through @fd into @buf (the chunk's length) and check it.
 * With @keep_zero, bytes of @buf that must be zero are written only where
 * they are not zero already (fresh anonymous memory stays unallocated);
 * otherwise a hole chunk leaves @buf untouched and other holes are
 * cleared.
 */
static int
load_chunk(ckp_ram_lazy_t *l, int fd, uint64_t c, unsigned char *buf,
    bool keep_zero, bool *is_zero, char *err, size_t errlen)
{
	uint64_t off = c * l->chunk_size;
	uint64_t end = l->size - off > l->chunk_size ? off + l->chunk_size :
	    l->size;
	uint64_t pos = off, d, h;
	struct ckp__csum s;
	const char *what = NULL;
	int r;

	*is_zero = false;
	if ((r = ckp__next_data(fd, off, end, &d, &h)) < 0)
		return io_error(l, r, off, err, errlen);
	if (d >= end) {
		/* A hole: zero without reading. */
		memset(&s, 0, sizeof(s));
		if (keep_zero)
			ckp__zero_if_needed(buf, end - off);
	} else {
		for (;;) {
			uint64_t e = h < end ? h : end;

			clear(buf + (pos - off), d - pos, keep_zero);
			if ((r = ckp__pread_all(fd, buf + (d - off), e - d,
			    d)) < 0)
				return io_error(l, r, d, err, errlen);
			pos = e;
			if (pos >= end)
				break;
			if ((r = ckp__next_data(fd, pos, end, &d, &h)) < 0)
				return io_error(l, r, pos, err, errlen);
			if (d >= end) {
				clear(buf + (pos - off), end - pos, keep_zero);
				break;
			}
		}
		ckp__csum_buf(buf, end - off, &s);
	}
	if (l->has_data[c] && s.data_pages == 0)
		what = "holds only zeros where the meta records data";
	else if (!l->has_data[c] && s.data_pages != 0)
		what = "holds data where the meta records zeros";
	else if (l->has_data[c] && s.hash != l->hash[c])
		what = "does not match its checksum";
	if (what != NULL) {
		snprintf(err, errlen, "RAM file %s: chunk at offset 0x%" PRIx64
		    " %s", l->path, off, what);
		return -EBADMSG;
	}
	l->cs[c] = s;
	if (atomic_exchange(&l->done[c], 1) == 0)
		atomic_fetch_add(&l->ndone, 1);
	*is_zero = s.data_pages == 0;
	return 0;
}

int
ckp_ram_lazy_fetch(ckp_ram_lazy_t *l, uint64_t file_off, void *buf,
    bool *is_zero, char *err, size_t errlen)
{
	if (file_off % l->chunk_size != 0 || file_off >= l->size) {
		snprintf(err, errlen, "RAM file %s: 0x%" PRIx64 " is not the "
		    "offset of a chunk", l->path, file_off);
		return -EINVAL;
	}
	return load_chunk(l, l->fd, file_off / l->chunk_size, buf, false,
	    is_zero, err, errlen);
}

/* ---- reading a range eagerly ---- */

struct lrd {
	ckp_ram_lazy_t	*l;
	uint64_t	 off, len;	/* the range, in the file */
	unsigned char	*dst;		/* holds file byte off at dst[0] */
	uint64_t	 c0, c1;	/* chunks [c0, c1) touch the range */
	uint64_t	 stripe;	/* chunks per unit */
	atomic_uint_fast64_t ndone;	/* chunks done, all threads */
	ckp_progress_fn	*fn;
	void		*arg;
	struct timespec	 last;
	char		*err;
	size_t		 errlen;
	atomic_int	 have_err;
};

static void
lrd_tick(struct lrd *s)
{
	struct timespec now;
	uint64_t n = s->c1 - s->c0, done;

	if (s->fn == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - s->last.tv_sec) * 1000000000L +
	    (now.tv_nsec - s->last.tv_nsec) < 100000000L)
		return;
	s->last = now;
	done = atomic_load(&s->ndone) * s->len / (n ? n : 1);
	s->fn(s->arg, done, s->len);
}

/* Another descriptor of the same file, for read-ahead of its own. */
static int
own_fd(const ckp_ram_lazy_t *l)
{
	struct stat a, b;
	int fd;

	if ((fd = open(l->path, O_RDONLY | O_CLOEXEC)) < 0)
		return l->fd;
	/* Not if the name now leads elsewhere (a newer checkpoint). */
	if (fstat(fd, &a) < 0 || fstat(l->fd, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		return l->fd;
	}
	return fd;
}

/*
 * One thread, one contiguous stripe of chunks through its own descriptor,
 * so that read-ahead sees one sequential stream per thread (as
 * ckp_ram_read()).
 */
static int
lrd_unit(void *arg, uint64_t unit, unsigned tid)
{
	struct lrd *s = arg;
	ckp_ram_lazy_t *l = s->l;
	uint64_t a = s->c0 + unit * s->stripe;
	uint64_t b = a + s->stripe < s->c1 ? a + s->stripe : s->c1;
	unsigned char *bounce = NULL;
	char msg[CKP_RAM_ERRMAX];
	int fd = own_fd(l), r = 0;
	bool z;

#ifdef POSIX_FADV_SEQUENTIAL
	(void)posix_fadvise(fd, (off_t)(a * l->chunk_size),
	    (off_t)((b - a) * l->chunk_size), POSIX_FADV_SEQUENTIAL);
#endif
	for (uint64_t c = a; c < b; c++) {
		uint64_t co = c * l->chunk_size;
		uint64_t ce = l->size - co > l->chunk_size ? co +
		    l->chunk_size : l->size;

		if (atomic_load(&s->have_err))
			break;
		if (co >= s->off && ce <= s->off + s->len) {
			r = load_chunk(l, fd, c, s->dst + (co - s->off), true,
			    &z, msg, sizeof(msg));
		} else {
			/* Partly inside: check it whole, copy the part. */
			uint64_t lo = co > s->off ? co : s->off;
			uint64_t hi = ce < s->off + s->len ? ce :
			    s->off + s->len;

			if (bounce == NULL &&
			    (bounce = malloc(l->chunk_size)) == NULL) {
				r = -ENOMEM;
				snprintf(msg, sizeof(msg), "RAM file %s: %s",
				    l->path, strerror(ENOMEM));
				break;
			}
			r = load_chunk(l, fd, c, bounce, false, &z, msg,
			    sizeof(msg));
			if (r == 0 && z)
				ckp__zero_if_needed(s->dst + (lo - s->off), hi - lo);
			else if (r == 0)
				memcpy(s->dst + (lo - s->off), bounce +
				    (lo - co), hi - lo);
		}
		if (r < 0)
			break;
		atomic_fetch_add(&s->ndone, 1);
		if (tid == 0)
			lrd_tick(s);
	}
	if (r < 0) {
		int zero = 0;

		/* The first error's message wins. */
		if (atomic_compare_exchange_strong(&s->have_err, &zero, 1))
			snprintf(s->err, s->errlen, "%s", msg);
	}
	if (fd != l->fd)
		close(fd);
	free(bounce);
	return r;
}

int
ckp_ram_lazy_read(ckp_ram_lazy_t *l, uint64_t file_off, void *dst,
    uint64_t len, unsigned nthreads, ckp_progress_fn *fn, void *arg,
    char *err, size_t errlen)
{
	struct lrd s = { .l = l, .off = file_off, .len = len, .dst = dst,
	    .fn = fn, .arg = arg, .err = err, .errlen = errlen };
	uint64_t n;
	int r;

	if (file_off > l->size || len > l->size - file_off) {
		snprintf(err, errlen, "RAM file %s: range 0x%" PRIx64 "+0x%"
		    PRIx64 " passes its end (%" PRIu64 " bytes)", l->path,
		    file_off, len, l->size);
		return -ERANGE;
	}
	if (len == 0)
		return 0;
	if (dst == NULL) {
		snprintf(err, errlen, "RAM file %s: no destination", l->path);
		return -EINVAL;
	}
	if (nthreads == 0)
		nthreads = ckp__default_threads();
	s.c0 = file_off / l->chunk_size;
	s.c1 = (file_off + len - 1) / l->chunk_size + 1;
	n = s.c1 - s.c0;
	s.stripe = (n + nthreads - 1) / nthreads;
	if (s.stripe * l->chunk_size < STRIPE_MIN)
		s.stripe = (STRIPE_MIN + l->chunk_size - 1) / l->chunk_size;
	atomic_init(&s.ndone, 0);
	atomic_init(&s.have_err, 0);
	clock_gettime(CLOCK_MONOTONIC, &s.last);
	r = ckp__parallel(nthreads, (n + s.stripe - 1) / s.stripe, lrd_unit,
	    NULL, &s);
	if (r == 0 && fn != NULL)
		fn(arg, len, len);
	return r;
}

int
ckp_ram_lazy_finish(ckp_ram_lazy_t *l, char *err, size_t errlen)
{
	struct ckp__ram_totals t;
	uint64_t left = ckp_ram_lazy_remaining(l);
	int r;

	if (left != 0) {
		snprintf(err, errlen, "RAM file %s: %" PRIu64 " of %" PRIu64
		    " chunks not checked yet", l->path, left, l->nchunks);
		return -EAGAIN;
	}
	if ((r = ckp__ram_combine(l->cs, l->size, l->chunk_size, &t, NULL,
	    NULL)) < 0) {
		snprintf(err, errlen, "RAM file %s: %s", l->path, strerror(-r));
		return r;
	}
	/* Implied by every chunk matching a list that adds up; cheap to confirm. */
	if (t.checksum != l->checksum) {
		snprintf(err, errlen, "RAM file %s does not match ram.checksum",
		    l->path);
		return -EBADMSG;
	}
	if (l->have_data_bytes && l->data_bytes != t.data_bytes) {
		snprintf(err, errlen, "ram.data_bytes is %" PRIu64 " but RAM "
		    "file %s holds %" PRIu64, l->data_bytes, l->path,
		    t.data_bytes);
		return -EBADMSG;
	}
	if (l->have_extents && l->extents != t.extents) {
		snprintf(err, errlen, "ram.extents is %" PRIu64 " but RAM file "
		    "%s holds %" PRIu64, l->extents, l->path, t.extents);
		return -EBADMSG;
	}
	return 0;
}
