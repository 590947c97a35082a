/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The control socket (docs/CONTROL.md): $HYVE_RUNDIR/NAME.sock, one
 * request line per connection, zero or more "progress" lines and one final
 * "ok ..." or "error ..." line.
 *
 * One thread accepts; each connection gets its own thread, so a long
 * checkpoint never delays "status", and a second checkpoint gets "busy"
 * instead of waiting.  Nothing here runs on a vCPU thread: pausing goes
 * through vm_pause_vcpus(), which only kicks them.
 *
 * Connections have CTL_MAX_CONNS slots.  When all are taken, one that has
 * not sent its request (or was already answered) gives its slot to the
 * newcomer: clients that connect and say nothing cannot lock the VM's
 * owner out.  Only when every slot is serving a request (at most one of
 * them a long one: checkpoints run one at a time) is a connection refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ckpt.h"
#include "ctl_proto.h"
#include "lazyram.h"
#include "migrate_out.h"
#include "testhook.h"
#include "sandbox.h"
#include "vm_priv.h"
#include "errmsg.h"

#define CTL_MAX_CONNS	16
/*
 * A client has this long to send its request line: enough for someone
 * typing into socat.  Idle clients give way to new ones, so this long
 * wait costs nobody a slot.
 */
#define CTL_REQ_TIMEOUT_MS	10000
/* After the answer, what the client still sends is swallowed this long. */
#define CTL_DRAIN_MS	1000
/* A client that stops reading does not hold a checkpoint back longer. */
#define CTL_SEND_TIMEOUT_S	2

struct ctl {
	struct vm	*vm;
	int		 lfd;
	int		 stop_pipe[2];
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t	 thread;
	bool		 thread_started;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cv;	/* a slot was freed */
	unsigned	 nconn;
	/* Under lock: slot[i] describes conn[i]. */
	struct ctl_slot	 slot[CTL_MAX_CONNS];
	struct conn	*conn[CTL_MAX_CONNS];
	unsigned long long seq;
	atomic_bool	 stopping;
};

struct conn {
	struct ctl	*ctl;
	int		 fd;
	size_t		 idx;	/* its slot */
	atomic_bool	 evicted;	/* told to give its slot up */
	bool		 dead;	/* the client went away: no more lines */
	int		 passed_fd;	/* came with the request (SCM_RIGHTS); -1 */
};

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */
/* ------------------------------------------------------------------------ */

static void
send_line(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_line(struct conn *c, const char *fmt, ...)
{
	char buf[CTL_LINE_MAX + 1];
	size_t len, off = 0;
	va_list ap;
	ssize_t n;
	int k;

	if (c->dead)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	len = (size_t)k < sizeof(buf) - 1 ? (size_t)k : sizeof(buf) - 2;
	/* One line: a message never carries a line break of its own. */
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	buf[len++] = '\n';
	while (off < len) {
		n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->dead = true;
			return;
		}
		off += (size_t)n;
	}
}

static void
progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	send_line(arg, "progress %s %" PRIu64 " %" PRIu64, phase, done, total);
}

/* ------------------------------------------------------------------------ */
/* Verbs                                                                     */
/* ------------------------------------------------------------------------ */

static void
do_status(struct conn *c)
{
	struct vm *vm = c->ctl->vm;
	char mig[256];

	vm_migrate_status(vm, mig, sizeof(mig));
	send_line(c, "ok state=%s name=%s cpus=%u memory=%" PRIu64 " pid=%ld%s%s",
	    vm_ckpt_user_paused(vm) ? "paused" : "running", vm->name,
	    vm->ncpus, vm->mem_size, (long)getpid(), mig[0] ? " " : "", mig);
}

static void
do_pause(struct conn *c, bool pause)
{
	struct vm *vm = c->ctl->vm;
	char err[CTL_LINE_MAX + 128];	/* a busy message names a whole path */
	int rc;

	rc = vm_ckpt_user_pause(vm, pause, err, sizeof(err));
	if (rc == 0 || rc == -EALREADY)
		send_line(c, "ok %s", pause ? "paused" : "running");
	else
		send_line(c, "error %s", err);
	if (rc == 0 && !vm_run_stopping(vm))
		vm_log(vm, "%s by the control socket", pause ? "paused" :
		    "resumed");
}

