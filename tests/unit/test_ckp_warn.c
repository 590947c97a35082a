/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Warnings raised before a document has a callback: held until the first
 * ckp_doc_set_warn(), so that what ckp_checkpoint_open() warns about (a
 * temporary recovery refused) reaches its caller.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "test_ckp.h"

static char warns[8192];
static int nwarn;

static void
warn_cb(void *arg, const char *msg)
{
	size_t len = strlen(warns);

	(void)arg;
	nwarn++;
	snprintf(warns + len, sizeof(warns) - len, "%s\n", msg);
}

static void
warn_reset(void)
{
	nwarn = 0;
	warns[0] = '\0';
}

static void
test_held(void)
{
	ckp_doc_t *doc = ckp_doc_new_empty();

	/* A document of one's own: dropped, as always. */
	warn_reset();
	ckp_doc_warn(doc, "nobody listens");
	ckp_doc_set_warn(doc, warn_cb, NULL);
	CHECK(nwarn == 0);
	ckp_doc_free(doc);

	/* One the library returns: held in order, delivered by the first
	 * callback set. */
	doc = ckp_doc_new_empty();
	doc->warn_hold = true;
	warn_reset();
	ckp_doc_warn(doc, "one %d", 1);
	ckp_doc_warn(doc, "two");
	CHECK(nwarn == 0);
	ckp_doc_set_warn(doc, warn_cb, NULL);
	CHECK(nwarn == 2);
	CHECK_STR(warns, "one 1\ntwo\n");
	/* Delivered once. */
	ckp_doc_set_warn(doc, warn_cb, NULL);
	CHECK(nwarn == 2);
	ckp_doc_warn(doc, "three");
	CHECK_STR(warns, "one 1\ntwo\nthree\n");
	/* A callback once set, NULL silences: nothing is held for later. */
	ckp_doc_set_warn(doc, NULL, NULL);
	ckp_doc_warn(doc, "silenced");
	ckp_doc_set_warn(doc, warn_cb, NULL);
	CHECK(nwarn == 3);
	ckp_doc_free(doc);

	/* A first callback of NULL drops what was held. */
	doc = ckp_doc_new_empty();
	doc->warn_hold = true;
	warn_reset();
	ckp_doc_warn(doc, "dropped");
	ckp_doc_set_warn(doc, NULL, NULL);
	ckp_doc_set_warn(doc, warn_cb, NULL);
	CHECK(nwarn == 0);
	ckp_doc_free(doc);

	/* Bounded: the rest counted in one line. */
	doc = ckp_doc_new_empty();
	doc->warn_hold = true;
	warn_reset();
	for (int i = 0; i < CKP__WARN_HELD_MAX + 4; i++)
		ckp_doc_warn(doc, "w%d", i);
	ckp_doc_set_warn(doc, warn_cb, NULL);
	CHECK(nwarn == CKP__WARN_HELD_MAX + 1);
	CHECK_HAS(warns, "w0\nw1\n");
	CHECK_HAS(warns, "\n4 more warnings not shown\n");
	ckp_doc_free(doc);

	/* Freed while held (a leak under ASan otherwise). */
	doc = ckp_doc_new_empty();
	doc->warn_hold = true;
	ckp_doc_warn(doc, "never seen");
	ckp_doc_free(doc);
}

#define SIZE	(64u << 10)

static int
write_ckp(const char *path)
{
	unsigned char *m = calloc(1, SIZE);
	ckp_ram_seg_t seg = { m, 0, SIZE };
	ckp_writer_t *w;
	ckp_doc_t *meta;
	char err[512];
	int r;

	memset(m, 0x5a, SIZE / 2);
	if ((r = ckp_writer_begin(path, SIZE, &w, err, sizeof(err))) < 0)
		goto out;
	if ((r = ckp_writer_put_segs(w, &seg, 1, 1)) < 0) {
		ckp_writer_abort(w);
		goto out;
	}
	meta = ckp_doc_new("test_ckp_warn 1");
	r = ckp_writer_commit(w, meta, CKP_ENC_JSON, err, sizeof(err));
	ckp_doc_free(meta);
out:
	if (r < 0)
		fprintf(stderr, "writing %s: %s\n", path, err);
	free(m);
	return r;
}

/* A RAM temporary others can write is refused by recovery, and named. */
static void
test_open_refused_tmp(void)
{
	char dir[] = "/tmp/test_ckp_warn.XXXXXX", path[128], tmp[160];
	ckp_doc_t *doc;
	int fd;

	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/v.ckp", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(write_ckp(path) == 0);

	/* Nothing to say without leftovers. */
	warn_reset();
	doc = ckp_checkpoint_open(path, 0);
	CHECK(doc != NULL && ckp_doc_error(doc) == 0);
	ckp_doc_set_warn(doc, warn_cb, NULL);
	CHECK(nwarn == 0);
	ckp_doc_free(doc);

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK(fd < 0 || ftruncate(fd, SIZE) == 0);
	if (fd >= 0)
		close(fd);
	CHECK(chmod(tmp, 0666) == 0);
	warn_reset();
	doc = ckp_checkpoint_open(path, 0);
	CHECK(doc != NULL && ckp_doc_error(doc) == 0);
	ckp_doc_set_warn(doc, warn_cb, NULL);
	CHECK(nwarn == 1);
	CHECK_HAS(warns, "checkpoint ");
	CHECK_HAS(warns, "v.ckp.tmp is writable by group or others");
	CHECK_HAS(warns, "leaves it alone");
	ckp_doc_free(doc);
	CHECK(access(tmp, F_OK) == 0);

	/* This user's own leftover is removed, as before, quietly. */
	CHECK(chmod(tmp, 0600) == 0);
	warn_reset();
	doc = ckp_checkpoint_open(path, 0);
	CHECK(doc != NULL && ckp_doc_error(doc) == 0);
	ckp_doc_set_warn(doc, warn_cb, NULL);
	CHECK(nwarn == 0);
	ckp_doc_free(doc);
	CHECK(access(tmp, F_OK) != 0);

	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.meta", path);
	unlink(tmp);
	rmdir(dir);
}

int
main(void)
{
	test_held();
	test_open_refused_tmp();
	TEST_END();
}
