/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Configuration: config-file text (comments, bad lines with their line
 * numbers), -o, key syntax and node conflicts, sizes and booleans, the
 * command line turned into keys, and the unknown-key check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vm_priv.h"

#include "test_check.h"

static const char *
val(struct cfg *cfg, const char *key)
{
	const struct cfg_ent *e = cfg_lookup(cfg, key);

	return e != NULL ? e->val : NULL;
}

static bool
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void
test_text(void)
{
	static const char good[] =
	    "# a VM\n"
	    "\n"
	    "name=vm1\n"
	    "  cpus = 2  \n"
	    "memory.size=512M\r\n"
	    "boot.append=churn 8 ; ticks=3\n"
	    "\t# indented comment\n"
	    "pci.0.3.0.device=virtio-blk\n"
	    "cpus=4\n"
	    "lpc.com1.path=stdio";	/* no final newline */
	struct cfg *cfg = cfg_new();
	char err[256] = "";

	CHECK(cfg_load_text(cfg, good, strlen(good), "vm.conf", err,
	    sizeof(err)) == 0);
	CHECK(streq(val(cfg, "name"), "vm1"));
	CHECK(streq(val(cfg, "cpus"), "4"));	/* the later line wins */
	CHECK(streq(val(cfg, "memory.size"), "512M"));
	CHECK(streq(val(cfg, "boot.append"), "churn 8 ; ticks=3"));
	CHECK(streq(val(cfg, "lpc.com1.path"), "stdio"));
	CHECK(streq(cfg_lookup(cfg, "cpus")->origin, "vm.conf:9"));
	CHECK(cfg->n == 6);
	cfg_free(cfg);
}

static void
expect_bad(const char *text, const char *want)
{
	struct cfg *cfg = cfg_new();
	char err[256] = "";

	CHECK(cfg_load_text(cfg, text, strlen(text), "bad.conf", err,
	    sizeof(err)) == -EINVAL);
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "for %s: message '%s' lacks '%s'\n", text,
		    err, want);
		failures++;
	}
	cfg_free(cfg);
}

static void
test_bad_text(void)
{
	expect_bad("name=a\ncpus\n", "bad.conf:2: expected KEY=VALUE");
	expect_bad("\n\n# c\nx..y=1\n", "bad.conf:4: invalid config key 'x..y'");
	expect_bad("=1\n", "bad.conf:1: invalid config key ''");
	expect_bad(".a=1\n", "invalid config key '.a'");
	expect_bad("a.=1\n", "invalid config key 'a.'");
	expect_bad("a b=1\n", "invalid config key 'a b'");
	expect_bad("pci.0.3.0=x\npci.0.3.0.device=y\n",
	    "bad.conf:2: config key 'pci.0.3.0.device' conflicts with "
	    "'pci.0.3.0' (from bad.conf:1)");
	expect_bad("a.b.c=1\na.b=2\n", "conflicts with 'a.b.c'");
	{
		char nul[] = "a=1\0b=2\n";
		struct cfg *cfg = cfg_new();
		char err[128] = "";
		CHECK(cfg_load_text(cfg, nul, sizeof(nul) - 1, "n", err,
		    sizeof(err)) == -EINVAL && strstr(err, "NUL") != NULL);
		cfg_free(cfg);
	}
}

/*
 * A checkpoint stores every value as a UTF-8 string: a value that is not
 * (found by fuzz_hyve_config: "a.b=a\x80") is refused where it is set,
 * not when the first checkpoint of a running VM fails to encode it.
 */
static void
test_utf8(void)
{
	static const char *const bad[] = {
		"a\x80", "\xc0\xaf", "\xc3", "\xe0\x80\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "x\xe2\x82",
	};
	static const char *const good[] = {
		"caf\xc3\xa9", "\xe2\x82\xac" "5", "\xf0\x9f\x92\xbe disk.img",
		"\xf4\x8f\xbf\xbf", "tab\there",
	};
	char err[256];
	size_t i;

	expect_bad("name=vm1\npci.0.3.0.path=/disks/\xe9t\xe9.img\n",
	    "bad.conf:2: value of 'pci.0.3.0.path' is not valid UTF-8 "
	    "(byte 7)");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg *cfg = cfg_new();
		CHECK(cfg_set(cfg, "k", bad[i], "-o", err, sizeof(err)) ==
		    -EINVAL && strstr(err, "not valid UTF-8") != NULL);
		CHECK(cfg->n == 0);
		cfg_free(cfg);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct cfg *cfg = cfg_new(), *back = cfg_new();
		ckp_doc_t *doc = ckp_doc_new("t");
		ckp_sec_t *sec = ckp_sec_add(ckp_doc_root(doc), "config", 1);

		CHECK(cfg_set(cfg, "k", good[i], "-o", err, sizeof(err)) == 0);
		CHECK(cfg_save_ckp(cfg, sec) == 0);
		CHECK(cfg_load_ckp(back, sec, "ck", err, sizeof(err)) == 0);
		CHECK(streq(val(back, "k"), good[i]));
		ckp_doc_free(doc);
		cfg_free(cfg);
		cfg_free(back);
	}
}

