#ifndef GUEST_WORKLOAD_H
#define GUEST_WORKLOAD_H
#include "guest.h"
#include "bootinfo.h"

#define WL_MAX		MAX_CPUS
#define WL_ARGS		8
#define WL_RANGES	16

struct wl;
struct wl_ops {
	const char *name;
	bool parallel;		/* alone on the command line: runs on every vCPU */
	bool takes_rest;	/* gets a share of the free RAM left after the others */
	/* checks arguments; prints "CMDLINE ERROR ..." and returns < 0 if bad */
	int (*parse)(struct wl *w);
	/* bootstrap vCPU, before any task runs: allocate memory, find devices */
	int (*prepare)(struct wl *w);
	/* part `idx` of `n` (n > 1 only for parallel workloads) */
	void (*run)(struct wl *w, u32 idx, u32 n);
};

struct wl {
	const struct wl_ops *ops;
	u32 index;		/* position on the command line */
	u32 argc;
	char *argv[WL_ARGS];
	u32 ncpu;		/* vCPUs running it */
	volatile u32 status;	/* ST_* */
	struct range mem[WL_RANGES];	/* takes_rest: its RAM */
	u32 nmem;
	u64 memsize;
	void *priv;
};

/* Sense-reversing barrier among the vCPUs of one workload; false on
 * timeout (ticks based, so a paused VM does not time out). */
struct wl_barrier {
	volatile u32 count;
	volatile u32 sense;
};
bool wl_barrier_wait(struct wl_barrier *b, u32 n, u32 *local_sense);

extern const struct wl_ops wl_churn, wl_ticks, wl_fault, wl_copy, wl_ping, wl_beacon, wl_badvq,
    wl_touch, wl_rtc, wl_dirty;
u64 mix64(u64 x);

#endif
