/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The set of guest pages still to copy while a guest runs: KVM's dirty
 * logs (and the devices' own, vm_gpa_dirty()) fetched into a pending set,
 * handed out as runs of neighbouring pages.  A checkpoint-and-continue
 * (vmm/ckpt.c) and a migration (vmm/migrate.c) use it the same way: fetch
 * (which clears KVM's log), then copy what the runs name, so a write that
 * lands during the copy is logged again and copied in a later round.
 */
#ifndef HYVE_DIRTY_H
#define HYVE_DIRTY_H

#include <stddef.h>
#include <stdint.h>

#include "vm_priv.h"

/* Longest run handed out (pages): spreads the work over threads. */
#define DIRTY_RUN_MAX_PAGES	256

struct dirty {
	unsigned long	*pend[VM_MAX_MEM_REGIONS];	/* still to copy */
	unsigned long	*tmp[VM_MAX_MEM_REGIONS];
	size_t		 longs[VM_MAX_MEM_REGIONS];
};

/* Guest pages at RAM offset @off, mapped at @host. */
struct page_run {
	uint64_t	 off;
	const void	*host;
	uint64_t	 len;
};

struct page_runs {
	struct page_run	*r;
	size_t		 n, cap;
	uint64_t	 bytes;
};

int dirty_init(struct vm *vm, struct dirty *dt);
void dirty_free(struct dirty *dt);
/* Fetch (and clear) the logs into the pending set; *@npages: pages pending. */
int dirty_fetch(struct vm *vm, struct dirty *dt, uint64_t *npages);
/* The pending pages as runs of neighbours into @rs; the pending set empties. */
int dirty_runs(struct vm *vm, struct dirty *dt, struct page_runs *rs);
/* Append one run (for callers building their own list). */
int page_runs_add(struct page_runs *rs, uint64_t off, const void *host,
    uint64_t len);

#endif /* HYVE_DIRTY_H */
