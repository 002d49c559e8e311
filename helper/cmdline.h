/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel command line as dracut's getcmdline sees it: the .conf files of
 * etc/cmdline.d (baked into the image), etc/cmdline, /proc/cmdline, then
 * the .conf files of dracut-ng's run/initramfs/cmdline.d, joined in that order; the last
 * occurrence of a key wins.  A source that cannot be read (a directory, FIFO,
 * device, loop or an oversized file in its place) is skipped with a warning,
 * so one bad file never throws the others away.
 *
 * Splitting and values follow the kernel's next_arg() (which dracut-ng's
 * dracut-getarg also uses): words end at the kernel's white space (space,
 * \t \n \v \f \r and 0xa0) outside double quotes, a quote left open runs to
 * the end, and quotes around a whole value are dropped.
 */
#pragma once

#include <stdbool.h>

/* Read and join the sources beneath ROOTFD.  Fails only for lack of memory. */
int cmdline_read(int rootfd, char **ret);

/*
 * Last occurrence of KEY in CMDLINE: 1 and *ret_value (malloc'ed; NULL for a
 * bare "key") when present, 0 when absent, -ENOMEM.
 */
int cmdline_get(const char *cmdline, const char *key, char **ret_value);

/*
 * KEY as dracut's getargbool reads it: absent -> DEF; "0", "no", "off" ->
 * false; anything else, a bare key and an empty value included, -> true.
 * A value other than 0/1/no/yes/off/on/false/true is logged as a warning
 * (and, like dracut, taken as true; so is "false").
 */
bool cmdline_get_bool(const char *cmdline, const char *key, bool def);
