/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libckp: virtual machine checkpoints that people can read, check, diff and
 * keep using across versions.
 *
 * A checkpoint is two files: FILE.ckp holds guest RAM (sparse: zero pages
 * are holes) and FILE.ckp.meta holds a document: a tree of named, versioned
 * sections holding named, typed fields.  The document has three lossless
 * encodings (JSON, binary, bhyve-style config text); docs/FORMAT.md
 * specifies them.
 *
 * Conventions, in the style of libnv and libucl:
 *  - Types are opaque.  Names are ckp_noun_verb.
 *  - Every document carries a sticky error.  Builders and getters record the
 *    first error in it and become no-ops afterwards, so a caller may add or
 *    read many fields and check ckp_doc_error() once at the end.
 *  - Functions that return int return 0 on success or a negative errno.
 *  - Names of fields and sections match [A-Za-z0-9_-]+; a section name may
 *    carry an index suffix "@N" (e.g. "vcpu@0").  Paths join names with '.'
 *    ("devices.vcpu@0.rip").
 *
 * The library is portable C11 + POSIX; it needs no Linux or KVM header.
 */
#ifndef CKP_H
#define CKP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What this header declares is libckp's interface, and all a shared libckp
 * exports: its objects are built with -fvisibility=hidden, so the library's
 * internals (ckp__*) stay inside it.
 */
#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility push(default)
#endif

/** Name written in header.format of every document. */
#define CKP_FORMAT_NAME "ckp"
/** Newest document format version this library reads and the one it writes. */
#define CKP_FORMAT_VERSION 1

/** Deepest section nesting a decoder accepts. */
#define CKP_MAX_DEPTH 64
/** Longest field or section name, in bytes. */
#define CKP_MAX_NAME 128

/* ------------------------------------------------------------------------ */
/* Types                                                                     */
/* ------------------------------------------------------------------------ */

/** Type of an entry.  The spelling used in encodings is ckp_type_name(). */
typedef enum ckp_type {
	CKP_TYPE_INVALID = 0,
	CKP_TYPE_INT8,
	CKP_TYPE_INT16,
	CKP_TYPE_INT32,
	CKP_TYPE_INT64,
	CKP_TYPE_UINT8,
	CKP_TYPE_UINT16,
	CKP_TYPE_UINT32,
	CKP_TYPE_UINT64,
	CKP_TYPE_BOOL,
	CKP_TYPE_STRING,
	CKP_TYPE_B64,     /**< a byte string; spelled base64 in text encodings */
	CKP_TYPE_SECTION, /**< a nested section */
} ckp_type_t;

/** @return "int8" ... "uint64", "bool", "string", "b64", "section"; NULL if invalid. */
const char *ckp_type_name(ckp_type_t type);

/** @return the type spelled by the @p len bytes at @p name, or CKP_TYPE_INVALID. */
ckp_type_t ckp_type_from_name(const char *name, size_t len);

/** Encodings of a document. */
typedef enum ckp_enc {
	CKP_ENC_NONE = 0,
	CKP_ENC_JSON, /**< pretty JSON with "name$type" keys (the seed review's format) */
	CKP_ENC_BIN,  /**< compact self-describing binary, for streams and speed */
	CKP_ENC_CONF, /**< one "dotted.path.name$type=value" line per field */
} ckp_enc_t;

/** @return "json", "bin", "conf"; NULL if invalid. */
const char *ckp_enc_name(ckp_enc_t enc);
/** @return the encoding named @p name ("json", "bin", "conf"), or CKP_ENC_NONE. */
ckp_enc_t ckp_enc_from_name(const char *name);

/** A checkpoint document: header, sections and fields, and a sticky error. */
typedef struct ckp_doc ckp_doc_t;
/** A section inside a document.  Owned by the document. */
typedef struct ckp_sec ckp_sec_t;
/** One entry (field or section) inside a section.  Owned by the document. */
typedef struct ckp_ent ckp_ent_t;

/* ------------------------------------------------------------------------ */
/* Documents                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * Create a document whose root holds a "header" section with format,
 * format_version, producer and created (UTC, ISO 8601) fields.  "created"
 * is now, or $SOURCE_DATE_EPOCH when set (reproducible output).
 * @param producer program and version, e.g. "hyve 0.1.0".
 * @return the document, or NULL when out of memory.
 */
ckp_doc_t *ckp_doc_new(const char *producer);

/** Create a document with an empty root and no header (decoders, tools). */
ckp_doc_t *ckp_doc_new_empty(void);

/** Free a document and everything it owns.  NULL is allowed. */
void ckp_doc_free(ckp_doc_t *doc);

/** @return 0, or the negative errno of the first error recorded. */
int ckp_doc_error(const ckp_doc_t *doc);

/**
 * @return the message of the first error, naming what is wrong and where
 * (file, line and column, or the section.field path); "" when none.
 */
const char *ckp_doc_errmsg(const ckp_doc_t *doc);

