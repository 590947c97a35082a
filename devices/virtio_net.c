/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * virtio-net on a tap device: "-s SLOT,virtio-net,TAPNAME[,mac=xx:xx:..]"
 * (config keys backend, mac).  backend is a tap interface name, or
 * "fd:N" for a descriptor hyve inherited that already behaves like one
 * (one read or write per frame: an open tap, a SOCK_SEQPACKET socket).
 *
 * Receive: a thread polls the backend and copies each frame, behind a
 * 12-byte virtio_net_hdr, into the next receive chain.  With no chain
 * available it waits a little for the driver to post buffers, then drops
 * the frame, as a real NIC would.  Transmit: on the vCPU that kicks.
 * No offloads are offered, so headers carry no checksum or GSO work.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sandbox.h"
#include "virtio.h"

#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_S_LINK_UP	1

#define NET_HDR_LEN		12	/* struct virtio_net_hdr with num_buffers */
#define NET_MAX_FRAME		(65535 + 14)
#define NET_QSIZE		256
#define NET_RXQ			0
#define NET_TXQ			1
#define NET_CFG_LEN		8
#define NET_RX_WAIT_MS		20	/* for buffers before a frame is dropped */

struct net {
	struct virtio_dev vd;	/* first */
	char	backend[64];
	uint8_t	mac[6];
	int	fd;
	int	evfd;		/* wakes the receive thread */
	pthread_t rx_thread;
	bool	rx_running;
	/* Under vd.lock. */
	bool	rx_stop;
	bool	paused;
	bool	tx_pending;
	uint64_t rx_packets, rx_dropped, tx_packets, tx_dropped;
	struct vq_chain rxc, txc;
	uint8_t	rxbuf[NET_HDR_LEN + NET_MAX_FRAME];
};

