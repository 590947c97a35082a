/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Where a VM's control socket lives and the limits of the protocol
 * (docs/CONTROL.md).  Shared by hyve (server) and hyvectl (client), so the
 * two can never disagree on a path.
 */
#ifndef HYVE_CTL_PROTO_H
#define HYVE_CTL_PROTO_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ckp.h"

#define CTL_LINE_MAX 4096

/* The directory holding control sockets; see docs/CONTROL.md. */
static inline int
ctl_rundir(char *buf, size_t size)
{
	const char *env = getenv("HYVE_RUNDIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env != NULL && env[0] != '\0')
		n = snprintf(buf, size, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/run/hyve");
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, size, "%s/hyve", xdg);
	else
		n = snprintf(buf, size, "/tmp/hyve-%u", (unsigned)geteuid());
	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

/* A VM name is used in a file name: keep it to a safe alphabet. */
static inline int
ctl_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > 64 || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

static inline int
ctl_sock_path(const char *name, char *buf, size_t size)
{
	char dir[256];
	int n, err;

	if (!ctl_name_valid(name))
		return -EINVAL;
	if ((err = ctl_rundir(dir, sizeof(dir))) != 0)
		return err;
	n = snprintf(buf, size, "%s/%s.sock", dir, name);
	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

static inline const char *
ctl_ftype(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:	return "a regular file";
	case S_IFDIR:	return "a directory";
	case S_IFLNK:	return "a symbolic link";
	case S_IFSOCK:	return "a socket";
	case S_IFIFO:	return "a FIFO";
	default:	return "a device";
	}
}

/*
 * One rule for the runtime directory, in hyve before it listens and in
 * hyvectl before it connects: a directory (not a symbolic link to one) that
 * belongs to @uid and gives no access to group or others.  Anything else
 * would let someone else plant a socket there, or swap the directory for
 * theirs.  @st: from lstat() (or fstat() of what was opened without
 * following links).  0, or -EPERM with a message naming @dir and why.
 */
static inline int
ctl_rundir_check(const char *dir, const struct stat *st, uid_t uid,
    char *err, size_t errlen)
{
	const char *want = "it must be a directory of your own with mode 0700";

	if (!S_ISDIR(st->st_mode))
		snprintf(err, errlen, "runtime directory %s is %s, not a "
		    "directory; %s", dir, ctl_ftype(st->st_mode), want);
	else if (st->st_uid != uid)
		snprintf(err, errlen, "runtime directory %s belongs to user "
		    "%u, not to user %u; %s", dir, (unsigned)st->st_uid,
		    (unsigned)uid, want);
	else if ((st->st_mode & 077) != 0)
		snprintf(err, errlen, "runtime directory %s has mode %04o "
		    "(group or others have access); %s", dir,
		    (unsigned)(st->st_mode & 07777), want);
	else
		return 0;
	return -EPERM;
}

/*
 * The same for something already at a control socket's path: only a socket
 * of @uid's own is a VM of theirs (or a stale one hyve may replace).
 */
static inline int
ctl_sock_check(const char *path, const struct stat *st, uid_t uid,
    char *err, size_t errlen)
{
	if (!S_ISSOCK(st->st_mode))
		snprintf(err, errlen, "control socket %s is %s, not a socket; "
		    "refusing to use or replace it", path,
		    ctl_ftype(st->st_mode));
	else if (st->st_uid != uid)
		snprintf(err, errlen, "control socket %s belongs to user %u, "
		    "not to user %u; refusing to use or replace it", path,
		    (unsigned)st->st_uid, (unsigned)uid);
	else
		return 0;
	return -EPERM;
}

/*
 * The connection slots of the control socket (vmm/ctl.c), in the order of
 * their connections' arrival (@seq).  A connection waits for its request
 * line, is served, then drains what the client still sends; only while it
 * is served is it sure to keep its slot.
 */
enum ctl_slot_state {
	CTL_SLOT_FREE = 0,
	CTL_SLOT_WAITING,	/* no request line yet */
	CTL_SLOT_SERVING,
	CTL_SLOT_DRAINING,	/* answered */
	CTL_SLOT_LEAVING,	/* told to give its slot up, not gone yet */
};

struct ctl_slot {
	enum ctl_slot_state	 state;
	unsigned long long	 seq;
};

/*
 * Where a new connection goes among the @n slots @s.  0: slot *@idx is
 * free.  -EAGAIN: none is; the connection in slot *@idx is to give way
 * (answered ones first, else the one that has waited longest for its
 * request), then ask again.  -EINPROGRESS: one is already giving way: wait
 * for it and ask again.  -EBUSY: every slot is serving a request: refuse.
 */
int ctl_slot_pick(const struct ctl_slot *s, size_t n, size_t *idx);

/*
 * hyve's side of a request, apart from the socket (vmm/ctl.c), so that
 * tests and fuzzers reach it without a connection.
 */
enum ctl_verb {
	CTL_VERB_STATUS = 1,
	CTL_VERB_PAUSE,
	CTL_VERB_RESUME,
	CTL_VERB_SUSPEND,
	CTL_VERB_CHECKPOINT,
	CTL_VERB_MIGRATE,
	CTL_VERB_MIGRATE_CANCEL,
};

/* A migration's key in a request, in hex: at most this many bytes. */
#define CTL_MIGRATE_KEY_MAX	1024

struct ctl_req {
	enum ctl_verb	 verb;
	ckp_enc_t	 enc;	/* suspend, checkpoint: the meta's encoding */
	const char	*path;	/* suspend, checkpoint: inside the line;
				   migrate: the address, for messages */
	/* migrate: the options before the address */
	bool		 oneway;
	const char	*key_hex;	/* NULL: unkeyed */
	unsigned	 downtime_ms;	/* 0: the default */
	unsigned	 timeout_ms;	/* 0: the default */
};

/*
 * Is the request line complete in @buf, which holds the @used bytes
 * received so far (@buf has room for one more, a NUL)?  @eof: the client
 * sent all it will (a client that sent nothing is no request: the caller
 * just closes).  1: yes, the line is NUL-terminated in place without
 * its LF (and CR) and *@lenp is its length; 0: more is needed; -EINVAL: a
 * message for the client in @err (what follows "error ").
 */
int ctl_req_frame(char *buf, size_t used, bool eof, size_t *lenp, char *err,
    size_t errlen);
/*
 * Parse a request line of @len bytes (modified in place: @req->path
 * points into it).  0, or -EINVAL with a message for the client in @err.
 */
int ctl_req_parse(char *line, size_t len, struct ctl_req *req, char *err,
    size_t errlen);

#endif /* HYVE_CTL_PROTO_H */
