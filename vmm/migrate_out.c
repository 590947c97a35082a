/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The source of a live migration (docs/MIGRATION.md sections 5 to 7).
 *
 * HELLO (what the destination needs to create the VM), then round 0 (every
 * non-zero page, with the guest running and KVM logging what it writes),
 * then rounds of the pages dirtied meanwhile (vmm/dirty.c: fetch, which
 * clears the log, then copy, so no write is missed), until the rest could
 * be sent within the downtime target; then the guest is paused, the last
 * round, STATE (the checkpoint's meta) and END go, and (two-way) the
 * destination answers READY, GO goes and RUNNING comes back.  Until GO
 * every failure leaves the guest here, running; see section 7.
 *
 * Pages of a running guest are copied before they are sent: a frame's
 * checksum is computed as it is written, and a page the guest changes in
 * between would fail it at the destination.  With the guest stopped (the
 * last round) they are sent from guest memory.
 *
 * The RAM's chunk hashes (ckp_ram_sum) are kept as the rounds go: a chunk
 * is hashed again after a round that sent one of its pages, so that with
 * the guest stopped only the last round's chunks are hashed.  A write
 * after a chunk was hashed is logged, so the chunk comes round again.
 *
 * Auto-converge rather than post-copy: until GO the source holds the
 * whole guest, so any failure costs nothing but the time spent; with
 * post-copy a link cut after the destination starts would lose the guest.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "errmsg.h"
#include "dirty.h"
#include "lazyram.h"
#include "migrate_out.h"
#include "sandbox.h"
#include "state.h"
#include "testhook.h"

#define PAGE		4096ULL
#define CHUNK		(1ULL << 20)
#define MIG_VERSION	1
/* The destination's answers are awaited in slices: a cancel is seen. */
#define WAIT_SLICE_MS	100
/* Auto-converge's period (vCPUs sleep a share of each). */
#define THROTTLE_PERIOD_NS	10000000L


/* A message only: the caller returns its own errno. */
#define seterr(err, errlen, ...) \
	((void)errmsg_set((err), (errlen), 0, __VA_ARGS__))

/* ------------------------------------------------------------------------ */
/* Convergence                                                               */
/* ------------------------------------------------------------------------ */

enum mig_step
mig_converge(struct mig_conv *c)
{
	bool shrank;

	c->expected_us = c->link_rate == 0 ? UINT64_MAX :
	    c->pages_left > UINT64_MAX / PAGE / 1000000 ? UINT64_MAX :
	    c->pages_left * PAGE * 1000000 / c->link_rate;
	c->rounds++;
	if (c->expected_us <= (uint64_t)c->downtime_ms * 1000)
		return MIG_STEP_STOP;
	shrank = c->prev_left == 0 ||
	    c->pages_left * 100 <= c->prev_left * MIG_SHRINK_PCT;
	c->prev_left = c->pages_left;
	if (shrank) {
		c->bad = 0;
		return c->rounds > MIG_MAX_ROUNDS ? MIG_STEP_STOP :
		    MIG_STEP_ROUND;
	}
	/* Throttled as far as it goes, and still not shrinking: stop now. */
	if (c->throttle >= MIG_THROTTLE_MAX || c->rounds > MIG_MAX_ROUNDS)
		return MIG_STEP_STOP;
	if (++c->bad >= MIG_BAD_ROUNDS) {
		c->throttle = c->throttle == 0 ? MIG_THROTTLE_FIRST :
		    c->throttle + MIG_THROTTLE_STEP;
		if (c->throttle > MIG_THROTTLE_MAX)
			c->throttle = MIG_THROTTLE_MAX;
	}
	return MIG_STEP_ROUND;
}

/* ------------------------------------------------------------------------ */
/* The migration in progress (status, cancel)                                */
/* ------------------------------------------------------------------------ */

static struct {
	pthread_mutex_t	 lock;
	const struct vm	*vm;		/* NULL: none */
	int		 fd;		/* its stream's descriptor */
	bool		 past_go;
	bool		 cancel;
	unsigned	 round;
	uint64_t	 sent;
	uint64_t	 dirty_rate;
	uint64_t	 expected_us;
	unsigned	 throttle;
} cur = { .lock = PTHREAD_MUTEX_INITIALIZER };

int
vm_migrate_cancel(struct vm *vm, char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&cur.lock);
	if (cur.vm != vm) {
		seterr(err, errlen, "no migration in progress");
		rc = -ENOENT;
	} else if (cur.past_go) {
		seterr(err, errlen, "too late: the destination was told to run "
		    "the guest");
		rc = -EALREADY;
	} else {
		cur.cancel = true;
		/*
		 * Whatever the migration waits for (a connection that says
		 * nothing, a full send buffer) ends now.  A file has nothing
		 * to wait for: the next frame sees the flag.
		 */
		(void)shutdown(cur.fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&cur.lock);
	return rc;
}

void
vm_migrate_abandon(struct vm *vm)
{
	pthread_mutex_lock(&cur.lock);
	if (cur.vm == vm && !cur.past_go) {
		cur.cancel = true;
		(void)shutdown(cur.fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&cur.lock);
}

void
vm_migrate_status(struct vm *vm, char *buf, size_t len)
{
	pthread_mutex_lock(&cur.lock);
	if (cur.vm != vm)
		snprintf(buf, len, "%s", "");
	else if (cur.expected_us == UINT64_MAX)
		snprintf(buf, len, "migrating round=%u sent=%" PRIu64
		    " dirty_rate=%" PRIu64 " expected_downtime_ms=unknown "
		    "throttle=%u", cur.round, cur.sent, cur.dirty_rate,
		    cur.throttle);
	else
		snprintf(buf, len, "migrating round=%u sent=%" PRIu64
		    " dirty_rate=%" PRIu64 " expected_downtime_ms=%.1f "
		    "throttle=%u", cur.round, cur.sent, cur.dirty_rate,
		    (double)cur.expected_us / 1e3, cur.throttle);
	pthread_mutex_unlock(&cur.lock);
}

static bool
cancelled(void)
{
	bool c;

	pthread_mutex_lock(&cur.lock);
	c = cur.cancel;
	pthread_mutex_unlock(&cur.lock);
	return c;
}

/* ------------------------------------------------------------------------ */
/* One migration                                                             */
/* ------------------------------------------------------------------------ */

struct mig {
	struct vm	*vm;
	const struct mig_opts *o;
	struct mig_stats *st;
	char		*err;
	size_t		 errlen;
	ckp_stream_t	*s;
	ckp_ram_sum_t	*sum;
	uint8_t		*touched;	/* chunks a round sent pages of */
	uint64_t	 nchunks;
	uint8_t		*buf;		/* pages copied before they are sent */
	uint8_t		*chunkbuf;	/* a chunk that spans two regions */
	struct dirty	 dt;
	struct page_runs rs;
	bool		 logging;
	bool		 paused;	/* this migration paused the guest */
	bool		 user_paused;
	/* frames being gathered by send_page() */
	uint64_t	 p_off, p_len;	/* PAGES: RAM offset, bytes */
	const uint8_t	*p_src;
	uint64_t	 z_off, z_n;	/* ZERO: RAM offset, pages */
	uint64_t	 round_bytes;	/* this round's page bytes */
	const char	*phase;
	uint64_t	 phase_total;
	/* the auto-converge kicker */
	pthread_t	 kicker;
	bool		 kicker_started;
	atomic_bool	 kicker_stop;
};

static void
publish(struct mig *m, unsigned round, uint64_t dirty_rate,
    uint64_t expected_us, unsigned throttle)
{
	uint64_t sent = 0;

	ckp_stream_counters(m->s, &sent, NULL);
	pthread_mutex_lock(&cur.lock);
	cur.round = round;
	cur.sent = sent;
	cur.dirty_rate = dirty_rate;
	cur.expected_us = expected_us;
	cur.throttle = throttle;
	pthread_mutex_unlock(&cur.lock);
}

static void
progress(struct mig *m)
{
	uint64_t sent = 0;

	ckp_stream_counters(m->s, &sent, NULL);
	pthread_mutex_lock(&cur.lock);
	cur.sent = sent;
	pthread_mutex_unlock(&cur.lock);
	if (m->o->progress != NULL)
		m->o->progress(m->o->arg, m->phase, m->round_bytes,
		    m->phase_total);
}

/* The stream failed: its message. */
static int
stream_fail(struct mig *m, int rc)
{
	const char *msg = m->s != NULL ? ckp_stream_errmsg(m->s) : "";

	if (msg[0] != '\0')
		seterr(m->err, m->errlen, "%s", msg);
	else
		seterr(m->err, m->errlen, "stream %s: %s", m->o->origin,
		    strerror(-rc));
	return rc;
}

/*
 * Is there a frame from the destination?  Between our frames it sends
 * nothing but ABORT (or closes): either ends the migration.
 */
static int
check_peer(struct mig *m)
{
	struct pollfd p = { .fd = m->o->fd, .events = POLLIN };
	const void *pl;
	uint8_t type;
	size_t len;
	char why[400];
	int rc;

	if (cancelled()) {
		seterr(m->err, m->errlen, "cancelled");
		return -ECANCELED;
	}
	if (m->o->oneway || poll(&p, 1, 0) <= 0)
		return 0;
	if ((rc = ckp_stream_recv(m->s, &type, &pl, &len)) == -ENODATA) {
		seterr(m->err, m->errlen, "the destination %s closed the "
		    "connection", m->o->origin);
		return -ECONNRESET;
	}
	if (rc != 0)
		return stream_fail(m, rc);
	if (type == CKP_FRAME_ABORT) {
		ckp_frame_abort_reason(pl, len, why, sizeof(why));
		seterr(m->err, m->errlen, "the destination %s refused: %s",
		    m->o->origin, why);
		return -ECONNABORTED;
	}
	seterr(m->err, m->errlen, "the destination %s sent frame type 0x%02x "
	    "while RAM was being sent (only ABORT may come then)",
	    m->o->origin, type);
	return -EBADMSG;
}

/*
 * Wait for the frame @want from the destination: 0, or a failure (ABORT,
 * the connection closed, timeout, cancel while @cancellable).
 */
static int
await(struct mig *m, uint8_t want, bool cancellable)
{
	uint32_t tmo = m->o->timeout_ms ? m->o->timeout_ms :
	    MIG_TIMEOUT_MS_DEFAULT;
	const char *name = ckp_frame_name(want);
	uint64_t t0 = ckpt_now_us();
	const void *pl;
	uint8_t type;
	size_t len;
	char why[400];
	int rc;

	for (;;) {
		struct pollfd p = { .fd = m->o->fd, .events = POLLIN };
		if (cancellable && cancelled()) {
			seterr(m->err, m->errlen, "cancelled");
			return -ECANCELED;
		}
		if ((ckpt_now_us() - t0) / 1000 >= tmo) {
			seterr(m->err, m->errlen, "stream %s: no %s from the "
			    "destination within %u ms (timed out)",
			    m->o->origin, name, tmo);
			return -ETIMEDOUT;
		}
		rc = poll(&p, 1, WAIT_SLICE_MS);
		if (rc < 0 && errno != EINTR)
			return stream_fail(m, -errno);
		if (rc > 0)
			break;
	}
	if ((rc = ckp_stream_recv(m->s, &type, &pl, &len)) == -ENODATA) {
		seterr(m->err, m->errlen, "the destination %s closed the "
		    "connection before %s", m->o->origin, name);
		return -ECONNRESET;
	}
	if (rc != 0)
		return stream_fail(m, rc);
	if (type == want)
		return 0;
	if (type == CKP_FRAME_ABORT) {
		ckp_frame_abort_reason(pl, len, why, sizeof(why));
		seterr(m->err, m->errlen, "the destination %s refused: %s",
		    m->o->origin, why);
		return -ECONNABORTED;
	}
	seterr(m->err, m->errlen, "the destination %s sent frame type 0x%02x "
	    "where %s was expected", m->o->origin, type, name);
	return -EBADMSG;
}

/* ------------------------------------------------------------------------ */
/* HELLO                                                                     */
/* ------------------------------------------------------------------------ */

/* Each virtio-blk device's image: the destination must see the same size. */
static int
add_disks(struct mig *m, ckp_sec_t *mig)
{
	struct vm *vm = m->vm;
	unsigned i, n = 0;
	char key[96];

	for (i = 0; i < vm->ndevs; i++) {
		struct dev *d = vm->devs[i];
		const struct cfg_ent *e;
		struct stat st;
		ckp_sec_t *s;

		if (strcmp(d->emu->name, "virtio-blk") != 0)
			continue;
		snprintf(key, sizeof(key), "%s.path", d->cfg);
		if ((e = cfg_lookup(vm->cfg, key)) == NULL) {
			seterr(m->err, m->errlen, "device %s has no %s", d->id,
			    key);
			return -EINVAL;
		}
		if (stat(e->val, &st) != 0) {
			int rc = -errno;
			seterr(m->err, m->errlen, "disk image %s of %s: %s",
			    e->val, d->cfg, strerror(errno));
			return rc;
		}
		if ((s = ckp_sec_addf(mig, 1, "disk@%u", n++)) == NULL)
			break;
		ckp_sec_add_string(s, "slot", d->cfg);
		ckp_sec_add_uint64(s, "size", (uint64_t)st.st_size);
	}
	return 0;
}

static ckp_doc_t *
hello_doc(struct mig *m)
{
	struct vm *vm = m->vm;
	ckp_doc_t *doc;
	ckp_sec_t *s;
	ckp_io_t *io;

	if ((doc = ckp_doc_new("hyve " HYVE_VERSION)) == NULL)
		goto nomem;
	/* As vm_ckpt_meta() writes them: the destination reads the same. */
	if ((s = ckp_sec_add(ckp_doc_root(doc), "config", 1)) != NULL)
		cfg_save_ckp(vm->cfg, s);
	if ((io = ckp_io_new(doc, CKP_IO_SAVE)) == NULL)
		goto nomem;
	vm_memory_io(vm, io);
	ckp_io_free(io);
	if ((s = ckp_sec_add(ckp_doc_root(doc), "migration", MIG_VERSION)) !=
	    NULL) {
		ckp_sec_add_uint64(s, "ram_size", vm->mem_size);
		ckp_sec_add_uint32(s, "chunk_size", (uint32_t)CHUNK);
		ckp_sec_add_uint32(s, "page_size", (uint32_t)PAGE);
		ckp_sec_add_uint32(s, "downtime_ms", m->o->downtime_ms ?
		    m->o->downtime_ms : MIG_DOWNTIME_MS_DEFAULT);
		if (add_disks(m, s) != 0) {
			ckp_doc_free(doc);
			return NULL;
		}
	}
	if (ckp_doc_error(doc) != 0) {
		seterr(m->err, m->errlen, "%s", ckp_doc_errmsg(doc));
		ckp_doc_free(doc);
		return NULL;
	}
	return doc;
nomem:
	ckp_doc_free(doc);
	seterr(m->err, m->errlen, "out of memory");
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Pages                                                                     */
/* ------------------------------------------------------------------------ */

static bool
page_zero(const void *p)
{
	const uint64_t *w = p;
	uint64_t acc = 0;

	for (size_t i = 0; i < PAGE / 8; i += 8) {
		acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] |
		    w[i + 5] | w[i + 6] | w[i + 7];
		if (acc != 0)
			return false;
	}
	return true;
}

static int
flush_pages(struct mig *m)
{
	uint8_t head[8];
	ckp_iov_t iov[2];
	int rc;

	if (m->p_len == 0)
		return 0;
	ckp_frame_pages_head(head, m->p_off);
	iov[0] = (ckp_iov_t){ head, sizeof(head) };
	iov[1] = (ckp_iov_t){ m->p_src, (size_t)m->p_len };
	if ((rc = ckp_stream_sendv(m->s, CKP_FRAME_PAGES, iov, 2)) != 0)
		return stream_fail(m, rc);
	m->st->pages += m->p_len / PAGE;
	m->round_bytes += m->p_len;
	m->p_len = 0;
	progress(m);
	return check_peer(m);
}

static int
flush_zero(struct mig *m)
{
	uint8_t f[16];
	int rc;

	if (m->z_n == 0)
		return 0;
	ckp_frame_zero_make(f, m->z_off, m->z_n);
	if ((rc = ckp_stream_send(m->s, CKP_FRAME_ZERO, f, sizeof(f))) != 0)
		return stream_fail(m, rc);
	m->st->zero_pages += m->z_n;
	m->round_bytes += m->z_n * PAGE;
	m->z_n = 0;
	return 0;
}

static int
flush(struct mig *m)
{
	int rc;

	if ((rc = flush_pages(m)) == 0)
		rc = flush_zero(m);
	return rc;
}

static void
touch(struct mig *m, uint64_t off, uint64_t len)
{
	for (uint64_t c = off / CHUNK; c <= (off + len - 1) / CHUNK &&
	    c < m->nchunks; c++)
		m->touched[c] = 1;
}

/*
 * The pages of one run at RAM offset @off: copied first while the guest
 * runs (@copy), gathered into PAGES frames of neighbours (at most
 * CKP_FRAME_PAGES_MAX) and ZERO frames for pages now all zero.
 */
static int
send_run(struct mig *m, uint64_t off, const uint8_t *host, uint64_t len,
    bool copy)
{
	int rc;

	/* Frames hold neighbours: in RAM offsets, and in memory when not copied. */
	if (m->p_len != 0 && (m->p_off + m->p_len != off ||
	    (!copy && m->p_src + m->p_len != host)) &&
	    (rc = flush_pages(m)) != 0)
		return rc;
	if (m->z_n != 0 && m->z_off + m->z_n * PAGE != off &&
	    (rc = flush_zero(m)) != 0)
		return rc;
	for (uint64_t i = 0; i < len; i += PAGE) {
		const uint8_t *pg = host + i;

		if (copy) {
			memcpy(m->buf + m->p_len, pg, PAGE);
			pg = m->buf + m->p_len;
		}
		if (page_zero(pg)) {
			if ((rc = flush_pages(m)) != 0)
				return rc;
			if (m->z_n++ == 0)
				m->z_off = off + i;
			continue;
		}
		if ((rc = flush_zero(m)) != 0)
			return rc;
		if (m->p_len == 0) {
			m->p_off = off + i;
			m->p_src = pg;
		}
		m->p_len += PAGE;
		if (m->p_len == CKP_FRAME_PAGES_MAX && (rc = flush_pages(m)) != 0)
			return rc;
	}
	touch(m, off, len);
	return 0;
}

static int
send_round(struct mig *m, uint32_t round, const struct page_runs *rs,
    bool copy)
{
	uint8_t f[16];
	int rc;

	ckp_frame_round_make(f, round, rs->bytes / PAGE);
	if ((rc = ckp_stream_send(m->s, CKP_FRAME_ROUND, f, sizeof(f))) != 0)
		return stream_fail(m, rc);
	m->st->rounds++;
	m->round_bytes = 0;
	m->phase_total = rs->bytes;
	progress(m);
	for (size_t i = 0; i < rs->n; i++)
		if ((rc = send_run(m, rs->r[i].off, rs->r[i].host, rs->r[i].len,
		    copy)) != 0)
			return rc;
	return flush(m);
}

/* Round 0's pages: every page not all zero now (later ones are logged). */
static int
nonzero_runs(struct mig *m, struct page_runs *rs)
{
	struct vm *vm = m->vm;
	int rc;

	rs->n = 0;
	rs->bytes = 0;
	for (unsigned i = 0; i < vm->nmem; i++) {
		const struct vm_mem_region *r = &vm->mem[i];
		uint64_t pg, start = 0, run = 0;

		for (pg = 0; pg < r->size / PAGE; pg++) {
			if (!page_zero(r->host + pg * PAGE)) {
				if (run++ == 0)
					start = pg;
				if (run < DIRTY_RUN_MAX_PAGES)
					continue;
			}
			if (run == 0)
				continue;
			if ((rc = page_runs_add(rs, r->file_off + start * PAGE,
			    r->host + start * PAGE, run * PAGE)) != 0)
				return rc;
			run = 0;
		}
		if (run != 0 && (rc = page_runs_add(rs, r->file_off + start *
		    PAGE, r->host + start * PAGE, run * PAGE)) != 0)
			return rc;
	}
	return 0;
}

/* Hash again the chunks the rounds since the last call touched. */
static int
rehash(struct mig *m)
{
	struct vm *vm = m->vm;

	for (uint64_t c = 0; c < m->nchunks; c++) {
		uint64_t off = c * CHUNK, len = vm->mem_size - off, done = 0;
		const uint8_t *src = NULL;

		if (!m->touched[c])
			continue;
		m->touched[c] = 0;
		if (len > CHUNK)
			len = CHUNK;
		for (unsigned i = 0; i < vm->nmem && done < len; i++) {
			const struct vm_mem_region *r = &vm->mem[i];
			uint64_t a = off + done, n;

			if (a < r->file_off || a >= r->file_off + r->size)
				continue;
			n = r->file_off + r->size - a;
			if (n > len - done)
				n = len - done;
			if (done == 0 && n == len) {
				src = r->host + (a - r->file_off);
				break;
			}
			memcpy(m->chunkbuf + done, r->host + (a - r->file_off),
			    n);
			src = m->chunkbuf;
			done += n;
		}
		if (src == NULL || ckp_ram_sum_chunk(m->sum, c, src) != 0) {
			seterr(m->err, m->errlen, "RAM chunk %" PRIu64 " is "
			    "not in guest memory", c);
			return -EINVAL;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Auto-converge                                                             */
/* ------------------------------------------------------------------------ */

/* Kick every vCPU each period while a throttle is set (vmm/vcpu.c sleeps). */
static void *
kicker_main(void *arg)
{
	struct mig *m = arg;
	struct vm *vm = m->vm;
	struct timespec ts = { 0, THROTTLE_PERIOD_NS };

	sandbox_enter(vm, SBX_THROTTLE, NULL);
	while (!atomic_load(&m->kicker_stop)) {
		nanosleep(&ts, NULL);
		if (vm_run_throttle(vm) == 0 || vm_run_stopping(vm))
			continue;
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (vm->vcpus[i].thread_started)
				vcpu_kick(&vm->vcpus[i]);
	}
	return NULL;
}

static void
throttle(struct mig *m, unsigned pct)
{
	if (pct > 0 && !m->kicker_started) {
		atomic_store(&m->kicker_stop, false);
		if (pthread_create(&m->kicker, NULL, kicker_main, m) != 0)
			return;
		m->kicker_started = true;
	}
	vm_run_throttle_set(m->vm, pct);
	if (pct > m->st->throttle)
		m->st->throttle = pct;
}

static void
throttle_off(struct mig *m)
{
	vm_run_throttle_set(m->vm, 0);
	if (m->kicker_started) {
		atomic_store(&m->kicker_stop, true);
		pthread_join(m->kicker, NULL);
		m->kicker_started = false;
	}
}

/* ------------------------------------------------------------------------ */
/* The phases                                                                */
/* ------------------------------------------------------------------------ */

static int
mig_begin(struct mig *m)
{
	struct vm *vm = m->vm;
	const struct mig_opts *o = m->o;
	ckp_doc_t *hello;
	int rc;

	if ((rc = vm_devs_saveable(vm, m->err, m->errlen)) != 0)
		return rc;
	m->nchunks = (vm->mem_size + CHUNK - 1) / CHUNK;
	m->sum = ckp_ram_sum_new(vm->mem_size);
	m->touched = calloc(m->nchunks ? m->nchunks : 1, 1);
	m->buf = mmap(NULL, CKP_FRAME_PAGES_MAX + CHUNK, PROT_READ |
	    PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->buf == MAP_FAILED)
		m->buf = NULL;
	else
		m->chunkbuf = m->buf + CKP_FRAME_PAGES_MAX;
	if (m->sum == NULL || m->touched == NULL || m->buf == NULL ||
	    dirty_init(vm, &m->dt) != 0) {
		seterr(m->err, m->errlen, "out of memory");
		return -ENOMEM;
	}
	m->s = ckp_stream_new(o->fd, CKP_STREAM_WRITER, o->key, o->keylen,
	    o->oneway ? CKP_STREAM_ONEWAY : 0, o->origin);
	if (m->s == NULL) {
		seterr(m->err, m->errlen, "out of memory");
		return -ENOMEM;
	}
	ckp_stream_set_timeout(m->s, o->timeout_ms ? o->timeout_ms :
	    MIG_TIMEOUT_MS_DEFAULT);
	if ((rc = ckp_stream_start(m->s)) != 0)
		return stream_fail(m, rc);
	if ((hello = hello_doc(m)) == NULL)
		return -EINVAL;
	rc = ckp_stream_send_doc(m->s, CKP_FRAME_HELLO, hello);
	ckp_doc_free(hello);
	if (rc != 0)
		return stream_fail(m, rc);
	if (!o->oneway && (rc = await(m, CKP_FRAME_ACCEPT, true)) != 0)
		return rc;
	return 0;
}

/*
 * Test builds: keep pre-copy going for HYVE_TEST_MIG_PRECOPY_MIN_MS after
 * it began, so that a test cutting the link "during pre-copy" cannot lose
 * the race to a guest that happened to dirty nothing for a round.
 */
static bool
test_hold_precopy(uint64_t t_begin)
{
	long ms = test_hook_ms("HYVE_TEST_MIG_PRECOPY_MIN_MS");

	if (ms <= 0 || (ckpt_now_us() - t_begin) / 1000 >= (uint64_t)ms)
		return false;
	usleep(10000);
	return true;
}

static int
mig_precopy(struct mig *m)
{
	struct vm *vm = m->vm;
	struct mig_conv c = { .downtime_ms = m->o->downtime_ms ?
	    m->o->downtime_ms : MIG_DOWNTIME_MS_DEFAULT };
	uint64_t t, n, t_fetch, t_begin, dirty_rate = 0;
	uint32_t round = 0;
	int rc;

	if ((rc = vm_mem_dirty_log(vm, true)) != 0) {
		seterr(m->err, m->errlen, "cannot log dirty pages: %s",
		    strerror(-rc));
		return rc;
	}
	m->logging = true;
	publish(m, 0, 0, UINT64_MAX, 0);
	if ((rc = nonzero_runs(m, &m->rs)) != 0) {
		seterr(m->err, m->errlen, "out of memory");
		return rc;
	}
	m->phase = "round0";
	t_begin = t_fetch = t = ckpt_now_us();
	if ((rc = send_round(m, 0, &m->rs, true)) != 0 ||
	    (rc = rehash(m)) != 0)
		return rc;
	for (;;) {
		uint64_t now = ckpt_now_us(), dt = now - t;

		c.link_rate = dt > 0 ? m->round_bytes * 1000000 / dt : 0;
		if ((rc = dirty_fetch(vm, &m->dt, &n)) != 0) {
			seterr(m->err, m->errlen, "reading the dirty page log: "
			    "%s", strerror(-rc));
			return rc;
		}
		if (now > t_fetch)
			dirty_rate = n * PAGE * 1000000 / (now - t_fetch);
		t_fetch = now;
		c.pages_left = n;
		if (vm_run_stopping(vm)) {
			char why[512];
			vm_run_stop_msg(vm, why, sizeof(why));
			seterr(m->err, m->errlen, "the VM stopped during the "
			    "migration (%s)", why);
			return -ESHUTDOWN;
		}
		if (mig_converge(&c) == MIG_STEP_STOP &&
		    !test_hold_precopy(t_begin)) {
			publish(m, round + 1, dirty_rate, c.expected_us,
			    c.throttle);
			vm_log(vm, "migration to %s: stopping the guest after "
			    "round %u: %" PRIu64 " pages left, expected downtime "
			    "%.1f ms (target %u), throttle %u%%", m->o->origin,
			    round, n, c.expected_us == UINT64_MAX ? -1.0 :
			    (double)c.expected_us / 1e3, c.downtime_ms, c.throttle);
			return 0;
		}
		throttle(m, c.throttle);
		publish(m, round + 1, dirty_rate, c.expected_us, c.throttle);
		if ((rc = dirty_runs(vm, &m->dt, &m->rs)) != 0) {
			seterr(m->err, m->errlen, "out of memory");
			return rc;
		}
		m->phase = "dirty";
		t = ckpt_now_us();
		if ((rc = send_round(m, ++round, &m->rs, true)) != 0 ||
		    (rc = rehash(m)) != 0)
			return rc;
	}
}

/* The guest stopped: the last round, STATE, END. */
static int
mig_stop_copy(struct mig *m, uint64_t *tpause)
{
	struct vm *vm = m->vm;
	ckp_doc_t *meta;
	uint64_t n;
	int rc;

	*tpause = ckpt_now_us();
	if (!m->user_paused) {
		if ((rc = vm_pause(vm, m->err, m->errlen)) != 0)
			return rc;
		m->paused = true;
	}
	m->st->paused_us = ckpt_now_us() - *tpause;
	throttle_off(m);
	if ((rc = dirty_fetch(vm, &m->dt, &n)) != 0 ||
	    (rc = dirty_runs(vm, &m->dt, &m->rs)) != 0) {
		seterr(m->err, m->errlen, "reading the dirty page log: %s",
		    strerror(-rc));
		return rc;
	}
	m->phase = "last";
	m->st->last_pages = m->rs.bytes / PAGE;
	if ((rc = send_round(m, m->st->rounds, &m->rs, false)) != 0 ||
	    (rc = rehash(m)) != 0)
		return rc;
	m->st->last_us = ckpt_now_us() - *tpause;
	if ((meta = vm_ckpt_meta(vm, m->err, m->errlen)) == NULL)
		return -EINVAL;
	ckp_ram_sum_section(m->sum, meta, NULL);
	rc = ckp_stream_send_doc(m->s, CKP_FRAME_STATE, meta);
	ckp_doc_free(meta);
	if (rc != 0)
		return stream_fail(m, rc);
	if ((rc = ckp_stream_send(m->s, CKP_FRAME_END, NULL, 0)) != 0)
		return stream_fail(m, rc);
	m->st->state_us = ckpt_now_us() - *tpause;
	return 0;
}

static void
mig_free(struct mig *m)
{
	throttle_off(m);
	if (m->logging)
		(void)vm_mem_dirty_log(m->vm, false);
	m->logging = false;
	ckp_stream_free(m->s);
	ckp_ram_sum_free(m->sum);
	free(m->touched);
	if (m->buf != NULL)
		munmap(m->buf, CKP_FRAME_PAGES_MAX + CHUNK);
	free(m->rs.r);
	dirty_free(&m->dt);
}

/* Before GO: tell the destination (if it can hear it) and keep the guest. */
static void
give_up(struct mig *m)
{
	char e2[256];
	ckp_doc_t *d;

	if (m->s != NULL && !m->o->oneway && ckp_stream_error(m->s) == 0 &&
	    (d = ckp_frame_abort_doc(m->err)) != NULL) {
		(void)ckp_stream_send_doc(m->s, CKP_FRAME_ABORT, d);
		ckp_doc_free(d);
	}
	throttle_off(m);
	if (m->paused && vm_resume(m->vm, e2, sizeof(e2)) != 0)
		vm_log(m->vm, "after a failed migration: %s", e2);
	m->paused = false;
}

/*
 * Test builds: hold GO back once the migration is past the point of no
 * return, so that a test can cut the link before GO leaves.
 */
static void
test_hold_go(struct vm *vm)
{
	long ms = test_hook_ms("HYVE_TEST_MIG_HOLD_GO_MS");

	if (ms > 0) {
		vm_log(vm, "test hook: GO held back for %ld ms", ms);
		usleep((useconds_t)ms * 1000);
	}
}

int
vm_migrate(struct vm *vm, const struct mig_opts *o, struct mig_stats *st,
    enum mig_outcome *out, char *err, size_t errlen)
{
	struct mig m = { .vm = vm, .o = o, .st = st, .err = err,
	    .errlen = errlen, .phase = "round0" };
	uint64_t t0 = ckpt_now_us(), tpause = 0;
	uint64_t sent = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	*out = MIG_KEPT;
	err[0] = '\0';
	if ((rc = vm_ckpt_claim_migration(vm, o->origin, err, errlen)) != 0)
		return rc;
	pthread_mutex_lock(&cur.lock);
	cur.vm = vm;
	cur.fd = o->fd;
	cur.cancel = cur.past_go = false;
	cur.round = 0;
	cur.sent = cur.dirty_rate = 0;
	cur.expected_us = UINT64_MAX;
	cur.throttle = 0;
	/* A stop before this line was not seen by vm_migrate_abandon(). */
	cur.cancel = vm_run_stopping(vm);
	pthread_mutex_unlock(&cur.lock);
	m.user_paused = vm_ckpt_user_paused(vm);

	/*
	 * RAM restored with --verify=lazy: loaded (and checked) first, so
	 * that what is sent is plain memory the dirty log covers.
	 */
	if (cancelled()) {
		rc = -ECANCELED;
		goto fail;
	}
	if ((rc = lazyram_complete(vm, err, errlen)) != 0 ||
	    (rc = mig_begin(&m)) != 0 || (rc = mig_precopy(&m)) != 0 ||
	    (rc = mig_stop_copy(&m, &tpause)) != 0)
		goto fail;
	if (o->oneway) {
		*out = MIG_WRITTEN;
		st->downtime_us = ckpt_now_us() - tpause;
		if (m.paused && (rc = vm_resume(vm, err, errlen)) != 0)
			vm_log(vm, "after the migration stream: %s", err);
		m.paused = false;
		rc = 0;
		goto done;
	}
	if ((rc = await(&m, CKP_FRAME_READY, true)) != 0)
		goto fail;
	st->ready_us = ckpt_now_us() - tpause;
	pthread_mutex_lock(&cur.lock);
	if (cur.cancel) {
		pthread_mutex_unlock(&cur.lock);
		seterr(err, errlen, "cancelled");
		rc = -ECANCELED;
		goto fail;
	}
	cur.past_go = true;
	pthread_mutex_unlock(&cur.lock);
	test_hold_go(vm);
	/*
	 * From GO on the destination may run the guest: only its answer, or
	 * its certain absence, decides.
	 */
	if ((rc = ckp_stream_send(m.s, CKP_FRAME_GO, NULL, 0)) != 0) {
		stream_fail(&m, rc);
		goto after_go;
	}
	rc = await(&m, CKP_FRAME_RUNNING, false);
after_go:
	st->downtime_us = ckpt_now_us() - tpause;
	if (rc == 0) {
		*out = MIG_HANDED_OVER;
		st->running_us = st->downtime_us;
		/* Where the downtime went (docs/MIGRATION.md, section 7). */
		vm_log(vm, "migration to %s: hand-over, ms after the pause: "
		    "paused %.1f, last round sent %.1f (%" PRIu64 " pages), "
		    "STATE and END sent %.1f, READY %.1f, RUNNING %.1f",
		    o->origin, (double)st->paused_us / 1e3,
		    (double)st->last_us / 1e3, st->last_pages,
		    (double)st->state_us / 1e3, (double)st->ready_us / 1e3,
		    (double)st->running_us / 1e3);
		ckp_stream_counters(m.s, &sent, NULL);
		/* Stop before anyone can resume the paused guest here. */
		vm_request_stop(vm, VM_STOP_MIGRATED, 0, "migrated to %s "
		    "(guest stopped for %.1f ms, %u rounds, %" PRIu64 " MiB "
		    "sent)", o->origin, (double)st->downtime_us / 1e3,
		    st->rounds, sent >> 20);
		m.paused = false;
	} else if (rc == -ETIMEDOUT) {
		/* A cut link: the destination may be running it. */
		*out = MIG_UNCONFIRMED;
		if (m.paused)
			vm_ckpt_keep_paused(vm);
		m.paused = false;
		seterr(err + strlen(err), errlen - strlen(err), "; the "
		    "hand-over is unconfirmed: the guest stays paused here; "
		    "resume it here (hyvectl --resume) only if the destination "
		    "is not running it");
		rc = 0;
	} else {
		/*
		 * The destination keeps the connection until it has sent
		 * RUNNING: an end or reset without it means it is gone.
		 */
		char e2[256];
		if (m.paused && vm_resume(vm, e2, sizeof(e2)) != 0)
			vm_log(vm, "after a failed hand-over: %s", e2);
		m.paused = false;
		seterr(err + strlen(err), errlen - strlen(err), " after GO: "
		    "the destination is gone, the guest runs here again");
	}
	goto done;
fail:
	if (cancelled() && vm_run_stopping(vm)) {
		char why[400];
		vm_run_stop_msg(vm, why, sizeof(why));
		seterr(err, errlen, "the VM stopped during the migration (%s)",
		    why);
		rc = -ESHUTDOWN;
	} else if (cancelled()) {
		seterr(err, errlen, "cancelled");
		rc = -ECANCELED;
	}
	give_up(&m);
done:
	if (m.s != NULL)
		ckp_stream_counters(m.s, &sent, NULL);
	st->bytes = sent;
	st->total_us = ckpt_now_us() - t0;
	mig_free(&m);
	pthread_mutex_lock(&cur.lock);
	cur.vm = NULL;
	pthread_mutex_unlock(&cur.lock);
	vm_ckpt_release(vm);
	return rc;
}
