/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * hyve's AML checked by ACPICA, the interpreter Linux uses, through its
 * command-line tools (Debian's acpica-tools, installed by
 * scripts/setup.sh):
 *  - the encoder (vmm/aml.c) emits, byte for byte, what iasl compiles from
 *    the same ASL (every construct it has, PkgLengths of 1 to 3 bytes);
 *  - the DSDT of a VM with PCI devices disassembles (iasl -d) without
 *    error, recompiles without error or warning to the same bytes, and
 *    acpiexec evaluates \_SB.PCI0._HID, _CRS and _PRT to exactly what
 *    devices/pci.c does: every BAR inside a window of its type, the I/O
 *    and memory windows where BARs are placed, and for every slot and the
 *    pin its functions report, the GSI they raise;
 *  - the DSDT of a VM without PCI has \_S5 and no host bridge.
 * Without iasl or acpiexec it skips (exit 77).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aml.h"
#include "pci.h"
#include "vm_priv.h"

#include "test_check.h"

static char dir[256];

static bool
have_tool(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char file[4096];

	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		snprintf(file, sizeof(file), "%.*s/%s", (int)(end - p), p,
		    name);
		if (access(file, X_OK) == 0)
			return true;
		if (*end == ':')
			end++;
	}
	return false;
}

/* The file @name in the scratch directory, NUL-terminated; NULL if none. */
static char *
slurp(const char *name, size_t *lenp)
{
	char path[512];
	char *buf = NULL;
	long len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)len + 1)) != NULL) {
		if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else {
			buf[len] = '\0';
			if (lenp != NULL)
				*lenp = (size_t)len;
		}
	}
	fclose(f);
	return buf;
}

static int
spit(const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return -errno;
	if (fwrite(p, 1, len, f) != len)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	return rc;
}

