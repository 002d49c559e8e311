/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The live device-DAX state of the running system, read from /sys: every nd
 * dax device and every device-DAX instance, as many as there are.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One device-DAX instance, /sys/bus/dax/devices/X (bus) or /sys/class/dax/X (compat). */
struct dax_instance {
	char *name;
	bool bus;                /* on /sys/bus/dax, else the compat class */
	char driver[64];         /* bus: device_dax or kmem; compat: the nd parent's driver; "" unbound */
	bool system_ram;         /* bound to kmem: its memory is handed to the kernel */
	bool have_size;          /* size as the kernel printed it (decimal), else unknown */
	unsigned long long size;
	bool have_target_node;   /* target_node (else numa_node) parsed, else unknown */
	long target_node;
	bool have_dev;           /* "major:minor" of its character device parsed */
	unsigned major, minor;
};

/* One nd dax device, /sys/bus/nd/devices/daxR.N. */
struct nd_dax {
	char *name;
	char driver[64]; /* bound driver, "" when unbound */
	bool active;     /* has a namespace; every region also has an idle seed, which has none */
};

struct dax_live {
	struct nd_dax *nd;
	size_t n_nd;
	struct dax_instance *inst; /* compat ones first */
	size_t n_inst;
	size_t n_class, n_bus;     /* instances of each model */
	bool compat_loaded;        /* /sys/module/dax_pmem_compat */
};

/*
 * Where the running system's sysfs, procfs and device nodes are: "/sys",
 * "/proc" and "/dev", or DIR/sys, DIR/proc and DIR/dev when the environment
 * names DAXBUS_TEST_LIVE=DIR.  That variable exists for the hermetic tests
 * only (fake trees).
 */
const char *live_sys(void);
const char *live_proc(void);
const char *live_dev(void);
bool live_faked(void);

/* SYS is the sysfs mount point ("/sys"); missing directories are empty lists.  0 or -ENOMEM. */
int sysfs_read_dax(const char *sys, struct dax_live *ret);
void dax_live_free(struct dax_live *l);
#define _cleanup_dax_live_ _cleanup_(dax_live_free)

/* "bus", "compat", "unbound" (an active nd dax device without a driver) or "none". */
const char *sysfs_model(const struct dax_live *l);

/* Write TEXT to the sysfs file SYS/REL (unbind, bind, drivers_probe); 0 or -errno. */
int sysfs_write(const char *sys, const char *rel, const char *text);
