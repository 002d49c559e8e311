// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the modprobe.d content scanner, as kmod's reader would
 * see a file: every logical line, and whether any directive names
 * device-DAX.  Each line handed out must be a NUL-terminated string within
 * bounds (ASan checks the reads).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmodconf.h"

static int count_line(const char *line, void *userdata)
{
	size_t *n = userdata;

	*n += strlen(line) + 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	size_t total = 0;

	if (!text)
		abort();
	memcpy(text, data, size);
	(void)kmodconf_foreach_line(text, size, KMOD_READING_28, count_line, &total);
	(void)kmodconf_foreach_line(text, size, KMOD_READING_34, count_line, &total);
	(void)kmodconf_mentions_dax(text, size);
	free(text);
	return 0;
}
