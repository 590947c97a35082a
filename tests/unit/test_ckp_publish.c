/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Publishing checkpoints: a crash at every step of the writer (and of
 * recovery) leaves, after ckp_recover()/ckp_checkpoint_open(), the old
 * checkpoint whole or the new one whole, never a mix; a reader that skips
 * recovery is told, not fooled; `ckp check` and ckp_recovery_inspect(),
 * which change nothing, report beforehand the pair recovery then
 * publishes.  Temporaries recovery did not make (another user's, writable
 * by others, a symbolic link, a FIFO, a hard link) are left alone and
 * named, never adopted.  Two writers of one checkpoint: -EBUSY, also
 * across processes.  An unwritable destination fails before anything is
 * written; a failure while writing (a file size limit standing in for
 * ENOSPC) leaves nothing behind and the old checkpoint as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckp.h"
#include "test_ckp.h"
#include "ram_impl.h"

#define PG	4096u
#define MiB	(1u << 20)
#define SIZE	(6 * MiB)

static char dir[256];
static char ckp_tool[400];

/* ---- generations of RAM content ---- */

static void
gen_mem(unsigned char *m, int gen)
{
	uint64_t x = 0x2545f4914f6cdd1dull * (uint64_t)(gen + 1);
	uint64_t *w = (uint64_t *)m;

	for (size_t i = 0; i < SIZE / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x | 1;
	}
	/* Different holes per generation. */
	memset(m + (size_t)gen * MiB / 2, 0, MiB + PG * (size_t)gen);
}

/* The page a round of ckp_writer_put() changes after put_segs. */
#define PUT_OFF	(4 * MiB + 3 * PG)

static void
gen_final(unsigned char *m, int gen)
{
	gen_mem(m, gen);
	memset(m + PUT_OFF, 0x5a + gen, PG);
}

static ckp_doc_t *
meta_new(int gen)
{
	ckp_doc_t *d = ckp_doc_new("test_ckp_publish 1");
	ckp_sec_t *s = ckp_sec_add(ckp_doc_root(d), "test", 1);

	ckp_sec_add_int32(s, "gen", gen);
	return d;
}

/* Write checkpoint @p path holding generation @p gen.  0 or -errno. */
static int
write_gen(const char *path, int gen, char *err, size_t errlen)
{
	unsigned char *m = malloc(SIZE);
	ckp_ram_seg_t seg = { m, 0, SIZE };
	ckp_writer_t *w;
	ckp_doc_t *meta;
	int r;

	if ((r = ckp_writer_begin(path, SIZE, &w, err, errlen)) < 0)
		goto out;
	gen_mem(m, gen);
	if ((r = ckp_writer_put_segs(w, &seg, 1, 2)) < 0) {
		snprintf(err, errlen, "%s", ckp_writer_errmsg(w));
		ckp_writer_abort(w);
		goto out;
	}
	gen_final(m, gen);
	if ((r = ckp_writer_put(w, PUT_OFF, m + PUT_OFF, PG)) < 0) {
		snprintf(err, errlen, "%s", ckp_writer_errmsg(w));
		ckp_writer_abort(w);
		goto out;
	}
	meta = meta_new(gen);
	r = ckp_writer_commit(w, meta, CKP_ENC_JSON, err, errlen);
	ckp_doc_free(meta);
out:
	free(m);
	return r;
}

