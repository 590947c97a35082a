/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libckp internals shared by the library's files, its tests and fuzz
 * targets.  Not installed.  The helpers marked "stable" are used by other
 * parts of libckp (RAM files, publishing): keep their names and meaning.
 */
#ifndef CKP_IMPL_H
#define CKP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "ckp.h"

/* Sections with more entries than this get a hash index for lookups. */
#define CKP__HASH_MIN 8

struct ckp_ent {
	ckp_ent_t	*next;		/* insertion order */
	ckp_ent_t	*prev;
	ckp_ent_t	*hnext;		/* hash chain */
	ckp_sec_t	*parent;
	uint32_t	 hash;
	uint8_t		 type;		/* ckp_type_t */
	uint8_t		 namelen;
	bool		 seen;		/* ckp_io restore: read by a call */
	union {
		int64_t	 i;
		uint64_t u;
		bool	 b;
		struct {
			char	*p;	/* string: NUL-terminated too */
			size_t	 len;
		} s;
		ckp_sec_t *sec;
	} v;
	char		 name[];
};

struct ckp_sec {
	ckp_doc_t	*doc;
	ckp_sec_t	*parent;
	ckp_ent_t	*ent;		/* the entry holding it; NULL for the root */
	ckp_ent_t	*first;
	ckp_ent_t	*last;
	ckp_ent_t	**htab;		/* NULL while count <= CKP__HASH_MIN */
	size_t		 count;
	size_t		 hsize;		/* power of two */
	uint32_t	 version;
	uint16_t	 depth;		/* root 0 */
	bool		 vset;		/* decoders: "$version" already read */
};

#define CKP__ERRMSG_MAX 1024

/* Warnings held until a document's first ckp_doc_set_warn(): at most... */
#define CKP__WARN_HELD_MAX 16

struct ckp__warn_held {
	struct ckp__warn_held	*next;
	char			 msg[];
};

/** Hold @p doc's warnings until its first ckp_doc_set_warn(). */
void	ckp__doc_hold_warnings(ckp_doc_t *doc);

struct ckp_doc {
	ckp_sec_t	 root;
	int		 err;
	char		 errmsg[CKP__ERRMSG_MAX];
	ckp_warn_fn	*warn;
	void		*warnarg;
	bool		 warn_hold;	/* the library returns it: hold warnings */
	bool		 warn_set;	/* ckp_doc_set_warn() was called */
	struct ckp__warn_held *held, **held_tail;
	unsigned	 nheld, dropped;
	ckp_enc_t	 enc;
	ckp_sum_state_t	 sum_state;
	char		 sumtext[32];
};

/* ---- checksums (stable) ---- */

/* "xxh3-64:" + 16 lowercase hex digits + NUL */
#define CKP_SUM_PREFIX	"xxh3-64:"
#define CKP_SUM_TEXT_LEN 25

/** Spell @p h as "xxh3-64:%016x" into @p buf (CKP_SUM_TEXT_LEN bytes). */
void	ckp__sum_text(uint64_t h, char buf[CKP_SUM_TEXT_LEN]);
/** Parse "xxh3-64:<16 lowercase hex>" of exactly @p len bytes.  0 or -EINVAL. */
int	ckp__sum_parse(const char *s, size_t len, uint64_t *h);
/** XXH3-64 of the canonical binary body of the tree under @p root. */
uint64_t ckp__body_hash(const ckp_sec_t *root);

/* ---- base64, RFC 4648 with padding (stable) ---- */

static inline size_t
ckp__b64_enclen(size_t n)
{
	return (n + 2) / 3 * 4;
}
/** Encode @p n bytes; writes exactly ckp__b64_enclen(n) chars, no NUL. */
void	ckp__b64_encode(const void *src, size_t n, char *dst);
/**
 * Decode base64 starting at @p src, stopping at the first byte that is not
 * part of the base64 text (or at @p n).  @p dst needs n / 4 * 3 bytes.
 * *@p used receives the number of input bytes consumed, *@p outlen the
 * bytes written.  Returns 0, or -EINVAL when the text is not canonical
 * base64 (length not a multiple of 4, bad padding, non-zero pad bits);
 * *@p used then points at the offending input byte.
 */
int	ckp__b64_decode(const char *src, size_t n, uint8_t *dst, size_t *used,
	    size_t *outlen);

/* ---- names, values spelled as text ---- */

