/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Helper of the side-by-side checkpoint benchmark (bench/ckp_vs_qemu.py,
 * run by bench/run.sh): the baselines it compares hyve with that are
 * neither hyve nor QEMU.  Every subcommand prints key=value lines.
 *
 *   ckp_vs_aux write FILE BYTES MODE   the file system's limit: create FILE,
 *       write BYTES of non-zero data from memory sequentially in 8 MiB
 *       write() calls, fsync, close.  MODE: "plain" (write + fsync, the
 *       issue's definition), "batched" (start writeback of every 8 MiB
 *       written with sync_file_range, as libckp does), "direct" (O_DIRECT).
 *       The buffer is filled before the clock starts, as a guest's RAM is
 *       resident before a suspend.
 *   ckp_vs_aux warm BYTES              touch BYTES of fresh memory and free
 *       it (the host backs freed memory lazily; see bench_ram's warm()).
 *   ckp_vs_aux meta FILE.ckp.meta [REPS]  parse + validate of a meta by
 *       libckp (ckp_doc_decode: parse, types, checksum; and
 *       ckp_checkpoint_open without hashing RAM: recovery, file read,
 *       decode, ram section, RAM file size) against a bare json-c
 *       json_tokener_parse of the same JSON bytes; and hyve's own
 *       restore_prepare() without the RAM hash (the above plus the
 *       configuration, memory layout, vCPU and device sections checked,
 *       creating nothing: what `hyve -r` does before it builds the VM).
 *       Medians of REPS.
 *   ckp_vs_aux ram FILE                allocation of a RAM file: size,
 *       allocated bytes (st_blocks), data bytes found with SEEK_DATA, and
 *       the number of non-zero 4 KiB pages in the data ranges.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ckp.h"
#include "ckpt.h"

#define MiB	((uint64_t)1 << 20)
#define CHUNK	(8 * MiB)
#define PG	4096

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "ckp_vs_aux: %s: %s\n", what, msg);
	exit(1);
}

static uint64_t
parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		die(s, "not a size");
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	}
	if (*end != '\0')
		die(s, "not a size");
	return v;
}

static unsigned char *
mem_new(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", strerror(errno));
	return p;
}

static int
cmd_write(const char *path, uint64_t bytes, const char *mode)
{
	uint64_t rng = 0x853c49e6748fea9bull, *w, off, synced = 0;
	unsigned char *buf;
	bool direct = strcmp(mode, "direct") == 0;
	bool batched = strcmp(mode, "batched") == 0;
	double t0, t1, t2;
	int fd;

	if (!direct && !batched && strcmp(mode, "plain") != 0)
		die(mode, "mode is plain, batched or direct");
	bytes = (bytes + CHUNK - 1) / CHUNK * CHUNK;
	buf = mem_new(bytes);
	w = (uint64_t *)buf;
	for (uint64_t i = 0; i < bytes / 8; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		w[i] = rng | 1;
	}
	unlink(path);
	t0 = now();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (direct ? O_DIRECT : 0),
	    0600);
	if (fd < 0)
		die(path, strerror(errno));
	for (off = 0; off < bytes; off += CHUNK) {
		ssize_t n = pwrite(fd, buf + off, CHUNK, (off_t)off);

		if (n != (ssize_t)CHUNK)
			die(path, n < 0 ? strerror(errno) : "short write");
		if (batched) {
			sync_file_range(fd, (off_t)synced,
			    (off_t)(off + CHUNK - synced), SYNC_FILE_RANGE_WRITE);
			synced = off + CHUNK;
		}
	}
	t1 = now();
	if (fsync(fd) != 0)
		die(path, strerror(errno));
	close(fd);
	t2 = now();
	printf("bytes=%" PRIu64 "\nseconds=%.6f\nwrite_seconds=%.6f\n"
	    "fsync_seconds=%.6f\n", bytes, t2 - t0, t1 - t0, t2 - t1);
	munmap(buf, bytes);
	return 0;
}

static int
cmd_warm(uint64_t bytes)
{
	unsigned char *p = mem_new(bytes);

	for (uint64_t off = 0; off < bytes; off += PG)
		p[off] = 1;
	munmap(p, bytes);
	printf("warmed=%" PRIu64 "\n", bytes);
	return 0;
}

/* Fields and sections below @p sec, recursively. */
static void
count_ents(const ckp_sec_t *sec, int *fields, int *sections)
{
	for (ckp_ent_t *e = ckp_sec_first(sec); e; e = ckp_ent_next(e)) {
		ckp_sec_t *sub = ckp_ent_section(e);

		if (sub != NULL) {
			(*sections)++;
			count_ents(sub, fields, sections);
		} else
			(*fields)++;
	}
}

static void *
read_file(const char *path, size_t *lenp)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		die(path, strerror(errno));
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		die(path, "out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			die(path, n < 0 ? strerror(errno) : "short read");
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*lenp = got;
	return buf;
}

