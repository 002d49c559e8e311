// SPDX-License-Identifier: GPL-2.0-only
/* Which device model the running kernel uses, and its device-DAX instances, from sysfs. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "sysfs.h"
#include "util.h"

static const char *live_dir(const char *what, const char *real)
{
	static char buf[2][PATH_MAX];
	const char *top = getenv("DAXBUS_TEST_LIVE");
	char *b = buf[real[1] == 'p'];

	if (!top || !*top)
		return real;
	snprintf(b, PATH_MAX, "%s/%s", top, what);
	return b;
}

const char *live_sys(void)
{
	return live_dir("sys", "/sys");
}

const char *live_proc(void)
{
	return live_dir("proc", "/proc");
}

bool live_faked(void)
{
	const char *top = getenv("DAXBUS_TEST_LIVE");

	return top && *top;
}

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
	if (*n)
		qsort(out, *n, 64, cmp_name);
}

/* The last component of the link PATH into OUT (64 bytes), "" when it is no link. */
static void link_name(const char *path, char *out)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *s;

	out[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	s = strrchr(target, '/');
	snprintf(out, 64, "%.63s", s ? s + 1 : target);
}

/* First line of a small sysfs attribute; false when it cannot be read. */
static bool read_attr(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

static void read_instance(const char *dir, const char *name, bool bus, struct dax_instance *d)
{
	char buf[64], path[PATH_MAX];

	*d = (struct dax_instance){ .bus = bus, .target_node = -1 };
	snprintf(d->name, sizeof(d->name), "%s", name);
	/* compat: the class device has no driver; its parent, the nd dax device, has */
	snprintf(path, sizeof(path), "%s/%s", dir, bus ? "driver" : "device/driver");
	link_name(path, d->driver);
	d->system_ram = streq(d->driver, "kmem");
	if (read_attr(dir, "size", buf, sizeof(buf)))
		d->size = strtoull(buf, NULL, 0);
	if (read_attr(dir, "target_node", buf, sizeof(buf)) || read_attr(dir, "numa_node", buf, sizeof(buf)))
		d->target_node = strtol(buf, NULL, 10);
	if (read_attr(dir, "dev", buf, sizeof(buf))) {
		char *colon;

		d->major = (unsigned)strtoul(buf, &colon, 10);
		d->minor = *colon == ':' ? (unsigned)strtoul(colon + 1, NULL, 10) : (d->major = 0);
	}
}

int sysfs_read_dax(const char *sys, struct dax_live *ret)
{
	struct dax_live l = { 0 };
	char path[PATH_MAX], dir[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/class/dax", sys);
	list_dir(path, "", l.class_dax, &l.n_class);
	snprintf(path, sizeof(path), "%s/bus/dax/devices", sys);
	list_dir(path, "", l.bus_dax, &l.n_bus);
	snprintf(path, sizeof(path), "%s/bus/nd/devices", sys);
	list_dir(path, "dax", l.nd_dax, &l.n_nd);
	for (unsigned i = 0; i < l.n_nd; i++) {
		snprintf(path, sizeof(path), "%s/bus/nd/devices/%s/driver", sys, l.nd_dax[i]);
		link_name(path, l.nd_driver[i]);
	}
	for (unsigned i = 0; i < l.n_class; i++) {
		snprintf(dir, sizeof(dir), "%s/class/dax/%s", sys, l.class_dax[i]);
		read_instance(dir, l.class_dax[i], false, &l.inst[l.n_inst++]);
	}
	for (unsigned i = 0; i < l.n_bus; i++) {
		snprintf(dir, sizeof(dir), "%s/bus/dax/devices/%s", sys, l.bus_dax[i]);
		read_instance(dir, l.bus_dax[i], true, &l.inst[l.n_inst++]);
	}
	snprintf(path, sizeof(path), "%s/module/dax_pmem_compat", sys);
	l.compat_loaded = stat(path, &st) == 0;
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

int sysfs_write(const char *sys, const char *rel, const char *text)
{
	char path[PATH_MAX];
	size_t len = strlen(text);
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", sys, rel);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}