/* Run @cmd in the scratch directory; its output in *out (free it). */
static int
run(const char *cmd, char **out)
{
	char full[1024];
	int st;

	snprintf(full, sizeof(full), "cd '%s' && %s >out.log 2>&1", dir, cmd);
	st = system(full);
	*out = slurp("out.log", NULL);
	if (*out == NULL)
		*out = strdup("");
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/*
 * Our table and iasl's from the same source: the same bytes after the
 * header, except that iasl writes 0 ("not checked") in an EndTag's
 * checksum where hyve writes the real one.
 */
static void
check_same_aml(const char *what, const uint8_t *ours, size_t ours_len,
    const uint8_t *ref, size_t ref_len)
{
	size_t i, ndiff = 0;

	if (ours_len != ref_len) {
		fprintf(stderr, "%s: %zu bytes, iasl made %zu\n", what,
		    ours_len, ref_len);
		failures++;
		return;
	}
	for (i = 36; i < ours_len; i++) {
		if (ours[i] == ref[i])
			continue;
		if (ref[i] == 0 && ours[i - 1] == 0x79)
			continue;	/* an EndTag's checksum */
		if (ndiff++ < 8)
			fprintf(stderr, "%s: byte %#zx is %#04x, iasl made "
			    "%#04x\n", what, i, ours[i], ref[i]);
	}
	if (ndiff != 0)
		failures++;
}

/* A table header for @body, so that the tools take it as a file. */
static uint8_t *
table(const char *sig, const struct aml *body, size_t *lenp)
{
	size_t len = 36 + body->len;
	uint8_t *t = calloc(1, len);
	uint32_t v;

	if (t == NULL)
		return NULL;
	memcpy(t, sig, 4);
	v = (uint32_t)len;
	memcpy(t + 4, &v, 4);
	t[8] = 2;
	memcpy(t + 10, "HYVE  AMLTEST ", 14);
	t[24] = 1;
	memcpy(t + 28, "HYVE", 4);
	memcpy(t + 36, body->buf, body->len);
	t[9] = acpi_checksum(t, len);
	*lenp = len;
	return t;
}

#define BIG_SCOPE_NAMES	450	/* 10 bytes each: a 3-byte PkgLength */

/* Every construct of the encoder, as ASL and as aml_*() calls. */
static void
test_encoder(void)
{
	static const char asl_head[] =
	    "DefinitionBlock (\"\", \"SSDT\", 2, \"HYVE  \", \"AMLTEST \", 1)\n"
	    "{\n"
	    "  Name (I0, 0)\n"
	    "  Name (I1, 1)\n"
	    "  Name (I2, 0xFF)\n"
	    "  Name (I3, 0x100)\n"
	    "  Name (I4, 0xFFFF)\n"
	    "  Name (I5, 0x10000)\n"
	    "  Name (I6, 0xFFFFFFFF)\n"
	    "  Name (I7, 0x100000000)\n"
	    "  Name (I8, 0xFFFFFFFFFFFFFFFE)\n"
	    "  Name (\\_S5, Package () { 5, 0, 0, 0 })\n"
	    "  Scope (\\_SB) {\n"
	    "    Device (PCI0) {\n"
	    "      Name (_HID, EisaId (\"PNP0A03\"))\n"
	    "      Name (_CRS, ResourceTemplate () {\n"
	    "        WordBusNumber (ResourceProducer, MinFixed, MaxFixed,"
	    " PosDecode, 0, 0, 0xFF, 0, 0x100,,,)\n"
	    "        IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08,)\n"
	    "        WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode,"
	    " EntireRange, 0, 0x0D00, 0xFFFE, 0, 0xF2FF,,,, TypeStatic)\n"
	    "        DWordMemory (ResourceProducer, PosDecode, MinFixed,"
	    " MaxFixed, NonCacheable, ReadWrite, 0, 0xC0000000, 0xFEBFFFFF,"
	    " 0, 0x3EC00000,,,, AddressRangeMemory, TypeStatic)\n"
	    "        QWordMemory (ResourceProducer, PosDecode, MinFixed,"
	    " MaxFixed, NonCacheable, ReadWrite, 0, 0x800000000,"
	    " 0xFFFFFFFFF, 0, 0x800000000,,,, AddressRangeMemory,"
	    " TypeStatic)\n"
	    "      })\n"
	    "      Name (_PRT, Package () {\n"
	    "        Package () { 0x0003FFFF, 0, 0, 19 },\n"
	    "        Package () { 0x001FFFFF, 0, 0, 23 } })\n"
	    "    }\n"
	    "    Device (COM1) {\n"
	    "      Name (_HID, EisaId (\"PNP0501\"))\n"
	    "      Method (_STA, 0, NotSerialized) { Return (0x0F) }\n"
	    "      Method (M7, 7, Serialized) { Return (One) }\n"
	    "      Name (_CRS, ResourceTemplate () {\n"
	    "        IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08,)\n"
	    "        IRQNoFlags () {4}\n"
	    "        Interrupt (ResourceConsumer, Level, ActiveLow, Shared,,,)"
	    " {16}\n"
	    "        Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive,,,)"
	    " {4}\n"
	    "      })\n"
	    "      Name (BUF, Buffer () { 1, 2, 3 })\n"
	    "    }\n"
	    "  }\n"
	    "  Scope (\\_SB.PCI0) {\n";
	struct aml a, r;
	char *asl, *out, *ref;
	uint8_t *ours;
	size_t len, ref_len, i, n;
	int rc;

	asl = malloc(sizeof(asl_head) + BIG_SCOPE_NAMES * 40 + 16);
	if (asl == NULL) {
		CHECK(!"out of memory");
		return;
	}
	n = (size_t)snprintf(asl, sizeof(asl_head), "%s", asl_head);
	for (i = 0; i < BIG_SCOPE_NAMES; i++)
		n += (size_t)sprintf(asl + n, "    Name (N%03zu, 0x%08zX)\n", i,
		    0x12345678 + i);
	sprintf(asl + n, "  }\n}\n");
	CHECK(spit("enc.asl", asl, strlen(asl)) == 0);
	free(asl);

	aml_init(&a);
	aml_name(&a, "I0");
	aml_int(&a, 0);
	aml_name(&a, "I1");
	aml_int(&a, 1);
	aml_name(&a, "I2");
	aml_int(&a, 0xff);
	aml_name(&a, "I3");
	aml_int(&a, 0x100);
	aml_name(&a, "I4");
	aml_int(&a, 0xffff);
	aml_name(&a, "I5");
	aml_int(&a, 0x10000);
	aml_name(&a, "I6");
	aml_int(&a, 0xffffffff);
	aml_name(&a, "I7");
	aml_int(&a, 0x100000000ULL);
	aml_name(&a, "I8");
	aml_int(&a, 0xfffffffffffffffeULL);
	aml_name(&a, "\\_S5");
	aml_package(&a, 4);
	aml_int(&a, 5);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_end(&a);
	aml_scope(&a, "\\_SB");
	aml_device(&a, "PCI0");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0A03");
	aml_init(&r);
	aml_res_word_bus(&r, true, 0, 0xff);
	aml_res_io(&r, 0xcf8, 0xcf8, 1, 8);
	aml_res_word_io(&r, true, 0xd00, 0xfffe);
	aml_res_dword_mem(&r, true, 0xc0000000, 0xfebfffff);
	aml_res_qword_mem(&r, true, 0x800000000ULL, 0xfffffffffULL);
	aml_res_end(&r);
	CHECK(aml_finish(&r) == 0);
	aml_name(&a, "_CRS");
	aml_buffer(&a, r.buf, r.len);
	aml_fini(&r);
	aml_name(&a, "_PRT");
	aml_package(&a, 2);
	aml_package(&a, 4);
	aml_int(&a, 0x0003ffff);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_int(&a, 19);
	aml_end(&a);
	aml_package(&a, 4);
	aml_int(&a, 0x001fffff);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_int(&a, 23);
	aml_end(&a);
	aml_end(&a);
	aml_end(&a);		/* PCI0 */
	aml_device(&a, "COM1");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0501");
	aml_method(&a, "_STA", 0, false);
	aml_return(&a);
	aml_int(&a, 0x0f);
	aml_end(&a);
	aml_method(&a, "M7", 7, true);
	aml_return(&a);
	aml_int(&a, 1);
	aml_end(&a);
	aml_init(&r);
	aml_res_io(&r, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq_noflags(&r, 4);
	aml_res_interrupt(&r, 16, false, true, true);
	aml_res_interrupt(&r, 4, true, false, false);
	aml_res_end(&r);
	CHECK(aml_finish(&r) == 0);
	aml_name(&a, "_CRS");
	aml_buffer(&a, r.buf, r.len);
	aml_fini(&r);
	aml_name(&a, "BUF");
	aml_buffer(&a, "\x01\x02\x03", 3);
	aml_end(&a);		/* COM1 */
	aml_end(&a);		/* \_SB */
	aml_scope(&a, "\\_SB.PCI0");
	for (i = 0; i < BIG_SCOPE_NAMES; i++) {
		char name[8];

		snprintf(name, sizeof(name), "N%03zu", i);
		aml_name(&a, name);
		aml_int(&a, 0x12345678 + i);
	}
	aml_end(&a);
	CHECK(aml_finish(&a) == 0);
	ours = table("SSDT", &a, &len);
	aml_fini(&a);
	CHECK(ours != NULL);
	if (ours == NULL)
		return;

	/* -on: names as written, so that \_SB stays \_SB */
	rc = run("iasl -on -p enc enc.asl", &out);
	CHECK(rc == 0 && strstr(out, " 0 Errors") != NULL);
	if (rc != 0)
		fprintf(stderr, "iasl enc.asl: exit %d\n%s", rc, out);
	free(out);
	ref = slurp("enc.aml", &ref_len);
	CHECK(ref != NULL);
	if (ref != NULL)
		check_same_aml("encoder", ours, len, (uint8_t *)ref, ref_len);
	free(ref);
	free(ours);
}

/* The DSDT hyve built, found from the RSDP as a guest finds it. */
static const uint8_t *
vm_dsdt(struct vm *vm, uint32_t *len)
{
	uint64_t rsdp_a, xsdt_a, fadt_a, dsdt_a;
	const uint8_t *p;
	char err[256];

	if (acpi_build(vm, &rsdp_a, err, sizeof(err)) != 0) {
		fprintf(stderr, "acpi_build: %s\n", err);
		return NULL;
	}
	if ((p = vm_gpa_ptr(vm, rsdp_a, 36)) == NULL)
		return NULL;
	memcpy(&xsdt_a, p + 24, 8);
	if ((p = vm_gpa_ptr(vm, xsdt_a, 44)) == NULL)
		return NULL;
	memcpy(&fadt_a, p + 36, 8);	/* the FADT is listed first */
	if ((p = vm_gpa_ptr(vm, fadt_a, 148)) == NULL ||
	    memcmp(p, "FACP", 4) != 0)
		return NULL;
	memcpy(&dsdt_a, p + 140, 8);
	if ((p = vm_gpa_ptr(vm, dsdt_a, 36)) == NULL ||
	    memcmp(p, "DSDT", 4) != 0)
		return NULL;
	memcpy(len, p + 4, 4);
	return vm_gpa_ptr(vm, dsdt_a, *len);
}

/*
 * iasl -d, then iasl again on what it wrote: no error, no warning, and
 * the same bytes as hyve's.  The disassembly is left in *dsl.
 */
static void
check_disassembly(const uint8_t *dsdt, uint32_t len, char **dsl)
{
	char *out, *re;
	size_t re_len;
	int rc;

	*dsl = NULL;
	CHECK(spit("dsdt.dat", dsdt, len) == 0);
	rc = run("rm -f dsdt.dsl re.aml && iasl -d dsdt.dat", &out);
	CHECK(rc == 0);
	CHECK(strstr(out, "Disassembly completed") != NULL);
	CHECK(strstr(out, "Error") == NULL && strstr(out, "Warning") == NULL);
	if (rc != 0 || strstr(out, "Error") != NULL)
		fprintf(stderr, "iasl -d: exit %d\n%s", rc, out);
	free(out);
	*dsl = slurp("dsdt.dsl", NULL);
	CHECK(*dsl != NULL);
	if (*dsl == NULL)
		return;
	CHECK(strstr(*dsl, "DefinitionBlock (\"\", \"DSDT\", 2, \"HYVE  \"")
	    != NULL);
	CHECK(strstr(*dsl, "Name (_S5, Package (0x04)") != NULL);

	rc = run("iasl -on -p re dsdt.dsl", &out);
	CHECK(rc == 0 && strstr(out, " 0 Errors, 0 Warnings") != NULL);
	if (rc != 0 || strstr(out, " 0 Errors, 0 Warnings") == NULL)
		fprintf(stderr, "iasl dsdt.dsl: exit %d\n%s", rc, out);
	free(out);
	re = slurp("re.aml", &re_len);
	CHECK(re != NULL);
	if (re != NULL)
		check_same_aml("DSDT", dsdt, len, (uint8_t *)re, re_len);
	free(re);
}

/* "  Key : Value" -> key and value, trimmed; false for other lines. */
static bool
keyval(const char *line, char *key, size_t klen, char *val, size_t vlen)
{
	const char *sep = strstr(line, " : "), *k = line, *v;
	size_t n;

	if (sep == NULL)
		return false;
	while (*k == ' ')
		k++;
	n = (size_t)(sep - k);
	while (n > 0 && k[n - 1] == ' ')
		n--;
	snprintf(key, klen, "%.*s", (int)n, k);
	for (v = sep + 3; *v == ' '; v++)
		;
	n = strcspn(v, "\r\n");
	while (n > 0 && v[n - 1] == ' ')
		n--;
	snprintf(val, vlen, "%.*s", (int)n, v);
	return true;
}

struct prt {
	uint64_t addr, pin, index;
	bool null_source;
};

struct res {
	char	kind[64];	/* "I/O Resource", "16-Bit WORD Address ..." */
	char	type[128];	/* "Bus Number Range", "I/O Range", "Memory Range" */
	bool	producer;
	uint64_t min, max, len;
};

#define MAX_PRT	64
#define MAX_RES	16

/* What acpiexec's "resources" printed for _PRT and _CRS. */
static void
parse_resources(const char *out, struct prt *prt, size_t *nprt,
    struct res *res, size_t *nres)
{
	enum { NONE, PRT, CRS } sect = NONE;
	char key[64], val[128];
	const char *line, *eol;
	struct res *cur = NULL;

	*nprt = *nres = 0;
	for (line = out; *line != '\0'; line = *eol != '\0' ? eol + 1 : eol) {
		eol = line + strcspn(line, "\n");
		if (strncmp(line, "Evaluating _PRT", 15) == 0) {
			sect = PRT;
			continue;
		}
		if (strncmp(line, "Evaluating _CRS", 15) == 0) {
			sect = CRS;
			continue;
		}
		if (strncmp(line, "Evaluating", 10) == 0 ||
		    strncmp(line, "Resource Conversion Comparison", 30) == 0) {
			sect = NONE;
			continue;
		}
		if (sect == CRS && line[0] == '[' && *nres < MAX_RES) {
			const char *t = strchr(line, ']');

			cur = &res[(*nres)++];
			memset(cur, 0, sizeof(*cur));
			if (t != NULL)
				snprintf(cur->kind, sizeof(cur->kind), "%.*s",
				    (int)(eol - t - 2), t + 2);
			continue;
		}
		if (!keyval(line, key, sizeof(key), val, sizeof(val)))
			continue;
		if (sect == PRT) {
			struct prt *p = *nprt > 0 ? &prt[*nprt - 1] : NULL;

			if (strcmp(key, "Address") == 0 && *nprt < MAX_PRT) {
				p = &prt[(*nprt)++];
				memset(p, 0, sizeof(*p));
				p->addr = strtoull(val, NULL, 16);
			} else if (p == NULL) {
				continue;
			} else if (strcmp(key, "Pin") == 0) {
				p->pin = strtoull(val, NULL, 16);
			} else if (strcmp(key, "Source") == 0) {
				p->null_source = strstr(val, "NULL") != NULL;
			} else if (strcmp(key, "Source Index") == 0) {
				p->index = strtoull(val, NULL, 16);
			}
		} else if (sect == CRS && cur != NULL) {
			if (strcmp(key, "Resource Type") == 0)
				snprintf(cur->type, sizeof(cur->type), "%s", val);
			else if (strcmp(key, "Consumer/Producer") == 0)
				cur->producer = strcmp(val, "ResourceProducer")
				    == 0;
			else if (strcmp(key, "Address Minimum") == 0)
				cur->min = strtoull(val, NULL, 16);
			else if (strcmp(key, "Address Maximum") == 0)
				cur->max = strtoull(val, NULL, 16);
			else if (strcmp(key, "Address Length") == 0)
				cur->len = strtoull(val, NULL, 16);
		}
	}
}

/* The producer window of @type ("I/O Range", "Memory Range") holding [lo, hi]. */
static const struct res *
window(const struct res *res, size_t nres, const char *type, uint64_t lo,
    uint64_t hi)
{
	size_t i;

	for (i = 0; i < nres; i++)
		if (res[i].producer && strcmp(res[i].type, type) == 0 &&
		    res[i].min <= lo && hi <= res[i].max)
			return &res[i];
	return NULL;
}

/* What ACPICA reads from \_SB.PCI0 against what devices/pci.c does. */
static void
check_evaluation(struct vm *vm)
{
	struct prt prt[MAX_PRT];
	struct res res[MAX_RES];
	size_t nprt, nres, i, nbus = 0, ncfg = 0, nend = 0, checked = 0;
	const struct res *w;
	char *out;
	const char *m;
	int rc, slot, func, b;

	rc = run("acpiexec -b 'evaluate \\_SB.PCI0._HID' dsdt.dat", &out);
	CHECK(rc == 0);
	CHECK(strstr(out, "[Integer] = 00000000030AD041") != NULL);
	free(out);

	rc = run("acpiexec -b 'resources \\_SB.PCI0' dsdt.dat", &out);
	CHECK(rc == 0);
	CHECK(strstr(out, "ACPI Error") == NULL &&
	    strstr(out, "ACPI Exception") == NULL &&
	    strstr(out, "ACPI Warning") == NULL);
	/*
	 * acpiexec converts _CRS to its own form and back, and compares:
	 * the only byte allowed to differ is the EndTag checksum.
	 */
	for (m = out; (m = strstr(m, "Mismatch at byte offset")) != NULL;
	    m++)
		CHECK(strncmp(m, "Mismatch at byte offset 01: is 00", 33) == 0);
	for (m = out; (m = strstr(m, "Data mismatch in descriptor")) != NULL;
	    m++)
		CHECK(strstr(m, "type 78") == strchr(m, ']') + 2);
	parse_resources(out, prt, &nprt, res, &nres);
	if (failures != 0)
		fprintf(stderr, "%s", out);
	free(out);

	/* _PRT: every slot once, pin A, a GSI on an IOAPIC-only pin */
	CHECK(nprt == PCI_SLOTS);
	for (i = 0; i < nprt; i++) {
		CHECK((prt[i].addr & 0xffff) == 0xffff);
		CHECK(prt[i].addr >> 16 == i);
		CHECK(prt[i].pin == PCI_INTX_PIN - 1);
		CHECK(prt[i].null_source);
		CHECK(prt[i].index == PCI_INTX_GSI(i));
		CHECK(prt[i].index >= VM_GSI_PCI_FIRST &&
		    prt[i].index < VM_NR_GSIS);
	}

	/* _CRS */
	for (i = 0; i < nres; i++) {
		if (strcmp(res[i].type, "Bus Number Range") == 0) {
			CHECK(res[i].producer && res[i].min == 0 &&
			    res[i].max == 0xff && res[i].len == 0x100);
			nbus++;
		} else if (strcmp(res[i].kind, "I/O Resource") == 0) {
			CHECK(res[i].min == 0xcf8 && res[i].max == 0xcf8 &&
			    res[i].len == 8);
			ncfg++;
		} else if (strcmp(res[i].kind, "EndTag Resource") == 0) {
			CHECK(i == nres - 1);
			nend++;
		} else {
			/* a window: producer, consistent, not over 0xCF8 */
			CHECK(res[i].producer);
			CHECK(res[i].len == res[i].max - res[i].min + 1);
			CHECK(strcmp(res[i].type, "I/O Range") == 0 ||
			    strcmp(res[i].type, "Memory Range") == 0);
			if (strcmp(res[i].type, "I/O Range") == 0)
				CHECK(res[i].max < 0xcf8 || res[i].min > 0xcff);
			if (strcmp(res[i].type, "Memory Range") == 0) {
				/* not over RAM, the IOAPIC or the LAPICs */
				CHECK(vm_gpa_ptr(vm, res[i].min, 1) == NULL &&
				    vm_gpa_ptr(vm, res[i].max, 1) == NULL);
				CHECK(res[i].min >= VM_LOWMEM_MAX &&
				    res[i].max < VM_IOAPIC_BASE);
			}
		}
	}
	CHECK(nbus == 1 && ncfg == 1 && nend == 1);
	/* exactly where devices/pci.c places BARs */
	w = window(res, nres, "I/O Range", PCI_IO_BASE, PCI_IO_LIMIT - 1);
	CHECK(w != NULL && w->min == PCI_IO_BASE && w->max == PCI_IO_LIMIT - 1);
	w = window(res, nres, "Memory Range", PCI_MMIO32_BASE,
	    PCI_MMIO32_LIMIT - 1);
	CHECK(w != NULL && w->min == PCI_MMIO32_BASE &&
	    w->max == PCI_MMIO32_LIMIT - 1);
	/* the legacy PC ports around the configuration ports */
	CHECK(window(res, nres, "I/O Range", 0, 0xcf7) != NULL);
	CHECK(window(res, nres, "I/O Range", 0xd00, PCI_IO_BASE - 1) != NULL);

	/* every function of this VM against the tables */
	for (slot = 0; slot < PCI_SLOTS; slot++) {
		for (func = 0; func < PCI_FUNCS; func++) {
			struct pci_dev *pd = pci_lookup(vm, slot, func);
			uint8_t pin;

			if (pd == NULL)
				continue;
			for (b = 0; b < PCI_NBARS; b++) {
				const struct pci_bar *bar = &pd->bar[b];

				if (bar->type == PCI_BAR_NONE)
					continue;
				w = window(res, nres, bar->type == PCI_BAR_IO ?
				    "I/O Range" : "Memory Range", bar->addr,
				    bar->addr + bar->size - 1);
				CHECK(w != NULL);
				if (w == NULL)
					fprintf(stderr, "%s BAR %d %#llx+%#llx "
					    "is in no window\n", pd->name, b,
					    (unsigned long long)bar->addr,
					    (unsigned long long)bar->size);
				checked++;
			}
			pin = pci_get8(pd, PCIR_INTPIN);
			if (pin == 0)
				continue;
			for (i = 0; i < nprt; i++)
				if (prt[i].addr >> 16 == (unsigned)slot &&
				    prt[i].pin == pin - 1u)
					break;
			CHECK(i < nprt);
			if (i == nprt)
				continue;
			CHECK(prt[i].index == pd->intx_gsi);
			CHECK(prt[i].index == pci_get8(pd, PCIR_INTLINE));
			checked++;
		}
	}
	/* 3 virtio-blk x (2 BARs + INTx), and the I/O BAR */
	CHECK(checked == 10);
}

static void
test_dsdt_pci(const char *img)
{
	static const int blk_slots[] = { 3, 10, 19 };
	struct vm *vm = vm_new_for_test(64 << 20);
	const uint8_t *dsdt;
	char node[32], key[48], id[32], *dsl = NULL;
	uint32_t len;
	size_t i;

	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	vm->ncpus = 2;
	CHECK(vm_test_dev_add(vm, "hostbridge", "pci.0.0.0", "hostbridge@0")
	    != NULL);
	CHECK(vm_test_dev_add(vm, "lpc", "pci.0.1.0", "lpc@0") != NULL);
	for (i = 0; i < sizeof(blk_slots) / sizeof(blk_slots[0]); i++) {
		snprintf(node, sizeof(node), "pci.0.%d.0", blk_slots[i]);
		snprintf(key, sizeof(key), "%s.path", node);
		snprintf(id, sizeof(id), "virtio-blk@%zu", i);
		vm_test_cfg_set(vm, key, img);
		CHECK(vm_test_dev_add(vm, "virtio-blk", node, id) != NULL);
	}
	/* No model has an I/O BAR yet; give the LPC bridge one. */
	CHECK(pci_bar_alloc(pci_lookup(vm, 1, 0), 0, PCI_BAR_IO, 32) == 0);

	dsdt = vm_dsdt(vm, &len);
	CHECK(dsdt != NULL);
	if (dsdt != NULL) {
		check_disassembly(dsdt, len, &dsl);
		if (dsl != NULL) {
			CHECK(strstr(dsl, "Device (PCI0)") != NULL);
			CHECK(strstr(dsl, "EisaId (\"PNP0A03\")") != NULL);
			CHECK(strstr(dsl, "Name (_CRS, ResourceTemplate ()")
			    != NULL);
			CHECK(strstr(dsl, "Name (_PRT, Package (0x20)") != NULL);
		}
		check_evaluation(vm);
	}
	free(dsl);
	vm_free(vm);
}

static void
test_dsdt_nopci(void)
{
	struct vm *vm = vm_new_for_test(64 << 20);
	const uint8_t *dsdt;
	char *dsl = NULL, *out;
	uint32_t len;
	int rc;

	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	vm->ncpus = 1;
	dsdt = vm_dsdt(vm, &len);
	CHECK(dsdt != NULL);
	if (dsdt != NULL) {
		check_disassembly(dsdt, len, &dsl);
		CHECK(dsl != NULL && strstr(dsl, "PCI0") == NULL &&
		    strstr(dsl, "_PRT") == NULL);
		rc = run("acpiexec -b 'evaluate \\_S5' dsdt.dat", &out);
		CHECK(rc == 0 && strstr(out, "[Package] Contains 4 Elements")
		    != NULL && strstr(out, "[Integer] = 0000000000000005")
		    != NULL);
		free(out);
		rc = run("acpiexec -b 'evaluate \\_SB.PCI0._HID' dsdt.dat",
		    &out);
		CHECK(strstr(out, "AE_NOT_FOUND") != NULL);
		free(out);
	}
	free(dsl);
	vm_free(vm);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	char img[300], cmd[300];
	int fd;

	if (!have_tool("iasl") || !have_tool("acpiexec")) {
		printf("SKIP: iasl or acpiexec not installed (Debian's "
		    "acpica-tools; scripts/setup.sh installs it)\n");
		return 77;
	}
	snprintf(dir, sizeof(dir), "%s/hyve-acpica.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	if ((fd = open(img, O_RDWR | O_CREAT, 0600)) < 0 ||
	    ftruncate(fd, 1 << 20) != 0) {
		perror(img);
		return 1;
	}
	close(fd);

	test_encoder();
	test_dsdt_pci(img);
	test_dsdt_nopci();

	if (failures == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	} else {
		fprintf(stderr, "%d checks failed; files in %s\n", failures,
		    dir);
		return 1;
	}
	printf("test_vmm_acpica: ok\n");
	return 0;
}