static bool
file_is(const char *path, const unsigned char *m)
{
	unsigned char *buf = malloc(SIZE);
	int fd = open(path, O_RDONLY);
	bool ok = fd >= 0 && pread(fd, buf, SIZE, 0) == SIZE &&
	    memcmp(buf, m, SIZE) == 0;

	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

static int
gen_of(ckp_doc_t *d)
{
	ckp_sec_t *t = ckp_sec_find(ckp_doc_root(d), "test");
	int32_t g = -1;

	if (t != NULL)
		ckp_sec_get_int32(t, "gen", &g);
	return g;
}

/*
 * Open checkpoint @p path: -1 when it fails, else its generation, checked
 * to be whole (meta's generation = RAM content's).
 */
static int
open_gen(const char *path, unsigned flags, char *err, size_t errlen)
{
	ckp_doc_t *d = ckp_checkpoint_open(path, flags);
	unsigned char *m = malloc(SIZE);
	char ram[512];
	int g = -1;

	snprintf(err, errlen, "%s", ckp_doc_errmsg(d));
	if (ckp_doc_error(d) == 0) {
		g = gen_of(d);
		gen_final(m, g);
		ckp_ram_path(path, ram, sizeof(ram));
		if (!file_is(ram, m)) {
			snprintf(err, errlen, "gen %d meta with other RAM", g);
			g = -2;	/* a mix, taken as whole */
		}
	}
	ckp_doc_free(d);
	free(m);
	return g;
}

static void
path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void
rm_ckp(const char *path)
{
	char p[600];

	unlink(path);
	snprintf(p, sizeof(p), "%s.meta", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.tmp", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.meta.tmp", path);
	unlink(p);
}

static int
count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	while (dp != NULL && (e = readdir(dp)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (dp != NULL)
		closedir(dp);
	return n;
}

/* ---- what is on disk ---- */

/* The four names of a checkpoint: what each refers to. */
struct snap {
	bool		 there[4];
	struct stat	 st[4];
};

static void
snap_take(const char *path, struct snap *sn)
{
	static const char *const sfx[4] = { "", ".meta", ".tmp", ".meta.tmp" };
	char p[600];

	memset(sn, 0, sizeof(*sn));
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		sn->there[i] = lstat(p, &sn->st[i]) == 0;
	}
}

/* Nothing was created, removed, renamed or written. */
static bool
snap_same(const struct snap *a, const struct snap *b)
{
	for (int i = 0; i < 4; i++) {
		const struct stat *x = &a->st[i], *y = &b->st[i];

		if (a->there[i] != b->there[i])
			return false;
		if (a->there[i] && (x->st_ino != y->st_ino ||
		    x->st_size != y->st_size || x->st_mode != y->st_mode ||
		    x->st_uid != y->st_uid ||
		    x->st_mtim.tv_sec != y->st_mtim.tv_sec ||
		    x->st_mtim.tv_nsec != y->st_mtim.tv_nsec))
			return false;
	}
	return true;
}

/* The checksum `ckp check` printed for the document it read ("" if none). */
static void
check_sum(const char *out, char *sum, size_t len)
{
	const char *p = strstr(out, " encoding, ");

	sum[0] = '\0';
	if (p != NULL && (p = strstr(p, "checksum ")) != NULL)
		snprintf(sum, len, "%.24s", p + strlen("checksum "));
}

/* The checksum of the meta of checkpoint @p path as a restore opens it. */
static void
open_sum(const char *path, char *sum, size_t len)
{
	ckp_doc_t *d = ckp_checkpoint_open(path, 0);

	snprintf(sum, len, "%s", ckp_doc_error(d) == 0 ?
	    ckp_doc_checksum(d) : "");
	ckp_doc_free(d);
}

/* ---- crash at every step ---- */

static const struct step {
	const char	*name;
	bool		 new_wins;	/* after recovery: the new checkpoint */
	bool		 leftovers;	/* recovery has something to do */
} steps[] = {
	{ "begin", false, true },
	{ "put-segs", false, true },
	{ "put", false, true },
	{ "ram-synced", false, true },
	{ "meta-partial", false, true },
	{ "meta-synced", true, true },
	{ "ram-renamed", true, true },
	{ "ram-renamed-synced", true, true },
	{ "meta-renamed", true, false },
	{ "done", true, false },
};

/* Run write_gen in a child that crashes at @p step; its exit status. */
static int
crash_child(const char *path, int gen, const char *step, bool via_env)
{
	char err[512];
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (via_env)
			setenv("CKP_TEST_CRASH_AT", step, 1);
		else
			ckp__crash_at = step;
		if (write_gen(path, gen, err, sizeof(err)) < 0) {
			fprintf(stderr, "child: %s\n", err);
			_exit(2);
		}
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/*
 * A reader that skips recovery (loads the meta, verifies the RAM file as
 * ckp check would): it may fail, but when it succeeds the pair is whole.
 */
static void
check_raw_reader(const char *path, const char *step)
{
	char meta[600];
	ckp_doc_t *d;
	unsigned char *m = malloc(SIZE);

	snprintf(meta, sizeof(meta), "%s.meta", path);
	d = ckp_doc_load(meta, 0);
	if (ckp_doc_error(d) == 0 && ckp_ram_verify(d, path, 2) == 0) {
		gen_final(m, gen_of(d));
		if (!file_is(path, m))
			fprintf(stderr, "step %s: a mix passed as whole\n", step);
		CHECK(file_is(path, m));
	}
	ckp_doc_free(d);
	free(m);
}

/*
 * Before recovery, as a person checking would: ckp_recovery_inspect() and
 * `ckp check` (read-only) must name the pair a restore will read, leave
 * everything on disk as it was, and say what `ckp check` found of that
 * pair: its meta's checksum into @p sum (compared by the caller with what
 * recovery then publishes).  Today's `check` called a whole checkpoint BAD
 * between the renames and passed the old pair when a restore would have
 * rolled forward.
 */
static void
check_before_recovery(const char *path, const struct step *s, int want,
    char *sum, size_t sumlen)
{
	char out[16384], err[512], meta[600], rtmp[600], mtmp[600];
	ckp_recovery_action_t act = !s->leftovers ? CKP_RECOVERY_NONE :
	    s->new_wins ? CKP_RECOVERY_FORWARD : CKP_RECOVERY_DISCARD;
	struct snap before, after;
	ckp_recovery_t *rec;
	int rc;

	snprintf(meta, sizeof(meta), "%s.meta", path);
	snprintf(rtmp, sizeof(rtmp), "%s.tmp", path);
	snprintf(mtmp, sizeof(mtmp), "%s.meta.tmp", path);
	snap_take(path, &before);
	CHECK(ckp_recovery_inspect(path, &rec, err, sizeof(err)) == 0);
	if (rec != NULL) {
		if (ckp_recovery_action(rec) != act)
			fprintf(stderr, "step %s: inspect says %d (%s), want %d\n",
			    s->name, ckp_recovery_action(rec),
			    ckp_recovery_message(rec), act);
		CHECK(ckp_recovery_action(rec) == act);
		CHECK_STR(ckp_recovery_meta(rec), act == CKP_RECOVERY_FORWARD ?
		    mtmp : meta);
		CHECK_STR(ckp_recovery_ram(rec), act == CKP_RECOVERY_FORWARD &&
		    exists(rtmp) ? rtmp : path);
		if (act == CKP_RECOVERY_DISCARD)
			CHECK_HAS(ckp_recovery_message(rec), "bytes");
		ckp_recovery_free(rec);
	}

	rc = t_run(ckp_tool, out, sizeof(out), "check '%s'", path);
	if (rc != (want == -1 ? 2 : 0))
		fprintf(stderr, "step %s: ckp check exit %d:\n%s", s->name, rc,
		    out);
	CHECK(rc == (want == -1 ? 2 : 0));
	if (act == CKP_RECOVERY_FORWARD) {
		CHECK_HAS(out, "interrupted publish");
		CHECK_HAS(out, "reads the new checkpoint");
	}
	if (act == CKP_RECOVERY_DISCARD)
		CHECK_HAS(out, "recovery removes");
	if (act == CKP_RECOVERY_NONE)
		CHECK(strstr(out, "recovery") == NULL);
	if (want != -1)
		CHECK_HAS(out, ": ok\n");
	check_sum(out, sum, sumlen);
	snap_take(path, &after);
	CHECK(snap_same(&before, &after));
}

static void
test_crash_steps(bool have_old)
{
	char path[512], rtmp[600], mtmp[600], err[512], msg[512];

	path_of(path, sizeof(path), "crash.ckp");
	snprintf(rtmp, sizeof(rtmp), "%s.tmp", path);
	snprintf(mtmp, sizeof(mtmp), "%s.meta.tmp", path);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];
		char sum[64], got[64];
		int st, r, g, want;

		rm_ckp(path);
		if (have_old)
			CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
		st = crash_child(path, 2, s->name, i == 3);
		if (st != CKP__CRASH_EXIT)
			fprintf(stderr, "step %s: child exited %d\n", s->name, st);
		CHECK(st == CKP__CRASH_EXIT);

		want = s->new_wins ? 2 : have_old ? 1 : -1;
		check_before_recovery(path, s, want, sum, sizeof(sum));
		check_raw_reader(path, s->name);

		r = ckp_recover(path, msg, sizeof(msg));
		if (r != (s->leftovers ? 1 : 0))
			fprintf(stderr, "step %s: recover %d: %s\n", s->name, r,
			    msg);
		CHECK(r == (s->leftovers ? 1 : 0));
		if (s->leftovers)
			CHECK_HAS(msg, s->new_wins ? "completed" : "removed");
		CHECK(!exists(rtmp) && !exists(mtmp));
		CHECK(ckp_recover(path, msg, sizeof(msg)) == 0);

		g = open_gen(path, 0, err, sizeof(err));
		if (g != want)
			fprintf(stderr, "step %s (old %d): got gen %d, want %d: "
			    "%s\n", s->name, have_old, g, want, err);
		CHECK(g == want);
		if (want == -1)
			CHECK(!exists(path));
		/* What `ckp check` judged is what recovery published. */
		open_sum(path, got, sizeof(got));
		if (strcmp(sum, got) != 0)
			fprintf(stderr, "step %s (old %d): ckp check read the meta "
			    "%s, recovery published %s\n", s->name, have_old,
			    sum, got);
		CHECK_STR(sum, got);
	}

	/*
	 * ckp_checkpoint_open recovers by itself: crash between the renames
	 * (new RAM, old meta), then only open.
	 */
	rm_ckp(path);
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
	CHECK(crash_child(path, 2, "ram-renamed-synced", false) ==
	    CKP__CRASH_EXIT);
	CHECK(open_gen(path, CKP_OPEN_NORAMCHECK, err, sizeof(err)) == 2);
	CHECK(!exists(mtmp));

	/* A crash inside recovery's roll-forward: the next one finishes. */
	rm_ckp(path);
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
	CHECK(crash_child(path, 2, "meta-synced", false) == CKP__CRASH_EXIT);
	pid_t pid = fork();
	if (pid == 0) {
		ckp__crash_at = "recover-ram-renamed";
		ckp_recover(path, msg, sizeof(msg));
		_exit(0);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == CKP__CRASH_EXIT);
	check_raw_reader(path, "recover-ram-renamed");
	CHECK(ckp_recover(path, msg, sizeof(msg)) == 1);
	CHECK(open_gen(path, 0, err, sizeof(err)) == 2);
	rm_ckp(path);
}

