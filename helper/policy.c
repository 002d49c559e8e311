// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy itself.  Its text comes from modprobe.d/daxctl.conf at build
 * time (policy-text.h is generated), so the repository holds it once.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "policy-text.h"
#include "policy.h"
#include "rootdir.h"
#include "util.h"

const char POLICY_TEXT[] = DAXBUS_POLICY_TEXT;

const struct policy_file POLICY_MODPROBE_ETC = { "etc/modprobe.d", "daxctl.conf", POLICY_TEXT };
const struct policy_file POLICY_MODPROBE_RUN = { "run/modprobe.d", "daxctl.conf", POLICY_TEXT };
/* Spaces inside the quotes: dracut concatenates these lists. */
const struct policy_file POLICY_DRACUT_DROPIN = {
	"etc/dracut.conf.d", "daxbus.conf",
	"# written by daxbus enable --dracut: include the daxbus module in every initramfs\n"
	"add_dracutmodules+=\" daxbus \"\n",
};

/* Policy files are a few lines; anything far larger is not one of ours. */
#define POLICY_MAX_SIZE (64 * 1024)

/* Next significant line of S, normalised into BUF; returns the rest of S. */
static const char *next_directive(const char *s, char *buf, size_t size)
{
	while (*s) {
		const char *eol = strchr(s, '\n');
		const char *end = eol ? eol : s + strlen(s);
		size_t n = 0;
		bool space = false;

		for (const char *p = s; p < end; p++) {
			bool ws = *p == ' ' || *p == '\t' || *p == '\r';

			if (ws) {
				space = n > 0;
				continue;
			}
			if (n == 0 && *p == '#')
				break;
			if (space && n + 1 < size)
				buf[n++] = ' ';
			space = false;
			if (n + 1 < size)
				buf[n++] = *p;
		}
		buf[n] = '\0';
		s = eol ? eol + 1 : end;
		if (n > 0)
			return s;
	}
	buf[0] = '\0';
	return NULL;
}

bool config_equivalent(const char *a, const char *b)
{
	char la[512], lb[512];

	for (;;) {
		a = next_directive(a, la, sizeof(la));
		b = next_directive(b, lb, sizeof(lb));
		if (!a || !b)
			return !a && !b;
		if (!streq(la, lb))
			return false;
	}
}

const char *policy_state_str(enum policy_state s)
{
	switch (s) {
	case POLICY_ABSENT: return "absent";
	case POLICY_OURS: return "policy";
	case POLICY_LINK: return "policy-link";
	case POLICY_FOREIGN: return "foreign";
	case POLICY_NOT_FILE: return "not-a-file";
	}
	return "unknown";
}

const char *policy_path(const char *root, const struct policy_file *f)
{
	static char buf[2][PATH_MAX];
	static int which;
	char *p = buf[which++ & 1];
	size_t rl = strlen(root);

	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (rl == 1 && root[0] == '/')
		rl = 0;
	snprintf(p, PATH_MAX, "%.*s/%s/%s", (int)rl, root, f->dir, f->name);
	return p;
}

int policy_classify(int rootfd, const struct policy_file *f, struct policy_found *ret)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ char *content = NULL;
	struct policy_found found = { .state = POLICY_ABSENT };
	struct stat st;
	int r;

	r = root_open_dir(rootfd, f->dir, false, &dirfd);
	if (r == -ENOENT) {
		*ret = found;
		return 0;
	}
	if (r < 0)
		return r;

	if (fstatat(dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
	} else if (S_ISLNK(st.st_mode)) {
		_cleanup_close_ int fd = -1;
		_cleanup_free_ char *rel = NULL;
		ssize_t n = readlinkat(dirfd, f->name, found.link_target, sizeof(found.link_target) - 1);

		if (n < 0)
			return -errno;
		found.link_target[n] = '\0';
		found.state = POLICY_FOREIGN;
		/* Follow it the way the booted system will: inside the root. */
		if (found.link_target[0] == '/')
			rel = strdup(found.link_target);
		else
			r = asprintf(&rel, "%s/%s", f->dir, found.link_target) < 0 ? -ENOMEM : 0;
		if (!rel)
			return -ENOMEM;
		if (root_openat(rootfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd) == 0 &&
		    read_fd(fd, POLICY_MAX_SIZE, &content, NULL) == 0 &&
		    config_equivalent(content, f->text))
			found.state = POLICY_LINK;
	} else if (S_ISREG(st.st_mode)) {
		r = read_file_at(dirfd, f->name, POLICY_MAX_SIZE, &content, NULL);
		if (r == -EFBIG)
			found.state = POLICY_FOREIGN;
		else if (r < 0)
			return r;
		else
			found.state = config_equivalent(content, f->text) ? POLICY_OURS : POLICY_FOREIGN;
	} else
		found.state = POLICY_NOT_FILE;

	*ret = found;
	return 0;
}

int policy_install(int rootfd, const struct policy_file *f)
{
	_cleanup_close_ int dirfd = -1;
	int r;

	r = root_open_dir(rootfd, f->dir, true, &dirfd);
	if (r < 0)
		return r;
	return write_file_atomic_at(dirfd, f->name, f->text, strlen(f->text), 0644);
}

int policy_remove(int rootfd, const struct policy_file *f)
{
	_cleanup_close_ int dirfd = -1;
	int r;

	r = root_open_dir(rootfd, f->dir, false, &dirfd);
	if (r < 0)
		return r;
	return remove_file_at(dirfd, f->name);
}
