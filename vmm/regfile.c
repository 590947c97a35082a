/*
 * The local APIC page and the XSAVE area, saved register by register.
 *
 * KVM hands both over as opaque blocks (KVM_GET_LAPIC: the 1 KiB xAPIC
 * register page; KVM_GET_XSAVE: the standard-format XSAVE area).  Saved as
 * blocks, a checkpoint could not be read, `ckp diff` could only say "the
 * bytes differ", and the format would follow the host kernel's layout.
 * Here every architectural register gets a name (docs/CHECKPOINT.md 2.3):
 * 32-bit APIC registers as uint32, the 256-bit ISR/TMR/IRR and the vector
 * registers as hexadecimal strings (most significant digit first, as one
 * writes the number), XSAVE components by name with their size and offset
 * taken from CPUID leaf 0xD.
 *
 * Nothing may be lost on the way: after writing the named form, the save
 * rebuilds the block from it and compares; any 32-bit APIC word or 64-bit
 * XSAVE word the names did not cover and that is not zero is kept in a
 * "raw" section as at_0xOFFSET.  A restore applies the names, then "raw".
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>

#include "state.h"
#include "vm_priv.h"

/* ------------------------------------------------------------------------ */
/* Wide values as hexadecimal strings                                       */
/* ------------------------------------------------------------------------ */

#define HEX_MAX	64	/* bytes: a 512-bit register */

static int
io_fail(ckp_io_t *io, const char *name, const char *fmt, const char *arg)
{
	char path[256], what[256];

	if (ckp_sec_path(ckp_io_section(io), path, sizeof(path)) != 0)
		snprintf(path, sizeof(path), "?");
	snprintf(what, sizeof(what), fmt, arg);
	return ckp_doc_set_error(ckp_io_doc(io), -EINVAL, "%s.%s: %s", path,
	    name, what);
}

/*
 * Save or restore the @len bytes at @p (a little-endian value) as a string
 * of 2 * @len hex digits, the most significant first.
 */
void
regfile_hex_io(ckp_io_t *io, const char *name, void *p, size_t len)
{
	static const char digit[] = "0123456789abcdef";
	char buf[2 * HEX_MAX + 1];
	uint8_t *b = p;
	size_t i;

	if (len > HEX_MAX) {
		io_fail(io, name, "%s", "wider than 512 bits (hyve's bug)");
		return;
	}
	if (ckp_io_saving(io)) {
		for (i = 0; i < len; i++) {
			buf[2 * i] = digit[b[len - 1 - i] >> 4];
			buf[2 * i + 1] = digit[b[len - 1 - i] & 0xf];
		}
		buf[2 * len] = '\0';
		ckp_io_string(io, name, buf, sizeof(buf), 0);
		return;
	}
	buf[0] = '\0';
	if (ckp_io_string(io, name, buf, sizeof(buf), 0) != 0)
		return;
	if (strlen(buf) != 2 * len) {
		char want[64];
		snprintf(want, sizeof(want), "%zu", 2 * len);
		io_fail(io, name, "not %s hexadecimal digits", want);
		return;
	}
	for (i = 0; i < 2 * len; i++) {
		const char *d = strchr(digit, buf[i] | 0x20);
		if (d == NULL || buf[i] == '\0') {
			io_fail(io, name, "'%s' is not hexadecimal", buf);
			return;
		}
		if (i % 2 == 0)
			b[len - 1 - i / 2] = (uint8_t)((d - digit) << 4);
		else
			b[len - 1 - i / 2] |= (uint8_t)(d - digit);
	}
}

/*
 * The "raw" section: the words of @blk (@len bytes, words of @w = 4 or 8
 * bytes) that differ from @named (the block rebuilt from the names) on
 * save; applied to @blk on restore.
 */
