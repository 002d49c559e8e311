/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel command line as dracut's getcmdline sees it: the .conf files of
 * etc/cmdline.d (baked into the image), etc/cmdline, /proc/cmdline, then
 * the .conf files of dracut-ng's run/initramfs/cmdline.d, in that order; the
 * last occurrence of a key wins.  A source that cannot be read (a directory,
 * FIFO, device, loop or an oversized file in its place) is skipped with a
 * warning, so one bad file never throws the others away.
 *
 * Each source (each file, /proc/cmdline) is split on its own, following the
 * kernel's next_arg(): words end at the kernel's white space (space, \t \n
 * \v \f \r and 0xa0) outside double quotes, a quote left open runs to the
 * end of its source, and quotes around a whole value are dropped.  So an
 * unclosed quote in one baked-in file cannot swallow the boot loader's
 * rd.daxbus=0 (dracut-ng's own getarg splits the joined line and would).
 */
#pragma once

#include <stdbool.h>

/* The sources, in order: each one's text, lines joined by spaces. */
struct cmdline {
	char **src;
	size_t n;
};

/* Read the sources beneath ROOTFD.  Fails only for lack of memory. */
int cmdline_read(int rootfd, struct cmdline *ret);
void cmdline_free(struct cmdline *c);

/* One source that is already a string (tests, the fuzzer): *RET borrows TEXT. */
void cmdline_from_string(const char *text, struct cmdline *ret, char **slot);

/*
 * Last occurrence of KEY: 1 and *ret_value (malloc'ed; NULL for a bare
 * "key") when present, 0 when absent, -ENOMEM.
 */
int cmdline_get(const struct cmdline *c, const char *key, char **ret_value);

/*
 * KEY as dracut's getargbool reads it: absent -> DEF; "0", "no", "off" ->
 * false; anything else, a bare key and an empty value included, -> true.
 * A value other than 0/1/no/yes/off/on/false/true is logged as a warning
 * (and, like dracut, taken as true; so is "false").
 */
bool cmdline_get_bool(const struct cmdline *c, const char *key, bool def);
