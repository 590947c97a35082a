/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: the control socket's request line (vmm/ctl.c,
 * docs/CONTROL.md), without a socket.  The first byte chooses how the rest
 * arrives (the sizes of the reads hyve would see); it is framed as
 * read_request() does and parsed as serve() does.  The rest is also
 * parsed as one line on its own, which reaches the parser with lines the
 * framing would refuse.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c); \
		abort();						\
	}								\
} while (0)

/* serve()'s buffer */
#define BUF_SIZE	(CTL_LINE_MAX + 64)

static void
parse(char *line, size_t len)
{
	struct ctl_req req;
	char err[2048] = "";
	int rc;

	rc = ctl_req_parse(line, len, &req, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc == -EINVAL);
		FUZZ_ASSERT(err[0] != '\0');
		/* one line, unless the request had several (send_line joins) */
		if (memchr(line, '\n', len) == NULL)
			FUZZ_ASSERT(strchr(err, '\n') == NULL);
		return;
	}
	FUZZ_ASSERT(req.verb >= CTL_VERB_STATUS &&
	    req.verb <= CTL_VERB_MIGRATE_CANCEL);
	if (req.verb == CTL_VERB_SUSPEND || req.verb == CTL_VERB_CHECKPOINT) {
		FUZZ_ASSERT(req.path != NULL);
		FUZZ_ASSERT(req.path > line && req.path < line + len);
		FUZZ_ASSERT(req.path[0] == '/');
		FUZZ_ASSERT(req.path + strlen(req.path) <= line + len);
		FUZZ_ASSERT(req.enc == CKP_ENC_JSON || req.enc == CKP_ENC_BIN ||
		    req.enc == CKP_ENC_CONF);
	} else if (req.verb == CTL_VERB_MIGRATE) {
		/* The address, for messages: inside the line. */
		FUZZ_ASSERT(req.path != NULL);
		FUZZ_ASSERT(req.path >= line && req.path < line + len);
		FUZZ_ASSERT(req.path + strlen(req.path) <= line + len);
		FUZZ_ASSERT(req.key_hex == NULL ||
		    (req.key_hex >= line && req.key_hex < line + len &&
		    strlen(req.key_hex) <= 2 * CTL_MIGRATE_KEY_MAX));
	} else {
		FUZZ_ASSERT(req.path == NULL);
	}
}

/* As read_request(): reads of the sizes @seed picks, then end of input. */
static void
frame(const uint8_t *data, size_t size, uint8_t seed)
{
	char *buf = malloc(BUF_SIZE), err[256] = "";
	size_t used = 0, off = 0, len = 0, step;
	uint32_t x = seed * 2654435761u + 1;
	int rc = 0;

	FUZZ_ASSERT(buf != NULL);
	for (;;) {
		bool eof = off == size;

		if (eof && used == 0)
			break;	/* the client left without a word */
		x = x * 1103515245u + 12345u;
		step = seed == 0 ? BUF_SIZE : 1 + (x >> 16) % (seed + 1u);
		if (step > BUF_SIZE - 1 - used)
			step = BUF_SIZE - 1 - used;
		if (step > size - off)
			step = size - off;
		FUZZ_ASSERT(eof || step > 0);
		memcpy(buf + used, data + off, step);
		used += step;
		off += step;
		rc = ctl_req_frame(buf, used, eof, &len, err, sizeof(err));
		if (rc != 0)
			break;
		FUZZ_ASSERT(!eof);
	}
	if (rc < 0) {
		FUZZ_ASSERT(rc == -EINVAL && err[0] != '\0');
	} else if (rc > 0) {
		FUZZ_ASSERT(len <= CTL_LINE_MAX && buf[len] == '\0');
		FUZZ_ASSERT(memchr(buf, '\n', len) == NULL);
		parse(buf, len);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line;

	if (size == 0)
		return 0;
	frame(data + 1, size - 1, data[0]);
	/* Exactly the bytes, NUL-terminated as the framing leaves a line. */
	if ((line = malloc(size)) == NULL)
		return 0;
	memcpy(line, data + 1, size - 1);
	line[size - 1] = '\0';
	parse(line, size - 1);
	free(line);
	return 0;
}