static void
raw_io(ckp_io_t *io, uint8_t *blk, const uint8_t *named, size_t len, size_t w)
{
	char name[32];
	ckp_ent_t *e;
	size_t off;
	int n;

	if (ckp_io_saving(io)) {
		bool any = false;
		for (off = 0; off + w <= len; off += w)
			if (memcmp(blk + off, named + off, w) != 0)
				any = true;
		if (!any || ckp_io_enter(io, "raw", 1) < 0)
			return;
		for (off = 0; off + w <= len; off += w) {
			if (memcmp(blk + off, named + off, w) == 0)
				continue;
			snprintf(name, sizeof(name), "at_0x%03zx", off);
			ckp_io_field(io, name, w == 4 ? CKP_TYPE_UINT32 :
			    CKP_TYPE_UINT64, blk + off, w, 0, 0);
		}
		ckp_io_leave(io);
		return;
	}
	if (ckp_io_enter_opt(io, "raw", 1) < 0)
		return;
	for (e = ckp_sec_first(ckp_io_section(io)); e != NULL &&
	    ckp_io_error(io) == 0; e = ckp_ent_next(e)) {
		const char *nm = ckp_ent_name(e);
		unsigned long v;
		if (sscanf(nm, "at_0x%lx%n", &v, &n) != 1 || nm[n] != '\0')
			continue;	/* reported as unknown when leaving */
		off = v;
		if (off % w != 0 || off + w > len) {
			io_fail(io, nm, "%s", "not a word of the block");
			break;
		}
		snprintf(name, sizeof(name), "%s", nm);
		ckp_io_field(io, name, w == 4 ? CKP_TYPE_UINT32 :
		    CKP_TYPE_UINT64, blk + off, w, 0, 0);
	}
	ckp_io_leave(io);
}

/* ------------------------------------------------------------------------ */
/* The local APIC page                                                      */
/* ------------------------------------------------------------------------ */

/* The xAPIC registers (Intel SDM vol. 3, table 11-1), 32 bits each. */
static const struct {
	uint16_t off;
	const char *name;
} apic_regs[] = {
	{ 0x020, "id" }, { 0x030, "version" }, { 0x080, "tpr" },
	{ 0x090, "apr" }, { 0x0a0, "ppr" }, { 0x0d0, "ldr" }, { 0x0e0, "dfr" },
	{ 0x0f0, "svr" }, { 0x280, "esr" }, { 0x2f0, "lvt_cmci" },
	{ 0x320, "lvt_timer" }, { 0x330, "lvt_thermal" }, { 0x340, "lvt_pmc" },
	{ 0x350, "lvt_lint0" }, { 0x360, "lvt_lint1" }, { 0x370, "lvt_error" },
	{ 0x380, "timer_initial" }, { 0x390, "timer_current" },
	{ 0x3e0, "timer_divide" },
};
/* 256-bit registers: eight words, 16 bytes apart, bits 0-31 first. */
static const struct {
	uint16_t off;
	const char *name;
} apic_vecs[] = { { 0x100, "isr" }, { 0x180, "tmr" }, { 0x200, "irr" } };
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310

static void
apic_named_io(ckp_io_t *io, uint8_t *page)
{
	uint8_t v[32];
	uint32_t lo, hi;
	uint64_t icr;
	size_t i, k;

	for (i = 0; i < sizeof(apic_regs) / sizeof(apic_regs[0]); i++)
		ckp_io_field(io, apic_regs[i].name, CKP_TYPE_UINT32,
		    page + apic_regs[i].off, 4, 0, 0);
	memcpy(&lo, page + APIC_ICR_LO, 4);
	memcpy(&hi, page + APIC_ICR_HI, 4);
	icr = (uint64_t)hi << 32 | lo;
	CKP_IO_NAMED(io, "icr", icr);
	lo = (uint32_t)icr;
	hi = (uint32_t)(icr >> 32);
	memcpy(page + APIC_ICR_LO, &lo, 4);
	memcpy(page + APIC_ICR_HI, &hi, 4);
	for (i = 0; i < sizeof(apic_vecs) / sizeof(apic_vecs[0]); i++) {
		for (k = 0; k < 8; k++)
			memcpy(v + 4 * k, page + apic_vecs[i].off + 16 * k, 4);
		regfile_hex_io(io, apic_vecs[i].name, v, sizeof(v));
		for (k = 0; k < 8; k++)
			memcpy(page + apic_vecs[i].off + 16 * k, v + 4 * k, 4);
	}
}

