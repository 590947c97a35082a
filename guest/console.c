/*
 * com1 (16550 at 0x3f8), polled.  Every port access is a VM exit, so the
 * LSR is read once per 16 characters (THRE means the FIFO is empty: 16 more
 * fit), and lines from different vCPUs never interleave (console lock).
 * `beacon` writes single characters without a newline; a line written after
 * them starts on a line of its own.
 */
#include "guest.h"

#define COM1	0x3f8
#define LSR_THRE 0x20

static spinlock_t console_lock;
static bool fifo;
static u32 fifo_room;	/* characters the UART takes before the next LSR read */
static bool mid_line;	/* console_putc() left a line unfinished */

void console_init(void)
{
	outb(COM1 + 1, 0x00);		/* no interrupts */
	outb(COM1 + 3, 0x80);		/* DLAB */
	outb(COM1 + 0, 0x01);		/* 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);		/* 8N1 */
	outb(COM1 + 2, 0x07);		/* FIFO on, cleared */
	outb(COM1 + 4, 0x03);		/* DTR | RTS, OUT2 off: no IRQ */
	fifo = (inb(COM1 + 2) & 0xc0) == 0xc0;
}

static void uart_putc(char c)
{
	if (!fifo_room) {
		/* bounded: a UART that never drains loses output, not the guest */
		for (int spin = 0; spin < 100000; spin++)
			if (inb(COM1 + 5) & LSR_THRE)
				break;
		fifo_room = fifo ? 16 : 1;
	}
	outb(COM1, c);
	fifo_room--;
}

void console_write(const char *s, size_t n)
{
	spin_lock(&console_lock);
	if (mid_line && n)
		uart_putc('\n');
	mid_line = false;
	while (n--)
		uart_putc(*s++);
	spin_unlock(&console_lock);
}

/* One character, usually one port write (one VM exit). */
void console_putc(char c)
{
	spin_lock(&console_lock);
	uart_putc(c);
	mid_line = c != '\n';
	spin_unlock(&console_lock);
}

/* The fault reporter may interrupt a vCPU that holds the lock. */
void console_force_unlock(void)
{
	for (int spin = 0; spin < 10000000; spin++)
		if (!console_lock.v)
			return;
	spin_unlock(&console_lock);
}

void cprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	console_write(buf, n);
}
