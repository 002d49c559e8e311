/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading and writing the few files daxbus touches, in the spirit of
 * systemd's fileio.h: bounded reads that never block on a FIFO or follow a
 * device, and an atomic, durable, never-replacing publish and a verified
 * removal, both under a lock on the directory.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Read FD (a regular file, else -ENOTREG_DAXBUS) into a NUL-terminated buffer of at most MAX bytes (-EFBIG). */
int read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len);

/* Read NAME in DIRFD, last component not followed, opened non-blocking. */
int read_file_at(int dirfd, const char *name, size_t max, char **ret_buf, size_t *ret_len);

/* Read PATH resolved beneath ROOTFD (chase.h), opened non-blocking. */
int read_file_beneath(int rootfd, const char *path, size_t max, char **ret_buf, size_t *ret_len);

/*
 * Lock DIRFD (opened for reading) against other daxbus runs (flock).  While
 * it is held, our own temporary names in that directory are known to be
 * stale.  Returns DIRFD, or -1 where the file system cannot lock (we go on
 * unlocked).  Closing DIRFD also unlocks.
 */
int dir_lock(int dirfd);

/* The fixed names of our temporaries next to NAME (dot-files: kmod and dracut skip them). */
#define TEMP_SUFFIX ".daxbus"
#define REMOVE_SUFFIX ".daxbus-rm"

/*
 * Under the lock: create NAME in DIRFD with DATA, atomically and durably:
 * ".#NAME.daxbus" is written, fsynced and renamed into place without ever
 * replacing an existing NAME (-EEXIST), then the directory is fsynced.  On
 * any failure nothing is left: the temporary is removed, and so is NAME if
 * only the final fsync of the directory failed.
 */
int write_file_atomic_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode);

/*
 * Under the lock: remove NAME from DIRFD only if it is still the entry that
 * was examined (EXPECT, from fstatat(AT_SYMLINK_NOFOLLOW)): it is first
 * renamed to ".#NAME.daxbus-rm", checked, then unlinked; anything else found
 * there is put back and -ECHANGED_DAXBUS returned.  -ENOENT if NAME is gone.
 * SAME_CONTENT, if given, re-checks a regular file's content after the move.
 */
int remove_file_verified_at(int dirfd, const char *name, const struct stat *expect,
			    bool (*same_content)(const char *buf, size_t len, const void *userdata), const void *userdata);

/*
 * Under the lock: remove temporaries a killed run left next to NAME.  The
 * removal temporary is only deleted when SAME_CONTENT accepts it (it may be
 * a file someone swapped in while a run was killed).
 */
void remove_stale_temporaries_at(int dirfd, const char *name,
				 bool (*same_content)(const char *buf, size_t len, const void *userdata), const void *userdata);
