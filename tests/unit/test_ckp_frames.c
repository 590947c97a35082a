/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Checkpoint stream frames (ckp_frame_*) and the RAM receiver
 * (ckp_ram_rx_*): payloads encode as MIGRATION.md section 5 says; RAM
 * received in rounds (pages sent again, pages zeroed, a chunk split across
 * two segments) checks equal to a RAM file of the same bytes, and one
 * changed page is named; every malformed frame is refused with its offset;
 * a two-way stream runs over two descriptors per side (ckp_stream_set_wfd).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_ckp.h"

#define PG	4096u
#define MiB	(1u << 20)

static char dir[] = "/tmp/test_ckp_frames.XXXXXX";

/* The meta a RAM file of @m gets through ckp_writer. */
static ckp_doc_t *
file_meta(const unsigned char *m, uint64_t size)
{
	char path[512], err[512];
	ckp_ram_seg_t seg = { .host = m, .file_off = 0, .len = size };
	ckp_writer_t *w;
	ckp_doc_t *meta = ckp_doc_new("test");

	snprintf(path, sizeof(path), "%s/f.ckp", dir);
	CHECK(ckp_writer_begin(path, size, &w, err, sizeof(err)) == 0);
	CHECK(ckp_writer_put_segs(w, &seg, 1, 1) == 0);
	CHECK(ckp_writer_commit(w, meta, CKP_ENC_BIN, err, sizeof(err)) == 0);
	return meta;
}

