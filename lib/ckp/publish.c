/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Publishing a checkpoint atomically, and recovering from a publish that
 * was interrupted (docs/RAMFILE.md "Publishing").
 *
 * A checkpoint FILE.ckp is written as FILE.ckp.tmp and FILE.ckp.meta.tmp,
 * each fsync'd, then renamed: RAM first, meta second.  The meta temporary
 * decoding with a valid checksum is the commit record: once it is durable
 * the new checkpoint is whole and recovery rolls forward; before, recovery
 * throws the temporaries away and the old checkpoint was never touched.
 *
 * Every temporary is created exclusively and locked (flock) by its writer
 * for as long as the writer lives, so that a leftover (unlocked) is told
 * from a file being written (locked).  Whoever removes or renames a
 * temporary holds its lock and checks that the name still refers to the
 * file it locked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef CKP_NO_FLOCK
#include <sys/file.h>
#endif

#include "ram_impl.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0
#endif

/* ---- fault injection ---- */

const char *ckp__crash_at;
static const char *crash_env;

void
ckp__crash_env(void)
{
	crash_env = getenv("CKP_TEST_CRASH_AT");
}

void
ckp__crash_point(const char *step)
{
	const char *at = ckp__crash_at != NULL ? ckp__crash_at : crash_env;

	if (at != NULL && strcmp(at, step) == 0)
		_exit(CKP__CRASH_EXIT);
}

/* ---- names ---- */

static bool
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

static char *
concat(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	char *p = malloc(alen + blen + 1);

	if (p != NULL) {
		memcpy(p, a, alen);
		memcpy(p + alen, b, blen + 1);
	}
	return p;
}

int
ckp__names_init(struct ckp__names *n, const char *path)
{
	size_t len;
	const char *slash;

	memset(n, 0, sizeof(*n));
	if (path == NULL || *path == '\0')
		return -EINVAL;
	len = strlen(path);
	if (has_suffix(path, ".meta"))
		len -= strlen(".meta");
	n->ram = concat(path, len, "");
	if (n->ram == NULL)
		return -ENOMEM;
	/*
	 * "X.tmp" would be the RAM temporary of checkpoint "X": recovering X
	 * would delete it.
	 */
	if (has_suffix(n->ram, ".tmp") || has_suffix(n->ram, "/") ||
	    len == 0) {
		ckp__names_free(n);
		return -EINVAL;
	}
	slash = strrchr(n->ram, '/');
	n->base = slash != NULL ? slash + 1 : n->ram;
	if (strcmp(n->base, ".") == 0 || strcmp(n->base, "..") == 0) {
		ckp__names_free(n);
		return -EINVAL;
	}
	n->meta = concat(n->ram, len, ".meta");
	n->rtmp = concat(n->ram, len, ".tmp");
	n->mtmp = concat(n->ram, len, ".meta.tmp");
	if (slash == NULL)
		n->dir = concat(".", 1, "");
	else if (slash == n->ram)
		n->dir = concat("/", 1, "");
	else
		n->dir = concat(n->ram, (size_t)(slash - n->ram), "");
	if (n->meta == NULL || n->rtmp == NULL || n->mtmp == NULL ||
	    n->dir == NULL) {
		ckp__names_free(n);
		return -ENOMEM;
	}
	return 0;
}

void
ckp__names_free(struct ckp__names *n)
{
	free(n->ram);
	free(n->meta);
	free(n->rtmp);
	free(n->mtmp);
	free(n->dir);
	memset(n, 0, sizeof(*n));
}

int
ckp_ram_path(const char *path, char *buf, size_t size)
{
	struct ckp__names n;
	int r;

	if ((r = ckp__names_init(&n, path)) < 0)
		return r;
	if (strlen(n.ram) >= size)
		r = -ENAMETOOLONG;
	else
		memcpy(buf, n.ram, strlen(n.ram) + 1);
	ckp__names_free(&n);
	return r;
}

/* ---- locks ---- */

int
ckp__lock_try(int fd)
{
#ifndef CKP_NO_FLOCK
	/*
	 * flock: the lock belongs to the open file, so two writers in one
	 * process exclude each other too (POSIX record locks would not).
	 */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
	}
	return 0;
#else
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	while (fcntl(fd, F_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		return errno == EACCES || errno == EAGAIN ? -EWOULDBLOCK :
		    -errno;
	}
	return 0;
#endif
}

bool
ckp__same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
ckp__fsync_dir(const char *dir)
{
	int fd, r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	/* Some file systems cannot sync a directory; nothing to wait for then. */
	if (fsync(fd) < 0 && errno != EINVAL && errno != ENOTSUP &&
	    errno != EBADF)
		r = -errno;
	close(fd);
	return r;
}

int
ckp__tmp_create(const char *path, int *fdp)
{
	int fd, r;

	/* 0600: guest RAM holds the guest's secrets. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return -errno;
	/*
	 * Between open and flock a recovery may have locked the new file as
	 * a leftover and removed it; the name check catches that.
	 */
	if ((r = ckp__lock_try(fd)) < 0 || !ckp__same_file(fd, path)) {
		close(fd);
		return r == -EWOULDBLOCK || r == 0 ? -EAGAIN : r;
	}
	*fdp = fd;
	return 0;
}

