// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus disable: take the policy (and daxbus's initramfs opt-ins) out of a
 * root again, but only files that are exactly daxbus's: byte for byte what it
 * writes (or wrote in an earlier version), or daxctl's link to an equivalent
 * file.  Everything is examined before anything is removed.
 */
#include "fileio.h"
#include "log.h"
#include "policy.h"
#include "report.h"
#include "util.h"
#include "verbs.h"

static int operands(void *args, int argc, char *argv[])
{
	struct policy_args *a = args;

	if (argc > 0)
		return cli_usage_error(&VERB_DISABLE, "unexpected argument '%s'", argv[0]);
	if (a->runtime && (a->dracut || a->initramfs))
		return cli_usage_error(&VERB_DISABLE, "--runtime removes only the runtime policy; it cannot be combined with --%s",
				       a->dracut ? "dracut" : "initramfs");
	if (a->dracut && a->initramfs)
		return cli_usage_error(&VERB_DISABLE, "--dracut and --initramfs exclude each other (either removes every opt-in)");
	return 0;
}

#define MAX_FILES 3

static bool disable_may_touch(enum policy_state s)
{
	return s == POLICY_ABSENT || s == POLICY_OURS || s == POLICY_LINK;
}

static const struct policy_verb DISABLE = {
	.action = "remove",
	.refusing = "remove",
	.equivalent_hint = "; delete it by hand if it should go",
	.may_touch = disable_may_touch,
};

static int remove_all(int rootfd, struct policy_args *a, const struct policy_file **files, char **paths,
		      struct policy_found *found, unsigned n)
{
	int r;

	for (unsigned i = 0; i < n; i++) {
		char why[400];
		const char *reason = NULL;

		if (a->r.dry_run) {
			bool there = found[i].state != POLICY_ABSENT;

			report_add(&a->r, OBJECT_FILE, paths[i], "remove", there ? RESULT_WOULD : RESULT_UNCHANGED, NULL);
			report_say(&a->r, there ? "remove %s" : "%s: not present, nothing to do", paths[i]);
			continue;
		}
		r = policy_remove(rootfd, files[i], &found[i]);
		if (r == 0) {
			bool did = found[i].state != POLICY_ABSENT;

			report_add(&a->r, OBJECT_FILE, paths[i], "remove", did ? RESULT_DONE : RESULT_UNCHANGED, NULL);
			log_info(did ? "removed %s" : "%s: not present", paths[i]);
			continue;
		}
		if (r == -EFOREIGN_DAXBUS) {
			reason = policy_refusal(&found[i], why, sizeof(why));
			log_error("%s %s; refusing to remove it", paths[i], reason);
		} else if (r == -ECHANGED_DAXBUS)
			log_error_errno(r, "%s changed while daxbus was removing it; left alone", paths[i]);
		else if (r == -EEXIST)
			log_error_errno(r, "cannot remove %s: a leftover .#%s" REMOVE_SUFFIX " that is not daxbus's is in "
					   "the way (see above); move it away by hand", paths[i], files[i]->name);
		else
			log_error_errno(r, "failed to remove %s: %m", paths[i]);
		report_add(&a->r, OBJECT_FILE, paths[i], "remove", r == -EFOREIGN_DAXBUS ? RESULT_REFUSED : RESULT_FAILED,
			   reason ? reason : errmsg(r));
		for (unsigned j = i + 1; j < n; j++)
			report_add(&a->r, OBJECT_FILE, paths[j], "remove", RESULT_SKIPPED, "an earlier file failed");
		return r;
	}
	return 0;
}

static int run_disable(void *args, int rootfd)
{
	struct policy_args *a = args;
	const struct policy_file *files[MAX_FILES];
	struct policy_found found[MAX_FILES];
	char *paths[MAX_FILES] = { NULL };
	unsigned n = 0;
	int r;

	/* without --runtime: the root's policy and every opt-in daxbus may have written */
	files[n++] = a->runtime ? &POLICY_MODPROBE_RUN : &POLICY_MODPROBE_ETC;
	if (!a->runtime) {
		files[n++] = &POLICY_DRACUT_DROPIN;
		files[n++] = &POLICY_ITOOLS_DROPIN;
	}
	for (unsigned i = 0; i < n; i++)
		paths[i] = policy_path(a->c.root, files[i]); /* named before anything is touched */
	r = policy_examine(rootfd, a, &DISABLE, files, paths, found, n);
	if (r == 0)
		r = remove_all(rootfd, a, files, paths, found, n);
	for (unsigned i = 0; i < n; i++)
		free(paths[i]);
	return r;
}

static int run(const void *args)
{
	struct policy_args *a = (struct policy_args *)args;

	return report_run(&a->r, VERB_DISABLE.name, a->c.root, run_disable, a);
}

static const struct cli_option options[] = {
	CLI_OPTION_ROOT,
	CLI_OPTION_FLAG("runtime", 0, "remove only the runtime policy, DIR/run/modprobe.d/daxctl.conf", struct policy_args,
			runtime),
	CLI_OPTION_FLAG("dracut", 0, "accepted for symmetry with enable: every opt-in goes anyway", struct policy_args,
			dracut),
	CLI_OPTION_FLAG("initramfs", 0, "accepted for symmetry with enable: every opt-in goes anyway", struct policy_args,
			initramfs),
	REPORT_OPTIONS(struct policy_args, r),
	CLI_OPTION_VERBOSE,
	CLI_OPTION_HELP,
	{},
};

const struct verb VERB_DISABLE = {
	.name = "disable",
	.summary = "remove the policy and daxbus's initramfs opt-ins, if they are daxbus's",
	.description = "Removes DIR/etc/modprobe.d/daxctl.conf, DIR/etc/dracut.conf.d/daxbus.conf and "
		       "DIR/etc/initramfs-tools/conf.d/daxbus when each is byte for byte what daxbus writes (or "
		       "daxctl's link to the policy). Any other file at those paths is the administrator's: it is "
		       "named and nothing is removed. Rebuild the initramfs afterwards.",
	.options = options,
	.args_size = sizeof(struct policy_args),
	.operands_parse = operands,
	.run = run,
};