static void
net_wake(struct net *sc)
{
	uint64_t one = 1;

	if (write(sc->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vm_log(sc->vd.pci.vm, "%s: cannot wake receive thread: %s",
		    sc->vd.name, strerror(errno));
}

/* ------------------------------------------------------------------------ */
/* Transmit                                                                  */
/* ------------------------------------------------------------------------ */

static void
net_tx(struct net *sc)
{
	struct virtqueue *vq = &sc->vd.vq[NET_TXQ];
	struct vq_chain *c = &sc->txc;
	struct iovec iov[VQ_MAX_SIZE];
	uint64_t skip;
	unsigned i;
	int n, rc, done = 0;

	pthread_mutex_lock(&sc->vd.lock);
	if (sc->paused) {
		sc->tx_pending = true;
		pthread_mutex_unlock(&sc->vd.lock);
		return;
	}
	while ((rc = vq_pop(vq, c)) == 1) {
		if (c->nread != c->nseg) {
			virtio_dev_error(&sc->vd, vq, c->head, "transmit chain "
			    "has device-writable buffers");
			break;
		}
		if (c->rbytes < NET_HDR_LEN ||
		    c->rbytes > NET_HDR_LEN + NET_MAX_FRAME) {
			virtio_dev_error(&sc->vd, vq, c->head, "transmit chain "
			    "of %" PRIu64 " bytes is not a %u-byte header and a "
			    "frame of at most %u bytes", c->rbytes, NET_HDR_LEN,
			    NET_MAX_FRAME);
			break;
		}
		n = 0;
		skip = NET_HDR_LEN;
		for (i = 0; i < c->nread; i++) {
			if (skip >= c->seg[i].len) {
				skip -= c->seg[i].len;
				continue;
			}
			iov[n].iov_base = (char *)c->seg[i].p + skip;
			iov[n].iov_len = c->seg[i].len - skip;
			skip = 0;
			n++;
		}
		if (n > 0 && writev(sc->fd, iov, n) < 0)
			sc->tx_dropped++;	/* tap down or full: lost, as on a wire */
		else
			sc->tx_packets++;
		vq_push(vq, c, 0);
		done++;
	}
	if (done > 0)
		vq_interrupt(vq);
	pthread_mutex_unlock(&sc->vd.lock);
}

/* ------------------------------------------------------------------------ */
/* Receive                                                                   */
/* ------------------------------------------------------------------------ */

/* Deliver the frame in @pkt (@len bytes after the header).  @return false if no buffer. */
static bool
net_rx_deliver(struct net *sc, const uint8_t *pkt, size_t len)
{
	struct virtqueue *vq = &sc->vd.vq[NET_RXQ];
	struct vq_chain *c = &sc->rxc;
	uint64_t total = NET_HDR_LEN + len;
	int rc;

	pthread_mutex_lock(&sc->vd.lock);
	rc = vq_pop(vq, c);
	if (rc != 1) {
		pthread_mutex_unlock(&sc->vd.lock);
		return (false);
	}
	if (c->nread != 0) {
		virtio_dev_error(&sc->vd, vq, c->head, "receive chain has "
		    "device-readable buffers");
		pthread_mutex_unlock(&sc->vd.lock);
		return (false);
	}
	if (c->wbytes < total) {
		/* Too small for this frame: give the buffer back empty. */
		sc->rx_dropped++;
		vq_push(vq, c, 0);
	} else {
		vq_chain_write(vq, c, 0, pkt, total);
		vq_push(vq, c, (uint32_t)total);
		sc->rx_packets++;
	}
	vq_interrupt(vq);
	pthread_mutex_unlock(&sc->vd.lock);
	return (true);
}

static void *
net_rx_thread(void *arg)
{
	struct net *sc = arg;
	struct pollfd pfd[2];
	uint64_t ev;
	ssize_t n;
	bool stop, ready, avail, held;
	int waited;

	sandbox_enter(sc->vd.pci.vm, SBX_NET, "%s", sc->vd.name);
	memset(sc->rxbuf, 0, NET_HDR_LEN);
	sc->rxbuf[10] = 1;	/* num_buffers */
	for (;;) {
		/*
		 * A restored device is held until net_resume(): its frames
		 * wait in the backend, not read and dropped, and no interrupt
		 * reaches a vCPU whose state is not set yet.
		 */
		pthread_mutex_lock(&sc->vd.lock);
		held = sc->paused;
		pthread_mutex_unlock(&sc->vd.lock);
		pfd[0].fd = sc->evfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = held ? -1 : sc->fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if ((pfd[0].revents & POLLIN) != 0 &&
		    read(sc->evfd, &ev, sizeof(ev)) < 0 && errno != EAGAIN)
			break;
		pthread_mutex_lock(&sc->vd.lock);
		stop = sc->rx_stop;
		held = sc->paused;
		pthread_mutex_unlock(&sc->vd.lock);
		if (stop)
			break;
		if (held || (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)) == 0)
			continue;
		n = read(sc->fd, sc->rxbuf + NET_HDR_LEN, NET_MAX_FRAME);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			vm_log(sc->vd.pci.vm, "%s: receive from %s failed: %s; "
			    "receive stopped", sc->vd.name, sc->backend,
			    strerror(errno));
			break;
		}
		if (n == 0) {
			/* A socket backend whose peer went away. */
			pfd[1].fd = -1;
			poll(pfd, 1, -1);
			continue;
		}
		/* Wait briefly for the driver to post buffers; then drop. */
		for (waited = 0;; waited += NET_RX_WAIT_MS / 4) {
			pthread_mutex_lock(&sc->vd.lock);
			ready = vq_ready(&sc->vd.vq[NET_RXQ]) && !sc->paused;
			avail = ready && vq_has_avail(&sc->vd.vq[NET_RXQ]);
			stop = sc->rx_stop;
			pthread_mutex_unlock(&sc->vd.lock);
			if (stop || !ready || avail || waited >= NET_RX_WAIT_MS)
				break;
			pfd[0].revents = 0;
			if (poll(pfd, 1, NET_RX_WAIT_MS / 4) > 0 &&
			    read(sc->evfd, &ev, sizeof(ev)) < 0 && errno != EAGAIN)
				break;
		}
		if (stop)
			break;
		if (!avail || !net_rx_deliver(sc, sc->rxbuf, (size_t)n)) {
			pthread_mutex_lock(&sc->vd.lock);
			sc->rx_dropped++;
			pthread_mutex_unlock(&sc->vd.lock);
		}
	}
	return (NULL);
}

#ifdef HYVE_TEST_HOOKS
bool
virtio_net_test_rx(struct dev *d, const void *frame, size_t len)
{
	struct net *sc = d->softc;
	uint8_t *pkt;
	bool ok;

	if (len > NET_MAX_FRAME)
		len = NET_MAX_FRAME;	/* what one read of the backend returns */
	if ((pkt = calloc(1, NET_HDR_LEN + len)) == NULL)
		return (false);
	pkt[10] = 1;	/* num_buffers */
	memcpy(pkt + NET_HDR_LEN, frame, len);
	ok = net_rx_deliver(sc, pkt, len);
	if (!ok) {
		pthread_mutex_lock(&sc->vd.lock);
		sc->rx_dropped++;
		pthread_mutex_unlock(&sc->vd.lock);
	}
	free(pkt);
	return (ok);
}

