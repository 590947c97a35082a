/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The PVH boot protocol (Xen's arch-x86/hvm/start_info.h, as Linux,
 * QEMU, Firecracker and Cloud Hypervisor use it): hvm_start_info version 1
 * with the command line, the RSDP address and an E820-style memory map,
 * EBX pointing at it, the BSP in 32-bit flat protected mode at the ELF
 * note's entry.  docs/BOOT.md has the map.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vm_priv.h"

#define HVM_START_MAGIC		0x336ec578
#define E820_RAM		1
#define E820_RESERVED		2

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

_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info v1 size");

int
pvh_write_start_info(struct vm *vm, const char *cmdline, uint64_t rsdp,
    char *err, size_t errlen)
{
	struct hvm_memmap_table_entry map[6];
	struct hvm_start_info si;
	size_t len = strlen(cmdline), n = 0;
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
	map[n++] = (struct hvm_memmap_table_entry){ 0, 0xa0000, E820_RAM, 0 };
	map[n++] = (struct hvm_memmap_table_entry){ BOOT_AREA_BASE,
	    BOOT_AREA_END - BOOT_AREA_BASE, E820_RESERVED, 0 };
	if (low > BOOT_AREA_END)
		map[n++] = (struct hvm_memmap_table_entry){ BOOT_AREA_END,
		    low - BOOT_AREA_END, E820_RAM, 0 };
	if (vm->nmem > 1)
		map[n++] = (struct hvm_memmap_table_entry){ vm->mem[1].gpa,
		    vm->mem[1].size, E820_RAM, 0 };

	si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = BOOT_CMDLINE,
		.rsdp_paddr = rsdp,
		.memmap_paddr = BOOT_MEMMAP,
		.memmap_entries = (uint32_t)n,
	};
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

int
vm_boot_setup(struct vm *vm)
{
	const char *kernel = cfg_get(vm->cfg, "boot.kernel");
	const char *append = cfg_get(vm->cfg, "boot.append");
	char err[512];
	uint64_t rsdp, entry;
	int rc;

	if (kernel == NULL || *kernel == '\0') {
		vm_log(vm, "no kernel: give --kernel GUEST.elf (boot.kernel)");
		return -EINVAL;
	}
	if ((rc = pvh_load_elf(vm, kernel, &entry, err, sizeof(err))) != 0 ||
	    (rc = acpi_build(vm, &rsdp, err, sizeof(err))) != 0 ||
	    (rc = pvh_write_start_info(vm, append != NULL ? append : "", rsdp,
	    err, sizeof(err))) != 0) {
		vm_log(vm, "%s", err);
		return -EINVAL;
	}
	vm->entry = entry;
	vm->start_info = BOOT_START_INFO;
	if (vm->test)
		return 0;
	if (vcpu_setup_pvh(&vm->vcpus[0], (uint32_t)entry,
	    (uint32_t)BOOT_START_INFO) != 0)
		return -EIO;
	return 0;
}
