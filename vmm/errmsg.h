/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The message half of hyve's "0 or a negative errno, and a message in the
 * caller's buffer" convention, for the functions that fail in one line.
 */
#ifndef HYVE_ERRMSG_H
#define HYVE_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline int errmsg_set(char *err, size_t errlen, int rc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Format into @err (unless NULL); @return @rc, so that a failure is one statement. */
static inline int
errmsg_set(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

#endif /* HYVE_ERRMSG_H */
