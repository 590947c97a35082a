/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * virtio-net on a SOCK_SEQPACKET socket pair standing in for the tap (one
 * frame per read/write, like a tap with IFF_NO_PI): MAC and config, transmit,
 * receive, dropping when the driver has no buffers, malformed chains,
 * pause/resume of the receive thread, and a checkpoint restored elsewhere.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "test_virtio_drv.h"

#define SLOT	2
#define MEM	(64ULL << 20)
#define RXQ	0
#define TXQ	1
#define HDR	12

static const char *devname = "virtio-net@pci.0.2.0";
static int devfd;	/* hyve's end of the last pair made */

/* A net device on a new socket pair; *@peer is the other end. */
static struct dev *
net_add(struct vm *vm, int slot, const char *mac, int *peer)
{
	char node[32], key[64], be[32];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
	snprintf(node, sizeof(node), "pci.0.%d.0", slot);
	snprintf(key, sizeof(key), "%s.device", node);
	vm_test_cfg_set(vm, key, "virtio-net");
	snprintf(key, sizeof(key), "%s.backend", node);
	snprintf(be, sizeof(be), "fd:%d", sv[0]);
	vm_test_cfg_set(vm, key, be);
	if (mac != NULL) {
		snprintf(key, sizeof(key), "%s.mac", node);
		vm_test_cfg_set(vm, key, mac);
	}
	*peer = sv[1];
	devfd = sv[0];
	return (vm_test_dev_add(vm, "virtio-net", node, slot == SLOT ?
	    "virtio-net@0" : "virtio-net@1"));
}

static void
setup(struct tdrv *t, struct vm *vm)
{
	CHECK_EQ(drv_attach(t, vm, SLOT), 0);
	CHECK(drv_negotiate(t, ~0ULL) & VIRTIO_S_FEATURES_OK);
	drv_msix(t);
	drv_queue(t, RXQ, 16);
	drv_queue(t, TXQ, 16);
	drv_ok(t);
	vm_test_irq_clear(vm);
}

/* Post @n receive buffers of @len bytes (header and data split). */
static void
post_rx(struct tdrv *t, unsigned n, uint32_t len, uint64_t *gpas)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t g = galloc(t, len, 64);
		struct tbuf b[2] = { { g, HDR, true }, { g + HDR, len - HDR, true } };
		memset(gp(t, g, len), 0xee, len);
		if (gpas != NULL)
			gpas[i] = g;
		drv_avail(t, RXQ, drv_chain(t, RXQ, b, len > HDR ? 2 : 1));
	}
	drv_kick(t, RXQ);
}

static void
frame(uint8_t *f, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 3);
}

