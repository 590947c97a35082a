/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * virtio-blk on a raw image file: "-s SLOT,virtio-blk,PATH[,ro]"
 * (config keys path, ro, serial, bps).
 *
 * The vCPU that kicks the queue only parses requests; worker threads do the
 * preadv/pwritev/fdatasync and complete them, so the guest keeps running
 * while the disk works.  pause waits until every request taken from the
 * avail ring is on the used ring (a checkpoint saves the ring indexes, so
 * a request in flight would be lost).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "virtio.h"

#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

#define VIRTIO_BLK_ID_BYTES	20
#define BLK_SECTOR		512
#define BLK_QSIZE		256
#define BLK_WORKERS		2
#define BLK_CFG_LEN		0x20

struct blk_req {
	struct blk_req *next;
	uint32_t type;
	uint64_t sector;
	uint64_t len;		/* data bytes */
	int	niov;
	struct iovec iov[VQ_MAX_SIZE];
	uint8_t	*status;	/* the last device-writable byte */
	uint64_t status_gpa;
	struct vq_chain chain;
};

struct blk {
	struct virtio_dev vd;	/* first */
	char	path[PATH_MAX];
	char	serial[VIRTIO_BLK_ID_BYTES + 1];
	bool	ro;
	int	fd;
	/*
	 * Bandwidth limit (bps, bytes/s; 0 = none): each request is started no
	 * earlier than the previous ones' bytes allow, like the rate limiters of
	 * Firecracker and QEMU, so one guest cannot saturate a shared disk.
	 */
	uint64_t bps;
	pthread_mutex_t rl_lock;
	uint64_t rl_next_ns;	/* CLOCK_MONOTONIC: when the next byte may go */
	/*
	 * Set while pause, reset or fini drain the requests in flight: they go
	 * at once, or a guest that queued gigabytes against a low limit would
	 * hold a checkpoint or its own reset back for hours.  A count: drains
	 * may overlap (a vCPU's reset and a checkpoint's pause).
	 */
	unsigned rl_hurry;
	uint64_t capacity;	/* 512-byte sectors */
	uint64_t image_size;	/* bytes, at open */
	int64_t	image_mtime_ns;	/* at open */
	/* Request queue; qlock nests inside vd.lock. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;	/* work for the workers */
	pthread_cond_t idle;	/* inflight dropped to 0 */
	struct blk_req *head, *tail;
	struct blk_req *free;
	unsigned inflight;	/* taken from the avail ring, not yet on the used ring */
	bool	stop;
	bool	starved;	/* ran out of request slots: re-run the queue on completion */
	pthread_t workers[BLK_WORKERS];
	unsigned nworkers;
	/* Under vd.lock. */
	bool	paused;
	bool	kick_pending;
	struct blk_req reqs[BLK_QSIZE];
};

static void blk_process(struct blk *sc);

#ifdef HYVE_TEST_HOOKS
void (*virtio_blk_test_io_hook)(void);
#endif

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */
/* ------------------------------------------------------------------------ */

/* Build an iovec over [off, off + len) of the readable or writable segments. */
static int
chain_iov(const struct vq_chain *c, bool writable, uint64_t off, uint64_t len,
    struct iovec *iov)
{
	unsigned i = writable ? c->nread : 0, end = writable ? c->nseg : c->nread;
	int n = 0;

	for (; i < end && len > 0; i++) {
		const struct vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t k = s->len - off;
		if (k > len)
			k = len;
		iov[n].iov_base = (char *)s->p + off;
		iov[n].iov_len = k;
		n++;
		len -= k;
		off = 0;
	}
	return (n);
}

static void
req_free(struct blk *sc, struct blk_req *r)
{
	pthread_mutex_lock(&sc->qlock);
	r->next = sc->free;
	sc->free = r;
	sc->inflight--;
	if (sc->inflight == 0)
		pthread_cond_broadcast(&sc->idle);
	pthread_mutex_unlock(&sc->qlock);
}

/* Put a request on the used ring with @status.  vd.lock held. */
static void
req_complete_locked(struct blk *sc, struct blk_req *r, uint8_t status,
    uint64_t data_written)
{
	struct virtqueue *vq = &sc->vd.vq[0];

	*r->status = status;
	vm_gpa_dirty(sc->vd.pci.vm, r->status_gpa, 1);
	vq_push(vq, &r->chain, (uint32_t)(data_written + 1));
	vq_interrupt(vq);
}

