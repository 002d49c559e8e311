// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus enable: put the policy into a root (and, on request, opt the root's
 * initramfs generator in).  Every file involved is examined before anything is
 * written, and a run either completes or takes back what it wrote, so a
 * refusal or a failure leaves the root exactly as it was.  --dry-run refuses
 * exactly where a real run would, and writes nothing.
 */
#include <fcntl.h>
#include "generator.h"
#include "log.h"
#include "ostree.h"
#include "policy.h"
#include "report.h"
#include "util.h"
#include "verbs.h"

static int operands(void *args, int argc, char *argv[])
{
	struct policy_args *a = args;

	if (argc > 0)
		return cli_usage_error(&VERB_ENABLE, "unexpected argument '%s'", argv[0]);
	if (a->dracut && a->initramfs)
		return cli_usage_error(&VERB_ENABLE, "--dracut and --initramfs exclude each other "
						     "(--initramfs opts in whichever generator the root has)");
	return 0;
}

#define MAX_FILES 3

/* The files an invocation manages, in the order they are written. */
static int wanted_files(int rootfd, const struct policy_args *a, const struct policy_file **files, unsigned *n)
{
	*n = 0;
	files[(*n)++] = a->runtime ? &POLICY_MODPROBE_RUN : &POLICY_MODPROBE_ETC;
	if (a->initramfs) {
		struct generators g;

		generators_detect(rootfd, &g);
		if (!g.dracut && !g.itools)
			return log_error_errno(ENOENT, "--initramfs: %s has neither dracut nor initramfs-tools (mkinitramfs); "
						       "nothing to opt in", a->c.root);
		if (g.dracut)
			files[(*n)++] = &POLICY_DRACUT_DROPIN;
		if (g.itools)
			files[(*n)++] = &POLICY_ITOOLS_DROPIN;
		log_info("initramfs generator of %s: %s%s%s", a->c.root, g.dracut ? "dracut" : "",
			 g.dracut && g.itools ? " and " : "", g.itools ? "initramfs-tools" : "");
		if (g.dracut && !g.dracut_module)
			log_warning("%s has dracut but not daxbus's dracut module: install daxbus into it, or its next "
				    "initramfs will lack daxbus", a->c.root);
	} else if (a->dracut) {
		struct generators g;

		files[(*n)++] = &POLICY_DRACUT_DROPIN;
		generators_detect(rootfd, &g);
		if (!g.dracut_module)
			log_warning("%s has no daxbus dracut module (usr/lib/dracut/modules.d/50daxbus): install daxbus "
				    "into it; until then the drop-in asks dracut for nothing", a->c.root);
	}
	return 0;
}

static bool enable_may_touch(enum policy_state s)
{
	return s != POLICY_FOREIGN && s != POLICY_NOT_FILE;
}

/* --runtime: kmod reads /etc's daxctl.conf instead of /run's, so a foreign one there defeats us. */
static int enable_not_hidden(int rootfd, struct policy_args *a, char **paths)
{
	struct policy_found etc;

	if (a->runtime && policy_classify(rootfd, &POLICY_MODPROBE_ETC, &etc) == 0 && policy_hides(&etc)) {
		_cleanup_free_ char *p = policy_path(a->c.root, &POLICY_MODPROBE_ETC);
		static const char why[] = "hides any runtime policy (kmod reads only the first daxctl.conf it finds)";
		int r = log_error_errno(EHIDDEN_DAXBUS, "%s is not the daxbus policy and %s; nothing installed", p, why);

		report_add(&a->r, OBJECT_FILE, paths[0], "install", RESULT_REFUSED, why);
		return r;
	}
	return 0;
}

static const struct policy_verb ENABLE = {
	.action = "install",
	.refusing = "replace",
	.may_touch = enable_may_touch,
	.also = enable_not_hidden,
};

/* Take back what this run wrote before file I failed: all or nothing. */
static void take_back(int rootfd, struct policy_args *a, const struct policy_file **files, char **paths,
		      const int *index, const bool *written, unsigned upto)
{
	for (unsigned j = 0; j < upto; j++) {
		struct policy_found gone;

		if (!written[j])
			continue;
		if (policy_remove(rootfd, files[j], &gone) == 0) {
			log_info("removed %s again", paths[j]);
			report_set(&a->r, index[j], RESULT_UNDONE, "a later file could not be written");
		} else
			log_error("%s was written and could not be taken back", paths[j]);
	}
}

static int install(int rootfd, struct policy_args *a, const struct policy_file **files, char **paths,
		   struct policy_found *found, unsigned n)
{
	bool written[MAX_FILES] = { false };
	int index[MAX_FILES], r;

