/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The configuration tree: bhyve's dotted keys ("pci.0.3.0.path") with
 * string values.  Kept flat and in insertion order; every key remembers
 * where it came from and whether anyone read it, so that a key nobody
 * knows is an error naming the key and its origin.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm_priv.h"
#include "errmsg.h"

#define CFG_FILE_MAX	(1 << 20)
/*
 * Far more than any VM needs (32 slots of 8 functions with a few keys
 * each), and small enough that setting a key, which checks it against
 * every other for node conflicts, never turns a large file into minutes.
 */
#define CFG_MAX_KEYS	4096


struct cfg *
cfg_new(void)
{
	return calloc(1, sizeof(struct cfg));
}

void
cfg_free(struct cfg *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->n; i++) {
		free(cfg->ent[i].key);
		free(cfg->ent[i].val);
		free(cfg->ent[i].origin);
	}
	free(cfg->ent);
	free(cfg);
}

/*
 * Components of [A-Za-z0-9_-]+ joined by single dots, as a checkpoint can
 * hold them (cfg_save_ckp): each one a section or field name of at most
 * CKP_MAX_NAME bytes; all but the last nested sections below "config",
 * itself at depth 1, and no section deeper than CKP_MAX_DEPTH.
 */
#define CFG_MAX_COMPS	CKP_MAX_DEPTH

bool
cfg_valid_key(const char *key)
{
	size_t i, comp = 0, ncomp = 1, len = strlen(key);

	if (len == 0 || len > 255)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = key[i];
		if (c == '.') {
			if (comp == 0 || ++ncomp > CFG_MAX_COMPS)
				return false;
			comp = 0;
		} else if (isalnum(c) || c == '_' || c == '-') {
			if (++comp > CKP_MAX_NAME)
				return false;
		} else {
			return false;
		}
	}
	return comp > 0;
}

/*
 * Offset of the first byte of @s that is not well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or its length.
 */
static size_t
utf8_bad(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, n;

	while (p[i] != '\0') {
		unsigned char c = p[i];
		unsigned lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return i;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
		else if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
		for (k = 1; k <= n; k++) {
			unsigned char d = p[i + k];
			if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xbf))
				return i;
		}
		i += n + 1;
	}
	return i;
}

static struct cfg_ent *
find(const struct cfg *cfg, const char *key)
{
	size_t i;

	for (i = 0; i < cfg->n; i++)
		if (strcmp(cfg->ent[i].key, key) == 0)
			return &cfg->ent[i];
	return NULL;
}

/* Does @a name a node that @b lies under ("pci.0" vs "pci.0.3")? */
static bool
is_prefix_node(const char *a, const char *b)
{
	size_t la = strlen(a);

	return strncmp(a, b, la) == 0 && b[la] == '.';
}

int
cfg_set(struct cfg *cfg, const char *key, const char *value,
    const char *origin, char *err, size_t errlen)
{
	struct cfg_ent *e;
	char *k, *v, *o;
	size_t i;

	if (!cfg_valid_key(key))
		return errmsg_set(err, errlen, -EINVAL,
		    "%s: invalid config key '%s' (dotted names of letters, "
		    "digits, '_' and '-'; at most %d names of %d bytes, %d "
		    "bytes in all)", origin, key, CFG_MAX_COMPS, CKP_MAX_NAME,
		    255);
	if (strchr(value, '\n') != NULL)
		return errmsg_set(err, errlen, -EINVAL,
		    "%s: value of '%s' contains a newline", origin, key);
	/* A checkpoint keeps the configuration as UTF-8 strings. */
	if (value[utf8_bad(value)] != '\0')
		return errmsg_set(err, errlen, -EINVAL,
		    "%s: value of '%s' is not valid UTF-8 (byte %zu)", origin,
		    key, utf8_bad(value));
	v = strdup(value);
	o = strdup(origin);
	if (v == NULL || o == NULL)
		goto nomem;
	if ((e = find(cfg, key)) != NULL) {
		/* The same keys as before: no new conflict. */
		free(e->val);
		free(e->origin);
		e->val = v;
		e->origin = o;
		e->used = false;
		return 0;
	}
	/* bhyve's tree: a key cannot be both a value and a node. */
	for (i = 0; i < cfg->n; i++) {
		const char *other = cfg->ent[i].key;
		if (is_prefix_node(key, other) || is_prefix_node(other, key)) {
			free(v);
			free(o);
			return errmsg_set(err, errlen, -EINVAL,
			    "%s: config key '%s' conflicts with '%s' (from %s): "
			    "a name cannot be both a value and a node", origin,
			    key, other, cfg->ent[i].origin);
		}
	}
	if (cfg->n >= CFG_MAX_KEYS) {
		free(v);
		free(o);
		return errmsg_set(err, errlen, -E2BIG, "%s: too many config keys "
		    "(at most %d)", origin, CFG_MAX_KEYS);
	}
	if (cfg->n == cfg->cap) {
		size_t cap = cfg->cap ? cfg->cap * 2 : 32;
		struct cfg_ent *ne = realloc(cfg->ent, cap * sizeof(*ne));
		if (ne == NULL)
			goto nomem;
		cfg->ent = ne;
		cfg->cap = cap;
	}
	if ((k = strdup(key)) == NULL)
		goto nomem;
	cfg->ent[cfg->n++] = (struct cfg_ent){ .key = k, .val = v,
	    .origin = o };
	return 0;
nomem:
	free(v);
	free(o);
	return errmsg_set(err, errlen, -ENOMEM, "out of memory");
}

