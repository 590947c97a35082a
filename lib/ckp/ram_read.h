/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libckp internals shared by the readers of RAM files: ram.c (open,
 * verify, map, read) and ram_lazy.c (verified loading chunk by chunk).
 * Not installed.
 */
#ifndef CKP_RAM_READ_H
#define CKP_RAM_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ram_impl.h"

/* The "ram" section of a meta, as read (docs/RAMFILE.md section 4). */
struct ckp__ram_info {
	const char	*file;		/* NULL if absent */
	uint64_t	 size;
	uint64_t	 sum;
	const char	*sumtext;
	uint32_t	 chunk_size;
	bool		 have_data_bytes, have_extents;
	uint64_t	 data_bytes;
	uint64_t	 extents;
	const uint8_t	*chunks;	/* NULL if absent */
	size_t		 chunks_len;
};

static inline uint64_t
ckp__get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/**
 * Read and check the "ram" section of @p doc (version, size, checksum
 * spelling, chunk size, record list length).  Errors recorded in @p doc.
 * The pointers in @p ri point into @p doc.
 */
int	ckp__ram_info(ckp_doc_t *doc, struct ckp__ram_info *ri);

/** Is ram.chunks present, well formed, and does it add up to ram.checksum? */
bool	ckp__ram_chunks_usable(const struct ckp__ram_info *ri);

/**
 * The open file @p fd must be a regular file of exactly ri->size bytes
 * ("RAM file f.ckp has N bytes but the meta records M (truncated)").
 * Errors recorded in @p doc.
 */
/*
 * The first chunk whose summary in @cs differs from ram.chunks (and *@what,
 * how); the number of chunks if none.
 */
uint64_t ckp__ram_first_bad_chunk(const struct ckp__ram_info *ri,
	    const struct ckp__csum *cs, const char **what);
int	ckp__ram_check_file(ckp_doc_t *doc, const struct ckp__ram_info *ri,
	    const char *ram_path, int fd);

#endif /* CKP_RAM_READ_H */
