/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Moving a running system from the compat model (dax_pmem_compat,
 * /sys/class/dax) to the bus model (dax_pmem, /sys/bus/dax) without a
 * reboot: used by `daxbus migrate` and by the early initramfs step.
 */
#pragma once

#include <stdbool.h>

#include "sysfs.h"

/* What is there to migrate, read from sysfs. */
struct migrate_plan {
	struct dax_live l;
	char bound[SYSFS_MAX_DEV][64]; /* nd dax devices bound to dax_pmem_compat */
	unsigned n_bound;
	bool needed; /* the compat driver is loaded, or devices are bound to it */
};

void migrate_read(const char *sys, struct migrate_plan *ret);

/*
 * Is any device-DAX character device of the plan open or mapped by a process
 * (PROC/[pid]/fd, PROC/[pid]/maps)?  Each one found is logged with the
 * process's pid and name; -EBUSY then.
 */
int migrate_check_in_use(const char *proc, const struct migrate_plan *p);

/* The steps, one line each, for --dry-run and for people. */
void migrate_print_steps(const struct migrate_plan *p, const char *sys, unsigned wait_s);

/*
 * Do it: unbind the nd dax devices from dax_pmem_compat, remove it, load
 * what nd:t7 resolves to under the configuration of ROOTFD (the policy must
 * be in place), probe the devices again and wait up to WAIT_S seconds for
 * them on /sys/bus/dax.  On failure every device left without a driver is
 * bound to the compat driver again.  0 when migrated, else -errno (logged,
 * with the model the system is left in).
 */
int migrate_apply(int rootfd, const char *sys, const struct migrate_plan *p, unsigned wait_s);
