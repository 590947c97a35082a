/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * hyvectl: control a running hyve through its UNIX socket
 * (docs/CONTROL.md, docs/hyvectl.8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "migaddr.h"

#define EXIT_USAGE 2

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hyvectl --vm=NAME --suspend=FILE.ckp [--encoding=json|bin|conf]\n"
	    "       hyvectl --vm=NAME --checkpoint=FILE.ckp [--encoding=json|bin|conf]\n"
	    "       hyvectl --vm=NAME --pause | --resume | --status\n"
	    "       hyvectl --vm=NAME --migrate=ADDR [--migrate-key=FILE] [-o KEY=VALUE]...\n"
	    "       hyvectl --vm=NAME --migrate-cancel\n"
	    "\n"
	    "  --suspend=FILE     pause the guest, write FILE (RAM) and FILE.meta, stop hyve\n"
	    "  --checkpoint=FILE  write the checkpoint and keep the guest running\n"
	    "  --encoding=ENC     encoding of FILE.meta: json (default), bin or conf\n"
	    "  --pause, --resume  stop or restart the guest's vCPUs and devices\n"
	    "  --status           print the VM's state (and a migration's progress)\n"
	    "  --migrate=ADDR     live-migrate the guest: tcp:HOST:PORT or unix:PATH (a\n"
	    "                     hyve --incoming there), or file:PATH (a stream file)\n"
	    "  --migrate-key=FILE the shared secret (16 bytes or more, used as is: a\n"
	    "                     trailing newline is part of it); mode 0600\n"
	    "  -o KEY=VALUE       migrate.downtime_ms=N (default 20),\n"
	    "                     migrate.timeout_ms=N (default 10000)\n"
	    "  --migrate-cancel   stop a migration in progress; the guest stays here\n"
	    "  -q, --quiet        no progress display\n"
	    "Sockets live in $HYVE_RUNDIR (default /run/hyve for root).\n");
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Progress on a terminal only: scripts get just the final line. */
struct progress {
	char	 phase[64];
	double	 t0;	/* when the phase began: the request, or the last line */
	double	 last;	/* when the last line came */
	bool	 shown;
};

static void
show_progress(const char *line, struct progress *p)
{
	char phase[64];
	unsigned long long done, total;
	double dt, rate;

	if (sscanf(line, "progress %63s %llu %llu", phase, &done, &total) != 3)
		return;
	if (strcmp(phase, p->phase) != 0) {
		/* A new phase (e.g. "dirty" after "ram"): a line of its own. */
		if (p->shown)
			fputc('\n', stderr);
		snprintf(p->phase, sizeof(p->phase), "%s", phase);
		if (p->last > 0)
			p->t0 = p->last;
	} else if (done == 0) {
		p->t0 = now();	/* the same phase again (another round) */
	}
	p->last = now();
	if (total == 0)
		total = 1;
	dt = p->last - p->t0;
	rate = dt > 0.02 ? (double)done / dt / (1 << 20) : 0;
	fprintf(stderr, "\r%s: %llu/%llu MiB (%3.0f%%)", phase, done >> 20,
	    total >> 20, 100.0 * (double)done / (double)total);
	if (rate > 0)
		fprintf(stderr, " %.0f MiB/s", rate);
	fprintf(stderr, "\033[K");
	p->shown = true;
}

/*
 * Connect to @vm's socket, after the checks hyve makes of the runtime
 * directory and the socket (ctl_proto.h): a socket someone else could
 * have put there gets no request.  0 and *@fdp; -EPERM: the directory or
 * socket path is wrong (exit 2, as hyve); another negative errno: no VM to
 * talk to.
 */
static int
connect_vm(const char *vm, int *fdp, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char dir[PATH_MAX], path[PATH_MAX];
	const char *what, *where;
	struct stat st;
	int fd, rc;

	if ((rc = ctl_rundir(dir, sizeof(dir))) != 0 ||
	    (rc = ctl_sock_path(vm, path, sizeof(path))) != 0) {
		snprintf(err, errlen, "the runtime directory's name is too "
		    "long");
		return -EPERM;
	}
	what = "runtime directory";
	where = dir;
	if (lstat(dir, &st) != 0) {
		rc = errno;
		goto nofile;
	}
	if ((rc = ctl_rundir_check(dir, &st, geteuid(), err, errlen)) != 0)
		return rc;
	what = "control socket";
	where = path;
	if (lstat(path, &st) != 0) {
		rc = errno;
		goto nofile;
	}
	if ((rc = ctl_sock_check(path, &st, geteuid(), err, errlen)) != 0)
		return rc;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -EPERM;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			snprintf(err, errlen, "no such VM '%s' (no hyve listening on %s)",
			    vm, path);
		else
			snprintf(err, errlen, "cannot connect to %s: %s", path,
			    strerror(e));
		return -e;
	}
	*fdp = fd;
	return 0;