/* "[encoding=json|bin|conf ]/absolute/path" */
static int
parse_ckpt_arg(char *arg, ckp_enc_t *enc, const char **path, char *err,
    size_t errlen)
{
	*enc = CKP_ENC_JSON;
	while (arg != NULL && *arg != '\0' && *arg != '/') {
		char *sp = strchr(arg, ' ');
		if (sp != NULL)
			*sp = '\0';
		if (strncmp(arg, "encoding=", 9) == 0 &&
		    ckp_enc_from_name(arg + 9) != CKP_ENC_NONE) {
			*enc = ckp_enc_from_name(arg + 9);
		} else if (strchr(arg, '=') == NULL) {
			return errmsg_set(err, errlen, -EINVAL, "checkpoint path "
			    "'%.200s' is not absolute", arg);
		} else {
			return errmsg_set(err, errlen, -EINVAL, "unknown option '%s' "
			    "(encoding=json|bin|conf, then an absolute path)",
			    arg);
		}
		arg = sp != NULL ? sp + 1 : NULL;
	}
	if (arg == NULL || *arg == '\0')
		return errmsg_set(err, errlen, -EINVAL, "a checkpoint file name is "
		    "required (an absolute path)");
	*path = arg;
	return 0;
}

/*
 * Test builds only: HYVE_TEST_CKPT_DELAY_MS=N holds every checkpoint for
 * N ms before it starts (as a big guest would), so that a test can send a
 * second request while one is in progress.
 */
static void
test_delay(void)
{
	long ms = test_hook_ms("HYVE_TEST_CKPT_DELAY_MS");

	if (ms > 0)
		usleep((useconds_t)ms * 1000);
}

static void
do_checkpoint(struct conn *c, enum ckpt_kind kind, ckp_enc_t enc,
    const char *path)
{
	struct vm *vm = c->ctl->vm;
	struct ckpt_opts o = { .kind = kind, .enc = enc, .progress = progress,
	    .arg = c };
	struct ckpt_stats st;
	char err[CTL_LINE_MAX + 128];
	int rc;

	if (vm_ckpt_claim(vm, path, err, sizeof(err)) != 0) {
		send_line(c, "error %s", err);
		return;
	}
	test_delay();

	/*
	 * RAM restored with --verify=lazy: load (and check) what the guest
	 * has not touched yet first, so that the checkpoint is written from
	 * plain memory the dirty log covers, never from a chunk found bad.
	 */
	if ((rc = lazyram_complete(vm, err, sizeof(err))) == 0)
		rc = vm_checkpoint(vm, path, &o, &st, err, sizeof(err));
	if (rc == 0 && kind == CKPT_SUSPEND) {
		/* Stop before anyone can resume the paused guest. */
		vm_request_stop(vm, VM_STOP_SUSPENDED, 0, "suspended to %s "
		    "(%" PRIu64 " MiB of RAM in %.2f s: written %.2f s, "
		    "synced %.2f s, published %.1f ms)", path,
		    st.ram_bytes >> 20, (double)st.total_us / 1e6,
		    (double)st.write_us / 1e6, (double)st.sync_us / 1e6,
		    (double)st.commit_us / 1e3);
	} else if (rc == 0) {
		vm_log(vm, "checkpoint %s written in %.2f s (written %.2f s, "
		    "synced %.2f s, published %.1f ms), guest stopped for "
		    "%.1f ms (%.1f MiB of pages then), %u rounds", path,
		    (double)st.total_us / 1e6, (double)st.write_us / 1e6,
		    (double)st.sync_us / 1e6, (double)st.commit_us / 1e3,
		    (double)st.downtime_us / 1e3,
		    (double)st.last_bytes / (1 << 20), st.rounds);
	} else {
		vm_log(vm, "%s %s failed: %s", kind == CKPT_SUSPEND ?
		    "suspend to" : "checkpoint", path, err);
	}
	/*
	 * Done before the answer: a client that sends its next request as
	 * soon as it has read this one must not find the VM still busy.
	 */
	vm_ckpt_release(vm);
	if (rc == 0 && kind == CKPT_SUSPEND)
		send_line(c, "ok suspended %s", path);
	else if (rc == 0)
		send_line(c, "ok checkpoint %s downtime_ms=%.1f rounds=%u", path,
		    (double)st.downtime_us / 1e3, st.rounds);
	else
		send_line(c, "error %s", err);
}

static int
unhex(const char *hex, uint8_t *out, size_t *lenp)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	*lenp = n;
	return 0;
}

struct mig_job {
	struct conn	*c;
	struct mig_opts	 o;
	struct mig_stats st;
	enum mig_outcome out;
	char		 err[CTL_LINE_MAX];
	int		 rc;
};

