/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Guest RAM loaded on demand and verified chunk by chunk (vmm/lazyram.h
 * says how; docs/CHECKPOINT.md section 4 says what the user sees).
 *
 * Every chunk has a state: missing (never touched: its pages are not
 * there, a touch blocks in the kernel), busy (one thread is reading and
 * checking it), zero (checked, all zero, nothing installed), present
 * (installed whole) or bad.  Whoever moves a chunk from missing to busy
 * loads it; a fault in a busy chunk needs nothing more, since installing
 * a range wakes every thread waiting in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "lazyram.h"
#include "sandbox.h"
#include "vm_priv.h"

#define PAGE		4096ULL
/* Messages name the RAM file. */
#define MSGMAX		(PATH_MAX + 512)

/*
 * C_ZERO: checked and all zero, pages not installed (the walker and a
 * checkpoint's loading leave zero chunks so: no page tables spent on
 * them; a touch installs the zero page, and once userfaultfd is dropped
 * an untouched page of them faults in as zero like any anonymous page).
 */
enum { C_MISSING = 0, C_BUSY, C_ZERO, C_PRESENT, C_BAD };

/* Who loaded a chunk (statistics and messages). */
enum { BY_FAULT = 0, BY_WALK, BY_COMPLETE, BY_N };

static const char *const by_text[BY_N] = {
	"found when the guest or a device touched it",
	"found by the background check",
	"found while loading the rest of RAM for a checkpoint",
};

/* Fault handler threads: several vCPUs may wait at once. */
#define NHANDLERS	2
/* Threads loading what is left before a checkpoint. */
#define NCOMPLETE	2
/*
 * The walker starts after the guest has had this long to fault in what it
 * needs first (its reads would queue behind the walker's).
 */
#define WALK_DELAY_MS	250
/* ...and goes on only once the guest has faulted nothing for this long. */
#define WALK_QUIET_US	20000
/*
 * After a bad chunk, how long the vCPUs get to leave the guest (they were
 * kicked) before the threads waiting in that chunk go on with zeros.
 */
#define BAD_GRACE_MS	20

struct lazyram {
	struct vm	*vm;
	ckp_ram_lazy_t	*src;
	char		 path[PATH_MAX];
	int		 uffd;
	int		 quitfd;	/* eventfd: readable once threads must leave */
	atomic_bool	 quit;
	uint64_t	 size;
	uint32_t	 chunk;
	uint64_t	 nchunks;
	_Atomic uint8_t	*st;		/* per chunk: C_* */
	atomic_uint_fast64_t ndone;	/* chunks checked: C_ZERO or C_PRESENT */
	atomic_uint_fast64_t nby[BY_N];	/* chunks loaded, by whom */
	atomic_uint_fast64_t data;	/* bytes of non-zero chunks loaded */
	pthread_t	 handler[NHANDLERS];
	unsigned	 nhandlers;
	pthread_t	 walker;
	bool		 walker_started;
	unsigned	 walk_delay_ms;
	_Atomic uint64_t last_fault_us;	/* when a fault last came (walk_yield) */
	uint64_t	 t0;
	/* lock protects what follows */
	pthread_mutex_t	 lock;
	bool		 armed;		/* regions registered with userfaultfd */
	bool		 verified;	/* every chunk in, totals checked */
	int		 failed;	/* first error, negative; errmsg says it */
	char		 errmsg[MSGMAX];
	pthread_mutex_t	 complete_lock;	/* one lazyram_complete at a time */
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
lazyram_uffd_open(char *why, size_t whylen)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd, e;

#ifdef HYVE_TEST_HOOKS
	const char *v = getenv("HYVE_TEST_NO_USERFAULTFD");

	if (v != NULL && strcmp(v, "1") == 0) {
		snprintf(why, whylen, "userfaultfd: %s (HYVE_TEST_NO_USERFAULTFD)",
		    strerror(EPERM));
		return -EPERM;
	}
#endif

