/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Checkpoints of a whole VM through vm_checkpoint() and restore_*():
 *  - a device without checkpoint code makes a checkpoint fail, naming it,
 *    before anything is written (no KVM needed);
 *  - checkpoint-and-continue of a churning guest: the RAM file equals the
 *    guest's memory at the moment it was paused (every page, compared
 *    with a copy taken then), although it was written while the guest ran;
 *    the guest goes on to CHURN OK, and the checkpoint restored twice in
 *    new VMs ends with the same checksum;
 *  - suspend: the VM stays paused, nothing runs; restored, it finishes.
 * Skips the KVM parts without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"

#include "test_check.h"

static char tmpdir[] = "/tmp/hyve-test-ckpt-XXXXXX";
static char guest[512];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool
exists(const char *path)
{
	return access(path, F_OK) == 0;
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

/* The workload's verdict: "<prefix> OK ..." or "<prefix> FAIL ...". */
static const char *
verdict(const char *console, const char *prefix)
{
	static char line[256];
	char ok[64], bad[64];
	const char *p;
	size_t n;

	snprintf(ok, sizeof(ok), "%s OK", prefix);
	snprintf(bad, sizeof(bad), "%s FAIL", prefix);
	if ((p = strstr(console, ok)) == NULL)
		p = strstr(console, bad);

	if (p == NULL)
		return "";
	n = strcspn(p, "\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	return line;
}

/* ------------------------------------------------------------------------ */
/* Without KVM                                                               */
/* ------------------------------------------------------------------------ */

static int
nop_init(struct dev *d)
{
	(void)d;
	return 0;
}

static const struct devemu fake_emu = {
	.name = "fake",
	.version = 1,
	.init = nop_init,
};

static void
test_unsaveable(void)
{
	struct vm *vm = vm_new_for_test(8 << 20);
	struct ckpt_opts o = { .kind = CKPT_SUSPEND };
	struct ckpt_stats st;
	char path[600], p2[700], err[512];

	CHECK(vm != NULL && vm_dev_add(vm, &fake_emu, "fake", "fake@0") != NULL);
	snprintf(path, sizeof(path), "%s/x.ckp", tmpdir);
	CHECK(vm_checkpoint(vm, path, &o, &st, err, sizeof(err)) == -ENOTSUP);
	if (strstr(err, "device fake@0 (fake) cannot be saved") == NULL) {
		fprintf(stderr, "message: %s\n", err);
		failures++;
	}
	CHECK(!exists(path));
	snprintf(p2, sizeof(p2), "%s.meta", path);
	CHECK(!exists(p2));
	snprintf(p2, sizeof(p2), "%s.tmp", path);
	CHECK(!exists(p2));
	vm_free(vm);
}

/* ------------------------------------------------------------------------ */
/* With KVM                                                                  */
/* ------------------------------------------------------------------------ */

static struct vm *
make_vm(const char *name, unsigned ncpus, const char *mem, const char *append)
{
	char err[256], path[600], num[16];
	struct cfg *cfg = cfg_new();
	struct vm *vm;

	snprintf(path, sizeof(path), "%s/%s.console", tmpdir, name);
	snprintf(num, sizeof(num), "%u", ncpus);
	CHECK(cfg_set(cfg, "name", name, "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "cpus", num, "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "memory.size", mem, "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "lpc.com1.path", path, "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "boot.kernel", guest, "t", err, sizeof(err)) == 0);
	CHECK(cfg_set(cfg, "boot.append", append, "t", err, sizeof(err)) == 0);
	if (vm_create(cfg, &vm) != 0 || vm_devs_init(vm) != 0 ||
	    vm_boot_setup(vm) != 0 || vm_cfg_check_unused(vm) != 0) {
		vm_free(vm);
		return NULL;
	}
	return vm;
}

static bool
wait_console(struct vm *vm, const char *console, const char *text,
    double secs)
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

/* Run to the end; the verdict line with @prefix ("" if none). */
static const char *
finish(struct vm *vm, const char *console, const char *prefix)
{
	CHECK(wait_console(vm, console, NULL, 120));
	CHECK(vm->run.stop_reason == VM_STOP_POWEROFF &&
	    vm->run.stop_status == 0);
	vcpus_join(vm);
	vm_free(vm);
	return verdict(slurp(console), prefix);
}

struct snap {
	uint8_t	*ram;
	uint64_t size;
	bool	 taken;
};

/* Called with the guest paused: what the checkpoint must hold. */
static void
snapshot(struct vm *vm, void *arg)
{
	struct snap *s = arg;
	unsigned i;

	for (i = 0; i < vm->nmem; i++)
		memcpy(s->ram + vm->mem[i].file_off, vm->mem[i].host,
		    vm->mem[i].size);
	s->taken = true;
}

/* Every page of the RAM file equals the snapshot. */
static void
compare_ram(const char *path, const struct snap *s)
{
	uint8_t *buf = malloc(1 << 20);
	uint64_t off, bad = 0, first = 0;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && buf != NULL);
	for (off = 0; fd >= 0 && buf != NULL && off < s->size; off += 1 << 20) {
		size_t n = s->size - off < (1 << 20) ? s->size - off : 1 << 20;
		CHECK(pread(fd, buf, n, (off_t)off) == (ssize_t)n);
		for (size_t p = 0; p < n; p += 4096) {
			if (memcmp(buf + p, s->ram + off + p, 4096) != 0) {
				if (bad++ == 0)
					first = off + p;
			}
		}
	}
	if (bad != 0) {
		fprintf(stderr, "%s: %llu pages differ from the guest's memory "
		    "at the pause, first at %#llx\n", path,
		    (unsigned long long)bad, (unsigned long long)first);
		failures++;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* Restore @path in this process with com1 on @console; run it to the end. */
static const char *
restore_run(const char *path, const char *name, const char *console,
    const char *prefix)
{
	struct restore_opts ro = { .path = path };
	struct restore_stats st;
	struct restore *r = NULL;
	struct vm *vm = NULL;
	char err[2048];

	ro.overrides = cfg_new();
	CHECK(cfg_set(ro.overrides, "lpc.com1.path", console, "-l", err,
	    sizeof(err)) == 0);
	CHECK(cfg_set(ro.overrides, "name", name, "t", err, sizeof(err)) == 0);
	if (restore_prepare(&ro, &r, err, sizeof(err)) != 0 ||
	    restore_create(r, &vm, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "restore %s: %s\n", path, err);
		failures++;
		restore_free(r);
		cfg_free(ro.overrides);
		return "";
	}
	restore_free(r);
	cfg_free(ro.overrides);
	printf("restored %s in %.1f ms (%u warnings)\n", path,
	    (double)st.total_us / 1e3, st.warnings);
	CHECK(st.warnings == 0);
	CHECK(vm_devs_start(vm) == 0 && vcpus_start(vm) == 0);
	return finish(vm, console, prefix);
}

static void
progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	unsigned *n = arg;

	(*n)++;
	CHECK(done <= total);
	CHECK(strcmp(phase, "ram") == 0 || strcmp(phase, "dirty") == 0 ||
	    strcmp(phase, "last") == 0);
}

static void
test_continue(void)
{
	char console[600], path[600], c1[600], c2[600], err[1024];
	char ref[128], got[128];
	struct snap s = { .size = 64 << 20 };
	struct ckpt_stats st;
	unsigned nprog = 0;
	struct ckpt_opts o = { .kind = CKPT_CONTINUE, .at_pause = snapshot,
	    .progress = progress };
	struct vm *vm;
	int rc;

	s.ram = malloc(s.size);
	CHECK(s.ram != NULL);
	snprintf(console, sizeof(console), "%s/cont.console", tmpdir);
	snprintf(path, sizeof(path), "%s/cont.ckp", tmpdir);
	vm = make_vm("cont", 2, "64M", "churn 200");
	CHECK(vm != NULL);
	if (vm == NULL || s.ram == NULL)
		return;
	CHECK(vm_devs_start(vm) == 0 && vcpus_start(vm) == 0);
	CHECK(wait_console(vm, console, "CHURN round 1/", 30));
	o.arg = &s;		/* for the hook; no progress callback here */
	o.progress = NULL;
	rc = vm_checkpoint(vm, path, &o, &st, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "checkpoint: %s\n", err);
	CHECK(rc == 0 && s.taken);
	CHECK(!vm_ckpt_user_paused(vm) && !atomic_load(&vm->run.pause_req));
	printf("checkpoint-and-continue of a churning 64 MiB guest: %u rounds, "
	    "%.1f MiB written again, %.1f MiB while stopped, guest stopped "
	    "%.1f ms, total %.1f ms\n", st.rounds,
	    (double)st.redirty_bytes / (1 << 20),
	    (double)st.last_bytes / (1 << 20), (double)st.downtime_us / 1e3,
	    (double)st.total_us / 1e3);
	CHECK(st.rounds >= 2);
	compare_ram(path, &s);
	snprintf(ref, sizeof(ref), "%s", finish(vm, console, "CHURN"));
	CHECK(strncmp(ref, "CHURN OK ", 9) == 0);
	CHECK(strstr(slurp(console), "CHURN round 1/") != NULL);

	snprintf(c1, sizeof(c1), "%s/r1.console", tmpdir);
	snprintf(c2, sizeof(c2), "%s/r2.console", tmpdir);
	snprintf(got, sizeof(got), "%s", restore_run(path, "r1", c1, "CHURN"));
	if (strcmp(got, ref) != 0) {
		fprintf(stderr, "restored: '%s', continued: '%s'\n", got, ref);
		failures++;
	}
	snprintf(got, sizeof(got), "%s", restore_run(path, "r2", c2, "CHURN"));
	if (strcmp(got, ref) != 0) {
		fprintf(stderr, "restored again: '%s', continued: '%s'\n", got,
		    ref);
		failures++;
	}
	/* A restored guest does not boot again. */
	CHECK(strstr(slurp(c1), "HYVE-GUEST") == NULL);
	free(s.ram);

	/* progress is reported, in order, for every phase */
	vm = make_vm("prog", 1, "16M", "churn 600");
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	snprintf(console, sizeof(console), "%s/prog.console", tmpdir);
	snprintf(path, sizeof(path), "%s/prog.ckp", tmpdir);
	CHECK(vm_devs_start(vm) == 0 && vcpus_start(vm) == 0);
	CHECK(wait_console(vm, console, "CHURN round 1/", 30));
	o = (struct ckpt_opts){ .kind = CKPT_CONTINUE, .progress = progress,
	    .arg = &nprog };
	rc = vm_checkpoint(vm, path, &o, &st, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "checkpoint: %s\n", err);
	CHECK(rc == 0);
	CHECK(nprog >= 3);
	CHECK(strncmp(finish(vm, console, "CHURN"), "CHURN OK", 8) == 0);
}

static void
test_suspend(void)
{
	char console[600], path[600], c1[600], err[1024], before[256];
	struct ckpt_opts o = { .kind = CKPT_SUSPEND };
	struct ckpt_stats st;
	struct vm *vm;

	snprintf(console, sizeof(console), "%s/susp.console", tmpdir);
	snprintf(path, sizeof(path), "%s/susp.ckp", tmpdir);
	vm = make_vm("susp", 2, "32M", "churn 300");
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	CHECK(vm_devs_start(vm) == 0 && vcpus_start(vm) == 0);
	CHECK(wait_console(vm, console, "CHURN round 1/", 30));
	CHECK(vm_checkpoint(vm, path, &o, &st, err, sizeof(err)) == 0);
	/* Paused for good: nothing moves any more. */
	CHECK(atomic_load(&vm->run.pause_req));
	snprintf(before, sizeof(before), "%s", slurp(console));
	usleep(300000);
	CHECK(strcmp(before, slurp(console)) == 0);
	printf("suspend of a churning 32 MiB guest: %.1f ms (commit %.1f ms)\n",
	    (double)st.total_us / 1e3, (double)st.commit_us / 1e3);
	vm_request_stop(vm, VM_STOP_SUSPENDED, 0, "suspended");
	vcpus_join(vm);
	CHECK(vm_exit_code(vm) == 0);
	vm_free(vm);
	CHECK(strstr(slurp(console), "CHURN OK") == NULL);

	snprintf(c1, sizeof(c1), "%s/susp-r.console", tmpdir);
	CHECK(strncmp(restore_run(path, "susp-r", c1, "CHURN"), "CHURN OK",
	    8) == 0);
}

int
main(void)
{
	const char *build = getenv("BUILD");
	int fd;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_unsaveable();
	if ((fd = open("/dev/kvm", O_RDWR)) < 0) {
		printf("SKIP: no /dev/kvm (%s); the part without KVM %s\n",
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
	test_continue();
	test_suspend();
	if (failures == 0) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		(void)!system(cmd);
	} else {
		fprintf(stderr, "files kept in %s\n", tmpdir);
	}
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_ckpt: ok\n");
	return 0;
}
