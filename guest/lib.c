/* Freestanding string and formatting helpers. */
#include "guest.h"

void *memset(void *d, int c, size_t n)
{
	u8 *p = d;

	while (n--)
		*p++ = c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;

	if ((((u64)dp | (u64)sp | n) & 7) == 0) {
		u64 *dq = d;
		const u64 *sq = s;

		for (n /= 8; n; n--)
			*dq++ = *sq++;
		return d;
	}
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (; *s; s++)
		if (*s == (char)c)
			return (char *)s;
	return c ? NULL : (char *)s;
}

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, u64 v, unsigned base, int width, char padc, bool neg, bool upper)
{
	char tmp[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		width--;
	if (neg && padc == '0')
		put(o, '-');
	for (; width > n; width--)
		put(o, padc);
	if (neg && padc != '0')
		put(o, '-');
	while (n)
		put(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char padc = ' ';
		bool left = false, alt = false;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '#') {
			alt = true;
			fmt++;
		}
		if (*fmt == '-') {
			left = true;
			fmt++;
		}
		if (*fmt == '0') {
			padc = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);

			put_num(&o, v < 0 ? -(u64)v : (u64)v, 10, width, padc, v < 0, false);
			break;
		}
		case 'u':
			put_num(&o, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, padc, false, false);
			break;
		case 'x':
		case 'X':
			if (alt) {
				put(&o, '0');
				put(&o, 'x');
			}
			put_num(&o, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, padc, false, *fmt == 'X');
			break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, (u64)va_arg(ap, void *), 16, width, padc, false, false);
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n;

			if (!s)
				s = "(null)";
			n = strlen(s);
			if (!left)
				for (; width > n; width--)
					put(&o, ' ');
			while (*s)
				put(&o, *s++);
			if (left)
				for (; width > n; width--)
					put(&o, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default:
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt);
			else
				fmt--;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int parse_u64(const char *s, u64 *out, bool suffix)
{
	u64 v = 0, base = 10;

	if (!s || !*s)
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return -1;
	}
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (v > (~0ULL - d) / base)
			return -1;
		v = v * base + d;
	}
	if (*s && suffix && !s[1]) {
		u64 m = 0;

		switch (*s) {
		case 'k': case 'K': m = KiB; break;
		case 'm': case 'M': m = MiB; break;
		case 'g': case 'G': m = GiB; break;
		}
		if (!m || v > ~0ULL / m)
			return -1;
		v *= m;
		s++;
	}
	if (*s)
		return -1;
	*out = v;
	return 0;
}

int parse_ipv4(const char *s, u32 *out)
{
	u32 ip = 0;

	for (int i = 0; i < 4; i++) {
		u32 v = 0;
		int n = 0;

		while (*s >= '0' && *s <= '9' && n < 4) {
			v = v * 10 + (*s++ - '0');
			n++;
		}
		if (!n || v > 255)
			return -1;
		ip = ip << 8 | v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	if (*s)
		return -1;
	*out = ip;
	return 0;
}
