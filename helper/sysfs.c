// SPDX-License-Identifier: GPL-2.0-only
/* Which device model the running kernel uses, from sysfs. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "sysfs.h"
#include "util.h"

static int cmp_name(const void *a, const void *b)
{
	return strverscmp((const char *)a, (const char *)b);
}

static void list_dir(const char *path, const char *prefix, char out[][64], unsigned *n)
{
	DIR *d = opendir(path);
	struct dirent *de;

	*n = 0;
	if (!d)
		return;
	while ((de = readdir(d)) && *n < SYSFS_MAX_DEV) {
		if (de->d_name[0] == '.' || !startswith(de->d_name, prefix))
			continue;
		snprintf(out[(*n)++], 64, "%.63s", de->d_name);
	}
	closedir(d);
	qsort(out, *n, 64, cmp_name);
}

int sysfs_read_dax(const char *sys, struct dax_live *ret)
{
	struct dax_live l = { 0 };
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/class/dax", sys);
	list_dir(path, "", l.class_dax, &l.n_class);
	snprintf(path, sizeof(path), "%s/bus/dax/devices", sys);
	list_dir(path, "", l.bus_dax, &l.n_bus);
	snprintf(path, sizeof(path), "%s/bus/nd/devices", sys);
	list_dir(path, "dax", l.nd_dax, &l.n_nd);
	for (unsigned i = 0; i < l.n_nd; i++) {
		char link[PATH_MAX], target[PATH_MAX];
		ssize_t n;

		snprintf(link, sizeof(link), "%s/bus/nd/devices/%s/driver", sys, l.nd_dax[i]);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			snprintf(l.nd_driver[i], 64, "%.63s", strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
		}
	}
	*ret = l;
	return 0;
}

const char *sysfs_model(const struct dax_live *l)
{
	if (l->n_class > 0)
		return "compat";
	if (l->n_bus > 0)
		return "bus";
	for (unsigned i = 0; i < l->n_nd; i++)
		if (!l->nd_driver[i][0])
			return "unbound";
	return "none";
}
