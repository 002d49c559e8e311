// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy itself.  Its text comes from modprobe.d/daxctl.conf at build
 * time (policy-text.h is generated), so the repository holds it once; the
 * drop-in texts come from the files in dracut/ and initramfs-tools/ the same way.
 */
#include <fcntl.h>
#include <stdio.h>

#include "chase.h"
#include "fileio.h"
#include "kmodconf.h"
#include "log.h"
#include "policy-text.h"
#include "policy.h"
#include "util.h"

const char POLICY_TEXT[] = DAXBUS_POLICY_TEXT;

const struct policy_file POLICY_MODPROBE_ETC = { "etc/modprobe.d", "daxctl.conf", POLICY_TEXT, true };
const struct policy_file POLICY_MODPROBE_RUN = { "run/modprobe.d", "daxctl.conf", POLICY_TEXT, true };
const struct policy_file POLICY_DRACUT_DROPIN = { "etc/dracut.conf.d", "daxbus.conf", DAXBUS_DRACUT_DROPIN_TEXT, false };
const struct policy_file POLICY_ITOOLS_DROPIN = { "etc/initramfs-tools/conf.d", "daxbus", DAXBUS_ITOOLS_DROPIN_TEXT, false };

bool policy_is_ours(const char *buf, size_t len)
{
	return len == sizeof(POLICY_TEXT) - 1 && memcmp(buf, POLICY_TEXT, len) == 0;
}

static bool same_text(const struct policy_file *f, const char *buf, size_t len)
{
	return len == strlen(f->text) && memcmp(buf, f->text, len) == 0;
}

static bool same_meaning(const struct policy_file *f, const char *buf, size_t len)
{
	return f->kmod ? kmodconf_equivalent(buf, len, f->text, strlen(f->text)) : same_text(f, buf, len);
}

const char *policy_state_str(enum policy_state s)
{
	switch (s) {
	case POLICY_ABSENT: return "absent";
	case POLICY_OURS: return "policy";
	case POLICY_EQUIVALENT: return "policy-equivalent";
	case POLICY_LINK: return "policy-link";
	case POLICY_FOREIGN: return "foreign";
	case POLICY_NOT_FILE: return "not-a-file";
	}
	return "unknown";
}

char *policy_path(const char *root, const struct policy_file *f)
{
	_cleanup_free_ char *dir = path_join_root(root, f->dir);
	char *p;

	if (!dir || asprintf(&p, "%s/%s", dir, f->name) < 0) {
		/* callers name their files before touching anything, so this changes nothing on disk */
		log_error_errno(ENOMEM, "cannot name %s/%s: %m", f->dir, f->name);
		exit(1);
	}
	return p;
}

