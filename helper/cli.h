/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command line: one table of commands (main.c), each with its own option
 * parser and its own file.  Adding a command is one file and one table row.
 * Parsing never touches the system, so it can be tested and fuzzed alone.
 */
#pragma once

#include <stdbool.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Everything any command takes; each command fills what it accepts. */
struct cli_args {
	const struct verb *verb;
	const char *root;    /* --root, default "/" */
	const char *sysroot; /* initrd root: --sysroot, default /sysroot */
	const char *kver;    /* status --kver */
	const char *step;    /* initrd early|root */
	int log;             /* initrd --log: -1 default, else enum log_target */
	bool runtime, dracut, initramfs, json, dry_run;
};

struct verb {
	const char *name;
	const char *synopsis; /* the options, for usage lines */
	const char *help;     /* one line */
	/* Parse ARGV (ARGV[0] is the command's name); 0, or EXIT_USAGE after saying why. */
	int (*parse)(int argc, char *argv[], struct cli_args *a);
	/* 0 when the system is in the requested state, else a negative errno (already logged). */
	int (*run)(const struct cli_args *a);
};

/*
 * Parse a whole command line (ARGV[0] is the program).  Returns 0 with *RET
 * filled (run it), EXIT_USAGE after printing why, or -1 when --help or
 * --version was answered (exit 0).
 */
int cli_parse(int argc, char *argv[], struct cli_args *ret);
void cli_args_free(struct cli_args *a);

/* Shared by the parsers: a usage error, printed once, then EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The verb's own --help text, generated from its table row. */
void cli_verb_help(const struct verb *v);
/*
 * Common options (--root DIR, --help) and getopt's complaints, for the
 * parsers' loops: 1 handled, 0 not a common option, -1 help printed,
 * EXIT_USAGE after saying why.  ARGV is the parser's, for naming a bad option.
 */
int cli_common_option(const struct verb *v, int opt, char *argv[], struct cli_args *a);

/* Open --root for a command, logging why it cannot be used. */
int cli_open_root(const char *root, int *ret_fd);

/* The commands, one file each. */
extern const struct verb VERB_ENABLE, VERB_DISABLE, VERB_STATUS, VERB_INITRD, VERB_MIGRATE;
