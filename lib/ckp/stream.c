/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The checkpoint stream (docs/MIGRATION.md sections 2 and 3): frames with
 * a sequence number and an XXH3-64 trailer, or, with a shared secret,
 * AES-256-GCM under keys derived per session and direction with
 * HKDF-SHA256.  What the frames hold is the caller's business.
 *
 * Only the keyed mode needs libcrypto.  Built with CKP_CRYPTO=0 (`make lib
 * CKP_CRYPTO=0`), libckp needs C11, POSIX and libxxhash alone, as a host
 * that has no OpenSSL would build it: ckp_stream_new() then records
 * -ENOTSUP for a key, so no keyed path runs and nothing is sent unprotected
 * that the caller asked to protect.
 *
 * RAM goes through here at GB/s, so a frame costs one pass of XXH3 or GCM
 * over its payload, done STEP bytes at a time right before they are
 * written or right after they are read, while they are in cache rather
 * than once over a whole frame that may be larger than the cache.  A
 * frame of less than STEP bytes is one write: unkeyed, a writev of header,
 * the caller's pieces and trailer; keyed, one buffer of STEP bytes
 * (reused) that the pieces are encrypted into.  A
 * received frame is read into one buffer (header, payload, trailer; the
 * payload decrypted in place), which grows to the largest frame seen,
 * never past CKP_STREAM_MAX_FRAME.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#ifndef CKP_CRYPTO
#define CKP_CRYPTO 1
#endif
#if CKP_CRYPTO
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
typedef EVP_CIPHER_CTX gcm_t;
#else
typedef struct gcm gcm_t;	/* never made */
#endif

#include "ckp_impl.h"

#define NO_CRYPTO	"a key was given, but this libckp was built without " \
	"libcrypto (CKP_CRYPTO=0): keyed streams are not available"

#define PRE_LEN		40
#define NONCE_LEN	32
#define HDR_LEN		16
#define SUM_LEN		8
#define TAG_LEN		16
#define KEY_LEN		32
#define IV_LEN		12
#define SALT_LEN	(2 * PRE_LEN)
#define STREAM_MAGIC	"CKPS"
#define KNOWN_FLAGS	(CKP_STREAM_KEYED | CKP_STREAM_ONEWAY)
/* The largest receive buffer: the largest frame with the longer trailer. */
#define BUF_MAX		((size_t)HDR_LEN + CKP_STREAM_MAX_FRAME + TAG_LEN)
/* Bytes hashed or encrypted and then written (or read and then checked) at once. */
#define STEP		((size_t)256 << 10)

/*
 * Sockets are written with send(): MSG_NOSIGNAL turns a vanished peer into
 * EPIPE instead of a signal, and MSG_DONTWAIT keeps a blocking socket from
 * blocking past the timeout.  Both are POSIX.1-2008 or common; without
 * them the documented caveats apply.
 */
#ifdef MSG_NOSIGNAL
#define SEND_NOSIGNAL	MSG_NOSIGNAL
#else
#define SEND_NOSIGNAL	0
#endif
#ifdef MSG_DONTWAIT
#define SEND_DONTWAIT	MSG_DONTWAIT
#else
#define SEND_DONTWAIT	0
#endif

/* One direction of a connection. */
struct dir {
	uint64_t	 seq;		/* the next frame's */
	gcm_t		*gcm;		/* keyed: this direction's key, set once */
	uint8_t		*buf;		/* header || payload || trailer */
	size_t		 cap;
	atomic_uint_least64_t bytes;	/* on the descriptor */
};

struct ckp_stream {
	int		 fd;
	int		 wfd;		/* where frames go: fd unless set apart */
	bool		 wsock;
	ckp_stream_role_t role;
	unsigned	 flags;		/* CKP_STREAM_ONEWAY as asked */
	bool		 sock;
	bool		 keyed;
	bool		 started;
	bool		 oneway;	/* once started: nothing goes back */
	unsigned	 timeout_ms;
	unsigned	 peer_flags;
	uint8_t		*secret;
	size_t		 secretlen;
	struct dir	 tx, rx;
	XXH3_state_t	*txs, *rxs;	/* unkeyed: header and payload */
	struct iovec	*iov;		/* unkeyed sends: header, pieces, trailer */
	size_t		 iovcap;
	struct ckp__buf	 doc;		/* ckp_stream_send_doc()'s encoding */
	char		*origin;
	pthread_mutex_t	 lock;		/* the first error's message */
	atomic_int	 err;
	char		 errmsg[CKP__ERRMSG_MAX];
};

