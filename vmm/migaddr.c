/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Migration addresses: parse, listen, accept, connect (vmm/migaddr.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ckp.h"
#include "migaddr.h"
#include "errmsg.h"

#define ADDR_FORMS "tcp:HOST:PORT, unix:PATH"
#define DEST_FORMS ADDR_FORMS ", - (stdin and stdout) or fd:N"

static int
parse_tcp(const char *s, const char *rest, struct migaddr *a, char *err,
    size_t errlen)
{
	const char *colon, *host = rest;
	size_t hlen;
	char *end;
	unsigned long port;

	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		if (close == NULL || close[1] != ':')
			return errmsg_set(err, errlen, -EINVAL, "%s: an IPv6 address "
			    "in brackets must be followed by :PORT "
			    "(tcp:[::1]:7777)", s);
		host = rest + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		if ((colon = strrchr(rest, ':')) == NULL)
			return errmsg_set(err, errlen, -EINVAL, "%s: expected "
			    "tcp:HOST:PORT", s);
		hlen = (size_t)(colon - rest);
		if (memchr(rest, ':', hlen) != NULL)
			return errmsg_set(err, errlen, -EINVAL, "%s: an IPv6 "
			    "address goes in brackets (tcp:[::1]:7777)", s);
	}
	if (hlen == 0)
		return errmsg_set(err, errlen, -EINVAL, "%s: no host (tcp:0.0.0.0:"
		    "PORT listens on every IPv4 address, tcp:[::]:PORT on "
		    "every address)", s);
	if (hlen >= sizeof(a->host))
		return errmsg_set(err, errlen, -EINVAL, "%s: host name of %zu "
		    "bytes, at most %zu", s, hlen, sizeof(a->host) - 1);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port < 1 || port > 65535)
		return errmsg_set(err, errlen, -EINVAL, "%s: port '%s' is not a "
		    "number from 1 to 65535", s, colon + 1);
	memcpy(a->host, host, hlen);
	a->host[hlen] = '\0';
	snprintf(a->port, sizeof(a->port), "%lu", port);
	a->kind = MIGADDR_TCP;
	return 0;
}

int
migaddr_parse(const char *s, bool dest, struct migaddr *a, char *err,
    size_t errlen)
{
	const char *forms = dest ? DEST_FORMS : ADDR_FORMS;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	if (strlen(s) >= sizeof(a->text))
		return errmsg_set(err, errlen, -EINVAL, "migration address of %zu "
		    "bytes, at most %zu", strlen(s), sizeof(a->text) - 1);
	snprintf(a->text, sizeof(a->text), "%s", s);
	if (strncmp(s, "tcp:", 4) == 0)
		return parse_tcp(s, s + 4, a, err, errlen);
	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] == '\0')
			return errmsg_set(err, errlen, -EINVAL, "%s: no path", s);
		if (strlen(s + 5) >= sizeof(a->path))
			return errmsg_set(err, errlen, -EINVAL, "%s: a socket path "
			    "has at most %zu bytes, this one %zu", s,
			    sizeof(a->path) - 1, strlen(s + 5));
		snprintf(a->path, sizeof(a->path), "%s", s + 5);
		a->kind = MIGADDR_UNIX;
		return 0;
	}
	if (strcmp(s, "-") == 0 || strncmp(s, "fd:", 3) == 0) {
		char *end;
		long n;

		if (!dest)
			return errmsg_set(err, errlen, -EINVAL, "%s: only a "
			    "destination (hyve --incoming) reads a stream "
			    "from %s (here: %s)", s, s[0] == '-' ? "stdin" :
			    "an inherited descriptor", forms);
		if (s[0] == '-') {
			a->kind = MIGADDR_STDIO;
			return 0;
		}
		errno = 0;
		n = strtol(s + 3, &end, 10);
		if (s[3] < '0' || s[3] > '9' || *end != '\0' || errno != 0 ||
		    n > INT_MAX)
			return errmsg_set(err, errlen, -EINVAL, "%s: '%s' is not a "
			    "descriptor number", s, s + 3);
		if (n <= 2)
			return errmsg_set(err, errlen, -EINVAL, "%s: descriptor %ld "
			    "is stdin, stdout or stderr (use - for stdin and "
			    "stdout)", s, n);
		if (fcntl((int)n, F_GETFD) < 0)
			return errmsg_set(err, errlen, -EINVAL, "%s: descriptor %ld "
			    "is not open", s, n);
		a->fd = (int)n;
		a->kind = MIGADDR_FD;
		return 0;
	}
	return errmsg_set(err, errlen, -EINVAL, "%s: not a migration address "
	    "(%s)", s, forms);
}