/** Record an error unless one is already recorded.  @return @p err. */
int ckp_doc_set_error(ckp_doc_t *doc, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Forget the recorded error. */
void ckp_doc_clear_error(ckp_doc_t *doc);

/** Callback for warnings that are not errors (unknown fields on restore...). */
typedef void ckp_warn_fn(void *arg, const char *msg);

/**
 * Route warnings to @p fn (default: none are reported).  On a document
 * ckp_checkpoint_open() returned, the warnings it raised (leftovers
 * recovery refused) and any raised before this first call are held, up
 * to 16, and handed to @p fn by that call; after it, a NULL @p fn drops
 * them.
 */
void ckp_doc_set_warn(ckp_doc_t *doc, ckp_warn_fn *fn, void *arg);

/** Report a warning through the document's callback. */
void ckp_doc_warn(const ckp_doc_t *doc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** @return the root section. */
ckp_sec_t *ckp_doc_root(ckp_doc_t *doc);

/* ------------------------------------------------------------------------ */
/* Encoding, decoding, files                                                 */
/* ------------------------------------------------------------------------ */

/** Decoder flags. */
#define CKP_LOAD_NOVERIFY 0x1 /**< keep going when the checksum is missing or wrong */
/**
 * Keep going when the checksum is missing (a hand-written document, the seed
 * review's files: ckp_doc_sum_state() then says CKP_SUM_NONE); a wrong one
 * is still an error.
 */
#define CKP_LOAD_UNSEALED 0x2

/** State of a decoded document's own checksum. */
typedef enum ckp_sum_state {
	CKP_SUM_NONE = 0, /**< the input carried no checksum (e.g. the seed review's files) */
	CKP_SUM_OK,       /**< present and matching */
	CKP_SUM_BAD,      /**< present and not matching the content */
} ckp_sum_state_t;

/**
 * Encode @p doc.  The checksum of the content is computed and written.
 * A document with a recorded error is not encoded (its error is returned):
 * it may be incomplete.
 * @param bufp receives a malloc'd buffer (caller frees).
 */
int ckp_doc_encode(ckp_doc_t *doc, ckp_enc_t enc, void **bufp, size_t *lenp);

/**
 * Decode a document, detecting its encoding.  Always returns a document
 * (NULL only when out of memory); check ckp_doc_error().  On error the
 * document is empty: nothing half-read is usable.  A missing or wrong
 * checksum is an error unless CKP_LOAD_NOVERIFY is given; a header naming
 * another format or a newer format version always is.
 * @param origin name used in error messages (usually the file name).
 */
ckp_doc_t *ckp_doc_decode(const void *buf, size_t len, const char *origin,
    unsigned flags);

/**
 * The largest input, in bytes, that the readers of documents take unless
 * told otherwise (256 MiB): a meta holds 16 to 22 bytes per MiB of guest
 * RAM that is not all zero plus the device state, so this is the meta of a
 * dense guest of more than 10 TiB.  The limit bounds the memory a reader
 * spends on an input that never ends (a pipe, /dev/zero) or a file that is
 * no document.  ckp_writer_commit() refuses to write a larger meta, so that
 * every checkpoint it writes can be read back.
 */
#define CKP_DOC_MAX_DEFAULT ((size_t)256 << 20)

/**
 * Read and decode the file @p path; see ckp_doc_decode().  Input longer
 * than CKP_DOC_MAX_DEFAULT bytes is an error (-EFBIG), found while reading.
 */
ckp_doc_t *ckp_doc_load(const char *path, unsigned flags);

/**
 * As ckp_doc_load(), refusing input longer than @p max bytes (0: the
 * default, CKP_DOC_MAX_DEFAULT) with -EFBIG and the message "PATH: larger
 * than the N-byte limit for a document".  The limit is checked as the
 * bytes are read (a regular file's size is checked before reading), so at
 * most @p max + 1 bytes are ever held.
 */
ckp_doc_t *ckp_doc_load_max(const char *path, unsigned flags, size_t max);

/**
 * As ckp_doc_load_max(), reading from the open descriptor @p fd (a pipe,
 * standard input, or a file opened by the caller) up to its end.  @p fd
 * is not closed.  @p origin names the input in messages ("<stdin>").
 */
ckp_doc_t *ckp_doc_load_fd(int fd, const char *origin, unsigned flags,
    size_t max);

/** @return the encoding a decoded document was read from. */
ckp_enc_t ckp_doc_encoding(const ckp_doc_t *doc);

/** @return the state of a decoded document's checksum. */
ckp_sum_state_t ckp_doc_sum_state(const ckp_doc_t *doc);

/**
 * Check that @p doc has the header every checkpoint meta has: a "header"
 * section with format (string), format_version (uint32), producer and
 * created (strings).  The one rule for `ckp check` and for a VMM's
 * restore, so that the two cannot disagree.
 * @return 0, or -EINVAL with the first problem in @p why ("no header
 * section", "header.created is missing", "header.producer has type
 * uint32, expected string").  The document's error is not set.
 */
int ckp_doc_check_header(ckp_doc_t *doc, char *why, size_t whylen);

/**
 * @return the checksum of the document's current content, spelled
 * "xxh3-64:<16 hex digits>" (valid until the next call).  The same in
 * every encoding.
 */
const char *ckp_doc_checksum(ckp_doc_t *doc);

/**
 * Write @p doc to @p path atomically: a temporary file in the same
 * directory, fsync, rename, fsync of the directory.
 */
int ckp_doc_save(ckp_doc_t *doc, const char *path, ckp_enc_t enc);

/* ------------------------------------------------------------------------ */
/* Sections                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * Add a section named @p name holding data of version @p version.
 * @return the new section, or NULL (error recorded: bad or duplicate name).
 */
ckp_sec_t *ckp_sec_add(ckp_sec_t *parent, const char *name, uint32_t version);

/** As ckp_sec_add(), the name built by printf-style @p fmt. */
ckp_sec_t *ckp_sec_addf(ckp_sec_t *parent, uint32_t version,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** @return the child section named @p name, or NULL if absent (no error). */
ckp_sec_t *ckp_sec_find(const ckp_sec_t *parent, const char *name);

/** @return the section's name ("" for the root). */
const char *ckp_sec_name(const ckp_sec_t *sec);

/** @return the section's data version (0 when the input gave none). */
uint32_t ckp_sec_version(const ckp_sec_t *sec);

/** Change the section's version. */
void ckp_sec_set_version(ckp_sec_t *sec, uint32_t version);

/** @return the parent section, NULL for the root. */
ckp_sec_t *ckp_sec_parent(const ckp_sec_t *sec);

/** @return the document owning @p sec. */
ckp_doc_t *ckp_sec_doc(const ckp_sec_t *sec);

/** Write the dotted path of @p sec ("devices.vcpu@0") into @p buf. */
int ckp_sec_path(const ckp_sec_t *sec, char *buf, size_t size);

/** Remove the entry (field or section, with its subtree) named @p name.  -ENOENT if absent. */
int ckp_sec_remove(ckp_sec_t *sec, const char *name);

/**
 * The child section @p name of @p parent, checked as ckp_io_enter()
 * checks it on restore, for a program that reads a section without a
 * ckp_io (before it decides to restore at all): it must exist, be a
 * section, and have a version no newer than @p version (the newest the
 * caller knows).  The refusals are ckp_io_enter()'s, word for word:
 * "missing section PATH", "PATH is a TYPE field, this program expects a
 * section", "section PATH has version N, newer than the M this program
 * knows".  Nothing is marked read.
 * @return the section, or NULL with the document's error set (-ENOENT,
 * -EINVAL or -EPROTONOSUPPORT); NULL without a new error when the
 * document already has one.
 */
ckp_sec_t *ckp_sec_require(ckp_sec_t *parent, const char *name,
    uint32_t version);

/* ------------------------------------------------------------------------ */
/* Fields: adding (typed family).  Errors go to the document's sticky error. */
/* ------------------------------------------------------------------------ */

void ckp_sec_add_int8(ckp_sec_t *sec, const char *name, int8_t value);
void ckp_sec_add_int16(ckp_sec_t *sec, const char *name, int16_t value);
void ckp_sec_add_int32(ckp_sec_t *sec, const char *name, int32_t value);
void ckp_sec_add_int64(ckp_sec_t *sec, const char *name, int64_t value);
void ckp_sec_add_uint8(ckp_sec_t *sec, const char *name, uint8_t value);
void ckp_sec_add_uint16(ckp_sec_t *sec, const char *name, uint16_t value);
void ckp_sec_add_uint32(ckp_sec_t *sec, const char *name, uint32_t value);
void ckp_sec_add_uint64(ckp_sec_t *sec, const char *name, uint64_t value);
void ckp_sec_add_bool(ckp_sec_t *sec, const char *name, bool value);
/** Add a NUL-terminated string; it must be valid UTF-8 (else an error: store bytes as b64). */
void ckp_sec_add_string(ckp_sec_t *sec, const char *name, const char *value);
/** Add a byte string of @p len bytes (copied). */
void ckp_sec_add_bytes(ckp_sec_t *sec, const char *name, const void *data,
    size_t len);

/* ------------------------------------------------------------------------ */
/* Fields: reading.  A missing field is an error naming section.field; a    */
/* field of another type is an error naming both types.                      */
/* ------------------------------------------------------------------------ */

/** @return true when @p sec holds an entry named @p name. */
bool ckp_sec_has(const ckp_sec_t *sec, const char *name);

int ckp_sec_get_int8(const ckp_sec_t *sec, const char *name, int8_t *out);
int ckp_sec_get_int16(const ckp_sec_t *sec, const char *name, int16_t *out);
int ckp_sec_get_int32(const ckp_sec_t *sec, const char *name, int32_t *out);
int ckp_sec_get_int64(const ckp_sec_t *sec, const char *name, int64_t *out);
int ckp_sec_get_uint8(const ckp_sec_t *sec, const char *name, uint8_t *out);
int ckp_sec_get_uint16(const ckp_sec_t *sec, const char *name, uint16_t *out);
int ckp_sec_get_uint32(const ckp_sec_t *sec, const char *name, uint32_t *out);
int ckp_sec_get_uint64(const ckp_sec_t *sec, const char *name, uint64_t *out);
int ckp_sec_get_bool(const ckp_sec_t *sec, const char *name, bool *out);
/** @p out points into the document; valid until the field changes. */
int ckp_sec_get_string(const ckp_sec_t *sec, const char *name,
    const char **out);
/** @p out points into the document; valid until the field changes. */
int ckp_sec_get_bytes(const ckp_sec_t *sec, const char *name,
    const void **out, size_t *lenp);

/* ------------------------------------------------------------------------ */
/* Entries: generic access for tools (show, get, set, diff).                 */
/* ------------------------------------------------------------------------ */

/** @return the first entry of @p sec in insertion order, or NULL. */
ckp_ent_t *ckp_sec_first(const ckp_sec_t *sec);
/** @return the entry after @p ent, or NULL. */
ckp_ent_t *ckp_ent_next(const ckp_ent_t *ent);
/** @return the entry of @p sec named @p name, or NULL (no error). */
ckp_ent_t *ckp_sec_lookup(const ckp_sec_t *sec, const char *name);
/**
 * @return the entry at dotted @p path from the root ("header.producer",
 * "devices.vcpu@0"), or NULL (no error).  "$version" as the last component
 * is not an entry; use ckp_sec_version().
 */
ckp_ent_t *ckp_doc_find(ckp_doc_t *doc, const char *path);

const char *ckp_ent_name(const ckp_ent_t *ent);
ckp_type_t ckp_ent_type(const ckp_ent_t *ent);
/** @return the section an entry of type CKP_TYPE_SECTION holds, else NULL. */
ckp_sec_t *ckp_ent_section(const ckp_ent_t *ent);

/**
 * The value spelled as the JSON encoding spells it, without quotes:
 * "ffffffff81085d96" for a uint64, "-1a" for an int64, "0", "true",
 * base64 text for bytes, the raw string for a string.
 * @return a malloc'd string (caller frees), or NULL when out of memory or
 * @p ent is a section.
 */
char *ckp_ent_text(const ckp_ent_t *ent);

/**
 * Parse @p text as ckp_ent_text() spells values of the entry's type and
 * store it, keeping the type.  Out-of-range or malformed text is an error
 * (-EINVAL or -ERANGE) naming the field and the type, and changes nothing.
 */
int ckp_ent_set_text(ckp_ent_t *ent, const char *text);

/**
 * Add a field of @p type to @p sec from @p text (spelled as ckp_ent_text()).
 * @return the entry, or NULL (error recorded).
 */
ckp_ent_t *ckp_sec_add_text(ckp_sec_t *sec, const char *name, ckp_type_t type,
    const char *text);

/**
 * The value of a string or b64 entry, without copying (a string's bytes
 * are followed by a NUL).  @return 0, or -EINVAL for other types.
 */
int ckp_ent_bytes(const ckp_ent_t *ent, const void **out, size_t *lenp);

/**
 * @return true when both entries have the same name, type and value
 * (sections: the same entries in the same order, recursively, and the same
 * versions).
 */
bool ckp_ent_equal(const ckp_ent_t *a, const ckp_ent_t *b);

/* ------------------------------------------------------------------------ */
/* One code path for save and restore                                        */
/* ------------------------------------------------------------------------ */

/**
 * A cursor that walks a document in one of two directions.  Device code
 * describes its state once, field by field; on save each call adds a field,
 * on restore it looks the field up by name, checks its type and stores it.
 * Errors are sticky in the document.
 */
typedef struct ckp_io ckp_io_t;

typedef enum ckp_io_mode {
	CKP_IO_SAVE = 1,
	CKP_IO_RESTORE,
} ckp_io_mode_t;

/** Field flags. */
#define CKP_F_OPTIONAL 0x1 /**< restore: a missing field takes the default */
#define CKP_F_MATCH    0x2 /**< restore: the saved value must equal the current one */

/** Create a cursor at the root of @p doc.  NULL when out of memory. */
ckp_io_t *ckp_io_new(ckp_doc_t *doc, ckp_io_mode_t mode);
void ckp_io_free(ckp_io_t *io);

bool ckp_io_saving(const ckp_io_t *io);
bool ckp_io_restoring(const ckp_io_t *io);
/** @return the document's sticky error. */
int ckp_io_error(const ckp_io_t *io);
ckp_doc_t *ckp_io_doc(const ckp_io_t *io);
/** @return the section the cursor is in. */
ckp_sec_t *ckp_io_section(const ckp_io_t *io);

/**
 * Enter the child section @p name.  Save: create it with version
 * @p version.  Restore: it must exist, and its version must not be newer
 * than @p version (the newest this code knows); otherwise an error names
 * the section and both versions.  An older version is accepted: the code
 * branches on the returned version to read older layouts.  On failure the
 * cursor stays where it was and the error is recorded; a ckp_io_leave()
 * matching the failed enter is allowed and does nothing.  Versions above
 * INT_MAX are refused.
 * @return the section's version (>= 0 for save: @p version) or a negative errno.
 */
int ckp_io_enter(ckp_io_t *io, const char *name, uint32_t version);
int ckp_io_enterf(ckp_io_t *io, uint32_t version, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** As ckp_io_enter(), but on restore an absent section returns -ENOENT without an error and without entering. */
int ckp_io_enter_opt(ckp_io_t *io, const char *name, uint32_t version);

/**
 * Leave the current section.  On restore, every entry of it that no call
 * read is reported as a warning ("unknown field devices.uart@0.foo ignored").
 */
void ckp_io_leave(ckp_io_t *io);

/**
 * Report every entry of @p sec that is not a section named in @p known
 * (@p nknown names) as ckp_io_leave() reports the entries a restore did
 * not read, with the same words: a warning (ckp_doc_set_warn()), "unknown
 * section PATH (version N) ignored" or "unknown field PATH$TYPE ignored".
 * For a section a program reads without a ckp_io, such as the root of a
 * document whose sections it reads in several ways.
 */
void ckp_sec_warn_unknown(const ckp_sec_t *sec, const char *const *known,
    size_t nknown);

/**
 * Save or restore one integer or bool field.  Restore requires exactly
 * @p type (a uint16 is never stored into a uint8 variable, nor the other
 * way round); a mismatch names the field and both types.
 * @param type   CKP_TYPE_INT8 ... CKP_TYPE_UINT64 or CKP_TYPE_BOOL.
 * @param ptr    the variable; @p size its sizeof (must match @p type).
 * @param defval with CKP_F_OPTIONAL, the value a missing field takes (it
 *               must fit @p type).  CKP_F_MATCH compares instead of
 *               storing; with CKP_F_OPTIONAL too, a missing field passes.
 */
int ckp_io_field(ckp_io_t *io, const char *name, ckp_type_t type, void *ptr,
    size_t size, unsigned flags, int64_t defval);

/**
 * Save or restore exactly @p len bytes at @p buf (restore: lengths must
 * match).  With CKP_F_OPTIONAL a missing field leaves @p buf unchanged.
 */
int ckp_io_bytes(ckp_io_t *io, const char *name, void *buf, size_t len,
    unsigned flags);

/**
 * Save or restore a byte string of variable length (save: *@p lenp bytes).
 * Restore: at most @p cap bytes, the length stored in *lenp.  With
 * CKP_F_OPTIONAL a missing field leaves @p buf and *lenp unchanged.
 */
int ckp_io_bytes_var(ckp_io_t *io, const char *name, void *buf, size_t cap,
    size_t *lenp, unsigned flags);

/**
 * Save or restore a NUL-terminated UTF-8 string in a buffer of @p cap bytes
 * (restore: it must fit with its NUL).  With CKP_F_OPTIONAL a missing field
 * leaves @p buf unchanged.
 */
int ckp_io_string(ckp_io_t *io, const char *name, char *buf, size_t cap,
    unsigned flags);

/** The ckp_type_t of an integer or bool lvalue, from its C type and size. */
#define CKP_TYPEOF(x) _Generic((x),                                          \
	_Bool: CKP_TYPE_BOOL,                                                    \
	char: ((char)-1 < 0 ? CKP__SINT(sizeof(x)) : CKP__UINT(sizeof(x))),      \
	signed char: CKP_TYPE_INT8, unsigned char: CKP_TYPE_UINT8,               \
	short: CKP_TYPE_INT16, unsigned short: CKP_TYPE_UINT16,                  \
	int: CKP__SINT(sizeof(x)), unsigned int: CKP__UINT(sizeof(x)),           \
	long: CKP__SINT(sizeof(x)), unsigned long: CKP__UINT(sizeof(x)),         \
	long long: CKP__SINT(sizeof(x)), unsigned long long: CKP__UINT(sizeof(x)), \
	default: CKP_TYPE_INVALID)
#define CKP__SINT(n) ((n) == 1 ? CKP_TYPE_INT8 : (n) == 2 ? CKP_TYPE_INT16 : \
	(n) == 4 ? CKP_TYPE_INT32 : CKP_TYPE_INT64)
#define CKP__UINT(n) ((n) == 1 ? CKP_TYPE_UINT8 : (n) == 2 ? CKP_TYPE_UINT16 : \
	(n) == 4 ? CKP_TYPE_UINT32 : CKP_TYPE_UINT64)

/**
 * CKP_IO_NAMED(io, "lcr", sc->lcr): save or restore the field "lcr" with
 * the type of sc->lcr.  The bhyve SNAPSHOT_VAR_OR_LEAVE idea, by name and
 * type.  The name is always a string written in the source, never derived
 * from the C spelling: the names are the checkpoint format, and renaming a
 * struct member must not change it (an older checkpoint would then miss the
 * field).  Arrays and structs go through ckp_io_bytes().
 */
#define CKP_IO_NAMED(io, name, lval) ckp_io_field((io), (name),              \
	CKP_TYPEOF(lval), &(lval), sizeof(lval), 0, 0)
