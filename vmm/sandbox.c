/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The sandbox (docs/SANDBOX.md): a seccomp filter per thread role.
 *
 * The filters are built once, by the main thread before it creates any
 * other (libseccomp, exported as BPF), so that a thread confines itself
 * with one system call and nothing that could fail halfway.  A thread
 * inherits its creator's filter and may only add its own, so a role's
 * filter is what it does itself plus what the threads it creates do
 * (role_def.spawns); each of those then narrows itself to its own role.
 *
 * A call outside the filter raises SIGSYS in the thread that made it
 * (SECCOMP_RET_TRAP).  The handler names the thread and the call in one
 * line, gives the terminal back and exits 4: a thread that tried what it
 * never does is not to be trusted to stop cleanly (Firecracker does the
 * same).  The handler may make only calls every filter allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <malloc.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>

#include "sandbox.h"
#include "uart.h"
#include "vm_priv.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP	1	/* si_code of a SIGSYS from a filter */
#endif

/* System call numbers the handler can name (x86-64 has fewer). */
#define SBX_NSYS	512

/*
 * Calls allowed with conditions on their arguments (flags of a role).
 * Every role has mmap and mprotect, never with PROT_EXEC, and ioctl(0,
 * TCSETS/TCGETS) for the handler of a denial; a role that creates threads
 * has A_CLONE, A_NAME and A_FILTER.
 */
#define A_CLONE		0x01	/* clone: threads only; clone3: ENOSYS */
#define A_NAME		0x02	/* prctl(PR_SET_NAME): new threads name themselves */
#define A_FILTER	0x04	/* seccomp(SET_MODE_FILTER): ... and confine themselves */
#define A_NICE		0x08	/* setpriority(PRIO_PROCESS) */

struct role_def {
	const char	*name;
	const int	*sys;		/* allowed whatever the arguments; -1 ends */
	const unsigned long *ioctls;	/* allowed ioctl requests; 0 ends */
	unsigned	 flags;
	unsigned	 spawns;	/* 1 << role of every thread it creates */
};

/*
 * What every thread does: locks, messages on stderr, memory (malloc, thread
 * stacks: mmap and mprotect are added below, never executable), clocks
 * when the vDSO cannot answer, sleeps, leaving; and what the SIGSYS
 * handler does (write, exit_group, futex to wait for another's exit).
 */
static const int sys_base[] = {
	SCMP_SYS(futex), SCMP_SYS(write), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(madvise), SCMP_SYS(munmap), SCMP_SYS(brk),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(restart_syscall), SCMP_SYS(gettid),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(sched_yield), -1
};

/* Stopping the VM (vm_request_stop: the main loop's eventfd, vCPU kicks). */
#define SYS_STOP	SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(write)

/* Threads creating threads: what the new thread does before its filter. */
static const int sys_spawn[] = {
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(gettid), -1
};

/* Raising a guest interrupt (vm_irq_line, vm_msi). */
#define IOC_IRQ		KVM_IRQ_LINE, KVM_SIGNAL_MSI

/*
 * Waits for a signal or an event, tears down: closes, unmaps, unlinks,
 * and shuts a waiting migration's stream (vm_migrate_abandon).
 */
static const int sys_main[] = {
	SCMP_SYS(poll), SCMP_SYS(read), SCMP_SYS(close), SCMP_SYS(unlink),
	SCMP_SYS(shutdown), SYS_STOP, -1
};
static const unsigned long ioc_main[] = { 0 };

/* KVM_RUN; its exits: devices, reports naming RIP, stop requests. */
static const int sys_vcpu[] = {
	SCMP_SYS(writev), SCMP_SYS(rt_sigreturn), SYS_STOP, -1
};
static const unsigned long ioc_vcpu[] = {
	KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, IOC_IRQ, 0
};

static const int sys_blk[] = {
	SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(fdatasync), -1
};
static const unsigned long ioc_blk[] = { IOC_IRQ, 0 };

static const int sys_net[] = { SCMP_SYS(poll), SCMP_SYS(read), -1 };
static const unsigned long ioc_net[] = { IOC_IRQ, 0 };

static const int sys_uart[] = { SCMP_SYS(poll), SCMP_SYS(read), -1 };
static const unsigned long ioc_uart[] = { IOC_IRQ, 0 };

