/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The ports that read as nothing (vmm/legacy.c, docs/BOOT.md "Accesses to
 * nothing"): what a stock Linux probes is there, exactly the ranges and no
 * neighbour, and no port of a device hyve emulates.
 */
#include <stdio.h>

#include "vm_priv.h"

#include "test_check.h"

int
main(void)
{
	static const uint16_t nothing[] = {
		0x2e, 0x2f, 0x4e, 0x4f,		/* Super I/O (8250_fintek) */
		0x00, 0x1f, 0x80, 0x92, 0xed, 0x510, 0x511, 0xcf8, 0xcff,
	};
	static const uint16_t other[] = {
		0x2d, 0x30, 0x4d, 0x50,		/* around the Super I/O pairs */
		0x1234,				/* tests/e2e/hyve_fault.sh */
		/* devices hyve emulates: pm, rtc, the in-kernel PIC and PIT */
		0x20, 0x21, 0x40, 0x43, 0x61, 0x64, 0x70, 0x71, 0xa0, 0xa1,
		0xf4, 0xf7, 0x4d0, 0x4d1, 0x600, 0x60c, 0x60f,
	};
	size_t i;

	for (i = 0; i < sizeof(nothing) / sizeof(nothing[0]); i++) {
		CHECK(legacy_port_name(nothing[i]) != NULL);
		if (legacy_port_name(nothing[i]) == NULL)
			fprintf(stderr, "  port %#x\n", nothing[i]);
	}
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		CHECK(legacy_port_name(other[i]) == NULL);
		if (legacy_port_name(other[i]) != NULL)
			fprintf(stderr, "  port %#x: %s\n", other[i],
			    legacy_port_name(other[i]));
	}
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_legacy: ok\n");
	return 0;
}
