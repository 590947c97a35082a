/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * What a restore checks a checkpoint against is what VM creation builds:
 *  - the memory layout a restore requires of a configuration
 *    (vm_shape_from_cfg, vm_mem_layout) is the one vm_mem_init() maps, for
 *    sizes below, at and around the 3 GiB PCI hole and above 4 GiB; and a
 *    checkpoint's memory section holding a VM's regions passes the
 *    restore's check for its size and is refused for any other;
 *  - the VM parameters (defaults, limits) a restore derives are the ones
 *    vm_create() gives the VM (with /dev/kvm);
 *  - vm_restore_check() on a document alone: one vcpu@N per vCPU and no
 *    more, a section for every configured device and no other, section
 *    versions refused in libckp's words, a model without restore code
 *    named as a save names it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"
#include "vm_test.h"

#include "test_check.h"

/* @msg must start with @want. */
static void
check_prefix(const char *msg, const char *want, int line)
{
	if (strncmp(msg, want, strlen(want)) != 0) {
		fprintf(stderr, "line %d: '%s' does not start with '%s'\n", line,
		    msg, want);
		failures++;
	}
}

static struct cfg *
make_cfg(const char *cpus, const char *mem)
{
	struct cfg *cfg = cfg_new();
	char err[256];

	CHECK(cfg != NULL && cfg_set(cfg, "name", "t", "test", err,
	    sizeof(err)) == 0);
	if (cpus != NULL)
		CHECK(cfg_set(cfg, "cpus", cpus, "test", err, sizeof(err)) == 0);
	if (mem != NULL)
		CHECK(cfg_set(cfg, "memory.size", mem, "test", err,
		    sizeof(err)) == 0);
	return cfg;
}

/* The memory section vm_save_state() writes for @vm. */
static void
add_memory(ckp_sec_t *root, const struct vm *vm)
{
	ckp_sec_t *m = ckp_sec_add(root, "memory", 1), *r;
	unsigned i;

	ckp_sec_add_uint64(m, "size", vm->mem_size);
	for (i = 0; i < vm->nmem; i++) {
		r = ckp_sec_addf(m, 1, "region@%u", i);
		ckp_sec_add_uint64(r, "gpa", vm->mem[i].gpa);
		ckp_sec_add_uint64(r, "size", vm->mem[i].size);
		ckp_sec_add_uint64(r, "file_off", vm->mem[i].file_off);
	}
}

/* vm_restore_check() of @doc against @sh: 0, the message in @msg. */
static int
check_doc(ckp_doc_t *doc, const struct vm_shape *sh, char *msg, size_t len)
{
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_RESTORE);
	int rc;

	ckp_doc_clear_error(doc);
	rc = vm_restore_check(sh, io);
	snprintf(msg, len, "%s", ckp_doc_errmsg(doc));
	ckp_io_free(io);
	ckp_doc_clear_error(doc);
	return rc;
}

