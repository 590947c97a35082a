/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * hyve -r FILE.ckp: a VM from a checkpoint (docs/CHECKPOINT.md).
 *
 * Order, so that a bad checkpoint starts nothing:
 *  0. trust: both files and their directory this user's, unless --trust
 *     (the meta names the host files hyve opens: it is trusted like a
 *     command line);
 *  1. open: recover an interrupted publish, verify the meta's checksum and
 *     header (what `ckp check` requires), the RAM file's size and, per
 *     --verify: its checksum (full), or that its chunk list adds up to the
 *     checksum (lazy: each chunk is checked when first touched,
 *     vmm/lazyram.c; with --eager, full checks while reading, in step 5);
 *  2. the configuration: the checkpoint's, then -o/-l/-k/NAME on top;
 *  3. what the document alone can tell, before anything is created: the
 *     restore's own checks (vm_restore_check: known section versions, the
 *     memory layout, one vcpu@N per vCPU, a device section for every
 *     configured device and a device with restore code for every device
 *     section) against the VM the configuration describes, and BARs that
 *     overlap;
 *  4. (restore_vm) create the VM, without its devices, and run the restore
 *     dry (vm_restore_state without a result): every vCPU field KVM would
 *     refuse and every CPU feature the checkpoint's vCPUs had, checked
 *     against this VM's own vCPUs, before any device or file exists;
 *  5. map guest RAM from the RAM file (MAP_PRIVATE: pages load on first
 *     touch), read it (--eager), or leave it to load on demand
 *     (--verify=lazy), create the devices, restore (fill and check) every
 *     state, then apply it to KVM.
 * The caller then resumes the devices and starts the vCPUs (no PVH boot:
 * every vCPU, the APs too, goes on from its saved registers and MP state).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "ctl_proto.h"
#include "lazyram.h"
#include "pci.h"
#include "restore_stream.h"
#include "state.h"

struct restore {
	const struct restore_opts *o;
	char		 path[PATH_MAX];	/* as given, for messages */
	char		 ram_path[PATH_MAX];
	ckp_doc_t	*doc;
	struct cfg	*cfg;		/* until vm_create() takes it */
	struct vm_shape	 shape;		/* the VM the configuration describes */
	struct vm	*vm;		/* created by restore_vm() */
	uint64_t	 t0;
	struct restore_stats st;
	enum cli_verify	 mode;		/* after any fallback */
	ckp_ram_lazy_t	*lazy;		/* chunk by chunk: lazy, or eager full */
	int		 uffd;		/* lazy: for vmm/lazyram.c */
};

static int
fail(struct restore *r, char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "cannot restore FILE: what": every refusal names the file. */
static int
fail(struct restore *r, char *err, size_t errlen, int rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "cannot restore %s: %s", r->path, msg);
	return rc;
}

static void
warn(void *arg, const char *msg)
{
	struct restore *r = arg;

	r->st.warnings++;
	fprintf(stderr, "hyve: %s: warning: %s\n", r->path, msg);
}

/* ------------------------------------------------------------------------ */
/* Progress on a terminal                                                    */
/* ------------------------------------------------------------------------ */

struct verify_progress {
	struct restore	*r;
	uint64_t	 t0;
};

/* RAM verification progress on one terminal line: bytes, share, rate. */
static void
verify_progress(void *arg, uint64_t done, uint64_t total)
{
	struct verify_progress *p = arg;
	double dt = (double)(ckpt_now_us() - p->t0) / 1e6;

	if (!p->r->o->progress || total == 0)
		return;
	fprintf(stderr, "\rhyve: verifying RAM: %" PRIu64 "/%" PRIu64 " MiB "
	    "(%3.0f%%) %.0f MiB/s ", done >> 20, total >> 20,
	    100.0 * (double)done / (double)total,
	    dt > 0 ? (double)done / dt / (1 << 20) : 0);
}

/* ------------------------------------------------------------------------ */
/* Step 3: the document alone                                                */
/* ------------------------------------------------------------------------ */

/* A child section as ckp_io_enter() takes it; NULL with @err set. */
static ckp_sec_t *
need_sec(struct restore *r, ckp_sec_t *parent, const char *name,
    uint32_t version, char *err, size_t errlen)
{
	ckp_sec_t *sec = ckp_sec_require(parent, name, version);

	if (sec == NULL)
		fail(r, err, errlen, -EINVAL, "%s", ckp_doc_errmsg(r->doc));
	return sec;
}

static int
get_u64(struct restore *r, ckp_sec_t *sec, const char *name, uint64_t *v,
    char *err, size_t errlen)
{
	char path[512] = "";

	if (ckp_sec_get_uint64(sec, name, v) == 0)
		return 0;
	ckp_sec_path(sec, path, sizeof(path));
	return fail(r, err, errlen, -EINVAL, "%s.%s: missing, or not a "
	    "uint64", path, name);
}

