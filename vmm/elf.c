/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Loading a PVH kernel: an ELF executable (64- or 32-bit x86) whose
 * PT_NOTE segments hold a XEN_ELFNOTE_PHYS32_ENTRY note (name "Xen", type
 * 18) with the 32-bit entry point.  PT_LOAD segments go to their physical
 * addresses (p_paddr).  The whole file is checked before a byte of guest
 * memory is written; every message names the file and what is wrong.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_priv.h"

#define ELF_MAX_PHDRS		128
#define ELF_MAX_FILE		(1ULL << 31)
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct seg {
	unsigned idx;
	uint64_t off, filesz, memsz, paddr;
};


/* [off, off + len) inside a buffer of @size bytes, without overflow. */
static bool
in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static int
find_pvh_note(const uint8_t *buf, size_t size, const struct seg *note,
    bool is64, uint64_t *entry, bool *found, const char *name, char *err,
    size_t errlen)
{
	uint64_t pos = note->off, end = note->off + note->filesz;

	while (end - pos >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t nameoff, descoff, next;

		memcpy(&namesz, buf + pos, 4);
		memcpy(&descsz, buf + pos + 4, 4);
		memcpy(&type, buf + pos + 8, 4);
		nameoff = pos + 12;
		descoff = nameoff + (((uint64_t)namesz + 3) & ~3ULL);
		next = descoff + (((uint64_t)descsz + 3) & ~3ULL);
		if (descoff > end || next > end || descoff + descsz > end)
			return kernel_fail(err, errlen, name, "note in program header "
			    "%u runs past its segment (offset %#" PRIx64 ")",
			    note->idx, pos);
		if (namesz == 4 && memcmp(buf + nameoff, "Xen", 4) == 0 &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			if (descsz == 4) {
				uint32_t e32;
				memcpy(&e32, buf + descoff, 4);
				*entry = e32;
			} else if (descsz == 8) {
				memcpy(entry, buf + descoff, 8);
			} else {
				return kernel_fail(err, errlen, name, "PVH entry note "
				    "has a %u-byte address (4 or 8 expected)",
				    descsz);
			}
			*found = true;
		}
		pos = next;
	}
	(void)is64;
	(void)size;	/* the caller checked the segment against the file */
	return 0;
}

/*
 * Check the whole file; only then, and only with @write, copy its segments
 * into guest RAM.  *endp gets the end of the highest segment below 4 GiB.
 */
