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
	t_rmdir(dir);
	TEST_END();
}