static void *
mig_main(void *arg)
{
	struct mig_job *j = arg;

	sandbox_enter(j->c->ctl->vm, SBX_MIGRATE, NULL);
	j->rc = vm_migrate(j->c->ctl->vm, &j->o, &j->st, &j->out, j->err,
	    sizeof(j->err));
	return NULL;
}

/*
 * The stream goes to the descriptor hyvectl opened and passed with the
 * request: hyve connects nowhere itself, and the user's own permissions
 * decide where a VM may go.  The migration runs in a thread of its own;
 * status and cancel come on other connections meanwhile.
 */
static void
do_migrate(struct conn *c, const struct ctl_req *req)
{
	struct vm *vm = c->ctl->vm;
	struct mig_job *j;
	uint8_t key[CTL_MIGRATE_KEY_MAX];
	size_t keylen = 0;
	pthread_t t;
	int rc;

	if (c->passed_fd < 0) {
		send_line(c, "error migrate needs the stream's descriptor "
		    "passed with the request (SCM_RIGHTS): use hyvectl "
		    "--migrate");
		return;
	}
	if (req->key_hex != NULL && unhex(req->key_hex, key, &keylen) != 0) {
		send_line(c, "error key: not hexadecimal");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		send_line(c, "error out of memory");
		return;
	}
	j->c = c;
	j->o = (struct mig_opts){ .fd = c->passed_fd, .oneway = req->oneway,
	    .key = keylen ? key : NULL, .keylen = keylen,
	    .downtime_ms = req->downtime_ms, .timeout_ms = req->timeout_ms,
	    .origin = req->path, .progress = progress, .arg = c };
	if ((rc = pthread_create(&t, NULL, mig_main, j)) != 0) {
		send_line(c, "error cannot start the migration's thread: %s",
		    strerror(rc));
		free(j);
		return;
	}
	pthread_join(t, NULL);
	explicit_bzero(key, sizeof(key));
	switch (j->out) {
	case MIG_HANDED_OVER:
		/* hyve's last line says it (the stop's reason). */
		send_line(c, "ok migrated %s downtime_ms=%.1f rounds=%u "
		    "bytes=%" PRIu64 " throttle=%u", req->path,
		    (double)j->st.downtime_us / 1e3, j->st.rounds,
		    j->st.bytes, j->st.throttle);
		break;
	case MIG_WRITTEN:
		vm_log(vm, "migration stream %s written: guest stopped for "
		    "%.1f ms, %u rounds, %" PRIu64 " MiB in %.2f s", req->path,
		    (double)j->st.downtime_us / 1e3, j->st.rounds,
		    j->st.bytes >> 20, (double)j->st.total_us / 1e6);
		send_line(c, "ok written %s downtime_ms=%.1f rounds=%u "
		    "bytes=%" PRIu64 " throttle=%u", req->path,
		    (double)j->st.downtime_us / 1e3, j->st.rounds,
		    j->st.bytes, j->st.throttle);
		break;
	case MIG_UNCONFIRMED:
		vm_log(vm, "migration to %s: %s", req->path, j->err);
		send_line(c, "error unconfirmed: %s", j->err);
		break;
	case MIG_KEPT:
	default:
		vm_log(vm, "migration to %s failed, the guest %s here: %s",
		    req->path, vm_ckpt_user_paused(vm) ? "stays (paused)" :
		    "runs", j->err);
		send_line(c, "error %s", j->err);
		break;
	}
	free(j);
}

