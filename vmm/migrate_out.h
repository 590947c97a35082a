/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The source of a live migration (docs/MIGRATION.md sections 6 and 7):
 * a checkpoint stream of the running VM written to a descriptor that
 * hyvectl opened (a connection to a destination hyve, or a file).
 */
#ifndef HYVE_MIGRATE_OUT_H
#define HYVE_MIGRATE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm_priv.h"

#define MIG_DOWNTIME_MS_DEFAULT	20
#define MIG_TIMEOUT_MS_DEFAULT	10000
/* Auto-converge: the first throttle, the step, the most. */
#define MIG_THROTTLE_FIRST	20
#define MIG_THROTTLE_STEP	10
#define MIG_THROTTLE_MAX	99
/* A round "shrinks enough" when it leaves at most this share (per cent). */
#define MIG_SHRINK_PCT		90
/* Rounds in a row that do not, before the vCPUs are throttled. */
#define MIG_BAD_ROUNDS		2
/* Pre-copy rounds after round 0 at most, whatever happens. */
#define MIG_MAX_ROUNDS		60

typedef void mig_progress_fn(void *arg, const char *phase, uint64_t done,
    uint64_t total);

struct mig_opts {
	int		 fd;		/* the connection or file (not closed) */
	bool		 oneway;	/* a file: nobody answers */
	const uint8_t	*key;		/* NULL: unkeyed */
	size_t		 keylen;
	uint32_t	 downtime_ms;	/* 0: MIG_DOWNTIME_MS_DEFAULT */
	uint32_t	 timeout_ms;	/* 0: MIG_TIMEOUT_MS_DEFAULT */
	const char	*origin;	/* the address, for messages */
	mig_progress_fn	*progress;
	void		*arg;
};

/* How a migration ended, for the one who asked and for the log. */
enum mig_outcome {
	MIG_KEPT = 0,		/* failed or cancelled: the guest runs here */
	MIG_WRITTEN,		/* one-way: the stream is complete, the guest goes on */
	MIG_HANDED_OVER,	/* the destination runs the guest: stop here */
	MIG_UNCONFIRMED,	/* GO sent, no answer: paused here, the user decides */
};

struct mig_stats {
	unsigned	 rounds;	/* ROUND frames, the last one included */
	uint64_t	 bytes;		/* written to the descriptor */
	uint64_t	 pages;		/* pages sent in PAGES frames */
	uint64_t	 zero_pages;	/* pages sent as ZERO */
	uint64_t	 last_pages;	/* pages of the last round (guest stopped) */
	uint64_t	 downtime_us;	/* pause to END (one-way) or to RUNNING */
	/* the hand-over's steps, microseconds after the pause began */
	uint64_t	 paused_us;	/* vCPUs and devices stopped */
	uint64_t	 last_us;	/* the last round sent */
	uint64_t	 state_us;	/* STATE and END sent */
	uint64_t	 ready_us;	/* READY received */
	uint64_t	 running_us;	/* RUNNING received */
	uint64_t	 total_us;
	unsigned	 throttle;	/* the highest throttle used (per cent) */
};

/*
 * Migrate @vm over @o->fd.  The caller holds nothing; this claims the VM
 * (vm_ckpt_claim: one checkpoint or migration at a time) and releases it.
 * *@out says who runs the guest now; @err says why when it is MIG_KEPT
 * (return value negative) or MIG_UNCONFIRMED (0).  -ECANCELED: cancelled.
 */
int vm_migrate(struct vm *vm, const struct mig_opts *o, struct mig_stats *st,
    enum mig_outcome *out, char *err, size_t errlen);
/* Cancel the migration in progress: 0, -ENOENT (none), -EALREADY (past GO). */
int vm_migrate_cancel(struct vm *vm, char *err, size_t errlen);
/*
 * The VM is stopping (guest power-off, a signal): a migration before GO
 * ends now instead of at its timeout, and says why; past GO it runs to its
 * end (the destination may be running the guest).
 */
void vm_migrate_abandon(struct vm *vm);
/*
 * The migration in progress for "status": "migrating round=N sent=BYTES
 * dirty_rate=BYTES/S expected_downtime_ms=N throttle=PCT" into @buf, or
 * an empty string when none runs.
 */
void vm_migrate_status(struct vm *vm, char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Convergence: what to do after a pre-copy round (a pure function)          */
/* ------------------------------------------------------------------------ */

struct mig_conv {
	/* in: the round just measured */
	uint64_t	 pages_left;	/* dirty pages now pending */
	uint64_t	 link_rate;	/* bytes/s the last round was sent at; 0 unknown */
	uint32_t	 downtime_ms;
	/* kept between rounds (zero at first) */
	uint64_t	 prev_left;	/* the round before's pages_left; 0: none */
	unsigned	 bad;		/* rounds in a row that did not shrink enough */
	unsigned	 rounds;	/* rounds decided so far */
	unsigned	 throttle;	/* per cent of each 10 ms the vCPUs sleep */
	/* out */
	uint64_t	 expected_us;	/* downtime if the guest stopped now */
};

enum mig_step {
	MIG_STEP_ROUND = 0,	/* another pre-copy round */
	MIG_STEP_STOP,		/* stop the guest and send the rest */
};

/* Decide after a round; updates @c (its throttle too). */
enum mig_step mig_converge(struct mig_conv *c);

#endif /* HYVE_MIGRATE_OUT_H */
