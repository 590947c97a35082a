/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * hyve's internals shared by the files of vmm/ (and the checkpoint code
 * that will save and restore exactly this state).  Devices use vmm.h only.
 */
#ifndef HYVE_VM_PRIV_H
#define HYVE_VM_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"
#include "vm_test.h"

/* hyve's version: the producer of its checkpoints ("hyve 0.1.0"). */
#define HYVE_VERSION	"0.2.0"

struct kvm_run;
struct kvm_cpuid2;
struct boot_plan;

/* ------------------------------------------------------------------------ */
/* Configuration (vmm/config.c)                                             */
/* ------------------------------------------------------------------------ */

struct cfg_ent {
	char	*key;
	char	*val;
	char	*origin;	/* "-o", "-s 3,...", "vm.conf:12": for messages */
	bool	 used;		/* read by someone during init */
};

struct cfg {
	struct cfg_ent	*ent;
	size_t		 n, cap;
};

struct cfg *cfg_new(void);
void cfg_free(struct cfg *cfg);
/* Set (or replace) @key; @origin describes where it came from. */
int cfg_set(struct cfg *cfg, const char *key, const char *value,
    const char *origin, char *err, size_t errlen);
/* Look up without marking used. */
const struct cfg_ent *cfg_lookup(const struct cfg *cfg, const char *key);
/* Look up and mark used. */
const char *cfg_get(const struct cfg *cfg, const char *key);
/* "key=value" (as -o takes it). */
int cfg_set_kv(struct cfg *cfg, const char *kv, const char *origin,
    char *err, size_t errlen);
/* Read a config file (bhyve syntax). */
int cfg_load_file(struct cfg *cfg, const char *path, char *err,
    size_t errlen);
/* Parse a config-file text; @name is used in messages. */
int cfg_load_text(struct cfg *cfg, const char *text, size_t len,
    const char *name, char *err, size_t errlen);
/* The first key nobody read, or NULL. */
const struct cfg_ent *cfg_first_unused(const struct cfg *cfg);
bool cfg_valid_key(const char *key);
/* Parse helpers shared with the typed getters. */
int cfg_parse_bool(const char *s, bool *out);
int cfg_parse_u64(const char *s, uint64_t *out);
/* Sort entries by key (for dumping and for the checkpoint). */
void cfg_sort(struct cfg *cfg);
/*
 * Every key into @sec as nested sections and string fields
 * ("pci.0.3.0.device" -> pci/0/3/0/device), and back (keys set with
 * @origin, e.g. "checkpoint vm.ckp", so -o given after can override).
 */
