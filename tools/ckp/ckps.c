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

/* ------------------------------------------------------------------ */
/* Stream to checkpoint                                                */
/* ------------------------------------------------------------------ */

/* Where the reader is: what it expects next. */
enum rstate { R_HELLO, R_ROUND, R_RAM, R_END, R_EOF };

static const char *const expected[] = {
	[R_HELLO] = "HELLO",
	[R_ROUND] = "ROUND",
	[R_RAM] = "PAGES, ZERO, ROUND or STATE",
	[R_END] = "END",
	[R_EOF] = "the end of the stream",
};

struct rd {
	struct ckps_in	*in;
	const char	*origin;
	unsigned	 flags;
	uint64_t	 max_ram;
	uint64_t	 n;		/* the frame being read */
	char		 what[64];	/* "frame 3 (PAGES)" */
	uint32_t	 next_round;	/* without CKPS_RAM: the order of rounds */
	char		*err;
	size_t		 errlen;
};

static int
rfail(struct rd *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "stream ORIGIN: frame N (TYPE): ...", as libckp names a frame. */
static int
rfail(struct rd *r, int rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "stream %s: %s: %s", r->origin, r->what,
	    msg);
	return rc;
}

/* A document frame's payload, decoded with all of libckp's checks. */
static ckp_doc_t *
frame_doc(struct rd *r, const void *p, size_t len, int *rc)
{
	char origin[4096 + 96], why[256];
	ckp_doc_t *doc;

	snprintf(origin, sizeof(origin), "stream %s: %s", r->origin, r->what);
	if ((doc = ckp_doc_decode(p, len, origin, 0)) == NULL) {
		*rc = rfail(r, -ENOMEM, "out of memory");
		return NULL;
	}
	if ((*rc = ckp_doc_error(doc)) != 0) {
		snprintf(r->err, r->errlen, "%s", ckp_doc_errmsg(doc));
		goto bad;
	}
	if (ckp_doc_check_header(doc, why, sizeof(why)) != 0) {
		*rc = rfail(r, -EBADMSG, "%s", why);
		goto bad;
	}
	return doc;
bad:
	ckp_doc_free(doc);
	return NULL;
}

/* The document's error, named by frame. */
static int
rdocfail(struct rd *r, ckp_doc_t *doc)
{
	int rc = ckp_doc_error(doc);

	return rfail(r, rc != 0 ? rc : -EBADMSG, "%s", ckp_doc_errmsg(doc));
}

