/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Per-vCPU CPUID built from a host-supported list: APIC IDs in leaves 1,
 * 0xB and 0x1F, the topology counts, the hypervisor bit and signature,
 * and the host's other leaves left alone.  Runs on a synthetic list, and
 * on this host's KVM_GET_SUPPORTED_CPUID when /dev/kvm is there.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vm_priv.h"

#include "test_check.h"

static const struct kvm_cpuid_entry2 *
find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static unsigned
count(const struct kvm_cpuid2 *c, uint32_t fn)
{
	unsigned i, n = 0;

	for (i = 0; i < c->nent; i++)
		n += c->entries[i].function == fn;
	return n;
}

static void
check_vcpu(const struct kvm_cpuid2 *sup, unsigned id, unsigned ncpus)
{
	struct kvm_cpuid2 *c = NULL;
	const struct kvm_cpuid_entry2 *e, *h;
	uint32_t max_basic;

	CHECK(cpuid_for_vcpu(sup, id, ncpus, &c) == 0);
	if (c == NULL)
		return;
	max_basic = find(c, 0, 0)->eax;
	e = find(c, 1, 0);
	h = find(sup, 1, 0);
	CHECK(e != NULL && h != NULL);
	CHECK((e->ebx >> 24) == id);
	CHECK(((e->ebx >> 16) & 0xff) >= ncpus);
	CHECK((e->ebx & 0xffff) == (h->ebx & 0xffff));	/* CLFLUSH etc. kept */
	CHECK(e->ecx & (1U << 31));
	CHECK(!!(e->edx & (1U << 28)) == (ncpus > 1));
	CHECK((e->eax) == h->eax);
	if (max_basic >= 0xb) {
		const struct kvm_cpuid_entry2 *s0 = find(c, 0xb, 0),
		    *s1 = find(c, 0xb, 1), *s2 = find(c, 0xb, 2);
		CHECK(s0 != NULL && s1 != NULL && s2 != NULL);
		if (s0 && s1 && s2) {
			CHECK(s0->edx == id && s1->edx == id && s2->edx == id);
			CHECK(s0->ebx == 1 && ((s0->ecx >> 8) & 0xff) == 1);
			CHECK(s1->ebx == ncpus && ((s1->ecx >> 8) & 0xff) == 2);
			CHECK((1U << s1->eax) >= ncpus);
			CHECK(s2->ebx == 0 && ((s2->ecx >> 8) & 0xff) == 0);
			CHECK(s1->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		}
		CHECK(count(c, 0xb) == 3);
	}
	e = find(c, 0x40000000, 0);
	CHECK(e != NULL && memcmp(&e->ebx, "KVMK", 4) == 0 &&
	    memcmp(&e->ecx, "VMKV", 4) == 0 && memcmp(&e->edx, "M", 1) == 0);
	/* no nested virtualization: its state is not saved */
	CHECK((find(c, 1, 0)->ecx & (1U << 5)) == 0);
	e = find(c, 0x80000001, 0);
	CHECK(e == NULL || (e->ecx & (1U << 2)) == 0);
	CHECK(find(c, 0x8000000a, 0) == NULL);
	/* leaves hyve does not touch are the host's */
	e = find(c, 7, 0);
	h = find(sup, 7, 0);
	CHECK((e == NULL) == (h == NULL));
	if (e != NULL && h != NULL)
		CHECK(memcmp(e, h, sizeof(*e)) == 0);
	free(c);
}

static struct kvm_cpuid2 *
synthetic(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 16 * sizeof(c->entries[0]));
	unsigned n = 0;

	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 0,
	    .eax = 0xd, .ebx = 0x756e6547 };
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 1,
	    .eax = 0x806f8, .ebx = 0x00000800, .ecx = 1U << 5, /* VMX */
	    .edx = 0x178bfbff };
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 4,
	    .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	    .eax = 0x121 };
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 7,
	    .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	    .ebx = 0x209 };
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 0xb,
	    .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	    .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 7 };
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000000,
	    .eax = 0x8000000a };
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000001,
	    .ecx = 1U << 2, .edx = 1U << 29 };		/* SVM, LM */
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 0x8000000a,
	    .eax = 1, .ebx = 8 };			/* SVM revision, ASIDs */
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000008,
	    .ecx = 0x3f };
	c->nent = n;
	return c;
}

/*
 * A vCPU's KVM_GET_CPUID2 as two kernels answer it: both refuse room for
 * fewer entries than the vCPU has with E2BIG, leaving nent alone; on
 * success a kernel before 6.5 leaves nent as the caller passed it, from
 * 6.5 on it writes back the count.
 */
static struct {
	bool pre65;
	uint32_t nent;
	struct kvm_cpuid_entry2 e[8];
	unsigned calls;
} fk;

static int
fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct kvm_cpuid2 *c = arg;

	(void)fd;
	fk.calls++;
	if (req != KVM_GET_CPUID2) {
		errno = ENOTTY;
		return -1;
	}
	if (c->nent < fk.nent) {
		errno = E2BIG;
		return -1;
	}
	memcpy(c->entries, fk.e, fk.nent * sizeof(fk.e[0]));
	if (!fk.pre65)
		c->nent = fk.nent;
	return 0;
}