int cfg_save_ckp(const struct cfg *cfg, ckp_sec_t *sec);
int cfg_load_ckp(struct cfg *cfg, const ckp_sec_t *sec, const char *origin,
    char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Guest memory (vmm/mem.c)                                                  */
/* ------------------------------------------------------------------------ */

#define VM_MAX_MEM_REGIONS	4

struct vm_mem_region {
	const char	*name;		/* "lowmem", "highmem" */
	uint64_t	 gpa;
	uint64_t	 size;
	uint8_t		*host;
	uint64_t	 file_off;	/* offset in a RAM file: regions in order */
	uint32_t	 slot;		/* KVM memory slot */
	uint32_t	 kvm_flags;	/* KVM_MEM_LOG_DIRTY_PAGES... */
	_Atomic unsigned long *dirty;	/* device writes, one bit per page; NULL = off */
};

int vm_mem_init(struct vm *vm, uint64_t size);
void vm_mem_fini(struct vm *vm);
/* Register every region as a KVM memory slot. */
int vm_mem_kvm_register(struct vm *vm);
/*
 * Dirty page tracking: on, KVM logs guest writes per slot
 * (KVM_MEM_LOG_DIRTY_PAGES) and vm_gpa_dirty() logs device writes.
 * vm_mem_dirty_get() fills @bitmap (one bit per 4 KiB page of region
 * @idx, (size / 4096 + 63) / 64 longs) with the pages written since the
 * previous call, and starts over.
 */
int vm_mem_dirty_log(struct vm *vm, bool on);
int vm_mem_dirty_get(struct vm *vm, unsigned idx, unsigned long *bitmap);
/* The host memory hyve may give a guest, in bytes (MemAvailable + SwapFree). */
uint64_t vm_mem_host_limit(void);

/* ------------------------------------------------------------------------ */
/* I/O buses (vmm/bus.c)                                                     */
/* ------------------------------------------------------------------------ */

struct io_range {
	uint64_t	 base, len;
	io_fn		*fn;
	void		*opaque;
	char		 owner[40];
};

struct iobus {
	const char	*name;		/* "port", "MMIO" */
	pthread_rwlock_t lock;
	struct io_range	*r;		/* sorted by base, disjoint */
	size_t		 n, cap;
};

void iobus_init(struct iobus *bus, const char *name);
void iobus_fini(struct iobus *bus);
int iobus_register(struct vm *vm, struct iobus *bus, uint64_t base,
    uint64_t len, io_fn *fn, void *opaque, const char *owner);
int iobus_unregister(struct iobus *bus, uint64_t base);
/* -ENOENT when no range covers the access; else the handler's result. */
int iobus_access(struct iobus *bus, uint64_t addr, unsigned size,
    bool is_write, uint64_t *val, char *owner, size_t ownerlen);

/* Ports a normal guest probes that hyve answers as "nothing there". */
const char *legacy_port_name(uint16_t port);

/* ------------------------------------------------------------------------ */
/* vCPUs (vmm/vcpu.c, vmm/cpuid.c)                                           */
/* ------------------------------------------------------------------------ */

struct vcpu {
	struct vm	*vm;
	unsigned	 id;		/* also its APIC ID */
	int		 fd;
	struct kvm_run	*run;
	size_t		 run_size;
	/* Run state (vmm/run.c): set and read under vm->run.lock. */
	pthread_t	 thread;
	bool		 thread_started;
	bool		 parked;	/* outside KVM_RUN for a pause */
	/* The vCPU's own thread only. */
	bool		 io_pending;	/* a port/MMIO exit not yet completed */
	uint64_t	 nexits;
};

int vcpu_create(struct vm *vm, unsigned id);
void vcpu_destroy(struct vcpu *vcpu);
int vcpu_setup_cpuid(struct vcpu *vcpu);
int vcpu_setup_lapic(struct vcpu *vcpu);
/* BSP registers for the PVH entry: 32-bit flat protected mode. */
int vcpu_setup_pvh(struct vcpu *vcpu, uint32_t entry, uint32_t start_info);
/*
 * BSP registers for Linux's 64-bit boot protocol: long mode through the
 * GDT and identity map at BOOT_GDT and BOOT_PML4, RSI = @boot_params.
 */
int vcpu_setup_linux64(struct vcpu *vcpu, uint64_t entry,
    uint64_t boot_params);
int vcpus_start(struct vm *vm);
void vcpus_join(struct vm *vm);
void vcpu_kick(struct vcpu *vcpu);

/* Fill @cpuid for vCPU @id from the host-supported list (vmm/cpuid.c). */
int cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned id,
    unsigned ncpus, struct kvm_cpuid2 **out);

/*
 * KVM_GET_SUPPORTED_CPUID of /dev/kvm @kvm_fd as hyve offers it (TSC
 * deadline wherever KVM emulates it) into *@out (malloc'd): 0, -E2BIG when
 * KVM lists more than 4096 entries, or -errno.
 */
int kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out);

/*
 * The names of @bits in CPUID leaf @fn, subleaf @idx, register @reg (0 eax
 * .. 3 edx), as /proc/cpuinfo names them, comma-separated ("bit N" for one
 * without a name) into @buf: what snprintf() returns.
 */
size_t cpuid_feature_names(uint32_t fn, uint32_t idx, int reg, uint32_t bits,
    char *buf, size_t len);
/* The same for XSAVE state components (XSTATE_BV / XCR0 bits). */
size_t xstate_names(uint64_t bits, char *buf, size_t len);

