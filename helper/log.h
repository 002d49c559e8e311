/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging, in the spirit of systemd's log.h: syslog levels, one line per
 * message, and *_errno() variants that log and return the (negative) error
 * so a failure path is one statement.  "%m" in a format prints the error
 * passed to the *_errno() call, with daxbus's own texts for its own codes.
 * Interactive use writes to stderr; the initramfs steps log to /dev/kmsg with
 * a "daxbus:" prefix, where administrators look after a boot.
 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

/* Errors of our own, beyond errno's range; errmsg() names them. */
enum {
	DAXBUS_ERRNO_BASE = 4096,
	ENOTREG_DAXBUS,  /* exists, but is not a regular file */
	EFOREIGN_DAXBUS, /* a file that is not ours is in the way */
	EINDEX_DAXBUS,   /* module index missing, empty or corrupt */
	EHIDDEN_DAXBUS,  /* installed, but another file hides it from kmod */
	ECHANGED_DAXBUS, /* changed by someone else while we worked on it */
	ELIBFAIL_DAXBUS, /* a library call crashed or ran out of time (isolated) */
};

/* strerror() for errno values and the codes above; accepts either sign. */
const char *errmsg(int err);

enum log_target { LOG_TARGET_STDERR, LOG_TARGET_KMSG };
void log_set_target(enum log_target t);
/* Messages above LEVEL are dropped: LOG_INFO by default, LOG_DEBUG with
 * --verbose or rd.daxbus.debug, LOG_WARNING with --quiet. */
void log_set_max_level(int level);

int log_full_errno(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_full(level, ...) ((void)log_full_errno((level), 0, __VA_ARGS__))
#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
