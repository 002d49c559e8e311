/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command line, in the spirit of systemd's verbs.c and kmod's tools: a
 * table of commands (main.c), each a file of its own with its own options in
 * a table (struct cli_option) and its own argument struct.  One loop here
 * parses every command from its table; the help texts, the usage lines and
 * the error messages are built from the same tables.  Parsing never touches
 * the system, so it can be tested and fuzzed alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* What every command's argument struct begins with; cli.c fills it. */
struct cli_common {
	const char *root; /* --root, default "/" */
	bool verbose;     /* -v: debug messages too */
};

/* One option of a command. */
struct cli_option {
	const char *name;  /* long name, without "--" */
	char short_name;   /* 0: none */
	const char *value; /* NULL: a flag; else the value's name for the help ("DIR") */
	const char *help;  /* one line, for --help */
	int id;            /* >= 0: handed to the command's option(); < 0: one of CLI_* below */
	size_t flag;       /* CLI_FLAG: where the bool it sets is in the command's argument struct */
};

/* Options that cli.c handles itself, for every command that lists them. */
enum { CLI_HELP = -1, CLI_ROOT = -2, CLI_VERBOSE = -3, CLI_FLAG = -4 };
#define CLI_OPTION_ROOT { "root", 'r', "DIR", "operate on the system below DIR (default /)", CLI_ROOT, 0 }
#define CLI_OPTION_VERBOSE { "verbose", 'v', NULL, "also print debug messages", CLI_VERBOSE, 0 }
#define CLI_OPTION_HELP { "help", 'h', NULL, "show this help", CLI_HELP, 0 }
/* A flag that sets the bool MEMBER of the argument struct TYPE. */
#define CLI_OPTION_FLAG(name, short_name, help, type, member) \
	{ name, short_name, NULL, help, CLI_FLAG, offsetof(type, member) }

struct verb {
	const char *name;
	const char *operands;    /* usage words after the options ("early|root"), or NULL */
	const char *summary;     /* one line: the top-level help, and the first line of the command's */
	const char *description; /* what --help adds, wrapped at 80 columns; may be NULL */
	const struct cli_option *options; /* ends with an entry whose name is NULL */
	size_t args_size;        /* the command's argument struct, which begins with struct cli_common */
	void (*defaults)(void *args);
	/* An option of the command's own with a value (id >= 0): 0, or cli_usage_error(). */
	int (*option)(void *args, int id, const char *value);
	/* The words after the options (NULL: none allowed) and checks across options: 0, or cli_usage_error(). */
	int (*operands_parse)(void *args, int argc, char *argv[]);
	/* Do it: an exit status (0: done), or a negative errno (exit 1), already logged. */
	int (*run)(const void *args);
};

/*
 * Parse a whole command line (ARGV[0] is the program) against the command
 * table, systemd's parse_argv convention: < 0 an error (-EINVAL: a usage
 * error, already printed), 0 answered (--help, --version: exit 0), > 0 go
 * on with *RET_VERB and *RET_ARGS (malloc'ed).
 */
int cli_parse(int argc, char *argv[], const struct verb *const *verbs, size_t n_verbs,
	      const struct verb **ret_verb, void **ret_args);

/* Say what was wrong with V's command line (V NULL: before a command), once; returns -EINVAL. */
int cli_usage_error(const struct verb *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The command's help: usage line, summary, description, options; wrapped at 80 columns. */
void cli_verb_help(const struct verb *v, FILE *f);

/* Open the root of a command, saying why it cannot be used. */
int cli_open_root(const char *root, int *ret_fd);
