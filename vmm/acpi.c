/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ACPI tables for the guest (docs/BOOT.md): RSDP -> RSDT/XSDT -> FADT
 * (-> FACS, DSDT), MADT.  The MADT lists one LAPIC per vCPU (APIC ID =
 * vCPU index), the IOAPIC and the PC's interrupt source overrides; the
 * FADT describes devices/pm.c's registers so that a guest powers off
 * through S5 (\_S5_ in the DSDT) and resets through the reset register.
 * When the VM has a PCI bus the DSDT describes its host bridge, \_SB.PCI0:
 * the bus numbers, I/O and memory windows devices/pci.c places BARs in,
 * and a _PRT with the INTx wiring (docs/BOOT.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aml.h"
#include "pci.h"
#include "pm.h"
#include "rtc.h"
#include "vm_priv.h"

#define OEM_ID		"HYVE  "
#define OEM_TABLE_ID	"HYVEVM  "
#define CREATOR_ID	"HYVE"

struct acpi_hdr {
	char		sig[4];
	uint32_t	length;
	uint8_t		revision;
	uint8_t		checksum;
	char		oem_id[6];
	char		oem_table_id[8];
	uint32_t	oem_revision;
	char		creator_id[4];
	uint32_t	creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char		sig[8];
	uint8_t		checksum;
	char		oem_id[6];
	uint8_t		revision;
	uint32_t	rsdt;
	uint32_t	length;
	uint64_t	xsdt;
	uint8_t		ext_checksum;
	uint8_t		reserved[3];
} __attribute__((packed));

struct acpi_gas {
	uint8_t		space;		/* 1 = system I/O */
	uint8_t		bit_width;
	uint8_t		bit_offset;
	uint8_t		access_size;	/* 1 byte, 2 word, 3 dword */
	uint64_t	address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_hdr	h;
	uint32_t	firmware_ctrl;
	uint32_t	dsdt;
	uint8_t		reserved0;
	uint8_t		pm_profile;
	uint16_t	sci_int;
	uint32_t	smi_cmd;
	uint8_t		acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t	pm1a_evt_blk, pm1b_evt_blk;
	uint32_t	pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t	pm2_cnt_blk, pm_tmr_blk;
	uint32_t	gpe0_blk, gpe1_blk;
	uint8_t		pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t		gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t	p_lvl2_lat, p_lvl3_lat;
	uint16_t	flush_size, flush_stride;
	uint8_t		duty_offset, duty_width;
	uint8_t		day_alrm, mon_alrm, century;
	uint16_t	iapc_boot_arch;
	uint8_t		reserved1;
	uint32_t	flags;
	struct acpi_gas	reset_reg;
	uint8_t		reset_value;
	uint16_t	arm_boot_arch;
	uint8_t		minor_version;
	uint64_t	x_firmware_ctrl;
	uint64_t	x_dsdt;
	struct acpi_gas	x_pm1a_evt_blk, x_pm1b_evt_blk;
	struct acpi_gas	x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas	x_pm2_cnt_blk, x_pm_tmr_blk;
	struct acpi_gas	x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas	sleep_control, sleep_status;
	uint64_t	hypervisor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT is 276 bytes (ACPI 6)");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

#define FADT_F_WBINVD		(1U << 0)
#define FADT_F_PROC_C1		(1U << 2)
#define FADT_F_PWR_BUTTON	(1U << 4)	/* no fixed power button */
#define FADT_F_SLP_BUTTON	(1U << 5)
#define FADT_F_FIX_RTC		(1U << 6)
#define FADT_F_TMR_VAL_EXT	(1U << 8)	/* 32-bit PM timer */
#define FADT_F_RESET_REG_SUP	(1U << 10)
#define BOOT_ARCH_LEGACY_DEVICES (1U << 0)
#define BOOT_ARCH_VGA_NOT_PRESENT (1U << 2)

struct acpi_facs {
	char		sig[4];
	uint32_t	length;
	uint32_t	hw_signature;
	uint32_t	waking_vector;
	uint32_t	global_lock;
	uint32_t	flags;
	uint64_t	x_waking_vector;
	uint8_t		version;
	uint8_t		reserved[3];
	uint32_t	ospm_flags;
	uint8_t		reserved2[24];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");

/* MADT entries */
struct madt_lapic {
	uint8_t type, len, uid, apic_id;
	uint32_t flags;
} __attribute__((packed));
struct madt_ioapic {
	uint8_t type, len, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));
struct madt_iso {
	uint8_t type, len, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
struct madt_lapic_nmi {
	uint8_t type, len, uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

/*
 * The PCI host bridge's windows.  The legacy I/O ports a PC decodes below
 * the bridge go around the configuration ports, as on a PC (QEMU's i440fx
 * does the same); hyve's own I/O BAR window is a descriptor of its own so
 * that the guest sees exactly where BARs are.
 */
_Static_assert(PCI_IO_BASE > 0xd00 && PCI_IO_LIMIT <= 0x10000,
    "the I/O BAR window lies above the configuration ports");
_Static_assert(VM_PCI_MMIO_END <= 0x100000000ULL,
    "32-bit BARs lie below 4 GiB");

static void
pci0_crs(struct aml *r)
{
	aml_res_word_bus(r, true, 0x00, 0xff);
	aml_res_io(r, 0xcf8, 0xcf8, 1, 8);
	aml_res_word_io(r, true, 0x0000, 0x0cf7);
	aml_res_word_io(r, true, 0x0d00, PCI_IO_BASE - 1);
	aml_res_word_io(r, true, PCI_IO_BASE, PCI_IO_LIMIT - 1);
	aml_res_dword_mem(r, true, (uint32_t)VM_PCI_MMIO_BASE,
	    (uint32_t)(VM_PCI_MMIO_END - 1));
	aml_res_end(r);
}

/*
 * _PRT entries in their GSI form (Source 0, Source Index = the GSI), one
 * per slot for the pin functions report.  Such an interrupt is a PCI INTx#
 * line, level-triggered and active low, and the guest programs the IOAPIC
 * pin so.  KVM's IOAPIC does not look at the polarity bit (an input is
 * asserted while hyve drives it to 1), so the level devices/pci.c drives
 * reaches the guest as the asserted line it expects.
 */
static void
pci0_prt(struct aml *a)
{
	unsigned slot;

	aml_name(a, "_PRT");
	aml_package(a, PCI_SLOTS);
	for (slot = 0; slot < PCI_SLOTS; slot++) {
		aml_package(a, 4);
		aml_int(a, (uint64_t)slot << 16 | 0xffff);	/* any function */
		aml_int(a, PCI_INTX_PIN - 1);			/* 0 is INTA# */
		aml_int(a, 0);
		aml_int(a, PCI_INTX_GSI(slot));
		aml_end(a);
	}
	aml_end(a);
}

static bool
vm_has_pci(struct vm *vm)
{
	int slot, func;

	for (slot = 0; slot < PCI_SLOTS; slot++)
		for (func = 0; func < PCI_FUNCS; func++)
			if (pci_lookup(vm, slot, func) != NULL)
				return true;
	return false;
}

/*
 * The DSDT's AML.  Without a PCI bus there is no host bridge to describe:
 * ports 0xCF8-0xCFF then read as nothing, and a PNP0A03 whose config space
 * cannot be reached would only make the guest complain.
 */
static int
dsdt_build(struct vm *vm, struct aml *a)
{
	struct aml crs;
	int rc;

	/* Name (_S5, Package () { 5, 0, 0, 0 }): SLP_TYPa for S5. */
	aml_name(a, "_S5");
	aml_package(a, 4);
	aml_int(a, PM_SLP_TYP_S5);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_end(a);
	if (!vm_has_pci(vm))
		return aml_finish(a);

	aml_init(&crs);
	pci0_crs(&crs);
	if ((rc = aml_finish(&crs)) != 0)
		goto out;
	aml_scope(a, "_SB");		/* at the root: \_SB */
	aml_device(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_int(a, 0);
	aml_name(a, "_BBN");
	aml_int(a, 0);
	aml_name(a, "_CRS");
	aml_buffer(a, crs.buf, crs.len);
	pci0_prt(a);
	aml_end(a);		/* PCI0 */
	aml_end(a);		/* \_SB */
	rc = aml_finish(a);
out:
	aml_fini(&crs);
	return rc;
}

uint8_t
acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len-- > 0)
		sum += *b++;
	return (uint8_t)-sum;
}

static void
hdr_init(struct acpi_hdr *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->sig, sig, 4);
	h->length = len;
	h->revision = rev;
	h->checksum = 0;
	memcpy(h->oem_id, OEM_ID, 6);
	memcpy(h->oem_table_id, OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = 1;
}

static void
table_sum(void *t)
{
	struct acpi_hdr *h = t;

	h->checksum = 0;
	h->checksum = acpi_checksum(t, h->length);
}

static struct acpi_gas
gas_io(uint16_t port, uint8_t bits, uint8_t access)
{
	return (struct acpi_gas){ .space = 1, .bit_width = bits,
	    .access_size = access, .address = port };
}

/* Bump allocator over the ACPI area; all tables 16-byte aligned. */
struct area {
	uint8_t *base;
	uint64_t gpa, used, size;
};

static void *
alloc(struct area *a, uint64_t len, uint64_t align, uint64_t *gpa)
{
	uint64_t off = (a->used + align - 1) & ~(align - 1);

	if (off + len > a->size)
		return NULL;
	a->used = off + len;
	*gpa = a->gpa + off;
	return a->base + off;
}

int
acpi_build(struct vm *vm, uint64_t *rsdp_gpa, char *err, size_t errlen)
{
	uint64_t rsdp_a, rsdt_a, xsdt_a, fadt_a, facs_a, dsdt_a, madt_a;
	struct area a = { .gpa = BOOT_ACPI_BASE,
	    .size = BOOT_ACPI_END - BOOT_ACPI_BASE };
	struct acpi_rsdp *rsdp;
	struct acpi_hdr *rsdt, *xsdt, *dsdt, *madt;
	struct acpi_fadt *fadt;
	struct acpi_facs *facs;
	struct aml aml;
	uint64_t madt_len;
	uint8_t *p;
	uint32_t v32;
	unsigned i;
	int rc;

	if ((a.base = vm_gpa_ptr(vm, a.gpa, a.size)) == NULL) {
		snprintf(err, errlen, "ACPI tables: guest RAM does not cover "
		    "%#llx-%#llx", BOOT_ACPI_BASE, BOOT_ACPI_END);
		return -EINVAL;
	}
	aml_init(&aml);
	if ((rc = dsdt_build(vm, &aml)) != 0) {
		snprintf(err, errlen, "ACPI tables: cannot encode the DSDT: %s",
		    strerror(-rc));
		goto out;
	}
	memset(a.base, 0, a.size);
	madt_len = sizeof(struct acpi_hdr) + 8 +
	    vm->ncpus * sizeof(struct madt_lapic) + sizeof(struct madt_ioapic) +
	    2 * sizeof(struct madt_iso) + sizeof(struct madt_lapic_nmi);
	rsdp = alloc(&a, sizeof(*rsdp), 16, &rsdp_a);
	rsdt = alloc(&a, sizeof(*rsdt) + 2 * 4, 16, &rsdt_a);
	xsdt = alloc(&a, sizeof(*xsdt) + 2 * 8, 16, &xsdt_a);
	fadt = alloc(&a, sizeof(*fadt), 16, &fadt_a);
	facs = alloc(&a, sizeof(*facs), 64, &facs_a);
	dsdt = alloc(&a, sizeof(*dsdt) + aml.len, 16, &dsdt_a);
	madt = alloc(&a, madt_len, 16, &madt_a);
	if (rsdp == NULL || rsdt == NULL || xsdt == NULL || fadt == NULL ||
	    facs == NULL || dsdt == NULL || madt == NULL) {
		snprintf(err, errlen, "ACPI tables do not fit in %#llx-%#llx "
		    "(%u vCPUs)", BOOT_ACPI_BASE, BOOT_ACPI_END, vm->ncpus);
		rc = -EINVAL;
		goto out;
	}

	/* DSDT, revision 2: integers are 64 bits */
	hdr_init(dsdt, "DSDT", (uint32_t)(sizeof(*dsdt) + aml.len), 2);
	memcpy(dsdt + 1, aml.buf, aml.len);
	table_sum(dsdt);

	/* FACS (no checksum) */
	memcpy(facs->sig, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;

	/* FADT */
	hdr_init(&fadt->h, "FACP", sizeof(*fadt), 6);
	fadt->firmware_ctrl = (uint32_t)facs_a;
	fadt->dsdt = (uint32_t)dsdt_a;
	fadt->sci_int = PM_SCI_IRQ;
	fadt->smi_cmd = 0;	/* ACPI mode always on: SCI_EN is set */
	fadt->pm1a_evt_blk = PM1_EVT_BLK;
	fadt->pm1a_cnt_blk = PM1_CNT_BLK;
	fadt->pm_tmr_blk = PM_TMR_BLK;
	fadt->pm1_evt_len = PM1_EVT_LEN;
	fadt->pm1_cnt_len = PM1_CNT_LEN;
	fadt->pm_tmr_len = PM_TMR_LEN;
	fadt->p_lvl2_lat = 101;		/* > 100: no C2 */
	fadt->p_lvl3_lat = 1001;	/* > 1000: no C3 */
	fadt->century = RTC_CENTURY;
	fadt->iapc_boot_arch = BOOT_ARCH_LEGACY_DEVICES |
	    BOOT_ARCH_VGA_NOT_PRESENT;	/* and no 8042 */
	fadt->flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON |
	    FADT_F_SLP_BUTTON | FADT_F_FIX_RTC | FADT_F_TMR_VAL_EXT |
	    FADT_F_RESET_REG_SUP;
	fadt->reset_reg = gas_io(PM_RESET_REG, 8, 1);
	fadt->reset_value = PM_RESET_VALUE;
	fadt->minor_version = 0;
	fadt->x_firmware_ctrl = facs_a;
	fadt->x_dsdt = dsdt_a;
	fadt->x_pm1a_evt_blk = gas_io(PM1_EVT_BLK, 32, 2);
	fadt->x_pm1a_cnt_blk = gas_io(PM1_CNT_BLK, 16, 2);
	fadt->x_pm_tmr_blk = gas_io(PM_TMR_BLK, 32, 3);
	memcpy(&fadt->hypervisor_id, "HYVE\0\0\0\0", 8);
	table_sum(fadt);

	/* MADT */
	hdr_init(madt, "APIC", (uint32_t)madt_len, 5);
	p = (uint8_t *)(madt + 1);
	v32 = (uint32_t)VM_LAPIC_BASE;
	memcpy(p, &v32, 4);
	v32 = 1;			/* PCAT_COMPAT: there are 8259s */
	memcpy(p + 4, &v32, 4);
	p += 8;
	for (i = 0; i < vm->ncpus; i++) {
		struct madt_lapic l = { .type = 0, .len = sizeof(l),
		    .uid = (uint8_t)i, .apic_id = (uint8_t)i, .flags = 1 };
		memcpy(p, &l, sizeof(l));
		p += sizeof(l);
	}
	{
		struct madt_ioapic io = { .type = 1, .len = sizeof(io),
		    .id = 0, .address = (uint32_t)VM_IOAPIC_BASE,
		    .gsi_base = 0 };
		/* IRQ 0 (PIT) is GSI 2; SCI level, active high (as QEMU). */
		struct madt_iso iso0 = { .type = 2, .len = sizeof(iso0),
		    .bus = 0, .source = 0, .gsi = 2, .flags = 0 };
		struct madt_iso iso9 = { .type = 2, .len = sizeof(iso9),
		    .bus = 0, .source = PM_SCI_IRQ, .gsi = PM_SCI_IRQ,
		    .flags = 0x000d };
		struct madt_lapic_nmi nmi = { .type = 4, .len = sizeof(nmi),
		    .uid = 0xff, .flags = 0, .lint = 1 };
		memcpy(p, &io, sizeof(io));
		p += sizeof(io);
		memcpy(p, &iso0, sizeof(iso0));
		p += sizeof(iso0);
		memcpy(p, &iso9, sizeof(iso9));
		p += sizeof(iso9);
		memcpy(p, &nmi, sizeof(nmi));
		p += sizeof(nmi);
	}
	table_sum(madt);

	/* RSDT and XSDT: FADT, MADT */
	hdr_init(rsdt, "RSDT", sizeof(*rsdt) + 2 * 4, 1);
	v32 = (uint32_t)fadt_a;
	memcpy((uint8_t *)(rsdt + 1), &v32, 4);
	v32 = (uint32_t)madt_a;
	memcpy((uint8_t *)(rsdt + 1) + 4, &v32, 4);
	table_sum(rsdt);
	hdr_init(xsdt, "XSDT", sizeof(*xsdt) + 2 * 8, 1);
	memcpy((uint8_t *)(xsdt + 1), &fadt_a, 8);
	memcpy((uint8_t *)(xsdt + 1) + 8, &madt_a, 8);
	table_sum(xsdt);

	/* RSDP (ACPI 2.0+) */
	memcpy(rsdp->sig, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->rsdt = (uint32_t)rsdt_a;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt = xsdt_a;
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->ext_checksum = acpi_checksum(rsdp, sizeof(*rsdp));
	*rsdp_gpa = rsdp_a;
	rc = 0;
out:
	aml_fini(&aml);
	return rc;
}
