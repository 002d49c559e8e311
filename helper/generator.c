// SPDX-License-Identifier: GPL-2.0-only
/* Initramfs generator detection.  See generator.h. */
#include <fcntl.h>
#include <sys/stat.h>

#include "chase.h"
#include "generator.h"
#include "util.h"

/* Any of PATHS is a regular file beneath the root (links followed inside it). */
static bool any_file(int rootfd, const char *const *paths)
{
	for (; *paths; paths++) {
		_cleanup_close_ int fd = -1;
		struct stat st;

		if (chase_open(rootfd, *paths, 0, O_PATH, &fd) == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			return true;
	}
	return false;
}

int generators_detect(int rootfd, struct generators *ret)
{
	static const char *const dracut[] = { "usr/bin/dracut", "usr/sbin/dracut", "bin/dracut", "sbin/dracut", NULL };
	static const char *const module[] = { "usr/lib/dracut/modules.d/50daxbus/module-setup.sh", NULL };
	static const char *const itools[] = { "usr/sbin/mkinitramfs", "sbin/mkinitramfs", NULL };
	static const char *const hook[] = { "usr/share/initramfs-tools/hooks/daxbus", NULL };

	*ret = (struct generators){
		.dracut = any_file(rootfd, dracut),
		.dracut_module = any_file(rootfd, module),
		.itools = any_file(rootfd, itools),
		.itools_hook = any_file(rootfd, hook),
	};
	return 0;
}
