/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Checkpoint streams in files (docs/MIGRATION.md sections 5 and 8): a
 * checkpoint written as the one-way stream hyve's source would send, and
 * such a stream read back, checked and published as a checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckps.h"

#ifndef CKP_FRAME_HELLO
/*
 * Until libckp has the frame types (the lead's "libckp: checkpoint stream
 * frames and a RAM receiver"): MIGRATION.md section 5, little-endian.
 */
#define CKP_FRAME_HELLO		0x01
#define CKP_FRAME_PAGES		0x10
#define CKP_FRAME_ROUND		0x12
#define CKP_FRAME_STATE		0x20
#define CKP_FRAME_END		0x21
#define CKP_FRAME_PAGES_MAX	(4u << 20)

static void
le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
ckp_frame_pages_head(uint8_t out[8], uint64_t off)
{
	le64(out, off);
}

static void
ckp_frame_round_make(uint8_t out[16], uint32_t round, uint64_t pages)
{
	le64(out, round);
	le64(out + 8, pages);
}
#endif

#define PAGE		4096u
#define CHUNK		(1u << 20)	/* ckp_ram_sum's chunk, RAMFILE.md */
#define BLOCK		CKP_FRAME_PAGES_MAX	/* RAM read per pass step */

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

int
ckps_key_load(const char *path, uint8_t **keyp, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat st;
	uint8_t *key = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc;

	*keyp = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return fail(err, errlen, -errno, "key file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = fail(err, errlen, -errno, "key file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(err, errlen, -EINVAL, "key file %s is not a regular "
		    "file", path);
		goto out;
	}
	/* A secret others can read is no secret; one they can write, no key. */
	if (st.st_mode & 077) {
		rc = fail(err, errlen, -EPERM, "key file %s has mode %04o: "
		    "group or others may read or write it (chmod 600 %s)", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size < CKP_STREAM_MIN_KEY || st.st_size > CKPS_KEY_MAX) {
		rc = fail(err, errlen, -EINVAL, "key file %s holds %lld bytes: "
		    "a key is %d to %d bytes, used as is (a trailing newline "
		    "included)", path, (long long)st.st_size, CKP_STREAM_MIN_KEY,
		    CKPS_KEY_MAX);
		goto out;
	}
	if ((key = malloc((size_t)st.st_size)) == NULL) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, key + got, (size_t)st.st_size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fail(err, errlen, -errno, "key file %s: %s", path,
			    strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size) {
		rc = fail(err, errlen, -EIO, "key file %s changed while it was "
		    "read", path);
		goto out;
	}
	*keyp = key;
	*lenp = got;
	key = NULL;
	rc = 0;
out:
	ckps_key_free(key, key != NULL ? (size_t)st.st_size : 0);
	close(fd);
	return rc;
}

void
ckps_key_free(uint8_t *key, size_t len)
{
	if (key == NULL)
		return;
	/* volatile: the wipe of memory about to be freed must not be elided */
	for (volatile uint8_t *p = key; len > 0; len--)
		*p++ = 0;
	free(key);
}

int
ckps_is_stream(const char *path)
{
	struct stat st;
	char magic[4];
	int fd, r = 0;

	if (strcmp(path, "-") == 0)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0)
		return 0;
	/* A FIFO is never peeked at: the bytes read would be gone. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    pread(fd, magic, 4, 0) == 4 && memcmp(magic, "CKPS", 4) == 0)
		r = 1;
	close(fd);
	return r;
}

/* ------------------------------------------------------------------ */
/* HELLO                                                               */
/* ------------------------------------------------------------------ */

/* The number @p s spells, all digits and at most 255; -1 otherwise. */
static int
small_num(const char *s)
{
	int v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= 255 ? v : -1;
}

struct disk {
	int	b, s, f;
};

static int
diskcmp(const void *a, const void *b)
{
	const struct disk *x = a, *y = b;

	if (x->b != y->b)
		return x->b - y->b;
	if (x->s != y->s)
		return x->s - y->s;
	return x->f - y->f;
}

/*
 * The virtio-blk devices of config section @p cfg, in the order hyve
 * numbers them (vmm/devs.c: vm_devs_plan, PCI slot order): the Nth one is
 * devices.virtio-blk@N.
 */
static int
config_disks(const ckp_sec_t *cfg, struct disk **dp, size_t *np)
{
	ckp_sec_t *pci = cfg != NULL ? ckp_sec_find(cfg, "pci") : NULL;
	struct disk *d = NULL, *t;
	size_t n = 0;

	*dp = NULL;
	*np = 0;
	if (pci == NULL)
		return 0;
	for (ckp_ent_t *eb = ckp_sec_first(pci); eb; eb = ckp_ent_next(eb))
	for (ckp_ent_t *es = ckp_sec_first(ckp_ent_section(eb)); es;
	    es = ckp_ent_next(es))
	for (ckp_ent_t *ef = ckp_sec_first(ckp_ent_section(es)); ef;
	    ef = ckp_ent_next(ef)) {
		ckp_sec_t *fn = ckp_ent_section(ef);
		ckp_ent_t *dev = fn != NULL ? ckp_sec_lookup(fn, "device") : NULL;
		const void *v;
		size_t len;

		if (dev == NULL || ckp_ent_type(dev) != CKP_TYPE_STRING ||
		    ckp_ent_bytes(dev, &v, &len) != 0 ||
		    strcmp(v, "virtio-blk") != 0)
			continue;
		if ((t = realloc(d, (n + 1) * sizeof(*d))) == NULL) {
			free(d);
			return -ENOMEM;
		}
		d = t;
		d[n].b = small_num(ckp_ent_name(eb));
		d[n].s = small_num(ckp_ent_name(es));
		d[n].f = small_num(ckp_ent_name(ef));
		if (d[n].b < 0 || d[n].s < 0 || d[n].f < 0)
			continue;	/* not a key hyve accepts */
		n++;
	}
	if (n > 1)
		qsort(d, n, sizeof(*d), diskcmp);
	*dp = d;
	*np = n;
	return 0;
}

int
ckps_hello(ckp_doc_t *meta, uint64_t ram_size, ckp_doc_t **hellop,
    char *err, size_t errlen)
{
	static const char *const keep[] = { "header", "config", "memory" };
	ckp_doc_t *h = NULL;
	ckp_sec_t *root, *mig, *devs;
	struct disk *d = NULL;
	size_t nd = 0, len, i;
	void *buf = NULL;
	int rc;

	*hellop = NULL;
	/* An exact copy of the sections, through the encoding. */
	if ((rc = ckp_doc_encode(meta, CKP_ENC_BIN, &buf, &len)) != 0)
		return fail(err, errlen, rc, "%s", ckp_doc_errmsg(meta));
	h = ckp_doc_decode(buf, len, "meta", 0);
	free(buf);
	if (h == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	if ((rc = ckp_doc_error(h)) != 0) {
		fail(err, errlen, rc, "%s", ckp_doc_errmsg(h));
		goto out;
	}
	root = ckp_doc_root(h);
	for (ckp_ent_t *e = ckp_sec_first(root), *next; e; e = next) {
		next = ckp_ent_next(e);
		for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (strcmp(ckp_ent_name(e), keep[i]) == 0)
				break;
		if (i == sizeof(keep) / sizeof(keep[0]))
			ckp_sec_remove(root, ckp_ent_name(e));
	}
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (ckp_sec_find(root, keep[i]) == NULL) {
			rc = fail(err, errlen, -EINVAL, "the meta has no %s "
			    "section", keep[i]);
			goto out;
		}
	mig = ckp_sec_add(root, "migration", 1);
	ckp_sec_add_uint64(mig, "ram_size", ram_size);
	ckp_sec_add_uint32(mig, "chunk_size", CHUNK);
	ckp_sec_add_uint32(mig, "page_size", PAGE);
	ckp_sec_add_uint32(mig, "downtime_ms", CKPS_DOWNTIME_MS);
	if ((rc = config_disks(ckp_sec_find(root, "config"), &d, &nd)) != 0) {
		fail(err, errlen, rc, "out of memory");
		goto out;
	}
	devs = ckp_sec_find(ckp_doc_root(meta), "devices");
	for (i = 0; i < nd; i++) {
		char name[32], slot[32];
		ckp_sec_t *blk, *disk;
		uint64_t size;

		snprintf(name, sizeof(name), "virtio-blk@%zu", i);
		blk = devs != NULL ? ckp_sec_find(devs, name) : NULL;
		if (blk == NULL || ckp_sec_get_uint64(blk, "image_size",
		    &size) != 0) {
			rc = fail(err, errlen, -EINVAL, "config.pci.%d.%d.%d is "
			    "a virtio-blk device, but the meta has no "
			    "devices.%s.image_size$uint64", d[i].b, d[i].s,
			    d[i].f, name);
			ckp_doc_clear_error(meta);
			goto out;
		}
		snprintf(slot, sizeof(slot), "pci.%d.%d.%d", d[i].b, d[i].s,
		    d[i].f);
		disk = ckp_sec_addf(mig, 1, "disk@%zu", i);
		ckp_sec_add_string(disk, "slot", slot);
		ckp_sec_add_uint64(disk, "size", size);
	}
	if ((rc = ckp_doc_error(h)) != 0) {
		fail(err, errlen, rc, "%s", ckp_doc_errmsg(h));
		goto out;
	}
	*hellop = h;
	h = NULL;
out:
	free(d);
	ckp_doc_free(h);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Checkpoint to stream                                                */
/* ------------------------------------------------------------------ */

static bool
page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < PAGE / 8; i++)
		if (w[i] != 0)
			return false;
	return true;
}

/* Exactly @p len bytes of @p fd at @p off into @p buf. */
static int
read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, (uint8_t *)buf + got, len - got,
		    (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		got += (size_t)n;
	}
	return 0;
}