/*
 * Every component of a key becomes a section or field name in a
 * checkpoint, which holds at most CKP_MAX_NAME bytes (found by
 * fuzz_hyve_config: a 133-byte key booted, then could not be saved).
 */
static void
test_long_key(void)
{
	struct cfg *cfg = cfg_new(), *back = cfg_new();
	ckp_doc_t *doc = ckp_doc_new("t");
	ckp_sec_t *sec = ckp_sec_add(ckp_doc_root(doc), "config", 1);
	char key[300], err[512];

	memset(key, 'y', CKP_MAX_NAME);
	snprintf(key + CKP_MAX_NAME, sizeof(key) - CKP_MAX_NAME, ".x");
	CHECK(cfg_set(cfg, key, "1", "-o", err, sizeof(err)) == 0);
	CHECK(cfg_save_ckp(cfg, sec) == 0 && ckp_doc_error(doc) == 0);
	CHECK(cfg_load_ckp(back, sec, "ck", err, sizeof(err)) == 0);
	CHECK(streq(val(back, key), "1"));

	memset(key, 'y', CKP_MAX_NAME + 1);
	snprintf(key + CKP_MAX_NAME + 1, sizeof(key) - CKP_MAX_NAME - 1, "=1");
	expect_bad(key, "invalid config key");
	snprintf(key, sizeof(key), "a.%0*d.b", CKP_MAX_NAME + 1, 7);
	CHECK(!cfg_valid_key(key));
	snprintf(key, sizeof(key), "a.%0*d.b", CKP_MAX_NAME, 7);
	CHECK(cfg_valid_key(key));
	ckp_doc_free(doc);
	cfg_free(cfg);
	cfg_free(back);
}

/*
 * Every component but the last is a section nested below "config" in a
 * checkpoint, at most CKP_MAX_DEPTH deep (found by fuzz_hyve_config: a
 * key of 90 components was accepted, then could not be saved).  The
 * deepest key accepted survives every encoding.
 */
static void
test_deep_key(void)
{
	static const ckp_enc_t encs[] = { CKP_ENC_JSON, CKP_ENC_BIN,
	    CKP_ENC_CONF };
	struct cfg *cfg = cfg_new();
	ckp_doc_t *doc = ckp_doc_new("t");
	ckp_sec_t *sec = ckp_sec_add(ckp_doc_root(doc), "config", 1);
	char key[300], err[512];
	size_t i, k;

	for (i = 0, k = 0; i < CKP_MAX_DEPTH; i++)
		k += (size_t)snprintf(key + k, sizeof(key) - k, "%sa",
		    i ? "." : "");
	CHECK(cfg_set(cfg, key, "deep", "-o", err, sizeof(err)) == 0);
	CHECK(cfg_save_ckp(cfg, sec) == 0 && ckp_doc_error(doc) == 0);
	for (i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
		struct cfg *back = cfg_new();
		ckp_doc_t *dec;
		void *buf;
		size_t len;

		CHECK(ckp_doc_encode(doc, encs[i], &buf, &len) == 0);
		dec = ckp_doc_decode(buf, len, "mem", 0);
		CHECK(ckp_doc_error(dec) == 0);
		CHECK(cfg_load_ckp(back, ckp_sec_find(ckp_doc_root(dec),
		    "config"), "ck", err, sizeof(err)) == 0);
		CHECK(streq(val(back, key), "deep"));
		free(buf);
		ckp_doc_free(dec);
		cfg_free(back);
	}
	snprintf(key + k, sizeof(key) - k, ".b=1");
	expect_bad(key, "invalid config key");
	ckp_doc_free(doc);
	cfg_free(cfg);
}

