/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Migration addresses (docs/MIGRATION.md): one parser for both sides, the
 * destination's listen and accept, the source's connect.
 *   tcp:HOST:PORT  HOST an IPv4 literal, [IPv6 literal] or a name
 *   unix:PATH      a UNIX stream socket
 *   -              stdin and stdout (destination only: ssh host hyve --incoming -)
 *   fd:N           an inherited connected socket (destination only)
 */
#ifndef HYVE_MIGADDR_H
#define HYVE_MIGADDR_H

#include <stdbool.h>
#include <stddef.h>

enum migaddr_kind {
	MIGADDR_TCP = 1,
	MIGADDR_UNIX,
	MIGADDR_STDIO,
	MIGADDR_FD,
};

struct migaddr {
	enum migaddr_kind kind;
	char	 text[300];	/* as given, for messages */
	char	 host[256];	/* tcp: without brackets */
	char	 port[8];	/* tcp: 1-65535 */
	char	 path[108];	/* unix: sun_path, NUL included */
	int	 fd;		/* fd:N */
};

/*
 * Parse @s.  @dest: the destination's addresses (also - and fd:N).  0, or
 * -EINVAL with @err naming the address and what is wrong with it.
 */
int migaddr_parse(const char *s, bool dest, struct migaddr *a, char *err,
    size_t errlen);

/*
 * Destination: listen on a tcp: or unix: address (*@lfd), or for - and
 * fd:N nothing (*@lfd = -1).  A unix: path that exists and is not a socket
 * is refused; a socket nobody listens on (left by a hyve that died) is
 * replaced.
 */
int migaddr_listen(const struct migaddr *a, int *lfd, char *err,
    size_t errlen);

/*
 * Destination: wait for one connection on @lfd, then stop listening
 * (@lfd closed, a unix: socket file removed).  While waiting, a readable
 * @stopfd (the signalfd; -1 for none) gives up with -EINTR.  *@rfd and
 * *@wfd: the two directions (the same socket but for -, stdin and stdout);
 * @peer names the peer for messages.
 */
int migaddr_accept(const struct migaddr *a, int lfd, int stopfd, int *rfd,
    int *wfd, char *peer, size_t peerlen, char *err, size_t errlen);

/* Stop listening without a connection: close @lfd, remove a unix: socket. */
void migaddr_unlisten(const struct migaddr *a, int lfd);

/*
 * Source: connect to a tcp: or unix: address within @timeout_ms (0: the
 * system's own timeout).  *@fd: a blocking connected socket.
 */
int migaddr_connect(const struct migaddr *a, unsigned timeout_ms, int *fd,
    char *err, size_t errlen);

#endif /* HYVE_MIGADDR_H */

/*
 * --migrate-key FILE (both sides): the shared secret, FILE's bytes as
 * they are (a trailing newline is part of it), at least
 * CKP_STREAM_MIN_KEY and at most MIGKEY_MAX bytes.  A file that group or
 * others may read is refused (as ssh does with a private key).  *@len
 * bytes into @key; the caller wipes them.
 */
#define MIGKEY_MAX	4096
int migkey_load(const char *path, unsigned char *key, size_t *len,
    char *err, size_t errlen);
