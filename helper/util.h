/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers shared by every part of the daxbus helper: one cleanup
 * handler per kind of resource (as systemd's _cleanup_*_), one way to hand a
 * resource over (TAKE_FD, TAKE_PTR), string tests, and naming paths for
 * messages.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closedirp(DIR **d)
{
	if (*d) {
		int saved = errno;
		closedir(*d);
		errno = saved;
	}
}
static inline void fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;
		fclose(*f);
		errno = saved;
	}
}
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand a resource to the caller, so the cleanup handler does not release it. */
#define TAKE_FD(fd)                    \
	({                             \
		int _fd = (fd);        \
		(fd) = -1;             \
		_fd;                   \
	})
#define TAKE_PTR(p)                        \
	({                                 \
		__typeof__(p) _p = (p);    \
		(p) = NULL;                \
		_p;                        \
	})

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline bool endswith(const char *s, const char *suffix)
{
	size_t l = strlen(s), n = strlen(suffix);

	return l >= n && memcmp(s + l - n, suffix, n) == 0;
}

/* A string table: NAMES indexed by an enum, looked up both ways. */
#define DEFINE_STRING_TABLE_LOOKUP(name, type, table)                            \
	const char *name##_to_string(type v)                                     \
	{                                                                        \
		return (size_t)v < ELEMENTSOF(table) ? table[v] : NULL;          \
	}

/* "ROOT/REL" for messages: no doubled slash, "/" as root adds nothing.  NULL without memory. */
char *path_join_root(const char *root, const char *rel);

/*
 * What FD (a directory) really is, plus "/NAME" when NAME is given, for
 * messages that must name the file written rather than the path that led
 * to it through links: /proc/self/fd's answer.  FALLBACK (malloc'ed copy)
 * where /proc cannot tell.  NULL without memory.
 */
char *fd_path(int fd, const char *name, const char *fallback);

/* Parse a decimal (BASE 10) or hexadecimal "0x" (BASE 16) number as the kernel prints it, whole string, trailing newline allowed. */
int parse_u64(const char *s, int base, unsigned long long *ret);
int parse_long(const char *s, long *ret);
