// SPDX-License-Identifier: GPL-2.0-only
/*
 * Logging: stderr for people at a terminal, /dev/kmsg in the initramfs (the
 * kernel log reaches the journal after switch-root).  See log.h.
 */
#include <fcntl.h>
#include <stdarg.h>

#include "log.h"
#include "util.h"

static enum log_target target = LOG_TARGET_STDERR;
static int max_level = LOG_INFO;
static int kmsg_fd = -1;

void log_set_target(enum log_target t)
{
	target = t;
	if (t == LOG_TARGET_KMSG && kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
}

void log_set_max_level(int level)
{
	max_level = level;
}

const char *errmsg(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case ENOTREG_DAXBUS:
		return "not a regular file";
	case EFOREIGN_DAXBUS:
		return "a file that is not daxbus's is in the way";
	case EINDEX_DAXBUS:
		return "module index missing, empty or corrupt";
	case EHIDDEN_DAXBUS:
		return "hidden from kmod by another file of the same name";
	case ECHANGED_DAXBUS:
		return "changed by someone else meanwhile";
	case ELIBFAIL_DAXBUS:
		return "libkmod crashed or took too long (isolated in a child process)";
	}
	return strerror(err);
}

/* Copy FMT with every %m replaced by the error text (its % signs doubled). */
static void expand_m(char *out, size_t size, const char *fmt, int error)
{
	size_t n = 0;

	for (const char *p = fmt; *p && n + 1 < size; p++) {
		if (p[0] == '%' && p[1] == '%') {
			if (n + 2 >= size)
				break;
			out[n++] = *p++;
			out[n++] = *p;
		} else if (p[0] == '%' && p[1] == 'm') {
			for (const char *e = errmsg(error); *e && n + 2 < size; e++) {
				if (*e == '%')
					out[n++] = '%';
				out[n++] = *e;
			}
			p++;
		} else
			out[n++] = *p;
	}
	out[n] = '\0';
}

int log_full_errno(int level, int error, const char *fmt, ...)
{
	char f[512], msg[1024];
	int saved = errno;
	va_list ap;

	if (error > 0)
		error = -error;
	if (level > max_level)
		return error;
	expand_m(f, sizeof(f), fmt, error);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);

	if (target == LOG_TARGET_KMSG && kmsg_fd >= 0) {
		char line[1100];
		int n = snprintf(line, sizeof(line), "<%d>daxbus: %s\n", level, msg);

		if (n > 0 && write(kmsg_fd, line, (size_t)(n < (int)sizeof(line) ? n : (int)sizeof(line) - 1)) > 0) {
			errno = saved;
			return error;
		}
	}
	/* stderr, in one write: also the fallback when /dev/kmsg is missing or refuses us */
	{
		char line[1100];
		int n = snprintf(line, sizeof(line), "daxbus: %s%s\n",
				 level <= LOG_ERR ? "error: " : level == LOG_WARNING ? "warning: " : "", msg);

		if (n > (int)sizeof(line) - 1)
			n = (int)sizeof(line) - 1;
		(void)!write(STDERR_FILENO, line, (size_t)n);
	}
	errno = saved;
	return error;
}
