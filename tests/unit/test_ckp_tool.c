/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * `ckp` on real checkpoints (meta + RAM file written by ckp_writer): both
 * files are checked, by either name, and a corrupted RAM file or meta is
 * reported with exit status 2; the host paths a checkpoint's configuration
 * names are listed by `check` and `show`, and files that are not this
 * user's own are pointed out; an input that never ends (/dev/zero, a pipe)
 * stops at the size limit with bounded memory.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "test_ckp.h"

static char ckp_tool[400];
static char dir[256];

/* Run `ckp ARGS`, capturing its output; returns its exit status. */
#define run(out, size, ...) t_run(ckp_tool, (out), (size), "%s", __VA_ARGS__)

/*
 * Run ckp with @p argv (argv[0] is ignored), its standard input fed
 * @p feed zero bytes through a pipe (or /dev/null when negative), its
 * output into @p out.  Its exit status; *@p maxrss_kb its peak memory.
 */
static int
run_fed(char *const argv[], long long feed, char *out, size_t size,
    long *maxrss_kb)
{
	char outf[PATH_MAX + 8];
	struct rusage ru;
	int p[2], st = -1, fd;
	pid_t pid, feeder = -1;
	ssize_t n;

	snprintf(outf, sizeof(outf), "%s/out", dir);
	if (pipe(p) < 0)
		return -1;
	if (feed >= 0 && (feeder = fork()) == 0) {
		static const char zeros[65536];

		signal(SIGPIPE, SIG_IGN);
		close(p[0]);
		while (feed > 0) {
			size_t k = feed < (long long)sizeof(zeros) ?
			    (size_t)feed : sizeof(zeros);

			if ((n = write(p[1], zeros, k)) <= 0)
				_exit(0);	/* the reader stopped: fine */
			feed -= n;
		}
		_exit(0);
	}
	if ((pid = fork()) == 0) {
		int in = feed >= 0 ? p[0] : open("/dev/null", O_RDONLY);

		fd = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || in < 0)
			_exit(126);
		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close(p[1]);
		execv(ckp_tool, argv);
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	if (pid > 0 && wait4(pid, &st, 0, &ru) == pid)
		*maxrss_kb = ru.ru_maxrss;
	if (feeder > 0)
		waitpid(feeder, NULL, 0);
	out[0] = '\0';
	if ((fd = open(outf, O_RDONLY)) >= 0) {
		n = read(fd, out, size - 1);
		out[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	unlink(outf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Commit a checkpoint @p path of @p ramsize bytes whose meta is @p doc. */
static int
write_ckp(const char *path, const uint8_t *ram, size_t ramsize,
    ckp_doc_t *doc)
{
	char err[512];
	ckp_writer_t *w;
	ckp_ram_seg_t seg = { .host = ram, .file_off = 0, .len = ramsize };

	if (ckp_writer_begin(path, ramsize, &w, err, sizeof(err)) != 0 ||
	    ckp_writer_put_segs(w, &seg, 1, 1) != 0 ||
	    ckp_writer_commit(w, doc, CKP_ENC_JSON, err, sizeof(err)) != 0) {
		fprintf(stderr, "writing %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

/* `ckp check` of a checkpoint written by ckp_writer, then damaged. */
static void
test_pair(void)
{
	char path[PATH_MAX], meta[PATH_MAX];
	char err[512], out[8192], args[2 * PATH_MAX];
	ckp_writer_t *w;
	size_t ramsize = 64 * 4096;
	uint8_t *ram;

	snprintf(path, sizeof(path), "%s/vm.ckp", dir);
	snprintf(meta, sizeof(meta), "%s/vm.ckp.meta", dir);

	/* a checkpoint: some data pages, some zero pages */
	ram = calloc(1, ramsize);
	for (size_t i = 0; i < ramsize; i += 4096)
		if ((i / 4096) % 3 == 0)
			memset(ram + i, (int)(i / 4096) + 1, 4096);
	CHECK(ckp_writer_begin(path, ramsize, &w, err, sizeof(err)) == 0);
	ckp_ram_seg_t seg = { .host = ram, .file_off = 0, .len = ramsize };
	CHECK(ckp_writer_put_segs(w, &seg, 1, 1) == 0);
	ckp_doc_t *doc = ckp_doc_new("test_ckp_tool");
	ckp_sec_add_uint64(ckp_sec_add(ckp_doc_root(doc), "devices", 1), "x", 1);
	if (ckp_writer_commit(w, doc, CKP_ENC_JSON, err, sizeof(err)) != 0) {
		fprintf(stderr, "commit: %s\n", err);
		exit(1);
	}
	ckp_doc_free(doc);

	snprintf(args, sizeof(args), "check '%s'", meta);
	CHECK(run(out, sizeof(out), args) == 0);
	CHECK_HAS(out, "vm.ckp.meta: json encoding");
	CHECK_HAS(out, "vm.ckp: ok");
	CHECK_HAS(out, "vm.ckp.meta: ok");
	/* the RAM file's name works too */
	snprintf(args, sizeof(args), "check '%s'", path);
	CHECK(run(out, sizeof(out), args) == 0);
	CHECK_HAS(out, "vm.ckp.meta: ok");

	/* one byte changed in the RAM file: named, exit 2 */
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "X", 1, 5 * 4096 + 7) == 1);
	close(fd);
	snprintf(args, sizeof(args), "check '%s'", meta);
	CHECK(run(out, sizeof(out), args) == 2);
	CHECK_HAS(out, "vm.ckp");
	CHECK_HAS(out, "vm.ckp.meta: BAD");

	/* RAM file missing */
	unlink(path);
	CHECK(run(out, sizeof(out), args) == 2);
	CHECK_HAS(out, "No such file or directory");
	CHECK_HAS(out, "vm.ckp.meta: BAD");

	/* the meta edited by hand: the checksum says so */
	snprintf(args, sizeof(args), "set '%s' devices.x 2", meta);
	CHECK(run(out, sizeof(out), args) == 0);
	FILE *f = fopen(meta, "r+");
	char text[65536];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	char *p = strstr(text, "\"x$uint64\": \"2\"");
	CHECK(p != NULL);
	if (p != NULL) {
		p[13] = '3';
		rewind(f);
		fwrite(text, 1, n, f);
	}
	fclose(f);
	snprintf(args, sizeof(args), "check '%s'", meta);
	CHECK(run(out, sizeof(out), args) == 2);
	CHECK_HAS(out, "checksum mismatch");

	unlink(meta);
	free(ram);
}

/* A meta whose configuration names host paths, as hyve's does. */
static ckp_doc_t *
config_doc(const char *kernel)
{
	ckp_doc_t *doc = ckp_doc_new("test_ckp_tool");
	ckp_sec_t *c = ckp_sec_add(ckp_doc_root(doc), "config", 1), *s;

	ckp_sec_add_string(c, "name", "vm1");
	ckp_sec_add_string(ckp_sec_add(c, "boot", 0), "kernel", kernel);
	s = ckp_sec_add(c, "lpc", 0);
	ckp_sec_add_string(ckp_sec_add(s, "com1", 0), "path", "stdio");
	ckp_sec_add_string(ckp_sec_add(s, "com2", 0), "path", "/var/log/vm1.com2");
	s = ckp_sec_add(ckp_sec_add(c, "pci", 0), "0", 0);
	c = ckp_sec_add(ckp_sec_add(s, "2", 0), "0", 0);
	ckp_sec_add_string(c, "device", "virtio-net");
	ckp_sec_add_string(c, "backend", "tap7");
	c = ckp_sec_add(ckp_sec_add(s, "3", 0), "0", 0);
	ckp_sec_add_string(c, "device", "virtio-blk");
	ckp_sec_add_string(c, "path", "/srv/images/root.img");
	c = ckp_sec_add(ckp_sec_add(s, "4", 0), "0", 0);
	ckp_sec_add_string(c, "device", "virtio-blk");
	ckp_sec_add_string(c, "path", "data.img");
	ckp_sec_add_string(c, "ro", "true");
	c = ckp_sec_find(ckp_doc_root(doc), "config");
	ckp_sec_add_string(ckp_sec_add(c, "future", 0), "socket",
	    "/run/other.sock");
	/* Not paths: not listed. */
	ckp_sec_add_string(ckp_sec_add(c, "memory", 0), "size", "256M");
	return doc;
}

/*
 * `check` and `show` list every host path the configuration names, with
 * how a restore uses it; a value cannot pass for another line of output.
 */
static void
test_hostpaths(void)
{
	char path[PATH_MAX], out[16384];
	uint8_t ram[4096] = { 1 };
	ckp_doc_t *doc;

	snprintf(path, sizeof(path), "%s/hp.ckp", dir);
	doc = config_doc("/boot/vmlinuz");
	CHECK(write_ckp(path, ram, sizeof(ram), doc) == 0);
	ckp_doc_free(doc);
	CHECK(t_run(ckp_tool, out, sizeof(out), "check '%s'", path) == 0);
	CHECK_HAS(out, "hp.ckp.meta: host path: disk image "
	    "\"/srv/images/root.img\" (config.pci.0.3.0.path, read-write)\n");
	CHECK_HAS(out, "hp.ckp.meta: host path: disk image \"data.img\" "
	    "(config.pci.0.4.0.path, read-only, relative to hyve's working "
	    "directory)\n");
	CHECK_HAS(out, "hp.ckp.meta: host path: console file "
	    "\"/var/log/vm1.com2\" (config.lpc.com2.path, written)\n");
	CHECK_HAS(out, "hp.ckp.meta: host path: tap interface \"tap7\" "
	    "(config.pci.0.2.0.backend)\n");
	CHECK_HAS(out, "hp.ckp.meta: host path: kernel \"/boot/vmlinuz\" "
	    "(config.boot.kernel, read when booting, not by a restore)\n");
	CHECK_HAS(out, "hp.ckp.meta: host path: host path \"/run/other.sock\" "
	    "(config.future.socket)\n");
	CHECK(strstr(out, "stdio") == NULL);
	CHECK(strstr(out, "256M") == NULL);
	CHECK(strstr(out, "vm1\"") == NULL);
	CHECK_HAS(out, "hp.ckp.meta: ok\n");

	CHECK(t_run(ckp_tool, out, sizeof(out), "show '%s.meta'", path) == 0);
	CHECK_HAS(out, "\nhost paths a restore opens:\n"
	    "  kernel \"/boot/vmlinuz\" (config.boot.kernel, read when booting, "
	    "not by a restore)\n"
	    "  console file \"/var/log/vm1.com2\" (config.lpc.com2.path, "
	    "written)\n"
	    "  tap interface \"tap7\" (config.pci.0.2.0.backend)\n"
	    "  disk image \"/srv/images/root.img\" (config.pci.0.3.0.path, "
	    "read-write)\n");

	/* A value with a line end and an escape: quoted, never raw. */
	doc = config_doc("/k\nhp.ckp.meta: ok\x1b[2J");
	CHECK(write_ckp(path, ram, sizeof(ram), doc) == 0);
	ckp_doc_free(doc);
	CHECK(t_run(ckp_tool, out, sizeof(out), "check '%s'", path) == 0);
	CHECK_HAS(out, "kernel \"/k\\nhp.ckp.meta: ok\\u001b[2J\"");
	CHECK(strstr(out, "\x1b") == NULL);

	/* A document without a configuration lists nothing. */
	snprintf(path, sizeof(path), "%s/plain.json", dir);
	doc = t_sample_doc();
	CHECK(ckp_doc_save(doc, path, CKP_ENC_JSON) == 0);
	ckp_doc_free(doc);
	CHECK(t_run(ckp_tool, out, sizeof(out), "show '%s'", path) == 0);
	CHECK(strstr(out, "host path") == NULL);
	CHECK(t_run(ckp_tool, out, sizeof(out), "check '%s'", path) == 0);
	CHECK(strstr(out, "host path") == NULL);
}

/*
 * A checkpoint that is not this user's own (a restore would run the VM
 * another user described): `check` says so, and its verdict is still
 * about the content.
 */
static void
test_owner(void)
{
	char path[PATH_MAX], meta[PATH_MAX + 8], out[16384];
	uint8_t ram[4096] = { 1 };
	ckp_doc_t *doc;

	snprintf(path, sizeof(path), "%s/own.ckp", dir);
	snprintf(meta, sizeof(meta), "%s.meta", path);
	doc = config_doc("/boot/vmlinuz");
	CHECK(write_ckp(path, ram, sizeof(ram), doc) == 0);
	ckp_doc_free(doc);
	CHECK(t_run(ckp_tool, out, sizeof(out), "check '%s'", path) == 0);
	CHECK(strstr(out, "not this user's own") == NULL);
	if (geteuid() == 0) {
		CHECK(chown(meta, 65534, 65534) == 0);
		CHECK(t_run(ckp_tool, out, sizeof(out), "check '%s'", path) == 0);
		CHECK_HAS(out, "own.ckp.meta: not this user's own: ");
		CHECK_HAS(out, "own.ckp.meta is owned by uid 65534, not by this "
		    "user (uid 0)");
		CHECK(chown(meta, 0, 0) == 0);
	} else
		printf("note: not root; another owner unchecked\n");
	CHECK(chmod(path, 0666) == 0);
	CHECK(t_run(ckp_tool, out, sizeof(out), "check '%s'", path) == 0);
	CHECK_HAS(out, "own.ckp.meta: not this user's own: ");
	CHECK_HAS(out, "own.ckp is writable by group or others (mode 0666)");
	CHECK_HAS(out, "own.ckp.meta: ok\n");
}

/*
 * The size limit: an input that never ends stops at the limit, with one
 * clear message, exit 2 and memory bounded by the limit; a regular file
 * larger than the limit is refused before it is read.
 */
static void
test_max_size(void)
{
	char out[4096], big[PATH_MAX];
	long rss = 0;
	int fd;

	/* /dev/zero with a 1 MiB limit: a few MiB of memory, not all of it. */
	CHECK(run_fed((char *[]){ "ckp", "--max-size", "1M", "show",
	    "/dev/zero", NULL }, -1, out, sizeof(out), &rss) == 2);
	CHECK_HAS(out, "ckp: /dev/zero: larger than the 1048576-byte limit "
	    "for a document (--max-size raises it)\n");
	printf("ckp --max-size 1M show /dev/zero: peak %ld KiB\n", rss);
	CHECK(rss > 0 && rss < 64 * 1024);

	/* A pipe one byte over the limit: refused; at the limit: read. */
	CHECK(run_fed((char *[]){ "ckp", "--max-size=64K", "check", "-",
	    NULL }, 65537, out, sizeof(out), &rss) == 2);
	CHECK_HAS(out, "<stdin>: larger than the 65536-byte limit");
	CHECK(run_fed((char *[]){ "ckp", "--max-size=64K", "check", "-",
	    NULL }, 65536, out, sizeof(out), &rss) == 2);
	CHECK(strstr(out, "limit") == NULL);
	CHECK_HAS(out, "wrong magic");

	/* The default limit holds for a pipe too (a 3 GB pipe stops early). */
	CHECK(run_fed((char *[]){ "ckp", "show", "-", NULL },
	    (long long)CKP_DOC_MAX_DEFAULT + 1, out, sizeof(out), &rss) == 2);
	CHECK_HAS(out, "ckp: <stdin>: larger than the 268435456-byte limit "
	    "for a document (--max-size raises it)\n");
	printf("ckp show - (256 MiB + 1 bytes): peak %ld KiB\n", rss);
	CHECK(rss > 0 && rss < 1024 * 1024);

	/* A sparse file past the limit: refused at once, nothing read. */
	snprintf(big, sizeof(big), "%s/big.meta", dir);
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)CKP_DOC_MAX_DEFAULT + 1) == 0);
	close(fd);
	CHECK(run_fed((char *[]){ "ckp", "show", big, NULL }, -1, out,
	    sizeof(out), &rss) == 2);
	CHECK_HAS(out, "big.meta: larger than the 268435456-byte limit");
	CHECK(rss > 0 && rss < 64 * 1024);
	/* ... and read when the limit is raised (then it is no document). */
	CHECK(run_fed((char *[]){ "ckp", "--max-size", "1G", "show", big,
	    NULL }, -1, out, sizeof(out), &rss) == 2);
	CHECK(strstr(out, "limit") == NULL);
	unlink(big);
}

/* ------------------------------------------------------------------ */
/* Checkpoint streams (tools/ckp/ckps.c, docs/MIGRATION.md section 8)  */
/* ------------------------------------------------------------------ */

static uint64_t
get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* config_doc's meta as hyve writes one: memory and both disks' state. */
static ckp_doc_t *
stream_meta(uint64_t ramsize)
{
	ckp_doc_t *doc = config_doc("/boot/vmlinuz");
	ckp_sec_t *root = ckp_doc_root(doc), *m, *d;

	m = ckp_sec_add(root, "memory", 1);
	ckp_sec_add_uint64(m, "size", ramsize);
	m = ckp_sec_add(m, "region@0", 1);
	ckp_sec_add_uint64(m, "gpa", 0);
	ckp_sec_add_uint64(m, "size", ramsize);
	ckp_sec_add_uint64(m, "file_off", 0);
	d = ckp_sec_add(root, "devices", 1);
	ckp_sec_add_uint64(ckp_sec_add(d, "virtio-blk@0", 1), "image_size",
	    1 << 20);
	ckp_sec_add_uint64(ckp_sec_add(d, "virtio-blk@1", 1), "image_size",
	    3 << 20);
	ckp_sec_add_uint64(ckp_sec_add(d, "virtio-net@0", 1), "x", 1);
	return doc;
}

/* RAM of 6 MiB and 3 pages: a run of data longer than a PAGES frame. */
#define SRAM_PAGES	(6 * 256 + 3)
static uint8_t *
stream_ram(uint64_t *nonzero)
{
	uint8_t *ram = calloc(SRAM_PAGES, 4096);

	*nonzero = 0;
	for (size_t i = 0; i < SRAM_PAGES; i++) {
		if ((i > 1300 && i < 1400) || i % 97 == 5)
			continue;
		memset(ram + i * 4096, (int)(i % 251) + 1, 4096);
		(*nonzero)++;
	}
	return ram;
}

/*
 * Read the stream @p path as a receiver would and check every frame
 * against the checkpoint it was made of: HELLO, ROUND 0, PAGES holding
 * exactly the non-zero pages, STATE equal to the meta, END, the end.
 */
static void
check_stream_file(const char *path, const char *meta, const uint8_t *ram,
    uint64_t nonzero, const uint8_t *key, size_t keylen)
{
	int fd = open(path, O_RDONLY);
	ckp_stream_t *s = ckp_stream_new(fd, CKP_STREAM_READER, key, keylen,
	    CKP_STREAM_ONEWAY, path);
	uint8_t *seen = calloc(SRAM_PAGES, 1);
	ckp_doc_t *doc, *want;
	const char *str;
	const uint8_t *p;
	uint64_t v, pages = 0;
	uint32_t u;
	uint8_t type;
	size_t len;

	CHECK(fd >= 0 && s != NULL && seen != NULL);
	CHECK(ckp_stream_start(s) == 0);
	CHECK((ckp_stream_peer_flags(s) & CKP_STREAM_KEYED) == (key ? 1u : 0u));
	CHECK(ckp_stream_recv(s, &type, (const void **)&p, &len) == 0 &&
	    type == 0x01);
	doc = ckp_doc_decode(p, len, "HELLO", 0);
	CHECK(ckp_doc_error(doc) == 0);
	CHECK(ckp_doc_find(doc, "header.producer") != NULL);
	CHECK(ckp_doc_find(doc, "config.pci.0.3.0.path") != NULL);
	CHECK(ckp_doc_find(doc, "memory.region@0.size") != NULL);
	CHECK(ckp_doc_find(doc, "devices") == NULL);
	ckp_sec_t *m = ckp_sec_find(ckp_doc_root(doc), "migration");
	CHECK(m != NULL && ckp_sec_version(m) == 1);
	CHECK(ckp_sec_get_uint64(m, "ram_size", &v) == 0 &&
	    v == SRAM_PAGES * 4096ull);
	CHECK(ckp_sec_get_uint32(m, "chunk_size", &u) == 0 && u == 1048576);
	CHECK(ckp_sec_get_uint32(m, "page_size", &u) == 0 && u == 4096);
	CHECK(ckp_sec_get_uint32(m, "downtime_ms", &u) == 0 && u == 20);
	ckp_sec_t *d0 = ckp_sec_find(m, "disk@0"), *d1 = ckp_sec_find(m, "disk@1");
	CHECK(d0 != NULL && ckp_sec_get_string(d0, "slot", &str) == 0 &&
	    strcmp(str, "pci.0.3.0") == 0);
	CHECK(d0 != NULL && ckp_sec_get_uint64(d0, "size", &v) == 0 &&
	    v == 1 << 20);
	CHECK(d1 != NULL && ckp_sec_get_string(d1, "slot", &str) == 0 &&
	    strcmp(str, "pci.0.4.0") == 0);
	CHECK(d1 != NULL && ckp_sec_get_uint64(d1, "size", &v) == 0 &&
	    v == 3 << 20);
	CHECK(ckp_sec_find(m, "disk@2") == NULL);
	ckp_doc_free(doc);

	CHECK(ckp_stream_recv(s, &type, (const void **)&p, &len) == 0 &&
	    type == 0x12 && len == 16);
	CHECK(get_le64(p) == 0 && get_le64(p + 8) == nonzero);
	while (ckp_stream_recv(s, &type, (const void **)&p, &len) == 0 &&
	    type == 0x10) {
		uint64_t off = get_le64(p), n = (len - 8) / 4096;

		CHECK(len > 8 && (len - 8) % 4096 == 0 && off % 4096 == 0);
		CHECK(len - 8 <= 4u << 20);
		CHECK(off / 4096 + n <= SRAM_PAGES);
		if (off / 4096 + n > SRAM_PAGES)
			break;
		CHECK(memcmp(p + 8, ram + off, len - 8) == 0);
		for (uint64_t i = 0; i < n; i++)
			seen[off / 4096 + i]++;
		pages += n;
	}
	CHECK(pages == nonzero);
	for (size_t i = 0; i < SRAM_PAGES; i++) {
		bool zero = true;
		for (size_t j = 0; j < 4096; j++)
			zero = zero && ram[i * 4096 + j] == 0;
		CHECK(seen[i] == (zero ? 0 : 1));
	}
	CHECK(type == 0x20);
	doc = ckp_doc_decode(p, len, "STATE", 0);
	want = ckp_doc_load(meta, 0);
	CHECK(ckp_doc_error(doc) == 0 && ckp_doc_error(want) == 0);
	CHECK_STR(ckp_doc_checksum(doc), ckp_doc_checksum(want));
	ckp_doc_free(doc);
	ckp_doc_free(want);
	CHECK(ckp_stream_recv(s, &type, (const void **)&p, &len) == 0 &&
	    type == 0x21 && len == 0);
	CHECK(ckp_stream_recv(s, &type, (const void **)&p, &len) == -ENODATA);
	ckp_stream_free(s);
	free(seen);
	close(fd);
}

/* No file but @p keep in dir whose name begins with @p prefix. */
static bool
only_file(const char *prefix, const char *keep)
{
	char cmd[PATH_MAX + 64], out[4096];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "cd '%s' && ls -a | grep '^%s'", dir, prefix);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	if (keep == NULL)
		return n == 0;
	return strncmp(out, keep, strlen(keep)) == 0 && out[strlen(keep)] == '\n' &&
	    out[strlen(keep) + 1] == '\0';
}

/* `ckp convert X.ckp Y.ckps`: the one-way stream of a checkpoint. */
static void
test_stream_write(void)
{
	char path[PATH_MAX], meta[PATH_MAX + 8], sp[PATH_MAX], kp[PATH_MAX];
	char out[16384];
	uint64_t nonzero;
	uint8_t *ram = stream_ram(&nonzero);
	static const uint8_t key[] = "a secret of 24 bytes...\n";
	ckp_doc_t *doc;
	int fd;

	snprintf(path, sizeof(path), "%s/s.ckp", dir);
	snprintf(meta, sizeof(meta), "%s.meta", path);
	snprintf(sp, sizeof(sp), "%s/s.ckps", dir);
	snprintf(kp, sizeof(kp), "%s/key", dir);
	doc = stream_meta(SRAM_PAGES * 4096ull);
	CHECK(write_ckp(path, ram, SRAM_PAGES * 4096, doc) == 0);
	ckp_doc_free(doc);

	CHECK(t_run(ckp_tool, out, sizeof(out), "convert '%s' '%s'", path,
	    sp) == 0);
	CHECK_STR(out, "");
	check_stream_file(sp, meta, ram, nonzero, NULL, 0);
	CHECK(only_file("s.ckps", "s.ckps"));
	struct stat st;
	CHECK(stat(sp, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* keyed: by the meta's name too; the key's newline is part of it */
	fd = open(kp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, key, sizeof(key) - 1) ==
	    (ssize_t)sizeof(key) - 1);
	close(fd);
	CHECK(t_run(ckp_tool, out, sizeof(out), "convert --migrate-key '%s' "
	    "'%s' '%s'", kp, meta, sp) == 0);
	check_stream_file(sp, meta, ram, nonzero, key, sizeof(key) - 1);
	CHECK(t_run(ckp_tool, out, sizeof(out), "convert --to ckps "
	    "--migrate-key '%s' '%s' - > '%s'", kp, meta, sp) == 0);
	check_stream_file(sp, meta, ram, nonzero, key, sizeof(key) - 1);

	/* a key others can read, or too short: refused, nothing written */
	unlink(sp);
	CHECK(chmod(kp, 0640) == 0);
	CHECK(t_run(ckp_tool, out, sizeof(out), "convert --migrate-key '%s' "
	    "'%s' '%s'", kp, path, sp) == 2);
	CHECK_HAS(out, "key has mode 0640: group or others may read or write it");
	CHECK(chmod(kp, 0600) == 0 && truncate(kp, 15) == 0);
	CHECK(t_run(ckp_tool, out, sizeof(out), "convert --migrate-key '%s' "
	    "'%s' '%s'", kp, path, sp) == 2);
	CHECK_HAS(out, "key holds 15 bytes: a key is 16 to 4096 bytes");
	CHECK(only_file("s.ckps", NULL));

	/* RAM that does not match its meta: no stream, no temporary */
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "X", 1, 3 * 4096 + 9) == 1);
	close(fd);
	CHECK(t_run(ckp_tool, out, sizeof(out), "convert '%s' '%s'", path,
	    sp) == 2);
	CHECK_HAS(out, "s.ckp: chunk at offset 0x0 does not match");
	CHECK(only_file("s.ckps", NULL));
	free(ram);
}

