// SPDX-License-Identifier: GPL-2.0-only
/* Resolving beneath a root: openat2(RESOLVE_IN_ROOT), or a careful walk.  See chase.h. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "chase.h"
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

struct daxbus_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

/* Same limit as the kernel's, so both resolvers reject the same loops. */
#define MAX_SYMLINKS 40

static int openat2_state; /* 0 untried, 1 works, -1 unavailable */

int root_open(const char *path, int *ret_fd)
{
	int fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

static int open_flags_for(unsigned chase_flags, int open_flags)
{
	if (chase_flags & CHASE_NOFOLLOW)
		open_flags |= O_NOFOLLOW;
	if (chase_flags & (CHASE_DIRECTORY | CHASE_MKDIR))
		open_flags |= O_DIRECTORY;
	return open_flags | O_CLOEXEC;
}

/* 1: done (result in *ret_fd or error in *ret_err); 0: openat2 unavailable. */
static int try_openat2(int rootfd, const char *path, int flags, int *ret_fd, int *ret_err)
{
	struct daxbus_open_how how = {
		.flags = (uint64_t)flags,
		.mode = (flags & O_CREAT) ? 0644 : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	if (openat2_state < 0)
		return 0;
	if (openat2_state == 0 && getenv("DAXBUS_NO_OPENAT2")) {
		openat2_state = -1;
		return 0;
	}
	/* EAGAIN: a rename raced with a ".." lookup; the kernel asks us to retry */
	for (int tries = 0; tries < 32; tries++) {
		long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

		if (fd >= 0) {
			openat2_state = 1;
			*ret_fd = (int)fd;
			*ret_err = 0;
			return 1;
		}
		if (errno == EAGAIN)
			continue;
		if (errno == ENOSYS || (openat2_state == 0 && (errno == EPERM || errno == E2BIG))) {
			/* old kernel or a seccomp filter: fall back for good */
			openat2_state = -1;
			return 0;
		}
		openat2_state = 1;
		*ret_err = -errno;
		return 1;
	}
	*ret_err = -EAGAIN;
	return 1;
}

/*
 * A directory we just made gets 0755 whatever the umask (never following a
 * link put in its place).  With RET_FD it stays open there (read-only).
 */
static int fix_dir_mode(int parentfd, const char *name, int *ret_fd)
{
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0755) < 0)
		r = -errno;
	if (r == 0 && ret_fd) {
		*ret_fd = fd;
		return 0;
	}
	close(fd);
	return r;
}

/* The ancestors of the current directory, root first; ".." pops. */
struct walk {
	int fd[256];
	unsigned n;
};

static void walk_reset(struct walk *w)
{
	while (w->n > 1)
		close(w->fd[--w->n]);
}

static void walk_free(struct walk *w)
{
	while (w->n > 0)
		close(w->fd[--w->n]);
}

static int walk_beneath(int rootfd, const char *path, unsigned chase_flags, int flags, int *ret_fd)
{
	_cleanup_free_ char *todo = NULL;
	struct walk ws, *w = &ws;
	unsigned links = 0;
	int r = 0;

	todo = strdup(path);
	if (!todo)
		return -ENOMEM;
	w->fd[0] = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->fd[0] < 0)
		return -errno;
	w->n = 1;

	for (;;) {
		char name[NAME_MAX + 1], *p = todo, *rest;
		int cur = w->fd[w->n - 1];
		size_t len;
		struct stat st;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			/* the path ended on a directory: reopen it with the caller's flags */
			int fd = openat(cur, ".", (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC);

			r = fd < 0 ? -errno : 0;
			if (fd >= 0)
				*ret_fd = fd;
			break;
		}
		len = strcspn(p, "/");
		if (len > NAME_MAX) {
			r = -ENAMETOOLONG;
			break;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		rest = p + len;
		while (*rest == '/')
			rest++;
		if (*rest == '\0')
			rest = NULL;

		if (streq(name, ".") || streq(name, "..")) {
			/* ".." goes back the way we came; at the root it stays, as in a chroot */
			if (streq(name, "..") && w->n > 1)
				close(w->fd[--w->n]);
			memmove(todo, rest ? rest : "", strlen(rest ? rest : "") + 1);
			continue;
		}

		if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				r = -errno;
				break;
			}
			if (!rest && (flags & O_CREAT)) {
				int fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, 0644);

				r = fd < 0 ? -errno : 0;
				if (fd >= 0)
					*ret_fd = fd;
				break;
			}
			/* never create directly beneath the root: a wrong --root is reported, not populated */
			if (!(chase_flags & CHASE_MKDIR) || w->n == 1) {
				r = -ENOENT;
				break;
			}
			if (mkdirat(cur, name, 0755) == 0)
				r = fix_dir_mode(cur, name, NULL);
			else if (errno != EEXIST)
				r = -errno;
			if (r < 0)
				break;
			/* durable before anything is put into it (cur is an O_PATH fd: sync through a real one) */
			{
				int dfd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

				r = dfd < 0 || fsync(dfd) < 0 ? -errno : 0;
				if (dfd >= 0)
					close(dfd);
				if (r < 0)
					break;
			}
			/* look at it again: it is ours now, or someone else's directory */
			memmove(todo, p, strlen(p) + 1);
			continue;
		}

		if (S_ISLNK(st.st_mode) && (rest || !(chase_flags & CHASE_NOFOLLOW))) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(cur, name, target, sizeof(target) - 1);
			char *joined;

			if (n < 0) {
				r = -errno;
				break;
			}
			target[n] = '\0';
			if (++links > MAX_SYMLINKS) {
				r = -ELOOP;
				break;
			}
			if (asprintf(&joined, "%s%s%s", target, rest ? "/" : "", rest ? rest : "") < 0) {
				r = -ENOMEM;
				break;
			}
			if (target[0] == '/')
				walk_reset(w);
			free(todo);
			todo = joined;
			continue;
		}

		if (!rest) {
			int fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, 0644);

			r = fd < 0 ? -errno : 0;
			if (fd >= 0)
				*ret_fd = fd;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			break;
		}
		if (w->n >= ELEMENTSOF(w->fd)) {
			r = -ENAMETOOLONG;
			break;
		}
		w->fd[w->n] = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (w->fd[w->n] < 0) {
			r = -errno;
			break;
		}
		w->n++;
		memmove(todo, rest, strlen(rest) + 1);
	}
	walk_free(w);
	return r;
}

