/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which initramfs generator a root uses, so `enable --initramfs` can opt in
 * whichever it is.  Judged by the programs the root has, not by leftover
 * configuration: initramfs-tools' mkinitramfs, dracut's dracut.
 */
#pragma once

#include <stdbool.h>

struct generators {
	bool dracut;            /* a dracut executable */
	bool dracut_module;     /* daxbus's dracut module is installed */
	bool dracut_old;        /* its dracut predates $SYSTEMCTL (older than 052) */
	bool itools;            /* initramfs-tools' mkinitramfs */
	bool itools_hook;       /* daxbus's initramfs-tools hook is installed */
};

int generators_detect(int rootfd, struct generators *ret);

/*
 * dracut 052 was the first to export $SYSTEMCTL to its modules.  daxbus
 * 0.1.0's module relied on it, so the systemd images that an older dracut
 * built with it have daxbus's units copied but never enabled.  Told by
 * looking for the export in the root's dracut script itself: Debian 11's
 * dracut 051 does not even know its own version number.
 */
#define DRACUT_FIRST_WITH_SYSTEMCTL "052"

/*
 * Did a dracut older than DRACUT_FIRST_WITH_SYSTEMCTL build KVER's image in
 * /boot before the installed daxbus module (the fixed one) was put in
 * place?  Cheap: two stats, no image is opened.  1 with
 * the image's path ("/boot/...", in the root, malloc'ed) in *RET_IMAGE when it must
 * be rebuilt, 0 when not or when it cannot tell, -ENOMEM.
 */
int dracut_image_predates_module(int rootfd, const struct generators *g, const char *kver, char **ret_image);
