/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Running a piece of work that may crash, grow without bound or hang (a
 * library parsing files we do not control, a look at a file on a file
 * system that may not answer) in a child process with memory, CPU and
 * wall-clock limits.  What the child writes comes back through a pipe; a
 * crash or a missed deadline is an answer, never a crash or a hang of ours.
 */
#pragma once

#include <stddef.h>

struct isolate_limits {
	unsigned long memory; /* RLIMIT_AS in bytes, 0: none (sanitizer builds reserve terabytes of shadow) */
	unsigned cpu_seconds; /* RLIMIT_CPU */
	long wall_ms;         /* the child is killed after this */
};

/*
 * Run FN(DATA, OUTFD) in a child with LIMITS.  What FN writes to OUTFD (at
 * most MAX bytes are kept) is returned in *RET (malloc'ed, NUL-terminated
 * after *RET_LEN bytes).  0 when the child exited 0 in time; -ETIMEDOUT when
 * it was killed at the deadline and -ELIBFAIL_DAXBUS when it crashed or
 * failed (*RET then holds what it wrote before, callers may use a prefix);
 * -errno when no child could be started (*RET untouched).
 */
int isolate_run(void (*fn)(void *data, int outfd), void *data, const struct isolate_limits *limits, size_t max,
		char **ret, size_t *ret_len);
