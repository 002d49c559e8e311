// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the kernel command line parser.  The first line of the
 * input is the key, the rest the command line.  cmdline_get must return
 * 1, 0 or a negative errno, set a value only when it found the key, and
 * cmdline_get_bool must agree with it about presence.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t klen = nl ? (size_t)(nl - (const char *)data) : 0;
	char *key, *line, *value = NULL, *slot;
	struct cmdline c;
	int r;

	if (!nl || klen == 0 || memchr(data, '\0', klen))
		return 0;
	key = strndup((const char *)data, klen);
	line = strndup(nl + 1, size - klen - 1);
	if (!key || !line)
		abort();

	cmdline_from_string(line, &c, &slot);
	r = cmdline_get(&c, key, &value);
	if (r != 0 && r != 1 && r >= 0)
		abort();
	if (r != 1 && value)
		abort(); /* a value without the key */
	bool t = cmdline_get_bool(&c, key, true), f = cmdline_get_bool(&c, key, false);
	if (r == 0 && (!t || f))
		abort(); /* absent, but the default was not used */
	if (r == 1 && t != f)
		abort(); /* present, but the default leaked through */
	free(value);
	free(key);
	free(line);
	return 0;
}
