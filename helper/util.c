// SPDX-License-Identifier: GPL-2.0-only
/* Paths for messages and numbers from sysfs.  See util.h. */
#include <limits.h>

#include "util.h"

char *path_join_root(const char *root, const char *rel)
{
	size_t rl = strlen(root);
	char *p;

	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (rl == 1 && root[0] == '/')
		rl = 0;
	while (*rel == '/')
		rel++;
	if (asprintf(&p, "%.*s/%s", (int)rl, root, rel) < 0)
		return NULL;
	return p;
}

char *fd_path(int fd, const char *name, const char *fallback)
{
	char link[64], target[PATH_MAX];
	ssize_t n;
	char *p;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	/* "/x (deleted)" or anything that is not a path: say what we were given */
	if (n <= 0 || target[0] != '/' || (size_t)n >= sizeof(target) - 1)
		return strdup(fallback);
	target[n] = '\0';
	if (!name)
		return strdup(target);
	if (asprintf(&p, "%s%s%s", target, streq(target, "/") ? "" : "/", name) < 0)
		return NULL;
	return p;
}

/* What strtoull/strtol left at END: the whole text read, an attribute's newline allowed. */
static int parse_end(const char *s, const char *end)
{
	if (errno)
		return -errno;
	if (end == s)
		return -EINVAL;
	if (*end == '\n')
		end++;
	return *end ? -EINVAL : 0;
}

int parse_u64(const char *s, int base, unsigned long long *ret)
{
	unsigned long long v;
	char *end;
	int r;

	if (!s || (base != 10 && base != 16))
		return -EINVAL;
	if (base == 16 && (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')))
		return -EINVAL;
	if (base == 10 && (*s < '0' || *s > '9'))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (base == 16 && end == s + 2)
		return -EINVAL; /* "0x" alone */
	r = parse_end(s, end);
	if (r == 0)
		*ret = v;
	return r;
}

int parse_long(const char *s, long *ret)
{
	long v;
	char *end;
	int r;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	r = parse_end(s, end);
	if (r == 0)
		*ret = v;
	return r;
}