/* The RAM file holds the guest memory the meta describes. */
static int
check_ram(struct restore *r, ckp_sec_t *root, char *err, size_t errlen)
{
	uint64_t v, ramsize;
	ckp_sec_t *mem, *ram;

	if ((ram = need_sec(r, root, "ram", 1, err, errlen)) == NULL ||
	    get_u64(r, ram, "size", &ramsize, err, errlen) != 0)
		return -EINVAL;
	/* The memory section itself is vm_restore_check()'s. */
	if ((mem = ckp_sec_find(root, "memory")) != NULL &&
	    ckp_sec_get_uint64(mem, "size", &v) == 0 && v != ramsize)
		return fail(r, err, errlen, -EINVAL, "memory.size is %" PRIu64
		    " bytes but ram.size %" PRIu64, v, ramsize);
	return 0;
}

/*
 * What the restore proper will check, run on the document alone against
 * the VM the configuration describes: the same function, with nothing to
 * fill.  The restore reads it all again: its warnings are the ones seen.
 */
static int
check_document(struct restore *r, char *err, size_t errlen)
{
	ckp_io_t *io;
	int rc;

	if ((io = ckp_io_new(r->doc, CKP_IO_RESTORE)) == NULL)
		return fail(r, err, errlen, -ENOMEM, "out of memory");
	ckp_doc_set_warn(r->doc, NULL, NULL);
	rc = vm_restore_check(&r->shape, io);
	ckp_doc_set_warn(r->doc, warn, r);
	ckp_io_free(io);
	if (rc != 0)
		return fail(r, err, errlen, rc == -ENOMEM ? -ENOMEM : -EINVAL,
		    "%s", ckp_doc_errmsg(r->doc));
	return 0;
}

/*
 * The header `ckp check` requires (tools/ckp): a section with format,
 * format_version, producer and created, each of its type.  libckp's
 * decoder refuses a format not "ckp" or too new, but takes a document
 * without a header (the seed review's files); a restore takes what the
 * checker calls good, and nothing it calls BAD.
 */
static int
check_header(struct restore *r, ckp_doc_t *doc, char *err, size_t errlen)
{
	char why[160];

	/* libckp's rule, the one `ckp check` applies. */
	if (ckp_doc_check_header(doc, why, sizeof(why)) != 0)
		return fail(r, err, errlen, -EINVAL, "%s%s (ckp check refuses "
		    "it too: a checkpoint's meta has one)",
		    strncmp(why, "header", 6) != 0 ? "header: " : "", why);
	return 0;
}

/* A uint64 field of @sec, or @def when absent or of another type. */
static uint64_t
u64_or(const ckp_sec_t *sec, const char *name, uint64_t def)
{
	ckp_ent_t *e = sec != NULL ? ckp_sec_lookup(sec, name) : NULL;
	uint64_t v = def;

	if (e != NULL && ckp_ent_type(e) == CKP_TYPE_UINT64)
		(void)ckp_sec_get_uint64(sec, name, &v);
	return v;
}

/*
 * A BAR that decodes must overlap nothing (docs/DEVICES.md): another such
 * BAR, guest RAM, the IOAPIC, a local APIC, the PCI configuration ports.
 * A guest that programs one there gets a BAR the bus does not decode (or
 * whose accesses go elsewhere), and which of two overlapping BARs the bus
 * decodes depends on the order the guest programmed them, which a
 * checkpoint does not hold: refused rather than guessed.
 */
static int
check_bars(struct restore *r, ckp_sec_t *root, char *err, size_t errlen)
{
	struct pci_range fixed[4 + VM_MAX_MEM_REGIONS + 256];
	const struct vm_shape *sh = &r->shape;
	uint64_t base;
	const char **ids = NULL;
	ckp_sec_t *devs = ckp_sec_find(root, "devices"), *v;
	char msg[1024], what[256][48];
	size_t i, nids = 0, nfixed = 0;
	unsigned k;
	int rc;

	if ((ids = calloc(sh->ndevs + 1, sizeof(*ids))) == NULL)
		return -ENOMEM;
	for (i = 0; i < sh->ndevs; i++)
		if (sh->devs[i].emu->pci != NULL)
			ids[nids++] = sh->devs[i].id;
	for (k = 0; k < sh->mem.n; k++)
		fixed[nfixed++] = (struct pci_range){ PCI_BAR_MEM32,
		    sh->mem.r[k].gpa, sh->mem.r[k].size, "guest RAM" };
	fixed[nfixed++] = (struct pci_range){ PCI_BAR_MEM32, VM_IOAPIC_BASE,
	    0x1000, "the IOAPIC" };
	fixed[nfixed++] = (struct pci_range){ PCI_BAR_IO, PCI_CFG_PORT,
	    PCI_CFG_PORT_LEN, "the PCI configuration ports" };
	/* Each vCPU's LAPIC page: where the MSR, applied last, puts it. */
	for (k = 0; k < sh->p.ncpus && k < 256 && devs != NULL; k++) {
		snprintf(msg, sizeof(msg), "vcpu@%u", k);
		if ((v = ckp_sec_find(devs, msg)) == NULL)
			continue;
		base = u64_or(ckp_sec_find(v, "msrs"), "apic_base",
		    u64_or(v, "apic_base", VM_LAPIC_BASE));
		snprintf(what[k], sizeof(what[k]), "the local APIC of vcpu@%u",
		    k);
		fixed[nfixed++] = (struct pci_range){ PCI_BAR_MEM32,
		    base & ~0xfffULL, 0x1000, what[k] };
	}
	rc = devs == NULL ? 0 : pci_bars_check(devs, ids, nids, fixed, nfixed,
	    msg, sizeof(msg));
	free(ids);
	if (rc != 0)
		return fail(r, err, errlen, rc == -ENOMEM ? -ENOMEM : -EINVAL,
		    "%s", msg);
	return 0;
}