static const int sys_ctl[] = {
	SCMP_SYS(poll), SCMP_SYS(accept4), SCMP_SYS(setsockopt),
	SCMP_SYS(sendto), SCMP_SYS(shutdown), SCMP_SYS(close), -1
};
static const unsigned long ioc_ctl[] = { 0 };

static const int sys_conn[] = {
	SCMP_SYS(poll), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
	/* requests come with recvmsg (a migration's descriptor, SCM_RIGHTS) */
	SCMP_SYS(recvmsg),
	SCMP_SYS(shutdown), SCMP_SYS(close), SYS_STOP,
	/* the checkpoint's files (libckp's writer and recovery) */
	SCMP_SYS(openat), SCMP_SYS(newfstatat), SCMP_SYS(lseek),
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
	SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(sync_file_range), SCMP_SYS(fadvise64),
	SCMP_SYS(flock), SCMP_SYS(rename), SCMP_SYS(unlink),
	SCMP_SYS(geteuid), SCMP_SYS(time),
	/* a serial port on stdio started by a resume */
	SCMP_SYS(pipe2), SCMP_SYS(getpgrp),
	-1
};
static const unsigned long ioc_conn[] = {
	/* the state of the vCPUs and the VM (vmm/state.c) */
	KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_XSAVE, KVM_GET_XSAVE2,
	KVM_GET_XCRS, KVM_GET_MSRS, KVM_GET_LAPIC, KVM_GET_VCPU_EVENTS,
	KVM_GET_MP_STATE, KVM_GET_DEBUGREGS, KVM_GET_CPUID2, KVM_GET_IRQCHIP,
	KVM_GET_PIT2, KVM_GET_CLOCK, KVM_GET_TSC_KHZ,
	/* dirty logging (checkpoint-and-continue) */
	KVM_GET_DIRTY_LOG, KVM_SET_USER_MEMORY_REGION,
	/* devices resumed; a serial port's terminal */
	IOC_IRQ, TCGETS, TIOCGPGRP,
	/* --verify=lazy: the rest of RAM loaded first, then dropped */
	UFFDIO_COPY, UFFDIO_ZEROPAGE, UFFDIO_WAKE, UFFDIO_UNREGISTER, 0
};

/*
 * A migration's source: what a checkpoint does to the VM (pause, state,
 * dirty log, resume, lazy RAM loaded first), but the stream instead of
 * files: written with sendmsg (sockets) or writev (files), the
 * destination's answers read; fstat tells a socket; stat sizes each disk
 * image for HELLO; getrandom for a keyed stream's nonce.
 */
static const int sys_migrate[] = {
	SCMP_SYS(poll), SCMP_SYS(read), SCMP_SYS(writev), SCMP_SYS(sendmsg),
	/* progress lines to the client that asked */
	SCMP_SYS(sendto),
	SCMP_SYS(newfstatat), SCMP_SYS(getrandom), SYS_STOP,
	/* a serial port on stdio started by a resume */
	SCMP_SYS(pipe2), SCMP_SYS(getpgrp), SCMP_SYS(close),
	-1
};

/* Kicks the vCPUs every 10 ms while they are throttled. */
static const int sys_throttle[] = { SYS_STOP, -1 };
static const unsigned long ioc_throttle[] = { 0 };

static const int sys_ckpt[] = {
	SCMP_SYS(pwrite64), SCMP_SYS(fallocate), -1
};
static const unsigned long ioc_ckpt[] = { 0 };

/* Loading a chunk: read it (holes skipped), check it, install it. */
#define SYS_LOAD	SCMP_SYS(pread64), SCMP_SYS(lseek), SYS_STOP
#define IOC_LOAD	UFFDIO_COPY, UFFDIO_ZEROPAGE, UFFDIO_WAKE

static const int sys_lazy_fault[] = {
	SCMP_SYS(poll), SCMP_SYS(read), SYS_LOAD, -1
};
static const unsigned long ioc_lazy_fault[] = { IOC_LOAD, 0 };

static const int sys_lazy_walk[] = { SCMP_SYS(poll), SYS_LOAD, -1 };
static const unsigned long ioc_lazy_walk[] = {
	IOC_LOAD, UFFDIO_UNREGISTER, 0
};

static const int sys_lazy_load[] = { SYS_LOAD, -1 };
static const unsigned long ioc_lazy_load[] = { IOC_LOAD, 0 };

