/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ckp: read, check, compare, convert and edit checkpoint documents.
 * Exit status: 0 ok, 1 differences found (diff), 2 bad input or usage.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckp.h"
#include "ckps.h"

#define EX_OK	0
#define EX_DIFF	1
#define EX_BAD	2

/*
 * Options that belong to one command (the cmds[] entry that lists the bit
 * owns it).  --no-verify, --max-size, -v and -h apply to every command:
 * -v changes only what show, get and diff print, and the others have
 * always accepted it.
 */
#define OPT_TO		0x1u	/* --to ENC, -t ENC */
#define OPT_RECOVER	0x2u	/* --recover */
#define OPT_KEY		0x4u	/* --migrate-key FILE */

static const struct {
	unsigned	 bit;
	const char	*name;
} cmd_opts[] = {
	{ OPT_TO, "--to" },
	{ OPT_RECOVER, "--recover" },
	{ OPT_KEY, "--migrate-key" },
};

struct opts {
	bool	 noverify;
	bool	 verbose;
	bool	 recover;	/* check: complete or discard an interrupted publish */
	size_t	 max;		/* largest document read; 0: libckp's default */
	const char *to;
	const char *keyfile;	/* --migrate-key: a stream's shared secret */
	unsigned given;		/* OPT_* seen on the command line */
	int	 npos;
	char	**pos;
};

static int cmd_show(struct opts *);
static int cmd_get(struct opts *);
static int cmd_check(struct opts *);
static int cmd_diff(struct opts *);
static int cmd_convert(struct opts *);
static int cmd_set(struct opts *);
static int cmd_rm(struct opts *);
static int cmd_help(struct opts *);

/* The commands: dispatch, usage, help and the options each one takes. */
static const struct cmd {
	const char *name;
	int	  (*run)(struct opts *);
	const char *args;
	const char *help;
	unsigned  opts;		/* OPT_* it takes besides the common ones */
	/*
	 * Which argument (from 1; 0: none) is a value: there "-1", "-1a",
	 * "-8000000000000000" are negative numbers, not options.
	 */
	int	  value_arg;
} cmds[] = {
	{ .name = "show", .run = cmd_show, .args = "[-v] FILE",
	  .help =
	    "Print the whole document as an indented tree with types.\n"
	    "Large byte strings are abbreviated unless -v is given.  Then list\n"
	    "the host paths its configuration names, as 'check' does.  Of a\n"
	    "checkpoint stream (a file beginning \"CKPS\"; --migrate-key K\n"
	    "when keyed), its STATE document, after reading it to the end.",
	  .opts = OPT_KEY },
	{ .name = "get", .run = cmd_get, .args = "FILE PATH",
	  .help =
	    "Print one value as the JSON encoding spells it, without quotes.\n"
	    "PATH joins section and field names with dots, without the type\n"
	    "suffix (devices.vcpu@0.rip).  PATH.$version prints a section's\n"
	    "version; a section's PATH prints its subtree as 'show' does.\n"
	    "Of a checkpoint stream, a value of its STATE document.",
	  .opts = OPT_KEY },
	{ .name = "check", .run = cmd_check, .args = "[--recover] FILE",
	  .help =
	    "Check structure, types, the header and the checksum.  For a\n"
	    "checkpoint (FILE.ckp.meta, or FILE.ckp with its .meta or its\n"
	    "temporaries beside it), check the pair a restore would read: after\n"
	    "an interrupted publish, say what recovery will do (complete it, or\n"
	    "remove leftovers) and check the pair it leaves, changing nothing;\n"
	    "--recover does the recovery first.  Also check the RAM file's size\n"
	    "and checksum, and list the host paths the configuration names\n"
	    "(disk images, console files, tap interfaces, kernel).\n"
	    "A checkpoint stream (a file beginning \"CKPS\"; --migrate-key K\n"
	    "when keyed) is checked whole: its framing, HELLO, the order of\n"
	    "frames, STATE against HELLO, and the RAM the frames carry against\n"
	    "STATE's ram section.",
	  .opts = OPT_RECOVER | OPT_KEY },
	{ .name = "diff", .run = cmd_diff, .args = "[-v] A B",
	  .help =
	    "Print field-level differences, one per line:\n"
	    "  ~ path$type: old -> new    changed value\n"
	    "  ~ path: uint8 1 -> uint16 1  changed type\n"
	    "  ~ path.$version: 1 -> 2    changed section version\n"
	    "  - path$type: value         only in A\n"
	    "  + path$type: value         only in B\n"
	    "Exit 0 when equal, 1 when different.",
	  .opts = OPT_KEY },
	{ .name = "convert", .run = cmd_convert,
	  .args = "--to json|bin|conf IN OUT",
	  .help =
	    "Write IN in another encoding (IN's encoding is detected).  OUT is\n"
	    "replaced atomically; '-' is standard output (and IN '-' standard\n"
	    "input).  With --no-verify, re-seals a hand-edited document.\n"
	    "\n"
	    "Checkpoint streams (docs/MIGRATION.md section 8):\n"
	    "  ckp convert [--migrate-key K] CKP OUT.ckps\n"
	    "  ckp convert --to ckps [--migrate-key K] CKP -\n"
	    "writes checkpoint CKP (FILE.ckp or FILE.ckp.meta) as the one-way\n"
	    "stream hyve's source would send, keyed with the secret in file K;\n"
	    "  ckp convert [--migrate-key K] [--to json|bin|conf] IN.ckps CKP\n"
	    "reads a stream (a file beginning \"CKPS\"), checks every frame and\n"
	    "the RAM against its STATE, and publishes checkpoint CKP (its meta\n"
	    "in the --to encoding, default json), or nothing.",
	  .opts = OPT_TO | OPT_KEY },
	{ .name = "set", .run = cmd_set, .args = "FILE PATH[$type] VALUE",
	  .help =
	    "Change one field in place, keeping its type and the file's encoding;\n"
	    "the checksum is recomputed and the file replaced atomically.\n"
	    "PATH$type adds the field when missing (and missing sections, with\n"
	    "version 1).  PATH.$version VALUE changes a section's version.",
	  .value_arg = 3 },
	{ .name = "rm", .run = cmd_rm, .args = "FILE PATH",
	  .help =
	    "Remove a field or a whole section, in place (atomically)." },
	{ .name = "help", .run = cmd_help, .args = "[COMMAND]",
	  .help =
	    "Describe a command." },
};

static void
usage_all(FILE *f)
{
	fprintf(f, "usage: ckp [--no-verify] [--max-size SIZE] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  ckp %-8s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "\n--no-verify reads documents whose checksum is missing or wrong.\n"
	    "--max-size SIZE reads documents up to SIZE bytes (K, M, G suffixes;\n"
	    "default 256M).  'ckp help COMMAND' describes a command.  Exit status:\n"
	    "0 ok, 1 differences found, 2 bad input or usage.\n");
}