/*
 * As a user who may not complete the publish (another user, or one who
 * may not rename in the directory), opening @p path must fail, saying that
 * an interrupted publish is in the way.  True also when privileges cannot
 * be dropped (a note says so).
 */
static bool
unprivileged_open_refused(const char *path)
{
	pid_t pid;
	int st;

	if ((pid = fork()) == 0) {
		ckp_doc_t *d;

		if (geteuid() == 0) {
			if (setgid(65534) < 0 || setuid(65534) < 0)
				_exit(77);
		} else if (chmod(dir, 0555) < 0)
			_exit(77);
		d = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
		/*
		 * As another user the temporaries are not adopted; as the
		 * same user in a directory it cannot write, they cannot be
		 * renamed.
		 */
		if (ckp_doc_error(d) == 0 || strstr(ckp_doc_errmsg(d),
		    geteuid() == 65534 ? "an interrupted publish cannot be "
		    "completed: " : "an interrupted publish must be completed "
		    "first") == NULL) {
			fprintf(stderr, "child: %s\n", ckp_doc_errmsg(d));
			_exit(1);
		}
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return false;
	chmod(dir, 0755);
	if (WEXITSTATUS(st) == 77) {
		printf("note: could not drop privileges; unchecked\n");
		return true;
	}
	return WEXITSTATUS(st) == 0;
}

/*
 * A reader meets a publish in progress (the meta temporary locked): it
 * waits for the writer instead of reading a pair that may be mixed.  A
 * reader that may not complete an interrupted publish refuses to read.
 */
static void
test_open_during_publish(void)
{
	char path[512], mtmp[600], err[700];
	int c2p[2], fd, st;
	char c;
	pid_t pid;

	path_of(path, sizeof(path), "wait.ckp");
	snprintf(mtmp, sizeof(mtmp), "%s.meta.tmp", path);
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
	CHECK(pipe(c2p) == 0);
	if ((pid = fork()) == 0) {
		struct timespec ts = { 0, 300 * 1000 * 1000 };

		if (ckp__tmp_create(mtmp, &fd) < 0 ||
		    write(c2p[1], "l", 1) != 1)
			_exit(3);
		/* As a writer that gave up: no meta, then the lock goes. */
		nanosleep(&ts, NULL);
		unlink(mtmp);
		if (write(c2p[1], "u", 1) != 1)
			_exit(4);
		_exit(0);
	}
	CHECK(read(c2p[0], &c, 1) == 1 && c == 'l');
	/* Opening returns only once the child has let go (not a timing test:
	 * a slow parent only finds the child done already). */
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);
	fcntl(c2p[0], F_SETFL, O_NONBLOCK);
	CHECK(read(c2p[0], &c, 1) == 1 && c == 'u');
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	close(c2p[0]);
	close(c2p[1]);

	/* Between the renames, as a user who cannot rename in the directory. */
	CHECK(crash_child(path, 2, "ram-renamed-synced", false) ==
	    CKP__CRASH_EXIT);
	/* Once with the files readable (it sees the commit record), once not. */
	for (int i = 0; i < 2; i++) {
		mode_t mode = i == 0 ? 0644 : 0600;

		snprintf(err, sizeof(err), "%s.meta", path);
		chmod(err, mode);
		chmod(mtmp, mode);
		chmod(path, mode);
		CHECK(unprivileged_open_refused(path));
	}
	CHECK(open_gen(path, 0, err, sizeof(err)) == 2);
	rm_ckp(path);
}

