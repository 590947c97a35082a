/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libckp internals of RAM files, the checkpoint writer and publishing
 * (ram*.c, writer*.c, publish*.c), shared with their tests.  Not installed.
 * docs/RAMFILE.md specifies the file layout, the checksum and the publish
 * protocol these implement.
 */
#ifndef CKP_RAM_IMPL_H
#define CKP_RAM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckp.h"

/* Zero pages become holes; RAM files are whole pages. */
#define CKP_RAM_PAGE		4096u
/* Unit of the RAM checksum (docs/RAMFILE.md). */
#define CKP_RAM_CHUNK		(1u << 20)
/* Chunk sizes a reader accepts in a "ram" section. */
#define CKP_RAM_CHUNK_MIN	CKP_RAM_PAGE
#define CKP_RAM_CHUNK_MAX	(1u << 30)
/* Version of the "ram" section this code writes and the newest it reads. */
#define CKP_RAM_SEC_VERSION	1
/* Bytes per entry of ram.chunks: u64 LE index, u64 LE hash. */
#define CKP_RAM_CHUNK_REC	16
#define CKP_RAM_SUM_PREFIX	"xxh3-64:"
#define CKP_RAM_SUM_LEN		25	/* prefix + 16 hex + NUL */

#define CKP_RAM_ERRMAX		512

/* Summary of one chunk of a RAM file. */
struct ckp__csum {
	uint64_t	hash;		/* XXH3-64 of the chunk; valid if data_pages */
	uint32_t	data_pages;	/* pages that are not all zero */
	uint32_t	runs;		/* maximal runs of such pages inside the chunk */
	uint8_t		first_nz;	/* first page of the chunk is not zero */
	uint8_t		last_nz;	/* last page of the chunk is not zero */
};

/* What a RAM file's chunk summaries add up to. */
struct ckp__ram_totals {
	uint64_t	size;
	uint32_t	chunk_size;
	uint64_t	checksum;	/* the whole-file XXH3-64 */
	uint64_t	data_bytes;	/* non-zero pages * 4096 */
	uint64_t	extents;	/* maximal runs of non-zero pages */
	uint64_t	data_chunks;	/* chunks that are not all zero */
};

/* ---- zero pages, chunk summaries, the checksum (ram_sum.c) ---- */

/** @return true when the @p len bytes at @p p are all zero. */
bool	ckp__is_zero(const void *p, size_t len);
/*
 * Holes read as zeros: zero the pages of @p that are not, so that fresh
 * memory stays untouched.
 */
void	ckp__zero_if_needed(unsigned char *p, uint64_t len);

/** Page-by-page accumulation of a chunk summary, in file order. */
struct ckp__cacc {
	struct ckp__csum *s;
	uint32_t	 page;		/* next page index inside the chunk */
	bool		 prev_nz;
};
void	ckp__cacc_start(struct ckp__cacc *a, struct ckp__csum *s);
void	ckp__cacc_page(struct ckp__cacc *a, bool nonzero);
void	ckp__cacc_zeros(struct ckp__cacc *a, uint32_t npages);
void	ckp__cacc_end(struct ckp__cacc *a);

/** Summarise a chunk held in @p buf (@p len bytes, whole pages). */
void	ckp__csum_buf(const void *buf, size_t len, struct ckp__csum *s);

/** @return the number of chunks of a file of @p size bytes. */
static inline uint64_t
ckp__nchunks(uint64_t size, uint32_t chunk_size)
{
	return size / chunk_size + (size % chunk_size != 0);
}

/**
 * Combine the summaries of all @p nchunks chunks into the totals and, when
 * @p blobp is not NULL, the ram.chunks record list (malloc'd).
 */
int	ckp__ram_combine(const struct ckp__csum *cs, uint64_t size,
	    uint32_t chunk_size, struct ckp__ram_totals *t, uint8_t **blobp,
	    size_t *bloblenp);

/** The whole-file checksum that a ram.chunks list implies for @p size. */
uint64_t ckp__ram_blob_sum(const uint8_t *blob, size_t len, uint64_t size);

/** Spell @p h as "xxh3-64:<16 lowercase hex>". */
void	ckp__ram_sum_text(uint64_t h, char buf[CKP_RAM_SUM_LEN]);
/** Parse the spelling above.  0 or -EINVAL. */
int	ckp__ram_sum_parse(const char *s, uint64_t *h);

/**
 * Summarise chunks of the open file @p fd (@p size bytes) from its
 * content, skipping holes without reading them.  Only chunks with
 * @p todo[i] != 0 when @p todo is not NULL.  @p nthreads threads.
 * On failure @p err gets a message naming @p name.
 */
int	ckp__ram_sum_file_progress(int fd, const char *name, uint64_t size,
	    uint32_t chunk_size, struct ckp__csum *cs,
	    const unsigned char *todo, unsigned nthreads, ckp_progress_fn *fn,
	    void *arg, char *err, size_t errlen);
int	ckp__ram_sum_file(int fd, const char *name, uint64_t size,
	    uint32_t chunk_size, struct ckp__csum *cs,
	    const unsigned char *todo, unsigned nthreads, char *err,
	    size_t errlen);

/* ---- threads (ram_sum.c) ---- */

/* Work one unit; tid is 0 for the calling thread. */
typedef int	ckp__unit_fn(void *ctx, uint64_t unit, unsigned tid);
/* Called by the calling thread between its units (progress). */
typedef void	ckp__tick_fn(void *ctx);

/**
 * Run @p fn on units 0 .. @p nunits - 1 with up to @p nthreads threads
 * (the calling thread is one of them), units handed out in order.  The
 * first error stops the others; it is returned.
 */
int	ckp__parallel(unsigned nthreads, uint64_t nunits, ckp__unit_fn *fn,
	    ckp__tick_fn *tick, void *ctx);