/* Sections of the root hyve reads; anything else is reported and ignored. */
static void
report_unknown_root(ckp_sec_t *root)
{
	static const char *const known[] = { "header", "config", "memory",
	    "vm", "devices", "ram", "checkpoint" };

	ckp_sec_warn_unknown(root, known, sizeof(known) / sizeof(known[0]));
}

/* ------------------------------------------------------------------------ */
/* Step 1: how the RAM file is checked                                       */
/* ------------------------------------------------------------------------ */

/* The whole RAM file against ram.checksum, before anything runs. */
static int
verify_full(struct restore *r, uint64_t data, char *err, size_t errlen)
{
	struct verify_progress vp = { .r = r, .t0 = ckpt_now_us() };
	int rc;

	rc = ckp_ram_verify_progress(r->doc, r->ram_path, 0, verify_progress,
	    &vp);
	r->st.open_us = ckpt_now_us() - vp.t0;
	if (r->o->progress)
		fprintf(stderr, "\rhyve: verified %s: %" PRIu64 " MiB of data in "
		    "%.0f ms\033[K\n", r->ram_path, data >> 20,
		    (double)r->st.open_us / 1e3);
	if (rc != 0)
		return fail(r, err, errlen, -EINVAL, "%s", ckp_doc_errmsg(r->doc));
	return 0;
}

/*
 * --verify: full checks the whole file now (with --eager, while reading
 * it: one pass); lazy checks the chunk list and the size now and each
 * chunk when first touched.  Lazy needs the meta's ram.chunks and a
 * userfaultfd; without either it falls back to full, saying why: a check
 * skipped silently would be worse than a slower start.
 */
static int
plan_verify(struct restore *r, uint64_t data, char *err, size_t errlen)
{
	ckp_sec_t *ram = ckp_sec_find(ckp_doc_root(r->doc), "ram");
	bool chunks = ram != NULL && ckp_sec_has(ram, "chunks");
	char why[256], msg[512];

	r->mode = r->o->no_ram_check ? CLI_VERIFY_NONE : r->o->verify;
	if (r->mode == CLI_VERIFY_LAZY && !chunks) {
		warn(r, "--verify=lazy: the meta has no ram.chunks (per-chunk "
		    "checksums), so RAM can only be verified whole: verifying "
		    "all of it before the guest starts (--verify=full)");
		r->mode = CLI_VERIFY_FULL;
	}
	if (r->mode == CLI_VERIFY_LAZY &&
	    (r->uffd = lazyram_uffd_open(why, sizeof(why))) < 0) {
		snprintf(msg, sizeof(msg), "--verify=lazy needs userfaultfd: "
		    "%s; verifying all of RAM before the guest starts instead "
		    "(--verify=full)", why);
		warn(r, msg);
		r->mode = CLI_VERIFY_FULL;
	}
	/* The list must add up to the checksum before any chunk is trusted. */
	if (chunks && (r->mode == CLI_VERIFY_LAZY ||
	    (r->mode == CLI_VERIFY_FULL && r->o->eager)) &&
	    ckp_ram_lazy_open(r->doc, r->ram_path, &r->lazy) != 0)
		return fail(r, err, errlen, -EINVAL, "%s",
		    ckp_doc_errmsg(r->doc));
	if (r->mode == CLI_VERIFY_FULL && r->lazy == NULL)
		return verify_full(r, data, err, errlen);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Step 0: trust                                                             */
/* ------------------------------------------------------------------------ */

#define TRUST_HINT "; a checkpoint is trusted as its command line would " \
	"be (its configuration names the files hyve opens): if you trust " \
	"it, restore it with --trust"

/*
 * A directory that holds a checkpoint file: this user's or root's, and
 * writable by nobody else unless sticky (as /tmp), or another user could
 * replace the files between this check and the restore's reads of them.
 */
static int
check_dir(struct restore *r, const char *file, char *err, size_t errlen)
{
	char dir[PATH_MAX], *slash;
	struct stat st;
	uid_t me = geteuid();

	snprintf(dir, sizeof(dir), "%s", file);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir ? 1 : 0] = '\0';
	/* One that cannot be examined is reported by the open that follows. */
	if (stat(dir, &st) != 0)
		return 0;
	if (st.st_uid != me && st.st_uid != 0)
		return fail(r, err, errlen, -EINVAL, "directory %s (holding %s) "
		    "is owned by uid %lu, not by this user (uid %lu) or root "
		    "(mode %04o)" TRUST_HINT, dir, file,
		    (unsigned long)st.st_uid, (unsigned long)me,
		    (unsigned)(st.st_mode & 07777));
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st.st_mode & S_ISVTX) == 0)
		return fail(r, err, errlen, -EINVAL, "directory %s (holding %s) "
		    "is writable by group or others without the sticky bit "
		    "(mode %04o, owner uid %lu): they could replace the "
		    "checkpoint" TRUST_HINT, dir, file,
		    (unsigned)(st.st_mode & 07777), (unsigned long)st.st_uid);
	return 0;
}