/* ---- two writers ---- */

static void
test_busy(void)
{
	char path[512], rtmp[600], err[512], msg[512];
	ckp_writer_t *a, *b;
	ckp_doc_t *meta;
	int p2c[2], c2p[2], st;
	char c;
	pid_t pid;

	path_of(path, sizeof(path), "busy.ckp");
	snprintf(rtmp, sizeof(rtmp), "%s.tmp", path);
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);

	/* Same process. */
	CHECK(ckp_writer_begin(path, SIZE, &a, err, sizeof(err)) == 0);
	CHECK(ckp_writer_begin(path, SIZE, &b, err, sizeof(err)) == -EBUSY);
	CHECK_HAS(err, "a checkpoint to");
	CHECK_HAS(err, "busy.ckp is already being written");
	CHECK(ckp_recover(path, msg, sizeof(msg)) == -EBUSY);
	CHECK(exists(rtmp));
	/* A reader meanwhile gets the old checkpoint, whole. */
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);
	meta = meta_new(3);
	CHECK(ckp_writer_commit(a, meta, CKP_ENC_BIN, err, sizeof(err)) == 0);
	ckp_doc_free(meta);
	CHECK(ckp_writer_begin(path, SIZE, &b, err, sizeof(err)) == 0);
	ckp_writer_abort(b);
	CHECK(!exists(rtmp));

	/* Another process. */
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
	CHECK(pipe(p2c) == 0 && pipe(c2p) == 0);
	if ((pid = fork()) == 0) {
		unsigned char *m = malloc(SIZE);
		ckp_ram_seg_t seg = { m, 0, SIZE };
		ckp_writer_t *w;
		int r;

		if (ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) < 0)
			_exit(3);
		if (write(c2p[1], "b", 1) != 1 || read(p2c[0], &c, 1) != 1)
			_exit(4);
		gen_final(m, 2);
		ckp_writer_put_segs(w, &seg, 1, 2);
		meta = meta_new(2);
		r = ckp_writer_commit(w, meta, CKP_ENC_JSON, err, sizeof(err));
		_exit(r == 0 ? 0 : 5);
	}
	CHECK(read(c2p[0], &c, 1) == 1);
	CHECK(ckp_writer_begin(path, SIZE, &b, err, sizeof(err)) == -EBUSY);
	CHECK_HAS(err, "is already being written");
	CHECK(ckp_recover(path, msg, sizeof(msg)) == -EBUSY);
	CHECK_HAS(msg, "being written by another process");
	CHECK(exists(rtmp));
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);
	CHECK(write(p2c[1], "g", 1) == 1);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	CHECK(open_gen(path, 0, err, sizeof(err)) == 2);
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
	rm_ckp(path);
}

/* Leftovers of a writer that died: removed, never taken for a checkpoint. */
static void
test_stale(void)
{
	char path[512], rtmp[600], mtmp[600], target[600], err[512], msg[512];
	ckp_writer_t *w;
	int fd;

	path_of(path, sizeof(path), "stale.ckp");
	snprintf(rtmp, sizeof(rtmp), "%s.tmp", path);
	snprintf(mtmp, sizeof(mtmp), "%s.meta.tmp", path);
	path_of(target, sizeof(target), "precious");
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
	CHECK(ckp_recover(path, msg, sizeof(msg)) == 0);

	fd = open(rtmp, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && write(fd, "junk", 4) == 4);
	close(fd);
	fd = open(mtmp, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && write(fd, "{\"junk\": ", 9) == 9);
	close(fd);
	CHECK(ckp_recover(path, msg, sizeof(msg)) == 1);
	CHECK_HAS(msg, "removed the leftovers");
	CHECK_HAS(msg, "previous checkpoint is unchanged");
	CHECK(!exists(rtmp) && !exists(mtmp));
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);

	/* A writer cleans up by itself. */
	fd = open(rtmp, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && write(fd, "junk", 4) == 4);
	close(fd);
	CHECK(ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) == 0);
	ckp_writer_abort(w);
	CHECK(!exists(rtmp));

	/*
	 * A symbolic link is no temporary of a writer's: neither followed
	 * nor removed; the writer refuses, naming it.
	 */
	fd = open(target, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && write(fd, "keep", 4) == 4);
	close(fd);
	CHECK(symlink(target, rtmp) == 0);
	CHECK(ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) == -EPERM);
	CHECK_HAS(err, "stale.ckp.tmp is a symbolic link");
	CHECK(exists(target) && exists(rtmp));
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);
	unlink(rtmp);
	CHECK(ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) == 0);
	ckp_writer_abort(w);
	unlink(target);
	rm_ckp(path);
}

/* ---- unwritable destinations, failures while writing ---- */