const struct cfg_ent *
cfg_lookup(const struct cfg *cfg, const char *key)
{
	return find(cfg, key);
}

const char *
cfg_get(const struct cfg *cfg, const char *key)
{
	struct cfg_ent *e = find(cfg, key);

	if (e == NULL)
		return NULL;
	e->used = true;
	return e->val;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
cfg_set_kv(struct cfg *cfg, const char *kv, const char *origin, char *err,
    size_t errlen)
{
	char *copy, *eq, *key, *val;
	int rc;

	if ((copy = strdup(kv)) == NULL)
		return errmsg_set(err, errlen, -ENOMEM, "out of memory");
	if ((eq = strchr(copy, '=')) == NULL) {
		rc = errmsg_set(err, errlen, -EINVAL,
		    "%s: '%s' is not KEY=VALUE", origin, kv);
		goto out;
	}
	*eq = '\0';
	key = trim(copy);
	val = trim(eq + 1);
	rc = cfg_set(cfg, key, val, origin, err, errlen);
out:
	free(copy);
	return rc;
}

int
cfg_load_text(struct cfg *cfg, const char *text, size_t len,
    const char *name, char *err, size_t errlen)
{
	char origin[300];
	char *buf, *line, *next;
	unsigned lineno = 0, nset = 0;
	int rc = 0;

	if (memchr(text, '\0', len) != NULL)
		return errmsg_set(err, errlen, -EINVAL,
		    "%s: not a text file (contains NUL bytes)", name);
	if ((buf = malloc(len + 1)) == NULL)
		return errmsg_set(err, errlen, -ENOMEM, "out of memory");
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		char *l;

		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		l = trim(line);
		if (*l == '\0' || *l == '#')
			continue;
		snprintf(origin, sizeof(origin), "%s:%u", name, lineno);
		if (strchr(l, '=') == NULL) {
			rc = errmsg_set(err, errlen, -EINVAL,
			    "%s: expected KEY=VALUE, got '%.60s'", origin, l);
			break;
		}
		/* Each setting costs a pass over the keys: bound the work. */
		if (++nset > CFG_MAX_KEYS) {
			rc = errmsg_set(err, errlen, -E2BIG, "%s: more than %d "
			    "settings in one file", origin, CFG_MAX_KEYS);
			break;
		}
		if ((rc = cfg_set_kv(cfg, l, origin, err, errlen)) != 0)
			break;
	}
	free(buf);
	return rc;
}