/* ioctl(2) as a parameter, so that tests can act as another kernel. */
typedef int kvm_ioctl_fn(int fd, unsigned long req, void *arg);
int kvm_ioctl_sys(int fd, unsigned long req, void *arg);
struct kvm_cpuid_entry2;
/*
 * The CPUID vCPU @fd has (KVM_GET_CPUID2), exactly its entries on every
 * kernel: *@n of them into @out (room for @cap).  -E2BIG when more than
 * @cap, -EIO when the kernel's answer is inconsistent, saying how in @why
 * (docs/KVM-HOSTS.md).
 */
int cpuid_read(int fd, kvm_ioctl_fn *ioc, struct kvm_cpuid_entry2 *out,
    uint32_t cap, uint32_t *n, char *why, size_t whylen);

/* ------------------------------------------------------------------------ */
/* Stop reasons and exit codes (docs/hyve.8)                                 */
/* ------------------------------------------------------------------------ */

enum vm_stop_reason {
	VM_STOP_NONE = 0,
	VM_STOP_POWEROFF,	/* guest wrote a status to port 0xf4 or S5 */
	VM_STOP_RESET,		/* guest asked for a reset */
	VM_STOP_FAULT,		/* guest error: triple fault, unhandled I/O... */
	VM_STOP_HOST,		/* host or KVM error */
	VM_STOP_SIGNAL,		/* SIGINT, SIGTERM, SIGHUP */
	VM_STOP_SUSPENDED,	/* written to a checkpoint (hyvectl --suspend) */
	VM_STOP_BADRAM,		/* a lazily loaded RAM file chunk did not match */
	VM_STOP_MIGRATED,	/* the destination runs the guest (hyvectl --migrate) */
};

#define HYVE_EXIT_OK		0
#define HYVE_EXIT_GUEST_STATUS	1
#define HYVE_EXIT_USAGE		2
#define HYVE_EXIT_FAULT		3
#define HYVE_EXIT_HOST		4
#define HYVE_EXIT_BADRAM	5	/* restored with --verify=lazy: damaged RAM file */

/*
 * Why a VM could not be started, said by the code that found out: the
 * exit status follows from the kind (hyve_exit_status()), never from an
 * errno value that happened to come back.
 */
enum hyve_err_kind {
	HYVE_ERR_NONE = 0,
	/* The command line, configuration or kernel is wrong: fix it. */
	HYVE_ERR_USAGE,
	/* A request hyve declines: the name is taken, a checkpoint refused. */
	HYVE_ERR_REFUSED,
	/* The host failed, or does not permit what was asked (a privilege). */
	HYVE_ERR_RUNTIME,
};

/* A failure: its kind and its one-line message. */
struct hyve_err {
	enum hyve_err_kind kind;
	char		 msg[PATH_MAX + 1200];
};