/* ---- publishing ---- */

int
ckp__publish(const struct ckp__names *n, const void *meta, size_t len,
    bool *ram_renamed, char *err, size_t errlen)
{
	int mfd = -1, r, tries = 0;
	size_t half = len / 2;

	*ram_renamed = false;
	while ((r = ckp__tmp_create(n->mtmp, &mfd)) == -EAGAIN && ++tries < 5)
		;
	if (r < 0) {
		snprintf(err, errlen, "cannot create %s: %s", n->mtmp,
		    strerror(-r));
		return r;
	}
	if ((r = ckp__pwrite_all(mfd, meta, half, 0)) < 0)
		goto fail_meta;
	ckp__crash_point("meta-partial");
	if ((r = ckp__pwrite_all(mfd, (const char *)meta + half, len - half,
	    half)) < 0)
		goto fail_meta;
	if (fsync(mfd) < 0) {
		r = -errno;
		goto fail_meta;
	}
	/* Both temporaries' names must be durable before the first rename. */
	if ((r = ckp__fsync_dir(n->dir)) < 0)
		goto fail_dir;
	ckp__crash_point("meta-synced");

	if (rename(n->rtmp, n->ram) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot rename %s to %s: %s", n->rtmp,
		    n->ram, strerror(errno));
		goto undo;
	}
	*ram_renamed = true;
	ckp__crash_point("ram-renamed");
	/*
	 * From here on the new checkpoint is the truth: on failure the meta
	 * temporary stays for ckp_recover() to finish the job.
	 */
	if ((r = ckp__fsync_dir(n->dir)) < 0)
		goto fail_dir;
	ckp__crash_point("ram-renamed-synced");
	if (rename(n->mtmp, n->meta) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot rename %s to %s: %s (ckp_recover "
		    "will complete the publish)", n->mtmp, n->meta,
		    strerror(errno));
		goto out;
	}
	ckp__crash_point("meta-renamed");
	if ((r = ckp__fsync_dir(n->dir)) < 0)
		goto fail_dir;
	ckp__crash_point("done");
	r = 0;
	goto out;

fail_meta:
	snprintf(err, errlen, "writing %s: %s", n->mtmp, strerror(-r));
	goto undo;
fail_dir:
	snprintf(err, errlen, "fsync of directory %s: %s", n->dir,
	    strerror(-r));
	if (*ram_renamed)
		goto out;
undo:
	unlink(n->mtmp);
out:
	close(mfd);
	return r;
}

/* ---- recovery ---- */

/*
 * Open and lock the temporary @p path if it exists: 0 with *fdp = -1 when
 * absent, -EWOULDBLOCK when a live process holds it, -EAGAIN when it was
 * replaced meanwhile.
 */
static int
tmp_grab(const char *path, int *fdp)
{
	int fd, r;

	*fdp = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return 0;
		/* A symlink is no temporary of ours; remove it without a lock. */
		if (errno == ELOOP)
			return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
		return -errno;
	}
	if ((r = ckp__lock_try(fd)) < 0) {
		close(fd);
		return r;
	}
	if (!ckp__same_file(fd, path)) {
		close(fd);
		return -EAGAIN;
	}
	*fdp = fd;
	return 0;
}

/*
 * Decide whether the meta temporary is a commit record: it decodes with a
 * valid checksum, has a "ram" section, and (when the RAM temporary is still
 * there) records that file's size.  On "no", @p why says why.
 */
static bool
meta_tmp_valid(const struct ckp__names *n, int rfd, char *why, size_t whylen)
{
	ckp_doc_t *doc = ckp_doc_load(n->mtmp, 0);
	ckp_sec_t *ram;
	uint64_t size;
	struct stat st;
	bool ok = false;

	if (doc == NULL) {
		snprintf(why, whylen, "%s: %s", n->mtmp, strerror(ENOMEM));
		return false;
	}
	if (ckp_doc_error(doc) != 0) {
		snprintf(why, whylen, "%s", ckp_doc_errmsg(doc));
		goto out;
	}
	if (ckp_doc_sum_state(doc) != CKP_SUM_OK) {
		snprintf(why, whylen, "%s has no checksum", n->mtmp);
		goto out;
	}
	if ((ram = ckp_sec_find(ckp_doc_root(doc), "ram")) == NULL ||
	    ckp_sec_get_uint64(ram, "size", &size) < 0) {
		snprintf(why, whylen, "%s has no ram.size", n->mtmp);
		goto out;
	}
	if (rfd >= 0 && (fstat(rfd, &st) < 0 || (uint64_t)st.st_size != size)) {
		snprintf(why, whylen, "%s records %llu bytes of RAM but %s "
		    "has %lld", n->mtmp, (unsigned long long)size, n->rtmp,
		    (long long)st.st_size);
		goto out;
	}
	ok = true;
out:
	ckp_doc_free(doc);
	return ok;
}

