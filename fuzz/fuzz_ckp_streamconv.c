/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: ckp's reader of one-way checkpoint streams
 * (tools/ckp/ckps.c: ckps_read, what `ckp convert Y.ckps Z.ckp` and
 * `ckp check Y.ckps` run before anything is written).  All in memory: the
 * stream goes through a socket pair, the RAM into an anonymous mapping;
 * publishing (ckps_publish: libckp's writer, files) is not driven.
 * The first byte picks what the rest is:
 *   0     bytes read as a stream, as they are;
 *   1, 2  edits to a valid stream (HELLO, ROUND 0, PAGES, STATE, END of
 *         64 KiB of RAM), made frame by frame and written by libckp's
 *         writer (unkeyed, keyed), so that the checksums are right and the
 *         reader's own checks are reached: drop, repeat or move a frame,
 *         change its type, change a byte of its payload, add a frame.
 * Never a crash, a leak, an error without a one-line message; an
 * unedited stream is read whole; whatever is read whole holds RAM that
 * matches its STATE.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "../tools/ckp/ckps.c"

#define FRAM	(16 * 4096)
#define MAXFR	16

static const uint8_t fkey[] = "fuzzing key, 32 bytes long......";

struct fr {
	uint8_t	 type;
	size_t	 len;
	uint8_t	*data;		/* owned */
};

/* A socket pair holding @p len bytes for its reading end, then EOF. */
static int
feed(const uint8_t *d, size_t len, int sv[2])
{
	int sz = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (len > 0) {
		ssize_t r = write(sv[1], d, len);
		if (r <= 0) {
			close(sv[0]);
			close(sv[1]);
			return -1;	/* does not fit: not an input for this */
		}
		d += r;
		len -= (size_t)r;
	}
	shutdown(sv[1], SHUT_WR);
	return 0;
}

static uint8_t *
dup_bytes(const void *p, size_t len)
{
	uint8_t *d = malloc(len + 1);

	FUZZ_ASSERT(d != NULL);
	if (len > 0)
		memcpy(d, p, len);
	return d;
}

static void
add_doc(struct fr *f, size_t *n, uint8_t type, ckp_doc_t *doc)
{
	void *buf;
	size_t len;

	FUZZ_ASSERT(ckp_doc_encode(doc, CKP_ENC_BIN, &buf, &len) == 0);
	f[*n].type = type;
	f[*n].data = buf;
	f[*n].len = len;
	(*n)++;
}

/* The frames of the stream ckp writes of a checkpoint of @p ram. */
static size_t
base(struct fr *f, const uint8_t *ram)
{
	ckp_doc_t *meta = ckp_doc_new("fuzz");
	ckp_sec_t *r = ckp_doc_root(meta), *s;
	ckp_ram_sum_t *sum = ckp_ram_sum_new(FRAM);
	ckp_doc_t *hello;
	uint8_t head[8 + FRAM];
	char err[512];
	size_t n = 0;

	s = ckp_sec_add(ckp_sec_add(ckp_sec_add(ckp_sec_add(ckp_sec_add(r,
	    "config", 1), "pci", 0), "0", 0), "3", 0), "0", 0);
	ckp_sec_add_string(s, "device", "virtio-blk");
	s = ckp_sec_add(r, "memory", 1);
	ckp_sec_add_uint64(s, "size", FRAM);
	s = ckp_sec_add(ckp_sec_add(r, "devices", 1), "virtio-blk@0", 1);
	ckp_sec_add_uint64(s, "image_size", 1 << 20);
	FUZZ_ASSERT(sum != NULL && ckp_ram_sum_chunk(sum, 0, ram) == 0);
	FUZZ_ASSERT(ckp_ram_sum_section(sum, meta, "f.ckp") == 0);
	FUZZ_ASSERT(ckps_hello(meta, FRAM, &hello, err, sizeof(err)) == 0);
	add_doc(f, &n, CKP_FRAME_HELLO, hello);
	f[n].type = CKP_FRAME_ROUND;
	f[n].len = 16;
	f[n].data = malloc(16);
	ckp_frame_round_make(f[n].data, 0, 3);
	n++;
	/* pages 1-2 and 9 */
	ckp_frame_pages_head(head, 4096);
	memcpy(head + 8, ram + 4096, 2 * 4096);
	f[n].type = CKP_FRAME_PAGES;
	f[n].data = dup_bytes(head, 8 + 2 * 4096);
	f[n++].len = 8 + 2 * 4096;
	ckp_frame_pages_head(head, 9 * 4096);
	memcpy(head + 8, ram + 9 * 4096, 4096);
	f[n].type = CKP_FRAME_PAGES;
	f[n].data = dup_bytes(head, 8 + 4096);
	f[n++].len = 8 + 4096;
	add_doc(f, &n, CKP_FRAME_STATE, meta);
	f[n].type = CKP_FRAME_END;
	f[n].len = 0;
	f[n++].data = dup_bytes(NULL, 0);
	ckp_doc_free(hello);
	ckp_doc_free(meta);
	ckp_ram_sum_free(sum);
	return n;
}

/* Read @p fd with ckps_read; what is read whole must hold up. */
static int
read_check(int fd, bool keyed)
{
	struct ckps_in in;
	char err[4096];
	int rc;

	err[0] = '\0';
	rc = ckps_read(fd, "fuzz", keyed ? fkey : NULL, keyed ? 32 : 0,
	    CKPS_RAM, 1u << 20, &in, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc < 0 && err[0] != '\0');
		FUZZ_ASSERT(strchr(err, '\n') == NULL);
	} else {
		ckp_ram_sum_t *sum = ckp_ram_sum_new(in.ram_size);
		uint64_t off;

		FUZZ_ASSERT(in.hello != NULL && in.state != NULL &&
		    in.ram != NULL && sum != NULL);
		for (off = 0; off < in.ram_size; off += CHUNK)
			ckp_ram_sum_chunk(sum, off / CHUNK, in.ram + off);
		FUZZ_ASSERT(ckp_ram_sum_check(sum, in.state, err,
		    sizeof(err)) == 0);
		ckp_ram_sum_free(sum);
	}
	ckps_in_free(&in);
	return rc;
}

