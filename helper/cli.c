// SPDX-License-Identifier: GPL-2.0-only
/* Parsing every command from its option table, and the help built from it.  See cli.h. */
#include <getopt.h>
#include <stdarg.h>

#include "chase.h"
#include "cli.h"
#include "log.h"
#include "util.h"

#include "build-info.h"

#ifndef DAXBUS_VERSION
#define DAXBUS_VERSION "0"
#endif
#ifdef __GLIBC__
#define DAXBUS_LIBC "glibc"
#else
#define DAXBUS_LIBC "musl"
#endif

#define MAX_OPTIONS 24
#define WIDTH 80

int cli_usage_error(const struct verb *v, const char *fmt, ...)
{
	va_list ap;

	fputs("daxbus: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'daxbus %s%s--help'.\n", v ? v->name : "", v ? " " : "");
	return -EINVAL;
}

/* TEXT from column INDENT (the cursor is at column AT), broken at blanks before WIDTH. */
static void print_wrapped(FILE *f, const char *text, int indent, int at)
{
	const char *p = text;

	while (*p) {
		int room = WIDTH - (at > indent ? at : indent), n = (int)strlen(p);

		if (n > room) {
			/* the last blank that fits; a longer word goes on a line of its own */
			int cut = room;

			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = (int)strcspn(p, " ");
			n = cut;
		}
		if (at < indent)
			fprintf(f, "%*s", indent - at, "");
		fprintf(f, "%.*s\n", n, p);
		p += n;
		while (*p == ' ')
			p++;
		at = 0;
	}
}

/* "-r, --root=DIR" */
static int option_label(const struct cli_option *o, char *buf, size_t size)
{
	return snprintf(buf, size, "%c%c%c --%s%s%s", o->short_name ? '-' : ' ', o->short_name ? o->short_name : ' ',
			o->short_name ? ',' : ' ', o->name, o->value ? "=" : "", o->value ? o->value : "");
}

void cli_verb_help(const struct verb *v, FILE *f)
{
	int col = 0;
	char label[64];

	fprintf(f, "Usage: daxbus %s [OPTIONS]%s%s\n", v->name, v->operands ? " " : "", v->operands ? v->operands : "");
	print_wrapped(f, v->summary, 0, 0);
	if (v->description) {
		fputc('\n', f);
		print_wrapped(f, v->description, 0, 0);
	}
	fputs("\nOptions:\n", f);
	for (const struct cli_option *o = v->options; o->name; o++) {
		int n = option_label(o, label, sizeof(label));

		if (n > col)
			col = n;
	}
	col += 4; /* two in front, two between */
	for (const struct cli_option *o = v->options; o->name; o++) {
		int n = option_label(o, label, sizeof(label));

		fprintf(f, "  %s", label);
		print_wrapped(f, o->help, col, n + 2);
	}
	fputs("\nSee daxbus(8).\n", f);
}

static void help(FILE *f, const struct verb *const *verbs, size_t n)
{
	size_t col = strlen("help");

	fputs("Usage: daxbus COMMAND [OPTIONS]\n"
	      "Use the /sys/bus/dax device model for persistent-memory device-DAX from the first boot.\n\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < n; i++)
		if (strlen(verbs[i]->name) > col)
			col = strlen(verbs[i]->name);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  %-*s  ", (int)col, verbs[i]->name);
		print_wrapped(f, verbs[i]->summary, (int)col + 4, (int)col + 4);
	}
	fprintf(f, "  %-*s  show this help\n", (int)col, "help");
	fputs("\nOptions without a command:\n"
	      "  -h, --help     show this help\n"
	      "  -V, --version  show the version\n\n"
	      "'daxbus COMMAND --help' lists the options of a command.\n"
	      "Exit status: 0 done or already in place, 1 failure, 2 usage error;\n"
	      "see daxbus(8) for each command's.\n",
	      f);
}

