/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The ISA (LPC) bridge at 1:0 ("-s 1:0,lpc"): an identity in config
 * space only.  The legacy devices behind it (com1...) are the VMM's own
 * (lpc.com1.path), not this file's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"

static const struct pci_devemu lpc_pci = { 0 };

static int
lpc_init(struct dev *d)
{
	struct pci_dev *pd;
	int rc;

	if ((pd = calloc(1, sizeof(*pd))) == NULL)
		return (-ENOMEM);
	/* Intel 82371SB PIIX3 ISA bridge, as bhyve's lpc shows. */
	rc = pci_dev_init(pd, d, &lpc_pci, 0x8086, 0x7000, 0x060100, 0,
	    0, 0);
	if (rc < 0) {
		free(pd);
		return (rc);
	}
	pci_set8(pd, PCIR_INTPIN, 0);
	pci_set8(pd, PCIR_INTLINE, 0);
	pci_cfg_set_wmask(pd, PCIR_INTLINE, 1, 0);
	memcpy(pd->cfg_init, pd->cfg, sizeof(pd->cfg));
	d->softc = pd;
	return (0);
}

static void
lpc_fini(struct dev *d)
{
	pci_dev_fini(d->softc);
	free(d->softc);
	d->softc = NULL;
}

static void
lpc_reset(struct dev *d)
{
	pci_dev_reset(d->softc);
}

static int
lpc_save(struct dev *d, ckp_io_t *io)
{
	return (pci_dev_save(d->softc, io));
}

static int
lpc_restore(struct dev *d, ckp_io_t *io)
{
	return (pci_dev_restore(d->softc, io));
}

static int
lpc_resume(struct dev *d)
{
	return (pci_dev_resume(d->softc));
}

const struct devemu pci_lpc_devemu = {
	.name = "lpc",
	.version = 1,
	.init = lpc_init,
	.reset = lpc_reset,
	.resume = lpc_resume,
	.save = lpc_save,
	.restore = lpc_restore,
	.fini = lpc_fini,
	.pci = &lpc_pci,
};