/* F's entry in its already opened directory DIRFD. */
static int classify_at(int rootfd, int dirfd, const struct policy_file *f, struct policy_found *ret)
{
	struct policy_found found = { .state = POLICY_ABSENT };
	_cleanup_free_ char *content = NULL;
	size_t len;
	int r;

	if (fstatat(dirfd, f->name, &found.st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
	} else if (S_ISLNK(found.st.st_mode)) {
		_cleanup_free_ char *rel = NULL;
		ssize_t n = readlinkat(dirfd, f->name, found.link_target, sizeof(found.link_target) - 1);

		if (n < 0)
			return -errno;
		found.link_target[n] = '\0';
		found.state = POLICY_FOREIGN;
		/* follow it the way the booted system will: inside the root */
		if (asprintf(&rel, "%s%s%s", found.link_target[0] == '/' ? "" : f->dir,
			     found.link_target[0] == '/' ? "" : "/", found.link_target) < 0)
			return -ENOMEM;
		if (read_file_beneath(rootfd, rel, KMODCONF_MAX, &content, &len) == 0 && same_meaning(f, content, len))
			found.state = POLICY_LINK;
	} else if (S_ISREG(found.st.st_mode)) {
		r = read_file_at(dirfd, f->name, KMODCONF_MAX, &content, &len);
		if (r == -EFBIG)
			found.state = POLICY_FOREIGN;
		else if (r == -ENOTREG_DAXBUS)
			found.state = POLICY_NOT_FILE; /* swapped under us */
		else if (r < 0)
			return r;
		else if (same_text(f, content, len))
			found.state = POLICY_OURS;
		else
			found.state = same_meaning(f, content, len) ? POLICY_EQUIVALENT : POLICY_FOREIGN;
	} else
		found.state = POLICY_NOT_FILE;

	*ret = found;
	return 0;
}

int policy_classify(int rootfd, const struct policy_file *f, struct policy_found *ret)
{
	_cleanup_close_ int dirfd = -1;
	int r;

	r = chase_open(rootfd, f->dir, CHASE_DIRECTORY, O_RDONLY, &dirfd);
	if (r == -ENOENT || r == -ENOTDIR) {
		*ret = (struct policy_found){ .state = POLICY_ABSENT };
		return 0;
	}
	if (r < 0)
		return r;
	return classify_at(rootfd, dirfd, f, ret);
}

/* For fileio's checks: is BUF exactly the text of the policy_file USERDATA? */
static bool is_file_text(const char *buf, size_t len, const void *userdata)
{
	return same_text(userdata, buf, len);
}

bool policy_tidy = true;

int policy_install(int rootfd, const struct policy_file *f, struct policy_found *ret_found)
{
	_cleanup_close_ int dirfd = -1;
	struct policy_found found;
	int lock, r;

	r = chase_open(rootfd, f->dir, CHASE_MKDIR, O_RDONLY, &dirfd);
	if (r < 0)
		return r;
	lock = dir_lock(dirfd);
	if (lock >= 0 && policy_tidy)
		remove_stale_temporaries_at(dirfd, f->name, is_file_text, f);
	r = classify_at(rootfd, dirfd, f, &found);
	if (r == 0 && found.state == POLICY_ABSENT) {
		r = write_file_atomic_at(dirfd, f->name, f->text, strlen(f->text), 0644);
		if (r == -EEXIST) {
			/* someone who does not take our lock wrote it meanwhile: judge what is there */
			r = classify_at(rootfd, dirfd, f, &found);
			if (r == 0 && !policy_in_place(found.state))
				r = -EFOREIGN_DAXBUS;
		}
	} else if (r == 0 && !policy_in_place(found.state))
		r = -EFOREIGN_DAXBUS;
	(void)lock; /* closing dirfd on return unlocks */
	if (r < 0 && r != -EFOREIGN_DAXBUS)
		return r;
	*ret_found = found;
	return r;
}

int policy_remove(int rootfd, const struct policy_file *f, struct policy_found *ret_found)
{
	_cleanup_close_ int dirfd = -1;
	struct policy_found found = { .state = POLICY_ABSENT };
	int lock, r;

	r = chase_open(rootfd, f->dir, CHASE_DIRECTORY, O_RDONLY, &dirfd);
	if (r == -ENOENT || r == -ENOTDIR) {
		*ret_found = found;
		return 0;
	}
	if (r < 0)
		return r;
	lock = dir_lock(dirfd);
	if (lock >= 0)
		remove_stale_temporaries_at(dirfd, f->name, is_file_text, f);
	r = classify_at(rootfd, dirfd, f, &found);
	if (r == 0) {
		if (found.state == POLICY_OURS || found.state == POLICY_LINK) {
			r = remove_file_verified_at(dirfd, f->name, &found.st, found.state == POLICY_OURS ? is_file_text : NULL, f);
			if (r == -ENOENT) /* removed concurrently: the state asked for */
				r = 0;
		} else if (found.state != POLICY_ABSENT)
			r = -EFOREIGN_DAXBUS;
	}
	(void)lock; /* closing dirfd on return unlocks */
	if (r < 0 && r != -EFOREIGN_DAXBUS && r != -ECHANGED_DAXBUS)
		return r;
	*ret_found = found;
	return r;
}
