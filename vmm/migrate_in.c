/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The destination of a migration, and the restore of a stream file
 * (docs/MIGRATION.md sections 4 and 5).  The stream is hostile input: a
 * frame is used only where the conversation expects its type, every size
 * is checked against what the configuration allows before anything is
 * allocated by it (libckp bounds a frame to 16 MiB; RAM goes straight
 * into guest memory), and the guest runs only after every check of a
 * restore has passed and (two-way) the source said GO.
 *
 *   HELLO   its migration section, then the restore's checks of a meta's
 *           header, config (-o on top) and memory; the disks' sizes; the
 *           name claimed; the VM created with RAM all zero; ACCEPT
 *   ROUND, PAGES, ZERO   into guest RAM (libckp's RAM receiver)
 *   STATE   config equal to HELLO's, every check of a restore, RAM
 *           against its ram section, devices created and state applied
 *   END     READY (two-way), then GO; a one-way stream ends here
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "migaddr.h"
#include "migrate_in.h"
#include "restore_stream.h"
#include "vm_priv.h"
#include "errmsg.h"
#include "testhook.h"


#define MIG_VERSION	1
#define MIG_CHUNK	1048576u
#define MIG_PAGE	4096u

struct mig_in {
	const struct mig_in_opts *o;
	char		 origin[PATH_MAX + 16];	/* the peer, for messages */
	int		 lfd, rfd, wfd, filefd;
	ckp_stream_t	*s;
	bool		 oneway;	/* nobody to answer */
	struct restore	*r;
	struct vm	*vm;		/* owned by r until STATE is applied */
	ckp_ram_rx_t	*rx;
	struct ctl	*ctl;
	uint64_t	 t0, frames;
	uint64_t	 t_end, t_ready, t_go;	/* the hand-over, for the log */
	bool		 r_owns_vm;	/* m->vm is restore_free()'s */
};

/* "PAGES", or "type 0x42" for a type hyve does not know. */
static const char *
frame_name(uint8_t type, char *buf, size_t len)
{
	const char *n = ckp_frame_name(type);

	if (n != NULL)
		return n;
	snprintf(buf, len, "type %#04x", type);
	return buf;
}

int
mig_in_expect(enum mig_in_phase phase, uint8_t type, char *err,
    size_t errlen)
{
	static const char *const want[] = {
		[MIG_IN_HELLO] = "HELLO",
		[MIG_IN_RAM] = "ROUND, PAGES, ZERO or STATE",
		[MIG_IN_END] = "END",
		[MIG_IN_GO] = "GO",
		[MIG_IN_DONE] = "nothing",
	};
	char buf[16];
	bool ok;

	switch (phase) {
	case MIG_IN_HELLO:
		ok = type == CKP_FRAME_HELLO;
		break;
	case MIG_IN_RAM:
		ok = type == CKP_FRAME_ROUND || type == CKP_FRAME_PAGES ||
		    type == CKP_FRAME_ZERO || type == CKP_FRAME_STATE;
		break;
	case MIG_IN_END:
		ok = type == CKP_FRAME_END;
		break;
	case MIG_IN_GO:
		ok = type == CKP_FRAME_GO;
		break;
	default:
		ok = false;
		break;
	}
	if (ok)
		return 0;
	return errmsg_set(err, errlen, -EBADMSG, "expected %s, got %s",
	    want[phase <= MIG_IN_DONE ? phase : MIG_IN_DONE],
	    frame_name(type, buf, sizeof(buf)));
}

bool
mig_in_is_stream(const char *path)
{
	char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	bool yes;

	if (fd < 0)
		return false;
	yes = read(fd, magic, 4) == 4 && memcmp(magic, "CKPS", 4) == 0;
	close(fd);
	return yes;
}

/* ------------------------------------------------------------------------ */
/* HELLO                                                                     */
/* ------------------------------------------------------------------------ */

static int
need_u32(ckp_sec_t *sec, const char *name, uint32_t *v, char *err,
    size_t errlen)
{
	if (ckp_sec_get_uint32(sec, name, v) == 0)
		return 0;
	return errmsg_set(err, errlen, -EINVAL, "HELLO: migration.%s: missing, or "
	    "not a uint32", name);
}

/* The image at @path is @size bytes, as the source's. */
static int
check_disk(const char *slot, const char *path, uint64_t size, char *err,
    size_t errlen)
{
	struct stat st;
	uint64_t have;
	off_t end;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errmsg_set(err, errlen, -EINVAL, "disk %s: cannot open %s: "
		    "%s (shared storage: the destination opens the same "
		    "image, or a copy; -o %s.path=FILE names another)", slot,
		    path, strerror(errno), slot);
	if (fstat(fd, &st) != 0) {
		close(fd);
		return errmsg_set(err, errlen, -EIO, "disk %s: %s: %s", slot, path,
		    strerror(errno));
	}
	have = (uint64_t)st.st_size;
	/* A block device's size is its end, as virtio-blk takes it. */
	if (S_ISBLK(st.st_mode) && (end = lseek(fd, 0, SEEK_END)) > 0)
		have = (uint64_t)end;
	close(fd);
	if (have != size)
		return errmsg_set(err, errlen, -EINVAL, "disk %s: the source's image "
		    "is %" PRIu64 " bytes, %s here is %" PRIu64 " bytes (shared "
		    "storage: the same image or a copy of the same size)", slot,
		    size, path, have);
	return 0;
}

/*
 * Every disk@N names a virtio-blk slot of the configuration, every
 * virtio-blk slot has one, and its image here (after -o) is as large as
 * the source's: checked before the VM exists.
 */
static int
check_disks(ckp_sec_t *mig, const struct cfg *cfg, char *err, size_t errlen)
{
	char key[300], slot[256];
	const char *sv;
	const struct cfg_ent *e;
	ckp_sec_t *d;
	uint64_t size;
	unsigned n;
	size_t i, klen;
	int rc;

	for (n = 0; ; n++) {
		char name[32];

		snprintf(name, sizeof(name), "disk@%u", n);
		if ((d = ckp_sec_find(mig, name)) == NULL)
			break;
		if (ckp_sec_get_string(d, "slot", &sv) != 0 ||
		    ckp_sec_get_uint64(d, "size", &size) != 0 ||
		    strlen(sv) >= sizeof(slot))
			return errmsg_set(err, errlen, -EINVAL, "HELLO: migration."
			    "%s: needs slot$string and size$uint64", name);
		snprintf(slot, sizeof(slot), "%s", sv);
		snprintf(key, sizeof(key), "%s.device", slot);
		if ((e = cfg_lookup(cfg, key)) == NULL ||
		    strcmp(e->val, "virtio-blk") != 0)
			return errmsg_set(err, errlen, -EINVAL, "HELLO: migration."
			    "%s: slot %s is not a virtio-blk device of the "
			    "configuration", name, slot);
		snprintf(key, sizeof(key), "%s.path", slot);
		if ((e = cfg_lookup(cfg, key)) == NULL)
			return errmsg_set(err, errlen, -EINVAL, "disk %s: the "
			    "configuration has no %s", slot, key);
		if ((rc = check_disk(slot, e->val, size, err, errlen)) != 0)
			return rc;
	}
	/* A disk the source did not size would be opened unchecked. */
	for (i = 0; i < cfg->n; i++) {
		e = &cfg->ent[i];
		klen = strlen(e->key);
		if (klen < 7 || strcmp(e->key + klen - 7, ".device") != 0 ||
		    strcmp(e->val, "virtio-blk") != 0)
			continue;
		snprintf(slot, sizeof(slot), "%.*s", (int)(klen - 7), e->key);
		for (n = 0; ; n++) {
			char name[32];
			const char *s2;

			snprintf(name, sizeof(name), "disk@%u", n);
			if ((d = ckp_sec_find(mig, name)) == NULL)
				return errmsg_set(err, errlen, -EINVAL, "HELLO: the "
				    "configuration has a disk in %s but the "
				    "migration section no disk@N for it", slot);
			if (ckp_sec_get_string(d, "slot", &s2) == 0 &&
			    strcmp(s2, slot) == 0)
				break;
		}
	}
	return 0;
}

/* The migration section alone: version, page and chunk size, RAM size. */
int
mig_in_check_migration(ckp_doc_t *doc, ckp_sec_t **migp, uint64_t *ram_size,
    char *err, size_t errlen)
{
	ckp_sec_t *mig = ckp_sec_find(ckp_doc_root(doc), "migration");
	uint32_t chunk, page;
	int rc;

	if (mig == NULL)
		return errmsg_set(err, errlen, -EINVAL, "HELLO has no migration "
		    "section");
	if (ckp_sec_version(mig) != MIG_VERSION)
		return errmsg_set(err, errlen, -EINVAL, "HELLO: migration section "
		    "version %u, this hyve reads %u", ckp_sec_version(mig),
		    MIG_VERSION);
	if (ckp_sec_get_uint64(mig, "ram_size", ram_size) != 0)
		return errmsg_set(err, errlen, -EINVAL, "HELLO: migration.ram_size: "
		    "missing, or not a uint64");
	if ((rc = need_u32(mig, "chunk_size", &chunk, err, errlen)) != 0 ||
	    (rc = need_u32(mig, "page_size", &page, err, errlen)) != 0)
		return rc;
	if (chunk != MIG_CHUNK || page != MIG_PAGE)
		return errmsg_set(err, errlen, -EINVAL, "HELLO: chunks of %u bytes "
		    "and pages of %u, this hyve uses %u and %u", chunk, page,
		    MIG_CHUNK, MIG_PAGE);
	*migp = mig;
	return 0;
}

/* Decode a document frame: every check of libckp's binary decoder. */
static int
decode(const char *what, const void *p, size_t len, ckp_doc_t **docp,
    char *err, size_t errlen)
{
	ckp_doc_t *doc = ckp_doc_decode(p, len, what, 0);

	*docp = NULL;
	if (doc == NULL)
		return errmsg_set(err, errlen, -ENOMEM, "out of memory");
	if (ckp_doc_error(doc) != 0) {
		errmsg_set(err, errlen, -EINVAL, "%s: %s", what,
		    ckp_doc_errmsg(doc));
		ckp_doc_free(doc);
		return -EINVAL;
	}
	*docp = doc;
	return 0;
}

/* HELLO: checked, the name claimed, the VM created with RAM all zero. */
static int
on_hello(struct mig_in *m, const void *p, size_t len, enum hyve_err_kind *kind,
    char *err, size_t errlen)
{
	struct hyve_err he = { .kind = HYVE_ERR_NONE };
	ckp_ram_seg_t segs[VM_MAX_MEM_REGIONS];
	const struct cfg *cfg;
	ckp_sec_t *mig = NULL;
	ckp_doc_t *doc;
	uint64_t ram_size;
	const char *name;
	char msg[PATH_MAX + 1200];
	unsigned i;
	int rc;

	if ((rc = decode("HELLO", p, len, &doc, err, errlen)) != 0)
		return rc;
	if ((rc = mig_in_check_migration(doc, &mig, &ram_size, err, errlen)) != 0) {
		ckp_doc_free(doc);
		return rc;
	}
	/* restore_prepare_hello() owns the document from here. */
	if ((rc = restore_prepare_hello(&m->o->ro, m->origin, doc, &m->r, msg,
	    sizeof(msg))) != 0)
		return errmsg_set(err, errlen, rc == -ENOMEM ? -ENOMEM : -EINVAL,
		    "%s", msg);
	/* @mig lives in the document, which the restore keeps until STATE. */
	cfg = restore_cfg(m->r);
	if (ram_size != restore_mem_size(m->r))
		return errmsg_set(err, errlen, -EINVAL, "HELLO: migration.ram_size "
		    "is %" PRIu64 " bytes, the configuration's memory.size %"
		    PRIu64, ram_size, restore_mem_size(m->r));
	if ((rc = check_disks(mig, cfg, err, errlen)) != 0)
		return rc;
	name = restore_name(m->r);
	if (ctl_listen(name, &m->ctl, &he) != 0) {
		*kind = he.kind;
		return errmsg_set(err, errlen, -EEXIST, "%s: %s", name, he.msg);
	}
	if ((rc = restore_vm_empty(m->r, &m->vm, msg, sizeof(msg))) != 0) {
		*kind = restore_err_kind(rc, true);
		return errmsg_set(err, errlen, rc, "%s", msg);
	}
	for (i = 0; i < m->vm->nmem; i++)
		segs[i] = (ckp_ram_seg_t){ .host = m->vm->mem[i].host,
		    .file_off = m->vm->mem[i].file_off,
		    .len = m->vm->mem[i].size };
	if ((m->rx = ckp_ram_rx_new(segs, m->vm->nmem)) == NULL)
		return errmsg_set(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The conversation                                                          */
/* ------------------------------------------------------------------------ */

/* ABORT with @why to a source that can still read it; best effort. */
static void
send_abort(struct mig_in *m, const char *why)
{
	ckp_doc_t *d;

	if (m->s == NULL || m->oneway || ckp_stream_error(m->s) != 0)
		return;
	if ((d = ckp_frame_abort_doc(why)) == NULL)
		return;
	(void)ckp_stream_send_doc(m->s, CKP_FRAME_ABORT, d);
	ckp_doc_free(d);
}

/* An answer to a two-way source (nothing to a one-way stream). */
static int
answer(struct mig_in *m, uint8_t type, char *err, size_t errlen)
{
	if (m->oneway)
		return 0;
	if (ckp_stream_send(m->s, type, NULL, 0) != 0)
		return errmsg_set(err, errlen, -EPIPE, "%s",
		    ckp_stream_errmsg(m->s));
	return 0;
}

static int
ram_check(void *arg, ckp_doc_t *meta, char *err, size_t errlen)
{
	struct mig_in *m = arg;
	char msg[512];

	if (ckp_ram_rx_check(m->rx, meta, msg, sizeof(msg)) != 0)
		return errmsg_set(err, errlen, -EINVAL, "RAM as received does not "
		    "match STATE's ram section: %s", msg);
	return 0;
}

/* The next frame, between frames giving way to a signal. */
static int
next_frame(struct mig_in *m, int sfd, enum mig_in_phase phase, uint8_t *type,
    const void **p, size_t *len, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };
	char buf[16];
	int rc;

	if (sfd >= 0 && poll(&pfd, 1, 0) > 0)
		return errmsg_set(err, errlen, -EINTR, "stopped by a signal while "
		    "receiving");
	rc = ckp_stream_recv(m->s, type, p, len);
	if (rc == -ENODATA)
		return errmsg_set(err, errlen, -EPIPE, "%s: the stream ended before "
		    "%s", ckp_stream_errmsg(m->s), phase == MIG_IN_GO ? "GO" :
		    "END");
	if (rc != 0)
		return errmsg_set(err, errlen, rc, "%s", ckp_stream_errmsg(m->s));
	m->frames++;
	if (*type == CKP_FRAME_ABORT) {
		char why[512];

		ckp_frame_abort_reason(*p, *len, why, sizeof(why));
		/* Nothing to answer: the source is gone. */
		m->oneway = true;
		return errmsg_set(err, errlen, -ECANCELED, "the source gave up: %s",
		    why);
	}
	(void)buf;
	return mig_in_expect(phase, *type, err, errlen);
}

/* A stream file is trusted as a checkpoint is: this user's, or --trust. */
static int
check_file_trust(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(fd, &st) != 0)
		return errmsg_set(err, errlen, -EIO, "%s: %s", path, strerror(errno));
	if ((st.st_uid != me && st.st_uid != 0) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return errmsg_set(err, errlen, -EINVAL, "cannot restore %s: owned by "
		    "uid %lu (mode %04o), not this user's alone; a stream is "
		    "trusted as its command line would be (its configuration "
		    "names the files hyve opens): if you trust it, restore it "
		    "with --trust", path, (unsigned long)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Where the stream comes from: the file, or the one connection accepted. */
static int
open_input(struct mig_in *m, int sfd, enum hyve_err_kind *kind, char *err,
    size_t errlen)
{
	const struct mig_in_opts *o = m->o;
	struct migaddr a;
	int rc;

	if (o->file != NULL) {
		snprintf(m->origin, sizeof(m->origin), "%s", o->file);
		if ((m->filefd = open(o->file, O_RDONLY | O_CLOEXEC |
		    O_NOCTTY)) < 0)
			return errmsg_set(err, errlen, -errno, "cannot restore %s: %s",
			    o->file, strerror(errno));
		if (!o->ro.trust &&
		    (rc = check_file_trust(m->filefd, o->file, err, errlen)) != 0)
			return rc;
		m->rfd = m->wfd = m->filefd;
		return 0;
	}
	if ((rc = migaddr_parse(o->addr, true, &a, err, errlen)) != 0) {
		*kind = HYVE_ERR_USAGE;
		return rc;
	}
	if ((rc = migaddr_listen(&a, &m->lfd, err, errlen)) != 0) {
		*kind = rc == -EEXIST || rc == -EADDRINUSE ? HYVE_ERR_REFUSED :
		    HYVE_ERR_RUNTIME;
		return rc;
	}
	/* On stderr: with -, stdout is the stream. */
	fprintf(stderr, "hyve: waiting for a migration stream on %s\n",
	    a.text);
	fflush(stderr);
	rc = migaddr_accept(&a, m->lfd, sfd, &m->rfd, &m->wfd, m->origin,
	    sizeof(m->origin), err, errlen);
	m->lfd = -1;
	if (rc != 0)
		*kind = HYVE_ERR_RUNTIME;
	return rc;
}

/* The stream's preambles, keyed when --migrate-key was given. */
static int
open_stream(struct mig_in *m, char *err, size_t errlen)
{
	static unsigned char key[MIGKEY_MAX];
	size_t keylen = 0;
	int rc;

	if (m->o->keyfile != NULL &&
	    (rc = migkey_load(m->o->keyfile, key, &keylen, err, errlen)) != 0)
		return rc;
	m->s = ckp_stream_new(m->rfd, CKP_STREAM_READER, keylen ? key : NULL,
	    keylen, m->o->file != NULL ? CKP_STREAM_ONEWAY : 0, m->origin);
	memset(key, 0, sizeof(key));
	if (m->s == NULL)
		return errmsg_set(err, errlen, -ENOMEM, "out of memory");
	if (m->wfd != m->rfd)
		(void)ckp_stream_set_wfd(m->s, m->wfd);
	if (m->o->file == NULL)
		(void)ckp_stream_set_timeout(m->s, MIG_IN_TIMEOUT_MS);
	if (ckp_stream_start(m->s) != 0)
		return errmsg_set(err, errlen, ckp_stream_error(m->s), "%s",
		    ckp_stream_errmsg(m->s));
	m->oneway = m->o->file != NULL ||
	    (ckp_stream_peer_flags(m->s) & CKP_STREAM_ONEWAY) != 0;
	return 0;
}

static int
converse(struct mig_in *m, int sfd, enum hyve_err_kind *kind, char *err,
    size_t errlen)
{
	enum mig_in_phase phase = MIG_IN_HELLO;
	ckp_doc_t *state = NULL;
	struct restore_stats st;
	const void *p;
	size_t len;
	uint8_t type;
	char msg[PATH_MAX + 1200];
	int rc = 0;

	while (phase != MIG_IN_DONE) {
		if ((rc = next_frame(m, sfd, phase, &type, &p, &len, err,
		    errlen)) != 0)
			break;
		switch (type) {
		case CKP_FRAME_HELLO:
			if ((rc = on_hello(m, p, len, kind, err, errlen)) != 0 ||
			    (rc = answer(m, CKP_FRAME_ACCEPT, err, errlen)) != 0)
				goto out;
			phase = MIG_IN_RAM;
			break;
		case CKP_FRAME_ROUND:
		case CKP_FRAME_PAGES:
		case CKP_FRAME_ZERO:
			if ((rc = ckp_ram_rx_frame(m->rx, type, p, len, msg,
			    sizeof(msg))) != 0) {
				rc = errmsg_set(err, errlen, -EINVAL, "frame %" PRIu64
				    " (%s): %s", m->frames - 1,
				    ckp_frame_name(type), msg);
				goto out;
			}
			break;
		case CKP_FRAME_STATE:
			if ((rc = decode("STATE", p, len, &state, err,
			    errlen)) != 0)
				goto out;
			phase = MIG_IN_END;
			break;
		case CKP_FRAME_END:
			m->t_end = ckpt_now_us();
			rc = restore_create_state(m->r, state, ram_check, m,
			    &m->vm, &st, msg, sizeof(msg));
			state = NULL;
			if (rc != 0) {
				*kind = restore_err_kind(rc, true);
				rc = errmsg_set(err, errlen, rc, "%s", msg);
				goto out;
			}
			m->r_owns_vm = false;
			if ((rc = answer(m, CKP_FRAME_READY, err, errlen)) != 0)
				goto out;
			m->t_ready = ckpt_now_us();
			phase = m->oneway ? MIG_IN_DONE : MIG_IN_GO;
			break;
		case CKP_FRAME_GO:
			m->t_go = ckpt_now_us();
			phase = MIG_IN_DONE;
			break;
		}
	}
out:
	ckp_doc_free(state);
	return rc;
}

int
mig_in_run(const struct mig_in_opts *o, int sfd, struct mig_in **mp,
    struct vm **vmp, struct ctl **ctlp, enum hyve_err_kind *kind, char *err,
    size_t errlen)
{
	struct mig_in *m;
	char msg[PATH_MAX + 1400];
	int rc;

	*mp = NULL;
	*vmp = NULL;
	*ctlp = NULL;
	*kind = HYVE_ERR_REFUSED;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		*kind = HYVE_ERR_RUNTIME;
		return errmsg_set(err, errlen, -ENOMEM, "out of memory");
	}
	m->o = o;
	m->lfd = m->rfd = m->wfd = m->filefd = -1;
	m->r_owns_vm = true;
	m->t0 = ckpt_now_us();
	msg[0] = '\0';
	if ((rc = open_input(m, sfd, kind, msg, sizeof(msg))) == 0 &&
	    (rc = open_stream(m, msg, sizeof(msg))) == 0)
		rc = converse(m, sfd, kind, msg, sizeof(msg));
	if (rc != 0) {
		if (*kind == HYVE_ERR_NONE)
			*kind = HYVE_ERR_REFUSED;
		if (rc == -ENOMEM)
			*kind = HYVE_ERR_RUNTIME;
		/* libckp's and the restore's messages name the stream already. */
		if (strncmp(msg, "stream ", 7) == 0 ||
		    strncmp(msg, "cannot restore ", 15) == 0 || m->origin[0] == 0)
			snprintf(err, errlen, "%s", msg);
		else
			snprintf(err, errlen, "stream %s: %s", m->origin, msg);
		send_abort(m, err);
		mig_in_free(m);
		return rc;
	}
	*vmp = m->vm;
	*ctlp = m->ctl;
	m->vm = NULL;
	m->ctl = NULL;
	*mp = m;
	return 0;
}

/*
 * Test builds: hold RUNNING back (the guest already runs here) so that a
 * test can cut the link between GO and RUNNING, the one window where the
 * source cannot know who runs the guest.
 */
static void
test_hold_running(const struct vm *vm)
{
	long ms = test_hook_ms("HYVE_TEST_MIG_HOLD_RUNNING_MS");

	if (ms > 0) {
		vm_log(vm, "test hook: the guest runs; RUNNING held back "
		    "for %ld ms", ms);
		usleep((useconds_t)ms * 1000);
	}
}

void
mig_in_started(struct mig_in *m, const struct vm *vm)
{
	if (m == NULL || m->s == NULL)
		return;
	test_hold_running(vm);
	(void)answer(m, CKP_FRAME_RUNNING, NULL, 0);
	if (m->t_go != 0)
		vm_log(vm, "hand-over, ms after END arrived: checked and "
		    "READY sent %.1f, GO %.1f, running and RUNNING sent %.1f",
		    (double)(m->t_ready - m->t_end) / 1e3,
		    (double)(m->t_go - m->t_end) / 1e3,
		    (double)(ckpt_now_us() - m->t_end) / 1e3);
	ckp_stream_free(m->s);
	m->s = NULL;
	if (m->rfd >= 0 && m->rfd > STDERR_FILENO)
		close(m->rfd);
	if (m->wfd >= 0 && m->wfd != m->rfd && m->wfd > STDERR_FILENO)
		close(m->wfd);
	m->rfd = m->wfd = m->filefd = -1;
}

void
mig_in_summary(const struct mig_in *m, char *buf, size_t len)
{
	uint64_t pages = 0, zpages = 0;
	uint32_t rounds = 0;

	if (m->rx != NULL)
		ckp_ram_rx_counters(m->rx, &pages, &zpages, &rounds);
	snprintf(buf, len, "%" PRIu64 " frames, %" PRIu64 " pages, %" PRIu64
	    " zero pages, %u rounds, in %.0f ms", m->frames, pages, zpages,
	    rounds, (double)(ckpt_now_us() - m->t0) / 1e3);
}

void
mig_in_free(struct mig_in *m)
{
	if (m == NULL)
		return;
	ckp_stream_free(m->s);
	ckp_ram_rx_free(m->rx);
	/* Until STATE is applied the VM is the restore's. */
	if (!m->r_owns_vm)
		vm_free(m->vm);
	restore_free(m->r);
	ctl_close(m->ctl);
	if (m->rfd > STDERR_FILENO)
		close(m->rfd);
	if (m->wfd > STDERR_FILENO && m->wfd != m->rfd)
		close(m->wfd);
	free(m);
}