static const struct cmd *
find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static int
usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
usage_error(const char *cmd, const char *fmt, ...)
{
	const struct cmd *c = cmd != NULL ? find_cmd(cmd) : NULL;
	va_list ap;

	fprintf(stderr, "ckp: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (c != NULL)
		fprintf(stderr, "usage: ckp %s %s\n", c->name, c->args);
	else
		fprintf(stderr, "usage: ckp [--no-verify] COMMAND [ARGS]; 'ckp --help' lists commands\n");
	return EX_BAD;
}

/*
 * Exactly the positional arguments @names (NULL-terminated), else a usage
 * error naming what is missing ("PATH and VALUE") or the first extra one.
 */
static int
want_args(const struct opts *o, const char *cmd, const char *const *names)
{
	char missing[128] = "";
	size_t n = 0, i, have = (size_t)o->npos;

	while (names[n] != NULL)
		n++;
	if (have > n)
		return usage_error(cmd, "too many arguments ('%s')", o->pos[n]);
	if (have == n)
		return 0;
	for (i = have; i < n; i++) {
		strncat(missing, i == have ? "" : i + 1 == n ? " and " : ", ",
		    sizeof(missing) - strlen(missing) - 1);
		strncat(missing, names[i], sizeof(missing) - strlen(missing) - 1);
	}
	return usage_error(cmd, "missing %s", missing);
}

/* ------------------------------------------------------------------ */
/* Checkpoint streams in files (ckps.c)                                */
/* ------------------------------------------------------------------ */

/* The secret of --migrate-key, if given: 0, or EX_BAD after saying why. */
static int
load_key(const struct opts *o, uint8_t **keyp, size_t *lenp)
{
	char err[4096 + 256];

	*keyp = NULL;
	*lenp = 0;
	if (o->keyfile == NULL)
		return 0;
	if (ckps_key_load(o->keyfile, keyp, lenp, err, sizeof(err)) != 0) {
		fprintf(stderr, "ckp: %s\n", err);
		return EX_BAD;
	}
	return 0;
}

/*
 * The most RAM ckp takes from a stream's HELLO: what this host has.  It
 * holds the RAM it receives; a HELLO asking for more is refused before
 * anything is mapped.
 */
static uint64_t
max_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	return pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize :
	    (uint64_t)1 << 30;
}

/*
 * Read stream @p path to its end (@p flags: ckps_read's) into @p in.
 * 0, or EX_BAD with the message in @p err.
 */
static int
read_stream(const struct opts *o, const char *path, unsigned flags,
    struct ckps_in *in, char *err, size_t errlen)
{
	uint8_t *key;
	size_t keylen;
	int fd, rc;

	memset(in, 0, sizeof(*in));
	if (load_key(o, &key, &keylen) != 0) {
		err[0] = '\0';
		return EX_BAD;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		ckps_key_free(key, keylen);
		return EX_BAD;
	}
	rc = ckps_read(fd, path, key, keylen, flags, max_ram(), in, err, errlen);
	close(fd);
	ckps_key_free(key, keylen);
	return rc != 0 ? EX_BAD : EX_OK;
}

/*
 * The STATE document of stream @p path, for show, get and diff: the whole
 * stream is read and its framing checked, its RAM is not received (ckp
 * check does that).  NULL after saying why.
 */
static ckp_doc_t *
load_stream_state(const struct opts *o, const char *path)
{
	struct ckps_in in;
	char err[8192];
	ckp_doc_t *doc;

	if (read_stream(o, path, 0, &in, err, sizeof(err)) != EX_OK) {
		if (err[0] != '\0')
			fprintf(stderr, "ckp: %s\n", err);
		ckps_in_free(&in);
		return NULL;
	}
	fflush(stdout);
	fprintf(stderr, "ckp: %s is a checkpoint stream (%s, %llu frames): "
	    "its STATE document (RAM not checked: 'ckp check' does)\n", path,
	    in.peer_flags & CKP_STREAM_KEYED ? "keyed" : "unkeyed",
	    (unsigned long long)in.c.frames);
	doc = in.state;
	in.state = NULL;
	ckps_in_free(&in);
	return doc;
}

/* ------------------------------------------------------------------ */
/* Loading and saving                                                  */
/* ------------------------------------------------------------------ */

static ckp_doc_t *
load_flags(const char *path, const struct opts *o, unsigned flags)
{
	ckp_doc_t *doc;

	if (o->noverify)
		flags |= CKP_LOAD_NOVERIFY;

	if (strcmp(path, "-") == 0)
		doc = ckp_doc_load_fd(STDIN_FILENO, "<stdin>", flags, o->max);
	else
		doc = ckp_doc_load_max(path, flags, o->max);
	if (doc == NULL) {
		fprintf(stderr, "ckp: %s: out of memory\n", path);
		return NULL;
	}
	if (ckp_doc_error(doc) != 0) {
		fflush(stdout);		/* in order, when both go to one file */
		fprintf(stderr, "ckp: %s%s\n", ckp_doc_errmsg(doc),
		    ckp_doc_error(doc) == -EFBIG ? " (--max-size raises it)" : "");
		ckp_doc_free(doc);
		return NULL;
	}
	return doc;
}

/* A document to change or check: its checksum must be right. */
static ckp_doc_t *
load(const char *path, const struct opts *o)
{
	return load_flags(path, o, 0);
}

/*
 * A document to look at (show, get, diff): one without a checksum, written
 * by hand or by the seed review's tools, is shown with a warning; a wrong
 * checksum is still refused (--no-verify reads it).
 */
static ckp_doc_t *
load_view(const char *path, const struct opts *o)
{
	ckp_doc_t *doc;

	if (ckps_is_stream(path))
		return load_stream_state(o, path);
	doc = load_flags(path, o, CKP_LOAD_UNSEALED);

	if (doc != NULL && !o->noverify &&
	    ckp_doc_sum_state(doc) == CKP_SUM_NONE) {
		fflush(stdout);
		fprintf(stderr, "ckp: warning: %s has no checksum (written by "
		    "hand or incomplete; content is %s): shown as read, 'ckp "
		    "check' fails it\n", path, ckp_doc_checksum(doc));
	}
	return doc;
}

static int
save(ckp_doc_t *doc, const char *path, ckp_enc_t enc)
{
	if (strcmp(path, "-") == 0) {
		void *buf;
		size_t len;
		if (ckp_doc_encode(doc, enc, &buf, &len) != 0) {
			fprintf(stderr, "ckp: %s\n", ckp_doc_errmsg(doc));
			return EX_BAD;
		}
		size_t w = fwrite(buf, 1, len, stdout);
		free(buf);
		if (w != len || fflush(stdout) != 0) {
			fprintf(stderr, "ckp: writing standard output: %s\n",
			    strerror(errno));
			return EX_BAD;
		}
		return EX_OK;
	}
	if (ckp_doc_save(doc, path, enc) != 0) {
		fprintf(stderr, "ckp: %s\n", ckp_doc_errmsg(doc));
		return EX_BAD;
	}
	return EX_OK;
}

/* ------------------------------------------------------------------ */
/* Spelling values                                                     */
/* ------------------------------------------------------------------ */

static void
put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* @p s as it is when it is one plain word, else quoted. */
static void
put_word(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
		p++;
	if (*p == '\0' && *s != '\0')
		fputs(s, f);
	else
		put_quoted(f, s);
}

#define B64_SHOW 64	/* base64 characters shown of an abbreviated blob */