static uint64_t
count_nonzero(const uint8_t *buf, size_t len)
{
	uint64_t n = 0;

	for (size_t o = 0; o < len; o += PAGE)
		n += !page_is_zero(buf + o);
	return n;
}

/* PAGES frames for the runs of non-zero pages of @p buf, at RAM @p off. */
static int
send_runs(ckp_stream_t *s, const uint8_t *buf, size_t len, uint64_t off,
    struct ckps_counts *c)
{
	uint8_t head[8];
	size_t o = 0, e;

	while (o < len) {
		if (page_is_zero(buf + o)) {
			o += PAGE;
			continue;
		}
		for (e = o + PAGE; e < len && !page_is_zero(buf + e); e += PAGE)
			;
		ckp_frame_pages_head(head, off + o);
		ckp_iov_t iov[2] = { { head, sizeof(head) },
		    { buf + o, e - o } };
		if (ckp_stream_sendv(s, CKP_FRAME_PAGES, iov, 2) != 0)
			return ckp_stream_error(s);
		c->frames++;
		c->pages += (e - o) / PAGE;
		o = e;
	}
	return 0;
}

int
ckps_write(const char *in, int fd, const char *origin, const uint8_t *key,
    size_t keylen, struct ckps_counts *c, char *err, size_t errlen)
{
	ckp_doc_t *meta, *hello = NULL;
	ckp_stream_t *s = NULL;
	ckp_ram_sum_t *sum = NULL;
	ckp_sec_t *ramsec;
	char ram[4096];
	uint8_t *buf = NULL, round[16];
	uint64_t size, off, npages = 0, sent;
	int rfd = -1, rc;

	memset(c, 0, sizeof(*c));
	/* RAM is checked below, as it is read: one pass, not two. */
	meta = ckp_checkpoint_open(in, CKP_OPEN_NORAMCHECK);
	if (meta == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	if ((rc = ckp_doc_error(meta)) != 0) {
		fail(err, errlen, rc, "%s", ckp_doc_errmsg(meta));
		goto out;
	}
	if ((ramsec = ckp_sec_require(ckp_doc_root(meta), "ram", 1)) == NULL ||
	    ckp_sec_get_uint64(ramsec, "size", &size) != 0) {
		rc = fail(err, errlen, -EINVAL, "%s", ckp_doc_errmsg(meta));
		goto out;
	}
	if ((rc = ckp_ram_path(in, ram, sizeof(ram))) != 0) {
		fail(err, errlen, rc, "%s: not a checkpoint name", in);
		goto out;
	}
	if ((rfd = open(ram, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = fail(err, errlen, -errno, "RAM file %s: %s", ram,
		    strerror(errno));
		goto out;
	}
	if ((rc = ckps_hello(meta, size, &hello, err, errlen)) != 0)
		goto out;
	if ((buf = malloc(BLOCK)) == NULL ||
	    (sum = ckp_ram_sum_new(size)) == NULL) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	/* ROUND 0 announces its pages before the first is sent. */
	for (off = 0; off < size; off += BLOCK) {
		size_t len = size - off < BLOCK ? (size_t)(size - off) : BLOCK;

		if ((rc = read_at(rfd, buf, len, off)) != 0)
			goto rderr;
		npages += count_nonzero(buf, len);
	}
	s = ckp_stream_new(fd, CKP_STREAM_WRITER, key, key != NULL ? keylen : 0,
	    CKP_STREAM_ONEWAY, origin);
	if (s == NULL) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	ckp_frame_round_make(round, 0, npages);
	if (ckp_stream_start(s) != 0 ||
	    ckp_stream_send_doc(s, CKP_FRAME_HELLO, hello) != 0 ||
	    ckp_stream_send(s, CKP_FRAME_ROUND, round, sizeof(round)) != 0)
		goto serr;
	c->frames = 2;
	c->rounds = 1;
	for (off = 0; off < size; off += BLOCK) {
		size_t len = size - off < BLOCK ? (size_t)(size - off) : BLOCK;

		if ((rc = read_at(rfd, buf, len, off)) != 0)
			goto rderr;
		for (size_t o = 0; o < len; o += CHUNK)
			ckp_ram_sum_chunk(sum, (off + o) / CHUNK, buf + o);
		if (send_runs(s, buf, len, off, c) != 0)
			goto serr;
	}
	/* What was sent is what the meta describes, or nothing is published. */
	if ((rc = ckp_ram_sum_check(sum, meta, err, errlen)) != 0) {
		char why[512];
		const char *w = why;

		snprintf(why, sizeof(why), "%s", err);
		/* ckp_ram_sum_check() speaks of RAM received; this was read */
		if (strncmp(w, "RAM received: ", 14) == 0)
			w += 14;
		fail(err, errlen, rc, "RAM file %s: %s", ram, w);
		goto out;
	}
	if (c->pages != npages) {
		rc = fail(err, errlen, -EAGAIN, "RAM file %s changed while it "
		    "was read (%llu non-zero pages, then %llu)", ram,
		    (unsigned long long)npages, (unsigned long long)c->pages);
		goto out;
	}
	if (ckp_stream_send_doc(s, CKP_FRAME_STATE, meta) != 0 ||
	    ckp_stream_send(s, CKP_FRAME_END, NULL, 0) != 0)
		goto serr;
	c->frames += 2;
	ckp_stream_counters(s, &sent, NULL);
	c->bytes = sent;
	rc = 0;
	goto out;
rderr:
	fail(err, errlen, rc, "RAM file %s: %s", ram, rc == -ENODATA ?
	    "shorter than the meta's ram.size" : strerror(-rc));
	goto out;
serr:
	rc = fail(err, errlen, ckp_stream_error(s), "%s", ckp_stream_errmsg(s));
out:
	ckp_stream_free(s);
	ckp_ram_sum_free(sum);
	free(buf);
	if (rfd >= 0)
		close(rfd);
	ckp_doc_free(hello);
	ckp_doc_free(meta);
	return rc;
}
