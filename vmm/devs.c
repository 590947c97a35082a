/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Device instances: which ones a configuration names, in which order they
 * are created, and the check that every config key was read by someone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_priv.h"

struct dev *
vm_dev_add(struct vm *vm, const struct devemu *emu, const char *node,
    const char *id)
{
	struct dev **nd, *d;
	unsigned nlogs;
	int rc;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if ((nd = realloc(vm->devs, (vm->ndevs + 1) * sizeof(*nd))) == NULL) {
		free(d);
		return NULL;
	}
	vm->devs = nd;
	d->emu = emu;
	d->vm = vm;
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(d->cfg, sizeof(d->cfg), "%s", node);
	nlogs = atomic_load(&vm->nlogs);
	if (emu->init != NULL && (rc = emu->init(d)) != 0) {
		/* The model says what is wrong; only if it did not, say this. */
		if (atomic_load(&vm->nlogs) == nlogs)
			vm_log(vm, "device %s (%s, config %s) failed to start: "
			    "%s", d->id, emu->name, d->cfg, strerror(-rc));
		vm_setup_failed(vm, hyve_err_kind_of_dev(rc));
		free(d);
		return NULL;
	}
	vm->devs[vm->ndevs++] = d;
	return d;
}

void
vm_devs_fini(struct vm *vm)
{
	while (vm->ndevs > 0) {
		struct dev *d = vm->devs[--vm->ndevs];
		if (d->emu->fini != NULL)
			d->emu->fini(d);
		free(d);
	}
	free(vm->devs);
	vm->devs = NULL;
}

static bool
is_pci_device_key(const char *k)
{
	size_t len = strlen(k);

	return strncmp(k, "pci.", 4) == 0 && len > 11 &&
	    strcmp(k + len - 7, ".device") == 0;
}

struct pci_slot {
	unsigned b, s, f;
	const char *key;
	const char *model;
};

static int
slotcmp(const void *a, const void *b)
{
	const struct pci_slot *x = a, *y = b;

	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	return x->f < y->f ? -1 : x->f > y->f;
}

/* "pci.B.S.F.device" -> B, S, F; 0 when @key has that shape. */
static int
parse_pci_key(const char *key, unsigned *b, unsigned *s, unsigned *f)
{
	char canon[64];
	int n = 0;

	if (sscanf(key, "pci.%u.%u.%u.device%n", b, s, f, &n) != 3 ||
	    key[n] != '\0' || n == 0)
		return -1;
	/*
	 * Only the canonical spelling: %u also takes "00", "+3" and
	 * "-4294967296", which would put a second device in a slot under a
	 * key whose options (pci.00.3.0.path) nothing reads.
	 */
	snprintf(canon, sizeof(canon), "pci.%u.%u.%u.device", *b, *s, *f);
	return strcmp(canon, key) == 0 ? 0 : -1;
}

