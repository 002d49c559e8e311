/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Moving a running system from the compat model (dax_pmem_compat,
 * /sys/class/dax) to the bus model (dax_pmem, /sys/bus/dax) without a
 * reboot: used by `daxbus migrate` and by the early initramfs step.
 */
#pragma once

#include <stdbool.h>

#include "report.h"
#include "sysfs.h"

/* What is there to migrate, read from sysfs. */
struct migrate_plan {
	struct dax_live l;
	char **bound; /* active nd dax devices bound to dax_pmem_compat */
	size_t n_bound;
	bool needed; /* the compat driver is loaded, or devices are bound to it */
};

int migrate_read(const char *sys, struct migrate_plan *ret);
void migrate_plan_free(struct migrate_plan *p);
#define _cleanup_migrate_plan_ _cleanup_(migrate_plan_free)

/*
 * Is any device-DAX character device of the plan open or mapped, or can
 * that not be told (inuse.h)?  Each finding is logged; 0 when nobody holds
 * one, else the verdict's -errno.
 */
int migrate_check_in_use(const char *proc, const char *dev, const struct migrate_plan *p);

/* The steps, as report actions (dry run) and one line each for people (report_say). */
void migrate_plan_steps(const struct migrate_plan *p, const char *sys, unsigned wait_s, struct report *rep);

struct migrate_opts {
	unsigned wait_s;      /* how long to wait for the devices on /sys/bus/dax */
	long deadline_ms;     /* CLOCK_MONOTONIC ms by which to give up and roll back; 0: none */
	bool ignore_commands; /* do not run the configuration's install commands (a root that is not /) */
	const char *proc, *dev; /* to look for holders again right before the first unbind */
	struct report *rep;   /* the actions are added here */
};

/*
 * Do it: look for holders once more, unbind the nd dax devices from
 * dax_pmem_compat, remove it, load what nd:t7 resolves to under the
 * configuration of ROOTFD (the policy must be in place), probe the devices
 * again and wait for them on /sys/bus/dax.  On failure every active device
 * left without a driver is bound to the compat driver again.  0 when
 * migrated, else -errno (logged, with the model the system is left in).
 */
int migrate_apply(int rootfd, const char *sys, const struct migrate_plan *p, const struct migrate_opts *o);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
long migrate_now_ms(void);
