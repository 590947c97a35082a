/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The checkpoint stream (docs/MIGRATION.md sections 2 and 3): round trips
 * over a socket pair, a pipe and a file, keyed and unkeyed; the exact
 * bytes of the documented example; the keyed encoding checked against a
 * derivation written here from the document alone; and every way a stream
 * can be wrong (a flipped bit anywhere, a cut at every byte, frames
 * repeated, reordered or dropped, a wrong or missing key, unknown
 * versions and flags, a peer that says nothing) refused at the right
 * frame with the right message.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <xxhash.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "test_ckp.h"

#define MAXF	CKP_STREAM_MAX_FRAME

static const char KEY[] = "0123456789abcdef0123456789abcdef";
static const char KEY2[] = "another secret, just as long....";
#define KEYLEN	32

struct frame {
	uint8_t		 type;
	size_t		 len;
	const uint8_t	*data;
};

static uint8_t *big;	/* MAXF + 1 bytes of a pattern */
static int scratch = -1;

static void
pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 9));
}

static uint64_t
le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static bool
has_frame(const char *msg, int k)
{
	char a[32], b[32];

	snprintf(a, sizeof(a), "frame %d (", k);
	snprintf(b, sizeof(b), "frame %d:", k);
	return strstr(msg, a) != NULL || strstr(msg, b) != NULL;
}

/* ------------------------------------------------------------------ */
/* One-way streams through a scratch file                              */
/* ------------------------------------------------------------------ */

/* The bytes a one-way writer (keyed when @p key) writes for @p fr. */
static uint8_t *
write_oneway(const void *key, const struct frame *fr, int n, size_t *lenp)
{
	ckp_stream_t *w;
	uint8_t *buf;
	off_t end;

	CHECK(ftruncate(scratch, 0) == 0 && lseek(scratch, 0, SEEK_SET) == 0);
	w = ckp_stream_new(scratch, CKP_STREAM_WRITER, key, key ? KEYLEN : 0,
	    CKP_STREAM_ONEWAY, "scratch");
	CHECK(ckp_stream_start(w) == 0);
	for (int i = 0; i < n; i++)
		CHECK(ckp_stream_send(w, fr[i].type, fr[i].data, fr[i].len) == 0);
	CHECK_STR(ckp_stream_errmsg(w), "");
	ckp_stream_free(w);
	end = lseek(scratch, 0, SEEK_END);
	buf = malloc((size_t)end + 1);
	CHECK(buf != NULL && pread(scratch, buf, (size_t)end, 0) == end);
	*lenp = (size_t)end;
	return buf;
}

struct got {
	int	err;		/* what ended the reading */
	int	n;		/* frames received */
	bool	ok;		/* each one as expected */
	char	msg[CKP__ERRMSG_MAX];
};

/*
 * Read the @p len bytes at @p buf as a stream from a file, frame by frame
 * until an error, comparing the frames with @p want.
 */
static struct got
read_bytes(const void *buf, size_t len, const void *key, size_t keylen,
    unsigned flags, const struct frame *want, int nwant)
{
	struct got g = { .ok = true };
	ckp_stream_t *r;
	const void *p;
	uint8_t t;
	size_t l;

	CHECK(ftruncate(scratch, 0) == 0);
	CHECK(len == 0 || pwrite(scratch, buf, len, 0) == (ssize_t)len);
	CHECK(lseek(scratch, 0, SEEK_SET) == 0);
	r = ckp_stream_new(scratch, CKP_STREAM_READER, key, keylen, flags,
	    "mem");
	g.err = ckp_stream_start(r);
	while (g.err == 0) {
		if ((g.err = ckp_stream_recv(r, &t, &p, &l)) != 0)
			break;
		if (g.n >= nwant || t != want[g.n].type ||
		    l != want[g.n].len ||
		    (l > 0 && memcmp(p, want[g.n].data, l) != 0))
			g.ok = false;
		g.n++;
	}
	snprintf(g.msg, sizeof(g.msg), "%s", ckp_stream_errmsg(r));
	/* sticky: the same error again, and the message was there */
	CHECK(ckp_stream_error(r) == g.err && g.msg[0] != '\0');
	CHECK(ckp_stream_recv(r, &t, &p, &l) == g.err);
	ckp_stream_free(r);
	return g;
}

/* ------------------------------------------------------------------ */
/* The example of docs/MIGRATION.md section 2.4, byte for byte        */
/* ------------------------------------------------------------------ */

static void
test_golden(void)
{
	static const uint8_t want[] = {
		/* preamble: "CKPS", version 1, flags 0x0002 (one-way), nonce 0 */
		0x43, 0x4b, 0x50, 0x53, 0x01, 0x00, 0x02, 0x00,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		/* frame 0: type 0x01, len 2, seq 0, "hi", XXH3-64 */
		0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x68, 0x69,
		0x02, 0xb8, 0x03, 0xb8, 0x4d, 0x84, 0x27, 0xfa,
		/* frame 1: type 0x02, len 0, seq 1, XXH3-64 */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x88, 0x38, 0xbe, 0x22, 0x63, 0xcb, 0x54, 0xfb,
	};
	struct frame fr[] = {
		{ 0x01, 2, (const uint8_t *)"hi" },
		{ 0x02, 0, NULL },
	};
	size_t len;
	uint8_t *b = write_oneway(NULL, fr, 2, &len);
	struct got g;

	CHECK(len == sizeof(want));
	CHECK(len == sizeof(want) && memcmp(b, want, len) == 0);
	/* the trailers are XXH3-64 (seed 0) of header || payload */
	CHECK(le(want + 40 + 18, 8) == XXH3_64bits(want + 40, 18));
	CHECK(le(want + 40 + 26 + 16, 8) == XXH3_64bits(want + 40 + 26, 16));
	if (len != sizeof(want) || memcmp(b, want, len) != 0) {
		fprintf(stderr, "golden: got");
		for (size_t i = 0; i < len; i++)
			fprintf(stderr, " %02x", b[i]);
		fprintf(stderr, "\n");
	}
	g = read_bytes(want, sizeof(want), NULL, 0, CKP_STREAM_ONEWAY, fr, 2);
	CHECK(g.err == -ENODATA && g.n == 2 && g.ok);
	CHECK_STR(g.msg, "stream mem: end of stream after 2 frames");
	free(b);
}