/*
 * Under AddressSanitizer (SAN=1 builds), its runtime's calls too: an
 * alternate signal stack and the thread's CPUs as every thread starts and
 * leaves; LeakSanitizer's check at exit, on the main thread, which stops
 * the process with a tracer it clones (ptrace).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SBX_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SBX_ASAN	1
#endif
#endif
#ifdef SBX_ASAN
static const int sys_asan[] = {
	SCMP_SYS(sigaltstack), SCMP_SYS(sched_getaffinity), -1
};
static const int sys_asan_main[] = {
	SCMP_SYS(clone), SCMP_SYS(prctl), SCMP_SYS(getppid),
	SCMP_SYS(rt_sigaction), SCMP_SYS(ptrace), SCMP_SYS(wait4),
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(lseek),
	SCMP_SYS(getdents), SCMP_SYS(getdents64), -1
};
#endif

#define R(x)	(1U << (x))

static const struct role_def roles[SBX_NROLES] = {
	[SBX_MAIN] = { "main", sys_main, ioc_main, 0, 0 },
	[SBX_VCPU] = { "vcpu", sys_vcpu, ioc_vcpu, 0, 0 },
	[SBX_BLK] = { "blk-io", sys_blk, ioc_blk, 0, 0 },
	[SBX_NET] = { "net-rx", sys_net, ioc_net, 0, 0 },
	[SBX_UART] = { "uart-in", sys_uart, ioc_uart, 0, 0 },
	[SBX_CTL] = { "ctl-accept", sys_ctl, ioc_ctl, 0, R(SBX_CONN) },
	/* A resume after a checkpoint restarts device threads. */
	[SBX_CONN] = { "ctl-conn", sys_conn, ioc_conn, 0,
	    R(SBX_CKPT) | R(SBX_LAZY_LOAD) | R(SBX_NET) | R(SBX_UART) |
	    R(SBX_MIGRATE) },
	/* Its resume restarts device threads, as a checkpoint's does. */
	[SBX_MIGRATE] = { "migrate", sys_migrate, ioc_conn, 0,
	    R(SBX_THROTTLE) | R(SBX_LAZY_LOAD) | R(SBX_NET) | R(SBX_UART) },
	[SBX_THROTTLE] = { "mig-throttle", sys_throttle, ioc_throttle, 0, 0 },
	[SBX_CKPT] = { "ckpt-writer", sys_ckpt, ioc_ckpt, 0, 0 },
	[SBX_LAZY_FAULT] = { "lazy-fault", sys_lazy_fault, ioc_lazy_fault,
	    0, 0 },
	[SBX_LAZY_WALK] = { "lazy-walk", sys_lazy_walk, ioc_lazy_walk,
	    A_NICE, 0 },
	[SBX_LAZY_LOAD] = { "lazy-load", sys_lazy_load, ioc_lazy_load,
	    0, 0 },
};

/* ------------------------------------------------------------------------ */
/* The filters                                                               */
/* ------------------------------------------------------------------------ */

/* What a role's filter allows: its own calls and its descendants'. */
struct allow {
	uint64_t	 sys[SBX_NSYS / 64];
	unsigned long	 ioctls[128];
	unsigned	 nioctls;
	unsigned	 flags;
};

static struct {
	bool		 on;
	bool		 log;		/* test builds: log denials, allow them */
	int		 meet;		/* test builds: probes that trap together */
	atomic_int	 met;
	struct sock_fprog prog[SBX_NROLES];
	char		 sysname[SBX_NSYS][24];
	pthread_mutex_t	 name_lock;
	atomic_bool	 named;
	char		 vmname[72];
} sbx = { .name_lock = PTHREAD_MUTEX_INITIALIZER };

/* The calling thread, for the SIGSYS handler (which cannot ask). */
static __thread char tls_label[48];
static __thread int tls_tid;

static void
allow_sys(struct allow *a, const int *sys)
{
	for (; *sys >= 0; sys++)
		if (*sys < SBX_NSYS)
			a->sys[*sys / 64] |= 1ULL << (*sys % 64);
}

static void
allow_ioctls(struct allow *a, const unsigned long *req)
{
	for (; *req != 0; req++) {
		unsigned i;

		for (i = 0; i < a->nioctls && a->ioctls[i] != *req; i++)
			;
		if (i == a->nioctls && a->nioctls < 128)
			a->ioctls[a->nioctls++] = *req;
	}
}

