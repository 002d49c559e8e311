// SPDX-License-Identifier: GPL-2.0-only
/* Scan a root's modprobe.d directories the way kmod does.  See modconf.h. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "chase.h"
#include "fileio.h"
#include "kmodconf.h"
#include "modconf.h"
#include "policy.h"
#include "util.h"

const char *const MODCONF_DIRS[] = {
	"etc/modprobe.d",
	"run/modprobe.d",
	"usr/local/lib/modprobe.d",
	"usr/lib/modprobe.d",
	"lib/modprobe.d",
	NULL,
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct modconf_entry *)a)->name, ((const struct modconf_entry *)b)->name);
}

/* kmod reads *.conf and, for old setups, *.alias; dot-files (our temporaries) never. */
static bool kmod_reads(const char *name)
{
	return name[0] != '.' && strlen(name) < sizeof(((struct modconf_entry *)0)->name) &&
	       ((strlen(name) > 5 && endswith(name, ".conf")) || (strlen(name) > 6 && endswith(name, ".alias")));
}

static int scan_dir(int rootfd, const char *dir, struct modconf *m)
{
	_cleanup_closedir_ DIR *d = NULL;
	unsigned first = m->n;
	struct dirent *de;
	int r;

	r = chase_opendir(rootfd, dir, 0, &d);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		struct modconf_entry *e, *ne;
		struct stat st;

		if (!kmod_reads(de->d_name))
			continue;
		ne = realloc(m->e, (m->n + 1) * sizeof(*m->e));
		if (!ne)
			return -ENOMEM;
		m->e = ne;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			return -ENOMEM;
		e = &m->e[m->n++];
		memset(e, 0, sizeof(*e));
		e->dir = dir;
		snprintf(e->name, sizeof(e->name), "%s", de->d_name);
		if (fstatat(dirfd(d), e->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(dirfd(d), e->name, e->link_target, sizeof(e->link_target) - 1);

			e->is_link = true;
			e->link_target[n > 0 ? n : 0] = '\0';
		}
		/* a /dev/null mask reads empty (it exists whenever the root is booted) */
		if (e->is_link && streq(e->link_target, "/dev/null")) {
			e->content = strdup("");
			if (!e->content)
				return -ENOMEM;
			continue;
		}
		/* kmod's conf_files_filter_out: what stat() (links followed) finds missing or a directory is skipped */
		{
			_cleanup_close_ int fd = -1;

			r = chase_open(rootfd, path, 0, O_PATH, &fd);
			if (r == -ENOENT || r == -ENOTDIR || (r == 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))) {
				e->ignored = true;
				continue;
			}
		}
		e->error = read_file_beneath(rootfd, path, KMODCONF_MAX, &e->content, &e->len);
		if (e->error == 0) {
			e->mentions_dax = kmodconf_mentions_dax(e->content, e->len);
			e->is_policy = kmodconf_equivalent(e->content, e->len, POLICY_TEXT, strlen(POLICY_TEXT));
		}
	}
	if (m->n > first)
		qsort(m->e + first, m->n - first, sizeof(*m->e), cmp_entry);
	return 0;
}

int modconf_scan(int rootfd, struct modconf *ret)
{
	_cleanup_modconf_ struct modconf m = { 0 };
	struct stat seen[8];
	unsigned nseen = 0;
	int r;

	for (unsigned i = 0; MODCONF_DIRS[i]; i++) {
		_cleanup_close_ int dfd = -1;
		struct stat st;
		bool dup = false;

		/* on merged-/usr systems lib/modprobe.d is usr/lib/modprobe.d: read it once */
		if (chase_open(rootfd, MODCONF_DIRS[i], CHASE_DIRECTORY, O_RDONLY, &dfd) < 0 || fstat(dfd, &st) < 0)
			continue;
		for (unsigned j = 0; j < nseen; j++)
			dup |= seen[j].st_dev == st.st_dev && seen[j].st_ino == st.st_ino;
		if (dup)
			continue;
		seen[nseen++] = st;
		r = scan_dir(rootfd, MODCONF_DIRS[i], &m);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < m.n; i++)
		for (unsigned j = 0; j < i && !m.e[i].ignored; j++)
			if (!m.e[j].ignored && streq(m.e[i].name, m.e[j].name) && m.e[j].dir != m.e[i].dir) {
				m.e[i].hidden_by = m.e[j].dir;
				break;
			}
	*ret = m;
	m = (struct modconf){ 0 };
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
		if (!m->e[i].hidden_by && !m->e[i].ignored && streq(m->e[i].name, name))
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
		if (!m->e[i].hidden_by && !m->e[i].ignored && m->e[i].content)
			order[n++] = &m->e[i];
	/* kmod parses the effective files sorted by name, whatever their directory */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && strcmp(order[j - 1]->name, order[j]->name) > 0; j--) {
			const struct modconf_entry *t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (unsigned i = 0; i < n; i++) {
		_cleanup_free_ char *norm = NULL;
		size_t len;
		int r = kmodconf_normalize(order[i]->content, order[i]->len, &norm, &len);

		if (r < 0)
			return r;
		if (write(fd, norm, len) != (ssize_t)len)
			return -errno;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}
