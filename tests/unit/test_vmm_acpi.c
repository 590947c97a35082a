/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Boot data a PVH guest reads: the ACPI tables (found from the RSDP as a
 * guest would, every checksum, the MADT's CPUs and overrides, the FADT's
 * PM registers, the DSDT's \_S5_ and, with a PCI bus only, \_SB.PCI0)
 * and hvm_start_info with its memory map and command line.  What the
 * DSDT's AML means is checked with ACPICA in test_vmm_acpica.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm.h"
#include "vm_priv.h"

#include "test_check.h"

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

/* A table at @gpa with signature @sig, checksum verified; NULL if not. */
static const uint8_t *
table(struct vm *vm, uint64_t gpa, const char *sig)
{
	const uint8_t *t = vm_gpa_ptr(vm, gpa, 36);
	uint32_t len;

	if (t == NULL || memcmp(t, sig, 4) != 0)
		return NULL;
	len = rd32(t + 4);
	if (len < 36 || (t = vm_gpa_ptr(vm, gpa, len)) == NULL)
		return NULL;
	if (sum(t, len) != 0) {
		fprintf(stderr, "%s: bad checksum\n", sig);
		return NULL;
	}
	/* Inside hyve's reserved boot area, as the E820 map says. */
	if (gpa < BOOT_ACPI_BASE || gpa + len > BOOT_ACPI_END)
		return NULL;
	return t;
}

static void
test_tables(unsigned ncpus, bool pci)
{
	struct vm *vm = vm_new_for_test(64 << 20);
	const uint8_t *rsdp, *xsdt, *rsdt, *fadt, *madt, *dsdt, *facs, *p, *end;
	const uint8_t *dev;
	uint64_t rsdp_a, a;
	unsigned nlapic = 0, nioapic = 0, niso = 0, nnmi = 0, i;
	char err[256];

	CHECK(vm != NULL);
	vm->ncpus = ncpus;
	if (pci) {
		CHECK(vm_test_dev_add(vm, "hostbridge", "pci.0.0.0",
		    "hostbridge@0") != NULL);
		CHECK(vm_test_dev_add(vm, "lpc", "pci.0.1.0", "lpc@0") != NULL);
	}
	CHECK(acpi_build(vm, &rsdp_a, err, sizeof(err)) == 0);
	CHECK(rsdp_a % 16 == 0);
	rsdp = vm_gpa_ptr(vm, rsdp_a, 36);
	CHECK(rsdp != NULL && memcmp(rsdp, "RSD PTR ", 8) == 0);
	CHECK(sum(rsdp, 20) == 0 && sum(rsdp, 36) == 0);
	CHECK(rsdp[15] == 2 && rd32(rsdp + 20) == 36);

	xsdt = table(vm, rd64(rsdp + 24), "XSDT");
	rsdt = table(vm, rd32(rsdp + 16), "RSDT");
	CHECK(xsdt != NULL && rsdt != NULL);
	if (xsdt == NULL || rsdt == NULL)
		goto out;
	CHECK(rd32(xsdt + 4) == 36 + 2 * 8 && rd32(rsdt + 4) == 36 + 2 * 4);
	fadt = madt = NULL;
	for (i = 0; i < 2; i++) {
		a = rd64(xsdt + 36 + 8 * i);
		CHECK(a == rd32(rsdt + 36 + 4 * i));
		if (table(vm, a, "FACP") != NULL)
			fadt = table(vm, a, "FACP");
		if (table(vm, a, "APIC") != NULL)
			madt = table(vm, a, "APIC");
	}
	CHECK(fadt != NULL && madt != NULL);
	if (fadt == NULL || madt == NULL)
		goto out;

	/* FADT: ACPI 6 size, PM blocks, SCI, reset register, DSDT, FACS */
	CHECK(rd32(fadt + 4) == 276 && fadt[8] == 6);
	CHECK(rd32(fadt + 56) == PM1_EVT_BLK && rd32(fadt + 64) == PM1_CNT_BLK);
	CHECK(rd32(fadt + 76) == PM_TMR_BLK);
	CHECK(fadt[88] == 4 && fadt[89] == 2 && fadt[91] == 4);
	CHECK(fadt[46] == PM_SCI_IRQ && rd32(fadt + 48) == 0);
	CHECK(fadt[116] == 1 && rd64(fadt + 120) == PM_RESET_REG &&
	    fadt[128] == PM_RESET_VALUE);
	CHECK(rd32(fadt + 112) & (1U << 10));	/* RESET_REG_SUP */
	CHECK(fadt[108] == 0x32);		/* RTC century */
	CHECK(rd64(fadt + 140) == rd32(fadt + 40));
	CHECK(rd64(fadt + 172 + 4) == PM1_CNT_BLK);	/* X_PM1a_CNT_BLK */
	dsdt = table(vm, rd64(fadt + 140), "DSDT");
	CHECK(dsdt != NULL);
	if (dsdt != NULL) {
		/* Name(_S5_, Package(){ 5, ... }) */
		CHECK(memmem(dsdt + 36, rd32(dsdt + 4) - 36,
		    "\x08_S5_\x12", 6) != NULL);
		p = memmem(dsdt + 36, rd32(dsdt + 4) - 36, "_S5_", 4);
		CHECK(p != NULL && p[4] == 0x12 && p[5] == 0x07 && p[6] == 4 && p[7] == 0x0a &&
		    p[8] == PM_SLP_TYP_S5);
		/*
		 * Scope (_SB) { Device (PCI0) { Name (_HID, EisaId
		 * ("PNP0A03")) ... _CRS, _PRT } } only with a PCI bus.
		 */
		p = memmem(dsdt + 36, rd32(dsdt + 4) - 36, "PCI0", 4);
		CHECK((p != NULL) == pci);
		if (p != NULL) {
			end = dsdt + rd32(dsdt + 4);
			/* DeviceOp, a 2- or 1-byte PkgLength, the name */
			dev = p[-3] == 0x82 ? p - 4 : p - 3;
			CHECK(dev[0] == 0x5b && dev[1] == 0x82);
			CHECK(memcmp(dev - 4, "_SB_", 4) == 0);
			CHECK(memmem(p, end - p, "\x08_HID\x0c\x41\xd0\x0a\x03",
			    10) != NULL);
			CHECK(memmem(p, end - p, "\x08_CRS\x11", 6) != NULL);
			CHECK(memmem(p, end - p, "\x08_PRT\x12", 6) != NULL);
		}
	}
	facs = vm_gpa_ptr(vm, rd64(fadt + 132), 64);
	CHECK(facs != NULL && memcmp(facs, "FACS", 4) == 0 &&
	    rd32(facs + 4) == 64 && rd64(fadt + 132) % 64 == 0);

	/* MADT */
	CHECK(rd32(madt + 36) == VM_LAPIC_BASE && rd32(madt + 40) == 1);
	p = madt + 44;
	end = madt + rd32(madt + 4);
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		switch (p[0]) {
		case 0:
			CHECK(p[1] == 8 && p[2] == nlapic && p[3] == nlapic &&
			    rd32(p + 4) == 1);
			nlapic++;
			break;
		case 1:
			CHECK(p[1] == 12 && rd32(p + 4) == VM_IOAPIC_BASE &&
			    rd32(p + 8) == 0);
			nioapic++;
			break;
		case 2:
			CHECK(p[1] == 10 && p[2] == 0);
			if (p[3] == 0)
				CHECK(rd32(p + 4) == 2);	/* IRQ0 -> GSI2 */
			else
				CHECK(p[3] == 9 && rd32(p + 4) == 9);
			niso++;
			break;
		case 4:
			CHECK(p[1] == 6 && p[2] == 0xff && p[5] == 1);
			nnmi++;
			break;
		default:
			CHECK(!"unexpected MADT entry");
		}
		p += p[1];
	}
	CHECK(p == end);
	CHECK(nlapic == ncpus && nioapic == 1 && niso == 2 && nnmi == 1);

	/* a corrupted byte is seen */
	((uint8_t *)madt)[44] ^= 1;
	CHECK(sum(madt, rd32(madt + 4)) != 0);
	CHECK(acpi_checksum(madt, rd32(madt + 4)) != 0);
out:
	vm_free(vm);
}

