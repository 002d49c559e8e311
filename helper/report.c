// SPDX-License-Identifier: GPL-2.0-only
/* The actions of a changing command and their output.  See report.h. */
#include <stdarg.h>
#include <syslog.h>

#include "cli.h"
#include "json.h"
#include "log.h"
#include "report.h"
#include "util.h"

static const char *const action_result_table[] = {
	[RESULT_DONE] = "done",       [RESULT_UNCHANGED] = "unchanged", [RESULT_WOULD] = "would",
	[RESULT_REFUSED] = "refused", [RESULT_FAILED] = "failed",       [RESULT_UNDONE] = "undone",
	[RESULT_SKIPPED] = "skipped",
};
DEFINE_STRING_TABLE_LOOKUP(action_result, enum action_result, action_result_table)

static const char *const object_key[] = {
	[OBJECT_FILE] = "file",
	[OBJECT_DEVICE] = "device",
	[OBJECT_MODULE] = "module",
};

/* Set when an action could not be recorded: the report says it is incomplete. */
static bool lost;

int report_add(struct report *r, enum action_object kind, const char *object, const char *action,
	       enum action_result result, const char *reason)
{
	struct action *na, *a;

	na = realloc(r->a, (r->n + 1) * sizeof(*r->a));
	if (!na) {
		lost = true;
		return -ENOMEM;
	}
	r->a = na;
	a = &r->a[r->n];
	*a = (struct action){ .object_kind = kind, .result = result };
	a->object = strdup(object ? object : "");
	a->action = strdup(action);
	a->reason = reason ? strdup(reason) : NULL;
	if (!a->object || !a->action || (reason && !a->reason)) {
		free(a->object);
		free(a->action);
		free(a->reason);
		lost = true;
		return -ENOMEM;
	}
	return (int)r->n++;
}

void report_set(struct report *r, int index, enum action_result result, const char *reason)
{
	struct action *a;

	if (index < 0 || (size_t)index >= r->n)
		return;
	a = &r->a[index];
	a->result = result;
	if (reason) {
		char *s = strdup(reason);

		if (s) {
			free(a->reason);
			a->reason = s;
		} else
			lost = true;
	}
}

bool report_changed(const struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->a[i].result == RESULT_DONE || r->a[i].result == RESULT_WOULD)
			return true;
	return false;
}

static void print_json(const struct report *r, int error)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_int(&j, "version", 1);
	json_string(&j, "command", r->verb);
	json_string(&j, "root", r->root);
	json_bool(&j, "dry_run", r->dry_run);
	json_bool(&j, "changed", report_changed(r));
	json_bool(&j, "complete", !lost);
	json_array_begin(&j, "actions");
	for (size_t i = 0; i < r->n; i++) {
		const struct action *a = &r->a[i];

		json_object_begin(&j, NULL);
		json_string(&j, object_key[a->object_kind], a->object);
		json_string(&j, "action", a->action);
		json_string(&j, "result", action_result_to_string(a->result));
		json_string(&j, "reason", a->reason);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_string(&j, "error", error < 0 ? errmsg(error) : NULL);
	json_object_end(&j);
}

int report_finish(struct report *r, int error)
{
	if (r->json)
		print_json(r, error);
	/* a dry run's steps or the JSON that could not be written: say so (on stderr) */
	if ((fflush(stdout) != 0 || ferror(stdout)) && error >= 0)
		error = log_error_errno(errno ? errno : EIO, "cannot write the %s to standard output: %m",
					r->json ? "report" : "steps");
	if (error < 0)
		return error;
	return r->exit_changed && report_changed(r) ? EXIT_CHANGED : 0;
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->a[i].object);
		free(r->a[i].action);
		free(r->a[i].reason);
	}
	free(r->a);
	r->a = NULL;
	r->n = 0;
}

int report_run(struct report *r, const char *verb, const char *root, int (*fn)(void *args, int rootfd), void *args)
{
	_cleanup_close_ int rootfd = -1;
	int e;

	r->verb = verb;
	r->root = root;
	if (r->quiet)
		log_set_max_level(LOG_WARNING);
	if (r->dry_run)
		report_say(r, "dry run, nothing is changed; the steps:");
	e = cli_open_root(root, &rootfd);
	if (e >= 0)
		e = fn(args, rootfd);
	e = report_finish(r, e);
	report_free(r);
	return e;
}

void report_say(const struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->json || r->quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}