static int
unix_sockaddr(const struct migaddr *a, struct sockaddr_un *un)
{
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, a->path, strlen(a->path) + 1);
	return 0;
}

/* A path left by a dead listener is replaced; anything else is refused. */
static int
unix_clear(const struct migaddr *a, char *err, size_t errlen)
{
	struct sockaddr_un un;
	struct stat st;
	int fd, rc;

	if (lstat(a->path, &st) != 0)
		return errno == ENOENT ? 0 : errmsg_set(err, errlen, -errno,
		    "%s: %s", a->text, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return errmsg_set(err, errlen, -EEXIST, "%s: %s exists and is not "
		    "a socket: refusing to replace it", a->text, a->path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errmsg_set(err, errlen, -errno, "socket: %s",
		    strerror(errno));
	unix_sockaddr(a, &un);
	rc = connect(fd, (struct sockaddr *)&un, sizeof(un));
	close(fd);
	if (rc == 0)
		return errmsg_set(err, errlen, -EADDRINUSE, "%s: another process "
		    "listens on %s", a->text, a->path);
	if (unlink(a->path) != 0 && errno != ENOENT)
		return errmsg_set(err, errlen, -errno, "%s: removing the stale "
		    "socket %s: %s", a->text, a->path, strerror(errno));
	return 0;
}

static int
listen_unix(const struct migaddr *a, int *lfd, char *err, size_t errlen)
{
	struct sockaddr_un un;
	int fd, rc;

	if ((rc = unix_clear(a, err, errlen)) != 0)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errmsg_set(err, errlen, -errno, "socket: %s",
		    strerror(errno));
	unix_sockaddr(a, &un);
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) != 0 ||
	    listen(fd, 1) != 0) {
		rc = errmsg_set(err, errlen, -errno, "%s: cannot listen: %s",
		    a->text, strerror(errno));
		close(fd);
		return rc;
	}
	*lfd = fd;
	return 0;
}

static int
listen_tcp(const struct migaddr *a, int *lfd, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL, *ai;
	int fd = -1, one = 1, rc, saved = 0;

	if ((rc = getaddrinfo(a->host, a->port, &hints, &res)) != 0)
		return errmsg_set(err, errlen, -EINVAL, "%s: %s", a->text,
		    gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) < 0) {
			saved = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 1) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return errmsg_set(err, errlen, -saved, "%s: cannot listen: %s",
		    a->text, strerror(saved));
	*lfd = fd;
	return 0;
}

int
migaddr_listen(const struct migaddr *a, int *lfd, char *err, size_t errlen)
{
	*lfd = -1;
	switch (a->kind) {
	case MIGADDR_TCP:
		return listen_tcp(a, lfd, err, errlen);
	case MIGADDR_UNIX:
		return listen_unix(a, lfd, err, errlen);
	case MIGADDR_STDIO:
	case MIGADDR_FD:
		return 0;
	}
	return errmsg_set(err, errlen, -EINVAL, "%s: not an address to listen on",
	    a->text);
}

void
migaddr_unlisten(const struct migaddr *a, int lfd)
{
	if (lfd < 0)
		return;
	close(lfd);
	if (a->kind == MIGADDR_UNIX)
		(void)unlink(a->path);
}

/* "tcp:10.0.0.1:41234", "tcp:[::1]:41234" */
static void
peer_name(int fd, char *peer, size_t peerlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
		snprintf(peer, peerlen, "fd %d", fd);
		return;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(peer, peerlen, "tcp:%s:%u", host, port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(peer, peerlen, "tcp:[%s]:%u", host, port);
	} else {
		snprintf(peer, peerlen, "fd %d", fd);
	}
}

int
migaddr_accept(const struct migaddr *a, int lfd, int stopfd, int *rfd,
    int *wfd, char *peer, size_t peerlen, char *err, size_t errlen)
{
	struct pollfd pfd[2] = { { .fd = lfd, .events = POLLIN },
	    { .fd = stopfd, .events = POLLIN } };
	int fd, one = 1, rc = 0;

	*rfd = *wfd = -1;
	if (a->kind == MIGADDR_STDIO) {
		*rfd = STDIN_FILENO;
		*wfd = STDOUT_FILENO;
		snprintf(peer, peerlen, "<stdin>");
		return 0;
	}
	if (a->kind == MIGADDR_FD) {
		*rfd = *wfd = a->fd;
		snprintf(peer, peerlen, "fd:%d", a->fd);
		return 0;
	}
	for (;;) {
		if (poll(pfd, stopfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = errmsg_set(err, errlen, -errno, "poll: %s",
			    strerror(errno));
			goto out;
		}
		if (pfd[1].revents != 0 && stopfd >= 0) {
			rc = errmsg_set(err, errlen, -EINTR, "%s: stopped while "
			    "waiting for a connection", a->text);
			goto out;
		}
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN &&
		    errno != ECONNABORTED) {
			rc = errmsg_set(err, errlen, -errno, "%s: accept: %s",
			    a->text, strerror(errno));
			goto out;
		}
	}
	if (a->kind == MIGADDR_TCP) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		peer_name(fd, peer, peerlen);
	} else {
		snprintf(peer, peerlen, "%s", a->text);
	}
	*rfd = *wfd = fd;
