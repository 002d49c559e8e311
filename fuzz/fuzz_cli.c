// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the command-line parser.  The input is split at NUL
 * bytes into arguments (after argv[0] "daxbus"); cli_parse must go on (> 0,
 * with a command and its arguments, which must be freeable), refuse with a
 * usage error (-EINVAL) or answer --help/--version (0), never crash.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "verbs.h"

#define MAX_ARGS 24

static const struct verb *const VERBS[] = { &VERB_ENABLE, &VERB_DISABLE, &VERB_STATUS, &VERB_MIGRATE, &VERB_INITRD };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	const struct verb *verb = NULL;
	void *args = NULL;
	int argc = 0, r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"daxbus";
	for (char *p = buf; p <= buf + size && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	r = cli_parse(argc, argv, VERBS, sizeof(VERBS) / sizeof(VERBS[0]), &verb, &args);
	if (r < 0 && r != -EINVAL)
		abort(); /* not one of the documented results */
	if (r > 0 && (!verb || !args))
		abort();
	free(args);
	free(buf);
	return 0;
}
