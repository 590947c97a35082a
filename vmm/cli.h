/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * hyve's command line, turned into configuration keys (vmm/cli.c).
 */
#ifndef HYVE_CLI_H
#define HYVE_CLI_H

#include <stddef.h>
#include <stdio.h>

struct cfg;

enum cli_action {
	CLI_RUN = 1,
	CLI_HELP,
};

/*
 * Parse argv into @cfg, options applied in order (a later one wins).
 * Returns 0 with *action set, or -EINVAL with a message in @err.
 */
int cli_parse(int argc, char **argv, struct cfg *cfg,
    enum cli_action *action, char *err, size_t errlen);
void cli_usage(FILE *f);

#endif /* HYVE_CLI_H */