static void
test_mac(void)
{
	struct vm *vm = vm_new_for_test(MEM), *vm2 = vm_new_for_test(MEM);
	struct dev *a, *b, *c;
	struct tdrv t;
	uint8_t m1[6], m2[6], m3[6];
	const char *log;
	int p1, p2, p3, i;

	a = net_add(vm, SLOT, NULL, &p1);
	b = net_add(vm, 4, NULL, &p2);
	c = net_add(vm2, SLOT, NULL, &p3);
	CHECK(a != NULL && b != NULL && c != NULL);
	CHECK_EQ(drv_attach(&t, vm, SLOT), 0);
	for (i = 0; i < 6; i++)
		m1[i] = (uint8_t)mmio_rd(vm, t.devcfg + i, 1);
	CHECK_EQ(mmio_rd(vm, t.devcfg + 6, 2), 1);	/* link up */
	CHECK(drv_device_features(&t) & (1ULL << 5));	/* MAC */
	CHECK(drv_device_features(&t) & (1ULL << 16));	/* STATUS */
	CHECK_EQ(drv_attach(&t, vm, 4), 0);
	for (i = 0; i < 6; i++)
		m2[i] = (uint8_t)mmio_rd(vm, t.devcfg + i, 1);
	CHECK_EQ(drv_attach(&t, vm2, SLOT), 0);
	for (i = 0; i < 6; i++)
		m3[i] = (uint8_t)mmio_rd(vm2, t.devcfg + i, 1);
	CHECK_EQ(m1[0] & 3, 2);		/* locally administered, unicast */
	CHECK(memcmp(m1, m2, 6) != 0);	/* another slot, another MAC */
	CHECK(memcmp(m1, m3, 6) == 0);	/* same VM name and slot: same MAC */
	vm_free(vm2);
	close(p3);

	vm2 = vm_new_for_test(MEM);
	CHECK(net_add(vm2, SLOT, "52:54:00:12:34:56", &p3) != NULL);
	CHECK_EQ(drv_attach(&t, vm2, SLOT), 0);
	CHECK_EQ(mmio_rd(vm2, t.devcfg, 4), 0x12005452);
	CHECK_EQ(mmio_rd(vm2, t.devcfg + 4, 2), 0x5634);
	vm_free(vm2);
	close(p3);

	vm2 = vm_new_for_test(MEM);
	cap_begin();
	CHECK(net_add(vm2, SLOT, "01:00:5e:00:00:01", &p3) == NULL);
	log = cap_end();
	CHECK_HAS(log, "pci.0.2.0.mac");
	CHECK_HAS(log, "unicast");
	vm_free(vm2);
	close(p3);

	/* Not hex digits, though sscanf's %2x took them (fuzz_hyve_devstate). */
	{
		static const char *bad[] = { "02:-1:00:00:00:00",
		    "02: 1:00:00:00:00", "02:+f:00:00:00:00",
		    "02:00:00:00:00:0g", "02:00:00:00:00:001",
		    "02:00:00:00:00:0", "02-00-00-00-00-00" };
		for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
			vm2 = vm_new_for_test(MEM);
			cap_begin();
			CHECK(net_add(vm2, SLOT, bad[i], &p3) == NULL);
			log = cap_end();
			CHECK_HAS(log, "pci.0.2.0.mac");
			vm_free(vm2);
			close(p3);
			close(devfd);
		}
	}

	vm2 = vm_new_for_test(MEM);
	cap_begin();
	CHECK(net_add(vm2, SLOT, "52:54:00:12:34", &p3) == NULL);
	(void)cap_end();
	vm_test_cfg_set(vm2, "pci.0.3.0.backend", "fd:9999");
	cap_begin();
	CHECK(vm_test_dev_add(vm2, "virtio-net", "pci.0.3.0", "n") == NULL);
	log = cap_end();
	CHECK_HAS(log, "fd:9999");
	cap_begin();
	CHECK(vm_test_dev_add(vm2, "virtio-net", "pci.0.4.0", "n") == NULL);
	log = cap_end();
	CHECK_HAS(log, "pci.0.4.0.backend");
	vm_free(vm2);
	close(p3);

	vm_free(vm);
	close(p1);
	close(p2);
}

