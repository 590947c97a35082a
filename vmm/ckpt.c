/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Writing a checkpoint of a running VM (docs/CHECKPOINT.md).
 *
 * Suspend: pause vCPUs and devices, build the meta (configuration, KVM
 * state, devices), write RAM with every CPU, publish; the VM stays paused
 * for the caller to stop it.
 *
 * Checkpoint-and-continue: the same files, with the guest stopped as
 * briefly as possible.  KVM logs the pages the guest writes (and devices
 * log theirs with vm_gpa_dirty()); all of RAM is written while the guest
 * runs, then rounds write only the pages dirtied meanwhile, until what is
 * left is small or stops shrinking.  Then the guest is paused, the last
 * dirty pages and the device state are written, the guest resumes, and
 * only then is the checkpoint committed (libckp re-hashes the chunks those
 * later writes touched, from the file).  A dirty log is fetched and cleared
 * before the pages it names are copied, so a write that lands while a page
 * is being copied is logged again and copied in a later round or the last
 * one: no write is ever missed.
 *
 * vm_checkpoint() runs these as phases that share one struct ckpt:
 * ckpt_precopy() (the rounds while the guest runs), ckpt_stop_copy()
 * (pause, vCPUs and devices into the meta, the last round),
 * ckpt_resume_guest() and ckpt_commit() (sync, publish); ckpt_unwind()
 * undoes whatever a failed one left.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "errmsg.h"
#include "dirty.h"
#include "sandbox.h"
#include "state.h"

#define PAGE		4096ULL
/* The guest is stopped once the dirty set could be written in this long. */
#define TARGET_LAST_US	5000
#define MIN_LAST_PAGES	256
#define MAX_LAST_PAGES	16384
/* Largest copy of the last pages made while the guest is stopped. */
#define STAGE_MAX	(512ULL << 20)

uint64_t
ckpt_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A message only: the caller returns its own errno. */
#define seterr(err, errlen, ...) \
	((void)errmsg_set((err), (errlen), 0, __VA_ARGS__))

/* ------------------------------------------------------------------------ */
/* Pausing the whole VM                                                      */
/* ------------------------------------------------------------------------ */

int
vm_pause(struct vm *vm, char *err, size_t errlen)
{
	char why[512];
	unsigned i;
	int rc;

	if ((rc = vm_pause_vcpus(vm)) != 0) {
		vm_run_stop_msg(vm, why, sizeof(why));
		seterr(err, errlen, "the VM is stopping (%s)", why);
		vm_resume_vcpus(vm);
		return rc;
	}
	for (i = 0; i < vm->ndevs; i++) {
		struct dev *d = vm->devs[i];
		if (d->emu->pause == NULL)
			continue;
		if ((rc = d->emu->pause(d)) != 0) {
			seterr(err, errlen, "device %s cannot be paused: %s",
			    d->id, strerror(-rc));
			while (i-- > 0)
				if (vm->devs[i]->emu->pause != NULL &&
				    vm->devs[i]->emu->resume != NULL)
					(void)vm->devs[i]->emu->resume(vm->devs[i]);
			vm_resume_vcpus(vm);
			return rc;
		}
	}
	return 0;
}

int
vm_resume(struct vm *vm, char *err, size_t errlen)
{
	unsigned i;
	int rc, first = 0;

	/* Every device, as at start: resume applies what a restore filled. */
	for (i = 0; i < vm->ndevs; i++) {
		struct dev *d = vm->devs[i];
		if (d->emu->resume == NULL)
			continue;
		if ((rc = d->emu->resume(d)) != 0 && first == 0) {
			seterr(err, errlen, "device %s failed to resume: %s",
			    d->id, strerror(-rc));
			first = rc;
		}
	}
	vm_resume_vcpus(vm);
	return first;
}

/* ------------------------------------------------------------------------ */
/* The meta                                                                  */
/* ------------------------------------------------------------------------ */

