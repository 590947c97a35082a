/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Restore from a checkpoint stream (vmm/restore.c, driven by
 * vmm/migrate_in.c): the same steps as restore_prepare()/restore_create()
 * with the documents taken from frames instead of files and RAM written
 * into guest memory by the receiver.
 */
#ifndef HYVE_RESTORE_STREAM_H
#define HYVE_RESTORE_STREAM_H

#include "ckpt.h"

/*
 * From a HELLO document (@hello, owned from here on, freed on failure):
 * its header, its config with the overrides (@o->overrides) on top, and
 * its memory section against the layout that configuration gives.  No
 * files are opened, no trust checks (there is no file), nothing created.
 * @origin names the stream in messages ("stream tcp:10.0.0.1:41234").
 */
int restore_prepare_hello(const struct restore_opts *o, const char *origin,
    ckp_doc_t *hello, struct restore **rp, char *err, size_t errlen);

/* The configuration restore_prepare_hello() settled on (until the VM takes it). */
const struct cfg *restore_cfg(const struct restore *r);
/* The RAM size that configuration gives. */
uint64_t restore_mem_size(const struct restore *r);

/*
 * Create the VM of that configuration, without devices, its RAM all
 * zero, for the receiver to fill: *@vmp stays owned by @r.
 */
int restore_vm_empty(struct restore *r, struct vm **vmp, char *err,
    size_t errlen);

/* Checks guest RAM against @meta's "ram" section: 0, or -EINVAL with @err. */
typedef int restore_ram_check_fn(void *arg, ckp_doc_t *meta, char *err,
    size_t errlen);

/*
 * The STATE document (@state, owned from here on): its config must equal
 * HELLO's (same keys, same values), then every check restore_prepare()
 * and restore_vm() make of a meta (header, the ram section against the
 * memory, versions, sections, layout, devices, BARs, the dry run against
 * the VM's vCPUs), @check on guest RAM, and restore_create()'s steps with
 * RAM already in place (devices, fill and check, unused keys, KVM).  On
 * success *@vmp is the VM, ready for vm_devs_start() and vcpus_start().
 */
int restore_create_state(struct restore *r, ckp_doc_t *state,
    restore_ram_check_fn *check, void *arg, struct vm **vmp,
    struct restore_stats *st, char *err, size_t errlen);

#endif /* HYVE_RESTORE_STREAM_H */
