/* SPDX-License-Identifier: GPL-2.0-only */
/* The live device-DAX state of the running system, read from /sys. */
#pragma once

#define SYSFS_MAX_DEV 16

struct dax_live {
	char class_dax[SYSFS_MAX_DEV][64];  /* /sys/class/dax: the compat model */
	unsigned n_class;
	char bus_dax[SYSFS_MAX_DEV][64];    /* /sys/bus/dax/devices: the bus model */
	unsigned n_bus;
	char nd_dax[SYSFS_MAX_DEV][64];     /* /sys/bus/nd/devices/dax* */
	char nd_driver[SYSFS_MAX_DEV][64];  /* bound driver, "" when unbound */
	unsigned n_nd;
};

/* SYS is the sysfs mount point ("/sys"); missing directories are empty lists. */
int sysfs_read_dax(const char *sys, struct dax_live *ret);

/* "bus", "compat", "unbound" (nd dax device without driver) or "none". */
const char *sysfs_model(const struct dax_live *l);