bool
virtio_net_test_rx_running(struct dev *d)
{
	struct net *sc = d->softc;

	return (sc->rx_running);
}
#endif

static int
net_rx_start(struct net *sc)
{
	int rc;

	if (sc->rx_running)
		return (0);
	pthread_mutex_lock(&sc->vd.lock);
	sc->rx_stop = false;
	pthread_mutex_unlock(&sc->vd.lock);
	rc = pthread_create(&sc->rx_thread, NULL, net_rx_thread, sc);
	if (rc != 0) {
		vm_log(sc->vd.pci.vm, "%s: cannot start receive thread: %s",
		    sc->vd.name, strerror(rc));
		return (-rc);
	}
	sc->rx_running = true;
	return (0);
}

static void
net_rx_stop(struct net *sc)
{
	if (!sc->rx_running)
		return;
	pthread_mutex_lock(&sc->vd.lock);
	sc->rx_stop = true;
	pthread_mutex_unlock(&sc->vd.lock);
	net_wake(sc);
	pthread_join(sc->rx_thread, NULL);
	sc->rx_running = false;
}

static void
net_notify(struct virtio_dev *vd, struct virtqueue *vq)
{
	struct net *sc = vd->softc;

	if (vq->index == NET_TXQ)
		net_tx(sc);
	else
		net_wake(sc);	/* new receive buffers */
}

static void
net_reset_cb(struct virtio_dev *vd)
{
	struct net *sc = vd->softc;

	/* The receive thread checks vq_ready() under the lock; nothing else is in flight. */
	pthread_mutex_lock(&sc->vd.lock);
	sc->tx_pending = false;
	pthread_mutex_unlock(&sc->vd.lock);
}

static const struct virtio_ops net_ops = {
	.device_type = VIRTIO_ID_NET,
	.pci_class = 0x020000,	/* network, ethernet */
	.nqueues = 2,
	.queue_max = NET_QSIZE,
	.notify = net_notify,
	.reset = net_reset_cb,
};

/* ------------------------------------------------------------------------ */
/* Device                                                                    */
/* ------------------------------------------------------------------------ */

static int
hexval(char c)
{
	return (c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1);
}

/*
 * Exactly xx:xx:xx:xx:xx:xx in hex digits (sscanf's %2x also took " 1",
 * "+f" and "-1", which then read back as another address).
 */