/* ------------------------------------------------------------------ */
/* The keyed encoding, from docs/MIGRATION.md section 3 alone          */
/* ------------------------------------------------------------------ */

static void
hmac256(const void *k, size_t kl, const void *d, size_t dl, uint8_t out[32])
{
	unsigned ol = 32;

	CHECK(HMAC(EVP_sha256(), k, (int)kl, d, dl, out, &ol) != NULL &&
	    ol == 32);
}

/* RFC 5869 HKDF with SHA-256, written out (up to 64 bytes of output). */
static void
hkdf(const void *salt, size_t sl, const void *ikm, size_t il,
    const void *info, size_t infol, uint8_t *out, size_t outlen)
{
	uint8_t prk[32], t[32 + 64 + 1], blk[32];
	size_t tl = 0, done = 0;

	hmac256(salt, sl, ikm, il, prk);
	for (uint8_t i = 1; done < outlen; i++) {
		memcpy(t + tl, info, infol);
		t[tl + infol] = i;
		hmac256(prk, 32, t, tl + infol + 1, blk);
		memcpy(out + done, blk, outlen - done < 32 ? outlen - done : 32);
		done += 32;
		memcpy(t, blk, 32);
		tl = 32;
	}
}

static void
test_hkdf_vector(void)
{
	/* RFC 5869, A.1 */
	uint8_t ikm[22], salt[13], info[10], okm[42];
	static const uint8_t want[42] = {
		0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43,
		0x4f, 0x64, 0xd0, 0x36, 0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90,
		0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56, 0xec, 0xc4,
		0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18,
		0x58, 0x65,
	};

	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	hkdf(salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info), okm,
	    sizeof(okm));
	CHECK(memcmp(okm, want, sizeof(want)) == 0);
}

/* The key of direction @p role ("writer", "reader") from both preambles. */
static void
dir_key(const uint8_t *pre_w, const uint8_t *pre_r, const char *secret,
    const char *role, uint8_t key[32])
{
	uint8_t salt[80];
	char info[64];

	memcpy(salt, pre_w, 40);
	memcpy(salt + 40, pre_r, 40);
	snprintf(info, sizeof(info), "ckp stream v1 %s", role);
	hkdf(salt, 80, secret, strlen(secret), info, strlen(info), key, 32);
}

