/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Guest RAM loaded on demand (vmm/lazyram.c) on a test VM, no KVM needed:
 * touches from several threads, reads and writes, and system calls that
 * read or write guest memory (kernel-mode faults) all see the checkpoint's
 * bytes; lazyram_complete() loads the rest and leaves plain memory equal
 * to the checkpoint; the background walker alone gets every chunk in and
 * verifies the file; with two regions the chunks land in the right one;
 * a damaged chunk touched by a thread, or found by the walker, stops the
 * VM (VM_STOP_BADRAM) with the file and the offset, and the thread that
 * touched it is not left hanging; totals that do not add up stop it too;
 * freeing a VM with chunks still missing does not hang; RAM written before
 * loading began is refused.
 * Skips when this process cannot use userfaultfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lazyram.h"
#include "vm_priv.h"

#define MiB	(1ULL << 20)
#define PG	4096ULL
#define SMALL	(64 * MiB)

#include "test_check.h"
#define CHECK_HAS(hay, needle) do {					\
	const char *h_ = (hay), *n_ = (needle);			\
	if (h_ == NULL || strstr(h_, n_) == NULL) {			\
		fprintf(stderr, "%s:%d: expected \"%s\" in \"%s\"\n",	\
		    __FILE__, __LINE__, n_, h_ ? h_ : "(null)");	\
		failures++;						\
	}								\
} while (0)

static char dir[256];