nofile:
	if (rc == ENOENT) {
		snprintf(err, errlen, "no such VM '%s' (no hyve listening on %s)",
		    vm, path);
		return -ENOENT;
	}
	/* Not found for another reason (a file in the path, no access). */
	snprintf(err, errlen, "%s %s: %s", what, where, strerror(rc));
	return -EPERM;
}

/*
 * Without SIGPIPE: hyve may answer and close before the request arrives
 * (a refusal); that answer is still there to read.  0 or a negative errno.
 */
static int
send_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/*
 * The shared secret of a migration, as hex for the request: a regular file
 * of @path that group and others cannot read (like ssh's keys), 16 bytes
 * or more used as they are.
 */
static int
read_key(const char *path, char *hex, size_t hexlen, char *err, size_t errlen)
{
	uint8_t key[CTL_MIGRATE_KEY_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key file %s: not a regular file", path);
		rc = -EINVAL;
	} else if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "key file %s has mode %04o: group or "
		    "others may read it; make it private (chmod 600)", path,
		    (unsigned)(st.st_mode & 07777));
		rc = -EPERM;
	}
	while (rc == 0 && got < sizeof(key)) {
		n = read(fd, key + got, sizeof(key) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "key file %s: %s", path,
			    strerror(errno));
		}
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (rc == 0 && (got < CKP_STREAM_MIN_KEY || got > CTL_MIGRATE_KEY_MAX)) {
		snprintf(err, errlen, "key file %s holds %s%zu bytes: %d to %d "
		    "expected", path, got > CTL_MIGRATE_KEY_MAX ? "more than " :
		    "", got > CTL_MIGRATE_KEY_MAX ? (size_t)CTL_MIGRATE_KEY_MAX :
		    got, CKP_STREAM_MIN_KEY, CTL_MIGRATE_KEY_MAX);
		rc = -EINVAL;
	}
	if (rc == 0 && hexlen < 2 * got + 1)
		rc = -ENAMETOOLONG;
	for (size_t i = 0; rc == 0 && i < got; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	explicit_bzero(key, sizeof(key));
	return rc;
}

/*
 * Where a migration's stream goes, opened here with the user's own rights:
 * a connection (tcp:, unix:) or, for file:PATH, a new file under a
 * temporary name (*@tmp) that gets PATH only once the stream is complete.
 */
static int
open_target(const char *addr, unsigned timeout_ms, int *fdp, bool *oneway,
    char *label, size_t labellen, char *tmp, size_t tmplen, char *err,
    size_t errlen)
{
	struct migaddr a;
	int rc;

	tmp[0] = '\0';
	if (strncmp(addr, "file:", 5) == 0) {
		const char *path = addr + 5;
		char cwd[PATH_MAX], abs[PATH_MAX];
		struct stat st;
		int n, fd;

		if (path[0] == '\0') {
			snprintf(err, errlen, "file: needs a path");
			return -EINVAL;
		}
		if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL) {
			snprintf(err, errlen, "getcwd: %s", strerror(errno));
			return -errno;
		}
		n = path[0] == '/' ? snprintf(abs, sizeof(abs), "%s", path) :
		    snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
		if (n < 0 || (size_t)n + 16 >= sizeof(abs) ||
		    (size_t)n + 16 >= tmplen) {
			snprintf(err, errlen, "file: path too long");
			return -ENAMETOOLONG;
		}
		if (lstat(abs, &st) == 0) {
			snprintf(err, errlen, "%s exists: a migration stream "
			    "goes to a new file", abs);
			return -EEXIST;
		}
		if (snprintf(tmp, tmplen, "%s.XXXXXX.part", abs) >= (int)tmplen) {
			snprintf(err, errlen, "file: path too long");
			tmp[0] = '\0';
			return -ENAMETOOLONG;
		}
		if ((fd = mkostemps(tmp, 5, O_CLOEXEC)) < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot create %s: %s", tmp,
			    strerror(errno));
			tmp[0] = '\0';
			return rc;
		}
		snprintf(label, labellen, "file:%s", abs);
		*fdp = fd;
		*oneway = true;
		return 0;
	}
	if ((rc = migaddr_parse(addr, false, &a, err, errlen)) != 0)
		return rc;
	if ((rc = migaddr_connect(&a, timeout_ms, fdp, err, errlen)) != 0)
		return rc;
	snprintf(label, labellen, "%s", a.text);
	*oneway = false;
	return 0;
}