static void
raw(const uint8_t *d, size_t len)
{
	int sv[2];

	if (feed(d, len, sv) != 0)
		return;
	read_check(sv[0], false);
	close(sv[0]);
	close(sv[1]);
}

static void
edited(const uint8_t *d, size_t len, bool keyed)
{
	static uint8_t ram[FRAM];
	struct fr f[MAXFR], t;
	uint8_t *out = NULL;
	size_t n, olen = 0, cap = 0, nedits = 0;
	ckp_stream_t *w;
	int sv[2], rc;

	memset(ram + 4096, 0xa5, 2 * 4096);
	memset(ram + 9 * 4096, 0x3c, 4096);
	n = base(f, ram);
	/* edits: op, frame, arg (3 bytes each); the rest is a payload */
	while (len >= 3 && nedits++ < 8) {
		uint8_t op = d[0] % 6, arg = d[2];
		size_t i = n > 0 ? d[1] % n : 0;

		d += 3;
		len -= 3;
		switch (op) {
		case 0:		/* drop */
			if (n == 0)
				break;
			free(f[i].data);
			memmove(&f[i], &f[i + 1], (n - i - 1) * sizeof(f[0]));
			n--;
			break;
		case 1:		/* repeat */
			if (n == 0 || n == MAXFR)
				break;
			memmove(&f[i + 1], &f[i], (n - i) * sizeof(f[0]));
			f[i + 1].data = dup_bytes(f[i].data, f[i].len);
			n++;
			break;
		case 2:		/* move to the end */
			if (n == 0)
				break;
			t = f[i];
			memmove(&f[i], &f[i + 1], (n - i - 1) * sizeof(f[0]));
			f[n - 1] = t;
			break;
		case 3:		/* change the type */
			if (n > 0)
				f[i].type = arg != 0 ? arg : 1;
			break;
		case 4:		/* change a byte */
			if (n > 0 && f[i].len > 0)
				f[i].data[((size_t)arg * 131) % f[i].len] ^=
				    (uint8_t)(len > 0 ? d[0] | 1 : 0x40);
			break;
		case 5:		/* a frame of the rest, of type arg */
			if (n == MAXFR)
				break;
			memmove(&f[i + 1], &f[i], (n - i) * sizeof(f[0]));
			f[i].type = arg != 0 ? arg : 1;
			f[i].data = dup_bytes(d, len);
			f[i].len = len;
			n++;
			len = 0;
			break;
		}
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		goto out;
	int sz = 4 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, keyed ? fkey : NULL,
	    keyed ? 32 : 0, CKP_STREAM_ONEWAY, "fuzz-writer");
	FUZZ_ASSERT(w != NULL && ckp_stream_start(w) == 0);
	for (size_t i = 0; i < n; i++) {
		/* drain as it goes: frames are larger than a socket holds */
		FUZZ_ASSERT(ckp_stream_send(w, f[i].type, f[i].data,
		    f[i].len) == 0);
		for (;;) {
			if (cap - olen < 65536) {
				cap = cap * 2 + 65536;
				out = realloc(out, cap);
				FUZZ_ASSERT(out != NULL);
			}
			fcntl(sv[0], F_SETFL, O_NONBLOCK);
			ssize_t r = read(sv[0], out + olen, cap - olen);
			if (r <= 0)
				break;
			olen += (size_t)r;
		}
	}
	ckp_stream_free(w);
	close(sv[0]);
	close(sv[1]);
	if (feed(out, olen, sv) != 0)
		goto out;
	rc = read_check(sv[0], keyed);
	if (nedits == 0)
		FUZZ_ASSERT(rc == 0);
	close(sv[0]);
	close(sv[1]);
out:
	free(out);
	for (size_t i = 0; i < n; i++)
		free(f[i].data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		raw(data + 1, size - 1);
		break;
	default:
		edited(data + 1, size - 1, data[0] % 3 == 2);
		break;
	}
	return 0;
}
