/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The destination of a migration (hyve --incoming ADDR) and the restore
 * of a stream file (hyve -r FILE.ckps): docs/MIGRATION.md section 4.
 */
#ifndef HYVE_MIGRATE_IN_H
#define HYVE_MIGRATE_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"

/* Until the peer makes progress, when the configuration says nothing. */
#define MIG_IN_TIMEOUT_MS	10000

struct mig_in_opts {
	const char	*addr;		/* --incoming ADDR, or NULL for @file */
	const char	*file;		/* -r FILE.ckps: a one-way stream */
	const char	*keyfile;	/* --migrate-key FILE, or NULL */
	struct restore_opts ro;		/* -o... (overrides, NAME), --trust */
};

struct mig_in;
struct ctl;

/*
 * Wait for the stream, check HELLO, create the VM, receive RAM, check and
 * apply STATE, and (two-way) wait for GO: on 0, *@vmp is ready for
 * vm_devs_start() and vcpus_start() and *@ctlp holds its claimed name.
 * Otherwise nothing runs, the source got an ABORT with the reason when
 * the link still worked, @err says why and *@kind which exit status.
 * A readable @sfd (the signalfd) stops the wait.
 */
int mig_in_run(const struct mig_in_opts *o, int sfd, struct mig_in **mp,
    struct vm **vmp, struct ctl **ctlp, enum hyve_err_kind *kind, char *err,
    size_t errlen);

/* @vm runs: RUNNING to the source, then the link is closed. */
void mig_in_started(struct mig_in *m, const struct vm *vm);

/* What was received, for the log line. */
void mig_in_summary(const struct mig_in *m, char *buf, size_t len);

void mig_in_free(struct mig_in *m);

/* Does @path begin as a checkpoint stream ("CKPS")? */
bool mig_in_is_stream(const char *path);

/*
 * Frame handling without KVM (the fuzzer, fuzz/fuzz_mig_in.c): the order
 * of frames a destination accepts, fed one frame at a time.  0 to go on,
 * 1 when the stream is complete (END), or -EBADMSG with @err.
 */
enum mig_in_phase {
	MIG_IN_HELLO = 0,	/* expecting HELLO */
	MIG_IN_RAM,		/* ROUND, PAGES, ZERO, or STATE */
	MIG_IN_END,		/* STATE received: END */
	MIG_IN_GO,		/* END received (two-way): GO */
	MIG_IN_DONE,
};
int mig_in_expect(enum mig_in_phase phase, uint8_t type, char *err,
    size_t errlen);
/* HELLO's migration section alone (version, chunk and page size, ram_size). */
int mig_in_check_migration(ckp_doc_t *doc, ckp_sec_t **migp,
    uint64_t *ram_size, char *err, size_t errlen);

#endif /* HYVE_MIGRATE_IN_H */
