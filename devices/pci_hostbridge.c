/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The host bridge at 0:0 ("-s 0:0,hostbridge"): an identity in config
 * space, nothing behind it.  Guests look for it before they scan the bus.
 */
#include "pci.h"

static const struct pci_devemu hostbridge_pci = { 0 };

static int
hostbridge_init(struct dev *d)
{
	/* The vendor and device bhyve's host bridge uses. */
	return (pci_ident_init(d, &hostbridge_pci, 0x1275, 0x1275, 0x060000));
}

const struct devemu pci_hostbridge_devemu = {
	.name = "hostbridge",
	.version = 1,
	.init = hostbridge_init,
	.reset = pci_ident_reset,
	.resume = pci_ident_resume,
	.save = pci_ident_save,
	.restore = pci_ident_restore,
	.fini = pci_ident_fini,
	.pci = &hostbridge_pci,
};