static void
test_unwritable(void)
{
	char path[600], sub[400], err[700];
	ckp_writer_t *w;
	int fd, st;
	pid_t pid;

	path_of(path, sizeof(path), "nodir/x.ckp");
	CHECK(ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) == -ENOENT);
	CHECK_HAS(err, path);
	CHECK_HAS(err, strerror(ENOENT));

	path_of(sub, sizeof(sub), "plainfile");
	fd = open(sub, O_CREAT | O_WRONLY, 0600);
	close(fd);
	snprintf(path, sizeof(path), "%s/x.ckp", sub);
	CHECK(ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) == -ENOTDIR);
	CHECK_HAS(err, "plainfile/x.ckp");
	CHECK_HAS(err, strerror(ENOTDIR));
	unlink(sub);

	path_of(path, sizeof(path), "isdir.ckp");
	CHECK(mkdir(path, 0700) == 0);
	CHECK(ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) == -EEXIST);
	CHECK_HAS(err, "is not a regular file");
	rmdir(path);

	/* No permission: as an unprivileged user (root writes anywhere). */
	path_of(sub, sizeof(sub), "ro");
	CHECK(mkdir(sub, 0755) == 0);
	snprintf(path, sizeof(path), "%s/x.ckp", sub);
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
	chmod(path, 0644);
	snprintf(err, sizeof(err), "%s.meta", path);
	chmod(err, 0644);
	CHECK(count_entries(sub) == 2);
	if ((pid = fork()) == 0) {
		int r;

		if (geteuid() == 0) {
			if (setgid(65534) < 0 || setuid(65534) < 0)
				_exit(77);
		} else if (chmod(sub, 0555) < 0)
			_exit(77);
		r = ckp_writer_begin(path, SIZE, &w, err, sizeof(err));
		if (r != -EACCES || strstr(err, path) == NULL ||
		    strstr(err, strerror(EACCES)) == NULL) {
			fprintf(stderr, "child: %d %s\n", r, err);
			_exit(1);
		}
		/* The old checkpoint is still readable by all. */
		_exit(open_gen(path, 0, err, sizeof(err)) == 1 ? 0 : 2);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		printf("note: could not drop privileges; EACCES unchecked\n");
	else
		CHECK(WEXITSTATUS(st) == 0);
	chmod(sub, 0755);
	CHECK(count_entries(sub) == 2);
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);
	rm_ckp(path);
	rmdir(sub);
}

/*
 * A write that fails midway (a file size limit gives EFBIG where a full
 * disk gives ENOSPC): the temporary goes at once, the old stays.
 */
static void
test_fail_midway(void)
{
	char path[512], rtmp[600], err[700];
	int st;
	pid_t pid;

	path_of(path, sizeof(path), "full.ckp");
	snprintf(rtmp, sizeof(rtmp), "%s.tmp", path);
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
	if ((pid = fork()) == 0) {
		unsigned char *m = malloc(SIZE);
		ckp_ram_seg_t seg = { m, 0, SIZE };
		struct rlimit rl = { 2 * MiB, 2 * MiB };
		ckp_writer_t *w;
		ckp_doc_t *meta;
		int r;

		signal(SIGXFSZ, SIG_IGN);
		if (ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) < 0)
			_exit(3);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(77);
		gen_final(m, 2);
		r = ckp_writer_put_segs(w, &seg, 1, 2);
		if (r != -EFBIG || ckp_writer_error(w) != -EFBIG ||
		    strstr(ckp_writer_errmsg(w), rtmp) == NULL ||
		    strstr(ckp_writer_errmsg(w), strerror(EFBIG)) == NULL) {
			fprintf(stderr, "child: %d %s\n", r,
			    ckp_writer_errmsg(w));
			_exit(4);
		}
		if (access(rtmp, F_OK) == 0)
			_exit(5);	/* must be gone already */
		meta = meta_new(2);
		r = ckp_writer_commit(w, meta, CKP_ENC_JSON, err, sizeof(err));
		_exit(r == -EFBIG && strstr(err, "full.ckp") != NULL ? 0 : 6);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		printf("note: no RLIMIT_FSIZE; midway failure unchecked\n");
	else
		CHECK(WEXITSTATUS(st) == 0);
	CHECK(!exists(rtmp));
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);

	/* RAM written, then writing the meta fails: both temporaries go. */
	if ((pid = fork()) == 0) {
		unsigned char *m = malloc(SIZE);
		ckp_ram_seg_t seg = { m, 0, SIZE };
		struct rlimit rl = { 64, 64 };
		ckp_writer_t *w;
		ckp_doc_t *meta;
		int r;

		signal(SIGXFSZ, SIG_IGN);
		gen_final(m, 2);
		if (ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) < 0 ||
		    ckp_writer_put_segs(w, &seg, 1, 2) < 0)
			_exit(3);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(77);
		meta = meta_new(2);
		r = ckp_writer_commit(w, meta, CKP_ENC_JSON, err, sizeof(err));
		if (r != -EFBIG || strstr(err, ".meta.tmp") == NULL) {
			fprintf(stderr, "child: %d %s\n", r, err);
			_exit(4);
		}
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		printf("note: no RLIMIT_FSIZE; meta failure unchecked\n");
	else
		CHECK(WEXITSTATUS(st) == 0);
	CHECK(!exists(rtmp));
	snprintf(err, sizeof(err), "%s.meta.tmp", path);
	CHECK(!exists(err));
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);

	/* A meta with an error: commit fails, nothing is published. */
	{
		unsigned char *m = calloc(1, SIZE);
		ckp_ram_seg_t seg = { m, 0, SIZE };
		ckp_writer_t *w;
		ckp_doc_t *meta = meta_new(2);

		CHECK(ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) == 0);
		CHECK(ckp_writer_put_segs(w, &seg, 1, 1) == 0);
		ckp_doc_set_error(meta, -EINVAL, "device foo: bad state");
		CHECK(ckp_writer_commit(w, meta, CKP_ENC_JSON, err,
		    sizeof(err)) == -EINVAL);
		CHECK_HAS(err, "device foo: bad state");
		ckp_doc_free(meta);
		free(m);
	}
	CHECK(!exists(rtmp));
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);
	rm_ckp(path);
}

