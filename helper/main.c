// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus: make a root use the /sys/bus/dax device model by installing the
 * kmod policy of modprobe.d/daxctl.conf.  This file holds the command table,
 * the generated help, and turns results into exit statuses:
 *   0  done, or already in place      1  failure (reason on stderr)
 *   2  usage error
 */
#include <getopt.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "chase.h"
#include "cli.h"
#include "log.h"
#include "util.h"

#ifndef DAXBUS_VERSION
#define DAXBUS_VERSION "0"
#endif

static const struct verb *const VERBS[] = {
	&VERB_ENABLE,
	&VERB_DISABLE,
	&VERB_STATUS,
	&VERB_INITRD,
	&VERB_MIGRATE,
};

static void usage(FILE *f)
{
	fputs("Usage: daxbus COMMAND [OPTIONS]\n"
	      "Use the /sys/bus/dax device model for persistent-memory device-DAX.\n\nCommands:\n",
	      f);
	for (size_t i = 0; i < ELEMENTSOF(VERBS); i++)
		fprintf(f, "  %s %s\n        %s\n", VERBS[i]->name, VERBS[i]->synopsis, VERBS[i]->help);
	fputs("  help\n        show this help\n"
	      "\nOptions of every command:\n"
	      "  -r, --root DIR     operate on the system below DIR (default /)\n"
	      "  -h, --help         show the command's help\n"
	      "  -V, --version      show the version (without a command)\n"
	      "\nExit status: 0 done or already in place, 1 failure, 2 usage error.\n"
	      "See daxbus(8).\n",
	      f);
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fputs("daxbus: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	/* VERB, when given, ends with a space: "Try 'daxbus enable --help'." */
	fprintf(stderr, "\nTry 'daxbus %s--help'.\n", verb ? verb : "");
	return EXIT_USAGE;
}

void cli_verb_help(const struct verb *v)
{
	printf("Usage: daxbus %s %s\n%s\nSee daxbus(8).\n", v->name, v->synopsis, v->help);
}

int cli_common_option(const struct verb *v, int opt, char *argv[], struct cli_args *a)
{
	const char *bad;
	char name[64];

	snprintf(name, sizeof(name), "%s ", v->name);
	switch (opt) {
	case 'h':
		cli_verb_help(v);
		return -1;
	case 'r':
		if (!optarg || !*optarg)
			return cli_usage_error(name, "--root needs a directory");
		a->root = optarg;
		return 1;
	case '?':
		/* getopt leaves optind past the word it could not take */
		bad = optind > 0 && argv[optind - 1] ? argv[optind - 1] : "-"; /* past the end: a short option's missing value */
		if (bad[0] == '-' && bad[1] != '-') /* short options: only -r takes a value */
			return optopt == 'r' ? cli_usage_error(name, "-r needs a directory")
					     : cli_usage_error(name, "%s does not take -%c", v->name, optopt);
		/* long options: optopt is 0 for an unknown one, the option's value for a missing argument */
		if (optopt)
			return cli_usage_error(name, "%.*s needs a value", (int)strcspn(bad, "="), bad);
		return cli_usage_error(name, "%s does not take %.*s", v->name, (int)strcspn(bad, "="), bad);
	}
	return 0;
}

int cli_open_root(const char *root, int *ret_fd)
{
	int r = root_open(root, ret_fd);

	return r < 0 ? log_error_errno(r, "root %s: %m", root) : 0;
}

int cli_parse(int argc, char *argv[], struct cli_args *ret)
{
	struct cli_args a = { .root = "/", .sysroot = "/sysroot", .log = -1 };
	int r;

	if (argc < 2)
		return cli_usage_error(NULL, "missing command (enable, disable, status, initrd, migrate, help)");
	if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
		usage(stdout);
		return -1;
	}
	if (streq(argv[1], "--version") || streq(argv[1], "-V")) {
		puts("daxbus " DAXBUS_VERSION);
		return -1;
	}
	for (size_t i = 0; i < ELEMENTSOF(VERBS); i++)
		if (streq(argv[1], VERBS[i]->name))
			a.verb = VERBS[i];
	if (!a.verb) {
		if (argv[1][0] == '-')
			return cli_usage_error(NULL, "missing command before '%s' (enable, disable, status, initrd, migrate, help)", argv[1]);
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	}
	optind = 0; /* a fresh getopt for every parse */
	opterr = 0; /* the parsers say what was wrong, once */
	r = a.verb->parse(argc - 1, argv + 1, &a);
	if (r != 0)
		return r;
	*ret = a;
	return 0;
}

void cli_args_free(struct cli_args *a)
{
	(void)a; /* nothing is allocated today; kept so callers need not change */
}

int main(int argc, char *argv[])
{
	struct cli_args a;
	int r;

	r = cli_parse(argc, argv, &a);
	if (r < 0)
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	if (r > 0)
		return r;
	/* the files we create get exactly the modes we ask for */
	umask(0);
	r = a.verb->run(&a);
	cli_args_free(&a);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
