/*
 * The guest's life at CPL3: boot information, console, ACPI, clocks, the
 * other vCPUs, then the workloads named on the command line, a verdict per
 * workload, `GUEST EXIT status=S` and power-off through port 0xf4.
 */
#include "guest.h"
#include "acpi.h"
#include "bootinfo.h"
#include "lapic.h"
#include "workload.h"

struct cpu_state cpus[MAX_CPUS];
u32 ncpus = 1;
u32 hz = 100;
u64 seed = 1;
u64 tsc_khz;
u64 lapic_hz;
bool verbose;

static const struct wl_ops *const all_ops[] = {
	&wl_churn, &wl_ticks, &wl_fault, &wl_copy, &wl_ping, &wl_beacon, &wl_badvq,
	&wl_touch, &wl_rtc, &wl_dirty,
};

static char argbuf[3 * CMDLINE_MAX];
static struct wl wls[WL_MAX];
static u32 nwl;
static char cmd_err[160];

static struct {
	struct wl *w;
	u32 idx, n;
} task[MAX_CPUS];
static volatile u32 go;
static volatile u32 done;

u64 mix64(u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

void power_off(u32 status)
{
	outl(0xf4, status);
	/* no isa-debug-exit device: nothing else to do but stop */
	for (;;)
		idle();
}

void guest_exit(u32 status)
{
	cprintf("GUEST EXIT status=%u", status);
	power_off(status);
}

bool wl_barrier_wait(struct wl_barrier *b, u32 n, u32 *local_sense)
{
	u32 s = *local_sense ^= 1;
	u64 t0 = ticks;

	if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == n) {
		b->count = 0;
		__atomic_store_n(&b->sense, s, __ATOMIC_RELEASE);
		return true;
	}
	while (__atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != s) {
		cpu_relax();
		if (ticks - t0 > 600ULL * hz)
			return false;
	}
	return true;
}

/* Tokens: "key=value" anywhere sets a global option; ';' separates
 * workloads; otherwise a workload name followed by its arguments. */
static int parse_cmdline(void)
{
	char *p = argbuf, *tok;
	struct wl *cur = NULL;
	u32 j = 0;

	/* a copy with ';' standing alone, so that whitespace splits it all */
	for (u32 i = 0; cmdline[i] && j + 4 < sizeof(argbuf); i++) {
		char ch = cmdline[i] == '\t' || cmdline[i] == '\n' ? ' ' : cmdline[i];

		if (ch == ';') {
			argbuf[j++] = ' ';
			argbuf[j++] = ';';
			argbuf[j++] = ' ';
		} else {
			argbuf[j++] = ch;
		}
	}
	argbuf[j] = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		tok = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = 0;
		if (!strcmp(tok, ";")) {
			cur = NULL;
			continue;
		}
		if (strchr(tok, '=')) {
			char *v = strchr(tok, '=');
			u64 x;

			*v++ = 0;
			if (strchr(tok, '.'))	/* kernel-style parameter a VMM added */
				continue;
			if (!strcmp(tok, "hz")) {
				if (parse_u64(v, &x, false) || x < 10 || x > 1000)
					goto bad_value;
				hz = x;
			} else if (!strcmp(tok, "seed")) {
				if (parse_u64(v, &x, false))
					goto bad_value;
				seed = x;
			} else if (!strcmp(tok, "verbose")) {
				if (parse_u64(v, &x, false) || x > 1)
					goto bad_value;
				verbose = x;
			} else {
				snprintf(cmd_err, sizeof(cmd_err), "unknown option '%s'", tok);
				return -1;
			}
			continue;
bad_value:
			snprintf(cmd_err, sizeof(cmd_err), "bad value '%s' for option '%s'", v, tok);
			return -1;
		}
		if (cur) {
			if (cur->argc >= WL_ARGS) {
				snprintf(cmd_err, sizeof(cmd_err), "too many arguments for '%s'",
				    cur->ops->name);
				return -1;
			}
			cur->argv[cur->argc++] = tok;
			continue;
		}
		if (nwl >= WL_MAX) {
			snprintf(cmd_err, sizeof(cmd_err), "more than %u workloads", WL_MAX);
			return -1;
		}
		cur = &wls[nwl];
		for (u32 i = 0; i < ARRAY_SIZE(all_ops); i++)
			if (!strcmp(tok, all_ops[i]->name))
				cur->ops = all_ops[i];
		if (!cur->ops) {
			snprintf(cmd_err, sizeof(cmd_err), "unknown workload '%s'", tok);
			return -1;
		}
		cur->index = nwl++;
	}
	return 0;
}