/* A value for show and diff: strings quoted, big blobs abbreviated. */
static void
put_value(FILE *f, const ckp_ent_t *e, bool verbose)
{
	const void *p;
	size_t len;
	char *t;

	if (ckp_ent_type(e) == CKP_TYPE_B64 && !verbose &&
	    ckp_ent_bytes(e, &p, &len) == 0 && len > B64_SHOW / 4 * 3) {
		t = ckp_ent_text(e);	/* abbreviated: no need to encode it all */
		fprintf(f, "[%zu bytes] %.*s...", len, B64_SHOW, t ? t : "");
		free(t);
		return;
	}
	if (ckp_ent_type(e) == CKP_TYPE_B64 && ckp_ent_bytes(e, &p, &len) == 0 &&
	    len == 0) {
		fputs("(0 bytes)", f);
		return;
	}
	t = ckp_ent_text(e);
	if (t == NULL) {
		fputs("(out of memory)", f);
		return;
	}
	if (ckp_ent_type(e) == CKP_TYPE_STRING)
		put_quoted(f, t);
	else
		fputs(t, f);
	free(t);
}

/* ------------------------------------------------------------------ */
/* show                                                                */
/* ------------------------------------------------------------------ */

static void
show_sec(FILE *f, const ckp_sec_t *sec, int depth, bool verbose)
{
	size_t nw = 0, tw = 0;

	for (ckp_ent_t *e = ckp_sec_first(sec); e; e = ckp_ent_next(e)) {
		if (ckp_ent_type(e) == CKP_TYPE_SECTION)
			continue;
		if (strlen(ckp_ent_name(e)) > nw)
			nw = strlen(ckp_ent_name(e));
		if (strlen(ckp_type_name(ckp_ent_type(e))) > tw)
			tw = strlen(ckp_type_name(ckp_ent_type(e)));
	}
	for (ckp_ent_t *e = ckp_sec_first(sec); e; e = ckp_ent_next(e)) {
		ckp_sec_t *s = ckp_ent_section(e);
		if (s != NULL) {
			fprintf(f, "%*s%s (v%u)\n", 2 * depth, "", ckp_ent_name(e),
			    ckp_sec_version(s));
			show_sec(f, s, depth + 1, verbose);
			continue;
		}
		fprintf(f, "%*s%-*s  %-*s  ", 2 * depth, "", (int)nw,
		    ckp_ent_name(e), (int)tw, ckp_type_name(ckp_ent_type(e)));
		put_value(f, e, verbose);
		fputc('\n', f);
	}
}

/* ------------------------------------------------------------------ */
/* Host paths a restore opens                                          */
/* ------------------------------------------------------------------ */

/*
 * A checkpoint's configuration (its "config" section) names files and
 * devices of the host: a restore opens the disk images read-write, writes
 * the console files, attaches the tap interfaces.  A person about to
 * restore someone else's checkpoint must see them first.
 */

static bool
all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Is the dotted @p key's component @p i (0-based) equal to @p want? */
static bool
comp_is(const char *key, int i, const char *want)
{
	const char *p = key, *e;

	while (i-- > 0 && (p = strchr(p, '.')) != NULL)
		p++;
	if (p == NULL)
		return false;
	e = strchr(p, '.');
	if (want == NULL)	/* a number */
		return all_digits(p, e != NULL ? (size_t)(e - p) : strlen(p));
	return e != NULL ? (size_t)(e - p) == strlen(want) &&
	    strncmp(p, want, (size_t)(e - p)) == 0 : strcmp(p, want) == 0;
}

static int
ncomps(const char *key)
{
	int n = 1;

	for (const char *p = key; (p = strchr(p, '.')) != NULL; p++)
		n++;
	return n;
}

/*
 * True as hyve reads a boolean key (vmm/config.c: cfg_parse_bool, which
 * this program does not link): any case, so that "ro=TRUE" is listed as
 * read-only, as the restore opens it.
 */
static bool
is_true(const char *v)
{
	return strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0;
}

/*
 * What hyve's configuration key @p key (under "config") with value @p val
 * names on the host (docs/CONFIG.md, docs/DEVICES.md), or NULL; *@p note
 * says how it is used.  A key that is none of hyve's but whose name or
 * value looks like a path is listed too: a key added later is not missed.
 */
static const char *
host_kind(const ckp_sec_t *sec, const char *key, const char *val,
    const char **note)
{
	static const char *const pathy[] = { "path", "file", "kernel",
	    "initrd", "image", "disk", "dir", "socket", "log", NULL };
	const char *last = strrchr(key, '.');
	int n = ncomps(key);

	last = last != NULL ? last + 1 : key;
	*note = NULL;
	if (n == 2 && comp_is(key, 0, "boot") &&
	    (comp_is(key, 1, "kernel") || comp_is(key, 1, "initrd"))) {
		*note = "read when booting, not by a restore";
		return comp_is(key, 1, "kernel") ? "kernel" : "initrd";
	}
	if (n == 3 && comp_is(key, 0, "lpc") && strncmp(key, "lpc.com", 7) ==
	    0 && all_digits(key + 7, strcspn(key + 7, ".")) &&
	    comp_is(key, 2, "path")) {
		if (strcmp(val, "stdio") == 0)
			return NULL;	/* hyve's own terminal */
		*note = "written";
		return "console file";
	}
	if (n == 5 && comp_is(key, 0, "pci") && comp_is(key, 1, NULL) &&
	    comp_is(key, 2, NULL) && comp_is(key, 3, NULL)) {
		if (comp_is(key, 4, "path")) {
			ckp_ent_t *ro = ckp_sec_lookup(sec, "ro");
			const void *v;
			size_t len;

			*note = ro != NULL && ckp_ent_type(ro) == CKP_TYPE_STRING &&
			    ckp_ent_bytes(ro, &v, &len) == 0 && is_true(v) ?
			    "read-only" : "read-write";
			return "disk image";
		}
		if (comp_is(key, 4, "backend"))
			return strncmp(val, "fd:", 3) == 0 ?
			    "inherited descriptor" : "tap interface";
	}
	for (int i = 0; pathy[i] != NULL; i++)
		if (strcmp(last, pathy[i]) == 0)
			return "host path";
	return val[0] == '/' ? "host path" : NULL;
}

typedef void hostpath_fn(void *arg, const char *kind, const char *key,
    const char *val, const char *note);

static void
walk_hostpaths(const ckp_sec_t *sec, char *key, size_t size, size_t len,
    hostpath_fn *fn, void *arg)
{
	for (ckp_ent_t *e = ckp_sec_first(sec); e; e = ckp_ent_next(e)) {
		const char *name = ckp_ent_name(e), *kind, *note;
		const void *v;
		size_t vlen;
		int n;

		n = snprintf(key + len, size - len, "%s%s", len ? "." : "",
		    name);
		if (n < 0 || (size_t)n >= size - len)
			continue;
		if (ckp_ent_type(e) == CKP_TYPE_SECTION)
			walk_hostpaths(ckp_ent_section(e), key, size,
			    len + (size_t)n, fn, arg);
		else if (ckp_ent_type(e) == CKP_TYPE_STRING &&
		    ckp_ent_bytes(e, &v, &vlen) == 0 &&
		    (kind = host_kind(sec, key, v, &note)) != NULL)
			fn(arg, kind, key, v, note);
		key[len] = '\0';
	}
}