void
regfile_lapic_io(ckp_io_t *io, struct kvm_lapic_state *l)
{
	uint8_t *page = (uint8_t *)l->regs;
	uint8_t named[sizeof(l->regs)];

	if (ckp_io_enter(io, "lapic", 1) < 0)
		return;
	if (ckp_io_saving(io)) {
		apic_named_io(io, page);
		/* What the names rebuild, to keep whatever they miss. */
		ckp_doc_t *scratch = ckp_doc_new("lapic");
		ckp_io_t *w = scratch != NULL ?
		    ckp_io_new(scratch, CKP_IO_SAVE) : NULL;
		ckp_io_t *r = NULL;
		memset(named, 0, sizeof(named));
		if (w != NULL) {
			uint8_t copy[sizeof(l->regs)];
			memcpy(copy, page, sizeof(copy));
			apic_named_io(w, copy);
			ckp_io_free(w);
			r = ckp_io_new(scratch, CKP_IO_RESTORE);
		}
		if (r != NULL && ckp_doc_error(scratch) == 0) {
			apic_named_io(r, named);
			raw_io(io, page, named, sizeof(named), 4);
		} else {
			ckp_doc_set_error(ckp_io_doc(io), -ENOMEM,
			    "out of memory");
		}
		ckp_io_free(r);
		ckp_doc_free(scratch);
	} else {
		memset(page, 0, sizeof(l->regs));
		apic_named_io(io, page);
		raw_io(io, page, NULL, sizeof(l->regs), 4);
	}
	ckp_io_leave(io);
}

/* ------------------------------------------------------------------------ */
/* The XSAVE area                                                           */
/* ------------------------------------------------------------------------ */

/* The legacy region (FXSAVE layout) and the header (SDM vol. 1, 13.4). */
#define FX_FCW		0
#define FX_FSW		2
#define FX_FTW		4
#define FX_FOP		6
#define FX_FIP		8
#define FX_FDP		16
#define FX_MXCSR	24
#define FX_MXCSR_MASK	28
#define FX_ST		32	/* 8 x 16 bytes, 10 used */
#define FX_XMM		160	/* 16 x 16 bytes */
#define XS_HDR		512
#define XS_MIN		576	/* legacy region + header */

/* Components with a layout of their own; the rest are "bit" + "data". */
static const struct {
	int bit;
	const char *name;
	const char *reg;	/* register name prefix, NULL: one value */
	unsigned first;		/* number of the first register */
	size_t reg_size, size;
} comps[] = {
	{ 2, "avx", "ymm_hi", 0, 16, 256 },
	{ 5, "opmask", "k", 0, 8, 64 },
	{ 6, "zmm_hi256", "zmm_hi", 0, 32, 512 },
	{ 7, "hi16_zmm", "zmm", 16, 64, 1024 },
	{ 9, "pkru", NULL, 0, 4, 8 },
};

/* Size and offset of component @bit in CPUID leaf 0xD of @c. */
static bool
comp_layout(const struct kvm_cpuid_entry2 *c, uint32_t n, int bit,
    size_t *size, size_t *off)
{
	uint32_t i;

	for (i = 0; c != NULL && i < n; i++)
		if (c[i].function == 0xd && c[i].index == (uint32_t)bit &&
		    c[i].eax != 0) {
			*size = c[i].eax;
			*off = c[i].ebx;
			return true;
		}
	return false;
}

/*
 * The section of a component saved as bit + data: its XSTATE name when
 * @byname and it has one, else (and when restoring a checkpoint that has
 * only that) "component_N".
 */