static int
hello(struct rd *r, const void *p, size_t len)
{
	struct ckps_in *in = r->in;
	ckp_sec_t *root, *mig, *mem;
	uint64_t size, msize;
	uint32_t chunk, page, down;
	size_t ndisk = 0;
	int rc;

	if ((in->hello = frame_doc(r, p, len, &rc)) == NULL)
		return rc;
	root = ckp_doc_root(in->hello);
	if ((mig = ckp_sec_require(root, "migration", 1)) == NULL ||
	    ckp_sec_require(root, "config", 1) == NULL ||
	    (mem = ckp_sec_require(root, "memory", 1)) == NULL ||
	    ckp_sec_get_uint64(mig, "ram_size", &size) != 0 ||
	    ckp_sec_get_uint32(mig, "chunk_size", &chunk) != 0 ||
	    ckp_sec_get_uint32(mig, "page_size", &page) != 0 ||
	    ckp_sec_get_uint32(mig, "downtime_ms", &down) != 0 ||
	    ckp_sec_get_uint64(mem, "size", &msize) != 0)
		return rdocfail(r, in->hello);
	if (page != PAGE || chunk != CHUNK)
		return rfail(r, -EBADMSG, "migration.page_size %u and "
		    "chunk_size %u: version 1 has 4096 and 1048576", page, chunk);
	if (size == 0 || size % PAGE != 0)
		return rfail(r, -EBADMSG, "migration.ram_size %llu is not a "
		    "positive multiple of 4096", (unsigned long long)size);
	if (size != msize)
		return rfail(r, -EBADMSG, "migration.ram_size is %llu bytes, "
		    "but memory.size says %llu", (unsigned long long)size,
		    (unsigned long long)msize);
	/* ckp holds the RAM it converts: no more than this host has. */
	if (size > r->max_ram)
		return rfail(r, -EFBIG, "migration.ram_size is %llu bytes, more "
		    "than the %llu bytes of memory ckp may hold here",
		    (unsigned long long)size, (unsigned long long)r->max_ram);
	for (ckp_ent_t *e = ckp_sec_first(mig); e; e = ckp_ent_next(e)) {
		ckp_sec_t *d = ckp_ent_section(e);
		char want[32];
		const char *slot;
		uint64_t dsize;

		if (d == NULL)
			continue;
		snprintf(want, sizeof(want), "disk@%zu", ndisk++);
		if (strcmp(ckp_ent_name(e), want) != 0)
			return rfail(r, -EBADMSG, "migration.%s: expected %s",
			    ckp_ent_name(e), want);
		if (ckp_sec_get_string(d, "slot", &slot) != 0 ||
		    ckp_sec_get_uint64(d, "size", &dsize) != 0)
			return rdocfail(r, in->hello);
	}
	in->ram_size = size;
	if (!(r->flags & CKPS_RAM))
		return 0;
	/* Virtual: pages are allocated as PAGES frames write them. */
	in->ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (in->ram == MAP_FAILED) {
		in->ram = NULL;
		return rfail(r, -errno, "mapping %llu bytes of RAM: %s",
		    (unsigned long long)size, strerror(errno));
	}
	ckp_ram_seg_t seg = { .host = in->ram, .file_off = 0, .len = size };
	if ((in->rx = ckp_ram_rx_new(&seg, 1)) == NULL)
		return rfail(r, -ENOMEM, "out of memory");
	return 0;
}

/*
 * Are sections @p a and @p b equal (versions, names, types, values)?
 * The first difference's path goes to @p where.
 */
static bool
sec_equal(const ckp_sec_t *a, const ckp_sec_t *b, char *where, size_t len)
{
	ckp_ent_t *x, *y;

	if (ckp_sec_version(a) != ckp_sec_version(b)) {
		ckp_sec_path(a, where, len);
		return false;
	}
	for (x = ckp_sec_first(a), y = ckp_sec_first(b); x && y;
	    x = ckp_ent_next(x), y = ckp_ent_next(y)) {
		ckp_sec_t *sx = ckp_ent_section(x), *sy = ckp_ent_section(y);

		if (strcmp(ckp_ent_name(x), ckp_ent_name(y)) != 0)
			break;
		if (sx != NULL && sy != NULL) {
			if (!sec_equal(sx, sy, where, len))
				return false;
			continue;
		}
		if (sx != NULL || sy != NULL || !ckp_ent_equal(x, y))
			break;
	}
	if (x == NULL && y == NULL)
		return true;
	ckp_sec_path(a, where, len);
	size_t n = strlen(where);
	snprintf(where + n, len - n, "%s%s", n ? "." : "",
	    ckp_ent_name(x != NULL ? x : y));
	return false;
}

static ckp_sec_t *
disk_sec(const ckp_sec_t *mig, size_t i)
{
	char name[32];

	snprintf(name, sizeof(name), "disk@%zu", i);
	return mig != NULL ? ckp_sec_find(mig, name) : NULL;
}

