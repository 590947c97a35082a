/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The PVH boot protocol (Xen's arch-x86/hvm/start_info.h, as Linux,
 * QEMU, Firecracker and Cloud Hypervisor use it): hvm_start_info version 1
 * with the command line, the RSDP address, an E820-style memory map and,
 * with an initrd, one module; EBX pointing at it, the BSP in 32-bit flat
 * protected mode at the ELF note's entry.  docs/BOOT.md has the map.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vm_priv.h"

#define HVM_START_MAGIC		0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
} __attribute__((packed));

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
} __attribute__((packed));

/* The first module is the initrd (Linux takes no other). */
struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info v1 size");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist entry size");
_Static_assert(BOOT_MEMMAP + BOOT_E820_MAX *
    sizeof(struct hvm_memmap_table_entry) <= BOOT_MODLIST, "memmap room");

int
pvh_write_start_info(struct vm *vm, const char *cmdline, uint64_t rsdp,
    char *err, size_t errlen)
{
	return pvh_write_start_info_initrd(vm, cmdline, rsdp, 0, 0, err,
	    errlen);
}

int
pvh_write_start_info_initrd(struct vm *vm, const char *cmdline,
    uint64_t rsdp, uint64_t initrd, uint64_t initrd_size, char *err,
    size_t errlen)
{
	struct hvm_memmap_table_entry map[BOOT_E820_MAX];
	struct boot_e820 e820[BOOT_E820_MAX];
	struct hvm_modlist_entry mod;
	struct hvm_start_info si;
	size_t len = strlen(cmdline), n, i;
	uint64_t low = vm->mem[0].size;
	void *p;

	if (len + 1 > BOOT_CMDLINE_MAX) {
		snprintf(err, errlen, "boot.append: command line of %zu bytes "
		    "is too long (at most %d)", len, BOOT_CMDLINE_MAX - 1);
		return -EINVAL;
	}
	if (low < BOOT_AREA_END) {
		snprintf(err, errlen, "memory.size: too small for the boot "
		    "data at %#llx", BOOT_AREA_BASE);
		return -EINVAL;
	}
	n = boot_e820_map(vm, e820);
	for (i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_table_entry){ e820[i].addr,
		    e820[i].size, e820[i].type, 0 };

	si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = BOOT_CMDLINE,
		.rsdp_paddr = rsdp,
		.memmap_paddr = BOOT_MEMMAP,
		.memmap_entries = (uint32_t)n,
	};
	if (initrd_size != 0) {
		si.nr_modules = 1;
		si.modlist_paddr = BOOT_MODLIST;
		/* No module command line: Linux ignores it. */
		mod = (struct hvm_modlist_entry){ .paddr = initrd,
		    .size = initrd_size };
		if ((p = vm_gpa_ptr(vm, BOOT_MODLIST, sizeof(mod))) == NULL)
			return -EINVAL;
		memcpy(p, &mod, sizeof(mod));
	}
	if ((p = vm_gpa_ptr(vm, BOOT_START_INFO, sizeof(si))) == NULL)
		return -EINVAL;
	memcpy(p, &si, sizeof(si));
	if ((p = vm_gpa_ptr(vm, BOOT_MEMMAP, n * sizeof(map[0]))) == NULL)
		return -EINVAL;
	memcpy(p, map, n * sizeof(map[0]));
	if ((p = vm_gpa_ptr(vm, BOOT_CMDLINE, BOOT_CMDLINE_MAX)) == NULL)
		return -EINVAL;
	memset(p, 0, BOOT_CMDLINE_MAX);
	memcpy(p, cmdline, len);
	return 0;
}
