/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The control socket's request line without a socket (docs/CONTROL.md):
 * framing as the bytes arrive (LF, CR LF, a last line at end of input,
 * the length limit, a second request) and parsing (verbs, arguments,
 * encoding options, absolute paths), each refusal with its message; which
 * connection gives its slot up when all are taken; the rule for the
 * runtime directory and the socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

#include "test_check.h"

#define BUF_SIZE	(CTL_LINE_MAX + 64)

static char buf[BUF_SIZE];

/* Frame @s (@n bytes) arriving all at once; @eof: nothing follows. */
static int
frame(const char *s, size_t n, bool eof, size_t *len, char *err,
    size_t errlen)
{
	memcpy(buf, s, n);
	buf[n] = '\0';
	err[0] = '\0';
	return ctl_req_frame(buf, n, eof, len, err, errlen);
}

static void
test_frame(void)
{
	char err[256], big[CTL_LINE_MAX + 2];
	size_t len = 0;

	CHECK(frame("status\n", 7, false, &len, err, sizeof(err)) == 1);
	CHECK(len == 6 && strcmp(buf, "status") == 0);
	CHECK(frame("pause\r\n", 7, false, &len, err, sizeof(err)) == 1);
	CHECK(len == 5 && strcmp(buf, "pause") == 0);
	/* not yet complete, then the client closes: the last line is taken */
	CHECK(frame("resu", 4, false, &len, err, sizeof(err)) == 0);
	CHECK(frame("resume", 6, true, &len, err, sizeof(err)) == 1);
	CHECK(len == 6 && strcmp(buf, "resume") == 0);
	CHECK(frame("\n", 1, false, &len, err, sizeof(err)) == 1 && len == 0);
	CHECK(frame("status\nstatus\n", 14, false, &len, err,
	    sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "one request per connection") != NULL);

	/* CTL_LINE_MAX bytes and a LF is the longest line */
	memset(big, 'x', sizeof(big));
	big[CTL_LINE_MAX] = '\n';
	CHECK(frame(big, CTL_LINE_MAX + 1, false, &len, err,
	    sizeof(err)) == 1 && len == CTL_LINE_MAX);
	big[CTL_LINE_MAX] = 'x';
	big[CTL_LINE_MAX + 1] = '\n';
	CHECK(frame(big, CTL_LINE_MAX + 2, false, &len, err,
	    sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "request longer than 4096 bytes") != NULL);
	/* no LF yet, but already too long: refused before the rest comes */
	CHECK(frame(big, CTL_LINE_MAX + 1, false, &len, err,
	    sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "request longer than 4096 bytes") != NULL);
	CHECK(frame(big, CTL_LINE_MAX, false, &len, err, sizeof(err)) == 0);
}

struct want {
	const char *line;
	int rc;
	enum ctl_verb verb;
	ckp_enc_t enc;
	const char *path;	/* the path, or a part of the message */
};

