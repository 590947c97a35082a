/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Pausing every vCPU at a rendezvous and resuming them, on real KVM with
 * three vCPUs: one spinning on a memory counter, one doing port I/O in a
 * loop, one waiting in UNINITIALIZED (blocked inside KVM_RUN).  While
 * paused no counter moves and every vCPU's state can be read; a port read
 * dispatched before the pause is completed (its register results are in
 * the state); resume lets them all run again; a stop while paused ends
 * every thread.  Skips without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vm_priv.h"

#include "test_check.h"

#define CODE0		0x100000	/* inc [0x5000]; jmp */
#define CODE1		0x100010	/* inc [0x5004]; in al, 0x99; jmp */
#define CNT		0x5000
#define TEST_PORT	0x99

static _Atomic uint32_t port_reads;

static int
port_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	(void)opaque; (void)off; (void)size;
	if (!is_write)
		*val = (atomic_fetch_add(&port_reads, 1) + 1) & 0xff;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile uint32_t *counter(struct vm *vm, int i)
{
	return (volatile uint32_t *)vm_gpa_ptr(vm, CNT + 4 * i, 4);
}

/* Wait up to @secs for both counters to move past their values now. */
static bool
both_advance(struct vm *vm, double secs)
{
	uint32_t a = *counter(vm, 0), b = *counter(vm, 1);
	double t0 = now();

	while (now() - t0 < secs) {
		if (*counter(vm, 0) != a && *counter(vm, 1) != b)
			return true;
		usleep(1000);
	}
	return false;
}

static void
check_paused_state(struct vm *vm)
{
	struct kvm_regs r;
	struct kvm_mp_state mp;
	uint32_t c0 = *counter(vm, 0), c1 = *counter(vm, 1);
	uint32_t reads = atomic_load(&port_reads);
	unsigned i;

	CHECK(vm->run.nparked == vm->run.nthreads && vm->run.nthreads == 3);
	for (i = 0; i < 3; i++)
		CHECK(vm->vcpus[i].parked);
	usleep(20000);
	CHECK(*counter(vm, 0) == c0 && *counter(vm, 1) == c1);
	CHECK(atomic_load(&port_reads) == reads);

	CHECK(ioctl(vm->vcpus[0].fd, KVM_GET_REGS, &r) == 0);
	CHECK(r.rip == CODE0 || r.rip == CODE0 + 6);
	CHECK(ioctl(vm->vcpus[1].fd, KVM_GET_REGS, &r) == 0);
	CHECK(r.rip == CODE1 || r.rip == CODE1 + 6 || r.rip == CODE1 + 8);
	/*
	 * The loop keeps counter == port reads except between the inc and
	 * the in.  A read dispatched but not completed would show RIP at
	 * the in with the counts already equal.
	 */
	if (r.rip == CODE1 + 6)
		CHECK(c1 == reads + 1);
	else
		CHECK(c1 == reads);
	if (r.rip == CODE1 + 8)
		CHECK((r.rax & 0xff) == (reads & 0xff));
	CHECK(ioctl(vm->vcpus[2].fd, KVM_GET_MP_STATE, &mp) == 0);
	CHECK(mp.mp_state == KVM_MP_STATE_UNINITIALIZED);
}

int
main(void)
{
	static const uint8_t code0[] = { 0xff, 0x05, 0x00, 0x50, 0x00, 0x00,
	    0xeb, 0xf8 };
	static const uint8_t code1[] = { 0xff, 0x05, 0x04, 0x50, 0x00, 0x00,
	    0xe4, TEST_PORT, 0xeb, 0xf6 };
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct cfg *cfg;
	struct vm *vm;
	char err[256];
	double t, worst = 0, total = 0;
	int fd, i, rc;

	if ((fd = open("/dev/kvm", O_RDWR)) < 0) {
		printf("SKIP: no /dev/kvm (%s)\n", strerror(errno));
		return 77;
	}
	close(fd);
	cfg = cfg_new();
	CHECK(cfg_set(cfg, "name", "pausetest", "test", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "cpus", "3", "test", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "memory.size", "16M", "test", err, sizeof(err)) ==
	    0);
	if ((rc = vm_create(cfg, &vm)) != 0) {
		fprintf(stderr, "vm_create: %d\n", rc);
		vm_free(vm);
		return 1;
	}
	memcpy(vm_gpa_ptr(vm, CODE0, sizeof(code0)), code0, sizeof(code0));
	memcpy(vm_gpa_ptr(vm, CODE1, sizeof(code1)), code1, sizeof(code1));
	CHECK(vm_pio_register(vm, TEST_PORT, 1, port_io, NULL, "test") == 0);
	CHECK(vcpu_setup_pvh(&vm->vcpus[0], CODE0, 0) == 0);
	CHECK(vcpu_setup_pvh(&vm->vcpus[1], CODE1, 0) == 0);
	CHECK(ioctl(vm->vcpus[1].fd, KVM_SET_MP_STATE, &mp) == 0);
	/* vCPU 2 stays UNINITIALIZED: no INIT/SIPI will come. */

	/* a pause before any thread runs: nothing to wait for */
	CHECK(vm_pause_vcpus(vm) == 0);
	vm_resume_vcpus(vm);

	CHECK(vcpus_start(vm) == 0);
	CHECK(both_advance(vm, 10));
	for (i = 0; i < 40; i++) {
		t = now();
		CHECK(vm_pause_vcpus(vm) == 0);
		t = now() - t;
		total += t;
		if (t > worst)
			worst = t;
		check_paused_state(vm);
		vm_resume_vcpus(vm);
		CHECK(both_advance(vm, 5));
		if (failures)
			break;
	}
	printf("pause: %d rounds, mean %.3f ms, worst %.3f ms\n", i,
	    total / (i ? i : 1) * 1e3, worst * 1e3);

	/* back-to-back pause/resume without waiting for progress */
	for (i = 0; i < 200; i++) {
		CHECK(vm_pause_vcpus(vm) == 0);
		CHECK(vm->run.nparked == 3);
		vm_resume_vcpus(vm);
	}
	CHECK(both_advance(vm, 5));

	/* a stop while paused ends every thread; pausing then fails */
	CHECK(vm_pause_vcpus(vm) == 0);
	vm_request_stop(vm, VM_STOP_SIGNAL, 15, "test stop");
	vcpus_join(vm);
	CHECK(vm->run.nthreads == 0);
	CHECK(vm_pause_vcpus(vm) == -ESHUTDOWN);
	CHECK(vm_exit_code(vm) == 128 + 15);
	CHECK(strcmp(vm->run.stop_msg, "test stop") == 0);
	vm_free(vm);
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_pause: ok\n");
	return 0;
}
