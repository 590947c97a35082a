/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The migration source's convergence decision (mig_converge): stop once
 * the rest fits the downtime target; keep going while rounds shrink;
 * throttle after two rounds in a row that do not (20%, then +10% a round,
 * at most 99%); stop when throttled to the most and still not shrinking;
 * and a guest that dirties faster than any link still ends.  Also the
 * control requests' parsing of "migrate" and "migrate-cancel".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl_proto.h"
#include "migrate_out.h"

#include "test_check.h"

#define MIB	(1ULL << 20)

static void
test_fits(void)
{
	/* 256 pages = 1 MiB at 100 MiB/s: 10 ms, within 20. */
	struct mig_conv c = { .pages_left = 256, .link_rate = 100 * MIB,
	    .downtime_ms = 20 };

	CHECK(mig_converge(&c) == MIG_STEP_STOP);
	CHECK(c.expected_us == 10000);
	CHECK(c.throttle == 0);
	/* The same at 10 ms allowed: exactly on the target stops. */
	c = (struct mig_conv){ .pages_left = 256, .link_rate = 100 * MIB,
	    .downtime_ms = 10 };
	CHECK(mig_converge(&c) == MIG_STEP_STOP);
	/* 9 ms allowed: another round. */
	c = (struct mig_conv){ .pages_left = 256, .link_rate = 100 * MIB,
	    .downtime_ms = 9 };
	CHECK(mig_converge(&c) == MIG_STEP_ROUND);
	/* An unknown rate never stops for the target. */
	c = (struct mig_conv){ .pages_left = 1, .downtime_ms = 1000 };
	CHECK(mig_converge(&c) == MIG_STEP_ROUND);
	CHECK(c.expected_us == UINT64_MAX);
}

static void
test_shrinking(void)
{
	struct mig_conv c = { .link_rate = MIB, .downtime_ms = 20 };
	uint64_t left = 100000;

	/* Halving every round: no throttle, until it fits. */
	for (int i = 0; i < 30; i++) {
		c.pages_left = left;
		if (mig_converge(&c) == MIG_STEP_STOP)
			break;
		CHECK(c.throttle == 0);
		CHECK(c.bad == 0);
		left /= 2;
	}
	CHECK(c.pages_left * 4096ULL * 1000 / MIB <= 20);
}

static void
test_throttle(void)
{
	struct mig_conv c = { .link_rate = 10 * MIB, .downtime_ms = 20 };
	unsigned want[] = { 0, 20, 30, 40, 50, 60, 70, 80, 90, 99 };
	unsigned i;

	/* The same dirty set every round: throttle after two, then climb. */
	for (i = 0; i < 11; i++) {
		c.pages_left = 50000;
		CHECK(mig_converge(&c) == MIG_STEP_ROUND);
		if (i == 0) {
			CHECK(c.throttle == 0);	/* no round before to compare */
			continue;
		}
		CHECK(c.throttle == want[i - 1]);
	}
	CHECK(c.throttle == MIG_THROTTLE_MAX);
	/* At the most and still not shrinking: stop and send the rest. */
	c.pages_left = 50000;
	CHECK(mig_converge(&c) == MIG_STEP_STOP);

	/* One shrinking round resets the count, keeps the throttle. */
	c = (struct mig_conv){ .link_rate = 10 * MIB, .downtime_ms = 20 };
	c.pages_left = 50000;
	mig_converge(&c);
	mig_converge(&c);
	mig_converge(&c);
	CHECK(c.throttle == 20);
	c.pages_left = 10000;
	CHECK(mig_converge(&c) == MIG_STEP_ROUND);
	CHECK(c.bad == 0 && c.throttle == 20);
	c.pages_left = 10000;
	CHECK(mig_converge(&c) == MIG_STEP_ROUND);
	CHECK(c.throttle == 20);	/* one bad round is not yet two */
}

static void
test_bounded(void)
{
	/* Shrinking by 10% each time, never fitting: ends all the same. */
	struct mig_conv c = { .link_rate = 1, .downtime_ms = 1 };
	uint64_t left = UINT64_MAX / 8192;
	int i;

	for (i = 0; i < 1000; i++) {
		c.pages_left = left;
		if (mig_converge(&c) == MIG_STEP_STOP)
			break;
		left = left / 10 * 9;
	}
	CHECK(i < 1000);
	CHECK(c.rounds <= MIG_MAX_ROUNDS + 1);
}

static void
test_parse(void)
{
	struct ctl_req req;
	char line[512], err[256];

	snprintf(line, sizeof(line), "migrate oneway downtime_ms=5 "
	    "timeout_ms=3000 file:/tmp/a b.ckps");
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) == 0);
	CHECK(req.verb == CTL_VERB_MIGRATE && req.oneway);
	CHECK(req.downtime_ms == 5 && req.timeout_ms == 3000);
	CHECK(req.key_hex == NULL);
	CHECK(req.path != NULL && strcmp(req.path, "file:/tmp/a b.ckps") == 0);

	snprintf(line, sizeof(line), "migrate key=000102030405060708090a0b0c0d"
	    "0e0f tcp:10.0.0.2:7777");
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) == 0);
	CHECK(!req.oneway && req.key_hex != NULL && strlen(req.key_hex) == 32);
	CHECK(strcmp(req.path, "tcp:10.0.0.2:7777") == 0);

	/* A key shorter than 16 bytes, odd, or not hex. */
	snprintf(line, sizeof(line), "migrate key=0001 unix:/x");
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) ==
	    -EINVAL);
	CHECK(strstr(err, "key:") != NULL);
	snprintf(line, sizeof(line), "migrate key=%032d0 unix:/x", 0);
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) ==
	    -EINVAL);
	snprintf(line, sizeof(line), "migrate key=%030dzz unix:/x", 0);
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) ==
	    -EINVAL);
	snprintf(line, sizeof(line), "migrate downtime_ms=0 unix:/x");
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) ==
	    -EINVAL);
	CHECK(strstr(err, "downtime_ms=0") != NULL);
	snprintf(line, sizeof(line), "migrate speed=9 unix:/x");
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) ==
	    -EINVAL);
	CHECK(strstr(err, "unknown option 'speed=9'") != NULL);
	snprintf(line, sizeof(line), "migrate oneway");
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) ==
	    -EINVAL);
	CHECK(strstr(err, "needs the address") != NULL);
	snprintf(line, sizeof(line), "migrate-cancel");
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) == 0);
	CHECK(req.verb == CTL_VERB_MIGRATE_CANCEL);
	snprintf(line, sizeof(line), "migrate-cancel now");
	CHECK(ctl_req_parse(line, strlen(line), &req, err, sizeof(err)) ==
	    -EINVAL);
}

int
main(void)
{
	test_fits();
	test_shrinking();
	test_throttle();
	test_bounded();
	test_parse();
	if (failures != 0)
		return 1;
	printf("test_vmm_migrate: ok\n");
	return 0;
}
