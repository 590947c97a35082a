/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Booting a kernel: read the kernel and the initrd, tell a PVH ELF from a
 * Linux bzImage by their content, check both and the command line against
 * guest RAM and place them (boot_plan: nothing written), then write the
 * kernel, the initrd and the boot data of the kernel's protocol
 * (boot_write) and set the BSP's registers.  docs/BOOT.md has the map.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm_priv.h"

#define E820_RAM		1
#define E820_RESERVED		2
#define PAGE_SIZE		4096ULL
/* A kernel file is read whole into memory; no kernel comes near this. */
#define KERNEL_MAX_FILE		(1ULL << 31)

static int
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * RAM below the legacy hole, hyve's boot area reserved (ACPI tables and
 * boot data), RAM from 1 MiB to the end of low RAM, and high RAM.  The
 * hole [0xA0000, 0xE0000) is in no entry, as on a PC.
 */
unsigned
boot_e820_map(const struct vm *vm, struct boot_e820 *map)
{
	uint64_t low = vm->mem[0].size;
	unsigned n = 0;

	map[n++] = (struct boot_e820){ 0, 0xa0000, E820_RAM };
	map[n++] = (struct boot_e820){ BOOT_AREA_BASE,
	    BOOT_AREA_END - BOOT_AREA_BASE, E820_RESERVED };
	if (low > BOOT_AREA_END)
		map[n++] = (struct boot_e820){ BOOT_AREA_END,
		    low - BOOT_AREA_END, E820_RAM };
	if (vm->nmem > 1)
		map[n++] = (struct boot_e820){ vm->mem[1].gpa,
		    vm->mem[1].size, E820_RAM };
	return n;
}

/*
 * Open @path as a regular file: the descriptor and its size.  Every
 * message starts with "@what @path: ".
 */
static int
open_regular(const char *what, const char *path, int *fdp, uint64_t *sizep,
    char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return seterr(err, errlen, "%s %s: %s", what, path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return seterr(err, errlen, "%s %s: not a regular file", what,
		    path);
	}
	if (st.st_size == 0) {
		close(fd);
		return seterr(err, errlen, "%s %s: empty file", what, path);
	}
	*fdp = fd;
	*sizep = (uint64_t)st.st_size;
	return 0;
}

