/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The VM's run state: running, paused (every vCPU thread parked outside
 * KVM_RUN) or stopping, and why it stopped.  The fields are struct vm_run
 * (vm_priv.h); this file is the only one that touches them, so that the
 * pause handshake and its lock live in one place.
 *
 * The handshake: a pause sets pause_req and kicks every vCPU thread; each
 * one parks (vm_run_vcpu_park) and counts itself in nparked; the pause
 * returns once every thread alive is parked.  A stop request sets
 * stopping, which ends every wait here, for good.
 *
 * Also how hyve ends: the exit status of a VM that ran (its stop reason)
 * and of one that could not be started (the kind of the failure).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vm_priv.h"

void
vm_run_init(struct vm *vm)
{
	pthread_mutex_init(&vm->run.lock, NULL);
	pthread_cond_init(&vm->run.cond, NULL);
}

void
vm_run_fini(struct vm *vm)
{
	pthread_mutex_destroy(&vm->run.lock);
	pthread_cond_destroy(&vm->run.cond);
}

/* ------------------------------------------------------------------------ */
/* Stopping                                                                  */
/* ------------------------------------------------------------------------ */

void
vm_request_stop(struct vm *vm, enum vm_stop_reason why, int status,
    const char *fmt, ...)
{
	struct vm_run *r = &vm->run;
	uint64_t one = 1;
	va_list ap;
	unsigned i;

	pthread_mutex_lock(&r->lock);
	if (r->stop_reason == VM_STOP_NONE) {
		r->stop_reason = why;
		r->stop_status = status;
		va_start(ap, fmt);
		vsnprintf(r->stop_msg, sizeof(r->stop_msg), fmt, ap);
		va_end(ap);
	}
	atomic_store(&r->stopping, true);
	for (i = 0; vm->vcpus != NULL && i < vm->ncpus; i++)
		if (vm->vcpus[i].thread_started)
			vcpu_kick(&vm->vcpus[i]);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (vm->event_fd >= 0)
		(void)!write(vm->event_fd, &one, sizeof(one));
}

bool
vm_run_stopping(const struct vm *vm)
{
	return atomic_load(&vm->run.stopping);
}

void
vm_run_stop_msg(struct vm *vm, char *buf, size_t len)
{
	pthread_mutex_lock(&vm->run.lock);
	snprintf(buf, len, "%s", vm->run.stop_msg[0] ? vm->run.stop_msg :
	    "stopping");
	pthread_mutex_unlock(&vm->run.lock);
}

int
vm_exit_code(const struct vm *vm)
{
	switch (vm->run.stop_reason) {
	case VM_STOP_POWEROFF:
		return vm->run.stop_status == 0 ? HYVE_EXIT_OK :
		    HYVE_EXIT_GUEST_STATUS;
	case VM_STOP_RESET:
	case VM_STOP_SUSPENDED:
	case VM_STOP_MIGRATED:
		return HYVE_EXIT_OK;
	case VM_STOP_FAULT:
		return HYVE_EXIT_FAULT;
	case VM_STOP_BADRAM:
		return HYVE_EXIT_BADRAM;
	case VM_STOP_SIGNAL:
		return 128 + vm->run.stop_status;
	case VM_STOP_HOST:
	case VM_STOP_NONE:
	default:
		return HYVE_EXIT_HOST;
	}
}

/* ------------------------------------------------------------------------ */
/* A VM that could not be started                                            */
/* ------------------------------------------------------------------------ */

int
hyve_err_set(struct hyve_err *e, enum hyve_err_kind kind, int rc,
    const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return rc;
}

int
hyve_exit_status(enum hyve_err_kind kind)
{
	switch (kind) {
	case HYVE_ERR_USAGE:
	case HYVE_ERR_REFUSED:
		return HYVE_EXIT_USAGE;
	case HYVE_ERR_RUNTIME:
	case HYVE_ERR_NONE:
	default:
		return HYVE_EXIT_HOST;
	}
}

enum hyve_err_kind
hyve_err_kind_of_dev(int rc)
{
	switch (rc) {
	case -EPERM:
	case -ENOMEM:
	case -EMFILE:
	case -ENFILE:
		return HYVE_ERR_RUNTIME;
	default:
		return HYVE_ERR_USAGE;
	}
}

void
vm_setup_failed(struct vm *vm, enum hyve_err_kind kind)
{
	if (vm->setup_err == HYVE_ERR_NONE)
		vm->setup_err = kind;
}

enum hyve_err_kind
vm_setup_err(const struct vm *vm, int rc)
{
	if (vm != NULL && vm->setup_err != HYVE_ERR_NONE)
		return vm->setup_err;
	return rc == -EIO ? HYVE_ERR_RUNTIME : HYVE_ERR_USAGE;
}

/* ------------------------------------------------------------------------ */
/* Pausing                                                                   */
/* ------------------------------------------------------------------------ */

int
vm_pause_vcpus(struct vm *vm)
{
	struct vm_run *r = &vm->run;
	unsigned i;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	if (atomic_load(&r->stopping)) {
		pthread_mutex_unlock(&r->lock);
		return -ESHUTDOWN;
	}
	atomic_store(&r->pause_req, true);
	for (i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].thread_started)
			vcpu_kick(&vm->vcpus[i]);
	while (r->nparked < r->nthreads && !atomic_load(&r->stopping))
		pthread_cond_wait(&r->cond, &r->lock);
	if (atomic_load(&r->stopping))
		rc = -ESHUTDOWN;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void
vm_run_throttle_set(struct vm *vm, unsigned pct)
{
	atomic_store(&vm->run.throttle, pct > 99 ? 99 : pct);
}

unsigned
vm_run_throttle(const struct vm *vm)
{
	return atomic_load(&vm->run.throttle);
}

void
vm_resume_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->run.lock);
	atomic_store(&vm->run.pause_req, false);
	pthread_cond_broadcast(&vm->run.cond);
	pthread_mutex_unlock(&vm->run.lock);
}

/* ------------------------------------------------------------------------ */
/* The vCPU threads' side                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Counted in and marked started under the lock: a pause that comes
 * meanwhile either kicks the new thread or waits for it to park.
 */
int
vm_run_vcpu_start(struct vcpu *v, void *(*fn)(void *))
{
	struct vm_run *r = &v->vm->run;
	int rc;

	pthread_mutex_lock(&r->lock);
	r->nthreads++;
	rc = pthread_create(&v->thread, NULL, fn, v);
	if (rc == 0)
		v->thread_started = true;
	else
		r->nthreads--;
	pthread_mutex_unlock(&r->lock);
	return -rc;
}

bool
vm_run_vcpu_should_park(const struct vm *vm)
{
	return atomic_load(&vm->run.stopping) ||
	    atomic_load(&vm->run.pause_req);
}

bool
vm_run_vcpu_park(struct vcpu *v)
{
	struct vm_run *r = &v->vm->run;
	bool stop;

	pthread_mutex_lock(&r->lock);
	while (atomic_load(&r->pause_req) && !atomic_load(&r->stopping)) {
		if (!v->parked) {
			v->parked = true;
			r->nparked++;
			pthread_cond_broadcast(&r->cond);
		}
		pthread_cond_wait(&r->cond, &r->lock);
	}
	if (v->parked) {
		v->parked = false;
		r->nparked--;
	}
	stop = atomic_load(&r->stopping);
	pthread_mutex_unlock(&r->lock);
	return stop;
}

void
vm_run_vcpu_exit(struct vcpu *v)
{
	struct vm_run *r = &v->vm->run;

	pthread_mutex_lock(&r->lock);
	r->nthreads--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}
