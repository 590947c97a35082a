/* XXH64 from its published specification (Yann Collet's xxHash, BSD). */
#include "xxhash.h"

#define P1 11400714785074694791ULL
#define P2 14029467366897019727ULL
#define P3 1609587929392839161ULL
#define P4 9650029242287828579ULL
#define P5 2870177450012600261ULL

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t rd64(const uint8_t *p) { uint64_t v; __builtin_memcpy(&v, p, 8); return v; }
static inline uint32_t rd32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
static inline uint64_t rnd(uint64_t acc, uint64_t in)
{
	acc += in * P2;
	acc = rotl(acc, 31);
	return acc * P1;
}
static inline uint64_t merge(uint64_t acc, uint64_t v)
{
	acc ^= rnd(0, v);
	return acc * P1 + P4;
}

void xxh64_init(struct xxh64 *s, uint64_t seed)
{
	s->total = 0;
	s->memsize = 0;
	s->v[0] = seed + P1 + P2;
	s->v[1] = seed + P2;
	s->v[2] = seed;
	s->v[3] = seed - P1;
}

static void stripes(struct xxh64 *s, const uint8_t *p, size_t n)
{
	uint64_t v0 = s->v[0], v1 = s->v[1], v2 = s->v[2], v3 = s->v[3];

	for (; n >= 32; n -= 32, p += 32) {
		v0 = rnd(v0, rd64(p));
		v1 = rnd(v1, rd64(p + 8));
		v2 = rnd(v2, rd64(p + 16));
		v3 = rnd(v3, rd64(p + 24));
	}
	s->v[0] = v0;
	s->v[1] = v1;
	s->v[2] = v2;
	s->v[3] = v3;
}

void xxh64_update(struct xxh64 *s, const void *in, size_t n)
{
	const uint8_t *p = in;

	s->total += n;
	if (s->memsize + n < 32) {
		__builtin_memcpy(s->mem + s->memsize, p, n);
		s->memsize += n;
		return;
	}
	if (s->memsize) {
		uint32_t k = 32 - s->memsize;

		__builtin_memcpy(s->mem + s->memsize, p, k);
		stripes(s, s->mem, 32);
		p += k;
		n -= k;
		s->memsize = 0;
	}
	stripes(s, p, n & ~(size_t)31);
	p += n & ~(size_t)31;
	n &= 31;
	__builtin_memcpy(s->mem, p, n);
	s->memsize = n;
}

uint64_t xxh64_digest(const struct xxh64 *s)
{
	const uint8_t *p = s->mem, *end = s->mem + s->memsize;
	uint64_t h;

	if (s->total >= 32) {
		h = rotl(s->v[0], 1) + rotl(s->v[1], 7) + rotl(s->v[2], 12) + rotl(s->v[3], 18);
		for (int i = 0; i < 4; i++)
			h = merge(h, s->v[i]);
	} else {
		h = s->v[2] + P5;
	}
	h += s->total;
	for (; p + 8 <= end; p += 8) {
		h ^= rnd(0, rd64(p));
		h = rotl(h, 27) * P1 + P4;
	}
	if (p + 4 <= end) {
		h ^= (uint64_t)rd32(p) * P1;
		h = rotl(h, 23) * P2 + P3;
		p += 4;
	}
	for (; p < end; p++) {
		h ^= *p * P5;
		h = rotl(h, 11) * P1;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}
