/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * hyve: command line, VM creation, the main thread's wait for a stop
 * (guest power-off, guest fault, host error, or a signal), the report and
 * the exit status (docs/hyve.8).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ckpt.h"
#include "cli.h"
#include "migrate_in.h"
#include "ctl_proto.h"
#include "sandbox.h"
#include "vm_priv.h"

/* Wait until a stop is requested; signals become stop requests. */
static void
wait_for_stop(struct vm *vm, int sfd)
{
	while (!vm_run_stopping(vm)) {
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

/*
 * libcrypto loads its configuration, ciphers, key derivation and random
 * generator on first use, opening files the sandbox forbids later (a
 * migration's keyed stream runs under it): one keyed frame through a
 * socket pair, written and read, does all of that now.
 */
static void
crypto_warm_up(void)
{
	static const uint8_t key[CKP_STREAM_MIN_KEY] = { 1 };
	ckp_stream_t *w = NULL, *r = NULL;
	const void *p;
	uint8_t type;
	size_t len;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	w = ckp_stream_new(sv[0], CKP_STREAM_WRITER, key, sizeof(key),
	    CKP_STREAM_ONEWAY, "warm-up");
	r = ckp_stream_new(sv[1], CKP_STREAM_READER, key, sizeof(key),
	    CKP_STREAM_ONEWAY, "warm-up");
	if (w != NULL && r != NULL && ckp_stream_start(w) == 0 &&
	    ckp_stream_send(w, 1, "x", 1) == 0 && ckp_stream_start(r) == 0)
		(void)ckp_stream_recv(r, &type, &p, &len);
	ckp_stream_free(w);
	ckp_stream_free(r);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Serve the control socket, run until a stop, report, clean up.  @mig (or
 * NULL): a migration's destination, told once the guest runs.
 */
static int
run_vm(struct vm *vm, struct ctl *ctl, int sfd, struct mig_in *mig)
{
	char msg[512];
	int rc, code;

	if (ctl == NULL || (rc = ctl_start(ctl, vm)) != 0) {
		rc = ctl == NULL ? -EINVAL : rc;
		vm_log(vm, "cannot start the control thread: %s", strerror(-rc));
		ctl_close(ctl);
		vm_free(vm);
		mig_in_free(mig);
		return hyve_exit_status(HYVE_ERR_RUNTIME);
	}
	if ((rc = vm_devs_start(vm)) != 0 || (rc = vcpus_start(vm)) != 0) {
		vm_request_stop(vm, VM_STOP_HOST, 0, "cannot start the VM: %s",
		    strerror(-rc));
	} else {
		/* The guest runs here now, whatever happens to the link after. */
		mig_in_started(mig, vm);
	}
	/* Without RUNNING the source keeps its guest. */
	mig_in_free(mig);
	sandbox_enter(vm, SBX_MAIN, NULL);
	wait_for_stop(vm, sfd);
	/* No request may touch the VM from here on; the socket goes away. */
	ctl_close(vm->ctl);
	vcpus_join(vm);
	/* Devices flush their output and give the terminal back first. */
	vm_devs_fini(vm);
	code = vm_exit_code(vm);
	vm_run_stop_msg(vm, msg, sizeof(msg));
	vm_log(vm, "%s (exit status %d)", msg, code);
	vm_free(vm);
	close(sfd);
	return code;
}

/* Claim the VM's name: its control socket.  0, or the exit status. */
static int
claim_name(const char *name, struct ctl **ctlp)
{
	struct hyve_err e = { .kind = HYVE_ERR_NONE };

	if (ctl_listen(name, ctlp, &e) == 0)
		return 0;
	fprintf(stderr, "hyve: %s: %s\n", name, e.msg);
	return hyve_exit_status(e.kind);
}

/*
 * --incoming ADDR, or -r FILE.ckps: the VM from a stream
 * (vmm/migrate_in.c), run once it is checked (and handed over).
 */
static int
run_stream(struct cfg *over, const struct cli_opts *co, int sfd)
{
	struct mig_in_opts mo = { .addr = co->incoming,
	    .file = co->incoming == NULL ? co->restore : NULL,
	    .keyfile = co->migrate_key,
	    .ro = { .path = co->restore, .overrides = over,
	    .trust = co->trust } };
	enum hyve_err_kind kind;
	struct mig_in *m = NULL;
	struct ctl *ctl = NULL;
	struct vm *vm = NULL;
	char err[PATH_MAX + 1600], sum[256];

	err[0] = '\0';
	if (mig_in_run(&mo, sfd, &m, &vm, &ctl, &kind, err, sizeof(err)) != 0) {
		fprintf(stderr, "hyve: %s\n", err);
		cfg_free(over);
		return hyve_exit_status(kind);
	}
	cfg_free(over);
	mig_in_summary(m, sum, sizeof(sum));
	vm_log(vm, "%s %s (%s)", co->incoming != NULL ? "migrated in from" :
	    "restored from the stream", co->incoming != NULL ? co->incoming :
	    co->restore, sum);
	return run_vm(vm, ctl, sfd, m);
}

static int
run_restore(struct cfg *over, const struct cli_opts *co, int sfd)
{
	struct restore_opts ro = { .path = co->restore, .overrides = over,
	    .eager = co->eager, .no_ram_check = co->no_ram_check,
	    .verify = co->verify, .progress = isatty(STDERR_FILENO),
	    .trust = co->trust };
	struct restore_stats st;
	struct restore *r = NULL;
	struct ctl *ctl = NULL;
	struct vm *vm = NULL;
	char err[PATH_MAX + 1200];
	int rc, code;

	err[0] = '\0';
	if ((rc = restore_prepare(&ro, &r, err, sizeof(err))) != 0 ||
	    (rc = restore_vm(r, err, sizeof(err))) != 0) {
		fprintf(stderr, "hyve: %s\n", err);
		restore_free(r);
		cfg_free(over);
		return hyve_exit_status(restore_err_kind(rc, false));
	}
	if ((code = claim_name(restore_name(r), &ctl)) != 0) {
		restore_free(r);
		cfg_free(over);
		return code;
	}
	rc = restore_create(r, &vm, &st, err, sizeof(err));
	restore_free(r);
	cfg_free(over);
	if (rc != 0) {
		fprintf(stderr, "hyve: %s\n", err);
		ctl_close(ctl);
		return hyve_exit_status(restore_err_kind(rc, true));
	}
	vm_log(vm, "restored from %s in %.0f ms (%" PRIu64 " MiB of RAM %s%s)",
	    co->restore, (double)st.total_us / 1e3, st.ram_bytes >> 20,
	    st.ram_how, st.warnings ? ", with warnings" : "");
	return run_vm(vm, ctl, sfd, NULL);
}

int
main(int argc, char **argv)
{
	enum cli_action action;
	struct cli_opts co;
	struct cfg *cfg;
	struct vm *vm = NULL;
	struct ctl *ctl = NULL;
	const struct cfg_ent *name;
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
		return hyve_exit_status(HYVE_ERR_RUNTIME);
	}

	if ((cfg = cfg_new()) == NULL) {
		fprintf(stderr, "hyve: out of memory\n");
		return hyve_exit_status(HYVE_ERR_RUNTIME);
	}
	err[0] = '\0';
	/* Whatever cli_parse() refuses is the command line's fault. */
	if (cli_parse(argc, argv, cfg, &action, &co, err, sizeof(err)) != 0) {
		fprintf(stderr, "hyve: %s\nTry 'hyve --help'.\n", err);
		cfg_free(cfg);
		return hyve_exit_status(HYVE_ERR_USAGE);
	}
	if (action == CLI_HELP) {
		cli_usage(stdout);
		cfg_free(cfg);
		return HYVE_EXIT_OK;
	}
	/* Before any thread: each confines itself as it starts. */
	if (sandbox_init(!co.no_sandbox, err, sizeof(err)) != 0) {
		fprintf(stderr, "hyve: %s\n", err);
		cfg_free(cfg);
		return hyve_exit_status(HYVE_ERR_RUNTIME);
	}
	crypto_warm_up();
	if (action == CLI_INCOMING ||
	    (action == CLI_RESTORE && mig_in_is_stream(co.restore)))
		return run_stream(cfg, &co, sfd);
	if (co.migrate_key != NULL) {
		fprintf(stderr, "hyve: --migrate-key only applies to --incoming "
		    "and to -r of a stream file (%s is a checkpoint)\n",
		    co.restore);
		cfg_free(cfg);
		return hyve_exit_status(HYVE_ERR_USAGE);
	}
	if (action == CLI_RESTORE)
		return run_restore(cfg, &co, sfd);

	/* The name first: a second hyve of one name touches nothing. */
	name = cfg_lookup(cfg, "name");
	if (name != NULL && ctl_name_valid(name->val) &&
	    (code = claim_name(name->val, &ctl)) != 0) {
		cfg_free(cfg);
		return code;
	}
	/* vm_create owns cfg from here on. */
	if ((rc = vm_create(cfg, &vm)) != 0 ||
	    (rc = vm_devs_init(vm)) != 0 ||
	    (rc = vm_boot_setup(vm)) != 0 ||
	    (rc = vm_cfg_check_unused(vm)) != 0) {
		code = hyve_exit_status(vm_setup_err(vm, rc));
		vm_free(vm);
		ctl_close(ctl);
		return code;
	}
	return run_vm(vm, ctl, sfd, NULL);
}
