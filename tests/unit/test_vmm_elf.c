/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The PVH ELF loader on crafted files: a good 64- and 32-bit kernel loads
 * where it says; every broken one is refused with a message naming the
 * problem, and guest memory is left untouched.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm_priv.h"

#include "test_check.h"

#define LOAD_ADDR	0x100000ULL
#define CODE_OFF	0x200
#define CODE_LEN	0x40
#define BSS_LEN		0x1000
#define NOTE_OFF	0x100

struct img {
	uint8_t b[0x400];
	size_t len;
};

static void
put_note(uint8_t *p, uint32_t descsz, uint64_t entry)
{
	uint32_t namesz = 4, type = 18;

	memcpy(p, &namesz, 4);
	memcpy(p + 4, &descsz, 4);
	memcpy(p + 8, &type, 4);
	memcpy(p + 12, "Xen", 4);
	memcpy(p + 16, &entry, descsz == 8 ? 8 : 4);
}

/* A valid ELF64: PT_LOAD (code + bss) at 1 MiB, PT_NOTE with the entry. */
static void
good64(struct img *im)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)im->b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(im->b + sizeof(*eh));

	memset(im, 0, sizeof(*im));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	eh->e_ehsize = sizeof(*eh);
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = CODE_OFF,
	    .p_vaddr = 0xffffffff80000000ULL, .p_paddr = LOAD_ADDR,
	    .p_filesz = CODE_LEN, .p_memsz = CODE_LEN + BSS_LEN,
	    .p_flags = PF_R | PF_X, .p_align = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
	    .p_filesz = 24, .p_align = 4 };
	put_note(im->b + NOTE_OFF, 8, LOAD_ADDR + 0x10);
	memset(im->b + CODE_OFF, 0xcc, CODE_LEN);
	im->len = CODE_OFF + CODE_LEN;
}

static void
good32(struct img *im)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)im->b;
	Elf32_Phdr *ph = (Elf32_Phdr *)(im->b + sizeof(*eh));

	memset(im, 0, sizeof(*im));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = CODE_OFF,
	    .p_paddr = LOAD_ADDR, .p_filesz = CODE_LEN, .p_memsz = CODE_LEN };
	ph[1] = (Elf32_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
	    .p_filesz = 20 };
	put_note(im->b + NOTE_OFF, 4, LOAD_ADDR + 4);
	memset(im->b + CODE_OFF, 0x90, CODE_LEN);
	im->len = CODE_OFF + CODE_LEN;
}

static Elf64_Ehdr *
eh64(struct img *im)
{
	return (Elf64_Ehdr *)im->b;
}

static Elf64_Phdr *
ph64(struct img *im, int i)
{
	return (Elf64_Phdr *)(im->b + sizeof(Elf64_Ehdr)) + i;
}

static struct vm *vm;

static void
clear_ram(void)
{
	memset(vm_gpa_ptr(vm, 0, 4 << 20), 0x5a, 4 << 20);
}

static bool
ram_untouched(void)
{
	uint8_t *p = vm_gpa_ptr(vm, 0, 4 << 20);
	size_t i;

	for (i = 0; i < (4 << 20); i++)
		if (p[i] != 0x5a)
			return false;
	return true;
}

static void
expect_bad(struct img *im, const char *want)
{
	char err[512] = "";
	uint64_t entry = 0;
	int rc;

	clear_ram();
	rc = pvh_load_elf_buf(vm, im->b, im->len, "k.elf", &entry, err,
	    sizeof(err));
	if (rc != -EINVAL || strstr(err, want) == NULL ||
	    strncmp(err, "kernel k.elf: ", 14) != 0) {
		fprintf(stderr, "expected failure '%s', got rc %d '%s'\n",
		    want, rc, err);
		failures++;
	}
	CHECK(ram_untouched());
}