/* ---- ckp check --recover ---- */

static void
test_check_recover(void)
{
	char path[512], out[16384], err[512];

	path_of(path, sizeof(path), "rec.ckp");
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
	CHECK(crash_child(path, 2, "meta-synced", false) == CKP__CRASH_EXIT);
	CHECK(t_run(ckp_tool, out, sizeof(out), "check --recover '%s'",
	    path) == 0);
	CHECK_HAS(out, "completed the interrupted publish of");
	CHECK_HAS(out, "rec.ckp.meta: ok\n");
	CHECK(t_run(ckp_tool, out, sizeof(out), "check '%s'", path) == 0);
	CHECK(strstr(out, "recovery") == NULL);
	CHECK(open_gen(path, 0, err, sizeof(err)) == 2);

	CHECK(crash_child(path, 3, "put", false) == CKP__CRASH_EXIT);
	CHECK(t_run(ckp_tool, out, sizeof(out), "check --recover '%s.meta'",
	    path) == 0);
	CHECK_HAS(out, "removed the leftovers of an interrupted write");
	CHECK(open_gen(path, 0, err, sizeof(err)) == 2);
	snprintf(out, sizeof(out), "%s.tmp", path);
	CHECK(!exists(out));
	rm_ckp(path);
}

/* ---- temporaries recovery did not make ---- */

enum plant { P_UID, P_MODE, P_SYMLINK, P_FIFO, P_LINK };

static const struct planted {
	const char	*name;
	bool		 ram;		/* the RAM temporary (else the meta's) */
	bool		 both;		/* the other one too */
	bool		 ram_only;	/* no meta temporary at all */
	enum plant	 how;
	unsigned	 mode;		/* P_MODE */
	const char	*why;
} planted[] = {
	{ "RAM tmp of uid 65534", true, false, false, P_UID, 0,
	  ".ckp.tmp is owned by uid 65534, not by this user (uid 0)" },
	{ "meta tmp of uid 65534", false, false, false, P_UID, 0,
	  ".ckp.meta.tmp is owned by uid 65534, not by this user (uid 0)" },
	{ "both of uid 65534", true, true, false, P_UID, 0,
	  "(uid 0); " },
	{ "lone RAM tmp of uid 65534", true, false, true, P_UID, 0,
	  ".ckp.tmp is owned by uid 65534" },
	{ "group-writable RAM tmp", true, false, false, P_MODE, 0620,
	  ".ckp.tmp is writable by group or others (mode 0620)" },
	{ "other-writable meta tmp", false, false, false, P_MODE, 0602,
	  ".ckp.meta.tmp is writable by group or others (mode 0602)" },
	{ "RAM tmp a symlink", true, false, false, P_SYMLINK, 0,
	  ".ckp.tmp is a symbolic link, not a regular file" },
	{ "meta tmp a symlink", false, false, false, P_SYMLINK, 0,
	  ".ckp.meta.tmp is a symbolic link, not a regular file" },
	{ "meta tmp a FIFO", false, false, false, P_FIFO, 0,
	  ".ckp.meta.tmp is a FIFO, not a regular file" },
	{ "RAM tmp a FIFO", true, false, false, P_FIFO, 0,
	  ".ckp.tmp is a FIFO, not a regular file" },
	{ "RAM tmp hard-linked", true, false, false, P_LINK, 0,
	  ".ckp.tmp has 2 links; a temporary has one" },
};

static void
plant(const struct planted *pl, const char *f, const char *aside)
{
	switch (pl->how) {
	case P_UID:
		CHECK(chown(f, 65534, 65534) == 0);
		break;
	case P_MODE:
		CHECK(chmod(f, pl->mode) == 0);
		break;
	case P_SYMLINK:
		CHECK(rename(f, aside) == 0 && symlink(aside, f) == 0);
		break;
	case P_FIFO:
		CHECK(rename(f, aside) == 0 && mkfifo(f, 0600) == 0);
		break;
	case P_LINK:
		CHECK(link(f, aside) == 0);
		break;
	}
}

static void
unplant(const struct planted *pl, const char *f, const char *aside)
{
	switch (pl->how) {
	case P_UID:
		CHECK(chown(f, 0, 0) == 0);
		break;
	case P_MODE:
		CHECK(chmod(f, 0600) == 0);
		break;
	case P_SYMLINK:
	case P_FIFO:
		CHECK(unlink(f) == 0 && rename(aside, f) == 0);
		break;
	case P_LINK:
		CHECK(unlink(aside) == 0);
		break;
	}
}

/*
 * In the child: everything that runs recovery refuses, names the file
 * and says why, and touches nothing; `ckp check` says so too.  A FIFO
 * must not block it (the caller's alarm would fire).
 */
