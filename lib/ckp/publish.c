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
#include <time.h>
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

/* ---- fault injection (test builds only) ---- */

#ifdef CKP_TEST_HOOKS
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
#endif

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

void
ckp__sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *
file_kind(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "something else";
}

bool
ckp__file_owned(const struct stat *st, const char *path, bool one_link,
    char *why, size_t whylen)
{
	unsigned long me = (unsigned long)geteuid();

	if (!S_ISREG(st->st_mode))
		snprintf(why, whylen, "%s is %s, not a regular file", path,
		    file_kind(st->st_mode));
	else if ((unsigned long)st->st_uid != me)
		snprintf(why, whylen, "%s is owned by uid %lu, not by this user "
		    "(uid %lu)", path, (unsigned long)st->st_uid, me);
	else if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		snprintf(why, whylen, "%s is writable by group or others (mode "
		    "%04o)", path, (unsigned)(st->st_mode & 07777));
	else if (one_link && st->st_nlink != 1)
		snprintf(why, whylen, "%s has %lu links; a temporary has one",
		    path, (unsigned long)st->st_nlink);
	else
		return true;
	return false;
}

int
ckp_checkpoint_trust(const char *path, char *why, size_t whylen)
{
	struct ckp__names n;
	char buf[CKP_RAM_ERRMAX];
	struct stat st;
	int r;

	if (why == NULL || whylen == 0) {
		why = buf;
		whylen = sizeof(buf);
	}
	why[0] = '\0';
	if ((r = ckp__names_init(&n, path)) < 0) {
		snprintf(why, whylen, "%s: not a checkpoint name",
		    path != NULL ? path : "(null)");
		return r;
	}
	/* What a restore opens: the files the names lead to. */
	for (int i = 0; i < 2 && r == 0; i++) {
		const char *f = i == 0 ? n.meta : n.ram;

		if (stat(f, &st) < 0) {
			r = -errno;
			snprintf(why, whylen, "%s: %s", f, strerror(errno));
		} else if (!ckp__file_owned(&st, f, false, why, whylen))
			r = -EPERM;
	}
	ckp__names_free(&n);
	return r;
}

/* What recovery found: the temporaries, locked, and what to do. */
struct rec {
	int		 rfd;		/* RAM temporary; -1 when absent */
	int		 mfd;		/* meta temporary; -1 when absent */
	uint64_t	 rsize;
	uint64_t	 msize;
	bool		 forward;	/* the meta temporary is a commit record */
	char		 why[CKP_RAM_ERRMAX];	/* else why not */
};

static void
rec_release(struct rec *rec)
{
	if (rec->rfd >= 0)
		close(rec->rfd);
	if (rec->mfd >= 0)
		close(rec->mfd);
	rec->rfd = rec->mfd = -1;
}

/*
 * Open and lock the temporary @p path if it exists: 0 with *fdp = -1 when
 * absent; -EWOULDBLOCK when a live process holds it; -EAGAIN when it was
 * replaced meanwhile; -EPERM (@p why says why) when it is not a file this
 * user's writer made, which is then neither opened nor touched: another
 * user may plant files in a directory others can write (/tmp), and a
 * temporary adopted would become this user's checkpoint, naming the disks
 * that user chose.  Opening a FIFO would block, so the name is examined
 * before it is opened.
 */
static int
tmp_grab(const char *path, int *fdp, uint64_t *sizep, char *why,
    size_t whylen)
{
	struct stat ls, fs;
	int fd, r;

	*fdp = -1;
	*sizep = 0;
	if (lstat(path, &ls) < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(why, whylen, "cannot examine %s: %s", path,
		    strerror(errno));
		return r;
	}
	if (!ckp__file_owned(&ls, path, true, why, whylen))
		return -EPERM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		/* Replaced by a symbolic link since lstat: look again. */
		if (errno == ELOOP)
			return -EAGAIN;
		r = -errno;
		snprintf(why, whylen, "cannot open %s: %s", path,
		    strerror(errno));
		return r;
	}
	if (fstat(fd, &fs) < 0 || fs.st_dev != ls.st_dev ||
	    fs.st_ino != ls.st_ino) {
		close(fd);
		return -EAGAIN;
	}
	if ((r = ckp__lock_try(fd)) < 0) {
		close(fd);
		if (r != -EWOULDBLOCK)
			snprintf(why, whylen, "cannot lock %s: %s", path,
			    strerror(-r));
		return r;
	}
	if (!ckp__same_file(fd, path)) {
		close(fd);
		return -EAGAIN;
	}
	*fdp = fd;
	*sizep = (uint64_t)fs.st_size;
	return 0;
}