static uint8_t *
anon(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/* Chunks with data (pattern of their offset), zero chunks, a sparse one. */
static void
pattern(uint8_t *m, uint64_t size, uint64_t skip_every)
{
	for (uint64_t off = 0; off < size; off += PG) {
		uint64_t c = off / MiB;

		if (skip_every != 0 && c % skip_every == 1)
			continue;		/* zero chunk */
		if (c % 5 == 2 && (off / PG) % 7 != 0)
			continue;		/* sparse chunk */
		for (uint64_t i = 0; i < PG; i += 8) {
			uint64_t v = (off + i) * 0x9e3779b97f4a7c15ULL | 1;
			memcpy(m + off + i, &v, 8);
		}
	}
}

static int
write_ckp(const char *path, const uint8_t *m, uint64_t size,
    const ckp_ram_seg_t *segs, unsigned nsegs)
{
	char err[512];
	ckp_ram_seg_t one = { .host = m, .file_off = 0, .len = size };
	ckp_writer_t *w;
	ckp_doc_t *meta;
	int r;

	if ((r = ckp_writer_begin(path, size, &w, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s\n", err);
		return r;
	}
	if (segs == NULL) {
		segs = &one;
		nsegs = 1;
	}
	if ((r = ckp_writer_put_segs(w, segs, nsegs, 2)) != 0) {
		ckp_writer_abort(w);
		return r;
	}
	meta = ckp_doc_new("test_vmm_lazyram 1");
	if ((r = ckp_writer_commit(w, meta, CKP_ENC_BIN, err, sizeof(err))) != 0)
		fprintf(stderr, "%s\n", err);
	ckp_doc_free(meta);
	return r;
}

static void
flip(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b = 0;

	CHECK(fd >= 0 && pread(fd, &b, 1, (off_t)off) == 1);
	b ^= 0x5a;
	CHECK(fd >= 0 && pwrite(fd, &b, 1, (off_t)off) == 1);
	close(fd);
}

static void
copy_file(const char *from, const char *to)
{
	char cmd[2200];

	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s' && "
	    "cp '%s.meta' '%s.meta'", from, to, from, to);
	CHECK(system(cmd) == 0);
}

/*
 * A test VM of @size whose RAM loads on demand from checkpoint @path,
 * the walker held back @walk_ms.  @edit may change the meta first.
 */
static struct vm *
lazy_vm(const char *path, uint64_t size, unsigned walk_ms,
    void (*edit)(ckp_doc_t *))
{
	struct vm *vm = vm_new_for_test(size);
	ckp_ram_lazy_t *l = NULL;
	ckp_doc_t *doc;
	char why[256], err[1024], ms[32];
	int uffd;

	if (vm == NULL)
		return NULL;
	doc = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
	CHECK(doc != NULL && ckp_doc_error(doc) == 0);
	if (edit != NULL)
		edit(doc);
	CHECK(ckp_ram_lazy_open(doc, path, &l) == 0);
	ckp_doc_free(doc);	/* the handle needs nothing of it */
	uffd = lazyram_uffd_open(why, sizeof(why));
	CHECK(uffd >= 0);
	snprintf(ms, sizeof(ms), "%u", walk_ms);
	setenv("HYVE_TEST_LAZY_WALK_DELAY_MS", ms, 1);
	if (l == NULL || uffd < 0 ||
	    lazyram_start(vm, l, uffd, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "lazyram_start: %s\n", err);
		failures++;
		vm_free(vm);
		return NULL;
	}
	return vm;
}

struct toucher {
	const uint8_t	*p;
	const uint8_t	*want;
	size_t		 len;
	bool		 same;
};

static void *
touch_main(void *arg)
{
	struct toucher *t = arg;

	t->same = memcmp(t->p, t->want, t->len) == 0;
	return NULL;
}

/* Wait (bounded) for lazyram_state() to leave 0; return it. */
static int
wait_state(struct vm *vm, unsigned secs)
{
	uint64_t left;
	int st = 0;

	for (unsigned i = 0; i < secs * 100; i++) {
		if ((st = lazyram_state(vm, &left)) != 0)
			break;
		usleep(10000);
	}
	return st;
}

static void
test_touch_and_complete(const char *path, const uint8_t *src)
{
	struct vm *vm = lazy_vm(path, SMALL, 3600000, NULL);
	struct toucher t[3];
	pthread_t thr[3];
	char tmp[300], err[1024];
	uint8_t *g, *buf = malloc(2 * MiB);
	uint64_t left;
	int fd;

	if (vm == NULL)
		return;
	g = vm->mem[0].host;
	CHECK(lazyram_state(vm, &left) == 0 && left == SMALL / MiB);
	/* Three threads in three chunks at once, one of them in the same chunk. */
	for (int i = 0; i < 3; i++) {
		uint64_t off = (i == 2 ? 3 : 3 + 4 * (uint64_t)i) * MiB +
		    (uint64_t)i * 12345;
		t[i] = (struct toucher){ .p = g + off, .want = src + off,
		    .len = 200000 };
		pthread_create(&thr[i], NULL, touch_main, &t[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(thr[i], NULL);
		CHECK(t[i].same);
	}
	/* A write into a chunk never touched: the chunk comes in first. */
	g[20 * MiB + 100] = 0xee;
	CHECK(memcmp(g + 20 * MiB, src + 20 * MiB, 100) == 0);
	CHECK(memcmp(g + 20 * MiB + 101, src + 20 * MiB + 101, MiB - 101) == 0);
	/* Kernel-mode faults: write(2) from guest RAM, read(2) into it. */
	snprintf(tmp, sizeof(tmp), "%s/io", dir);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, g + 30 * MiB, 2 * MiB, 0) == (ssize_t)(2 * MiB));
	CHECK(pread(fd, buf, 2 * MiB, 0) == (ssize_t)(2 * MiB));
	CHECK(memcmp(buf, src + 30 * MiB, 2 * MiB) == 0);
	memset(buf, 0x77, PG);
	CHECK(pwrite(fd, buf, PG, 0) == (ssize_t)PG);
	CHECK(pread(fd, g + 40 * MiB + 8 * PG, PG, 0) == (ssize_t)PG);
	CHECK(g[40 * MiB + 8 * PG] == 0x77 && g[40 * MiB + 9 * PG - 1] == 0x77);
	CHECK(memcmp(g + 40 * MiB, src + 40 * MiB, 8 * PG) == 0);
	CHECK(memcmp(g + 40 * MiB + 9 * PG, src + 40 * MiB + 9 * PG,
	    MiB - 9 * PG) == 0);
	close(fd);
	CHECK(lazyram_state(vm, &left) == 0 && left > 0 && left < SMALL / MiB);
	CHECK(vm->run.stop_reason == VM_STOP_NONE);
	/* The rest, as before a checkpoint. */
	CHECK(lazyram_complete(vm, err, sizeof(err)) == 0);
	CHECK(lazyram_state(vm, &left) == 1 && left == 0);
	g[20 * MiB + 100] = src[20 * MiB + 100];
	memcpy(g + 40 * MiB + 8 * PG, src + 40 * MiB + 8 * PG, PG);
	CHECK(memcmp(g, src, SMALL) == 0);
	CHECK(lazyram_complete(vm, err, sizeof(err)) == 0);	/* again: nothing */
	CHECK(vm->run.stop_reason == VM_STOP_NONE);
	vm_free(vm);
	free(buf);
}

static void
test_walker(const char *path, const uint8_t *src)
{
	struct vm *vm = lazy_vm(path, SMALL, 0, NULL);

	if (vm == NULL)
		return;
	CHECK(wait_state(vm, 30) == 1);
	CHECK(memcmp(vm->mem[0].host, src, SMALL) == 0);
	CHECK(vm->run.stop_reason == VM_STOP_NONE);
	vm_free(vm);
}

/* Two regions: low RAM up to 3 GiB, high RAM from 4 GiB (file offset 3 GiB). */
static void
test_two_regions(void)
{
	uint64_t size = (3ULL << 30) + 4 * MiB, low = 3ULL << 30;
	uint8_t *src = anon(size);
	ckp_ram_seg_t segs[2];
	char path[300], err[1024];
	struct vm *vm;

	memset(src + low - MiB + 5, 0x11, 100);		/* last chunk of low RAM */
	memset(src + low + 7, 0x22, 100);		/* first chunk of high RAM */
	memset(src + size - 3, 0x33, 3);		/* the very end */
	/* Only the touched parts: the rest stays a hole, never read. */
	segs[0] = (ckp_ram_seg_t){ src + low - MiB, low - MiB, MiB };
	segs[1] = (ckp_ram_seg_t){ src + low, low, 4 * MiB };
	snprintf(path, sizeof(path), "%s/two.ckp", dir);
	CHECK(write_ckp(path, src, size, segs, 2) == 0);
	if ((vm = lazy_vm(path, size, 3600000, NULL)) == NULL) {
		munmap(src, size);
		return;
	}
	CHECK(vm->nmem == 2 && vm->mem[1].file_off == low);
	CHECK(vm->mem[1].host[7] == 0x22 && vm->mem[1].host[106] == 0x22 &&
	    vm->mem[1].host[107] == 0);
	CHECK(vm->mem[0].host[low - MiB + 5] == 0x11);
	CHECK(vm->mem[0].host[12345] == 0);
	CHECK(lazyram_complete(vm, err, sizeof(err)) == 0);
	CHECK(memcmp(vm->mem[1].host, src + low, 4 * MiB) == 0);
	CHECK(memcmp(vm->mem[0].host + low - MiB, src + low - MiB, MiB) == 0);
	vm_free(vm);
	munmap(src, size);
}

static void *
touch_bad_main(void *arg)
{
	volatile uint8_t *p = arg;

	(void)p[0];
	return NULL;
}

static void
test_bad(const char *path)
{
	char bad[300], hole[300], err[1024], want[600];
	pthread_t thr;
	struct vm *vm;
	uint64_t left;

	/* A flipped byte in a data chunk a thread touches. */
	snprintf(bad, sizeof(bad), "%s/bad.ckp", dir);
	copy_file(path, bad);
	flip(bad, 9 * MiB + 4321);
	if ((vm = lazy_vm(bad, SMALL, 3600000, NULL)) != NULL) {
		/* Returns (after the VM was told to stop): never hangs. */
		pthread_create(&thr, NULL, touch_bad_main,
		    vm->mem[0].host + 9 * MiB + 8 * PG);
		pthread_join(thr, NULL);
		CHECK(vm->run.stop_reason == VM_STOP_BADRAM);
		CHECK(vm_exit_code(vm) == HYVE_EXIT_BADRAM);
		snprintf(want, sizeof(want), "RAM file %s: chunk at offset "
		    "0x900000 does not match its checksum (found when the guest "
		    "or a device touched it; --verify=lazy stopped the VM "
		    "before the guest could read it)", bad);
		CHECK_HAS(vm->run.stop_msg, want);
		CHECK(lazyram_state(vm, &left) == -EBADMSG);
		CHECK(lazyram_complete(vm, err, sizeof(err)) == -EBADMSG);
		CHECK_HAS(err, "chunk at offset 0x900000 does not match");
		/* Other chunks still load (threads stopping still touch RAM). */
		CHECK(memcmp(vm->mem[0].host + 4 * MiB, "\0\0\0\0\0\0\0\0", 8) != 0);
		vm_free(vm);
	}

	/* Data in a chunk the meta records as zero, found by the walker. */
	snprintf(hole, sizeof(hole), "%s/hole.ckp", dir);
	copy_file(path, hole);
	{
		int fd = open(hole, O_RDWR);
		CHECK(fd >= 0 && pwrite(fd, "x", 1, 49 * MiB + 99) == 1);
		close(fd);
	}
	if ((vm = lazy_vm(hole, SMALL, 0, NULL)) != NULL) {
		CHECK(wait_state(vm, 30) == -EBADMSG);
		CHECK(vm->run.stop_reason == VM_STOP_BADRAM);
		CHECK_HAS(vm->run.stop_msg,
		    "chunk at offset 0x3100000 holds data "
		    "where the meta records zeros (found by the background "
		    "check; --verify=lazy stopped the VM before");
		vm_free(vm);
	}
}

static void
wrong_totals(ckp_doc_t *doc)
{
	ckp_sec_t *ram = ckp_sec_find(ckp_doc_root(doc), "ram");

	CHECK(ckp_sec_remove(ram, "extents") == 0);
	ckp_sec_add_uint64(ram, "extents", 1);
}

static void
test_totals(const char *path)
{
	struct vm *vm = lazy_vm(path, SMALL, 0, wrong_totals);

	if (vm == NULL)
		return;
	CHECK(wait_state(vm, 30) == -EBADMSG);
	CHECK(vm->run.stop_reason == VM_STOP_BADRAM);
	CHECK_HAS(vm->run.stop_msg, "ram.extents is 1 but RAM file");
	/* Every chunk matched: nothing was kept from the guest. */
	CHECK(strstr(vm->run.stop_msg, "before the guest could read") == NULL);
	vm_free(vm);
}

/* Guest RAM written before loading began would hide the checkpoint's bytes. */
static void
test_touched_first(const char *path)
{
	struct vm *vm = vm_new_for_test(SMALL);
	ckp_ram_lazy_t *l = NULL;
	ckp_doc_t *doc;
	char why[256], err[1024] = "";
	int uffd;

	if (vm == NULL)
		return;
	vm->mem[0].host[5 * MiB + 3] = 1;
	doc = ckp_checkpoint_open(path, CKP_OPEN_NORAMCHECK);
	CHECK(ckp_ram_lazy_open(doc, path, &l) == 0);
	ckp_doc_free(doc);
	uffd = lazyram_uffd_open(why, sizeof(why));
	CHECK(lazyram_start(vm, l, uffd, path, err, sizeof(err)) == -EEXIST);
	/*
	 * The page written, or the start of the transparent huge page the
	 * write made (host RAM need not be 2 MiB aligned).
	 */
	{
		const char *o = strstr(err, "at offset 0x");
		unsigned long long off = 0;

		CHECK(o != NULL && sscanf(o, "at offset 0x%llx", &off) == 1);
		CHECK(off <= 5 * MiB + 3 && off + 2 * MiB > 5 * MiB + 3);
	}
	CHECK_HAS(err, "guest RAM (lowmem) at offset 0x");
	CHECK_HAS(err, " was written before it could be loaded");
	CHECK(vm->lazy == NULL);
	vm_free(vm);
}

/* Freed with most chunks missing and the walker waiting: no hang. */
static void
test_free_early(const char *path)
{
	struct vm *vm = lazy_vm(path, SMALL, 3600000, NULL);

	if (vm != NULL) {
		CHECK(vm->mem[0].host[0] != 0 || vm->mem[0].host[8] != 0);
		vm_free(vm);
	}
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	char why[256], path[300], cmd[400];
	uint8_t *src;
	int fd;

	if ((fd = lazyram_uffd_open(why, sizeof(why))) < 0) {
		printf("SKIP: %s\n", why);
		return 77;
	}
	close(fd);
	snprintf(dir, sizeof(dir), "%s/test_vmm_lazyram.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	src = anon(SMALL);
	pattern(src, SMALL, 6);
	snprintf(path, sizeof(path), "%s/a.ckp", dir);
	if (write_ckp(path, src, SMALL, NULL, 0) != 0)
		return 1;
	test_touch_and_complete(path, src);
	test_walker(path, src);
	test_two_regions();
	test_bad(path);
	test_totals(path);
	test_free_early(path);
	test_touched_first(path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	if (failures != 0) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