/* The frames of a stream, as sent: to be written again, changed. */
struct frames {
	size_t	 n;
	uint8_t	 type[64];
	uint8_t	*data[64];
	size_t	 len[64];
};

static void
frames_read(const char *path, struct frames *f)
{
	int fd = open(path, O_RDONLY);
	ckp_stream_t *s = ckp_stream_new(fd, CKP_STREAM_READER, NULL, 0,
	    CKP_STREAM_ONEWAY, path);
	const void *p;

	memset(f, 0, sizeof(*f));
	CHECK(ckp_stream_start(s) == 0);
	while (f->n < 64 && ckp_stream_recv(s, &f->type[f->n], &p,
	    &f->len[f->n]) == 0) {
		f->data[f->n] = malloc(f->len[f->n] + 1);
		memcpy(f->data[f->n], p, f->len[f->n]);
		f->n++;
	}
	CHECK(ckp_stream_error(s) == -ENODATA);
	ckp_stream_free(s);
	close(fd);
}

static void
frames_free(struct frames *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->data[i]);
}

/* Write frames @p order (indices into @p f, -1 ends) as stream @p path. */
static void
frames_write(const char *path, const struct frames *f, const int *order)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ckp_stream_t *s = ckp_stream_new(fd, CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, path);

	CHECK(ckp_stream_start(s) == 0);
	for (; *order >= 0; order++)
		CHECK(ckp_stream_send(s, f->type[*order], f->data[*order],
		    f->len[*order]) == 0);
	ckp_stream_free(s);
	close(fd);
}

