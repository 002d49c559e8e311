/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Resolving paths beneath a root, in the spirit of systemd's chaseat(): every
 * path is resolved as if the process were chrooted into the root, so an
 * absolute symlink inside an installer's target or /sysroot means what it
 * will mean when that root boots, and nothing leads outside of it.
 *
 * openat2(RESOLVE_IN_ROOT) does it in one call where the kernel has it (5.6+);
 * elsewhere a component-by-component walk keeps the chain of ancestor
 * directories open, so ".." goes back along the way it came, even if a
 * directory is renamed meanwhile, and never above the root.  Directories
 * that are missing are made by the walk, so both resolvers give the same
 * result for every path (tests run each case with both); with openat2, a
 * lone missing last component under a parent that resolves (not the root)
 * is made directly, the same way, in fewer calls.
 */
#pragma once

#include <dirent.h>
#include <stdbool.h>

enum {
	CHASE_NOFOLLOW = 1 << 0,  /* a symlink as last component is opened, not followed (O_PATH) or refused */
	CHASE_MKDIR = 1 << 1,     /* create missing directories (0755); the first component must exist */
	CHASE_DIRECTORY = 1 << 2, /* the result must be a directory */
};

/* Open PATH as a root directory. */
int root_open(const char *path, int *ret_fd);

/*
 * Resolve PATH (relative to the root; leading slashes are ignored) beneath
 * ROOTFD and open it with OPEN_FLAGS (O_CLOEXEC is always added).  With
 * CHASE_MKDIR the path is a directory and missing components after the first
 * are created.
 */
int chase_open(int rootfd, const char *path, unsigned chase_flags, int open_flags, int *ret_fd);

/* chase_open() a directory for reading and wrap it for readdir(). */
int chase_opendir(int rootfd, const char *path, unsigned chase_flags, DIR **ret);
