/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Reading a fuzz input as a stream of little-endian integers; past its end
 * every read gives 0, so a target never has to check what is left.
 */
#ifndef FUZZ_IN_H
#define FUZZ_IN_H

#include <stddef.h>
#include <stdint.h>

struct in {
	const uint8_t *p;
	size_t	n;
};

static inline uint8_t
u8(struct in *in)
{
	if (in->n == 0)
		return (0);
	in->n--;
	return (*in->p++);
}

static inline uint16_t
u16(struct in *in)
{
	return ((uint16_t)(u8(in) | u8(in) << 8));
}

static inline uint32_t
u32(struct in *in)
{
	uint32_t lo = u16(in);

	return (lo | (uint32_t)u16(in) << 16);
}

static inline uint64_t
u64(struct in *in)
{
	uint64_t lo = u32(in);

	return (lo | (uint64_t)u32(in) << 32);
}

#endif /* FUZZ_IN_H */
