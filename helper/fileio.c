// SPDX-License-Identifier: GPL-2.0-only
/* Bounded reads, the atomic publish and the verified removal.  See fileio.h. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/syscall.h>

#include "chase.h"
#include "fileio.h"
#include "log.h"
#include "util.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif

int read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	char small[4096];
	size_t len = 0, size = 0;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOTREG_DAXBUS;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	/* procfs files say 0 bytes: read until EOF, at most one byte over the limit;
	 * small files (all of ours) go through the stack, then get an exact buffer */
	for (;;) {
		char *dst = buf ? buf : small;
		size_t room = buf ? size - 1 - len : sizeof(small) - 1 - len;
		ssize_t n;

		if (room == 0) {
			size_t nsize = buf ? size * 2 : sizeof(small) * 2;
			char *nb;

			if (nsize > max + 2)
				nsize = max + 2;
			if (nsize <= len + 1)
				return -EFBIG;
			nb = realloc(buf, nsize);
			if (!nb)
				return -ENOMEM;
			if (!buf)
				memcpy(nb, small, len);
			buf = nb;
			size = nsize;
			continue;
		}
		n = read(fd, dst + len, room);
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
	if (!buf) {
		buf = malloc(len + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, small, len);
	}
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
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
		return errno == ELOOP ? -ENOTREG_DAXBUS : -errno;
	return read_fd(fd, max, ret_buf, ret_len);
}

int read_file_beneath(int rootfd, const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	int r;

	r = chase_open(rootfd, path, 0, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);
	if (r < 0)
		return r;
	return read_fd(fd, max, ret_buf, ret_len);
}

int dir_lock(int dirfd)
{
	while (flock(dirfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -1;
	return dirfd;
}

static int temp_name(char *buf, size_t size, const char *name, const char *suffix)
{
	if ((size_t)snprintf(buf, size, ".#%s%s", name, suffix) >= size)
		return -ENAMETOOLONG;
	return 0;
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

static int rename_noreplace(int dirfd, const char *from, const char *to)
{
	if (syscall(SYS_renameat2, dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* file systems without RENAME_NOREPLACE: link() refuses to replace too */
	if (linkat(dirfd, from, dirfd, to, 0) < 0)
		return -errno;
	(void)unlinkat(dirfd, from, 0);
	return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	_cleanup_close_ int fd = -1;
	int r;

	r = temp_name(tmp, sizeof(tmp), name, TEMP_SUFFIX);
	if (r < 0)
		return r;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST) {
		/* we hold the lock: a run that was killed left it */
		if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
			return -errno;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	}
	if (fd < 0)
		return -errno;

	/* MODE whatever the umask (which the helper leaves alone: its children inherit it) */
	r = fchmod(fd, mode) < 0 ? -errno : 0;
	if (r == 0)
		r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0) {
		r = close(fd) < 0 ? -errno : 0;
		fd = -1;
	}
	if (r == 0)
		r = rename_noreplace(dirfd, tmp, name);
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (fsync(dirfd) < 0) {
		/* in place but maybe not durable: take it back, so the caller's "failed" is the whole truth */
		r = -errno;
		(void)unlinkat(dirfd, name, 0);
		return r;
	}
	return 0;
}

static bool same_entry(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

int remove_file_verified_at(int dirfd, const char *name, const struct stat *expect,
			    bool (*same_content)(const char *buf, size_t len, const void *userdata), const void *userdata)
{
	char tmp[NAME_MAX + 1];
	struct stat st;
	bool ok;
	int r;

	r = temp_name(tmp, sizeof(tmp), name, REMOVE_SUFFIX);
	if (r < 0)
		return r;
	r = rename_noreplace(dirfd, name, tmp);
	if (r < 0)
		return r;
	ok = fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && same_entry(&st, expect);
	if (ok && S_ISREG(st.st_mode) && same_content) {
		_cleanup_free_ char *buf = NULL;
		size_t len;

		ok = read_file_at(dirfd, tmp, 64 * 1024, &buf, &len) == 0 && same_content(buf, len, userdata);
	}
	if (!ok) {
		/* not what we examined: give it back its name */
		r = rename_noreplace(dirfd, tmp, name);
		return r < 0 ? r : -ECHANGED_DAXBUS;
	}
	if (unlinkat(dirfd, tmp, 0) < 0) {
		r = -errno;
		(void)rename_noreplace(dirfd, tmp, name);
		return r;
	}
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
}

void remove_stale_temporaries_at(int dirfd, const char *name,
				 bool (*same_content)(const char *buf, size_t len, const void *userdata), const void *userdata)
{
	char tmp[NAME_MAX + 1];
	struct stat st;

	if (temp_name(tmp, sizeof(tmp), name, TEMP_SUFFIX) == 0 &&
	    fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && unlinkat(dirfd, tmp, 0) == 0)
		log_debug("removed %s, left by an interrupted run", tmp);
	if (temp_name(tmp, sizeof(tmp), name, REMOVE_SUFFIX) == 0 &&
	    fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		_cleanup_free_ char *buf = NULL;
		size_t len;

		if (S_ISLNK(st.st_mode) ||
		    (read_file_at(dirfd, tmp, 64 * 1024, &buf, &len) == 0 && same_content && same_content(buf, len, userdata)))
			(void)unlinkat(dirfd, tmp, 0);
		else
			log_warning("%s was left by an interrupted run and is not daxbus's policy; left alone", tmp);
	}
}
