/*
 * xxh64sum FILE [SIZE]: XXH64 (seed 0) of the first SIZE bytes of FILE (K, M
 * or G suffix: KiB, MiB, GiB; the whole file without SIZE), printed as 16
 * hex digits: the checksum the guest's `copy` workload prints.  Host-side
 * helper for tests; fails if FILE is shorter than SIZE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 20];
	unsigned long long left = ~0ULL;
	XXH64_state_t *st;
	FILE *f;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: xxh64sum FILE [SIZE]\n");
		return 2;
	}
	if (argc == 3) {
		char *end;

		errno = 0;
		left = strtoull(argv[2], &end, 0);
		if (*end && !end[1] && strchr("KMG", *end) && left < (1ULL << 40)) {
			left <<= *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
			end++;
		}
		if (errno || *end || end == argv[2]) {
			fprintf(stderr, "xxh64sum: bad size '%s'\n", argv[2]);
			return 2;
		}
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		fprintf(stderr, "xxh64sum: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	st = XXH64_createState();
	XXH64_reset(st, 0);
	while (left) {
		size_t want = left < sizeof(buf) ? left : sizeof(buf);
		size_t n = fread(buf, 1, want, f);

		if (!n)
			break;
		XXH64_update(st, buf, n);
		left -= n;
	}
	if (ferror(f) || (argc == 3 && left)) {
		fprintf(stderr, "xxh64sum: %s: %s\n", argv[1],
		    ferror(f) ? "read error" : "shorter than SIZE");
		return 1;
	}
	printf("%016llx\n", (unsigned long long)XXH64_digest(st));
	return 0;
}
