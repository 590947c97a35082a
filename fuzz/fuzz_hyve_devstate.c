/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: every device's checkpoint restore, fed a damaged
 * checkpoint.  A test VM (no KVM) holds one instance of each model in
 * devices/devices.c, created as hyve creates them: pm, rtc, uart@0 (com1),
 * hostbridge@0 (0:0), lpc@0 (1:0), virtio-blk@0 (3:0, on a memfd image),
 * virtio-net@0 (4:0, on a socket pair).  The input is
 *
 *	u16 length, a checkpoint document of that length (JSON, binary or
 *	conf; checksums are not checked), then guest operations
 *
 * Each device whose section devices.<id> the document holds is restored
 * on its own.  A restore must either fail with one line naming the device
 * (or the field), having changed nothing, or succeed with a state that is
 * safe to run: every device is then resumed, probed as a guest would (all
 * registers, config space, common config of every queue, notifications,
 * frames into the receive queue), paused and resumed again, and driven by
 * the guest operations at the end of the input.  Requests complete before
 * the next operation, so runs are repeatable.
 *
 * The restore's checks of what a document alone can tell run on the same
 * document: the BARs (pci_bars_check: when it passes and every PCI
 * function took its section, every BAR that should decode does, whatever
 * order they resume in) and devices.vcpu@0 read as the restore's dry run
 * reads it (vcpu_state_precheck: an answer, one line naming the field,
 * never a crash).
 *
 * The seeds in fuzz/corpus/fuzz_hyve_devstate/ were made by this program:
 *	FUZZ_DEVSTATE_MKSEED=DIR build-fuzz/fuzz_hyve_devstate
 * saves the devices of a VM whose driver set them up (queues enabled,
 * MSI-X on, requests done, uart FIFO holding bytes, clock set).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ckp.h"
#include "vmm.h"
#include "vm_test.h"
#include "fuzz_in.h"
#include "pci.h"
#include "pm.h"
#include "state.h"
#include "virtio.h"

#define RAM_SIZE	(256 * 1024)
#define MAX_OPS		256

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c); \
		abort();						\
	}								\
} while (0)


/* ------------------------------------------------------------------------ */
/* The VM                                                                    */
/* ------------------------------------------------------------------------ */

enum { D_PM, D_RTC, D_UART, D_HB, D_LPC, D_BLK, D_NET, ND };

static const struct {
	const char *model, *node, *id;
	int	slot;		/* PCI slot, -1 if none */
} devs[ND] = {
	{ "pm", "pm", "pm", -1 },
	{ "rtc", "rtc", "rtc", -1 },
	{ "uart", "lpc.com1", "uart@0", -1 },
	{ "hostbridge", "pci.0.0.0", "hostbridge@0", 0 },
	{ "lpc", "pci.0.1.0", "lpc@0", 1 },
	{ "virtio-blk", "pci.0.3.0", "virtio-blk@0", 3 },
	{ "virtio-net", "pci.0.4.0", "virtio-net@0", 4 },
};

struct fvm {
	struct vm *vm;
	struct dev *d[ND];
	int	peer;
};

static int img_fd = -1;
static char img_path[64];

static int
vm_make(struct fvm *f)
{
	char be[32];
	int sv[2], i;

	memset(f, 0, sizeof(*f));
	f->peer = -1;
	if (img_fd < 0) {
		img_fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
		if (img_fd < 0 || ftruncate(img_fd, 64 * 1024) != 0)
			return (-errno);
		snprintf(img_path, sizeof(img_path), "/proc/self/fd/%d", img_fd);
	}
	if ((f->vm = vm_new_for_test(RAM_SIZE)) == NULL)
		return (-ENOMEM);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return (-errno);
	f->peer = sv[1];
	snprintf(be, sizeof(be), "fd:%d", sv[0]);
	vm_test_cfg_set(f->vm, "lpc.com1.path", "/dev/null");
	vm_test_cfg_set(f->vm, "rtc.use_localtime", "false");
	vm_test_cfg_set(f->vm, "pci.0.0.0.device", "hostbridge");
	vm_test_cfg_set(f->vm, "pci.0.1.0.device", "lpc");
	vm_test_cfg_set(f->vm, "pci.0.3.0.device", "virtio-blk");
	vm_test_cfg_set(f->vm, "pci.0.3.0.path", img_path);
	vm_test_cfg_set(f->vm, "pci.0.4.0.device", "virtio-net");
	vm_test_cfg_set(f->vm, "pci.0.4.0.backend", be);
	for (i = 0; i < ND; i++) {
		f->d[i] = vm_test_dev_add(f->vm, devs[i].model, devs[i].node,
		    devs[i].id);
		if (f->d[i] == NULL)
			return (-EINVAL);
	}
	return (0);
}