/* Replace frame @p i's payload with document @p doc, encoded. */
static void
frame_set_doc(struct frames *f, size_t i, ckp_doc_t *doc)
{
	void *buf;
	size_t len;

	CHECK(ckp_doc_encode(doc, CKP_ENC_BIN, &buf, &len) == 0);
	free(f->data[i]);
	f->data[i] = buf;
	f->len[i] = len;
}

/*
 * `ckp convert` and `ckp check` of the stream in @p sp: both exit 2 with
 * @p msg, and no checkpoint @p out (nor a temporary of it) is left.
 */
static void
refused(const char *sp, const char *out, const char *msg)
{
	char o[16384];

	CHECK(t_run(ckp_tool, o, sizeof(o), "convert '%s' '%s'", sp, out) == 2);
	CHECK_HAS(o, msg);
	CHECK_HAS(o, "nothing published");
	CHECK(only_file("r.ckp", NULL));
	CHECK(t_run(ckp_tool, o, sizeof(o), "check '%s'", sp) == 2);
	CHECK_HAS(o, msg);
	CHECK_HAS(o, "s.ckps: BAD\n");
}

/*
 * `ckp convert Y.ckps Z.ckp` and `ckp check Y.ckps`: a round trip gives
 * the same RAM and meta; a stream out of order or whose content does not
 * add up is refused, naming the frame, and nothing is published.
 */