ckp_doc_t *
vm_ckpt_meta(struct vm *vm, char *err, size_t errlen)
{
	ckp_doc_t *doc;
	ckp_sec_t *cfg;
	ckp_io_t *io;

	if ((doc = ckp_doc_new("hyve " HYVE_VERSION)) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	/*
	 * Version 1: keys as nested sections of string fields
	 * (cfg_save_ckp).  Every key, so that "hyve -r" needs nothing else.
	 */
	if ((cfg = ckp_sec_add(ckp_doc_root(doc), "config", 1)) != NULL)
		cfg_save_ckp(vm->cfg, cfg);
	if (ckp_doc_error(doc) == 0) {
		if ((io = ckp_io_new(doc, CKP_IO_SAVE)) == NULL) {
			seterr(err, errlen, "out of memory");
			ckp_doc_free(doc);
			return NULL;
		}
		vm_save_state(vm, io);
		ckp_io_free(io);
	}
	if (ckp_doc_error(doc) != 0) {
		seterr(err, errlen, "%s", ckp_doc_errmsg(doc));
		ckp_doc_free(doc);
		return NULL;
	}
	return doc;
}

struct put_job {
	ckp_writer_t	*w;
	const struct page_runs *rs;
	_Atomic size_t	 next;
	_Atomic int	 err;
};

static void *
put_worker(void *arg)
{
	struct put_job *j = arg;
	size_t i;
	int rc;

	while (atomic_load(&j->err) == 0 &&
	    (i = atomic_fetch_add(&j->next, 1)) < j->rs->n) {
		const struct page_run *r = &j->rs->r[i];
		if ((rc = ckp_writer_put(j->w, r->off, r->host, r->len)) != 0) {
			int zero = 0;
			atomic_compare_exchange_strong(&j->err, &zero, rc);
		}
	}
	return NULL;
}

/* The helpers put_runs() starts (it works as one itself, unconfined further). */
static void *
put_thread(void *arg)
{
	sandbox_enter(NULL, SBX_CKPT, NULL);
	return put_worker(arg);
}

static unsigned
ncpus_online(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
}

/* Write the runs with up to @nthreads threads (ckp_writer_put is thread-safe). */
static int
put_runs(ckp_writer_t *w, const struct page_runs *rs, unsigned nthreads)
{
	struct put_job j = { .w = w, .rs = rs };
	pthread_t th[16];
	unsigned i, n;

	if (rs->n == 0)
		return 0;
	if (nthreads == 0)
		nthreads = ncpus_online();
	if (nthreads > 16)
		nthreads = 16;
	if (nthreads > rs->n)
		nthreads = (unsigned)rs->n;
	for (n = 0; n + 1 < nthreads; n++)
		if (pthread_create(&th[n], NULL, put_thread, &j) != 0)
			break;
	put_worker(&j);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&j.err);
}

/*
 * Copy the pages of @rs into one fresh buffer and point the runs at it
 * (the guest paused: the copy is the checkpoint's content).  -ENOMEM when
 * the buffer would be too big or cannot be had: the caller writes them
 * directly instead.
 */
