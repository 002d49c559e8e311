// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus: make a root use the /sys/bus/dax device model by installing the
 * kmod policy of modprobe.d/daxctl.conf.  This file only
 * parses arguments and turns results into exit statuses:
 *   0  done, or already in place      1  failure (reason on stderr)
 *   2  usage error
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "commands.h"
#include "util.h"

#ifndef DAXBUS_VERSION
#define DAXBUS_VERSION "0"
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fputs("Usage: daxbus COMMAND [OPTIONS]\n"
	      "Use the /sys/bus/dax device model for persistent-memory device-DAX.\n"
	      "\n"
	      "Commands:\n"
	      "  enable [--root DIR] [--runtime] [--dracut]\n"
	      "        install the policy as DIR/etc/modprobe.d/daxctl.conf\n"
	      "        (--runtime: DIR/run/modprobe.d, this boot only;\n"
	      "         --dracut: also DIR/etc/dracut.conf.d/daxbus.conf, so every\n"
	      "         initramfs built for DIR includes the daxbus module)\n"
	      "  disable [--root DIR] [--runtime]\n"
	      "        remove the policy (and the dracut drop-in) if they are daxbus's\n"
	      "  status [--root DIR] [--kver VERSION] [--json]\n"
	      "        kernel kind, effective policy, what nd:t7 loads, live devices\n"
	      "  initrd early|root [--root DIR] [--sysroot DIR] [--log kmsg|stderr]\n"
	      "        the initramfs steps run by the dracut module\n"
	      "\n"
	      "Options:\n"
	      "  -r, --root DIR     operate on the system below DIR (default /)\n"
	      "  -h, --help         show this help\n"
	      "  -V, --version      show the version\n"
	      "\n"
	      "Exit status: 0 done or already in place, 1 failure, 2 usage error.\n"
	      "See daxbus(8).\n",
	      f);
}

enum { OPT_RUNTIME = 0x100, OPT_DRACUT, OPT_KVER, OPT_JSON, OPT_SYSROOT, OPT_LOG };

static const struct option options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "root", required_argument, NULL, 'r' },
	{ "runtime", no_argument, NULL, OPT_RUNTIME },
	{ "dracut", no_argument, NULL, OPT_DRACUT },
	{ "kver", required_argument, NULL, OPT_KVER },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "sysroot", required_argument, NULL, OPT_SYSROOT },
	{ "log", required_argument, NULL, OPT_LOG },
	{ 0 },
};

static int bad_usage(const char *fmt, const char *arg)
{
	fputs("daxbus: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'daxbus --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Which options each command takes; anything else is a usage error. */
static const struct {
	const char *name;
	const char *allowed; /* option names, space separated */
	int positionals;
} commands[] = {
	{ "enable", " root runtime dracut ", 0 },
	{ "disable", " root runtime ", 0 },
	{ "status", " root kver json ", 0 },
	{ "initrd", " root sysroot log ", 1 },
};

int main(int argc, char *argv[])
{
	const char *root = "/", *sysroot = "/sysroot", *kver = NULL, *step = NULL;
	bool runtime = false, dracut = false, json = false;
	int log = -1, cmd = -1;
	struct timespec t0, t1;
	int c, r;

	if (argc < 2)
		return bad_usage("%s", "missing command (enable, disable, status, initrd)");
	for (unsigned i = 0; i < ELEMENTSOF(commands); i++)
		if (streq(argv[1], commands[i].name))
			cmd = (int)i;
	if (cmd < 0 && argv[1][0] != '-')
		return bad_usage("unknown command '%s'", argv[1]);
	if (cmd >= 0) {
		argv++;
		argc--;
	}

	while ((c = getopt_long(argc, argv, "hVr:", options, NULL)) != -1) {
		const char *name = NULL;
		char key[32];

		for (unsigned i = 0; options[i].name; i++)
			if (options[i].val == c)
				name = options[i].name;
		if (cmd >= 0 && name && c != 'h' && c != 'V') {
			snprintf(key, sizeof(key), " %s ", name);
			if (!strstr(commands[cmd].allowed, key)) {
				fprintf(stderr, "daxbus: %s does not take --%s\n", commands[cmd].name, name);
				return bad_usage("%s", "invalid option");
			}
		}
		switch (c) {
		case 'h':
			usage(stdout);
			return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
		case 'V':
			puts("daxbus " DAXBUS_VERSION);
			return EXIT_OK;
		case 'r':
			if (!*optarg)
				return bad_usage("%s", "--root needs a directory");
			root = optarg;
			break;
		case OPT_RUNTIME:
			runtime = true;
			break;
		case OPT_DRACUT:
			dracut = true;
			break;
		case OPT_KVER:
			if (!*optarg || strchr(optarg, '/') || streq(optarg, "..") || streq(optarg, "."))
				return bad_usage("--kver '%s' is not a kernel release", optarg);
			kver = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_SYSROOT:
			if (!*optarg)
				return bad_usage("%s", "--sysroot needs a directory");
			sysroot = optarg;
			break;
		case OPT_LOG:
			if (streq(optarg, "kmsg"))
				log = LOG_KMSG;
			else if (streq(optarg, "stderr"))
				log = LOG_STDERR;
			else
				return bad_usage("--log takes kmsg or stderr, not '%s'", optarg);
			break;
		default:
			return bad_usage("%s", "invalid option");
		}
	}
	if (cmd < 0)
		return bad_usage("%s", "missing command (enable, disable, status, initrd)");
	if (argc - optind != commands[cmd].positionals) {
		if (argc - optind > commands[cmd].positionals)
			return bad_usage("unexpected argument '%s'", argv[optind + commands[cmd].positionals]);
		return bad_usage("%s", "initrd needs a step: early or root");
	}

	switch (cmd) {
	case 0:
		r = cmd_enable(root, runtime, dracut);
		break;
	case 1:
		r = cmd_disable(root, runtime);
		break;
	case 2:
		r = cmd_status(root, kver, json);
		break;
	default:
		step = argv[optind];
		if (!streq(step, "early") && !streq(step, "root"))
			return bad_usage("unknown initrd step '%s' (early or root)", step);
		/* In the initramfs the kernel log is where people look. */
		log_set_target(log < 0 ? LOG_KMSG : (enum log_target)log);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = streq(step, "early") ? cmd_initrd_early(root) : cmd_initrd_root(root, sysroot);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* the boot cost of this step, for people and for make bench */
		log_info("%s step done in %ld us", step,
			 (long)((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000));
		break;
	}
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
