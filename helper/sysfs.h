/* SPDX-License-Identifier: GPL-2.0-only */
/* The live device-DAX state of the running system, read from /sys. */
#pragma once

#include <stdbool.h>

#define SYSFS_MAX_DEV 16

/* One device-DAX instance, /sys/bus/dax/devices/X (bus) or /sys/class/dax/X (compat). */
struct dax_instance {
	char name[64];
	bool bus;                /* on /sys/bus/dax, else the compat class */
	char driver[64];         /* bus: device_dax or kmem; compat: the nd parent's driver; "" unbound */
	bool system_ram;         /* bound to kmem: its memory is handed to the kernel */
	unsigned long long size; /* bytes, 0 when unknown */
	long target_node;        /* target_node, else numa_node, else -1 */
	unsigned major, minor;   /* of its character device, 0:0 when unknown */
};

struct dax_live {
	char class_dax[SYSFS_MAX_DEV][64];  /* /sys/class/dax: the compat model */
	unsigned n_class;
	char bus_dax[SYSFS_MAX_DEV][64];    /* /sys/bus/dax/devices: the bus model */
	unsigned n_bus;
	char nd_dax[SYSFS_MAX_DEV][64];     /* /sys/bus/nd/devices/dax* */
	char nd_driver[SYSFS_MAX_DEV][64];  /* bound driver, "" when unbound */
	unsigned n_nd;
	struct dax_instance inst[2 * SYSFS_MAX_DEV]; /* compat ones first */
	unsigned n_inst;
	bool compat_loaded; /* /sys/module/dax_pmem_compat */
};

/*
 * Where the running system's sysfs and procfs are: "/sys" and "/proc", or
 * DIR/sys and DIR/proc when the environment names DAXBUS_TEST_LIVE=DIR.
 * That variable exists for the hermetic tests only (fake trees).
 */
const char *live_sys(void);
const char *live_proc(void);
bool live_faked(void);

/* SYS is the sysfs mount point ("/sys"); missing directories are empty lists. */
int sysfs_read_dax(const char *sys, struct dax_live *ret);

/* "bus", "compat", "unbound" (nd dax device without driver) or "none". */
const char *sysfs_model(const struct dax_live *l);

/* Write TEXT to the sysfs file SYS/REL (unbind, bind, drivers_probe); 0 or -errno. */
int sysfs_write(const char *sys, const char *rel, const char *text);
