/*
 * PCI through configuration mechanism #1 (ports 0xcf8/0xcfc), from CPL3.
 * The address/data pair is not atomic, so every access takes a lock.
 * BARs are used where the VMM or firmware put them; an unassigned one gets
 * an address from the 3-4 GiB hole.
 */
#include "guest.h"
#include "bootinfo.h"
#include "pci.h"

struct pci_dev pci_devs[PCI_MAX];
u32 npci;
static spinlock_t cfg_lock;
static bool scanned;
static char names[PCI_MAX][12];

static u32 cfg_addr(u8 bus, u8 dev, u8 fn, u32 off)
{
	return 0x80000000u | (u32)bus << 16 | (u32)dev << 11 | (u32)fn << 8 | (off & 0xfc);
}

static u32 raw_read32(u8 bus, u8 dev, u8 fn, u32 off)
{
	u32 v;

	spin_lock(&cfg_lock);
	outl(0xcf8, cfg_addr(bus, dev, fn, off));
	v = inl(0xcfc);
	spin_unlock(&cfg_lock);
	return v;
}

u32 pci_read32(const struct pci_dev *pd, u32 off)
{
	return raw_read32(pd->bus, pd->dev, pd->fn, off);
}

u16 pci_read16(const struct pci_dev *pd, u32 off)
{
	return pci_read32(pd, off) >> ((off & 2) * 8);
}

u8 pci_read8(const struct pci_dev *pd, u32 off)
{
	return pci_read32(pd, off) >> ((off & 3) * 8);
}

void pci_write32(const struct pci_dev *pd, u32 off, u32 v)
{
	spin_lock(&cfg_lock);
	outl(0xcf8, cfg_addr(pd->bus, pd->dev, pd->fn, off));
	outl(0xcfc, v);
	spin_unlock(&cfg_lock);
}

void pci_write16(const struct pci_dev *pd, u32 off, u16 v)
{
	spin_lock(&cfg_lock);
	outl(0xcf8, cfg_addr(pd->bus, pd->dev, pd->fn, off));
	outw(0xcfc + (off & 2), v);
	spin_unlock(&cfg_lock);
}

const char *pci_name(const struct pci_dev *pd)
{
	char *n = names[pd - pci_devs];

	snprintf(n, sizeof(names[0]), "%02x:%02x.%x", pd->bus, pd->dev, pd->fn);
	return n;
}

static void scan_bus(u8 bus, int depth)
{
	for (u8 dev = 0; dev < 32; dev++) {
		u8 nfn = 1;

		for (u8 fn = 0; fn < nfn; fn++) {
			u32 id = raw_read32(bus, dev, fn, 0);
			u32 hdr;
			struct pci_dev *pd;

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			hdr = raw_read32(bus, dev, fn, 0x0c) >> 16 & 0xff;
			if (fn == 0 && (hdr & 0x80))
				nfn = 8;
			if (npci < PCI_MAX) {
				pd = &pci_devs[npci++];
				pd->bus = bus;
				pd->dev = dev;
				pd->fn = fn;
				pd->vendor = id;
				pd->device = id >> 16;
				pd->class = raw_read32(bus, dev, fn, 0x08) >> 8;
			}
			/* PCI-PCI bridge: follow its secondary bus */
			if ((hdr & 0x7f) == 1 && depth < 8) {
				u8 sec = raw_read32(bus, dev, fn, 0x18) >> 8 & 0xff;

				if (sec > bus)
					scan_bus(sec, depth + 1);
			}
		}
	}
}

void pci_scan(void)
{
	if (scanned)
		return;
	scanned = true;
	/* no host bridge answering: no PCI (e.g. QEMU microvm) */
	scan_bus(0, 0);
}

struct pci_dev *pci_find(u16 vendor, u16 device, u32 nth)
{
	pci_scan();
	for (u32 i = 0; i < npci; i++)
		if (pci_devs[i].vendor == vendor && pci_devs[i].device == device && nth-- == 0)
			return &pci_devs[i];
	return NULL;
}

/* next free address for unassigned BARs: above every assigned one in the hole */
static u64 hole_next = 0xc0000000ULL;

