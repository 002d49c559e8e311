/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * modprobe.d files as kmod reads them.  kmod's reader, which decides what a
 * file *means*, differs from what a person sees in the file:
 *   - lines end at "\n" only; a backslash before a newline joins the next
 *     line (also at the end of a comment), a backslash before any other
 *     character is dropped;
 *   - a NUL byte ends its line's text, but the lines after it are read;
 *   - a line is a comment only if "#" is its very first character;
 *   - words are separated by space and tab only ("\r" is part of a word, so
 *     a CRLF file says "dax_pmem\r", which names no module);
 *   - "-" in module names and aliases is "_" (outside [...] ranges);
 *   - words after the ones a directive takes are ignored, unknown
 *     directives and directives missing a word are ignored.
 * kmod's versions read some files differently (checked against the modprobe
 * -c of kmod 28, 30 and 34, the Debian 11, 12 and 13 ones):
 *   - a backslash at the very end of a file (no newline after it): kmod 34
 *     drops it, kmod 28 to 33 read it as a 0xff byte (EOF cast to char);
 *   - "weakdep MODULE DEPS": a directive from kmod 33 on, unknown before.
 * A root may be booted by any of them, so two files are equivalent only when
 * the directives each version takes from them are the same for both; there
 * is no size limit in kmod, we read at most KMODCONF_MAX bytes and call
 * anything longer different.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define KMODCONF_MAX (64 * 1024)

/* How a kmod version reads a file: kmod 28 to 32, or 34 (33 lies between: weakdep, and 28's end of file). */
enum kmod_reading { KMOD_READING_28, KMOD_READING_34 };

/* Call FN with each logical line as READING's reader produces it (NUL-terminated, truncated at a NUL). */
int kmodconf_foreach_line(const char *buf, size_t len, enum kmod_reading reading,
			  int (*fn)(const char *line, void *userdata), void *userdata);

/* Same directives, as every kmod version would read A and B. */
bool kmodconf_equivalent(const char *a, size_t alen, const char *b, size_t blen);

/* Does any directive some kmod takes from TEXT name device-DAX (dax*, nd:t*)? */
bool kmodconf_mentions_dax(const char *text, size_t len);

/*
 * TEXT rewritten so that any kmod reads the same directives from it when it
 * is concatenated with other files: one logical line per line (as kmod 34
 * reads it), backslashes doubled.  Malloc'ed, NUL-terminated.
 */
int kmodconf_normalize(const char *text, size_t len, char **ret, size_t *ret_len);
