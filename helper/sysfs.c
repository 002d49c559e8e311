// SPDX-License-Identifier: GPL-2.0-only
/* Which device model the running kernel uses, and its device-DAX instances, from sysfs.  See sysfs.h. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sysfs.h"
#include "util.h"

static const char *live_dir(const char *what, const char *real)
{
	static char buf[3][PATH_MAX];
	const char *top = getenv("DAXBUS_TEST_LIVE");
	char *b = buf[real[1] == 'p' ? 1 : real[1] == 'd' ? 2 : 0];

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

const char *live_dev(void)
{
	return live_dir("dev", "/dev");
}

bool live_faked(void)
{
	const char *top = getenv("DAXBUS_TEST_LIVE");

	return top && *top;
}

static int cmp_name(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* A record of getdents64(2), as the kernel lays it out. */
struct dirent64_rec {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * The names in PATH starting with PREFIX, sorted as versions; none when PATH
 * is missing.  0 or -ENOMEM.  Read with getdents64 into a buffer on the
 * stack: the early step lists sysfs on every boot, and a DIR costs a heap
 * page and, with musl's open(), an fcntl for O_CLOEXEC.
 */
static int list_dir(const char *path, const char *prefix, char ***ret, size_t *ret_n)
{
	_cleanup_close_ int fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_Alignas(8) char buf[4096];
	char **names = NULL;
	size_t n = 0;
	long got;

	/* a directory that cannot be read to its end is read as far as it goes, as readdir() did */
	while (fd >= 0 && (got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			const struct dirent64_rec *de = (const struct dirent64_rec *)(buf + off);
			char **nn;

			off += de->d_reclen;
			if (de->d_name[0] == '.' || !startswith(de->d_name, prefix))
				continue;
			nn = realloc(names, (n + 1) * sizeof(*names));
			if (!nn || !(nn[n] = strdup(de->d_name))) {
				if (nn)
					names = nn;
				while (n > 0)
					free(names[--n]);
				free(names);
				return -ENOMEM;
			}
			names = nn;
			n++;
		}
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_name);
	*ret = names;
	*ret_n = n;
	return 0;
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

/* A small sysfs attribute, its first line; false when it cannot be read. */
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

/* Attributes are parsed as the kernel prints them: size and target_node in decimal; anything else is unknown. */
static void read_instance(const char *dir, bool bus, struct dax_instance *d)
{
	char buf[64], path[PATH_MAX];
	unsigned long long u;
	long l;

	d->bus = bus;
	/* compat: the class device has no driver; its parent, the nd dax device, has */
	snprintf(path, sizeof(path), "%s/%s", dir, bus ? "driver" : "device/driver");
	link_name(path, d->driver);
	d->system_ram = streq(d->driver, "kmem");
	if (read_attr(dir, "size", buf, sizeof(buf)) && parse_u64(buf, 10, &u) == 0) {
		d->size = u;
		d->have_size = true;
	}
	if ((read_attr(dir, "target_node", buf, sizeof(buf)) || read_attr(dir, "numa_node", buf, sizeof(buf))) &&
	    parse_long(buf, &l) == 0) {
		d->target_node = l;
		d->have_target_node = true;
	}
	if (read_attr(dir, "dev", buf, sizeof(buf))) {
		char *colon = strchr(buf, ':');
		unsigned long long ma, mi;

		if (colon) {
			*colon = '\0';
			if (parse_u64(buf, 10, &ma) == 0 && parse_u64(colon + 1, 10, &mi) == 0 && ma <= 0xfff && mi <= 0xfffff) {
				d->major = (unsigned)ma;
				d->minor = (unsigned)mi;
				d->have_dev = true;
			}
		}
	}
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Add the instances listed in DIR (class or bus) to L. */
static int read_instances(const char *dir, bool bus, struct dax_live *l)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0;
	struct dax_instance *ni;
	int r;

	r = list_dir(dir, "", &names, &n);
	if (r < 0)
		return r;
	ni = n ? realloc(l->inst, (l->n_inst + n) * sizeof(*l->inst)) : l->inst;
	if (n && !ni) {
		free_names(names, n);
		return -ENOMEM;
	}
	l->inst = ni;
	for (size_t i = 0; i < n; i++) {
		struct dax_instance *d = &l->inst[l->n_inst++];

		*d = (struct dax_instance){ .name = TAKE_PTR(names[i]) };
		snprintf(path, sizeof(path), "%s/%s", dir, d->name);
		read_instance(path, bus, d);
	}
	if (bus)
		l->n_bus += n;
	else
		l->n_class += n;
	free(names);
	return 0;
}

int sysfs_read_dax(const char *sys, struct dax_live *ret)
{
	_cleanup_dax_live_ struct dax_live l = { 0 };
	char path[PATH_MAX], buf[64], **names = NULL;
	size_t n = 0;
	struct stat st;
	int r;

	snprintf(path, sizeof(path), "%s/bus/nd/devices", sys);
	r = list_dir(path, "dax", &names, &n);
	if (r < 0)
		return r;
	l.nd = n ? calloc(n, sizeof(*l.nd)) : NULL;
	if (n && !l.nd) {
		free_names(names, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct nd_dax *d = &l.nd[l.n_nd++];

		d->name = TAKE_PTR(names[i]);
		snprintf(path, sizeof(path), "%s/bus/nd/devices/%s/driver", sys, d->name);
		link_name(path, d->driver);
		/* an idle seed's namespace attribute is an empty line */
		snprintf(path, sizeof(path), "%s/bus/nd/devices/%s", sys, d->name);
		d->active = read_attr(path, "namespace", buf, sizeof(buf)) && buf[0];
	}
	free(names);

	snprintf(path, sizeof(path), "%s/class/dax", sys);
	r = read_instances(path, false, &l);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/bus/dax/devices", sys);
	r = read_instances(path, true, &l);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/module/dax_pmem_compat", sys);
	l.compat_loaded = stat(path, &st) == 0;
	*ret = l;
	l = (struct dax_live){ 0 };
	return 0;
}

void dax_live_free(struct dax_live *l)
{
	for (size_t i = 0; i < l->n_nd; i++)
		free(l->nd[i].name);
	for (size_t i = 0; i < l->n_inst; i++)
		free(l->inst[i].name);
	free(l->nd);
	free(l->inst);
	*l = (struct dax_live){ 0 };
}

const char *sysfs_model(const struct dax_live *l)
{
	if (l->n_class > 0)
		return "compat";
	if (l->n_bus > 0)
		return "bus";
	for (size_t i = 0; i < l->n_nd; i++)
		if (l->nd[i].active && !l->nd[i].driver[0])
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
	/* non-blocking: a FIFO where an attribute should be (a fake or hostile tree) fails, never waits */
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
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
