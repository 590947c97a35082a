/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Reading checkpoints: opening (recover, load the meta, check the RAM
 * file), verifying a RAM file against its "ram" section, and loading RAM
 * by mmap or by read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckp_impl.h"
#include "ram_impl.h"
#include "ram_read.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

int
ckp__ram_info(ckp_doc_t *doc, struct ckp__ram_info *ri)
{
	ckp_sec_t *ram;
	const void *chunks;
	uint32_t v;
	int r;

	memset(ri, 0, sizeof(*ri));
	if ((r = ckp_doc_error(doc)) != 0)
		return r;
	if ((ram = ckp_sec_find(ckp_doc_root(doc), "ram")) == NULL)
		return ckp_doc_set_error(doc, -ENOENT, "no \"ram\" section: "
		    "not the meta of a checkpoint");
	v = ckp_sec_version(ram);
	if (v > CKP_RAM_SEC_VERSION)
		return ckp_doc_set_error(doc, -ENOTSUP, "section ram has "
		    "version %" PRIu32 ", newer than the %d this libckp reads",
		    v, CKP_RAM_SEC_VERSION);
	if (v == 0)
		return ckp_doc_set_error(doc, -EINVAL, "section ram has no "
		    "version");
	if (ckp_sec_has(ram, "file"))
		ckp_sec_get_string(ram, "file", &ri->file);
	ckp_sec_get_uint64(ram, "size", &ri->size);
	ckp_sec_get_string(ram, "checksum", &ri->sumtext);
	ckp_sec_get_uint32(ram, "chunk_size", &ri->chunk_size);
	if ((ri->have_data_bytes = ckp_sec_has(ram, "data_bytes")))
		ckp_sec_get_uint64(ram, "data_bytes", &ri->data_bytes);
	if ((ri->have_extents = ckp_sec_has(ram, "extents")))
		ckp_sec_get_uint64(ram, "extents", &ri->extents);
	if (ckp_sec_has(ram, "chunks") &&
	    ckp_sec_get_bytes(ram, "chunks", &chunks, &ri->chunks_len) == 0)
		ri->chunks = chunks;
	if ((r = ckp_doc_error(doc)) != 0)
		return r;
	if (ri->size % CKP_RAM_PAGE != 0)
		return ckp_doc_set_error(doc, -EINVAL, "ram.size %" PRIu64
		    " is not a multiple of %u", ri->size, CKP_RAM_PAGE);
	if (ckp__ram_sum_parse(ri->sumtext, &ri->sum) < 0)
		return ckp_doc_set_error(doc, -EINVAL, "ram.checksum \"%s\" is "
		    "not " CKP_RAM_SUM_PREFIX "<16 lowercase hex digits>",
		    ri->sumtext);
	if (ri->chunk_size < CKP_RAM_CHUNK_MIN ||
	    ri->chunk_size > CKP_RAM_CHUNK_MAX ||
	    (ri->chunk_size & (ri->chunk_size - 1)) != 0)
		return ckp_doc_set_error(doc, -EINVAL, "ram.chunk_size %" PRIu32
		    " is not a power of two from %u to %u", ri->chunk_size,
		    CKP_RAM_CHUNK_MIN, CKP_RAM_CHUNK_MAX);
	if (ri->chunks != NULL && ri->chunks_len % CKP_RAM_CHUNK_REC != 0)
		return ckp_doc_set_error(doc, -EINVAL, "ram.chunks holds %zu "
		    "bytes, not a multiple of %d", ri->chunks_len,
		    CKP_RAM_CHUNK_REC);
	return 0;
}

bool
ckp__ram_chunks_usable(const struct ckp__ram_info *ri)
{
	uint64_t n = ckp__nchunks(ri->size, ri->chunk_size), prev = 0;

	if (ri->chunks == NULL)
		return false;
	for (size_t i = 0; i < ri->chunks_len; i += CKP_RAM_CHUNK_REC) {
		uint64_t idx = ckp__get_le64(ri->chunks + i);

		if (idx >= n || (i > 0 && idx <= prev))
			return false;
		prev = idx;
	}
	return ckp__ram_blob_sum(ri->chunks, ri->chunks_len, ri->size) ==
	    ri->sum;
}