static int
cmd_meta(const char *path, int reps)
{
	double *t_dec = calloc((size_t)reps, sizeof(double));
	double *t_open = calloc((size_t)reps, sizeof(double));
	double *t_json = calloc((size_t)reps, sizeof(double));
	double *t_jdec = calloc((size_t)reps, sizeof(double));
	double *t_prep = calloc((size_t)reps, sizeof(double));
	struct restore_opts ro = { .path = path, .no_ram_check = true };
	struct restore *rs;
	char err[4096];
	char ram[4096];
	void *buf, *jbuf = NULL;
	size_t len, jlen;
	ckp_doc_t *doc;
	ckp_enc_t enc;
	int nfields = 0, nsec = 0;

	if (!t_dec || !t_open || !t_json || !t_jdec || !t_prep)
		die("meta", "out of memory");
	buf = read_file(path, &len);
	doc = ckp_doc_decode(buf, len, path, 0);
	if (ckp_doc_error(doc))
		die(path, ckp_doc_errmsg(doc));
	enc = ckp_doc_encoding(doc);
	count_ents(ckp_doc_root(doc), &nfields, &nsec);
	/* The baseline parses JSON: the meta's own bytes if it is JSON. */
	if (enc == CKP_ENC_JSON) {
		jbuf = buf;
		jlen = len;
	} else if (ckp_doc_encode(doc, CKP_ENC_JSON, &jbuf, &jlen) != 0)
		die(path, "cannot encode the meta as JSON");
	ckp_doc_free(doc);
	/* ckp_checkpoint_open takes the RAM file's name. */
	snprintf(ram, sizeof(ram), "%s", path);
	if (strlen(ram) > 5 && strcmp(ram + strlen(ram) - 5, ".meta") == 0)
		ram[strlen(ram) - 5] = '\0';

	for (int r = 0; r < reps; r++) {
		double t0 = now();
		json_object *o;

		doc = ckp_doc_decode(buf, len, path, 0);
		t_dec[r] = now() - t0;
		if (ckp_doc_error(doc))
			die(path, ckp_doc_errmsg(doc));
		ckp_doc_free(doc);

		t0 = now();
		doc = ckp_checkpoint_open(ram, CKP_OPEN_NORAMCHECK);
		t_open[r] = now() - t0;
		if (ckp_doc_error(doc))
			die(ram, ckp_doc_errmsg(doc));
		ckp_doc_free(doc);

		t0 = now();
		if (restore_prepare(&ro, &rs, err, sizeof(err)) != 0)
			die(path, err);
		t_prep[r] = now() - t0;
		restore_free(rs);

		t0 = now();
		o = json_tokener_parse(jbuf);
		t_json[r] = now() - t0;
		if (o == NULL)
			die(path, "json-c cannot parse it");
		json_object_put(o);

		t0 = now();
		doc = ckp_doc_decode(jbuf, jlen, path, 0);
		t_jdec[r] = now() - t0;
		if (ckp_doc_error(doc))
			die(path, ckp_doc_errmsg(doc));
		ckp_doc_free(doc);
	}
	printf("bytes=%zu\nencoding=%s\njson_bytes=%zu\nfields=%d\nsections=%d\n"
	    "reps=%d\ndecode_s=%.9f\nopen_s=%.9f\njsonc_s=%.9f\n"
	    "json_decode_s=%.9f\nprepare_s=%.9f\n", len, ckp_enc_name(enc), jlen, nfields, nsec, reps,
	    median(t_dec, reps), median(t_open, reps), median(t_json, reps),
	    median(t_jdec, reps), median(t_prep, reps));
	if (jbuf != buf)
		free(jbuf);
	free(buf);
	free(t_dec);
	free(t_open);
	free(t_json);
	free(t_jdec);
	free(t_prep);
	return 0;
}

static bool
page_zero(const unsigned char *p)
{
	return p[0] == 0 && memcmp(p, p + 1, PG - 1) == 0;
}

static int
cmd_ram(const char *path)
{
	struct stat st;
	uint64_t data = 0, nonzero = 0;
	unsigned char *buf = mem_new(CHUNK);
	off_t pos = 0, end;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		die(path, strerror(errno));
	for (;;) {
		pos = lseek(fd, pos, SEEK_DATA);
		if (pos < 0)
			break;
		end = lseek(fd, pos, SEEK_HOLE);
		if (end < 0)
			end = st.st_size;
		data += (uint64_t)(end - pos);
		while (pos < end) {
			size_t want = (size_t)(end - pos) < CHUNK ?
			    (size_t)(end - pos) : CHUNK;
			ssize_t n = pread(fd, buf, want, pos);

			if (n <= 0)
				die(path, n < 0 ? strerror(errno) : "short read");
			for (ssize_t i = 0; i + PG <= n; i += PG)
				nonzero += !page_zero(buf + i);
			pos += n;
		}
	}
	close(fd);
	printf("size=%" PRIu64 "\nallocated=%" PRIu64 "\ndata=%" PRIu64 "\n"
	    "nonzero_bytes=%" PRIu64 "\n", (uint64_t)st.st_size,
	    (uint64_t)st.st_blocks * 512, data, nonzero * PG);
	munmap(buf, CHUNK);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "write") == 0)
		return cmd_write(argv[2], parse_size(argv[3]), argv[4]);
	if (argc == 3 && strcmp(argv[1], "warm") == 0)
		return cmd_warm(parse_size(argv[2]));
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "meta") == 0)
		return cmd_meta(argv[2], argc == 4 && atoi(argv[3]) > 0 ?
		    atoi(argv[3]) : 21);
	if (argc == 3 && strcmp(argv[1], "ram") == 0)
		return cmd_ram(argv[2]);
	fprintf(stderr, "usage: ckp_vs_aux write FILE BYTES plain|batched|direct\n"
	    "       ckp_vs_aux warm BYTES\n"
	    "       ckp_vs_aux meta FILE.ckp.meta [REPS]\n"
	    "       ckp_vs_aux ram FILE\n");
	return 2;
}
