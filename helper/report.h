/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a changing command (enable, disable, migrate) did, or with --dry-run
 * would do: one entry per action on a file, a device or a module, with its
 * result.  It decides "changed", the JSON output and the exit status 6 of
 * --exit-changed, so config-management tools never parse prose.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* Exit status of --exit-changed when something changed (or would). */
#define EXIT_CHANGED 6

enum action_object { OBJECT_FILE, OBJECT_DEVICE, OBJECT_MODULE };

enum action_result {
	RESULT_DONE,      /* changed */
	RESULT_UNCHANGED, /* already so: nothing to do */
	RESULT_WOULD,     /* --dry-run: would be done */
	RESULT_REFUSED,   /* not done: something of someone else's is in the way */
	RESULT_FAILED,    /* tried, failed */
	RESULT_UNDONE,    /* done, then taken back because a later step failed */
	RESULT_SKIPPED,   /* not tried: an earlier step failed or refused */
};

struct action {
	enum action_object object_kind;
	char *object;   /* the file's path, the device's or module's name */
	char *action;   /* install, remove, unbind, probe, load, ... */
	enum action_result result;
	char *reason;   /* why it was refused or failed, or NULL */
};

/* Options every changing command takes besides its own, and the actions it collected. */
struct report {
	bool json, quiet, dry_run, exit_changed;
	const char *verb, *root;
	struct action *a;
	size_t n;
};

/*
 * Add an action; returns its index (for report_set), or -ENOMEM (the
 * report is then incomplete, which report_print says).
 */
int report_add(struct report *r, enum action_object kind, const char *object, const char *action,
	       enum action_result result, const char *reason);
void report_set(struct report *r, int index, enum action_result result, const char *reason);

/* Anything done or, in a dry run, to be done (an undone action changed nothing). */
bool report_changed(const struct report *r);

/*
 * The end of a changing command: with --json the report object on stdout,
 * then the exit status: ERROR < 0 -> 1, else EXIT_CHANGED with
 * --exit-changed when something changed, else 0.
 */
int report_finish(struct report *r, int error);

void report_free(struct report *r);

/* The options of every changing command, for the option table of TYPE, whose member R is its report. */
#define REPORT_OPTIONS(type, r)                                                                                  \
	CLI_OPTION_FLAG("dry-run", 0, "say what would be done, do nothing", type, r.dry_run),                       \
		CLI_OPTION_FLAG("json", 0, "print what was done as JSON on standard output", type, r.json),         \
		CLI_OPTION_FLAG("quiet", 'q', "print nothing but errors and warnings", type, r.quiet),              \
		CLI_OPTION_FLAG("exit-changed", 0, "exit with status 6 instead of 0 when something changed (or would)", \
				type, r.exit_changed)

/*
 * A changing command from start to end: the log level --quiet asks for,
 * the dry run's header, ROOT opened, FN(ARGS, ROOTFD) doing the work and
 * adding to R, then report_finish().  The exit status.
 */
int report_run(struct report *r, const char *verb, const char *root, int (*fn)(void *args, int rootfd), void *args);

/* A line for people on standard output (a dry run's steps), unless --json or --quiet. */
void report_say(const struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *action_result_to_string(enum action_result v);
