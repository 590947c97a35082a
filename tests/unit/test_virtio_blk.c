/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * virtio-blk against a temporary image: read, write, flush, get-id; many
 * segments and odd layouts; out-of-range, partial-sector and unsupported
 * requests; a read-only disk; config errors; pause draining in-flight
 * requests; and a checkpoint restored into a fresh VM that carries on.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "test_virtio_drv.h"

#define SLOT		3
#define MEM		(64ULL << 20)
#define IMG_SIZE	(8ULL << 20)
#define SECTORS		(IMG_SIZE / 512)

static char img[64];

static uint8_t
pattern(uint64_t off)
{
	return ((uint8_t)(off * 7 + (off >> 9) * 13 + 1));
}

static void
make_image(void)
{
	uint8_t *buf = malloc(IMG_SIZE);
	uint64_t i;
	int fd;

	for (i = 0; i < IMG_SIZE; i++)
		buf[i] = pattern(i);
	snprintf(img, sizeof(img), "/tmp/hyve-test-blk-XXXXXX");
	fd = mkstemp(img);
	if (fd < 0 || write(fd, buf, IMG_SIZE) != (ssize_t)IMG_SIZE) {
		perror("image");
		exit(1);
	}
	close(fd);
	free(buf);
}

static struct dev *
blk_add(struct vm *vm, const char *path, const char *ro, const char *serial)
{
	vm_test_cfg_set(vm, "pci.0.3.0.device", "virtio-blk");
	vm_test_cfg_set(vm, "pci.0.3.0.path", path);
	if (ro != NULL)
		vm_test_cfg_set(vm, "pci.0.3.0.ro", ro);
	if (serial != NULL)
		vm_test_cfg_set(vm, "pci.0.3.0.serial", serial);
	return (vm_test_dev_add(vm, "virtio-blk", "pci.0.3.0", "virtio-blk@0"));
}

static void
setup(struct tdrv *t, struct vm *vm, uint16_t qsize)
{
	CHECK_EQ(drv_attach(t, vm, SLOT), 0);
	CHECK(drv_negotiate(t, ~0ULL) & VIRTIO_S_FEATURES_OK);
	drv_msix(t);
	drv_queue(t, 0, qsize);
	drv_ok(t);
}

/*
 * One request: header, the data split into @nseg segments of the sizes in
 * @segs (device-writable for reads), status.  @return the status byte, or
 * -1 when the device did not answer.  *@usedlen gets the used length.
 */
static int
request(struct tdrv *t, uint32_t type, uint64_t sector, const uint32_t *segs,
    unsigned nseg, uint64_t *data_gpa, uint32_t *usedlen)
{
	struct tbuf b[VQ_MAX_SIZE];
	uint64_t hdr = galloc(t, 16, 16), st = galloc(t, 1, 1), total = 0;
	uint8_t *h = gp(t, hdr, 16);
	unsigned i, n = 0;
	uint16_t want = (uint16_t)(t->q[0].avail_idx + 1), head;
	bool in = type == 0 || type == 8;

	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	*(uint8_t *)gp(t, st, 1) = 0xee;
	b[n++] = (struct tbuf){ hdr, 16, false };
	for (i = 0; i < nseg; i++)
		total += segs[i];
	*data_gpa = total ? galloc(t, total, 4096) : 0;
	total = 0;
	for (i = 0; i < nseg; i++) {
		b[n++] = (struct tbuf){ *data_gpa + total, segs[i], in };
		total += segs[i];
	}
	b[n++] = (struct tbuf){ st, 1, true };
	head = drv_chain(t, 0, b, n);
	drv_avail(t, 0, head);
	drv_kick(t, 0);
	if (drv_wait_used(t, 0, want, 5000) != 0)
		return (-1);
	if (usedlen != NULL)
		*usedlen = drv_used_elem(t, 0, (uint16_t)(want - 1)).len;
	CHECK_EQ(drv_used_elem(t, 0, (uint16_t)(want - 1)).id, head);
	return (*(uint8_t *)gp(t, st, 1));
}

