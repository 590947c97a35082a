/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * vmm/migaddr.c: the migration addresses both sides parse, and a unix:
 * listen, connect and accept end to end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/migaddr.h"
#include "test_check.h"

/* @s parses (for @dest) and gives @kind. */
static void
good(const char *s, bool dest, enum migaddr_kind kind, const char *host,
    const char *port)
{
	struct migaddr a;
	char err[512] = "";
	int rc = migaddr_parse(s, dest, &a, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "%s: %s\n", s, err);
	CHECK(rc == 0);
	CHECK(a.kind == kind);
	if (host != NULL)
		CHECK(strcmp(a.host, host) == 0);
	if (port != NULL)
		CHECK(strcmp(a.port, port) == 0);
}

/* @s is refused with a message containing @want. */
static void
bad(const char *s, bool dest, const char *want)
{
	struct migaddr a;
	char err[512] = "";
	int rc = migaddr_parse(s, dest, &a, err, sizeof(err));

	CHECK(rc == -EINVAL);
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "%s: got '%s', want '%s'\n", s, err, want);
		failures++;
	}
}

static void
test_parse(void)
{
	char longpath[200];

	good("tcp:0.0.0.0:7777", true, MIGADDR_TCP, "0.0.0.0", "7777");
	good("tcp:10.1.2.3:1", false, MIGADDR_TCP, "10.1.2.3", "1");
	good("tcp:[::]:7777", true, MIGADDR_TCP, "::", "7777");
	good("tcp:[fe80::1%eth0]:65535", false, MIGADDR_TCP, "fe80::1%eth0",
	    "65535");
	good("tcp:host.example:80", false, MIGADDR_TCP, "host.example", "80");
	good("unix:/tmp/x.sock", false, MIGADDR_UNIX, NULL, NULL);
	good("-", true, MIGADDR_STDIO, NULL, NULL);

	bad("tcp:1.2.3.4", false, "expected tcp:HOST:PORT");
	bad("tcp::7777", true, "no host");
	bad("tcp:1.2.3.4:0", false, "port '0' is not a number from 1 to 65535");
	bad("tcp:1.2.3.4:65536", false, "port '65536'");
	bad("tcp:1.2.3.4:77x", false, "port '77x'");
	bad("tcp:1.2.3.4:", false, "port ''");
	bad("tcp:1.2.3.4:-1", false, "port '-1'");
	bad("tcp:::1:7777", false, "an IPv6 address goes in brackets");
	bad("tcp:[::1]7777", false, "must be followed by :PORT");
	bad("tcp:[::1", false, "must be followed by :PORT");
	bad("unix:", false, "unix:: no path");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = 'u', longpath[1] = 'n', longpath[2] = 'i';
	longpath[3] = 'x', longpath[4] = ':';
	longpath[sizeof(longpath) - 1] = '\0';
	bad(longpath, false, "a socket path has at most 107 bytes, this one 194");
	bad("-", false, "only a destination (hyve --incoming) reads a stream "
	    "from stdin");
	bad("fd:5", false, "only a destination");
	bad("fd:x", true, "fd:x: 'x' is not a descriptor number");
	bad("fd:", true, "'' is not a descriptor number");
	bad("fd:1", true, "is stdin, stdout or stderr");
	bad("fd:999999", true, "descriptor 999999 is not open");
	bad("udp:1.2.3.4:5", false, "not a migration address (tcp:HOST:PORT, "
	    "unix:PATH)");
	bad("file:/x", true, "(tcp:HOST:PORT, unix:PATH, - (stdin and stdout) "
	    "or fd:N)");
}

/* listen, connect, accept over unix:, the socket file gone after. */
static void
test_unix(void)
{
	char dir[] = "/tmp/test_migaddr.XXXXXX", spec[256], file[200];
	char err[512] = "", peer[64];
	struct migaddr a;
	struct stat st;
	int lfd = -1, cfd = -1, rfd = -1, wfd = -1, fd;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(spec, sizeof(spec), "unix:%s/m.sock", dir);
	CHECK(migaddr_parse(spec, true, &a, err, sizeof(err)) == 0);
	CHECK(migaddr_listen(&a, &lfd, err, sizeof(err)) == 0);
	CHECK(lfd >= 0);
	/* A second listener on a live socket is refused. */
	CHECK(migaddr_listen(&a, &fd, err, sizeof(err)) == -EADDRINUSE);
	CHECK(strstr(err, "another process listens") != NULL);
	/* (that probe took the backlog's place: start again) */
	migaddr_unlisten(&a, lfd);
	CHECK(stat(a.path, &st) != 0 && errno == ENOENT);
	CHECK(migaddr_listen(&a, &lfd, err, sizeof(err)) == 0);
	CHECK(migaddr_connect(&a, 1000, &cfd, err, sizeof(err)) == 0);
	CHECK(migaddr_accept(&a, lfd, -1, &rfd, &wfd, peer, sizeof(peer), err,
	    sizeof(err)) == 0);
	CHECK(rfd >= 0 && rfd == wfd);
	CHECK(write(cfd, "x", 1) == 1);
	{
		char c = 0;
		CHECK(read(rfd, &c, 1) == 1 && c == 'x');
	}
	/* Accepted: nobody can connect any more, and the file is gone. */
	CHECK(stat(a.path, &st) != 0 && errno == ENOENT);
	CHECK(migaddr_connect(&a, 1000, &fd, err, sizeof(err)) != 0);
	CHECK(strstr(err, "cannot connect") != NULL);
	close(cfd);
	close(rfd);

	/* A file that is not a socket is not replaced. */
	snprintf(file, sizeof(file), "%s/plain", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "unix:%s", file);
	CHECK(migaddr_parse(spec, true, &a, err, sizeof(err)) == 0);
	CHECK(migaddr_listen(&a, &lfd, err, sizeof(err)) == -EEXIST);
	CHECK(strstr(err, "exists and is not a socket") != NULL);
	CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode));
	unlink(file);
	rmdir(dir);
}

/* A TCP connect to a port nobody listens on fails, naming the address. */
static void
test_tcp(void)
{
	struct migaddr a;
	char err[512] = "", spec[64], peer[64];
	int lfd = -1, cfd = -1, rfd, wfd;

	CHECK(migaddr_parse("tcp:127.0.0.1:1", false, &a, err, sizeof(err)) == 0);
	CHECK(migaddr_connect(&a, 1000, &cfd, err, sizeof(err)) != 0);
	CHECK(strstr(err, "tcp:127.0.0.1:1: cannot connect") != NULL);
	/* Listen on a port of the loopback, connect, accept. */
	for (unsigned port = 40000 + (unsigned)getpid() % 20000, n = 0;
	    n < 20 && lfd < 0; n++, port++) {
		snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", port);
		CHECK(migaddr_parse(spec, true, &a, err, sizeof(err)) == 0);
		(void)migaddr_listen(&a, &lfd, err, sizeof(err));
	}
	CHECK(lfd >= 0);
	if (lfd < 0)
		return;
	CHECK(migaddr_connect(&a, 1000, &cfd, err, sizeof(err)) == 0);
	CHECK(migaddr_accept(&a, lfd, -1, &rfd, &wfd, peer, sizeof(peer), err,
	    sizeof(err)) == 0);
	CHECK(strncmp(peer, "tcp:127.0.0.1:", 14) == 0);
	close(cfd);
	close(rfd);
}

int
main(void)
{
	test_parse();
	test_unix();
	test_tcp();
	return failures != 0;
}