/** Optional field: restoring a checkpoint without it stores @p def. */
#define CKP_IO_NAMED_OPT(io, name, lval, def) ckp_io_field((io), (name),     \
	CKP_TYPEOF(lval), &(lval), sizeof(lval), CKP_F_OPTIONAL, (int64_t)(def))
/** Field that must match: restore compares instead of storing. */
#define CKP_IO_NAMED_MATCH(io, name, lval) ckp_io_field((io), (name),        \
	CKP_TYPEOF(lval), &(lval), sizeof(lval), CKP_F_MATCH, 0)

/* ------------------------------------------------------------------------ */
/* RAM files and publishing a checkpoint                                     */
/* ------------------------------------------------------------------------ */

/*
 * docs/RAMFILE.md specifies the RAM file, its checksum, the "ram" section
 * and the publish protocol.  In short: FILE.ckp is exactly the guest's RAM
 * size; its byte X is the byte at RAM offset X; zero pages are holes, so
 * mmap(MAP_PRIVATE) of the file is guest RAM.  The files are created 0600
 * (guest memory holds the guest's secrets).  A checkpoint is named by its
 * RAM file "FILE.ckp" or by its meta "FILE.ckp.meta"; a name ending in
 * ".tmp" is refused (-EINVAL): it would be another checkpoint's temporary.
 */

