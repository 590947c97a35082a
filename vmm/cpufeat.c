/*
 * Names of the CPUID feature bits a restore compares (the names Linux
 * shows in /proc/cpuinfo), so that a refusal says what this host lacks
 * instead of a bare mask.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vm_priv.h"

struct feat_names {
	uint32_t fn, idx;
	int reg;			/* 0 eax, 1 ebx, 2 ecx, 3 edx */
	const char *name[32];		/* NULL: no name, "bit N" */
};

static const struct feat_names names[] = {
	{ 1, 0, 2, { "pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx",
	    "smx", "est", "tm2", "ssse3", "cid", "sdbg", "fma", "cx16", "xtpr",
	    "pdcm", NULL, "pcid", "dca", "sse4_1", "sse4_2", "x2apic", "movbe",
	    "popcnt", "tsc_deadline_timer", "aes", "xsave", "osxsave", "avx",
	    "f16c", "rdrand", "hypervisor" } },
	{ 1, 0, 3, { "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce",
	    "cx8", "apic", NULL, "sep", "mtrr", "pge", "mca", "cmov", "pat",
	    "pse36", "pn", "clflush", NULL, "dts", "acpi", "mmx", "fxsr", "sse",
	    "sse2", "ss", "ht", "tm", "ia64", "pbe" } },
	{ 7, 0, 1, { "fsgsbase", "tsc_adjust", "sgx", "bmi1", "hle", "avx2",
	    "fdp_excptn_only", "smep", "bmi2", "erms", "invpcid", "rtm", "cqm",
	    "zero_fcs_fds", "mpx", "rdt_a", "avx512f", "avx512dq", "rdseed",
	    "adx", "smap", "avx512ifma", "pcommit", "clflushopt", "clwb",
	    "intel_pt", "avx512pf", "avx512er", "avx512cd", "sha_ni",
	    "avx512bw", "avx512vl" } },
	{ 7, 0, 2, { "prefetchwt1", "avx512vbmi", "umip", "pku", "ospke",
	    "waitpkg", "avx512_vbmi2", "shstk", "gfni", "vaes", "vpclmulqdq",
	    "avx512_vnni", "avx512_bitalg", "tme", "avx512_vpopcntdq", NULL,
	    "la57", NULL, NULL, NULL, NULL, NULL, "rdpid", "kl",
	    "bus_lock_detect", "cldemote", NULL, "movdiri", "movdir64b",
	    "enqcmd", "sgx_lc", "pks" } },
	{ 7, 0, 3, { NULL, NULL, "avx512_4vnniw", "avx512_4fmaps", "fsrm",
	    "uintr", NULL, NULL, "avx512_vp2intersect", "srbds_ctrl",
	    "md_clear", "rtm_always_abort", NULL, "tsx_force_abort",
	    "serialize", "hybrid_cpu", "tsxldtrk", NULL, "pconfig", "arch_lbr",
	    "ibt", NULL, "amx_bf16", "avx512_fp16", "amx_tile", "amx_int8",
	    "spec_ctrl", "intel_stibp", "flush_l1d", "arch_capabilities",
	    "core_capabilities", "spec_ctrl_ssbd" } },
	{ 0xd, 1, 0, { "xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd" } },
	{ 0x80000001, 0, 2, { "lahf_lm", "cmp_legacy", "svm", "extapic",
	    "cr8_legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch",
	    "osvw", "ibs", "xop", "skinit", "wdt", NULL, "lwp", "fma4", "tce",
	    NULL, "nodeid_msr", NULL, "tbm", "topoext", "perfctr_core",
	    "perfctr_nb", NULL, "bpext", "ptsc", "perfctr_llc", "mwaitx" } },
	{ 0x80000001, 0, 3, { "fpu", "vme", "de", "pse", "tsc", "msr", "pae",
	    "mce", "cx8", "apic", NULL, "syscall", "mtrr", "pge", "mca", "cmov",
	    "pat", "pse36", NULL, "mp", "nx", NULL, "mmxext", "mmx", "fxsr",
	    "fxsr_opt", "pdpe1gb", "rdtscp", NULL, "lm", "3dnowext", "3dnow" } },
	{ 0x80000021, 0, 0, { "no_nested_data_bp", NULL, "lfence_rdtsc", NULL,
	    NULL, NULL, "null_sel_clr_base", NULL, "autoibrs" } },
	/* KVM's own (KVM_FEATURE_*, Documentation/virt/kvm/x86/cpuid.rst). */
	{ 0x40000001, 0, 0, { "kvmclock", "nop_io_delay", "mmu_op",
	    "kvmclock2", "async_pf", "steal_time", "pv_eoi", "pv_unhalt", NULL,
	    "pv_tlb_flush", "async_pf_vmexit", "pv_send_ipi", "poll_control",
	    "pv_sched_yield", "async_pf_int", "msi_ext_dest_id",
	    "hc_map_gpa_range", "migration_control", NULL, NULL, NULL, NULL,
	    NULL, NULL, "clocksource_stable" } },
};

size_t
cpuid_feature_names(uint32_t fn, uint32_t idx, int reg, uint32_t bits,
    char *buf, size_t len)
{
	const struct feat_names *t = NULL;
	size_t i, n = 0;
	int bit, w;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].fn == fn && names[i].idx == idx &&
		    names[i].reg == reg)
			t = &names[i];
	if (len > 0)
		buf[0] = '\0';
	for (bit = 0; bit < 32; bit++) {
		if (!(bits & (1U << bit)))
			continue;
		if (t != NULL && t->name[bit] != NULL)
			w = snprintf(buf + n, len > n ? len - n : 0, "%s%s",
			    n > 0 ? ", " : "", t->name[bit]);
		else
			w = snprintf(buf + n, len > n ? len - n : 0, "%sbit %d",
			    n > 0 ? ", " : "", bit);
		if (w > 0)
			n += (size_t)w;
	}
	return n;
}

/* XSAVE state components by XSTATE bit (Intel SDM vol. 1, 13.1). */
static const char *const xstate[] = {
	"x87", "sse", "avx", "bndregs", "bndcsr", "opmask", "zmm_hi256",
	"hi16_zmm", "pt", "pkru", "pasid", "cet_u", "cet_s", "hdc", "uintr",
	"lbr", "hwp", "xtilecfg", "xtiledata", "apx",
};

size_t
xstate_names(uint64_t bits, char *buf, size_t len)
{
	size_t n = 0;
	int bit, w;

	if (len > 0)
		buf[0] = '\0';
	for (bit = 0; bit < 64; bit++) {
		if (!(bits & (1ULL << bit)))
			continue;
		if ((size_t)bit < sizeof(xstate) / sizeof(xstate[0]))
			w = snprintf(buf + n, len > n ? len - n : 0, "%s%s",
			    n > 0 ? ", " : "", xstate[bit]);
		else
			w = snprintf(buf + n, len > n ? len - n : 0,
			    "%scomponent %d", n > 0 ? ", " : "", bit);
		if (w > 0)
			n += (size_t)w;
	}
	return n;
}
