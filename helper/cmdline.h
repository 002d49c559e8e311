/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel command line as dracut's getcmdline sees it: the files baked into
 * the image (the .conf files in etc/cmdline.d, then etc/cmdline) followed by /proc/cmdline,
 * so that the running kernel's arguments win.
 */
#pragma once

/* Read and join the three sources beneath ROOTFD (missing ones are skipped). */
int cmdline_read(int rootfd, char **ret);

/*
 * Last occurrence of KEY.  Returns 1 and sets *ret_value (NULL for a bare
 * "key") when present, 0 when absent.
 */
int cmdline_get(const char *cmdline, const char *key, char **ret_value);

/*
 * KEY as a boolean: 0/no/off/false, 1/yes/on/true, a bare key is true.
 * Absent: DEF.  Anything else: a warning naming the value, and DEF.
 */
int cmdline_get_bool(const char *cmdline, const char *key, int def);