static void
do_migrate_cancel(struct conn *c)
{
	char err[256];

	if (vm_migrate_cancel(c->ctl->vm, err, sizeof(err)) != 0)
		send_line(c, "error %s", err);
	else
		send_line(c, "ok cancelling");
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */

int
ctl_req_frame(char *buf, size_t used, bool eof, size_t *lenp, char *err,
    size_t errlen)
{
	char *nl;
	size_t len;

	if ((nl = memchr(buf, '\n', used)) != NULL) {
		len = (size_t)(nl - buf);
		if (len > CTL_LINE_MAX)
			return errmsg_set(err, errlen, -EINVAL, "request longer "
			    "than %d bytes", CTL_LINE_MAX);
		if (used > len + 1)
			return errmsg_set(err, errlen, -EINVAL, "one request per "
			    "connection (more data followed the first line)");
		buf[len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
	} else if (used > CTL_LINE_MAX) {
		return errmsg_set(err, errlen, -EINVAL, "request longer than %d "
		    "bytes", CTL_LINE_MAX);
	} else if (eof) {
		/* End of input: a last line without its LF is taken. */
		len = used;
		buf[len] = '\0';
	} else {
		return 0;
	}
	*lenp = len;
	return 1;
}

static void
send_evicted(struct conn *c)
{
	send_line(c, "error idle: closed for a newer connection (no request "
	    "line yet, and all %d control connections were in use)",
	    CTL_MAX_CONNS);
}

/*
 * recv() that also takes a descriptor passed with the bytes (SCM_RIGHTS):
 * the first one is kept for the request, any other closed.
 */
static ssize_t
recv_fd(struct conn *c, char *buf, size_t len)
{
	union {
		struct cmsghdr	 h;
		char		 b[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;
	ssize_t n;

	if ((n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC)) < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k, nfd;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < nfd; k++) {
			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(fd));
			if (c->passed_fd < 0)
				c->passed_fd = fd;
			else
				close(fd);
		}
	}
	return n;
}

/*
 * Read one request line into @buf.  @return its length, or -1 after
 * replying with an error (or when the client left or hyve is stopping).
 */
static ssize_t
read_request(struct conn *c, char *buf, size_t cap)
{
	struct ctl *ctl = c->ctl;
	size_t used = 0, len;
	uint64_t t0 = ckpt_now_us();
	char err[256];
	int rc;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = ctl->stop_pipe[0], .events = POLLIN },
		};
		int64_t left = CTL_REQ_TIMEOUT_MS - (int64_t)((ckpt_now_us() -
		    t0) / 1000);
		ssize_t n;

		if (left <= 0) {
			send_line(c, "error no request line within %d s",
			    CTL_REQ_TIMEOUT_MS / 1000);
			return -1;
		}
		if (poll(pfd, 2, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[1].revents != 0) {
			send_line(c, "error the VM is stopping");
			return -1;
		}
		if (pfd[0].revents == 0)
			continue;
		n = recv_fd(c, buf + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		/* Eviction shut our reading down, not the client its end. */
		if (atomic_load(&c->evicted)) {
			send_evicted(c);
			return -1;
		}
		if (n < 0 || (n == 0 && used == 0))
			return -1;
		used += (size_t)n;
		rc = ctl_req_frame(buf, used, n == 0, &len, err, sizeof(err));
		if (rc < 0) {
			send_line(c, "error %s", err);
			return -1;
		}
		if (rc > 0)
			return (ssize_t)len;
	}
}

static int
parse_ms(const char *v, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-' ||
	    n == 0 || n > 3600000)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

/* "[oneway] [key=HEX] [downtime_ms=N] [timeout_ms=N] ADDRESS" */
static int
parse_migrate_arg(char *arg, struct ctl_req *req, char *err, size_t errlen)
{
	while (arg != NULL && *arg != '\0') {
		char *sp = strchr(arg, ' '), *eq;

		if (sp != NULL)
			*sp = '\0';
		eq = strchr(arg, '=');
		if (strcmp(arg, "oneway") == 0) {
			req->oneway = true;
		} else if (eq != NULL && strncmp(arg, "key=", 4) == 0) {
			size_t n = strlen(eq + 1);
			if (n % 2 != 0 || n < 2 * CKP_STREAM_MIN_KEY ||
			    n > 2 * CTL_MIGRATE_KEY_MAX ||
			    strspn(eq + 1, "0123456789abcdefABCDEF") != n)
				return errmsg_set(err, errlen, -EINVAL, "key: %d to "
				    "%d bytes in hexadecimal expected",
				    CKP_STREAM_MIN_KEY, CTL_MIGRATE_KEY_MAX);
			req->key_hex = eq + 1;
		} else if (eq != NULL && strncmp(arg, "downtime_ms=", 12) == 0) {
			if (parse_ms(eq + 1, &req->downtime_ms) != 0)
				return errmsg_set(err, errlen, -EINVAL,
				    "downtime_ms=%.32s: 1 to 3600000 expected",
				    eq + 1);
		} else if (eq != NULL && strncmp(arg, "timeout_ms=", 11) == 0) {
			if (parse_ms(eq + 1, &req->timeout_ms) != 0)
				return errmsg_set(err, errlen, -EINVAL,
				    "timeout_ms=%.32s: 1 to 3600000 expected",
				    eq + 1);
		} else if (eq != NULL && strchr(arg, ':') == NULL) {
			return errmsg_set(err, errlen, -EINVAL, "unknown option "
			    "'%.64s' (oneway, key=, downtime_ms=, timeout_ms=, "
			    "then the address)", arg);
		} else {
			if (sp != NULL)
				*sp = ' ';
			req->path = arg;
			return 0;
		}
		arg = sp != NULL ? sp + 1 : NULL;
	}
	return errmsg_set(err, errlen, -EINVAL, "migrate needs the address "
	    "(for messages; the stream goes to the descriptor passed)");
}

