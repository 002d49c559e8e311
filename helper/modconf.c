// SPDX-License-Identifier: GPL-2.0-only
/* Scan a root's modprobe.d directories the way kmod does. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "modconf.h"
#include "rootdir.h"
#include "util.h"

const char *const MODCONF_DIRS[] = {
	"etc/modprobe.d",
	"run/modprobe.d",
	"usr/local/lib/modprobe.d",
	"usr/lib/modprobe.d",
	"lib/modprobe.d",
	NULL,
};

#define CONF_MAX (1024 * 1024)

static bool mentions_dax(const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *q = p;

		while (q < p + len && (*q == ' ' || *q == '\t'))
			q++;
		if (q < p + len && *q != '#') {
			for (; q + 2 < p + len; q++)
				if (!strncmp(q, "dax", 3) || !strncmp(q, "nd:t", 4))
					return true;
		}
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct modconf_entry *)a)->name, ((const struct modconf_entry *)b)->name);
}

static int scan_dir(int rootfd, const char *dir, struct modconf *m)
{
	DIR *d;
	struct dirent *de;
	unsigned first = m->n;
	int r;

	r = root_opendir(rootfd, dir, &d);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct modconf_entry *e, *ne;
		struct stat st;

		/* kmod ignores dot-files (our temporaries) and anything not *.conf */
		if (de->d_name[0] == '.' || l < 6 || l >= sizeof(e->name) || !streq(de->d_name + l - 5, ".conf"))
			continue;
		ne = realloc(m->e, (m->n + 1) * sizeof(*m->e));
		if (!ne) {
			closedir(d);
			return -ENOMEM;
		}
		m->e = ne;
		e = &m->e[m->n++];
		memset(e, 0, sizeof(*e));
		e->dir = dir;
		memcpy(e->name, de->d_name, l + 1);

		if (fstatat(dirfd(d), e->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(dirfd(d), e->name, e->link_target, sizeof(e->link_target) - 1);

			e->is_link = true;
			e->link_target[n > 0 ? n : 0] = '\0';
		}
		{
			char path[512];
			_cleanup_close_ int fd = -1;

			snprintf(path, sizeof(path), "%s/%s", dir, e->name);
			if (root_openat(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd) == 0 &&
			    read_fd(fd, CONF_MAX, &e->content, NULL) == 0)
				e->mentions_dax = mentions_dax(e->content);
		}
	}
	closedir(d);
	qsort(m->e + first, m->n - first, sizeof(*m->e), cmp_entry);
	return 0;
}

int modconf_scan(int rootfd, struct modconf *ret)
{
	struct modconf m = { 0 };
	struct stat seen[8];
	unsigned nseen = 0;
	int r;

	for (unsigned i = 0; MODCONF_DIRS[i]; i++) {
		_cleanup_close_ int dfd = -1;
		struct stat st;
		bool dup = false;

		/* On merged-/usr systems lib/modprobe.d is usr/lib/modprobe.d: read it once. */
		if (root_openat(rootfd, MODCONF_DIRS[i], O_RDONLY | O_DIRECTORY, &dfd) < 0 || fstat(dfd, &st) < 0)
			continue;
		for (unsigned j = 0; j < nseen; j++)
			dup |= seen[j].st_dev == st.st_dev && seen[j].st_ino == st.st_ino;
		if (dup)
			continue;
		seen[nseen++] = st;
		r = scan_dir(rootfd, MODCONF_DIRS[i], &m);
		if (r < 0) {
			modconf_free(&m);
			return r;
		}
	}
	for (unsigned i = 0; i < m.n; i++)
		for (unsigned j = 0; j < i; j++)
			if (!m.e[i].hidden_by && streq(m.e[i].name, m.e[j].name) && m.e[j].dir != m.e[i].dir) {
				m.e[i].hidden_by = m.e[j].dir;
				break;
			}
	*ret = m;
	return 0;
}

void modconf_free(struct modconf *m)
{
	for (unsigned i = 0; i < m->n; i++)
		free(m->e[i].content);
	free(m->e);
	m->e = NULL;
	m->n = 0;
}

const struct modconf_entry *modconf_find_effective(const struct modconf *m, const char *name)
{
	for (unsigned i = 0; i < m->n; i++)
		if (!m->e[i].hidden_by && streq(m->e[i].name, name))
			return &m->e[i];
	return NULL;
}

int modconf_memfd(const struct modconf *m, int *ret_fd)
{
	_cleanup_free_ const struct modconf_entry **order = NULL;
	_cleanup_close_ int fd = -1;
	unsigned n = 0;

	fd = memfd_create("daxbus-modprobe.conf", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	order = calloc(m->n + 1, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (unsigned i = 0; i < m->n; i++)
		if (!m->e[i].hidden_by && m->e[i].content)
			order[n++] = &m->e[i];
	/* kmod parses the effective files sorted by name, whatever their directory */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && strcmp(order[j - 1]->name, order[j]->name) > 0; j--) {
			const struct modconf_entry *t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (unsigned i = 0; i < n; i++) {
		const char *c = order[i]->content;
		size_t len = strlen(c);

		if (write(fd, c, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
			return -errno;
	}
	*ret_fd = take_fd(&fd);
	return 0;
}