static void
planted_refused(const char *path, const struct planted *pl, bool mtmp_there)
{
	char msg[1024], err[1024], out[16384];
	ckp_recovery_t *rec;
	ckp_writer_t *w;
	ckp_doc_t *d;
	int rc;

	rc = ckp_recover(path, msg, sizeof(msg));
	if (rc != -EPERM)
		fprintf(stderr, "%s: recover %d: %s\n", pl->name, rc, msg);
	CHECK(rc == -EPERM);
	CHECK_HAS(msg, pl->why);
	CHECK_HAS(msg, "leaves");

	CHECK(ckp_recovery_inspect(path, &rec, err, sizeof(err)) == 0);
	if (rec != NULL) {
		CHECK(ckp_recovery_action(rec) == CKP_RECOVERY_REFUSED);
		CHECK_HAS(ckp_recovery_message(rec), pl->why);
		CHECK((ckp_recovery_meta(rec) == NULL) == mtmp_there);
		ckp_recovery_free(rec);
	}

	/* A restore: refused while the pair may be mixed, else the old one. */
	d = ckp_checkpoint_open(path, 0);
	if (mtmp_there) {
		/* Not -EPERM: no trusting of the pair would help. */
		CHECK(ckp_doc_error(d) == -EEXIST);
		CHECK_HAS(ckp_doc_errmsg(d), "an interrupted publish cannot be "
		    "completed: ");
		CHECK_HAS(ckp_doc_errmsg(d), pl->why);
	} else
		CHECK(ckp_doc_error(d) == 0 && gen_of(d) == 1);
	ckp_doc_free(d);

	/* A writer: refused before it writes anything. */
	CHECK(ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) == -EPERM);
	CHECK_HAS(err, "cannot write checkpoint");
	CHECK_HAS(err, pl->why);

	rc = t_run(ckp_tool, out, sizeof(out), "check '%s'", path);
	CHECK(rc == (mtmp_there ? 2 : 0));
	CHECK_HAS(out, pl->why);
	CHECK_HAS(out, mtmp_there ? "a restore refuses the checkpoint" :
	    "a restore reads the published pair");
	rc = t_run(ckp_tool, out, sizeof(out), "check --recover '%s'", path);
	CHECK(rc == (mtmp_there ? 2 : 0));
	CHECK_HAS(out, pl->why);
}

/*
 * Temporaries another user placed (in a directory others can write, as
 * /tmp), or that no writer of ours made, are never adopted: root's
 * recovery would otherwise make another user's files its checkpoint.
 * Each case starts from a real interrupted publish (gen 2 complete in
 * both temporaries, gen 1 published), plants one property, and checks
 * that nothing happens; with the property undone, recovery goes ahead,
 * which shows that the property alone stopped it.
 */
static void
test_planted(void)
{
	char path[512], rtmp[600], mtmp[600], aside[600], err[512];
	unsigned char *m = malloc(SIZE);

	path_of(path, sizeof(path), "plant.ckp");
	snprintf(rtmp, sizeof(rtmp), "%s.tmp", path);
	snprintf(mtmp, sizeof(mtmp), "%s.meta.tmp", path);
	path_of(aside, sizeof(aside), "aside");
	for (size_t i = 0; i < sizeof(planted) / sizeof(planted[0]); i++) {
		const struct planted *pl = &planted[i];
		struct snap before, after;
		ckp_doc_t *d;
		int st;
		pid_t pid;

		if (pl->how == P_UID && geteuid() != 0) {
			printf("note: not root; %s unchecked\n", pl->name);
			continue;
		}
		rm_ckp(path);
		CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
		CHECK(crash_child(path, 2, "meta-synced", false) ==
		    CKP__CRASH_EXIT);
		if (pl->ram_only)
			CHECK(unlink(mtmp) == 0);
		plant(pl, pl->ram ? rtmp : mtmp, aside);
		if (pl->both)
			plant(pl, pl->ram ? mtmp : rtmp, aside);
		snap_take(path, &before);

		fflush(NULL);
		if ((pid = fork()) == 0) {
			alarm(60);
			planted_refused(path, pl, !pl->ram_only);
			_exit(t_fails != 0);
		}
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr, "%s: refused wrongly (%s %d)\n", pl->name,
			    WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ?
			    WEXITSTATUS(st) : WTERMSIG(st));
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

		/* Nothing was touched: the temporaries and the old pair. */
		snap_take(path, &after);
		CHECK(snap_same(&before, &after));
		snprintf(aside, sizeof(aside), "%s.meta", path);
		d = ckp_doc_load(aside, 0);
		CHECK(ckp_doc_error(d) == 0 && gen_of(d) == 1);
		ckp_doc_free(d);
		gen_final(m, 1);
		CHECK(file_is(path, m));
		path_of(aside, sizeof(aside), "aside");

		/* The property undone: recovery proceeds as usual. */
		if (pl->both)
			unplant(pl, pl->ram ? mtmp : rtmp, aside);
		unplant(pl, pl->ram ? rtmp : mtmp, aside);
		CHECK(ckp_recover(path, err, sizeof(err)) == 1);
		CHECK(open_gen(path, 0, err, sizeof(err)) ==
		    (pl->ram_only ? 1 : 2));
		CHECK(!exists(rtmp) && !exists(mtmp) && !exists(aside));
	}
	free(m);
	rm_ckp(path);

	/*
	 * A FIFO under a published name (another user's, placed before the
	 * first checkpoint of that name): a restore refuses it at once.
	 */
	for (int i = 0; i < 2; i++) {
		char meta[600];
		int st;
		pid_t pid;

		snprintf(meta, sizeof(meta), "%s.meta", path);
		CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
		CHECK(unlink(i == 0 ? meta : path) == 0);
		CHECK(mkfifo(i == 0 ? meta : path, 0600) == 0);
		fflush(NULL);
		if ((pid = fork()) == 0) {
			ckp_doc_t *d;

			alarm(60);
			d = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
			_exit(ckp_doc_error(d) != 0 && strstr(ckp_doc_errmsg(d),
			    "is not a regular file") != NULL ? 0 : 1);
		}
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid &&
		    WIFEXITED(st) && WEXITSTATUS(st) == 0);
		rm_ckp(path);
	}
}

/* ---- whose checkpoint: ckp_checkpoint_trust(), CKP_OPEN_OWNED ---- */