out:
	/* One connection: nobody else may connect meanwhile. */
	migaddr_unlisten(a, lfd);
	return rc;
}

/* connect() that gives up after @timeout_ms. */
static int
connect_within(int fd, const struct sockaddr *sa, socklen_t len,
    unsigned timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int flags = fcntl(fd, F_GETFL), soerr = 0, n;
	socklen_t slen = sizeof(soerr);

	if (timeout_ms == 0)
		return connect(fd, sa, len) == 0 ? 0 : -errno;
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	if (connect(fd, sa, len) != 0) {
		if (errno != EINPROGRESS)
			return -errno;
		while ((n = poll(&pfd, 1, (int)timeout_ms)) < 0 &&
		    errno == EINTR)
			;
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0)
			return -errno;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0)
			return -errno;
		if (soerr != 0)
			return -soerr;
	}
	return fcntl(fd, F_SETFL, flags) < 0 ? -errno : 0;
}

int
migaddr_connect(const struct migaddr *a, unsigned timeout_ms, int *fd,
    char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_un un;
	int s = -1, rc = -EINVAL, one = 1;

	*fd = -1;
	if (a->kind == MIGADDR_UNIX) {
		if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return errmsg_set(err, errlen, -errno, "socket: %s",
			    strerror(errno));
		unix_sockaddr(a, &un);
		if ((rc = connect_within(s, (struct sockaddr *)&un, sizeof(un),
		    timeout_ms)) != 0) {
			close(s);
			return errmsg_set(err, errlen, rc, "%s: cannot connect: %s",
			    a->text, strerror(-rc));
		}
		*fd = s;
		return 0;
	}
	if (a->kind != MIGADDR_TCP)
		return errmsg_set(err, errlen, -EINVAL, "%s: not an address to "
		    "connect to", a->text);
	if ((rc = getaddrinfo(a->host, a->port, &hints, &res)) != 0)
		return errmsg_set(err, errlen, -EHOSTUNREACH, "%s: %s", a->text,
		    gai_strerror(rc));
	rc = -EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) < 0) {
			rc = -errno;
			continue;
		}
		if ((rc = connect_within(s, ai->ai_addr, ai->ai_addrlen,
		    timeout_ms)) == 0)
			break;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return errmsg_set(err, errlen, rc, "%s: cannot connect: %s",
		    a->text, strerror(-rc));
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fd = s;
	return 0;
}

int
migkey_load(const char *path, unsigned char *key, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, rc = 0;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errmsg_set(err, errlen, -errno, "--migrate-key %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = errmsg_set(err, errlen, -errno, "--migrate-key %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = errmsg_set(err, errlen, -EINVAL, "--migrate-key %s: not a "
		    "regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
		rc = errmsg_set(err, errlen, -EACCES, "--migrate-key %s: readable "
		    "by group or others (mode %04o): a shared secret must be "
		    "this user's alone (chmod 600)", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* One byte more than allowed tells a file that is too long. */
	while (got <= MIGKEY_MAX) {
		unsigned char c[256];
		size_t want = MIGKEY_MAX + 1 - got;

		if ((n = read(fd, c, want < sizeof(c) ? want : sizeof(c))) < 0) {
			if (errno == EINTR)
				continue;
			rc = errmsg_set(err, errlen, -errno, "--migrate-key %s: %s",
			    path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (got + (size_t)n > MIGKEY_MAX) {
			rc = errmsg_set(err, errlen, -EINVAL, "--migrate-key %s: "
			    "more than %u bytes", path, MIGKEY_MAX);
			goto out;
		}
		memcpy(key + got, c, (size_t)n);
		got += (size_t)n;
	}
	if (got < CKP_STREAM_MIN_KEY) {
		rc = errmsg_set(err, errlen, -EINVAL, "--migrate-key %s: %zu bytes, "
		    "a shared secret has at least %u (used as is, a trailing "
		    "newline included)", path, got, CKP_STREAM_MIN_KEY);
		goto out;
	}
	*len = got;
out:
	close(fd);
	if (rc != 0)
		memset(key, 0, MIGKEY_MAX);
	return rc;
}