static void
le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int
serr(ckp_stream_t *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first error; @return the recorded one. */
static int
serr(ckp_stream_t *s, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	pthread_mutex_lock(&s->lock);
	if (atomic_load(&s->err) == 0) {
		n = snprintf(s->errmsg, sizeof(s->errmsg), "stream %.300s: ",
		    s->origin);
		va_start(ap, fmt);
		vsnprintf(s->errmsg + n, sizeof(s->errmsg) - (size_t)n, fmt, ap);
		va_end(ap);
		atomic_store(&s->err, err);
	}
	err = atomic_load(&s->err);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* What a failed read or write says in a message. */
static const char *
io_why(const ckp_stream_t *s, int err, char *buf, size_t len)
{
	if (err == -ETIMEDOUT)
		snprintf(buf, len, "no progress for %u ms (timed out)",
		    s->timeout_ms);
	else
		snprintf(buf, len, "%s", strerror(-err));
	return buf;
}

/* The latest libcrypto error, for a message. */
static const char *
crypto_why(char *buf, size_t len)
{
#if CKP_CRYPTO
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "libcrypto failed");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
#else
	snprintf(buf, len, "libckp was built without libcrypto");
#endif
	return buf;
}

/* Wipe secrets and plain text: a store the compiler may not drop. */
static void
cleanse(void *p, size_t n)
{
#if CKP_CRYPTO
	OPENSSL_cleanse(p, n);
#else
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
#endif
}

static void
gcm_free(gcm_t *c)
{
#if CKP_CRYPTO
	EVP_CIPHER_CTX_free(c);
#else
	(void)c;
#endif
}

/* A keyed preamble's nonce: 0, or -ENOTSUP/-EIO. */
static int
random_nonce(uint8_t *p, size_t n)
{
#if CKP_CRYPTO
	return RAND_bytes(p, (int)n) == 1 ? 0 : -EIO;
#else
	(void)p;
	(void)n;
	return -ENOTSUP;
#endif
}

static long long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Wait until @p fd is ready for @p ev: 0, -ETIMEDOUT or a negative errno. */
static int
wait_fd(const ckp_stream_t *s, short ev)
{
	struct pollfd p = { .fd = ev == POLLOUT ? s->wfd : s->fd,
	    .events = ev };
	long long ms = s->timeout_ms == 0 ? -1 : (long long)s->timeout_ms;
	struct timespec t0;
	int r, left;

	if (ms >= 0)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		left = -1;
		if (ms >= 0) {
			long long l = ms - ms_since(&t0);
			left = l < 0 ? 0 : l > INT_MAX ? INT_MAX : (int)l;
		}
		r = poll(&p, 1, left);
		if (r > 0)
			return (p.revents & POLLNVAL) != 0 ? -EBADF : 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * Read @p n bytes, fewer only at the end of the input.  @return the count
 * read, or a negative errno.  Exactly what is asked for is read, so the
 * descriptor is left right after the frame for whoever reads it next.
 */
static ssize_t
rd(ckp_stream_t *s, void *p, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int err;

	while (got < n) {
		if (s->timeout_ms != 0 && (err = wait_fd(s, POLLIN)) != 0)
			return err;
		r = read(s->fd, (char *)p + got, n - got);
		if (r > 0) {
			got += (size_t)r;
			atomic_fetch_add_explicit(&s->rx.bytes, (uint64_t)r,
			    memory_order_relaxed);
		} else if (r == 0) {
			break;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((err = wait_fd(s, POLLIN)) != 0)
				return err;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return (ssize_t)got;
}

static int
iov_max(void)
{
#if defined(IOV_MAX)
	return IOV_MAX;
#elif defined(_SC_IOV_MAX)
	static atomic_int cached;
	int v = atomic_load(&cached);

	if (v == 0) {
		long l = sysconf(_SC_IOV_MAX);
		v = l < 16 || l > INT_MAX ? 16 : (int)l;
		atomic_store(&cached, v);
	}
	return v;
#else
	return 16;
#endif
}

/* Write all of @p iov (which is consumed).  0 or a negative errno. */
static int
wr(ckp_stream_t *s, struct iovec *iov, int cnt)
{
	int err, n, max = iov_max();
	ssize_t r;

	while (cnt > 0) {
		if (iov->iov_len == 0) {
			iov++;
			cnt--;
			continue;
		}
		if (s->timeout_ms != 0 && (err = wait_fd(s, POLLOUT)) != 0)
			return err;
		n = cnt < max ? cnt : max;
		if (s->wsock) {
			struct msghdr m;

			memset(&m, 0, sizeof(m));
			m.msg_iov = iov;
			m.msg_iovlen = n;
			r = sendmsg(s->wfd, &m, SEND_NOSIGNAL |
			    (s->timeout_ms != 0 ? SEND_DONTWAIT : 0));
		} else {
			r = writev(s->wfd, iov, n);
		}
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if ((err = wait_fd(s, POLLOUT)) != 0)
					return err;
			} else if (errno != EINTR) {
				return -errno;
			}
			continue;
		}
		if (r == 0)
			return -EIO;	/* nothing written, no error: never loop on it */
		atomic_fetch_add_explicit(&s->tx.bytes, (uint64_t)r,
		    memory_order_relaxed);
		while (r > 0) {
			if ((size_t)r >= iov->iov_len) {
				r -= (ssize_t)iov->iov_len;
				iov++;
				cnt--;
			} else {
				iov->iov_base = (char *)iov->iov_base + r;
				iov->iov_len -= (size_t)r;
				r = 0;
			}
		}
	}
	return 0;
}

/*
 * Grow a direction's buffer to hold @p need bytes (at most BUF_MAX),
 * keeping what it holds; with @p wipe, what it held is wiped from the
 * memory given back (decrypted frames: the guest's memory).
 */
static int
dir_reserve(struct dir *d, size_t need, bool wipe)
{
	size_t cap;
	uint8_t *p;

	if (d->cap >= need)
		return 0;
	cap = d->cap < 4096 ? 4096 : d->cap;
	while (cap < need)
		cap *= 2;
	if (cap > BUF_MAX)
		cap = BUF_MAX;
	if (cap < need)
		return -EMSGSIZE;
	if ((p = malloc(cap)) == NULL)
		return -ENOMEM;
	if (d->buf != NULL) {
		memcpy(p, d->buf, d->cap);
		if (wipe)
			cleanse(d->buf, d->cap);
		free(d->buf);
	}
	d->buf = p;
	d->cap = cap;
	return 0;
}

ckp_stream_t *
ckp_stream_new(int fd, ckp_stream_role_t role, const void *key, size_t keylen,
    unsigned flags, const char *origin)
{
	ckp_stream_t *s = calloc(1, sizeof(*s));
	char name[32];
	struct stat st;

	if (s == NULL)
		return NULL;
	s->fd = fd;
	s->wfd = fd;
	s->role = role;
	s->flags = flags;
	s->keyed = key != NULL;
	atomic_init(&s->err, 0);
	atomic_init(&s->tx.bytes, 0);
	atomic_init(&s->rx.bytes, 0);
	if (origin == NULL) {
		snprintf(name, sizeof(name), "fd %d", fd);
		origin = name;
	}
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	if ((s->origin = strdup(origin)) == NULL ||
	    (s->txs = XXH3_createState()) == NULL ||
	    (s->rxs = XXH3_createState()) == NULL)
		goto nomem;
	if (key != NULL && keylen > 0) {
		if ((s->secret = malloc(keylen)) == NULL)
			goto nomem;
		memcpy(s->secret, key, keylen);
		s->secretlen = keylen;
	}
	s->sock = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
	s->wsock = s->sock;
	if (fd < 0)
		serr(s, -EBADF, "invalid file descriptor %d", fd);
	else if (role != CKP_STREAM_WRITER && role != CKP_STREAM_READER)
		serr(s, -EINVAL, "invalid role %d", (int)role);
	else if ((flags & ~CKP_STREAM_ONEWAY) != 0)
		serr(s, -EINVAL, "unknown flags 0x%x (only CKP_STREAM_ONEWAY)",
		    flags);
	else if (key != NULL && !CKP_CRYPTO)
		serr(s, -ENOTSUP, NO_CRYPTO);
	else if (key != NULL && keylen < CKP_STREAM_MIN_KEY)
		serr(s, -EINVAL, "a key of %zu bytes: at least %d are needed",
		    keylen, CKP_STREAM_MIN_KEY);
	return s;
nomem:
	ckp_stream_free(s);
	return NULL;
}

int
ckp_stream_set_wfd(ckp_stream_t *s, int wfd)
{
	struct stat st;

	/* Too late to change: refused, but the stream goes on. */
	if (s->started)
		return -EINVAL;
	if (wfd < 0)
		return serr(s, -EBADF, "invalid write descriptor %d", wfd);
	s->wfd = wfd;
	s->wsock = fstat(wfd, &st) == 0 && S_ISSOCK(st.st_mode);
	return 0;
}

void
ckp_stream_free(ckp_stream_t *s)
{
	if (s == NULL)
		return;
	if (s->secret != NULL) {
		cleanse(s->secret, s->secretlen);
		free(s->secret);
	}
	gcm_free(s->tx.gcm);
	gcm_free(s->rx.gcm);
	/*
	 * What was received was decrypted, and a document sent is plain text:
	 * the guest's memory and state, its secrets.
	 */
	if (s->keyed && s->rx.buf != NULL)
		cleanse(s->rx.buf, s->rx.cap);
	if (s->keyed && s->doc.p != NULL)
		cleanse(s->doc.p, s->doc.cap);
	free(s->rx.buf);
	free(s->tx.buf);
	free(s->iov);
	free(s->doc.p);
	XXH3_freeState(s->txs);
	XXH3_freeState(s->rxs);
	free(s->origin);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int
ckp_stream_set_timeout(ckp_stream_t *s, unsigned ms)
{
	s->timeout_ms = ms;
	return 0;
}

int
ckp_stream_error(const ckp_stream_t *s)
{
	return atomic_load(&((ckp_stream_t *)s)->err);
}

const char *
ckp_stream_errmsg(const ckp_stream_t *s)
{
	return ckp_stream_error(s) != 0 ? s->errmsg : "";
}

unsigned
ckp_stream_peer_flags(const ckp_stream_t *s)
{
	return s->peer_flags;
}

void
ckp_stream_counters(const ckp_stream_t *s, uint64_t *sent, uint64_t *received)
{
	ckp_stream_t *m = (ckp_stream_t *)s;

	if (sent != NULL)
		*sent = atomic_load_explicit(&m->tx.bytes, memory_order_relaxed);
	if (received != NULL)
		*received = atomic_load_explicit(&m->rx.bytes,
		    memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* Preambles and keys                                                   */
/* ------------------------------------------------------------------ */

static int
make_preamble(ckp_stream_t *s, uint8_t p[PRE_LEN], unsigned flags)
{
	char why[256];

	memcpy(p, STREAM_MAGIC, 4);
	le_put(p + 4, CKP_STREAM_VERSION, 2);
	le_put(p + 6, flags, 2);
	memset(p + 8, 0, NONCE_LEN);
	if (s->keyed && random_nonce(p + 8, NONCE_LEN) != 0)
		return serr(s, -EIO, "cannot make a nonce: %s",
		    crypto_why(why, sizeof(why)));
	return 0;
}

static int
send_preamble(ckp_stream_t *s, uint8_t p[PRE_LEN])
{
	struct iovec v = { .iov_base = p, .iov_len = PRE_LEN };
	char why[256];
	int err;

	if ((err = wr(s, &v, 1)) != 0)
		return serr(s, err, "cannot send the preamble: %s",
		    io_why(s, err, why, sizeof(why)));
	return 0;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/*
 * Read and check the peer's preamble: the writer's (@p answer false) or
 * the reader's answer to ours.
 */
static int
recv_preamble(ckp_stream_t *s, uint8_t p[PRE_LEN], bool answer)
{
	const char *whose = answer ? "the reader's preamble" : "the preamble";
	unsigned ver, fl;
	char why[256];
	ssize_t n;

	n = rd(s, p, PRE_LEN);
	if (n < 0)
		return serr(s, (int)n, "cannot read %s: %s", whose,
		    io_why(s, (int)n, why, sizeof(why)));
	if (n > 0 && memcmp(p, STREAM_MAGIC, n < 4 ? (size_t)n : 4) != 0)
		return serr(s, -EBADMSG, "not a checkpoint stream: %s begins "
		    "with %02x %02x %02x %02x, not \"CKPS\"",
		    answer ? "the answer" : "it", p[0], n > 1 ? p[1] : 0,
		    n > 2 ? p[2] : 0, n > 3 ? p[3] : 0);
	if (n == 0 && answer)
		return serr(s, -ECONNRESET, "the reader closed the connection "
		    "without answering the preamble (it refused the stream: "
		    "its messages say why)");
	if (n == 0)
		return serr(s, -EPROTO, "empty: no preamble");
	if (n < PRE_LEN)
		return serr(s, -EPROTO, "truncated inside %s (%zd of %d bytes)",
		    whose, n, PRE_LEN);
	ver = (unsigned)le_get(p + 4, 2);
	fl = (unsigned)le_get(p + 6, 2);
	if (ver != CKP_STREAM_VERSION)
		return serr(s, -EPROTONOSUPPORT, "version %u, this libckp "
		    "reads %d", ver, CKP_STREAM_VERSION);
	if ((fl & ~KNOWN_FLAGS) != 0)
		return serr(s, -EPROTONOSUPPORT, "unknown flags 0x%04x in %s "
		    "(version %d knows 0x%04x)", fl & ~KNOWN_FLAGS, whose,
		    CKP_STREAM_VERSION, KNOWN_FLAGS);
	if (answer && (fl & CKP_STREAM_ONEWAY) != 0)
		return serr(s, -EBADMSG, "the reader's preamble has the "
		    "one-way flag");
	if (!answer && (fl & CKP_STREAM_ONEWAY) == 0 &&
	    (s->flags & CKP_STREAM_ONEWAY) != 0)
		return serr(s, -EBADMSG, "a two-way stream (its writer waits "
		    "for an answer) read one-way, from a file or pipe");
	if ((fl & CKP_STREAM_KEYED) != 0 && !s->keyed)
		return serr(s, -EACCES, answer ? "the reader answered keyed, "
		    "but this stream has no key" :
		    "keyed stream, but no key was given");
	if ((fl & CKP_STREAM_KEYED) == 0 && s->keyed)
		return serr(s, -EACCES, answer ? "the reader answered unkeyed, "
		    "but this stream has a key" : "unkeyed stream, but a key "
		    "was given: it would not be authenticated");
	if (!s->keyed && !all_zero(p + 8, NONCE_LEN))
		return serr(s, -EBADMSG, "unkeyed stream with a non-zero "
		    "nonce in %s", whose);
	if (s->keyed && all_zero(p + 8, NONCE_LEN))
		return serr(s, -EBADMSG, "keyed stream with an all-zero "
		    "nonce in %s", whose);
	s->peer_flags = fl;
	return 0;
}

#if CKP_CRYPTO
/* key = HKDF-SHA256(salt, secret, "ckp stream v1 " || role), 32 bytes. */
static int
derive(ckp_stream_t *s, const uint8_t salt[SALT_LEN], const char *role,
    uint8_t key[KEY_LEN])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	char info[32];
	size_t outlen = KEY_LEN;
	int n, ok;

	n = snprintf(info, sizeof(info), "ckp stream v%d %s",
	    CKP_STREAM_VERSION, role);
	ok = c != NULL && EVP_PKEY_derive_init(c) > 0 &&
	    EVP_PKEY_CTX_set_hkdf_md(c, EVP_sha256()) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(c, salt, SALT_LEN) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_key(c, s->secret, (int)s->secretlen) > 0 &&
	    EVP_PKEY_CTX_add1_hkdf_info(c, (const unsigned char *)info, n) > 0 &&
	    EVP_PKEY_derive(c, key, &outlen) > 0 && outlen == KEY_LEN;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -EIO;
}

/* Derive both directions' keys and set them in the two GCM contexts. */
static int
setup_keys(ckp_stream_t *s, const uint8_t salt[SALT_LEN])
{
	bool w = s->role == CKP_STREAM_WRITER;
	uint8_t kw[KEY_LEN], kr[KEY_LEN];
	char why[256];
	int err = -EIO;

	if (derive(s, salt, "writer", kw) != 0 ||
	    derive(s, salt, "reader", kr) != 0)
		goto fail;
	if ((s->tx.gcm = EVP_CIPHER_CTX_new()) == NULL ||
	    (s->rx.gcm = EVP_CIPHER_CTX_new()) == NULL)
		goto fail;
	if (EVP_EncryptInit_ex(s->tx.gcm, EVP_aes_256_gcm(), NULL,
	    w ? kw : kr, NULL) != 1 ||
	    EVP_DecryptInit_ex(s->rx.gcm, EVP_aes_256_gcm(), NULL,
	    w ? kr : kw, NULL) != 1)
		goto fail;
	err = 0;
fail:
	cleanse(kw, sizeof(kw));
	cleanse(kr, sizeof(kr));
	if (err != 0)
		return serr(s, err, "cannot derive the keys: %s",
		    crypto_why(why, sizeof(why)));
	return 0;
}
#else
static int
setup_keys(ckp_stream_t *s, const uint8_t salt[SALT_LEN])
{
	(void)salt;
	return serr(s, -ENOTSUP, NO_CRYPTO);
}
#endif

int
ckp_stream_start(ckp_stream_t *s)
{
	uint8_t salt[SALT_LEN];		/* writer's preamble || reader's */
	uint8_t *pw = salt, *pr = salt + PRE_LEN;
	int err;

	if ((err = ckp_stream_error(s)) != 0)
		return err;
	if (s->started)
		return serr(s, -EINVAL, "started twice");
	s->started = true;
	if (s->role == CKP_STREAM_WRITER) {
		s->oneway = (s->flags & CKP_STREAM_ONEWAY) != 0;
		if ((err = make_preamble(s, pw, s->flags |
		    (s->keyed ? CKP_STREAM_KEYED : 0))) != 0 ||
		    (err = send_preamble(s, pw)) != 0)
			goto out;
		/* One-way: nobody answers; the salt's second half is zeros. */
		memset(pr, 0, PRE_LEN);
		if (!s->oneway && (err = recv_preamble(s, pr, true)) != 0)
			goto out;
	} else {
		if ((err = recv_preamble(s, pw, false)) != 0)
			goto out;
		s->oneway = (s->peer_flags & CKP_STREAM_ONEWAY) != 0;
		memset(pr, 0, PRE_LEN);
		if (!s->oneway && ((err = make_preamble(s, pr,
		    s->keyed ? CKP_STREAM_KEYED : 0)) != 0 ||
		    (err = send_preamble(s, pr)) != 0))
			goto out;
	}
	if (s->keyed)
		err = setup_keys(s, salt);
out:
	/* The keys are in the GCM contexts: the secret is not needed again. */
	if (s->secret != NULL) {
		cleanse(s->secret, s->secretlen);
		free(s->secret);
		s->secret = NULL;
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* Frames                                                               */
/* ------------------------------------------------------------------ */

#if CKP_CRYPTO
static void
make_iv(uint8_t iv[IV_LEN], uint64_t seq)
{
	memset(iv, 0, 4);
	le_put(iv + 4, seq, 8);
}

/* Start decrypting frame @p seq in place, its header authenticated too. */
static int
gcm_rx_begin(gcm_t *c, uint64_t seq, const uint8_t *hdr)
{
	uint8_t iv[IV_LEN];
	int outl;

	make_iv(iv, seq);
	if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &outl, hdr, HDR_LEN) != 1)
		return -EIO;
	return 0;
}

static int
gcm_rx_update(gcm_t *c, uint8_t *p, size_t len)
{
	int outl;

	return EVP_DecryptUpdate(c, p, &outl, p, (int)len) == 1 ? 0 : -EIO;
}

/* @return 0, -EBADMSG when @p tag does not authenticate, -EIO. */
static int
gcm_rx_end(gcm_t *c, uint8_t *tag)
{
	int outl;

	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		return -EIO;
	if (EVP_DecryptFinal_ex(c, tag, &outl) != 1) {
		ERR_clear_error();
		return -EBADMSG;
	}
	return 0;
}
#else
static int
gcm_rx_begin(gcm_t *c, uint64_t seq, const uint8_t *hdr)
{
	(void)c;
	(void)seq;
	(void)hdr;
	return -ENOTSUP;
}

static int
gcm_rx_update(gcm_t *c, uint8_t *p, size_t len)
{
	(void)c;
	(void)p;
	(void)len;
	return -ENOTSUP;
}

static int
gcm_rx_end(gcm_t *c, uint8_t *tag)
{
	(void)c;
	(void)tag;
	return -ENOTSUP;
}
#endif

/* Checks shared by the senders; @p what names the frame for messages. */
static int
send_check(ckp_stream_t *s, uint8_t type, size_t len, const char *what)
{
	int err;

	if ((err = ckp_stream_error(s)) != 0)
		return err;
	if (!s->started)
		return serr(s, -EINVAL, "%s: sent before ckp_stream_start()",
		    what);
	if (s->role == CKP_STREAM_READER && s->oneway)
		return serr(s, -EINVAL, "%s: the reader of a one-way stream "
		    "sends nothing", what);
	if (type == 0)
		return serr(s, -EINVAL, "%s: type 0 is invalid (types are 1 "
		    "to 255)", what);
	if (len > CKP_STREAM_MAX_FRAME)
		return serr(s, -EMSGSIZE, "%s: frame of %zu bytes, more than "
		    "the %u allowed", what, len, CKP_STREAM_MAX_FRAME);
	return 0;
}

/* Encrypt the pieces into the reused buffer and write it every STEP bytes. */
static int
send_keyed(ckp_stream_t *s, uint8_t *hdr, const ckp_iov_t *iov, unsigned n,
    bool *crypto)
{
#if CKP_CRYPTO
	gcm_t *c = s->tx.gcm;
	struct iovec v;
	uint8_t iv[IV_LEN], *out;
	size_t pend = HDR_LEN, left, take;
	const uint8_t *p;
	int outl, err;

	if ((err = dir_reserve(&s->tx, HDR_LEN + STEP + TAG_LEN, false)) != 0)
		return err;
	*crypto = true;		/* for the -EIO below; a write clears it */
	out = s->tx.buf;
	memcpy(out, hdr, HDR_LEN);
	make_iv(iv, s->tx.seq);
	if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &outl, hdr, HDR_LEN) != 1)
		return -EIO;
	for (unsigned i = 0; i < n; i++) {
		p = iov[i].base;
		left = iov[i].len;
		while (left > 0) {
			if (pend == HDR_LEN + STEP) {
				v.iov_base = out;
				v.iov_len = pend;
				*crypto = false;
				if ((err = wr(s, &v, 1)) != 0)
					return err;
				*crypto = true;
				pend = 0;
			}
			take = HDR_LEN + STEP - pend;
			if (take > left)
				take = left;
			if (EVP_EncryptUpdate(c, out + pend, &outl, p,
			    (int)take) != 1 || (size_t)outl != take)
				return -EIO;
			pend += take;
			p += take;
			left -= take;
		}
	}
	if (EVP_EncryptFinal_ex(c, out + pend, &outl) != 1 || outl != 0 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
	    out + pend) != 1)
		return -EIO;
	v.iov_base = out;
	v.iov_len = pend + TAG_LEN;
	*crypto = false;
	return wr(s, &v, 1);
#else
	(void)s;
	(void)hdr;
	(void)iov;
	(void)n;
	*crypto = true;
	return -ENOTSUP;
#endif
}

/*
 * Hash the pieces and write them from where they are (no copy), a writev
 * every STEP bytes; the header goes with the first, the trailer with the
 * last.
 */
static int
send_plain(ckp_stream_t *s, uint8_t *hdr, const ckp_iov_t *iov, unsigned n)
{
	uint8_t sum[SUM_LEN];
	struct iovec *v;
	size_t pend = HDR_LEN, left, take;
	const uint8_t *p;
	int cnt = 0, err;

	/* Within one writev each piece appears at most once. */
	if (n + 2 > s->iovcap) {
		if (n > INT_MAX - 2 ||
		    (v = realloc(s->iov, (n + 2) * sizeof(*v))) == NULL)
			return -ENOMEM;
		s->iov = v;
		s->iovcap = n + 2;
	}
	v = s->iov;
	XXH3_64bits_reset(s->txs);
	XXH3_64bits_update(s->txs, hdr, HDR_LEN);
	v[cnt].iov_base = hdr;
	v[cnt++].iov_len = HDR_LEN;
	for (unsigned i = 0; i < n; i++) {
		p = iov[i].base;
		left = iov[i].len;
		while (left > 0) {
			if (pend >= STEP) {
				if ((err = wr(s, v, cnt)) != 0)
					return err;
				cnt = 0;
				pend = 0;
			}
			take = STEP - pend;
			if (take > left)
				take = left;
			XXH3_64bits_update(s->txs, p, take);
			v[cnt].iov_base = (void *)(uintptr_t)p;
			v[cnt++].iov_len = take;
			pend += take;
			p += take;
			left -= take;
		}
	}
	le_put(sum, XXH3_64bits_digest(s->txs), SUM_LEN);
	v[cnt].iov_base = sum;
	v[cnt++].iov_len = SUM_LEN;
	return wr(s, v, cnt);
}

int
ckp_stream_sendv(ckp_stream_t *s, uint8_t type, const ckp_iov_t *iov,
    unsigned n)
{
	uint8_t hdr[HDR_LEN];
	char what[64], why[256];
	bool crypto = false;
	size_t len = 0;
	int err;

	snprintf(what, sizeof(what), "frame %llu (type 0x%02x)",
	    (unsigned long long)s->tx.seq, type);
	if (iov == NULL && n > 0)
		return serr(s, -EINVAL, "%s: no pieces", what);
	for (unsigned i = 0; i < n; i++) {
		if (iov[i].base == NULL && iov[i].len != 0)
			return serr(s, -EINVAL, "%s: piece %u has no buffer",
			    what, i);
		len = iov[i].len > SIZE_MAX - len ? SIZE_MAX : len + iov[i].len;
	}
	if ((err = send_check(s, type, len, what)) != 0)
		return err;
	hdr[0] = type;
	hdr[1] = 0;
	le_put(hdr + 2, 0, 2);
	le_put(hdr + 4, len, 4);
	le_put(hdr + 8, s->tx.seq, 8);
	err = s->keyed ? send_keyed(s, hdr, iov, n, &crypto) :
	    send_plain(s, hdr, iov, n);
	if (err != 0 && crypto)
		return serr(s, err, "%s: cannot encrypt: %s", what,
		    crypto_why(why, sizeof(why)));
	if (err != 0)
		return serr(s, err, "%s: cannot send: %s", what,
		    io_why(s, err, why, sizeof(why)));
	s->tx.seq++;
	return 0;
}

int
ckp_stream_send(ckp_stream_t *s, uint8_t type, const void *buf, size_t len)
{
	ckp_iov_t v = { .base = buf, .len = len };

	return ckp_stream_sendv(s, type, &v, 1);
}

int
ckp_stream_send_doc(ckp_stream_t *s, uint8_t type, ckp_doc_t *doc)
{
	ckp_iov_t v;
	int err;

	if ((err = ckp_stream_error(s)) != 0)
		return err;
	if ((err = ckp_doc_error(doc)) != 0)
		return serr(s, err, "frame %llu (type 0x%02x): the document "
		    "is not sent, it has an error: %s",
		    (unsigned long long)s->tx.seq, type, ckp_doc_errmsg(doc));
	s->doc.len = 0;
	s->doc.err = 0;
	err = ckp__bin_encode(&doc->root, &s->doc);
	if (err == 0)
		err = s->doc.err;
	if (err != 0)
		return serr(s, err, "frame %llu (type 0x%02x): cannot encode "
		    "the document: %s", (unsigned long long)s->tx.seq, type,
		    strerror(-err));
	if (s->doc.len > CKP_STREAM_MAX_FRAME) {
		size_t big = s->doc.len;

		/* Do not keep a buffer larger than any frame. */
		if (s->keyed)
			cleanse(s->doc.p, s->doc.cap);
		free(s->doc.p);
		memset(&s->doc, 0, sizeof(s->doc));
		return serr(s, -EMSGSIZE, "frame %llu (type 0x%02x): a "
		    "document of %zu bytes, more than the %u a frame holds",
		    (unsigned long long)s->tx.seq, type, big,
		    CKP_STREAM_MAX_FRAME);
	}
	v.base = s->doc.p;
	v.len = s->doc.len;
	return ckp_stream_sendv(s, type, &v, 1);
}

int
ckp_stream_recv(ckp_stream_t *s, uint8_t *type, const void **payload,
    size_t *len)
{
	unsigned long long n = (unsigned long long)s->rx.seq;
	size_t trailer = s->keyed ? TAG_LEN : SUM_LEN, want, done, step, pay;
	gcm_t *c = s->rx.gcm;
	uint8_t t, *b;
	uint32_t flen;
	uint64_t seq;
	char why[256];
	ssize_t r;
	int err;

	if ((err = ckp_stream_error(s)) != 0)
		return err;
	if (!s->started)
		return serr(s, -EINVAL, "frame %llu: received before "
		    "ckp_stream_start()", n);
	if (s->role == CKP_STREAM_WRITER && s->oneway)
		return serr(s, -EINVAL, "the writer of a one-way stream "
		    "receives nothing");
	if ((err = dir_reserve(&s->rx, HDR_LEN, s->keyed)) != 0)
		return serr(s, err, "out of memory");
	b = s->rx.buf;
	if ((r = rd(s, b, HDR_LEN)) < 0)
		return serr(s, (int)r, "frame %llu: cannot read: %s", n,
		    io_why(s, (int)r, why, sizeof(why)));
	if (r == 0)
		return serr(s, -ENODATA, "end of stream after %llu frames", n);
	if (r < HDR_LEN)
		return serr(s, -EPROTO, "truncated inside frame %llu (its "
		    "header: %zd of %d bytes)", n, r, HDR_LEN);
	t = b[0];
	flen = (uint32_t)le_get(b + 4, 4);
	seq = le_get(b + 8, 8);
	if (t == 0)
		return serr(s, -EBADMSG, "frame %llu: type 0 is invalid", n);
	if (b[1] != 0 || b[2] != 0 || b[3] != 0)
		return serr(s, -EBADMSG, "frame %llu (type 0x%02x): flags 0x%02x "
		    "and reserved 0x%04x must be 0 in version %d", n, t, b[1],
		    (unsigned)le_get(b + 2, 2), CKP_STREAM_VERSION);
	if (seq != s->rx.seq)
		return serr(s, -EBADMSG, "frame %llu (type 0x%02x): sequence "
		    "number %llu, expected %llu (a lost, repeated or reordered "
		    "frame)", n, t, (unsigned long long)seq, n);
	if (flen > CKP_STREAM_MAX_FRAME)
		return serr(s, -EMSGSIZE, "frame %llu (type 0x%02x): frame of "
		    "%lu bytes, more than the %u allowed", n, t,
		    (unsigned long)flen, CKP_STREAM_MAX_FRAME);
	want = flen + trailer;
	if ((err = dir_reserve(&s->rx, HDR_LEN + want, s->keyed)) != 0)
		return serr(s, err, "frame %llu (type 0x%02x): out of memory",
		    n, t);
	b = s->rx.buf;
	if (s->keyed) {
		if (gcm_rx_begin(c, seq, b) != 0)
			goto crypto;
	} else {
		XXH3_64bits_reset(s->rxs);
		XXH3_64bits_update(s->rxs, b, HDR_LEN);
	}
	/* The payload is hashed or decrypted right after each step is read. */
	for (done = 0; done < want; done += step) {
		step = want - done < STEP ? want - done : STEP;
		if ((r = rd(s, b + HDR_LEN + done, step)) < 0)
			return serr(s, (int)r, "frame %llu (type 0x%02x): cannot "
			    "read: %s", n, t, io_why(s, (int)r, why, sizeof(why)));
		if ((size_t)r < step)
			return serr(s, -EPROTO, "truncated inside frame %llu "
			    "(type 0x%02x): %zu of the %zu bytes after its "
			    "header", n, t, done + (size_t)r, want);
		pay = done >= flen ? 0 : flen - done < step ? flen - done : step;
		if (pay == 0)
			continue;	/* the trailer */
		if (!s->keyed)
			XXH3_64bits_update(s->rxs, b + HDR_LEN + done, pay);
		else if (gcm_rx_update(c, b + HDR_LEN + done, pay) != 0)
			goto crypto;
	}
	if (!s->keyed) {
		if (XXH3_64bits_digest(s->rxs) !=
		    le_get(b + HDR_LEN + flen, SUM_LEN))
			return serr(s, -EBADMSG, "frame %llu (type 0x%02x): "
			    "checksum mismatch: the frame was damaged or "
			    "changed", n, t);
	} else if ((err = gcm_rx_end(c, b + HDR_LEN + flen)) == -EBADMSG) {
		return serr(s, -EBADMSG, "frame %llu (type 0x%02x): "
		    "authentication failed: wrong key, or the stream was "
		    "changed", n, t);
	} else if (err != 0) {
		goto crypto;
	}
	s->rx.seq++;
	*type = t;
	*payload = b + HDR_LEN;
	*len = flen;
	return 0;
crypto:
	return serr(s, -EIO, "frame %llu (type 0x%02x): cannot decrypt: %s",
	    n, t, crypto_why(why, sizeof(why)));
}