static int
stage_runs(struct vm *vm, struct page_runs *rs, uint8_t **bufp, size_t *lenp)
{
	uint64_t max = vm->mem_size / 4 < STAGE_MAX ? vm->mem_size / 4 :
	    STAGE_MAX;
	uint8_t *buf, *p;
	size_t i;

	*bufp = NULL;
	*lenp = 0;
	if (rs->bytes == 0 || rs->bytes > max)
		return -ENOMEM;
	buf = mmap(NULL, (size_t)rs->bytes, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return -ENOMEM;
	for (i = 0, p = buf; i < rs->n; i++) {
		memcpy(p, rs->r[i].host, (size_t)rs->r[i].len);
		rs->r[i].host = p;
		p += rs->r[i].len;
	}
	*bufp = buf;
	*lenp = (size_t)rs->bytes;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The checkpoint                                                            */
/* ------------------------------------------------------------------------ */

struct progress_ctx {
	const struct ckpt_opts *o;
	const char	*phase;
};

static void
ram_progress(void *arg, uint64_t done, uint64_t total)
{
	struct progress_ctx *p = arg;

	if (p->o->progress != NULL)
		p->o->progress(p->o->arg, p->phase, done, total);
}

static void
phase_progress(const struct ckpt_opts *o, const char *phase, uint64_t done,
    uint64_t total)
{
	if (o->progress != NULL)
		o->progress(o->arg, phase, done, total);
}

static unsigned
ram_segs(struct vm *vm, ckp_ram_seg_t *segs)
{
	unsigned i;

	for (i = 0; i < vm->nmem; i++)
		segs[i] = (ckp_ram_seg_t){ .host = vm->mem[i].host,
		    .file_off = vm->mem[i].file_off, .len = vm->mem[i].size };
	return vm->nmem;
}

/* The writer failed: its message, with the reason when it has one. */
static void
writer_err(ckp_writer_t *w, int rc, const char *path, char *err,
    size_t errlen)
{
	if (ckp_writer_error(w) != 0 && ckp_writer_errmsg(w)[0] != '\0')
		seterr(err, errlen, "%s", ckp_writer_errmsg(w));
	else
		seterr(err, errlen, "cannot write checkpoint %s: %s", path,
		    strerror(-rc));
}

static void
add_info(ckp_doc_t *meta, const struct ckpt_opts *o,
    const struct ckpt_stats *st)
{
	ckp_sec_t *s = ckp_sec_add(ckp_doc_root(meta), "checkpoint",
	    CKPT_SECTION_VERSION);

	if (s == NULL)
		return;
	ckp_sec_add_string(s, "kind", o->kind == CKPT_SUSPEND ? "suspend" :
	    "checkpoint");
	ckp_sec_add_uint32(s, "rounds", st->rounds);
	ckp_sec_add_uint64(s, "downtime_us", st->downtime_us);
	ckp_sec_add_uint64(s, "redirty_bytes", st->redirty_bytes);
	ckp_sec_add_uint64(s, "last_bytes", st->last_bytes);
}

/*
 * One checkpoint being written: what the phases of vm_checkpoint() hand
 * on to each other, and what ckpt_unwind() undoes when one fails (each of
 * those fields says whether there is something to undo).
 */
struct ckpt {
	struct vm	*vm;
	const char	*path;
	const struct ckpt_opts *o;
	struct ckpt_stats *st;
	char		*err;
	size_t		 errlen;
	struct progress_ctx pc;		/* the writer's progress reports */
	ckp_ram_seg_t	 segs[VM_MAX_MEM_REGIONS];
	unsigned	 nsegs;
	bool		 user_paused;	/* the user's pause: it stays */
	bool		 precopy;	/* RAM is written with the guest running */
	uint64_t	 t0;		/* the request */
	uint64_t	 tpause;	/* the guest started stopping */
	struct dirty	 dt;		/* pages to write again (precopy) */
	struct page_runs	 rs;		/* the round being written */

	/* Undone by ckpt_unwind(). */
	ckp_writer_t	*w;		/* NULL once committed */
	bool		 logging;	/* dirty page logging is on */
	bool		 paused;	/* this checkpoint paused the VM */
	uint8_t		*stage;		/* the last pages, copied while paused */
	size_t		 stage_len;
	ckp_doc_t	*meta;
};

/*
 * Nothing changed yet: check that every device can be saved, and open the
 * writer.  Failures leave nothing to undo.
 */
static int
ckpt_begin(struct ckpt *c, struct vm *vm, const char *path,
    const struct ckpt_opts *o, struct ckpt_stats *st, char *err,
    size_t errlen)
{
	char msg[1024];
	int rc;

	memset(c, 0, sizeof(*c));
	memset(st, 0, sizeof(*st));
	c->vm = vm;
	c->path = path;
	c->o = o;
	c->st = st;
	c->err = err;
	c->errlen = errlen;
	c->pc = (struct progress_ctx){ .o = o, .phase = "ram" };
	c->t0 = ckpt_now_us();
	st->ram_bytes = vm->mem_size;
	err[0] = '\0';
	if ((rc = vm_devs_saveable(vm, err, errlen)) != 0)
		return rc;
	if ((rc = ckp_writer_begin(path, vm->mem_size, &c->w, msg,
	    sizeof(msg))) != 0) {
		seterr(err, errlen, "%s%s", rc == -EBUSY ? "busy: " : "", msg);
		return rc;
	}
	ckp_writer_set_progress(c->w, ram_progress, &c->pc);
	c->nsegs = ram_segs(vm, c->segs);
	c->user_paused = vm_ckpt_user_paused(vm);
	c->precopy = o->kind == CKPT_CONTINUE && !c->user_paused;
	return 0;
}

/*
 * Pre-copy, with the guest running: all of RAM, then rounds of the pages
 * written meanwhile until what is left is small or stops shrinking.  On
 * return the pending set holds what is left for the last round (written
 * with the guest stopped).
 */
static int
ckpt_precopy(struct ckpt *c)
{
	struct vm *vm = c->vm;
	const struct ckpt_opts *o = c->o;
	struct ckpt_stats *st = c->st;
	unsigned max = o->max_rounds ? o->max_rounds : 8;
	uint64_t n, prev = UINT64_MAX, t, limit, rate;
	char why[512];
	int rc;

	if (!c->precopy)
		return 0;
	if ((rc = dirty_init(vm, &c->dt)) != 0) {
		seterr(c->err, c->errlen, "out of memory");
		return rc;
	}
	if ((rc = vm_mem_dirty_log(vm, true)) != 0) {
		seterr(c->err, c->errlen, "cannot log dirty pages: %s",
		    strerror(-rc));
		return rc;
	}
	c->logging = true;
	/* Everything, with the guest running; the log says what changes. */
	if ((rc = ckp_writer_put_segs(c->w, c->segs, c->nsegs,
	    o->nthreads)) != 0) {
		writer_err(c->w, rc, c->path, c->err, c->errlen);
		return rc;
	}
	st->rounds = 1;

	/* The first pass took all of RAM: its speed bounds what follows. */
	rate = 0;
	for (;;) {
		if (vm_run_stopping(vm)) {
			vm_run_stop_msg(vm, why, sizeof(why));
			seterr(c->err, c->errlen, "the VM stopped while the "
			    "checkpoint was being written (%s)", why);
			return -ESHUTDOWN;
		}
		if ((rc = dirty_fetch(vm, &c->dt, &n)) != 0) {
			seterr(c->err, c->errlen, "reading the dirty page log: "
			    "%s", strerror(-rc));
			return rc;
		}
		limit = rate ? rate * TARGET_LAST_US / 1000000 / PAGE :
		    MIN_LAST_PAGES;
		if (limit < MIN_LAST_PAGES)
			limit = MIN_LAST_PAGES;
		if (limit > MAX_LAST_PAGES)
			limit = MAX_LAST_PAGES;
		/* Small: one more pass while running makes the last one tiny. */
		bool small = n <= limit;
		if (!small && (st->rounds >= max || n * 10 > prev * 9))
			return 0;	/* not converging: stop the guest now */
		if ((rc = dirty_runs(vm, &c->dt, &c->rs)) != 0) {
			seterr(c->err, c->errlen, "out of memory");
			return rc;
		}
		phase_progress(o, "dirty", 0, c->rs.bytes);
		t = ckpt_now_us();
		if ((rc = put_runs(c->w, &c->rs, o->nthreads)) != 0) {
			writer_err(c->w, rc, c->path, c->err, c->errlen);
			return rc;
		}
		t = ckpt_now_us() - t;
		if (t > 0 && c->rs.bytes > 0)
			rate = c->rs.bytes * 1000000 / t;
		phase_progress(o, "dirty", c->rs.bytes, c->rs.bytes);
		st->redirty_bytes += c->rs.bytes;
		st->rounds++;
		prev = n;
		if (small)
			return 0;
	}
}

/*
 * Stop-and-copy: pause the VM (unless the user did), save the vCPUs and
 * devices into the meta, and the last round of RAM: the pages still dirty
 * after pre-copy (copied aside when they fit, so that the guest goes on
 * sooner), or all of it.
 */
static int
ckpt_stop_copy(struct ckpt *c)
{
	struct vm *vm = c->vm;
	const struct ckpt_opts *o = c->o;
	uint64_t n;
	int rc;

	/* The guest starts stopping with the first vCPU kicked. */
	c->tpause = ckpt_now_us();
	if (!c->user_paused) {
		if ((rc = vm_pause(vm, c->err, c->errlen)) != 0)
			return rc;
		c->paused = true;
	}
	if (c->precopy) {
		if ((rc = dirty_fetch(vm, &c->dt, &n)) != 0 ||
		    (rc = dirty_runs(vm, &c->dt, &c->rs)) != 0) {
			seterr(c->err, c->errlen, "reading the dirty page log: "
			    "%s", strerror(-rc));
			return rc;
		}
	}
	if (o->at_pause != NULL)
		o->at_pause(vm, o->arg);
	if ((c->meta = vm_ckpt_meta(vm, c->err, c->errlen)) == NULL)
		return -EINVAL;
	if (!c->precopy) {
		if ((rc = ckp_writer_put_segs(c->w, c->segs, c->nsegs,
		    o->nthreads)) != 0) {
			writer_err(c->w, rc, c->path, c->err, c->errlen);
			return rc;
		}
		c->st->rounds = 1;
		c->st->last_bytes = vm->mem_size;
		return 0;
	}
	/*
	 * Copying the last pages aside is several times faster than writing
	 * them: the guest goes on sooner, and they are written from the copy
	 * while it runs.
	 */
	phase_progress(o, "last", 0, c->rs.bytes);
	c->st->last_bytes = c->rs.bytes;
	c->st->rounds++;
	if (stage_runs(vm, &c->rs, &c->stage, &c->stage_len) != 0 &&
	    (rc = put_runs(c->w, &c->rs, o->nthreads)) != 0) {
		writer_err(c->w, rc, c->path, c->err, c->errlen);
		return rc;
	}
	return 0;
}

/*
 * Everything is in the file, the copy or the meta: a checkpoint-and-
 * continue lets the guest go on, then writes the copied pages.
 */
static int
ckpt_resume_guest(struct ckpt *c)
{
	int rc;

	if (c->o->kind == CKPT_CONTINUE && c->paused) {
		c->paused = false;
		if ((rc = vm_resume(c->vm, c->err, c->errlen)) != 0)
			return rc;
		c->st->downtime_us = ckpt_now_us() - c->tpause;
	}
	if (c->logging) {
		(void)vm_mem_dirty_log(c->vm, false);
		c->logging = false;
	}
	if (c->stage != NULL) {
		rc = put_runs(c->w, &c->rs, c->o->nthreads);
		munmap(c->stage, c->stage_len);
		c->stage = NULL;
		if (rc != 0) {
			writer_err(c->w, rc, c->path, c->err, c->errlen);
			return rc;
		}
	}
	if (c->precopy)
		phase_progress(c->o, "last", c->rs.bytes, c->rs.bytes);
	return 0;
}

/* Commit: make the RAM file durable, then publish the meta with it. */
static int
ckpt_commit(struct ckpt *c)
{
	const struct ckpt_opts *o = c->o;
	struct ckpt_stats *st = c->st;
	char msg[1024];
	uint64_t tc;
	int rc;

	if (o->kind == CKPT_SUSPEND && vm_run_stopping(c->vm)) {
		vm_run_stop_msg(c->vm, msg, sizeof(msg));
		seterr(c->err, c->errlen, "the VM stopped while the checkpoint "
		    "was being written (%s)", msg);
		return -ESHUTDOWN;
	}
	/*
	 * The RAM file's durability apart from the publish, so that the log
	 * says where a slow checkpoint spent its time.
	 */
	tc = ckpt_now_us();
	st->write_us = tc - c->t0;
	if ((rc = ckp_writer_sync(c->w)) != 0) {
		writer_err(c->w, rc, c->path, c->err, c->errlen);
		return rc;
	}
	st->sync_us = ckpt_now_us() - tc;
	if (o->kind == CKPT_SUSPEND)
		st->downtime_us = ckpt_now_us() - c->tpause;
	add_info(c->meta, o, st);
	tc = ckpt_now_us();
	rc = ckp_writer_commit(c->w, c->meta, o->enc != CKP_ENC_NONE ? o->enc :
	    CKP_ENC_JSON, msg, sizeof(msg));
	c->w = NULL;	/* freed by commit, also on failure */
	st->commit_us = ckpt_now_us() - tc;
	if (rc != 0) {
		seterr(c->err, c->errlen, "%s", msg);
		return rc;
	}
	if (o->kind == CKPT_SUSPEND)
		st->downtime_us = ckpt_now_us() - c->tpause;
	return 0;
}

static void
ckpt_free(struct ckpt *c)
{
	ckp_doc_free(c->meta);
	c->meta = NULL;
	free(c->rs.r);
	c->rs.r = NULL;
	dirty_free(&c->dt);
}

/*
 * A phase failed: nothing of the new checkpoint is left (an older one at
 * the path is intact), and the VM runs as before.
 */
static void
ckpt_unwind(struct ckpt *c)
{
	char e2[256];

	if (c->stage != NULL)
		munmap(c->stage, c->stage_len);
	c->stage = NULL;
	if (c->w != NULL)
		ckp_writer_abort(c->w);
	c->w = NULL;
	if (c->logging)
		(void)vm_mem_dirty_log(c->vm, false);
	c->logging = false;
	if (c->paused && vm_resume(c->vm, e2, sizeof(e2)) != 0)
		vm_log(c->vm, "after a failed checkpoint: %s", e2);
	c->paused = false;
	ckpt_free(c);
}

int
vm_checkpoint(struct vm *vm, const char *path, const struct ckpt_opts *o,
    struct ckpt_stats *st, char *err, size_t errlen)
{
	struct ckpt c;
	int rc;

	if ((rc = ckpt_begin(&c, vm, path, o, st, err, errlen)) != 0)
		return rc;
	if ((rc = ckpt_precopy(&c)) != 0 ||
	    (rc = ckpt_stop_copy(&c)) != 0 ||
	    (rc = ckpt_resume_guest(&c)) != 0 ||
	    (rc = ckpt_commit(&c)) != 0) {
		ckpt_unwind(&c);
		return rc < 0 ? rc : -EIO;
	}
	ckpt_free(&c);
	st->total_us = ckpt_now_us() - c.t0;
	return 0;
}