/* Call @p fn for every host path @p doc's configuration names. */
static void
hostpaths(ckp_doc_t *doc, hostpath_fn *fn, void *arg)
{
	ckp_sec_t *cfg = ckp_sec_find(ckp_doc_root(doc), "config");
	/* 64 names of 128 bytes at most (CKP_MAX_DEPTH, CKP_MAX_NAME) */
	char key[CKP_MAX_DEPTH * (CKP_MAX_NAME + 1) + 1] = "";

	if (cfg != NULL)
		walk_hostpaths(cfg, key, sizeof(key), 0, fn, arg);
}

/* "disk image "/x" (config.pci.0.3.0.path, read-write)" */
static void
put_hostpath(const char *kind, const char *key, const char *val,
    const char *note)
{
	printf("%s ", kind);
	put_quoted(stdout, val);
	printf(" (config.%s%s%s%s)\n", key, note != NULL ? ", " : "",
	    note != NULL ? note : "", val[0] != '/' && strcmp(kind,
	    "tap interface") != 0 && strcmp(kind, "inherited descriptor") != 0 ?
	    ", relative to hyve's working directory" : "");
}

static void
show_hostpath(void *arg, const char *kind, const char *key, const char *val,
    const char *note)
{
	bool *first = arg;

	if (*first)
		printf("\nhost paths a restore opens:\n");
	*first = false;
	printf("  ");
	put_hostpath(kind, key, val, note);
}

static void
check_hostpath(void *arg, const char *kind, const char *key, const char *val,
    const char *note)
{
	printf("%s: host path: ", (const char *)arg);
	put_hostpath(kind, key, val, note);
}

static int
cmd_show(struct opts *o)
{
	ckp_doc_t *doc;
	bool first = true;

	if (want_args(o, "show", (const char *[]){ "FILE", NULL }) != 0)
		return EX_BAD;
	if ((doc = load_view(o->pos[0], o)) == NULL)
		return EX_BAD;
	show_sec(stdout, ckp_doc_root(doc), 0, o->verbose);
	hostpaths(doc, show_hostpath, &first);
	ckp_doc_free(doc);
	return EX_OK;
}

/* ------------------------------------------------------------------ */
/* get                                                                 */
/* ------------------------------------------------------------------ */

static bool
has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* The section at dotted @p path ("" is the root), or NULL. */
static ckp_sec_t *
find_sec(ckp_doc_t *doc, const char *path)
{
	if (*path == '\0')
		return ckp_doc_root(doc);
	return ckp_ent_section(ckp_doc_find(doc, path));
}