/** @return a sensible default thread count (online CPUs, capped). */
unsigned ckp__default_threads(void);

/* ---- I/O helpers (ram_sum.c) ---- */

/** pwrite/pread all bytes, retrying on EINTR and short transfers. */
int	ckp__pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
int	ckp__pread_all(int fd, void *buf, size_t len, uint64_t off);

/**
 * Next data at or after @p off: *@p data, and *@p hole, the start of the
 * hole after it (may lie past @p end).  *@p data = @p end when there is
 * none before @p end.  Without SEEK_DATA support everything is data.
 */
int	ckp__next_data(int fd, uint64_t off, uint64_t end, uint64_t *data,
	    uint64_t *hole);

/* ---- names, locks, publishing (publish.c) ---- */

/* The four files of a checkpoint, and its directory. */
struct ckp__names {
	char	*ram;		/* FILE.ckp */
	char	*meta;		/* FILE.ckp.meta */
	char	*rtmp;		/* FILE.ckp.tmp */
	char	*mtmp;		/* FILE.ckp.meta.tmp */
	char	*dir;		/* directory holding them ("." if none) */
	const char *base;	/* basename of ram, inside ram */
};

/** Derive the names from "FILE.ckp" or "FILE.ckp.meta".  0, -EINVAL, -ENOMEM. */
int	ckp__names_init(struct ckp__names *n, const char *path);
void	ckp__names_free(struct ckp__names *n);

/**
 * Create @p path exclusively (mode 0600) and lock it, so that no other
 * writer or recovery takes it for a leftover.  -EEXIST when it exists.
 */
int	ckp__tmp_create(const char *path, int *fdp);

/** Try to lock an open file; 0, or -EWOULDBLOCK when another holds it. */
int	ckp__lock_try(int fd);
/** @return true when @p path names the file open as @p fd. */
bool	ckp__same_file(int fd, const char *path);
/** fsync the directory @p dir (its entries). */
int	ckp__fsync_dir(const char *dir);

/**
 * The publish steps after the RAM temporary is complete and fsync'd:
 * write, fsync and publish the meta (@p len bytes at @p meta).  On
 * failure *@p ram_renamed tells whether the RAM file was already renamed
 * (then the meta temporary is left for recovery; otherwise it is removed
 * and the caller removes the RAM temporary).
 */
int	ckp__publish(const struct ckp__names *n, const void *meta, size_t len,
	    bool *ram_renamed, char *err, size_t errlen);

/* Outcome of looking at an interrupted publish. */
enum ckp__recover_state {
	CKP__REC_NONE = 0,	/* no leftovers */
	CKP__REC_DONE,		/* rolled forward or cleaned up */
	CKP__REC_BUSY_WRITE,	/* a live writer is writing RAM (old checkpoint intact) */
	CKP__REC_BUSY_PUBLISH,	/* a live writer (or recovery) is renaming */
	CKP__REC_REFUSED,	/* a temporary recovery does not adopt (left alone) */
};

/**
 * ckp_recover() with the state spelled out.  On failure *@p needed_forward
 * tells whether a roll-forward was needed (then the published pair may be
 * mixed until it is done).
 */
int	ckp__recover(const struct ckp__names *n, enum ckp__recover_state *st,
	    bool *needed_forward, char *msg, size_t msglen);

struct stat;

/**
 * Whether the file @p st describes is this user's own: a regular file
 * owned by the effective user that nobody else may write (and, with
 * @p one_link, not linked under another name).  false with @p why saying
 * why, naming @p path.
 */
bool	ckp__file_owned(const struct stat *st, const char *path, bool one_link,
	    char *why, size_t whylen);

/** Sleep @p ms milliseconds (restarted after signals). */
void	ckp__sleep_ms(long ms);

/* ---- fault injection for the crash tests ---- */

/*
 * Test builds only (CKP_TEST_HOOKS): when ckp__crash_at (else
 * $CKP_TEST_CRASH_AT, read by ckp_writer_begin and recovery) names a step,
 * the process _exit()s with CKP__CRASH_EXIT on reaching it.  Steps:
 * docs/RAMFILE.md ("Crash points").  Elsewhere the steps compile to
 * nothing, so that no environment can end a program linked with libckp.
 */
#define CKP__CRASH_EXIT	86
#ifdef CKP_TEST_HOOKS
extern const char *ckp__crash_at;
void	ckp__crash_env(void);
void	ckp__crash_point(const char *step);
#else
#define	ckp__crash_env()	((void)0)
#define	ckp__crash_point(step)	((void)0)
#endif

/* ---- the writer (writer.c) ---- */

/* Chunk states inside a writer. */
enum {
	CKP__C_PRISTINE = 0,	/* nothing written: a hole, all zero */
	CKP__C_CLEAN,		/* summary computed from memory, valid */
	CKP__C_DIRTY,		/* written by ckp_writer_put: summarise from the file */
};

/*
 * put_segs keeps at most this much of the RAM file in the page cache
 * (writer.c, window_advance); 0: no bound.  A variable so that bench_ram
 * can measure the alternatives.
 */
#define CKP_WRITE_WINDOW	(64ull << 20)
extern uint64_t ckp__write_window;
/* Scanners may run this many chunks ahead of the writer, at least. */
#define CKP_WRITE_AHEAD_MIN	8
/* put_segs writes through O_DIRECT (bench_ram's comparison only). */
extern bool ckp__write_direct;

/** Record the "ram" section for @p t in @p meta (replacing one). */
int	ckp__ram_sec_write(ckp_doc_t *meta, const char *file,
	    const struct ckp__ram_totals *t, const uint8_t *blob,
	    size_t bloblen);

#endif /* CKP_RAM_IMPL_H */
