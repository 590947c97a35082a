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
};

struct ctl_req {
	enum ctl_verb	 verb;
	ckp_enc_t	 enc;	/* suspend, checkpoint: the meta's encoding */
	const char	*path;	/* suspend, checkpoint: inside the line */
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
