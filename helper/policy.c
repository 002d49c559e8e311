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

/* daxbus 0.1.0's drop-in asked for the module even after it was removed (dracut then failed) */
static const char *const DRACUT_OLD_TEXTS[] = { DAXBUS_DRACUT_DROPIN_0_1_TEXT, NULL };

const struct policy_file POLICY_MODPROBE_ETC = { "etc/modprobe.d", "daxctl.conf", POLICY_TEXT, MEANING_KMOD, NULL };
const struct policy_file POLICY_MODPROBE_RUN = { "run/modprobe.d", "daxctl.conf", POLICY_TEXT, MEANING_KMOD, NULL };
const struct policy_file POLICY_DRACUT_DROPIN = { "etc/dracut.conf.d", "daxbus.conf", DAXBUS_DRACUT_DROPIN_TEXT,
						  MEANING_DRACUT, DRACUT_OLD_TEXTS };
const struct policy_file POLICY_ITOOLS_DROPIN = { "etc/initramfs-tools/conf.d", "daxbus", DAXBUS_ITOOLS_DROPIN_TEXT,
						  MEANING_ITOOLS, NULL };

/* The line LINE (LEN bytes, no newline) with blanks at either end trimmed: *RET_LEN bytes at the return value. */
static const char *trimmed(const char *line, size_t len, size_t *ret_len)
{
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		len--;
	*ret_len = len;
	return line;
}

/*
 * A dracut drop-in asks for the daxbus module and nothing else: besides
 * blank and comment lines, only add_dracutmodules+=" daxbus " lines (either
 * quote, any blanks inside), at least one.  dracut sources drop-ins as bash;
 * anything else in the file could mean more, so it does not count.
 */
static bool dracut_means_daxbus(const char *buf, size_t len)
{
	static const char key[] = "add_dracutmodules+=";
	bool asks = false;

	for (size_t i = 0, e; i < len; i = e + 1) {
		const char *l;
		size_t n, words = 0;

		e = i + strcspn(buf + i, "\n");
		if (e > len)
			e = len;
		l = trimmed(buf + i, e - i, &n);
		if (n == 0 || l[0] == '#')
			continue;
		if (n < sizeof(key) + 1 || memcmp(l, key, sizeof(key) - 1) || (l[sizeof(key) - 1] != '"' && l[sizeof(key) - 1] != '\'') ||
		    l[n - 1] != l[sizeof(key) - 1])
			return false;
		/* between the quotes: blanks and the word daxbus only */
		for (const char *p = l + sizeof(key), *end = l + n - 1; p < end;) {
			if (*p == ' ' || *p == '\t') {
				p++;
				continue;
			}
			if ((size_t)(end - p) < 6 || memcmp(p, "daxbus", 6) || (p + 6 < end && p[6] != ' ' && p[6] != '\t'))
				return false;
			p += 6;
			words++;
		}
		if (words == 0)
			return false;
		asks = true;
	}
	return asks;
}

/*
 * An initramfs-tools conf.d file opts in as daxbus's hook reads it
 * (initramfs-tools/hooks/daxbus): the last DAXBUS= assignment, leading
 * blanks skipped, is y, "y" or 'y'.
 */
static bool itools_opts_in(const char *buf, size_t len)
{
	const char *value = NULL;
	size_t vlen = 0;

	for (size_t i = 0, e; i < len; i = e + 1) {
		const char *l = buf + i;

		e = i + strcspn(buf + i, "\n");
		if (e > len)
			e = len;
		while (l < buf + e && (*l == ' ' || *l == '\t'))
			l++;
		if ((size_t)(buf + e - l) >= 7 && !memcmp(l, "DAXBUS=", 7)) {
			value = l + 7;
			vlen = (size_t)(buf + e - value);
		}
	}
	return value && ((vlen == 1 && value[0] == 'y') || (vlen == 3 && (!memcmp(value, "\"y\"", 3) || !memcmp(value, "'y'", 3))));
}

/* Byte for byte what this version writes, or what an earlier one wrote. */
static bool same_text(const struct policy_file *f, const char *buf, size_t len)
{
	if (len == strlen(f->text) && memcmp(buf, f->text, len) == 0)
		return true;
	for (const char *const *o = f->old_texts; o && *o; o++)
		if (len == strlen(*o) && memcmp(buf, *o, len) == 0)
			return true;
	return false;
}

static bool same_meaning(const struct policy_file *f, const char *buf, size_t len)
{
	switch (f->meaning) {
	case MEANING_KMOD:
		return kmodconf_equivalent(buf, len, f->text, strlen(f->text));
	case MEANING_DRACUT:
		return same_text(f, buf, len) || dracut_means_daxbus(buf, len);
	case MEANING_ITOOLS:
		return same_text(f, buf, len) || itools_opts_in(buf, len);
	case MEANING_BYTES:
		break;
	}
	return same_text(f, buf, len);
}

static const char *const policy_state_table[] = {
	[POLICY_ABSENT] = "absent",   [POLICY_OURS] = "policy",   [POLICY_EQUIVALENT] = "policy-equivalent",
	[POLICY_LINK] = "policy-link", [POLICY_FOREIGN] = "foreign", [POLICY_NOT_FILE] = "not-a-file",
};
DEFINE_STRING_TABLE_LOOKUP(policy_state, enum policy_state, policy_state_table)

const char *policy_refusal(const struct policy_found *found, char *buf, size_t size)
{
	switch (found->state) {
	case POLICY_NOT_FILE:
		return "exists and is not a regular file";
	case POLICY_EQUIVALENT:
		return "has the policy's directives but not daxbus's text (comments or spacing differ): "
		       "it is the administrator's file";
	case POLICY_FOREIGN:
		if (found->link_target[0]) {
			snprintf(buf, size, "is a link to %s, which is not the daxbus policy; it belongs to the administrator",
				 found->link_target);
			return buf;
		}
		return "exists with other content; it belongs to the administrator";
	default:
		return "is in the way";
	}
}

char *policy_resolved_path(int rootfd, const struct policy_file *f, const char *fallback)
{
	_cleanup_close_ int dirfd = -1;

	if (chase_open(rootfd, f->dir, CHASE_DIRECTORY, O_RDONLY, &dirfd) < 0)
		return strdup(fallback);
	return fd_path(dirfd, f->name, fallback);
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

/* F's entry in its already opened directory DIRFD, as one look; -ENOENT when it went away meanwhile. */
static int classify_once(int rootfd, int dirfd, const struct policy_file *f, struct policy_found *ret)
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
		r = read_file_beneath(rootfd, rel, KMODCONF_MAX, &content, &len);
		if (r == 0 && same_meaning(f, content, len))
			found.state = POLICY_LINK;
		/* a /dev/null mask exists when the root is booted, whatever its /dev holds now */
		found.dangling = (r == -ENOENT || r == -ENOTDIR) && !streq(found.link_target, "/dev/null");
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

/*
 * A file that vanishes (or appears) between two looks, because another run
 * is installing or removing it, is a state to read again, not an error.
 */
static int classify_at(int rootfd, int dirfd, const struct policy_file *f, struct policy_found *ret)
{
	int r = -ENOENT;

	for (int tries = 0; tries < 16 && r == -ENOENT; tries++)
		r = classify_once(rootfd, dirfd, f, ret);
	return r;
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
