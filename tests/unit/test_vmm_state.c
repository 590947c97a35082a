/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Saving and restoring the whole state of a running VM, in one process:
 * the test guest runs in VM "a", is paused mid-workload, its KVM state
 * (irqchip, PIT, clock, every vCPU) and devices are saved into a checkpoint
 * document, which goes through its JSON text and back; a fresh VM "b" with
 * the same configuration gets a copy of the RAM and the restored state and
 * runs the workload to the end.  Its verdict must match an uninterrupted
 * run's (churn: the same checksum; ticks: the timer keeps ticking).
 * Without /dev/kvm it skips; the device state round trip runs anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "uart.h"

#include "test_check.h"

static char tmpdir[] = "/tmp/hyve-test-state-XXXXXX";
/* Restore the TSC without KVM's offset attribute, as before Linux 5.16. */
static bool tsc_by_msr;
static char guest[512];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static struct vm *
make_vm(const char *name, unsigned ncpus, const char *append, bool boot)
{
	char err[256], path[600], num[16];
	struct cfg *cfg = cfg_new();
	struct vm *vm;

	snprintf(path, sizeof(path), "%s/%s.console", tmpdir, name);
	snprintf(num, sizeof(num), "%u", ncpus);
	CHECK(cfg_set(cfg, "name", name, "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "cpus", num, "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "memory.size", "64M", "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "lpc.com1.path", path, "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "boot.kernel", guest, "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "boot.append", append, "t", err, sizeof(err)) == 0);
	if (vm_create(cfg, &vm) != 0 || vm_devs_init(vm) != 0 ||
	    (boot && vm_boot_setup(vm) != 0)) {
		vm_free(vm);
		return NULL;
	}
	return vm;
}

static bool
run_until(struct vm *vm, const char *console, const char *text, double secs)
{
	double t0 = now();

	while (now() - t0 < secs) {
		if (text != NULL && strstr(slurp(console), text) != NULL)
			return true;
		if (text == NULL && atomic_load(&vm->run.stopping))
			return true;
		usleep(2000);
	}
	return false;
}

static void
finish(struct vm *vm)
{
	vcpus_join(vm);
	vm_free(vm);
}

/* Save the configuration, VM, vCPUs and devices of a paused @vm. */
static ckp_doc_t *
save(struct vm *vm)
{
	ckp_doc_t *doc = ckp_doc_new("hyve test");
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_SAVE);

	CHECK(cfg_save_ckp(vm->cfg, ckp_sec_add(ckp_doc_root(doc), "config",
	    1)) == 0);
	CHECK(vm_save_state(vm, io) == 0);
	if (ckp_doc_error(doc) != 0)
		fprintf(stderr, "save: %s\n", ckp_doc_errmsg(doc));
	ckp_io_free(io);
	return doc;
}

static void
warn(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "restore warning: %s\n", msg);
	failures++;	/* a complete round trip leaves nothing unread */
}

/* Restore everything into @vm (fill and check first, then apply). */
static int
restore(struct vm *vm, ckp_doc_t *doc)
{
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_RESTORE);
	struct vm_restore *r = NULL;
	int rc;

	ckp_doc_set_warn(doc, warn, NULL);
	if ((rc = vm_restore_state(vm, io, &r)) != 0)
		fprintf(stderr, "restore: %s\n", ckp_doc_errmsg(doc));
	else
		rc = vm_apply_state(vm, r);
	vm_restore_free(r);
	ckp_io_free(io);
	return rc;
}

/* A checkpoint that does not fit the VM is refused before anything changes. */
static void
refused(ckp_doc_t *doc, const char *name, unsigned ncpus, const char *mem,
    const char *want)
{
	char err[256], num[8];
	struct cfg *cfg = cfg_new();
	struct vm_restore *r = NULL;
	ckp_io_t *io;
	struct vm *vm;

	snprintf(num, sizeof(num), "%u", ncpus);
	cfg_set(cfg, "name", name, "t", err, sizeof(err));
	cfg_set(cfg, "cpus", num, "t", err, sizeof(err));
	cfg_set(cfg, "memory.size", mem, "t", err, sizeof(err));
	cfg_set(cfg, "lpc.com1.path", "/dev/null", "t", err, sizeof(err));
	CHECK(vm_create(cfg, &vm) == 0 && vm_devs_init(vm) == 0);
	ckp_doc_clear_error(doc);
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	CHECK(vm_restore_state(vm, io, &r) != 0 && r == NULL);
	if (strstr(ckp_doc_errmsg(doc), want) == NULL) {
		fprintf(stderr, "refusal '%s' lacks '%s'\n",
		    ckp_doc_errmsg(doc), want);
		failures++;
	}
	ckp_io_free(io);
	ckp_doc_clear_error(doc);
	vm_free(vm);
}

