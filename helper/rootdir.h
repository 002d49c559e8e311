/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * File access relative to a root directory.  Every path is resolved beneath
 * the root as if chrooted there, so an absolute symlink inside an installer's
 * target or /sysroot means what it will mean when that root is booted, and
 * nothing can lead outside of it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <dirent.h>
#include <sys/types.h>

/* Open PATH as a root directory (O_RDONLY|O_DIRECTORY). */
int root_open(const char *path, int *ret_fd);

/*
 * Resolve PATH (relative to the root; leading slashes are ignored) beneath
 * ROOTFD and open it with FLAGS.  With O_NOFOLLOW in FLAGS the last component
 * is not followed; everything else resolves as in a chroot.
 */
int root_openat(int rootfd, const char *path, int flags, int *ret_fd);

/*
 * Open directory PATH beneath ROOTFD for reading (usable with fsync and the
 * *at() calls).  With CREATE, missing components after the first are made
 * with mode 0755; the first must exist, so that a wrong --root is reported
 * instead of being populated.
 */
int root_open_dir(int rootfd, const char *path, bool create, int *ret_fd);

/* root_openat() a directory and wrap it for readdir(). */
int root_opendir(int rootfd, const char *path, DIR **ret);

/*
 * Read the regular file NAME in DIRFD (last component not followed) into a
 * NUL-terminated buffer.  -EFBIG beyond MAX bytes, -EFTYPE-like -EBADFD for
 * anything that is not a regular file; never blocks on a FIFO.
 */
int read_file_at(int dirfd, const char *name, size_t max, char **ret_buf, size_t *ret_len);

/* Same as read_file_at, on an already opened fd. */
int read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len);

/*
 * Create NAME in DIRFD with DATA, atomically and durably: a temporary
 * ".#NAME…" file is written, fsynced and renamed into place without ever
 * replacing an existing NAME (-EEXIST), then the directory is fsynced.  The
 * temporary file is removed on every failure.
 */
int write_file_atomic_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode);

/* Remove NAME from DIRFD and make the removal durable. */
int remove_file_at(int dirfd, const char *name);
