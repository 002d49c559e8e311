/* SPDX-License-Identifier: GPL-2.0-only */
/* The commands, one file each (verb-NAME.c), for main.c's table. */
#pragma once

#include <stdbool.h>

#include "cli.h"
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