static uint64_t
u64_at(ckp_doc_t *doc, const char *path)
{
	ckp_ent_t *e = ckp_doc_find(doc, path);
	char *t = e != NULL ? ckp_ent_text(e) : NULL;
	uint64_t v = t != NULL ? strtoull(t, NULL, 16) : 0;

	free(t);
	return v;
}

/*
 * What KVM holds once the restore is applied, read back before the guest
 * runs, must be what was saved: the registers exactly, the TSC not behind
 * (KVM may take a host TSC write for a synchronization and keep its own
 * value: a guest whose TSC went back faulted after its restore on kvm_amd).
 */
static void
readback(struct vm *b, ckp_doc_t *saved, unsigned ncpus, double secs)
{
	static const char *const same[] = { "rip", "rsp", "rflags", "cr0",
	    "cr3", "cr4", "efer", "xsave", "events", "debugregs", "tr",
	    "cs", "ss", "gdt", "idt", "msrs.lstar", "msrs.pat" };
	ckp_doc_t *now = save(b);
	uint32_t khz = 0;
	uint64_t max_ticks;
	char p[128];
	unsigned i, k;

	(void)ckp_sec_get_uint32(ckp_ent_section(ckp_doc_find(saved,
	    "vm.clock")), "tsc_khz", &khz);
	/* the time since the save, and 100 ms for the reads themselves */
	max_ticks = (uint64_t)((secs + 0.1) * (double)khz * 1000.0);

	for (i = 0; i < ncpus; i++) {
		for (k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
			ckp_ent_t *x, *y;
			snprintf(p, sizeof(p), "devices.vcpu@%u.%s", i, same[k]);
			x = ckp_doc_find(saved, p);
			y = ckp_doc_find(now, p);
			if ((x == NULL) != (y == NULL) ||
			    (x != NULL && !ckp_ent_equal(x, y))) {
				fprintf(stderr, "read back after the restore: "
				    "%s differs\n", p);
				failures++;
			}
		}
		/*
		 * It runs on from the value saved (the highest of the vCPUs',
		 * read one after the other), no faster than real time.
		 */
		snprintf(p, sizeof(p), "devices.vcpu@%u.msrs.tsc", i);
		if (u64_at(now, p) < u64_at(saved, p) ||
		    u64_at(now, p) - u64_at(saved, p) > max_ticks) {
			fprintf(stderr, "read back after the restore: %s is "
			    "%#llx, saved %#llx %.1f ms before (at most %#llx "
			    "later)\n", p, (unsigned long long)u64_at(now, p),
			    (unsigned long long)u64_at(saved, p), secs * 1e3,
			    (unsigned long long)max_ticks);
			failures++;
		}
	}
	ckp_doc_free(now);
}

static void
copy_ram(struct vm *dst, struct vm *src)
{
	unsigned i;

	CHECK(dst->nmem == src->nmem);
	for (i = 0; i < src->nmem && i < dst->nmem; i++) {
		CHECK(dst->mem[i].size == src->mem[i].size);
		memcpy(dst->mem[i].host, src->mem[i].host, src->mem[i].size);
	}
}