static void
test_layout(void)
{
	static const uint64_t sizes[] = {
		2ULL << 20, 64ULL << 20, VM_LOWMEM_MAX - 4096, VM_LOWMEM_MAX,
		VM_LOWMEM_MAX + 4096, 4ULL << 30, (5ULL << 30) + 12288,
	};
	uint64_t limit = vm_mem_host_limit();
	struct vm_mem_layout l;
	size_t k;
	unsigned i;

	CHECK(vm_mem_layout(0, &l) == -EINVAL);
	CHECK(vm_mem_layout((64ULL << 20) + 1, &l) == -EINVAL);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t size = sizes[k], sum = 0;
		struct vm *vm = vm_new_for_test(size);
		struct vm_shape sh;
		struct cfg *cfg;
		char num[32], msg[512];
		ckp_doc_t *doc;
		ckp_ent_t *e;

		CHECK(vm != NULL);
		if (vm == NULL)
			continue;
		/* What vm_mem_init() mapped: vm_mem_layout(), exactly. */
		CHECK(vm_mem_layout(size, &l) == 0);
		CHECK(l.n == vm->nmem && l.n >= 1 && l.n <= 2);
		for (i = 0; i < l.n && i < vm->nmem; i++) {
			CHECK(strcmp(l.r[i].name, vm->mem[i].name) == 0);
			CHECK(l.r[i].gpa == vm->mem[i].gpa);
			CHECK(l.r[i].size == vm->mem[i].size);
			CHECK(l.r[i].file_off == vm->mem[i].file_off);
			/* Nothing in the PCI hole; the file holds them in order. */
			CHECK(l.r[i].gpa + l.r[i].size <= VM_LOWMEM_MAX ||
			    l.r[i].gpa >= VM_HIGHMEM_BASE);
			CHECK(l.r[i].file_off == sum);
			sum += l.r[i].size;
		}
		CHECK(sum == size);
		CHECK((l.n == 2) == (size > VM_LOWMEM_MAX));

		/* What a restore requires of a configuration asking for it. */
		snprintf(num, sizeof(num), "%" PRIu64 "K", size >> 10);
		if (limit != 0 && size > limit) {
			printf("%s: more than this host can give, layout only\n",
			    num);
			vm_free(vm);
			continue;
		}
		cfg = make_cfg(NULL, num);
		CHECK(vm_shape_from_cfg(cfg, &sh, msg, sizeof(msg)) == 0);
		CHECK(sh.p.mem_size == size);
		CHECK(memcmp(&sh.mem, &l, sizeof(l)) == 0);

		/* A checkpoint of the VM: its memory passes, the rest is missing. */
		doc = ckp_doc_new("t");
		add_memory(ckp_doc_root(doc), vm);
		CHECK(check_doc(doc, &sh, msg, sizeof(msg)) != 0);
		check_prefix(msg, "missing section vm", __LINE__);
		/* Any other size is refused, naming memory.size. */
		sh.p.mem_size = size + 4096;
		CHECK(check_doc(doc, &sh, msg, sizeof(msg)) != 0);
		check_prefix(msg, "memory.size: the checkpoint holds ", __LINE__);
		sh.p.mem_size = size;
		/* A region elsewhere is refused, naming it. */
		e = ckp_doc_find(doc, l.n == 2 ? "memory.region@1.gpa" :
		    "memory.region@0.size");
		CHECK(e != NULL && ckp_ent_set_text(e, "1000") == 0);
		CHECK(check_doc(doc, &sh, msg, sizeof(msg)) != 0);
		check_prefix(msg, l.n == 2 ? "memory.region@1: " :
		    "memory.region@0: ", __LINE__);
		ckp_doc_free(doc);
		vm_shape_fini(&sh);
		cfg_free(cfg);
		vm_free(vm);
	}
}

/* The parameters a restore derives: defaults and limits. */
static void
test_params(void)
{
	static const struct {
		const char *cpus, *mem;
		unsigned ncpus;
		uint64_t size;
		const char *refusal;
	} c[] = {
		{ NULL, NULL, VM_DEFAULT_CPUS, VM_DEFAULT_MEM, NULL },
		{ "254", "64M", 254, 64ULL << 20, NULL },
		{ "2", "64", 2, 64ULL << 20, NULL },	/* a bare number is MiB */
		{ "255", NULL, 0, 0, "cpus: '255' is not a vCPU count from 1 "
		    "to 254" },
		{ "0", NULL, 0, 0, "cpus: '0' is not a vCPU count" },
		{ NULL, "1", 0, 0, "memory.size: 1 is 1M bytes; it must be at "
		    "least 2M" },
		{ NULL, "2049K", 0, 0, "memory.size: 2049K is 2049K bytes; it "
		    "must be at least 2M and a multiple of 4K" },
		{ NULL, "x", 0, 0, "memory.size: 'x' is not a size" },
	};
	struct vm_params p;
	struct cfg *cfg;
	char msg[512];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cfg = make_cfg(c[i].cpus, c[i].mem);
		if (c[i].refusal == NULL) {
			CHECK(vm_params_get(cfg, &p, msg, sizeof(msg)) == 0);
			CHECK(p.ncpus == c[i].ncpus && p.mem_size == c[i].size);
			CHECK(strcmp(p.name, "t") == 0);
		} else {
			CHECK(vm_params_get(cfg, &p, msg, sizeof(msg)) ==
			    -EINVAL);
			check_prefix(msg, c[i].refusal, __LINE__);
		}
		/* Marks nothing used: the create that follows reads them. */
		CHECK(cfg_first_unused(cfg) != NULL);
		cfg_free(cfg);
	}
	cfg = cfg_new();
	CHECK(vm_params_get(cfg, &p, msg, sizeof(msg)) == -EINVAL);
	check_prefix(msg, "no VM name", __LINE__);
	cfg_free(cfg);
}

