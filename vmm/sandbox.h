/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The sandbox (docs/SANDBOX.md): once the VM is set up, every hyve thread
 * runs under a seccomp filter of its role, which allows only the system
 * calls (and, for ioctl and a few others, the arguments) that role needs.
 * A system call outside it stops hyve with one line naming the thread and
 * the call, and exit status 4.
 */
#ifndef HYVE_SANDBOX_H
#define HYVE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

struct vm;

/*
 * Roles, one filter each.  A thread inherits the filter of the thread that
 * created it, and filters only add up: a role that creates threads allows
 * what they need as well (docs/SANDBOX.md lists who creates whom).
 */
enum sbx_role {
	SBX_MAIN = 0,	/* the main thread once the VM runs: waits, tears down */
	SBX_VCPU,	/* KVM_RUN and the device emulation of its exits */
	SBX_BLK,	/* virtio-blk I/O workers */
	SBX_NET,	/* virtio-net's receive thread */
	SBX_UART,	/* a serial port's input from stdin */
	SBX_CTL,	/* the control socket's accepting thread */
	SBX_CONN,	/* one control connection: requests, checkpoints */
	SBX_CKPT,	/* threads writing a checkpoint's RAM */
	SBX_LAZY_FAULT,	/* --verify=lazy: userfaultfd fault handlers */
	SBX_LAZY_WALK,	/* --verify=lazy: the background check */
	SBX_LAZY_LOAD,	/* --verify=lazy: loading the rest before a checkpoint */
	SBX_MIGRATE,	/* a migration's source: the stream, pauses, state */
	SBX_THROTTLE,	/* a migration's auto-converge: kicks the vCPUs */
	SBX_NROLES
};

/*
 * Called by the main thread before it creates any other: with @on, build
 * every role's filter, install the handler that reports a denied call and
 * set no_new_privs (inherited by every thread).  Without, the sandbox is
 * off and sandbox_enter() only names threads.  0, or -errno with @err
 * saying what is missing.
 */
int sandbox_init(bool on, char *err, size_t errlen);

/*
 * Confine the calling thread to @role's filter for the rest of its life,
 * and name it after @role; @fmt (NULL for none) tells instances apart in
 * messages (a vCPU's number, a device's name).  Threads call it first
 * thing, the main thread once every other thread is started.  A filter
 * that cannot be installed stops hyve as a denial does.
 */
void sandbox_enter(const struct vm *vm, enum sbx_role role, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

#ifdef HYVE_TEST_HOOKS
/*
 * Test builds only: with HYVE_TEST_SANDBOX_PROBE=ROLE:request in the
 * environment, a thread of ROLE makes a system call no filter allows
 * (socket) each time it is called (virtio-blk: for every request).
 * HYVE_TEST_SANDBOX_PROBE=ROLE does so once, as sandbox_enter() returns.
 */
void sandbox_test_probe(enum sbx_role role, bool request);
#endif

#endif /* HYVE_SANDBOX_H */