/** A piece of guest memory, written to the RAM file at @p file_off. */
typedef struct ckp_ram_seg {
	const void *host;  /**< where the bytes are now */
	uint64_t file_off; /**< where they go in the RAM file; multiple of 4096 */
	uint64_t len;      /**< bytes; multiple of 4096 */
} ckp_ram_seg_t;

/** Progress callback: @p done of @p total bytes of RAM handled. */
typedef void ckp_progress_fn(void *arg, uint64_t done, uint64_t total);

/**
 * A checkpoint being written.  Both files are written under temporary
 * names; ckp_writer_commit() publishes them so that a crash at any moment
 * leaves either the previous checkpoint or the new one, whole.
 */
typedef struct ckp_writer ckp_writer_t;

/**
 * Begin writing the checkpoint @p path (the RAM file name, "FILE.ckp"; the
 * meta is "FILE.ckp.meta").  Fails with -EBUSY when a checkpoint of the same
 * name is being written (by this or another process), and with the errno of
 * the destination (e.g. -EACCES, -ENOENT) before anything is written when it
 * is unwritable; -EINVAL when @p ram_size is not a multiple of 4096.
 * Completes or discards an interrupted earlier publish first (see
 * ckp_recover()).  The RAM file starts as @p ram_size bytes of zeros (a
 * hole): RAM never written reads as zero.
 * @param errbuf receives a message naming the path and the reason on failure.
 */
int ckp_writer_begin(const char *path, uint64_t ram_size, ckp_writer_t **wp,
    char *errbuf, size_t errlen);

/**
 * @return the writer's sticky error (0 if none) and its message.  After the
 * first error every call fails with it, and the temporary file is already
 * removed (nothing half-written stays on disk, e.g. on ENOSPC).
 */
int ckp_writer_error(const ckp_writer_t *w);
const char *ckp_writer_errmsg(const ckp_writer_t *w);

/**
 * Report progress through @p fn while ckp_writer_put_segs() writes RAM:
 * called from the calling thread only, at most every 100 ms, and once at
 * the end with done == total (the bytes of the segments).
 */
void ckp_writer_set_progress(ckp_writer_t *w, ckp_progress_fn *fn, void *arg);

/**
 * Make the file's ranges covered by @p segs hold the segments' bytes:
 * zero pages are skipped (left as holes, or punched where something was
 * written before), neighbouring non-zero pages go out in one write, and the
 * checksum of every 1 MiB chunk the segments cover whole (or that nothing
 * was written to before) is computed from memory as it goes, so commit need
 * not read it back.  Segments may come in any order and from separate host
 * buffers; they must not overlap; parts of the file no segment covers stay
 * as they are.  A VMM that knows which pages were never written may pass
 * only the others: the rest of the file stays a hole, never read.
 * Up to @p nthreads threads (0: one per CPU).  Not concurrently with
 * other calls on @p w.  -EINVAL for a segment not page-aligned or past
 * the RAM size.
 */