static void
comp_section(ckp_io_t *io, int bit, bool byname, char *name, size_t len)
{
	char old[32];

	snprintf(old, sizeof(old), "component_%d", bit);
	xstate_names(1ULL << bit, name, len);
	if (!byname || strchr(name, ' ') != NULL ||
	    (!ckp_io_saving(io) &&
	    ckp_sec_lookup(ckp_io_section(io), name) == NULL &&
	    ckp_sec_lookup(ckp_io_section(io), old) != NULL))
		snprintf(name, len, "%s", old);
}

static void
xsave_named_io(ckp_io_t *io, uint8_t *a, size_t len,
    const struct kvm_cpuid_entry2 *c, uint32_t nc, size_t *used)
{
	char name[32];
	uint64_t bv;
	size_t i, size, off, k;
	int bit;

	ckp_io_field(io, "fcw", CKP_TYPE_UINT16, a + FX_FCW, 2, 0, 0);
	ckp_io_field(io, "fsw", CKP_TYPE_UINT16, a + FX_FSW, 2, 0, 0);
	ckp_io_field(io, "ftw", CKP_TYPE_UINT8, a + FX_FTW, 1, 0, 0);
	ckp_io_field(io, "fop", CKP_TYPE_UINT16, a + FX_FOP, 2, 0, 0);
	ckp_io_field(io, "fip", CKP_TYPE_UINT64, a + FX_FIP, 8, 0, 0);
	ckp_io_field(io, "fdp", CKP_TYPE_UINT64, a + FX_FDP, 8, 0, 0);
	ckp_io_field(io, "mxcsr", CKP_TYPE_UINT32, a + FX_MXCSR, 4, 0, 0);
	ckp_io_field(io, "mxcsr_mask", CKP_TYPE_UINT32, a + FX_MXCSR_MASK, 4,
	    0, 0);
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "st%zu", i);
		regfile_hex_io(io, name, a + FX_ST + 16 * i, 10);
	}
	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "xmm%zu", i);
		regfile_hex_io(io, name, a + FX_XMM + 16 * i, 16);
	}
	ckp_io_field(io, "xstate_bv", CKP_TYPE_UINT64, a + XS_HDR, 8, 0, 0);
	ckp_io_field(io, "xcomp_bv", CKP_TYPE_UINT64, a + XS_HDR + 8, 8, 0, 0);
	*used = XS_MIN;
	if (ckp_io_error(io) != 0)
		return;
	memcpy(&bv, a + XS_HDR, 8);
	/* Each component the header says is in use (not in its init state). */
	for (bit = 2; bit < 64; bit++) {
		const char *cname = NULL, *reg = NULL;
		size_t rsize = 0, csize = 0;
		unsigned first = 0;
		char xname[64];

		if (!(bv & (1ULL << bit)))
			continue;
		for (i = 0; i < sizeof(comps) / sizeof(comps[0]); i++)
			if (comps[i].bit == bit) {
				cname = comps[i].name;
				reg = comps[i].reg;
				rsize = comps[i].reg_size;
				csize = comps[i].size;
				first = comps[i].first;
			}
		xstate_names(1ULL << bit, xname, sizeof(xname));
		if (!comp_layout(c, nc, bit, &size, &off)) {
			char what[192];
			snprintf(what, sizeof(what), "XSTATE_BV bit %d (%s) is "
			    "in use but the vCPU's CPUID leaf 0xD does not place "
			    "it", bit, xname);
			io_fail(io, "xstate_bv", "%s", what);
			return;
		}
		if (off < XS_MIN || off + size > len) {
			char what[192];
			snprintf(what, sizeof(what), "XSTATE_BV bit %d (%s) "
			    "lies outside this VM's XSAVE area", bit, xname);
			io_fail(io, "xstate_bv", "%s", what);
			return;
		}
		if (off + size > *used)
			*used = off + size;
		/* A known component of the size it should have: by register. */
		if (cname != NULL && size == csize) {
			if (ckp_io_enter(io, cname, 1) < 0)
				return;
			if (reg == NULL) {
				ckp_io_field(io, cname, CKP_TYPE_UINT32,
				    a + off, 4, 0, 0);
			} else {
				for (k = 0; k * rsize < csize; k++) {
					snprintf(name, sizeof(name), "%s%zu",
					    reg, first + k);
					if (rsize == 8)
						ckp_io_field(io, name,
						    CKP_TYPE_UINT64,
						    a + off + k * rsize, 8, 0, 0);
					else
						regfile_hex_io(io, name,
						    a + off + k * rsize, rsize);
				}
			}
			ckp_io_leave(io);
			continue;
		}
		/*
		 * Any other: its XSTATE bit and its bytes, in a section named
		 * after the component (xtilecfg, xtiledata, cet_u...).  A table
		 * component of an unexpected size, one without a name, and
		 * every one in a checkpoint of an older hyve are component_N.
		 */
		comp_section(io, bit, cname == NULL, name, sizeof(name));
		if (ckp_io_enter(io, name, 1) < 0)
			return;
		uint32_t b = (uint32_t)bit;
		ckp_io_field(io, "bit", CKP_TYPE_UINT32, &b, 4, CKP_F_MATCH, 0);
		ckp_io_bytes(io, "data", a + off, size, 0);
		ckp_io_leave(io);
	}
}