static bool
data_matches(struct tdrv *t, uint64_t gpa, uint64_t off, uint64_t len)
{
	const uint8_t *p = gp(t, gpa, len);
	uint64_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern(off + i))
			return (false);
	return (true);
}

static void
test_rw(struct vm *vm)
{
	struct tdrv t;
	uint32_t segs[5] = { 512, 1024, 3584, 4096, 512 }, used, big[200];
	uint64_t data, i;
	uint8_t *p, buf[9728];
	int fd, rc;

	setup(&t, vm, 256);
	/* Multi-segment read at an odd sector. */
	rc = request(&t, 0, 37, segs, 5, &data, &used);
	CHECK_EQ(rc, 0);
	CHECK_EQ(used, 9728 + 1);
	CHECK(data_matches(&t, data, 37 * 512, 9728));
	/* Multi-segment write, checked on the host. */
	rc = request(&t, 0, 0, segs, 1, &data, NULL);	/* get a buffer */
	CHECK_EQ(rc, 0);
	{
		uint64_t hdr_data;
		uint32_t s3[3] = { 4096, 512, 5120 };
		rc = request(&t, 8, 0, (uint32_t[]){ 20 }, 1, &hdr_data, NULL);
		CHECK_EQ(rc, 0);
		CHECK(memcmp(gp(&t, hdr_data, 20), "disk-serial-1", 14) == 0);
		/* Fill then write. */
		uint64_t wgpa = galloc(&t, 9728, 4096);
		p = gp(&t, wgpa, 9728);
		for (i = 0; i < 9728; i++)
			p[i] = (uint8_t)(0xa5 ^ i);
		/* request() allocates its own buffer; write through it. */
		struct tbuf b[5];
		uint64_t hdr = galloc(&t, 16, 16), st = galloc(&t, 1, 1);
		uint32_t type = 1;
		uint64_t sector = 100;
		memset(gp(&t, hdr, 16), 0, 16);
		memcpy(gp(&t, hdr, 16), &type, 4);
		memcpy((uint8_t *)gp(&t, hdr, 16) + 8, &sector, 8);
		b[0] = (struct tbuf){ hdr, 16, false };
		b[1] = (struct tbuf){ wgpa, s3[0], false };
		b[2] = (struct tbuf){ wgpa + 4096, s3[1], false };
		b[3] = (struct tbuf){ wgpa + 4608, s3[2], false };
		b[4] = (struct tbuf){ st, 1, true };
		uint16_t want = (uint16_t)(t.q[0].avail_idx + 1);
		drv_avail(&t, 0, drv_chain(&t, 0, b, 5));
		drv_kick(&t, 0);
		CHECK_EQ(drv_wait_used(&t, 0, want, 5000), 0);
		CHECK_EQ(*(uint8_t *)gp(&t, st, 1), 0);
		CHECK_EQ(drv_used_elem(&t, 0, (uint16_t)(want - 1)).len, 1);
		fd = open(img, O_RDONLY);
		CHECK(pread(fd, buf, sizeof(buf), 100 * 512) == (ssize_t)sizeof(buf));
		close(fd);
		CHECK(memcmp(buf, p, sizeof(buf)) == 0);
		/* The sector after it is untouched. */
		fd = open(img, O_RDONLY);
		CHECK(pread(fd, buf, 512, 100 * 512 + 9728) == 512);
		close(fd);
		CHECK_EQ(buf[0], pattern(100 * 512 + 9728));
	}
	/* Flush. */
	rc = request(&t, 4, 0, NULL, 0, &data, &used);
	CHECK_EQ(rc, 0);
	CHECK_EQ(used, 1);
	/* A big request of many segments: 200 x 4 KiB, read back what we wrote. */
	for (i = 0; i < 200; i++)
		big[i] = 4096;
	rc = request(&t, 0, 64, big, 200, &data, &used);
	CHECK_EQ(rc, 0);
	CHECK_EQ(used, 200 * 4096 + 1);
	CHECK(data_matches(&t, data, 64 * 512, 100 * 512 - 64 * 512));
	p = gp(&t, data + (100 - 64) * 512, 16);
	CHECK_EQ(p[0], 0xa5);
	CHECK_EQ(p[1], 0xa4);
	/* The last sector; then one past the end, and a range across it. */
	rc = request(&t, 0, SECTORS - 1, (uint32_t[]){ 512 }, 1, &data, NULL);
	CHECK_EQ(rc, 0);
	CHECK(data_matches(&t, data, IMG_SIZE - 512, 512));
	cap_begin();
	rc = request(&t, 0, SECTORS, (uint32_t[]){ 512 }, 1, &data, &used);
	CHECK_EQ(rc, 1);	/* IOERR */
	rc = request(&t, 1, SECTORS - 1, (uint32_t[]){ 1024 }, 1, &data, NULL);
	CHECK_EQ(rc, 1);
	rc = request(&t, 0, ~0ULL - 1, (uint32_t[]){ 1024 }, 1, &data, NULL);
	CHECK_EQ(rc, 1);
	/* Not whole sectors. */
	rc = request(&t, 0, 0, (uint32_t[]){ 100 }, 1, &data, NULL);
	CHECK_EQ(rc, 1);
	(void)cap_end();
	/* Unsupported type. */
	rc = request(&t, 11, 0, NULL, 0, &data, NULL);
	CHECK_EQ(rc, 2);
	/* None of this broke the device. */
	CHECK_EQ(drv_status(&t) & VIRTIO_S_NEEDS_RESET, 0);
	drv_set_status(&t, 0);
}

