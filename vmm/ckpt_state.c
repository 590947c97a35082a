/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Who may pause, resume or write the VM: the checkpoint claim (one
 * suspend or checkpoint at a time, and which file it writes) and the pause
 * a user asked for.  The fields are struct vm_ckpt_state (vm_priv.h); this
 * file is the only one that touches them.  A user's pause or resume is
 * refused while a checkpoint holds the claim, so that the checkpoint
 * alone decides when the guest stops and goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vm_priv.h"

void
vm_ckpt_state_init(struct vm *vm)
{
	pthread_mutex_init(&vm->ckst.lock, NULL);
}

void
vm_ckpt_state_fini(struct vm *vm)
{
	pthread_mutex_destroy(&vm->ckst.lock);
}

/* What holds the claim, for a busy message. */
static void
busy_msg(const struct vm_ckpt_state *s, char *err, size_t errlen,
    const char *tail)
{
	if (s->migration)
		snprintf(err, errlen, "busy: a migration to %s is in "
		    "progress", s->path);
	else
		snprintf(err, errlen, "busy: a checkpoint to %s is %s", s->path,
		    tail);
}

static int
claim(struct vm *vm, bool migration, const char *path, char *err,
    size_t errlen)
{
	struct vm_ckpt_state *s = &vm->ckst;
	int rc = 0;

	if (strlen(path) >= sizeof(s->path)) {
		snprintf(err, errlen, "checkpoint path too long");
		return -ENAMETOOLONG;
	}
	pthread_mutex_lock(&s->lock);
	if (s->active) {
		busy_msg(s, err, errlen, "already being written");
		rc = -EBUSY;
	} else if (vm_run_stopping(vm)) {
		snprintf(err, errlen, "the VM is stopping");
		rc = -ESHUTDOWN;
	} else {
		s->active = true;
		s->migration = migration;
		snprintf(s->path, sizeof(s->path), "%s", path);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
vm_ckpt_claim(struct vm *vm, const char *path, char *err, size_t errlen)
{
	return claim(vm, false, path, err, errlen);
}

int
vm_ckpt_claim_migration(struct vm *vm, const char *addr, char *err,
    size_t errlen)
{
	return claim(vm, true, addr, err, errlen);
}

void
vm_ckpt_keep_paused(struct vm *vm)
{
	pthread_mutex_lock(&vm->ckst.lock);
	vm->ckst.user_paused = true;
	pthread_mutex_unlock(&vm->ckst.lock);
}

void
vm_ckpt_release(struct vm *vm)
{
	pthread_mutex_lock(&vm->ckst.lock);
	vm->ckst.active = false;
	vm->ckst.migration = false;
	pthread_mutex_unlock(&vm->ckst.lock);
}

bool
vm_ckpt_user_paused(struct vm *vm)
{
	bool paused;

	pthread_mutex_lock(&vm->ckst.lock);
	paused = vm->ckst.user_paused;
	pthread_mutex_unlock(&vm->ckst.lock);
	return paused;
}

/* The lock is held across the pause: two users' requests do not interleave. */
int
vm_ckpt_user_pause(struct vm *vm, bool pause, char *err, size_t errlen)
{
	struct vm_ckpt_state *s = &vm->ckst;
	int rc;

	pthread_mutex_lock(&s->lock);
	if (s->active) {
		busy_msg(s, err, errlen, "being written");
		rc = -EBUSY;
	} else if (s->user_paused == pause) {
		rc = -EALREADY;
	} else {
		rc = pause ? vm_pause(vm, err, errlen) :
		    vm_resume(vm, err, errlen);
		/* A resume that failed on a device restarted the vCPUs. */
		if (rc == 0 || !pause)
			s->user_paused = pause;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