/** Whether @p name (@p len bytes) is a valid field (or, @p section, section) name. */
bool	ckp__name_ok(const char *name, size_t len, bool section);
/** Parse a decimal integer (JSON number syntax without fraction/exponent). */
int	ckp__parse_dec(const char *s, size_t n, ckp_type_t type, int64_t *out);
/** Parse 64-bit hex ("ffff", "-1a" for int64).  -EINVAL syntax, -ERANGE range. */
int	ckp__parse_hex64(const char *s, size_t n, bool is_signed, uint64_t *out);
/** Spell an integer/bool field value into @p buf (>= 24 bytes); returns length. */
size_t	ckp__fmt_scalar(ckp_type_t type, uint64_t bits, char *buf);
/** @return bytes of the fixed-width value of @p type (0 for string/b64/section). */
size_t	ckp__type_size(ckp_type_t type);
static inline bool
ckp__type_is_int(ckp_type_t t)
{
	return t >= CKP_TYPE_INT8 && t <= CKP_TYPE_UINT64;
}
static inline bool
ckp__type_is_signed(ckp_type_t t)
{
	return t >= CKP_TYPE_INT8 && t <= CKP_TYPE_INT64;
}
/** Valid UTF-8 without NUL, no surrogates, no overlong forms. */
bool	ckp__utf8_ok(const char *s, size_t n);
/** Offset of the first byte violating ckp__utf8_ok(), or n. */
size_t	ckp__utf8_check(const char *s, size_t n);

/* ---- tree internals ---- */

void	 ckp__sec_init(ckp_sec_t *sec, ckp_doc_t *doc, ckp_sec_t *parent);
void	 ckp__sec_clear(ckp_sec_t *sec);
/** Find the entry named by @p len bytes at @p name. */
ckp_ent_t *ckp__lookup(const ckp_sec_t *sec, const char *name, size_t len);
/**
 * Append a new entry of @p type (value zeroed; sections get a child
 * section) without checking the name.  NULL with *err = -EEXIST when the
 * name is taken, -ENOMEM, or -E2BIG past CKP_MAX_DEPTH.
 */
ckp_ent_t *ckp__ent_add(ckp_sec_t *sec, const char *name, size_t len,
	    ckp_type_t type, int *err);
/** Store a copy of string/bytes into @p ent (type string or b64). */
int	 ckp__ent_set_buf(ckp_ent_t *ent, const void *p, size_t len);
/** Take ownership of the malloc'd @p p as the value of @p ent. */
void	 ckp__ent_take_buf(ckp_ent_t *ent, void *p, size_t len);
/** Tree equality in order (names, types, values, versions). */
bool	 ckp__sec_equal(const ckp_sec_t *a, const ckp_sec_t *b);
/** Dotted path of entry @p ent into @p buf (truncated with "..."). */
void	 ckp__ent_path(const ckp_ent_t *ent, char *buf, size_t size);
/** Copy @p src's entries into @p dst (deep).  0 or -ENOMEM. */
int	 ckp__sec_copy(ckp_sec_t *dst, const ckp_sec_t *src);

/* ---- growable output buffer ---- */

struct ckp__buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

int	ckp__buf_grow(struct ckp__buf *b, size_t more);
static inline char *
ckp__buf_reserve(struct ckp__buf *b, size_t more)
{
	if (b->cap - b->len < more && ckp__buf_grow(b, more) != 0)
		return NULL;
	return b->p + b->len;
}
static inline void
ckp__buf_put(struct ckp__buf *b, const void *p, size_t n)
{
	char *d = ckp__buf_reserve(b, n);

	if (d != NULL && n > 0) {
		memcpy(d, p, n);
		b->len += n;
	}
}
void	ckp__buf_puts(struct ckp__buf *b, const char *s);
void	ckp__buf_putc(struct ckp__buf *b, char c);

/* ---- codecs: encode into @p out (checksum @p sum); decode into @p doc ---- */

int	ckp__json_encode(const ckp_sec_t *root, const char *sum,
	    struct ckp__buf *out);
int	ckp__conf_encode(const ckp_sec_t *root, const char *sum,
	    struct ckp__buf *out);
int	ckp__bin_encode(const ckp_sec_t *root, struct ckp__buf *out);
/* Decoders fill doc->root and set doc->sum_state; they record errors in doc. */
int	ckp__json_decode(ckp_doc_t *doc, const char *buf, size_t len,
	    const char *origin, unsigned flags);
int	ckp__conf_decode(ckp_doc_t *doc, const char *buf, size_t len,
	    const char *origin, unsigned flags);
int	ckp__bin_decode(ckp_doc_t *doc, const uint8_t *buf, size_t len,
	    const char *origin, unsigned flags);
/** Encoding of @p buf judged by its first bytes. */
ckp_enc_t ckp__detect(const void *buf, size_t len);
/**
 * Shared decoder epilogue: checksum state and header checks.  @p file_sum
 * is the checksum the input carries (when @p have_sum), @p content the one
 * of the decoded tree; @p where prefixes checksum messages ("f.json:12:3"),
 * @p origin header messages.
 */
int	ckp__decode_finish(ckp_doc_t *doc, bool have_sum, uint64_t file_sum,
	    uint64_t content, const char *origin, const char *where,
	    unsigned flags);
/** Line and column (1-based, columns in bytes) of offset @p off in @p buf. */
void	ckp__linecol(const char *buf, size_t off, unsigned *line, unsigned *col);

/** Quote @p s (n bytes) JSON-style into @p out. */
void	ckp__json_quote(struct ckp__buf *out, const char *s, size_t n);

#endif /* CKP_IMPL_H */
