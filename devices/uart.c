/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * 8250/16550A UART on the ISA ports of com1-com4 ("-l com1,stdio").
 * Transmission is instantaneous (THR is always empty again after a write),
 * reception goes through a 16-byte FIFO filled from the host by a reader
 * thread.  The interrupt output (gated by MCR.OUT2, as on PCs) drives an
 * ISA IRQ line of the irqchip.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox.h"
#include "uart.h"
#include "vmm.h"

static const struct {
	uint16_t port;
	unsigned irq;
} uart_isa[4] = { { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 } };

/* Serial ports using stdio (at most one). */
static atomic_int stdio_users;

/* The terminal hyve put in raw mode, restored on every way out. */
static struct {
	pthread_mutex_t lock;
	bool saved;
	int fd;
	struct termios tio;
} tty = { PTHREAD_MUTEX_INITIALIZER, false, -1, { 0 } };

void
uart_tty_restore(void)
{
	pthread_mutex_lock(&tty.lock);
	if (tty.saved) {
		(void)tcsetattr(tty.fd, TCSANOW, &tty.tio);
		tty.saved = false;
	}
	pthread_mutex_unlock(&tty.lock);
}

/*
 * The same for the sandbox's SIGSYS handler, which exits at once: without
 * the lock, which the thread it stopped may hold.
 */
void
uart_tty_restore_now(void)
{
	if (tty.saved)
		(void)tcsetattr(tty.fd, TCSANOW, &tty.tio);
}

static void
tty_raw(int fd)
{
	static bool atexit_done;
	struct termios t;

	/* A background hyve must not touch the terminal (SIGTTOU). */
	if (!isatty(fd) || tcgetpgrp(fd) != getpgrp())
		return;
	pthread_mutex_lock(&tty.lock);
	if (!tty.saved && tcgetattr(fd, &tty.tio) == 0) {
		t = tty.tio;
		/*
		 * Characters go to the guest as typed, without echo; ISIG
		 * stays so that ^C stops hyve, and output processing stays
		 * so that a guest's bare "\n" starts a new line.
		 */
		t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
		    IGNCR | ICRNL | IXON);
		t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(fd, TCSANOW, &t) == 0) {
			tty.saved = true;
			tty.fd = fd;
		}
	}
	pthread_mutex_unlock(&tty.lock);
	if (!atexit_done) {
		atexit_done = true;
		atexit(uart_tty_restore);
	}
}

static bool
fifo_enabled(const struct uart_softc *sc)
{
	return (sc->fcr & FCR_ENABLE) != 0;
}

static unsigned
rx_capacity(const struct uart_softc *sc)
{
	return fifo_enabled(sc) ? UART_FIFO_SIZE : 1;
}

static unsigned
rx_trigger(const struct uart_softc *sc)
{
	static const unsigned lvl[4] = { 1, 4, 8, 14 };

	return fifo_enabled(sc) ? lvl[(sc->fcr >> 6) & 3] : 1;
}

static void
rx_push(struct uart_softc *sc, uint8_t c)
{
	if (sc->rx_count >= rx_capacity(sc)) {
		sc->lsr_err |= LSR_OE;
		return;
	}
	sc->rx_fifo[(sc->rx_head + sc->rx_count) % UART_FIFO_SIZE] = c;
	sc->rx_count++;
}

static uint8_t
rx_pop(struct uart_softc *sc)
{
	uint8_t c;

	if (sc->rx_count == 0)
		return 0;
	c = sc->rx_fifo[sc->rx_head];
	sc->rx_head = (sc->rx_head + 1) % UART_FIFO_SIZE;
	sc->rx_count--;
	return c;
}

static void
rx_reset(struct uart_softc *sc)
{
	sc->rx_head = sc->rx_count = 0;
	pthread_cond_broadcast(&sc->space_cv);
}

