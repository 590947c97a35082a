/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The 16550A UART driven through its port handler on a test VM: reset
 * values, divisor latch, transmit to a file, receive FIFO and trigger
 * levels, every interrupt source and its acknowledgement, OUT2 gating of
 * IRQ 4, loopback with modem status deltas, overrun, and random
 * programming that must never break its invariants.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uart.h"
#include "vm_test.h"

#include "test_check.h"

#define COM1	0x3f8

static struct vm *vm;
static struct uart_softc *sc;
static char path[] = "/tmp/hyve-test-uart-XXXXXX";

static uint8_t
rd(unsigned reg)
{
	uint64_t v = 0;

	CHECK(vm_test_pio(vm, COM1 + reg, 1, false, &v) == 0);
	return (uint8_t)v;
}

static void
wr(unsigned reg, uint8_t val)
{
	uint64_t v = val;

	CHECK(vm_test_pio(vm, COM1 + reg, 1, true, &v) == 0);
}

static int
irq4(void)
{
	return vm_test_irq_level(vm, 4);
}

static size_t
file_contents(char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, size);
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

static void
setup(void)
{
	struct dev *d;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, "old contents", 12) == 12);
	close(fd);
	vm = vm_new_for_test(4 << 20);
	CHECK(vm != NULL);
	CHECK(vm_test_cfg_set(vm, "lpc.com1.path", path) == 0);
	d = vm_test_dev_add(vm, "uart", "lpc.com1", "uart@0");
	CHECK(d != NULL);
	sc = d->softc;
}

static void
test_reset_values(void)
{
	char buf[64];

	CHECK(file_contents(buf, sizeof(buf)) == 0);	/* truncated at init */
	CHECK(rd(UART_IER) == 0);
	CHECK(rd(UART_IIR) == IIR_NOPEND);
	CHECK(rd(UART_LCR) == 0);
	CHECK(rd(UART_MCR) == 0);
	CHECK(rd(UART_LSR) == (LSR_THRE | LSR_TEMT));
	CHECK((rd(UART_MSR) & 0xf0) == (MSR_CTS | MSR_DSR | MSR_DCD));
	CHECK(irq4() == 0);
	/* a port that isn't ours */
	{
		uint64_t v;
		CHECK(vm_test_pio(vm, 0x2f8, 1, false, &v) == -ENOENT);
	}
}

static void
test_dlab_scr(void)
{
	wr(UART_LCR, LCR_DLAB | 0x03);
	wr(UART_DLL_REG, 0x0c);
	wr(UART_DLM_REG, 0x01);
	CHECK(rd(UART_DLL_REG) == 0x0c && rd(UART_DLM_REG) == 0x01);
	CHECK(rd(UART_LCR) == (LCR_DLAB | 0x03));
	wr(UART_LCR, 0x03);
	CHECK(rd(UART_IER) == 0);	/* IER again, not DLM */
	CHECK(sc->dll == 0x0c && sc->dlm == 0x01);
	wr(UART_SCR, 0xa5);
	CHECK(rd(UART_SCR) == 0xa5);
}

static void
test_tx(void)
{
	char buf[64];
	size_t n;

	wr(UART_THR, 'o');
	wr(UART_THR, 'k');
	wr(UART_THR, '\n');
	n = file_contents(buf, sizeof(buf));
	CHECK(n == 3 && memcmp(buf, "ok\n", 3) == 0);
	CHECK(rd(UART_LSR) & LSR_TEMT);
	/* a 2-byte write acts on two consecutive registers */
	{
		uint64_t v = 'Z' | (IER_ERBFI << 8);
		CHECK(vm_test_pio(vm, COM1, 2, true, &v) == 0);
		CHECK(rd(UART_IER) == IER_ERBFI);
		wr(UART_IER, 0);
	}
	n = file_contents(buf, sizeof(buf));
	CHECK(n == 4 && buf[3] == 'Z');
}