	/*
	 * No UFFD_USER_MODE_ONLY: KVM's own accesses to guest RAM are
	 * kernel-mode faults, and they must wait for the handler too.
	 */
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
#ifdef USERFAULTFD_IOC_NEW
		/* Since Linux 6.1: allowed to whoever may open the device. */
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC |
			    O_NONBLOCK);
			close(dev);
		}
#endif
		if (fd < 0) {
			snprintf(why, whylen, "userfaultfd: %s%s", strerror(e),
			    e == EPERM ? " (vm.unprivileged_userfaultfd is 0 "
			    "and /dev/userfaultfd is not accessible)" : "");
			return -e;
		}
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		e = errno;
		snprintf(why, whylen, "UFFDIO_API: %s", strerror(e));
		close(fd);
		return -e;
	}
	if ((api.ioctls & (1ULL << _UFFDIO_REGISTER)) == 0) {
		snprintf(why, whylen, "userfaultfd cannot register memory");
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}

/* The RAM file offset of host address @addr; false if not guest RAM. */
static bool
file_off_of(struct lazyram *lz, uint64_t addr, uint64_t *off)
{
	struct vm *vm = lz->vm;

	for (unsigned i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *m = &vm->mem[i];
		uint64_t h = (uint64_t)(uintptr_t)m->host;

		if (addr >= h && addr - h < m->size) {
			*off = m->file_off + (addr - h);
			return true;
		}
	}
	return false;
}

/*
 * Install @len bytes at @host: a copy of @src, or the zero page.  Either
 * wakes the threads waiting in the range.  A page already there is an
 * error (-EEXIST): something wrote guest RAM without a fault, and the
 * guest would see that instead of the checkpoint.
 */
static int
fill(struct lazyram *lz, uint8_t *host, const uint8_t *src, uint64_t len)
{
	uint64_t done = 0;
	unsigned tries = 0;

	while (done < len) {
		int64_t n;
		int r, e;

		if (src == NULL) {
			struct uffdio_zeropage z = { .range = {
			    .start = (uintptr_t)(host + done),
			    .len = len - done } };
			r = ioctl(lz->uffd, UFFDIO_ZEROPAGE, &z);
			n = z.zeropage;
		} else {
			struct uffdio_copy c = { .dst = (uintptr_t)(host + done),
			    .src = (uintptr_t)(src + done), .len = len - done };
			r = ioctl(lz->uffd, UFFDIO_COPY, &c);
			n = c.copy;
		}
		if (r == 0)
			return 0;
		e = errno;
		if (n > 0)
			done += (uint64_t)n;
		/* EAGAIN: the address space changed under the copy; again. */
		if (e != EAGAIN || ++tries > 1000)
			return -e;
	}
	return 0;
}

static void
chunk_range(const struct lazyram *lz, uint64_t c, uint64_t *lo, uint64_t *hi)
{
	*lo = c * lz->chunk;
	*hi = lz->size - *lo > lz->chunk ? *lo + lz->chunk : lz->size;
}

/* Install chunk @c from @buf (NULL: zeros) into every region it covers. */
static int
install(struct lazyram *lz, uint64_t c, const uint8_t *buf)
{
	struct vm *vm = lz->vm;
	uint64_t co, ce;
	int rc;

	chunk_range(lz, c, &co, &ce);
	for (unsigned i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *m = &vm->mem[i];
		uint64_t lo = co > m->file_off ? co : m->file_off;
		uint64_t hi = ce < m->file_off + m->size ? ce :
		    m->file_off + m->size;

		if (lo >= hi)
			continue;
		if ((rc = fill(lz, m->host + (lo - m->file_off),
		    buf != NULL ? buf + (lo - co) : NULL, hi - lo)) != 0)
			return rc;
	}
	return 0;
}

/* Wake whoever waits on the page at @addr (a fault reported late). */
static void
wake_page(struct lazyram *lz, uint64_t addr)
{
	struct uffdio_range r = { .start = addr & ~(PAGE - 1), .len = PAGE };

	(void)ioctl(lz->uffd, UFFDIO_WAKE, &r);
}

/*
 * Record the first failure and stop the VM with it.  @chunk: the failure
 * is a chunk's content (the guest never saw it), not the totals.
 */