int ckp_writer_put_segs(ckp_writer_t *w, const ckp_ram_seg_t *segs,
    unsigned nsegs, unsigned nthreads);

/**
 * Write @p len bytes at @p file_off (both multiples of 4096), typically
 * pages dirtied after an earlier write: zero pages punch holes (or write
 * zeros where the file system cannot punch).  The chunks touched are
 * hashed again from the file at commit.  Safe to call from several threads
 * at once (for distinct pages).
 */
int ckp_writer_put(ckp_writer_t *w, uint64_t file_off, const void *data,
    uint64_t len);

/**
 * Complete the RAM file: hash the chunks ckp_writer_put() changed (from
 * the file, so the guest may run again meanwhile) and fsync it.  Optional:
 * ckp_writer_commit() does it when it was not done, or when a put came
 * after it; a caller calls it first to tell the time the RAM file takes
 * to become durable from the time the meta and the publish take.  On
 * failure the writer has its sticky error (ckp_writer_errmsg()) and the
 * temporary is gone; commit then fails with it.
 */
int ckp_writer_sync(ckp_writer_t *w);

/**
 * Finish: ckp_writer_sync() unless done, record the "ram" section in
 * @p meta (replacing one it has: file, size, checksum, chunk_size,
 * data_bytes, extents, chunks), encode @p meta with @p enc, and
 * publish both files atomically.  Frees @p w, also on failure (then the
 * temporaries are gone and the previous checkpoint is unchanged, unless the
 * message says the publish is to be completed by ckp_recover()).  A
 * sticky error of @p meta fails the commit with that error.
 */
int ckp_writer_commit(ckp_writer_t *w, ckp_doc_t *meta, ckp_enc_t enc,
    char *errbuf, size_t errlen);

/** Discard a checkpoint being written (its temporary files) and free @p w. */
void ckp_writer_abort(ckp_writer_t *w);

/**
 * Complete or discard an interrupted publish of checkpoint @p path.
 * Recovery adopts (renames or removes) only temporaries this user's
 * writer could have made: regular files, not symbolic links, owned by the
 * effective user, writable by nobody else, with one link.  Any other file
 * under a temporary's name (another user's, planted in a directory others
 * can write) is left as it is and nothing is done.
 * @return 0 when there was nothing to do, 1 when it rolled forward or
 * cleaned up (described in @p msg), -EBUSY when a live writer holds the
 * temporaries (nothing touched), -EPERM when a temporary is not adopted
 * (@p msg names it and says why), -EFBIG when the meta temporary is
 * larger than CKP_DOC_MAX_DEFAULT (left as it is), or another negative
 * errno.
 */
int ckp_recover(const char *path, char *msg, size_t msglen);

/** What recovery would do with a checkpoint's temporaries. */
typedef enum ckp_recovery_action {
	CKP_RECOVERY_NONE = 0, /**< no temporaries: the published pair is the checkpoint */
	CKP_RECOVERY_FORWARD,  /**< a complete publish was interrupted: recovery completes it */
	CKP_RECOVERY_DISCARD,  /**< leftovers of an interrupted write: recovery removes them */
	CKP_RECOVERY_BUSY,     /**< a live writer holds them: the published pair stays */
	CKP_RECOVERY_REFUSED,  /**< recovery would fail: a temporary it does not adopt, or cannot read */
} ckp_recovery_action_t;

/** What ckp_recovery_inspect() found.  Opaque. */
typedef struct ckp_recovery ckp_recovery_t;

/**
 * Work out, changing nothing on disk, what ckp_recover() (and so
 * ckp_checkpoint_open() and ckp_writer_begin()) would do with the
 * temporaries of checkpoint @p path, by the same rules, and which pair of
 * files a restore would then read.  Waits, as ckp_checkpoint_open() does
 * (up to 5 s), for a writer that is between its renames.
 * @return 0 and *@p rp (free it with ckp_recovery_free()), or -EINVAL
 * (not a checkpoint name) or -ENOMEM, with a message in @p err.
 */
int ckp_recovery_inspect(const char *path, ckp_recovery_t **rp, char *err,
    size_t errlen);

/** @return what recovery would do. */
ckp_recovery_action_t ckp_recovery_action(const ckp_recovery_t *rec);

/**
 * @return one line saying what recovery would do and why, naming the files
 * and their sizes ("" for CKP_RECOVERY_NONE).
 */
const char *ckp_recovery_message(const ckp_recovery_t *rec);

/**
 * @return the meta a restore reads once recovery has run: FILE.ckp.meta.tmp
 * when recovery rolls forward, else FILE.ckp.meta; NULL when a restore
 * would refuse the checkpoint (a meta temporary recovery cannot judge).
 */
const char *ckp_recovery_meta(const ckp_recovery_t *rec);

/**
 * @return the RAM file that goes with ckp_recovery_meta(): FILE.ckp.tmp
 * when recovery rolls forward and it is still there, else FILE.ckp; NULL
 * when ckp_recovery_meta() is.
 */
const char *ckp_recovery_ram(const ckp_recovery_t *rec);

/** Free @p rec (NULL is a no-op). */
void ckp_recovery_free(ckp_recovery_t *rec);

/**
 * Whether both files of checkpoint @p path ("FILE.ckp" or "FILE.ckp.meta";
 * symbolic links are followed) are this user's own: regular files owned by
 * the effective user and writable by nobody else.  A restore of another
 * user's checkpoint runs the VM that user described, with the disks and
 * files its configuration names; a VMM should ask before it does that.
 * @return 0 when they are; -EPERM when not, with @p why saying which file
 * and why ("vm.ckp.meta is owned by uid 1000, not by this user (uid 0)",
 * "... is writable by group or others (mode 0664)"); the errno of stat()
 * (-ENOENT...) when a file cannot be examined, also in @p why.
 */
int ckp_checkpoint_trust(const char *path, char *why, size_t whylen);

/** Reader flags. */
#define CKP_OPEN_NORAMCHECK 0x2 /**< skip hashing the RAM file (size is still checked) */
/**
 * Refuse (-EPERM, naming the file and why) a meta or RAM file that is not
 * this user's own by the rules of ckp_checkpoint_trust(), checked on the
 * files ckp_checkpoint_open() reads.
 */
#define CKP_OPEN_OWNED 0x4

/**
 * Open checkpoint @p path ("FILE.ckp" or "FILE.ckp.meta"): recover an
 * interrupted publish (waiting, bounded, for one being renamed), load and
 * verify the meta, check its "ram" section, check that the RAM file exists
 * with the recorded size (a truncated file is an error naming both sizes)
 * and (unless CKP_OPEN_NORAMCHECK) its checksum.  Always returns a document
 * (NULL only when out of memory); check ckp_doc_error().
 * Accepts CKP_LOAD_NOVERIFY too (for the meta's own checksum only), and
 * CKP_OPEN_OWNED (-EPERM when a file is not this user's own).  Fails when
 * recovery is needed and cannot run, because the pair on disk may be
 * mixed: "an interrupted publish cannot be completed" with -EEXIST for a
 * meta temporary recovery does not adopt (see ckp_recover()), -EFBIG for
 * one larger than CKP_DOC_MAX_DEFAULT; "... must be completed first" with
 * the errno of what failed otherwise.  A RAM temporary alone does not stop
 * it: the published pair was never touched.
 */