static void
test_any_layout(struct vm *vm)
{
	struct tdrv t;
	uint64_t hdr, data;
	struct tbuf b[4];
	uint32_t type = 0;
	uint64_t sector = 5;
	uint16_t want;
	uint8_t *d;

	setup(&t, vm, 16);
	/* Header split 6 + 10; data and status in one writable buffer. */
	hdr = galloc(&t, 16, 16);
	memset(gp(&t, hdr, 16), 0, 16);
	memcpy(gp(&t, hdr, 16), &type, 4);
	memcpy((uint8_t *)gp(&t, hdr, 16) + 8, &sector, 8);
	data = galloc(&t, 1025, 4096);
	memset(gp(&t, data, 1025), 0xee, 1025);
	b[0] = (struct tbuf){ hdr, 6, false };
	b[1] = (struct tbuf){ hdr + 6, 10, false };
	b[2] = (struct tbuf){ data, 1025, true };
	want = (uint16_t)(t.q[0].avail_idx + 1);
	drv_avail(&t, 0, drv_chain(&t, 0, b, 3));
	drv_kick(&t, 0);
	CHECK_EQ(drv_wait_used(&t, 0, want, 5000), 0);
	d = gp(&t, data, 1025);
	CHECK_EQ(d[1024], 0);
	CHECK(data_matches(&t, data, 5 * 512, 1024));
	CHECK_EQ(drv_used_elem(&t, 0, 0).len, 1025);
	/* Zero-length descriptors in the middle are harmless. */
	b[0] = (struct tbuf){ hdr, 16, false };
	b[1] = (struct tbuf){ data, 0, true };
	b[2] = (struct tbuf){ data, 512, true };
	b[3] = (struct tbuf){ data + 512, 1, true };
	want++;
	drv_avail(&t, 0, drv_chain(&t, 0, b, 4));
	drv_kick(&t, 0);
	CHECK_EQ(drv_wait_used(&t, 0, want, 5000), 0);
	CHECK_EQ(d[512], 0);
	CHECK_EQ(drv_status(&t) & VIRTIO_S_NEEDS_RESET, 0);
	drv_set_status(&t, 0);
}