static int
state(struct rd *r, const void *p, size_t len)
{
	static const char *const same[] = { "config", "memory" };
	struct ckps_in *in = r->in;
	ckp_sec_t *root, *ram, *hmig;
	ckp_doc_t *h = NULL;
	char where[1024], msg[1024];
	uint64_t size;
	int rc;

	if ((in->state = frame_doc(r, p, len, &rc)) == NULL)
		return rc;
	root = ckp_doc_root(in->state);
	if ((ram = ckp_sec_require(root, "ram", 1)) == NULL ||
	    ckp_sec_get_uint64(ram, "size", &size) != 0)
		return rdocfail(r, in->state);
	if (size != in->ram_size)
		return rfail(r, -EBADMSG, "ram.size is %llu bytes, HELLO's "
		    "migration.ram_size %llu", (unsigned long long)size,
		    (unsigned long long)in->ram_size);
	/* One VM from HELLO to STATE: what it was created as is what it is. */
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		ckp_sec_t *a = ckp_sec_require(root, same[i], 1);
		ckp_sec_t *b = ckp_sec_find(ckp_doc_root(in->hello), same[i]);

		if (a == NULL)
			return rdocfail(r, in->state);
		if (!sec_equal(a, b, where, sizeof(where)))
			return rfail(r, -EBADMSG, "%s differs from HELLO's "
			    "(at %s)", same[i], where);
	}
	/* The disks HELLO announced are the ones STATE has. */
	if ((rc = ckps_hello(in->state, size, &h, msg, sizeof(msg))) != 0)
		return rfail(r, rc, "%s", msg);
	hmig = ckp_sec_find(ckp_doc_root(in->hello), "migration");
	for (size_t i = 0;; i++) {
		ckp_sec_t *a = disk_sec(ckp_sec_find(ckp_doc_root(h),
		    "migration"), i);
		ckp_sec_t *b = disk_sec(hmig, i);

		if (a == NULL && b == NULL)
			break;
		if (a == NULL || b == NULL || !sec_equal(a, b, where,
		    sizeof(where))) {
			ckp_doc_free(h);
			return rfail(r, -EBADMSG, "disk@%zu (slot and size) "
			    "differs from HELLO's migration.disk@%zu", i, i);
		}
	}
	ckp_doc_free(h);
	if ((r->flags & CKPS_RAM) &&
	    (rc = ckp_ram_rx_check(in->rx, in->state, msg, sizeof(msg))) != 0)
		return rfail(r, rc, "%s", msg);
	return 0;
}

/* One frame, in state *@p st. */
static int
frame(struct rd *r, enum rstate *st, uint8_t type, const void *p, size_t len)
{
	struct ckps_in *in = r->in;
	char msg[1100];
	uint32_t round;
	uint64_t pages;
	int rc;

	if (type == CKP_FRAME_ABORT) {
		ckp_frame_abort_reason(p, len, msg, sizeof(msg));
		return rfail(r, -ECANCELED, "the writer gave up: %s", msg);
	}
	switch (*st) {
	case R_HELLO:
		if (type != CKP_FRAME_HELLO)
			break;
		*st = R_ROUND;
		return hello(r, p, len);
	case R_ROUND:
	case R_RAM:
		if (type == CKP_FRAME_STATE && *st == R_RAM) {
			*st = R_END;
			return state(r, p, len);
		}
		if (type != CKP_FRAME_ROUND && (*st == R_ROUND ||
		    (type != CKP_FRAME_PAGES && type != CKP_FRAME_ZERO)))
			break;
		*st = R_RAM;
		if (r->flags & CKPS_RAM) {
			rc = ckp_ram_rx_frame(in->rx, type, p, len, msg,
			    sizeof(msg));
			return rc != 0 ? rfail(r, rc, "%s", msg) : 0;
		}
		if (type != CKP_FRAME_ROUND)
			return 0;
		/* Not received, but still in order. */
		if ((rc = ckp_frame_round_parse(p, len, &round, &pages, msg,
		    sizeof(msg))) != 0)
			return rfail(r, rc, "%s", msg);
		if (round != r->next_round)
			return rfail(r, -EBADMSG, "round %u, expected %u", round,
			    r->next_round);
		r->next_round++;
		return 0;
	case R_END:
		if (type != CKP_FRAME_END)
			break;
		if (len != 0)
			return rfail(r, -EBADMSG, "%zu bytes: END is empty", len);
		*st = R_EOF;
		return 0;
	case R_EOF:
		return rfail(r, -EBADMSG, "a frame after END (nothing follows "
		    "END in a one-way stream)");
	}
	return rfail(r, -EBADMSG, "expected %s", expected[*st]);
}