ckp_doc_t *ckp_checkpoint_open(const char *path, unsigned flags);

/** @return the RAM file's path for checkpoint @p path, in @p buf. */
int ckp_ram_path(const char *path, char *buf, size_t size);

/**
 * Verify the RAM file @p ram_path against the "ram" section of @p doc
 * (size and checksum, then chunks, data_bytes and extents).  Holes are not
 * read.  A mismatch names the file and the first bad chunk's offset
 * ("RAM file f.ckp: chunk at offset 0x1200000 does not match its
 * checksum"); -EBADMSG.  Error recorded in @p doc.  @p nthreads: 0 for one
 * per CPU.
 */
int ckp_ram_verify(ckp_doc_t *doc, const char *ram_path, unsigned nthreads);

/**
 * As ckp_ram_verify(), reporting progress through @p fn (bytes of the RAM
 * file checked so far, and its size) at most every 100 ms and once at the
 * end.  @p fn is called from the calling thread.
 */
int ckp_ram_verify_progress(ckp_doc_t *doc, const char *ram_path,
    unsigned nthreads, ckp_progress_fn *fn, void *arg);

/**
 * Map @p len bytes of the RAM file at @p file_off onto @p addr with
 * MAP_PRIVATE|MAP_FIXED: pages load on first touch, guest writes stay
 * private, and a checkpoint published later under the same name does not
 * change what is mapped (it is a new file).  -EINVAL when @p addr,
 * @p file_off or @p len is not page-aligned; -ERANGE when the range passes
 * the end of the file (touching it would fault).
 */
int ckp_ram_map(const char *ram_path, uint64_t file_off, void *addr,
    uint64_t len);

/**
 * Read @p len bytes at @p file_off into @p dst eagerly, with up to
 * @p nthreads threads (0: one per CPU).  Holes are not read: their bytes
 * in @p dst are zeroed only where not zero already, so fresh anonymous
 * memory is read but never written (no memory is allocated for holes).
 * -ERANGE when the range passes the end of the file.
 */
int ckp_ram_read(const char *ram_path, uint64_t file_off, void *dst,
    uint64_t len, unsigned nthreads);

/*
 * Verified loading, chunk by chunk (docs/RAMFILE.md section 8): every
 * chunk is checked against its record in ram.chunks as it is read, so a
 * VMM can start a guest at once and load (and check) each chunk the first
 * time it is touched, or read all of RAM and check it in the same pass.
 */

/** A RAM file open for verified loading. */
typedef struct ckp_ram_lazy ckp_ram_lazy_t;

/**
 * Open the RAM file @p ram_path of the checkpoint whose meta is @p doc for
 * verified loading.  Reads nothing of the file's content: checks the "ram"
 * section, that ram.chunks adds up to ram.checksum (so an altered list is
 * caught before it is trusted), and that the file is a regular file of
 * ram.size bytes.  The file stays open: a checkpoint published later
 * under the same name does not change what is loaded.
 * Errors, recorded in @p doc: -ENOTSUP when the meta has no ram.chunks
 * (only ckp_ram_verify() can check such a file), -EBADMSG when the list
 * does not add up or the size differs, -EINVAL for a malformed section,
 * the errno of open/fstat.
 */
int ckp_ram_lazy_open(ckp_doc_t *doc, const char *ram_path,
    ckp_ram_lazy_t **lp);

/** @return the RAM file's size (ram.size). */
uint64_t ckp_ram_lazy_size(const ckp_ram_lazy_t *l);

/** @return the chunk size (ram.chunk_size): the unit of fetching. */
uint32_t ckp_ram_lazy_chunk_size(const ckp_ram_lazy_t *l);

/**
 * Fetch the chunk at @p file_off (a multiple of the chunk size, below the
 * size) into @p buf (the chunk's length: the chunk size, or what is left
 * of the file for the last chunk) and check it against ram.chunks.  A
 * chunk the meta records as zero whose file range is a hole is recognised
 * without reading.  *@p is_zero is set when the chunk is all zero; then
 * @p buf may not have been written (it is not when the range is a hole).
 * -EBADMSG when the chunk does not match, with a message in @p err naming
 * the file and the chunk's offset ("RAM file f.ckp: chunk at offset
 * 0x1200000 does not match its checksum", "... holds data where the meta
 * records zeros", "... holds only zeros where the meta records data");
 * -EINVAL for a bad @p file_off; an I/O errno (message names the offset).
 * Safe to call from several threads at once for distinct chunks.
 */
int ckp_ram_lazy_fetch(ckp_ram_lazy_t *l, uint64_t file_off, void *buf,
    bool *is_zero, char *err, size_t errlen);

/**
 * Read @p len bytes at @p file_off into @p dst, checking every chunk as it
 * is read (one pass over the file: the hash is computed while the bytes
 * are in cache), with up to @p nthreads threads (0: one per CPU), each
 * reading its own contiguous stripe.  Holes are not read and @p dst is
 * written there only where it is not zero already (fresh anonymous memory
 * stays unallocated).  Chunks only partly inside the range are read whole
 * (into a buffer) to be checked.  Progress through @p fn (bytes of the
 * range done) from the calling thread, at most every 100 ms.  Errors as
 * ckp_ram_lazy_fetch(); -ERANGE when the range passes the end of the file.
 */
int ckp_ram_lazy_read(ckp_ram_lazy_t *l, uint64_t file_off, void *dst,
    uint64_t len, unsigned nthreads, ckp_progress_fn *fn, void *arg,
    char *err, size_t errlen);

/** @return how many chunks have not been fetched (and checked) yet. */
uint64_t ckp_ram_lazy_remaining(const ckp_ram_lazy_t *l);

/**
 * Once every chunk has been fetched: check what the chunks add up to
 * against ram.data_bytes and ram.extents (when the meta has them), so that
 * a file loaded chunk by chunk has passed every check ckp_ram_verify()
 * makes.  -EAGAIN while chunks remain, -EBADMSG on a mismatch (message in
 * @p err).
 */
int ckp_ram_lazy_finish(ckp_ram_lazy_t *l, char *err, size_t errlen);

/** Close the file and free @p l (NULL is a no-op). */
void ckp_ram_lazy_close(ckp_ram_lazy_t *l);

/* ------------------------------------------------------------------------ */
/* RAM summaries of memory                                                   */
/* ------------------------------------------------------------------------ */

/**
 * The "ram" section of RAM that is in memory rather than in a file (a
 * migration stream's sender and receiver, docs/MIGRATION.md): the same
 * chunk hashes, checksum, data_bytes and extents that a RAM file of the
 * same bytes gets (docs/RAMFILE.md section 3), kept chunk by chunk so that
 * only the chunks that changed are hashed again.
 */
typedef struct ckp_ram_sum ckp_ram_sum_t;