static void
test_stream_read(void)
{
	char path[PATH_MAX], meta[PATH_MAX + 8], sp[PATH_MAX], out[PATH_MAX];
	char kp[PATH_MAX], o[16384], want[PATH_MAX + 64];
	uint64_t nonzero;
	uint8_t *ram = stream_ram(&nonzero), *got;
	struct frames f;
	ckp_doc_t *doc;
	int fd;

	snprintf(path, sizeof(path), "%s/s.ckp", dir);
	snprintf(meta, sizeof(meta), "%s.meta", path);
	snprintf(sp, sizeof(sp), "%s/s.ckps", dir);
	snprintf(out, sizeof(out), "%s/r.ckp", dir);
	snprintf(kp, sizeof(kp), "%s/key", dir);
	doc = stream_meta(SRAM_PAGES * 4096ull);
	CHECK(write_ckp(path, ram, SRAM_PAGES * 4096, doc) == 0);
	ckp_doc_free(doc);

	/* round trip, unkeyed and keyed, meta in json and bin */
	for (int keyed = 0; keyed < 2; keyed++) {
		const char *k = keyed ? "--migrate-key " : "";
		const char *kf = keyed ? kp : "";

		fd = open(kp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0 && write(fd, "0123456789abcdef", 16) == 16);
		close(fd);
		CHECK(t_run(ckp_tool, o, sizeof(o), "convert %s%s '%s' '%s'", k,
		    kf, path, sp) == 0);
		CHECK(t_run(ckp_tool, o, sizeof(o), "convert %s%s %s '%s' '%s'",
		    k, kf, keyed ? "--to bin" : "", sp, out) == 0);
		CHECK_STR(o, "");
		got = malloc(SRAM_PAGES * 4096);
		fd = open(out, O_RDONLY);
		CHECK(fd >= 0 && read(fd, got, SRAM_PAGES * 4096) ==
		    SRAM_PAGES * 4096 && read(fd, got, 1) == 0);
		close(fd);
		CHECK(memcmp(got, ram, SRAM_PAGES * 4096) == 0);
		free(got);
		CHECK(t_run(ckp_tool, o, sizeof(o), "diff '%s' '%s.meta'", meta,
		    out) == 1);
		CHECK_STR(o, "~ ram.file$string: \"s.ckp\" -> \"r.ckp\"\n");
		CHECK(t_run(ckp_tool, o, sizeof(o), "check '%s'", out) == 0);
		CHECK_HAS(o, keyed ? "r.ckp.meta: bin encoding" :
		    "r.ckp.meta: json encoding");
		CHECK_HAS(o, "r.ckp.meta: ok\n");
		CHECK(t_run(ckp_tool, o, sizeof(o), "check %s%s '%s'", k, kf,
		    sp) == 0);
		snprintf(want, sizeof(want), "s.ckps: 1 round, %llu pages, 0 "
		    "zero pages\n", (unsigned long long)nonzero);
		CHECK_HAS(o, want);
		CHECK_HAS(o, keyed ? "one-way, keyed" : "one-way, unkeyed");
		CHECK_HAS(o, "disk@0 pci.0.3.0 1048576 bytes, disk@1 pci.0.4.0 "
		    "3145728 bytes\n");
		CHECK_HAS(o, "s.ckps: ok\n");
		/* show and get read its STATE and say it is a stream */
		CHECK(t_run(ckp_tool, o, sizeof(o), "get %s%s '%s' "
		    "devices.virtio-blk@1.image_size", k, kf, sp) == 0);
		CHECK_HAS(o, "\n300000\n");	/* 3 MiB, in hex */
		CHECK_HAS(o, "is a checkpoint stream");
		unlink(out);
		snprintf(want, sizeof(want), "%s.meta", out);
		unlink(want);
	}
	/* the keyed stream without its key, and with another one */
	CHECK(t_run(ckp_tool, o, sizeof(o), "check '%s'", sp) == 2);
	CHECK_HAS(o, "no key was given");
	fd = open(kp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "0123456789abcdeF", 16) == 16);
	close(fd);
	CHECK(t_run(ckp_tool, o, sizeof(o), "convert --migrate-key '%s' '%s' "
	    "'%s'", kp, sp, out) == 2);
	CHECK_HAS(o, "frame 0 (type 0x01): authentication failed");
	CHECK(only_file("r.ckp", NULL));

	/* Frames out of order, or that do not add up: named, refused. */
	CHECK(t_run(ckp_tool, o, sizeof(o), "convert '%s' '%s'", path, sp) == 0);
	frames_read(sp, &f);
	size_t n = f.n;	/* HELLO ROUND PAGES... STATE END */
	CHECK(n >= 6 && f.type[0] == 0x01 && f.type[1] == 0x12 &&
	    f.type[2] == 0x10 && f.type[n - 2] == 0x20 && f.type[n - 1] == 0x21);
	int order[80], k = 0;
