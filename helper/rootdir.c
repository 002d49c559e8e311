// SPDX-License-Identifier: GPL-2.0-only
/*
 * Root-relative file I/O: resolve beneath a root (openat2 RESOLVE_IN_ROOT,
 * or a component-by-component walk where the kernel lacks openat2), and an
 * atomic, durable, never-overwriting file publish.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "rootdir.h"
#include "util.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif

struct daxbus_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

/* Same limit as the kernel's, so both resolvers reject the same loops. */
#define MAX_SYMLINKS 40

int root_open(const char *path, int *ret_fd)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

static bool same_inode(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* The fallback resolver: one component at a time, never following a link blindly. */
static int walk_beneath(int rootfd, const char *path, int flags, int *ret_fd)
{
	_cleanup_free_ char *todo = NULL;
	_cleanup_close_ int cur = -1;
	unsigned links = 0;
	bool follow_last = !(flags & O_NOFOLLOW);

	todo = strdup(path);
	if (!todo)
		return -ENOMEM;
	cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return -errno;

	for (;;) {
		char *p = todo, *name, *rest;
		struct stat st;
		_cleanup_close_ int next = -1;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			/* Path ended on a directory: reopen it with the caller's flags. */
			int fd = openat(cur, ".", (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC);

			if (fd < 0)
				return -errno;
			*ret_fd = fd;
			return 0;
		}
		name = p;
		rest = strchr(p, '/');
		if (rest) {
			*rest++ = '\0';
			while (*rest == '/')
				rest++;
			if (*rest == '\0')
				rest = NULL;
		}

		if (streq(name, ".")) {
			memmove(todo, rest ? rest : "", strlen(rest ? rest : "") + 1);
			continue;
		}
		if (streq(name, "..")) {
			/* Clamp at the root, as chroot does. */
			if (!same_inode(cur, rootfd)) {
				next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (next < 0)
					return -errno;
				closep(&cur);
				cur = take_fd(&next);
			}
			memmove(todo, rest ? rest : "", strlen(rest ? rest : "") + 1);
			continue;
		}

		if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && !rest && (flags & O_CREAT)) {
				int fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, 0644);

				if (fd < 0)
					return -errno;
				*ret_fd = fd;
				return 0;
			}
			return -errno;
		}

		if (S_ISLNK(st.st_mode) && (rest || follow_last)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(cur, name, target, sizeof(target) - 1);
			_cleanup_free_ char *joined = NULL;

			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (++links > MAX_SYMLINKS)
				return -ELOOP;
			if (asprintf(&joined, "%s%s%s", target, rest ? "/" : "", rest ? rest : "") < 0)
				return -ENOMEM;
			if (target[0] == '/') {
				closep(&cur);
				cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
				if (cur < 0)
					return -errno;
			}
			free(todo);
			todo = joined;
			joined = NULL;
			continue;
		}

		if (!rest) {
			int fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, 0644);

			if (fd < 0)
				return -errno;
			*ret_fd = fd;
			return 0;
		}
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return -errno;
		closep(&cur);
		cur = take_fd(&next);
		memmove(todo, rest, strlen(rest) + 1);
	}
}

int root_openat(int rootfd, const char *path, int flags, int *ret_fd)
{
	static bool no_openat2;
	struct daxbus_open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? 0644 : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";

	if (!no_openat2 && !getenv("DAXBUS_NO_OPENAT2")) {
		long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

		if (fd >= 0) {
			*ret_fd = (int)fd;
			return 0;
		}
		/* Old kernel or a seccomp filter: fall back for good. */
		if (errno != ENOSYS && errno != EPERM && errno != E2BIG)
			return -errno;
		no_openat2 = true;
	}
	return walk_beneath(rootfd, path, flags, ret_fd);
}