static int
cmd_get(struct opts *o)
{
	ckp_doc_t *doc;
	char *path, *dollar, *t;
	ckp_type_t want = CKP_TYPE_INVALID;
	int rc = EX_BAD;

	if (want_args(o, "get", (const char *[]){ "FILE", "PATH", NULL }) != 0)
		return EX_BAD;
	if ((doc = load_view(o->pos[0], o)) == NULL)
		return EX_BAD;
	path = strdup(o->pos[1]);
	if (path == NULL)
		goto out;
	if (strcmp(path, "$version") == 0 || has_suffix(path, ".$version")) {
		path[strlen(path) - strlen("$version")] = '\0';
		if (*path != '\0')
			path[strlen(path) - 1] = '\0';
		ckp_sec_t *s = *path ? find_sec(doc, path) : NULL;
		if (s == NULL) {
			fprintf(stderr, "ckp: %s: no section '%s'\n", o->pos[0],
			    path);
			goto out;
		}
		printf("%u\n", ckp_sec_version(s));
		rc = EX_OK;
		goto out;
	}
	/* An optional $type suffix must agree with the field. */
	dollar = strrchr(path, '$');
	if (dollar != NULL && strchr(dollar, '.') == NULL) {
		want = ckp_type_from_name(dollar + 1, strlen(dollar + 1));
		if (want == CKP_TYPE_INVALID) {
			fprintf(stderr, "ckp: unknown type '%s' in '%s'\n",
			    dollar + 1, o->pos[1]);
			goto out;
		}
		*dollar = '\0';
	}
	ckp_ent_t *e = ckp_doc_find(doc, path);
	if (e == NULL) {
		fprintf(stderr, "ckp: %s: no entry '%s'\n", o->pos[0], path);
		goto out;
	}
	if (want != CKP_TYPE_INVALID && ckp_ent_type(e) != want) {
		fprintf(stderr, "ckp: %s: '%s' has type %s, not %s\n", o->pos[0],
		    path, ckp_type_name(ckp_ent_type(e)), ckp_type_name(want));
		goto out;
	}
	if (ckp_ent_type(e) == CKP_TYPE_SECTION) {
		printf("%s (v%u)\n", ckp_ent_name(e),
		    ckp_sec_version(ckp_ent_section(e)));
		show_sec(stdout, ckp_ent_section(e), 1, o->verbose);
		rc = EX_OK;
		goto out;
	}
	t = ckp_ent_text(e);
	if (t != NULL) {
		printf("%s\n", t);
		free(t);
		rc = EX_OK;
	}
out:
	free(path);
	ckp_doc_free(doc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* check                                                               */
/* ------------------------------------------------------------------ */

struct counts {
	size_t	sections;
	size_t	fields;
};

static void
count(const ckp_sec_t *sec, struct counts *c)
{
	for (ckp_ent_t *e = ckp_sec_first(sec); e; e = ckp_ent_next(e)) {
		if (ckp_ent_type(e) == CKP_TYPE_SECTION) {
			c->sections++;
			count(ckp_ent_section(e), c);
		} else
			c->fields++;
	}
}


/*
 * Check the document @p file and, when it has a "ram" section and @p ram
 * is given, that RAM file; print what was found, prefixed with @p file.
 * @return the number of problems (a document that cannot be read is one).
 */
static int
check_doc(const struct opts *o, const char *file, const char *ram)
{
	ckp_doc_t *doc;
	struct counts c = { 0, 0 };
	struct stat st;
	int problems = 0;

	if ((doc = load(file, o)) == NULL)
		return 1;
	count(ckp_doc_root(doc), &c);
	printf("%s: %s encoding, %zu sections, %zu fields, checksum %s\n", file,
	    ckp_enc_name(ckp_doc_encoding(doc)), c.sections, c.fields,
	    ckp_doc_checksum(doc));
	switch (ckp_doc_sum_state(doc)) {
	case CKP_SUM_NONE:
		printf("%s: no checksum in the file\n", file);
		problems++;
		break;
	case CKP_SUM_BAD:
		printf("%s: checksum mismatch: the content is %s, not what the file says\n",
		    file, ckp_doc_checksum(doc));
		problems++;
		break;
	default:
		break;
	}
	ckp_sec_t *h = ckp_sec_find(ckp_doc_root(doc), "header");
	char why[160];
	/* libckp's rule, the one a restore applies. */
	if (ckp_doc_check_header(doc, why, sizeof(why)) != 0) {
		printf("%s: %s%s\n", file, why, h == NULL ? ": not written by "
		    "libckp (the seed review's files have none)" : "");
		problems++;
	} else {
		if (problems == 0) {
			const char *prod, *created;
			uint32_t fv;
			ckp_sec_get_string(h, "producer", &prod);
			ckp_sec_get_string(h, "created", &created);
			ckp_sec_get_uint32(h, "format_version", &fv);
			/* Quoted: the text must not pass for another line. */
			printf("%s: format %s %u, producer ", file,
			    CKP_FORMAT_NAME, fv);
			put_quoted(stdout, prod);
			printf(", created ");
			put_word(stdout, created);
			printf("\n");
		}
	}
	hostpaths(doc, check_hostpath, (void *)file);
	if (ram != NULL && ckp_sec_find(ckp_doc_root(doc), "ram") != NULL) {
		if (stat(ram, &st) != 0) {
			printf("%s: RAM file %s: %s\n", file, ram, strerror(errno));
			problems++;
		} else if (ckp_ram_verify(doc, ram, 0) != 0) {
			printf("%s: %s\n", file, ckp_doc_errmsg(doc));
			problems++;
		} else
			printf("%s: RAM file %s: ok\n", file, ram);
	}
	ckp_doc_free(doc);
	return problems;
}

/*
 * Is @p file a checkpoint: FILE.ckp.meta, or FILE.ckp with its meta or a
 * temporary of its beside it?  Its RAM file's name goes to @p ram.
 */
static bool
is_checkpoint(const char *file, char *ram, size_t ramlen)
{
	static const char *const sfx[] = { ".meta", ".tmp", ".meta.tmp" };
	char p[4096 + 16];
	struct stat st;

	if (strcmp(file, "-") == 0 || ckp_ram_path(file, ram, ramlen) != 0)
		return false;
	if (has_suffix(file, ".meta"))
		return true;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", ram, sfx[i]);
		if (lstat(p, &st) == 0)
			return true;
	}
	return false;
}

/*
 * Check checkpoint @p name as a restore would read it: recovery first
 * (only described, unless --recover), then the pair recovery leaves.
 */
static int
check_checkpoint(const struct opts *o, const char *name, const char *ram)
{
	ckp_recovery_t *rec;
	char label[4096 + 8], msg[1024];
	const char *meta;
	struct stat st;
	int problems = 0, r;

	snprintf(label, sizeof(label), "%s.meta", ram);
	if (o->recover) {
		r = ckp_recover(name, msg, sizeof(msg));
		if (r == 1)
			printf("%s: %s\n", label, msg);
		else if (r < 0 && r != -EBUSY && r != -EPERM && r != -EFBIG) {
			/* Those three are reported below as they stand. */
			printf("%s: recovery failed: %s\n", label, msg);
			problems++;
		}
	}
	if ((r = ckp_recovery_inspect(name, &rec, msg, sizeof(msg))) < 0) {
		printf("%s: %s\n%s: BAD\n", label, msg, label);
		return EX_BAD;
	}
	meta = ckp_recovery_meta(rec);
	switch (ckp_recovery_action(rec)) {
	case CKP_RECOVERY_NONE:
		break;
	case CKP_RECOVERY_FORWARD:
		printf("%s: %s; a restore does that first and reads the new "
		    "checkpoint, checked below ('ckp check --recover' completes "
		    "it now)\n", label, ckp_recovery_message(rec));
		break;
	case CKP_RECOVERY_DISCARD:
		printf("%s: %s ('ckp check --recover' does it now)\n", label,
		    ckp_recovery_message(rec));
		break;
	case CKP_RECOVERY_BUSY:
		printf("%s: %s; a restore now reads the published pair\n", label,
		    ckp_recovery_message(rec));
		break;
	case CKP_RECOVERY_REFUSED:
		printf("%s: %s\n", label, ckp_recovery_message(rec));
		if (meta == NULL) {
			printf("%s: a restore refuses the checkpoint until that is "
			    "resolved: a meta temporary may be the commit record "
			    "of an interrupted publish\n", label);
			problems++;
		} else
			printf("%s: a restore reads the published pair; no new "
			    "checkpoint can be written under this name until "
			    "that is resolved\n", label);
		break;
	}
	if (meta != NULL && stat(meta, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A FIFO would block the read; a restore refuses it too. */
		printf("%s: %s is not a regular file\n", label, meta);
		problems++;
	} else if (meta != NULL) {
		/* What a restore would see of files another user controls. */
		if (ckp_recovery_action(rec) != CKP_RECOVERY_FORWARD &&
		    ckp_checkpoint_trust(name, msg, sizeof(msg)) == -EPERM)
			printf("%s: not this user's own: %s\n", label, msg);
		problems += check_doc(o, meta, ckp_recovery_ram(rec));
	}
	printf("%s: %s\n", label, problems ? "BAD" : "ok");
	ckp_recovery_free(rec);
	return problems ? EX_BAD : EX_OK;
}

/* Check stream @p file whole, RAM included. */
static int
check_stream(const struct opts *o, const char *file)
{
	struct ckps_in in;
	struct counts c = { 0, 0 };
	char err[8192], why[160];
	ckp_sec_t *mig, *h;
	uint64_t v;
	uint32_t down = 0;
	int rc;

	if ((rc = read_stream(o, file, CKPS_RAM, &in, err, sizeof(err))) != 0) {
		if (err[0] != '\0')
			printf("%s\n", err);	/* it names the stream */
		printf("%s: BAD\n", file);
		goto out;
	}
	printf("%s: checkpoint stream, one-way, %s: %llu frames, %llu bytes\n",
	    file, in.peer_flags & CKP_STREAM_KEYED ? "keyed" : "unkeyed",
	    (unsigned long long)in.c.frames, (unsigned long long)in.c.bytes);
	mig = ckp_sec_find(ckp_doc_root(in.hello), "migration");
	ckp_sec_get_uint32(mig, "downtime_ms", &down);
	printf("%s: HELLO: RAM %llu bytes, downtime target %u ms", file,
	    (unsigned long long)in.ram_size, down);
	for (ckp_ent_t *e = ckp_sec_first(mig); e; e = ckp_ent_next(e)) {
		ckp_sec_t *d = ckp_ent_section(e);
		const char *slot;

		if (d != NULL && ckp_sec_get_string(d, "slot", &slot) == 0 &&
		    ckp_sec_get_uint64(d, "size", &v) == 0) {
			printf(", %s ", ckp_ent_name(e));
			put_word(stdout, slot);
			printf(" %llu bytes", (unsigned long long)v);
		}
	}
	printf("\n%s: %u round%s, %llu pages, %llu zero pages\n", file,
	    in.c.rounds, in.c.rounds == 1 ? "" : "s",
	    (unsigned long long)in.c.pages, (unsigned long long)in.c.zpages);
	count(ckp_doc_root(in.state), &c);
	printf("%s: STATE: %zu sections, %zu fields, checksum %s\n", file,
	    c.sections, c.fields, ckp_doc_checksum(in.state));
	h = ckp_sec_find(ckp_doc_root(in.state), "header");
	if (ckp_doc_check_header(in.state, why, sizeof(why)) == 0) {
		const char *prod, *created;
		uint32_t fv;

		ckp_sec_get_string(h, "producer", &prod);
		ckp_sec_get_string(h, "created", &created);
		ckp_sec_get_uint32(h, "format_version", &fv);
		printf("%s: format %s %u, producer ", file, CKP_FORMAT_NAME, fv);
		put_quoted(stdout, prod);
		printf(", created ");
		put_word(stdout, created);
		printf("\n");
	}
	printf("%s: RAM received: ok (STATE's ram section)\n", file);
	hostpaths(in.state, check_hostpath, (void *)file);
	printf("%s: ok\n", file);
out:
	ckps_in_free(&in);
	return rc;
}

static int
cmd_check(struct opts *o)
{
	const char *file;
	char ram[4096];
	int problems;

	if (want_args(o, "check", (const char *[]){ "FILE", NULL }) != 0)
		return EX_BAD;
	file = o->pos[0];
	if (ckps_is_stream(file)) {
		if (o->recover)
			return usage_error("check", "--recover: %s is a "
			    "checkpoint stream, not a checkpoint", file);
		return check_stream(o, file);
	}
	if (is_checkpoint(file, ram, sizeof(ram)))
		return check_checkpoint(o, file, ram);
	if (o->recover)
		return usage_error("check", "--recover: %s is not a checkpoint "
		    "(FILE.ckp or FILE.ckp.meta)", file);
	problems = check_doc(o, file, NULL);
	printf("%s: %s\n", file, problems ? "BAD" : "ok");
	return problems ? EX_BAD : EX_OK;
}

/* ------------------------------------------------------------------ */
/* diff                                                                */
/* ------------------------------------------------------------------ */

struct diffctx {
	bool	verbose;
	size_t	ndiff;
};

static void
entry_path(const ckp_sec_t *sec, const char *name, char *buf, size_t size)
{
	if (ckp_sec_path(sec, buf, size) != 0)
		snprintf(buf, size, "...");
	size_t n = strlen(buf);
	snprintf(buf + n, size - n, "%s%s", n ? "." : "", name);
}

/* Every field under @p e, as "+" or "-" lines. */
static void
diff_whole(struct diffctx *dc, char sign, const ckp_sec_t *parent,
    const ckp_ent_t *e)
{
	char path[4096];

	entry_path(parent, ckp_ent_name(e), path, sizeof(path));
	dc->ndiff++;
	if (ckp_ent_type(e) == CKP_TYPE_SECTION) {
		const ckp_sec_t *s = ckp_ent_section(e);
		printf("%c %s (section v%u)\n", sign, path, ckp_sec_version(s));
		for (ckp_ent_t *c = ckp_sec_first(s); c; c = ckp_ent_next(c))
			diff_whole(dc, sign, s, c);
		return;
	}
	printf("%c %s$%s: ", sign, path, ckp_type_name(ckp_ent_type(e)));
	put_value(stdout, e, dc->verbose);
	putchar('\n');
}

static void
diff_blob(const ckp_ent_t *a, const ckp_ent_t *b, const char *path)
{
	const uint8_t *pa, *pb;
	size_t la, lb, i;

	ckp_ent_bytes(a, (const void **)&pa, &la);
	ckp_ent_bytes(b, (const void **)&pb, &lb);
	for (i = 0; i < la && i < lb && pa[i] == pb[i]; i++)
		;
	printf("~ %s$b64: [%zu bytes] -> [%zu bytes], first difference at byte %zu\n",
	    path, la, lb, i);
}

static void
diff_sec(struct diffctx *dc, const ckp_sec_t *a, const ckp_sec_t *b)
{
	char path[4096];

	if (ckp_sec_version(a) != ckp_sec_version(b)) {
		entry_path(a, "$version", path, sizeof(path));
		printf("~ %s: %u -> %u\n", path, ckp_sec_version(a),
		    ckp_sec_version(b));
		dc->ndiff++;
	}
	for (ckp_ent_t *x = ckp_sec_first(a); x; x = ckp_ent_next(x)) {
		ckp_ent_t *y = ckp_sec_lookup(b, ckp_ent_name(x));
		ckp_type_t tx = ckp_ent_type(x), ty;
		if (y == NULL) {
			diff_whole(dc, '-', a, x);
			continue;
		}
		ty = ckp_ent_type(y);
		if (tx == CKP_TYPE_SECTION && ty == CKP_TYPE_SECTION) {
			diff_sec(dc, ckp_ent_section(x), ckp_ent_section(y));
			continue;
		}
		if (tx == CKP_TYPE_SECTION || ty == CKP_TYPE_SECTION) {
			diff_whole(dc, '-', a, x);
			diff_whole(dc, '+', b, y);
			continue;
		}
		if (ckp_ent_equal(x, y))
			continue;
		dc->ndiff++;
		entry_path(a, ckp_ent_name(x), path, sizeof(path));
		if (tx != ty) {
			printf("~ %s: %s ", path, ckp_type_name(tx));
			put_value(stdout, x, dc->verbose);
			printf(" -> %s ", ckp_type_name(ty));
			put_value(stdout, y, dc->verbose);
			putchar('\n');
			continue;
		}
		if (tx == CKP_TYPE_B64 && !dc->verbose) {
			const void *p;
			size_t la, lb;
			ckp_ent_bytes(x, &p, &la);
			ckp_ent_bytes(y, &p, &lb);
			if (la > B64_SHOW / 4 * 3 || lb > B64_SHOW / 4 * 3) {
				diff_blob(x, y, path);
				continue;
			}
		}
		printf("~ %s$%s: ", path, ckp_type_name(tx));
		put_value(stdout, x, dc->verbose);
		printf(" -> ");
		put_value(stdout, y, dc->verbose);
		putchar('\n');
	}
	for (ckp_ent_t *y = ckp_sec_first(b); y; y = ckp_ent_next(y))
		if (ckp_sec_lookup(a, ckp_ent_name(y)) == NULL)
			diff_whole(dc, '+', b, y);
}

static int
cmd_diff(struct opts *o)
{
	struct diffctx dc = { .verbose = o->verbose };
	ckp_doc_t *a, *b;

	if (want_args(o, "diff", (const char *[]){ "A", "B", NULL }) != 0)
		return EX_BAD;
	if ((a = load_view(o->pos[0], o)) == NULL)
		return EX_BAD;
	if ((b = load_view(o->pos[1], o)) == NULL) {
		ckp_doc_free(a);
		return EX_BAD;
	}
	diff_sec(&dc, ckp_doc_root(a), ckp_doc_root(b));
	ckp_doc_free(a);
	ckp_doc_free(b);
	return dc.ndiff ? EX_DIFF : EX_OK;
}

/* ------------------------------------------------------------------ */
/* convert, set, rm                                                    */
/* ------------------------------------------------------------------ */

/* fsync the directory holding @p path: a rename in it is then durable. */
static int
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

/*
 * Checkpoint @p in as a one-way stream into @p out: a temporary beside
 * it, renamed when whole (a reader never sees half a stream under the
 * name), or standard output.
 */
static int
convert_to_stream(const struct opts *o, const char *in, const char *out)
{
	struct ckps_counts c;
	char err[8192], *tmp = NULL;
	uint8_t *key;
	size_t keylen;
	int fd = STDOUT_FILENO, rc = EX_BAD;

	if (load_key(o, &key, &keylen) != 0)
		return EX_BAD;
	if (strcmp(out, "-") != 0) {
		if (asprintf(&tmp, "%s.tmp.XXXXXX", out) < 0) {
			tmp = NULL;
			fprintf(stderr, "ckp: out of memory\n");
			goto out;
		}
		/* 0600: the stream holds the guest's memory. */
		if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
			fprintf(stderr, "ckp: %s: %s\n", out, strerror(errno));
			free(tmp);
			tmp = NULL;
			goto out;
		}
	} else
		signal(SIGPIPE, SIG_IGN);	/* a reader gone is an EPIPE */
	if (ckps_write(in, fd, tmp != NULL ? out : "<stdout>", key, keylen, &c,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "ckp: %s\n", err);
		goto out;
	}
	if (tmp != NULL && (fsync(fd) != 0 || rename(tmp, out) != 0 ||
	    sync_dir(out) != 0)) {
		fprintf(stderr, "ckp: %s: %s\n", out, strerror(errno));
		goto out;
	}
	if (tmp != NULL) {
		free(tmp);
		tmp = NULL;
	}
	rc = EX_OK;
out:
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	if (fd != STDOUT_FILENO)
		close(fd);
	ckps_key_free(key, keylen);
	return rc;
}

/* Stream @p in to checkpoint @p out, published whole or not at all. */
static int
convert_from_stream(const struct opts *o, const char *in, const char *out)
{
	struct ckps_in si;
	ckp_enc_t enc = CKP_ENC_JSON;
	char err[8192];
	int rc;

	if (o->to != NULL && (enc = ckp_enc_from_name(o->to)) == CKP_ENC_NONE)
		return usage_error("convert", "--to %s: a stream is converted to "
		    "a checkpoint, its meta in json, bin or conf", o->to);
	if (strcmp(out, "-") == 0)
		return usage_error("convert", "a stream is converted to a "
		    "checkpoint (FILE.ckp), not to standard output");
	if ((rc = read_stream(o, in, CKPS_RAM, &si, err, sizeof(err))) == 0 &&
	    ckps_publish(&si, out, enc, err, sizeof(err)) != 0)
		rc = EX_BAD;
	if (rc != 0 && err[0] != '\0')
		fprintf(stderr, "ckp: %s\n", err);
	if (rc != 0)
		fprintf(stderr, "ckp: %s: nothing published\n", out);
	ckps_in_free(&si);
	return rc;
}

static int
cmd_convert(struct opts *o)
{
	ckp_enc_t enc;
	ckp_doc_t *doc;
	int rc;

	if (o->npos == 2 && ((o->to != NULL && strcmp(o->to, "ckps") == 0) ||
	    (o->to == NULL && has_suffix(o->pos[1], ".ckps"))))
		return convert_to_stream(o, o->pos[0], o->pos[1]);
	if (o->npos == 2 && ckps_is_stream(o->pos[0]))
		return convert_from_stream(o, o->pos[0], o->pos[1]);
	if (o->keyfile != NULL)
		return usage_error("convert", "--migrate-key: neither IN nor OUT "
		    "is a checkpoint stream (OUT.ckps, or a file beginning "
		    "\"CKPS\")");
	if (o->to == NULL)
		return usage_error("convert", "missing --to json|bin|conf");
	enc = ckp_enc_from_name(o->to);
	if (enc == CKP_ENC_NONE)
		return usage_error("convert", "unknown encoding '%s' (json, bin or conf)",
		    o->to);
	if (want_args(o, "convert", (const char *[]){ "IN", "OUT", NULL }) != 0)
		return EX_BAD;
	if ((doc = load(o->pos[0], o)) == NULL)
		return EX_BAD;
	rc = save(doc, o->pos[1], enc);
	ckp_doc_free(doc);
	return rc;
}

/*
 * Split @p path at its last dot: *secp gets the parent section (created
 * with version 1 when @p create), the return value the last component.
 */
static char *
split_path(ckp_doc_t *doc, char *path, bool create, ckp_sec_t **secp)
{
	char *dot = strrchr(path, '.');
	ckp_sec_t *sec = ckp_doc_root(doc);

	if (dot == NULL) {
		*secp = sec;
		return path;
	}
	*dot = '\0';
	for (char *p = path, *q; p != NULL; p = q) {
		q = strchr(p, '.');
		if (q != NULL)
			*q++ = '\0';
		ckp_ent_t *e = ckp_sec_lookup(sec, p);
		if (e == NULL && create)
			sec = ckp_sec_add(sec, p, 1);
		else
			sec = ckp_ent_section(e);
		if (q != NULL)
			q[-1] = '.';
		if (sec == NULL) {
			*secp = NULL;
			*dot = '.';
			return dot + 1;
		}
	}
	*dot = '.';
	*secp = sec;
	return dot + 1;
}

static int
cmd_set(struct opts *o)
{
	ckp_doc_t *doc;
	ckp_sec_t *sec;
	char *path, *name, *dollar;
	const char *file, *value;
	int rc = EX_BAD;

	if (want_args(o, "set", (const char *[]){ "FILE", "PATH", "VALUE",
	    NULL }) != 0)
		return EX_BAD;
	file = o->pos[0];
	value = o->pos[2];
	if ((doc = load(file, o)) == NULL)
		return EX_BAD;
	path = strdup(o->pos[1]);
	if (path == NULL)
		goto out;
	name = strrchr(path, '.');
	name = name != NULL ? name + 1 : path;
	dollar = strchr(name, '$');
	if (strcmp(name, "$version") == 0) {
		char *end;
		unsigned long long v;
		if (name == path) {
			fprintf(stderr, "ckp: the root has no version\n");
			goto out;
		}
		name[-1] = '\0';
		sec = find_sec(doc, path);
		if (sec == NULL) {
			fprintf(stderr, "ckp: %s: no section '%s'\n", file, path);
			goto out;
		}
		errno = 0;
		v = strtoull(value, &end, 10);
		if (*value < '0' || *value > '9' || *end != '\0' || errno ||
		    v > UINT32_MAX) {
			fprintf(stderr, "ckp: bad version '%s' (0 to 4294967295)\n",
			    value);
			goto out;
		}
		ckp_sec_set_version(sec, (uint32_t)v);
	} else if (dollar != NULL) {
		ckp_type_t t = ckp_type_from_name(dollar + 1, strlen(dollar + 1));
		if (t == CKP_TYPE_INVALID || t == CKP_TYPE_SECTION) {
			fprintf(stderr, "ckp: unknown type '%s' in '%s'\n",
			    dollar + 1, o->pos[1]);
			goto out;
		}
		*dollar = '\0';
		name = split_path(doc, path, true, &sec);
		if (sec == NULL) {
			fprintf(stderr, "ckp: %s: '%s' is not a section path\n",
			    file, o->pos[1]);
			goto out;
		}
		ckp_ent_t *e = ckp_sec_lookup(sec, name);
		if (e != NULL && ckp_ent_type(e) != t) {
			fprintf(stderr, "ckp: %s: '%s' exists with type %s\n", file,
			    path, ckp_type_name(ckp_ent_type(e)));
			goto out;
		}
		if (e != NULL ? ckp_ent_set_text(e, value) != 0 :
		    ckp_sec_add_text(sec, name, t, value) == NULL) {
			fprintf(stderr, "ckp: %s: %s\n", file, ckp_doc_errmsg(doc));
			goto out;
		}
	} else {
		ckp_ent_t *e = ckp_doc_find(doc, path);
		if (e == NULL) {
			fprintf(stderr, "ckp: %s: no field '%s' (to add one, write %s$TYPE)\n",
			    file, path, path);
			goto out;
		}
		if (ckp_ent_type(e) == CKP_TYPE_SECTION) {
			fprintf(stderr, "ckp: %s: '%s' is a section\n", file, path);
			goto out;
		}
		if (ckp_ent_set_text(e, value) != 0) {
			fprintf(stderr, "ckp: %s: %s\n", file, ckp_doc_errmsg(doc));
			goto out;
		}
	}
	rc = save(doc, file, ckp_doc_encoding(doc));
out:
	free(path);
	ckp_doc_free(doc);
	return rc;
}

static int
cmd_rm(struct opts *o)
{
	ckp_doc_t *doc;
	ckp_sec_t *sec;
	char *path, *name;
	int rc = EX_BAD;

	if (want_args(o, "rm", (const char *[]){ "FILE", "PATH", NULL }) != 0)
		return EX_BAD;
	if ((doc = load(o->pos[0], o)) == NULL)
		return EX_BAD;
	path = strdup(o->pos[1]);
	if (path == NULL)
		goto out;
	name = split_path(doc, path, false, &sec);
	if (sec == NULL || ckp_sec_remove(sec, name) != 0) {
		fprintf(stderr, "ckp: %s: no entry '%s'\n", o->pos[0], o->pos[1]);
		goto out;
	}
	rc = save(doc, o->pos[0], ckp_doc_encoding(doc));
out:
	free(path);
	ckp_doc_free(doc);
	return rc;
}

/* "4096", "64K", "512M", "2G": bytes (powers of 1024); 0 or -1. */
static int
parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v == 0 || v > (SIZE_MAX >> shift))
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