static void
test_thre_interrupt(void)
{
	/* enabling ETBEI with THR empty raises THRE at once; no OUT2, no line */
	wr(UART_IER, IER_ETBEI);
	CHECK(irq4() == 0);
	wr(UART_MCR, MCR_OUT2);
	CHECK(irq4() == 1);
	CHECK(rd(UART_IIR) == IIR_THRE);	/* reading IIR acknowledges THRE */
	CHECK(irq4() == 0);
	CHECK(rd(UART_IIR) == IIR_NOPEND);
	wr(UART_THR, '.');			/* THR empties again at once */
	CHECK(irq4() == 1);
	wr(UART_MCR, 0);			/* OUT2 gates the line */
	CHECK(irq4() == 0);
	wr(UART_MCR, MCR_OUT2);
	CHECK(irq4() == 1);
	wr(UART_IER, 0);
	CHECK(irq4() == 0);
	CHECK(rd(UART_IIR) == IIR_NOPEND);
}

static void
test_rx(void)
{
	uint8_t many[40];
	unsigned i;

	wr(UART_IER, IER_ERBFI);
	/* without FIFO: a one-byte holding register */
	CHECK(uart_rx_input(sc, (const uint8_t *)"hi", 2) == 1);
	CHECK(rd(UART_LSR) & LSR_DR);
	CHECK(irq4() == 1);
	CHECK(rd(UART_IIR) == IIR_RDA);
	CHECK(rd(UART_RBR) == 'h');
	CHECK(!(rd(UART_LSR) & LSR_DR));
	CHECK(irq4() == 0);
	CHECK(rd(UART_IIR) == IIR_NOPEND);

	/* FIFO, trigger level 4: below it, a character timeout */
	wr(UART_FCR, FCR_ENABLE | 0x40);
	CHECK((rd(UART_IIR) & IIR_FIFO_BITS) == IIR_FIFO_BITS);
	CHECK(uart_rx_input(sc, (const uint8_t *)"abc", 3) == 3);
	CHECK((rd(UART_IIR) & 0x0f) == IIR_CTI);
	CHECK(uart_rx_input(sc, (const uint8_t *)"d", 1) == 1);
	CHECK((rd(UART_IIR) & 0x0f) == IIR_RDA);
	CHECK(rd(UART_RBR) == 'a');
	CHECK((rd(UART_IIR) & 0x0f) == IIR_CTI);
	CHECK(rd(UART_RBR) == 'b' && rd(UART_RBR) == 'c' &&
	    rd(UART_RBR) == 'd');
	CHECK((rd(UART_IIR) & 0x0f) == IIR_NOPEND);
	CHECK(irq4() == 0);

	/* 16 bytes fit, no more; they come out in order */
	for (i = 0; i < sizeof(many); i++)
		many[i] = (uint8_t)('A' + i);
	CHECK(uart_rx_input(sc, many, sizeof(many)) == UART_FIFO_SIZE);
	CHECK(sc->rx_count == UART_FIFO_SIZE);
	for (i = 0; i < UART_FIFO_SIZE; i++)
		CHECK(rd(UART_RBR) == 'A' + i);
	CHECK(rd(UART_RBR) == 0);	/* empty FIFO */
	/* FCR RX reset empties the FIFO */
	CHECK(uart_rx_input(sc, many, 5) == 5);
	wr(UART_FCR, FCR_ENABLE | FCR_RX_RESET);
	CHECK(sc->rx_count == 0 && !(rd(UART_LSR) & LSR_DR));
	/* disabling the FIFO goes back to one byte */
	wr(UART_FCR, 0);
	CHECK((rd(UART_IIR) & IIR_FIFO_BITS) == 0);
	CHECK(uart_rx_input(sc, many, 5) == 1);
	(void)rd(UART_RBR);
	wr(UART_IER, 0);
}