static void
test_ro(void)
{
	struct vm *vm = vm_new_for_test(MEM);
	struct tdrv t;
	struct dev *d;
	uint64_t data, f;
	uint8_t before[512], after[512];
	int fd, rc;

	d = blk_add(vm, img, "true", NULL);
	CHECK(d != NULL);
	if (d == NULL) {
		vm_free(vm);
		return;
	}
	CHECK_EQ(drv_attach(&t, vm, SLOT), 0);
	f = drv_device_features(&t);
	CHECK(f & (1ULL << 5));		/* VIRTIO_BLK_F_RO */
	setup(&t, vm, 16);
	fd = open(img, O_RDONLY);
	CHECK(pread(fd, before, 512, 0) == 512);
	rc = request(&t, 1, 0, (uint32_t[]){ 512 }, 1, &data, NULL);
	CHECK_EQ(rc, 1);
	CHECK(pread(fd, after, 512, 0) == 512);
	close(fd);
	CHECK(memcmp(before, after, 512) == 0);
	rc = request(&t, 0, 0, (uint32_t[]){ 512 }, 1, &data, NULL);
	CHECK_EQ(rc, 0);
	CHECK(memcmp(gp(&t, data, 512), before, 512) == 0);
	rc = request(&t, 4, 0, NULL, 0, &data, NULL);
	CHECK_EQ(rc, 0);
	vm_free(vm);
}

static void
test_config_errors(void)
{
	struct vm *vm = vm_new_for_test(MEM);
	const char *log;

	cap_begin();
	CHECK(blk_add(vm, "/nonexistent/disk.img", NULL, NULL) == NULL);
	log = cap_end();
	CHECK_HAS(log, "/nonexistent/disk.img");
	CHECK_HAS(log, "No such file");
	vm_free(vm);

	vm = vm_new_for_test(MEM);
	cap_begin();
	CHECK(blk_add(vm, img, "maybe", NULL) == NULL);
	log = cap_end();
	CHECK_HAS(log, "pci.0.3.0.ro");
	vm_free(vm);

	vm = vm_new_for_test(MEM);
	cap_begin();
	CHECK(vm_test_dev_add(vm, "virtio-blk", "pci.0.3.0", "virtio-blk@0") ==
	    NULL);
	log = cap_end();
	CHECK_HAS(log, "pci.0.3.0.path");
	vm_free(vm);

	vm = vm_new_for_test(MEM);
	cap_begin();
	CHECK(blk_add(vm, "/tmp", NULL, NULL) == NULL);
	log = cap_end();
	CHECK_HAS(log, "/tmp");
	vm_free(vm);
}

/*
 * ro is read as every boolean key of hyve, x86.strictio for one: the same
 * spellings with the same meaning, and for a bad value the same message
 * but for the key's name.
 */