/*
 * Decide whether the meta temporary is a commit record: it decodes with a
 * valid checksum, has a "ram" section, and (when the RAM temporary is still
 * there) records that file's size.  Read from the locked descriptor, so
 * that what is judged is what gets renamed.  On "no", rec->why says why.
 */
static bool
meta_tmp_valid(const struct ckp__names *n, struct rec *rec)
{
	ckp_doc_t *doc = ckp_doc_load_fd(rec->mfd, n->mtmp, 0, 0);
	ckp_sec_t *ram;
	uint64_t size;
	bool ok = false;

	if (doc == NULL) {
		snprintf(rec->why, sizeof(rec->why), "%s: %s", n->mtmp,
		    strerror(ENOMEM));
		return false;
	}
	if (ckp_doc_error(doc) != 0) {
		snprintf(rec->why, sizeof(rec->why), "%s", ckp_doc_errmsg(doc));
		goto out;
	}
	if (ckp_doc_sum_state(doc) != CKP_SUM_OK) {
		snprintf(rec->why, sizeof(rec->why), "%s has no checksum",
		    n->mtmp);
		goto out;
	}
	if ((ram = ckp_sec_find(ckp_doc_root(doc), "ram")) == NULL ||
	    ckp_sec_get_uint64(ram, "size", &size) < 0) {
		snprintf(rec->why, sizeof(rec->why), "%s has no ram.size",
		    n->mtmp);
		goto out;
	}
	if (rec->rfd >= 0 && rec->rsize != size) {
		snprintf(rec->why, sizeof(rec->why), "%s records %llu bytes of "
		    "RAM but %s has %llu", n->mtmp, (unsigned long long)size,
		    n->rtmp, (unsigned long long)rec->rsize);
		goto out;
	}
	ok = true;
out:
	ckp_doc_free(doc);
	return ok;
}

/*
 * Look at the temporaries of @p n and decide what recovery does.  0: @p rec
 * holds them, locked (neither: nothing to do), and rec->forward says
 * whether to roll forward.  Otherwise nothing is held and nothing was
 * touched: -EBUSY (*st says which writer), -EPERM or -EFBIG
 * (CKP__REC_REFUSED: a temporary recovery does not adopt), or the errno of
 * what failed.  On failure *needed_forward says whether a meta temporary
 * that may be a commit record is there (the published pair may then be
 * mixed).
 */
static int
rec_examine(const struct ckp__names *n, struct rec *rec,
    enum ckp__recover_state *st, bool *needed_forward, char *msg,
    size_t msglen)
{
	char rwhy[CKP_RAM_ERRMAX] = "", mwhy[CKP_RAM_ERRMAX] = "";
	int rr, mr, r, tries = 0;

	*st = CKP__REC_NONE;
	*needed_forward = false;
	rec->rfd = rec->mfd = -1;
	rec->forward = false;
	rec->why[0] = '\0';
again:
	rr = tmp_grab(n->rtmp, &rec->rfd, &rec->rsize, rwhy, sizeof(rwhy));
	if (rr == -EAGAIN && ++tries < 5)
		goto again;
	if (rr == -EWOULDBLOCK || rr == -EAGAIN) {
		*st = CKP__REC_BUSY_WRITE;
		snprintf(msg, msglen, "a checkpoint to %s is being written by "
		    "another process", n->ram);
		return -EBUSY;
	}
	mr = tmp_grab(n->mtmp, &rec->mfd, &rec->msize, mwhy, sizeof(mwhy));
	if (mr == -EAGAIN && ++tries < 5) {
		rec_release(rec);
		goto again;
	}
	if (mr == -EWOULDBLOCK || mr == -EAGAIN) {
		rec_release(rec);
		*st = CKP__REC_BUSY_PUBLISH;
		snprintf(msg, msglen, "a checkpoint to %s is being published by "
		    "another process", n->ram);
		return -EBUSY;
	}
	if (rr < 0 || mr < 0) {
		/* Undecided: if a commit record is there, the pair may be mixed. */
		*needed_forward = mr < 0 || rec->mfd >= 0;
		rec_release(rec);
		if (rr == -EPERM || mr == -EPERM) {
			bool both = rr == -EPERM && mr == -EPERM;

			*st = CKP__REC_REFUSED;
			snprintf(msg, msglen, "%s%s%s: recovery adopts only this "
			    "user's own temporaries (regular files no one else "
			    "can write) and leaves %s alone",
			    rr == -EPERM ? rwhy : "", both ? "; " : "",
			    mr == -EPERM ? mwhy : "", both ? "these" : "it");
			return -EPERM;
		}
		snprintf(msg, msglen, "%s", rr < 0 ? rwhy : mwhy);
		return rr < 0 ? rr : mr;
	}
	if (rec->rfd < 0 && rec->mfd < 0)
		return 0;
	if (rec->mfd >= 0 && rec->msize > CKP_DOC_MAX_DEFAULT) {
		/*
		 * No writer of this library makes one; neither roll forward
		 * nor remove what could be a newer program's commit record.
		 */
		*needed_forward = true;
		*st = CKP__REC_REFUSED;
		r = -EFBIG;
		snprintf(msg, msglen, "%s has %llu bytes, more than the %zu a "
		    "meta may have: recovery neither completes nor removes it",
		    n->mtmp, (unsigned long long)rec->msize,
		    (size_t)CKP_DOC_MAX_DEFAULT);
		rec_release(rec);
		return r;
	}
	if (rec->mfd >= 0)
		rec->forward = meta_tmp_valid(n, rec);
	else
		snprintf(rec->why, sizeof(rec->why), "no %s", n->mtmp);
	return 0;
}

