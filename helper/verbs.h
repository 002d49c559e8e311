/* SPDX-License-Identifier: GPL-2.0-only */
/* The commands, one file each (verb-NAME.c), for main.c's table. */
#pragma once

#include <stdbool.h>

#include "cli.h"
#include "policy.h"
#include "report.h"

extern const struct verb VERB_ENABLE, VERB_DISABLE, VERB_STATUS, VERB_MIGRATE, VERB_INITRD;

/* enable and disable: which files, and the report. */
struct policy_args {
	struct cli_common c;
	struct report r;
	bool runtime, dracut, initramfs;
};

/*
 * What `enable [--runtime]` does to ROOTFD, the actions added to REP (with
 * REP->dry_run: examined and refused as for real, nothing written).  For
 * migrate, which installs exactly what enable installs.
 */
int enable_install(int rootfd, const char *root, bool runtime, struct report *rep);

/* How enable or disable treats the files in its way (verb-examine.c). */
struct policy_verb {
	const char *action;                    /* in the report: "install", "remove" */
	const char *refusing;                  /* "refusing to <this> it": "replace", "remove" */
	const char *equivalent_hint;           /* added to a refusal of an equivalent file, or NULL */
	bool (*may_touch)(enum policy_state s); /* may the run write or remove a file found so */
	/* when no file was refused, a further reason to refuse (logged, reported, < 0), or NULL */
	int (*also)(int rootfd, struct policy_args *a, char **paths);
};

/*
 * Classify FILES[0..N) (their paths PATHS) into FOUND, then refuse each one
 * V may not touch (logged with its reason, reported refused), then ask
 * V->also; after a refusal, every file V could have touched is reported
 * skipped.  Nothing is written.  Returns 0, the refusal's error (< 0), or
 * the error of a file that could not be looked at.
 */
int policy_examine(int rootfd, struct policy_args *a, const struct policy_verb *v, const struct policy_file **files,
		   char **paths, struct policy_found *found, unsigned n);