static void
test_trust(void)
{
	char path[512], meta[600], why[512], err[512];
	ckp_doc_t *d;

	path_of(path, sizeof(path), "trust.ckp");
	snprintf(meta, sizeof(meta), "%s.meta", path);
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);
	CHECK(ckp_checkpoint_trust(path, why, sizeof(why)) == 0);
	CHECK_STR(why, "");
	CHECK(open_gen(path, CKP_OPEN_OWNED, err, sizeof(err)) == 1);

	if (geteuid() == 0) {
		CHECK(chown(meta, 65534, 65534) == 0);
		CHECK(ckp_checkpoint_trust(meta, why, sizeof(why)) == -EPERM);
		CHECK_HAS(why, "trust.ckp.meta is owned by uid 65534, not by "
		    "this user (uid 0)");
		d = ckp_checkpoint_open(path, CKP_OPEN_OWNED);
		CHECK(ckp_doc_error(d) == -EPERM);
		CHECK_HAS(ckp_doc_errmsg(d), "trust.ckp.meta is owned by uid "
		    "65534");
		ckp_doc_free(d);
		/* Without the flag the caller decides. */
		CHECK(open_gen(path, 0, err, sizeof(err)) == 1);
		CHECK(chown(meta, 0, 0) == 0);
	} else
		printf("note: not root; another owner unchecked\n");

	CHECK(chmod(path, 0660) == 0);
	CHECK(ckp_checkpoint_trust(path, why, sizeof(why)) == -EPERM);
	CHECK_HAS(why, "trust.ckp is writable by group or others (mode 0660)");
	d = ckp_checkpoint_open(path, CKP_OPEN_OWNED | CKP_OPEN_NORAMCHECK);
	CHECK(ckp_doc_error(d) == -EPERM);
	CHECK_HAS(ckp_doc_errmsg(d), "trust.ckp is writable by group or others");
	ckp_doc_free(d);
	CHECK(chmod(path, 0600) == 0);
	CHECK(open_gen(path, CKP_OPEN_OWNED, err, sizeof(err)) == 1);

	unlink(meta);
	CHECK(ckp_checkpoint_trust(path, why, sizeof(why)) == -ENOENT);
	CHECK_HAS(why, "trust.ckp.meta: No such file or directory");
	CHECK(ckp_checkpoint_trust("x.tmp", why, sizeof(why)) == -EINVAL);
	rm_ckp(path);
}

/* ---- metas larger than readers take ---- */

static void
test_meta_too_big(void)
{
	char path[512], rtmp[600], mtmp[600], err[1024];
	unsigned char *m = calloc(1, SIZE);
	ckp_ram_seg_t seg = { m, 0, SIZE };
	ckp_recovery_t *rec;
	ckp_writer_t *w;
	ckp_doc_t *d, *meta;
	void *big;
	int fd;

	path_of(path, sizeof(path), "big.ckp");
	snprintf(rtmp, sizeof(rtmp), "%s.tmp", path);
	snprintf(mtmp, sizeof(mtmp), "%s.meta.tmp", path);
	CHECK(write_gen(path, 1, err, sizeof(err)) == 0);

	/*
	 * A meta temporary past the limit: what a newer program's commit
	 * record could be, so neither rolled forward nor removed.
	 */
	fd = open(mtmp, O_CREAT | O_WRONLY | O_EXCL, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)CKP_DOC_MAX_DEFAULT + 1) == 0);
	close(fd);
	CHECK(ckp_recover(path, err, sizeof(err)) == -EFBIG);
	CHECK_HAS(err, "big.ckp.meta.tmp has 268435457 bytes, more than the "
	    "268435456 a meta may have");
	CHECK(exists(mtmp));
	CHECK(ckp_recovery_inspect(path, &rec, err, sizeof(err)) == 0);
	CHECK(rec != NULL && ckp_recovery_action(rec) == CKP_RECOVERY_REFUSED &&
	    ckp_recovery_meta(rec) == NULL);
	ckp_recovery_free(rec);
	d = ckp_checkpoint_open(path, 0);
	CHECK(ckp_doc_error(d) == -EFBIG);
	CHECK_HAS(ckp_doc_errmsg(d), "an interrupted publish cannot be "
	    "completed");
	ckp_doc_free(d);
	unlink(mtmp);

	/* The writer does not publish a meta no reader would take. */
	CHECK(ckp_writer_begin(path, SIZE, &w, err, sizeof(err)) == 0);
	CHECK(ckp_writer_put_segs(w, &seg, 1, 1) == 0);
	meta = meta_new(2);
	big = calloc(1, CKP_DOC_MAX_DEFAULT);
	CHECK(big != NULL);
	ckp_sec_add_bytes(ckp_doc_root(meta), "blob", big, CKP_DOC_MAX_DEFAULT);
	free(big);
	CHECK(ckp_writer_commit(w, meta, CKP_ENC_BIN, err, sizeof(err)) ==
	    -EFBIG);
	CHECK_HAS(err, "big.ckp: the meta has");
	CHECK_HAS(err, "more than the 268435456 readers take");
	ckp_doc_free(meta);
	CHECK(!exists(rtmp) && !exists(mtmp));
	CHECK(open_gen(path, 0, err, sizeof(err)) == 1);
	free(m);
	rm_ckp(path);
}

int
main(int argc, char **argv)
{
	(void)argc;
	if (t_ckp_tool(argv[0], ckp_tool, sizeof(ckp_tool)) != 0 ||
	    t_tmpdir(dir, sizeof(dir), "test_ckp_publish") != 0)
		return 1;
	chmod(dir, 0755);	/* the unprivileged child must get in */
	test_busy();
	test_open_during_publish();
	test_stale();
	test_unwritable();
	test_fail_midway();
	test_crash_steps(true);
	test_crash_steps(false);
	test_check_recover();
	test_planted();
	test_trust();
	test_meta_too_big();
	t_rmdir(dir);
	TEST_END();
}