/* Carry out what rec_examine() decided. */
static int
rec_apply(const struct ckp__names *n, struct rec *rec,
    enum ckp__recover_state *st, bool *needed_forward, char *msg,
    size_t msglen)
{
	int r;

	if (rec->forward) {
		/* Both files were complete: finish the publish. */
		*needed_forward = true;
		if (rec->rfd >= 0) {
			if (rename(n->rtmp, n->ram) < 0) {
				r = -errno;
				snprintf(msg, msglen, "completing the publish "
				    "of %s: cannot rename %s: %s", n->ram,
				    n->rtmp, strerror(errno));
				return r;
			}
			ckp__crash_point("recover-ram-renamed");
			if ((r = ckp__fsync_dir(n->dir)) < 0) {
				snprintf(msg, msglen, "completing the publish "
				    "of %s: fsync %s: %s", n->ram, n->dir,
				    strerror(-r));
				return r;
			}
		}
		if (rename(n->mtmp, n->meta) < 0) {
			r = -errno;
			snprintf(msg, msglen, "completing the publish of %s: "
			    "cannot rename %s: %s", n->ram, n->mtmp,
			    strerror(errno));
			return r;
		}
		if ((r = ckp__fsync_dir(n->dir)) < 0) {
			snprintf(msg, msglen, "completing the publish of %s: "
			    "fsync %s: %s", n->ram, n->dir, strerror(-r));
			return r;
		}
		snprintf(msg, msglen, "completed the interrupted publish of %s",
		    n->ram);
	} else {
		/* The meta first: while it exists it could be taken for whole. */
		if (rec->mfd >= 0 && unlink(n->mtmp) < 0 && errno != ENOENT) {
			r = -errno;
			snprintf(msg, msglen, "cannot remove %s: %s", n->mtmp,
			    strerror(errno));
			return r;
		}
		if (rec->rfd >= 0 && unlink(n->rtmp) < 0 && errno != ENOENT) {
			r = -errno;
			snprintf(msg, msglen, "cannot remove %s: %s", n->rtmp,
			    strerror(errno));
			return r;
		}
		snprintf(msg, msglen, "removed the leftovers of an interrupted "
		    "write of %s (%s); the previous checkpoint is unchanged",
		    n->ram, rec->why);
	}
	*st = CKP__REC_DONE;
	return 0;
}

