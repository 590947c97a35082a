/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The ISA (LPC) bridge at 1:0 ("-s 1:0,lpc"): an identity in config
 * space only.  The legacy devices behind it (com1...) are the VMM's own
 * (lpc.com1.path), not this file's.
 */
#include "pci.h"

static const struct pci_devemu lpc_pci = { 0 };

static int
lpc_init(struct dev *d)
{
	/* Intel 82371SB PIIX3 ISA bridge, as bhyve's lpc shows. */
	return (pci_ident_init(d, &lpc_pci, 0x8086, 0x7000, 0x060100));
}

const struct devemu pci_lpc_devemu = {
	.name = "lpc",
	.version = 1,
	.init = lpc_init,
	.reset = pci_ident_reset,
	.resume = pci_ident_resume,
	.save = pci_ident_save,
	.restore = pci_ident_restore,
	.fini = pci_ident_fini,
	.pci = &lpc_pci,
};
