/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Exit statuses of a VM that could not be started, from the kind of the
 * failure the deciding code records (docs/hyve.8 EXIT STATUS): usage and
 * refusal 2, runtime 4.  Claiming a name: an invalid name, a runtime
 * directory the rule refuses or that cannot be created are usage errors,
 * a name in use a refusal.  Devices: a host that does not permit what the
 * configuration asks (EPERM) or runs short is a runtime failure, anything
 * else the configuration's; the first failure recorded is the one kept.
 * Needs no /dev/kvm.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm_priv.h"

#include "test_check.h"

static void
test_status(void)
{
	CHECK(hyve_exit_status(HYVE_ERR_USAGE) == HYVE_EXIT_USAGE);
	CHECK(hyve_exit_status(HYVE_ERR_REFUSED) == HYVE_EXIT_USAGE);
	CHECK(hyve_exit_status(HYVE_ERR_RUNTIME) == HYVE_EXIT_HOST);
	CHECK(HYVE_EXIT_USAGE == 2 && HYVE_EXIT_HOST == 4);
}

static void
test_devices(void)
{
	struct vm *vm;

	CHECK(hyve_err_kind_of_dev(-EPERM) == HYVE_ERR_RUNTIME);
	CHECK(hyve_err_kind_of_dev(-ENOMEM) == HYVE_ERR_RUNTIME);
	CHECK(hyve_err_kind_of_dev(-EMFILE) == HYVE_ERR_RUNTIME);
	CHECK(hyve_err_kind_of_dev(-ENOENT) == HYVE_ERR_USAGE);
	CHECK(hyve_err_kind_of_dev(-EACCES) == HYVE_ERR_USAGE);
	CHECK(hyve_err_kind_of_dev(-EBADF) == HYVE_ERR_USAGE);
	CHECK(hyve_err_kind_of_dev(-EINVAL) == HYVE_ERR_USAGE);

	/* Nothing recorded: vm_create()'s contract, -EIO is the host's. */
	CHECK(vm_setup_err(NULL, -EIO) == HYVE_ERR_RUNTIME);
	CHECK(vm_setup_err(NULL, -EINVAL) == HYVE_ERR_USAGE);
	if ((vm = vm_new_for_test(1 << 20)) == NULL) {
		CHECK(!"vm_new_for_test");
		return;
	}
	CHECK(vm_setup_err(vm, -EINVAL) == HYVE_ERR_USAGE);
	/* A device that fails to start records its kind; -EINVAL follows. */
	CHECK(vm_test_cfg_set(vm, "pci.0.2.0.backend", "fd:65000") == 0);
	CHECK(vm_test_dev_add(vm, "virtio-net", "pci.0.2.0", "net") == NULL);
	CHECK(vm_setup_err(vm, -EINVAL) == HYVE_ERR_USAGE);
	vm_setup_failed(vm, HYVE_ERR_RUNTIME);
	CHECK(vm_setup_err(vm, -EINVAL) == HYVE_ERR_USAGE);
	vm_free(vm);

	if ((vm = vm_new_for_test(1 << 20)) == NULL) {
		CHECK(!"vm_new_for_test");
		return;
	}
	vm_setup_failed(vm, HYVE_ERR_RUNTIME);
	vm_setup_failed(vm, HYVE_ERR_USAGE);
	CHECK(vm_setup_err(vm, -EINVAL) == HYVE_ERR_RUNTIME);
	vm_free(vm);
}

static void
test_claim(const char *tmp)
{
	char dir[512];
	struct hyve_err e;
	struct ctl *a = NULL, *b = NULL;

	snprintf(dir, sizeof(dir), "%s/run", tmp);
	setenv("HYVE_RUNDIR", dir, 1);

	e = (struct hyve_err){ .kind = HYVE_ERR_NONE };
	CHECK(ctl_listen("../x", &a, &e) == -EINVAL);
	CHECK(e.kind == HYVE_ERR_USAGE && strstr(e.msg, "invalid VM name"));

	CHECK(ctl_listen("one", &a, &e) == 0 && a != NULL);
	e = (struct hyve_err){ .kind = HYVE_ERR_NONE };
	CHECK(ctl_listen("one", &b, &e) == -EADDRINUSE && b == NULL);
	CHECK(e.kind == HYVE_ERR_REFUSED);
	CHECK(strstr(e.msg, "a VM named 'one' is already running") != NULL);
	ctl_close(a);
	/* Its socket is gone with it: the name is free again. */
	CHECK(ctl_listen("one", &b, &e) == 0);
	ctl_close(b);

	/* The rule refuses a directory others can enter. */
	CHECK(chmod(dir, 0755) == 0);
	e = (struct hyve_err){ .kind = HYVE_ERR_NONE };
	CHECK(ctl_listen("two", &a, &e) != 0 && a == NULL);
	CHECK(e.kind == HYVE_ERR_USAGE && strstr(e.msg, "has mode 0755"));

	/* A directory that cannot be created is a setting to fix too. */
	snprintf(dir, sizeof(dir), "%s/none/run", tmp);
	setenv("HYVE_RUNDIR", dir, 1);
	e = (struct hyve_err){ .kind = HYVE_ERR_NONE };
	CHECK(ctl_listen("two", &a, &e) == -ENOENT);
	CHECK(e.kind == HYVE_ERR_USAGE &&
	    strstr(e.msg, "cannot create the runtime directory"));
}

int
main(void)
{
	char tmp[] = "/tmp/test_vmm_err.XXXXXX", cmd[600];

	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_status();
	test_devices();
	test_claim(tmp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	(void)!system(cmd);
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_vmm_err: ok\n");
	return 0;
}