/* Set @e (a printf message); @return @rc, the failure's -errno. */
int hyve_err_set(struct hyve_err *e, enum hyve_err_kind kind, int rc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* HYVE_EXIT_USAGE for USAGE and REFUSED, HYVE_EXIT_HOST for RUNTIME. */
int hyve_exit_status(enum hyve_err_kind kind);
/*
 * The kind of a device model's init failure (its -errno, vmm.h): -EPERM is
 * the host not permitting what the configuration asks (attaching to a tap
 * device without CAP_NET_ADMIN) and running short of memory or
 * descriptors is the host's failure; any other errno is the configuration
 * naming something that does not work (a file that is not there).
 */
enum hyve_err_kind hyve_err_kind_of_dev(int rc);
/* While @vm is set up: record the kind of a failure (the first one stays). */
void vm_setup_failed(struct vm *vm, enum hyve_err_kind kind);
/*
 * The kind of the failure of setting @vm (NULL: not even allocated) up
 * with @rc: the one recorded, else vm_create()'s and vm_devs_init()'s
 * contract (-EIO the host, anything else the configuration).
 */
enum hyve_err_kind vm_setup_err(const struct vm *vm, int rc);

/* ------------------------------------------------------------------------ */
/* Run state (vmm/run.c): running, paused, stopping                          */
/* ------------------------------------------------------------------------ */

/*
 * Only vmm/run.c touches these fields (struct vm's "run"), under @lock
 * except the two flags, which anyone may read (vm_run_stopping()) without
 * it.  Everything else goes through the functions below.
 */
struct vm_run {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;		/* parked, left, pause over */
	atomic_bool	 pause_req;	/* vm_pause_vcpus() to resume */
	atomic_bool	 stopping;	/* vm_request_stop(): for good */
	unsigned	 nthreads;	/* vCPU threads alive */
	unsigned	 nparked;	/* of them, parked for the pause */
	/* A migration's auto-converge: per cent of each 10 ms vCPUs sleep. */
	atomic_uint	 throttle;
	enum vm_stop_reason stop_reason;	/* the first stop request's */
	int		 stop_status;
	char		 stop_msg[512];
};

void vm_run_init(struct vm *vm);
void vm_run_fini(struct vm *vm);

/* Record the first stop request and make every vCPU leave KVM_RUN. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A stop was requested: nothing new may start. */
bool vm_run_stopping(const struct vm *vm);
/* The first stop request's message ("stopping" before it is known). */
void vm_run_stop_msg(struct vm *vm, char *buf, size_t len);
/* Exit code for the recorded reason (once the vCPU threads are gone). */
int vm_exit_code(const struct vm *vm);

/*
 * Rendezvous: on return of vm_pause_vcpus() every vCPU thread is parked
 * outside KVM_RUN (and will stay there until vm_resume_vcpus()), so its
 * state may be read or written with the KVM ioctls.  -ESHUTDOWN when the
 * VM is stopping.
 */
int vm_pause_vcpus(struct vm *vm);
void vm_resume_vcpus(struct vm *vm);

/*
 * Auto-converge (vmm/migrate_out.c): each vCPU sleeps @pct per cent
 * (0..99) of every 10 ms period it runs; 0 lifts it.  The caller kicks the
 * vCPUs every period so that a guest that never exits is throttled too.
 */
void vm_run_throttle_set(struct vm *vm, unsigned pct);
unsigned vm_run_throttle(const struct vm *vm);

/*
 * The vCPU threads' side of it (vmm/vcpu.c).  vm_run_vcpu_start() counts
 * the thread in before it can run, so that a pause waits for it too;
 * vm_run_vcpu_park() parks while a pause lasts (true: the VM is stopping
 * instead); vm_run_vcpu_exit() counts it out.
 */
int vm_run_vcpu_start(struct vcpu *v, void *(*fn)(void *));
/* Leave KVM_RUN: a pause or a stop was requested. */
bool vm_run_vcpu_should_park(const struct vm *vm);
bool vm_run_vcpu_park(struct vcpu *v);
void vm_run_vcpu_exit(struct vcpu *v);

/*
 * The whole VM: vCPUs first (no more guest kicks), then every device's
 * pause op (block I/O drained); resume in the other order.  Failures name
 * the device and leave the VM running.  Callers serialize them: the holder
 * of the checkpoint claim, or vm_ckpt_user_pause() (below).
 */
int vm_pause(struct vm *vm, char *err, size_t errlen);
int vm_resume(struct vm *vm, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Control and checkpoint state (vmm/ckpt_state.c)                           */
/* ------------------------------------------------------------------------ */

/*
 * Who may pause, resume or write the VM: at most one checkpoint at a time
 * (the claim), and the pause a user asked for.  Only vmm/ckpt_state.c
 * touches these fields (struct vm's "ckst"), under @lock.
 */
struct vm_ckpt_state {
	pthread_mutex_t	 lock;
	bool		 user_paused;	/* hyvectl --pause */
	bool		 active;	/* a checkpoint holds the claim */
	bool		 migration;	/* ... a migration, rather */
	char		 path[4096];	/* ... and writes this (or its address) */
};

void vm_ckpt_state_init(struct vm *vm);
void vm_ckpt_state_fini(struct vm *vm);
/*
 * Claim the VM for a checkpoint to @path: -EBUSY while another one runs,
 * -ESHUTDOWN when the VM is stopping, -ENAMETOOLONG; @err says which.
 * vm_ckpt_release() when done, before the answer goes out.
 */
int vm_ckpt_claim(struct vm *vm, const char *path, char *err, size_t errlen);
/* The same for a migration to @addr (its busy messages say so). */
int vm_ckpt_claim_migration(struct vm *vm, const char *addr, char *err,
    size_t errlen);
void vm_ckpt_release(struct vm *vm);
/*
 * With the claim held: the guest that the claim's holder paused stays
 * paused as if the user had paused it, so that only the user resumes it
 * (a migration whose hand-over is unconfirmed).
 */
void vm_ckpt_keep_paused(struct vm *vm);
/* The user's pause (hyvectl --pause), as the VM will run after a checkpoint. */
bool vm_ckpt_user_paused(struct vm *vm);
/*
 * Pause or resume for the user: -EBUSY during a checkpoint, -EALREADY when
 * already so (not an error to report), else vm_pause()'s or vm_resume()'s
 * result; @err says why.
 */
int vm_ckpt_user_pause(struct vm *vm, bool pause, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* The control socket (vmm/ctl.c, docs/CONTROL.md)                           */
/* ------------------------------------------------------------------------ */

struct ctl;

/*
 * Create (or check) the runtime directory and listen on NAME.sock there:
 * a stale socket is replaced, a live one (another hyve of that name) is
 * -EADDRINUSE, refused.  A name, runtime directory or socket path that
 * cannot be used is a usage error; the host running short is a runtime
 * one.  Requests wait in the backlog until ctl_start().
 */
int ctl_listen(const char *name, struct ctl **ctlp, struct hyve_err *e);
/* Serve requests for @vm from a thread of its own. */
int ctl_start(struct ctl *ctl, struct vm *vm);
/* Stop serving, wait for requests in progress, remove the socket. */
void ctl_close(struct ctl *ctl);
const char *ctl_path(const struct ctl *ctl);

/* ------------------------------------------------------------------------ */
/* Backends: a VM on KVM, or the test VM without it                          */
/* ------------------------------------------------------------------------ */

/*
 * What a VM on KVM (vm_kvm_backend, vmm/backend_kvm.c) does differently
 * from the test VM of unit tests and fuzzers (vm_test_backend,
 * vmm/backend_test.c, test builds only: no KVM, interrupts and guest stop
 * requests logged for the test to read).  Chosen once, when the VM is
 * made: vm_alloc() (and so vm_create()) takes KVM's, vm_new_for_test()
 * the test one.
 */
struct vm_backend_ops {
	const char	*name;
	/* Inaccessible bytes on each side of every RAM region. */
	uint64_t	 ram_guard;
	/*
	 * The vCPUs run on this host's CPU: what a checkpoint says of its
	 * CPU (CPUID, XCRs) is checked against it when it is restored.
	 */
	bool		 host_cpu;
	/* Hand every RAM region, with its kvm_flags, to the hypervisor. */
	int		(*mem_register)(struct vm *vm);
	/* Set in @bitmap the pages of @r the vCPUs wrote since the last call. */
	int		(*dirty_get)(struct vm *vm, const struct vm_mem_region *r,
			    unsigned long *bitmap);
	int		(*irq_line)(struct vm *vm, unsigned gsi, int level);
	int		(*msi)(struct vm *vm, uint64_t addr, uint32_t data);
	/* The guest asked to power off or to be reset. */
	void		(*poweroff)(struct vm *vm, int status);
	void		(*reset)(struct vm *vm);
	/* The BSP's registers for the entry @plan chose. */
	int		(*boot_cpu)(struct vm *vm, const struct boot_plan *plan);
	/* What the backend keeps of its own, freed last by vm_free(). */
	void		(*fini)(struct vm *vm);
};

extern const struct vm_backend_ops vm_kvm_backend;
#ifdef HYVE_TEST_HOOKS
extern const struct vm_backend_ops vm_test_backend;
#endif

/* ------------------------------------------------------------------------ */
/* The VM                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Grouped by owner.  Up to the boot group: set up by the main thread
 * (vm_create(), vm_devs_init(), vm_boot_setup(), restore) before any other
 * thread starts, read-only after that except where a field says; the
 * groups below say who may touch them and under which lock.
 */
struct vm {
	char		 name[72];
	struct cfg	*cfg;
	const struct vm_backend_ops *be;	/* set once, at creation */

	/* KVM (vmm/kvm.c, vmm/state.c) */
	int		 kvm_fd;
	int		 vm_fd;
	int		 run_mmap_size;
	struct kvm_cpuid2 *supported_cpuid;
	uint32_t	*msr_index;	/* MSRs a checkpoint saves (state.c) */
	unsigned	 nmsrs;
	size_t		 xsave_size;	/* bytes of KVM_GET_XSAVE(2) */
	bool		 xsave2;
	bool		 has_xcrs;	/* KVM_GET/SET_XCRS work (host has XSAVE) */
	bool		 tsc_no_attr;	/* tests: restore the TSC as before 5.16 */

	/*
	 * Memory (vmm/mem.c): the regions' kvm_flags and dirty change only
	 * for the holder of the checkpoint claim (vm_mem_dirty_log()).
	 */
	uint64_t	 mem_size;
	struct vm_mem_region mem[VM_MAX_MEM_REGIONS];
	unsigned	 nmem;
	struct lazyram	*lazy;		/* RAM loaded on demand (vmm/lazyram.c) */

	struct iobus	 pio, mmio;	/* each under its own rwlock */
	bool		 strictio;	/* x86.strictio: stop on unknown ports */
	bool		 strictmmio;	/* x86.strictmmio: stop on unmapped MMIO */
	_Atomic uint64_t warned_ports[65536 / 64];	/* reported once each */

	/* vCPUs */
	unsigned	 ncpus;
	struct vcpu	*vcpus;

	/* devices, in init order */
	struct dev	**devs;
	unsigned	 ndevs;

	/* boot */
	uint64_t	 entry;		/* the kernel's entry (PVH or bzImage) */
	uint64_t	 start_info;	/* hvm_start_info or boot_params */

	/*
	 * Set up by vm_create() on the main thread; written by
	 * vm_request_stop() (any thread), read by the main thread's wait.
	 */
	int		 event_fd;

	/* Logging (vmm/vm.c): atomics, any thread. */
	_Atomic unsigned nlogs;		/* messages logged so far */
	/* vm_log_guest's budget: a window, its count, what it dropped */
	_Atomic uint64_t glog_start_ms;
	_Atomic unsigned glog_count;
	_Atomic unsigned glog_dropped;
	unsigned	 glog_window_ms;	/* 0: GUEST_LOG_WINDOW_MS */
	unsigned	 glog_max;	/* per window; 0: GUEST_LOG_MAX */

	/* Running, paused, stopping: vmm/run.c's (struct vm_run, above). */
	struct vm_run	 run;
	/* Checkpoint claim and user pause: vmm/ckpt_state.c's (above). */
	struct vm_ckpt_state ckst;

	/* Main thread: restore.c sets it while it creates the devices. */
	bool		 restoring;
	/* Main thread, while the VM is set up: vm_setup_failed(). */
	enum hyve_err_kind setup_err;
	/* ctl_start() .. ctl_close() (vmm/ctl.c), main thread. */
	struct ctl	*ctl;

#ifdef HYVE_TEST_HOOKS
	/* vm_test_backend's own (vmm/backend_test.c); NULL on KVM. */
	struct vm_test_state *tstate;
#endif
};

/* Allocate the common parts (name, config, buses, locks), on KVM. */
struct vm *vm_alloc(struct cfg *cfg);
/* Create the KVM VM from the config: memory, irqchip, PIT, vCPUs, devices. */
int vm_create(struct cfg *cfg, struct vm **vmp);
/* Load the kernel, write boot data, set the BSP's registers. */
int vm_boot_setup(struct vm *vm);
/* Create the device instances the config names and init them. */
int vm_devs_init(struct vm *vm);
/* The instances a configuration names, in init order, without creating them. */
struct dev_plan {
	const struct devemu *emu;
	char node[48];
	char id[48];
};
int vm_devs_plan(const struct cfg *cfg, struct dev_plan **planp, size_t *np,
    char *err, size_t errlen);
void vm_devs_fini(struct vm *vm);
/* Start every device (its resume op) before the vCPUs first run. */
int vm_devs_start(struct vm *vm);
struct dev *vm_dev_add(struct vm *vm, const struct devemu *emu,
    const char *node, const char *id);
/* memory.size / -m: N[K|M|G|T], a bare number is MiB (bhyve). */
int vm_parse_memsize(const char *s, uint64_t *out);
/* Reject keys nobody read. */
int vm_cfg_check_unused(struct vm *vm);

/* ------------------------------------------------------------------------ */
/* Booting (vmm/boot.c, vmm/elf.c, vmm/bzimage.c, vmm/pvh.c, vmm/acpi.c)    */
/* ------------------------------------------------------------------------ */

/* Boot data hyve writes lives here; E820 marks it reserved (docs/BOOT.md). */
#define BOOT_AREA_BASE		0xE0000ULL
#define BOOT_AREA_END		0x100000ULL
#define BOOT_ACPI_BASE		0xE0000ULL	/* RSDP first, then tables */
#define BOOT_ACPI_END		0xF0000ULL
#define BOOT_START_INFO		0xF0000ULL	/* PVH: hvm_start_info */
#define BOOT_MEMMAP		0xF0100ULL	/* PVH: E820-style entries */
#define BOOT_MODLIST		0xF0800ULL	/* PVH: hvm_modlist_entry (initrd) */
#define BOOT_CMDLINE		0xF1000ULL	/* both protocols */
#define BOOT_CMDLINE_MAX	4096		/* bytes including the NUL */
#define BOOT_PARAMS		0xF2000ULL	/* bzImage: struct boot_params */
#define BOOT_GDT		0xF3000ULL	/* bzImage: GDT of the 64-bit entry */
#define BOOT_PML4		0xF4000ULL	/* bzImage: identity map of 4 GiB */
#define BOOT_PDPT		0xF5000ULL
#define BOOT_PD			0xF6000ULL	/* 4 page directories, 2 MiB pages */
#define BOOT_STACK_TOP		0xFB000ULL	/* bzImage: RSP, stack [0xFA000, ..) */
#define BOOT_GDT_LIMIT		0x2F		/* null, null, code, data, TSS (16) */
#define BOOT_SEL_CODE		0x10		/* Linux's __BOOT_CS */
#define BOOT_SEL_DATA		0x18		/* Linux's __BOOT_DS */
#define BOOT_SEL_TSS		0x20

/* The memory map both protocols give the kernel (E820 types 1 and 2). */
#define BOOT_E820_MAX		8
struct boot_e820 {
	uint64_t addr, size;
	uint32_t type;
};
unsigned boot_e820_map(const struct vm *vm, struct boot_e820 *map);

/* A Linux bzImage as hyve loads it (vmm/bzimage.c). */
struct bzimage {
	uint16_t version;	/* boot protocol: 0x20f is 2.15 */
	uint32_t hdr_end;	/* the setup header is [0x1f1, hdr_end) */
	uint64_t setup_size;	/* (setup_sects + 1) * 512: the 64-bit code's offset */
	uint64_t pm_size;	/* the rest of the file: copied to @load */
	uint64_t load;		/* where hyve copies it; entry at load + 0x200 */
	uint64_t run_start;	/* where it decompresses: [run_start, run_end) */
	uint64_t run_end;	/* run_start + init_size */
	uint32_t cmdline_size;	/* longest command line, without the NUL */
	uint64_t initrd_max;	/* initrd_addr_max: the initrd's last byte */
};

/*
 * Check a bzImage's setup header and choose its load address in @vm's RAM
 * (nothing written).  Messages start with "kernel NAME: ".
 */
int bzimage_parse(struct vm *vm, const void *buf, size_t len,
    const char *name, struct bzimage *bz, char *err, size_t errlen);
/*
 * Copy the 64-bit kernel to bz->load and write boot_params (header, command
 * line and initrd pointers, E820 map, RSDP), the GDT and the page tables.
 */
int bzimage_write(struct vm *vm, const struct bzimage *bz, const void *buf,
    uint64_t initrd, uint64_t initrd_size, uint64_t rsdp);

/* What boot_plan() decided: checked, nothing written yet. */
enum boot_kind { BOOT_PVH = 1, BOOT_BZIMAGE };
struct boot_plan {
	enum boot_kind	 kind;
	uint64_t	 entry;		/* PVH: 32-bit entry; bzImage: load + 0x200 */
	uint64_t	 params;	/* EBX or RSI: hvm_start_info or boot_params */
	uint64_t	 kernel_end;	/* above all the kernel needs in low RAM */
	uint64_t	 initrd_addr;	/* page-aligned, at the top of low RAM */
	uint64_t	 initrd_size;	/* 0: no initrd */
	struct bzimage	 bz;		/* BOOT_BZIMAGE */
};

/*
 * Check a kernel (a PVH ELF or a bzImage, told apart by content), an initrd
 * of @initrd_size bytes (0: none) and the command line against @vm's RAM
 * and place them; nothing is written.  Messages name the file ("kernel K:
 * ...", "initrd I: ...") or the key ("boot.append: ...").
 */
int boot_plan(struct vm *vm, const void *kernel, size_t klen,
    const char *kname, uint64_t initrd_size, const char *iname,
    const char *cmdline, struct boot_plan *plan, char *err, size_t errlen);
/*
 * Write what @plan describes: the kernel, the boot data of its protocol
 * and, unless NULL, the initrd's bytes (else the caller put them at
 * plan->initrd_addr).
 */
int boot_write(struct vm *vm, const struct boot_plan *plan,
    const void *kernel, size_t klen, const void *initrd, const char *cmdline,
    uint64_t rsdp, char *err, size_t errlen);
/*
 * Read the kernel @kpath and the initrd @ipath (NULL: none), check and
 * place them, build the ACPI tables and write everything (vm_boot_setup()
 * without the vCPU).
 */
int boot_load_files(struct vm *vm, const char *kpath, const char *ipath,
    const char *cmdline, struct boot_plan *plan, char *err, size_t errlen);
/* Read a whole regular file of at most @max bytes; @what names it ("kernel"). */
int boot_read_file(const char *what, const char *path, uint64_t max,
    uint8_t **bufp, size_t *lenp, char *err, size_t errlen);

/*
 * Load the PVH ELF @path into guest RAM.  Every header, offset and size is
 * checked before anything is written; the message names the file.
 */
int pvh_load_elf(struct vm *vm, const char *path, uint64_t *entry,
    char *err, size_t errlen);
/* As above from a buffer (unit tests, fuzzing). */
int pvh_load_elf_buf(struct vm *vm, const void *buf, size_t len,
    const char *name, uint64_t *entry, char *err, size_t errlen);
/*
 * Only the checks of pvh_load_elf_buf(): *end gets the end of the highest
 * segment below 4 GiB (where an initrd may start).
 */
/* Set @err to "kernel @name: <fmt...>" and return -EINVAL (vmm/boot.c). */
int kernel_fail(char *err, size_t errlen, const char *name, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
int pvh_check_elf_buf(struct vm *vm, const void *buf, size_t len,
    const char *name, uint64_t *entry, uint64_t *end, char *err,
    size_t errlen);

/* Write hvm_start_info, its memory map and the command line. */
int pvh_write_start_info(struct vm *vm, const char *cmdline, uint64_t rsdp,
    char *err, size_t errlen);
/* The same with one module, the initrd at @initrd (@initrd_size 0: none). */
int pvh_write_start_info_initrd(struct vm *vm, const char *cmdline,
    uint64_t rsdp, uint64_t initrd, uint64_t initrd_size, char *err,
    size_t errlen);

/* Build the ACPI tables at BOOT_ACPI_BASE; *rsdp gets the RSDP address. */
int acpi_build(struct vm *vm, uint64_t *rsdp, char *err, size_t errlen);
uint8_t acpi_checksum(const void *p, size_t len);

/* vm_log() with a va_list. */
void vm_logv(const struct vm *vm, const char *fmt, va_list ap);

#endif /* HYVE_VM_PRIV_H */
