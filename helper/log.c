// SPDX-License-Identifier: GPL-2.0-only
/*
 * Logging.  Interactive use writes to stderr; in the initramfs each line goes
 * to /dev/kmsg with a "daxbus:" prefix so it lands in the kernel log and the
 * journal, where administrators look after a boot.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

static enum log_target target = LOG_STDERR;
static bool quiet;
static int kmsg_fd = -1;

void log_set_target(enum log_target t)
{
	target = t;
	if (t == LOG_KMSG && kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
}

void log_set_quiet(bool q)
{
	quiet = q;
}

/* Syslog levels as /dev/kmsg understands them: <3> err, <4> warning, <6> info. */
static void log_emit(int level, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (target == LOG_KMSG && kmsg_fd >= 0) {
		char line[1100];
		int n = snprintf(line, sizeof(line), "<%d>daxbus: %s\n", level, msg);

		if (n > 0 && write(kmsg_fd, line, (size_t)n) == n) {
			errno = saved;
			return;
		}
	}
	/* stderr fallback, also when /dev/kmsg is missing or refuses us */
	if (level <= 4)
		fprintf(stderr, "daxbus: %s%s\n", level <= 3 ? "error: " : "warning: ", msg);
	else if (!quiet)
		fprintf(stderr, "daxbus: %s\n", msg);
	errno = saved;
}

#define DEFINE_LOG(name, level)                        \
	void name(const char *fmt, ...)                \
	{                                              \
		va_list ap;                            \
		va_start(ap, fmt);                     \
		log_emit(level, fmt, ap);              \
		va_end(ap);                            \
	}

DEFINE_LOG(log_info, 6)
DEFINE_LOG(log_warn, 4)
DEFINE_LOG(log_error, 3)