static const char *
verdict(const char *console, const char *prefix)
{
	static char line[128];
	const char *p = strstr(console, prefix);
	size_t n;

	if (p == NULL)
		return "";
	n = strcspn(p, "\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	return line;
}

/*
 * Run @append to the end in one VM; then again, moved mid-way (after
 * @mark appears on the console) into a second VM.  The verdicts must match.
 */
static void
migrate(unsigned ncpus, const char *append, const char *mark,
    const char *prefix)
{
	char ca[600], cb[600], cr[600], ref[128];
	struct vm *a, *b, *r;
	ckp_doc_t *doc, *doc2;
	void *buf = NULL;
	size_t len = 0;
	double t;

	/* the reference, uninterrupted */
	snprintf(cr, sizeof(cr), "%s/ref.console", tmpdir);
	r = make_vm("ref", ncpus, append, true);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(vm_devs_start(r) == 0 && vcpus_start(r) == 0);
	CHECK(run_until(r, cr, NULL, 60));
	CHECK(r->run.stop_reason == VM_STOP_POWEROFF &&
	    r->run.stop_status == 0);
	finish(r);
	snprintf(ref, sizeof(ref), "%s", verdict(slurp(cr), prefix));
	CHECK(ref[0] != '\0');

	snprintf(ca, sizeof(ca), "%s/a.console", tmpdir);
	snprintf(cb, sizeof(cb), "%s/b.console", tmpdir);
	a = make_vm("a", ncpus, append, true);
	CHECK(a != NULL);
	if (a == NULL)
		return;
	CHECK(vm_devs_start(a) == 0 && vcpus_start(a) == 0);
	CHECK(run_until(a, ca, mark, 30));
	t = now();
	CHECK(vm_pause_vcpus(a) == 0);
	doc = save(a);
	/* through the text encoding and back */
	CHECK(ckp_doc_encode(doc, CKP_ENC_JSON, &buf, &len) == 0);
	doc2 = ckp_doc_decode(buf, len, "memory", 0);
	CHECK(doc2 != NULL && ckp_doc_error(doc2) == 0);
	if (getenv("HYVE_TEST_DUMP") != NULL)
		fwrite(buf, 1, len, stderr);

	b = make_vm("b", ncpus, append, false);
	CHECK(b != NULL);
	if (b != NULL) {
		b->tsc_no_attr = tsc_by_msr;
		copy_ram(b, a);
		CHECK(restore(b, doc2) == 0);
		readback(b, doc2, ncpus, now() - t);
	}
	printf("%u vCPUs, \"%s\": checkpoint of %zu bytes of JSON, moved in "
	    "%.1f ms\n", ncpus, append, len, (now() - t) * 1e3);
	if (ncpus == 2 && strncmp(prefix, "CHURN", 5) == 0) {
		ckp_doc_t *d3 = ckp_doc_decode(buf, len, "memory", 0);
		ckp_doc_set_warn(d3, NULL, NULL);
		refused(d3, "c1", 1, "64M", "the checkpoint holds state for "
		    "more vCPUs than the 1 configured");
		refused(d3, "m", 2, "32M", "memory.size: the checkpoint holds "
		    "64 MiB of RAM, the configuration asks for 32 MiB");
		ckp_sec_add(ckp_sec_find(ckp_doc_root(d3), "devices"),
		    "floppy", 1);
		refused(d3, "d", 2, "64M", "devices.floppy: no such device");
		ckp_doc_free(d3);
	}
	/* the original stops where it was paused */
	vm_request_stop(a, VM_STOP_SIGNAL, 15, "moved");
	finish(a);
	CHECK(strstr(slurp(ca), prefix) == NULL);	/* it did not finish */
	if (b != NULL) {
		CHECK(vm_devs_start(b) == 0 && vcpus_start(b) == 0);
		CHECK(run_until(b, cb, NULL, 60));
		CHECK(b->run.stop_reason == VM_STOP_POWEROFF);
		CHECK(b->run.stop_status == 0);
		finish(b);
		if (strcmp(verdict(slurp(cb), prefix), ref) != 0 &&
		    strncmp(prefix, "TICKS", 5) != 0) {
			fprintf(stderr, "after the move: '%s', uninterrupted: "
			    "'%s'\n", verdict(slurp(cb), prefix), ref);
			failures++;
		}
		CHECK(verdict(slurp(cb), prefix)[0] != '\0');
		CHECK(strstr(slurp(cb), "GUEST EXIT status=0") != NULL);
		CHECK(strstr(slurp(cb), "HYVE-GUEST") == NULL);	/* no reboot */
	}
	free(buf);
	ckp_doc_free(doc);
	ckp_doc_free(doc2);
}

/* Devices alone, no KVM: save, tamper, restore into a new instance. */
static void
devices_roundtrip(void)
{
	struct vm *v1 = vm_new_for_test(4 << 20), *v2 = vm_new_for_test(4 << 20);
	struct dev *u1, *u2;
	struct uart_softc *s1, *s2;
	ckp_doc_t *doc;
	ckp_io_t *io;
	uint64_t v;

	vm_test_cfg_set(v1, "lpc.com1.path", "/dev/null");
	vm_test_cfg_set(v2, "lpc.com1.path", "/dev/null");
	u1 = vm_test_dev_add(v1, "uart", "lpc.com1", "uart@0");
	u2 = vm_test_dev_add(v2, "uart", "lpc.com1", "uart@0");
	CHECK(u1 != NULL && u2 != NULL);
	s1 = u1->softc;
	s2 = u2->softc;
	v = FCR_ENABLE | 0x80;
	vm_test_pio(v1, 0x3fa, 1, true, &v);
	v = MCR_OUT2 | MCR_DTR;
	vm_test_pio(v1, 0x3fc, 1, true, &v);
	v = IER_ERBFI;
	vm_test_pio(v1, 0x3f9, 1, true, &v);
	uart_rx_input(s1, (const uint8_t *)"0123456789", 10);
	vm_test_pio(v1, 0x3f8, 1, false, &v);	/* '0' out; FIFO wraps later */
	uart_rx_input(s1, (const uint8_t *)"abcdefg", 7);

	doc = ckp_doc_new("t");
	io = ckp_io_new(doc, CKP_IO_SAVE);
	ckp_io_enter(io, "uart@0", 1);
	CHECK(u1->emu->save(u1, io) == 0);
	ckp_io_leave(io);
	ckp_io_free(io);
	io = ckp_io_new(doc, CKP_IO_RESTORE);
	ckp_io_enter(io, "uart@0", 1);
	CHECK(u2->emu->restore(u2, io) == 0);
	ckp_io_leave(io);
	ckp_io_free(io);
	CHECK(u2->emu->resume(u2) == 0);
	CHECK(s2->rx_count == 16 && s2->fcr == s1->fcr && s2->mcr == s1->mcr);
	CHECK(vm_test_irq_level(v2, 4) == 1);	/* line re-driven on resume */
	{
		char got[17] = "";
		for (int i = 0; i < 16; i++) {
			vm_test_pio(v2, 0x3f8, 1, false, &v);
			got[i] = (char)v;
		}
		CHECK(strcmp(got, "123456789abcdefg") == 0);
	}
	/* a tampered checkpoint is refused with the field named */
	{
		ckp_ent_t *e = ckp_doc_find(doc, "uart@0.ier");
		CHECK(e != NULL && ckp_ent_set_text(e, "255") == 0);
		io = ckp_io_new(doc, CKP_IO_RESTORE);
		ckp_io_enter(io, "uart@0", 1);
		CHECK(u2->emu->restore(u2, io) == -EINVAL);
		CHECK(strstr(ckp_doc_errmsg(doc), "uart@0: ier") != NULL);
		ckp_io_leave(io);
		ckp_io_free(io);
	}
	ckp_doc_free(doc);
	vm_free(v1);
	vm_free(v2);
}

/* ------------------------------------------------------------------------ */
/* What KVM refuses, refused first (vcpu_state_check, vcpu_state_precheck)    */
/* ------------------------------------------------------------------------ */

static struct kvm_cpuid_entry2 good_cpuid[] = {
	{ .function = 1, .ecx = (1U << 21) | (1U << 26) },	/* x2APIC, XSAVE */
	{ .function = 7 },
	{ .function = 0xd, .eax = 0x7 },			/* x87, SSE, AVX */
	{ .function = 0x80000000, .eax = 0x80000021 },
	{ .function = 0x80000001, .edx = (1U << 29) | (1U << 20) }, /* LM, NX */
	{ .function = 0x80000008, .eax = 0x30 },		/* 48 bits */
	{ .function = 0x80000021 },
};
#define NGOOD	(sizeof(good_cpuid) / sizeof(good_cpuid[0]))

static const struct vcpu_host good_host = { .known = true, .xcr0 = 0x7,
    .mxcsr_mask = 0xffbf, .smm = false };

/* A vCPU in 64-bit mode with nothing KVM would refuse. */
static void
good_state(struct vcpu_state *s, uint8_t *xsave)
{
	uint32_t mxcsr = 0x1f80;
	uint64_t bv = 0x3;

	memset(s, 0, sizeof(*s));
	memset(xsave, 0, 4096);
	memcpy(xsave + 24, &mxcsr, 4);
	memcpy(xsave + 512, &bv, 8);
	s->xsave = xsave;
	s->xsave_size = 4096;
	s->sregs.cr0 = 0x80050033;
	s->sregs.cr3 = 0x10b000;
	s->sregs.cr4 = 0x6a0;		/* PAE, PGE, OSFXSR, OSXMMEXCPT */
	s->sregs.efer = 0x500;		/* LME, LMA */
	s->sregs.cs.l = 1;
	s->sregs.apic_base = 0xfee00900;	/* enabled, BSP */
	s->xcrs.nr_xcrs = 1;
	s->xcrs.xcrs[0].value = 0x7;
	s->events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
	    KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	s->dregs.dr6 = 0xffff0ff0;
	s->dregs.dr7 = 0x400;
	s->nmsrs = 2;
	s->msrs[0].index = 0x1b;
	s->msrs[0].data = 0xfee00900;
	s->msrs[1].index = 0xc0000080;
	s->msrs[1].data = 0x500;
}

/* @s must be refused with a message naming devices.vcpu@0.@field. */
static void
expect_refused(const struct vcpu_state *s, const struct kvm_cpuid_entry2 *c,
    uint32_t n, const struct vcpu_host *h, const char *field, int line)
{
	char err[512] = "", want[96];

	snprintf(want, sizeof(want), "devices.vcpu@0.%s", field);
	if (vcpu_state_check(s, c, n, h, "devices.vcpu@0", err,
	    sizeof(err)) != -EINVAL || strncmp(err, want, strlen(want)) != 0) {
		fprintf(stderr, "line %d: wanted a refusal naming %s, got '%s'\n",
		    line, want, err);
		failures++;
	}
}

static void
expect_ok(const struct vcpu_state *s, const struct kvm_cpuid_entry2 *c,
    uint32_t n, const struct vcpu_host *h, int line)
{
	char err[512] = "";

	if (vcpu_state_check(s, c, n, h, "devices.vcpu@0", err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "line %d: refused: %s\n", line, err);
		failures++;
	}
}

#define REFUSED(field)	expect_refused(&s, good_cpuid, NGOOD, &good_host, \
	(field), __LINE__)
