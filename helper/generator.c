// SPDX-License-Identifier: GPL-2.0-only
/* Initramfs generator detection.  See generator.h. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "chase.h"
#include "fileio.h"
#include "generator.h"
#include "util.h"

#define DRACUT_MODULE_SETUP "usr/lib/dracut/modules.d/50daxbus/module-setup.sh"

/* The first of PATHS that is a regular file beneath the root (links followed inside it), or -1. */
static int first_file(int rootfd, const char *const *paths, struct stat *ret_st)
{
	for (int i = 0; paths[i]; i++) {
		_cleanup_close_ int fd = -1;
		struct stat st;

		if (chase_open(rootfd, paths[i], 0, O_PATH, &fd) == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			if (ret_st)
				*ret_st = st;
			return i;
		}
	}
	return -1;
}

/* Does the dracut script at PATH export SYSTEMCTL to its modules (052 and later)?  Unreadable: assume so. */
static bool dracut_sets_systemctl(int rootfd, const char *path)
{
	_cleanup_free_ char *text = NULL;

	if (read_file_beneath(rootfd, path, 1024 * 1024, &text, NULL) < 0)
		return true;
	return strstr(text, "SYSTEMCTL=") != NULL;
}

int generators_detect(int rootfd, struct generators *ret)
{
	static const char *const dracut[] = { "usr/bin/dracut", "usr/sbin/dracut", "bin/dracut", "sbin/dracut", NULL };
	static const char *const module[] = { DRACUT_MODULE_SETUP, NULL };
	static const char *const itools[] = { "usr/sbin/mkinitramfs", "sbin/mkinitramfs", NULL };
	static const char *const hook[] = { "usr/share/initramfs-tools/hooks/daxbus", NULL };
	int d = first_file(rootfd, dracut, NULL);
	struct generators g = {
		.dracut = d >= 0,
		.dracut_module = first_file(rootfd, module, NULL) >= 0,
		.itools = first_file(rootfd, itools, NULL) >= 0,
		.itools_hook = first_file(rootfd, hook, NULL) >= 0,
	};

	g.dracut_old = g.dracut && !dracut_sets_systemctl(rootfd, dracut[d]);
	*ret = g;
	return 0;
}

int dracut_image_predates_module(int rootfd, const struct generators *g, const char *kver, char **ret_image)
{
	/* where distributions keep KVER's image: Fedora/RHEL, Debian/Ubuntu, SUSE */
	static const char *const names[] = { "boot/initramfs-%s.img", "boot/initrd.img-%s", "boot/initrd-%s", NULL };
	static const char *const module[] = { DRACUT_MODULE_SETUP, NULL };
	char *paths[ELEMENTSOF(names)] = { NULL };
	struct stat image, mod;
	int i, r = 0;

	if (!g->dracut_old || !g->dracut_module || !kver || !*kver)
		return 0;
	for (i = 0; names[i]; i++)
		if (asprintf(&paths[i], names[i], kver) < 0) {
			r = -ENOMEM;
			goto out;
		}
	i = first_file(rootfd, (const char *const *)paths, &image);
	/* the module's ctime is when it was installed (package managers keep mtimes, not ctimes) */
	if (i >= 0 && first_file(rootfd, module, &mod) >= 0 &&
	    (image.st_mtim.tv_sec < mod.st_ctim.tv_sec ||
	     (image.st_mtim.tv_sec == mod.st_ctim.tv_sec && image.st_mtim.tv_nsec < mod.st_ctim.tv_nsec))) {
		r = asprintf(ret_image, "/%s", paths[i]) < 0 ? -ENOMEM : 1;
	}
out:
	for (i = 0; names[i]; i++)
		free(paths[i]);
	return r;
}