/* Seal or open (@p enc) frame @p hdr's payload as section 3 says. */
static bool
gcm(bool enc, const uint8_t key[32], const uint8_t hdr[16],
    const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t iv[12] = { 0 };
	int ol;
	bool ok;

	memcpy(iv + 4, hdr + 8, 8);	/* 4 zero bytes || seq, little-endian */
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1 &&
	    EVP_CipherUpdate(c, NULL, &ol, hdr, 16) == 1 &&
	    (len == 0 || EVP_CipherUpdate(c, out, &ol, in, (int)len) == 1) &&
	    (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1) &&
	    EVP_CipherFinal_ex(c, out + len, &ol) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* A one-way keyed stream in a file, opened with keys derived here. */
static void
test_keyed_oneway_interop(void)
{
	static const char msg[] = "guest memory, in confidence";
	struct frame fr[] = {
		{ 0x10, sizeof(msg), (const uint8_t *)msg },
		{ 0x11, 0, NULL },
	};
	uint8_t zeros[40] = { 0 }, key[32], out[64], hdr[16];
	size_t len, off;
	uint8_t *b = write_oneway(KEY, fr, 2, &len);

	CHECK(len == 40 + (16 + sizeof(msg) + 16) + (16 + 0 + 16));
	CHECK(memcmp(b, "CKPS\1\0\3\0", 8) == 0);	/* keyed | one-way */
	CHECK(memcmp(b + 8, zeros, 32) != 0);		/* a random nonce */
	dir_key(b, zeros, KEY, "writer", key);
	off = 40;
	for (int i = 0; i < 2; i++) {
		memcpy(hdr, b + off, 16);
		CHECK(hdr[0] == fr[i].type && le(hdr + 4, 4) == fr[i].len &&
		    le(hdr + 8, 8) == (uint64_t)i);
		CHECK(gcm(false, key, hdr, b + off + 16, fr[i].len, out,
		    b + off + 16 + fr[i].len));
		CHECK(fr[i].len == 0 || memcmp(out, fr[i].data, fr[i].len) == 0);
		/* the payload on the wire is not the plain text */
		CHECK(fr[i].len == 0 || memcmp(b + off + 16, msg, 8) != 0);
		off += 16 + fr[i].len + 16;
	}
	/* the reader's key does not open the writer's frames */
	dir_key(b, zeros, KEY, "reader", key);
	memcpy(hdr, b + 40, 16);
	CHECK(!gcm(false, key, hdr, b + 56, sizeof(msg), out,
	    b + 56 + sizeof(msg)));
	free(b);
}

/*
 * Two-way and keyed: this test is the writer, written from the document,
 * against libckp's reader over a socket pair; the reader answers with a
 * frame of its own, which the test opens with the "reader" key.
 */
static void
test_keyed_twoway_interop(void)
{
	static const char msg[] = "state";
	uint8_t pw[40], pr[40], kw[32], kr[32], hdr[16], ct[64], tag[16];
	uint8_t pt[64];
	ckp_stream_t *r;
	const void *p;
	uint8_t t;
	size_t l;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	/* what the test reads itself fails rather than hangs */
	struct timeval tv = { .tv_sec = 5 };
	CHECK(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	memcpy(pw, "CKPS\1\0\1\0", 8);
	for (int i = 0; i < 32; i++)
		pw[8 + i] = (uint8_t)(0xa0 + i);
	CHECK(write(sv[1], pw, 40) == 40);
	r = ckp_stream_new(sv[0], CKP_STREAM_READER, KEY, KEYLEN, 0, "pair");
	CHECK(ckp_stream_start(r) == 0);
	CHECK(ckp_stream_peer_flags(r) == CKP_STREAM_KEYED);
	CHECK(read(sv[1], pr, 40) == 40);
	CHECK(memcmp(pr, "CKPS\1\0\1\0", 8) == 0);
	dir_key(pw, pr, KEY, "writer", kw);
	dir_key(pw, pr, KEY, "reader", kr);
	CHECK(memcmp(kw, kr, 32) != 0);

	memset(hdr, 0, 16);
	hdr[0] = 0x42;
	hdr[4] = sizeof(msg);
	CHECK(gcm(true, kw, hdr, (const uint8_t *)msg, sizeof(msg), ct, tag));
	CHECK(write(sv[1], hdr, 16) == 16 &&
	    write(sv[1], ct, sizeof(msg)) == (ssize_t)sizeof(msg) &&
	    write(sv[1], tag, 16) == 16);
	CHECK(ckp_stream_recv(r, &t, &p, &l) == 0);
	CHECK(t == 0x42 && l == sizeof(msg) && memcmp(p, msg, l) == 0);

	/* the answer goes the other way: its own key, its own count */
	CHECK(ckp_stream_send(r, 0x43, "ack!", 4) == 0);
	CHECK(read(sv[1], hdr, 16) == 16);
	CHECK(hdr[0] == 0x43 && le(hdr + 4, 4) == 4 && le(hdr + 8, 8) == 0);
	CHECK(read(sv[1], ct, 4 + 16) == 20);
	CHECK(gcm(false, kr, hdr, ct, 4, pt, ct + 4));
	CHECK(memcmp(pt, "ack!", 4) == 0);
	CHECK(!gcm(false, kw, hdr, ct, 4, pt, ct + 4));

	/* a frame sealed with the other direction's key is refused */
	memset(hdr, 0, 16);
	hdr[0] = 0x42;
	hdr[8] = 1;
	CHECK(gcm(true, kr, hdr, (const uint8_t *)"x", 1, ct, tag));
	CHECK(write(sv[1], hdr, 16) == 16 && write(sv[1], ct, 1) == 1 &&
	    write(sv[1], tag, 16) == 16);
	CHECK(ckp_stream_recv(r, &t, &p, &l) == -EBADMSG);
	CHECK_STR(ckp_stream_errmsg(r), "stream pair: frame 1 (type 0x42): "
	    "authentication failed: wrong key, or the stream was changed");
	ckp_stream_free(r);
	close(sv[0]);
	close(sv[1]);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                          */
/* ------------------------------------------------------------------ */

static const size_t rt_sizes[] = { 0, 1, 4095, 65539, MAXF };
#define RT_N	(sizeof(rt_sizes) / sizeof(rt_sizes[0]))
#define RT_ALL	(RT_N + 2)	/* the frames, one sendv, one document */

struct rt {
	int		 fd;
	const void	*key;
	unsigned	 timeout;
	ckp_stream_t	*s;
	int		 acks;
	int		 err;
	uint64_t	 sent, received;
};

/* The writer's side: acknowledgements arrive while frames are sent. */
static void *
rt_acks(void *arg)
{
	struct rt *a = arg;
	const void *p;
	uint8_t t;
	size_t l;

	for (int i = 0; i < (int)RT_ALL; i++) {
		if (ckp_stream_recv(a->s, &t, &p, &l) != 0 || t != 0x7f ||
		    l != 8 || le(p, 8) != (uint64_t)i)
			break;
		a->acks++;
	}
	return NULL;
}

static void *
rt_writer(void *arg)
{
	struct rt *a = arg;
	pthread_t th;
	ckp_doc_t *doc = t_sample_doc();
	/* pieces across the 256 KiB steps a frame is written in */
	ckp_iov_t v[5] = {
		{ big, 3 }, { NULL, 0 }, { big + 3, 262140 },
		{ big + 262143, 300000 }, { big + 562143, 7 },
	};
	const void *p;
	uint8_t t;
	size_t l;

	a->s = ckp_stream_new(a->fd, CKP_STREAM_WRITER, a->key,
	    a->key ? KEYLEN : 0, 0, "to-reader");
	ckp_stream_set_timeout(a->s, a->timeout);
	if ((a->err = ckp_stream_start(a->s)) != 0)
		goto out;
	pthread_create(&th, NULL, rt_acks, a);
	for (size_t i = 0; i < RT_N && a->err == 0; i++)
		a->err = ckp_stream_send(a->s, (uint8_t)(i + 1), big,
		    rt_sizes[i]);
	if (a->err == 0)
		a->err = ckp_stream_sendv(a->s, 0x20, v, 5);
	if (a->err == 0)
		a->err = ckp_stream_send_doc(a->s, 0x21, doc);
	pthread_join(th, NULL);
	shutdown(a->fd, SHUT_WR);
	/* the reader closes its side once it has seen the end: a clean end */
	if (a->err == 0 && ckp_stream_recv(a->s, &t, &p, &l) != -ENODATA)
		a->err = -1;
out:
	ckp_stream_counters(a->s, &a->sent, &a->received);
	if (a->err != 0)
		fprintf(stderr, "writer: %s\n", ckp_stream_errmsg(a->s));
	ckp_stream_free(a->s);
	ckp_doc_free(doc);
	return NULL;
}

static void
round_trip(const char *what, const void *key, bool nonblock, unsigned timeout)
{
	struct rt a = { .key = key, .timeout = timeout };
	ckp_doc_t *doc = t_sample_doc(), *d;
	ckp_stream_t *r;
	pthread_t th;
	uint64_t sent, received;
	const void *p;
	uint8_t t, ack[8];
	size_t l;
	int sv[2], n = 0, err;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	if (nonblock) {
		fcntl(sv[0], F_SETFL, O_NONBLOCK);
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
	}
	a.fd = sv[1];
	pthread_create(&th, NULL, rt_writer, &a);
	r = ckp_stream_new(sv[0], CKP_STREAM_READER, key, key ? KEYLEN : 0, 0,
	    "from-writer");
	ckp_stream_set_timeout(r, timeout);
	CHECK(ckp_stream_start(r) == 0);
	CHECK(ckp_stream_peer_flags(r) == (key ? CKP_STREAM_KEYED : 0));
	while ((err = ckp_stream_recv(r, &t, &p, &l)) == 0) {
		if ((size_t)n < RT_N) {
			CHECK(t == n + 1 && l == rt_sizes[n]);
			CHECK(l == rt_sizes[n] && memcmp(p, big, l) == 0);
		} else if ((size_t)n == RT_N) {
			CHECK(t == 0x20 && l == 562150 && memcmp(p, big, l) == 0);
		} else {
			CHECK(t == 0x21);
			d = ckp_doc_decode(p, l, "frame", 0);
			CHECK(ckp_doc_error(d) == 0);
			CHECK(ckp_doc_encoding(d) == CKP_ENC_BIN);
			CHECK(ckp__sec_equal(ckp_doc_root(d), ckp_doc_root(doc)));
			ckp_doc_free(d);
		}
		for (int i = 0; i < 8; i++)
			ack[i] = (uint8_t)((uint64_t)n >> (8 * i));
		CHECK(ckp_stream_send(r, 0x7f, ack, 8) == 0);
		n++;
	}
	CHECK(err == -ENODATA && n == (int)RT_ALL);
	CHECK_STR(ckp_stream_errmsg(r),
	    "stream from-writer: end of stream after 7 frames");
	shutdown(sv[0], SHUT_WR);
	pthread_join(th, NULL);
	CHECK(a.err == 0 && a.acks == (int)RT_ALL);
	ckp_stream_counters(r, &sent, &received);
	CHECK(sent == a.received && received == a.sent);
	/* preambles, and per frame a header, the payload and a trailer */
	size_t want = 40, tr = key ? 16 : 8;
	for (size_t i = 0; i < RT_N; i++)
		want += 16 + rt_sizes[i] + tr;
	want += 16 + 562150 + tr;
	CHECK(received > want + 16 + tr && sent == 40 + RT_ALL * (16 + 8 + tr));
	printf("round trip %s: %d frames, %llu bytes\n", what, n,
	    (unsigned long long)received);
	ckp_stream_free(r);
	ckp_doc_free(doc);
	close(sv[0]);
	close(sv[1]);
}

struct pw {
	int		 fd;
	const void	*key;
	int		 err;
};

static void *
pipe_writer(void *arg)
{
	struct pw *a = arg;
	ckp_stream_t *w = ckp_stream_new(a->fd, CKP_STREAM_WRITER, a->key,
	    a->key ? KEYLEN : 0, CKP_STREAM_ONEWAY, "pipe");

	a->err = ckp_stream_start(w);
	for (size_t i = 0; i < RT_N && a->err == 0; i++)
		a->err = ckp_stream_send(w, (uint8_t)(i + 1), big, rt_sizes[i]);
	ckp_stream_free(w);
	close(a->fd);
	return NULL;
}

/* One-way through a pipe (bigger frames than it holds: short writes). */
static void
pipe_trip(const void *key, bool nonblock)
{
	struct pw a = { .key = key };
	ckp_stream_t *r;
	pthread_t th;
	const void *p;
	uint8_t t;
	size_t l;
	int pf[2], n = 0, err;

	CHECK(pipe(pf) == 0);
	if (nonblock) {
		fcntl(pf[0], F_SETFL, O_NONBLOCK);
		fcntl(pf[1], F_SETFL, O_NONBLOCK);
	}
	a.fd = pf[1];
	pthread_create(&th, NULL, pipe_writer, &a);
	r = ckp_stream_new(pf[0], CKP_STREAM_READER, key, key ? KEYLEN : 0,
	    CKP_STREAM_ONEWAY, "<stdin>");
	CHECK(ckp_stream_start(r) == 0);
	CHECK(ckp_stream_peer_flags(r) ==
	    (CKP_STREAM_ONEWAY | (key ? CKP_STREAM_KEYED : 0)));
	while ((err = ckp_stream_recv(r, &t, &p, &l)) == 0) {
		CHECK((size_t)n < RT_N && t == n + 1 && l == rt_sizes[n] &&
		    memcmp(p, big, l) == 0);
		n++;
	}
	CHECK(err == -ENODATA && n == (int)RT_N);
	/* one-way: the reader answers nothing and cannot send */
	CHECK_STR(ckp_stream_errmsg(r),
	    "stream <stdin>: end of stream after 5 frames");
	pthread_join(th, NULL);
	CHECK(a.err == 0);
	ckp_stream_free(r);
	close(pf[0]);
}

/* ------------------------------------------------------------------ */
/* Damage                                                               */
/* ------------------------------------------------------------------ */

static uint8_t f33[33];
static const struct frame three[] = {
	{ 0x01, 0, NULL },
	{ 0x10, 5, (const uint8_t *)"hello" },
	{ 0xff, 33, f33 },
};

/* Where each frame of @p fr starts in its stream; [n] is the end. */
static void
frame_offsets(const struct frame *fr, int n, bool keyed, size_t *off)
{
	off[0] = 40;
	for (int i = 0; i < n; i++)
		off[i + 1] = off[i] + 16 + fr[i].len + (keyed ? 16 : 8);
}

static void
test_flips(const void *key)
{
	size_t len, off[4];
	uint8_t *b = write_oneway(key, three, 3, &len);
	int bad = 0;

	frame_offsets(three, 3, key != NULL, off);
	CHECK(len == off[3]);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct got g;
			int k = 0;
			bool good;

			b[i] ^= (uint8_t)(1u << bit);
			g = read_bytes(b, len, key, key ? KEYLEN : 0,
			    CKP_STREAM_ONEWAY, three, 3);
			b[i] ^= (uint8_t)(1u << bit);
			while (k < 3 && i >= off[k + 1])
				k++;
			good = g.err != 0 && g.err != -ENODATA && g.ok;
			if (i < 40) {
				good = good && g.n == 0;
				if (i < 4)
					good = good && strstr(g.msg,
					    "not a checkpoint stream") != NULL;
				else if (i < 6)
					good = good && g.err == -EPROTONOSUPPORT &&
					    strstr(g.msg, "this libckp reads 1");
				else if (i == 6 && bit == 0)
					good = good && g.err == -EACCES;
				else if (i == 6 && bit == 1)
					good = good && strstr(g.msg,
					    "a two-way stream");
				else if (i < 8)
					good = good && strstr(g.msg,
					    "unknown flags");
				else if (key == NULL)
					good = good && strstr(g.msg,
					    "non-zero nonce");
				else	/* the keys depend on the nonce */
					good = good && strstr(g.msg,
					    "frame 0 (type 0x01): authentication failed");
			} else if (i < off[k] + 16) {
				/* a header: some check of frame k */
				good = good && g.n == k && has_frame(g.msg, k);
			} else {
				char want[128];

				snprintf(want, sizeof(want),
				    "frame %d (type 0x%02x): %s", k,
				    three[k].type, key ? "authentication "
				    "failed: wrong key, or the stream was "
				    "changed" : "checksum mismatch");
				good = good && g.n == k && g.err == -EBADMSG &&
				    strstr(g.msg, want) != NULL;
			}
			if (!good && bad++ < 5)
				fprintf(stderr, "flip byte %zu bit %d: %d "
				    "frames, %d: %s\n", i, bit, g.n, g.err,
				    g.msg);
		}
	}
	CHECK(bad == 0);
	printf("%s: each of the %zu bits flipped is refused at its frame\n",
	    key ? "keyed" : "unkeyed", len * 8);
	free(b);
}

static void
test_truncation(const void *key)
{
	size_t len, off[4];
	uint8_t *b = write_oneway(key, three, 3, &len);
	int bad = 0;

	frame_offsets(three, 3, key != NULL, off);
	for (size_t cut = 0; cut <= len; cut++) {
		struct got g = read_bytes(b, cut, key, key ? KEYLEN : 0, 0,
		    three, 3);
		int k = 0;
		bool good;
		char want[128];

		while (k < 3 && cut >= off[k + 1])
			k++;
		good = g.ok;
		if (cut == 0) {
			good = good && g.err == -EPROTO && g.n == 0 &&
			    strcmp(g.msg, "stream mem: empty: no preamble") == 0;
		} else if (cut < 40) {
			snprintf(want, sizeof(want), "stream mem: truncated "
			    "inside the preamble (%zu of 40 bytes)", cut);
			good = good && g.err == -EPROTO && g.n == 0 &&
			    strcmp(g.msg, want) == 0;
		} else if (cut == off[k]) {
			snprintf(want, sizeof(want), "stream mem: end of "
			    "stream after %d frames", k);
			good = good && g.err == -ENODATA && g.n == k &&
			    strcmp(g.msg, want) == 0;
		} else {
			snprintf(want, sizeof(want), "truncated inside frame "
			    "%d ", k);
			good = good && g.err == -EPROTO && g.n == k &&
			    strstr(g.msg, want) != NULL;
		}
		if (!good && bad++ < 5)
			fprintf(stderr, "cut at %zu: %d frames, %d: %s\n", cut,
			    g.n, g.err, g.msg);
	}
	CHECK(bad == 0);
	printf("%s: each of the %zu cuts is a clean end exactly between "
	    "frames and truncation elsewhere\n", key ? "keyed" : "unkeyed",
	    len + 1);
	free(b);
}

/* Frames repeated, reordered, dropped, or taken from another session. */
static void
test_splices(const void *key)
{
	size_t len, len2, off[4], n = 0;
	uint8_t *b = write_oneway(key, three, 3, &len);
	uint8_t *o = write_oneway(key, three, 3, &len2);
	uint8_t *s = malloc(2 * len);
	struct got g;
	size_t kl = key ? KEYLEN : 0;

#define PUT(from, a, z) do { memcpy(s + n, (from) + (a), (z) - (a)); n += (z) - (a); } while (0)
	frame_offsets(three, 3, key != NULL, off);
	/* frame 1 twice */
	n = 0;
	PUT(b, 0, off[2]);
	PUT(b, off[1], off[3]);
	g = read_bytes(s, n, key, kl, 0, three, 3);
	CHECK(g.err == -EBADMSG && g.n == 2 && g.ok);
	CHECK_HAS(g.msg, "stream mem: frame 2 (type 0x10): sequence number 1, "
	    "expected 2 (a lost, repeated or reordered frame)");
	/* frames 1 and 2 swapped */
	n = 0;
	PUT(b, 0, off[1]);
	PUT(b, off[2], off[3]);
	PUT(b, off[1], off[2]);
	g = read_bytes(s, n, key, kl, 0, three, 3);
	CHECK(g.err == -EBADMSG && g.n == 1 && g.ok);
	CHECK_HAS(g.msg, "frame 1 (type 0xff): sequence number 2, expected 1");
	/* frame 1 dropped */
	n = 0;
	PUT(b, 0, off[1]);
	PUT(b, off[2], off[3]);
	g = read_bytes(s, n, key, kl, 0, three, 3);
	CHECK(g.err == -EBADMSG && g.n == 1 && g.ok);
	CHECK_HAS(g.msg, "frame 1 (type 0xff): sequence number 2, expected 1");
	/* frame 1 of another session, in its place */
	n = 0;
	PUT(b, 0, off[1]);
	PUT(o, off[1], off[2]);
	PUT(b, off[2], off[3]);
	g = read_bytes(s, n, key, kl, 0, three, 3);
	if (key != NULL) {
		/* its key was another: fresh nonces, fresh keys */
		CHECK(g.err == -EBADMSG && g.n == 1 && g.ok);
		CHECK_HAS(g.msg, "frame 1 (type 0x10): authentication failed");
	} else {
		/* without a key, the same frame is the same bytes */
		CHECK(memcmp(b, o, len) == 0);
		CHECK(g.err == -ENODATA && g.n == 3 && g.ok);
	}
#undef PUT
	free(s);
	free(o);
	free(b);
}

static void
test_preambles(void)
{
	struct frame fr[] = { { 0x01, 2, (const uint8_t *)"hi" } };
	size_t len;
	uint8_t *u = write_oneway(NULL, fr, 1, &len), *k;
	size_t klen;
	struct got g;

	k = write_oneway(KEY, fr, 1, &klen);
	u[4] = 2;
	g = read_bytes(u, len, NULL, 0, 0, fr, 1);
	CHECK(g.err == -EPROTONOSUPPORT);
	CHECK_STR(g.msg, "stream mem: version 2, this libckp reads 1");
	u[4] = 1;
	u[6] = 0x06;
	g = read_bytes(u, len, NULL, 0, 0, fr, 1);
	CHECK(g.err == -EPROTONOSUPPORT);
	CHECK_STR(g.msg, "stream mem: unknown flags 0x0004 in the preamble "
	    "(version 1 knows 0x0003)");
	u[6] = 0x02;
	u[7] = 0x80;
	g = read_bytes(u, len, NULL, 0, 0, fr, 1);
	CHECK(g.err == -EPROTONOSUPPORT);
	CHECK_HAS(g.msg, "unknown flags 0x8000");
	u[7] = 0;
	g = read_bytes("hello, world: no stream at all", 30, NULL, 0, 0, fr, 1);
	CHECK(g.err == -EBADMSG);
	CHECK_STR(g.msg, "stream mem: not a checkpoint stream: it begins with "
	    "68 65 6c 6c, not \"CKPS\"");

	/* keys: missing, unexpected, wrong */
	g = read_bytes(k, klen, NULL, 0, 0, fr, 1);
	CHECK(g.err == -EACCES && g.n == 0);
	CHECK_STR(g.msg, "stream mem: keyed stream, but no key was given");
	g = read_bytes(u, len, KEY, KEYLEN, 0, fr, 1);
	CHECK(g.err == -EACCES && g.n == 0);
	CHECK_STR(g.msg, "stream mem: unkeyed stream, but a key was given: it "
	    "would not be authenticated");
	g = read_bytes(k, klen, KEY2, KEYLEN, 0, fr, 1);
	CHECK(g.err == -EBADMSG && g.n == 0);
	CHECK_STR(g.msg, "stream mem: frame 0 (type 0x01): authentication "
	    "failed: wrong key, or the stream was changed");
	g = read_bytes(k, klen, KEY, KEYLEN, 0, fr, 1);
	CHECK(g.err == -ENODATA && g.n == 1 && g.ok);

	/* a one-way reader refuses a writer that waits for an answer */
	u[6] = 0;
	g = read_bytes(u, len, NULL, 0, CKP_STREAM_ONEWAY, fr, 1);
	CHECK(g.err == -EBADMSG);
	CHECK_HAS(g.msg, "a two-way stream (its writer waits for an answer)");
	u[6] = 2;
	free(u);
	free(k);
}

/* Headers that say too much: refused before anything is read or kept. */
static void
test_oversize(void)
{
	uint8_t s[40 + 16];
	struct got g;
	static const uint32_t lens[] = { MAXF + 1, 0xffffffffu };

	memset(s, 0, sizeof(s));
	memcpy(s, "CKPS\1\0\2\0", 8);
	for (int i = 0; i < 2; i++) {
		s[40] = 0x05;
		for (int j = 0; j < 4; j++)
			s[44 + j] = (uint8_t)(lens[i] >> (8 * j));
		g = read_bytes(s, sizeof(s), NULL, 0, 0, NULL, 0);
		CHECK(g.err == -EMSGSIZE && g.n == 0);
		char want[128];
		snprintf(want, sizeof(want), "stream mem: frame 0 (type 0x05): "
		    "frame of %lu bytes, more than the 16777216 allowed",
		    (unsigned long)lens[i]);
		CHECK_STR(g.msg, want);
	}
	/* fields version 1 leaves 0, type 0 */
	s[44] = 1;
	s[45] = s[46] = s[47] = 0;
	s[41] = 1;
	g = read_bytes(s, sizeof(s), NULL, 0, 0, NULL, 0);
	CHECK(g.err == -EBADMSG);
	CHECK_STR(g.msg, "stream mem: frame 0 (type 0x05): flags 0x01 and "
	    "reserved 0x0000 must be 0 in version 1");
	s[41] = 0;
	s[43] = 0x80;
	g = read_bytes(s, sizeof(s), NULL, 0, 0, NULL, 0);
	CHECK(g.err == -EBADMSG);
	CHECK_HAS(g.msg, "reserved 0x8000 must be 0");
	s[43] = 0;
	s[40] = 0;
	g = read_bytes(s, sizeof(s), NULL, 0, 0, NULL, 0);
	CHECK(g.err == -EBADMSG);
	CHECK_STR(g.msg, "stream mem: frame 0: type 0 is invalid");
}

/* ------------------------------------------------------------------ */
/* Misuse, the sticky error, peers that go away or say nothing          */
/* ------------------------------------------------------------------ */

static void
test_sender_checks(void)
{
	ckp_stream_t *w;
	ckp_doc_t *doc;
	uint64_t sent;
	int sv[2];
	ckp_iov_t v[2] = { { big, MAXF }, { big, 1 } };

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "out");
	CHECK(ckp_stream_send(w, 1, "x", 1) == -EINVAL);
	CHECK_STR(ckp_stream_errmsg(w), "stream out: frame 0 (type 0x01): "
	    "sent before ckp_stream_start()");
	CHECK(ckp_stream_start(w) == -EINVAL);	/* sticky */
	ckp_stream_free(w);

	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "out");
	CHECK(ckp_stream_start(w) == 0);
	CHECK(ckp_stream_send(w, 0, "x", 1) == -EINVAL);
	CHECK_STR(ckp_stream_errmsg(w), "stream out: frame 0 (type 0x00): "
	    "type 0 is invalid (types are 1 to 255)");
	CHECK(ckp_stream_send(w, 1, "x", 1) == -EINVAL);
	ckp_stream_free(w);

	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "out");
	CHECK(ckp_stream_start(w) == 0);
	CHECK(ckp_stream_sendv(w, 9, v, 2) == -EMSGSIZE);
	CHECK_STR(ckp_stream_errmsg(w), "stream out: frame 0 (type 0x09): "
	    "frame of 16777217 bytes, more than the 16777216 allowed");
	ckp_stream_counters(w, &sent, NULL);
	CHECK(sent == 40);	/* nothing of the frame went out */
	ckp_stream_free(w);
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "out");
	CHECK(ckp_stream_start(w) == 0);
	v[1].len = MAXF;
	CHECK(ckp_stream_sendv(w, 9, v, 2) == -EMSGSIZE);
	CHECK_HAS(ckp_stream_errmsg(w), "frame of 33554432 bytes");
	ckp_stream_free(w);
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "out");
	CHECK(ckp_stream_start(w) == 0);
	CHECK(ckp_stream_sendv(w, 9, NULL, 1) == -EINVAL);
	CHECK_STR(ckp_stream_errmsg(w), "stream out: frame 0 (type 0x09): no "
	    "pieces");
	ckp_stream_free(w);

	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "out");
	CHECK(ckp_stream_start(w) == 0);
	const void *p;
	uint8_t t;
	size_t l;
	CHECK(ckp_stream_recv(w, &t, &p, &l) == -EINVAL);
	CHECK_STR(ckp_stream_errmsg(w), "stream out: the writer of a one-way "
	    "stream receives nothing");
	ckp_stream_free(w);

	/* a document with an error is not sent */
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "out");
	CHECK(ckp_stream_start(w) == 0);
	doc = ckp_doc_new_empty();
	ckp_sec_add(ckp_doc_root(doc), "bad name", 1);
	CHECK(ckp_stream_send_doc(w, 3, doc) == ckp_doc_error(doc));
	CHECK_HAS(ckp_stream_errmsg(w), "stream out: frame 0 (type 0x03): the "
	    "document is not sent, it has an error: ");
	ckp_doc_free(doc);
	ckp_stream_free(w);

	/* arguments */
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, KEY, 15, 0, NULL);
	CHECK(ckp_stream_start(w) == -EINVAL);
	char want[128];
	snprintf(want, sizeof(want), "stream fd %d: a key of 15 bytes: at "
	    "least 16 are needed", sv[1]);
	CHECK_STR(ckp_stream_errmsg(w), want);
	ckp_stream_free(w);
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0, 0x1, "out");
	CHECK(ckp_stream_start(w) == -EINVAL);
	ckp_stream_free(w);
	w = ckp_stream_new(sv[1], (ckp_stream_role_t)7, NULL, 0, 0, "out");
	CHECK(ckp_stream_start(w) == -EINVAL);
	ckp_stream_free(w);
	w = ckp_stream_new(-1, CKP_STREAM_READER, NULL, 0, 0, "out");
	CHECK(ckp_stream_start(w) == -EBADF);
	ckp_stream_free(w);
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "out");
	CHECK(ckp_stream_start(w) == 0);
	CHECK(ckp_stream_start(w) == -EINVAL);
	CHECK_STR(ckp_stream_errmsg(w), "stream out: started twice");
	ckp_stream_free(w);
	ckp_stream_free(NULL);
	close(sv[0]);
	close(sv[1]);
}

