// SPDX-License-Identifier: GPL-2.0-only
/*
 * enable / disable: put the policy into a root or take it out again.  Every
 * file involved is checked before anything is written, so a refusal leaves the
 * root exactly as it was.
 */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "policy.h"
#include "rootdir.h"
#include "util.h"

int open_root_or_log(const char *root, int *ret_fd)
{
	int r = root_open(root, ret_fd);

	if (r < 0)
		log_error("root %s: %s", root, strerror(-r));
	return r;
}

static int classify_all(int rootfd, const char *root, const struct policy_file *const *files, unsigned n,
			struct policy_found *found, bool for_removal)
{
	int refused = 0;

	for (unsigned i = 0; i < n; i++) {
		const char *path = policy_path(root, files[i]);
		int r = policy_classify(rootfd, files[i], &found[i]);

		if (r < 0) {
			log_error("cannot inspect %s: %s", path, strerror(-r));
			return r;
		}
		if (found[i].state == POLICY_FOREIGN) {
			if (found[i].link_target[0])
				log_error("%s is a link to %s, which is not the daxbus policy; it belongs to the administrator, "
					  "refusing to %s it", path, found[i].link_target, for_removal ? "remove" : "replace");
			else
				log_error("%s exists with other content; it belongs to the administrator, refusing to %s it",
					  path, for_removal ? "remove" : "replace");
			refused = -EEXIST;
		} else if (found[i].state == POLICY_NOT_FILE) {
			log_error("%s exists and is not a regular file; refusing to touch it", path);
			refused = -EEXIST;
		}
	}
	return refused;
}

int cmd_enable(const char *root, bool runtime, bool dracut)
{
	const struct policy_file *files[2];
	struct policy_found found[2];
	bool written[2] = { false, false };
	_cleanup_close_ int rootfd = -1;
	unsigned n = 0;
	int r;

	files[n++] = runtime ? &POLICY_MODPROBE_RUN : &POLICY_MODPROBE_ETC;
	if (dracut)
		files[n++] = &POLICY_DRACUT_DROPIN;

	r = open_root_or_log(root, &rootfd);
	if (r < 0)
		return r;
	r = classify_all(rootfd, root, files, n, found, false);
	if (r < 0)
		return r;

	for (unsigned i = 0; i < n; i++) {
		const char *path = policy_path(root, files[i]);

		if (found[i].state == POLICY_OURS) {
			log_info("%s: already in place", path);
			continue;
		}
		if (found[i].state == POLICY_LINK) {
			log_info("%s: already in place (link to %s)", path, found[i].link_target);
			continue;
		}
		r = policy_install(rootfd, files[i]);
		if (r == -EEXIST) {
			log_error("%s appeared while daxbus was writing it; left alone", path);
		} else if (r == -ENOENT) {
			/* root_open_dir creates everything but the first component */
			char top[64];

			snprintf(top, sizeof(top), "%.*s", (int)strcspn(files[i]->dir, "/"), files[i]->dir);
			log_error("failed to write %s: %s/%s does not exist (is %s the root of a system?)", path,
				  streq(root, "/") ? "" : root, top, root);
		} else if (r < 0) {
			log_error("failed to write %s: %s", path, strerror(-r));
		} else {
			written[i] = true;
			log_info("installed %s", path);
			continue;
		}
		/* All or nothing: take back what this run wrote. */
		for (unsigned j = 0; j < i; j++)
			if (written[j] && policy_remove(rootfd, files[j]) == 0)
				log_info("removed %s again", policy_path(root, files[j]));
		return r;
	}
	return 0;
}

int cmd_disable(const char *root, bool runtime)
{
	const struct policy_file *files[2];
	struct policy_found found[2];
	_cleanup_close_ int rootfd = -1;
	unsigned n = 0;
	int r;

	files[n++] = runtime ? &POLICY_MODPROBE_RUN : &POLICY_MODPROBE_ETC;
	if (!runtime)
		files[n++] = &POLICY_DRACUT_DROPIN;

	r = open_root_or_log(root, &rootfd);
	if (r < 0)
		return r;
	r = classify_all(rootfd, root, files, n, found, true);
	if (r < 0)
		return r;

	for (unsigned i = 0; i < n; i++) {
		const char *path = policy_path(root, files[i]);

		if (found[i].state == POLICY_ABSENT) {
			log_info("%s: not present", path);
			continue;
		}
		r = policy_remove(rootfd, files[i]);
		if (r < 0) {
			log_error("failed to remove %s: %s", path, strerror(-r));
			return r;
		}
		log_info("removed %s", path);
	}
	return 0;
}