/*
 * Setting a key checks it against every other one: a 1 MiB file of short
 * lines (some 260000 keys) took minutes.  At most 4096 keys, and at most
 * 4096 settings in one file, bound that work; replacing a key at the
 * limit still works.
 */
static void
test_many_keys(void)
{
	struct cfg *cfg = cfg_new();
	size_t cap = 4097 * 16, len = 0;
	char *text = malloc(cap), key[32], err[256] = "";
	int i;

	for (i = 0; i < 4097; i++)
		len += (size_t)snprintf(text + len, cap - len, "k%x=1\n", i);
	CHECK(cfg_load_text(cfg, text, len, "big.conf", err, sizeof(err)) ==
	    -E2BIG);
	CHECK(strstr(err, "big.conf:4097: more than 4096 settings") != NULL);
	cfg_free(cfg);

	/* the same key over and over is as much work */
	for (i = 0, len = 0; i < 4097; i++)
		len += (size_t)snprintf(text + len, cap - len, "a=%d\n", i);
	cfg = cfg_new();
	CHECK(cfg_load_text(cfg, text, len, "same.conf", err, sizeof(err)) ==
	    -E2BIG);
	cfg_free(cfg);

	cfg = cfg_new();
	for (i = 0; i < 4096; i++) {
		snprintf(key, sizeof(key), "k.%d", i);
		if (cfg_set(cfg, key, "1", "-o", err, sizeof(err)) != 0)
			break;
	}
	CHECK(i == 4096 && cfg->n == 4096);
	CHECK(cfg_set(cfg, "one.more", "1", "-o", err, sizeof(err)) == -E2BIG);
	CHECK(strstr(err, "-o: too many config keys (at most 4096)") != NULL);
	CHECK(cfg_set(cfg, "k.7", "2", "-o", err, sizeof(err)) == 0);
	CHECK(streq(val(cfg, "k.7"), "2") && cfg->n == 4096);
	free(text);
	cfg_free(cfg);
}

static void
test_file(void)
{
	char path[] = "/tmp/hyve-test-config-XXXXXX";
	struct cfg *cfg = cfg_new();
	char err[256] = "";
	int fd = mkstemp(path);
	static const char text[] = "name=f\nfoo\n";

	CHECK(fd >= 0);
	CHECK(write(fd, text, sizeof(text) - 1) == sizeof(text) - 1);
	close(fd);
	CHECK(cfg_load_file(cfg, path, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, ":2: expected KEY=VALUE") != NULL);
	CHECK(strstr(err, path) != NULL);
	unlink(path);
	CHECK(cfg_load_file(cfg, path, err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "cannot open config file") != NULL);
	CHECK(cfg_load_file(cfg, "/", err, sizeof(err)) != 0);
	cfg_free(cfg);
}

static void
test_kv_and_used(void)
{
	struct cfg *cfg = cfg_new();
	char err[256] = "";

	CHECK(cfg_set_kv(cfg, "a.b=x=y", "-o", err, sizeof(err)) == 0);
	CHECK(streq(val(cfg, "a.b"), "x=y"));
	CHECK(cfg_set_kv(cfg, "novalue", "-o", err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "'novalue' is not KEY=VALUE") != NULL);
	CHECK(cfg_set_kv(cfg, "empty=", "-o", err, sizeof(err)) == 0);
	CHECK(streq(val(cfg, "empty"), ""));
	CHECK(cfg_set(cfg, "x", "a\nb", "-o", err, sizeof(err)) == -EINVAL);

	/* Reading marks keys used; the first unread is reported. */
	CHECK(cfg_first_unused(cfg) != NULL);
	CHECK(streq(cfg_get(cfg, "a.b"), "x=y"));
	CHECK(streq(cfg_first_unused(cfg)->key, "empty"));
	CHECK(cfg_get(cfg, "empty") != NULL);
	CHECK(cfg_first_unused(cfg) == NULL);
	/* Setting again makes it unread again. */
	CHECK(cfg_set(cfg, "empty", "1", "-o", err, sizeof(err)) == 0);
	CHECK(streq(cfg_first_unused(cfg)->key, "empty"));
	CHECK(cfg_get(cfg, "nonexistent") == NULL);

	/* Device node helpers and the default -s argument parser. */
	CHECK(cfg_node_set(cfg, "pci.0.3.0", "path", "/d.img") == 0);
	CHECK(streq(cfg_node_get(cfg, "pci.0.3.0", "path"), "/d.img"));
	CHECK(cfg_parse_kv_args(cfg, "pci.0.4.0", "ro,mac=00:11,n=3", err,
	    sizeof(err)) == 0);
	CHECK(streq(val(cfg, "pci.0.4.0.ro"), "true"));
	CHECK(streq(val(cfg, "pci.0.4.0.mac"), "00:11"));
	CHECK(streq(val(cfg, "pci.0.4.0.n"), "3"));
	CHECK(cfg_parse_kv_args(cfg, "pci.0.5.0", "a b=1", err,
	    sizeof(err)) == -EINVAL);
	CHECK(cfg_parse_kv_args(cfg, "pci.0.5.0", NULL, err, sizeof(err)) == 0);
	cfg_free(cfg);
}