/* Exactly @len bytes from @fd; a file that shrank is an error. */
static int
read_all(int fd, void *buf, uint64_t len, const char *what, const char *path,
    char *err, size_t errlen)
{
	uint64_t got = 0;

	while (got < len) {
		size_t chunk = len - got > (1U << 30) ? (1U << 30) :
		    (size_t)(len - got);
		ssize_t n = read(fd, (uint8_t *)buf + got, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return seterr(err, errlen, "%s %s: read: %s", what, path,
			    strerror(errno));
		if (n == 0)
			return seterr(err, errlen, "%s %s: the file shrank "
			    "while hyve read it (%" PRIu64 " of %" PRIu64
			    " bytes)", what, path, got, len);
		got += (uint64_t)n;
	}
	return 0;
}

int
boot_read_file(const char *what, const char *path, uint64_t max,
    uint8_t **bufp, size_t *lenp, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	uint64_t size;
	int fd, rc;

	if ((rc = open_regular(what, path, &fd, &size, err, errlen)) != 0)
		return rc;
	if (size > max) {
		rc = seterr(err, errlen, "%s %s: too large (%" PRIu64 " bytes; "
		    "at most %" PRIu64 ")", what, path, size, max);
		goto out;
	}
	if ((buf = malloc((size_t)size)) == NULL) {
		rc = seterr(err, errlen, "%s %s: out of memory", what, path);
		goto out;
	}
	if ((rc = read_all(fd, buf, size, what, path, err, errlen)) != 0)
		goto out;
	*bufp = buf;
	*lenp = (size_t)size;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

static bool
is_elf(const uint8_t *k, size_t klen)
{
	return klen >= 4 && memcmp(k, "\177ELF", 4) == 0;
}

static bool
is_bzimage(const uint8_t *k, size_t klen)
{
	return klen >= 0x206 && memcmp(k + 0x202, "HdrS", 4) == 0;
}

/*
 * The initrd goes as high as it can in low RAM (below @top), page-aligned,
 * as Linux's boot protocol asks: above the kernel and hyve's boot area, so
 * nothing hyve writes and nothing the kernel needs before it reads its
 * memory map is under it.
 */
static int
place_initrd(struct vm *vm, struct boot_plan *p, uint64_t size, uint64_t top,
    const char *iname, char *err, size_t errlen)
{
	uint64_t floor = p->kernel_end > BOOT_AREA_END ? p->kernel_end :
	    BOOT_AREA_END;
	const char *why = "the end of low RAM";
	uint64_t addr;

	if (top < vm->mem[0].size)
		why = "the kernel's initrd_addr_max";
	else
		top = vm->mem[0].size;
	top &= ~(PAGE_SIZE - 1);
	if (size > top || ((top - size) & ~(PAGE_SIZE - 1)) < floor)
		return seterr(err, errlen, "initrd %s: %" PRIu64 " bytes (%"
		    PRIu64 " MiB) do not fit in guest RAM between the end of "
		    "the kernel and hyve's boot data (%#" PRIx64 ") and %s (%#"
		    PRIx64 "), with %" PRIu64 " MiB of guest RAM: give the "
		    "guest more memory", iname, size, (size >> 20) +
		    ((size & 0xfffff) != 0), floor, why, top,
		    vm->mem_size >> 20);
	addr = (top - size) & ~(PAGE_SIZE - 1);
	p->initrd_addr = addr;
	p->initrd_size = size;
	return 0;
}

int
boot_plan(struct vm *vm, const void *kernel, size_t klen, const char *kname,
    uint64_t initrd_size, const char *iname, const char *cmdline,
    struct boot_plan *p, char *err, size_t errlen)
{
	size_t len = strlen(cmdline);
	uint64_t top;
	int rc;

	memset(p, 0, sizeof(*p));
	if (vm->mem[0].size < BOOT_AREA_END)
		return seterr(err, errlen, "memory.size: too small for the "
		    "boot data at %#llx", BOOT_AREA_BASE);
	if (len + 1 > BOOT_CMDLINE_MAX)
		return seterr(err, errlen, "boot.append: command line of %zu "
		    "bytes is too long (at most %d)", len, BOOT_CMDLINE_MAX - 1);
	if (klen == 0)
		return seterr(err, errlen, "kernel %s: empty file", kname);
	if (is_elf(kernel, klen)) {
		p->kind = BOOT_PVH;
		p->params = BOOT_START_INFO;
		if ((rc = pvh_check_elf_buf(vm, kernel, klen, kname, &p->entry,
		    &p->kernel_end, err, errlen)) != 0)
			return rc;
		/* hvm_modlist_entry has 64 bits, but Linux takes 32. */
		top = 0x100000000ULL;
	} else if (is_bzimage(kernel, klen)) {
		p->kind = BOOT_BZIMAGE;
		p->params = BOOT_PARAMS;
		if ((rc = bzimage_parse(vm, kernel, klen, kname, &p->bz, err,
		    errlen)) != 0)
			return rc;
		p->entry = p->bz.load + 0x200;
		p->kernel_end = p->bz.run_end > p->bz.load + p->bz.pm_size ?
		    p->bz.run_end : p->bz.load + p->bz.pm_size;
		if (len > p->bz.cmdline_size)
			return seterr(err, errlen, "boot.append: command line "
			    "of %zu bytes is too long for kernel %s (its "
			    "cmdline_size is %" PRIu32 ")", len, kname,
			    p->bz.cmdline_size);
		top = p->bz.initrd_max + 1;
	} else {
		return seterr(err, errlen, "kernel %s: neither a PVH ELF nor a "
		    "Linux bzImage (no ELF magic, no \"HdrS\" at offset "
		    "0x202)", kname);
	}
	if (initrd_size != 0 && (rc = place_initrd(vm, p, initrd_size, top,
	    iname, err, errlen)) != 0)
		return rc;
	return 0;
}

int
boot_write(struct vm *vm, const struct boot_plan *p, const void *kernel,
    size_t klen, const void *initrd, const char *cmdline, uint64_t rsdp,
    char *err, size_t errlen)
{
	uint64_t entry;
	void *dst;
	int rc;

	if (p->initrd_size != 0 && initrd != NULL) {
		if ((dst = vm_gpa_ptr(vm, p->initrd_addr, p->initrd_size)) ==
		    NULL)
			return seterr(err, errlen, "initrd at %#" PRIx64 " is "
			    "not in guest RAM", p->initrd_addr);
		memcpy(dst, initrd, p->initrd_size);
	}
	if (p->kind == BOOT_PVH) {
		if ((rc = pvh_load_elf_buf(vm, kernel, klen, "", &entry, err,
		    errlen)) != 0)
			return rc;
		return pvh_write_start_info_initrd(vm, cmdline, rsdp,
		    p->initrd_addr, p->initrd_size, err, errlen);
	}
	if ((rc = bzimage_write(vm, &p->bz, kernel, p->initrd_addr,
	    p->initrd_size, rsdp)) != 0)
		return seterr(err, errlen, "writing the boot data failed: %s",
		    strerror(-rc));
	if ((dst = vm_gpa_ptr(vm, BOOT_CMDLINE, BOOT_CMDLINE_MAX)) == NULL)
		return -EINVAL;
	memset(dst, 0, BOOT_CMDLINE_MAX);
	memcpy(dst, cmdline, strlen(cmdline));
	return 0;
}

int
boot_load_files(struct vm *vm, const char *kpath, const char *ipath,
    const char *cmdline, struct boot_plan *p, char *err, size_t errlen)
{
	uint8_t *kernel = NULL;
	uint64_t isize = 0, rsdp;
	size_t klen;
	int ifd = -1, rc;

	/* Everything that can be wrong with the files, before any write. */
	if ((rc = boot_read_file("kernel", kpath, KERNEL_MAX_FILE, &kernel,
	    &klen, err, errlen)) != 0)
		return rc;
	if (ipath != NULL && (rc = open_regular("initrd", ipath, &ifd, &isize,
	    err, errlen)) != 0)
		goto out;
	if ((rc = boot_plan(vm, kernel, klen, kpath, isize, ipath, cmdline, p,
	    err, errlen)) != 0)
		goto out;
	/* The initrd straight into guest RAM: it may be hundreds of MiB. */
	if (ipath != NULL && (rc = read_all(ifd, vm_gpa_ptr(vm, p->initrd_addr,
	    isize), isize, "initrd", ipath, err, errlen)) != 0)
		goto out;
	if ((rc = acpi_build(vm, &rsdp, err, errlen)) != 0 ||
	    (rc = boot_write(vm, p, kernel, klen, NULL, cmdline, rsdp, err,
	    errlen)) != 0)
		goto out;
out:
	if (ifd >= 0)
		close(ifd);
	free(kernel);
	return rc;
}

int
vm_boot_setup(struct vm *vm)
{
	const char *kernel = cfg_get(vm->cfg, "boot.kernel");
	const char *append = cfg_get(vm->cfg, "boot.append");
	const char *initrd = cfg_get(vm->cfg, "boot.initrd");
	struct boot_plan p;
	char err[512];
	int rc;

	if (kernel == NULL || *kernel == '\0') {
		vm_log(vm, "no kernel: give --kernel FILE (boot.kernel), a "
		    "Linux bzImage or a PVH ELF");
		vm_setup_failed(vm, HYVE_ERR_USAGE);
		return -EINVAL;
	}
	if (initrd != NULL && *initrd == '\0')
		initrd = NULL;
	/* Whatever keeps a kernel or initrd from loading, the file is named. */
	if (boot_load_files(vm, kernel, initrd, append != NULL ? append : "",
	    &p, err, sizeof(err)) != 0) {
		vm_log(vm, "%s", err);
		vm_setup_failed(vm, HYVE_ERR_USAGE);
		return -EINVAL;
	}
	vm->entry = p.entry;
	vm->start_info = p.params;
	if ((rc = vm->be->boot_cpu(vm, &p)) != 0)
		vm_setup_failed(vm, HYVE_ERR_RUNTIME);
	return rc;
}

/* "kernel NAME: ...", -EINVAL: the loaders' one way to refuse a file. */
int
kernel_fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "kernel %s: %s", name, msg);
	return -EINVAL;
}
