#ifndef GUEST_PCI_H
#define GUEST_PCI_H
#include "guest.h"

#define PCI_MAX		64

struct pci_dev {
	u8 bus, dev, fn;
	u16 vendor, device;
	u32 class;		/* class << 16 | subclass << 8 | prog-if */
	u64 bar[6];		/* address (64-bit BARs: in the lower index) */
	u64 bar_size[6];
	bool bar_io[6];
	bool bar_64[6];
	bool enabled;
};

extern struct pci_dev pci_devs[PCI_MAX];
extern u32 npci;

void pci_scan(void);
struct pci_dev *pci_find(u16 vendor, u16 device, u32 nth);
int pci_enable(struct pci_dev *pd);
u32 pci_read32(const struct pci_dev *pd, u32 off);
u16 pci_read16(const struct pci_dev *pd, u32 off);
u8 pci_read8(const struct pci_dev *pd, u32 off);
void pci_write32(const struct pci_dev *pd, u32 off, u32 v);
void pci_write16(const struct pci_dev *pd, u32 off, u16 v);
const char *pci_name(const struct pci_dev *pd);	/* "bb:dd.f", static buffer per device */

/* identity-map [addr, addr+size) uncached if the boot map does not cover it */
int map_mmio(u64 addr, u64 size);

#endif
