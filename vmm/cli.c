/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * bhyve-style command line.  Every option sets configuration keys, so the
 * configuration alone describes the VM (docs/CONFIG.md):
 *   -c N          cpus=N
 *   -m SIZE       memory.size=SIZE
 *   -s S[:F],M,A  pci.0.S.F.device=M and the model's keys from A
 *   -l comN,PATH  lpc.comN.path=PATH
 *   -k FILE       every key=value line of FILE
 *   -o KEY=VALUE  KEY=VALUE
 *   --kernel F    boot.kernel=F
 *   --initrd F    boot.initrd=F
 *   --append S    boot.append=S
 *   NAME          name=NAME
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "state.h"
#include "vm_priv.h"

static int
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void
cli_usage(FILE *f)
{
	fprintf(f,
"usage: hyve [-c NCPU] [-m SIZE[K|M|G|T]] [-s SLOT[:FUNC],MODEL[,ARGS]]...\n"
"            [-l comN,stdio|comN,PATH] [-k CONFIG_FILE] [-o KEY=VALUE]...\n"
"            --kernel KERNEL [--initrd INITRD] [--append \"GUEST ARGS\"] NAME\n"
"       hyve -r FILE.ckp [--verify=full|lazy|none] [--eager] [--trust]\n"
"            [-l comN,PATH] [-k CONFIG_FILE] [-o KEY=VALUE]... [NAME]\n"
"       hyve --incoming ADDR [--migrate-key FILE] [-l comN,PATH] [-k FILE]\n"
"            [-o KEY=VALUE]... [NAME]\n"
"       hyve -h | --help\n"
"\n"
"Boots a Linux kernel (a bzImage such as /boot/vmlinuz-*, entered at its 64-bit\n"
"entry) or a PVH ELF (an ELF with a XEN_ELFNOTE_PHYS32_ENTRY note) on KVM.\n"
"\n"
"  -c NCPU        number of vCPUs (cpus; default 1)\n"
"  -m SIZE        guest RAM (memory.size; default 256M; a bare number is MiB)\n"
"  -s SLOT[:FUNC],MODEL[,ARGS]\n"
"                 a PCI device in slot SLOT (or BUS:SLOT:FUNC) of bus 0\n"
"                 (pci.B.S.F.device=MODEL; ARGS become the model's keys)\n"
"  -l comN,stdio  serial port N (1-4) on hyve's stdin/stdout (lpc.comN.path)\n"
"  -l comN,PATH   serial port N output to a file\n"
"  -k FILE        read configuration keys from FILE (key=value lines)\n"
"  -o KEY=VALUE   set one configuration key\n"
"  --kernel FILE  the kernel to boot: a bzImage or a PVH ELF, told apart by\n"
"                 content (boot.kernel)\n"
"  --initrd FILE  an initial ramdisk for it (boot.initrd)\n"
"  --append ARGS  the guest's command line (boot.append)\n"
"  -r FILE.ckp    restore a checkpoint: its configuration, with -o, -l, -k\n"
"                 and NAME on top (a disk or tap moved elsewhere)\n"
"                 (FILE.ckps: a stream file, docs/MIGRATION.md)\n"
"  --incoming ADDR  wait for one migration stream (hyvectl --migrate) on\n"
"                 ADDR: tcp:HOST:PORT, unix:PATH, - (stdin and stdout) or\n"
"                 fd:N; the guest runs here once it is checked and handed\n"
"                 over; -o, -l, -k and NAME override its configuration\n"
"  --migrate-key FILE  with --incoming or -r FILE.ckps: the stream's shared\n"
"                 secret, FILE's bytes as they are (a trailing newline too;\n"
"                 16 or more; mode 0600)\n"
"  --verify=MODE  with -r: when to check guest RAM against the checkpoint:\n"
"                 full (default) all of it before the guest starts; lazy\n"
"                 each 1 MiB chunk before the guest first sees it, the\n"
"                 rest in the background (restore time independent of RAM\n"
"                 size); none not at all\n"
"  --no-ram-check with -r: --verify=none\n"
"  --eager        with -r: read guest RAM now instead of mapping the file\n"
"                 (checked in the same pass unless --verify=none)\n"
"  --trust        with -r: restore a checkpoint that is not this user's own\n"
"                 (owned by another user, writable by others, or in a\n"
"                 directory others can change); a checkpoint is trusted as\n"
"                 its command line would be: it names the files hyve opens\n"
"  --no-sandbox   run without the seccomp filters that confine each thread\n"
"                 to its system calls (for debugging; docs/SANDBOX.md)\n"
"  -h, --help     this help\n"
"\n"
"Options apply in order: a later one overrides an earlier one.  Unknown\n"
"configuration keys are errors.  Exit status: 0 guest powered off with\n"
"status 0, 1 with another status, 2 bad command line, configuration or\n"
"kernel, 3 guest fault, 4 host or KVM error, 5 damaged RAM file found\n"
"after a --verify=lazy restore, 128+N stopped by signal N.\n"
"See hyve(8), docs/CONFIG.md and docs/BOOT.md.\n");
}