/* getopt could not take the word at ARGV[optind - 1]: say why, naming the option as typed. */
static int bad_option(const struct verb *v, char *argv[], int argc)
{
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "-";

	if (word[0] == '-' && word[1] != '-') {
		/* short options: optopt is the letter; a known one lacked its value */
		for (const struct cli_option *o = v->options; o->name; o++)
			if (o->short_name && o->short_name == optopt && o->value)
				return cli_usage_error(v, "-%c needs %s %s", optopt, streq(o->value, "DIR") ? "a" : "a value,",
						       streq(o->value, "DIR") ? "directory" : o->value);
		return cli_usage_error(v, "%s does not take -%c", v->name, optopt);
	}
	/* long options, maybe abbreviated as getopt allows: which one was meant? */
	{
		const char *name = word + strspn(word, "-");
		size_t len = strcspn(name, "=");
		const struct cli_option *found = NULL;
		unsigned matches = 0;

		for (const struct cli_option *o = v->options; o->name; o++)
			if (len > 0 && strncmp(o->name, name, len) == 0) {
				matches++;
				found = o;
				if (strlen(o->name) == len) { /* exact: not ambiguous */
					matches = 1;
					break;
				}
			}
		if (matches > 1)
			return cli_usage_error(v, "--%.*s is ambiguous", (int)len, name);
		if (!found)
			return cli_usage_error(v, "%s does not take --%.*s", v->name, (int)len, name);
		if (found->value)
			return cli_usage_error(v, "--%s needs a value", found->name);
		return cli_usage_error(v, "--%s does not take a value", found->name);
	}
}

/* Parse ARGV (ARGV[0] is the command's name) into ARGS: < 0 error, 0 help printed, > 0 go on. */
static int parse_verb(const struct verb *v, int argc, char *argv[], void *args)
{
	struct option longopts[MAX_OPTIONS + 1] = { 0 };
	char shortopts[3 * MAX_OPTIONS + 1] = "";
	struct cli_common *c = args;
	size_t n = 0, s = 0;
	int ch, r;

	for (const struct cli_option *o = v->options; o->name && n < MAX_OPTIONS; o++, n++) {
		longopts[n] = (struct option){ o->name, o->value ? required_argument : no_argument, NULL, 256 + (int)n };
		if (o->short_name) {
			shortopts[s++] = o->short_name;
			if (o->value)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';
	optind = 0; /* a fresh getopt for every parse */
	opterr = 0; /* bad_option() says what was wrong, once */
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct cli_option *o = NULL;

		if (ch >= 256 && ch < 256 + (int)n)
			o = &v->options[ch - 256];
		else
			for (const struct cli_option *p = v->options; p->name; p++)
				if (p->short_name && p->short_name == ch)
					o = p;
		if (!o)
			return bad_option(v, argv, argc);
		switch (o->id) {
		case CLI_HELP:
			cli_verb_help(v, stdout);
			return 0;
		case CLI_ROOT:
			if (!*optarg)
				return cli_usage_error(v, "--root needs a directory");
			c->root = optarg;
			break;
		case CLI_VERBOSE:
			c->verbose = true;
			break;
		case CLI_FLAG:
			*(bool *)((char *)args + o->flag) = true;
			break;
		default:
			r = v->option(args, o->id, o->value ? optarg : NULL);
			if (r < 0)
				return r;
		}
	}
	if (v->operands_parse)
		r = v->operands_parse(args, argc - optind, argv + optind);
	else
		r = optind < argc ? cli_usage_error(v, "unexpected argument '%s'", argv[optind]) : 0;
	return r < 0 ? r : 1;
}

int cli_parse(int argc, char *argv[], const struct verb *const *verbs, size_t n_verbs,
	      const struct verb **ret_verb, void **ret_args)
{
	const struct verb *v = NULL;
	_cleanup_free_ void *args = NULL;
	char names[128] = "";
	int r;

	for (size_t i = 0; i < n_verbs; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s, ", verbs[i]->name);
	if (argc < 2)
		return cli_usage_error(NULL, "missing command (%shelp)", names);
	if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
		help(stdout, verbs, n_verbs);
		return 0;
	}
	if (streq(argv[1], "--version") || streq(argv[1], "-V")) {
		puts("daxbus " DAXBUS_VERSION);
		puts("libkmod " DAXBUS_KMOD_VERSION " (" DAXBUS_KMOD_SOURCE "), " DAXBUS_LIBC);
		return 0;
	}
	for (size_t i = 0; i < n_verbs; i++)
		if (streq(argv[1], verbs[i]->name))
			v = verbs[i];
	if (!v) {
		if (argv[1][0] == '-')
			return cli_usage_error(NULL, "missing command before '%s' (%shelp)", argv[1], names);
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	}
	args = calloc(1, v->args_size);
	if (!args)
		return log_error_errno(ENOMEM, "cannot parse the command line: %m");
	((struct cli_common *)args)->root = "/";
	if (v->defaults)
		v->defaults(args);
	r = parse_verb(v, argc - 1, argv + 1, args);
	if (r <= 0)
		return r;
	*ret_verb = v;
	*ret_args = TAKE_PTR(args);
	return 1;
}

int cli_open_root(const char *root, int *ret_fd)
{
	int r = root_open(root, ret_fd);

	return r < 0 ? log_error_errno(r, "root %s: %m", root) : 0;
}
