/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The mount table as /proc/PID/mountinfo tells it, and making a read-only
 * root writable for one write and read-only again (the initramfs's root
 * step), in the spirit of systemd's mount-util.c.
 */
#pragma once

#include <stdbool.h>

/* One line of mountinfo, its strings unescaped. */
struct mount_entry {
	int mnt_id;
	unsigned major, minor;
	const char *mount_point;
	const char *options;       /* per-mount: rw/ro, nodev, ... */
	const char *fstype;
	const char *source;
	const char *super_options; /* of the file system */
};

/*
 * Call FN for each line of the mountinfo text TEXT (changed in place):
 * 0 when all were read, FN's non-zero value when it stopped.
 */
int mountinfo_foreach(char *text, int (*fn)(const struct mount_entry *e, void *userdata), void *userdata);

/* Is OPT one of the comma-separated OPTS ("ro" in "rw,nodev": no; "hidepid=2": by its name with '=')? */
bool mount_has_option(const char *opts, const char *opt);

enum remount_kind { REMOUNT_NONE, REMOUNT_SUPER, REMOUNT_BIND };

/*
 * Make the mount point MNT (opened as FD) writable, and say how in *RET,
 * so that mount_restore_ro() undoes exactly that and nothing more: the
 * super block remounted (mount -o ro, as dracut mounts /sysroot) or a
 * read-only bind mount made writable.  Only MNT itself is remounted;
 * -EROFS when it is read-only through a mount above it.
 */
int mount_make_writable(const char *mnt, int fd, enum remount_kind *ret);
int mount_restore_ro(const char *mnt, int fd, enum remount_kind how);
