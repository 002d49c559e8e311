// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus: make a root use the /sys/bus/dax device model by installing the
 * kmod policy of modprobe.d/daxctl.conf.  The command table and main(),
 * which turns results into exit statuses:
 *   0  done, or already in place      1  failure (reason on stderr)
 *   2  usage error                    3 and up: a command's own (daxbus(8))
 */
#include "cli.h"
#include "log.h"
#include "util.h"
#include "verbs.h"

static const struct verb *const VERBS[] = {
	&VERB_ENABLE,
	&VERB_DISABLE,
	&VERB_STATUS,
	&VERB_MIGRATE,
	&VERB_INITRD,
};

int main(int argc, char *argv[])
{
	const struct verb *verb;
	_cleanup_free_ void *args = NULL;
	int r;

	r = cli_parse(argc, argv, VERBS, ELEMENTSOF(VERBS), &verb, &args);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	if (r == 0)
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	if (((const struct cli_common *)args)->verbose)
		log_set_max_level(LOG_DEBUG);
	r = verb->run(args);
	return r < 0 ? EXIT_FAIL : r;
}