static void
test_loopback(void)
{
	char buf[64];
	size_t before = file_contents(buf, sizeof(buf));
	uint8_t msr;

	(void)rd(UART_MSR);
	wr(UART_MCR, MCR_LOOP);			/* all modem inputs drop */
	msr = rd(UART_MSR);
	CHECK((msr & 0xf0) == 0);
	CHECK((msr & (MSR_DCTS | MSR_DDSR | MSR_DDCD)) ==
	    (MSR_DCTS | MSR_DDSR | MSR_DDCD));
	CHECK((rd(UART_MSR) & 0x0f) == 0);	/* deltas clear on read */
	wr(UART_MCR, MCR_LOOP | MCR_RTS | MCR_DTR | MCR_OUT1);
	msr = rd(UART_MSR);
	CHECK((msr & 0xf0) == (MSR_CTS | MSR_DSR | MSR_RI));
	wr(UART_MCR, MCR_LOOP | MCR_RTS | MCR_DTR);	/* RI falls: TERI */
	CHECK(rd(UART_MSR) & MSR_TERI);
	/* modem status interrupt */
	wr(UART_IER, IER_EDSSI);
	wr(UART_MCR, MCR_LOOP | MCR_OUT2);
	CHECK((rd(UART_IIR) & 0x0f) == IIR_MLSC);
	(void)rd(UART_MSR);
	CHECK((rd(UART_IIR) & 0x0f) == IIR_NOPEND);
	wr(UART_IER, 0);

	/* transmitted bytes come back, none reach the file */
	wr(UART_THR, 'L');
	CHECK(rd(UART_LSR) & LSR_DR);
	CHECK(rd(UART_RBR) == 'L');
	/* overrun: a second byte with the holding register full */
	wr(UART_IER, IER_ELSI);
	wr(UART_THR, '1');
	wr(UART_THR, '2');
	CHECK((rd(UART_IIR) & 0x0f) == IIR_RLS);
	CHECK(irq4() == 1);
	CHECK(rd(UART_LSR) & LSR_OE);
	CHECK(!(rd(UART_LSR) & LSR_OE));	/* cleared by reading LSR */
	CHECK(rd(UART_RBR) == '1');
	CHECK(file_contents(buf, sizeof(buf)) == before);
	wr(UART_IER, 0);
	wr(UART_MCR, 0);
	CHECK(irq4() == 0);
}

static void
test_random(void)
{
	unsigned i;
	uint64_t v;

	srand(1);
	for (i = 0; i < 200000; i++) {
		unsigned reg = (unsigned)rand() % 8;
		/* keep LOOP on so random THR writes don't fill the file */
		v = (unsigned)rand() & 0xff;
		if (reg == UART_MCR)
			v |= MCR_LOOP;
		if (i == 0)
			wr(UART_MCR, MCR_LOOP);
		if (rand() & 1)
			CHECK(vm_test_pio(vm, COM1 + reg, 1, true, &v) == 0);
		else
			CHECK(vm_test_pio(vm, COM1 + reg, 1, false, &v) == 0);
		if (rand() % 16 == 0)
			uart_rx_input(sc, (const uint8_t *)"xyz", 3);
		if (sc->rx_count > UART_FIFO_SIZE ||
		    sc->rx_head >= UART_FIFO_SIZE) {
			CHECK(!"FIFO invariant broken");
			break;
		}
		/* the line is exactly "an interrupt is pending and OUT2" */
		if (irq4() != ((uart_intr_id(sc) != IIR_NOPEND) &&
		    (sc->mcr & MCR_OUT2))) {
			CHECK(!"IRQ line out of step with IIR");
			break;
		}
	}
	/* device reset: registers back to power-on values */
	sc->dev->emu->reset(sc->dev);
	CHECK(rd(UART_IER) == 0 && rd(UART_LCR) == 0 && rd(UART_MCR) == 0);
	CHECK(rd(UART_IIR) == IIR_NOPEND && irq4() == 0);
	CHECK(rd(UART_LSR) == (LSR_THRE | LSR_TEMT));
}