/*
 * A complete stream file: durable, then given its name (never over a file
 * that appeared there meanwhile).
 */
static int
finish_file(int fd, const char *tmp, const char *path, char *err,
    size_t errlen)
{
	if (fsync(fd) != 0) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		return -errno;
	}
	if (link(tmp, path) != 0) {
		snprintf(err, errlen, "cannot name the stream %s: %s (it "
		    "stays in %s)", path, strerror(errno), tmp);
		return -errno;
	}
	(void)unlink(tmp);
	return 0;
}

/* The request with the stream's descriptor (SCM_RIGHTS); 0 or -errno. */
static int
send_with_fd(int sock, const char *buf, size_t len, int fd)
{
	union {
		struct cmsghdr	 h;
		char		 b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { (void *)(uintptr_t)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	memset(u.b, 0, sizeof(u.b));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < len)
		return send_all(sock, buf + n, len - (size_t)n);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "suspend", required_argument, NULL, 's' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "pause", no_argument, NULL, 'p' },
		{ "resume", no_argument, NULL, 'r' },
		{ "status", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "encoding", required_argument, NULL, 'e' },
		{ "migrate", required_argument, NULL, 'm' },
		{ "migrate-key", required_argument, NULL, 'k' },
		{ "migrate-cancel", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vm = NULL, *verb = NULL, *file = NULL, *enc = NULL;
	const char *maddr = NULL, *keyfile = NULL;
	char keyhex[2 * CTL_MIGRATE_KEY_MAX + 1], label[PATH_MAX + 8];
	char tmp[PATH_MAX] = "";
	unsigned downtime_ms = 0, timeout_ms = 0;
	bool oneway = false;
	int sfd = -1;
	struct progress prog = { .phase = "" };
	char abspath[PATH_MAX], req[CTL_LINE_MAX + 2], err[PATH_MAX + 128];
	char buf[CTL_LINE_MAX + 1];
	bool quiet = false;
	size_t used = 0;
	int c, fd = -1, n, rc, send_err, status = 1;
	double t0;
	FILE *in;

	/*
	 * Messages worded as ckp's ("PROG: unknown option 'X'"), so getopt's
	 * are off; words in order ('-'), so that @word is the one an option
	 * is in (getopt_long stays on it until it is done).
	 */
	opterr = 0;
	for (;;) {
		const char *v = NULL, *word = optind < argc ? argv[optind] : "";

		if ((c = getopt_long(argc, argv, "-:qho:", opts, NULL)) == -1)
			break;
		switch (c) {
		case 1:
			fprintf(stderr, "hyvectl: unexpected argument '%s'\n",
			    optarg);
			usage(stderr);
			return EXIT_USAGE;
		case 'v': vm = optarg; break;
		case 's': v = "suspend"; file = optarg; break;
		case 'c': v = "checkpoint"; file = optarg; break;
		case 'p': v = "pause"; break;
		case 'r': v = "resume"; break;
		case 't': v = "status"; break;
		case 'q': quiet = true; break;
		case 'e': enc = optarg; break;
		case 'm': v = "migrate"; maddr = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'x': v = "migrate-cancel"; break;
		case 'o': {
			unsigned *dst = NULL;
			const char *val = NULL;
			char *end;
			unsigned long ms;

			if (strncmp(optarg, "migrate.downtime_ms=", 20) == 0)
				dst = &downtime_ms, val = optarg + 20;
			else if (strncmp(optarg, "migrate.timeout_ms=", 19) == 0)
				dst = &timeout_ms, val = optarg + 19;
			if (dst == NULL) {
				fprintf(stderr, "hyvectl: -o %s: unknown key (migrate."
				    "downtime_ms, migrate.timeout_ms)\n", optarg);
				return EXIT_USAGE;
			}
			errno = 0;
			ms = strtoul(val, &end, 10);
			if (errno != 0 || end == val || *end != '\0' ||
			    val[0] == '-' || ms == 0 || ms > 3600000) {
				fprintf(stderr, "hyvectl: -o %s: milliseconds from 1 "
				    "to 3600000 expected\n", optarg);
				return EXIT_USAGE;
			}
			*dst = (unsigned)ms;
			break;
		}
		case 'h': usage(stdout); return 0;
		case ':':
			fprintf(stderr, "hyvectl: option '%s' needs a value\n",
			    word);
			usage(stderr);
			return EXIT_USAGE;
		default:
			if (strncmp(word, "--", 2) == 0)
				fprintf(stderr, "hyvectl: unknown option '%s'\n",
				    word);
			else
				fprintf(stderr, "hyvectl: unknown option '-%c'\n",
				    optopt);
			usage(stderr);
			return EXIT_USAGE;
		}
		if (v != NULL) {
			if (verb != NULL) {
				fprintf(stderr, "hyvectl: --%s and --%s: give one action\n",
				    verb, v);
				return EXIT_USAGE;
			}
			verb = v;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hyvectl: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (vm == NULL || verb == NULL) {
		fprintf(stderr, "hyvectl: %s\n", vm == NULL ? "--vm=NAME is required" :
		    "an action is required (--suspend, --checkpoint, --migrate, "
		    "--migrate-cancel, --pause, --resume, --status)");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!ctl_name_valid(vm)) {
		fprintf(stderr, "hyvectl: invalid VM name '%s' (use letters, digits, "
		    "'-', '_', '.')\n", vm);
		return EXIT_USAGE;
	}
	if (enc != NULL && (file == NULL || (strcmp(enc, "json") != 0 &&
	    strcmp(enc, "bin") != 0 && strcmp(enc, "conf") != 0))) {
		fprintf(stderr, "hyvectl: --encoding=%s: %s\n", enc, file == NULL ?
		    "only with --suspend or --checkpoint" :
		    "json, bin or conf expected");
		return EXIT_USAGE;
	}
	if ((keyfile != NULL || downtime_ms != 0 || timeout_ms != 0) &&
	    maddr == NULL) {
		fprintf(stderr, "hyvectl: --migrate-key and -o go with --migrate\n");
		return EXIT_USAGE;
	}
	if (maddr != NULL) {
		/* The key first: a refused key file costs no connection. */
		if (keyfile != NULL && read_key(keyfile, keyhex, sizeof(keyhex),
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "hyvectl: %s\n", err);
			return EXIT_USAGE;
		}
		if (strchr(maddr, '\n') != NULL) {
			fprintf(stderr, "hyvectl: invalid address\n");
			return EXIT_USAGE;
		}
		n = 0;
	} else if (file != NULL) {
		/* hyve runs in another directory: send an absolute path. */
		if (file[0] == '\0' || strchr(file, '\n') != NULL) {
			fprintf(stderr, "hyvectl: invalid checkpoint file name\n");
			return EXIT_USAGE;
		}
		if (file[0] == '/')
			n = snprintf(abspath, sizeof(abspath), "%s", file);
		else {
			char cwd[PATH_MAX];
			if (getcwd(cwd, sizeof(cwd)) == NULL) {
				fprintf(stderr, "hyvectl: getcwd: %s\n", strerror(errno));
				return 1;
			}
			n = snprintf(abspath, sizeof(abspath), "%s/%s", cwd, file);
		}
		if (n < 0 || (size_t)n >= sizeof(abspath)) {
			fprintf(stderr, "hyvectl: checkpoint path too long\n");
			return EXIT_USAGE;
		}
		n = snprintf(req, sizeof(req), "%s %s%s%s%s\n", verb,
		    enc != NULL ? "encoding=" : "", enc != NULL ? enc : "",
		    enc != NULL ? " " : "", abspath);
	} else
		n = snprintf(req, sizeof(req), "%s\n", verb);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		fprintf(stderr, "hyvectl: request too long\n");
		return EXIT_USAGE;
	}

	if ((rc = connect_vm(vm, &fd, err, sizeof(err))) != 0) {
		fprintf(stderr, "hyvectl: %s\n", err);
		return rc == -EPERM ? EXIT_USAGE : 1;
	}
	t0 = now();
	prog.t0 = t0;
	if (maddr != NULL) {
		/* The VM exists: now the destination (or the file). */
		if ((rc = open_target(maddr, timeout_ms ? timeout_ms : 10000,
		    &sfd, &oneway, label, sizeof(label), tmp, sizeof(tmp), err,
		    sizeof(err))) != 0) {
			fprintf(stderr, "hyvectl: %s: %s\n", vm, err);
			close(fd);
			return rc == -EINVAL ? EXIT_USAGE : 1;
		}
		n = snprintf(req, sizeof(req), "migrate%s%s%s", oneway ?
		    " oneway" : "", keyfile != NULL ? " key=" : "",
		    keyfile != NULL ? keyhex : "");
		if (downtime_ms != 0)
			n += snprintf(req + n, sizeof(req) - (size_t)n,
			    " downtime_ms=%u", downtime_ms);
		if (timeout_ms != 0)
			n += snprintf(req + n, sizeof(req) - (size_t)n,
			    " timeout_ms=%u", timeout_ms);
		n += snprintf(req + n, sizeof(req) - (size_t)n, " %s\n", label);
		explicit_bzero(keyhex, sizeof(keyhex));
		if ((size_t)n >= sizeof(req)) {
			fprintf(stderr, "hyvectl: request too long\n");
			explicit_bzero(req, sizeof(req));
			if (tmp[0] != '\0')
				unlink(tmp);
			return EXIT_USAGE;
		}
		send_err = -send_with_fd(fd, req, (size_t)n, sfd);
		explicit_bzero(req, sizeof(req));
		/* hyve has its own copy; a file's is kept to sync it. */
		if (!oneway) {
			close(sfd);
			sfd = -1;
		}
	} else {
		/* A failed send is reported only if no answer explains it. */
		send_err = -send_all(fd, req, (size_t)n);
	}
	if ((in = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 1;
	}
	quiet = quiet || !isatty(STDERR_FILENO);
	status = -1;
	while (fgets(buf + used, (int)(sizeof(buf) - used), in) != NULL) {
		size_t len = strlen(buf);
		if (len > 0 && buf[len - 1] != '\n' && len < sizeof(buf) - 1) {
			used = len;	/* partial line: keep reading */
			continue;
		}
		used = 0;
		buf[strcspn(buf, "\n")] = '\0';
		if (strncmp(buf, "progress ", 9) == 0) {
			if (!quiet)
				show_progress(buf, &prog);
			continue;
		}
		if (prog.shown)
			fputc('\n', stderr);
		prog.shown = false;
		if (strncmp(buf, "ok", 2) == 0 && (buf[2] == '\0' || buf[2] == ' ') &&
		    tmp[0] != '\0' && finish_file(sfd, tmp, label + 5, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "hyvectl: %s: %s\n", vm, err);
			tmp[0] = '\0';	/* complete: kept for the user */
			status = 1;
		} else if (strncmp(buf, "ok", 2) == 0 && (buf[2] == '\0' || buf[2] == ' ')) {
			tmp[0] = '\0';
			printf("%s\n", buf[2] ? buf + 3 : "ok");
			if (!quiet && (file != NULL || maddr != NULL))
				fprintf(stderr, "hyvectl: %s: done in %.2f s\n", vm,
				    now() - t0);
			status = 0;
		} else if (strncmp(buf, "error ", 6) == 0) {
			fprintf(stderr, "hyvectl: %s: %s\n", vm, buf + 6);
			status = 1;
		} else {
			fprintf(stderr, "hyvectl: %s: unexpected reply '%s'\n", vm, buf);
			status = 1;
		}
		break;
	}
	if (status < 0 && send_err != 0) {
		fprintf(stderr, "hyvectl: %s: hyve closed the connection before "
		    "taking the request (sending it: %s)\n", vm,
		    strerror(send_err));
		status = 1;
	} else if (status < 0) {
		fprintf(stderr, "hyvectl: %s: connection closed without a reply "
		    "(did hyve exit?)\n", vm);
		status = 1;
	}
	fclose(in);
	/* A stream file that is not complete never gets its name. */
	if (maddr != NULL && tmp[0] != '\0')
		unlink(tmp);
	if (sfd >= 0)
		close(sfd);
	return status;
}
