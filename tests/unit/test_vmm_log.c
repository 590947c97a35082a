/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * vm_log_guest: a guest that repeats a bad request as fast as it can gets
 * at most 10 lines per window, from any number of threads, the host's own
 * messages still get through, and the next line allowed says how many
 * were dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm_test.h"

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stdout, "%s:%d: CHECK failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		failures++;						\
	}								\
} while (0)

static char logpath[] = "/tmp/test_vmm_log.XXXXXX";
static int logfd, saved_stderr;

/* Lines of the captured stderr written since @p from containing @p needle. */
static int
count_since(off_t from, const char *needle, char *last, size_t lastlen)
{
	char buf[1 << 16];
	ssize_t n = pread(logfd, buf, sizeof(buf) - 1, from);
	int count = 0;

	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (char *l = strtok(buf, "\n"); l != NULL; l = strtok(NULL, "\n"))
		if (strstr(l, needle) != NULL) {
			count++;
			if (last != NULL)
				snprintf(last, lastlen, "%s", l);
		}
	return count;
}

static off_t
log_end(void)
{
	return lseek(logfd, 0, SEEK_END);
}

struct flooder {
	struct vm	*vm;
	int		 id;
};

static void *
flood(void *arg)
{
	struct flooder *f = arg;

	for (int i = 0; i < 1000; i++)
		vm_log_guest(f->vm, "thread %d: bad request %d", f->id, i);
	return NULL;
}

int
main(void)
{
	struct vm *vm = vm_new_for_test(16 << 20);
	struct flooder fl[4];
	pthread_t thr[4];
	char last[1024] = "";
	off_t at;

	if (vm == NULL) {
		printf("cannot create the test VM\n");
		return 1;
	}
	if ((logfd = mkstemp(logpath)) < 0) {
		perror(logpath);
		return 1;
	}
	saved_stderr = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);
	vm_test_log_budget(vm, 0, 200);

	/* A flood: 10 lines, the host's own message still logged. */
	at = log_end();
	for (int i = 0; i < 25; i++)
		vm_log_guest(vm, "bad request %d", i);
	vm_log(vm, "host message");
	CHECK(count_since(at, "bad request", last, sizeof(last)) == 10);
	CHECK(strstr(last, "bad request 9") != NULL);
	CHECK(count_since(at, "host message", NULL, 0) == 1);
	CHECK(count_since(at, "not logged", NULL, 0) == 0);

	/* The next window: the first line says how many were dropped. */
	usleep(300 * 1000);
	at = log_end();
	vm_log_guest(vm, "later request");
	CHECK(count_since(at, "later request (15 more such guest errors were "
	    "not logged)", NULL, 0) == 1);

	/* Four threads at once, in one long window: 9 more lines, exactly. */
	vm_test_log_budget(vm, 0, 60000);
	at = log_end();
	for (int i = 0; i < 4; i++) {
		fl[i] = (struct flooder){ vm, i };
		pthread_create(&thr[i], NULL, flood, &fl[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(thr[i], NULL);
	CHECK(count_since(at, ": bad request", NULL, 0) == 9);

	dup2(saved_stderr, STDERR_FILENO);
	close(logfd);
	unlink(logpath);
	vm_free(vm);
	printf("%s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