/*
 * The trust model (docs/CHECKPOINT.md 4.2): the meta is as trusted as a
 * command line, and the RAM file becomes the guest's memory.  Both files
 * must be this user's and writable by nobody else (libckp's rule, checked
 * again on the files ckp_checkpoint_open() reads), in directories nobody
 * else can change, unless --trust.
 */
static int
check_trust(struct restore *r, char *err, size_t errlen)
{
	char why[2 * PATH_MAX], real[PATH_MAX], meta[PATH_MAX + 8];
	const char *files[] = { meta, r->ram_path };
	size_t i;
	int rc;

	snprintf(meta, sizeof(meta), "%s.meta", r->ram_path);

	if ((rc = ckp_checkpoint_trust(r->path, why, sizeof(why))) == -EPERM)
		return fail(r, err, errlen, -EINVAL, "%s" TRUST_HINT, why);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		/* Both the name's directory and, past links, the file's. */
		if ((rc = check_dir(r, files[i], err, errlen)) != 0)
			return rc;
		if (realpath(files[i], real) != NULL &&
		    (rc = check_dir(r, real, err, errlen)) != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Step 2: the configuration                                                 */
/* ------------------------------------------------------------------------ */

/* The document's config, the overrides on top, and the VM they describe. */
static int
configure(struct restore *r, ckp_sec_t *root, const char *origin, char *err,
    size_t errlen)
{
	const struct restore_opts *o = r->o;
	ckp_sec_t *cfgsec;
	char msg[PATH_MAX + 128];
	size_t i;
	int rc;

	if ((cfgsec = need_sec(r, root, "config", 1, err, errlen)) == NULL)
		return -EINVAL;
	if ((r->cfg = cfg_new()) == NULL)
		return -ENOMEM;
	if ((rc = cfg_load_ckp(r->cfg, cfgsec, origin, msg, sizeof(msg))) != 0)
		return fail(r, err, errlen, -EINVAL, "config: %s", msg);
	for (i = 0; o->overrides != NULL && i < o->overrides->n; i++) {
		const struct cfg_ent *e = &o->overrides->ent[i];
		/* An override may replace a key by a node or the other way. */
		if ((rc = cfg_set(r->cfg, e->key, e->val, e->origin, msg,
		    sizeof(msg))) != 0) {
			snprintf(err, errlen, "%s", msg);
			return -EINVAL;
		}
	}
	/* The VM it describes, as vm_create() and vm_devs_init() make it. */
	if ((rc = vm_shape_from_cfg(r->cfg, &r->shape, msg, sizeof(msg))) != 0)
		return fail(r, err, errlen, rc, "%s%s", rc == -ENOMEM ? "" :
		    "config: ", msg);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Steps 1-3                                                                 */
/* ------------------------------------------------------------------------ */

void
restore_free(struct restore *r)
{
	if (r == NULL)
		return;
	ckp_ram_lazy_close(r->lazy);
	if (r->uffd >= 0)
		close(r->uffd);
	vm_free(r->vm);
	vm_shape_fini(&r->shape);
	ckp_doc_free(r->doc);
	cfg_free(r->cfg);
	free(r);
}

const char *
restore_name(const struct restore *r)
{
	return r->shape.p.name;
}

/* Open, verify, configure, check the document; creates nothing. */
int
restore_prepare(const struct restore_opts *o, struct restore **rp, char *err,
    size_t errlen)
{
	struct restore *r;
	ckp_sec_t *root;
	uint64_t data = 0;
	char origin[PATH_MAX + 16];
	int rc;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->o = o;
	r->uffd = -1;
	r->t0 = ckpt_now_us();
	snprintf(r->path, sizeof(r->path), "%s", o->path);
	if ((rc = ckp_ram_path(o->path, r->ram_path, sizeof(r->ram_path))) != 0) {
		rc = fail(r, err, errlen, -EINVAL, "not a checkpoint name "
		    "(FILE.ckp or FILE.ckp.meta)");
		goto out;
	}
	/* 0. Whose checkpoint it is, before recovery touches its files. */
	if (!o->trust && (rc = check_trust(r, err, errlen)) != 0)
		goto out;
	/* 1. The meta (and its checksum), the RAM file's size... */
	r->doc = ckp_checkpoint_open(o->path, CKP_OPEN_NORAMCHECK |
	    (o->trust ? 0 : CKP_OPEN_OWNED));
	if (r->doc == NULL) {
		rc = fail(r, err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	if (ckp_doc_error(r->doc) != 0) {
		rc = fail(r, err, errlen, -EINVAL, "%s%s",
		    ckp_doc_errmsg(r->doc), ckp_doc_error(r->doc) == -EPERM &&
		    !o->trust ? TRUST_HINT : "");
		goto out;
	}
	ckp_doc_set_warn(r->doc, warn, r);
	root = ckp_doc_root(r->doc);
	if ((rc = check_header(r, r->doc, err, errlen)) != 0)
		goto out;
	if (ckp_sec_find(root, "ram") != NULL)
		(void)ckp_sec_get_uint64(ckp_sec_find(root, "ram"), "data_bytes",
		    &data);
	/* ...and its checksum: a flipped bit would be a guest's silent corruption. */
	if ((rc = plan_verify(r, data, err, errlen)) != 0)
		goto out;

	/* 2. Configuration: the checkpoint's, the command line's on top. */
	snprintf(origin, sizeof(origin), "checkpoint %s", o->path);
	if ((rc = configure(r, root, origin, err, errlen)) != 0)
		goto out;

	/* 3. Everything the document alone can tell. */
	if ((rc = check_ram(r, root, err, errlen)) != 0 ||
	    (rc = check_document(r, err, errlen)) != 0 ||
	    (rc = check_bars(r, root, err, errlen)) != 0)
		goto out;
	report_unknown_root(root);
	*rp = r;
	return 0;
out:
	restore_free(r);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Step 4: the VM, and the restore run dry against it                        */
/* ------------------------------------------------------------------------ */

/*
 * The restore run dry against @vm's own vCPUs: every vCPU field KVM would
 * refuse, every CPU feature the checkpoint's vCPUs had.
 */
static int
dry_run(struct restore *r, struct vm *vm, char *err, size_t errlen)
{
	ckp_io_t *io;
	int rc;

	if ((io = ckp_io_new(r->doc, CKP_IO_RESTORE)) == NULL)
		return fail(r, err, errlen, -ENOMEM, "out of memory");
	/* The restore proper reads it all again and reports what it ignores. */
	ckp_doc_set_warn(r->doc, NULL, NULL);
	rc = vm_restore_state(vm, io, NULL);
	ckp_doc_set_warn(r->doc, warn, r);
	ckp_io_free(io);
	if (rc != 0)
		return fail(r, err, errlen, rc == -ENOMEM ? -ENOMEM : -EINVAL,
		    "%s", ckp_doc_errmsg(r->doc));
	return 0;
}

/* vm_create() of the configuration, which it owns from here on. */
static int
create_vm(struct restore *r, struct vm **vmp, char *err, size_t errlen)
{
	int rc;

	rc = vm_create(r->cfg, vmp);
	r->cfg = NULL;
	r->shape.cfg = NULL;
	if (rc != 0)
		return fail(r, err, errlen, rc, "cannot create the VM (see "
		    "above)");
	return 0;
}

int
restore_vm(struct restore *r, char *err, size_t errlen)
{
	struct vm *vm = NULL;
	int rc;

	if (r->vm != NULL)
		return 0;
	if ((rc = create_vm(r, &vm, err, errlen)) != 0 ||
	    (rc = dry_run(r, vm, err, errlen)) != 0)
		goto out;
	r->vm = vm;
	vm = NULL;
out:
	vm_free(vm);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Step 5                                                                    */
/* ------------------------------------------------------------------------ */

struct load_progress {
	struct restore	*r;
	uint64_t	 base;		/* bytes of the regions before this one */
	uint64_t	 total;
	uint64_t	 t0;
};

static void
load_progress(void *arg, uint64_t done, uint64_t total)
{
	struct load_progress *p = arg;
	double dt = (double)(ckpt_now_us() - p->t0) / 1e6;

	(void)total;
	done += p->base;
	fprintf(stderr, "\rhyve: loading RAM%s: %" PRIu64 "/%" PRIu64 " MiB "
	    "(%3.0f%%) %.0f MiB/s ", p->r->lazy != NULL ? " (verifying)" : "",
	    done >> 20, p->total >> 20, 100.0 * (double)done /
	    (double)p->total, dt > 0 ? (double)done / dt / (1 << 20) : 0);
}

/*
 * Eager: read every region, with a progress line on a terminal.  With
 * --verify=full each chunk is checked as it is read (one pass over the
 * file; a damaged chunk is refused before any device exists).
 */
static int
read_ram(struct restore *r, struct vm *vm, char *err, size_t errlen)
{
	struct load_progress lp = { .r = r, .total = vm->mem_size,
	    .t0 = ckpt_now_us() };
	char msg[PATH_MAX + 512];
	unsigned i;
	int rc;

	for (i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *m = &vm->mem[i];

		if (r->lazy != NULL)
			rc = ckp_ram_lazy_read(r->lazy, m->file_off, m->host,
			    m->size, 0, r->o->progress ? load_progress : NULL,
			    &lp, msg, sizeof(msg));
		else if ((rc = ckp_ram_read(r->ram_path, m->file_off, m->host,
		    m->size, 0)) != 0)
			snprintf(msg, sizeof(msg), "reading RAM from %s: %s",
			    r->ram_path, strerror(-rc));
		if (rc != 0)
			return fail(r, err, errlen, rc == -EBADMSG ? -EINVAL :
			    -EIO, "%s", msg);
		lp.base += m->size;
	}
	if (r->o->progress)
		fprintf(stderr, "\n");
	if (r->lazy != NULL &&
	    (rc = ckp_ram_lazy_finish(r->lazy, msg, sizeof(msg))) != 0)
		return fail(r, err, errlen, -EINVAL, "%s", msg);
	return 0;
}

static int
map_ram(struct restore *r, struct vm *vm, char *err, size_t errlen)
{
	unsigned i;
	int rc;

	for (i = 0; i < vm->nmem; i++) {
		struct vm_mem_region *m = &vm->mem[i];
		/*
		 * Over the anonymous mapping KVM's slot already points at: the
		 * slot keeps its address, KVM's MMU notifier drops what it
		 * mapped (nothing: the guest never ran), and guest accesses
		 * fault the file's pages in from now on.
		 */
		if ((rc = ckp_ram_map(r->ram_path, m->file_off, m->host,
		    m->size)) != 0)
			return fail(r, err, errlen, rc == -ERANGE ? -EINVAL :
			    -EIO, "mapping %s at offset %#" PRIx64 " (%" PRIu64
			    " bytes) as guest RAM: %s", r->ram_path, m->file_off,
			    m->size, strerror(-rc));
		(void)madvise(m->host, m->size, MADV_DONTDUMP);
	}
	return 0;
}

/* Guest RAM from the RAM file, as --verify and --eager ask. */
static int
load_ram(struct restore *r, struct vm *vm, char *err, size_t errlen)
{
	char msg[PATH_MAX + 512], why[PATH_MAX + 700];
	uint64_t data = 0;
	int rc;

	if (r->mode == CLI_VERIFY_LAZY) {
		/* Before anything touches guest RAM: nothing has yet. */
		rc = lazyram_start(vm, r->lazy, r->uffd, r->ram_path, msg,
		    sizeof(msg));
		r->lazy = NULL;
		r->uffd = -1;
		if (rc == 0) {
			r->st.ram_how = "loaded on demand, each chunk verified "
			    "before the guest sees it";
			return 0;
		}
		snprintf(why, sizeof(why), "--verify=lazy: %s; verifying all of "
		    "RAM before the guest starts instead (--verify=full)", msg);
		warn(r, why);
		r->mode = CLI_VERIFY_FULL;
		(void)ckp_sec_get_uint64(ckp_sec_find(ckp_doc_root(r->doc),
		    "ram"), "data_bytes", &data);
		if ((rc = verify_full(r, data, err, errlen)) != 0)
			return rc;
	}
	if (r->o->eager) {
		r->st.ram_how = r->mode == CLI_VERIFY_NONE ? "read, not verified" :
		    r->lazy != NULL ? "read and verified in one pass" :
		    "read, checksum verified";
		return read_ram(r, vm, err, errlen);
	}
	r->st.ram_how = r->mode == CLI_VERIFY_NONE ? "mapped, not verified" :
	    "mapped, checksum verified";
	return map_ram(r, vm, err, errlen);
}

/*
 * With guest RAM in place: create the devices, restore (fill and check)
 * every state, refuse unused keys, then apply it to KVM: the only step
 * that changes live state.
 */
static int
finish(struct restore *r, struct vm *vm, char *err, size_t errlen)
{
	struct vm_restore *vr = NULL;
	ckp_io_t *io = NULL;
	const struct cfg_ent *unused;
	int rc;

	vm->restoring = true;
	if ((rc = vm_devs_init(vm)) != 0) {
		fail(r, err, errlen, -EINVAL, "cannot create the checkpoint's "
		    "devices (see above)");
		rc = -EINVAL;
		goto out;
	}
	/* Fill and check every state; nothing changes in KVM yet. */
	if ((io = ckp_io_new(r->doc, CKP_IO_RESTORE)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (vm_restore_state(vm, io, &vr) != 0) {
		rc = fail(r, err, errlen, -EINVAL, "%s", ckp_doc_errmsg(r->doc));
		goto out;
	}
	/* A restored guest does not boot: its kernel is in RAM already. */
	(void)cfg_get(vm->cfg, "boot.kernel");
	(void)cfg_get(vm->cfg, "boot.append");
	(void)cfg_get(vm->cfg, "boot.initrd");
	if ((unused = cfg_first_unused(vm->cfg)) != NULL) {
		rc = fail(r, err, errlen, -EINVAL, "unknown config key '%s' (set "
		    "by %s); see docs/CONFIG.md", unused->key, unused->origin);
		goto out;
	}
	if ((rc = vm_apply_state(vm, vr)) != 0) {
		rc = fail(r, err, errlen, -EIO, "KVM refused the checkpoint's "
		    "state (see above)");
		goto out;
	}
	vm->restoring = false;
	rc = 0;
out:
	vm_restore_free(vr);
	ckp_io_free(io);
	return rc;
}

int
restore_create(struct restore *r, struct vm **vmp, struct restore_stats *st,
    char *err, size_t errlen)
{
	struct vm *vm = NULL;
	uint64_t t;
	int rc;

	*vmp = NULL;
	if ((rc = restore_vm(r, err, errlen)) != 0)
		return rc;
	vm = r->vm;
	r->vm = NULL;
	t = ckpt_now_us();
	rc = load_ram(r, vm, err, errlen);
	r->st.ram_us = ckpt_now_us() - t;
	r->st.ram_bytes = vm->mem_size;
	r->st.verify = r->mode;
	if (rc != 0 || (rc = finish(r, vm, err, errlen)) != 0)
		goto out;
	r->st.total_us = ckpt_now_us() - r->t0;
	if (st != NULL)
		*st = r->st;
	*vmp = vm;
	vm = NULL;
out:
	vm_free(vm);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* From a stream (vmm/restore_stream.h)                                      */
/* ------------------------------------------------------------------------ */

/*
 * HELLO's memory section against the layout of its configuration: the
 * size and each region, so that RAM can be received into this VM's
 * regions at the offsets the sender uses.  STATE's is checked again in
 * full (vm_restore_check).
 */
static int
check_hello_memory(struct restore *r, ckp_sec_t *root, char *err,
    size_t errlen)
{
	const struct vm_shape *sh = &r->shape;
	const struct cfg_ent *m = cfg_lookup(r->cfg, "memory.size");
	ckp_sec_t *mem, *reg;
	uint64_t size, g, sz, o;
	unsigned i;

	if ((mem = need_sec(r, root, "memory", 1, err, errlen)) == NULL ||
	    get_u64(r, mem, "size", &size, err, errlen) != 0)
		return -EINVAL;
	if (size != sh->p.mem_size)
		return fail(r, err, errlen, -EINVAL, "memory.size: the stream "
		    "holds %" PRIu64 " MiB of RAM, the configuration asks for %"
		    PRIu64 " MiB (memory.size=%s, %s)", size >> 20,
		    sh->p.mem_size >> 20, m != NULL ? m->val : "default",
		    m != NULL ? m->origin : "default");
	for (i = 0; i < sh->mem.n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "region@%u", i);
		if ((reg = need_sec(r, mem, name, 1, err, errlen)) == NULL ||
		    get_u64(r, reg, "gpa", &g, err, errlen) != 0 ||
		    get_u64(r, reg, "size", &sz, err, errlen) != 0 ||
		    get_u64(r, reg, "file_off", &o, err, errlen) != 0)
			return -EINVAL;
		if (g != sh->mem.r[i].gpa || sz != sh->mem.r[i].size ||
		    o != sh->mem.r[i].file_off)
			return fail(r, err, errlen, -EINVAL, "memory.region@%u: "
			    "guest address %#" PRIx64 ", %" PRIu64 " bytes at "
			    "offset %#" PRIx64 "; this hyve lays %" PRIu64 " MiB "
			    "out as %#" PRIx64 ", %" PRIu64 " bytes at %#" PRIx64,
			    i, g, sz, o, sh->p.mem_size >> 20, sh->mem.r[i].gpa,
			    sh->mem.r[i].size, sh->mem.r[i].file_off);
	}
	return 0;
}

int
restore_prepare_hello(const struct restore_opts *o, const char *origin,
    ckp_doc_t *hello, struct restore **rp, char *err, size_t errlen)
{
	struct restore *r;
	ckp_sec_t *root;
	int rc;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		ckp_doc_free(hello);
		return -ENOMEM;
	}
	r->o = o;
	r->uffd = -1;
	r->t0 = ckpt_now_us();
	r->mode = CLI_VERIFY_FULL;
	r->doc = hello;
	snprintf(r->path, sizeof(r->path), "%s", origin);
	ckp_doc_set_warn(r->doc, warn, r);
	root = ckp_doc_root(r->doc);
	if ((rc = check_header(r, r->doc, err, errlen)) != 0 ||
	    (rc = configure(r, root, origin, err, errlen)) != 0 ||
	    (rc = check_hello_memory(r, root, err, errlen)) != 0)
		goto out;
	*rp = r;
	return 0;
out:
	restore_free(r);
	return rc;
}

const struct cfg *
restore_cfg(const struct restore *r)
{
	return r->cfg;
}

uint64_t
restore_mem_size(const struct restore *r)
{
	return r->shape.p.mem_size;
}

int
restore_vm_empty(struct restore *r, struct vm **vmp, char *err,
    size_t errlen)
{
	int rc;

	if (r->vm == NULL && (rc = create_vm(r, &r->vm, err, errlen)) != 0)
		return rc;
	*vmp = r->vm;
	return 0;
}

/* "key=value" pairs of a config section, sorted, for comparison. */
static int
load_cfg(struct restore *r, ckp_doc_t *doc, const char *what,
    struct cfg **cfgp, char *err, size_t errlen)
{
	ckp_sec_t *sec = ckp_sec_find(ckp_doc_root(doc), "config");
	char msg[PATH_MAX + 128];

	*cfgp = NULL;
	if (sec == NULL)
		return fail(r, err, errlen, -EINVAL, "%s has no config section",
		    what);
	if ((*cfgp = cfg_new()) == NULL)
		return -ENOMEM;
	if (cfg_load_ckp(*cfgp, sec, what, msg, sizeof(msg)) != 0)
		return fail(r, err, errlen, -EINVAL, "%s: config: %s", what, msg);
	cfg_sort(*cfgp);
	return 0;
}

/*
 * The VM was created from HELLO's config: a STATE of another one would be
 * another VM's state (another disk, another device), whatever it says.
 */
static int
check_same_config(struct restore *r, ckp_doc_t *hello, ckp_doc_t *state,
    char *err, size_t errlen)
{
	struct cfg *a = NULL, *b = NULL;
	size_t i = 0, j = 0;
	int rc, c;

	if ((rc = load_cfg(r, hello, "HELLO", &a, err, errlen)) != 0 ||
	    (rc = load_cfg(r, state, "STATE", &b, err, errlen)) != 0)
		goto out;
	while (i < a->n || j < b->n) {
		c = i == a->n ? 1 : j == b->n ? -1 :
		    strcmp(a->ent[i].key, b->ent[j].key);
		if (c < 0) {
			rc = fail(r, err, errlen, -EINVAL, "STATE's config "
			    "differs from HELLO's: key '%s' (%s in HELLO) is "
			    "missing", a->ent[i].key, a->ent[i].val);
			goto out;
		}
		if (c > 0) {
			rc = fail(r, err, errlen, -EINVAL, "STATE's config "
			    "differs from HELLO's: key '%s' (%s in STATE) is "
			    "not in HELLO", b->ent[j].key, b->ent[j].val);
			goto out;
		}
		if (strcmp(a->ent[i].val, b->ent[j].val) != 0) {
			rc = fail(r, err, errlen, -EINVAL, "STATE's config "
			    "differs from HELLO's: %s is '%s' in HELLO, '%s' "
			    "in STATE", a->ent[i].key, a->ent[i].val,
			    b->ent[j].val);
			goto out;
		}
		i++;
		j++;
	}
out:
	cfg_free(a);
	cfg_free(b);
	return rc;
}

int
restore_create_state(struct restore *r, ckp_doc_t *state,
    restore_ram_check_fn *check, void *arg, struct vm **vmp,
    struct restore_stats *st, char *err, size_t errlen)
{
	struct vm *vm = r->vm;
	ckp_sec_t *root;
	uint64_t t;
	int rc;

	*vmp = NULL;
	if (vm == NULL) {
		ckp_doc_free(state);
		return fail(r, err, errlen, -EINVAL, "no VM (restore_vm_empty)");
	}
	if ((rc = check_same_config(r, r->doc, state, err, errlen)) != 0) {
		ckp_doc_free(state);
		return rc;
	}
	ckp_doc_free(r->doc);
	r->doc = state;
	ckp_doc_set_warn(r->doc, warn, r);
	root = ckp_doc_root(r->doc);
	/* restore_prepare()'s checks, against the VM's own configuration. */
	r->shape.cfg = vm->cfg;
	rc = check_header(r, r->doc, err, errlen);
	if (rc == 0)
		rc = check_ram(r, root, err, errlen);
	if (rc == 0)
		rc = check_document(r, err, errlen);
	if (rc == 0)
		rc = check_bars(r, root, err, errlen);
	r->shape.cfg = NULL;
	if (rc != 0 || (rc = dry_run(r, vm, err, errlen)) != 0)
		return rc;
	report_unknown_root(root);
	t = ckpt_now_us();
	rc = check(arg, r->doc, err, errlen);
	r->st.ram_us = ckpt_now_us() - t;
	r->st.ram_bytes = vm->mem_size;
	r->st.verify = CLI_VERIFY_FULL;
	r->st.ram_how = "received, checksum verified";
	if (rc != 0)
		return rc;
	if ((rc = finish(r, vm, err, errlen)) != 0)
		return rc;
	r->st.total_us = ckpt_now_us() - r->t0;
	if (st != NULL)
		*st = r->st;
	*vmp = vm;
	r->vm = NULL;
	return 0;
}