static void
fake_setup(bool pre65, uint32_t nent)
{
	uint32_t i;

	memset(&fk, 0, sizeof(fk));
	fk.pre65 = pre65;
	fk.nent = nent;
	for (i = 0; i < nent; i++) {
		fk.e[i].function = i == 0 ? 0 : 0x80000000 + i;
		fk.e[i].eax = 0x1000 + i;
	}
}

static void
check_cpuid_read(void)
{
	struct kvm_cpuid_entry2 out[256];
	char why[128];
	uint32_t n, i;
	int pre;

	for (pre = 0; pre <= 1; pre++) {
		fake_setup(pre, 5);
		memset(out, 0xa5, sizeof(out));
		CHECK(cpuid_read(-1, fake_ioctl, out, 256, &n, why, sizeof(why)) == 0);
		CHECK(n == 5);
		for (i = 0; i < 5 && i < n; i++)
			CHECK(out[i].eax == 0x1000 + i &&
			    out[i].function == fk.e[i].function);
		/* What the old single call with room for 256 gave on pre-6.5. */
		{
			struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
			    256 * sizeof(c->entries[0]));
			c->nent = 256;
			CHECK(fake_ioctl(-1, KVM_GET_CPUID2, c) == 0);
			CHECK(c->nent == (pre ? 256U : 5U));
			free(c);
		}
		/* Exactly as many entries as room. */
		fake_setup(pre, 8);
		CHECK(cpuid_read(-1, fake_ioctl, out, 8, &n, why, sizeof(why)) == 0);
		CHECK(n == 8);
		/* Too small a buffer is an error, not a truncated CPUID. */
		fake_setup(pre, 5);
		CHECK(cpuid_read(-1, fake_ioctl, out, 4, &n, why, sizeof(why)) == -E2BIG);
		/* A vCPU nobody gave a CPUID has none. */
		fake_setup(pre, 0);
		CHECK(cpuid_read(-1, fake_ioctl, out, 256, &n, why, sizeof(why)) == 0 && n == 0);
		/* Duplicate leaves are refused rather than saved. */
		fake_setup(pre, 3);
		fk.e[2].function = fk.e[1].function;
		CHECK(cpuid_read(-1, fake_ioctl, out, 256, &n, why, sizeof(why)) == -EIO);
	}
}

/* What a refusal names: /proc/cpuinfo's names, "bit N" for the rest. */
static void
check_feature_names(void)
{
	char b[128];
	size_t n;

	n = cpuid_feature_names(7, 0, 1, (1U << 16) | (1U << 30), b, sizeof(b));
	CHECK(strcmp(b, "avx512f, avx512bw") == 0 && n == strlen(b));
	cpuid_feature_names(1, 0, 2, 1U << 28, b, sizeof(b));
	CHECK(strcmp(b, "avx") == 0);
	cpuid_feature_names(0x40000001, 0, 0, (1U << 3) | (1U << 30), b,
	    sizeof(b));
	CHECK(strcmp(b, "kvmclock2, bit 30") == 0);
	cpuid_feature_names(0x80000001, 0, 3, 1U << 20, b, sizeof(b));
	CHECK(strcmp(b, "nx") == 0);
	cpuid_feature_names(0x12345678, 0, 0, 1U << 4, b, sizeof(b));
	CHECK(strcmp(b, "bit 4") == 0);
	xstate_names((1ULL << 2) | (1ULL << 17) | (1ULL << 63), b, sizeof(b));
	CHECK(strcmp(b, "avx, xtilecfg, component 63") == 0);
	/* Truncated, still terminated; the length is the whole list's. */
	n = cpuid_feature_names(7, 0, 1, 0xffffffffU, b, 16);
	CHECK(strlen(b) == 15 && n > 100);
}

int
main(void)
{
	struct kvm_cpuid2 *sup = synthetic();
	unsigned id;
	int fd;

	for (id = 0; id < 4; id++)
		check_vcpu(sup, id, 4);
	check_vcpu(sup, 0, 1);
	check_vcpu(sup, 200, 254);
	{
		struct kvm_cpuid2 *c;
		CHECK(cpuid_for_vcpu(sup, 3, 4, &c) == 0);
		CHECK((find(c, 4, 0)->eax >> 26) == 3);	/* 4 cores */
		CHECK((find(c, 0x80000008, 0)->ecx & 0xff) == 3);
		free(c);
	}
	free(sup);
	check_cpuid_read();
	check_feature_names();

	if ((fd = open("/dev/kvm", O_RDWR)) >= 0) {
		unsigned n = 512;
		sup = calloc(1, sizeof(*sup) + n * sizeof(sup->entries[0]));
		sup->nent = n;
		CHECK(ioctl(fd, KVM_GET_SUPPORTED_CPUID, sup) == 0);
		for (id = 0; id < 3; id++)
			check_vcpu(sup, id, 3);
		free(sup);
		close(fd);
	} else {
		printf("no /dev/kvm: host CPUID part not run\n");
	}
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_cpuid: ok\n");
	return 0;
}
