/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ckp's side of checkpoint streams (docs/MIGRATION.md section 8): a
 * checkpoint written as a one-way stream, a one-way stream read back
 * (checked frame by frame, its RAM received into memory) and published
 * as a checkpoint.  No exit, no printing: 0 or a negative errno and a
 * message, so that the fuzzer drives the reader too.
 */
#ifndef CKPS_H
#define CKPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckp.h"

/* What a stream written from a checkpoint tells its reader to aim for. */
#define CKPS_DOWNTIME_MS	20
/* A key file longer than this is not a key file (a mistake, or /dev/zero). */
#define CKPS_KEY_MAX		4096

/*
 * Read the shared secret in @p path (used as is, trailing newline
 * included): a regular file of CKP_STREAM_MIN_KEY to CKPS_KEY_MAX bytes
 * that neither group nor others may read or write (as ssh asks of a
 * private key).  *@p keyp is malloc'd; free it with ckps_key_free().
 */
int ckps_key_load(const char *path, uint8_t **keyp, size_t *lenp, char *err,
    size_t errlen);
void ckps_key_free(uint8_t *key, size_t len);

/*
 * Is @p path a checkpoint stream (a regular file beginning "CKPS")?
 * 1 yes, 0 no (anything else, or a file that cannot be opened: its
 * reader says why).
 */
int ckps_is_stream(const char *path);

/*
 * The HELLO document of checkpoint meta @p meta: its header, config and
 * memory sections and a migration section (docs/MIGRATION.md section 5).
 */
int ckps_hello(ckp_doc_t *meta, uint64_t ram_size, ckp_doc_t **hellop,
    char *err, size_t errlen);

/* What writing or reading a stream counted. */
struct ckps_counts {
	uint64_t frames;
	uint64_t pages;		/* pages in PAGES frames */
	uint64_t zpages;	/* pages in ZERO frames */
	uint32_t rounds;
	uint64_t bytes;		/* of the stream, framing included */
};

/*
 * Write checkpoint @p in (FILE.ckp or FILE.ckp.meta; its RAM checked
 * against its meta as it is read) as a one-way stream to @p fd, keyed
 * with @p key when not NULL.  @p origin names the output in messages.
 */
int ckps_write(const char *in, int fd, const char *origin, const uint8_t *key,
    size_t keylen, struct ckps_counts *c, char *err, size_t errlen);

/* ckps_read() flags */
#define CKPS_RAM	0x1	/* receive RAM into memory and check it */

/* A one-way stream read to its END. */
struct ckps_in {
	ckp_doc_t *hello;
	ckp_doc_t *state;
	uint64_t ram_size;
	uint8_t *ram;		/* CKPS_RAM: an anonymous mapping of ram_size */
	ckp_ram_rx_t *rx;
	unsigned peer_flags;	/* CKP_STREAM_KEYED... */
	struct ckps_counts c;
};

/*
 * Read the one-way stream on @p fd to its END and the end of input: the
 * framing (libckp), the order of frames (HELLO, then ROUNDs of PAGES and
 * ZERO, STATE, END, nothing after), HELLO's migration section, STATE
 * against HELLO, and with CKPS_RAM the RAM received against STATE's ram
 * section.  Input is hostile: memory is bounded by one frame and, with
 * CKPS_RAM, the RAM size HELLO gives, itself bounded by @p max_ram.
 * On failure @p err names the frame.  Free @p in with ckps_in_free(),
 * also after a failure.
 */
int ckps_read(int fd, const char *origin, const uint8_t *key, size_t keylen,
    unsigned flags, uint64_t max_ram, struct ckps_in *in, char *err,
    size_t errlen);
void ckps_in_free(struct ckps_in *in);

/*
 * Publish what ckps_read(CKPS_RAM) received as checkpoint @p out (its
 * meta in @p enc): atomically, as every checkpoint, or not at all.
 */
int ckps_publish(struct ckps_in *in, const char *out, ckp_enc_t enc,
    char *err, size_t errlen);

#endif
