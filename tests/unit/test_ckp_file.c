/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Files: atomic save (no temporary left, permissions of the file being
 * replaced kept), load in every encoding, errors naming the file; the size
 * limit of a document, from a file and from a descriptor that never ends.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_ckp.h"

static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ckp_doc_load_max(), ckp_doc_load_fd(): the limit, checked while reading. */
static void
test_limit(const char *dir)
{
	char path[256];
	ckp_doc_t *d = t_sample_doc(), *l;
	struct stat st;
	int fd, p[2];
	size_t len;
	char *buf;

	snprintf(path, sizeof(path), "%s/lim.json", dir);
	CHECK(ckp_doc_save(d, path, CKP_ENC_JSON) == 0);
	CHECK(stat(path, &st) == 0);
	/* Exactly at the limit: read; one byte under the size: refused. */
	l = ckp_doc_load_max(path, 0, (size_t)st.st_size);
	CHECK(ckp_doc_error(l) == 0);
	ckp_doc_free(l);
	l = ckp_doc_load_max(path, 0, (size_t)st.st_size - 1);
	CHECK(ckp_doc_error(l) == -EFBIG);
	snprintf(path, sizeof(path), "%s/lim.json: larger than the %zu-byte "
	    "limit for a document", dir, (size_t)st.st_size - 1);
	CHECK_STR(ckp_doc_errmsg(l), path);
	ckp_doc_free(l);

	/* /dev/zero never ends: stopped at the limit. */
	fd = open("/dev/zero", O_RDONLY);
	CHECK(fd >= 0);
	l = ckp_doc_load_fd(fd, "/dev/zero", 0, 65536);
	CHECK(ckp_doc_error(l) == -EFBIG);
	CHECK_STR(ckp_doc_errmsg(l), "/dev/zero: larger than the 65536-byte "
	    "limit for a document");
	ckp_doc_free(l);
	close(fd);

	/* A pipe: a document read to its end, then an empty input. */
	buf = t_encode(d, CKP_ENC_CONF, &len);
	CHECK(len < 65536 && pipe(p) == 0);
	CHECK(write(p[1], buf, len) == (ssize_t)len);
	close(p[1]);
	l = ckp_doc_load_fd(p[0], "<pipe>", 0, len);
	CHECK(ckp_doc_error(l) == 0 && ckp_doc_encoding(l) == CKP_ENC_CONF);
	CHECK(ckp__sec_equal(ckp_doc_root(l), ckp_doc_root(d)));
	ckp_doc_free(l);
	l = ckp_doc_load_fd(p[0], "<pipe>", 0, 0);
	CHECK(ckp_doc_error(l) == -EINVAL);
	CHECK_STR(ckp_doc_errmsg(l), "<pipe>: empty input");
	ckp_doc_free(l);
	close(p[0]);
	free(buf);
	ckp_doc_free(d);
	snprintf(path, sizeof(path), "%s/lim.json", dir);
	unlink(path);
}

int
main(void)
{
	char dir[] = "/tmp/test_ckp_file.XXXXXX", path[256];
	struct stat st;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/doc.meta", dir);
	ckp_doc_t *d = t_sample_doc();
	for (ckp_enc_t enc = CKP_ENC_JSON; enc <= CKP_ENC_CONF; enc++) {
		CHECK(ckp_doc_save(d, path, enc) == 0);
		CHECK(count_files(dir) == 1);	/* no temporary left behind */
		ckp_doc_t *l = ckp_doc_load(path, 0);
		CHECK(ckp_doc_error(l) == 0 && ckp_doc_encoding(l) == enc);
		CHECK(ckp__sec_equal(ckp_doc_root(l), ckp_doc_root(d)));
		ckp_doc_free(l);
	}
	/* replacing keeps the mode of the file replaced */
	chmod(path, 0640);
	CHECK(ckp_doc_save(d, path, CKP_ENC_JSON) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);

	/* errors name the file */
	ckp_doc_t *l = ckp_doc_load("/nonexistent/x.meta", 0);
	CHECK(ckp_doc_error(l) == -ENOENT);
	CHECK_STR(ckp_doc_errmsg(l), "/nonexistent/x.meta: No such file or directory");
	ckp_doc_free(l);
	l = ckp_doc_load(dir, 0);
	CHECK(ckp_doc_error(l) == -EISDIR);
	ckp_doc_free(l);
	snprintf(path, sizeof(path), "%s/empty", dir);
	fclose(fopen(path, "w"));
	l = ckp_doc_load(path, 0);
	CHECK(ckp_doc_error(l) == -EINVAL);
	CHECK_HAS(ckp_doc_errmsg(l), "/empty: empty file");
	ckp_doc_free(l);
	unlink(path);
	snprintf(path, sizeof(path), "%s/nodir/x.meta", dir);
	CHECK(ckp_doc_save(d, path, CKP_ENC_BIN) == -ENOENT);
	CHECK_HAS(ckp_doc_errmsg(d), "/nodir/x.meta: cannot write: No such file or directory");
	ckp_doc_clear_error(d);

	/* a document with an error is never written */
	snprintf(path, sizeof(path), "%s/bad.meta", dir);
	ckp_sec_add_uint8(ckp_doc_root(d), "bad name", 1);
	CHECK(ckp_doc_save(d, path, CKP_ENC_JSON) == -EINVAL);
	CHECK(access(path, F_OK) != 0);
	ckp_doc_free(d);

	test_limit(dir);
	snprintf(path, sizeof(path), "%s/doc.meta", dir);
	unlink(path);
	rmdir(dir);
	TEST_END();
}
