/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * hyve's command line, turned into configuration keys (vmm/cli.c).
 */
#ifndef HYVE_CLI_H
#define HYVE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cfg;

enum cli_action {
	CLI_RUN = 1,
	CLI_HELP,
	CLI_RESTORE,	/* -r FILE.ckp: @cfg holds the overrides */
	CLI_INCOMING,	/* --incoming ADDR: @cfg holds the overrides */
};

/* --verify=MODE: when a restore checks the RAM file (docs/hyve.8). */
enum cli_verify {
	CLI_VERIFY_FULL = 0,	/* all of it before the guest starts (default) */
	CLI_VERIFY_LAZY,	/* each chunk before the guest sees it */
	CLI_VERIFY_NONE,	/* not at all (--no-ram-check) */
};

/* What -r and its companions ask for. */
struct cli_opts {
	const char	*restore;	/* -r FILE.ckp */
	bool		 eager;		/* --eager: read RAM instead of mapping it */
	bool		 no_ram_check;	/* --no-ram-check, or --verify=none */
	enum cli_verify	 verify;	/* --verify=MODE */
	bool		 trust;		/* --trust: restore another user's checkpoint */
	bool		 no_sandbox;	/* --no-sandbox: no seccomp filters */
	const char	*incoming;	/* --incoming ADDR */
	const char	*migrate_key;	/* --migrate-key FILE */
};

/*
 * Parse argv into @cfg, options applied in order (a later one wins).
 * Returns 0 with *action set, or -EINVAL with a message in @err: always a
 * usage error (HYVE_ERR_USAGE), whatever it was that could not be read.  With
 * -r or --incoming, @cfg receives only the keys that override the
 * checkpoint's (-o, -l, -k, NAME); @opts (may be NULL: -r and --incoming
 * are then refused) gets the rest.
 */
int cli_parse(int argc, char **argv, struct cfg *cfg,
    enum cli_action *action, struct cli_opts *opts, char *err,
    size_t errlen);
void cli_usage(FILE *f);

#endif /* HYVE_CLI_H */