static void
test_peers(void)
{
	ckp_stream_t *s;
	const void *p;
	uint8_t t, pre[40];
	size_t l;
	int sv[2];

	/* the reader went away: EPIPE, not SIGPIPE */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[0]);
	s = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "gone");
	CHECK(ckp_stream_start(s) == -EPIPE);
	CHECK_STR(ckp_stream_errmsg(s), "stream gone: cannot send the "
	    "preamble: Broken pipe");
	ckp_stream_free(s);
	close(sv[1]);

	/* the reader read the preamble and closed without answering */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	s = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0, 0, "refuser");
	CHECK(shutdown(sv[0], SHUT_WR) == 0);
	CHECK(ckp_stream_start(s) == -ECONNRESET);
	CHECK_HAS(ckp_stream_errmsg(s), "stream refuser: the reader closed the "
	    "connection without answering the preamble");
	ckp_stream_free(s);
	close(sv[0]);
	close(sv[1]);

	/* nobody says anything: the timeout, at each place one waits */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	s = ckp_stream_new(sv[0], CKP_STREAM_READER, NULL, 0, 0, "silent");
	ckp_stream_set_timeout(s, 150);
	CHECK(ckp_stream_start(s) == -ETIMEDOUT);
	CHECK_STR(ckp_stream_errmsg(s), "stream silent: cannot read the "
	    "preamble: no progress for 150 ms (timed out)");
	ckp_stream_free(s);

	s = ckp_stream_new(sv[0], CKP_STREAM_WRITER, KEY, KEYLEN, 0, "mute");
	ckp_stream_set_timeout(s, 100);
	CHECK(ckp_stream_start(s) == -ETIMEDOUT);
	CHECK_STR(ckp_stream_errmsg(s), "stream mute: cannot read the reader's "
	    "preamble: no progress for 100 ms (timed out)");
	ckp_stream_free(s);
	close(sv[0]);
	close(sv[1]);

	/* half a frame, then silence */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	memset(pre, 0, sizeof(pre));
	memcpy(pre, "CKPS\1\0\2\0", 8);
	CHECK(write(sv[1], pre, 40) == 40);
	CHECK(write(sv[1], "\x07\0\0\0\x10\0\0\0\0\0\0\0\0\0\0\0abc", 19) == 19);
	s = ckp_stream_new(sv[0], CKP_STREAM_READER, NULL, 0, 0, "stalled");
	ckp_stream_set_timeout(s, 100);
	CHECK(ckp_stream_start(s) == 0);
	CHECK(ckp_stream_recv(s, &t, &p, &l) == -ETIMEDOUT);
	CHECK_STR(ckp_stream_errmsg(s), "stream stalled: frame 0 (type 0x07): "
	    "cannot read: no progress for 100 ms (timed out)");
	ckp_stream_free(s);
	close(sv[0]);
	close(sv[1]);

	/* a reader that stops reading: the send times out, even blocking */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	s = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0,
	    CKP_STREAM_ONEWAY, "full");
	ckp_stream_set_timeout(s, 100);
	CHECK(ckp_stream_start(s) == 0);
	CHECK(ckp_stream_send(s, 1, big, MAXF) == -ETIMEDOUT);
	CHECK_STR(ckp_stream_errmsg(s), "stream full: frame 0 (type 0x01): "
	    "cannot send: no progress for 100 ms (timed out)");
	ckp_stream_free(s);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	char dir[512], path[600];

	alarm(300);	/* a hang is a failure, not a stuck suite */
	if (t_tmpdir(dir, sizeof(dir), "test_ckp_stream") != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/scratch", dir);
	scratch = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(scratch >= 0);
	big = malloc((size_t)MAXF + 1);
	CHECK(big != NULL);
	pattern(big, (size_t)MAXF + 1, 1);
	pattern(f33, sizeof(f33), 2);

	test_golden();
	test_hkdf_vector();
	test_keyed_oneway_interop();
	test_keyed_twoway_interop();
	round_trip("unkeyed", NULL, false, 0);
	round_trip("keyed", KEY, false, 0);
	round_trip("keyed, non-blocking", KEY, true, 0);
	round_trip("unkeyed, non-blocking, timeout", NULL, true, 10000);
	round_trip("keyed, blocking, timeout", KEY, false, 10000);
	pipe_trip(NULL, false);
	pipe_trip(KEY, true);
	test_flips(NULL);
	test_flips(KEY);
	test_truncation(NULL);
	test_truncation(KEY);
	test_splices(NULL);
	test_splices(KEY);
	test_preambles();
	test_oversize();
	test_sender_checks();
	test_peers();

	free(big);
	close(scratch);
	t_rmdir(dir);
	TEST_END();
}
