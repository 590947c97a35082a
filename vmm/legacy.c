/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Legacy ports that a normal PC guest (Linux) probes or pokes although
 * hyve has no device there.  They read as all ones (what an empty ISA bus
 * returns, and what drivers take as "absent") and ignore writes, silently.
 * Every other port without a device is a guest error (docs/hyve.8,
 * x86.strictio).  Ports of devices hyve emulates are not listed: when the
 * device is configured it answers, and when it is not (com2-4), the port
 * is listed here so that probing it is harmless.
 */
#include <stddef.h>
#include <stdint.h>

#include "vm_priv.h"

static const struct {
	uint16_t first, last;
	const char *name;
} legacy[] = {
	{ 0x0000, 0x001f, "8237 DMA controller" },
	{ 0x0022, 0x0023, "chipset configuration" },
	/*
	 * Super I/O configuration index/data pairs: for every legacy UART,
	 * Linux's 8250_fintek writes its keys (0xAA, then an entry key) to
	 * both index ports and reads chip IDs from the data ports.  All
	 * ones is no chip.
	 */
	{ 0x002e, 0x002f, "Super I/O configuration" },
	{ 0x004e, 0x004f, "Super I/O configuration (alternate)" },
	{ 0x0060, 0x0060, "8042 data" },
	{ 0x0080, 0x008f, "POST code / DMA page registers" },
	{ 0x0092, 0x0092, "fast A20 gate" },
	{ 0x00c0, 0x00df, "8237 DMA controller 2" },
	{ 0x00ed, 0x00ed, "I/O delay" },
	{ 0x00f0, 0x00f1, "FPU error" },
	{ 0x0170, 0x0177, "IDE secondary" },
	{ 0x01f0, 0x01f7, "IDE primary" },
	{ 0x0201, 0x0201, "game port" },
	{ 0x0278, 0x027a, "LPT2" },
	{ 0x02e8, 0x02ef, "COM4" },
	{ 0x02f8, 0x02ff, "COM2" },
	{ 0x0376, 0x0376, "IDE secondary control" },
	{ 0x0378, 0x037a, "LPT1" },
	{ 0x03b0, 0x03df, "VGA" },
	{ 0x03e8, 0x03ef, "COM3" },
	{ 0x03f0, 0x03f7, "floppy controller / IDE control" },
	{ 0x03f8, 0x03ff, "COM1" },
	{ 0x0510, 0x0511, "QEMU fw_cfg" },
	{ 0x0cf8, 0x0cff, "PCI configuration (no PCI bus)" },
};

const char *
legacy_port_name(uint16_t port)
{
	size_t i;

	for (i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++)
		if (port >= legacy[i].first && port <= legacy[i].last)
			return legacy[i].name;
	return NULL;
}
