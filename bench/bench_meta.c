/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Encode and decode throughput of checkpoint metas in the three
 * encodings, against a bare json-c parse of the same JSON bytes in the
 * same run.  Two metas, generated in memory: ~2 MB (128 vCPUs with
 * registers, MSRs, LAPIC and XSAVE areas, devices) and ~24 MB (the same
 * plus a 16 MiB framebuffer-like blob).  Decode = parse + validate +
 * checksum, what ckp_doc_decode() does.  Prints a markdown table of
 * medians.
 *   bench_meta [--quick] [--runs N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "ckp.h"
#include "ckp_impl.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fill_random(uint8_t *p, size_t n, unsigned zero_pct)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (rnd() % 100) < zero_pct ? 0 : (uint8_t)rnd();
}

/* A VM's state, roughly as hyve would save it. */
static ckp_doc_t *
make_meta(bool framebuffer)
{
	ckp_doc_t *doc;
	ckp_sec_t *dev, *s, *m;
	uint8_t buf[8192];
	char name[64];

	setenv("SOURCE_DATE_EPOCH", "1795628711", 1);
	doc = ckp_doc_new("bench_meta 1");
	s = ckp_sec_add(ckp_doc_root(doc), "vm", 1);
	ckp_sec_add_string(s, "name", "bench-guest");
	ckp_sec_add_uint64(s, "memsize", 8ull << 30);
	ckp_sec_add_uint32(s, "ncpus", 128);
	dev = ckp_sec_add(ckp_doc_root(doc), "devices", 1);
	for (int c = 0; c < 128; c++) {
		s = ckp_sec_addf(dev, 2, "vcpu@%d", c);
		static const char *regs[] = { "rax", "rbx", "rcx", "rdx", "rsi",
		    "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13",
		    "r14", "r15", "rip", "rflags", "cr0", "cr2", "cr3", "cr4",
		    "cr8", "efer", "apic_base", "dr0", "dr1", "dr2", "dr3", "dr6",
		    "dr7", "tsc", "tsc_offset", "xcr0", "exitintinfo", "nextrip" };
		for (size_t r = 0; r < sizeof(regs) / sizeof(regs[0]); r++)
			ckp_sec_add_uint64(s, regs[r], rnd() >> (rnd() % 40));
		static const char *segs[] = { "cs", "ds", "es", "fs", "gs", "ss",
		    "tr", "ldtr" };
		for (size_t g = 0; g < 8; g++) {
			ckp_sec_t *sg = ckp_sec_add(s, segs[g], 1);
			ckp_sec_add_uint64(sg, "base", rnd());
			ckp_sec_add_uint32(sg, "limit", (uint32_t)rnd());
			ckp_sec_add_uint16(sg, "selector", (uint16_t)rnd());
			ckp_sec_add_uint8(sg, "type", (uint8_t)(rnd() & 15));
			ckp_sec_add_bool(sg, "present", true);
			ckp_sec_add_uint8(sg, "dpl", (uint8_t)(rnd() & 3));
			ckp_sec_add_bool(sg, "db", rnd() & 1);
			ckp_sec_add_bool(sg, "l", rnd() & 1);
			ckp_sec_add_bool(sg, "g", rnd() & 1);
		}
		m = ckp_sec_add(s, "msrs", 1);
		for (int k = 0; k < 64; k++) {
			snprintf(name, sizeof(name), "msr_%08x", 0xc0000080 + k);
			ckp_sec_add_uint64(m, name, rnd());
		}
		ckp_sec_add_int32(s, "exc_vector", -1);
		ckp_sec_add_uint32(s, "mp_state", 0);
		fill_random(buf, 1024, 80);
		ckp_sec_add_bytes(s, "lapic", buf, 1024);
		fill_random(buf, 4096, 70);
		ckp_sec_add_bytes(s, "xsave", buf, 4096);
		fill_random(buf, 1600, 60);
		ckp_sec_add_bytes(s, "cpuid", buf, 1600);
	}
	s = ckp_sec_add(dev, "ioapic@0", 1);
	for (int p = 0; p < 24; p++) {
		snprintf(name, sizeof(name), "redir_%d", p);
		ckp_sec_add_uint64(s, name, rnd());
	}
	s = ckp_sec_add(dev, "uart@0", 1);
	ckp_sec_add_uint8(s, "lcr", 3);
	ckp_sec_add_uint8(s, "ier", 1);
	fill_random(buf, 16, 0);
	ckp_sec_add_bytes(s, "rxfifo", buf, 16);
	s = ckp_sec_add(dev, "rtc@0", 1);
	fill_random(buf, 128, 50);
	ckp_sec_add_bytes(s, "nvram", buf, 128);
	for (int v = 0; v < 4; v++) {
		s = ckp_sec_addf(dev, 1, "virtio@%d", v);
		ckp_sec_add_uint64(s, "features", rnd());
		ckp_sec_add_uint8(s, "status", 15);
		fill_random(buf, 256, 90);
		ckp_sec_add_bytes(s, "config", buf, 256);
		for (int q = 0; q < 2; q++) {
			ckp_sec_t *qs = ckp_sec_addf(s, 1, "queue@%d", q);
			ckp_sec_add_uint16(qs, "size", 256);
			ckp_sec_add_uint64(qs, "desc", rnd());
			ckp_sec_add_uint64(qs, "avail", rnd());
			ckp_sec_add_uint64(qs, "used", rnd());
			ckp_sec_add_uint16(qs, "last_avail", (uint16_t)rnd());
		}
	}
	if (framebuffer) {
		/* 16 MiB of pixels: mostly smooth gradients, some noise */
		size_t n = 16u << 20;
		uint8_t *fb = malloc(n);
		for (size_t i = 0; i < n; i += 4) {
			size_t px = i / 4, x = px % 2048, y = px / 2048;
			fb[i] = (uint8_t)(x / 8);
			fb[i + 1] = (uint8_t)(y / 8);
			fb[i + 2] = (uint8_t)((x ^ y) + (rnd() & 7));
			fb[i + 3] = 0xff;
		}
		s = ckp_sec_add(dev, "fb@0", 1);
		ckp_sec_add_uint32(s, "width", 2048);
		ckp_sec_add_uint32(s, "height", 2048);
		ckp_sec_add_bytes(s, "pixels", fb, n);
		free(fb);
	}
	if (ckp_doc_error(doc) != 0) {
		fprintf(stderr, "bench: building: %s\n", ckp_doc_errmsg(doc));
		exit(1);
	}
	return doc;
}