static void
test_ro_spellings(void)
{
	static const char *const vals[] = { "true", "TRUE", "Yes", "on", "1",
	    "false", "FALSE", "No", "OFF", "0", "maybe", "2", "", "tru" };
	static const char skey[] = "x86.strictio";
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct vm *vm = vm_new_for_test(MEM);
		char *slog, *blog, *want = NULL, *p;
		struct tdrv t;
		struct dev *d;
		bool strict = false;
		int rc;

		vm_test_cfg_set(vm, skey, vals[i]);
		cap_begin();
		rc = vm_cfg_get_bool(vm, skey, false, &strict);
		slog = strdup(cap_end());
		cap_begin();
		d = blk_add(vm, img, vals[i], NULL);
		blog = strdup(cap_end());
		CHECK(slog != NULL && blog != NULL);
		if (slog == NULL || blog == NULL)
			goto next;
		if (rc != 0) {
			CHECK(d == NULL);
			/* The key in the message is the only difference. */
			p = strstr(slog, skey);
			CHECK(p != NULL);
			if (p == NULL || asprintf(&want, "%.*spci.0.3.0.ro%s",
			    (int)(p - slog), slog, p + strlen(skey)) < 0) {
				want = NULL;
				goto next;
			}
			if (strcmp(want, blog) != 0)
				fprintf(stderr, "ro=\"%s\": got '%s', want '%s'\n",
				    vals[i], blog, want);
			CHECK(strcmp(want, blog) == 0);
			goto next;
		}
		CHECK(d != NULL);
		CHECK_EQ(blog[0], '\0');
		if (d == NULL)
			goto next;
		CHECK_EQ(drv_attach(&t, vm, SLOT), 0);
		if (((drv_device_features(&t) >> 5) & 1) != strict)	/* F_RO */
			fprintf(stderr, "ro=\"%s\" is read as %s\n", vals[i],
			    strict ? "false" : "true");
		CHECK_EQ((drv_device_features(&t) >> 5) & 1, (uint64_t)strict);
next:
		free(want);
		free(slog);
		free(blog);
		vm_free(vm);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/*
 * bps limits the bytes a disk moves per second.  Only a lower bound on the
 * time is asserted: the limiter must hold requests back, and a slow machine
 * can only make it take longer.
 */
static void
test_bps(void)
{
	struct vm *vm = vm_new_for_test(MEM);
	struct tdrv t;
	uint64_t data;
	double t0, dt;
	const char *log;
	int i;

	vm_test_cfg_set(vm, "pci.0.3.0.bps", "256K");
	CHECK(blk_add(vm, img, NULL, NULL) != NULL);
	setup(&t, vm, 16);
	/* The first 64 KiB go at once; each further 64 KiB waits 1/4 s. */
	t0 = now_s();
	for (i = 0; i < 4; i++) {
		/* Far from the sectors the earlier tests wrote. */
		CHECK_EQ(request(&t, 0, 12288 + (uint64_t)i * 128,
		    (uint32_t[]){ 65536 }, 1, &data, NULL), 0);
		CHECK(data_matches(&t, data, (12288 + (uint64_t)i * 128) * 512,
		    65536));
	}
	dt = now_s() - t0;
	CHECK(dt >= 0.70);
	vm_free(vm);

	vm = vm_new_for_test(MEM);
	vm_test_cfg_set(vm, "pci.0.3.0.bps", "fast");
	cap_begin();
	CHECK(blk_add(vm, img, NULL, NULL) == NULL);
	log = cap_end();
	CHECK_HAS(log, "pci.0.3.0.bps");
	CHECK_HAS(log, "fast");
	vm_free(vm);
}

/* Queue a read of @len bytes at @sector without kicking; the data's gpa in *@data, status in *@st. */
static void
queue_read(struct tdrv *t, uint64_t sector, uint32_t len, uint64_t *data,
    uint64_t *st)
{
	struct tbuf b[3];
	uint64_t hdr = galloc(t, 16, 16);
	uint32_t type = 0;

	*data = galloc(t, len, 4096);
	*st = galloc(t, 1, 1);
	memcpy(gp(t, hdr, 16), &type, 4);
	memcpy((uint8_t *)gp(t, hdr, 16) + 8, &sector, 8);
	*(uint8_t *)gp(t, *st, 1) = 0xee;
	b[0] = (struct tbuf){ hdr, 16, false };
	b[1] = (struct tbuf){ *data, len, true };
	b[2] = (struct tbuf){ *st, 1, true };
	drv_avail(t, 0, drv_chain(t, 0, b, 3));
}

/*
 * pause and reset finish the requests in flight without the bandwidth
 * limit's delay, and forgive what the limiter still owed: with bps=1K a
 * guest that queued 4 x 64 KiB held pause, a checkpoint, and its own reset
 * (a vCPU) back for over 3 minutes, for hours with larger requests (found
 * by fuzz/fuzz_hyve_virtq.c: timeouts).  The watchdog is far below what
 * the limiter would take, and far above what a slow machine needs.
 */
static void
test_bps_pause(void)
{
	struct vm *vm = vm_new_for_test(MEM);
	struct tdrv t;
	struct dev *d;
	uint64_t data[4], st[4], one;
	unsigned i;

	vm_test_cfg_set(vm, "pci.0.3.0.bps", "1K");
	d = blk_add(vm, img, NULL, NULL);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	setup(&t, vm, 16);
	for (i = 0; i < 4; i++)
		queue_read(&t, 12288 + 128ULL * i, 65536, &data[i], &st[i]);
	drv_kick(&t, 0);
	alarm(60);
	CHECK_EQ(d->emu->pause(d), 0);
	alarm(0);
	CHECK_EQ(drv_used_idx(&t, 0), 4);
	for (i = 0; i < 4; i++) {
		CHECK_EQ(*(uint8_t *)gp(&t, st[i], 1), 0);
		CHECK(data_matches(&t, data[i], (12288 + 128ULL * i) * 512, 65536));
	}
	/* Nothing owed after the pause: the next request goes at once. */
	CHECK_EQ(d->emu->resume(d), 0);
	CHECK_EQ(request(&t, 0, 12288, (uint32_t[]){ 512 }, 1, &one, NULL), 0);
	/* The same for a reset by the driver, which drains on its vCPU. */
	for (i = 0; i < 2; i++)
		queue_read(&t, 12288 + 128ULL * i, 65536, &data[i], &st[i]);
	drv_kick(&t, 0);
	alarm(60);
	drv_set_status(&t, 0);
	alarm(0);
	CHECK_EQ(drv_status(&t), 0);
	for (i = 0; i < 2; i++)
		CHECK_EQ(*(uint8_t *)gp(&t, st[i], 1), 0);
	vm_free(vm);
}

/*
 * Pause returns only when every request taken from the ring is on the used
 * ring; while paused nothing is written and kicks wait for resume.
 */
static void
slow_io(void)
{
	usleep(50000);
}

static void
test_pause(struct vm *vm, struct dev *d)
{
	struct tdrv t;
	struct tbuf b[3];
	uint64_t hdr[32], st[32], data;
	uint16_t used_before, used_after;
	uint32_t type = 0;
	uint64_t sector;
	unsigned i, n = 32;
	uint8_t snap[64];

	setup(&t, vm, 256);
	data = galloc(&t, 1ULL << 20, 4096);
	for (i = 0; i < n; i++) {
		hdr[i] = galloc(&t, 16, 16);
		st[i] = galloc(&t, 1, 1);
		sector = (i % 8) * 2048;
		memset(gp(&t, hdr[i], 16), 0, 16);
		memcpy(gp(&t, hdr[i], 16), &type, 4);
		memcpy((uint8_t *)gp(&t, hdr[i], 16) + 8, &sector, 8);
		*(uint8_t *)gp(&t, st[i], 1) = 0xee;
		b[0] = (struct tbuf){ hdr[i], 16, false };
		b[1] = (struct tbuf){ data, 1U << 20, true };
		b[2] = (struct tbuf){ st[i], 1, true };
		drv_avail(&t, 0, drv_chain(&t, 0, b, 3));
	}
	virtio_blk_test_io_hook = slow_io;	/* 32 requests x 50 ms on 2 threads */
	drv_kick(&t, 0);
	used_before = drv_used_idx(&t, 0);
	CHECK_EQ(d->emu->pause(d), 0);
	used_after = drv_used_idx(&t, 0);
	virtio_blk_test_io_hook = NULL;
	CHECK(used_before < n);		/* they were in flight */
	fprintf(stderr, "pause: %u of %u requests done before pause, %u after\n",
	    used_before, n, used_after);
	CHECK_EQ(used_after, n);
	for (i = 0; i < n; i++)
		CHECK_EQ(*(uint8_t *)gp(&t, st[i], 1), 0);
	/* Paused: a kick is remembered, not served. */
	{
		uint64_t h2 = galloc(&t, 16, 16), s2 = galloc(&t, 1, 1);
		type = 8;
		memset(gp(&t, h2, 16), 0, 16);
		memcpy(gp(&t, h2, 16), &type, 4);
		*(uint8_t *)gp(&t, s2, 1) = 0xee;
		b[0] = (struct tbuf){ h2, 16, false };
		b[1] = (struct tbuf){ data, 20, true };
		b[2] = (struct tbuf){ s2, 1, true };
		drv_avail(&t, 0, drv_chain(&t, 0, b, 3));
		drv_kick(&t, 0);
		memcpy(snap, gp(&t, t.q[0].used, 64), 64);
		usleep(50000);
		CHECK_EQ(drv_used_idx(&t, 0), n);
		CHECK(memcmp(snap, gp(&t, t.q[0].used, 64), 64) == 0);
		CHECK_EQ(*(uint8_t *)gp(&t, s2, 1), 0xee);
		CHECK_EQ(d->emu->resume(d), 0);
		CHECK_EQ(drv_wait_used(&t, 0, (uint16_t)(n + 1), 5000), 0);
		CHECK_EQ(*(uint8_t *)gp(&t, s2, 1), 0);
	}
	drv_set_status(&t, 0);
}

/* Save a running device, restore into a new VM with a copy of RAM, go on. */
static void
test_checkpoint(struct vm *vm, struct dev *d)
{
	struct tdrv t, t2;
	struct vm *vm2;
	struct dev *d2;
	ckp_doc_t *doc;
	ckp_io_t *io;
	uint64_t data;
	int rc;

	setup(&t, vm, 64);
	CHECK_EQ(request(&t, 0, 10, (uint32_t[]){ 4096 }, 1, &data, NULL), 0);
	CHECK_EQ(request(&t, 8, 0, (uint32_t[]){ 20 }, 1, &data, NULL), 0);
	CHECK_EQ(d->emu->pause(d), 0);
	doc = ckp_doc_new("test");
	io = ckp_io_new(doc, CKP_IO_SAVE);
	ckp_io_enter(io, d->id, d->emu->version);
	rc = d->emu->save(d, io);
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK_EQ(rc, 0);
	if (rc != 0)
		fprintf(stderr, "save: %s\n", ckp_doc_errmsg(doc));
	CHECK(ckp_doc_find(doc, "virtio-blk@0.path") != NULL);
	CHECK(ckp_doc_find(doc, "virtio-blk@0.image_mtime_ns") != NULL);
	CHECK(ckp_doc_find(doc, "virtio-blk@0.virtio.queue@0.last_avail_idx") != NULL);
	CHECK(ckp_doc_find(doc, "virtio-blk@0.virtio.queue@0.desc") != NULL);
	CHECK(ckp_doc_find(doc, "virtio-blk@0.pci.msix.vector@1.addr") != NULL);
	CHECK(ckp_doc_find(doc, "virtio-blk@0.pci.cfg") != NULL);
	CHECK_EQ(d->emu->resume(d), 0);

	vm2 = vm_new_for_test(MEM);
	d2 = blk_add(vm2, img, NULL, "disk-serial-1");
	CHECK(d2 != NULL);
	if (d2 == NULL)
		goto out;
	/* Guest RAM first, as a restore does. */
	memcpy(vm_gpa_ptr(vm2, 0, MEM), vm_gpa_ptr(vm, 0, MEM), MEM);
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	ckp_io_enter(io, d2->id, d2->emu->version);
	rc = d2->emu->restore(d2, io);
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK_EQ(rc, 0);
	if (rc != 0)
		fprintf(stderr, "restore: %s\n", ckp_doc_errmsg(doc));
	CHECK_EQ(d2->emu->resume(d2), 0);
	/* The driver goes on in the new VM as if nothing happened. */
	t2 = t;
	t2.vm = vm2;
	CHECK_EQ(drv_status(&t2), drv_status(&t));
	CHECK_EQ(mmio_rd(vm2, t2.common + 0x1c, 2), 1);
	vm_test_irq_clear(vm2);
	CHECK_EQ(request(&t2, 0, 20, (uint32_t[]){ 2048, 2048 }, 2, &data, NULL), 0);
	CHECK(data_matches(&t2, data, 20 * 512, 4096));
	CHECK_EQ(msi_count(vm2, 1), 1);
	CHECK_EQ(drv_used_idx(&t2, 0), 3);

	/* A section from a newer hyve is refused with a clear message. */
	{
		ckp_sec_t *s = ckp_sec_find(ckp_doc_root(doc), "virtio-blk@0");
		s = ckp_sec_find(s, "virtio");
		ckp_sec_set_version(s, 99);
		io = ckp_io_new(doc, CKP_IO_RESTORE);
		ckp_io_enter(io, d2->id, d2->emu->version);
		rc = d2->emu->restore(d2, io);
		ckp_io_free(io);
		CHECK(rc < 0);
		CHECK_HAS(ckp_doc_errmsg(doc), "virtio");
	}
out:
	vm_free(vm2);
	ckp_doc_free(doc);
	drv_set_status(&t, 0);
}

static void
warn_count(void *arg, const char *msg)
{
	(*(int *)arg)++;
	fprintf(stderr, "warning: %s\n", msg);
}

/* Restore @doc into @d itself: the number of warnings, or -1 on an error. */
static int
restore_warnings(struct dev *d, ckp_doc_t *doc)
{
	ckp_io_t *io;
	int nwarn = 0, rc;

	ckp_doc_set_warn(doc, warn_count, &nwarn);
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	ckp_io_enter(io, d->id, d->emu->version);
	rc = d->emu->restore(d, io);
	ckp_io_leave(io);
	ckp_io_free(io);
	ckp_doc_set_warn(doc, NULL, NULL);
	if (rc != 0)
		fprintf(stderr, "restore: %s\n", ckp_doc_errmsg(doc));
	return (rc != 0 ? -1 : nwarn);
}

/*
 * A save writes the disk's size and mtime as they are now, and leaves the
 * device's own (those at open) alone: a restore compares the checkpoint's
 * with what the device saw at open, so a save that updated them would hide
 * a disk changed behind the device's back.
 */
static void
test_save_keeps_image(void)
{
	struct timespec later[2] = { { .tv_sec = 1000000000 },
	    { .tv_sec = 1000000000 } };
	struct vm *vm = vm_new_for_test(MEM);
	struct stat sb;
	struct dev *d;
	ckp_doc_t *doc;
	ckp_ent_t *e;
	ckp_io_t *io;
	char *text, open_ns[32];
	int rc;

	CHECK_EQ(stat(img, &sb), 0);
	/* 64-bit fields are hexadecimal in a document. */
	snprintf(open_ns, sizeof(open_ns), "%llx",
	    (unsigned long long)sb.st_mtim.tv_sec * 1000000000 +
	    (unsigned long long)sb.st_mtim.tv_nsec);
	d = blk_add(vm, img, NULL, NULL);
	CHECK(d != NULL);
	if (d == NULL)
		goto out;
	/* The disk changes after the device opened it. */
	CHECK_EQ(utimensat(AT_FDCWD, img, later, 0), 0);
	CHECK_EQ(d->emu->pause(d), 0);
	doc = ckp_doc_new("test");
	io = ckp_io_new(doc, CKP_IO_SAVE);
	ckp_io_enter(io, d->id, d->emu->version);
	rc = d->emu->save(d, io);
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK_EQ(rc, 0);
	e = ckp_doc_find(doc, "virtio-blk@0.image_mtime_ns");
	CHECK(e != NULL);
	if (e == NULL)
		goto out_doc;
	text = ckp_ent_text(e);
	/* The disk as it is now. */
	CHECK(text != NULL && strtoull(text, NULL, 16) == 1000000000000000000ULL);
	free(text);
	/* Restored into the same device: it still holds the mtime at open. */
	CHECK_EQ(restore_warnings(d, doc), 1);
	CHECK_EQ(ckp_ent_set_text(e, open_ns), 0);
	CHECK_EQ(restore_warnings(d, doc), 0);
	CHECK_EQ(d->emu->resume(d), 0);
out_doc:
	ckp_doc_free(doc);
out:
	vm_free(vm);
}

int
main(void)
{
	struct vm *vm;
	struct dev *d;

	make_image();
	vm = vm_new_for_test(MEM);
	d = blk_add(vm, img, "false", "disk-serial-1");
	CHECK(d != NULL);
	if (d == NULL)
		TEST_END();
	test_rw(vm);
	test_any_layout(vm);
	test_pause(vm, d);
	test_checkpoint(vm, d);
	vm_free(vm);
	test_ro();
	test_config_errors();
	test_ro_spellings();
	test_bps();
	test_bps_pause();
	test_save_keeps_image();
	unlink(img);
	TEST_END();
}
