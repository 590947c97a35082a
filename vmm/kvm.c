/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Creating the KVM VM a configuration describes: checks of the VM-wide
 * keys, /dev/kvm, the in-kernel irqchip (PIC, IOAPIC, LAPICs) with ISA
 * routing as a PC has it, the PIT, guest memory and the vCPUs.
 *
 * Errors: -EINVAL for a bad configuration (hyve exits 2), -EIO for the
 * host or KVM failing (exit 4); the message is logged either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ctl_proto.h"
#include "state.h"
#include "vm_priv.h"

#define KVM_TSS_ADDR		0xfffbd000ULL
#define KVM_IDMAP_ADDR		0xfffbc000ULL

static void
fmt_size(char *buf, size_t size, uint64_t v)
{
	static const char *const unit[] = { "", "K", "M", "G", "T" };
	unsigned i = 0;

	while (i < 4 && v >= 1024 && v % 1024 == 0) {
		v /= 1024;
		i++;
	}
	snprintf(buf, size, "%" PRIu64 "%s", v, unit[i]);
}

/* memory.size and -m: bhyve's rule, a bare number is MiB. */
int
vm_parse_memsize(const char *s, uint64_t *out)
{
	size_t n = strspn(s, "0123456789");
	int rc;

	if (n > 0 && s[n] == '\0') {
		if ((rc = cfg_parse_size(s, out)) != 0)
			return rc;
		if (*out > (UINT64_MAX >> 20))
			return -ERANGE;
		*out <<= 20;
		return 0;
	}
	return cfg_parse_size(s, out);
}

int
vm_params_get(const struct cfg *cfg, struct vm_params *p, char *err,
    size_t errlen)
{
	const struct cfg_ent *name = cfg_lookup(cfg, "name");
	const struct cfg_ent *cpus = cfg_lookup(cfg, "cpus");
	const struct cfg_ent *mem = cfg_lookup(cfg, "memory.size");
	uint64_t ncpus = VM_DEFAULT_CPUS, size = VM_DEFAULT_MEM, limit;
	char a[32], b[32];

	memset(p, 0, sizeof(*p));
	if (name == NULL) {
		snprintf(err, errlen, "no VM name: give one as the last argument "
		    "or as name=NAME");
		return -EINVAL;
	}
	if (!ctl_name_valid(name->val)) {
		snprintf(err, errlen, "invalid VM name '%s': 1-64 letters, "
		    "digits, '-', '_' or '.', not starting with '.' or '-'",
		    name->val);
		return -EINVAL;
	}
	if (cpus != NULL && (cfg_parse_u64(cpus->val, &ncpus) != 0 ||
	    ncpus < 1 || ncpus > VM_MAX_CPUS)) {
		snprintf(err, errlen, "cpus: '%s' is not a vCPU count from 1 to "
		    "%d", cpus->val, VM_MAX_CPUS);
		return -EINVAL;
	}
	if (mem != NULL && vm_parse_memsize(mem->val, &size) != 0) {
		snprintf(err, errlen, "memory.size: '%s' is not a size "
		    "(N[K|M|G|T], a bare number is MiB)", mem->val);
		return -EINVAL;
	}
	if (size < VM_MIN_MEM || size % 4096 != 0) {
		fmt_size(a, sizeof(a), size);
		snprintf(err, errlen, "memory.size: %s is %s bytes; it must be "
		    "at least 2M and a multiple of 4K", mem != NULL ? mem->val :
		    "default", a);
		return -EINVAL;
	}
	limit = vm_mem_host_limit();
	if (limit != 0 && size > limit) {
		fmt_size(a, sizeof(a), size);
		snprintf(b, sizeof(b), "%.1fG", (double)limit / (1 << 30));
		snprintf(err, errlen, "memory.size: %s is more than this host can "
		    "give (%s available: MemAvailable + SwapFree)", a, b);
		return -EINVAL;
	}
	snprintf(p->name, sizeof(p->name), "%s", name->val);
	p->ncpus = (unsigned)ncpus;
	p->mem_size = size;
	return 0;
}

/* The VM-wide keys: name, cpus, memory.size, x86.*. */
static int
vm_params(struct vm *vm)
{
	const char *name = cfg_get(vm->cfg, "name");
	struct vm_params p;
	char err[256];

	(void)cfg_get(vm->cfg, "cpus");
	(void)cfg_get(vm->cfg, "memory.size");
	/* A valid name prefixes the messages, about the other keys too. */
	if (name != NULL && ctl_name_valid(name))
		snprintf(vm->name, sizeof(vm->name), "%s", name);
	if (vm_params_get(vm->cfg, &p, err, sizeof(err)) != 0) {
		vm_log(vm, "%s", err);
		return -EINVAL;
	}
	vm->ncpus = p.ncpus;
	vm->mem_size = p.mem_size;
	if (vm_cfg_get_bool(vm, "x86.strictio", true, &vm->strictio) != 0 ||
	    vm_cfg_get_bool(vm, "x86.strictmmio", true, &vm->strictmmio) != 0)
		return -EINVAL;
	return 0;
}

static int
kvm_ioctl_log(struct vm *vm, int fd, unsigned long req, void *arg,
    const char *what)
{
	int rc;

	do {
		rc = ioctl(fd, req, arg);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		vm_log(vm, "%s: %s", what, strerror(errno));
		return -EIO;
	}
	return rc;
}

/*
 * ISA IRQs as on a PC with its MADT: IRQ n on PIC pin n and IOAPIC pin n,
 * except IRQ 0 (the PIT) on IOAPIC pin 2 (the MADT's interrupt source
 * override) and IRQ 2 (the PIC cascade) nowhere; GSIs 16-23 on the IOAPIC.
 */
