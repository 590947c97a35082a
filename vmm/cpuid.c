/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * CPUID for each vCPU: what KVM supports on this host, with the topology
 * made to match the VM (one core per vCPU, APIC ID = vCPU index) and the
 * hypervisor bit and KVM signature leaves present.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "vm_priv.h"

#define CPUID_MAX_ENT	256

static struct kvm_cpuid_entry2 *
find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    (!(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		    c->entries[i].index == idx))
			return &c->entries[i];
	return NULL;
}

static void
drop(struct kvm_cpuid2 *c, uint32_t fn)
{
	uint32_t i, j = 0;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function != fn)
			c->entries[j++] = c->entries[i];
	c->nent = j;
}

static struct kvm_cpuid_entry2 *
add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t flags)
{
	struct kvm_cpuid_entry2 *e;

	if (c->nent >= CPUID_MAX_ENT)
		return NULL;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = flags;
	return e;
}

static unsigned
order(unsigned n)
{
	unsigned s = 0;

	while ((1U << s) < n)
		s++;
	return s;
}

/* Leaves 0xB and 0x1F: SMT level of 1 thread, core level of @ncpus. */
static void
topology_leaf(struct kvm_cpuid2 *c, uint32_t fn, unsigned id, unsigned ncpus)
{
	struct kvm_cpuid_entry2 *e;
	uint32_t sub;

	drop(c, fn);
	for (sub = 0; sub < 3; sub++) {
		if ((e = add(c, fn, sub, KVM_CPUID_FLAG_SIGNIFCANT_INDEX)) == NULL)
			return;
		e->edx = id;
		e->ecx = sub;
		if (sub == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx |= 1 << 8;	/* SMT */
		} else if (sub == 1) {
			e->eax = order(ncpus);
			e->ebx = ncpus;
			e->ecx |= 2 << 8;	/* core */
		}
	}
}

int
cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned id,
    unsigned ncpus, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c;
	struct kvm_cpuid_entry2 *e;
	uint32_t max_basic = 0, max_ext = 0;
	size_t sz = sizeof(*c) + CPUID_MAX_ENT * sizeof(c->entries[0]);

	if (supported->nent > CPUID_MAX_ENT - 8)
		return -E2BIG;
	if ((c = calloc(1, sz)) == NULL)
		return -ENOMEM;
	c->nent = supported->nent;
	memcpy(c->entries, supported->entries,
	    supported->nent * sizeof(c->entries[0]));

	if ((e = find(c, 0, 0)) != NULL)
		max_basic = e->eax;
	if ((e = find(c, 0x80000000, 0)) != NULL)
		max_ext = e->eax;

	if ((e = find(c, 1, 0)) != NULL) {
		unsigned lp = 1U << order(ncpus);

		e->ebx &= 0x0000ffff;
		e->ebx |= (id & 0xff) << 24;
		e->ebx |= (lp > 255 ? 255 : lp) << 16;
		if (ncpus > 1)
			e->edx |= 1U << 28;	/* HTT: ebx[23:16] is valid */
		else
			e->edx &= ~(1U << 28);
		e->ecx |= 1U << 31;	/* running under a hypervisor */
		/*
		 * No VMX: hyve does not save a nested guest's state
		 * (KVM_GET_NESTED_STATE), and a guest in VMX operation (Linux
		 * 6.12+ enters it when kvm_intel loads) could not be restored.
		 */
		e->ecx &= ~(1U << 5);
	}
	/* No SVM either, for the same reason, nor its feature leaf. */
	if ((e = find(c, 0x80000001, 0)) != NULL)
		e->ecx &= ~(1U << 2);
	drop(c, 0x8000000a);
	/* Intel deterministic cache parameters: cores per package. */
	if (max_basic >= 4) {
		uint32_t i;
		for (i = 0; i < c->nent; i++) {
			e = &c->entries[i];
			if (e->function != 4)
				continue;
			e->eax &= 0x03ffffff;
			e->eax |= ((1U << order(ncpus)) - 1) << 26;
			e->eax &= ~(0xfffU << 14);	/* one thread per cache */
		}
	}
	if (max_basic >= 0xb)
		topology_leaf(c, 0xb, id, ncpus);
	if (max_basic >= 0x1f)
		topology_leaf(c, 0x1f, id, ncpus);
	/* AMD: cores per package and the extended APIC ID. */
	if (max_ext >= 0x80000008 && (e = find(c, 0x80000008, 0)) != NULL) {
		e->ecx &= ~0xf0ffU;
		e->ecx |= (ncpus - 1) | (order(ncpus) << 12);
	}
	if (max_ext >= 0x8000001e && (e = find(c, 0x8000001e, 0)) != NULL) {
		e->eax = id;
		e->ebx = id & 0xff;	/* core id, one thread per core */
		e->ecx = 0;		/* node 0, one node */
	}
	/* The KVM signature leaf, if this KVM did not list it. */
	if (find(c, 0x40000000, 0) == NULL &&
	    (e = add(c, 0x40000000, 0, 0)) != NULL) {
		e->eax = 0x40000001;
		memcpy(&e->ebx, "KVMK", 4);
		memcpy(&e->ecx, "VMKV", 4);
		memcpy(&e->edx, "M\0\0\0", 4);
	}
	*out = c;
	return 0;
}