/*
 * The common case of CHASE_MKDIR with openat2: only the last component is
 * missing.  Made as the walk makes it (0755 whatever the umask, the parent
 * synced before anything goes in, never directly beneath the root), in 8
 * calls instead of the walk's 16.  1: done (*ret_fd or *ret_err); 0: not
 * that case, nothing made, the walk decides.
 */
static int mkdir_last(int rootfd, const char *path, int flags, int *ret_fd, int *ret_err)
{
	_cleanup_close_ int parent = -1;
	const char *slash = strrchr(path, '/'), *name;
	char ppath[PATH_MAX];
	struct stat ps, rs;
	int fd = -1, r;

	if (!slash || (size_t)(slash - path) >= sizeof(ppath))
		return 0;
	name = slash + 1;
	if (!*name || streq(name, ".") || streq(name, ".."))
		return 0;
	memcpy(ppath, path, (size_t)(slash - path));
	ppath[slash - path] = '\0';
	if (try_openat2(rootfd, ppath, O_RDONLY | O_DIRECTORY | O_CLOEXEC, &parent, &r) != 1 || r < 0)
		return 0;
	/* the parent may be the root itself ("a/..", a link to "/"): the walk refuses that */
	if (fstat(parent, &ps) < 0 || fstat(rootfd, &rs) < 0 || (ps.st_dev == rs.st_dev && ps.st_ino == rs.st_ino))
		return 0;
	if (mkdirat(parent, name, 0755) < 0) {
		if (errno == EEXIST)
			return 0; /* a dangling link, or made meanwhile: the walk follows it */
		*ret_err = -errno;
		return 1;
	}
	r = fix_dir_mode(parent, name, &fd);
	if (r == 0 && fsync(parent) < 0)
		r = -errno;
	if (r == 0 && flags != (O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
		/* the caller's own flags (O_PATH, O_NONBLOCK): opened again, as the walk's last step does */
		int fd2 = openat(parent, name, flags | O_NOFOLLOW);

		r = fd2 < 0 ? -errno : 0;
		close(fd);
		fd = fd2;
	}
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		*ret_err = r;
		return 1;
	}
	*ret_fd = fd;
	*ret_err = 0;
	return 1;
}

int chase_open(int rootfd, const char *path, unsigned chase_flags, int open_flags, int *ret_fd)
{
	int flags = open_flags_for(chase_flags, open_flags);
	int fd = -1, r;

	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";

	if (try_openat2(rootfd, path, flags, &fd, &r)) {
		if (r == 0) {
			*ret_fd = fd;
			return 0;
		}
		/*
		 * What is missing is made by the walk, whichever resolver works:
		 * one way to create, so both agree (a link to a directory that
		 * does not exist yet included).  The exception is a last
		 * component missing under a parent that resolves: made the same
		 * way in fewer calls (the early step does it at every boot).
		 */
		if (r != -ENOENT || !(chase_flags & CHASE_MKDIR))
			return r;
		if (mkdir_last(rootfd, path, flags, &fd, &r)) {
			if (r == 0)
				*ret_fd = fd;
			return r;
		}
	}
	return walk_beneath(rootfd, path, chase_flags, flags, ret_fd);
}

int chase_opendir(int rootfd, const char *path, unsigned chase_flags, DIR **ret)
{
	_cleanup_close_ int fd = -1;
	DIR *d;
	int r;

	r = chase_open(rootfd, path, chase_flags | CHASE_DIRECTORY, O_RDONLY | O_NONBLOCK, &fd);
	if (r < 0)
		return r;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1; /* owned by d now */
	*ret = d;
	return 0;
}
