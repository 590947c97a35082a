/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: the checkpoint stream's reader (lib/ckp/stream.c).
 * The first byte picks what the rest is:
 *   0, 1  bytes read as a stream by an unkeyed reader (0) or by one with a
 *         fixed key (1), frame after frame until an error;
 *   2, 3  frames for a writer (unkeyed, keyed) and one change to the bytes
 *         it writes (a flipped bit, a cut, a byte inserted or removed), so
 *         that checksums and tags are right and the checks behind them are
 *         reached.  Whatever frames the reader returns must be the ones
 *         sent, in order; a stream with a flipped bit must be refused.
 * Never a crash, a leak, or an error without a one-line message.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"

static const char key[] = "fuzzing key, 32 bytes long......";

struct sent {
	uint8_t		 type;
	size_t		 len;
	const uint8_t	*data;
};

/* A socket pair holding @p len bytes for its reading end, then EOF. */
static int
feed(const uint8_t *d, size_t len, int sv[2])
{
	int sz = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (len > 0) {
		ssize_t r = write(sv[1], d, len);
		if (r <= 0) {
			close(sv[0]);
			close(sv[1]);
			return -1;	/* does not fit: not an input for this */
		}
		d += r;
		len -= (size_t)r;
	}
	shutdown(sv[1], SHUT_WR);
	return 0;
}

/*
 * Read frames until an error; with @p want, check them against it.
 * @return the number of frames read, *@p errp the error.
 */
static int
read_all(int fd, bool keyed, unsigned flags, const struct sent *want,
    int nwant, int *errp)
{
	ckp_stream_t *r = ckp_stream_new(fd, CKP_STREAM_READER,
	    keyed ? key : NULL, keyed ? 32 : 0, flags, "fuzz");
	const void *p;
	const char *m;
	uint8_t t;
	size_t l;
	int err, n = 0;

	FUZZ_ASSERT(r != NULL);
	err = ckp_stream_start(r);
	while (err == 0 && (err = ckp_stream_recv(r, &t, &p, &l)) == 0) {
		FUZZ_ASSERT(t != 0 && l <= CKP_STREAM_MAX_FRAME);
		if (want != NULL) {
			FUZZ_ASSERT(n < nwant && t == want[n].type &&
			    l == want[n].len);
			FUZZ_ASSERT(l == 0 || memcmp(p, want[n].data, l) == 0);
		}
		n++;
	}
	m = ckp_stream_errmsg(r);
	FUZZ_ASSERT(err < 0 && ckp_stream_error(r) == err);
	FUZZ_ASSERT(m[0] != '\0' && strchr(m, '\n') == NULL);
	ckp_stream_free(r);
	*errp = err;
	return n;
}

static void
raw(const uint8_t *d, size_t len, bool keyed)
{
	int sv[2], err;

	if (feed(d, len, sv) != 0)
		return;
	read_all(sv[0], keyed, 0, NULL, 0, &err);
	close(sv[0]);
	close(sv[1]);
}

static void
structured(const uint8_t *d, size_t len, bool keyed)
{
	struct sent fr[8];
	uint8_t *out = NULL, *mut;
	size_t olen = 0, cap = 0, at;
	int nfr, sv[2], err, n;
	uint8_t kind, bit;
	ckp_stream_t *w;

	if (len < 5)
		return;
	kind = d[0] % 5;	/* 0 none, 1 flip, 2 cut, 3 insert, 4 remove */
	at = (size_t)d[1] | (size_t)d[2] << 8;
	bit = d[3] & 7;
	nfr = d[4] % 8;
	d += 5;
	len -= 5;
	for (int i = 0; i < nfr; i++) {
		size_t l = 0;

		fr[i].type = 1;
		if (len >= 2) {
			l = d[0];
			fr[i].type = d[1] != 0 ? d[1] : 1;
			d += 2;
			len -= 2;
		}
		if (l > len)
			l = len;
		fr[i].len = l;
		fr[i].data = d;
		d += l;
		len -= l;
	}

	/* what the writer writes, gathered from a socket pair */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return;
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, keyed ? key : NULL,
	    keyed ? 32 : 0, CKP_STREAM_ONEWAY, "fuzz-writer");
	FUZZ_ASSERT(w != NULL && ckp_stream_start(w) == 0);
	for (int i = 0; i < nfr; i++)
		FUZZ_ASSERT(ckp_stream_send(w, fr[i].type, fr[i].data,
		    fr[i].len) == 0);
	ckp_stream_free(w);
	close(sv[1]);
	for (;;) {
		if (cap - olen < 4096) {
			cap = cap * 2 + 8192;
			out = realloc(out, cap + 1);
			FUZZ_ASSERT(out != NULL);
		}
		ssize_t r = read(sv[0], out + olen, cap - olen);
		FUZZ_ASSERT(r >= 0);
		if (r == 0)
			break;
		olen += (size_t)r;
	}
	close(sv[0]);

	mut = out;
	if (olen > 0)
		at %= olen;
	switch (kind) {
	case 1:
		mut[at] ^= (uint8_t)(1u << bit);
		break;
	case 2:
		olen = at;
		break;
	case 3:
		memmove(mut + at + 1, mut + at, olen - at);
		mut[at] = 0x5a;
		olen++;
		break;
	case 4:
		if (olen > 0) {
			memmove(mut + at, mut + at + 1, olen - at - 1);
			olen--;
		}
		break;
	}
	if (feed(mut, olen, sv) != 0) {
		free(out);
		return;
	}
	n = read_all(sv[0], keyed, CKP_STREAM_ONEWAY, fr, nfr, &err);
	close(sv[0]);
	close(sv[1]);
	if (kind == 0)
		FUZZ_ASSERT(err == -ENODATA && n == nfr);
	/*
	 * A changed bit is never a valid stream, neither is an extra byte
	 * (but a keyed preamble is authenticated by the first frame: with
	 * no frame, a changed nonce goes unseen).
	 */
	if (kind == 3 || (kind == 1 && (nfr > 0 || !keyed)))
		FUZZ_ASSERT(err != -ENODATA || n < nfr);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
	case 1:
		raw(data + 1, size - 1, data[0] % 4 == 1);
		break;
	default:
		structured(data + 1, size - 1, data[0] % 4 == 3);
		break;
	}
	return 0;
}