/* The rest of free RAM goes to the takes_rest workloads, in equal shares. */
static void give_rest(struct wl *w, u32 left)
{
	u64 share = ALIGN_DOWN(mem_free_total() / left, 4096);

	w->nmem = 0;
	w->memsize = 0;
	for (u32 i = 0; i < nfree && share && w->nmem < WL_RANGES; i++) {
		u64 n = MIN(free_ranges[i].end - free_ranges[i].start, share);

		if (!n)
			continue;
		w->mem[w->nmem++] = (struct range){ free_ranges[i].start, free_ranges[i].start + n };
		free_ranges[i].start += n;
		w->memsize += n;
		share -= n;
	}
}

static void run_task(u32 cpu)
{
	if (task[cpu].w)
		task[cpu].w->ops->run(task[cpu].w, task[cpu].idx, task[cpu].n);
	__atomic_add_fetch(&done, 1, __ATOMIC_ACQ_REL);
}

static void fmt_size(char *buf, size_t n, u64 v)
{
	if (v % GiB == 0)
		snprintf(buf, n, "%lluG", (unsigned long long)(v / GiB));
	else
		snprintf(buf, n, "%lluM", (unsigned long long)(v / MiB));
}

void user_main_bsp(void)
{
	u32 status = ST_OK, rest = 0;
	char ramstr[24];
	int rc;

	console_init();
	rc = bootinfo_copy();
	if (rc == -1) {
		cprintf("BOOT FAIL no hvm_start_info (magic %#x) at %#x", PVH_MAGIC, boot_start_info);
		guest_exit(ST_BOOT);
	} else if (rc < 0) {
		cprintf("BOOT FAIL no memory map: hvm_start_info version 0 or no entries, and no RAM size in CMOS");
		guest_exit(ST_BOOT);
	}
	mem_init();
	rc = parse_cmdline();
	if (acpi_init() < 0)
		cprintf("BOOT WARN no ACPI MADT found (rsdp=%#llx): running on 1 vCPU",
		    (unsigned long long)acpi.rsdp);
	if (timer_calibrate() < 0) {
		cprintf("BOOT FAIL no clock to calibrate the TSC and LAPIC timer against");
		guest_exit(ST_BOOT);
	}
	lapic_setup(true);
	{
		int n = smp_start();

		if (n < 0)
			guest_exit(ST_BOOT);
		ncpus = n;
	}
	fmt_size(ramstr, sizeof(ramstr), ALIGN_UP(ram_total, MiB));
	cprintf("HYVE-GUEST %s cpus=%u ram=%s hz=%u tsc_khz=%llu clock=%s cmdline=\"%s\"",
	    GUEST_VERSION, ncpus, ramstr, hz, (unsigned long long)tsc_khz, clock_source, cmdline);
	if (verbose) {
		for (u32 i = 0; i < memmap_n; i++)
			cprintf("MEMMAP %#llx-%#llx type=%u", (unsigned long long)memmap[i].addr,
			    (unsigned long long)(memmap[i].addr + memmap[i].size), memmap[i].type);
		cprintf("BOOT memmap=%s rsdp=%#llx (%s) lapic_hz=%llu image_end=%p free=%lluM",
		    memmap_source, (unsigned long long)acpi.rsdp, acpi.rsdp_source,
		    (unsigned long long)lapic_hz, __image_end,
		    (unsigned long long)(mem_free_total() / MiB));
	}
	if (boot_map_truncated)
		cprintf("BOOT WARN RAM above %lluG is not mapped", (unsigned long long)(mapped_top / GiB));
	if (rc < 0) {
		cprintf("CMDLINE ERROR %s", cmd_err);
		guest_exit(ST_CMDLINE);
	}
	if (nwl > ncpus) {
		cprintf("CMDLINE ERROR %u workloads need %u vCPUs, the guest has %u", nwl, nwl, ncpus);
		guest_exit(ST_CMDLINE);
	}
	for (u32 i = 0; i < nwl; i++)
		if (wls[i].ops->parse(&wls[i]) < 0)
			guest_exit(ST_CMDLINE);

	/* placement: one parallel workload alone uses every vCPU */
	if (nwl == 1 && wls[0].ops->parallel) {
		wls[0].ncpu = ncpus;
		for (u32 c = 0; c < ncpus; c++)
			task[c] = (typeof(task[0])){ &wls[0], c, ncpus };
	} else {
		for (u32 i = 0; i < nwl; i++) {
			wls[i].ncpu = 1;
			task[i] = (typeof(task[0])){ &wls[i], 0, 1 };
		}
	}
	for (u32 i = 0; i < nwl; i++) {
		wls[i].status = ST_OK;
		if (wls[i].ops->takes_rest)
			rest++;
		else if (wls[i].ops->prepare && wls[i].ops->prepare(&wls[i]) < 0)
			wls[i].status = ST_FAIL;
	}
	for (u32 i = 0; i < nwl; i++) {
		if (!wls[i].ops->takes_rest)
			continue;
		give_rest(&wls[i], rest--);
		if (wls[i].ops->prepare && wls[i].ops->prepare(&wls[i]) < 0)
			wls[i].status = ST_FAIL;
	}
	for (u32 c = 0; c < ncpus; c++)
		if (task[c].w && task[c].w->status != ST_OK)
			task[c].w = NULL;	/* prepare failed and said why */

	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	run_task(0);
	while (done < ncpus)
		idle();
	for (u32 i = 0; i < nwl && status == ST_OK; i++)
		status = wls[i].status;
	guest_exit(status);
}