static int
parse_mac(const char *s, uint8_t mac[6])
{
	int i, hi, lo;

	for (i = 0; i < 6; i++, s += 3) {
		if ((hi = hexval(s[0])) < 0 || (lo = hexval(s[1])) < 0 ||
		    s[2] != (i < 5 ? ':' : '\0'))
			return (-EINVAL);
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if ((mac[0] & 1) != 0)
		return (-EDOM);	/* multicast */
	return (0);
}

/* A stable, locally administered unicast MAC from the VM name and the slot. */
static void
default_mac(const char *vmname, const char *node, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;

	for (p = vmname; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	h = (h ^ '/') * 0x100000001b3ULL;
	for (p = node; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	mac[0] = 0x02;
	mac[1] = (uint8_t)(h >> 32);
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

static int
net_open_backend(struct net *sc, struct vm *vm, const char *who)
{
	struct ifreq ifr;
	char *end;
	long fd;
	int e;

	if (strncmp(sc->backend, "fd:", 3) == 0) {
		fd = strtol(sc->backend + 3, &end, 10);
		if (end == sc->backend + 3 || *end != '\0' || fd < 0 ||
		    fd > 65535 || fcntl((int)fd, F_GETFD) < 0) {
			vm_log(vm, "%s: backend \"%s\" is not an open descriptor",
			    who, sc->backend);
			return (-EBADF);
		}
		sc->fd = (int)fd;
		if (fcntl(sc->fd, F_SETFL, fcntl(sc->fd, F_GETFL) | O_NONBLOCK) < 0)
			return (-errno);
		return (0);
	}
	if (strlen(sc->backend) >= IFNAMSIZ) {
		vm_log(vm, "%s: tap name \"%s\" is longer than %d characters",
		    who, sc->backend, IFNAMSIZ - 1);
		return (-ENAMETOOLONG);
	}
	sc->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (sc->fd < 0) {
		e = errno;
		vm_log(vm, "%s: cannot open /dev/net/tun: %s", who, strerror(e));
		return (-e);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, sc->backend, strlen(sc->backend));
	if (ioctl(sc->fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		vm_log(vm, "%s: cannot attach to tap \"%s\": %s", who,
		    sc->backend, strerror(e));
		close(sc->fd);
		sc->fd = -1;
		return (-e);
	}
	return (0);
}

static void
net_build_cfg(const struct net *sc, uint8_t *cfg)
{
	memset(cfg, 0, NET_CFG_LEN);
	memcpy(cfg, sc->mac, 6);
	cfg[6] = VIRTIO_NET_S_LINK_UP;
}

static int
net_init(struct dev *d)
{
	struct net *sc;
	const char *backend, *mac;
	char who[80];
	uint8_t cfg[NET_CFG_LEN];
	int rc;

	snprintf(who, sizeof(who), "virtio-net@%s", d->cfg);
	backend = dev_cfg_get(d, "backend");
	mac = dev_cfg_get(d, "mac");
	if (backend == NULL || *backend == '\0') {
		vm_log(d->vm, "%s: no backend: set %s.backend to a tap name "
		    "(-s SLOT,virtio-net,TAPNAME)", who, d->cfg);
		return (-EINVAL);
	}
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return (-ENOMEM);
	sc->fd = -1;
	sc->evfd = -1;
	if (strlen(backend) >= sizeof(sc->backend)) {
		vm_log(d->vm, "%s: backend \"%s\" is too long", who, backend);
		rc = -ENAMETOOLONG;
		goto fail;
	}
	snprintf(sc->backend, sizeof(sc->backend), "%s", backend);
	if (mac != NULL) {
		if ((rc = parse_mac(mac, sc->mac)) < 0) {
			vm_log(d->vm, "%s: %s.mac=\"%s\" is not a unicast MAC "
			    "address xx:xx:xx:xx:xx:xx", who, d->cfg, mac);
			rc = -EINVAL;
			goto fail;
		}
	} else {
		default_mac(vm_name(d->vm), d->cfg, sc->mac);
	}
	if ((rc = net_open_backend(sc, d->vm, who)) < 0)
		goto fail;
	sc->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sc->evfd < 0) {
		rc = -errno;
		goto fail;
	}
	net_build_cfg(sc, cfg);
	rc = virtio_dev_init(&sc->vd, d, &net_ops, sc,
	    (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
	    (1ULL << VIRTIO_F_INDIRECT_DESC), cfg, sizeof(cfg));
	if (rc < 0)
		goto fail;
	d->softc = sc;
	if ((rc = net_rx_start(sc)) < 0) {
		virtio_dev_fini(&sc->vd);
		d->softc = NULL;
		goto fail;
	}
	return (0);
fail:
	if (sc->fd >= 0)
		close(sc->fd);
	if (sc->evfd >= 0)
		close(sc->evfd);
	free(sc);
	return (rc);
}

static void
net_fini(struct dev *d)
{
	struct net *sc = d->softc;

	if (sc == NULL)
		return;
	net_rx_stop(sc);
	virtio_dev_fini(&sc->vd);
	close(sc->fd);
	close(sc->evfd);
	free(sc);
	d->softc = NULL;
}

static void
net_reset(struct dev *d)
{
	struct net *sc = d->softc;

	virtio_dev_reset(&sc->vd);
}

static int
net_pause(struct dev *d)
{
	struct net *sc = d->softc;

	pthread_mutex_lock(&sc->vd.lock);
	sc->paused = true;
	pthread_mutex_unlock(&sc->vd.lock);
	net_rx_stop(sc);
	return (0);
}

static int
net_resume(struct dev *d)
{
	struct net *sc = d->softc;
	bool tx;
	int rc;

	if ((rc = virtio_dev_resume(&sc->vd)) < 0)
		return (rc);
	pthread_mutex_lock(&sc->vd.lock);
	sc->paused = false;
	tx = sc->tx_pending || vq_has_avail(&sc->vd.vq[NET_TXQ]);
	sc->tx_pending = false;
	pthread_mutex_unlock(&sc->vd.lock);
	if (tx)
		net_tx(sc);
	/* A thread held since a restore reads the backend again. */
	net_wake(sc);
	return (net_rx_start(sc));
}

static void
mac_text(const uint8_t *mac, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
	    mac[2], mac[3], mac[4], mac[5]);
}

/*
 * The device's own fields in a checkpoint, once for save and restore.  The
 * backend and the counters are always written; a checkpoint without them
 * restores (backend: the configuration names it; counters: from zero).
 */
struct net_state {
	char	 mac[18];	/* "xx:xx:xx:xx:xx:xx" */
	char	 backend[64];
	uint64_t rx_packets, rx_dropped, tx_packets, tx_dropped;
};

static int
net_state_io(ckp_io_t *io, struct net_state *st)
{
	ckp_io_string(io, "mac", st->mac, sizeof(st->mac), 0);
	ckp_io_string(io, "backend", st->backend, sizeof(st->backend),
	    CKP_F_OPTIONAL);
	CKP_IO_NAMED_OPT(io, "rx_packets", st->rx_packets, 0);
	CKP_IO_NAMED_OPT(io, "rx_dropped", st->rx_dropped, 0);
	CKP_IO_NAMED_OPT(io, "tx_packets", st->tx_packets, 0);
	CKP_IO_NAMED_OPT(io, "tx_dropped", st->tx_dropped, 0);
	return (ckp_io_error(io));
}

static int
net_save(struct dev *d, ckp_io_t *io)
{
	struct net *sc = d->softc;
	struct net_state st;
	int rc;

	memset(&st, 0, sizeof(st));
	snprintf(st.backend, sizeof(st.backend), "%s", sc->backend);
	pthread_mutex_lock(&sc->vd.lock);
	mac_text(sc->mac, st.mac, sizeof(st.mac));
	st.rx_packets = sc->rx_packets;
	st.rx_dropped = sc->rx_dropped;
	st.tx_packets = sc->tx_packets;
	st.tx_dropped = sc->tx_dropped;
	pthread_mutex_unlock(&sc->vd.lock);
	if ((rc = net_state_io(io, &st)) < 0)
		return (rc);
	return (virtio_dev_save(&sc->vd, io));
}

/*
 * The guest knows the MAC it read before the checkpoint, so the saved MAC
 * wins over the configured one (with a warning when they differ, through
 * the document so that the restore counts it).  The backend is whatever
 * the configuration names now (-o may move it).  Everything is read and
 * checked, the transport's sections too, before anything changes.
 */
static int
net_restore(struct dev *d, ckp_io_t *io)
{
	struct net *sc = d->softc;
	struct net_state st = { 0 };
	struct virtio_state vst;
	char cur[18];
	uint8_t m[6];
	int rc;

	if ((rc = net_state_io(io, &st)) < 0)
		return (rc);
	if (parse_mac(st.mac, m) < 0)
		return (ckp_doc_set_error(ckp_io_doc(io), -EINVAL, "%s: mac "
		    "\"%s\" is not a unicast MAC address", sc->vd.name, st.mac));
	if ((rc = virtio_dev_restore_check(&sc->vd, io, &vst)) < 0)
		return (rc);

	/*
	 * All checked.  The receive thread goes on (a restore starts or stops
	 * nothing), held: frames that arrive until net_resume() wait in the
	 * backend for the restored rings, rather than being dropped against
	 * queues not mapped yet.
	 */
	pthread_mutex_lock(&sc->vd.lock);
	sc->paused = true;
	pthread_mutex_unlock(&sc->vd.lock);
	virtio_dev_restore_commit(&sc->vd, &vst);
	pthread_mutex_lock(&sc->vd.lock);
	mac_text(sc->mac, cur, sizeof(cur));
	memcpy(sc->mac, m, 6);
	net_build_cfg(sc, sc->vd.devcfg);
	sc->rx_packets = st.rx_packets;
	sc->rx_dropped = st.rx_dropped;
	sc->tx_packets = st.tx_packets;
	sc->tx_dropped = st.tx_dropped;
	pthread_mutex_unlock(&sc->vd.lock);
	if (strcmp(cur, st.mac) != 0)
		ckp_doc_warn(ckp_io_doc(io), "%s: the checkpoint's MAC %s "
		    "replaces %s", sc->vd.name, st.mac, cur);
	return (0);
}

/* "-s SLOT,virtio-net,TAPNAME[,key=value...]" */
static int
net_parse_args(struct cfg *cfg, const char *node, const char *args, char *err,
    size_t errlen)
{
	return (pci_parse_args_first(cfg, node, args, "backend", err, errlen));
}

const struct devemu virtio_net_devemu = {
	.name = "virtio-net",
	.version = 1,
	.init = net_init,
	.reset = net_reset,
	.pause = net_pause,
	.resume = net_resume,
	.save = net_save,
	.restore = net_restore,
	.fini = net_fini,
	.pci = &virtio_pci_devemu,
	.parse_args = net_parse_args,
};