int
regfile_xsave_io(ckp_io_t *io, uint8_t *area, size_t cap, size_t *len,
    const struct kvm_cpuid_entry2 *c, uint32_t nc)
{
	uint8_t *named = NULL;
	size_t used, n;

	if (ckp_io_enter(io, "xsave", 1) < 0)
		return ckp_io_error(io);
	if (ckp_io_saving(io)) {
		n = *len;
		if (n < XS_MIN) {
			ckp_doc_set_error(ckp_io_doc(io), -EINVAL, "the XSAVE "
			    "area is %zu bytes, shorter than its header", n);
			goto out;
		}
		xsave_named_io(io, area, n, c, nc, &used);
		/* What the names rebuild, to keep whatever they miss. */
		ckp_doc_t *scratch = ckp_doc_new("xsave");
		ckp_io_t *w = NULL, *r = NULL;
		uint8_t *copy = malloc(n);
		named = calloc(1, n);
		if (scratch != NULL && copy != NULL && named != NULL &&
		    (w = ckp_io_new(scratch, CKP_IO_SAVE)) != NULL) {
			memcpy(copy, area, n);
			xsave_named_io(w, copy, n, c, nc, &used);
			ckp_io_free(w);
			r = ckp_io_new(scratch, CKP_IO_RESTORE);
		}
		if (r != NULL && ckp_doc_error(scratch) == 0) {
			xsave_named_io(r, named, n, c, nc, &used);
			raw_io(io, area, named, n, 8);
		} else if (ckp_io_error(io) == 0) {
			ckp_doc_set_error(ckp_io_doc(io), -ENOMEM,
			    "out of memory");
		}
		ckp_io_free(r);
		ckp_doc_free(scratch);
		free(copy);
	} else {
		memset(area, 0, cap);
		xsave_named_io(io, area, cap, c, nc, &used);
		raw_io(io, area, NULL, cap, 8);
		if (ckp_io_error(io) == 0) {
			ckp_ent_t *e;
			/* The raw words count towards the length read. */
			if ((e = ckp_sec_lookup(ckp_io_section(io), "raw")) !=
			    NULL && ckp_ent_type(e) == CKP_TYPE_SECTION) {
				ckp_ent_t *f;
				for (f = ckp_sec_first(ckp_ent_section(e));
				    f != NULL; f = ckp_ent_next(f)) {
					unsigned long v;
					if (sscanf(ckp_ent_name(f), "at_0x%lx",
					    &v) == 1 && v + 8 > used)
						used = v + 8;
				}
			}
			*len = used;
		}
	}
out:
	free(named);
	ckp_io_leave(io);
	return ckp_io_error(io);
}