static void
test_parse(void)
{
	static const struct want w[] = {
		{ "status", 0, CTL_VERB_STATUS, 0, NULL },
		{ "pause", 0, CTL_VERB_PAUSE, 0, NULL },
		{ "resume", 0, CTL_VERB_RESUME, 0, NULL },
		{ "status   ", 0, CTL_VERB_STATUS, 0, NULL },
		{ "suspend /tmp/a.ckp", 0, CTL_VERB_SUSPEND, CKP_ENC_JSON,
		    "/tmp/a.ckp" },
		{ "checkpoint   /d/a b.ckp", 0, CTL_VERB_CHECKPOINT,
		    CKP_ENC_JSON, "/d/a b.ckp" },
		{ "checkpoint encoding=bin /x", 0, CTL_VERB_CHECKPOINT,
		    CKP_ENC_BIN, "/x" },
		{ "suspend encoding=json encoding=conf /x y", 0,
		    CTL_VERB_SUSPEND, CKP_ENC_CONF, "/x y" },
		{ "", -EINVAL, 0, 0, "empty request" },
		{ " status", -EINVAL, 0, 0, "empty request" },
		{ "Status", -EINVAL, 0, 0, "unknown request 'Status'" },
		{ "status now", -EINVAL, 0, 0, "status takes no argument" },
		{ "pause 1", -EINVAL, 0, 0, "pause takes no argument" },
		{ "suspend", -EINVAL, 0, 0, "a checkpoint file name is "
		    "required" },
		{ "checkpoint   ", -EINVAL, 0, 0, "file name is required" },
		{ "checkpoint a.ckp", -EINVAL, 0, 0, "checkpoint path 'a.ckp' "
		    "is not absolute" },
		{ "checkpoint encoding=xml /x", -EINVAL, 0, 0, "unknown "
		    "option 'encoding=xml'" },
		{ "checkpoint encoding=bin", -EINVAL, 0, 0, "file name is "
		    "required" },
	};
	char line[128], err[512];
	struct ctl_req req;
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		int rc;

		snprintf(line, sizeof(line), "%s", w[i].line);
		err[0] = '\0';
		rc = ctl_req_parse(line, strlen(w[i].line), &req, err,
		    sizeof(err));
		if (rc != w[i].rc) {
			fprintf(stderr, "'%s': rc %d, expected %d (%s)\n",
			    w[i].line, rc, w[i].rc, err);
			failures++;
			continue;
		}
		if (rc != 0) {
			if (strstr(err, w[i].path) == NULL) {
				fprintf(stderr, "'%s': message '%s' lacks "
				    "'%s'\n", w[i].line, err, w[i].path);
				failures++;
			}
			continue;
		}
		CHECK(req.verb == w[i].verb);
		if (w[i].path == NULL) {
			CHECK(req.path == NULL);
		} else {
			CHECK(req.enc == w[i].enc);
			CHECK(req.path != NULL && strcmp(req.path,
			    w[i].path) == 0);
		}
	}

	/* a NUL inside the line */
	memcpy(line, "stat\0us", 8);
	CHECK(ctl_req_parse(line, 7, &req, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "contains a NUL byte") != NULL);
}

/* Slots from a string: f(ree) w(aiting) s(erving) d(raining) l(eaving). */
static size_t
slots(struct ctl_slot *s, const char *st, const unsigned long long *seq)
{
	size_t i;

	for (i = 0; st[i] != '\0'; i++) {
		s[i].state = st[i] == 'w' ? CTL_SLOT_WAITING :
		    st[i] == 's' ? CTL_SLOT_SERVING :
		    st[i] == 'd' ? CTL_SLOT_DRAINING :
		    st[i] == 'l' ? CTL_SLOT_LEAVING : CTL_SLOT_FREE;
		s[i].seq = seq != NULL ? seq[i] : i + 1;
	}
	return i;
}

static void
test_slots(void)
{
	static const unsigned long long late[] = { 9, 4, 7, 2, 8 };
	struct ctl_slot s[8];
	size_t n, idx;

	/* a free slot, wherever it is */
	n = slots(s, "swfw", NULL);
	CHECK(ctl_slot_pick(s, n, &idx) == 0 && idx == 2);
	/* all taken: the idle one that has waited longest gives way ... */
	n = slots(s, "wswsw", late);
	CHECK(ctl_slot_pick(s, n, &idx) == -EAGAIN && idx == 2);
	n = slots(s, "wwwww", late);
	CHECK(ctl_slot_pick(s, n, &idx) == -EAGAIN && idx == 3);
	/* ... after the answered ones, the oldest of them first */
	n = slots(s, "wdwdw", late);
	CHECK(ctl_slot_pick(s, n, &idx) == -EAGAIN && idx == 3);
	n = slots(s, "ddsss", late);
	CHECK(ctl_slot_pick(s, n, &idx) == -EAGAIN && idx == 1);
	/* one giving way already: wait for it, evict no second one */
	n = slots(s, "wwlww", NULL);
	idx = 99;
	CHECK(ctl_slot_pick(s, n, &idx) == -EINPROGRESS && idx == 99);
	/* every one serving: refused */
	n = slots(s, "sssss", NULL);
	CHECK(ctl_slot_pick(s, n, &idx) == -EBUSY);
	n = slots(s, "s", NULL);
	CHECK(ctl_slot_pick(s, n, &idx) == -EBUSY);
	CHECK(ctl_slot_pick(s, 0, &idx) == -EBUSY);
}