/* "S", "S:F" or "B:S:F" */
static int
parse_slot(const char *spec, unsigned *b, unsigned *s, unsigned *f)
{
	unsigned v[3];
	int n = 0, k;
	const char *p = spec;

	for (k = 0; k < 3; k++) {
		char *end;
		unsigned long x;

		if (*p < '0' || *p > '9')
			return -1;
		x = strtoul(p, &end, 10);
		if (x > 255)
			return -1;
		v[k] = (unsigned)x;
		n++;
		p = end;
		if (*p == '\0')
			break;
		if (*p != ':')
			return -1;
		p++;
	}
	if (*p != '\0')
		return -1;
	*b = 0;
	*f = 0;
	if (n == 1) {
		*s = v[0];
	} else if (n == 2) {
		*s = v[0];
		*f = v[1];
	} else {
		*b = v[0];
		*s = v[1];
		*f = v[2];
	}
	return (*s > 31 || *f > 7) ? -1 : 0;
}

static void
pci_models(char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; devemu_table[i] != NULL && len < size; i++) {
		if (devemu_table[i]->pci == NULL)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		    len ? ", " : "", devemu_table[i]->name);
	}
	if (len == 0)
		snprintf(buf, size, "none yet");
}

static int
opt_s(struct cfg *cfg, const char *arg, char *err, size_t errlen)
{
	char *copy = strdup(arg), *model, *args = NULL, *comma;
	char node[32], key[48], origin[300], models[256], msg[256];
	const struct devemu *emu;
	unsigned b, s, f;
	int rc;

	if (copy == NULL)
		return seterr(err, errlen, "out of memory");
	snprintf(origin, sizeof(origin), "-s %s", arg);
	if ((comma = strchr(copy, ',')) == NULL) {
		rc = seterr(err, errlen, "-s %s: expected SLOT[:FUNC],MODEL"
		    "[,ARGS]", arg);
		goto out;
	}
	*comma = '\0';
	model = comma + 1;
	if ((comma = strchr(model, ',')) != NULL) {
		*comma = '\0';
		args = comma + 1;
	}
	if (parse_slot(copy, &b, &s, &f) != 0) {
		rc = seterr(err, errlen, "-s %s: bad slot '%s' (SLOT 0-31, "
		    "SLOT:FUNC with FUNC 0-7, or BUS:SLOT:FUNC)", arg, copy);
		goto out;
	}
	emu = devemu_find(model);
	if (emu == NULL || emu->pci == NULL) {
		pci_models(models, sizeof(models));
		rc = seterr(err, errlen, "-s %s: %s '%s' (PCI models: %s)", arg,
		    emu == NULL ? "unknown device model" :
		    "not a PCI device model:", model, models);
		goto out;
	}
	snprintf(node, sizeof(node), "pci.%u.%u.%u", b, s, f);
	snprintf(key, sizeof(key), "%s.device", node);
	if (cfg_lookup(cfg, key) != NULL) {
		rc = seterr(err, errlen, "-s %s: slot %u:%u:%u is already "
		    "taken (by %s)", arg, b, s, f, cfg_lookup(cfg, key)->origin);
		goto out;
	}
	if ((rc = cfg_set(cfg, key, model, origin, err, errlen)) != 0)
		goto out;
	msg[0] = '\0';
	rc = emu->parse_args != NULL ?
	    emu->parse_args(cfg, node, args != NULL ? args : "", msg,
	    sizeof(msg)) :
	    cfg_parse_kv_args(cfg, node, args, msg, sizeof(msg));
	if (rc != 0)
		rc = seterr(err, errlen, "-s %s: %s", arg,
		    msg[0] ? msg : "bad device arguments");
out:
	free(copy);
	return rc;
}