static void
test_parsers(void)
{
	uint64_t v;
	bool b;

	CHECK(cfg_parse_size("4096", &v) == 0 && v == 4096);
	CHECK(cfg_parse_size("4k", &v) == 0 && v == 4096);
	CHECK(cfg_parse_size("512M", &v) == 0 && v == 512ULL << 20);
	CHECK(cfg_parse_size("3G", &v) == 0 && v == 3ULL << 30);
	CHECK(cfg_parse_size("2t", &v) == 0 && v == 2ULL << 40);
	CHECK(cfg_parse_size("", &v) == -EINVAL);
	CHECK(cfg_parse_size("M", &v) == -EINVAL);
	CHECK(cfg_parse_size("1MB", &v) == -EINVAL);
	CHECK(cfg_parse_size("-1M", &v) == -EINVAL);
	CHECK(cfg_parse_size(" 1M", &v) == -EINVAL);
	CHECK(cfg_parse_size("1.5G", &v) == -EINVAL);
	CHECK(cfg_parse_size("99999999999999999999", &v) == -ERANGE);
	CHECK(cfg_parse_size("17179869184G", &v) == -ERANGE);
	CHECK(vm_parse_memsize("256", &v) == 0 && v == 256ULL << 20);
	CHECK(vm_parse_memsize("256K", &v) == 0 && v == 256ULL << 10);
	CHECK(vm_parse_memsize("99999999999999", &v) == -ERANGE);
	CHECK(vm_parse_memsize("x", &v) == -EINVAL);

	CHECK(cfg_parse_u64("0x10", &v) == 0 && v == 16);
	CHECK(cfg_parse_u64("12", &v) == 0 && v == 12);
	CHECK(cfg_parse_u64("-1", &v) == -EINVAL);
	CHECK(cfg_parse_u64("1x", &v) == -EINVAL);
	CHECK(cfg_parse_u64("", &v) == -EINVAL);

	CHECK(cfg_parse_bool("yes", &b) == 0 && b);
	CHECK(cfg_parse_bool("TRUE", &b) == 0 && b);
	CHECK(cfg_parse_bool("off", &b) == 0 && !b);
	CHECK(cfg_parse_bool("0", &b) == 0 && !b);
	CHECK(cfg_parse_bool("2", &b) == -EINVAL);
}

static struct cli_opts cli_opts;

/* cli_parse on a command line written as one string. */
static int
cli(struct cfg *cfg, const char *line, enum cli_action *act, char *err,
    size_t errlen)
{
	char *argv[32], *copy = strdup(line), *tok, *save = NULL;
	int argc = 0, rc;

	argv[argc++] = "hyve";
	for (tok = strtok_r(copy, " ", &save); tok != NULL && argc < 31;
	    tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	err[0] = '\0';
	rc = cli_parse(argc, argv, cfg, act, &cli_opts, err, errlen);
	if (cli_opts.restore != NULL) {	/* points into copy */
		static char restore[256];
		snprintf(restore, sizeof(restore), "%s", cli_opts.restore);
		cli_opts.restore = restore;
	}
	free(copy);
	return rc;
}

static void
cli_bad(const char *line, const char *want)
{
	struct cfg *cfg = cfg_new();
	enum cli_action act;
	char err[512];

	CHECK(cli(cfg, line, &act, err, sizeof(err)) == -EINVAL);
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "for '%s': message '%s' lacks '%s'\n", line,
		    err, want);
		failures++;
	}
	cfg_free(cfg);
}