/* A stat of a file of @type (S_IF*), mode @perm, owner @uid. */
static struct stat
st_of(mode_t type, mode_t perm, uid_t uid)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = type | perm;
	st.st_uid = uid;
	return st;
}

static void
test_paths(void)
{
	static const struct {
		mode_t type, perm;
		uid_t uid;
		const char *why;	/* NULL: accepted */
	} dir[] = {
		{ S_IFDIR, 0700, 1000, NULL },
		{ S_IFDIR, 0500, 1000, NULL },
		{ S_IFLNK, 0777, 1000, "is a symbolic link, not a directory" },
		{ S_IFREG, 0600, 1000, "is a regular file, not a directory" },
		{ S_IFSOCK, 0600, 1000, "is a socket, not a directory" },
		{ S_IFDIR, 0700, 0, "belongs to user 0, not to user 1000" },
		{ S_IFDIR, 0710, 1000, "has mode 0710 (group or others" },
		{ S_IFDIR, 01777, 1000, "has mode 1777" },
		{ S_IFDIR, 0701, 1000, "has mode 0701" },
	}, sock[] = {
		{ S_IFSOCK, 0600, 1000, NULL },
		{ S_IFSOCK, 0755, 1000, NULL },
		{ S_IFLNK, 0777, 1000, "is a symbolic link, not a socket" },
		{ S_IFREG, 0600, 1000, "is a regular file, not a socket" },
		{ S_IFDIR, 0700, 1000, "is a directory, not a socket" },
		{ S_IFIFO, 0600, 1000, "is a FIFO, not a socket" },
		{ S_IFSOCK, 0600, 65534, "belongs to user 65534, not to user "
		    "1000" },
	};
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(dir) / sizeof(dir[0]); i++) {
		struct stat st = st_of(dir[i].type, dir[i].perm, dir[i].uid);
		int rc;

		err[0] = '\0';
		rc = ctl_rundir_check("/run/x", &st, 1000, err, sizeof(err));
		if (dir[i].why == NULL) {
			CHECK(rc == 0);
			continue;
		}
		CHECK(rc == -EPERM);
		CHECK(strncmp(err, "runtime directory /run/x ", 25) == 0);
		CHECK(strstr(err, dir[i].why) != NULL);
		CHECK(strstr(err, "must be a directory of your own with mode "
		    "0700") != NULL);
		if (rc != -EPERM || strstr(err, dir[i].why) == NULL)
			fprintf(stderr, "directory %zu: '%s'\n", i, err);
	}
	for (i = 0; i < sizeof(sock) / sizeof(sock[0]); i++) {
		struct stat st = st_of(sock[i].type, sock[i].perm, sock[i].uid);
		int rc;

		err[0] = '\0';
		rc = ctl_sock_check("/run/x/a.sock", &st, 1000, err,
		    sizeof(err));
		if (sock[i].why == NULL) {
			CHECK(rc == 0);
			continue;
		}
		CHECK(rc == -EPERM);
		CHECK(strncmp(err, "control socket /run/x/a.sock ", 29) == 0);
		CHECK(strstr(err, sock[i].why) != NULL);
		if (rc != -EPERM || strstr(err, sock[i].why) == NULL)
			fprintf(stderr, "socket %zu: '%s'\n", i, err);
	}
}

int
main(void)
{
	test_frame();
	test_parse();
	test_slots();
	test_paths();
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_ctl: ok\n");
	return 0;
}