/*
 * The TSC deadline timer is emulated by every KVM with an in-kernel LAPIC,
 * but only kernels after 6.12 list it in KVM_GET_SUPPORTED_CPUID: offering
 * it wherever the capability is gives guests the same CPU on every host
 * (and checkpoints that move between them).
 */
int
kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c;
	unsigned n, j;
	int rc;

	*out = NULL;
	for (n = 64; n <= 4096; n *= 2) {
		if ((c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]))) ==
		    NULL)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			if (ioctl(kvm_fd, KVM_CHECK_EXTENSION,
			    KVM_CAP_TSC_DEADLINE_TIMER) > 0)
				for (j = 0; j < c->nent; j++)
					if (c->entries[j].function == 1)
						c->entries[j].ecx |= 1U << 24;
			*out = c;
			return 0;
		}
		rc = -errno;
		free(c);
		if (rc != -E2BIG)
			return rc;
	}
	return -E2BIG;
}

int
kvm_ioctl_sys(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

/*
 * Before Linux 6.5, KVM_GET_CPUID2 never told the caller how many entries
 * it wrote: nent stays as passed on success, and on E2BIG the count is not
 * copied back either.  A caller that offers room for 256 entries therefore
 * gets nent = 256 with the tail as it left it (zeroes: duplicate leaf 0
 * entries).  Since 6.5 nent is written back on success.  What every kernel
 * does is refuse (E2BIG) room for fewer entries than the vCPU has, so the
 * count is the smallest nent that succeeds: ask with all the room first
 * (a 6.5+ kernel answers with the count), else search for it.
 */
static int
cpuid_try(int fd, kvm_ioctl_fn *ioc, struct kvm_cpuid2 *c, uint32_t nent)
{
	c->nent = nent;
	if (ioc(fd, KVM_GET_CPUID2, c) == 0)
		return 0;
	return errno == E2BIG ? 1 : -errno;
}

int
cpuid_read(int fd, kvm_ioctl_fn *ioc, struct kvm_cpuid_entry2 *out,
    uint32_t cap, uint32_t *n, char *why, size_t whylen)
{
	struct kvm_cpuid2 *c;
	uint32_t lo, hi, mid, i, j;
	int rc;

	*n = 0;
	if ((c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]))) == NULL)
		return -ENOMEM;
	if ((rc = cpuid_try(fd, ioc, c, cap)) != 0) {
		rc = rc > 0 ? -E2BIG : rc;
		goto out;
	}
	if (c->nent > cap) {
		snprintf(why, whylen, "%u entries in room for %u", c->nent, cap);
		rc = -EIO;
		goto out;
	}
	if (c->nent == cap) {
		/* An older kernel (or exactly @cap entries): find the count. */
		lo = 0;
		hi = cap;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if ((rc = cpuid_try(fd, ioc, c, mid)) < 0)
				goto out;
			if (rc == 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		if ((rc = cpuid_try(fd, ioc, c, hi)) != 0) {
			snprintf(why, whylen, "%u entries fit, then did not", hi);
			rc = rc > 0 ? -EIO : rc;
			goto out;
		}
		c->nent = hi;
	}
	for (i = 0; i < c->nent; i++)
		for (j = 0; j < i; j++)
			if (c->entries[i].function == c->entries[j].function &&
			    c->entries[i].index == c->entries[j].index) {
				snprintf(why, whylen, "leaf %#x index %u twice "
				    "(entries %u and %u of %u)",
				    c->entries[i].function, c->entries[i].index,
				    j, i, c->nent);
				rc = -EIO;
				goto out;
			}
	memcpy(out, c->entries, c->nent * sizeof(c->entries[0]));
	*n = c->nent;
	rc = 0;
out:
	free(c);
	return rc;
}
