/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The control socket's request line without a socket (docs/CONTROL.md):
 * framing as the bytes arrive (LF, CR LF, a last line at end of input,
 * the length limit, a second request) and parsing (verbs, arguments,
 * encoding options, absolute paths), each refusal with its message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		failures++;						\
	}								\
} while (0)

#define BUF_SIZE	(CTL_LINE_MAX + 64)

static char buf[BUF_SIZE];

/* Frame @s (@n bytes) arriving all at once; @eof: nothing follows. */
static int
frame(const char *s, size_t n, bool eof, size_t *len, char *err,
    size_t errlen)
{
	memcpy(buf, s, n);
	buf[n] = '\0';
	err[0] = '\0';
	return ctl_req_frame(buf, n, eof, len, err, errlen);
}

static void
test_frame(void)
{
	char err[256], big[CTL_LINE_MAX + 2];
	size_t len = 0;

	CHECK(frame("status\n", 7, false, &len, err, sizeof(err)) == 1);
	CHECK(len == 6 && strcmp(buf, "status") == 0);
	CHECK(frame("pause\r\n", 7, false, &len, err, sizeof(err)) == 1);
	CHECK(len == 5 && strcmp(buf, "pause") == 0);
	/* not yet complete, then the client closes: the last line is taken */
	CHECK(frame("resu", 4, false, &len, err, sizeof(err)) == 0);
	CHECK(frame("resume", 6, true, &len, err, sizeof(err)) == 1);
	CHECK(len == 6 && strcmp(buf, "resume") == 0);
	CHECK(frame("\n", 1, false, &len, err, sizeof(err)) == 1 && len == 0);
	CHECK(frame("status\nstatus\n", 14, false, &len, err,
	    sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "one request per connection") != NULL);

	/* CTL_LINE_MAX bytes and a LF is the longest line */
	memset(big, 'x', sizeof(big));
	big[CTL_LINE_MAX] = '\n';
	CHECK(frame(big, CTL_LINE_MAX + 1, false, &len, err,
	    sizeof(err)) == 1 && len == CTL_LINE_MAX);
	big[CTL_LINE_MAX] = 'x';
	big[CTL_LINE_MAX + 1] = '\n';
	CHECK(frame(big, CTL_LINE_MAX + 2, false, &len, err,
	    sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "request longer than 4096 bytes") != NULL);
	/* no LF yet, but already too long: refused before the rest comes */
	CHECK(frame(big, CTL_LINE_MAX + 1, false, &len, err,
	    sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "request longer than 4096 bytes") != NULL);
	CHECK(frame(big, CTL_LINE_MAX, false, &len, err, sizeof(err)) == 0);
}

struct want {
	const char *line;
	int rc;
	enum ctl_verb verb;
	ckp_enc_t enc;
	const char *path;	/* the path, or a part of the message */
};

static void
test_parse(void)
{
	static const struct want w[] = {
		{ "status", 0, CTL_VERB_STATUS, 0, NULL },
		{ "pause", 0, CTL_VERB_PAUSE, 0, NULL },
		{ "resume", 0, CTL_VERB_RESUME, 0, NULL },
		{ "status   ", 0, CTL_VERB_STATUS, 0, NULL },
		{ "suspend /tmp/a.ckp", 0, CTL_VERB_SUSPEND, CKP_ENC_JSON,
		    "/tmp/a.ckp" },
		{ "checkpoint   /d/a b.ckp", 0, CTL_VERB_CHECKPOINT,
		    CKP_ENC_JSON, "/d/a b.ckp" },
		{ "checkpoint encoding=bin /x", 0, CTL_VERB_CHECKPOINT,
		    CKP_ENC_BIN, "/x" },
		{ "suspend encoding=json encoding=conf /x y", 0,
		    CTL_VERB_SUSPEND, CKP_ENC_CONF, "/x y" },
		{ "", -EINVAL, 0, 0, "empty request" },
		{ " status", -EINVAL, 0, 0, "empty request" },
		{ "Status", -EINVAL, 0, 0, "unknown request 'Status'" },
		{ "status now", -EINVAL, 0, 0, "status takes no argument" },
		{ "pause 1", -EINVAL, 0, 0, "pause takes no argument" },
		{ "suspend", -EINVAL, 0, 0, "a checkpoint file name is "
		    "required" },
		{ "checkpoint   ", -EINVAL, 0, 0, "file name is required" },
		{ "checkpoint a.ckp", -EINVAL, 0, 0, "checkpoint path 'a.ckp' "
		    "is not absolute" },
		{ "checkpoint encoding=xml /x", -EINVAL, 0, 0, "unknown "
		    "option 'encoding=xml'" },
		{ "checkpoint encoding=bin", -EINVAL, 0, 0, "file name is "
		    "required" },
	};
	char line[128], err[512];
	struct ctl_req req;
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		int rc;

		snprintf(line, sizeof(line), "%s", w[i].line);
		err[0] = '\0';
		rc = ctl_req_parse(line, strlen(w[i].line), &req, err,
		    sizeof(err));
		if (rc != w[i].rc) {
			fprintf(stderr, "'%s': rc %d, expected %d (%s)\n",
			    w[i].line, rc, w[i].rc, err);
			failures++;
			continue;
		}
		if (rc != 0) {
			if (strstr(err, w[i].path) == NULL) {
				fprintf(stderr, "'%s': message '%s' lacks "
				    "'%s'\n", w[i].line, err, w[i].path);
				failures++;
			}
			continue;
		}
		CHECK(req.verb == w[i].verb);
		if (w[i].path == NULL) {
			CHECK(req.path == NULL);
		} else {
			CHECK(req.enc == w[i].enc);
			CHECK(req.path != NULL && strcmp(req.path,
			    w[i].path) == 0);
		}
	}

	/* a NUL inside the line */
	memcpy(line, "stat\0us", 8);
	CHECK(ctl_req_parse(line, 7, &req, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "contains a NUL byte") != NULL);
}

int
main(void)
{
	test_frame();
	test_parse();
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_ctl: ok\n");
	return 0;
}