int
ckps_read(int fd, const char *origin, const uint8_t *key, size_t keylen,
    unsigned flags, uint64_t max_ram, struct ckps_in *in, char *err,
    size_t errlen)
{
	struct rd r = { .in = in, .origin = origin, .flags = flags,
	    .max_ram = max_ram, .err = err, .errlen = errlen };
	enum rstate st = R_HELLO;
	ckp_stream_t *s;
	const void *p;
	uint8_t type;
	size_t len;
	int rc;

	memset(in, 0, sizeof(*in));
	s = ckp_stream_new(fd, CKP_STREAM_READER, key, key != NULL ? keylen : 0,
	    CKP_STREAM_ONEWAY, origin);
	if (s == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	if ((rc = ckp_stream_start(s)) != 0)
		goto serr;
	in->peer_flags = ckp_stream_peer_flags(s);
	for (;; r.n++) {
		if ((rc = ckp_stream_recv(s, &type, &p, &len)) == -ENODATA &&
		    st == R_EOF)
			break;
		if (rc == -ENODATA) {
			/* Cut between two frames: the framing cannot tell. */
			rc = fail(err, errlen, -EPROTO, "stream %s: ended after "
			    "%llu frames, expected %s: truncated", origin,
			    (unsigned long long)r.n, expected[st]);
			goto out;
		}
		if (rc != 0)
			goto serr;
		if (ckp_frame_name(type) != NULL)
			snprintf(r.what, sizeof(r.what), "frame %llu (%s)",
			    (unsigned long long)r.n, ckp_frame_name(type));
		else
			snprintf(r.what, sizeof(r.what), "frame %llu (type "
			    "0x%02x)", (unsigned long long)r.n, type);
		if ((rc = frame(&r, &st, type, p, len)) != 0)
			goto out;
	}
	in->c.frames = r.n;
	if (in->rx != NULL)
		ckp_ram_rx_counters(in->rx, &in->c.pages, &in->c.zpages,
		    &in->c.rounds);
	else
		in->c.rounds = r.next_round;
	ckp_stream_counters(s, NULL, &in->c.bytes);
	rc = 0;
	goto out;
serr:
	rc = fail(err, errlen, rc, "%s", ckp_stream_errmsg(s));
out:
	ckp_stream_free(s);
	return rc;
}

void
ckps_in_free(struct ckps_in *in)
{
	ckp_ram_rx_free(in->rx);
	if (in->ram != NULL)
		munmap(in->ram, in->ram_size);
	ckp_doc_free(in->hello);
	ckp_doc_free(in->state);
	memset(in, 0, sizeof(*in));
}

int
ckps_publish(struct ckps_in *in, const char *out, ckp_enc_t enc, char *err,
    size_t errlen)
{
	ckp_ram_seg_t seg = { .host = in->ram, .file_off = 0,
	    .len = in->ram_size };
	ckp_writer_t *w;
	int rc;

	if (in->ram == NULL || in->state == NULL)
		return fail(err, errlen, -EINVAL, "no RAM received");
	if ((rc = ckp_writer_begin(out, in->ram_size, &w, err, errlen)) != 0)
		return rc;
	if ((rc = ckp_writer_put_segs(w, &seg, 1, 0)) != 0) {
		fail(err, errlen, rc, "%s", ckp_writer_errmsg(w));
		ckp_writer_abort(w);
		return rc;
	}
	/* Replaces ram.file (and nothing else: the RAM is what STATE says). */
	return ckp_writer_commit(w, in->state, enc, err, errlen);
}