static void
test_good(void)
{
	struct img im;
	char err[256] = "";
	uint64_t entry = 0;
	uint8_t *p;

	good64(&im);
	clear_ram();
	CHECK(pvh_load_elf_buf(vm, im.b, im.len, "k.elf", &entry, err,
	    sizeof(err)) == 0);
	CHECK(entry == LOAD_ADDR + 0x10);
	p = vm_gpa_ptr(vm, LOAD_ADDR, CODE_LEN + BSS_LEN + 1);
	CHECK(p[0] == 0xcc && p[CODE_LEN - 1] == 0xcc);
	CHECK(p[CODE_LEN] == 0 && p[CODE_LEN + BSS_LEN - 1] == 0);	/* bss */
	CHECK(p[CODE_LEN + BSS_LEN] == 0x5a);	/* nothing beyond */
	CHECK(p[-1] == 0x5a);

	/* the same through a file */
	{
		char path[] = "/tmp/hyve-test-elf-XXXXXX";
		int fd = mkstemp(path);
		CHECK(fd >= 0 && write(fd, im.b, im.len) == (ssize_t)im.len);
		close(fd);
		entry = 0;
		CHECK(pvh_load_elf(vm, path, &entry, err, sizeof(err)) == 0);
		CHECK(entry == LOAD_ADDR + 0x10);
		truncate(path, 100);
		CHECK(pvh_load_elf(vm, path, &entry, err, sizeof(err)) ==
		    -EINVAL);
		CHECK(strstr(err, path) != NULL);
		unlink(path);
		CHECK(pvh_load_elf(vm, path, &entry, err, sizeof(err)) ==
		    -EINVAL);
		CHECK(strstr(err, "No such file") != NULL);
		CHECK(pvh_load_elf(vm, "/", &entry, err, sizeof(err)) ==
		    -EINVAL);
		CHECK(strstr(err, "not a regular file") != NULL);
	}

	good32(&im);
	clear_ram();
	CHECK(pvh_load_elf_buf(vm, im.b, im.len, "k32.elf", &entry, err,
	    sizeof(err)) == 0);
	CHECK(entry == LOAD_ADDR + 4);
	CHECK(*(uint8_t *)vm_gpa_ptr(vm, LOAD_ADDR, 1) == 0x90);
}