static void
allow_role(struct allow *a, enum sbx_role r)
{
	const struct role_def *d = &roles[r];

	allow_sys(a, sys_base);
	allow_sys(a, d->sys);
#ifdef SBX_ASAN
	allow_sys(a, sys_asan);
	if (r == SBX_MAIN)
		allow_sys(a, sys_asan_main);
#endif
	allow_ioctls(a, d->ioctls);
	a->flags |= d->flags;
	if (d->spawns != 0) {
		allow_sys(a, sys_spawn);
		a->flags |= A_CLONE | A_NAME | A_FILTER;
	}
	for (unsigned c = 0; c < SBX_NROLES; c++)
		if (d->spawns & R(c))
			allow_role(a, c);
}

static bool
has_sys(const struct allow *a, int nr)
{
	return nr >= 0 && nr < SBX_NSYS &&
	    (a->sys[nr / 64] >> (nr % 64) & 1) != 0;
}

static int
rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
    const struct scmp_arg_cmp *cmp)
{
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

static int
build(enum sbx_role r, struct sock_fprog *prog, char *err, size_t errlen)
{
	struct allow a;
	scmp_filter_ctx ctx;
	struct stat st;
	void *bpf = NULL;
	int rc, fd = -1;

	memset(&a, 0, sizeof(a));
	allow_role(&a, r);
	if ((ctx = seccomp_init(sbx.log ? SCMP_ACT_LOG : SCMP_ACT_TRAP)) ==
	    NULL) {
		snprintf(err, errlen, "seccomp_init: out of memory");
		return -ENOMEM;
	}
	/* Another architecture's calls (int 0x80) are reported too. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    sbx.log ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	/* ioctl goes by request, mmap and mprotect by protection (below). */
	for (int nr = 0; rc == 0 && nr < SBX_NSYS; nr++)
		if (has_sys(&a, nr) && nr != SCMP_SYS(ioctl) &&
		    nr != SCMP_SYS(mmap) && nr != SCMP_SYS(mprotect))
			rc = rule(ctx, SCMP_ACT_ALLOW, nr, 0, NULL);
	for (unsigned i = 0; rc == 0 && i < a.nioctls; i++) {
		/* The kernel reads the request as 32 bits. */
		struct scmp_arg_cmp c = SCMP_A1(SCMP_CMP_MASKED_EQ,
		    0xffffffffULL, a.ioctls[i] & 0xffffffffULL);
		rc = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &c);
	}
	if (rc == 0) {
		/*
		 * The handler of a denial gives the terminal back, whichever
		 * thread it stopped; tcsetattr() reads the settings back.
		 */
		struct scmp_arg_cmp c[2] = { SCMP_A0(SCMP_CMP_EQ, 0),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, TCSETS) };
		if ((rc = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
		    c)) == 0) {
			c[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL,
			    TCGETS);
			rc = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2, c);
		}
	}
	if (rc == 0) {
		/* Memory (malloc, thread stacks), never executable. */
		struct scmp_arg_cmp c = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
		    0);
		if ((rc = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		    &c)) == 0)
			rc = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			    &c);
	}
	/* (Conditions only where the call is not allowed outright.) */
	if (rc == 0 && (a.flags & A_CLONE) && !has_sys(&a, SCMP_SYS(clone))) {
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ,
		    CLONE_THREAD, CLONE_THREAD);
		/* Its flags are out of a filter's reach: glibc falls back. */
		if ((rc = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
		    0, NULL)) == 0)
			rc = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &c);
	}
	if (rc == 0 && (a.flags & A_NAME) && !has_sys(&a, SCMP_SYS(prctl))) {
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME);
		rc = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, &c);
	}
	if (rc == 0 && (a.flags & A_FILTER)) {
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_EQ,
		    SECCOMP_SET_MODE_FILTER);
		rc = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1, &c);
	}
	if (rc == 0 && (a.flags & A_NICE)) {
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_EQ, PRIO_PROCESS);
		rc = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setpriority), 1, &c);
	}
	if (rc != 0) {
		snprintf(err, errlen, "the seccomp filter of %s: %s",
		    roles[r].name, strerror(-rc));
		goto out;
	}
	/* Exported once: a thread then confines itself with one call. */
	if ((fd = memfd_create("hyve-seccomp", MFD_CLOEXEC)) < 0 ||
	    (rc = seccomp_export_bpf(ctx, fd)) != 0 || fstat(fd, &st) != 0 ||
	    st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    (bpf = malloc((size_t)st.st_size)) == NULL ||
	    pread(fd, bpf, (size_t)st.st_size, 0) != st.st_size) {
		rc = rc != 0 ? rc : errno != 0 ? -errno : -EIO;
		snprintf(err, errlen, "exporting the seccomp filter of %s: %s",
		    roles[r].name, strerror(-rc));
		free(bpf);
		goto out;
	}
	prog->filter = bpf;
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Denials                                                                   */
/* ------------------------------------------------------------------------ */

