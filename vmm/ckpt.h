/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Writing and reading checkpoints of a whole VM (vmm/ckpt.c,
 * vmm/restore.c; docs/CHECKPOINT.md says what a checkpoint holds).
 */
#ifndef HYVE_CKPT_H
#define HYVE_CKPT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "vm_priv.h"

/* Version of the "checkpoint" section (how it was taken; informational). */
#define CKPT_SECTION_VERSION	1

enum ckpt_kind {
	CKPT_SUSPEND = 1,	/* pause, write, leave paused (the caller stops) */
	CKPT_CONTINUE,		/* write while running, pause for the last pages */
};

/* Progress of a checkpoint: @phase "ram" (the first pass), "dirty" (later passes). */
typedef void ckpt_progress_fn(void *arg, const char *phase, uint64_t done,
    uint64_t total);

struct ckpt_opts {
	enum ckpt_kind	 kind;
	ckp_enc_t	 enc;		/* CKP_ENC_NONE: JSON */
	unsigned	 nthreads;	/* RAM writers; 0: one per CPU */
	unsigned	 max_rounds;	/* passes over RAM before the last; 0: 8 */
	ckpt_progress_fn *progress;
	void		*arg;
	/* Tests: called with the VM paused, after the last pages are known. */
	void		(*at_pause)(struct vm *vm, void *arg);
};

struct ckpt_stats {
	uint64_t	 downtime_us;	/* guest stopped (from the pause to the resume) */
	uint64_t	 total_us;	/* request to published files */
	uint64_t	 write_us;	/* request to everything put (RAM, state) */
	uint64_t	 sync_us;	/* re-hash of chunks put again, RAM fsync */
	uint64_t	 commit_us;	/* commit: meta, its fsync, the publish */
	uint64_t	 ram_bytes;	/* RAM size */
	uint64_t	 redirty_bytes;	/* pages written again after the first pass */
	uint64_t	 last_bytes;	/* pages written while the guest was stopped */
	unsigned	 rounds;	/* passes over RAM, the last one included */
};

/*
 * Write checkpoint @path (the RAM file; the meta is @path.meta).  On
 * success a CKPT_SUSPEND leaves the VM paused (the caller stops it), a
 * CKPT_CONTINUE leaves it as it was (running, or paused by the user).  On
 * failure the VM runs as before, nothing of the new checkpoint is left and
 * an older one at @path is intact; @err says why, naming the path or the
 * device.  -EBUSY: another checkpoint is being written.  The caller holds
 * the checkpoint claim (vm_ckpt_claim()) so that a user's pause or resume
 * does not interfere.
 */
int vm_checkpoint(struct vm *vm, const char *path, const struct ckpt_opts *o,
    struct ckpt_stats *st, char *err, size_t errlen);

/*
 * The meta of a paused VM: header, config (every key, so that the
 * checkpoint alone can restore it), memory, vm, vcpu@N, devices.  NULL with
 * @err set on failure (a device that cannot be saved is named).
 */
ckp_doc_t *vm_ckpt_meta(struct vm *vm, char *err, size_t errlen);


/* ------------------------------------------------------------------------ */
/* Restore (vmm/restore.c)                                                   */
/* ------------------------------------------------------------------------ */

struct restore_opts {
	const char	*path;		/* FILE.ckp or FILE.ckp.meta */
	struct cfg	*overrides;	/* -o, -l, -k and NAME, applied on top */
	bool		 eager;		/* read RAM now instead of mapping it */
	bool		 no_ram_check;	/* skip the RAM file's checksum (= verify none) */
	enum cli_verify	 verify;	/* when to check the RAM file (--verify) */
	bool		 progress;	/* show progress on stderr (a terminal) */
	bool		 trust;		/* --trust: another user's files too */
};

struct restore_stats {
	uint64_t	 open_us;	/* meta decoded, RAM file verified */
	uint64_t	 ram_us;	/* RAM mapped, read, or set up to load on demand */
	uint64_t	 total_us;
	uint64_t	 ram_bytes;
	unsigned	 warnings;
	enum cli_verify	 verify;	/* what was done (lazy may fall back to full) */
	const char	*ram_how;	/* "mapped, checksum verified"... for the log */
};

/*
 * Restore, in two steps so that the caller can claim the VM's name (its
 * control socket) between them.
 *
 * restore_prepare: open and verify the checkpoint, take its configuration
 * with the overrides on top, and check everything the document alone can
 * tell (versions, sections, layout, devices).  Creates nothing.
 *
 * restore_vm: create the VM without its devices and run the restore dry
 * against it (every vCPU checked against this VM's own); the caller
 * claims the name after it, so that a refusal leaves no file behind.
 * restore_create calls it when the caller did not.
 *
 * restore_create: create the VM with RAM mapped from (or read out of) the
 * RAM file, create the devices, restore (fill and check) every state, and
 * only then apply it to KVM.  On success *vmp is ready for
 * vm_devs_start() and vcpus_start().
 *
 * RAM: --verify=full checks the whole RAM file in restore_prepare (or,
 * with --eager, while restore_create reads it: one pass); --verify=lazy
 * checks only the chunk list and the size there, and restore_create
 * hands guest RAM to vmm/lazyram.c, which checks each chunk when it is
 * first touched (falling back to full, with a warning, where userfaultfd
 * is not available or the meta has no chunk list).
 *
 * Errors: -EINVAL a bad or mismatching checkpoint (hyve exits 2), -EIO the
 * host (exit 4); @err names the file and the field.  Warnings (unknown
 * fields, a changed disk, a fallback) go to stderr.  restore_err_kind()
 * says which kind of failure an error is.
 */
struct restore;
int restore_prepare(const struct restore_opts *o, struct restore **rp,
    char *err, size_t errlen);
const char *restore_name(const struct restore *r);
int restore_vm(struct restore *r, char *err, size_t errlen);
int restore_create(struct restore *r, struct vm **vmp,
    struct restore_stats *st, char *err, size_t errlen);
void restore_free(struct restore *r);

/*
 * The kind of a failure of restore_prepare() (@created false) or
 * restore_create(), by the contract above: the checkpoint refused, or the
 * host failing (restore_create() also -ENOMEM).  restore.c does not say
 * the kind where it decides yet; this is the one place that reads it from
 * the errno.
 */
static inline enum hyve_err_kind
restore_err_kind(int rc, bool created)
{
	if (created)
		return rc == -EIO || rc == -ENOMEM ? HYVE_ERR_RUNTIME :
		    HYVE_ERR_REFUSED;
	return rc == -EINVAL ? HYVE_ERR_REFUSED : HYVE_ERR_RUNTIME;
}

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t ckpt_now_us(void);

#endif /* HYVE_CKPT_H */