static int
plan_add(struct dev_plan **pp, size_t *n, const struct devemu *emu,
    const char *node, const char *id)
{
	struct dev_plan *p = realloc(*pp, (*n + 1) * sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	*pp = p;
	p[*n].emu = emu;
	snprintf(p[*n].node, sizeof(p[*n].node), "%s", node);
	snprintf(p[*n].id, sizeof(p[*n].id), "%s", id);
	(*n)++;
	return 0;
}

int
vm_devs_plan(const struct cfg *cfg, struct dev_plan **planp, size_t *np,
    char *err, size_t errlen)
{
	static const char *const fixed[] = { "pm", "rtc" };
	struct pci_slot *slots = NULL;
	struct dev_plan *plan = NULL;
	size_t i, j, n = 0, np_ = 0;
	int rc = 0;

	*planp = NULL;
	*np = 0;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		const struct devemu *emu = devemu_find(fixed[i]);
		if (emu == NULL) {
			snprintf(err, errlen, "device model %s missing from "
			    "devemu_table", fixed[i]);
			rc = -ENOENT;
			goto out;
		}
		if ((rc = plan_add(&plan, &np_, emu, fixed[i], fixed[i])) != 0)
			goto nomem;
	}
	for (i = 1; i <= 4; i++) {
		char node[16], key[24], id[16];
		snprintf(node, sizeof(node), "lpc.com%zu", i);
		snprintf(key, sizeof(key), "%s.path", node);
		snprintf(id, sizeof(id), "uart@%zu", i - 1);
		if (cfg_lookup(cfg, key) == NULL)
			continue;
		if (devemu_find("uart") == NULL) {
			snprintf(err, errlen, "device model uart missing from "
			    "devemu_table");
			rc = -ENOENT;
			goto out;
		}
		if ((rc = plan_add(&plan, &np_, devemu_find("uart"), node,
		    id)) != 0)
			goto nomem;
	}
	for (i = 0; i < cfg->n; i++)
		if (is_pci_device_key(cfg->ent[i].key))
			n++;
	if (n > 0 && (slots = calloc(n, sizeof(*slots))) == NULL)
		goto nomem;
	n = 0;
	for (i = 0; i < cfg->n; i++) {
		struct cfg_ent *e = &cfg->ent[i];
		struct pci_slot *p;

		if (!is_pci_device_key(e->key))
			continue;
		p = &slots[n];
		if (parse_pci_key(e->key, &p->b, &p->s, &p->f) != 0 ||
		    p->b > 255 || p->s > 31 || p->f > 7) {
			snprintf(err, errlen, "config key %s (%s): expected "
			    "pci.BUS.SLOT.FUNC.device with BUS 0-255, SLOT "
			    "0-31, FUNC 0-7", e->key, e->origin);
			rc = -EINVAL;
			goto out;
		}
		p->key = e->key;
		p->model = e->val;
		n++;
	}
	if (n > 0)
		qsort(slots, n, sizeof(*slots), slotcmp);
	for (i = 0; i < n; i++) {
		const struct devemu *emu = devemu_find(slots[i].model);
		char node[48], id[48];
		unsigned k = 0;

		if (emu == NULL || emu->pci == NULL) {
			snprintf(err, errlen, "%s=%s: %s '%s'", slots[i].key,
			    slots[i].model, emu == NULL ?
			    "unknown device model" : "not a PCI device model:",
			    slots[i].model);
			rc = -EINVAL;
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(slots[j].model, slots[i].model) == 0)
				k++;
		snprintf(node, sizeof(node), "pci.%u.%u.%u", slots[i].b,
		    slots[i].s, slots[i].f);
		snprintf(id, sizeof(id), "%.40s@%u", emu->name, k);
		if ((rc = plan_add(&plan, &np_, emu, node, id)) != 0)
			goto nomem;
	}
	free(slots);
	*planp = plan;
	*np = np_;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	rc = -ENOMEM;
out:
	free(slots);
	free(plan);
	return rc;
}

int
vm_devs_init(struct vm *vm)
{
	struct dev_plan *plan;
	char err[512];
	size_t i, n;
	int rc;

	if ((rc = vm_devs_plan(vm->cfg, &plan, &n, err, sizeof(err))) != 0) {
		vm_log(vm, "%s", err);
		return rc == -ENOMEM ? -ENOMEM : rc;
	}
	for (i = 0; i < vm->cfg->n; i++)
		if (is_pci_device_key(vm->cfg->ent[i].key))
			vm->cfg->ent[i].used = true;
	for (i = 0; i < n; i++) {
		if (vm_dev_add(vm, plan[i].emu, plan[i].node, plan[i].id) ==
		    NULL) {
			rc = -EINVAL;
			break;
		}
	}
	free(plan);
	return rc;
}

int
vm_cfg_check_unused(struct vm *vm)
{
	const struct cfg_ent *e = cfg_first_unused(vm->cfg);

	if (e == NULL)
		return 0;
	vm_log(vm, "unknown config key '%s' (set by %s); see docs/CONFIG.md",
	    e->key, e->origin);
	return -EINVAL;
}

/* Start every device before the vCPUs first run (the resume op). */
int
vm_devs_start(struct vm *vm)
{
	unsigned i;
	int rc;

	for (i = 0; i < vm->ndevs; i++) {
		struct dev *d = vm->devs[i];
		if (d->emu->resume == NULL)
			continue;
		if ((rc = d->emu->resume(d)) != 0) {
			vm_log(vm, "device %s failed to start: %s", d->id,
			    strerror(-rc));
			return rc;
		}
	}
	return 0;
}
