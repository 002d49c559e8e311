/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The subcommands.  Each returns 0 when the system is in the requested state
 * (whether or not anything had to be written) and a negative errno after
 * logging the reason once; main() maps that to the exit status.
 */
#pragma once

#include <stdbool.h>

int cmd_enable(const char *root, bool runtime, bool dracut);
int cmd_disable(const char *root, bool runtime);
int cmd_status(const char *root, const char *kver, bool json);

/* Open --root, logging why it cannot be used (shared by the commands). */
int open_root_or_log(const char *root, int *ret_fd);

/* The two initramfs steps (see dracut/ for where they run). */
int cmd_initrd_early(const char *root);
int cmd_initrd_root(const char *root, const char *sysroot);