int
ctl_req_parse(char *line, size_t len, struct ctl_req *req, char *err,
    size_t errlen)
{
	char *verb, *arg;
	int rc;

	memset(req, 0, sizeof(*req));
	if (memchr(line, '\0', len) != NULL)
		return errmsg_set(err, errlen, -EINVAL, "the request contains a "
		    "NUL byte");
	verb = line;
	if ((arg = strchr(line, ' ')) != NULL) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	}
	if (strcmp(verb, "status") == 0)
		req->verb = CTL_VERB_STATUS;
	else if (strcmp(verb, "pause") == 0)
		req->verb = CTL_VERB_PAUSE;
	else if (strcmp(verb, "resume") == 0)
		req->verb = CTL_VERB_RESUME;
	else if (strcmp(verb, "suspend") == 0)
		req->verb = CTL_VERB_SUSPEND;
	else if (strcmp(verb, "checkpoint") == 0)
		req->verb = CTL_VERB_CHECKPOINT;
	else if (strcmp(verb, "migrate") == 0)
		req->verb = CTL_VERB_MIGRATE;
	else if (strcmp(verb, "migrate-cancel") == 0)
		req->verb = CTL_VERB_MIGRATE_CANCEL;
	else if (verb[0] == '\0')
		return errmsg_set(err, errlen, -EINVAL, "empty request (verbs: "
		    "suspend, checkpoint, migrate, migrate-cancel, pause, "
		    "resume, status)");
	else
		return errmsg_set(err, errlen, -EINVAL, "unknown request '%.64s' "
		    "(verbs: suspend, checkpoint, migrate, migrate-cancel, "
		    "pause, resume, status)", verb);
	if (req->verb == CTL_VERB_MIGRATE) {
		if ((rc = parse_migrate_arg(arg, req, err, errlen)) != 0)
			return rc;
	} else if (req->verb == CTL_VERB_SUSPEND ||
	    req->verb == CTL_VERB_CHECKPOINT) {
		if ((rc = parse_ckpt_arg(arg, &req->enc, &req->path, err,
		    errlen)) != 0)
			return rc;
	} else if (arg != NULL && *arg != '\0') {
		return errmsg_set(err, errlen, -EINVAL, "%s takes no argument",
		    verb);
	}
	return 0;
}

static void
serve(struct conn *c)
{
	char buf[CTL_LINE_MAX + 64], err[2048];
	struct ctl_req req;
	ssize_t len;

	if ((len = read_request(c, buf, sizeof(buf))) < 0)
		return;
	/* From here on the slot is ours, unless it was given away meanwhile. */
	pthread_mutex_lock(&c->ctl->lock);
	if (c->ctl->slot[c->idx].state == CTL_SLOT_LEAVING) {
		pthread_mutex_unlock(&c->ctl->lock);
		send_evicted(c);
		return;
	}
	c->ctl->slot[c->idx].state = CTL_SLOT_SERVING;
	pthread_mutex_unlock(&c->ctl->lock);
	if (ctl_req_parse(buf, (size_t)len, &req, err, sizeof(err)) != 0) {
		send_line(c, "error %s", err);
		return;
	}
	switch (req.verb) {
	case CTL_VERB_STATUS:
		do_status(c);
		break;
	case CTL_VERB_PAUSE:
	case CTL_VERB_RESUME:
		do_pause(c, req.verb == CTL_VERB_PAUSE);
		break;
	case CTL_VERB_SUSPEND:
	case CTL_VERB_CHECKPOINT:
		do_checkpoint(c, req.verb == CTL_VERB_SUSPEND ? CKPT_SUSPEND :
		    CKPT_CONTINUE, req.enc, req.path);
		break;
	case CTL_VERB_MIGRATE:
		do_migrate(c, &req);
		break;
	case CTL_VERB_MIGRATE_CANCEL:
		do_migrate_cancel(c);
		break;
	}
	explicit_bzero(buf, sizeof(buf));
}

