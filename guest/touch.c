/*
 * touch SIZE [PATTERN_SEED] [scatter] [verify TICKS] [ticks COUNT]:
 * writes a non-zero pseudo-random pattern to SIZE bytes of free RAM, reads
 * it back, prints TOUCH OK with a checksum, then idles.
 *
 * What it is for: a guest whose RAM is mostly untouched but holds a known
 * amount of real data (the checkpoint benchmark's sparse case: 64 MiB in
 * 4 GiB), and a way to show that this data comes back intact after a
 * suspend and restore:
 * - Every 64-bit word written is non-zero, so every touched page is a data
 *   page for a writer that skips zero pages, and none of the rest is.
 * - The pattern of word w (its index in the touched data, in address
 *   order) depends only on w and the seed, so the checksum depends only on
 *   the seed and SIZE: not on where the data lies, nor on scatter.
 * - After TOUCH OK the workload writes nothing: it idles with hlt, waking
 *   on ticks, so the pages stay exactly as they were.  With `verify TICKS`
 *   it re-reads the data every TICKS ticks and compares every word with
 *   the pattern.  Ticks do not advance while the VM is paused or
 *   suspended, so a restored guest verifies within TICKS ticks of running
 *   again: the first TOUCH VERIFY line of a restored hyve is a check of
 *   the RAM it restored.
 * - Placement: contiguous from the start of free RAM (after the other
 *   workloads' allocations that precede it on the command line), or with
 *   `scatter` in 2 MiB pieces spread evenly over the free RAM left after
 *   every other workload took its part (shared equally with churn, if
 *   any, like churn's own share).
 */
#include "guest.h"
#include "workload.h"
#include "bootinfo.h"

#define PIECE		(2 * MiB)	/* scatter's piece size */

struct touch {
	u64 size;
	u64 seed;
	u64 key;
	u64 verify;		/* 0: never re-check */
	u64 count;		/* 0: idle forever */
	bool scatter;
	u64 piece;		/* bytes per piece (size when contiguous) */
	u64 npieces;
	u64 stride;		/* logical distance between piece starts */
};
static struct touch touches[WL_MAX];

static inline u64 pat(u64 w, u64 k)
{
	u64 x = w * 0x9e3779b97f4a7c15ULL + k;

	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	return x | 1;	/* never zero: every touched page holds data */
}

static void fmt_size(char *b, size_t n, u64 v)
{
	if (v % GiB == 0)
		snprintf(b, n, "%lluG", (unsigned long long)(v / GiB));
	else if (v % MiB == 0)
		snprintf(b, n, "%lluM", (unsigned long long)(v / MiB));
	else
		snprintf(b, n, "%lluK", (unsigned long long)(v / KiB));
}

static const struct wl_ops wl_touch_scatter;

static int touch_parse(struct wl *w)
{
	struct touch *t = &touches[w->index];
	bool have_seed = false;
	u32 i;

	w->priv = t;
	*t = (struct touch){ .seed = seed };
	if (w->argc < 1 || parse_u64(w->argv[0], &t->size, true) || !t->size ||
	    t->size % 4096)
		goto usage;
	for (i = 1; i < w->argc; i++) {
		const char *a = w->argv[i];

		if (!strcmp(a, "scatter")) {
			if (t->scatter)
				goto usage;
			t->scatter = true;
		} else if (!strcmp(a, "verify") || !strcmp(a, "ticks")) {
			u64 *v = a[0] == 'v' ? &t->verify : &t->count;

			if (*v || i + 1 >= w->argc || parse_u64(w->argv[i + 1], v, false) || !*v)
				goto usage;
			i++;
		} else if (!have_seed && !parse_u64(a, &t->seed, false)) {
			have_seed = true;
		} else {
			goto usage;
		}
	}
	t->key = mix64(t->seed ^ mix64(0x746f756368ULL));	/* "touch" */
	t->piece = t->scatter ? PIECE : t->size;
	t->npieces = (t->size + t->piece - 1) / t->piece;
	/*
	 * Scattered pieces are spread over RAM the others left: that is a
	 * share of the rest, like churn's, given after every other workload
	 * allocated what it needs.
	 */
	if (t->scatter)
		w->ops = &wl_touch_scatter;
	return 0;
usage:
	cprintf("CMDLINE ERROR usage: touch SIZE [PATTERN_SEED] [scatter] [verify TICKS] "
	    "[ticks COUNT] (SIZE: bytes, K/M/G suffix, a multiple of 4K; TICKS, COUNT > 0)");
	return -1;
}

static int touch_prepare(struct wl *w)
{
	struct touch *t = w->priv;
	char sz[24];

	fmt_size(sz, sizeof(sz), t->size);
	if (t->scatter) {
		/* w->mem is this workload's share of the rest (main.c) */
		t->stride = t->npieces > 1 ? ALIGN_DOWN(w->memsize / t->npieces, 4096) : 0;
		if (w->memsize < t->size || (t->npieces > 1 && t->stride < t->piece)) {
			cprintf("TOUCH FAIL size %s does not fit in the %lluM of free RAM this "
			    "workload got", sz, (unsigned long long)(w->memsize / MiB));
			return -1;
		}
		return 0;
	}
	/* contiguous from the start of free RAM, across ranges if need be */
	if (mem_free_total() < t->size) {
		cprintf("TOUCH FAIL size %s larger than the free RAM (%lluM)", sz,
		    (unsigned long long)(mem_free_total() / MiB));
		return -1;
	}
	w->nmem = 0;
	w->memsize = 0;
	for (u32 i = 0; i < nfree && w->memsize < t->size; i++) {
		u64 n = MIN(free_ranges[i].end - free_ranges[i].start, t->size - w->memsize);

		if (!n)
			continue;
		if (w->nmem == WL_RANGES) {
			cprintf("TOUCH FAIL size %s spans more than %u free RAM ranges", sz, WL_RANGES);
			return -1;
		}
		w->mem[w->nmem++] = (struct range){ free_ranges[i].start, free_ranges[i].start + n };
		free_ranges[i].start += n;
		w->memsize += n;
	}
	t->stride = t->size;
	return 0;
}