static void
test_cli(void)
{
	struct cfg *cfg = cfg_new();
	enum cli_action act;
	char err[512];

	CHECK(cli(cfg, "-c 2 -m 1G -l com1,stdio -l com2,/tmp/x.log "
	    "-o x86.strictio=false --kernel g.elf --append churn "
	    "-o cpus=3 vm0", &act, err, sizeof(err)) == 0);
	CHECK(act == CLI_RUN);
	CHECK(streq(val(cfg, "cpus"), "3"));
	CHECK(streq(val(cfg, "memory.size"), "1G"));
	CHECK(streq(val(cfg, "lpc.com1.path"), "stdio"));
	CHECK(streq(val(cfg, "lpc.com2.path"), "/tmp/x.log"));
	CHECK(streq(val(cfg, "x86.strictio"), "false"));
	CHECK(streq(val(cfg, "boot.kernel"), "g.elf"));
	CHECK(streq(val(cfg, "boot.append"), "churn"));
	CHECK(streq(val(cfg, "name"), "vm0"));
	cfg_free(cfg);

	cfg = cfg_new();
	CHECK(cli(cfg, "-c cpus=4 x", &act, err, sizeof(err)) == 0);
	CHECK(streq(val(cfg, "cpus"), "4"));
	cfg_free(cfg);

	cfg = cfg_new();
	CHECK(cli(cfg, "-c 2 --help", &act, err, sizeof(err)) == 0);
	CHECK(act == CLI_HELP);
	cfg_free(cfg);

	/* -r: the overrides only, and the restore options */
	cfg = cfg_new();
	CHECK(cli(cfg, "-o pci.0.3.0.path=/d.img -r f.ckp --eager -l com1,c.log "
	    "w", &act, err, sizeof(err)) == 0);
	CHECK(act == CLI_RESTORE);
	CHECK(streq(cli_opts.restore, "f.ckp") && cli_opts.eager &&
	    !cli_opts.no_ram_check);
	CHECK(streq(val(cfg, "pci.0.3.0.path"), "/d.img"));
	CHECK(streq(val(cfg, "lpc.com1.path"), "c.log"));
	CHECK(streq(val(cfg, "name"), "w"));
	CHECK(cfg->n == 3);
	cfg_free(cfg);

	cli_bad("-c 0 v", "-c 0: not a vCPU count");
	cli_bad("-c 255 v", "-c 255: not a vCPU count");
	cli_bad("-c 2,sockets=1 v", "only a vCPU count");
	cli_bad("-m 12Q v", "-m 12Q: not a memory size");
	cli_bad("-m 0 v", "-m 0: not a memory size");
	cli_bad("-s 3 v", "-s 3: expected SLOT[:FUNC],MODEL");
	cli_bad("-s 32,x v", "bad slot '32'");
	cli_bad("-s 3:8,x v", "bad slot '3:8'");
	cli_bad("-s a,x v", "bad slot 'a'");
	cli_bad("-s 1:2:3:4,x v", "bad slot");
	cli_bad("-s 3,nosuchdev v", "unknown device model 'nosuchdev'");
	cli_bad("-s 3,uart v", "not a PCI device model: 'uart'");
	cli_bad("-l com1 v", "-l com1: expected comN,stdio");
	cli_bad("-l com1, v", "expected comN,stdio");
	cli_bad("-l com5,stdio v", "unknown LPC device 'com5'");
	cli_bad("-l bootrom,x v", "unknown LPC device 'bootrom'");
	/* sscanf's %u read these as com1, com2 and com3 */
	cli_bad("-l com-4294967295,stdio v",
	    "unknown LPC device 'com-4294967295'");
	cli_bad("-l com+2,stdio v", "unknown LPC device 'com+2'");
	cli_bad("-l com03,stdio v", "unknown LPC device 'com03'");
	cli_bad("-o novalue v", "'novalue' is not KEY=VALUE");
	cli_bad("-o a..b=1 v", "invalid config key 'a..b'");
	cli_bad("-k /nonexistent/file v", "cannot open config file "
	    "/nonexistent/file");
	cli_bad("-r f.ckp -c 2 v", "-c cannot be combined with -r");
	cli_bad("-s 3,virtio-blk,x -r f.ckp v", "-s cannot be combined with -r");
	cli_bad("-r a.ckp -r b.ckp v", "-r given twice");
	cli_bad("--eager v", "--eager only applies to -r");
	cli_bad("-z v", "unknown option -z");
	cli_bad("--bogus v", "unknown option --bogus");
	cli_bad("v -c", "option -c needs an argument");
	cli_bad("a b", "one VM name expected");
}

