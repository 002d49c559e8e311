/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A root booted from an OSTree deployment (Fedora CoreOS, Silverblue, RHEL
 * for Edge, bootc images, Debian OSTree builds): its /etc is that
 * deployment's own and is merged into every later deployment; its /usr and
 * its initramfs come from the deployment's commit and are read-only.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>

struct ostree_booted {
	bool booted;               /* ROOT/run/ostree-booted exists */
	char deployment[PATH_MAX]; /* e.g. /ostree/deploy/debian/deploy/CSUM.0; "" if ostree= does not resolve */
};

/* Fill *RET for the root at ROOTFD, path ROOT.  Fails only for lack of memory. */
int ostree_detect(int rootfd, const char *root, struct ostree_booted *ret);