struct e820 {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static void
test_start_info(uint64_t mem)
{
	struct vm *vm = vm_new_for_test(mem);
	const uint8_t *si;
	const struct e820 *map;
	uint64_t ram = 0, prev_end = 0;
	char err[256], big[BOOT_CMDLINE_MAX + 1];
	unsigned i, n;

	CHECK(vm != NULL);
	CHECK(pvh_write_start_info(vm, "churn 8 ; ticks 3", 0xe0000, err,
	    sizeof(err)) == 0);
	si = vm_gpa_ptr(vm, BOOT_START_INFO, 56);
	CHECK(rd32(si) == 0x336ec578 && rd32(si + 4) == 1);
	CHECK(rd32(si + 12) == 0);			/* no modules */
	CHECK(rd64(si + 32) == 0xe0000);		/* rsdp */
	CHECK(strcmp(vm_gpa_ptr(vm, rd64(si + 24), 1), "churn 8 ; ticks 3")
	    == 0);
	n = rd32(si + 48);
	map = vm_gpa_ptr(vm, rd64(si + 40), n * sizeof(*map));
	CHECK(map != NULL && n >= 3);
	for (i = 0; map != NULL && i < n; i++) {
		CHECK(map[i].addr >= prev_end);		/* sorted, disjoint */
		prev_end = map[i].addr + map[i].size;
		if (map[i].type == 1) {
			ram += map[i].size;
			CHECK(vm_gpa_ptr(vm, map[i].addr, map[i].size) != NULL);
			/* RAM never covers hyve's boot data */
			CHECK(map[i].addr + map[i].size <= BOOT_AREA_BASE ||
			    map[i].addr >= BOOT_AREA_END);
		} else {
			CHECK(map[i].type == 2 && map[i].addr == BOOT_AREA_BASE);
		}
	}
	/* all RAM but the legacy hole [0xa0000, 0x100000) */
	CHECK(ram == mem - (0x100000 - 0xa0000));

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(pvh_write_start_info(vm, big, 0, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "too long") != NULL);
	big[BOOT_CMDLINE_MAX - 1] = '\0';
	CHECK(pvh_write_start_info(vm, big, 0, err, sizeof(err)) == 0);
	vm_free(vm);
}

int
main(void)
{
	test_tables(1, false);
	test_tables(2, false);
	test_tables(64, false);
	test_tables(254, false);
	test_tables(1, true);
	test_tables(254, true);	/* the DSDT still fits beside 254 LAPICs */
	test_start_info(64 << 20);
	test_start_info((3ULL << 30) + (64 << 20));	/* with high RAM */
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_acpi: ok\n");
	return 0;
}