int
cfg_load_file(struct cfg *cfg, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errmsg_set(err, errlen, -errno, "cannot open config file "
		    "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = errmsg_set(err, errlen, -errno, "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = errmsg_set(err, errlen, -EINVAL, "config file %s is not a "
		    "regular file", path);
		goto out;
	}
	if (st.st_size > CFG_FILE_MAX) {
		rc = errmsg_set(err, errlen, -EFBIG, "config file %s is too large "
		    "(%jd bytes, at most %d)", path, (intmax_t)st.st_size,
		    CFG_FILE_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = errmsg_set(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errmsg_set(err, errlen, -errno, "reading %s: %s",
			    path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	rc = cfg_load_text(cfg, buf, got, path, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

const struct cfg_ent *
cfg_first_unused(const struct cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n; i++)
		if (!cfg->ent[i].used)
			return &cfg->ent[i];
	return NULL;
}

static int
entcmp(const void *a, const void *b)
{
	return strcmp(((const struct cfg_ent *)a)->key,
	    ((const struct cfg_ent *)b)->key);
}

void
cfg_sort(struct cfg *cfg)
{
	if (cfg->n > 1)
		qsort(cfg->ent, cfg->n, sizeof(cfg->ent[0]), entcmp);
}

int
cfg_parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "true", "yes", "on", "1" };
	static const char *const f[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, f[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int
cfg_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

int
cfg_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
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
	case 't': case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0' && end[1] != '\0')
		return -EINVAL;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The vmm.h accessors                                                       */
/* ------------------------------------------------------------------------ */

static int
node_key(char *buf, size_t size, const char *node, const char *subkey)
{
	int n = snprintf(buf, size, "%s.%s", node, subkey);

	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

int
cfg_node_set(struct cfg *cfg, const char *node, const char *subkey,
    const char *value)
{
	char key[256], origin[300];

	if (node_key(key, sizeof(key), node, subkey) != 0)
		return -ENAMETOOLONG;
	snprintf(origin, sizeof(origin), "options of %s", node);
	return cfg_set(cfg, key, value, origin, NULL, 0);
}

const char *
cfg_node_get(const struct cfg *cfg, const char *node, const char *subkey)
{
	char key[256];

	if (node_key(key, sizeof(key), node, subkey) != 0)
		return NULL;
	return cfg_get(cfg, key);
}

int
cfg_parse_kv_args(struct cfg *cfg, const char *node, const char *args,
    char *err, size_t errlen)
{
	char *copy, *tok, *save = NULL;
	int rc = 0;

	if (args == NULL || *args == '\0')
		return 0;
	if ((copy = strdup(args)) == NULL)
		return errmsg_set(err, errlen, -ENOMEM, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *val = "true";
		char key[256];

		if (eq != NULL) {
			*eq = '\0';
			val = eq + 1;
		}
		if (node_key(key, sizeof(key), node, tok) != 0 ||
		    !cfg_valid_key(key)) {
			rc = errmsg_set(err, errlen, -EINVAL,
			    "invalid option name '%s' for %s", tok, node);
			break;
		}
		if ((rc = cfg_set(cfg, key, val, "device options", err,
		    errlen)) != 0)
			break;
	}
	free(copy);
	return rc;
}

const char *
vm_cfg_get(const struct vm *vm, const char *key)
{
	return cfg_get(vm->cfg, key);
}

const char *
dev_cfg_get(const struct dev *d, const char *subkey)
{
	return cfg_node_get(d->vm->cfg, d->cfg, subkey);
}

int
vm_cfg_get_bool(const struct vm *vm, const char *key, bool def, bool *out)
{
	const char *v = cfg_get(vm->cfg, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (cfg_parse_bool(v, out) != 0) {
		vm_log(vm, "config key %s: '%s' is not a boolean "
		    "(true/false, yes/no, on/off, 1/0)", key, v);
		return -EINVAL;
	}
	return 0;
}

int
dev_cfg_get_bool(const struct dev *d, const char *subkey, bool def,
    bool *out)
{
	char key[256];

	if (node_key(key, sizeof(key), d->cfg, subkey) != 0)
		return -ENAMETOOLONG;
	return vm_cfg_get_bool(d->vm, key, def, out);
}

static int
dev_cfg_get_num(const struct dev *d, const char *subkey, uint64_t def,
    uint64_t min, uint64_t max, uint64_t *out, bool size)
{
	char key[256];
	const char *v;
	int rc;

	*out = def;
	if (node_key(key, sizeof(key), d->cfg, subkey) != 0)
		return -ENAMETOOLONG;
	if ((v = cfg_get(d->vm->cfg, key)) == NULL)
		return 0;
	rc = size ? cfg_parse_size(v, out) : cfg_parse_u64(v, out);
	if (rc != 0) {
		vm_log(d->vm, "config key %s: '%s' is not %s", key, v,
		    size ? "a size (N[K|M|G|T])" : "a number");
		*out = def;
		return -EINVAL;
	}
	if (*out < min || *out > max) {
		vm_log(d->vm, "config key %s: %s is out of range [%" PRIu64
		    ", %" PRIu64 "]", key, v, min, max);
		*out = def;
		return -EINVAL;
	}
	return 0;
}

int
dev_cfg_get_u64(const struct dev *d, const char *subkey, uint64_t def,
    uint64_t min, uint64_t max, uint64_t *out)
{
	return dev_cfg_get_num(d, subkey, def, min, max, out, false);
}

int
dev_cfg_get_size(const struct dev *d, const char *subkey, uint64_t def,
    uint64_t min, uint64_t max, uint64_t *out)
{
	return dev_cfg_get_num(d, subkey, def, min, max, out, true);
}

/* ------------------------------------------------------------------------ */
/* The configuration in a checkpoint document                                */
/* ------------------------------------------------------------------------ */

/*
 * Key "pci.0.3.0.device" becomes the string field "device" of the nested
 * sections pci / 0 / 3 / 0 under @sec (version 0: they are only names), so
 * the conf encoding spells it "config.pci.0.3.0.device$string=...".
 */
int
cfg_save_ckp(const struct cfg *cfg, ckp_sec_t *sec)
{
	ckp_doc_t *doc = ckp_sec_doc(sec);
	size_t i;

	for (i = 0; i < cfg->n; i++) {
		char *copy = strdup(cfg->ent[i].key), *comp, *next;
		ckp_sec_t *s = sec;

		if (copy == NULL)
			return ckp_doc_set_error(doc, -ENOMEM, "out of memory");
		for (comp = copy; (next = strchr(comp, '.')) != NULL;
		    comp = next + 1) {
			ckp_sec_t *child;

			*next = '\0';
			if ((child = ckp_sec_find(s, comp)) == NULL)
				child = ckp_sec_add(s, comp, 0);
			if (child == NULL)
				break;
			s = child;
		}
		if (next == NULL)
			ckp_sec_add_string(s, comp, cfg->ent[i].val);
		free(copy);
		if (ckp_doc_error(doc) != 0)
			return ckp_doc_error(doc);
	}
	return 0;
}

static int
load_sec(struct cfg *cfg, const ckp_sec_t *sec, char *prefix, size_t plen,
    size_t cap, const char *origin, char *err, size_t errlen)
{
	ckp_ent_t *e;
	int rc;

	for (e = ckp_sec_first(sec); e != NULL; e = ckp_ent_next(e)) {
		const char *name = ckp_ent_name(e);
		size_t nlen = strlen(name);
		const char *val;

		if (plen + nlen + 2 > cap)
			return errmsg_set(err, errlen, -ENAMETOOLONG, "%s: config "
			    "key %s.%s is too long", origin, prefix, name);
		snprintf(prefix + plen, cap - plen, "%s%s", plen ? "." : "",
		    name);
		if (ckp_ent_type(e) == CKP_TYPE_SECTION) {
			rc = load_sec(cfg, ckp_ent_section(e), prefix,
			    strlen(prefix), cap, origin, err, errlen);
		} else if (ckp_ent_type(e) == CKP_TYPE_STRING) {
			if ((rc = ckp_sec_get_string(sec, name, &val)) == 0)
				rc = cfg_set(cfg, prefix, val, origin, err,
				    errlen);
		} else {
			rc = errmsg_set(err, errlen, -EINVAL, "%s: config key %s "
			    "is a %s, not a string", origin, prefix,
			    ckp_type_name(ckp_ent_type(e)));
		}
		prefix[plen] = '\0';
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
cfg_load_ckp(struct cfg *cfg, const ckp_sec_t *sec, const char *origin,
    char *err, size_t errlen)
{
	char key[256] = "";

	return load_sec(cfg, sec, key, 0, sizeof(key), origin, err, errlen);
}