static void
test_config_errors(void)
{
	struct vm *v2 = vm_new_for_test(4 << 20);

	/* no path */
	CHECK(vm_test_dev_add(v2, "uart", "lpc.com2", "uart@1") == NULL);
	/* a path that cannot be opened */
	CHECK(vm_test_cfg_set(v2, "lpc.com2.path", "/nonexistent/dir/x") == 0);
	CHECK(vm_test_dev_add(v2, "uart", "lpc.com2", "uart@1") == NULL);
	/* a node that is not lpc.comN */
	CHECK(vm_test_cfg_set(v2, "lpc.com7.path", "/dev/null") == 0);
	CHECK(vm_test_dev_add(v2, "uart", "lpc.com7", "uart@6") == NULL);
	/* only one serial port on stdio */
	CHECK(vm_test_cfg_set(v2, "lpc.com3.path", "stdio") == 0);
	CHECK(vm_test_cfg_set(v2, "lpc.com4.path", "stdio") == 0);
	CHECK(vm_test_dev_add(v2, "uart", "lpc.com3", "uart@2") != NULL);
	CHECK(vm_test_dev_add(v2, "uart", "lpc.com4", "uart@3") == NULL);
	vm_free(v2);
}

/* stdio: a reader thread moves stdin's bytes into the FIFO as room frees up. */
static void
test_stdin_reader(void)
{
	struct vm *v2 = vm_new_for_test(4 << 20);
	struct uart_softc *u;
	struct dev *d;
	int p[2], saved = dup(STDIN_FILENO), i;
	uint64_t v;
	char got[40] = "";

	CHECK(pipe(p) == 0);
	CHECK(dup2(p[0], STDIN_FILENO) == STDIN_FILENO);
	close(p[0]);
	CHECK(vm_test_cfg_set(v2, "lpc.com1.path", "stdio") == 0);
	d = vm_test_dev_add(v2, "uart", "lpc.com1", "uart@0");
	CHECK(d != NULL);
	if (d == NULL)
		goto out;
	u = d->softc;
	v = FCR_ENABLE;
	CHECK(vm_test_pio(v2, COM1 + UART_FCR, 1, true, &v) == 0);
	CHECK(d->emu->resume(d) == 0);		/* starts the reader */
	CHECK(write(p[1], "abcdefghijklmnopqrstuvwxyz0123", 30) == 30);
	for (i = 0; i < 30; i++) {
		int tries = 0;
		while (!(vm_test_pio(v2, COM1 + UART_LSR, 1, false, &v) == 0 &&
		    (v & LSR_DR)) && tries++ < 2000)
			usleep(1000);
		CHECK(vm_test_pio(v2, COM1 + UART_RBR, 1, false, &v) == 0);
		got[i] = (char)v;
		CHECK(u->rx_count <= UART_FIFO_SIZE);
	}
	CHECK(strcmp(got, "abcdefghijklmnopqrstuvwxyz0123") == 0);
	/* pause holds input back; resume lets it through */
	CHECK(d->emu->pause(d) == 0);
	CHECK(write(p[1], "Z", 1) == 1);
	usleep(50000);
	CHECK(u->rx_count == 0);
	CHECK(d->emu->resume(d) == 0);
	for (i = 0; i < 2000 && u->rx_count == 0; i++)
		usleep(1000);
	CHECK(u->rx_count == 1);
	close(p[1]);		/* EOF: the reader stops by itself */
out:
	vm_free(v2);		/* joins the reader */
	dup2(saved, STDIN_FILENO);
	close(saved);
}

int
main(void)
{
	setup();
	test_reset_values();
	test_dlab_scr();
	test_tx();
	test_thre_interrupt();
	test_rx();
	test_loopback();
	test_random();
	test_config_errors();
	test_stdin_reader();
	vm_free(vm);
	unlink(path);
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("test_uart: ok\n");
	return 0;
}
