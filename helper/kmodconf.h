/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * modprobe.d files as kmod reads them.  kmod's reader, which decides what a
 * file *means*, differs from what a person sees in the file:
 *   - lines end at "\n" only; a backslash before a newline joins the next
 *     line (also at the end of a comment), a backslash before any other
 *     character is dropped, a backslash at the very end is dropped;
 *   - a NUL byte ends its line's text, but the lines after it are read;
 *   - a line is a comment only if "#" is its very first character;
 *   - words are separated by space and tab only ("\r" is part of a word, so
 *     a CRLF file says "dax_pmem\r", which names no module);
 *   - "-" in module names and aliases is "_" (outside [...] ranges);
 *   - words after the ones a directive takes are ignored, unknown
 *     directives and directives missing a word are ignored.
 * Two files are equivalent when the set of directives kmod takes from them is
 * the same; there is no size limit in kmod, we read at most KMODCONF_MAX
 * bytes and call anything longer different.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define KMODCONF_MAX (64 * 1024)

/* Call FN with each logical line as kmod's reader produces it (NUL-terminated, truncated at a NUL). */
int kmodconf_foreach_line(const char *buf, size_t len, int (*fn)(const char *line, void *userdata), void *userdata);

/* Same directives, as kmod would read A and B. */
bool kmodconf_equivalent(const char *a, size_t alen, const char *b, size_t blen);

/* Does any directive kmod takes from TEXT name device-DAX (dax*, nd:t*)? */
bool kmodconf_mentions_dax(const char *text, size_t len);

/*
 * TEXT rewritten so that any kmod reads the same directives from it when it
 * is concatenated with other files: one logical line per line, backslashes
 * doubled.  Malloc'ed, NUL-terminated.
 */
int kmodconf_normalize(const char *text, size_t len, char **ret, size_t *ret_len);
