/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Small helpers shared by the libckp unit tests (tests/unit/test_ckp_*.c).
 */
#ifndef TEST_CKP_H
#define TEST_CKP_H

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckp.h"
#include "ckp_impl.h"

static int t_fails;
static int t_checks;

#define CHECK(cond) do {						\
	t_checks++;							\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		t_fails++;						\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *a_ = (a), *b_ = (b);				\
	t_checks++;							\
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {		\
		fprintf(stderr, "%s:%d: CHECK_STR failed: %s\n"		\
		    "   got:  %s\n   want: %s\n", __FILE__, __LINE__, #a,	\
		    a_ ? a_ : "(null)", b_ ? b_ : "(null)");		\
		t_fails++;						\
	}								\
} while (0)

#define CHECK_HAS(hay, needle) do {					\
	const char *h_ = (hay), *n_ = (needle);			\
	t_checks++;							\
	if (h_ == NULL || strstr(h_, n_) == NULL) {			\
		fprintf(stderr, "%s:%d: CHECK_HAS failed: %s\n"		\
		    "   text:     %s\n   expected: %s\n", __FILE__,	\
		    __LINE__, #hay, h_ ? h_ : "(null)", n_);		\
		t_fails++;						\
	}								\
} while (0)

#define TEST_END() do {							\
	printf("%d checks, %d failed\n", t_checks, t_fails);		\
	return t_fails ? 1 : 0;						\
} while (0)

/* Encode @p doc, abort the test on failure; returns the buffer. */
static inline char *
t_encode(ckp_doc_t *doc, ckp_enc_t enc, size_t *lenp)
{
	void *buf;
	int err = ckp_doc_encode(doc, enc, &buf, lenp);

	if (err != 0) {
		fprintf(stderr, "encode %s failed: %s\n", ckp_enc_name(enc),
		    ckp_doc_errmsg(doc));
		exit(1);
	}
	return buf;
}

/* Decode a NUL-terminated text. */
static inline ckp_doc_t *
t_decode(const char *text, unsigned flags)
{
	return ckp_doc_decode(text, strlen(text), "t", flags);
}

/* A document with every type, extremes, empty values and nesting. */
static inline ckp_doc_t *
t_sample_doc(void)
{
	ckp_doc_t *doc = ckp_doc_new_empty();
	ckp_sec_t *r = ckp_doc_root(doc), *s, *v;
	static const uint8_t blob[] = { 0x00, 0xff, 0x10, 0x80, 0x7f, 0x01, 0xfe };

	s = ckp_sec_add(r, "header", 1);
	ckp_sec_add_string(s, "format", "ckp");
	ckp_sec_add_uint32(s, "format_version", 1);
	ckp_sec_add_string(s, "producer", "test 1.0");
	ckp_sec_add_string(s, "created", "2026-11-25T17:45:11Z");
	s = ckp_sec_add(r, "types", 7);
	ckp_sec_add_int8(s, "i8min", INT8_MIN);
	ckp_sec_add_int8(s, "i8max", INT8_MAX);
	ckp_sec_add_int16(s, "i16min", INT16_MIN);
	ckp_sec_add_int16(s, "i16max", INT16_MAX);
	ckp_sec_add_int32(s, "i32min", INT32_MIN);
	ckp_sec_add_int32(s, "i32max", INT32_MAX);
	ckp_sec_add_int64(s, "i64min", INT64_MIN);
	ckp_sec_add_int64(s, "i64max", INT64_MAX);
	ckp_sec_add_int64(s, "i64neg", -26);
	ckp_sec_add_uint8(s, "u8max", UINT8_MAX);
	ckp_sec_add_uint16(s, "u16max", UINT16_MAX);
	ckp_sec_add_uint32(s, "u32max", UINT32_MAX);
	ckp_sec_add_uint64(s, "u64max", UINT64_MAX);
	ckp_sec_add_uint64(s, "u64zero", 0);
	ckp_sec_add_bool(s, "yes", true);
	ckp_sec_add_bool(s, "no", false);
	ckp_sec_add_string(s, "empty", "");
	ckp_sec_add_string(s, "text", " spaces, \"quotes\", \\back\\ \ttab\nnl\r cr \x01\x1f\x7f # = ");
	ckp_sec_add_string(s, "unicode", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad");
	ckp_sec_add_bytes(s, "nobytes", "", 0);
	ckp_sec_add_bytes(s, "b1", blob, 1);
	ckp_sec_add_bytes(s, "b2", blob, 2);
	ckp_sec_add_bytes(s, "b7", blob, sizeof(blob));
	v = ckp_sec_add(r, "devices", 2);
	ckp_sec_add(v, "empty", 0);
	s = ckp_sec_add(v, "vcpu@0", 3);
	ckp_sec_add_uint64(s, "rip", 0xffffffff81085d96ull);
	s = ckp_sec_add(v, "vcpu@1", 3);
	ckp_sec_add_uint64(s, "rip", 0xffffffff81085da0ull);
	s = ckp_sec_add(s, "deep", 4294967295u);
	s = ckp_sec_add(s, "deeper", 1);
	ckp_sec_add_int32(s, "x", -5);
	ckp_sec_add_uint32(v, "after_sections", 9);
	ckp_sec_add_int16(r, "root_field", -300);
	return doc;
}

/*
 * A fresh directory $TMPDIR/NAME.XXXXXX (TMPDIR unset: /tmp) in @p dir:
 * 0, or -1 after saying why.
 */
static inline int
t_tmpdir(char *dir, size_t len, const char *name)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, len, "%s/%s.XXXXXX", t != NULL && *t != '\0' ? t :
	    "/tmp", name);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return -1;
	}
	return 0;
}

/* Remove @p dir and everything in it. */
static inline void
t_rmdir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/*
 * The ckp tool of this build, into @p buf: $BUILD/ckp, else the one beside
 * the test program ($BUILD/tests/test_x -> $BUILD/ckp).  0, or -1 after
 * saying why.
 */
static inline int
t_ckp_tool(const char *argv0, char *buf, size_t len)
{
	const char *b = getenv("BUILD");
	char self[512];

	snprintf(self, sizeof(self), "%s", argv0);
	if (b != NULL)
		snprintf(buf, len, "%s/ckp", b);
	else
		snprintf(buf, len, "%s/../ckp", dirname(self));
	if (access(buf, X_OK) != 0) {
		fprintf(stderr, "%s: not built\n", buf);
		return -1;
	}
	return 0;
}

/*
 * Run `TOOL ARGS` through the shell (ARGS printf-style: quote paths),
 * its standard output and error into @p out.  @return its exit status,
 * -1 when it did not exit.
 */
static inline int
t_run(const char *tool, char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline int
t_run(const char *tool, char *out, size_t size, const char *fmt, ...)
{
	char args[4096], cmd[4096 + 512];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", tool, args);
	fflush(NULL);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	/* Drain what did not fit, so that the command is not killed by SIGPIPE. */
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