static void
test_tx_rx(struct vm *vm, int peer)
{
	struct tdrv t;
	uint8_t f[1514], got[2048];
	uint64_t rx[4], hdr, data;
	struct tbuf b[3];
	ssize_t n;
	uint8_t *p;

	setup(&t, vm);
	/* Transmit: header + frame in two pieces. */
	frame(f, 300, 1);
	hdr = galloc(&t, HDR, 16);
	data = galloc(&t, 300, 64);
	memcpy(gp(&t, data, 300), f, 300);
	b[0] = (struct tbuf){ hdr, HDR, false };
	b[1] = (struct tbuf){ data, 100, false };
	b[2] = (struct tbuf){ data + 100, 200, false };
	drv_avail(&t, TXQ, drv_chain(&t, TXQ, b, 3));
	drv_kick(&t, TXQ);
	CHECK_EQ(drv_used_idx(&t, TXQ), 1);
	CHECK_EQ(drv_used_elem(&t, TXQ, 0).len, 0);
	n = recv(peer, got, sizeof(got), MSG_DONTWAIT);
	CHECK_EQ(n, 300);
	CHECK(memcmp(got, f, 300) == 0);
	CHECK_EQ(msi_count(vm, 1 + TXQ), 1);

	/* Receive into posted buffers. */
	post_rx(&t, 4, 1526 + HDR, rx);
	frame(f, 100, 7);
	CHECK_EQ(send(peer, f, 100, 0), 100);
	CHECK_EQ(drv_wait_used(&t, RXQ, 1, 2000), 0);
	CHECK_EQ(drv_used_elem(&t, RXQ, 0).len, HDR + 100);
	p = gp(&t, rx[0], HDR + 101);
	CHECK_EQ(p[10], 1);		/* num_buffers */
	CHECK_EQ(p[0] | p[1] | p[2] | p[3], 0);
	CHECK(memcmp(p + HDR, f, 100) == 0);
	CHECK_EQ(p[HDR + 100], 0xee);
	for (int i = 0; i < 1000 && msi_count(vm, 1 + RXQ) == 0; i++)
		usleep(1000);
	CHECK_EQ(msi_count(vm, 1 + RXQ), 1);
	/* A full-size frame. */
	frame(f, 1514, 9);
	CHECK_EQ(send(peer, f, 1514, 0), 1514);
	CHECK_EQ(drv_wait_used(&t, RXQ, 2, 2000), 0);
	CHECK_EQ(drv_used_elem(&t, RXQ, 1).len, HDR + 1514);
	CHECK(memcmp((uint8_t *)gp(&t, rx[1], HDR + 1514) + HDR, f, 1514) == 0);

	/* No buffers left: frames are dropped, not queued for later. */
	frame(f, 60, 20);
	send(peer, f, 60, 0);
	send(peer, f, 60, 0);
	CHECK_EQ(drv_wait_used(&t, RXQ, 4, 2000), 0);	/* two buffers were left */
	frame(f, 60, 30);
	send(peer, f, 60, 0);	/* no buffer for this one */
	/* Once the receive thread took it, it waits 20 ms for a buffer, then drops it. */
	for (int i = 0, q = 1; i < 2000 && q > 0; i++) {
		if (ioctl(devfd, FIONREAD, &q) < 0)
			q = 0;
		usleep(1000);
	}
	usleep(200000);
	post_rx(&t, 1, 1526 + HDR, rx);
	frame(f, 64, 40);
	send(peer, f, 64, 0);
	CHECK_EQ(drv_wait_used(&t, RXQ, 5, 2000), 0);
	CHECK_EQ(drv_used_elem(&t, RXQ, 4).len, HDR + 64);
	CHECK(memcmp((uint8_t *)gp(&t, rx[0], HDR + 64) + HDR, f, 64) == 0);

	/* A buffer too small for the frame comes back empty. */
	post_rx(&t, 1, 40, rx);
	frame(f, 200, 50);
	send(peer, f, 200, 0);
	CHECK_EQ(drv_wait_used(&t, RXQ, 6, 2000), 0);
	CHECK_EQ(drv_used_elem(&t, RXQ, 5).len, 0);
	CHECK_EQ(drv_status(&t) & VIRTIO_S_NEEDS_RESET, 0);
	drv_set_status(&t, 0);
}

typedef void mkbad_fn(struct tdrv *t);

static void
bad_case(struct vm *vm, const char *what, mkbad_fn *make, unsigned q,
    const char *expect)
{
	struct tdrv t;
	const char *log;
	char where[32];

	fprintf(stderr, "-- malformed: %s\n", what);
	setup(&t, vm);
	cap_begin();
	make(&t);
	usleep(50000);		/* the receive thread finds rx errors */
	log = cap_end();
	CHECK(drv_status(&t) & VIRTIO_S_NEEDS_RESET);
	CHECK_HAS(log, devname);
	snprintf(where, sizeof(where), "queue %u: descriptor 0", q);
	CHECK_HAS(log, where);
	CHECK_HAS(log, expect);
	CHECK_EQ(msi_count(vm, 0), 1);
	drv_set_status(&t, 0);
	CHECK_EQ(drv_status(&t), 0);
}

static int bad_peer;

static void
mk_tx_writable(struct tdrv *t)
{
	uint64_t g = galloc(t, 100, 64);
	struct tbuf b[2] = { { g, HDR, false }, { g + HDR, 60, true } };

	drv_avail(t, TXQ, drv_chain(t, TXQ, b, 2));
	drv_kick(t, TXQ);
}

static void
mk_tx_short(struct tdrv *t)
{
	uint64_t g = galloc(t, 100, 64);
	struct tbuf b[1] = { { g, 8, false } };

	drv_avail(t, TXQ, drv_chain(t, TXQ, b, 1));
	drv_kick(t, TXQ);
}

