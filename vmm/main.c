/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * hyve: command line, VM creation, the main thread's wait for a stop
 * (guest power-off, guest fault, host error, or a signal), the report and
 * the exit status (docs/hyve.8).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "vm_priv.h"

static int
exit_for(int rc)
{
	return rc == -EINVAL ? HYVE_EXIT_USAGE : HYVE_EXIT_HOST;
}

/* Wait until a stop is requested; signals become stop requests. */
static void
wait_for_stop(struct vm *vm, int sfd)
{
	while (!atomic_load(&vm->stopping)) {
		struct pollfd pfd[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = vm->event_fd, .events = POLLIN },
		};
		struct signalfd_siginfo si;
		uint64_t v;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			vm_request_stop(vm, VM_STOP_HOST, 0, "poll: %s",
			    strerror(errno));
			break;
		}
		if ((pfd[0].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			vm_request_stop(vm, VM_STOP_SIGNAL, (int)si.ssi_signo,
			    "stopped by signal %s", strsignal((int)si.ssi_signo));
		if (pfd[1].revents & POLLIN)
			(void)!read(vm->event_fd, &v, sizeof(v));
	}
}

int
main(int argc, char **argv)
{
	enum cli_action action;
	struct cfg *cfg;
	struct vm *vm = NULL;
	sigset_t set;
	char err[1024];
	int rc, code, sfd;

	signal(SIGPIPE, SIG_IGN);
	/* Only the main thread takes these (signalfd); threads inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGUSR1);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "hyve: signalfd: %s\n", strerror(errno));
		return HYVE_EXIT_HOST;
	}

	if ((cfg = cfg_new()) == NULL) {
		fprintf(stderr, "hyve: out of memory\n");
		return HYVE_EXIT_HOST;
	}
	err[0] = '\0';
	if (cli_parse(argc, argv, cfg, &action, err, sizeof(err)) != 0) {
		fprintf(stderr, "hyve: %s\nTry 'hyve --help'.\n", err);
		cfg_free(cfg);
		return HYVE_EXIT_USAGE;
	}
	if (action == CLI_HELP) {
		cli_usage(stdout);
		cfg_free(cfg);
		return HYVE_EXIT_OK;
	}

	/* vm_create owns cfg from here on. */
	if ((rc = vm_create(cfg, &vm)) != 0 ||
	    (rc = vm_devs_init(vm)) != 0 ||
	    (rc = vm_boot_setup(vm)) != 0 ||
	    (rc = vm_cfg_check_unused(vm)) != 0) {
		code = rc == -EIO ? HYVE_EXIT_HOST : HYVE_EXIT_USAGE;
		/* Device init failures are bad configuration. */
		vm_free(vm);
		return code;
	}
	if ((rc = vm_devs_start(vm)) != 0 || (rc = vcpus_start(vm)) != 0) {
		vm_request_stop(vm, VM_STOP_HOST, 0, "cannot start the VM: %s",
		    strerror(-rc));
	}
	wait_for_stop(vm, sfd);
	vcpus_join(vm);
	/* Devices flush their output and give the terminal back first. */
	vm_devs_fini(vm);
	code = vm_exit_code(vm);
	vm_log(vm, "%s (exit status %d)", vm->stop_msg, code);
	vm_free(vm);
	close(sfd);
	(void)exit_for;
	return code;
}
