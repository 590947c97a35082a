/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Encoding and decoding entry points, the checksum, files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckp_impl.h"

int
ckp__buf_grow(struct ckp__buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->err != 0)
		return b->err;
	if (more > SIZE_MAX / 2 - b->len) {
		b->err = -ENOMEM;
		return b->err;
	}
	cap = b->cap < 4096 ? 4096 : b->cap;
	while (cap - b->len < more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
ckp__buf_puts(struct ckp__buf *b, const char *s)
{
	ckp__buf_put(b, s, strlen(s));
}

void
ckp__buf_putc(struct ckp__buf *b, char c)
{
	char *d = ckp__buf_reserve(b, 1);

	if (d != NULL) {
		*d = c;
		b->len++;
	}
}

void
ckp__linecol(const char *buf, size_t off, unsigned *line, unsigned *col)
{
	const char *p = buf, *end = buf + off, *nl;
	unsigned l = 1;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		l++;
		p = nl + 1;
	}
	*line = l;
	*col = (unsigned)(end - p) + 1;
}

ckp_enc_t
ckp__detect(const void *bufv, size_t len)
{
	const unsigned char *b = bufv;
	size_t i = 0;

	/*
	 * "CKPB" and then the low byte of the encoding version, never a
	 * printable character; a conf document may start with a section
	 * named "CKPB...".
	 */
	if (len >= 4 && memcmp(b, "CKPB", 4) == 0 &&
	    (len == 4 || b[4] < 0x20 || b[4] >= 0x7f))
		return CKP_ENC_BIN;
	if (len >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
		i = 3;
	while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' ||
	    b[i] == '\r'))
		i++;
	/* '[' and '"' are JSON too: wrong, but the JSON decoder says why */
	if (i < len && (b[i] == '{' || b[i] == '[' || b[i] == '"'))
		return CKP_ENC_JSON;
	/*
	 * Text starts with printable bytes; anything else is binary data,
	 * which the binary decoder rejects with "wrong magic" rather than the
	 * conf decoder with a puzzling syntax error.
	 */
	for (i = 0; i < len && i < 8; i++)
		if ((b[i] < 0x20 && b[i] != '\t' && b[i] != '\n' &&
		    b[i] != '\r') || b[i] == 0x7f)
			return CKP_ENC_BIN;
	return CKP_ENC_CONF;
}

/* Header checks: a document that says it is not ours, or is too new. */
static int
check_header(ckp_doc_t *doc, const char *where)
{
	ckp_sec_t *h = ckp_sec_find(&doc->root, "header");
	ckp_ent_t *e;

	if (h == NULL)
		return 0;	/* the seed review's files have none; ckp check says so */
	e = ckp__lookup(h, "format", 6);
	if (e != NULL && (e->type != CKP_TYPE_STRING ||
	    strcmp(e->v.s.p, CKP_FORMAT_NAME) != 0)) {
		if (e->type != CKP_TYPE_STRING)
			return ckp_doc_set_error(doc, -EINVAL,
			    "%s: header.format has type %s, expected string",
			    where, ckp_type_name((ckp_type_t)e->type));
		return ckp_doc_set_error(doc, -EINVAL,
		    "%s: header.format is '%.64s', not '%s': not a checkpoint document",
		    where, e->v.s.p, CKP_FORMAT_NAME);
	}
	e = ckp__lookup(h, "format_version", 14);
	if (e != NULL) {
		if (e->type != CKP_TYPE_UINT32)
			return ckp_doc_set_error(doc, -EINVAL,
			    "%s: header.format_version has type %s, expected uint32",
			    where, ckp_type_name((ckp_type_t)e->type));
		if (e->v.u > CKP_FORMAT_VERSION)
			return ckp_doc_set_error(doc, -EPROTONOSUPPORT,
			    "%s: format version %llu is newer than the %d this program reads; "
			    "use a newer ckp", where, (unsigned long long)e->v.u,
			    CKP_FORMAT_VERSION);
	}
	return 0;
}