int root_open_dir(int rootfd, const char *path, bool create, int *ret_fd)
{
	_cleanup_free_ char *buf = NULL;
	char *slash;
	int r, fd;
	bool first = true;

	r = root_openat(rootfd, path, O_RDONLY | O_DIRECTORY, &fd);
	if (r != -ENOENT || !create) {
		if (r == 0)
			*ret_fd = fd;
		return r;
	}

	/* Create the missing tail one component at a time, each resolved beneath the root. */
	buf = strdup(path);
	if (!buf)
		return -ENOMEM;
	for (slash = buf;; slash++) {
		bool last;
		_cleanup_close_ int parent = -1;
		char *base;

		while (*slash == '/')
			slash++;
		slash = strchr(slash, '/');
		last = !slash;
		if (slash)
			*slash = '\0';

		r = root_openat(rootfd, buf, O_RDONLY | O_DIRECTORY, &fd);
		if (r == -ENOENT && !first) {
			base = strrchr(buf, '/');
			*base = '\0';
			r = root_openat(rootfd, buf, O_RDONLY | O_DIRECTORY, &parent);
			*base = '/';
			if (r < 0)
				return r;
			if (mkdirat(parent, base + 1, 0755) < 0 && errno != EEXIST)
				return -errno;
			/* the umask may have narrowed it; the policy directory must be readable by all */
			r = root_openat(rootfd, buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, &fd);
			if (r < 0)
				return r;
			if (fchmod(fd, 0755) < 0) {
				r = -errno;
				close(fd);
				return r;
			}
			if (fsync(parent) < 0) {
				r = -errno;
				close(fd);
				return r;
			}
		} else if (r < 0)
			return r;
		first = false;
		if (last) {
			*ret_fd = fd;
			return 0;
		}
		close(fd);
		*slash = '/';
	}
}

int root_opendir(int rootfd, const char *path, DIR **ret)
{
	_cleanup_close_ int fd = -1;
	DIR *d;
	int r;

	r = root_openat(rootfd, path, O_RDONLY | O_DIRECTORY, &fd);
	if (r < 0)
		return r;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1; /* owned by d now */
	*ret = d;
	return 0;
}

int read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	buf = malloc(max + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	buf = NULL;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int read_file_at(int dirfd, const char *name, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;

	/* O_NONBLOCK: a FIFO planted at the path must not hang a boot */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EBADFD : -errno;
	return read_fd(fd, max, ret_buf, ret_len);
}

static uint32_t random_u32(void)
{
	uint32_t v;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == sizeof(v))
		return v;
	/* early boot without entropy: uniqueness is all we need, O_EXCL does the rest */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16);
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Publish TMP as NAME without replacing anything that appeared meanwhile. */
static int publish_noreplace(int dirfd, const char *tmp, const char *name)
{
	if (syscall(SYS_renameat2, dirfd, tmp, dirfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* file systems without RENAME_NOREPLACE: link() refuses to replace too */
	if (linkat(dirfd, tmp, dirfd, name, 0) < 0)
		return -errno;
	(void)unlinkat(dirfd, tmp, 0);
	return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	_cleanup_close_ int fd = -1;
	int r;

	for (int i = 0; i < 64 && fd < 0; i++) {
		if (snprintf(tmp, sizeof(tmp), ".#%s%08x", name, random_u32()) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;

	if (fchmod(fd, mode) < 0 || (r = write_all(fd, data, len)) < 0 || fsync(fd) < 0)
		goto fail;
	r = close(fd);
	fd = -1;
	if (r < 0)
		goto fail;
	r = publish_noreplace(dirfd, tmp, name);
	if (r < 0) {
		errno = -r;
		goto fail;
	}
	if (fsync(dirfd) < 0)
		return -errno; /* in place, but maybe not durable: the caller must say so */
	return 0;
fail:
	r = errno ? -errno : -EIO;
	(void)unlinkat(dirfd, tmp, 0);
	return r;
}

int remove_file_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) < 0)
		return -errno;
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
}