uint64_t
ckp__ram_first_bad_chunk(const struct ckp__ram_info *ri, const struct ckp__csum *cs,
    const char **what)
{
	uint64_t n = ckp__nchunks(ri->size, ri->chunk_size);
	size_t j = 0;

	for (uint64_t c = 0; c < n; c++) {
		bool exp = j < ri->chunks_len &&
		    ckp__get_le64(ri->chunks + j) == c;
		uint64_t eh = exp ? ckp__get_le64(ri->chunks + j + 8) : 0;

		if (exp)
			j += CKP_RAM_CHUNK_REC;
		if (exp && cs[c].data_pages == 0) {
			*what = "holds only zeros where the meta records data";
			return c;
		}
		if (!exp && cs[c].data_pages != 0) {
			*what = "holds data where the meta records zeros";
			return c;
		}
		if (exp && cs[c].hash != eh) {
			*what = "does not match its checksum";
			return c;
		}
	}
	return n;
}

int
ckp__ram_check_file(ckp_doc_t *doc, const struct ckp__ram_info *ri,
    const char *ram_path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return ckp_doc_set_error(doc, -errno, "RAM file %s: %s",
		    ram_path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ckp_doc_set_error(doc, -EINVAL, "RAM file %s is not a "
		    "regular file", ram_path);
	if ((uint64_t)st.st_size != ri->size)
		return ckp_doc_set_error(doc, -EBADMSG, "RAM file %s has %lld "
		    "bytes but the meta records %" PRIu64 "%s", ram_path,
		    (long long)st.st_size, ri->size,
		    (uint64_t)st.st_size < ri->size ? " (truncated)" : "");
	return 0;
}

int
ckp_ram_verify(ckp_doc_t *doc, const char *ram_path, unsigned nthreads)
{
	return ckp_ram_verify_progress(doc, ram_path, nthreads, NULL, NULL);
}

int
ckp_ram_verify_progress(ckp_doc_t *doc, const char *ram_path,
    unsigned nthreads, ckp_progress_fn *fn, void *arg)
{
	struct ckp__ram_info ri;
	struct ckp__ram_totals t;
	struct ckp__csum *cs = NULL;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	char err[CKP_RAM_ERRMAX], have[CKP_RAM_SUM_LEN];
	const char *what = "";
	uint64_t bad;
	int fd, r;

	if ((r = ckp__ram_info(doc, &ri)) < 0)
		return r;
	if ((fd = open(ram_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return ckp_doc_set_error(doc, -errno, "RAM file %s: %s",
		    ram_path, strerror(errno));
	if ((r = ckp__ram_check_file(doc, &ri, ram_path, fd)) < 0)
		goto out;
	cs = calloc(ckp__nchunks(ri.size, ri.chunk_size) + 1, sizeof(*cs));
	if (cs == NULL) {
		r = ckp_doc_set_error(doc, -ENOMEM, "RAM file %s: %s", ram_path,
		    strerror(ENOMEM));
		goto out;
	}
	if ((r = ckp__ram_sum_file_progress(fd, ram_path, ri.size,
	    ri.chunk_size, cs, NULL, nthreads, fn, arg, err, sizeof(err))) < 0) {
		r = ckp_doc_set_error(doc, r, "%s", err);
		goto out;
	}
	if ((r = ckp__ram_combine(cs, ri.size, ri.chunk_size, &t, &blob,
	    &bloblen)) < 0) {
		r = ckp_doc_set_error(doc, r, "RAM file %s: %s", ram_path,
		    strerror(-r));
		goto out;
	}
	if (t.checksum != ri.sum) {
		if (ckp__ram_chunks_usable(&ri) &&
		    (bad = ckp__ram_first_bad_chunk(&ri, cs, &what)) <
		    ckp__nchunks(ri.size, ri.chunk_size))
			r = ckp_doc_set_error(doc, -EBADMSG, "RAM file %s: "
			    "chunk at offset 0x%" PRIx64 " %s", ram_path,
			    bad * ri.chunk_size, what);
		else {
			ckp__ram_sum_text(t.checksum, have);
			r = ckp_doc_set_error(doc, -EBADMSG, "RAM file %s does "
			    "not match ram.checksum (recorded %s, file has %s)",
			    ram_path, ri.sumtext, have);
		}
		goto out;
	}
	/* The file is right; the rest of the section must agree with it. */
	if (ri.chunks != NULL && (ri.chunks_len != bloblen ||
	    memcmp(ri.chunks, blob, bloblen) != 0))
		r = ckp_doc_set_error(doc, -EBADMSG, "ram.chunks does not "
		    "match RAM file %s (though ram.checksum does)", ram_path);
	else if (ri.have_data_bytes && ri.data_bytes != t.data_bytes)
		r = ckp_doc_set_error(doc, -EBADMSG, "ram.data_bytes is %"
		    PRIu64 " but RAM file %s holds %" PRIu64, ri.data_bytes,
		    ram_path, t.data_bytes);
	else if (ri.have_extents && ri.extents != t.extents)
		r = ckp_doc_set_error(doc, -EBADMSG, "ram.extents is %" PRIu64
		    " but RAM file %s holds %" PRIu64, ri.extents, ram_path,
		    t.extents);
out:
	close(fd);
	free(cs);
	free(blob);
	return r;
}

/* Is the open file @p fd a regular file?  0, or a negative errno with @p why. */
static int
fd_regular(int fd, const char *path, char *why, size_t whylen)
{
	struct stat st;
	int e;

	if (fstat(fd, &st) < 0) {
		e = errno;
		snprintf(why, whylen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is not a regular file", path);
		return -EINVAL;
	}
	return 0;
}

/*
 * With CKP_OPEN_OWNED: is the open file @p fd this user's own?  0, or a
 * negative errno with @p why.
 */
static int
fd_owned(int fd, const char *path, char *why, size_t whylen)
{
	struct stat st;
	int e;

	if (fstat(fd, &st) < 0) {
		e = errno;
		snprintf(why, whylen, "%s: %s", path, strerror(e));
		return -e;
	}
	return ckp__file_owned(&st, path, false, why, whylen) ? 0 : -EPERM;
}

ckp_doc_t *
ckp_checkpoint_open(const char *path, unsigned flags)
{
	struct ckp__names n;
	enum ckp__recover_state st;
	struct ckp__ram_info ri;
	char msg[2 * CKP_RAM_ERRMAX], note[2 * CKP_RAM_ERRMAX] = "";
	ckp_doc_t *doc;
	bool fwd;
	int fd, r;

	if ((r = ckp__names_init(&n, path)) < 0) {
		if ((doc = ckp_doc_new_empty()) != NULL)
			ckp_doc_set_error(doc, r, "%s: not a checkpoint name",
			    path != NULL ? path : "(null)");
		return doc;
	}
	/*
	 * While a publish is renaming, the pair on disk may be mixed for an
	 * instant: wait for it (bounded; the RAM check still catches a mix).
	 */
	for (int i = 0; i < 500; i++) {
		r = ckp__recover(&n, &st, &fwd, msg, sizeof(msg));
		if (r != -EBUSY || st != CKP__REC_BUSY_PUBLISH)
			break;
		ckp__sleep_ms(10);
	}
	if (r < 0 && r != -EBUSY && fwd) {
		/*
		 * The old meta may name the new RAM file: do not read it.  Not
		 * -EPERM for a temporary recovery does not adopt: that is
		 * CKP_OPEN_OWNED's answer, about the pair, which a caller may
		 * choose to trust; no trust makes a stranger's temporary ours.
		 */
		if (r == -EPERM)
			r = -EEXIST;
		if ((doc = ckp_doc_new_empty()) != NULL)
			ckp_doc_set_error(doc, r, "checkpoint %s: an interrupted "
			    "publish %s: %s", n.ram, st == CKP__REC_REFUSED ?
			    "cannot be completed" : "must be completed first",
			    msg);
		goto out;
	}
	/*
	 * Leftovers recovery refused or could not remove do not touch the
	 * published pair, which is read; but whoever reads it hears of them
	 * (another user's planted temporary, say), as from ckp check.
	 */
	if (r < 0 && r != -EBUSY)
		snprintf(note, sizeof(note), "%s", msg);
	/*
	 * Leftovers that could not be removed leave the old pair intact.
	 * O_NONBLOCK: a FIFO planted under the meta's name must not hang a
	 * restore; it is refused as no regular file.
	 */
	if ((fd = open(n.meta, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		r = errno;
		if ((doc = ckp_doc_new_empty()) != NULL)
			ckp_doc_set_error(doc, -r, "%s: %s", n.meta, strerror(r));
		goto out;
	}
	if ((r = fd_regular(fd, n.meta, msg, sizeof(msg))) < 0) {
		close(fd);
		if ((doc = ckp_doc_new_empty()) != NULL)
			ckp_doc_set_error(doc, r, "checkpoint %s: %s", n.ram, msg);
		goto out;
	}
	if ((flags & CKP_OPEN_OWNED) != 0 &&
	    (r = fd_owned(fd, n.meta, msg, sizeof(msg))) < 0) {
		close(fd);
		if ((doc = ckp_doc_new_empty()) != NULL)
			ckp_doc_set_error(doc, r, "checkpoint %s: %s", n.ram, msg);
		goto out;
	}
	doc = ckp_doc_load_fd(fd, n.meta, flags & CKP_LOAD_NOVERIFY, 0);
	close(fd);
	if (doc == NULL)
		goto out;
	ckp__doc_hold_warnings(doc);
	if (note[0] != '\0')
		ckp_doc_warn(doc, "checkpoint %s: %s", n.ram, note);
	if (ckp_doc_error(doc) != 0 || ckp__ram_info(doc, &ri) < 0)
		goto out;
	/*
	 * ram.file naming another file is no warning: a checkpoint copied or
	 * renamed (both files) is whole, and restoring it stays quiet
	 * (tests/e2e/ckp_compat.sh).
	 */
	if ((fd = open(n.ram, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		ckp_doc_set_error(doc, -errno, "RAM file %s: %s", n.ram,
		    strerror(errno));
		goto out;
	}
	if ((flags & CKP_OPEN_OWNED) != 0 &&
	    (r = fd_owned(fd, n.ram, msg, sizeof(msg))) < 0)
		ckp_doc_set_error(doc, r, "checkpoint %s: %s", n.ram, msg);
	else
		r = ckp__ram_check_file(doc, &ri, n.ram, fd);
	close(fd);
	if (r == 0 && !(flags & CKP_OPEN_NORAMCHECK))
		ckp_ram_verify(doc, n.ram, ckp__default_threads());
out:
	ckp__names_free(&n);
	return doc;
}

/* ---- loading RAM ---- */

/* Open @p path and check that [off, off + len) lies inside it. */
static int
open_range(const char *path, uint64_t off, uint64_t len, int *fdp)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	/* Past the end a mapping would fault (SIGBUS) instead of reading. */
	if (off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off) {
		close(fd);
		return -ERANGE;
	}
	*fdp = fd;
	return 0;
}

int
ckp_ram_map(const char *ram_path, uint64_t file_off, void *addr,
    uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	int fd, r, flags = MAP_PRIVATE | MAP_FIXED;
	void *p;

	if (pg <= 0)
		pg = CKP_RAM_PAGE;
	if (file_off % (uint64_t)pg != 0 || len % (uint64_t)pg != 0 ||
	    (uintptr_t)addr % (uintptr_t)pg != 0 || len > SIZE_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	if ((r = open_range(ram_path, file_off, len, &fd)) < 0)
		return r;
#ifdef MAP_NORESERVE
	/* Guest RAM is mostly never written: do not charge all of it. */
	flags |= MAP_NORESERVE;
#endif
	p = mmap(addr, (size_t)len, PROT_READ | PROT_WRITE, flags, fd,
	    (off_t)file_off);
	r = p == MAP_FAILED ? -errno : 0;
	close(fd);
	return r;
}

#define READ_STEP	(8u << 20)

struct rd {
	const char	*path;
	int		 fd;
	uint64_t	 off;		/* file offset of dst[0] */
	uint64_t	 len;
	unsigned char	*dst;
	uint64_t	 stripe;	/* bytes per thread, page multiple */
};

/* Holes read as zeros; leave memory that is zero already untouched. */
void
ckp__zero_if_needed(unsigned char *p, uint64_t len)
{
	while (len > 0) {
		size_t n = len < CKP_RAM_PAGE ? (size_t)len : CKP_RAM_PAGE;

		if (!ckp__is_zero(p, n))
			memset(p, 0, n);
		p += n;
		len -= n;
	}
}

/*
 * One thread reads one contiguous stripe through its own descriptor, so
 * that the kernel's read-ahead sees one sequential stream per thread
 * (handing out 8 MiB units in turn made cold reads 1.3x slower than a
 * plain sequential read).
 */
static int
rd_unit(void *arg, uint64_t unit, unsigned tid)
{
	struct rd *s = arg;
	uint64_t a = s->off + unit * s->stripe;
	uint64_t end = unit * s->stripe + s->stripe < s->len ?
	    a + s->stripe : s->off + s->len;
	uint64_t pos = a, d, h;
	int fd, r = 0;

	(void)tid;
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) < 0)
		fd = s->fd;
#ifdef POSIX_FADV_SEQUENTIAL
	(void)posix_fadvise(fd, (off_t)a, (off_t)(end - a),
	    POSIX_FADV_SEQUENTIAL);
#endif
	while (pos < end) {
		uint64_t b = end - pos > READ_STEP ? pos + READ_STEP : end;

		if ((r = ckp__next_data(fd, pos, b, &d, &h)) < 0)
			break;
		ckp__zero_if_needed(s->dst + (pos - s->off), d - pos);
		if (d >= b) {
			pos = b;
			continue;
		}
		if (h > b)
			h = b;
		if ((r = ckp__pread_all(fd, s->dst + (d - s->off), h - d,
		    d)) < 0)
			break;
		pos = h;
	}
	if (fd != s->fd)
		close(fd);
	return r;
}

int
ckp_ram_read(const char *ram_path, uint64_t file_off, void *dst,
    uint64_t len, unsigned nthreads)
{
	struct rd s = { .path = ram_path, .off = file_off, .len = len,
	    .dst = dst };
	int r;

	if (len > SIZE_MAX || (len != 0 && dst == NULL))
		return -EINVAL;
	if (len == 0)
		return 0;
	if ((r = open_range(ram_path, file_off, len, &s.fd)) < 0)
		return r;
	if (nthreads == 0)
		nthreads = ckp__default_threads();
	/* Stripes of whole pages, at least one step each. */
	s.stripe = (len / nthreads + CKP_RAM_PAGE - 1) / CKP_RAM_PAGE *
	    CKP_RAM_PAGE;
	if (s.stripe < READ_STEP)
		s.stripe = READ_STEP;
	r = ckp__parallel(nthreads, (len + s.stripe - 1) / s.stripe, rd_unit,
	    NULL, &s);
	close(s.fd);
	return r;
}