/* Bounded in bytes and time, and cut short if the slot is needed. */
static void
drain(struct conn *c)
{
	char buf[4096];
	size_t total = 0;
	uint64_t t0 = ckpt_now_us();
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	while (total < (1 << 20) && !atomic_load(&c->evicted)) {
		int64_t left = CTL_DRAIN_MS - (int64_t)((ckpt_now_us() - t0) /
		    1000);
		ssize_t n;

		if (left <= 0 ||
		    poll(&pfd, 1, left < 200 ? (int)left : 200) <= 0)
			break;
		if ((n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) <= 0)
			break;
		total += (size_t)n;
	}
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct ctl *ctl = c->ctl;

	sandbox_enter(ctl->vm, SBX_CONN, NULL);
	serve(c);
	pthread_mutex_lock(&ctl->lock);
	if (ctl->slot[c->idx].state != CTL_SLOT_LEAVING)
		ctl->slot[c->idx].state = CTL_SLOT_DRAINING;
	pthread_mutex_unlock(&ctl->lock);
	/*
	 * Closing with unread input would reset the connection and could
	 * lose the reply: say we are done, and swallow what the client still
	 * sends (bounded) before closing.
	 */
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	c->passed_fd = -1;
	(void)shutdown(c->fd, SHUT_WR);
	drain(c);
	/*
	 * The slot goes before the descriptor: the accept thread shuts down
	 * the descriptor of a slot it takes back, which must not be a number
	 * reused by then.
	 */
	pthread_mutex_lock(&ctl->lock);
	ctl->slot[c->idx].state = CTL_SLOT_FREE;
	ctl->conn[c->idx] = NULL;
	ctl->nconn--;
	pthread_cond_broadcast(&ctl->cv);
	pthread_mutex_unlock(&ctl->lock);
	close(c->fd);
	free(c);
	return NULL;
}

int
ctl_slot_pick(const struct ctl_slot *s, size_t n, size_t *idx)
{
	size_t i, waiting = n, draining = n;

	for (i = 0; i < n; i++) {
		if (s[i].state == CTL_SLOT_FREE) {
			*idx = i;
			return 0;
		}
	}
	for (i = 0; i < n; i++) {
		switch (s[i].state) {
		case CTL_SLOT_LEAVING:
			return -EINPROGRESS;
		case CTL_SLOT_WAITING:
			if (waiting == n || s[i].seq < s[waiting].seq)
				waiting = i;
			break;
		case CTL_SLOT_DRAINING:
			if (draining == n || s[i].seq < s[draining].seq)
				draining = i;
			break;
		default:
			break;
		}
	}
	/* An answered client loses nothing; an idle one has to reconnect. */
	if (draining < n || waiting < n) {
		*idx = draining < n ? draining : waiting;
		return -EAGAIN;
	}
	return -EBUSY;
}

/* Under ctl->lock.  Wakes the connection's thread wherever it waits. */
static void
evict(struct ctl *ctl, size_t i)
{
	ctl->slot[i].state = CTL_SLOT_LEAVING;
	atomic_store(&ctl->conn[i]->evicted, true);
	(void)shutdown(ctl->conn[i]->fd, SHUT_RD);
}

/*
 * A slot for a new connection: under ctl->lock, waits for an evicted
 * connection to go.  0 with *@idx, or -EBUSY (every slot is serving).
 */
static int
take_slot(struct ctl *ctl, size_t *idx)
{
	int rc;

	while ((rc = ctl_slot_pick(ctl->slot, CTL_MAX_CONNS, idx)) ==
	    -EAGAIN || rc == -EINPROGRESS) {
		if (rc == -EAGAIN)
			evict(ctl, *idx);
		else
			pthread_cond_wait(&ctl->cv, &ctl->lock);
	}
	return rc;
}

