/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers shared by every part of the daxbus helper. */
#pragma once

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
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_free_ __attribute__((cleanup(freep)))

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

/* Hand an fd to the caller, so the cleanup handler does not close it. */
static inline int take_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

/* Hand a pointer to the caller, likewise. */
#define TAKE_PTR(p)                        \
	({                                 \
		__typeof__(p) _p = (p);    \
		(p) = NULL;                \
		_p;                        \
	})

/* "ROOT/REL" for messages: no doubled slash, "/" as root adds nothing. */
char *path_join_root(const char *root, const char *rel);