static void
set_failed(struct lazyram *lz, int rc, const char *msg, int by, bool chunk)
{
	bool first;

	pthread_mutex_lock(&lz->lock);
	if ((first = lz->failed == 0)) {
		lz->failed = rc;
		snprintf(lz->errmsg, sizeof(lz->errmsg), "%s", msg);
	}
	pthread_mutex_unlock(&lz->lock);
	if (!first)
		return;
	if (rc == -EBADMSG)
		vm_request_stop(lz->vm, VM_STOP_BADRAM, 0, "%s (%s%s)", msg,
		    by_text[by], chunk ? "; --verify=lazy stopped the VM before "
		    "the guest could read it" : "");
	else
		vm_request_stop(lz->vm, VM_STOP_HOST, 0, "loading guest RAM "
		    "on demand: %s", msg);
}

/*
 * Chunk @c is bad: stop the VM, then let whoever waits in it go on with
 * zeros, once the kicked vCPUs had time to leave the guest.  A vCPU let
 * go with a signal pending returns from KVM_RUN before the guest runs
 * again (measured on kvm_pvm: the faulting instruction does not complete
 * its store); device threads finish the request in flight with zeros
 * while the VM stops.  Left missing, the chunk would hang them all.
 */
static void
chunk_bad(struct lazyram *lz, uint64_t c, int rc, const char *msg, int by)
{
	atomic_store(&lz->st[c], C_BAD);
	set_failed(lz, rc, msg, by, true);
	sleep_ms(BAD_GRACE_MS);
	(void)install(lz, c, NULL);
}

/*
 * A fault in a chunk already checked to be zero: install the zero page.
 * Failure is harmless only once disarmed (unregistering woke the thread).
 */
static int
load_zero(struct lazyram *lz, uint64_t c)
{
	uint8_t exp = C_ZERO;

	if (!atomic_compare_exchange_strong(&lz->st[c], &exp, C_BUSY))
		return exp == C_PRESENT ? 1 : -EBUSY;
	(void)install(lz, c, NULL);
	atomic_store(&lz->st[c], C_PRESENT);
	return 0;
}

/*
 * Load chunk @c through @buf (one chunk) if nobody has: check it, then
 * install it (a zero chunk only when a fault waits in it).  0 when done,
 * 1 when it was present already, -EBADMSG/-errno when it is bad, -EBUSY
 * when another thread is loading it.
 */
static int
load(struct lazyram *lz, uint64_t c, uint8_t *buf, int by)
{
	uint8_t exp = C_MISSING;
	char msg[MSGMAX];
	bool zero;
	int rc;

	if (!atomic_compare_exchange_strong(&lz->st[c], &exp, C_BUSY)) {
		if (exp == C_ZERO)
			return by == BY_FAULT ? load_zero(lz, c) : 0;
		return exp == C_PRESENT ? 1 : exp == C_BUSY ? -EBUSY :
		    -EBADMSG;
	}
	rc = ckp_ram_lazy_fetch(lz->src, c * lz->chunk, buf, &zero, msg,
	    sizeof(msg));
	if (rc == 0 && (!zero || by == BY_FAULT) &&
	    (rc = install(lz, c, zero ? NULL : buf)) != 0)
		snprintf(msg, sizeof(msg), "installing %s's chunk at offset "
		    "0x%" PRIx64 " in guest RAM: %s", lz->path, c * lz->chunk,
		    strerror(-rc));
	if (rc != 0) {
		chunk_bad(lz, c, rc, msg, by);
		return rc;
	}
	atomic_store(&lz->st[c], zero && by != BY_FAULT ? C_ZERO : C_PRESENT);
	atomic_fetch_add(&lz->ndone, 1);
	atomic_fetch_add(&lz->nby[by], 1);
	if (!zero) {
		uint64_t lo, hi;
		chunk_range(lz, c, &lo, &hi);
		atomic_fetch_add(&lz->data, hi - lo);
	}
	return 0;
}

