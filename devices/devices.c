/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Every device model hyve knows, in one explicit array (bhyve's
 * pci_devemu set, without linker sets).  Adding a model is one line here.
 */
#include <stddef.h>
#include <string.h>

#include "vmm.h"

extern const struct devemu devemu_pm;
extern const struct devemu devemu_rtc;
extern const struct devemu devemu_uart;
extern const struct devemu pci_hostbridge_devemu, pci_lpc_devemu, virtio_blk_devemu, virtio_net_devemu;

const struct devemu *const devemu_table[] = {
	&devemu_pm,
	&devemu_rtc,
	&devemu_uart,
	&pci_hostbridge_devemu, &pci_lpc_devemu, &virtio_blk_devemu, &virtio_net_devemu,
	NULL
};

const struct devemu *
devemu_find(const char *name)
{
	size_t i;

	for (i = 0; devemu_table[i] != NULL; i++)
		if (strcmp(devemu_table[i]->name, name) == 0)
			return devemu_table[i];
	return NULL;
}