/* Keys nobody reads are rejected, naming the key and where it was set. */
static void
test_unused(void)
{
	struct vm *vm = vm_new_for_test(4 << 20);
	char err[256];

	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	CHECK(cfg_set(vm->cfg, "lpc.com1.path", "/dev/null", "-l", err,
	    sizeof(err)) == 0);
	CHECK(cfg_set(vm->cfg, "lpc.com1.speed", "9600", "vm.conf:3", err,
	    sizeof(err)) == 0);
	CHECK(vm_devs_init(vm) == 0);
	CHECK(vm->ndevs == 3);	/* pm, rtc, uart@0 */
	CHECK(vm_cfg_check_unused(vm) == -EINVAL);
	CHECK(cfg_first_unused(vm->cfg) != NULL &&
	    streq(cfg_first_unused(vm->cfg)->key, "lpc.com1.speed"));
	vm_free(vm);

	vm = vm_new_for_test(4 << 20);
	CHECK(cfg_set(vm->cfg, "pci.0.3.0.device", "nosuchmodel", "-o", err,
	    sizeof(err)) == 0);
	CHECK(vm_devs_init(vm) == -EINVAL);
	vm_free(vm);

	vm = vm_new_for_test(4 << 20);
	CHECK(cfg_set(vm->cfg, "pci.0.40.0.device", "x", "-o", err,
	    sizeof(err)) == 0);
	CHECK(vm_devs_init(vm) == -EINVAL);
	vm_free(vm);

	vm = vm_new_for_test(4 << 20);
	CHECK(cfg_set(vm->cfg, "rtc.use_localtime", "maybe", "-o", err,
	    sizeof(err)) == 0);
	CHECK(vm_devs_init(vm) == -EINVAL);
	vm_free(vm);
}

/* The configuration through a checkpoint document (conf encoding) and back. */
static void
test_ckp(void)
{
	static const char text[] =
	    "name=vm1\ncpus=2\nmemory.size=1G\n"
	    "pci.0.3.0.device=virtio-blk\npci.0.3.0.path=/a b/disk=1.img\n"
	    "pci.0.3.0.ro=true\nboot.append= churn 8 ; ticks 3\n"
	    "lpc.com1.path=stdio\nboot.kernel=g.elf\n";
	struct cfg *cfg = cfg_new(), *back = cfg_new();
	ckp_doc_t *doc = ckp_doc_new("t"), *dec;
	ckp_sec_t *sec = ckp_sec_add(ckp_doc_root(doc), "config", 1);
	char err[256];
	void *buf;
	size_t len, i;

	CHECK(cfg_load_text(cfg, text, strlen(text), "t", err, sizeof(err)) ==
	    0);
	CHECK(cfg_set(cfg, "boot.append", " churn 8 ; ticks 3", "t", err,
	    sizeof(err)) == 0);	/* blanks kept through -o */
	CHECK(cfg_save_ckp(cfg, sec) == 0);
	CHECK(ckp_doc_encode(doc, CKP_ENC_CONF, &buf, &len) == 0);
	CHECK(memmem(buf, len, "config.pci.0.3.0.device$string=virtio-blk\n",
	    42) != NULL);
	dec = ckp_doc_decode(buf, len, "mem", 0);
	CHECK(ckp_doc_error(dec) == 0);
	CHECK(cfg_load_ckp(back, ckp_sec_find(ckp_doc_root(dec), "config"),
	    "checkpoint x", err, sizeof(err)) == 0);
	CHECK(back->n == cfg->n);
	for (i = 0; i < cfg->n; i++) {
		const struct cfg_ent *e = cfg_lookup(back, cfg->ent[i].key);
		CHECK(e != NULL && streq(e->val, cfg->ent[i].val));
		CHECK(e != NULL && streq(e->origin, "checkpoint x"));
	}
	free(buf);
	ckp_doc_free(dec);

	/* a non-string value in the config section is refused, named */
	ckp_sec_add_uint32(ckp_sec_find(sec, "pci"), "bogus", 3);
	cfg_free(back);
	back = cfg_new();
	CHECK(cfg_load_ckp(back, sec, "ck", err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "config key pci.bogus is a uint32") != NULL);
	ckp_doc_free(doc);
	cfg_free(cfg);
	cfg_free(back);
}

int
main(void)
{
	test_text();
	test_bad_text();
	test_utf8();
	test_long_key();
	test_deep_key();
	test_many_keys();
	test_file();
	test_kv_and_used();
	test_parsers();
	test_cli();
	test_unused();
	test_ckp();
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_config: ok\n");
	return 0;
}
