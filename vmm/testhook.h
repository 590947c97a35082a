/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test builds (HYVE_TEST_HOOKS) read a few environment variables that hold
 * a step back by some milliseconds, so that a test can act inside a window
 * too short to hit by chance.  Other builds read nothing.
 */
#ifndef HYVE_TESTHOOK_H
#define HYVE_TESTHOOK_H

#include <stdlib.h>

/* The milliseconds in environment variable @name (1..60000), else 0. */
static inline long
test_hook_ms(const char *name)
{
#ifdef HYVE_TEST_HOOKS
	const char *v = getenv(name);
	long ms = v != NULL ? strtol(v, NULL, 10) : 0;

	return ms > 0 && ms <= 60000 ? ms : 0;
#else
	(void)name;
	return 0;
#endif
}

#endif /* HYVE_TESTHOOK_H */