static void
vm_drop(struct fvm *f)
{
	vm_free(f->vm);		/* closes the net backend's end */
	if (f->peer >= 0)
		close(f->peer);
}

static void
cfg_addr(struct vm *vm, int slot, unsigned off)
{
	uint64_t v = 0x80000000U | (unsigned)slot << 11 | (off & 0xfc);

	vm_test_pio(vm, 0xcf8, 4, true, &v);
}

static uint32_t
cfg_rd(struct vm *vm, int slot, unsigned off, unsigned size)
{
	uint64_t v = 0;

	cfg_addr(vm, slot, off);
	vm_test_pio(vm, (uint16_t)(0xcfc + (off & 3)), size, false, &v);
	return ((uint32_t)v);
}

static void
cfg_wr(struct vm *vm, int slot, unsigned off, unsigned size, uint32_t val)
{
	uint64_t v = val;

	cfg_addr(vm, slot, off);
	vm_test_pio(vm, (uint16_t)(0xcfc + (off & 3)), size, true, &v);
}

static uint64_t
pio(struct vm *vm, uint16_t port, unsigned size, bool wr, uint64_t v)
{
	vm_test_pio(vm, port, size, wr, &v);
	return (v);
}

static uint64_t
mmio(struct vm *vm, uint64_t addr, unsigned size, bool wr, uint64_t v)
{
	if (vm_test_mmio(vm, addr, size, wr, &v) != 0)
		return (~0ULL);
	return (v);
}

static uint64_t
bar(struct fvm *f, int slot, int idx)
{
	return (cfg_rd(f->vm, slot, PCIR_BAR0 + 4 * (unsigned)idx, 4) & ~0xfULL);
}

/*
 * What a guest must be able to rely on after a restore: a function without
 * an interrupt pin (the bridges) never drives its line; with MSI-X enabled
 * no line is driven; the status register's interrupt bit is the line.
 */
static void
check_intx(struct fvm *f)
{
	int i;

	for (i = D_HB; i <= D_NET; i++) {
		int slot = devs[i].slot;
		unsigned gsi = PCI_INTX_GSI_BASE + (unsigned)slot % 8;
		int level = vm_test_irq_level(f->vm, gsi);
		uint16_t st = (uint16_t)cfg_rd(f->vm, slot, PCIR_STATUS, 2);
		if (level != 0 && cfg_rd(f->vm, slot, PCIR_INTPIN, 1) == 0)
			fprintf(stderr, "fuzz: %s has no interrupt pin but "
			    "drives GSI %u\n", devs[i].id, gsi);
		FUZZ_ASSERT(level == 0 || cfg_rd(f->vm, slot, PCIR_INTPIN, 1) != 0);
		FUZZ_ASSERT(level == ((st & PCIM_STATUS_INTxSTATE) != 0));
		/* virtio's MSI-X capability is the fifth, at 0x84 */
		if (i >= D_BLK && (cfg_rd(f->vm, slot, 0x86, 2) &
		    PCIM_MSIXCTRL_ENABLE) != 0)
			FUZZ_ASSERT(level == 0);
		if ((cfg_rd(f->vm, slot, PCIR_COMMAND, 2) & PCIM_CMD_INTxDIS) != 0)
			FUZZ_ASSERT(level == 0);
	}
}

/* Config space as the guest reads it, for each PCI device. */
static void
cfg_snap(struct fvm *f, uint8_t snap[ND][PCI_CFG_SIZE])
{
	unsigned o;
	int i;

	for (i = D_HB; i <= D_NET; i++)
		for (o = 0; o < PCI_CFG_SIZE; o++)
			snap[i][o] = (uint8_t)cfg_rd(f->vm, devs[i].slot, o, 1);
}

/*
 * The device the guest sees after a restore is the one hyve emulates: every
 * bit it cannot write (capabilities, their BAR offsets, MSI-X table size,
 * header) is as the device was built; BARs, the INTx status bit and the
 * MSI-X enable and mask bits may differ.
 */
