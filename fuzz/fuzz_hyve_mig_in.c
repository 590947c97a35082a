/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: the destination's frame handling (vmm/migrate_in.c)
 * without KVM.  The input is frames, each `type:u8 len:u16 payload`,
 * written by an unkeyed libckp writer (so that the trailers are right and
 * the checks behind them are reached) and read back as hyve's destination
 * reads them: the order of the conversation (mig_in_expect), HELLO's
 * migration section, ROUND/PAGES/ZERO into 2 MiB of "guest RAM" in two
 * segments (heap buffers of the exact size: a write outside is an ASan
 * report), STATE decoded and, at END, RAM checked against its ram
 * section.  Every refusal must carry a message; nothing may crash or leak.
 * What needs a VM (the restore's checks of HELLO and STATE) is fuzzed by
 * fuzz_hyve_devstate and the libckp decoders' targets.
 * (Named fuzz_hyve_* so that fuzz/fuzz.mk links hyve's sources.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ckp.h"
#include "migrate_in.h"


#define SEG	(1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c); \
		abort();						\
	}								\
} while (0)

/* Write the input's frames one-way into a socket pair; -1 if it does not fit. */
static int
feed(const uint8_t *d, size_t len, int sv[2])
{
	ckp_stream_t *w;
	int sz = 4 << 20, n = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	w = ckp_stream_new(sv[1], CKP_STREAM_WRITER, NULL, 0, CKP_STREAM_ONEWAY,
	    "fuzz");
	FUZZ_ASSERT(w != NULL);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (ckp_stream_start(w) != 0)
		goto fail;
	while (len >= 3 && n++ < 64) {
		uint8_t t = d[0] ? d[0] : 1;
		size_t l = (size_t)d[1] | (size_t)d[2] << 8;

		d += 3;
		len -= 3;
		if (l > len)
			l = len;
		if (ckp_stream_send(w, t, d, l) != 0)
			goto fail;
		d += l;
		len -= l;
	}
	ckp_stream_free(w);
	shutdown(sv[1], SHUT_WR);
	return 0;
fail:
	ckp_stream_free(w);
	close(sv[0]);
	close(sv[1]);
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mig_in_phase phase = MIG_IN_HELLO;
	uint8_t *ram[2] = { malloc(SEG), calloc(1, SEG) };
	ckp_ram_seg_t segs[2];
	ckp_ram_rx_t *rx = NULL;
	ckp_doc_t *state = NULL, *doc;
	ckp_stream_t *r;
	ckp_sec_t *mig;
	const void *p;
	uint64_t ram_size;
	char err[1024];
	size_t len;
	uint8_t t;
	int sv[2], rc;

	FUZZ_ASSERT(ram[0] != NULL && ram[1] != NULL);
	memset(ram[0], 0, SEG);
	segs[0] = (ckp_ram_seg_t){ ram[0], 0, SEG };
	segs[1] = (ckp_ram_seg_t){ ram[1], SEG, SEG };
	if (feed(data, size, sv) != 0)
		goto out;
	r = ckp_stream_new(sv[0], CKP_STREAM_READER, NULL, 0, CKP_STREAM_ONEWAY,
	    "fuzz");
	FUZZ_ASSERT(r != NULL);
	FUZZ_ASSERT(ckp_stream_start(r) == 0);
	while (phase != MIG_IN_DONE &&
	    (rc = ckp_stream_recv(r, &t, &p, &len)) == 0) {
		err[0] = '\0';
		if ((rc = mig_in_expect(phase, t, err, sizeof(err))) != 0) {
			FUZZ_ASSERT(rc == -EBADMSG && strncmp(err, "expected ",
			    9) == 0);
			break;
		}
		switch (t) {
		case CKP_FRAME_HELLO:
			doc = ckp_doc_decode(p, len, "HELLO", 0);
			FUZZ_ASSERT(doc != NULL);
			if (ckp_doc_error(doc) == 0) {
				rc = mig_in_check_migration(doc, &mig,
				    &ram_size, err, sizeof(err));
				FUZZ_ASSERT(rc == 0 || err[0] != '\0');
			}
			ckp_doc_free(doc);
			rx = ckp_ram_rx_new(segs, 2);
			FUZZ_ASSERT(rx != NULL);
			phase = MIG_IN_RAM;
			break;
		case CKP_FRAME_ROUND:
		case CKP_FRAME_PAGES:
		case CKP_FRAME_ZERO:
			rc = ckp_ram_rx_frame(rx, t, p, len, err, sizeof(err));
			FUZZ_ASSERT(rc == 0 || err[0] != '\0');
			break;
		case CKP_FRAME_STATE:
			state = ckp_doc_decode(p, len, "STATE", 0);
			FUZZ_ASSERT(state != NULL);
			phase = MIG_IN_END;
			break;
		case CKP_FRAME_END:
			if (ckp_doc_error(state) == 0) {
				rc = ckp_ram_rx_check(rx, state, err,
				    sizeof(err));
				FUZZ_ASSERT(rc == 0 || err[0] != '\0');
			}
			phase = MIG_IN_DONE;
			break;
		}
	}
	ckp_stream_free(r);
	close(sv[0]);
	close(sv[1]);
out:
	ckp_doc_free(state);
	ckp_ram_rx_free(rx);
	free(ram[0]);
	free(ram[1]);
	return 0;
}