#define OK()		expect_ok(&s, good_cpuid, NGOOD, &good_host, __LINE__)

static void
vcpu_checks(void)
{
	static uint8_t xsave[4096];
	struct kvm_cpuid_entry2 c[NGOOD];
	struct vcpu_host smm_host = good_host;
	struct vcpu_state s;
	unsigned i;

	good_state(&s, xsave);
	OK();
	/* The same state without a known host or CPUID passes too. */
	expect_ok(&s, NULL, 0, NULL, __LINE__);

	/* apic_base, as kvm_apic_set_base() takes it from userspace. */
	s.sregs.apic_base = ~0ULL;
	REFUSED("apic_base");
	s.sregs.apic_base = 0xfee00900 | 1ULL << 48;	/* MAXPHYADDR 48 */
	REFUSED("apic_base");
	s.sregs.apic_base = 0xfee00900 | 1ULL << 47;
	OK();
	s.sregs.apic_base = 0xfee00900 | 1ULL << 47;
	expect_refused(&s, NULL, 0, &good_host, "apic_base", __LINE__);	/* 36 */
	s.sregs.apic_base = 0xfee00001;			/* reserved bit 0 */
	REFUSED("apic_base");
	s.sregs.apic_base = 0xfee00400;			/* x2APIC, disabled */
	REFUSED("apic_base");
	s.sregs.apic_base = 0xfee00c00;			/* x2APIC mode */
	OK();
	memcpy(c, good_cpuid, sizeof(c));
	c[0].ecx &= ~(1U << 21);
	expect_refused(&s, c, NGOOD, &good_host, "apic_base", __LINE__);
	s.sregs.apic_base = 0xfee00000;			/* disabled, an AP */
	OK();
	good_state(&s, xsave);
	s.msrs[0].data = ~0ULL;
	REFUSED("msrs.apic_base");

	/* dr6, dr7: KVM_SET_DEBUGREGS wants their upper halves clear. */
	good_state(&s, xsave);
	s.dregs.dr6 = ~0ULL;
	REFUSED("debugregs.dr6");
	s.dregs.dr6 = 0xffffffff;
	OK();
	s.dregs.dr7 = ~0ULL;
	REFUSED("debugregs.dr7");
	s.dregs.dr7 = 0x400;
	s.dregs.flags = 1;
	REFUSED("debugregs.flags");

	/* Events and MP state. */
	good_state(&s, xsave);
	s.events.flags = ~0U;
	REFUSED("events.flags");
	s.events.flags = KVM_VCPUEVENT_VALID_PAYLOAD;	/* not enabled */
	REFUSED("events.flags");
	s.events.flags = 0;
	s.events.exception.injected = 1;
	s.events.exception.nr = 200;
	REFUSED("events.exception_nr");
	s.events.exception.nr = 2;			/* the NMI vector */
	REFUSED("events.exception_nr");
	s.events.exception.nr = 14;
	OK();
	s.events.exception.injected = 0;
	s.events.exception.nr = 200;			/* nothing pending */
	OK();
	s.events.exception.pending = 1;
	REFUSED("events.exception_nr");
	good_state(&s, xsave);
	s.events.nmi.injected = 2;
	REFUSED("events.nmi_injected");
	s.events.nmi.injected = 0;
	s.events.interrupt.shadow = 4;
	REFUSED("events.interrupt_shadow");
	s.events.interrupt.shadow = 3;
	OK();
	s.events.smi.smm = 1;
	REFUSED("events.smi_smm");			/* no SMM on that host */
	smm_host.smm = true;
	expect_ok(&s, good_cpuid, NGOOD, &smm_host, __LINE__);
	s.mp.mp_state = KVM_MP_STATE_INIT_RECEIVED;	/* INIT latched in SMM */
	expect_refused(&s, good_cpuid, NGOOD, &smm_host, "mp_state",
	    __LINE__);
	good_state(&s, xsave);
	for (i = 0; i <= 12; i++) {
		s.mp.mp_state = i;
		if (i <= KVM_MP_STATE_SIPI_RECEIVED ||
		    i == KVM_MP_STATE_AP_RESET_HOLD)
			OK();
		else
			REFUSED("mp_state");
	}

	/* The XSAVE area: header, XSTATE_BV, MXCSR. */
	good_state(&s, xsave);
	srand(42);
	for (i = 0; i < sizeof(xsave); i++)
		xsave[i] = (uint8_t)rand();
	REFUSED("xsave");
	good_state(&s, xsave);
	xsave[520] = 1;				/* XCOMP_BV: compacted */
	REFUSED("xsave");
	good_state(&s, xsave);
	xsave[540] = 1;				/* reserved header byte */
	REFUSED("xsave");
	good_state(&s, xsave);
	xsave[513] = 0x2;			/* XSTATE_BV bit 9, PKRU */
	REFUSED("xsave");
	expect_ok(&s, good_cpuid, NGOOD, NULL, __LINE__);	/* host unknown */
	good_state(&s, xsave);
	xsave[24] = 0xc0;			/* MXCSR DAZ: not in 0xffbf */
	REFUSED("xsave");
	memset(xsave + 24, 0xff, 4);
	expect_refused(&s, good_cpuid, NGOOD, NULL, "xsave", __LINE__);
	s.xsave_size = 100;
	REFUSED("xsave");

	/* xcr0 as __kvm_set_xcr() takes it. */
	good_state(&s, xsave);
	s.xcrs.xcrs[0].value = 0;
	REFUSED("xcrs.xcr0");
	s.xcrs.xcrs[0].value = 0x5;		/* AVX without SSE */
	REFUSED("xcrs.xcr0");
	s.xcrs.xcrs[0].value = 0x27;		/* opmask alone */
	REFUSED("xcrs.xcr0");
	s.xcrs.xcrs[0].value = 0xb;		/* BNDREGS without BNDCSR */
	REFUSED("xcrs.xcr0");
	s.xcrs.xcrs[0].value = 0x207;		/* PKRU: not in leaf 0xD */
	REFUSED("xcrs.xcr0");
	s.xcrs.xcrs[0].value = 0x3;
	OK();

	/* Control registers and the 64-bit mode invariants. */
	good_state(&s, xsave);
	s.sregs.cr0 |= 1ULL << 40;
	REFUSED("cr0");
	s.sregs.cr0 = 0x20000001;		/* NW without CD */
	REFUSED("cr0");
	s.sregs.cr0 = 0x80000000;		/* PG without PE */
	REFUSED("cr0");
	good_state(&s, xsave);
	s.sregs.cr4 |= 1ULL << 14;		/* SMXE: KVM never takes it */
	REFUSED("cr4");
	expect_refused(&s, NULL, 0, NULL, "cr4", __LINE__);
	s.sregs.cr4 &= ~(1ULL << 14);
	s.sregs.cr4 |= 1ULL << 18;		/* OSXSAVE with XSAVE: fine */
	OK();
	s.sregs.cr4 |= 1ULL << 20;		/* SMEP: not in leaf 7 */
	REFUSED("cr4");
	expect_ok(&s, NULL, 0, NULL, __LINE__);	/* CPUID unknown */
	good_state(&s, xsave);
	s.sregs.efer |= 1ULL << 20;
	REFUSED("efer");
	s.sregs.efer = 0x100;			/* LME, paging on, no LMA */
	REFUSED("efer");
	s.sregs.efer = 0x500;
	s.sregs.cr4 &= ~0x20ULL;		/* long mode without PAE */
	REFUSED("efer");
	good_state(&s, xsave);
	s.sregs.cr3 |= 1ULL << 50;
	REFUSED("cr3");
	good_state(&s, xsave);
	s.sregs.cr0 = 0x11;			/* protected mode, no paging */
	s.sregs.efer = 0x400;			/* LMA outside long mode */
	REFUSED("efer");
	s.sregs.efer = 0;
	REFUSED("cs.l");			/* still a 64-bit cs */
	s.sregs.cs.l = 0;
	OK();
	good_state(&s, xsave);
	s.msrs[1].data = 0x500 | 1ULL << 20;
	REFUSED("msrs.efer");
	/*
	 * The bits KVM takes when the vCPU's CPUID has their feature: SVME
	 * (a guest that loaded kvm_amd), AutoIBRS (Zen 4 guests of 6.3+).
	 */
	good_state(&s, xsave);
	memcpy(c, good_cpuid, sizeof(c));
	s.sregs.efer |= 1ULL << 12;
	s.msrs[1].data = s.sregs.efer;
	REFUSED("efer");
	c[NGOOD - 3].ecx |= 1U << 2;		/* SVM */
	expect_ok(&s, c, NGOOD, &good_host, __LINE__);
	s.sregs.efer |= 1ULL << 21;
	s.msrs[1].data = s.sregs.efer;
	expect_refused(&s, c, NGOOD, &good_host, "efer", __LINE__);
	c[NGOOD - 1].eax |= 1U << 8;		/* AutoIBRS */
	expect_ok(&s, c, NGOOD, &good_host, __LINE__);
	c[NGOOD - 3].edx &= ~(1U << 29);	/* no long mode */
	expect_refused(&s, c, NGOOD, &good_host, "efer", __LINE__);
}

