// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which OSTree deployment a root was booted from.  ostree-prepare-root
 * leaves /run/ostree-booted; the kernel's ostree= argument names the
 * deployment through the boot links (/ostree/boot.N/OS/BOOTCSUM/SERIAL ->
 * ../../../deploy/OS/deploy/CSUM.SERIAL), and /ostree is itself a link to
 * the physical root's /sysroot/ostree.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "ostree.h"
#include "util.h"

int ostree_detect(int rootfd, const char *root, struct ostree_booted *ret)
{
	_cleanup_free_ char *value = NULL, *joined = NULL, *real = NULL;
	struct cmdline cmdline = { 0 };
	const char *p;
	size_t n;
	int r;

	*ret = (struct ostree_booted){ 0 };
	ret->booted = faccessat(rootfd, "run/ostree-booted", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (!ret->booted)
		return 0;
	r = cmdline_read(rootfd, &cmdline);
	if (r < 0)
		return r;
	r = cmdline_get(&cmdline, "ostree", &value);
	cmdline_free(&cmdline);
	if (r <= 0 || !value || value[0] != '/')
		return r < 0 ? r : 0;
	/* the links are relative or start at /ostree: resolving them below ROOT stays below it */
	if (asprintf(&joined, "%s%s", streq(root, "/") ? "" : root, value) < 0)
		return -ENOMEM;
	real = realpath(joined, NULL);
	if (!real)
		return errno == ENOMEM ? -ENOMEM : 0;
	p = real;
	n = streq(root, "/") ? 0 : strlen(root);
	if (n && strncmp(p, root, n) == 0)
		p += n;
	/* seen from the booted deployment, the physical root is /sysroot */
	if (strncmp(p, "/sysroot/", 9) == 0)
		p += 8;
	snprintf(ret->deployment, sizeof(ret->deployment), "%s", p);
	return 0;
}