static void
test_payloads(void)
{
	uint8_t b[16], want[16] = { 3, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x32, 0x54,
	    0x76, 0, 0, 0, 0 };
	char err[256];
	uint32_t round;
	uint64_t pages;

	CHECK_STR(ckp_frame_name(CKP_FRAME_PAGES), "PAGES");
	CHECK_STR(ckp_frame_name(CKP_FRAME_RUNNING), "RUNNING");
	CHECK(ckp_frame_name(0x33) == NULL);
	CHECK(ckp_frame_name(0) == NULL);

	ckp_frame_round_make(b, 3, 0x76543210);
	CHECK(memcmp(b, want, 16) == 0);
	CHECK(ckp_frame_round_parse(b, 16, &round, &pages, err,
	    sizeof(err)) == 0);
	CHECK(round == 3 && pages == 0x76543210);
	CHECK(ckp_frame_round_parse(b, 15, &round, &pages, err,
	    sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "15 bytes");
	b[5] = 1;
	CHECK(ckp_frame_round_parse(b, 16, &round, &pages, err,
	    sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "reserved");

	ckp_frame_pages_head(b, 0x123000);
	CHECK(b[0] == 0 && b[1] == 0x30 && b[2] == 0x12 && b[7] == 0);
	ckp_frame_zero_make(b, 0x2000, 5);
	CHECK(b[1] == 0x20 && b[8] == 5 && b[15] == 0);
}

static void
test_abort(void)
{
	ckp_doc_t *d = ckp_frame_abort_doc("disk pci.0.3.0: 10 bytes\n\x1b[2J");
	void *buf = NULL;
	size_t len = 0;
	char why[64];

	CHECK(d != NULL);
	CHECK(ckp_doc_encode(d, CKP_ENC_BIN, &buf, &len) == 0);
	ckp_frame_abort_reason(buf, len, why, sizeof(why));
	/* The peer's control characters never reach a terminal. */
	CHECK_STR(why, "disk pci.0.3.0: 10 bytes??[2J");
	ckp_frame_abort_reason(buf, len, why, 8);
	CHECK_STR(why, "disk pc");
	ckp_frame_abort_reason("junk", 4, why, sizeof(why));
	CHECK_STR(why, "(no reason given)");
	free(buf);
	ckp_doc_free(d);
}

/* A PAGES frame of @n pages of @src at @off, into @buf. */
static size_t
pages_frame(uint8_t *buf, const uint8_t *src, uint64_t off, uint64_t n)
{
	ckp_frame_pages_head(buf, off);
	memcpy(buf + 8, src + off, n * PG);
	return 8 + n * PG;
}

static int
rx_put(ckp_ram_rx_t *rx, uint8_t type, const void *p, size_t len)
{
	char err[256];

	return ckp_ram_rx_frame(rx, type, p, len, err, sizeof(err));
}

static void
test_rx_rounds(void)
{
	/* Split at 1.5 MiB: chunk 1 lies in both segments. */
	const uint64_t size = 3 * MiB + 2 * PG, split = MiB + MiB / 2;
	uint8_t *src = calloc(1, size), *a = calloc(1, split),
	    *b = calloc(1, size - split), *f = malloc(8 + 64 * PG), zf[16];
	ckp_ram_seg_t segs[2] = {
		{ .host = a, .file_off = 0, .len = split },
		{ .host = b, .file_off = split, .len = size - split },
	};
	ckp_ram_rx_t *rx = ckp_ram_rx_new(segs, 2);
	ckp_doc_t *meta;
	uint64_t i, pages, zpages;
	uint32_t rounds;
	char err[256];

	CHECK(rx != NULL);
	for (i = 0; i < size; i += 97)
		src[i] = (uint8_t)(i * 7 + 1);
	/* Round 0: everything, 64 pages at a time. */
	ckp_frame_round_make(zf, 0, size / PG);
	CHECK(rx_put(rx, CKP_FRAME_ROUND, zf, 16) == 0);
	for (i = 0; i < size; i += 64 * PG) {
		uint64_t n = (size - i) / PG < 64 ? (size - i) / PG : 64;

		CHECK(rx_put(rx, CKP_FRAME_PAGES, f, pages_frame(f, src, i,
		    n)) == 0);
	}
	/* The guest changes a page across the split and zeroes two. */
	memset(src + split - PG, 0xab, 2 * PG);
	memset(src + 2 * MiB, 0, 2 * PG);
	ckp_frame_round_make(zf, 1, 4);
	CHECK(rx_put(rx, CKP_FRAME_ROUND, zf, 16) == 0);
	CHECK(rx_put(rx, CKP_FRAME_PAGES, f, pages_frame(f, src, split - PG,
	    2)) == 0);
	ckp_frame_zero_make(zf, 2 * MiB, 2);
	CHECK(rx_put(rx, CKP_FRAME_ZERO, zf, 16) == 0);

	meta = file_meta(src, size);
	CHECK(ckp_ram_rx_check(rx, meta, err, sizeof(err)) == 0);
	CHECK(memcmp(a, src, split) == 0);
	CHECK(memcmp(b, src + split, size - split) == 0);
	ckp_ram_rx_counters(rx, &pages, &zpages, &rounds);
	CHECK(pages == size / PG + 2 && zpages == 2 && rounds == 2);

	/* One byte the sender never sent: named by its chunk. */
	src[2 * MiB + 5] = 1;
	ckp_doc_free(meta);
	meta = file_meta(src, size);
	CHECK(ckp_ram_rx_check(rx, meta, err, sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "chunk at offset 0x200000");
	ckp_doc_free(meta);

	/* A meta of another size. */
	meta = file_meta(src, size - PG);
	CHECK(ckp_ram_rx_check(rx, meta, err, sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "ram.size");
	ckp_doc_free(meta);
	ckp_ram_rx_free(rx);
	free(src);
	free(a);
	free(b);
	free(f);
}

static void
test_rx_malformed(void)
{
	const uint64_t size = 2 * MiB;
	uint8_t *ram = calloc(1, size), *f = calloc(1, 8 + 2 * PG), z[16];
	ckp_ram_seg_t seg = { .host = ram, .file_off = 0, .len = size };
	ckp_ram_seg_t gap[2] = { { .host = ram, .file_off = 0, .len = PG },
	    { .host = ram + 2 * PG, .file_off = 2 * PG, .len = PG } };
	ckp_ram_rx_t *rx = ckp_ram_rx_new(&seg, 1);
	char err[256];

	CHECK(ckp_ram_rx_new(gap, 2) == NULL);
	CHECK(ckp_ram_rx_new(&seg, 0) == NULL);
	CHECK(rx != NULL);
	ckp_frame_pages_head(f, 100);
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_PAGES, f, 8 + PG, err,
	    sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "offset 0x64 is not a multiple of 4096");
	ckp_frame_pages_head(f, size - PG);
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_PAGES, f, 8 + 2 * PG, err,
	    sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "2 pages at offset 0x1ff000 are not inside");
	ckp_frame_pages_head(f, UINT64_MAX - PG + 1);
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_PAGES, f, 8 + PG, err,
	    sizeof(err)) == -EBADMSG);
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_PAGES, f, 8 + 100, err,
	    sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "whole pages");
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_PAGES, f, 8, err,
	    sizeof(err)) == -EBADMSG);
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_PAGES, f,
	    8 + CKP_FRAME_PAGES_MAX + PG, err, sizeof(err)) == -EBADMSG);
	ckp_frame_zero_make(z, 0, 0);
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_ZERO, z, 16, err,
	    sizeof(err)) == -EBADMSG);
	ckp_frame_zero_make(z, 0, UINT64_MAX / 2);
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_ZERO, z, 16, err,
	    sizeof(err)) == -EBADMSG);
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_ZERO, z, 15, err,
	    sizeof(err)) == -EBADMSG);
	ckp_frame_round_make(z, 1, 0);
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_ROUND, z, 16, err,
	    sizeof(err)) == -EBADMSG);
	CHECK_HAS(err, "round 1, expected 0");
	CHECK(ckp_ram_rx_frame(rx, CKP_FRAME_STATE, z, 16, err,
	    sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "STATE");
	/* Nothing was written by a refused frame. */
	for (size_t i = 0; i < size; i++)
		if (ram[i] != 0) {
			CHECK(!"a refused frame wrote RAM");
			break;
		}
	ckp_ram_rx_free(rx);
	free(ram);
	free(f);
}