static void *
accept_main(void *arg)
{
	struct ctl *ctl = arg;
	struct timeval tv = { .tv_sec = CTL_SEND_TIMEOUT_S };
	pthread_attr_t attr;
	sigset_t all;

	/* Signals belong to the main thread (signalfd) and vCPUs (kicks). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	sandbox_enter(ctl->vm, SBX_CTL, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!atomic_load(&ctl->stopping)) {
		struct pollfd pfd[2] = {
			{ .fd = ctl->lfd, .events = POLLIN },
			{ .fd = ctl->stop_pipe[0], .events = POLLIN },
		};
		struct conn *c, tmp = { .ctl = ctl };
		pthread_t t;
		size_t idx;
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents == 0)
			continue;
		if ((fd = accept4(ctl->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		tmp.fd = fd;
		pthread_mutex_lock(&ctl->lock);
		/*
		 * Refusals are answered before the close: the client reads
		 * why, whether or not its request got here first.
		 */
		if (take_slot(ctl, &idx) != 0) {
			pthread_mutex_unlock(&ctl->lock);
			send_line(&tmp, "error busy: too many control "
			    "connections (all %d are serving requests)",
			    CTL_MAX_CONNS);
			close(fd);
			continue;
		}
		if (atomic_load(&ctl->stopping) ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			pthread_mutex_unlock(&ctl->lock);
			send_line(&tmp, "error %s", atomic_load(&ctl->stopping) ?
			    "the VM is stopping" : "out of memory");
			close(fd);
			continue;
		}
		c->ctl = ctl;
		c->fd = fd;
		c->passed_fd = -1;
		c->idx = idx;
		if (pthread_create(&t, &attr, conn_main, c) != 0) {
			pthread_mutex_unlock(&ctl->lock);
			send_line(c, "error cannot start a thread");
			close(fd);
			free(c);
			continue;
		}
		ctl->slot[idx].state = CTL_SLOT_WAITING;
		ctl->slot[idx].seq = ++ctl->seq;
		ctl->conn[idx] = c;
		ctl->nconn++;
		pthread_mutex_unlock(&ctl->lock);
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* The socket                                                                */
/* ------------------------------------------------------------------------ */

/*
 * A runtime directory or socket path that cannot be used is a setting to
 * fix, like one refused by the rule (ctl_rundir_check()); only the host
 * running short of something is the host's failure.
 */
static int
path_fail(struct hyve_err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
path_fail(struct hyve_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	e->kind = errnum == ENOMEM || errnum == EIO || errnum == ENOSPC ||
	    errnum == EDQUOT || errnum == EMFILE || errnum == ENFILE ?
	    HYVE_ERR_RUNTIME : HYVE_ERR_USAGE;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -errnum;
}

/* The rule's refusals (ctl_proto.h): a setting to fix. */
static int
rule_fail(struct hyve_err *e, int rc)
{
	e->kind = HYVE_ERR_USAGE;
	return rc;
}

/*
 * Create the runtime directory, or check that an existing one is private;
 * *@dfdp: the directory checked, opened (not one swapped in meanwhile).
 */
static int
rundir_open(const char *dir, int *dfdp, struct hyve_err *e)
{
	struct stat st;
	int rc, fd;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return path_fail(e, errno, "cannot create the runtime "
		    "directory %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0)
		return path_fail(e, errno, "runtime directory %s: %s", dir,
		    strerror(errno));
	if ((rc = ctl_rundir_check(dir, &st, geteuid(), e->msg,
	    sizeof(e->msg))) != 0)
		return rule_fail(e, rc);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return path_fail(e, errno, "runtime directory %s: %s", dir,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = hyve_err_set(e, HYVE_ERR_RUNTIME, -errno, "runtime "
		    "directory %s: %s", dir, strerror(errno));
		close(fd);
		return rc;
	}
	if ((rc = ctl_rundir_check(dir, &st, geteuid(), e->msg,
	    sizeof(e->msg))) != 0) {
		close(fd);
		return rule_fail(e, rc);
	}
	*dfdp = fd;
	return 0;
}

static int
bind_listen(struct ctl *ctl, const char *name, struct hyve_err *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int tries, fd, probe, rc;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl->path);
	for (tries = 0; tries < 2; tries++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return hyve_err_set(e, HYVE_ERR_RUNTIME, -errno,
			    "socket: %s", strerror(errno));
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			if (chmod(ctl->path, 0600) != 0 || listen(fd, 16) != 0) {
				int err = errno;
				close(fd);
				unlink(ctl->path);
				return path_fail(e, err, "control socket "
				    "%s: %s", ctl->path, strerror(err));
			}
			ctl->lfd = fd;
			return 0;
		}
		close(fd);
		if (errno != EADDRINUSE)
			return path_fail(e, errno, "cannot create the control "
			    "socket %s: %s", ctl->path, strerror(errno));
		/*
		 * Only a socket of ours may be probed and replaced: not a file
		 * that has the name, nor a link to somewhere else.
		 */
		if (lstat(ctl->path, &st) != 0) {
			if (errno == ENOENT)
				continue;
			return path_fail(e, errno, "control socket %s: "
			    "%s", ctl->path, strerror(errno));
		}
		if ((rc = ctl_sock_check(ctl->path, &st, geteuid(), e->msg,
		    sizeof(e->msg))) != 0)
			return rule_fail(e, rc);
		/* Someone listening there is a live hyve; else it is stale. */
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return hyve_err_set(e, HYVE_ERR_RUNTIME, -errno,
			    "socket: %s", strerror(errno));
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			return hyve_err_set(e, HYVE_ERR_REFUSED, -EADDRINUSE,
			    "a VM named '%s' is already running (its control "
			    "socket %s answers)", name, ctl->path);
		}
		close(probe);
		if (unlink(ctl->path) != 0 && errno != ENOENT)
			return path_fail(e, errno, "cannot remove the stale "
			    "control socket %s: %s", ctl->path,
			    strerror(errno));
	}
	return hyve_err_set(e, HYVE_ERR_REFUSED, -EADDRINUSE, "cannot bind "
	    "the control socket %s", ctl->path);
}

