/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The pending set of dirty guest pages (vmm/dirty.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dirty.h"

#define PAGE		4096ULL
#define BITS_PER_LONG	(8 * sizeof(unsigned long))

void
dirty_free(struct dirty *dt)
{
	unsigned i;

	for (i = 0; i < VM_MAX_MEM_REGIONS; i++) {
		free(dt->pend[i]);
		free(dt->tmp[i]);
	}
	memset(dt, 0, sizeof(*dt));
}

int
dirty_init(struct vm *vm, struct dirty *dt)
{
	unsigned i;

	memset(dt, 0, sizeof(*dt));
	for (i = 0; i < vm->nmem; i++) {
		dt->longs[i] = (size_t)((vm->mem[i].size / PAGE + BITS_PER_LONG -
		    1) / BITS_PER_LONG);
		dt->pend[i] = calloc(dt->longs[i], sizeof(long));
		dt->tmp[i] = calloc(dt->longs[i], sizeof(long));
		if (dt->pend[i] == NULL || dt->tmp[i] == NULL) {
			dirty_free(dt);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Fetch (and clear) the logs into the pending set; @return pages pending. */
int
dirty_fetch(struct vm *vm, struct dirty *dt, uint64_t *npages)
{
	unsigned i;
	size_t k;
	int rc;

	*npages = 0;
	for (i = 0; i < vm->nmem; i++) {
		if ((rc = vm_mem_dirty_get(vm, i, dt->tmp[i])) != 0)
			return rc;
		for (k = 0; k < dt->longs[i]; k++) {
			dt->pend[i][k] |= dt->tmp[i][k];
			*npages += (uint64_t)__builtin_popcountl(dt->pend[i][k]);
		}
	}
	return 0;
}

int
page_runs_add(struct page_runs *rs, uint64_t off, const void *host, uint64_t len)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 256;
		struct page_run *n = realloc(rs->r, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		rs->r = n;
		rs->cap = cap;
	}
	rs->r[rs->n++] = (struct page_run){ off, host, len };
	rs->bytes += len;
	return 0;
}

/* The pending pages as runs of neighbours; the pending set is emptied. */
int
dirty_runs(struct vm *vm, struct dirty *dt, struct page_runs *rs)
{
	unsigned i;
	uint64_t pg, npg, start;
	int rc;

	rs->n = 0;
	rs->bytes = 0;
	for (i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *r = &vm->mem[i];
		unsigned long *b = dt->pend[i];

		npg = r->size / PAGE;
		for (pg = 0; pg < npg; ) {
			if (b[pg / BITS_PER_LONG] == 0) {
				pg = (pg / BITS_PER_LONG + 1) * BITS_PER_LONG;
				continue;
			}
			if (!(b[pg / BITS_PER_LONG] >> (pg % BITS_PER_LONG) & 1)) {
				pg++;
				continue;
			}
			start = pg;
			while (pg < npg && pg - start < DIRTY_RUN_MAX_PAGES &&
			    (b[pg / BITS_PER_LONG] >> (pg % BITS_PER_LONG) & 1))
				pg++;
			if ((rc = page_runs_add(rs, r->file_off + start * PAGE,
			    r->host + start * PAGE, (pg - start) * PAGE)) != 0)
				return rc;
		}
		memset(b, 0, dt->longs[i] * sizeof(long));
	}
	return 0;
}

