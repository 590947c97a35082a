/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The host bridge at 0:0 ("-s 0:0,hostbridge"): an identity in config
 * space, nothing behind it.  Guests look for it before they scan the bus.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"

static const struct pci_devemu hostbridge_pci = { 0 };

static int
hostbridge_init(struct dev *d)
{
	struct pci_dev *pd;
	int rc;

	if ((pd = calloc(1, sizeof(*pd))) == NULL)
		return (-ENOMEM);
	/* The vendor and device bhyve's host bridge uses. */
	rc = pci_dev_init(pd, d, &hostbridge_pci, 0x1275, 0x1275, 0x060000, 0,
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
hostbridge_fini(struct dev *d)
{
	pci_dev_fini(d->softc);
	free(d->softc);
	d->softc = NULL;
}

static void
hostbridge_reset(struct dev *d)
{
	pci_dev_reset(d->softc);
}

static int
hostbridge_save(struct dev *d, ckp_io_t *io)
{
	return (pci_dev_save(d->softc, io));
}

static int
hostbridge_restore(struct dev *d, ckp_io_t *io)
{
	return (pci_dev_restore(d->softc, io));
}

static int
hostbridge_resume(struct dev *d)
{
	return (pci_dev_resume(d->softc));
}

const struct devemu pci_hostbridge_devemu = {
	.name = "hostbridge",
	.version = 1,
	.init = hostbridge_init,
	.reset = hostbridge_reset,
	.resume = hostbridge_resume,
	.save = hostbridge_save,
	.restore = hostbridge_restore,
	.fini = hostbridge_fini,
	.pci = &hostbridge_pci,
};