/** A summary of @p size bytes (a multiple of 4096) of zeros; NULL on ENOMEM or a bad size. */
ckp_ram_sum_t *ckp_ram_sum_new(uint64_t size);
void ckp_ram_sum_free(ckp_ram_sum_t *s);
/** @return the chunk size (1 MiB): the unit of ckp_ram_sum_chunk(). */
uint32_t ckp_ram_sum_chunk_size(const ckp_ram_sum_t *s);
/** @return the number of chunks. */
uint64_t ckp_ram_sum_nchunks(const ckp_ram_sum_t *s);

/**
 * Summarise chunk @p index from @p buf, its bytes as they are now (the
 * chunk size, or what is left for the last chunk).  Safe from several
 * threads at once for distinct chunks.  0, or -EINVAL for an index past
 * the end.
 */
int ckp_ram_sum_chunk(ckp_ram_sum_t *s, uint64_t index, const void *buf);

/**
 * Write the "ram" section into @p meta (replacing one it has), with
 * ram.file = @p file unless NULL.  Error recorded in @p meta.
 */
int ckp_ram_sum_section(const ckp_ram_sum_t *s, ckp_doc_t *meta,
    const char *file);

/**
 * Check the "ram" section of @p meta against this summary: size, chunk
 * size, checksum and, when present, chunks, data_bytes and extents.
 * -EBADMSG naming the first chunk that differs ("chunk at offset 0x300000
 * does not match"), or the section's own error; message in @p err.
 */
int ckp_ram_sum_check(const ckp_ram_sum_t *s, ckp_doc_t *meta, char *err,
    size_t errlen);

/* ------------------------------------------------------------------------ */
/* Checkpoint streams                                                        */
/* ------------------------------------------------------------------------ */

/*
 * docs/MIGRATION.md sections 2 and 3 specify the stream.  In short: each
 * direction is a 40-byte preamble, then frames (a 16-byte header with a
 * type, a length and a sequence number, the payload, a trailer).  Without
 * a key the trailer is XXH3-64 of header and payload (accidents are
 * caught); with a shared secret every payload is encrypted and
 * authenticated with AES-256-GCM under keys derived for this session and
 * direction.  What the frames mean is the caller's business: libckp only
 * frames, checks, encrypts and authenticates them.
 *
 * A stream is used by at most two threads at once: one sending and one
 * receiving.  Its error is sticky, as a document's is: after the first
 * one every call fails with it.  Errors:
 *   -ENODATA         the stream ended cleanly between two frames (whether
 *                    that is the end the caller expects is its business:
 *                    a protocol on top ends with a frame that says so);
 *   -EPROTO          it ended inside the preamble or a frame ("truncated");
 *   -EBADMSG         a frame or preamble is damaged, changed, forged, lost,
 *                    repeated or reordered (checksum, authentication,
 *                    sequence number, magic, fields that must be 0);
 *   -EMSGSIZE        a frame larger than CKP_STREAM_MAX_FRAME;
 *   -EPROTONOSUPPORT another stream version, or unknown preamble flags;
 *   -EACCES          a keyed stream without a key, or the other way round;
 *   -ECONNRESET      the reader closed without answering the preamble;
 *   -ETIMEDOUT       no progress for the timeout;
 *   -ENOTSUP         a key, but this libckp was built without libcrypto
 *                    (`make lib CKP_CRYPTO=0`): only unkeyed streams;
 *   -EINVAL          misuse (type 0, send on the side of a one-way stream
 *                    that only reads, a key shorter than
 *                    CKP_STREAM_MIN_KEY...);
 *   the errno of read()/write() (-EPIPE...), -ENOMEM, -EIO (libcrypto).
 * Messages name the stream's origin, the frame (its sequence number and
 * type) and what is wrong: "stream tcp:10.0.0.1:7777: frame 12 (type
 * 0x10): authentication failed: wrong key, or the stream was changed".
 */

/** A checkpoint stream over a file descriptor.  Opaque. */
typedef struct ckp_stream ckp_stream_t;

/** The stream version this library writes and reads. */
#define CKP_STREAM_VERSION 1
/** Largest payload of one frame (16 MiB), the bound of a reader's memory. */
#define CKP_STREAM_MAX_FRAME (16u << 20)
/** Shortest shared secret, in bytes. */
#define CKP_STREAM_MIN_KEY 16

/** Preamble flag: the stream is keyed (set by libckp when given a key). */
#define CKP_STREAM_KEYED  0x1u
/**
 * Preamble flag, and flag of ckp_stream_new(): one-way.  A writer with it
 * expects no answer (it writes a file or pipe); a reader with it reads a
 * file or pipe, sends nothing, and refuses a writer that waits for an
 * answer.  A reader without it answers a two-way writer and reads a
 * one-way one too.
 */
#define CKP_STREAM_ONEWAY 0x2u

/** Which side of a stream: the writer opens it (sends the first preamble). */
typedef enum ckp_stream_role {
	CKP_STREAM_WRITER = 1,
	CKP_STREAM_READER,
} ckp_stream_role_t;

/** One piece of a frame's payload (ckp_stream_sendv()). */
typedef struct ckp_iov {
	const void *base;
	size_t len;
} ckp_iov_t;

/**
 * Create a stream over @p fd (not owned: never closed, its flags never
 * changed; blocking or non-blocking).  @p key (@p keylen bytes, at least
 * CKP_STREAM_MIN_KEY) is the shared secret, copied; NULL for an unkeyed
 * stream.  @p flags: 0 or CKP_STREAM_ONEWAY.  @p origin names the peer in
 * messages ("tcp:10.0.0.1:7777", "<stdin>", a file name; NULL: "fd N").
 * Bad arguments are recorded as the stream's error, which
 * ckp_stream_start() returns.
 * Writing to a pipe whose reader is gone raises SIGPIPE: a caller that
 * writes a stream to a pipe ignores SIGPIPE (sockets are written without
 * it, and get -EPIPE).
 * @return the stream, or NULL when out of memory.
 */
ckp_stream_t *ckp_stream_new(int fd, ckp_stream_role_t role, const void *key,
    size_t keylen, unsigned flags, const char *origin);

/** Free @p s, wiping the secret and keys.  The descriptor stays open.  NULL is allowed. */
void ckp_stream_free(ckp_stream_t *s);

/**
 * Fail with -ETIMEDOUT when the descriptor makes no progress (no byte read
 * or written) for @p ms milliseconds; 0 (the default) waits forever.  A
 * write can block longer on a blocking descriptor that is not a socket
 * (a pipe): give a non-blocking one where that matters.
 * Set before ckp_stream_start() or between calls.  @return 0.
 */
int ckp_stream_set_timeout(ckp_stream_t *s, unsigned ms);

/**
 * Exchange the preambles.  The writer sends its own, then (two-way) reads
 * the reader's answer.  The reader reads the writer's, checks its magic,
 * version, flags and nonce, and that it is keyed exactly when a key was
 * given, then (two-way) answers with its own.  A keyed stream derives its
 * keys from both preambles here.  Called once, before any other.
 */
int ckp_stream_start(ckp_stream_t *s);

/**
 * Send one frame of @p type (1..255) holding the @p len bytes at @p buf
 * (at most CKP_STREAM_MAX_FRAME).  The writer sends; in a two-way stream
 * the reader may send too (its frames go the other way, numbered from 0).
 * Returns once the whole frame is written.
 */