int
ckp__decode_finish(ckp_doc_t *doc, bool have_sum, uint64_t file_sum,
    uint64_t content, const char *origin, const char *where, unsigned flags)
{
	char a[CKP_SUM_TEXT_LEN], b[CKP_SUM_TEXT_LEN];

	int err;

	ckp__sum_text(content, doc->sumtext);
	if (!have_sum)
		doc->sum_state = CKP_SUM_NONE;
	else
		doc->sum_state = file_sum == content ? CKP_SUM_OK : CKP_SUM_BAD;
	/*
	 * The header first: a newer format may checksum differently, and
	 * "too new" is the message that helps.
	 */
	if ((err = check_header(doc, origin)) != 0)
		return err;
	if (flags & CKP_LOAD_NOVERIFY)
		return 0;
	if (doc->sum_state == CKP_SUM_NONE && (flags & CKP_LOAD_UNSEALED))
		return 0;
	if (doc->sum_state == CKP_SUM_NONE)
		return ckp_doc_set_error(doc, -EBADMSG,
		    "%s: no checksum: the document is incomplete or written by hand "
		    "(content is %s; 'ckp convert --no-verify' seals it)",
		    where, doc->sumtext);
	if (doc->sum_state == CKP_SUM_BAD) {
		ckp__sum_text(file_sum, a);
		ckp__sum_text(content, b);
		return ckp_doc_set_error(doc, -EBADMSG,
		    "%s: checksum mismatch: the file says %s, the content is %s "
		    "(corrupt or edited by hand; 'ckp convert --no-verify' re-seals it)",
		    where, a, b);
	}
	return 0;
}

const char *
ckp_doc_checksum(ckp_doc_t *doc)
{
	ckp__sum_text(ckp__body_hash(&doc->root), doc->sumtext);
	return doc->sumtext;
}

int
ckp_doc_encode(ckp_doc_t *doc, ckp_enc_t enc, void **bufp, size_t *lenp)
{
	struct ckp__buf out = { 0 };
	char sum[CKP_SUM_TEXT_LEN];
	int err;

	*bufp = NULL;
	*lenp = 0;
	if (doc->err != 0)
		return doc->err;	/* never write a document known to be incomplete */
	switch (enc) {
	case CKP_ENC_JSON:
	case CKP_ENC_CONF:
		ckp__sum_text(ckp__body_hash(&doc->root), sum);
		err = enc == CKP_ENC_JSON ?
		    ckp__json_encode(&doc->root, sum, &out) :
		    ckp__conf_encode(&doc->root, sum, &out);
		break;
	case CKP_ENC_BIN:
		err = ckp__bin_encode(&doc->root, &out);
		break;
	default:
		return ckp_doc_set_error(doc, -EINVAL, "unknown encoding %d",
		    (int)enc);
	}
	if (err == 0)
		err = out.err;
	if (err != 0) {
		free(out.p);
		return ckp_doc_set_error(doc, err, "encoding %s: %s",
		    ckp_enc_name(enc), strerror(-err));
	}
	*bufp = out.p;
	*lenp = out.len;
	return 0;
}

ckp_doc_t *
ckp_doc_decode(const void *buf, size_t len, const char *origin, unsigned flags)
{
	ckp_doc_t *doc = ckp_doc_new_empty();
	int err;

	if (doc == NULL)
		return NULL;
	if (origin == NULL)
		origin = "<input>";
	switch (ckp__detect(buf, len)) {
	case CKP_ENC_BIN:
		err = ckp__bin_decode(doc, buf, len, origin, flags);
		break;
	case CKP_ENC_JSON:
		err = ckp__json_decode(doc, buf, len, origin, flags);
		break;
	default:
		err = ckp__conf_decode(doc, buf, len, origin, flags);
		break;
	}
	if (err == 0)
		err = doc->err;
	if (err != 0)
		ckp__sec_clear(&doc->root);	/* nothing half-read is usable */
	return doc;
}

/*
 * Read all of @p fd, at most @p max bytes: the limit is checked as the
 * bytes come, so an endless input (a pipe, /dev/zero) costs at most @p max
 * bytes of memory.  0, -EFBIG past the limit, or the errno of the read.
 */