struct row {
	const char *what;
	size_t	 bytes;
	double	 enc;	/* seconds, median */
	double	 dec;
};

static void
bench_doc(const char *label, ckp_doc_t *doc, int runs)
{
	static const ckp_enc_t encs[] = { CKP_ENC_JSON, CKP_ENC_BIN, CKP_ENC_CONF };
	struct row rows[3];
	double *t = calloc((size_t)runs, sizeof(double));
	void *json = NULL;
	size_t jsonlen = 0;

	for (int k = 0; k < 3; k++) {
		void *buf = NULL;
		size_t len = 0;
		for (int r = 0; r < runs; r++) {
			free(buf);
			double t0 = now();
			if (ckp_doc_encode(doc, encs[k], &buf, &len) != 0) {
				fprintf(stderr, "bench: encode: %s\n", ckp_doc_errmsg(doc));
				exit(1);
			}
			t[r] = now() - t0;
		}
		rows[k].what = ckp_enc_name(encs[k]);
		rows[k].bytes = len;
		rows[k].enc = median(t, runs);
		for (int r = 0; r < runs; r++) {
			double t0 = now();
			ckp_doc_t *d = ckp_doc_decode(buf, len, "bench", 0);
			t[r] = now() - t0;
			if (d == NULL || ckp_doc_error(d) != 0) {
				fprintf(stderr, "bench: decode: %s\n", ckp_doc_errmsg(d));
				exit(1);
			}
			ckp_doc_free(d);
		}
		rows[k].dec = median(t, runs);
		if (encs[k] == CKP_ENC_JSON) {
			json = malloc(len + 1);
			memcpy(json, buf, len);
			((char *)json)[len] = '\0';
			jsonlen = len;
		}
		free(buf);
	}
	for (int r = 0; r < runs; r++) {
		double t0 = now();
		json_object *o = json_tokener_parse(json);
		t[r] = now() - t0;
		if (o == NULL) {
			fprintf(stderr, "bench: json-c cannot parse the JSON\n");
			exit(1);
		}
		json_object_put(o);
	}
	double jc = median(t, runs);
	printf("| %s | json-c `json_tokener_parse` (baseline) | %.1f | | %.0f | %.1f | 1.00 |\n",
	    label, (double)jsonlen / 1e6, (double)jsonlen / 1e6 / jc, jc * 1e3);
	for (int k = 0; k < 3; k++)
		printf("| %s | libckp %s | %.1f | %.0f | %.0f | %.1f | %.2f |\n",
		    label, rows[k].what, (double)rows[k].bytes / 1e6,
		    (double)rows[k].bytes / 1e6 / rows[k].enc,
		    (double)rows[k].bytes / 1e6 / rows[k].dec, rows[k].dec * 1e3,
		    rows[k].dec / jc);
	free(json);
	free(t);
}

int
main(int argc, char **argv)
{
	int runs = 11;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			runs = 3;
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_meta [--quick] [--runs N]\n");
			return 2;
		}
	}
	if (runs < 1)
		runs = 1;
	ckp_doc_t *small = make_meta(false), *big = make_meta(true);

	printf("Meta encode/decode, median of %d runs.  Decode = parse + validate + checksum.\n"
	    "\"x json-c\" = decode time / json-c parse time of the same document's JSON.\n\n",
	    runs);
	printf("| meta | codec | size (MB) | encode (MB/s) | decode (MB/s) | decode (ms) | x json-c |\n");
	printf("|---|---|---:|---:|---:|---:|---:|\n");
	bench_doc("2 MB", small, runs);
	bench_doc("24 MB", big, runs);
	ckp_doc_free(small);
	ckp_doc_free(big);

	/* the base64 codec alone, on a 16 MiB framebuffer-like blob */
	size_t n = 16u << 20, used, outlen;
	uint8_t *raw = malloc(n), *back = malloc(n);
	char *text = malloc(ckp__b64_enclen(n));
	double *te = calloc((size_t)runs, sizeof(double));
	double *td = calloc((size_t)runs, sizeof(double));
	fill_random(raw, n, 30);
	for (int r = 0; r < runs; r++) {
		double t0 = now();
		ckp__b64_encode(raw, n, text);
		te[r] = now() - t0;
		t0 = now();
		if (ckp__b64_decode(text, ckp__b64_enclen(n), back, &used, &outlen) != 0 ||
		    outlen != n) {
			fprintf(stderr, "bench: base64 round trip failed\n");
			return 1;
		}
		td[r] = now() - t0;
	}
	printf("\nbase64, 16 MiB: encode %.0f MB/s of text, decode %.0f MB/s of text\n",
	    (double)ckp__b64_enclen(n) / 1e6 / median(te, runs),
	    (double)ckp__b64_enclen(n) / 1e6 / median(td, runs));
	free(raw);
	free(back);
	free(text);
	free(te);
	free(td);
	return 0;
}
