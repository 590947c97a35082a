/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * `ckp check` on a real checkpoint (meta + RAM file written by
 * ckp_writer): both files are checked, by either name, and a corrupted RAM
 * file or meta is reported with exit status 2.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_ckp.h"

static char ckp_tool[PATH_MAX];

/* Run `ckp ARGS`, capturing its output; returns its exit status. */
static int
run(char *out, size_t size, const char *args)
{
	char cmd[2 * PATH_MAX];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", ckp_tool, args);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/test_ckp_tool.XXXXXX", path[PATH_MAX], meta[PATH_MAX];
	char err[512], out[8192], args[2 * PATH_MAX], bin[PATH_MAX];
	const char *b = getenv("BUILD");
	ckp_writer_t *w;
	size_t ramsize = 64 * 4096;
	uint8_t *ram;

	(void)argc;
	/* the tool next to this test: $BUILD/ckp, this is $BUILD/tests/test_... */
	snprintf(bin, sizeof(bin), "%s", argv[0]);
	if (b != NULL)
		snprintf(ckp_tool, sizeof(ckp_tool), "%s/ckp", b);
	else
		snprintf(ckp_tool, sizeof(ckp_tool), "%s/../ckp", dirname(bin));
	if (access(ckp_tool, X_OK) != 0) {
		fprintf(stderr, "%s: not built\n", ckp_tool);
		return 1;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
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
		return 1;
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
	rmdir(dir);
	free(ram);
	TEST_END();
}