static void bar_probe(struct pci_dev *pd)
{
	u16 cmd = pci_read16(pd, 0x04);

	/* no decoding while sizing */
	pci_write16(pd, 0x04, cmd & ~3);
	for (int i = 0; i < 6; i++) {
		u32 off = 0x10 + 4 * i;
		u32 lo = pci_read32(pd, off), szlo, hi = 0, szhi = 0xffffffff;
		u64 size, addr;

		pci_write32(pd, off, 0xffffffff);
		szlo = pci_read32(pd, off);
		pci_write32(pd, off, lo);
		if (!szlo || szlo == 0xffffffff)
			continue;
		if (lo & 1) {
			pd->bar_io[i] = true;
			size = (u16)~(szlo & ~3u) + 1;
			addr = lo & ~3u;
		} else {
			if (((lo >> 1) & 3) == 2 && i < 5) {
				hi = pci_read32(pd, off + 4);
				pci_write32(pd, off + 4, 0xffffffff);
				szhi = pci_read32(pd, off + 4);
				pci_write32(pd, off + 4, hi);
				pd->bar_64[i] = true;
			}
			size = ~(((u64)szhi << 32) | (szlo & ~0xfu)) + 1;
			addr = ((u64)hi << 32) | (lo & ~0xfu);
		}
		pd->bar[i] = addr;
		pd->bar_size[i] = size;
		if (!pd->bar_io[i] && addr >= 0xc0000000ULL && addr < 4 * GiB &&
		    addr + size > hole_next)
			hole_next = addr + size;
		if (pd->bar_64[i])
			i++;
	}
	pci_write16(pd, 0x04, cmd);
}

int pci_enable(struct pci_dev *pd)
{
	u16 cmd;

	if (pd->enabled)
		return 0;
	/* learn every assigned BAR of every device before placing any */
	for (u32 i = 0; i < npci; i++)
		if (!pci_devs[i].bar_size[0] && !pci_devs[i].bar_size[1] &&
		    !pci_devs[i].bar_size[2] && !pci_devs[i].bar_size[3] &&
		    !pci_devs[i].bar_size[4] && !pci_devs[i].bar_size[5] &&
		    (pci_devs[i].class >> 8) != 0x0600 && (pci_devs[i].class >> 8) != 0x0604)
			bar_probe(&pci_devs[i]);
	cmd = pci_read16(pd, 0x04);
	for (int i = 0; i < 6; i++) {
		u64 size = pd->bar_size[i];

		if (!size)
			continue;
		if (!pd->bar_io[i] && !pd->bar[i]) {
			u64 a = ALIGN_UP(hole_next, MAX(size, 4096));

			if (a + size > 0xfec00000ULL) {
				cprintf("PCI %s BAR %d: no room for %llu bytes in the hole",
				    pci_name(pd), i, (unsigned long long)size);
				return -1;
			}
			pci_write32(pd, 0x10 + 4 * i, (u32)a);
			if (pd->bar_64[i])
				pci_write32(pd, 0x14 + 4 * i, 0);
			pd->bar[i] = a;
			hole_next = a + size;
			if (verbose)
				cprintf("PCI %s BAR %d assigned %#llx", pci_name(pd), i,
				    (unsigned long long)a);
		}
		if (verbose)
			cprintf("PCI %s %04x:%04x BAR %d %s %#llx size %#llx", pci_name(pd), pd->vendor,
			    pd->device, i, pd->bar_io[i] ? "io" : pd->bar_64[i] ? "mem64" : "mem32",
			    (unsigned long long)pd->bar[i], (unsigned long long)size);
		if (!pd->bar_io[i] && map_mmio(pd->bar[i], size) < 0) {
			cprintf("PCI %s BAR %d at %#llx cannot be mapped", pci_name(pd), i,
			    (unsigned long long)pd->bar[i]);
			return -1;
		}
		if (pd->bar_64[i])
			i++;
	}
	pci_write16(pd, 0x04, cmd | 0x7);	/* I/O, memory, bus master */
	pd->enabled = true;
	return 0;
}

/*
 * The page tables are ordinary RAM inside the identity map (user-accessible
 * like all of it), so this runs at CPL3.  It only fills entries that were not
 * present, which needs no TLB flush.  Bootstrap vCPU, prepare time only.
 */
extern u64 pml4[512];

static u64 *table_next(u64 *t, u32 i)
{
	if (!(t[i] & 1)) {
		u64 *n = phys_alloc(4096, 4096);

		if (!n)
			return NULL;
		t[i] = (u64)n | 0x7;
	}
	if (t[i] & 0x80)
		return NULL;	/* already a large page */
	return (u64 *)(t[i] & 0x000ffffffffff000ULL);
}

int map_mmio(u64 addr, u64 size)
{
	u64 a = ALIGN_DOWN(addr, 2 * MiB), end = ALIGN_UP(addr + size, 2 * MiB);

	if (end <= mapped_top && end <= 4 * GiB)
		return 0;
	if (end > (1ULL << 46))
		return -1;
	for (; a < end; a += 2 * MiB) {
		u64 *pdpt, *pd;

		if (a < mapped_top)
			continue;
		pdpt = table_next(pml4, a >> 39 & 511);
		if (!pdpt)
			return -1;
		pd = table_next(pdpt, a >> 30 & 511);
		if (!pd)
			return -1;
		if (!(pd[a >> 21 & 511] & 1))
			pd[a >> 21 & 511] = a | 0x9f;	/* 2 MiB, user, PCD | PWT */
	}
	return 0;
}