/* The first reading of a document: what the restore will read, checked. */
static void
vcpu_precheck(void)
{
	struct vm *vm = vm_new_for_test(4 << 20);
	static uint8_t xsave[4096];
	struct vcpu_state s;
	ckp_doc_t *doc = ckp_doc_new("t");
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_SAVE);
	ckp_ent_t *e;

	good_state(&s, xsave);
	memcpy(s.cpuid = calloc(NGOOD, sizeof(*s.cpuid)), good_cpuid,
	    sizeof(good_cpuid));
	s.ncpuid = NGOOD;
	ckp_io_enter(io, "devices", 1);
	ckp_io_enter(io, "vcpu@0", VCPU_STATE_VERSION);
	CHECK(vcpu_state_io(vm, io, &s) == 0);
	ckp_io_leave(io);
	ckp_io_leave(io);
	ckp_io_free(io);
	free(s.cpuid);
	CHECK(ckp_doc_error(doc) == 0);
	CHECK(vcpu_state_precheck(doc, 0, 1, &good_host) == 0);
	CHECK(ckp_doc_error(doc) == 0);
	/* The checkpoint's own CPUID decides: no x2APIC there, none here. */
	e = ckp_doc_find(doc, "devices.vcpu@0.apic_base");
	CHECK(e != NULL && ckp_ent_set_text(e, "fee00c00") == 0);
	e = ckp_doc_find(doc, "devices.vcpu@0.cpuid.leaf_00000001_0.ecx");
	CHECK(e != NULL && ckp_ent_set_text(e, "67108864") == 0);
	CHECK(vcpu_state_precheck(doc, 0, 1, &good_host) == -EINVAL);
	CHECK(strstr(ckp_doc_errmsg(doc), "devices.vcpu@0.apic_base "
	    "0xfee00c00: x2APIC") != NULL);
	ckp_doc_clear_error(doc);
	e = ckp_doc_find(doc, "devices.vcpu@0.apic_base");
	CHECK(e != NULL && ckp_ent_set_text(e, "ffffffffffffffff") == 0);
	CHECK(vcpu_state_precheck(doc, 0, 1, &good_host) == -EINVAL);
	CHECK(strstr(ckp_doc_errmsg(doc), "devices.vcpu@0.apic_base") != NULL);
	ckp_doc_clear_error(doc);
	CHECK(ckp_ent_set_text(e, "fee00900") == 0);
	e = ckp_doc_find(doc, "devices.vcpu@0.debugregs.dr7");
	CHECK(e != NULL && ckp_ent_set_text(e, "ffffffffffffffff") == 0);
	CHECK(vcpu_state_precheck(doc, 0, 1, &good_host) == -EINVAL);
	CHECK(strstr(ckp_doc_errmsg(doc), "devices.vcpu@0.debugregs.dr7") !=
	    NULL);
	ckp_doc_clear_error(doc);
	/* A field missing is refused as the restore proper refuses it. */
	CHECK(ckp_sec_remove(ckp_sec_find(ckp_sec_find(ckp_doc_root(doc),
	    "devices"), "vcpu@0"), "rip") == 0);
	CHECK(vcpu_state_precheck(doc, 0, 1, &good_host) != 0);
	CHECK(strstr(ckp_doc_errmsg(doc), "devices.vcpu@0.rip") != NULL);
	/* No such vCPU. */
	ckp_doc_clear_error(doc);
	CHECK(vcpu_state_precheck(doc, 1, 2, &good_host) != 0);
	CHECK(strstr(ckp_doc_errmsg(doc), "vcpu@1") != NULL);
	ckp_doc_free(doc);
	vm_free(vm);
}