static int
read_max(int fd, const struct stat *st, size_t max, char **bufp, size_t *lenp)
{
	size_t len = 0, cap;
	char *buf, *nb;
	ssize_t n;

	*bufp = NULL;
	*lenp = 0;
	if (S_ISREG(st->st_mode) && (uint64_t)st->st_size > max)
		return -EFBIG;
	/* One byte more than a regular file holds: its end is seen at once. */
	cap = S_ISREG(st->st_mode) && st->st_size > 0 ?
	    (size_t)st->st_size + 1 : 65536;
	if (cap > max + 1)
		cap = max + 1;
	if ((buf = malloc(cap)) == NULL)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap == max + 1) {
				free(buf);
				return -EFBIG;
			}
			cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			free(buf);
			return (int)n;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

ckp_doc_t *
ckp_doc_load_fd(int fd, const char *origin, unsigned flags, size_t max)
{
	ckp_doc_t *doc;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int e;

	if (origin == NULL)
		origin = "<input>";
	if (max == 0)
		max = CKP_DOC_MAX_DEFAULT;
	if (max > SIZE_MAX - 1)
		max = SIZE_MAX - 1;
	if (fstat(fd, &st) != 0)
		e = -errno;
	else if (S_ISDIR(st.st_mode))
		e = -EISDIR;
	else
		e = read_max(fd, &st, max, &buf, &len);
	if (e != 0) {
		if ((doc = ckp_doc_new_empty()) == NULL)
			return NULL;
		if (e == -EFBIG)
			ckp_doc_set_error(doc, e, "%s: larger than the %zu-byte "
			    "limit for a document", origin, max);
		else
			ckp_doc_set_error(doc, e, "%s: %s", origin, strerror(-e));
		return doc;
	}
	if (len == 0) {
		free(buf);
		if ((doc = ckp_doc_new_empty()) != NULL)
			ckp_doc_set_error(doc, -EINVAL, "%s: empty %s", origin,
			    S_ISREG(st.st_mode) ? "file" : "input");
		return doc;
	}
	doc = ckp_doc_decode(buf, len, origin, flags);
	free(buf);
	return doc;
}

ckp_doc_t *
ckp_doc_load_max(const char *path, unsigned flags, size_t max)
{
	ckp_doc_t *doc;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		int e = errno;

		if ((doc = ckp_doc_new_empty()) != NULL)
			ckp_doc_set_error(doc, -e, "%s: %s", path, strerror(e));
		return doc;
	}
	doc = ckp_doc_load_fd(fd, path, flags, max);
	close(fd);
	return doc;
}

ckp_doc_t *
ckp_doc_load(const char *path, unsigned flags)
{
	return ckp_doc_load_max(path, flags, 0);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
ckp_doc_save(ckp_doc_t *doc, const char *path, ckp_enc_t enc)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	void *buf;
	size_t len;
	const char *slash;
	int fd = -1, err, dfd;
	static atomic_uint seq;

	err = ckp_doc_encode(doc, enc, &buf, &len);
	if (err != 0)
		return err;
	for (int tries = 0;; tries++) {
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path,
		    (long)getpid(), atomic_fetch_add(&seq, 1u))
		    >= sizeof(tmp)) {
			err = -ENAMETOOLONG;
			goto fail;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries > 100) {
			err = -errno;
			goto fail;
		}
	}
	/* Editing a file in place keeps its permissions. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		(void)fchmod(fd, st.st_mode & 07777);
	if ((err = write_all(fd, buf, len)) != 0)
		goto fail_unlink;
	if (fsync(fd) != 0) {
		err = -errno;
		goto fail_unlink;
	}
	if (close(fd) != 0) {
		fd = -1;
		err = -errno;
		goto fail_unlink;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		err = -errno;
		goto fail_unlink;
	}
	free(buf);
	/* The rename is durable once the directory is synced. */
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		err = -errno;
		if (dfd >= 0)
			close(dfd);
		return ckp_doc_set_error(doc, err, "%s: syncing directory %s: %s",
		    path, dir, strerror(-err));
	}
	close(dfd);
	return 0;
fail_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
fail:
	free(buf);
	return ckp_doc_set_error(doc, err, "%s: cannot write: %s", path,
	    strerror(-err));
}