static int
nop_save(struct dev *d, ckp_io_t *io)
{
	(void)d;
	(void)io;
	return 0;
}

/* vm_restore_check() beyond memory: vCPUs, devices, versions. */
static void
test_sections(void)
{
	static const struct devemu saveonly = { .name = "saveonly",
	    .version = 1, .save = nop_save };
	struct vm *vm = vm_new_for_test(64ULL << 20);
	struct cfg *cfg = make_cfg("2", "64M");
	struct vm_kstate ks;
	struct vm_shape sh;
	ckp_sec_t *devs;
	ckp_doc_t *doc;
	ckp_io_t *io;
	char msg[512];
	size_t i;

	CHECK(vm != NULL && vm_shape_from_cfg(cfg, &sh, msg, sizeof(msg)) == 0);
	if (vm == NULL)
		return;
	CHECK(sh.p.ncpus == 2 && sh.ndevs == 2);	/* pm, rtc */
	doc = ckp_doc_new("t");
	add_memory(ckp_doc_root(doc), vm);
	memset(&ks, 0, sizeof(ks));
	ks.ioapic.chip.ioapic.base_address = VM_IOAPIC_BASE;
	io = ckp_io_new(doc, CKP_IO_SAVE);
	CHECK(ckp_io_enter(io, "vm", 1) == 1);
	CHECK(vm_kstate_io(vm, io, &ks) == 0);
	ckp_io_leave(io);
	ckp_io_free(io);
	devs = ckp_sec_add(ckp_doc_root(doc), "devices", 1);
	ckp_sec_add(devs, "vcpu@0", VCPU_STATE_VERSION);
	ckp_sec_add(devs, "vcpu@1", VCPU_STATE_VERSION);
	for (i = 0; i < sh.ndevs; i++)
		ckp_sec_add(devs, sh.devs[i].id, sh.devs[i].emu->version);
	CHECK(check_doc(doc, &sh, msg, sizeof(msg)) == 0);

	/* A device section with no device to take it. */
	ckp_sec_add(devs, "floppy", 1);
	CHECK(check_doc(doc, &sh, msg, sizeof(msg)) == -EINVAL);
	check_prefix(msg, "devices.floppy: no such device", __LINE__);
	CHECK(ckp_sec_remove(devs, "floppy") == 0);
	/* A vCPU too many, and one too few. */
	ckp_sec_add(devs, "vcpu@2", VCPU_STATE_VERSION);
	CHECK(check_doc(doc, &sh, msg, sizeof(msg)) == -EINVAL);
	check_prefix(msg, "the checkpoint holds state for more vCPUs than the "
	    "2 configured (cpus=2)", __LINE__);
	CHECK(ckp_sec_remove(devs, "vcpu@2") == 0);
	CHECK(ckp_sec_remove(devs, "vcpu@1") == 0);
	CHECK(check_doc(doc, &sh, msg, sizeof(msg)) == -EINVAL);
	check_prefix(msg, "the configuration has 2 vCPUs (cpus=2) but the "
	    "checkpoint holds state for 1", __LINE__);
	ckp_sec_add(devs, "vcpu@1", VCPU_STATE_VERSION + 1);
	CHECK(check_doc(doc, &sh, msg, sizeof(msg)) == -EPROTONOSUPPORT);
	CHECK(strstr(msg, "section devices.vcpu@1 has version 3, newer than "
	    "the 2 this program knows") != NULL);
	ckp_sec_set_version(ckp_sec_find(devs, "vcpu@1"), VCPU_STATE_VERSION);
	/* A configured device without its section, or too new. */
	CHECK(ckp_sec_remove(devs, "rtc") == 0);
	CHECK(check_doc(doc, &sh, msg, sizeof(msg)) == -EINVAL);
	check_prefix(msg, "devices.rtc: missing section: the configuration has "
	    "device rtc", __LINE__);
	ckp_sec_add(devs, "rtc", 2);
	CHECK(check_doc(doc, &sh, msg, sizeof(msg)) == -EPROTONOSUPPORT);
	check_prefix(msg, "section devices.rtc has version 2, newer than the 1 "
	    "this program knows", __LINE__);
	ckp_sec_set_version(ckp_sec_find(devs, "rtc"), 1);
	CHECK(check_doc(doc, &sh, msg, sizeof(msg)) == 0);
	/* A model without restore code, in the words of a save. */
	sh.devs[1].emu = &saveonly;
	CHECK(check_doc(doc, &sh, msg, sizeof(msg)) == -ENOTSUP);
	check_prefix(msg, "device rtc (saveonly) cannot be restored: its model "
	    "has no checkpoint code", __LINE__);
	CHECK(dev_ckp_check(&saveonly, "x@0", true, msg, sizeof(msg)) == 0);
	CHECK(dev_ckp_check(&saveonly, "x@0", false, msg, sizeof(msg)) ==
	    -ENOTSUP);
	ckp_doc_free(doc);
	vm_shape_fini(&sh);
	cfg_free(cfg);
	vm_free(vm);
}