static int
cmd_help(struct opts *o)
{
	const struct cmd *c;

	if (o->npos == 0) {
		usage_all(stdout);
		return EX_OK;
	}
	if (o->npos > 1)
		return usage_error("help", "too many arguments ('%s')", o->pos[1]);
	c = find_cmd(o->pos[0]);
	if (c == NULL)
		return usage_error(NULL, "unknown command '%s'", o->pos[0]);
	printf("usage: ckp [--no-verify] [--max-size SIZE] %s %s\n\n%s\n",
	    c->name, c->args, c->help);
	return EX_OK;
}

/* Long options without a short one. */
enum { LO_NOVERIFY = 256, LO_MAXSIZE, LO_RECOVER, LO_KEY };

static const struct option longopts[] = {
	{ "no-verify", no_argument, NULL, LO_NOVERIFY },
	{ "max-size", required_argument, NULL, LO_MAXSIZE },
	{ "recover", no_argument, NULL, LO_RECOVER },
	{ "migrate-key", required_argument, NULL, LO_KEY },
	{ "to", required_argument, NULL, 't' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Is @p arg, the next word of the command line, the value argument of
 * command @p c ("set FILE PATH -1")?  Only when it is a '-' followed by a
 * hex digit: no option starts with one (so getopt_long is never inside
 * such a word), and any other word there is an option, as it always was.
 */
static bool
is_value_arg(const struct cmd *c, const struct opts *o, const char *arg)
{
	return c != NULL && c->value_arg == o->npos + 1 && arg[0] == '-' &&
	    isxdigit((unsigned char)arg[1]);
}

/*
 * One parse of the whole command line, in order, then the command's own
 * checks: options have always been accepted before and after the command
 * name ("ckp --no-verify show F", "ckp show F --max-size 1G"), and what an
 * error names depends on what came before it (the usage line of the
 * command already seen).  getopt_long returns the words that are not
 * options in order ('-' at the start of the option string), which is
 * where the command name and a command's value argument are recognised.
 * @return -1 to go on and run the command, else the exit status.
 */
static int
parse_args(int argc, char **argv, struct opts *o, const char **cmdp)
{
	const struct cmd *c = NULL;
	const char *cmd = NULL, *word;
	int ch;

	opterr = 0;
	for (;;) {
		if (optind < argc && is_value_arg(c, o, argv[optind])) {
			o->pos[o->npos++] = argv[optind++];
			continue;
		}
		/* The word an option is in (getopt_long stays on it until done). */
		word = optind < argc ? argv[optind] : "";
		if ((ch = getopt_long(argc, argv, "-:hvt:", longopts, NULL)) == -1)
			break;
		switch (ch) {
		case 1:
			if (cmd == NULL) {
				cmd = optarg;
				c = find_cmd(cmd);
			} else
				o->pos[o->npos++] = optarg;
			break;
		case LO_NOVERIFY:
			o->noverify = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case LO_RECOVER:
			o->recover = true;
			o->given |= OPT_RECOVER;
			break;
		case LO_KEY:
			o->keyfile = optarg;
			o->given |= OPT_KEY;
			break;
		case 't':
			o->to = optarg;
			o->given |= OPT_TO;
			break;
		case LO_MAXSIZE:
			if (parse_size(optarg, &o->max) != 0)
				return usage_error(cmd, "--max-size needs a size in "
				    "bytes, with K, M or G for KiB, MiB, GiB (e.g. "
				    "512M), not '%s'", optarg);
			break;
		case 'h':
			if (cmd != NULL) {
				o->pos[0] = (char *)cmd;
				o->npos = 1;
				return cmd_help(o);
			}
			usage_all(stdout);
			return EX_OK;
		case ':':
			if (optopt == LO_KEY)
				return usage_error(cmd, "option '--migrate-key' "
				    "needs a key file");
			if (optopt == 't')
				return usage_error("convert", "option '%s' needs an "
				    "encoding", strncmp(word, "--", 2) == 0 ? word :
				    "-t");
			return usage_error(cmd, "--max-size needs a size in bytes, "
			    "with K, M or G for KiB, MiB, GiB (e.g. 512M)");
		default:
			if (strncmp(word, "--", 2) == 0)
				return usage_error(cmd, "unknown option '%s'", word);
			return usage_error(cmd, "unknown option '-%c'", optopt);
		}
	}
	/* After "--": the rest are words, whatever they look like. */
	while (optind < argc) {
		if (cmd == NULL)
			cmd = argv[optind++];
		else
			o->pos[o->npos++] = argv[optind++];
	}
	*cmdp = cmd;
	return -1;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	const struct cmd *c;
	const char *cmd = NULL;
	int rc;

	o.pos = calloc((size_t)argc + 1, sizeof(char *));
	if (o.pos == NULL)
		return EX_BAD;
	if ((rc = parse_args(argc, argv, &o, &cmd)) >= 0)
		goto out;
	if (cmd == NULL) {
		usage_all(stderr);
		rc = EX_BAD;
		goto out;
	}
	if ((c = find_cmd(cmd)) == NULL) {
		rc = usage_error(NULL, "unknown command '%s'", cmd);
		goto out;
	}
	for (size_t i = 0; i < sizeof(cmd_opts) / sizeof(cmd_opts[0]); i++) {
		const struct cmd *owner = NULL;

		if (!(o.given & cmd_opts[i].bit) || (c->opts & cmd_opts[i].bit))
			continue;
		for (size_t j = 0; j < sizeof(cmds) / sizeof(cmds[0]); j++)
			if (cmds[j].opts & cmd_opts[i].bit)
				owner = &cmds[j];
		rc = usage_error(cmd, "option %s belongs to '%s'",
		    cmd_opts[i].name, owner->name);
		goto out;
	}
	rc = c->run(&o);
out:
	free(o.pos);
	return rc;
}
