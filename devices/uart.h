/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The 16550A UART's registers and state (devices/uart.c), shared with its
 * unit test.  Every field below the "registers" line is guest-visible
 * state that a checkpoint saves by name.
 */
#ifndef HYVE_UART_H
#define HYVE_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

#define UART_FIFO_SIZE	16

/* Register offsets (DLAB=1: 0 is DLL, 1 is DLM). */
#define UART_RBR	0	/* read: receive buffer */
#define UART_THR	0	/* write: transmit holding */
#define UART_IER	1
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7
#define UART_DLL_REG	0	/* with LCR.DLAB */
#define UART_DLM_REG	1

#define IER_ERBFI	0x01	/* received data available */
#define IER_ETBEI	0x02	/* transmitter holding register empty */
#define IER_ELSI	0x04	/* receiver line status */
#define IER_EDSSI	0x08	/* modem status */

#define IIR_NOPEND	0x01
#define IIR_MLSC	0x00
#define IIR_THRE	0x02
#define IIR_RDA		0x04
#define IIR_RLS		0x06
#define IIR_CTI		0x0c	/* character timeout (below the trigger level) */
#define IIR_FIFO_BITS	0xc0

#define FCR_ENABLE	0x01
#define FCR_RX_RESET	0x02
#define FCR_TX_RESET	0x04
#define FCR_DMA		0x08
#define FCR_TRIGGER	0xc0

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

struct uart_softc {
	pthread_mutex_t	 mtx;
	struct dev	*dev;
	uint16_t	 port;
	unsigned	 irq;
	char		 owner[64];
	bool		 registered;

	/* host side */
	bool		 stdio;
	int		 out_fd, in_fd;
	pthread_t	 reader;
	bool		 reader_started, reader_stop, paused;
	int		 stop_pipe[2];
	pthread_cond_t	 space_cv;	/* room in the RX FIFO, or stop */

	/* registers */
	uint8_t		 dll, dlm;	/* divisor latch */
	uint8_t		 ier, fcr, lcr, mcr;
	uint8_t		 lsr_err;	/* sticky LSR error bits (OE) */
	uint8_t		 msr;		/* status bits 4-7, deltas 0-3 */
	uint8_t		 scr;
	uint8_t		 rx_fifo[UART_FIFO_SIZE];
	uint8_t		 rx_head, rx_count;
	bool		 thre_pending;	/* THRE interrupt not yet acknowledged */
	int		 irq_level;	/* line level last driven */
};

extern const struct devemu devemu_uart;

io_fn uart_io;
uint8_t uart_intr_id(const struct uart_softc *sc);
size_t uart_rx_input(struct uart_softc *sc, const uint8_t *buf, size_t len);
void uart_tty_restore(void);
/* As above, async-signal-safe: for a handler that exits at once. */
void uart_tty_restore_now(void);

#endif /* HYVE_UART_H */