static int
opt_l(struct cfg *cfg, const char *arg, char *err, size_t errlen)
{
	const char *comma = strchr(arg, ',');
	char key[32], origin[300];
	unsigned n;

	snprintf(origin, sizeof(origin), "-l %s", arg);
	if (comma == NULL || comma[1] == '\0')
		return seterr(err, errlen, "-l %s: expected comN,stdio or "
		    "comN,PATH", arg);
	/* Exactly com1 to com4: sscanf's %u took "com-4294967295" as com1. */
	if (comma - arg != 4 || strncmp(arg, "com", 3) != 0 ||
	    arg[3] < '1' || arg[3] > '4')
		return seterr(err, errlen, "-l %s: unknown LPC device '%.*s' "
		    "(com1-com4)", arg, (int)(comma - arg), arg);
	n = (unsigned)(arg[3] - '0');
	snprintf(key, sizeof(key), "lpc.com%u.path", n);
	return cfg_set(cfg, key, comma + 1, origin, err, errlen);
}

static int
opt_c(struct cfg *cfg, const char *arg, char *err, size_t errlen)
{
	const char *v = arg;
	uint64_t n;

	if (strncmp(v, "cpus=", 5) == 0)
		v += 5;
	if (strchr(v, ',') != NULL || strchr(v, '=') != NULL)
		return seterr(err, errlen, "-c %s: only a vCPU count is "
		    "supported (no sockets/cores/threads)", arg);
	if (cfg_parse_u64(v, &n) != 0 || n < 1 || n > VM_MAX_CPUS)
		return seterr(err, errlen, "-c %s: not a vCPU count from 1 to "
		    "%u", arg, VM_MAX_CPUS);
	return cfg_set(cfg, "cpus", v, "-c", err, errlen);
}

static int
opt_m(struct cfg *cfg, const char *arg, char *err, size_t errlen)
{
	uint64_t size;

	if (vm_parse_memsize(arg, &size) != 0 || size == 0)
		return seterr(err, errlen, "-m %s: not a memory size "
		    "(N[K|M|G|T]; a bare number is MiB)", arg);
	return cfg_set(cfg, "memory.size", arg, "-m", err, errlen);
}