static void
test_bad(void)
{
	struct img im;

	good64(&im);
	im.len = 10;
	expect_bad(&im, "not an ELF file");
	good64(&im);
	im.len = 40;
	expect_bad(&im, "truncated ELF header");
	good64(&im);
	im.b[0] = 0;
	expect_bad(&im, "not an ELF file");
	good64(&im);
	im.b[EI_CLASS] = 7;
	expect_bad(&im, "unknown ELF class 7");
	good64(&im);
	im.b[EI_DATA] = ELFDATA2MSB;
	expect_bad(&im, "not a little-endian");
	good64(&im);
	eh64(&im)->e_machine = EM_AARCH64;
	expect_bad(&im, "not x86-64");
	good32(&im);
	((Elf32_Ehdr *)im.b)->e_machine = EM_X86_64;
	expect_bad(&im, "not i386");
	good64(&im);
	eh64(&im)->e_type = ET_DYN;
	expect_bad(&im, "not an executable");
	good64(&im);
	eh64(&im)->e_phentsize = 40;
	expect_bad(&im, "program header size 40");
	good64(&im);
	eh64(&im)->e_phnum = 0;
	expect_bad(&im, "no program headers");
	good64(&im);
	eh64(&im)->e_phnum = 1000;
	expect_bad(&im, "1000 program headers");
	good64(&im);
	eh64(&im)->e_phoff = im.len - 10;
	expect_bad(&im, "program headers at offset");
	good64(&im);
	eh64(&im)->e_phoff = ~0ULL - 8;
	expect_bad(&im, "run past the end of the file");

	/* segments */
	good64(&im);
	ph64(&im, 0)->p_offset = im.len - 8;
	expect_bad(&im, "program header 0: 0x40 bytes at offset");
	good64(&im);
	ph64(&im, 0)->p_offset = ~0ULL;
	expect_bad(&im, "run past the end of the file");
	good64(&im);
	ph64(&im, 0)->p_filesz = ~0ULL;
	expect_bad(&im, "run past the end");
	good64(&im);
	ph64(&im, 0)->p_memsz = 8;
	expect_bad(&im, "file size 0x40 exceeds memory size 0x8");
	good64(&im);
	ph64(&im, 0)->p_paddr = (64 << 20) - 0x10;
	expect_bad(&im, "is not inside guest RAM");
	good64(&im);
	ph64(&im, 0)->p_paddr = ~0ULL - 0x10;
	expect_bad(&im, "is not inside guest RAM");
	good64(&im);
	ph64(&im, 0)->p_memsz = ~0ULL;
	expect_bad(&im, "is not inside guest RAM");
	good64(&im);
	ph64(&im, 0)->p_paddr = 0xf0000;
	expect_bad(&im, "overlaps hyve's boot data");
	good64(&im);
	ph64(&im, 0)->p_paddr = 0xd0000;
	ph64(&im, 0)->p_memsz = 0x20000;
	expect_bad(&im, "overlaps hyve's boot data");
	/* two segments overlapping in memory */
	good64(&im);
	eh64(&im)->e_phnum = 3;
	*ph64(&im, 2) = *ph64(&im, 0);
	ph64(&im, 2)->p_paddr = LOAD_ADDR + CODE_LEN + 0x10;
	expect_bad(&im, "segments 0 and 2 overlap in memory");
	/* only a note */
	good64(&im);
	ph64(&im, 0)->p_type = PT_NULL;
	expect_bad(&im, "no loadable segment");

	/* the PVH note */
	good64(&im);
	ph64(&im, 1)->p_type = PT_NULL;
	expect_bad(&im, "no PVH entry note");
	good64(&im);
	memcpy(im.b + NOTE_OFF + 12, "Lin", 4);
	expect_bad(&im, "no PVH entry note");
	good64(&im);
	im.b[NOTE_OFF + 8] = 17;	/* another Xen note type */
	expect_bad(&im, "no PVH entry note");
	good64(&im);
	put_note(im.b + NOTE_OFF, 2, 0);
	expect_bad(&im, "has a 2-byte address");
	good64(&im);
	ph64(&im, 1)->p_filesz = 20;	/* descriptor cut short */
	expect_bad(&im, "runs past its segment");
	good64(&im);
	{
		uint32_t big = 0xfffffff0;
		memcpy(im.b + NOTE_OFF, &big, 4);	/* namesz */
		expect_bad(&im, "runs past its segment");
	}
	good64(&im);
	put_note(im.b + NOTE_OFF, 8, 0x2000000);	/* not in a segment */
	expect_bad(&im, "PVH entry 0x2000000 is not inside a loaded segment");
	good64(&im);
	put_note(im.b + NOTE_OFF, 8, LOAD_ADDR + CODE_LEN + 8);	/* in bss */
	expect_bad(&im, "is not inside a loaded segment");
	good64(&im);
	put_note(im.b + NOTE_OFF, 8, 0x100000000ULL + LOAD_ADDR);
	expect_bad(&im, "is not inside a loaded segment below 4 GiB");
}

/* Every truncation of a good file fails cleanly. */
static void
test_truncations(void)
{
	struct img im;
	char err[256];
	uint64_t entry;
	size_t len;

	good64(&im);
	for (len = 0; len < im.len; len++) {
		int rc = pvh_load_elf_buf(vm, im.b, len, "t", &entry, err,
		    sizeof(err));
		CHECK(rc == -EINVAL);
	}
}

int
main(void)
{
	vm = vm_new_for_test(64 << 20);
	if (vm == NULL) {
		fprintf(stderr, "vm_new_for_test failed\n");
		return 1;
	}
	test_good();
	test_bad();
	test_truncations();
	vm_free(vm);
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_elf: ok\n");
	return 0;
}