void user_main_ap(u32 cpu)
{
	lapic_setup(false);
	__atomic_store_n(&cpus[cpu].online, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		idle();
	run_task(cpu);
	for (;;)
		idle();
}

static const char *const vec_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MF-old",
	"#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
	"#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

void user_fault_report(u32 cpu)
{
	struct fault_info *fi = &fault_info[cpu];
	const char *name = fi->f.vector < 32 ? vec_names[fi->f.vector] : "unexpected-interrupt";

	console_force_unlock();
	cprintf("FAULT %s vector=%llu err=%#llx rip=%#llx cs=%#llx rflags=%#llx rsp=%#llx "
	    "cr2=%#llx cpu=%u cpl=%llu",
	    name, (unsigned long long)fi->f.vector, (unsigned long long)fi->f.error,
	    (unsigned long long)fi->f.rip, (unsigned long long)fi->f.cs,
	    (unsigned long long)fi->f.rflags, (unsigned long long)fi->f.rsp,
	    (unsigned long long)fi->cr2, cpu, (unsigned long long)(fi->f.cs & 3));
	cprintf("FAULT regs rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx rsi=%#llx rdi=%#llx rbp=%#llx",
	    (unsigned long long)fi->f.rax, (unsigned long long)fi->f.rbx,
	    (unsigned long long)fi->f.rcx, (unsigned long long)fi->f.rdx,
	    (unsigned long long)fi->f.rsi, (unsigned long long)fi->f.rdi,
	    (unsigned long long)fi->f.rbp);
	guest_exit(ST_FAULT);
}