static int
elf_load(struct vm *vm, const void *file, size_t size, const char *name,
    bool write, uint64_t *entryp, uint64_t *endp, char *err, size_t errlen)
{
	const uint8_t *buf = file;
	struct seg load[ELF_MAX_PHDRS], notes[ELF_MAX_PHDRS];
	unsigned nload = 0, nnote = 0, i, j;
	uint64_t phoff, entry = 0, end = 0;
	unsigned phnum, phentsize;
	bool is64, found = false;
	int rc;

	if (size < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0)
		return kernel_fail(err, errlen, name, "not an ELF file");
	if (buf[EI_CLASS] != ELFCLASS64 && buf[EI_CLASS] != ELFCLASS32)
		return kernel_fail(err, errlen, name, "unknown ELF class %u",
		    buf[EI_CLASS]);
	is64 = buf[EI_CLASS] == ELFCLASS64;
	if (buf[EI_DATA] != ELFDATA2LSB)
		return kernel_fail(err, errlen, name, "not a little-endian ELF file");
	if (buf[EI_VERSION] != EV_CURRENT)
		return kernel_fail(err, errlen, name, "unknown ELF version %u",
		    buf[EI_VERSION]);
	if (is64) {
		Elf64_Ehdr eh;
		if (size < sizeof(eh))
			return kernel_fail(err, errlen, name, "truncated ELF header "
			    "(%zu bytes)", size);
		memcpy(&eh, buf, sizeof(eh));
		if (eh.e_machine != EM_X86_64)
			return kernel_fail(err, errlen, name, "64-bit ELF for machine "
			    "%u, not x86-64", eh.e_machine);
		if (eh.e_type != ET_EXEC)
			return kernel_fail(err, errlen, name, "ELF type %u is not an "
			    "executable (ET_EXEC)", eh.e_type);
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		if (phentsize != sizeof(Elf64_Phdr) && phnum != 0)
			return kernel_fail(err, errlen, name, "program header size %u "
			    "(expected %zu)", phentsize, sizeof(Elf64_Phdr));
	} else {
		Elf32_Ehdr eh;
		if (size < sizeof(eh))
			return kernel_fail(err, errlen, name, "truncated ELF header "
			    "(%zu bytes)", size);
		memcpy(&eh, buf, sizeof(eh));
		if (eh.e_machine != EM_386)
			return kernel_fail(err, errlen, name, "32-bit ELF for machine "
			    "%u, not i386", eh.e_machine);
		if (eh.e_type != ET_EXEC)
			return kernel_fail(err, errlen, name, "ELF type %u is not an "
			    "executable (ET_EXEC)", eh.e_type);
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		if (phentsize != sizeof(Elf32_Phdr) && phnum != 0)
			return kernel_fail(err, errlen, name, "program header size %u "
			    "(expected %zu)", phentsize, sizeof(Elf32_Phdr));
	}
	if (phnum == 0)
		return kernel_fail(err, errlen, name, "no program headers");
	if (phnum > ELF_MAX_PHDRS)
		return kernel_fail(err, errlen, name, "%u program headers (at most "
		    "%d)", phnum, ELF_MAX_PHDRS);
	if (!in_file(phoff, (uint64_t)phnum * phentsize, size))
		return kernel_fail(err, errlen, name, "program headers at offset %#"
		    PRIx64 " run past the end of the file (%zu bytes)", phoff,
		    size);

	for (i = 0; i < phnum; i++) {
		struct seg s = { .idx = i };
		uint32_t type;

		if (is64) {
			Elf64_Phdr ph;
			memcpy(&ph, buf + phoff + (uint64_t)i * phentsize,
			    sizeof(ph));
			type = ph.p_type;
			s.off = ph.p_offset;
			s.filesz = ph.p_filesz;
			s.memsz = ph.p_memsz;
			s.paddr = ph.p_paddr;
		} else {
			Elf32_Phdr ph;
			memcpy(&ph, buf + phoff + (uint64_t)i * phentsize,
			    sizeof(ph));
			type = ph.p_type;
			s.off = ph.p_offset;
			s.filesz = ph.p_filesz;
			s.memsz = ph.p_memsz;
			s.paddr = ph.p_paddr;
		}
		if (type != PT_LOAD && type != PT_NOTE)
			continue;
		if (!in_file(s.off, s.filesz, size))
			return kernel_fail(err, errlen, name, "program header %u: "
			    "%#" PRIx64 " bytes at offset %#" PRIx64 " run past "
			    "the end of the file (%zu bytes)", i, s.filesz,
			    s.off, size);
		if (type == PT_NOTE) {
			notes[nnote++] = s;
			continue;
		}
		if (s.memsz == 0)
			continue;
		if (s.filesz > s.memsz)
			return kernel_fail(err, errlen, name, "segment %u: file size "
			    "%#" PRIx64 " exceeds memory size %#" PRIx64, i,
			    s.filesz, s.memsz);
		if (s.paddr + s.memsz < s.paddr ||
		    vm_gpa_ptr(vm, s.paddr, s.memsz) == NULL)
			return kernel_fail(err, errlen, name, "segment %u "
			    "[%#" PRIx64 ", %#" PRIx64 ") is not inside guest "
			    "RAM (%" PRIu64 " MiB; low RAM ends at %#" PRIx64
			    ")", i, s.paddr, s.paddr + s.memsz,
			    vm->mem_size >> 20, vm->mem[0].size);
		if (s.paddr < BOOT_AREA_END &&
		    s.paddr + s.memsz > BOOT_AREA_BASE)
			return kernel_fail(err, errlen, name, "segment %u "
			    "[%#" PRIx64 ", %#" PRIx64 ") overlaps hyve's boot "
			    "data [%#llx, %#llx)", i, s.paddr,
			    s.paddr + s.memsz, BOOT_AREA_BASE, BOOT_AREA_END);
		for (j = 0; j < nload; j++)
			if (s.paddr < load[j].paddr + load[j].memsz &&
			    load[j].paddr < s.paddr + s.memsz)
				return kernel_fail(err, errlen, name, "segments %u and "
				    "%u overlap in memory", load[j].idx, i);
		load[nload++] = s;
	}
	if (nload == 0)
		return kernel_fail(err, errlen, name, "no loadable segment");
	for (i = 0; i < nnote; i++)
		if ((rc = find_pvh_note(buf, size, &notes[i], is64, &entry,
		    &found, name, err, errlen)) != 0)
			return rc;
	if (!found)
		return kernel_fail(err, errlen, name, "no PVH entry note "
		    "(XEN_ELFNOTE_PHYS32_ENTRY): not a PVH kernel");
	for (i = 0; i < nload; i++)
		if (entry >= load[i].paddr &&
		    entry < load[i].paddr + load[i].filesz)
			break;
	if (i == nload || entry > 0xffffffffULL)
		return kernel_fail(err, errlen, name, "PVH entry %#" PRIx64 " is not "
		    "inside a loaded segment below 4 GiB", entry);

	for (i = 0; i < nload; i++)
		if (load[i].paddr < 0x100000000ULL &&
		    load[i].paddr + load[i].memsz > end)
			end = load[i].paddr + load[i].memsz;
	*entryp = entry;
	*endp = end;
	if (!write)
		return 0;
	/* Checked: now write guest memory. */
	for (i = 0; i < nload; i++) {
		uint8_t *dst = vm_gpa_ptr(vm, load[i].paddr, load[i].memsz);
		memcpy(dst, buf + load[i].off, load[i].filesz);
		memset(dst + load[i].filesz, 0, load[i].memsz - load[i].filesz);
	}
	return 0;
}

int
pvh_check_elf_buf(struct vm *vm, const void *buf, size_t size,
    const char *name, uint64_t *entry, uint64_t *end, char *err,
    size_t errlen)
{
	return elf_load(vm, buf, size, name, false, entry, end, err, errlen);
}

int
pvh_load_elf_buf(struct vm *vm, const void *buf, size_t size,
    const char *name, uint64_t *entry, char *err, size_t errlen)
{
	uint64_t end;

	return elf_load(vm, buf, size, name, true, entry, &end, err, errlen);
}

int
pvh_load_elf(struct vm *vm, const char *path, uint64_t *entry, char *err,
    size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if ((rc = boot_read_file("kernel", path, ELF_MAX_FILE, &buf, &len, err,
	    errlen)) != 0)
		return rc;
	rc = pvh_load_elf_buf(vm, buf, len, path, entry, err, errlen);
	free(buf);
	return rc;
}
