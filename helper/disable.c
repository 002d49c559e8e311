// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus disable: take the policy (and daxbus's initramfs opt-ins) out of a
 * root again, but only files that are exactly daxbus's: byte for byte what it
 * writes, or daxctl's link to an equivalent file.  Everything is examined
 * before anything is removed.
 */
#include <getopt.h>

#include "cli.h"
#include "fileio.h"
#include "log.h"
#include "policy.h"
#include "util.h"

enum { OPT_RUNTIME = 0x100, OPT_DRACUT, OPT_INITRAMFS };

static int parse(int argc, char *argv[], struct cli_args *a)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "root", required_argument, NULL, 'r' },
		{ "runtime", no_argument, NULL, OPT_RUNTIME },
		{ "dracut", no_argument, NULL, OPT_DRACUT },
		{ "initramfs", no_argument, NULL, OPT_INITRAMFS },
		{},
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "hr:", options, NULL)) != -1) {
		r = cli_common_option(&VERB_DISABLE, c, argv, a);
		if (r != 0) {
			if (r == 1)
				continue;
			return r;
		}
		if (c == OPT_RUNTIME)
			a->runtime = true;
		else if (c == OPT_DRACUT)
			a->dracut = true;
		else if (c == OPT_INITRAMFS)
			a->initramfs = true;
	}
	if (optind < argc)
		return cli_usage_error("disable ", "unexpected argument '%s'", argv[optind]);
	if (a->runtime && (a->dracut || a->initramfs))
		return cli_usage_error("disable ", "--runtime removes only the runtime policy; it cannot be combined with --%s",
				       a->dracut ? "dracut" : "initramfs");
	return 0;
}

static int refuse(const char *path, const struct policy_found *found)
{
	if (found->state == POLICY_NOT_FILE)
		return log_error_errno(EFOREIGN_DAXBUS, "%s exists and is not a regular file; refusing to touch it", path);
	if (found->state == POLICY_EQUIVALENT)
		return log_error_errno(EFOREIGN_DAXBUS,
				       "%s has the policy's directives but not daxbus's text (comments or spacing differ): "
				       "it is the administrator's file, refusing to remove it; delete it by hand if it should go",
				       path);
	if (found->link_target[0])
		return log_error_errno(EFOREIGN_DAXBUS,
				       "%s is a link to %s, which is not the daxbus policy; refusing to remove it", path,
				       found->link_target);
	return log_error_errno(EFOREIGN_DAXBUS, "%s exists with other content; it belongs to the administrator, refusing to remove it",
			       path);
}

static int remove_all(int rootfd, const struct policy_file *const *files, struct policy_found *found,
		      char *const *paths, unsigned n);

static int run(const struct cli_args *a)
{
	const struct policy_file *files[3];
	struct policy_found found[3];
	char *paths[3] = { NULL };
	_cleanup_close_ int rootfd = -1;
	unsigned n = 0;
	int r;

	/* without --runtime: the root's policy and every opt-in daxbus may have written */
	files[n++] = a->runtime ? &POLICY_MODPROBE_RUN : &POLICY_MODPROBE_ETC;
	if (!a->runtime) {
		files[n++] = &POLICY_DRACUT_DROPIN;
		files[n++] = &POLICY_ITOOLS_DROPIN;
	}
	r = cli_open_root(a->root, &rootfd);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++)
		paths[i] = policy_path(a->root, files[i]); /* named before anything is touched */
	r = remove_all(rootfd, files, found, paths, n);
	for (unsigned i = 0; i < n; i++)
		free(paths[i]);
	return r;
}

static int remove_all(int rootfd, const struct policy_file *const *files, struct policy_found *found,
		      char *const *paths, unsigned n)
{
	int r, refused = 0;

	for (unsigned i = 0; i < n; i++) {
		const char *path = paths[i];

		r = policy_classify(rootfd, files[i], &found[i]);
		if (r < 0)
			return log_error_errno(r, "cannot inspect %s: %m", path);
		if (found[i].state != POLICY_ABSENT && found[i].state != POLICY_OURS && found[i].state != POLICY_LINK)
			refused = refuse(path, &found[i]);
	}
	if (refused < 0)
		return refused;

	for (unsigned i = 0; i < n; i++) {
		const char *path = paths[i];

		r = policy_remove(rootfd, files[i], &found[i]);
		if (r == -EFOREIGN_DAXBUS)
			return refuse(path, &found[i]);
		if (r == -ECHANGED_DAXBUS)
			return log_error_errno(r, "%s changed while daxbus was removing it; left alone", path);
		if (r == -EEXIST)
			return log_error_errno(r, "cannot remove %s: a leftover .#%s" REMOVE_SUFFIX " that is not daxbus's is in "
						  "the way (see above); move it away by hand", path, files[i]->name);
		if (r < 0)
			return log_error_errno(r, "failed to remove %s: %m", path);
		if (found[i].state == POLICY_ABSENT)
			log_info("%s: not present", path);
		else
			log_info("removed %s", path);
	}
	return 0;
}

const struct verb VERB_DISABLE = {
	.name = "disable",
	.synopsis = "[--root DIR] [--runtime | --dracut | --initramfs]",
	.help = "remove the policy and daxbus's initramfs opt-ins if they are daxbus's (--runtime: only DIR/run/modprobe.d's)",
	.parse = parse,
	.run = run,
};