static int
setup_routing(struct vm *vm)
{
	struct kvm_irq_routing *rt;
	unsigned gsi, n = 0;
	int rc;

	rt = calloc(1, sizeof(*rt) + 64 * sizeof(rt->entries[0]));
	if (rt == NULL)
		return -EIO;
	for (gsi = 0; gsi < VM_NR_GSIS; gsi++) {
		if (gsi < 16 && gsi != 2) {
			rt->entries[n++] = (struct kvm_irq_routing_entry){
			    .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			    .u.irqchip = { .irqchip = gsi < 8 ?
			    KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
			    .pin = gsi % 8 } };
		}
		if (gsi == 2)
			continue;
		rt->entries[n++] = (struct kvm_irq_routing_entry){
		    .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
		    .u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC,
		    .pin = gsi == 0 ? 2 : gsi } };
	}
	rt->nr = n;
	rc = kvm_ioctl_log(vm, vm->vm_fd, KVM_SET_GSI_ROUTING, rt,
	    "KVM_SET_GSI_ROUTING");
	free(rt);
	return rc < 0 ? rc : 0;
}

static int
get_supported_cpuid(struct vm *vm)
{
	int rc = kvm_supported_cpuid(vm->kvm_fd, &vm->supported_cpuid);

	if (rc == 0)
		return 0;
	vm_log(vm, "KVM_GET_SUPPORTED_CPUID: %s", rc == -E2BIG ?
	    "too many entries" : strerror(-rc));
	return -EIO;
}

static int
kvm_open(struct vm *vm)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
		{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};
	size_t i;
	int v, max;

	if ((vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		vm_log(vm, "cannot open /dev/kvm: %s%s", strerror(errno),
		    errno == ENOENT ? " (no KVM on this host)" : "");
		return -EIO;
	}
	if ((v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0)) != KVM_API_VERSION) {
		vm_log(vm, "/dev/kvm: API version %d, hyve needs %d", v,
		    KVM_API_VERSION);
		return -EIO;
	}
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			vm_log(vm, "this KVM lacks %s, which hyve needs",
			    need[i].name);
			return -EIO;
		}
	}
	max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && vm->ncpus > (unsigned)max) {
		vm_log(vm, "cpus: %u is more than this KVM allows (%d)",
		    vm->ncpus, max);
		return -EINVAL;
	}
	if ((vm->run_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE,
	    0)) <= 0) {
		vm_log(vm, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -EIO;
	}
	do {
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	} while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		vm_log(vm, "KVM_CREATE_VM: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

int
vm_create(struct cfg *cfg, struct vm **vmp)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_IDMAP_ADDR;
	struct vm *vm;
	unsigned i;
	int rc;

	*vmp = NULL;
	if ((vm = vm_alloc(cfg)) == NULL) {
		cfg_free(cfg);
		return -EIO;
	}
	*vmp = vm;
	if ((rc = vm_params(vm)) != 0)
		return rc;
	if ((rc = kvm_open(vm)) != 0)
		return rc;
	if ((vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		vm_log(vm, "eventfd: %s", strerror(errno));
		return -EIO;
	}
	if ((rc = kvm_ioctl_log(vm, vm->vm_fd, KVM_SET_TSS_ADDR,
	    (void *)(uintptr_t)KVM_TSS_ADDR, "KVM_SET_TSS_ADDR")) < 0)
		return rc;
	if ((rc = kvm_ioctl_log(vm, vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR,
	    &idmap, "KVM_SET_IDENTITY_MAP_ADDR")) < 0)
		return rc;
	if ((rc = kvm_ioctl_log(vm, vm->vm_fd, KVM_CREATE_IRQCHIP, NULL,
	    "KVM_CREATE_IRQCHIP")) < 0)
		return rc;
	if ((rc = setup_routing(vm)) != 0)
		return rc;
	if ((rc = kvm_ioctl_log(vm, vm->vm_fd, KVM_CREATE_PIT2, &pit,
	    "KVM_CREATE_PIT2")) < 0)
		return rc;
	if ((rc = vm_mem_init(vm, vm->mem_size)) != 0) {
		vm_log(vm, "cannot map %" PRIu64 " bytes of guest memory: %s",
		    vm->mem_size, strerror(-rc));
		return -EIO;
	}
	if (vm_mem_kvm_register(vm) != 0)
		return -EIO;
	if ((rc = get_supported_cpuid(vm)) != 0)
		return rc;
	if ((vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus))) == NULL)
		return -EIO;
	for (i = 0; i < vm->ncpus; i++)
		vm->vcpus[i].fd = -1;
	for (i = 0; i < vm->ncpus; i++) {
		if (vcpu_create(vm, i) != 0 ||
		    vcpu_setup_cpuid(&vm->vcpus[i]) != 0 ||
		    vcpu_setup_lapic(&vm->vcpus[i]) != 0)
			return -EIO;
	}
	/* What a checkpoint of this VM's vCPUs holds (vmm/state.c). */
	rc = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	vm->xsave2 = rc > (int)sizeof(struct kvm_xsave);
	vm->xsave_size = vm->xsave2 ? (size_t)rc : sizeof(struct kvm_xsave);
	/*
	 * KVM_GET_XCRS answers nr_xcrs = 0 when the host has no XSAVE, and
	 * KVM_SET_XCRS then fails whatever it is given: remember which.
	 */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0) {
		struct kvm_xcrs x = { .nr_xcrs = 0 };
		if (ioctl(vm->vcpus[0].fd, KVM_GET_XCRS, &x) == 0)
			vm->has_xcrs = x.nr_xcrs > 0;
	}
	if (vm_msr_list_init(vm) != 0)
		return -EIO;
	return 0;
}
