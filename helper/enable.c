// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus enable: put the policy into a root (and, on request, opt the root's
 * initramfs generator in).  Every file involved is examined before anything is
 * written, and a run either completes or takes back what it wrote, so a
 * refusal or a failure leaves the root exactly as it was.
 */
#include <getopt.h>

#include "cli.h"
#include "generator.h"
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
		r = cli_common_option(&VERB_ENABLE, c, argv, a);
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
		return cli_usage_error("enable ", "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Log why FOUND at PATH is in the way; returns the error. */
static int refuse(const char *path, const struct policy_found *found, const char *what)
{
	if (found->state == POLICY_NOT_FILE)
		return log_error_errno(EFOREIGN_DAXBUS, "%s exists and is not a regular file; refusing to touch it", path);
	if (found->link_target[0])
		return log_error_errno(EFOREIGN_DAXBUS,
				       "%s is a link to %s, which is not the daxbus policy; it belongs to the administrator, refusing to %s it",
				       path, found->link_target, what);
	if (found->state == POLICY_EQUIVALENT)
		return log_error_errno(EFOREIGN_DAXBUS,
				       "%s holds the same directives as daxbus's policy but other text (the administrator's file); refusing to %s it",
				       path, what);
	return log_error_errno(EFOREIGN_DAXBUS, "%s exists with other content; it belongs to the administrator, refusing to %s it",
			       path, what);
}

/* The files an invocation manages, in the order they are written. */
static int wanted_files(int rootfd, const struct cli_args *a, const struct policy_file **files, unsigned *n)
{
	*n = 0;
	files[(*n)++] = a->runtime ? &POLICY_MODPROBE_RUN : &POLICY_MODPROBE_ETC;
	if (a->initramfs) {
		struct generators g;

		generators_detect(rootfd, &g);
		if (!g.dracut && !g.itools)
			return log_error_errno(ENOENT, "--initramfs: %s has neither dracut nor initramfs-tools (mkinitramfs); "
						       "nothing to opt in", a->root);
		if (g.dracut)
			files[(*n)++] = &POLICY_DRACUT_DROPIN;
		if (g.itools)
			files[(*n)++] = &POLICY_ITOOLS_DROPIN;
		log_info("initramfs generator of %s: %s%s%s", a->root, g.dracut ? "dracut" : "",
			 g.dracut && g.itools ? " and " : "", g.itools ? "initramfs-tools" : "");
	} else if (a->dracut)
		files[(*n)++] = &POLICY_DRACUT_DROPIN;
	return 0;
}

static int install_all(int rootfd, const struct cli_args *a, const struct policy_file *const *files,
		       struct policy_found *found, bool *written, char *const *paths, unsigned n);

static int run(const struct cli_args *a)
{
	const struct policy_file *files[3];
	struct policy_found found[3];
	bool written[3] = { false };
	char *paths[3] = { NULL };
	_cleanup_close_ int rootfd = -1;
	unsigned n;
	int r;

	r = cli_open_root(a->root, &rootfd);
	if (r < 0)
		return r;
	r = wanted_files(rootfd, a, files, &n);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++)
		paths[i] = policy_path(a->root, files[i]);
	r = install_all(rootfd, a, files, found, written, paths, n);
	for (unsigned i = 0; i < n; i++)
		free(paths[i]);
	return r;
}

static int install_all(int rootfd, const struct cli_args *a, const struct policy_file *const *files,
		       struct policy_found *found, bool *written, char *const *paths, unsigned n)
{
	int r, refused = 0;

	/* look at everything first: a refusal writes nothing */
	for (unsigned i = 0; i < n; i++) {
		const char *path = paths[i];

		r = policy_classify(rootfd, files[i], &found[i]);
		if (r < 0)
			return log_error_errno(r, "cannot inspect %s: %m", path);
		if (found[i].state == POLICY_FOREIGN || found[i].state == POLICY_NOT_FILE)
			refused = refuse(path, &found[i], "replace");
	}
	if (refused < 0)
		return refused;
	if (a->runtime) {
		/* kmod reads /etc's daxctl.conf instead of /run's: a foreign one there defeats us */
		struct policy_found etc;

		if (policy_classify(rootfd, &POLICY_MODPROBE_ETC, &etc) == 0 &&
		    (etc.state == POLICY_FOREIGN || etc.state == POLICY_NOT_FILE)) {
			_cleanup_free_ char *p = path_join_root(a->root, "etc/modprobe.d/daxctl.conf");

			return log_error_errno(EHIDDEN_DAXBUS,
					       "%s is not the daxbus policy and hides any runtime policy (kmod reads only the first "
					       "daxctl.conf it finds); nothing installed",
					       p);
		}
	}

	for (unsigned i = 0; i < n; i++) {
		const char *path = paths[i];

		r = policy_install(rootfd, files[i], &found[i]);
		if (r == 0 && found[i].state == POLICY_ABSENT) {
			written[i] = true;
			log_info("installed %s", path);
			continue;
		}
		if (r == 0) {
			if (found[i].state == POLICY_LINK)
				log_info("%s: already in place (link to %s)", path, found[i].link_target);
			else
				log_info("%s: already in place", path);
			continue;
		}
		if (r == -EFOREIGN_DAXBUS)
			refuse(path, &found[i], "replace");
		else if (r == -ENOENT) {
			/* CHASE_MKDIR creates everything but the first component */
			char top[64];

			snprintf(top, sizeof(top), "%.*s", (int)strcspn(files[i]->dir, "/"), files[i]->dir);
			log_error("failed to write %s: %s/%s does not exist (is %s the root of a system?)", path,
				  streq(a->root, "/") ? "" : a->root, top, a->root);
		} else
			log_error_errno(r, "failed to write %s: %m", path);
		/* all or nothing: take back what this run wrote */
		for (unsigned j = 0; j < i; j++) {
			struct policy_found gone;

			if (written[j] && policy_remove(rootfd, files[j], &gone) == 0)
				log_info("removed %s again", paths[j]);
		}
		return r;
	}
	return 0;
}

const struct verb VERB_ENABLE = {
	.name = "enable",
	.synopsis = "[--root DIR] [--runtime] [--dracut | --initramfs]",
	.help = "install the policy as DIR/etc/modprobe.d/daxctl.conf (--runtime: DIR/run/modprobe.d, this boot only; "
		"--dracut: also opt DIR's dracut in; --initramfs: opt in whichever initramfs generator DIR uses)",
	.parse = parse,
	.run = run,
};