static uint8_t
req_rw(struct blk *sc, struct blk_req *r, uint64_t *done)
{
	struct iovec *iov = r->iov;
	int niov = r->niov;
	off_t off = (off_t)(r->sector * BLK_SECTOR);
	uint64_t left = r->len;
	ssize_t n;

	*done = 0;
	while (left > 0) {
		if (r->type == VIRTIO_BLK_T_IN)
			n = preadv(sc->fd, iov, niov, off);
		else
			n = pwritev(sc->fd, iov, niov, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			vm_log_guest(sc->vd.pci.vm, "%s: %s of %" PRIu64
			    " bytes at sector %" PRIu64 " failed: %s",
			    sc->vd.name,
			    r->type == VIRTIO_BLK_T_IN ? "read" : "write",
			    r->len, r->sector, n == 0 ? "end of file" :
			    strerror(errno));
			return (VIRTIO_BLK_S_IOERR);
		}
		if (r->type == VIRTIO_BLK_T_IN)
			*done += (uint64_t)n;
		left -= (uint64_t)n;
		off += n;
		/* Short transfer: step over what was done. */
		while (n > 0 && niov > 0) {
			if ((size_t)n >= iov->iov_len) {
				n -= (ssize_t)iov->iov_len;
				iov++;
				niov--;
			} else {
				iov->iov_base = (char *)iov->iov_base + n;
				iov->iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	return (VIRTIO_BLK_S_OK);
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

/* Wait until the bandwidth limit lets @len more bytes go, or a drain hurries us. */
static void
blk_rate_wait(struct blk *sc, uint64_t len)
{
	struct timespec ts;
	uint64_t now, start, step;

	if (sc->bps == 0 || len == 0)
		return;
	pthread_mutex_lock(&sc->rl_lock);
	now = mono_ns();
	start = sc->rl_next_ns > now ? sc->rl_next_ns : now;
	sc->rl_next_ns = start + (uint64_t)((double)len * 1e9 / (double)sc->bps);
	/* In steps of at most 10 ms, to see rl_hurry. */
	while (sc->rl_hurry == 0 && now < start) {
		pthread_mutex_unlock(&sc->rl_lock);
		step = start - now < 10000000 ? start - now : 10000000;
		ts.tv_sec = (time_t)((now + step) / 1000000000ULL);
		ts.tv_nsec = (long)((now + step) % 1000000000ULL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL) == EINTR)
			;
		pthread_mutex_lock(&sc->rl_lock);
		now = mono_ns();
	}
	pthread_mutex_unlock(&sc->rl_lock);
}

static void *
blk_worker(void *arg)
{
	struct blk *sc = arg;
	struct blk_req *r;
	uint64_t done;
	uint8_t st;
	bool rerun;

	sandbox_enter(sc->vd.pci.vm, SBX_BLK, "%s", sc->vd.name);
	for (;;) {
		pthread_mutex_lock(&sc->qlock);
		while (sc->head == NULL && !sc->stop)
			pthread_cond_wait(&sc->qcond, &sc->qlock);
		if (sc->head == NULL) {
			pthread_mutex_unlock(&sc->qlock);
			return (NULL);
		}
		r = sc->head;
		sc->head = r->next;
		if (sc->head == NULL)
			sc->tail = NULL;
		pthread_mutex_unlock(&sc->qlock);

		done = 0;
#ifdef HYVE_TEST_HOOKS
		if (virtio_blk_test_io_hook != NULL)
			virtio_blk_test_io_hook();
		sandbox_test_probe(SBX_BLK, true);
#endif
		if (r->type == VIRTIO_BLK_T_FLUSH) {
			st = VIRTIO_BLK_S_OK;
			if (!sc->ro && fdatasync(sc->fd) < 0) {
				vm_log_guest(sc->vd.pci.vm, "%s: flush failed: "
				    "%s", sc->vd.name, strerror(errno));
				st = VIRTIO_BLK_S_IOERR;
			}
		} else {
			blk_rate_wait(sc, r->len);
			st = req_rw(sc, r, &done);
		}
		pthread_mutex_lock(&sc->vd.lock);
		req_complete_locked(sc, r, st, done);
		pthread_mutex_unlock(&sc->vd.lock);

		pthread_mutex_lock(&sc->qlock);
		rerun = sc->starved;
		sc->starved = false;
		pthread_mutex_unlock(&sc->qlock);
		req_free(sc, r);
		if (rerun)
			blk_process(sc);
	}
}

/*
 * Turn chain @r->chain into a request.  @return 1 to hand it to a worker,
 * 0 when completed here, -EIO when the chain breaks the protocol.  vd.lock held.
 */
static int
req_parse(struct blk *sc, struct blk_req *r)
{
	struct virtqueue *vq = &sc->vd.vq[0];
	const struct vq_chain *c = &r->chain;
	uint8_t hdr[16];
	uint64_t end;
	int i;

	if (c->rbytes < sizeof(hdr)) {
		virtio_dev_error(&sc->vd, vq, c->head, "request header is %"
		    PRIu64 " bytes, less than 16", c->rbytes);
		return (-EIO);
	}
	if (c->wbytes < 1) {
		virtio_dev_error(&sc->vd, vq, c->head, "request has no "
		    "device-writable status byte");
		return (-EIO);
	}
	vq_chain_read(c, 0, hdr, sizeof(hdr));
	r->type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 |
	    (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	r->sector = 0;
	for (i = 7; i >= 0; i--)
		r->sector = r->sector << 8 | hdr[8 + i];
	for (i = c->nseg - 1; c->seg[i].len == 0; i--)
		;
	r->status = (uint8_t *)c->seg[i].p + c->seg[i].len - 1;
	r->status_gpa = c->seg[i].gpa + c->seg[i].len - 1;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->type == VIRTIO_BLK_T_IN) {
			r->len = c->wbytes - 1;
			r->niov = chain_iov(c, true, 0, r->len, r->iov);
		} else {
			r->len = c->rbytes - sizeof(hdr);
			r->niov = chain_iov(c, false, sizeof(hdr), r->len,
			    r->iov);
		}
		end = r->sector + r->len / BLK_SECTOR;
		if (r->len % BLK_SECTOR != 0 || end < r->sector ||
		    end > sc->capacity) {
			vm_log_guest(sc->vd.pci.vm, "%s: %s of %" PRIu64
			    " bytes at sector %" PRIu64 " is not whole sectors "
			    "inside the disk's %" PRIu64, sc->vd.name,
			    r->type == VIRTIO_BLK_T_IN ? "read" : "write",
			    r->len, r->sector, sc->capacity);
			req_complete_locked(sc, r, VIRTIO_BLK_S_IOERR, 0);
			return (0);
		}
		if (r->type == VIRTIO_BLK_T_OUT && sc->ro) {
			req_complete_locked(sc, r, VIRTIO_BLK_S_IOERR, 0);
			return (0);
		}
		if (r->len == 0) {
			req_complete_locked(sc, r, VIRTIO_BLK_S_OK, 0);
			return (0);
		}
		return (1);
	case VIRTIO_BLK_T_FLUSH:
		return (1);
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = c->wbytes - 1;
		if (n > VIRTIO_BLK_ID_BYTES)
			n = VIRTIO_BLK_ID_BYTES;
		char id[VIRTIO_BLK_ID_BYTES] = { 0 };
		memcpy(id, sc->serial, strnlen(sc->serial, sizeof(id)));
		vq_chain_write(vq, c, 0, id, n);
		req_complete_locked(sc, r, VIRTIO_BLK_S_OK, n);
		return (0);
	}
	default:
		req_complete_locked(sc, r, VIRTIO_BLK_S_UNSUPP, 0);
		return (0);
	}
}

/* Take every available request off the ring. */
static void
blk_process(struct blk *sc)
{
	struct virtqueue *vq = &sc->vd.vq[0];
	struct blk_req *r;
	int rc;

	pthread_mutex_lock(&sc->vd.lock);
	if (sc->paused) {
		sc->kick_pending = true;
		pthread_mutex_unlock(&sc->vd.lock);
		return;
	}
	while (vq_has_avail(vq)) {
		pthread_mutex_lock(&sc->qlock);
		r = sc->free;
		if (r == NULL) {
			sc->starved = true;
			pthread_mutex_unlock(&sc->qlock);
			break;
		}
		sc->free = r->next;
		sc->inflight++;
		pthread_mutex_unlock(&sc->qlock);
		rc = vq_pop(vq, &r->chain);
		if (rc == 1)
			rc = req_parse(sc, r);
		if (rc == 1) {
			pthread_mutex_lock(&sc->qlock);
			r->next = NULL;
			if (sc->tail != NULL)
				sc->tail->next = r;
			else
				sc->head = r;
			sc->tail = r;
			pthread_cond_signal(&sc->qcond);
			pthread_mutex_unlock(&sc->qlock);
			continue;
		}
		req_free(sc, r);
		if (rc < 0)
			break;
	}
	pthread_mutex_unlock(&sc->vd.lock);
}

static void
blk_notify(struct virtio_dev *vd, struct virtqueue *vq)
{
	(void)vq;
	blk_process(vd->softc);
}

/*
 * Wait until every request taken is on the used ring, without the bandwidth
 * limit's delays; what the limiter still owed is forgiven.
 */
static void
blk_drain(struct blk *sc)
{
	pthread_mutex_lock(&sc->rl_lock);
	sc->rl_hurry++;
	pthread_mutex_unlock(&sc->rl_lock);
	pthread_mutex_lock(&sc->qlock);
	while (sc->inflight > 0)
		pthread_cond_wait(&sc->idle, &sc->qlock);
	pthread_mutex_unlock(&sc->qlock);
	pthread_mutex_lock(&sc->rl_lock);
	if (--sc->rl_hurry == 0)
		sc->rl_next_ns = 0;
	pthread_mutex_unlock(&sc->rl_lock);
}

#ifdef HYVE_TEST_HOOKS
void
virtio_blk_test_drain(struct dev *d)
{
	blk_drain(d->softc);
}
#endif

static void
blk_reset_cb(struct virtio_dev *vd)
{
	struct blk *sc = vd->softc;

	blk_drain(sc);
	pthread_mutex_lock(&sc->vd.lock);
	sc->kick_pending = false;
	pthread_mutex_unlock(&sc->vd.lock);
}

static const struct virtio_ops blk_ops = {
	.device_type = VIRTIO_ID_BLOCK,
	.pci_class = 0x018000,	/* mass storage, other */
	.nqueues = 1,
	.queue_max = BLK_QSIZE,
	.notify = blk_notify,
	.reset = blk_reset_cb,
};

/* ------------------------------------------------------------------------ */
/* Device                                                                    */
/* ------------------------------------------------------------------------ */

static void
put_le(uint8_t *b, uint64_t v, unsigned n)
{
	while (n-- > 0) {
		*b++ = (uint8_t)v;
		v >>= 8;
	}
}

static int
blk_open(struct blk *sc, struct vm *vm, const char *who)
{
	struct stat st;

	sc->fd = open(sc->path, (sc->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (sc->fd < 0) {
		int e = errno;
		vm_log(vm, "%s: cannot open disk image \"%s\"%s: %s", who,
		    sc->path, sc->ro ? " read-only" : "", strerror(e));
		return (-e);
	}
	if (fstat(sc->fd, &st) < 0 || !(S_ISREG(st.st_mode) ||
	    S_ISBLK(st.st_mode))) {
		vm_log(vm, "%s: disk image \"%s\" is not a regular file or "
		    "block device", who, sc->path);
		close(sc->fd);
		sc->fd = -1;
		return (-EINVAL);
	}
	sc->image_size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(sc->fd, 0, SEEK_END);
		sc->image_size = end > 0 ? (uint64_t)end : 0;
	}
	sc->image_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
	sc->capacity = sc->image_size / BLK_SECTOR;
	return (0);
}

static int
blk_init(struct dev *d)
{
	struct blk *sc;
	const char *path, *serial;
	uint64_t bps;
	char who[80];
	uint8_t cfg[BLK_CFG_LEN] = { 0 };
	uint64_t features;
	unsigned i;
	int rc;

	snprintf(who, sizeof(who), "virtio-blk@%s", d->cfg);
	path = dev_cfg_get(d, "path");
	serial = dev_cfg_get(d, "serial");
	if (dev_cfg_get_size(d, "bps", 0, 0, UINT64_MAX, &bps) != 0)
		return (-EINVAL);
	if (path == NULL || *path == '\0') {
		vm_log(d->vm, "%s: no disk image: set %s.path "
		    "(-s SLOT,virtio-blk,PATH[,ro])", who, d->cfg);
		return (-EINVAL);
	}
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return (-ENOMEM);
	sc->fd = -1;
	sc->bps = bps;
	pthread_mutex_init(&sc->rl_lock, NULL);
	if (strlen(path) >= sizeof(sc->path)) {
		vm_log(d->vm, "%s: path is too long", who);
		rc = -ENAMETOOLONG;
		goto fail;
	}
	snprintf(sc->path, sizeof(sc->path), "%s", path);
	/* hyve's one reading of a boolean, and its message naming the key. */
	if ((rc = dev_cfg_get_bool(d, "ro", false, &sc->ro)) < 0)
		goto fail;
	if (serial != NULL)
		snprintf(sc->serial, sizeof(sc->serial), "%.20s", serial);
	else
		snprintf(sc->serial, sizeof(sc->serial), "HYVE-%.15s", d->cfg);
	if ((rc = blk_open(sc, d->vm, who)) < 0)
		goto fail;

	put_le(cfg + 0, sc->capacity, 8);
	put_le(cfg + 12, BLK_QSIZE - 2, 4);	/* seg_max */
	put_le(cfg + 20, BLK_SECTOR, 4);	/* blk_size */
	features = (1ULL << VIRTIO_BLK_F_SEG_MAX) |
	    (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
	    (1ULL << VIRTIO_F_INDIRECT_DESC);
	if (sc->ro)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	rc = virtio_dev_init(&sc->vd, d, &blk_ops, sc, features, cfg,
	    sizeof(cfg));
	if (rc < 0)
		goto fail;

	pthread_mutex_init(&sc->qlock, NULL);
	pthread_cond_init(&sc->qcond, NULL);
	pthread_cond_init(&sc->idle, NULL);
	for (i = 0; i < BLK_QSIZE; i++) {
		sc->reqs[i].next = sc->free;
		sc->free = &sc->reqs[i];
	}
	for (i = 0; i < BLK_WORKERS; i++) {
		rc = -pthread_create(&sc->workers[i], NULL, blk_worker, sc);
		if (rc < 0) {
			vm_log(d->vm, "%s: cannot start I/O thread: %s",
			    sc->vd.name, strerror(-rc));
			break;
		}
		sc->nworkers++;
	}
	d->softc = sc;
	if (rc < 0) {
		d->emu->fini(d);
		return (rc);
	}
	return (0);
fail:
	if (sc->fd >= 0)
		close(sc->fd);
	pthread_mutex_destroy(&sc->rl_lock);
	free(sc);
	return (rc);
}

static void
blk_fini(struct dev *d)
{
	struct blk *sc = d->softc;
	unsigned i;

	if (sc == NULL)
		return;
	blk_drain(sc);
	pthread_mutex_lock(&sc->qlock);
	sc->stop = true;
	pthread_cond_broadcast(&sc->qcond);
	pthread_mutex_unlock(&sc->qlock);
	for (i = 0; i < sc->nworkers; i++)
		pthread_join(sc->workers[i], NULL);
	virtio_dev_fini(&sc->vd);
	pthread_mutex_destroy(&sc->qlock);
	pthread_mutex_destroy(&sc->rl_lock);
	pthread_cond_destroy(&sc->qcond);
	pthread_cond_destroy(&sc->idle);
	if (sc->fd >= 0)
		close(sc->fd);
	free(sc);
	d->softc = NULL;
}

static void
blk_reset(struct dev *d)
{
	struct blk *sc = d->softc;

	virtio_dev_reset(&sc->vd);
}

static int
blk_pause(struct dev *d)
{
	struct blk *sc = d->softc;

	pthread_mutex_lock(&sc->vd.lock);
	sc->paused = true;
	pthread_mutex_unlock(&sc->vd.lock);
	blk_drain(sc);
	return (0);
}

static int
blk_resume(struct dev *d)
{
	struct blk *sc = d->softc;
	bool kick;
	int rc;

	rc = virtio_dev_resume(&sc->vd);
	if (rc < 0)
		return (rc);
	pthread_mutex_lock(&sc->vd.lock);
	sc->paused = false;
	kick = sc->kick_pending || vq_has_avail(&sc->vd.vq[0]);
	sc->kick_pending = false;
	pthread_mutex_unlock(&sc->vd.lock);
	if (kick)
		blk_process(sc);
	return (0);
}

/*
 * The disk in a checkpoint: which image and how it looked, not its
 * contents.  One schema for save and restore (blk_state_io()).
 */
struct blk_state {
	char	 path[PATH_MAX];
	bool	 ro;
	uint64_t capacity;	/* sectors */
	uint64_t image_size;	/* bytes */
	int64_t	 image_mtime_ns;
	char	 serial[VIRTIO_BLK_ID_BYTES + 1];
};

static int
blk_state_io(ckp_io_t *io, struct blk_state *st)
{
	ckp_io_string(io, "path", st->path, sizeof(st->path), 0);
	CKP_IO_NAMED(io, "ro", st->ro);
	CKP_IO_NAMED(io, "capacity", st->capacity);
	CKP_IO_NAMED(io, "image_size", st->image_size);
	CKP_IO_NAMED(io, "image_mtime_ns", st->image_mtime_ns);
	/* Always written; optional on restore, as it always was. */
	ckp_io_string(io, "serial", st->serial, sizeof(st->serial),
	    CKP_F_OPTIONAL);
	return (ckp_io_error(io));
}

static int
blk_save(struct dev *d, ckp_io_t *io)
{
	struct blk *sc = d->softc;
	struct blk_state st = { .ro = sc->ro, .capacity = sc->capacity,
	    .image_size = sc->image_size,
	    .image_mtime_ns = sc->image_mtime_ns };
	struct stat sb;
	int rc;

	snprintf(st.path, sizeof(st.path), "%s", sc->path);
	snprintf(st.serial, sizeof(st.serial), "%s", sc->serial);
	/*
	 * The disk as it is now (paused: no write in flight), for the restore
	 * to compare with; the device keeps what it saw at open.
	 */
	if (fstat(sc->fd, &sb) == 0) {
		if (S_ISREG(sb.st_mode))
			st.image_size = (uint64_t)sb.st_size;
		st.image_mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 +
		    sb.st_mtim.tv_nsec;
	}
	if ((rc = blk_state_io(io, &st)) < 0)
		return (rc);
	return (virtio_dev_save(&sc->vd, io));
}

/*
 * The disk itself is not in the checkpoint: say so when it is not the one
 * the checkpoint was taken with (another size or modification time), but
 * go on, since a checkpoint-and-continue changes it legitimately.  The
 * warnings go through the document, so that the restore counts them.
 */
static int
blk_restore(struct dev *d, ckp_io_t *io)
{
	struct blk *sc = d->softc;
	struct blk_state st = { 0 };
	ckp_doc_t *doc = ckp_io_doc(io);
	int rc;

	if ((rc = blk_state_io(io, &st)) < 0)
		return (rc);
	if (st.ro != sc->ro)
		return (ckp_doc_set_error(doc, -EINVAL, "%s: the "
		    "checkpoint's disk was %s, \"%s\" is opened %s",
		    sc->vd.name, st.ro ? "read-only" : "read-write", sc->path,
		    sc->ro ? "read-only" : "read-write"));
	if (st.capacity != sc->capacity)
		ckp_doc_warn(doc, "%s: the checkpoint's disk had %" PRIu64
		    " sectors, \"%s\" has %" PRIu64 "; the guest sees the new "
		    "size", sc->vd.name, st.capacity, sc->path, sc->capacity);
	else if (st.image_size != sc->image_size ||
	    st.image_mtime_ns != sc->image_mtime_ns)
		ckp_doc_warn(doc, "\"%s\" changed since the checkpoint was "
		    "taken (%s, of \"%s\"; size %" PRIu64 " -> %" PRIu64
		    ", mtime %" PRId64 " -> %" PRId64 " ns)", sc->path,
		    sc->vd.name, st.path, st.image_size, sc->image_size,
		    st.image_mtime_ns, sc->image_mtime_ns);
	return (virtio_dev_restore(&sc->vd, io));
}

/* "-s SLOT,virtio-blk,PATH[,key=value...]" */
static int
blk_parse_args(struct cfg *cfg, const char *node, const char *args, char *err,
    size_t errlen)
{
	return (pci_parse_args_first(cfg, node, args, "path", err, errlen));
}

const struct devemu virtio_blk_devemu = {
	.name = "virtio-blk",
	.version = 1,
	.init = blk_init,
	.reset = blk_reset,
	.pause = blk_pause,
	.resume = blk_resume,
	.save = blk_save,
	.restore = blk_restore,
	.fini = blk_fini,
	.pci = &virtio_pci_devemu,
	.parse_args = blk_parse_args,
};