static void
check_readonly(struct fvm *f, uint8_t before[ND][PCI_CFG_SIZE])
{
	uint8_t now[ND][PCI_CFG_SIZE];
	unsigned o;
	int i;

	cfg_snap(f, now);
	for (i = D_HB; i <= D_NET; i++) {
		struct pci_dev *pd = pci_lookup(f->vm, devs[i].slot, 0);
		for (o = 0; o < PCI_CFG_SIZE; o++) {
			uint8_t ro = (uint8_t)~pd->wmask[o];
			if (o >= PCIR_BAR0 && o < PCIR_BAR0 + 4 * PCI_NBARS)
				continue;
			if (o == PCIR_STATUS)
				ro &= (uint8_t)~PCIM_STATUS_INTxSTATE;
			if (pd->msix.present && o == pd->msix.cap + 3U)
				ro &= (uint8_t)~((PCIM_MSIXCTRL_ENABLE |
				    PCIM_MSIXCTRL_FMASK) >> 8);
			if (((now[i][o] ^ before[i][o]) & ro) != 0)
				fprintf(stderr, "fuzz: %s: read-only config "
				    "byte 0x%02x went from 0x%02x to 0x%02x\n",
				    devs[i].id, o, before[i][o], now[i][o]);
			FUZZ_ASSERT(((now[i][o] ^ before[i][o]) & ro) == 0);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* A guest looking at every device                                           */
/* ------------------------------------------------------------------------ */

static void
probe_virtio(struct fvm *f, int di, unsigned nq)
{
	int slot = devs[di].slot;
	uint64_t b4 = bar(f, slot, VIRTIO_BAR), b1 = bar(f, slot, VIRTIO_MSIX_BAR);
	static const uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	unsigned q, o;

	for (o = 0; o < VIRTIO_COMMON_LEN; o += 4)
		(void)mmio(f->vm, b4 + o, 4, false, 0);
	for (q = 0; q < nq + 1; q++) {
		mmio(f->vm, b4 + 0x16, 2, true, q);
		for (o = 0x18; o < VIRTIO_COMMON_LEN; o += 2)
			(void)mmio(f->vm, b4 + o, 2, false, 0);
	}
	for (q = 0; q < nq; q++)
		mmio(f->vm, b4 + VIRTIO_NOTIFY_OFF + VIRTIO_NOTIFY_MULT * q, 2,
		    true, q);
	if (di == D_BLK)
		virtio_blk_test_drain(f->d[D_BLK]);
	else
		(void)virtio_net_test_rx(f->d[D_NET], frame, sizeof(frame));
	(void)mmio(f->vm, b4 + VIRTIO_ISR_OFF, 1, false, 0);
	for (o = 0; o < 0x20; o += 4)
		(void)mmio(f->vm, b4 + VIRTIO_DEVCFG_OFF + o, 4, false, 0);
	for (o = 0; o < 16 * (nq + 1); o += 4)
		(void)mmio(f->vm, b1 + o, 4, false, 0);
	(void)mmio(f->vm, b1 + VIRTIO_MSIX_PBA_OFF, 8, false, 0);
}

static void
probe(struct fvm *f)
{
	unsigned i, o;

	for (i = 0; i < 8; i++)
		(void)pio(f->vm, (uint16_t)(0x3f8 + i), 1, false, 0);
	for (i = 0; i < 128; i++) {
		pio(f->vm, 0x70, 1, true, i);
		(void)pio(f->vm, 0x71, 1, false, 0);
	}
	for (i = 0; i < PM_IO_LEN; i += 2)
		(void)pio(f->vm, (uint16_t)(PM_IO_BASE + i), 2, false, 0);
	for (i = D_HB; i <= D_NET; i++)
		for (o = 0; o < PCI_CFG_SIZE; o += 4)
			(void)cfg_rd(f->vm, devs[i].slot, o, 4);
	(void)pio(f->vm, 0xcf8, 4, false, 0);
	probe_virtio(f, D_BLK, 1);
	probe_virtio(f, D_NET, 2);
}

/* Guest operations from the rest of the input. */
static void
ops(struct fvm *f, struct in *in)
{
	static const uint16_t ports[] = { 0x3f8, 0x70, PM_IO_BASE, 0xcf8 };
	static const int slots[] = { 0, 1, 3, 4 };
	unsigned n, sz;

	for (n = 0; n < MAX_OPS && in->n > 0; n++) {
		uint8_t op = u8(in), sel = u8(in);
		int slot = slots[sel & 3];
		sz = 1U << ((sel >> 2) & 3);
		switch (op % 7) {
		case 0:	/* legacy ports */
			pio(f->vm, (uint16_t)(ports[sel & 3] + (u8(in) & 15)),
			    sz > 4 ? 4 : sz, (sel & 0x40) != 0, u32(in));
			break;
		case 1:	/* config space */
			if ((sel & 0x40) != 0)
				cfg_wr(f->vm, slot, u8(in), sz > 4 ? 4 : sz,
				    u32(in));
			else
				(void)cfg_rd(f->vm, slot, u8(in), sz > 4 ? 4 : sz);
			break;
		case 2:	/* virtio BAR 4 or 1 */
			if (slot < 3)
				slot = 3;
			mmio(f->vm, bar(f, slot, (sel & 0x80) != 0 ?
			    VIRTIO_MSIX_BAR : VIRTIO_BAR) + (u16(in) & 0x3fff),
			    sz, (sel & 0x40) != 0, u32(in));
			break;
		case 3: {	/* guest RAM */
			uint32_t a = u32(in) % RAM_SIZE;
			unsigned len = u8(in), i;
			uint8_t *p = vm_gpa_ptr(f->vm, a, 0);
			for (i = 0; i < len && a + i < RAM_SIZE; i++)
				p[i] = u8(in);
			break;
		}
		case 4: {	/* a frame from the backend */
			uint8_t fr[1600];
			unsigned len = u16(in) % sizeof(fr), i;
			for (i = 0; i < len; i++)
				fr[i] = u8(in);
			(void)virtio_net_test_rx(f->d[D_NET], fr, len);
			break;
		}
		case 5:	/* kicks */
			mmio(f->vm, bar(f, (sel & 1) ? 4 : 3, VIRTIO_BAR) +
			    VIRTIO_NOTIFY_OFF + 4 * ((sel >> 1) & 1), 2, true, 0);
			break;
		case 6: {	/* pause and resume, or reset, one device */
			struct dev *d = f->d[(sel >> 4) % ND];
			if ((sel & 1) != 0) {
				d->emu->reset(d);
			} else if (d->emu->pause == NULL || d->emu->pause(d) == 0) {
				if (d->emu->resume != NULL)
					FUZZ_ASSERT(d->emu->resume(d) == 0);
			}
			break;
		}
		}
		virtio_blk_test_drain(f->d[D_BLK]);
	}
}

/* ------------------------------------------------------------------------ */
/* Restore                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Restore the sections of @doc present; @return how many were refused.
 * Bit i of *@taken (if not NULL) says that devs[i] took its section.
 */
static int
restore_doc(struct fvm *f, ckp_doc_t *doc, char mac[18], unsigned *taken)
{
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_RESTORE);
	int i, rc, bad = 0;

	FUZZ_ASSERT(io != NULL);
	if (taken != NULL)
		*taken = 0;
	if (ckp_io_enter_opt(io, "devices", 1) < 0) {
		ckp_io_free(io);
		ckp_doc_clear_error(doc);
		return (0);
	}
	for (i = 0; i < ND; i++) {
		struct dev *d = f->d[i];
		if (ckp_io_enter_opt(io, d->id, d->emu->version) < 0) {
			ckp_doc_clear_error(doc);
			continue;
		}
		rc = d->emu->restore(d, io);
		if (rc == 0)
			rc = ckp_io_error(io);
		if (rc < 0) {
			/* One line, naming what is wrong and where. */
			const char *m = ckp_doc_errmsg(doc);
			char pci[64];
			snprintf(pci, sizeof(pci), "%s@%s", d->emu->name, d->cfg);
			if (mac == NULL)	/* our own save: must be taken */
				fprintf(stderr, "fuzz: %s refused its own save: "
				    "%s\n", d->id, m);
			if (m[0] == '\0' || strchr(m, '\n') != NULL ||
			    (strstr(m, d->id) == NULL && strstr(m, pci) == NULL))
				fprintf(stderr, "fuzz: restore of %s failed with "
				    "message \"%s\"\n", d->id, m);
			FUZZ_ASSERT(m[0] != '\0');
			FUZZ_ASSERT(strchr(m, '\n') == NULL);
			FUZZ_ASSERT(strstr(m, d->id) != NULL ||
			    strstr(m, pci) != NULL);
			bad++;
		} else if (taken != NULL) {
			*taken |= 1U << i;
		}
		if (rc >= 0 && i == D_NET && mac != NULL) {
			ckp_ent_t *e = ckp_sec_lookup(ckp_io_section(io), "mac");
			char *t = e != NULL ? ckp_ent_text(e) : NULL;
			snprintf(mac, 18, "%s", t != NULL ? t : "");
			free(t);
		}
		ckp_io_leave(io);
		ckp_doc_clear_error(doc);
	}
	ckp_io_leave(io);
	ckp_io_free(io);
	return (bad);
}

/* Whatever state the devices are in, they can be saved, and that restored. */
static void
save_restore(struct fvm *f)
{
	ckp_doc_t *doc = ckp_doc_new("fuzz");
	ckp_io_t *io = ckp_io_new(doc, CKP_IO_SAVE);
	void *buf;
	size_t len;
	int i;

	FUZZ_ASSERT(io != NULL);
	for (i = 0; i < ND; i++)
		if (f->d[i]->emu->pause != NULL)
			FUZZ_ASSERT(f->d[i]->emu->pause(f->d[i]) == 0);
	FUZZ_ASSERT(ckp_io_enter(io, "devices", 1) >= 0);
	for (i = 0; i < ND; i++) {
		struct dev *d = f->d[i];
		FUZZ_ASSERT(ckp_io_enter(io, d->id, d->emu->version) >= 0);
		if (d->emu->save(d, io) != 0)
			fprintf(stderr, "fuzz: save of %s: %s\n", d->id,
			    ckp_doc_errmsg(doc));
		FUZZ_ASSERT(ckp_doc_error(doc) == 0);
		ckp_io_leave(io);
	}
	ckp_io_leave(io);
	ckp_io_free(io);
	FUZZ_ASSERT(ckp_doc_encode(doc, CKP_ENC_BIN, &buf, &len) == 0);
	free(buf);
	FUZZ_ASSERT(restore_doc(f, doc, NULL, NULL) == 0);
	ckp_doc_free(doc);
	for (i = 0; i < ND; i++)
		if (f->d[i]->emu->resume != NULL)
			FUZZ_ASSERT(f->d[i]->emu->resume(f->d[i]) == 0);
}

/* An answer of the checks before creation: 0, or one line naming @what. */
static void
check_message(int rc, const char *msg, const char *what)
{
	if (rc == 0)
		return;
	if (msg[0] == '\0' || strchr(msg, '\n') != NULL ||
	    strstr(msg, what) == NULL)
		fprintf(stderr, "fuzz: refusal \"%s\" does not name %s\n", msg,
		    what);
	FUZZ_ASSERT(rc < 0);
	FUZZ_ASSERT(msg[0] != '\0' && strchr(msg, '\n') == NULL);
	FUZZ_ASSERT(strstr(msg, what) != NULL);
}

/* pci_bars_check() on @doc, as a restore runs it for this VM. */
static int
bars_check(ckp_doc_t *doc)
{
	static const struct pci_range fixed[] = {
		{ PCI_BAR_MEM32, 0, RAM_SIZE, "guest RAM" },
		{ PCI_BAR_MEM32, VM_IOAPIC_BASE, 0x1000, "the IOAPIC" },
		{ PCI_BAR_MEM32, VM_LAPIC_BASE, 0x1000, "the local APIC" },
		{ PCI_BAR_IO, PCI_CFG_PORT, PCI_CFG_PORT_LEN,
		    "the PCI configuration ports" },
	};
	const char *ids[ND];
	ckp_sec_t *devices = ckp_sec_find(ckp_doc_root(doc), "devices");
	char msg[1024] = "";
	size_t n = 0;
	int i, rc;

	if (devices == NULL)
		return (0);
	for (i = D_HB; i <= D_NET; i++)
		ids[n++] = devs[i].id;
	rc = pci_bars_check(devices, ids, n, fixed,
	    sizeof(fixed) / sizeof(fixed[0]), msg, sizeof(msg));
	check_message(rc, msg, ".pci.bar@");
	FUZZ_ASSERT(ckp_doc_error(doc) == 0);
	return (rc);
}

/* vcpu_state_precheck() on devices.vcpu@0, if the document has one. */
static void
vcpu_check(ckp_doc_t *doc)
{
	int rc;

	if (ckp_doc_find(doc, "devices.vcpu@0") == NULL)
		return;
	rc = vcpu_state_precheck(doc, 0, 1, NULL);
	FUZZ_ASSERT((rc == 0) == (ckp_doc_error(doc) == 0));
	check_message(rc, ckp_doc_errmsg(doc), "vcpu@0");
	ckp_doc_clear_error(doc);
}

/* After a restore the checks passed: each BAR decodes where it should. */
static void
check_bars_decode(struct fvm *f)
{
	int i, b;

	for (i = D_HB; i <= D_NET; i++) {
		struct pci_dev *pd = pci_lookup(f->vm, devs[i].slot, 0);
		uint16_t cmd = pci_get16(pd, PCIR_COMMAND);
		for (b = 0; b < PCI_NBARS; b++) {
			const struct pci_bar *bar = &pd->bar[b];
			bool want;
			if (bar->type == PCI_BAR_NONE)
				continue;
			want = pci_bar_decodes(bar->type, bar->size, bar->addr,
			    cmd);
			if (bar->mapped != want)
				fprintf(stderr, "fuzz: %s BAR %d at 0x%llx is %s"
				    "decoded\n", devs[i].id, b,
				    (unsigned long long)bar->addr, bar->mapped ?
				    "" : "not ");
			FUZZ_ASSERT(bar->mapped == want);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	size_t dlen = u16(&in);
	struct fvm f;
	ckp_doc_t *doc;
	char mac[18];
	uint8_t cfg0[ND][PCI_CFG_SIZE];
	unsigned taken, pci_all = 0;
	int i, bars_rc;

	if (dlen > in.n)
		dlen = in.n;
	doc = ckp_doc_decode(in.p, dlen, "fuzz", CKP_LOAD_NOVERIFY);
	in.p += dlen;
	in.n -= dlen;
	FUZZ_ASSERT(doc != NULL);
	if (ckp_doc_error(doc) != 0) {
		ckp_doc_free(doc);
		return (0);
	}
	bars_rc = bars_check(doc);
	vcpu_check(doc);
	FUZZ_ASSERT(vm_make(&f) == 0);
	cfg_snap(&f, cfg0);
	mac[0] = '\0';
	(void)restore_doc(&f, doc, mac, &taken);
	ckp_doc_free(doc);

	/* Restored or not, every device must now be safe to run. */
	for (i = 0; i < ND; i++)
		if (f.d[i]->emu->resume != NULL)
			FUZZ_ASSERT(f.d[i]->emu->resume(f.d[i]) == 0);
	for (i = D_HB; i <= D_NET; i++)
		pci_all |= 1U << i;
	if (bars_rc == 0 && (taken & pci_all) == pci_all)
		check_bars_decode(&f);
	check_intx(&f);
	check_readonly(&f, cfg0);
	if (mac[0] != '\0') {
		/* The guest reads the MAC the checkpoint names, and no other. */
		uint64_t b4 = bar(&f, devs[D_NET].slot, VIRTIO_BAR);
		char got[18];
		uint64_t m[6];
		int ok = 0;
		for (i = 0; i < 6; i++)	/* the BAR may be off or moved away */
			ok |= vm_test_mmio(f.vm, b4 + VIRTIO_DEVCFG_OFF +
			    (unsigned)i, 1, false, &m[i]);
		snprintf(got, sizeof(got), "%02x:%02x:%02x:%02x:%02x:%02x",
		    (unsigned)m[0], (unsigned)m[1], (unsigned)m[2],
		    (unsigned)m[3], (unsigned)m[4], (unsigned)m[5]);
		if (ok != 0)
			snprintf(got, sizeof(got), "%s", mac);
		if (strcasecmp(got, mac) != 0)
			fprintf(stderr, "fuzz: checkpoint MAC \"%s\" reads "
			    "as %s\n", mac, got);
		FUZZ_ASSERT(strcasecmp(got, mac) == 0);
	}
	probe(&f);
	check_intx(&f);
	for (i = 0; i < ND; i++)
		if (f.d[i]->emu->pause != NULL)
			FUZZ_ASSERT(f.d[i]->emu->pause(f.d[i]) == 0);
	for (i = 0; i < ND; i++)
		if (f.d[i]->emu->resume != NULL)
			FUZZ_ASSERT(f.d[i]->emu->resume(f.d[i]) == 0);
	ops(&f, &in);
	probe(&f);
	check_intx(&f);
	save_restore(&f);
	probe(&f);
	check_intx(&f);
	vm_drop(&f);
	return (0);
}

/* ------------------------------------------------------------------------ */
/* Seeds                                                                     */
/* ------------------------------------------------------------------------ */

static void
seed_write(const char *dir, const char *name, ckp_doc_t *doc, ckp_enc_t enc)
{
	char path[512];
	void *buf;
	size_t len;
	FILE *fp;

	FUZZ_ASSERT(ckp_doc_encode(doc, enc, &buf, &len) == 0);
	FUZZ_ASSERT(len <= 0xffff);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	FUZZ_ASSERT(fp != NULL);
	fputc((int)(len & 0xff), fp);
	fputc((int)(len >> 8), fp);
	fwrite(buf, 1, len, fp);
	fclose(fp);
	free(buf);
}

/* A driver's work on the VM, so that the saved state is not all zeros. */
static void
seed_drive(struct fvm *f)
{
	struct vm *vm = f->vm;
	uint64_t next = 0x10000;
	int di;

	pio(vm, 0x3f8 + 2, 1, true, 0xc1);	/* FIFO on, trigger 14 */
	pio(vm, 0x3f8 + 4, 1, true, 0x1b);	/* loopback, OUT2 */
	pio(vm, 0x3f8 + 0, 1, true, 'h');
	pio(vm, 0x3f8 + 0, 1, true, 'i');
	pio(vm, 0x3f8 + 1, 1, true, 0x0f);
	pio(vm, 0x70, 1, true, 0x0b);
	pio(vm, 0x71, 1, true, 0x06);		/* binary, 24 h */
	pio(vm, 0x70, 1, true, 0x09);
	pio(vm, 0x71, 1, true, 42);		/* year */
	pio(vm, PM_IO_BASE + 2, 2, true, 0x0101);
	for (di = D_BLK; di <= D_NET; di++) {
		int slot = devs[di].slot;
		unsigned nq = di == D_BLK ? 1 : 2, q, i;
		uint64_t b4, b1;
		cfg_wr(vm, slot, PCIR_COMMAND, 2, PCIM_CMD_MEMEN |
		    PCIM_CMD_BUSMASTEREN);
		b4 = bar(f, slot, VIRTIO_BAR);
		b1 = bar(f, slot, VIRTIO_MSIX_BAR);
		mmio(vm, b4 + 0x14, 1, true, 3);
		mmio(vm, b4 + 0x08, 4, true, 0);
		mmio(vm, b4 + 0x0c, 4, true, 1U << VIRTIO_F_INDIRECT_DESC);
		mmio(vm, b4 + 0x08, 4, true, 1);
		mmio(vm, b4 + 0x0c, 4, true, 1);
		mmio(vm, b4 + 0x14, 1, true, 0xb);
		cfg_wr(vm, slot, 0x40 + 4 * 0, 1, 0);	/* harmless */
		for (i = 0; i < 16; i++) {
			unsigned c = cfg_rd(vm, slot, PCIR_CAP_PTR, 1), k;
			for (k = 0; c != 0 && k < 16; k++) {
				if (cfg_rd(vm, slot, c, 1) == PCIY_MSIX)
					break;
				c = cfg_rd(vm, slot, c + 1, 1);
			}
			cfg_wr(vm, slot, c + 2, 2, PCIM_MSIXCTRL_ENABLE);
			break;
		}
		for (i = 0; i <= nq; i++) {
			mmio(vm, b1 + 16 * i, 4, true, 0xfee00000U);
			mmio(vm, b1 + 16 * i + 8, 4, true, 0x40 + i);
			mmio(vm, b1 + 16 * i + 12, 4, true, i == nq ? 1 : 0);
		}
		mmio(vm, b4 + 0x10, 2, true, 0);
		for (q = 0; q < nq; q++) {
			mmio(vm, b4 + 0x16, 2, true, q);
			mmio(vm, b4 + 0x18, 2, true, 64);
			mmio(vm, b4 + 0x20, 8, true, next);
			mmio(vm, b4 + 0x28, 8, true, next + 0x400);
			mmio(vm, b4 + 0x30, 8, true, next + 0x800);
			mmio(vm, b4 + 0x1a, 2, true, q + 1);
			mmio(vm, b4 + 0x1c, 2, true, 1);
			next += 0x1000;
		}
		mmio(vm, b4 + 0x14, 1, true, 0xf);
	}
}

/* devices.vcpu@0: a vCPU in 64-bit mode, as a checkpoint holds one. */
static void
seed_vcpu(struct vm *vm, ckp_io_t *io)
{
	static uint8_t xs[4096];
	struct vcpu_state s;
	uint32_t mxcsr = 0x1f80;

	memset(&s, 0, sizeof(s));
	memcpy(xs + 24, &mxcsr, sizeof(mxcsr));
	xs[512] = 0x3;				/* XSTATE_BV: x87, SSE */
	s.xsave = xs;
	s.xsave_size = sizeof(xs);
	s.regs.rip = 0x100138;
	s.regs.rflags = 0x246;
	s.sregs.cr0 = 0x80050033;
	s.sregs.cr3 = 0x10b000;
	s.sregs.cr4 = 0x6a0;
	s.sregs.efer = 0x500;
	s.sregs.cs.l = 1;
	s.sregs.cs.present = 1;
	s.sregs.apic_base = 0xfee00900;
	s.xcrs.nr_xcrs = 1;
	s.xcrs.xcrs[0].value = 0x3;
	s.events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
	    KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	s.mp.mp_state = KVM_MP_STATE_HALTED;
	s.dregs.dr6 = 0xffff0ff0;
	s.dregs.dr7 = 0x400;
	FUZZ_ASSERT(ckp_io_enter(io, "vcpu@0", VCPU_STATE_VERSION) >= 0);
	FUZZ_ASSERT(vcpu_state_io(vm, io, &s) == 0);
	ckp_io_leave(io);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_DEVSTATE_MKSEED");
	struct fvm f;
	ckp_doc_t *doc;
	ckp_io_t *io;
	int i;

	(void)argc;
	(void)argv;
	if (dir == NULL)
		return (0);
	FUZZ_ASSERT(vm_make(&f) == 0);
	for (i = 0; i < ND; i++)
		if (f.d[i]->emu->resume != NULL)
			f.d[i]->emu->resume(f.d[i]);
	seed_drive(&f);
	for (i = 0; i < ND; i++)
		if (f.d[i]->emu->pause != NULL)
			f.d[i]->emu->pause(f.d[i]);
	doc = ckp_doc_new("hyve fuzz");
	io = ckp_io_new(doc, CKP_IO_SAVE);
	FUZZ_ASSERT(ckp_io_enter(io, "devices", 1) >= 0);
	seed_vcpu(f.vm, io);
	for (i = 0; i < ND; i++) {
		FUZZ_ASSERT(ckp_io_enter(io, f.d[i]->id, f.d[i]->emu->version) >= 0);
		FUZZ_ASSERT(f.d[i]->emu->save(f.d[i], io) == 0);
		ckp_io_leave(io);
	}
	ckp_io_leave(io);
	ckp_io_free(io);
	seed_write(dir, "all.json", doc, CKP_ENC_JSON);
	seed_write(dir, "all.conf", doc, CKP_ENC_CONF);
	seed_write(dir, "all.bin", doc, CKP_ENC_BIN);
	/* One device per seed, in JSON: small inputs to mutate. */
	for (i = 0; i < ND; i++) {
		ckp_doc_t *one = ckp_doc_new("hyve fuzz");
		ckp_io_t *o = ckp_io_new(one, CKP_IO_SAVE);
		char name[64];
		ckp_io_enter(o, "devices", 1);
		ckp_io_enter(o, f.d[i]->id, f.d[i]->emu->version);
		FUZZ_ASSERT(f.d[i]->emu->save(f.d[i], o) == 0);
		ckp_io_leave(o);
		ckp_io_leave(o);
		ckp_io_free(o);
		snprintf(name, sizeof(name), "%s.json", f.d[i]->id);
		seed_write(dir, name, one, CKP_ENC_JSON);
		ckp_doc_free(one);
	}
	{
		ckp_doc_t *one = ckp_doc_new("hyve fuzz");
		ckp_io_t *o = ckp_io_new(one, CKP_IO_SAVE);
		ckp_io_enter(o, "devices", 1);
		seed_vcpu(f.vm, o);
		ckp_io_leave(o);
		ckp_io_free(o);
		seed_write(dir, "vcpu@0.json", one, CKP_ENC_JSON);
		ckp_doc_free(one);
	}
	ckp_doc_free(doc);
	vm_drop(&f);
	exit(0);
}
