/*
 * com1 (16550 at 0x3f8), polled.  Every port access is a VM exit, so a line
 * is written in bursts of 16 characters (the FIFO) with one LSR read per
 * burst, and lines from different vCPUs never interleave (console lock).
 */
#include "guest.h"

#define COM1	0x3f8
#define LSR_THRE 0x20

static spinlock_t console_lock;
static bool fifo;

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

static void uart_write(const char *s, size_t n)
{
	size_t burst = fifo ? 16 : 1;

	while (n) {
		size_t k = MIN(n, burst);

		/* bounded: a UART that never drains loses output, not the guest */
		for (int spin = 0; spin < 100000; spin++)
			if (inb(COM1 + 5) & LSR_THRE)
				break;
		for (size_t i = 0; i < k; i++)
			outb(COM1, s[i]);
		s += k;
		n -= k;
	}
}

void console_write(const char *s, size_t n)
{
	spin_lock(&console_lock);
	uart_write(s, n);
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
