/*
 * churn [ROUNDS]: dense RAM traffic with an exact answer.  Fills the
 * workload's RAM (all free RAM when it runs alone) with a pattern derived
 * from the seed, then each round verifies the previous round's pattern and
 * writes the next one in the same pass, one slice per vCPU, with a barrier
 * between rounds.  The checksum mixes the per-round sums of the words read
 * back, so it depends only on the seed, ROUNDS and the amount of RAM (not on
 * timing, nor on the number of vCPUs): a run suspended and restored must
 * print the same checksum as an uninterrupted one, and any word that comes
 * back wrong is reported with its address.
 */
#include "guest.h"
#include "workload.h"
#include "bootinfo.h"

/* Default ROUNDS: 128 GiB of traffic, whatever the RAM size (about 10 s
 * with 256 MiB and 2 vCPUs under KVM on the project's machines). */
#define CHURN_DEFAULT_TRAFFIC	(128 * GiB)

struct churn {
	u64 rounds;
	u64 key;
	struct wl_barrier bar;
	u64 sums[2][MAX_CPUS];
	volatile u32 abort;
	volatile u32 timeout;
	struct {
		u64 count, addr, got, exp;
	} bad[MAX_CPUS];
	u64 checksum;
};
static struct churn churns[WL_MAX];

static inline u64 pat(u64 w, u64 k)
{
	u64 x = w * 0x9e3779b97f4a7c15ULL + k;

	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	return x;
}

static u64 round_key(struct churn *c, u64 r)
{
	return mix64(c->key ^ mix64(r + 1));
}

static int churn_parse(struct wl *w)
{
	struct churn *c = &churns[w->index];

	w->priv = c;
	c->rounds = MAX(CHURN_DEFAULT_TRAFFIC / ALIGN_UP(ram_total, MiB), 2);
	if (w->argc > 1 || (w->argc == 1 && (parse_u64(w->argv[0], &c->rounds, false) ||
	    c->rounds == 0))) {
		cprintf("CMDLINE ERROR usage: churn [ROUNDS>0]");
		return -1;
	}
	c->key = mix64(seed ^ mix64(0x636875726eULL + w->index));
	return 0;
}

static int churn_prepare(struct wl *w)
{
	if (w->memsize < (u64)w->ncpu * 4096) {
		cprintf("CHURN FAIL no free RAM left (%llu bytes)", (unsigned long long)w->memsize);
		return -1;
	}
	return 0;
}

/* One pass over [first, first+count) words of the workload's RAM: check
 * against key `kold` (unless fill), write key `knew` (unless final). */
static u64 churn_pass(struct wl *w, struct churn *c, u32 idx, u64 first, u64 count,
    u64 kold, u64 knew, bool check, bool write)
{
	u64 sum = 0, w0 = 0;

	for (u32 i = 0; i < w->nmem && count; i++) {
		u64 rw = (w->mem[i].end - w->mem[i].start) / 8;
		volatile u64 *p;
		u64 off, n;

		if (first >= w0 + rw) {
			w0 += rw;
			continue;
		}
		off = first - w0;
		n = MIN(rw - off, count);
		p = (volatile u64 *)w->mem[i].start + off;
		if (!check) {
			for (u64 j = 0; j < n; j++)
				p[j] = pat(first + j, knew);
		} else {
			for (u64 j = 0; j < n; j++) {
				u64 g = p[j], e = pat(first + j, kold);

				if (__builtin_expect(g != e, 0)) {
					if (!c->bad[idx].count++) {
						c->bad[idx].addr = (u64)&p[j];
						c->bad[idx].got = g;
						c->bad[idx].exp = e;
					}
				}
				sum += g;
				if (write)
					p[j] = pat(first + j, knew);
			}
		}
		first += n;
		count -= n;
		w0 += rw;
	}
	return sum;
}

static void churn_run(struct wl *w, u32 idx, u32 n)
{
	struct churn *c = w->priv;
	u64 words = w->memsize / 8;
	u64 pages = words / 512;
	u64 first = pages * idx / n * 512, count = pages * (idx + 1) / n * 512 - first;
	u64 t0 = ticks, ms0 = now_ms(), last = ticks, r = 0, csum = 0;
	u32 sense = 0;
	bool lead = idx == 0;

#define BARRIER() do { \
		if (!wl_barrier_wait(&c->bar, n, &sense)) { c->timeout = 1; goto out; } \
	} while (0)

	if (lead)
		cprintf("CHURN start size=%lluM rounds=%llu cpus=%u ticks=%llu",
		    (unsigned long long)(w->memsize / MiB), (unsigned long long)c->rounds, n,
		    (unsigned long long)ticks);
	churn_pass(w, c, idx, first, count, 0, round_key(c, 0), false, true);
	BARRIER();
	for (r = 1; r <= c->rounds + 1; r++) {
		bool final = r == c->rounds + 1;

		c->sums[r & 1][idx] = churn_pass(w, c, idx, first, count, round_key(c, r - 1),
		    round_key(c, r), true, !final);
		if (c->bad[idx].count)
			c->abort = 1;
		BARRIER();
		if (c->abort)
			break;
		if (lead) {
			u64 s = 0;

			for (u32 i = 0; i < n; i++)
				s += c->sums[r & 1][i];
			csum = mix64(csum ^ s ^ r);
			if (!final && (r == 1 || r == c->rounds || ticks - last >= hz)) {
				last = ticks;
				cprintf("CHURN round %llu/%llu ticks=%llu", (unsigned long long)r,
				    (unsigned long long)c->rounds, (unsigned long long)ticks);
			}
		}
	}
out:
	if (!lead)
		return;
	/* the others finished their last pass before the last barrier */
	if (c->timeout) {
		cprintf("CHURN FAIL barrier timeout in round %llu", (unsigned long long)r);
		w->status = ST_FAIL;
		return;
	}
	if (c->abort) {
		u64 total = 0;

		for (u32 i = 0; i < n; i++)
			total += c->bad[i].count;
		for (u32 i = 0; i < n; i++)
			if (c->bad[i].count) {
				cprintf("CHURN FAIL round %llu: %llu bad words, first at %#llx got %#llx expected %#llx (cpu slice %u)",
				    (unsigned long long)r, (unsigned long long)total,
				    (unsigned long long)c->bad[i].addr, (unsigned long long)c->bad[i].got,
				    (unsigned long long)c->bad[i].exp, i);
				break;
			}
		w->status = ST_FAIL;
		return;
	}
	c->checksum = csum;
	cprintf("CHURN done rounds=%llu size=%lluM cpus=%u ms=%llu ticks=%llu",
	    (unsigned long long)c->rounds, (unsigned long long)(w->memsize / MiB), n,
	    (unsigned long long)(now_ms() - ms0), (unsigned long long)(ticks - t0));
	cprintf("CHURN OK %016llx", (unsigned long long)csum);
}

const struct wl_ops wl_churn = {
	.name = "churn",
	.parallel = true,
	.takes_rest = true,
	.parse = churn_parse,
	.prepare = churn_prepare,
	.run = churn_run,
};