static void
mk_tx_huge(struct tdrv *t)
{
	uint64_t g = galloc(t, 70000, 64);
	struct tbuf b[2] = { { g, HDR, false }, { g + HDR, 69000, false } };

	drv_avail(t, TXQ, drv_chain(t, TXQ, b, 2));
	drv_kick(t, TXQ);
}

static void
mk_rx_readable(struct tdrv *t)
{
	uint64_t g = galloc(t, 2048, 64);
	struct tbuf b[2] = { { g, HDR, false }, { g + HDR, 1600, true } };
	uint8_t f[60] = { 0 };

	drv_avail(t, RXQ, drv_chain(t, RXQ, b, 2));
	drv_kick(t, RXQ);
	send(bad_peer, f, sizeof(f), 0);
}

static void
mk_rx_outside(struct tdrv *t)
{
	struct tbuf b[1] = { { MEM - 100, 2048, true } };
	uint8_t f[60] = { 0 };

	drv_avail(t, RXQ, drv_chain(t, RXQ, b, 1));
	drv_kick(t, RXQ);
	send(bad_peer, f, sizeof(f), 0);
}

static void
test_pause(struct vm *vm, struct dev *d, int peer)
{
	struct tdrv t;
	uint8_t f[200], got[256];
	uint64_t rx[2], g;
	struct tbuf b[1];

	setup(&t, vm);
	post_rx(&t, 2, 1526 + HDR, rx);
	CHECK_EQ(d->emu->pause(d), 0);
	frame(f, 80, 60);
	send(peer, f, 80, 0);
	g = galloc(&t, HDR + 50, 64);
	memset(gp(&t, g, HDR + 50), 0x33, HDR + 50);
	b[0] = (struct tbuf){ g, HDR + 50, false };
	drv_avail(&t, TXQ, drv_chain(&t, TXQ, b, 1));
	drv_kick(&t, TXQ);
	usleep(100000);
	CHECK_EQ(drv_used_idx(&t, RXQ), 0);
	CHECK_EQ(drv_used_idx(&t, TXQ), 0);
	CHECK_EQ(recv(peer, got, sizeof(got), MSG_DONTWAIT), -1);
	CHECK_EQ(d->emu->resume(d), 0);
	CHECK_EQ(drv_wait_used(&t, RXQ, 1, 2000), 0);
	CHECK(memcmp((uint8_t *)gp(&t, rx[0], HDR + 80) + HDR, f, 80) == 0);
	CHECK_EQ(drv_used_idx(&t, TXQ), 1);
	CHECK_EQ(recv(peer, got, sizeof(got), MSG_DONTWAIT), 50);
	CHECK_EQ(got[0], 0x33);
	drv_set_status(&t, 0);
}

/* Test build only (devices/virtio_net.c): the receive thread exists. */
bool virtio_net_test_rx_running(struct dev *d);

/* A restore's warnings as hyve reports them: counted, and on stderr. */
static void
warn_count(void *arg, const char *msg)
{
	(*(int *)arg)++;
	fprintf(stderr, "warning: %s\n", msg);
}

