// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the command-line parser.  The input is split at NUL
 * bytes into arguments (after argv[0] "daxbus"); cli_parse must accept,
 * refuse with EXIT_USAGE or answer --help/--version, never crash, and what
 * it returns in struct cli_args must be freeable.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_ARGS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	struct cli_args a;
	int argc = 0, r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"daxbus";
	for (char *p = buf; p <= buf + size && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	optind = 0; /* glibc: start getopt afresh */
	memset(&a, 0, sizeof(a));
	r = cli_parse(argc, argv, &a);
	if (r != 0 && r != EXIT_USAGE && r != -1)
		abort(); /* not one of the documented results */
	if (r == 0)
		cli_args_free(&a);
	free(buf);
	return 0;
}
