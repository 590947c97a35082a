/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A program of someone else's that sends checkpoint stream frames through
 * an installed libckp, unkeyed and keyed, one-way into a file and back.
 * tests/e2e/libckp_install.sh builds it against a libckp with libcrypto
 * (the default: both kinds work) and one built with `make lib
 * CKP_CRYPTO=0` (the unkeyed stream works, a key is refused with -ENOTSUP
 * and a message that says why), and checks what it prints.
 */
#define _POSIX_C_SOURCE 200809L
#include <ckp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char key[32] = "a shared secret of 32 bytes....";

/* Write one frame to @p path and read it back: 0 or a negative errno. */
static int
roundtrip(const char *path, const void *k, size_t klen, char *msg, size_t len)
{
	const char text[] = "frame";
	ckp_stream_t *w = NULL, *r = NULL;
	const void *p;
	size_t n;
	uint8_t t;
	int fd, err;

	msg[0] = '\0';
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		return -errno;
	if ((w = ckp_stream_new(fd, CKP_STREAM_WRITER, k, klen,
	    CKP_STREAM_ONEWAY, "writer")) == NULL) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = ckp_stream_start(w)) != 0 ||
	    (err = ckp_stream_send(w, 1, text, sizeof(text))) != 0) {
		snprintf(msg, len, "%s", ckp_stream_errmsg(w));
		goto out;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		err = -errno;
		goto out;
	}
	if ((r = ckp_stream_new(fd, CKP_STREAM_READER, k, klen,
	    CKP_STREAM_ONEWAY, "reader")) == NULL) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = ckp_stream_start(r)) != 0 ||
	    (err = ckp_stream_recv(r, &t, &p, &n)) != 0) {
		snprintf(msg, len, "%s", ckp_stream_errmsg(r));
		goto out;
	}
	if (t != 1 || n != sizeof(text) || memcmp(p, text, n) != 0) {
		snprintf(msg, len, "another frame came back");
		err = -EBADMSG;
	}
out:
	ckp_stream_free(r);
	ckp_stream_free(w);
	close(fd);
	return err;
}

int
main(int argc, char **argv)
{
	char msg[512];
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: ckp_streams FILE\n");
		return 2;
	}
	err = roundtrip(argv[1], NULL, 0, msg, sizeof(msg));
	printf("unkeyed: %s%s%s\n", err == 0 ? "ok" : strerror(-err),
	    msg[0] != '\0' ? ": " : "", msg);
	err = roundtrip(argv[1], key, sizeof(key), msg, sizeof(msg));
	printf("keyed: %s%s%s\n", err == 0 ? "ok" : strerror(-err),
	    msg[0] != '\0' ? ": " : "", msg);
	return 0;
}
