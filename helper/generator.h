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
	bool itools;            /* initramfs-tools' mkinitramfs */
	bool itools_hook;       /* daxbus's initramfs-tools hook is installed */
};

int generators_detect(int rootfd, struct generators *ret);