/*
 * A chunk buffer of its own mapping, not malloc's: freeing a chunk from a
 * thread's arena can shrink it, and glibc then first reads
 * /proc/sys/vm/overcommit_memory, which these threads' filters refuse.
 */
static uint8_t *
chunk_buf(const struct lazyram *lz)
{
	void *p = mmap(NULL, lz->chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void
chunk_buf_free(const struct lazyram *lz, uint8_t *buf)
{
	if (buf != NULL)
		munmap(buf, lz->chunk);
}

static void *
handler_main(void *arg)
{
	struct lazyram *lz = arg;
	struct uffd_msg msgs[16];
	uint8_t *buf;

	sandbox_enter(lz->vm, SBX_LAZY_FAULT, NULL);
	if ((buf = chunk_buf(lz)) == NULL) {
		set_failed(lz, -ENOMEM, "no memory for a chunk buffer",
		    BY_FAULT, false);
		return NULL;
	}
	while (!atomic_load(&lz->quit)) {
		struct pollfd pfd[2] = {
			{ .fd = lz->uffd, .events = POLLIN },
			{ .fd = lz->quitfd, .events = POLLIN },
		};
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents & POLLIN)
			break;
		/* Another handler may have taken the message: EAGAIN. */
		if ((n = read(lz->uffd, msgs, sizeof(msgs))) <= 0)
			continue;
		for (size_t i = 0; i < (size_t)n / sizeof(msgs[0]); i++) {
			uint64_t addr = msgs[i].arg.pagefault.address, off;

			if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			if (!file_off_of(lz, addr, &off)) {
				vm_log(lz->vm, "userfaultfd: fault at %#" PRIx64
				    " outside guest RAM", addr);
				continue;
			}
			atomic_store(&lz->last_fault_us, now_us());
			if (load(lz, off / lz->chunk, buf, BY_FAULT) == 1)
				wake_page(lz, addr);
		}
	}
	chunk_buf_free(lz, buf);
	return NULL;
}

/* Drop userfaultfd: every page is present.  Caller holds lz->lock. */
static void
disarm(struct lazyram *lz)
{
	struct vm *vm = lz->vm;

	if (!lz->armed)
		return;
	for (unsigned i = 0; i < vm->nmem; i++) {
		struct uffdio_range r = { .start = (uintptr_t)vm->mem[i].host,
		    .len = vm->mem[i].size };
		(void)ioctl(lz->uffd, UFFDIO_UNREGISTER, &r);
	}
	lz->armed = false;
	atomic_store(&lz->quit, true);
	(void)!write(lz->quitfd, &(uint64_t){ 1 }, sizeof(uint64_t));
}

/*
 * Every chunk is loaded or being loaded: wait for them, check the totals
 * and disarm.  0, or the failure (message in @err).
 */
static int
finish(struct lazyram *lz, int by, char *err, size_t errlen)
{
	char msg[MSGMAX];
	bool done = false;
	int rc;

	for (;;) {
		pthread_mutex_lock(&lz->lock);
		rc = lz->failed;
		pthread_mutex_unlock(&lz->lock);
		if (rc != 0 || atomic_load(&lz->ndone) == lz->nchunks)
			break;
		if (atomic_load(&lz->quit)) {
			snprintf(err, errlen, "hyve is stopping");
			return -ESHUTDOWN;
		}
		sleep_ms(1);
	}
	rc = 0;
	pthread_mutex_lock(&lz->lock);
	if (lz->failed == 0 && !lz->verified &&
	    (rc = ckp_ram_lazy_finish(lz->src, msg, sizeof(msg))) == 0) {
		lz->verified = done = true;
		disarm(lz);
	}
	pthread_mutex_unlock(&lz->lock);
	if (rc != 0)
		/* Every chunk matched; the meta's counts did not. */
		set_failed(lz, rc, msg, by, false);
	if (done)
		vm_log(lz->vm, "RAM file %s verified in %.2f s: %" PRIu64
		    " MiB of data in %" PRIu64 " chunks; %" PRIu64 " loaded "
		    "when first touched, %" PRIu64 " by the background check, %"
		    PRIu64 " before a checkpoint", lz->path,
		    (double)(now_us() - lz->t0) / 1e6,
		    (uint64_t)atomic_load(&lz->data) >> 20, lz->nchunks,
		    (uint64_t)atomic_load(&lz->nby[BY_FAULT]),
		    (uint64_t)atomic_load(&lz->nby[BY_WALK]),
		    (uint64_t)atomic_load(&lz->nby[BY_COMPLETE]));
	pthread_mutex_lock(&lz->lock);
	if ((rc = lz->failed) != 0)
		snprintf(err, errlen, "%s", lz->errmsg);
	pthread_mutex_unlock(&lz->lock);
	return rc;
}

/*
 * The lowest CPU priority for the calling thread (on Linux nice is per
 * thread).  Not the idle I/O class: a fault may wait for a chunk the
 * walker is reading, and an idle-class read can wait seconds behind other
 * I/O (mq-deadline ages it after 10 s).  The walker yields to faults
 * instead (walk_yield).
 */
static void
lower_priority(void)
{
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}

/*
 * While the guest is faulting chunks in, its reads go first: wait until
 * none came for WALK_QUIET_US.  false when the walker must stop.
 */
static bool
walk_yield(struct lazyram *lz)
{
	for (;;) {
		uint64_t last = atomic_load(&lz->last_fault_us);

		if (atomic_load(&lz->quit) || vm_run_stopping(lz->vm))
			return false;
		if (now_us() - last >= WALK_QUIET_US)
			return true;
		sleep_ms(WALK_QUIET_US / 4000);
	}
}

static void *
walker_main(void *arg)
{
	struct lazyram *lz = arg;
	struct pollfd pfd = { .fd = lz->quitfd, .events = POLLIN };
	char err[MSGMAX];
	uint8_t *buf;

	sandbox_enter(lz->vm, SBX_LAZY_WALK, NULL);
	lower_priority();
	if (poll(&pfd, 1, (int)lz->walk_delay_ms) != 0)
		return NULL;
	if ((buf = chunk_buf(lz)) == NULL) {
		set_failed(lz, -ENOMEM, "no memory for a chunk buffer",
		    BY_WALK, false);
		return NULL;
	}
	for (uint64_t c = 0; c < lz->nchunks; c++) {
		int rc;

		if (!walk_yield(lz))
			break;
		rc = load(lz, c, buf, BY_WALK);
		if (rc < 0 && rc != -EBUSY)
			break;
	}
	chunk_buf_free(lz, buf);
	if (!atomic_load(&lz->quit) && !vm_run_stopping(lz->vm))
		(void)finish(lz, BY_WALK, err, sizeof(err));
	return NULL;
}

static int start(struct vm *vm, struct lazyram *lz, char *err,
    size_t errlen);

/*
 * Nothing may have touched guest RAM yet: a page there would never fault,
 * and the guest would see it instead of the checkpoint's.
 */
static int
untouched(struct vm *vm, char *err, size_t errlen)
{
	const uint64_t step = 1ULL << 30;
	unsigned char *vec = malloc(step / PAGE);

	if (vec == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (unsigned i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *m = &vm->mem[i];

		for (uint64_t off = 0; off < m->size; off += step) {
			uint64_t len = m->size - off < step ? m->size - off : step;

			if (mincore(m->host + off, len, vec) != 0)
				continue;	/* cannot tell: nothing to report */
			for (uint64_t p = 0; p < len / PAGE; p++) {
				if ((vec[p] & 1) == 0)
					continue;
				snprintf(err, errlen, "guest RAM (%s) at offset "
				    "%#" PRIx64 " was written before it could be "
				    "loaded", m->name, (uint64_t)(off + p * PAGE));
				free(vec);
				return -EEXIST;
			}
		}
	}
	free(vec);
	return 0;
}

int
lazyram_start(struct vm *vm, ckp_ram_lazy_t *src, int uffd,
    const char *ram_path, char *err, size_t errlen)
{
	struct lazyram *lz;
	int rc;

	if ((lz = calloc(1, sizeof(*lz))) == NULL) {
		ckp_ram_lazy_close(src);
		close(uffd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	lz->vm = vm;
	lz->src = src;
	lz->uffd = uffd;
	lz->quitfd = -1;
	lz->t0 = now_us();
	snprintf(lz->path, sizeof(lz->path), "%s", ram_path);
	lz->size = ckp_ram_lazy_size(src);
	lz->chunk = ckp_ram_lazy_chunk_size(src);
	lz->nchunks = lz->size / lz->chunk + (lz->size % lz->chunk != 0);
	pthread_mutex_init(&lz->lock, NULL);
	pthread_mutex_init(&lz->complete_lock, NULL);
	atomic_init(&lz->ndone, 0);
	atomic_init(&lz->data, 0);
	atomic_init(&lz->last_fault_us, 0);
	for (int i = 0; i < BY_N; i++)
		atomic_init(&lz->nby[i], 0);
	lz->walk_delay_ms = WALK_DELAY_MS;
#ifdef HYVE_TEST_HOOKS
	/* HYVE_TEST_LAZY_WALK_DELAY_MS holds the walker back. */
	const char *v;

	if ((v = getenv("HYVE_TEST_LAZY_WALK_DELAY_MS")) != NULL &&
	    strtoul(v, NULL, 10) <= 3600000)
		lz->walk_delay_ms = (unsigned)strtoul(v, NULL, 10);
#endif
	vm->lazy = lz;
	/* From here on lazyram_free() undoes whatever was done. */
	if ((rc = start(vm, lz, err, errlen)) != 0)
		lazyram_free(vm);
	return rc;
}

static int
start(struct vm *vm, struct lazyram *lz, char *err, size_t errlen)
{
	uint64_t covered = 0;
	int rc;

	for (unsigned i = 0; i < vm->nmem; i++)
		covered += vm->mem[i].size;
	if (covered != lz->size || lz->chunk % PAGE != 0) {
		snprintf(err, errlen, "RAM file %s holds %" PRIu64 " bytes, "
		    "guest RAM %" PRIu64, lz->path, lz->size, covered);
		return -EINVAL;
	}
	if ((lz->st = calloc(lz->nchunks, sizeof(*lz->st))) == NULL ||
	    (lz->quitfd = eventfd(0, EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s", strerror(errno ? errno : ENOMEM));
		return -ENOMEM;
	}
	if ((rc = untouched(vm, err, errlen)) != 0)
		return rc;
	for (unsigned i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *m = &vm->mem[i];
		struct uffdio_register reg = { .range = {
		    .start = (uintptr_t)m->host, .len = m->size },
		    .mode = UFFDIO_REGISTER_MODE_MISSING };
		uint64_t need = 1ULL << _UFFDIO_COPY | 1ULL << _UFFDIO_ZEROPAGE |
		    1ULL << _UFFDIO_WAKE;

		if (ioctl(lz->uffd, UFFDIO_REGISTER, &reg) < 0) {
			rc = -errno;
			snprintf(err, errlen, "userfaultfd cannot register "
			    "guest RAM (%s): %s", m->name, strerror(-rc));
			return rc;
		}
		lz->armed = true;
		if ((reg.ioctls & need) != need) {
			snprintf(err, errlen, "userfaultfd offers no COPY or "
			    "ZEROPAGE for guest RAM (%s)", m->name);
			return -ENOTSUP;
		}
	}
	for (unsigned i = 0; i < NHANDLERS; i++) {
		if ((rc = pthread_create(&lz->handler[i], NULL, handler_main,
		    lz)) != 0) {
			snprintf(err, errlen, "cannot start a thread: %s",
			    strerror(rc));
			return -rc;
		}
		lz->nhandlers++;
	}
	if ((rc = pthread_create(&lz->walker, NULL, walker_main, lz)) != 0) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
		return -rc;
	}
	lz->walker_started = true;
	return 0;
}

struct complete_ctx {
	struct lazyram	*lz;
	atomic_uint_fast64_t next;
};

static void *
complete_main(void *arg)
{
	struct complete_ctx *cc = arg;
	struct lazyram *lz = cc->lz;
	uint8_t *buf = chunk_buf(lz);

	if (buf == NULL) {
		set_failed(lz, -ENOMEM, "no memory for a chunk buffer",
		    BY_COMPLETE, false);
		return NULL;
	}
	for (;;) {
		uint64_t c = atomic_fetch_add(&cc->next, 1);
		int rc;

		if (c >= lz->nchunks)
			break;
		rc = load(lz, c, buf, BY_COMPLETE);
		if (rc < 0 && rc != -EBUSY)
			break;
	}
	chunk_buf_free(lz, buf);
	return NULL;
}

/* The helpers lazyram_complete() starts (it works as one itself). */
static void *
complete_thread(void *arg)
{
	struct complete_ctx *cc = arg;

	sandbox_enter(cc->lz->vm, SBX_LAZY_LOAD, NULL);
	return complete_main(arg);
}

int
lazyram_complete(struct vm *vm, char *err, size_t errlen)
{
	struct lazyram *lz = vm->lazy;
	struct complete_ctx cc = { .lz = lz };
	pthread_t thr[NCOMPLETE];
	unsigned started = 0;
	uint64_t before, t0 = now_us();
	int rc;

	if (lz == NULL)
		return 0;
	pthread_mutex_lock(&lz->complete_lock);
	pthread_mutex_lock(&lz->lock);
	rc = lz->failed;
	if (rc != 0)
		snprintf(err, errlen, "%s", lz->errmsg);
	if (rc != 0 || lz->verified) {
		pthread_mutex_unlock(&lz->lock);
		pthread_mutex_unlock(&lz->complete_lock);
		return rc;
	}
	pthread_mutex_unlock(&lz->lock);
	before = atomic_load(&lz->nby[BY_COMPLETE]);
	atomic_init(&cc.next, 0);
	for (unsigned i = 1; i < NCOMPLETE; i++)
		if (pthread_create(&thr[started], NULL, complete_thread, &cc) == 0)
			started++;
	complete_main(&cc);
	for (unsigned i = 0; i < started; i++)
		pthread_join(thr[i], NULL);
	rc = finish(lz, BY_COMPLETE, err, errlen);
	if (rc == 0)
		vm_log(vm, "checked the %" PRIu64 " chunks of %s the guest had "
		    "not touched yet in %.0f ms, for a checkpoint",
		    (uint64_t)atomic_load(&lz->nby[BY_COMPLETE]) - before,
		    lz->path, (double)(now_us() - t0) / 1e3);
	pthread_mutex_unlock(&lz->complete_lock);
	return rc;
}

int
lazyram_state(struct vm *vm, uint64_t *left)
{
	struct lazyram *lz = vm->lazy;
	int rc;

	*left = 0;
	if (lz == NULL)
		return 1;
	*left = lz->nchunks - atomic_load(&lz->ndone);
	pthread_mutex_lock(&lz->lock);
	rc = lz->failed != 0 ? lz->failed : lz->verified ? 1 : 0;
	pthread_mutex_unlock(&lz->lock);
	return rc;
}

void
lazyram_free(struct vm *vm)
{
	struct lazyram *lz = vm->lazy;

	if (lz == NULL)
		return;
	atomic_store(&lz->quit, true);
	if (lz->quitfd >= 0)
		(void)!write(lz->quitfd, &(uint64_t){ 1 }, sizeof(uint64_t));
	for (unsigned i = 0; i < lz->nhandlers; i++)
		pthread_join(lz->handler[i], NULL);
	if (lz->walker_started)
		pthread_join(lz->walker, NULL);
	/* Closing it lets anything still waiting fault in zeros: none is left. */
	close(lz->uffd);
	if (lz->quitfd >= 0)
		close(lz->quitfd);
	ckp_ram_lazy_close(lz->src);
	pthread_mutex_destroy(&lz->lock);
	pthread_mutex_destroy(&lz->complete_lock);
	free((void *)lz->st);
	free(lz);
	vm->lazy = NULL;
}