int
ctl_listen(const char *name, struct ctl **ctlp, struct hyve_err *e)
{
	char dir[256];
	struct ctl *ctl;
	int rc, dfd = -1;

	*ctlp = NULL;
	if (!ctl_name_valid(name))
		return hyve_err_set(e, HYVE_ERR_USAGE, -EINVAL, "invalid VM "
		    "name '%s'", name);
	if ((rc = ctl_rundir(dir, sizeof(dir))) != 0)
		return hyve_err_set(e, HYVE_ERR_USAGE, rc, "the runtime "
		    "directory's name is longer than %zu bytes",
		    sizeof(dir) - 1);
	if ((rc = rundir_open(dir, &dfd, e)) != 0)
		return rc;
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		close(dfd);
		return hyve_err_set(e, HYVE_ERR_RUNTIME, -ENOMEM, "out of "
		    "memory");
	}
	ctl->lfd = ctl->stop_pipe[0] = ctl->stop_pipe[1] = -1;
	pthread_mutex_init(&ctl->lock, NULL);
	pthread_cond_init(&ctl->cv, NULL);
	if (snprintf(ctl->path, sizeof(ctl->path), "%s/%s.sock", dir, name) >=
	    (int)sizeof(ctl->path)) {
		rc = hyve_err_set(e, HYVE_ERR_USAGE, -ENAMETOOLONG, "control "
		    "socket path %s/%s.sock is longer than a UNIX socket "
		    "allows", dir, name);
		goto fail;
	}
	if (pipe2(ctl->stop_pipe, O_CLOEXEC) != 0) {
		rc = hyve_err_set(e, HYVE_ERR_RUNTIME, -errno, "pipe: %s",
		    strerror(errno));
		goto fail;
	}
	/* Two hyves starting with one name: the directory lock orders them. */
	(void)flock(dfd, LOCK_EX);
	rc = bind_listen(ctl, name, e);
	close(dfd);	/* releases the lock */
	dfd = -1;
	if (rc != 0)
		goto fail;
	*ctlp = ctl;
	return 0;
fail:
	if (dfd >= 0)
		close(dfd);
	if (ctl->stop_pipe[0] >= 0) {
		close(ctl->stop_pipe[0]);
		close(ctl->stop_pipe[1]);
	}
	pthread_mutex_destroy(&ctl->lock);
	pthread_cond_destroy(&ctl->cv);
	free(ctl);
	return rc;
}

int
ctl_start(struct ctl *ctl, struct vm *vm)
{
	int rc;

	ctl->vm = vm;
	vm->ctl = ctl;
	if ((rc = pthread_create(&ctl->thread, NULL, accept_main, ctl)) != 0)
		return -rc;
	ctl->thread_started = true;
	return 0;
}

void
ctl_close(struct ctl *ctl)
{
	if (ctl == NULL)
		return;
	atomic_store(&ctl->stopping, true);
	(void)!write(ctl->stop_pipe[1], "x", 1);
	if (ctl->thread_started)
		pthread_join(ctl->thread, NULL);
	/*
	 * Connections end soon: every wait of theirs watches the stop pipe,
	 * but a migration waits on its stream.
	 */
	if (ctl->vm != NULL)
		vm_migrate_abandon(ctl->vm);
	pthread_mutex_lock(&ctl->lock);
	while (ctl->nconn > 0)
		pthread_cond_wait(&ctl->cv, &ctl->lock);
	pthread_mutex_unlock(&ctl->lock);
	if (ctl->lfd >= 0) {
		/* Unlink first: once closed, the name may be someone else's. */
		unlink(ctl->path);
		close(ctl->lfd);
	}
	close(ctl->stop_pipe[0]);
	close(ctl->stop_pipe[1]);
	pthread_mutex_destroy(&ctl->lock);
	pthread_cond_destroy(&ctl->cv);
	if (ctl->vm != NULL)
		ctl->vm->ctl = NULL;
	free(ctl);
}

const char *
ctl_path(const struct ctl *ctl)
{
	return ctl->path;
}