int ckp_stream_send(ckp_stream_t *s, uint8_t type, const void *buf,
    size_t len);

/**
 * As ckp_stream_send(), the payload gathered from @p n pieces (not copied
 * when unkeyed).  Unkeyed, the pieces are read twice (hashed, then written):
 * memory that changes meanwhile (a running guest's RAM) gives a frame the
 * reader refuses as damaged.  Copy such memory first, or send it only
 * while it cannot change.
 */
int ckp_stream_sendv(ckp_stream_t *s, uint8_t type, const ckp_iov_t *iov,
    unsigned n);

/**
 * Send @p doc in the binary encoding (docs/FORMAT.md section 4: any reader
 * decodes the payload with ckp_doc_decode(), checksum included) as one
 * frame of @p type.  A document with a recorded error is not sent (the
 * stream takes its error); an encoding larger than CKP_STREAM_MAX_FRAME
 * fails with -EMSGSIZE.
 */
int ckp_stream_send_doc(ckp_stream_t *s, uint8_t type, ckp_doc_t *doc);

/**
 * Receive the next frame: its type into *@p type, its payload into
 * *@p payload and *@p len.  The payload is checked (checksum, or
 * authenticated and decrypted) before it is returned, and stays valid
 * until the next ckp_stream_recv() or ckp_stream_free().  -ENODATA when
 * the stream ended cleanly between frames; see above for the others.
 */
int ckp_stream_recv(ckp_stream_t *s, uint8_t *type, const void **payload,
    size_t *len);

/** @return 0, or the negative errno of the first error (sticky). */
int ckp_stream_error(const ckp_stream_t *s);

/** @return the message of the first error, naming the origin and the frame; "" when none. */
const char *ckp_stream_errmsg(const ckp_stream_t *s);

/**
 * @return the flags of the peer's preamble once started (CKP_STREAM_KEYED,
 * CKP_STREAM_ONEWAY); 0 before, and for the writer of a one-way stream.
 */
unsigned ckp_stream_peer_flags(const ckp_stream_t *s);

/**
 * The bytes written to and read from the descriptor so far, preambles,
 * headers and trailers included.  Either pointer may be NULL.  Safe to
 * call from any thread.
 */
void ckp_stream_counters(const ckp_stream_t *s, uint64_t *sent,
    uint64_t *received);

/**
 * Send frames to @p wfd instead of the descriptor given to ckp_stream_new(),
 * for a two-way stream whose directions are two descriptors (a program
 * reading its standard input and answering on its standard output, as
 * over ssh).  Not owned.  @return 0; -EBADF for a negative @p wfd (the
 * stream's error); -EINVAL once started (refused, the stream goes on).
 */
int ckp_stream_set_wfd(ckp_stream_t *s, int wfd);

/* ------------------------------------------------------------------------ */
/* Checkpoint stream frames                                                  */
/* ------------------------------------------------------------------------ */

/*
 * The frame types of a checkpoint stream and their payloads
 * (docs/MIGRATION.md section 5).  All integers little-endian.
 */
#define CKP_FRAME_HELLO   0x01 /**< document: what the receiver needs before RAM */
#define CKP_FRAME_PAGES   0x10 /**< off:u64, then whole pages */
#define CKP_FRAME_ZERO    0x11 /**< off:u64 npages:u64: now all zero */
#define CKP_FRAME_ROUND   0x12 /**< round:u32 reserved:u32 pages:u64 */
#define CKP_FRAME_STATE   0x20 /**< document: the checkpoint's meta */
#define CKP_FRAME_END     0x21 /**< empty: nothing follows */
#define CKP_FRAME_GO      0x22 /**< empty: run the guest */
#define CKP_FRAME_ABORT   0x7f /**< document: error$string (either direction) */
#define CKP_FRAME_ACCEPT  0x81 /**< empty: HELLO accepted */
#define CKP_FRAME_READY   0x83 /**< empty: STATE and RAM checked and applied */
#define CKP_FRAME_RUNNING 0x84 /**< empty: the guest runs at the receiver */
/** The most page bytes one PAGES frame carries (4 MiB). */
#define CKP_FRAME_PAGES_MAX (4u << 20)

/** @return the name of frame type @p type ("PAGES"), or NULL for an unknown type. */
const char *ckp_frame_name(uint8_t type);
/** The 8 bytes that precede the pages of a PAGES frame at RAM offset @p off. */
void ckp_frame_pages_head(uint8_t out[8], uint64_t off);
/** A ZERO frame's payload. */
void ckp_frame_zero_make(uint8_t out[16], uint64_t off, uint64_t npages);
/** A ROUND frame's payload. */
void ckp_frame_round_make(uint8_t out[16], uint32_t round, uint64_t pages);
/** Decode a ROUND frame's payload; -EBADMSG with a message in @p err. */
int ckp_frame_round_parse(const void *p, size_t len, uint32_t *round,
    uint64_t *pages, char *err, size_t errlen);
/** An ABORT frame's document (send with ckp_stream_send_doc()); NULL on ENOMEM. */
ckp_doc_t *ckp_frame_abort_doc(const char *why);
/**
 * The reason an ABORT frame's payload gives, printable characters only and
 * at most 1024 of them, into @p why ("(no reason given)" when there is none).
 */
void ckp_frame_abort_reason(const void *p, size_t len, char *why,
    size_t whylen);

/**
 * RAM received from a checkpoint stream into memory the caller owns:
 * segments whose file_off run contiguously from 0, writable (despite the
 * const of ckp_ram_seg_t) and all zero at first.  It applies PAGES and ZERO
 * frames after checking them (alignment, sizes, inside RAM) and keeps the
 * RAM's summary (ckp_ram_sum_t), hashing the chunks a round wrote when the
 * next ROUND frame arrives, so that the check at the end hashes only the
 * last round's.
 */
typedef struct ckp_ram_rx ckp_ram_rx_t;

/** @return a receiver, or NULL on ENOMEM or segments that are not as above. */
ckp_ram_rx_t *ckp_ram_rx_new(const ckp_ram_seg_t *segs, size_t nsegs);
void ckp_ram_rx_free(ckp_ram_rx_t *rx);
/**
 * Apply one PAGES, ZERO or ROUND frame (rounds must be numbered 0, 1, ...).
 * @return 0; -EBADMSG for a malformed frame or one outside RAM, -EINVAL for
 * another type, -ENOMEM; the message in @p err names the frame and offset.
 */
int ckp_ram_rx_frame(ckp_ram_rx_t *rx, uint8_t type, const void *payload,
    size_t len, char *err, size_t errlen);
/**
 * Check the "ram" section of @p meta against the RAM received (as
 * ckp_ram_sum_check()): 0, or -EBADMSG naming the first chunk that differs.
 */
int ckp_ram_rx_check(ckp_ram_rx_t *rx, ckp_doc_t *meta, char *err,
    size_t errlen);
/** Pages written, pages zeroed, rounds seen; any pointer may be NULL. */
void ckp_ram_rx_counters(const ckp_ram_rx_t *rx, uint64_t *pages,
    uint64_t *zpages, uint32_t *rounds);

#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* CKP_H */