struct line {
	char	 buf[512];
	size_t	 len;
};

static void
put(struct line *l, const char *s)
{
	while (*s != '\0' && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void
put_num(struct line *l, long v)
{
	char d[24];
	int n = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

	do
		d[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0 && n < (int)sizeof(d));
	if (v < 0)
		put(l, "-");
	while (n > 0 && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = d[--n];
}

static void
put_prefix(struct line *l)
{
	put(l, "hyve: ");
	if (atomic_load(&sbx.named)) {
		put(l, sbx.vmname);
		put(l, ": ");
	}
	put(l, "seccomp: thread ");
	/* libckp's threads have their creator's filter, not a role. */
	put(l, tls_label[0] != '\0' ? tls_label : "without a role");
	put(l, " (tid ");
	put_num(l, tls_tid != 0 ? tls_tid : (long)syscall(SYS_gettid));
	put(l, ") ");
}

#ifdef HYVE_TEST_HOOKS
/* With several probes trapping together, time for die()'s race to show. */
static void
test_linger(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	if (sbx.meet > 1)
		nanosleep(&ts, NULL);
}
#else
static inline void test_linger(void) {}
#endif

/*
 * Async-signal-safe, and only calls every filter allows: formatting by
 * hand, write, the terminal (ioctl on 0), exit_group, futex.
 */
static _Noreturn void
die(struct line *l)
{
	/*
	 * Two threads of one role (the lazy-fault handlers, the checkpoint
	 * writers) can trap at once; the first names itself, the others go
	 * quietly, so the log keeps its one line.
	 */
	static atomic_flag said = ATOMIC_FLAG_INIT;
	static int never;

	put(l, " (exit status ");
	put_num(l, HYVE_EXIT_HOST);
	put(l, ")\n");
	if (atomic_flag_test_and_set(&said)) {
		/* Not exit_group(): that could end hyve before the line. */
		for (;;)
			syscall(SYS_futex, &never, FUTEX_WAIT_PRIVATE, 0,
			    NULL, NULL, 0);
	}
	test_linger();		/* the others could end hyve meanwhile */
	(void)!write(STDERR_FILENO, l->buf, l->len);
	uart_tty_restore_now();
	test_linger();		/* or say their own line */
	/* Not _exit(): a sanitizer's would check for leaks first. */
	for (;;)
		syscall(SYS_exit_group, HYVE_EXIT_HOST);
}

static void
sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	struct line l = { .len = 0 };
	int nr = si->si_syscall;

	(void)sig;
	(void)uc;
	put_prefix(&l);
	if (si->si_code != SYS_SECCOMP) {
		put(&l, "received SIGSYS from outside the sandbox");
		die(&l);
	}
	put(&l, "made system call ");
	put_num(&l, nr);
	put(&l, " (");
	if (si->si_arch != AUDIT_ARCH_X86_64)
		put(&l, "of another architecture");
	else if (nr >= 0 && nr < SBX_NSYS && sbx.sysname[nr][0] != '\0')
		put(&l, sbx.sysname[nr]);
	else
		put(&l, "unknown");
	put(&l, "), which its filter does not allow");
	die(&l);
}

/* ------------------------------------------------------------------------ */
/* Setting up and entering                                                   */
/* ------------------------------------------------------------------------ */

int
sandbox_init(bool on, char *err, size_t errlen)
{
	struct sigaction sa;
	uint32_t trap = SECCOMP_RET_TRAP;
	int rc;

	if (!on)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &trap) != 0) {
		rc = -errno;
		snprintf(err, errlen, "this kernel has no seccomp filters "
		    "that trap (%s); --no-sandbox runs without them",
		    strerror(errno));
		return rc;
	}
#ifdef HYVE_TEST_HOOKS
	/* Denials logged by the kernel (audit, type 1326), not stopped. */
	sbx.log = getenv("HYVE_TEST_SANDBOX_LOG") != NULL &&
	    strcmp(getenv("HYVE_TEST_SANDBOX_LOG"), "1") == 0;
	if (getenv("HYVE_TEST_SANDBOX_PROBE_MEET") != NULL)
		sbx.meet = atoi(getenv("HYVE_TEST_SANDBOX_PROBE_MEET"));
#endif
	/*
	 * What glibc does on first use with files, done now: the time zone
	 * (the RTC's gmtime_r() on a vCPU would read /etc/localtime), and
	 * malloc's limit on arenas (counting CPUs, when a thread needs a new
	 * arena), set to glibc's own default.
	 */
	tzset();
	(void)mallopt(M_ARENA_MAX, 8 * (get_nprocs() > 0 ? get_nprocs() : 1));
	for (int nr = 0; nr < SBX_NSYS; nr++) {
		char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
		    nr);
		if (s != NULL)
			snprintf(sbx.sysname[nr], sizeof(sbx.sysname[nr]), "%s",
			    s);
		free(s);
	}
	for (unsigned r = 0; r < SBX_NROLES; r++)
		if ((rc = build(r, &sbx.prog[r], err, errlen)) != 0)
			goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		rc = -errno;
		snprintf(err, errlen, "setting up the sandbox: %s",
		    strerror(errno));
		goto fail;
	}
	sbx.on = true;
	return 0;