#define ORDER(...) do {							\
	int o_[] = { __VA_ARGS__ };					\
	k = 0;								\
	for (size_t i_ = 0; i_ < sizeof(o_) / sizeof(o_[0]); i_++)	\
		order[k++] = o_[i_];					\
} while (0)
#define ALL_FROM(first) do {						\
	for (size_t i_ = (first); i_ < n; i_++)				\
		order[k++] = (int)i_;					\
	order[k] = -1;							\
} while (0)

	ORDER((int)n - 2);
	ALL_FROM(0);
	frames_write(sp, &f, order);
	refused(sp, out, "stream ");
	refused(sp, out, "s.ckps: frame 0 (STATE): expected HELLO\n");

	ORDER(0, 0);
	ALL_FROM(1);
	frames_write(sp, &f, order);
	refused(sp, out, "s.ckps: frame 1 (HELLO): expected ROUND\n");

	ORDER(0);
	ALL_FROM(2);
	frames_write(sp, &f, order);
	refused(sp, out, "s.ckps: frame 1 (PAGES): expected ROUND\n");

	ORDER(0);
	ALL_FROM(1);
	order[k - 1] = -1;	/* no END */
	frames_write(sp, &f, order);
	refused(sp, out, "s.ckps: ended after");
	refused(sp, out, "frames, expected END: truncated\n");

	ORDER(0);
	ALL_FROM(1);
	order[k] = 2;		/* PAGES again, after END */
	order[k + 1] = -1;
	frames_write(sp, &f, order);
	snprintf(want, sizeof(want), "s.ckps: frame %zu (PAGES): a frame after "
	    "END", n);
	refused(sp, out, want);

	ORDER(0, 1, 2, (int)n - 1, -1);	/* END where STATE belongs */
	frames_write(sp, &f, order);
	refused(sp, out, "s.ckps: frame 3 (END): expected PAGES, ZERO, ROUND "
	    "or STATE\n");

	/* a page beyond the RAM */
	uint64_t end = SRAM_PAGES * 4096ull;
	for (int i = 0; i < 8; i++)
		f.data[2][i] = (uint8_t)(end >> (8 * i));
	ORDER(0);
	ALL_FROM(1);
	frames_write(sp, &f, order);
	refused(sp, out, "s.ckps: frame 2 (PAGES): ");
	memset(f.data[2], 0, 8);	/* back to offset 0 */

	/* a page changed, its frame intact: the RAM does not match STATE */
	f.data[2][8 + 4096 + 17] ^= 1;
	frames_write(sp, &f, order);
	snprintf(want, sizeof(want), "s.ckps: frame %zu (STATE): ", n - 2);
	refused(sp, out, want);
	refused(sp, out, "chunk at offset 0x0 does not match");
	f.data[2][8 + 4096 + 17] ^= 1;
	frames_write(sp, &f, order);
	CHECK(t_run(ckp_tool, o, sizeof(o), "check '%s'", sp) == 0);

	/* HELLO unlike STATE, or asking for what ckp will not hold */
	uint8_t *saved = malloc(f.len[0]);
	size_t savedlen = f.len[0];
	memcpy(saved, f.data[0], savedlen);
	doc = ckp_doc_decode(saved, savedlen, "HELLO", 0);
	ckp_ent_set_text(ckp_doc_find(doc, "config.name"), "vm2");
	frame_set_doc(&f, 0, doc);
	ckp_doc_free(doc);
	frames_write(sp, &f, order);
	refused(sp, out, "(STATE): config differs from HELLO's (at "
	    "config.name)\n");

	doc = ckp_doc_decode(saved, savedlen, "HELLO", 0);
	ckp_ent_set_text(ckp_doc_find(doc, "migration.ram_size"), "2000");
	frame_set_doc(&f, 0, doc);
	ckp_doc_free(doc);
	frames_write(sp, &f, order);
	snprintf(want, sizeof(want), "s.ckps: frame 0 (HELLO): migration."
	    "ram_size is 8192 bytes, but memory.size says %llu\n",
	    (unsigned long long)end);
	refused(sp, out, want);

	doc = ckp_doc_decode(saved, savedlen, "HELLO", 0);
	ckp_ent_set_text(ckp_doc_find(doc, "migration.ram_size"),
	    "4000000000000");	/* hex, as the text form has it: 1 PiB */
	ckp_ent_set_text(ckp_doc_find(doc, "memory.size"), "4000000000000");
	frame_set_doc(&f, 0, doc);
	ckp_doc_free(doc);
	frames_write(sp, &f, order);
	refused(sp, out, "s.ckps: frame 0 (HELLO): migration.ram_size is "
	    "1125899906842624 bytes, more than the ");

	doc = ckp_doc_decode(saved, savedlen, "HELLO", 0);
	ckp_sec_set_version(ckp_sec_find(ckp_doc_root(doc), "migration"), 2);
	frame_set_doc(&f, 0, doc);
	ckp_doc_free(doc);
	frames_write(sp, &f, order);
	refused(sp, out, "s.ckps: frame 0 (HELLO): section migration has "
	    "version 2, newer than the 1 this program knows");

	doc = ckp_doc_decode(saved, savedlen, "HELLO", 0);
	ckp_sec_remove(ckp_sec_find(ckp_doc_root(doc), "migration"),
	    "disk@1");
	frame_set_doc(&f, 0, doc);
	ckp_doc_free(doc);
	frames_write(sp, &f, order);
	refused(sp, out, "(STATE): disk@1 (slot and size) differs from "
	    "HELLO's migration.disk@1\n");

	/* the writer gave up */
	doc = ckp_frame_abort_doc("disk full");
	frame_set_doc(&f, 1, doc);
	ckp_doc_free(doc);
	f.type[1] = 0x7f;
	free(f.data[0]);
	f.data[0] = saved;
	f.len[0] = savedlen;
	ORDER(0, 1, -1);
	frames_write(sp, &f, order);
	refused(sp, out, "s.ckps: frame 1 (ABORT): the writer gave up: disk "
	    "full\n");

	/* a type hyve does not send */
	f.type[1] = 0x99;
	ORDER(0, 1, -1);
	frames_write(sp, &f, order);
	refused(sp, out, "s.ckps: frame 1 (type 0x99): expected ROUND\n");
	frames_free(&f);
	unlink(sp);
	free(ram);
}

int
main(int argc, char **argv)
{
	(void)argc;
	if (t_ckp_tool(argv[0], ckp_tool, sizeof(ckp_tool)) != 0 ||
	    t_tmpdir(dir, sizeof(dir), "test_ckp_tool") != 0)
		return 1;
	test_pair();
	test_hostpaths();
	test_owner();
	test_max_size();
	test_stream_write();
	test_stream_read();
	t_rmdir(dir);
	TEST_END();
}