/* Modem status inputs: looped back from MCR in loopback mode. */
static uint8_t
modem_status(const struct uart_softc *sc)
{
	uint8_t m = 0;

	if ((sc->mcr & MCR_LOOP) == 0)
		return MSR_CTS | MSR_DSR | MSR_DCD;
	if (sc->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (sc->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (sc->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (sc->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static void
update_msr(struct uart_softc *sc)
{
	uint8_t old = sc->msr, new = modem_status(sc);
	uint8_t delta = sc->msr & 0x0f;

	if ((old ^ new) & MSR_CTS)
		delta |= MSR_DCTS;
	if ((old ^ new) & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(new & MSR_RI))
		delta |= MSR_TERI;
	if ((old ^ new) & MSR_DCD)
		delta |= MSR_DDCD;
	sc->msr = new | delta;
}

/* The pending interrupt of highest priority, as IIR bits 0-3. */
uint8_t
uart_intr_id(const struct uart_softc *sc)
{
	if ((sc->ier & IER_ELSI) && (sc->lsr_err & LSR_OE))
		return IIR_RLS;
	if ((sc->ier & IER_ERBFI) && sc->rx_count > 0)
		return sc->rx_count >= rx_trigger(sc) ? IIR_RDA : IIR_CTI;
	if ((sc->ier & IER_ETBEI) && sc->thre_pending)
		return IIR_THRE;
	if ((sc->ier & IER_EDSSI) && (sc->msr & 0x0f))
		return IIR_MLSC;
	return IIR_NOPEND;
}

static void
update_irq(struct uart_softc *sc)
{
	int level = uart_intr_id(sc) != IIR_NOPEND &&
	    (sc->mcr & MCR_OUT2) != 0;

	if (level != sc->irq_level) {
		sc->irq_level = level;
		(void)vm_irq_line(sc->dev->vm, sc->irq, level);
	}
}

static void
transmit(struct uart_softc *sc, uint8_t c)
{
	ssize_t n;

	if (sc->mcr & MCR_LOOP) {
		rx_push(sc, c);
		return;
	}
	if (sc->out_fd < 0)
		return;
	do {
		n = write(sc->out_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	/* A closed or full output loses the byte, as a cable would. */
}

static void
reg_write(struct uart_softc *sc, unsigned reg, uint8_t v)
{
	bool dlab = (sc->lcr & LCR_DLAB) != 0;

	switch (reg) {
	case UART_THR:
		if (dlab) {
			sc->dll = v;
			break;
		}
		transmit(sc, v);
		sc->thre_pending = true;
		break;
	case UART_IER:
		if (dlab) {
			sc->dlm = v;
			break;
		}
		/* Enabling ETBEI with THR empty raises THRE at once. */
		if ((v & IER_ETBEI) && !(sc->ier & IER_ETBEI))
			sc->thre_pending = true;
		sc->ier = v & 0x0f;
		break;
	case UART_FCR:
		if ((v & FCR_ENABLE) != (sc->fcr & FCR_ENABLE) ||
		    (v & FCR_RX_RESET))
			rx_reset(sc);
		sc->fcr = v & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
		break;
	case UART_LCR:
		sc->lcr = v;
		break;
	case UART_MCR:
		sc->mcr = v & 0x1f;
		update_msr(sc);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Factory test registers: writes are ignored. */
		break;
	case UART_SCR:
		sc->scr = v;
		break;
	}
}

static uint8_t
reg_read(struct uart_softc *sc, unsigned reg)
{
	bool dlab = (sc->lcr & LCR_DLAB) != 0;
	uint8_t v = 0, id;

	switch (reg) {
	case UART_RBR:
		if (dlab)
			return sc->dll;
		v = rx_pop(sc);
		pthread_cond_broadcast(&sc->space_cv);
		break;
	case UART_IER:
		v = dlab ? sc->dlm : sc->ier;
		break;
	case UART_IIR:
		id = uart_intr_id(sc);
		if (id == IIR_THRE)
			sc->thre_pending = false;
		v = id | (fifo_enabled(sc) ? IIR_FIFO_BITS : 0);
		break;
	case UART_LCR:
		v = sc->lcr;
		break;
	case UART_MCR:
		v = sc->mcr;
		break;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | sc->lsr_err;
		if (sc->rx_count > 0)
			v |= LSR_DR;
		sc->lsr_err = 0;
		break;
	case UART_MSR:
		v = sc->msr;
		sc->msr &= 0xf0;
		break;
	case UART_SCR:
		v = sc->scr;
		break;
	}
	return v;
}

int
uart_io(void *opaque, uint64_t off, unsigned size, bool is_write,
    uint64_t *val)
{
	struct uart_softc *sc = opaque;
	unsigned i;
	uint64_t r = 0;

	pthread_mutex_lock(&sc->mtx);
	/* Wider accesses act byte by byte on consecutive registers. */
	for (i = 0; i < size && off + i < 8; i++) {
		if (is_write)
			reg_write(sc, (unsigned)off + i,
			    (uint8_t)(*val >> (8 * i)));
		else
			r |= (uint64_t)reg_read(sc, (unsigned)off + i) << (8 * i);
	}
	update_irq(sc);
	pthread_mutex_unlock(&sc->mtx);
	if (!is_write)
		*val = r;
	return 0;
}

/* Host bytes for the guest; the caller holds no lock.  Returns how many fit. */
size_t
uart_rx_input(struct uart_softc *sc, const uint8_t *buf, size_t len)
{
	size_t i;

	pthread_mutex_lock(&sc->mtx);
	for (i = 0; i < len && sc->rx_count < rx_capacity(sc); i++)
		rx_push(sc, buf[i]);
	update_irq(sc);
	pthread_mutex_unlock(&sc->mtx);
	return i;
}

static void *
reader_main(void *arg)
{
	struct uart_softc *sc = arg;
	uint8_t buf[UART_FIFO_SIZE];
	size_t have = 0, off = 0, n;
	ssize_t r;

	sandbox_enter(sc->dev->vm, SBX_UART, "%s", sc->dev->id);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sc->in_fd, .events = POLLIN },
			{ .fd = sc->stop_pipe[0], .events = POLLIN },
		};

		/* Wait for room in the FIFO and for the device to run. */
		pthread_mutex_lock(&sc->mtx);
		while (!sc->reader_stop &&
		    (sc->paused || sc->rx_count >= rx_capacity(sc)))
			pthread_cond_wait(&sc->space_cv, &sc->mtx);
		pthread_mutex_unlock(&sc->mtx);
		if (sc->reader_stop)
			break;
		if (have > off) {
			n = uart_rx_input(sc, buf + off, have - off);
			off += n;
			continue;
		}
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		r = read(sc->in_fd, buf, sizeof(buf));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;	/* EOF: the guest gets no more input */
		have = (size_t)r;
		off = 0;
	}
	return NULL;
}

static void
uart_reset(struct dev *d)
{
	struct uart_softc *sc = d->softc;

	pthread_mutex_lock(&sc->mtx);
	sc->ier = 0;
	sc->fcr = 0;
	sc->lcr = 0;
	sc->mcr = 0;
	sc->lsr_err = 0;
	sc->thre_pending = false;
	sc->msr = modem_status(sc);
	rx_reset(sc);
	update_irq(sc);
	pthread_mutex_unlock(&sc->mtx);
}

static int
uart_init(struct dev *d)
{
	struct uart_softc *sc;
	const char *path;
	unsigned idx;
	int rc;

	if (sscanf(d->cfg, "lpc.com%u", &idx) != 1 || idx < 1 || idx > 4) {
		vm_log(d->vm, "%s: uart needs a config node lpc.com1-4",
		    d->cfg);
		return -EINVAL;
	}
	if ((path = dev_cfg_get(d, "path")) == NULL || *path == '\0') {
		vm_log(d->vm, "%s.path: missing (stdio or a file name)",
		    d->cfg);
		return -EINVAL;
	}
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return -ENOMEM;
	sc->dev = d;
	d->softc = sc;
	pthread_mutex_init(&sc->mtx, NULL);
	pthread_cond_init(&sc->space_cv, NULL);
	sc->port = uart_isa[idx - 1].port;
	sc->irq = uart_isa[idx - 1].irq;
	sc->out_fd = sc->in_fd = -1;
	sc->stop_pipe[0] = sc->stop_pipe[1] = -1;
	sc->msr = modem_status(sc);
	if (strcmp(path, "stdio") == 0) {
		if (atomic_fetch_add(&stdio_users, 1) != 0) {
			atomic_fetch_sub(&stdio_users, 1);
			vm_log(d->vm, "%s.path: only one serial port can use "
			    "stdio", d->cfg);
			rc = -EINVAL;
			goto fail;
		}
		sc->stdio = true;
		sc->out_fd = STDOUT_FILENO;
		sc->in_fd = STDIN_FILENO;
	} else {
		struct stat st;
		/*
		 * A restored guest goes on writing the console it had: its
		 * file is continued, not started again.
		 */
		bool cont = vm_restoring(d->vm);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
		    (cont ? O_APPEND : 0), 0644);
		if (fd < 0) {
			rc = -errno;
			vm_log(d->vm, "%s.path: cannot open %s: %s", d->cfg,
			    path, strerror(errno));
			goto fail;
		}
		/* A regular file starts empty; a tty or FIFO is left alone. */
		if (!cont && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)) {
			rc = -errno;
			vm_log(d->vm, "%s.path: cannot truncate %s: %s",
			    d->cfg, path, strerror(errno));
			close(fd);
			goto fail;
		}
		sc->out_fd = fd;
	}
	snprintf(sc->owner, sizeof(sc->owner), "%s (com%u)", d->id, idx);
	if ((rc = vm_pio_register(d->vm, sc->port, 8, uart_io, sc,
	    sc->owner)) != 0)
		goto fail;
	sc->registered = true;
	return 0;
fail:
	d->softc = NULL;
	if (sc->stdio)
		atomic_fetch_sub(&stdio_users, 1);
	else if (sc->out_fd >= 0)
		close(sc->out_fd);
	pthread_mutex_destroy(&sc->mtx);
	pthread_cond_destroy(&sc->space_cv);
	free(sc);
	return rc;
}

static void
reader_stop(struct uart_softc *sc)
{
	if (!sc->reader_started)
		return;
	pthread_mutex_lock(&sc->mtx);
	sc->reader_stop = true;
	pthread_cond_broadcast(&sc->space_cv);
	pthread_mutex_unlock(&sc->mtx);
	(void)!write(sc->stop_pipe[1], "x", 1);
	pthread_join(sc->reader, NULL);
	sc->reader_started = false;
	close(sc->stop_pipe[0]);
	close(sc->stop_pipe[1]);
	sc->stop_pipe[0] = sc->stop_pipe[1] = -1;
}

static int
uart_resume(struct dev *d)
{
	struct uart_softc *sc = d->softc;

	pthread_mutex_lock(&sc->mtx);
	sc->paused = false;
	/* Restored state: drive the line as the registers say. */
	sc->irq_level = -1;
	update_irq(sc);
	pthread_cond_broadcast(&sc->space_cv);
	pthread_mutex_unlock(&sc->mtx);
	if (sc->stdio && !sc->reader_started && sc->in_fd >= 0) {
		/* A background hyve reading its terminal would be stopped. */
		if (isatty(sc->in_fd) && tcgetpgrp(sc->in_fd) != getpgrp())
			return 0;
		tty_raw(sc->in_fd);
		if (pipe2(sc->stop_pipe, O_CLOEXEC) != 0)
			return -errno;
		sc->reader_stop = false;
		if (pthread_create(&sc->reader, NULL, reader_main, sc) != 0) {
			close(sc->stop_pipe[0]);
			close(sc->stop_pipe[1]);
			sc->stop_pipe[0] = sc->stop_pipe[1] = -1;
			return -EAGAIN;
		}
		sc->reader_started = true;
	}
	return 0;
}

static int
uart_pause(struct dev *d)
{
	struct uart_softc *sc = d->softc;

	pthread_mutex_lock(&sc->mtx);
	sc->paused = true;
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

static void
uart_fini(struct dev *d)
{
	struct uart_softc *sc = d->softc;

	if (sc == NULL)
		return;
	reader_stop(sc);
	if (sc->stdio) {
		uart_tty_restore();
		atomic_fetch_sub(&stdio_users, 1);
	}
	if (sc->registered)
		vm_pio_unregister(d->vm, sc->port);
	if (sc->out_fd >= 0 && !sc->stdio)
		close(sc->out_fd);
	pthread_mutex_destroy(&sc->mtx);
	pthread_cond_destroy(&sc->space_cv);
	free(sc);
	d->softc = NULL;
}

/* ------------------------------------------------------------------------ */
/* Checkpoint: every register and the FIFO's bytes, oldest first.            */
/* ------------------------------------------------------------------------ */

struct uart_regs {
	uint8_t	dll, dlm, ier, fcr, lcr, mcr, lsr_err, msr, scr;
	bool	thre_pending;
	uint8_t	rx_fifo[UART_FIFO_SIZE];
	size_t	rx_len;
};

static int
uart_regs_io(ckp_io_t *io, struct uart_regs *r)
{
	CKP_IO_NAMED(io, "dll", r->dll);
	CKP_IO_NAMED(io, "dlm", r->dlm);
	CKP_IO_NAMED(io, "ier", r->ier);
	CKP_IO_NAMED(io, "fcr", r->fcr);
	CKP_IO_NAMED(io, "lcr", r->lcr);
	CKP_IO_NAMED(io, "mcr", r->mcr);
	CKP_IO_NAMED(io, "lsr_err", r->lsr_err);
	CKP_IO_NAMED(io, "msr", r->msr);
	CKP_IO_NAMED(io, "scr", r->scr);
	CKP_IO_NAMED(io, "thre_pending", r->thre_pending);
	ckp_io_bytes_var(io, "rx_fifo", r->rx_fifo, sizeof(r->rx_fifo),
	    &r->rx_len, 0);
	return ckp_io_error(io);
}

static int
uart_save(struct dev *d, ckp_io_t *io)
{
	struct uart_softc *sc = d->softc;
	struct uart_regs r;
	unsigned i;

	pthread_mutex_lock(&sc->mtx);
	r = (struct uart_regs){ .dll = sc->dll, .dlm = sc->dlm,
	    .ier = sc->ier, .fcr = sc->fcr, .lcr = sc->lcr, .mcr = sc->mcr,
	    .lsr_err = sc->lsr_err, .msr = sc->msr, .scr = sc->scr,
	    .thre_pending = sc->thre_pending, .rx_len = sc->rx_count };
	for (i = 0; i < sc->rx_count; i++)
		r.rx_fifo[i] = sc->rx_fifo[(sc->rx_head + i) % UART_FIFO_SIZE];
	pthread_mutex_unlock(&sc->mtx);
	return uart_regs_io(io, &r);
}

static int
uart_restore(struct dev *d, ckp_io_t *io)
{
	struct uart_softc *sc = d->softc;
	struct uart_regs r = { 0 };
	const char *bad = NULL;
	int rc;

	if ((rc = uart_regs_io(io, &r)) != 0)
		return rc;
	if (r.ier & ~0x0f)
		bad = "ier has reserved bits set";
	else if (r.mcr & ~0x1f)
		bad = "mcr has reserved bits set";
	else if (r.fcr & ~(FCR_ENABLE | FCR_DMA | FCR_TRIGGER))
		bad = "fcr has bits that do not stick";
	else if (r.lsr_err & ~LSR_OE)
		bad = "lsr_err holds more than the overrun bit";
	else if (r.rx_len > ((r.fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1))
		bad = "rx_fifo holds more bytes than the receiver can";
	if (bad != NULL)
		return ckp_doc_set_error(ckp_io_doc(io), -EINVAL,
		    "%s: %s", d->id, bad);
	pthread_mutex_lock(&sc->mtx);
	sc->dll = r.dll;
	sc->dlm = r.dlm;
	sc->ier = r.ier;
	sc->fcr = r.fcr;
	sc->lcr = r.lcr;
	sc->mcr = r.mcr;
	sc->lsr_err = r.lsr_err;
	sc->msr = r.msr;
	sc->scr = r.scr;
	sc->thre_pending = r.thre_pending;
	memcpy(sc->rx_fifo, r.rx_fifo, r.rx_len);
	sc->rx_head = 0;
	sc->rx_count = (uint8_t)r.rx_len;
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

const struct devemu devemu_uart = {
	.name = "uart",
	.version = 1,
	.init = uart_init,
	.reset = uart_reset,
	.pause = uart_pause,
	.resume = uart_resume,
	.save = uart_save,
	.restore = uart_restore,
	.fini = uart_fini,
};