	for (unsigned i = 0; i < n; i++) {
		_cleanup_free_ char *where = NULL;
		char why[400];

		r = policy_install(rootfd, files[i], &found[i]);
		if (r == 0) {
			bool did = found[i].state == POLICY_ABSENT;

			where = policy_resolved_path(rootfd, files[i], paths[i]);
			index[i] = report_add(&a->r, OBJECT_FILE, where ? where : paths[i], "install",
					      did ? RESULT_DONE : RESULT_UNCHANGED, NULL);
			written[i] = did;
			if (did)
				log_info("installed %s", where ? where : paths[i]);
			else if (found[i].state == POLICY_LINK)
				log_info("%s: already in place (link to %s)", paths[i], found[i].link_target);
			else
				log_info("%s: already in place", paths[i]);
			continue;
		}
		if (r == -EFOREIGN_DAXBUS) {
			const char *reason = policy_refusal(&found[i], why, sizeof(why));

			log_error("%s %s; refusing to replace it", paths[i], reason);
			report_add(&a->r, OBJECT_FILE, paths[i], "install", RESULT_REFUSED, reason);
		} else if (r == -ENOENT) {
			/* CHASE_MKDIR creates everything but the first component */
			char top[64];

			snprintf(top, sizeof(top), "%.*s", (int)strcspn(files[i]->dir, "/"), files[i]->dir);
			if (faccessat(rootfd, top, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
				log_error("failed to write %s: %s/%s does not exist (is %s the root of a system?)", paths[i],
					  streq(a->c.root, "/") ? "" : a->c.root, top, a->c.root);
			else /* a link on the way leads to a top-level directory that is not there */
				log_error("failed to write %s: a symbolic link on its way leads to a directory directly "
					  "beneath %s that does not exist (daxbus creates none at the top of a root)",
					  paths[i], a->c.root);
			report_add(&a->r, OBJECT_FILE, paths[i], "install", RESULT_FAILED, "the root has no such directory");
		} else {
			log_error_errno(r, "failed to write %s: %m", paths[i]);
			report_add(&a->r, OBJECT_FILE, paths[i], "install", RESULT_FAILED, errmsg(r));
		}
		take_back(rootfd, a, files, paths, index, written, i);
		for (unsigned j = i + 1; j < n; j++)
			report_add(&a->r, OBJECT_FILE, paths[j], "install", RESULT_SKIPPED, "an earlier file failed");
		return r;
	}
	return 0;
}

static void dry_run(struct policy_args *a, const struct policy_file **files, char **paths,
		    const struct policy_found *found, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		bool in_place = policy_in_place(found[i].state);

		report_add(&a->r, OBJECT_FILE, paths[i], "install", in_place ? RESULT_UNCHANGED : RESULT_WOULD, NULL);
		if (in_place)
			report_say(&a->r, "%s: already in place, nothing to do", paths[i]);
		else
			report_say(&a->r, "install %s%s", files[i]->meaning == MEANING_KMOD ? "the policy as " : "", paths[i]);
	}
}

/* On a booted OSTree deployment, what the /etc write means there (daxbus(8), OSTREE). */
static void ostree_note(int rootfd, const char *root)
{
	struct ostree_booted o;

	if (ostree_detect(rootfd, root, &o) < 0 || !o.booted)
		return;
	log_info("OSTree: %s is the booted deployment's own (%s); later deployments merge it", "/etc",
		 o.deployment[0] ? o.deployment : "ostree= names none");
	log_info("OSTree: reboot to use the bus model; an image that loads the DAX drivers itself needs daxbus "
		 "in the image (dracut --add daxbus when the commit is built)");
}

static int run_enable(void *args, int rootfd)
{
	struct policy_args *a = args;
	const struct policy_file *files[MAX_FILES];
	struct policy_found found[MAX_FILES];
	char *paths[MAX_FILES] = { NULL };
	unsigned n;
	int r;

	r = wanted_files(rootfd, a, files, &n);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++)
		paths[i] = policy_path(a->c.root, files[i]); /* named before anything is touched */
	r = policy_examine(rootfd, a, &ENABLE, files, paths, found, n);
	if (r == 0) {
		if (a->r.dry_run)
			dry_run(a, files, paths, found, n);
		else
			r = install(rootfd, a, files, paths, found, n);
	}
	if (r == 0 && !a->runtime)
		ostree_note(rootfd, a->c.root);
	for (unsigned i = 0; i < n; i++)
		free(paths[i]);
	return r;
}

int enable_install(int rootfd, const char *root, bool runtime, struct report *rep)
{
	struct policy_args a = { .c.root = root, .runtime = runtime, .r = *rep };
	int r = run_enable(&a, rootfd);

	*rep = a.r; /* with the actions added */
	return r;
}

static int run(const void *args)
{
	struct policy_args *a = (struct policy_args *)args;

	return report_run(&a->r, VERB_ENABLE.name, a->c.root, run_enable, a);
}

static const struct cli_option options[] = {
	CLI_OPTION_ROOT,
	CLI_OPTION_FLAG("runtime", 0, "install it in DIR/run/modprobe.d instead: this boot only, /etc untouched",
			struct policy_args, runtime),
	CLI_OPTION_FLAG("dracut", 0, "also opt DIR's dracut in (DIR/etc/dracut.conf.d/daxbus.conf)", struct policy_args,
			dracut),
	CLI_OPTION_FLAG("initramfs", 0, "also opt in whichever initramfs generator DIR has (dracut, initramfs-tools)",
			struct policy_args, initramfs),
	REPORT_OPTIONS(struct policy_args, r),
	CLI_OPTION_VERBOSE,
	CLI_OPTION_HELP,
	{},
};

const struct verb VERB_ENABLE = {
	.name = "enable",
	.summary = "install the policy, so that DIR uses the bus model from its next boot on",
	.description = "Installs the policy as DIR/etc/modprobe.d/daxctl.conf. Every file is examined first: a file "
		       "of someone else's at one of the paths is named and nothing is written; a run that fails "
		       "part-way takes back what it wrote.",
	.options = options,
	.args_size = sizeof(struct policy_args),
	.operands_parse = operands,
	.run = run,
};