int
ckp__recover(const struct ckp__names *n, enum ckp__recover_state *st,
    bool *needed_forward, char *msg, size_t msglen)
{
	int rfd = -1, mfd = -1, r = 0, tries = 0;
	char why[CKP_RAM_ERRMAX];
	struct stat st_;

	ckp__crash_env();
	*st = CKP__REC_NONE;
	*needed_forward = false;
	if (msglen > 0)
		msg[0] = '\0';
again:
	if ((r = tmp_grab(n->rtmp, &rfd)) < 0) {
		if (r == -EAGAIN && ++tries < 5)
			goto again;
		if (r == -EWOULDBLOCK || r == -EAGAIN) {
			*st = CKP__REC_BUSY_WRITE;
			snprintf(msg, msglen, "a checkpoint to %s is being "
			    "written by another process", n->ram);
			return -EBUSY;
		}
		snprintf(msg, msglen, "cannot open %s: %s", n->rtmp,
		    strerror(-r));
		/* Undecided: if a commit record is there, the pair may be mixed. */
		*needed_forward = lstat(n->mtmp, &st_) == 0;
		return r;
	}
	if ((r = tmp_grab(n->mtmp, &mfd)) < 0) {
		if (rfd >= 0)
			close(rfd);
		rfd = -1;
		if (r == -EAGAIN && ++tries < 5)
			goto again;
		if (r == -EWOULDBLOCK || r == -EAGAIN) {
			*st = CKP__REC_BUSY_PUBLISH;
			snprintf(msg, msglen, "a checkpoint to %s is being "
			    "published by another process", n->ram);
			return -EBUSY;
		}
		snprintf(msg, msglen, "cannot open %s: %s", n->mtmp,
		    strerror(-r));
		*needed_forward = true;
		return r;
	}
	if (rfd < 0 && mfd < 0)
		return 0;

	if (mfd >= 0 && meta_tmp_valid(n, rfd, why, sizeof(why))) {
		/* Both files were complete: finish the publish. */
		*needed_forward = true;
		if (rfd >= 0) {
			if (rename(n->rtmp, n->ram) < 0) {
				r = -errno;
				snprintf(msg, msglen, "completing the publish "
				    "of %s: cannot rename %s: %s", n->ram,
				    n->rtmp, strerror(errno));
				goto out;
			}
			ckp__crash_point("recover-ram-renamed");
			if ((r = ckp__fsync_dir(n->dir)) < 0) {
				snprintf(msg, msglen, "completing the publish "
				    "of %s: fsync %s: %s", n->ram, n->dir,
				    strerror(-r));
				goto out;
			}
		}
		if (rename(n->mtmp, n->meta) < 0) {
			r = -errno;
			snprintf(msg, msglen, "completing the publish of %s: "
			    "cannot rename %s: %s", n->ram, n->mtmp,
			    strerror(errno));
			goto out;
		}
		if ((r = ckp__fsync_dir(n->dir)) < 0) {
			snprintf(msg, msglen, "completing the publish of %s: "
			    "fsync %s: %s", n->ram, n->dir, strerror(-r));
			goto out;
		}
		snprintf(msg, msglen, "completed the interrupted publish of %s",
		    n->ram);
	} else {
		if (mfd < 0)
			snprintf(why, sizeof(why), "no %s", n->mtmp);
		/* The meta first: while it exists it could be taken for whole. */
		if (mfd >= 0 && unlink(n->mtmp) < 0 && errno != ENOENT) {
			r = -errno;
			snprintf(msg, msglen, "cannot remove %s: %s", n->mtmp,
			    strerror(errno));
			goto out;
		}
		if (rfd >= 0 && unlink(n->rtmp) < 0 && errno != ENOENT) {
			r = -errno;
			snprintf(msg, msglen, "cannot remove %s: %s", n->rtmp,
			    strerror(errno));
			goto out;
		}
		snprintf(msg, msglen, "removed the leftovers of an interrupted "
		    "write of %s (%s); the previous checkpoint is unchanged",
		    n->ram, why);
	}
	*st = CKP__REC_DONE;
	r = 0;
out:
	if (rfd >= 0)
		close(rfd);
	if (mfd >= 0)
		close(mfd);
	return r;
}

int
ckp_recover(const char *path, char *msg, size_t msglen)
{
	struct ckp__names n;
	enum ckp__recover_state st;
	bool fwd;
	char buf[CKP_RAM_ERRMAX];
	int r;

	if (msg == NULL || msglen == 0) {
		msg = buf;
		msglen = sizeof(buf);
	}
	msg[0] = '\0';
	if ((r = ckp__names_init(&n, path)) < 0) {
		snprintf(msg, msglen, "%s: not a checkpoint name",
		    path != NULL ? path : "(null)");
		return r;
	}
	r = ckp__recover(&n, &st, &fwd, msg, msglen);
	ckp__names_free(&n);
	if (r < 0)
		return r;
	return st == CKP__REC_DONE ? 1 : 0;
}