fail:
	for (unsigned r = 0; r < SBX_NROLES; r++) {
		free(sbx.prog[r].filter);
		sbx.prog[r].filter = NULL;
	}
	return rc;
}

void
sandbox_enter(const struct vm *vm, enum sbx_role role, const char *fmt, ...)
{
	char who[32];
	sigset_t sys;
	va_list ap;

	who[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(who, sizeof(who), fmt, ap);
		va_end(ap);
	}
	if (who[0] != '\0')
		snprintf(tls_label, sizeof(tls_label), "%s[%s]",
		    roles[role].name, who);
	else
		snprintf(tls_label, sizeof(tls_label), "%s", roles[role].name);
	tls_tid = (int)syscall(SYS_gettid);
	/* The main thread keeps the program's name: ps shows it. */
	if (role != SBX_MAIN)
		(void)prctl(PR_SET_NAME, roles[role].name, 0, 0, 0);
	if (!sbx.on)
		return;
	if (vm != NULL && !atomic_load(&sbx.named)) {
		pthread_mutex_lock(&sbx.name_lock);
		if (!atomic_load(&sbx.named)) {
			snprintf(sbx.vmname, sizeof(sbx.vmname), "%s",
			    vm->name);
			atomic_store(&sbx.named, true);
		}
		pthread_mutex_unlock(&sbx.name_lock);
	}
	/* A blocked SIGSYS would kill hyve without a word. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0,
	    &sbx.prog[role]) != 0) {
		struct line l = { .len = 0 };

		put_prefix(&l);
		put(&l, "cannot install its seccomp filter: ");
		put(&l, strerror(errno));
		die(&l);
	}
#ifdef HYVE_TEST_HOOKS
	sandbox_test_probe(role, false);
#endif
}

#ifdef HYVE_TEST_HOOKS
void
sandbox_test_probe(enum sbx_role role, bool request)
{
	const char *v = getenv("HYVE_TEST_SANDBOX_PROBE");
	size_t n = strlen(roles[role].name);
	int fd;

	if (v == NULL || strncmp(v, roles[role].name, n) != 0 ||
	    strcmp(v + n, request ? ":request" : "") != 0)
		return;
	if (sbx.meet > 1) {
		/* Several threads of the role trap at once (die()'s race). */
		struct timespec ts = { 0, 1000 * 1000 };

		atomic_fetch_add(&sbx.met, 1);
		for (int i = 0; i < 2000 && atomic_load(&sbx.met) < sbx.meet;
		    i++)
			nanosleep(&ts, NULL);
	}
	/* No thread of hyve opens a socket once the VM runs. */
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0)
		close(fd);
}
#endif
