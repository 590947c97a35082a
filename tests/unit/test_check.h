/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The assertion every hyve unit test uses (tests/unit/test_*.c; libckp's
 * have test_ckp.h): a failed CHECK prints the file, line and condition and
 * counts; main() returns failures != 0.
 */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		failures++;						\
	}								\
} while (0)

#endif /* TEST_CHECK_H */