/* Each side reads one pipe and writes another, as over ssh. */
static void
test_wfd(void)
{
	int ab[2], ba[2], st;
	ckp_stream_t *s;
	uint8_t type;
	const void *p;
	size_t len;
	pid_t pid;

	CHECK(pipe(ab) == 0 && pipe(ba) == 0);
	if ((pid = fork()) == 0) {
		s = ckp_stream_new(ba[0], CKP_STREAM_WRITER, "0123456789abcdef",
		    16, 0, "child");
		if (ckp_stream_set_wfd(s, ab[1]) != 0 ||
		    ckp_stream_start(s) != 0 ||
		    ckp_stream_send(s, CKP_FRAME_HELLO, "hi", 2) != 0 ||
		    ckp_stream_recv(s, &type, &p, &len) != 0 ||
		    type != CKP_FRAME_ACCEPT)
			_exit(1);
		ckp_stream_free(s);
		_exit(0);
	}
	s = ckp_stream_new(ab[0], CKP_STREAM_READER, "0123456789abcdef", 16, 0,
	    "parent");
	CHECK(ckp_stream_set_wfd(s, ba[1]) == 0);
	CHECK(ckp_stream_start(s) == 0);
	CHECK(ckp_stream_set_wfd(s, ba[1]) == -EINVAL);
	CHECK(ckp_stream_recv(s, &type, &p, &len) == 0);
	CHECK(type == CKP_FRAME_HELLO && len == 2 && memcmp(p, "hi", 2) == 0);
	CHECK(ckp_stream_send(s, CKP_FRAME_ACCEPT, NULL, 0) == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	ckp_stream_free(s);
	close(ab[0]);
	close(ab[1]);
	close(ba[0]);
	close(ba[1]);
}

int
main(void)
{
	char cmd[600];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_payloads();
	test_abort();
	test_rx_rounds();
	test_rx_malformed();
	test_wfd();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	TEST_END();
}