/* With KVM: vm_create() makes of a configuration what a restore expects. */
static void
test_create(void)
{
	static const char *const c[][2] = { { NULL, NULL }, { "2", "64M" },
	    { "1", "3G" } };
	uint64_t limit = vm_mem_host_limit();
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct cfg *cfg;
		struct vm_shape sh;
		struct vm *vm = NULL;
		char msg[512];
		unsigned k;

		/* Both regions, where the host can give that much. */
		if (i == 2 && limit != 0 && limit < (3ULL << 30))
			continue;
		cfg = make_cfg(c[i][0], c[i][1]);
		CHECK(vm_shape_from_cfg(cfg, &sh, msg, sizeof(msg)) == 0);
		sh.cfg = NULL;		/* vm_create() takes it */
		CHECK(vm_create(cfg, &vm) == 0);
		if (vm != NULL && vm->vm_fd >= 0) {
			CHECK(vm->ncpus == sh.p.ncpus);
			CHECK(vm->mem_size == sh.p.mem_size);
			CHECK(strcmp(vm->name, sh.p.name) == 0);
			CHECK(vm->nmem == sh.mem.n);
			for (k = 0; k < vm->nmem && k < sh.mem.n; k++)
				CHECK(vm->mem[k].gpa == sh.mem.r[k].gpa &&
				    vm->mem[k].size == sh.mem.r[k].size &&
				    vm->mem[k].file_off == sh.mem.r[k].file_off);
		}
		vm_shape_fini(&sh);
		vm_free(vm);
	}
}

int
main(void)
{
	int fd;

	test_layout();
	test_params();
	test_sections();
	if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		printf("SKIP: no /dev/kvm: vm_create() not compared (layout, "
		    "parameters and section checks %s)\n", failures ? "FAILED" :
		    "passed");
		return failures ? 1 : 77;
	}
	close(fd);
	test_create();
	if (failures)
		return 1;
	printf("test_vmm_shape: ok\n");
	return 0;
}
