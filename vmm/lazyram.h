/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Guest RAM loaded on demand from a checkpoint's RAM file, every chunk
 * verified before the guest or a device can see it (hyve -r
 * --verify=lazy; docs/CHECKPOINT.md section 4).
 *
 * Guest RAM stays anonymous memory, registered with userfaultfd for
 * missing pages.  The first touch of a chunk, by a vCPU, by KVM itself
 * (page-table walks, emulation, kvmclock) or by a device thread, blocks
 * in the kernel; a handler thread reads the chunk, checks it against the
 * meta's ram.chunks (libckp's ckp_ram_lazy_fetch) and installs it whole
 * (UFFDIO_COPY, or UFFDIO_ZEROPAGE for a zero chunk), which wakes every
 * thread waiting in it.  A background thread at the lowest priority loads
 * the chunks nobody touched, so the whole file ends up checked; then
 * userfaultfd is dropped and guest RAM is plain anonymous memory.  A chunk
 * that does not match stops the VM (VM_STOP_BADRAM, exit status 5) with
 * the file and the chunk's offset; the vCPUs are kicked before the threads
 * waiting in that chunk are let go (with zeros), so the guest never runs
 * another instruction after its content was found bad.
 */
#ifndef HYVE_LAZYRAM_H
#define HYVE_LAZYRAM_H

#include <stddef.h>
#include <stdint.h>

#include "ckp.h"

struct vm;

/*
 * A userfaultfd this process can use for guest RAM, faults from the
 * kernel (KVM, system calls on guest buffers) included: the system call,
 * else /dev/userfaultfd.  @return the descriptor, or -errno (-EPERM for an
 * unprivileged process when vm.unprivileged_userfaultfd is 0, -ENOSYS on a
 * kernel without it); @why names what failed.  In a test build,
 * HYVE_TEST_NO_USERFAULTFD=1 in the environment makes it fail with -EPERM,
 * as for an unprivileged user.
 */
int lazyram_uffd_open(char *why, size_t whylen);

/*
 * Load @vm's RAM on demand from @src (the RAM file @ram_path, open with
 * ckp_ram_lazy_open) through @uffd: register every region (untouched so
 * far) and start the fault handlers and the background walker.  Takes
 * @src and @uffd, also on failure.  Call before anything touches guest
 * RAM.
 */
int lazyram_start(struct vm *vm, ckp_ram_lazy_t *src, int uffd,
    const char *ram_path, char *err, size_t errlen);

/*
 * Load every chunk not loaded yet (several threads), check the totals and
 * drop userfaultfd: from then on guest RAM is plain memory, as a
 * checkpoint of it needs (its writer and the dirty log see every page as
 * the guest does).  0 when there was nothing to do; -EBADMSG (the VM is
 * stopping) with @err naming the file and chunk when a chunk is bad.
 */
int lazyram_complete(struct vm *vm, char *err, size_t errlen);

/*
 * Where loading stands: *@left chunks not loaded yet; @return 1 once every
 * chunk is in and the file verified (or RAM was never lazy), 0 while
 * loading, or the failure (negative).
 */
int lazyram_state(struct vm *vm, uint64_t *left);

/*
 * Stop the threads and close userfaultfd.  vm_free() calls it once no
 * device or vCPU thread is left, before guest RAM is unmapped.
 */
void lazyram_free(struct vm *vm);

#endif /* HYVE_LAZYRAM_H */