/* Guest-physical address of byte `off` of the workload's RAM (w->mem in
 * order); *room: bytes from there to the end of its range. */
static u64 logical_addr(const struct wl *w, u64 off, u64 *room)
{
	for (u32 i = 0; i < w->nmem; i++) {
		u64 n = w->mem[i].end - w->mem[i].start;

		if (off < n) {
			*room = n - off;
			return w->mem[i].start + off;
		}
		off -= n;
	}
	*room = 0;
	return 0;
}

struct check {
	u64 sum, bad, addr, got, exp;
};

/* One pass over every piece: write the pattern (write), or read it back,
 * sum it and count the words that differ from it. */
static void touch_pass(const struct wl *w, const struct touch *t, bool write, struct check *c)
{
	*c = (struct check){ 0 };
	for (u64 p = 0; p < t->npieces; p++) {
		u64 off = p * t->stride, len = MIN(t->piece, t->size - p * t->piece);
		u64 word = p * t->piece / 8;

		while (len) {
			u64 room, a = logical_addr(w, off, &room), n = MIN(room, len) / 8;
			volatile u64 *q = (volatile u64 *)a;

			if (write) {
				for (u64 j = 0; j < n; j++)
					q[j] = pat(word + j, t->key);
			} else {
				for (u64 j = 0; j < n; j++) {
					u64 g = q[j], e = pat(word + j, t->key);

					c->sum += g;
					if (__builtin_expect(g != e, 0) && !c->bad++) {
						c->addr = (u64)&q[j];
						c->got = g;
						c->exp = e;
					}
				}
			}
			word += n;
			off += n * 8;
			len -= n * 8;
		}
	}
}

static u64 checksum(const struct touch *t, const struct check *c)
{
	return mix64(c->sum ^ mix64(t->size));
}

static void touch_run(struct wl *w, u32 idx, u32 n)
{
	struct touch *t = w->priv;
	struct check c;
	u64 ms0, t_ok, t_last, nverify = 0, room, sum;
	char sz[24], st[32] = "";

	(void)idx, (void)n;
	fmt_size(sz, sizeof(sz), t->size);
	if (t->scatter)
		snprintf(st, sizeof(st), " stride=%lluK", (unsigned long long)(t->stride / KiB));
	cprintf("TOUCH start size=%s pieces=%llu%s at=%#llx seed=%#llx ticks=%llu", sz,
	    (unsigned long long)t->npieces, st, (unsigned long long)logical_addr(w, 0, &room),
	    (unsigned long long)t->seed, (unsigned long long)ticks);
	ms0 = now_ms();
	touch_pass(w, t, true, &c);
	touch_pass(w, t, false, &c);
	if (c.bad) {
		cprintf("TOUCH FAIL read back %llu bad words, first at %#llx got %#llx expected %#llx",
		    (unsigned long long)c.bad, (unsigned long long)c.addr,
		    (unsigned long long)c.got, (unsigned long long)c.exp);
		w->status = ST_FAIL;
		return;
	}
	sum = checksum(t, &c);
	cprintf("TOUCH OK size=%s checksum=%016llx ms=%llu ticks=%llu", sz, (unsigned long long)sum,
	    (unsigned long long)(now_ms() - ms0), (unsigned long long)ticks);

	t_ok = t_last = ticks;
	for (;;) {
		if (t->count && ticks - t_ok >= t->count)
			break;
		if (t->verify && ticks - t_last >= t->verify) {
			nverify++;
			ms0 = now_ms();
			touch_pass(w, t, false, &c);
			if (c.bad) {
				cprintf("TOUCH VERIFY FAIL n=%llu: %llu bad words, first at %#llx got %#llx "
				    "expected %#llx", (unsigned long long)nverify,
				    (unsigned long long)c.bad, (unsigned long long)c.addr,
				    (unsigned long long)c.got, (unsigned long long)c.exp);
				w->status = ST_FAIL;
				return;
			}
			cprintf("TOUCH VERIFY OK n=%llu checksum=%016llx ms=%llu ticks=%llu",
			    (unsigned long long)nverify, (unsigned long long)sum,
			    (unsigned long long)(now_ms() - ms0), (unsigned long long)ticks);
			t_last = ticks;
		}
		idle();
	}
}

const struct wl_ops wl_touch = {
	.name = "touch",
	.parse = touch_parse,
	.prepare = touch_prepare,
	.run = touch_run,
};

/* The same workload with `scatter`: placed from the rest (touch_parse). */
static const struct wl_ops wl_touch_scatter = {
	.name = "touch",
	.takes_rest = true,
	.parse = touch_parse,
	.prepare = touch_prepare,
	.run = touch_run,
};