int
main(void)
{
	const char *build = getenv("BUILD");
	int fd;

	devices_roundtrip();
	vcpu_checks();
	vcpu_precheck();
	if ((fd = open("/dev/kvm", O_RDWR)) < 0) {
		printf("SKIP: no /dev/kvm (%s); device round trip and vCPU "
		    "checks %s\n",
		    strerror(errno), failures ? "FAILED" : "passed");
		return failures ? 1 : 77;
	}
	close(fd);
	snprintf(guest, sizeof(guest), "%s/guest.elf",
	    build != NULL ? build : "build");
	if (access(guest, R_OK) != 0) {
		fprintf(stderr, "%s is not built\n", guest);
		return 1;
	}
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	migrate(2, "churn 60", "CHURN round 1/", "CHURN OK");
	migrate(1, "churn 60", "CHURN round 1/", "CHURN OK");
	migrate(2, "ticks 60", "HYVE-GUEST", "TICKS OK");
	/* Moved in its first second: KVM would take a TSC write then as a
	 * synchronization and keep its own value (readback()). */
	migrate(1, "ticks 30", "HYVE-GUEST", "TICKS OK");
	tsc_by_msr = true;
	migrate(2, "ticks 30", "HYVE-GUEST", "TICKS OK");
	tsc_by_msr = false;
	if (failures == 0) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		(void)!system(cmd);
	} else {
		fprintf(stderr, "consoles kept in %s\n", tmpdir);
	}
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_state: ok\n");
	return 0;
}
