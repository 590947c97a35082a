#ifndef GUEST_XXHASH_H
#define GUEST_XXHASH_H
#include <stddef.h>
#include <stdint.h>

/* XXH64, streaming; identical to libxxhash's XXH64 (seed 0 in `copy`), so a
 * host test can check the guest's checksum with guest/tools/xxh64sum. */
struct xxh64 {
	uint64_t total, v[4];
	uint8_t mem[32];
	uint32_t memsize;
};
void xxh64_init(struct xxh64 *s, uint64_t seed);
void xxh64_update(struct xxh64 *s, const void *p, size_t n);
uint64_t xxh64_digest(const struct xxh64 *s);

#endif