int
cli_parse(int argc, char **argv, struct cfg *cfg, enum cli_action *action,
    struct cli_opts *opts, char *err, size_t errlen)
{
	enum { OPT_KERNEL = 256, OPT_APPEND, OPT_EAGER, OPT_NORAMCHECK,
	    OPT_VERIFY, OPT_INITRD };
	enum { OPT_TRUST = 512 };
	enum { OPT_NOSANDBOX = 768 };
	enum { OPT_INCOMING = 1024, OPT_MIGKEY };
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "eager", no_argument, NULL, OPT_EAGER },
		{ "no-ram-check", no_argument, NULL, OPT_NORAMCHECK },
		{ "verify", required_argument, NULL, OPT_VERIFY },
		{ "trust", no_argument, NULL, OPT_TRUST },
		{ "no-sandbox", no_argument, NULL, OPT_NOSANDBOX },
		{ "incoming", required_argument, NULL, OPT_INCOMING },
		{ "migrate-key", required_argument, NULL, OPT_MIGKEY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Options that describe hardware or boot: the checkpoint fixes them. */
	const char *hw = NULL, *restore_only = NULL;
	struct cli_opts dummy;
	int c, rc = 0;

	if (opts == NULL)
		opts = &dummy;
	memset(opts, 0, sizeof(*opts));
	*action = CLI_RUN;
	optind = 0;	/* reset getopt: tests parse several command lines */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:m:s:l:k:o:r:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'c':
			hw = "-c";
			rc = opt_c(cfg, optarg, err, errlen);
			break;
		case 'm':
			hw = "-m";
			rc = opt_m(cfg, optarg, err, errlen);
			break;
		case 's':
			hw = "-s";
			rc = opt_s(cfg, optarg, err, errlen);
			break;
		case 'l':
			rc = opt_l(cfg, optarg, err, errlen);
			break;
		case 'k':
			rc = cfg_load_file(cfg, optarg, err, errlen);
			break;
		case 'o':
			rc = cfg_set_kv(cfg, optarg, "-o", err, errlen);
			break;
		case 'r':
			if (opts == &dummy)
				return seterr(err, errlen, "-r %s: restoring is "
				    "not available here", optarg);
			if (opts->restore != NULL)
				return seterr(err, errlen, "-r given twice (%s, "
				    "%s)", opts->restore, optarg);
			opts->restore = optarg;
			break;
		case OPT_KERNEL:
			hw = "--kernel";
			rc = cfg_set(cfg, "boot.kernel", optarg, "--kernel",
			    err, errlen);
			break;
		case OPT_INITRD:
			hw = "--initrd";
			rc = cfg_set(cfg, "boot.initrd", optarg, "--initrd",
			    err, errlen);
			break;
		case OPT_APPEND:
			hw = "--append";
			rc = cfg_set(cfg, "boot.append", optarg, "--append",
			    err, errlen);
			break;
		case OPT_EAGER:
			restore_only = "--eager";
			opts->eager = true;
			break;
		case OPT_TRUST:
			restore_only = "--trust";
			opts->trust = true;
			break;
		case OPT_NOSANDBOX:
			opts->no_sandbox = true;
			break;
		case OPT_INCOMING:
			if (opts == &dummy)
				return seterr(err, errlen, "--incoming %s: not "
				    "available here", optarg);
			if (opts->incoming != NULL)
				return seterr(err, errlen, "--incoming given twice "
				    "(%s, %s)", opts->incoming, optarg);
			opts->incoming = optarg;
			break;
		case OPT_MIGKEY:
			opts->migrate_key = optarg;
			break;
		case OPT_NORAMCHECK:
		case OPT_VERIFY: {
			const char *v = c == OPT_VERIFY ? optarg : "none";
			const char *as = c == OPT_VERIFY ? "--verify" :
			    "--no-ram-check";
			enum cli_verify m;

			if (strcmp(v, "full") == 0)
				m = CLI_VERIFY_FULL;
			else if (strcmp(v, "lazy") == 0)
				m = CLI_VERIFY_LAZY;
			else if (strcmp(v, "none") == 0)
				m = CLI_VERIFY_NONE;
			else
				return seterr(err, errlen, "--verify=%s: expected "
				    "full, lazy or none", v);
			/* As every option: a later one wins. */
			restore_only = as;
			opts->verify = m;
			opts->no_ram_check = m == CLI_VERIFY_NONE;
			break;
		}
		case 'h':
			*action = CLI_HELP;
			return 0;
		case ':':
			return seterr(err, errlen, "option %s needs an argument",
			    argv[optind - 1]);
		default:
			if (optopt != 0)
				return seterr(err, errlen, "unknown option -%c",
				    optopt);
			return seterr(err, errlen, "unknown option %s",
			    argv[optind - 1]);
		}
		if (rc != 0)
			return -EINVAL;
	}
	if (optind < argc - 1)
		return seterr(err, errlen, "one VM name expected, got '%s' and "
		    "'%s'", argv[optind], argv[optind + 1]);
	if (opts->incoming != NULL && opts->restore != NULL)
		return seterr(err, errlen, "--incoming and -r: choose one (a "
		    "stream file is restored with -r FILE.ckps)");
	if (opts->incoming != NULL && hw != NULL)
		return seterr(err, errlen, "%s cannot be combined with --incoming: "
		    "the stream fixes the VM's hardware and kernel (-o KEY=VALUE "
		    "overrides one key, e.g. a disk's path)", hw);
	if (opts->incoming != NULL && restore_only != NULL)
		return seterr(err, errlen, "%s only applies to -r FILE.ckp",
		    restore_only);
	if (opts->migrate_key != NULL && opts->incoming == NULL &&
	    opts->restore == NULL)
		return seterr(err, errlen, "--migrate-key only applies to "
		    "--incoming ADDR and -r FILE.ckps");
	if (opts->incoming != NULL)
		*action = CLI_INCOMING;
	if (opts->restore != NULL && hw != NULL)
		return seterr(err, errlen, "%s cannot be combined with -r: the "
		    "checkpoint fixes the VM's hardware and kernel (-o KEY=VALUE "
		    "overrides one key, e.g. a disk's path)", hw);
	if (opts->restore == NULL && restore_only != NULL)
		return seterr(err, errlen, "%s only applies to -r FILE.ckp",
		    restore_only);
	if (opts->eager && opts->verify == CLI_VERIFY_LAZY)
		return seterr(err, errlen, "--eager reads all of RAM at start "
		    "(and checks it in the same pass); --verify=lazy loads it "
		    "on demand: choose one");
	if (opts->restore != NULL)
		*action = CLI_RESTORE;
	if (optind == argc - 1 &&
	    cfg_set(cfg, "name", argv[optind], "the command line", err,
	    errlen) != 0)
		return -EINVAL;
	return 0;
}