int
ckp__recover(const struct ckp__names *n, enum ckp__recover_state *st,
    bool *needed_forward, char *msg, size_t msglen)
{
	struct rec rec;
	int r;

	ckp__crash_env();
	if (msglen > 0)
		msg[0] = '\0';
	if ((r = rec_examine(n, &rec, st, needed_forward, msg, msglen)) < 0)
		return r;
	if (rec.rfd < 0 && rec.mfd < 0)
		return 0;
	r = rec_apply(n, &rec, st, needed_forward, msg, msglen);
	rec_release(&rec);
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

/* ---- what recovery would do, for readers that change nothing ---- */

struct ckp_recovery {
	ckp_recovery_action_t action;
	char		*meta;		/* the pair a restore reads; NULL: none */
	char		*ram;
	char		 msg[2 * CKP_RAM_ERRMAX];
};

/* Describe what rec_examine() decided, as recovery would do it. */
static void
rec_describe(const struct ckp__names *n, const struct rec *rec, char *msg,
    size_t msglen)
{
	if (rec->forward) {
		if (rec->rfd >= 0)
			snprintf(msg, msglen, "interrupted publish of %s: %s is "
			    "a complete commit record; recovery completes it "
			    "(renames %s to %s, then %s to %s)", n->ram,
			    n->mtmp, n->rtmp, n->ram, n->mtmp, n->meta);
		else
			snprintf(msg, msglen, "interrupted publish of %s: %s is "
			    "a complete commit record and %s holds the new RAM; "
			    "recovery completes it (renames %s to %s)", n->ram,
			    n->mtmp, n->ram, n->mtmp, n->meta);
		return;
	}
	if (rec->rfd >= 0 && rec->mfd >= 0)
		snprintf(msg, msglen, "leftovers of an interrupted write of %s: "
		    "%s (%llu bytes) and %s (%llu bytes); not a commit record "
		    "(%s): recovery removes them and the published pair stays "
		    "as it is", n->ram, n->rtmp, (unsigned long long)rec->rsize,
		    n->mtmp, (unsigned long long)rec->msize, rec->why);
	else if (rec->rfd >= 0)
		snprintf(msg, msglen, "leftover of an interrupted write of %s: "
		    "%s (%llu bytes), without a commit record: recovery removes "
		    "it and the published pair stays as it is", n->ram, n->rtmp,
		    (unsigned long long)rec->rsize);
	else
		snprintf(msg, msglen, "leftover of an interrupted write of %s: "
		    "%s (%llu bytes); not a commit record (%s): recovery removes "
		    "it and the published pair stays as it is", n->ram, n->mtmp,
		    (unsigned long long)rec->msize, rec->why);
}

int
ckp_recovery_inspect(const char *path, ckp_recovery_t **rp, char *err,
    size_t errlen)
{
	struct ckp_recovery *rv;
	struct ckp__names n;
	enum ckp__recover_state st = CKP__REC_NONE;
	struct rec rec;
	bool fwd = false;
	int r;

	*rp = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((r = ckp__names_init(&n, path)) < 0) {
		if (err != NULL)
			snprintf(err, errlen, "%s: not a checkpoint name",
			    path != NULL ? path : "(null)");
		return r;
	}
	if ((rv = calloc(1, sizeof(*rv))) == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	/* As ckp_checkpoint_open(): a publish being renamed ends soon. */
	for (int i = 0; i < 500; i++) {
		r = rec_examine(&n, &rec, &st, &fwd, rv->msg, sizeof(rv->msg));
		if (r != -EBUSY || st != CKP__REC_BUSY_PUBLISH)
			break;
		ckp__sleep_ms(10);
	}
	if (r == 0 && (rec.rfd >= 0 || rec.mfd >= 0)) {
		rv->action = rec.forward ? CKP_RECOVERY_FORWARD :
		    CKP_RECOVERY_DISCARD;
		rec_describe(&n, &rec, rv->msg, sizeof(rv->msg));
		if (rec.forward) {
			rv->meta = strdup(n.mtmp);
			rv->ram = strdup(rec.rfd >= 0 ? n.rtmp : n.ram);
		}
		rec_release(&rec);
	} else if (r == 0)
		rv->action = CKP_RECOVERY_NONE;
	else if (r == -EBUSY)
		rv->action = CKP_RECOVERY_BUSY;
	else if (r == -ENOMEM)
		goto fail;
	else
		rv->action = CKP_RECOVERY_REFUSED;
	/* ckp_checkpoint_open() reads the published pair unless it may be mixed. */
	if (rv->meta == NULL && !(rv->action == CKP_RECOVERY_REFUSED && fwd)) {
		rv->meta = strdup(n.meta);
		rv->ram = strdup(n.ram);
	}
	if ((rv->meta == NULL) != (rv->ram == NULL) ||
	    (rv->meta == NULL && rv->action != CKP_RECOVERY_REFUSED)) {
		r = -ENOMEM;
		goto fail;
	}
	ckp__names_free(&n);
	*rp = rv;
	return 0;
fail:
	if (err != NULL)
		snprintf(err, errlen, "%s: %s", n.ram, strerror(-r));
	ckp_recovery_free(rv);
	ckp__names_free(&n);
	return r;
}

ckp_recovery_action_t
ckp_recovery_action(const ckp_recovery_t *rec)
{
	return rec->action;
}

const char *
ckp_recovery_message(const ckp_recovery_t *rec)
{
	return rec->msg;
}

const char *
ckp_recovery_meta(const ckp_recovery_t *rec)
{
	return rec->meta;
}

const char *
ckp_recovery_ram(const ckp_recovery_t *rec)
{
	return rec->ram;
}

void
ckp_recovery_free(ckp_recovery_t *rec)
{
	if (rec == NULL)
		return;
	free(rec->meta);
	free(rec->ram);
	free(rec);
}
