// SPDX-License-Identifier: GPL-2.0-only
/*
 * What enable and disable share: every file a run would write or remove is
 * looked at before anything is done, and each one the run may not touch is
 * refused with its reason, so a refusal changes nothing.
 */
#include "log.h"
#include "policy.h"
#include "report.h"
#include "util.h"
#include "verbs.h"

int policy_examine(int rootfd, struct policy_args *a, const struct policy_verb *v, const struct policy_file **files,
		   char **paths, struct policy_found *found, unsigned n)
{
	int r, refused = 0;

	for (unsigned i = 0; i < n; i++) {
		r = policy_classify(rootfd, files[i], &found[i]);
		if (r < 0)
			return log_error_errno(r, "cannot inspect %s: %m", paths[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		_cleanup_free_ char *where = NULL;
		const char *reason;
		char why[400];

		if (v->may_touch(found[i].state))
			continue;
		where = policy_resolved_path(rootfd, files[i], paths[i]);
		reason = policy_refusal(&found[i], why, sizeof(why));
		refused = log_error_errno(EFOREIGN_DAXBUS, "%s %s; refusing to %s it%s", where ? where : paths[i], reason,
					  v->refusing,
					  found[i].state == POLICY_EQUIVALENT && v->equivalent_hint ? v->equivalent_hint : "");
		report_add(&a->r, OBJECT_FILE, paths[i], v->action, RESULT_REFUSED, reason);
	}
	if (refused == 0 && v->also)
		refused = v->also(rootfd, a, paths);
	if (refused < 0)
		for (unsigned i = 0; i < n; i++)
			if (v->may_touch(found[i].state))
				report_add(&a->r, OBJECT_FILE, paths[i], v->action, RESULT_SKIPPED, "another file was refused");
	return refused;
}