static void
test_checkpoint(struct vm *vm, struct dev *d, int peer)
{
	int nwarn = 0;
	struct tdrv t, t2;
	struct vm *vm2;
	struct dev *d2;
	ckp_doc_t *doc;
	ckp_io_t *io;
	uint64_t rx[4];
	uint8_t f[100], mac1[6], mac2[6];
	const char *log;
	int peer2, rc, i;

	setup(&t, vm);
	for (i = 0; i < 6; i++)
		mac1[i] = (uint8_t)mmio_rd(vm, t.devcfg + i, 1);
	post_rx(&t, 4, 1526 + HDR, rx);
	frame(f, 100, 70);
	send(peer, f, 100, 0);
	CHECK_EQ(drv_wait_used(&t, RXQ, 1, 2000), 0);
	CHECK_EQ(d->emu->pause(d), 0);
	doc = ckp_doc_new("test");
	io = ckp_io_new(doc, CKP_IO_SAVE);
	ckp_io_enter(io, d->id, d->emu->version);
	rc = d->emu->save(d, io);
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK_EQ(rc, 0);
	CHECK(ckp_doc_find(doc, "virtio-net@0.mac") != NULL);
	CHECK(ckp_doc_find(doc, "virtio-net@0.virtio.queue@1.used_idx") != NULL);
	CHECK_EQ(d->emu->resume(d), 0);

	/* Another VM, another MAC configured: the checkpoint's wins. */
	vm2 = vm_new_for_test(MEM);
	d2 = net_add(vm2, SLOT, "52:54:00:00:00:01", &peer2);
	CHECK(d2 != NULL);
	if (d2 == NULL)
		goto out;
	memcpy(vm_gpa_ptr(vm2, 0, MEM), vm_gpa_ptr(vm, 0, MEM), MEM);
	ckp_doc_set_warn(doc, warn_count, &nwarn);
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	ckp_io_enter(io, d2->id, d2->emu->version);
	cap_begin();
	rc = d2->emu->restore(d2, io);
	log = cap_end();
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK_EQ(rc, 0);
	CHECK_HAS(log, "replaces 52:54:00:00:00:01");
	CHECK_EQ(nwarn, 1);
	/* A restore fills and checks; it starts or stops no thread. */
	CHECK(virtio_net_test_rx_running(d2));
	CHECK_EQ(d2->emu->resume(d2), 0);
	t2 = t;
	t2.vm = vm2;
	for (i = 0; i < 6; i++)
		mac2[i] = (uint8_t)mmio_rd(vm2, t2.devcfg + i, 1);
	CHECK(memcmp(mac1, mac2, 6) == 0);
	/* The restored device fills the buffers the driver posted before. */
	frame(f, 90, 80);
	send(peer2, f, 90, 0);
	CHECK_EQ(drv_wait_used(&t2, RXQ, 2, 2000), 0);
	CHECK_EQ(drv_used_elem(&t2, RXQ, 1).len, HDR + 90);
	CHECK(memcmp((uint8_t *)gp(&t2, rx[1], HDR + 90) + HDR, f, 90) == 0);
	/* A MAC that is not hex digits is refused, not read as another one. */
	{
		ckp_ent_t *e = ckp_doc_find(doc, "virtio-net@0.mac");
		CHECK(e != NULL && ckp_ent_set_text(e, "02:-1:00:00:00:00") == 0);
		io = ckp_io_new(doc, CKP_IO_RESTORE);
		ckp_io_enter(io, d2->id, d2->emu->version);
		rc = d2->emu->restore(d2, io);
		ckp_io_leave(io);
		ckp_io_free(io);
		CHECK(rc < 0);
		CHECK_HAS(ckp_doc_errmsg(doc), "mac \"02:-1:00:00:00:00\"");
		CHECK(virtio_net_test_rx_running(d2));
		for (i = 0; i < 6; i++)
			mac2[i] = (uint8_t)mmio_rd(vm2, t2.devcfg + i, 1);
		CHECK(memcmp(mac1, mac2, 6) == 0);
	}
out:
	vm_free(vm2);
	close(peer2);
	ckp_doc_free(doc);
	drv_set_status(&t, 0);
}

int
main(void)
{
	struct vm *vm;
	struct dev *d;
	int peer;

	test_mac();
	vm = vm_new_for_test(MEM);
	d = net_add(vm, SLOT, NULL, &peer);
	CHECK(d != NULL);
	if (d == NULL)
		TEST_END();
	bad_peer = peer;
	test_tx_rx(vm, peer);
	bad_case(vm, "transmit chain with a writable buffer", mk_tx_writable,
	    TXQ, "device-writable");
	bad_case(vm, "transmit shorter than the header", mk_tx_short, TXQ,
	    "not a 12-byte header");
	bad_case(vm, "transmit frame too large", mk_tx_huge, TXQ,
	    "at most 65549");
	bad_case(vm, "receive chain with a readable buffer", mk_rx_readable,
	    RXQ, "device-readable");
	bad_case(vm, "receive buffer outside RAM", mk_rx_outside, RXQ,
	    "outside guest RAM");
	test_pause(vm, d, peer);
	test_checkpoint(vm, d, peer);
	vm_free(vm);
	close(peer);
	TEST_END();
}
