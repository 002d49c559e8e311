/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The files daxbus manages: what they must contain, what is found at their
 * paths, and installing or removing them without ever touching a file that
 * is not ours.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* How a file is read by the program that acts on it, which decides what "the same" means. */
enum policy_meaning {
	MEANING_BYTES,  /* byte for byte */
	MEANING_KMOD,   /* a modprobe.d file: the directives every kmod takes from it (kmodconf.h) */
	MEANING_DRACUT, /* a dracut.conf.d drop-in that asks for the daxbus module and nothing else */
	MEANING_ITOOLS, /* an initramfs-tools conf.d file that says DAXBUS=y as daxbus's hook reads it */
};

/* One file daxbus owns, e.g. etc/modprobe.d/daxctl.conf beneath a root. */
struct policy_file {
	const char *dir;  /* relative to the root */
	const char *name;
	const char *text; /* exact content we write */
	enum policy_meaning meaning;
	const char *const *old_texts; /* what earlier versions wrote, still daxbus's own; NULL-terminated, may be NULL */
};

extern const char POLICY_TEXT[];
extern const struct policy_file POLICY_MODPROBE_ETC;
extern const struct policy_file POLICY_MODPROBE_RUN;
extern const struct policy_file POLICY_DRACUT_DROPIN;
extern const struct policy_file POLICY_ITOOLS_DROPIN;

enum policy_state {
	POLICY_ABSENT,
	POLICY_OURS,       /* regular file, byte for byte what daxbus writes */
	POLICY_EQUIVALENT, /* regular file, same directives for kmod, other text (the administrator's) */
	POLICY_LINK,       /* symlink to an equivalent file inside the root (daxctl's style) */
	POLICY_FOREIGN,    /* other content, or a link elsewhere (/dev/null masks) */
	POLICY_NOT_FILE,   /* directory, FIFO, device, socket: never ours */
};

struct policy_found {
	enum policy_state state;
	char link_target[256]; /* for symlinks */
	bool dangling;         /* a symlink to nothing (inside the root) */
	struct stat st;        /* the entry itself (not followed), unless absent */
};

/* Look at F beneath ROOTFD. */
int policy_classify(int rootfd, const struct policy_file *f, struct policy_found *ret);

/*
 * Would kmod read FOUND instead of a same-named file in a later directory?
 * kmod skips directories and links to nothing (conf_files_filter_out), and
 * reads everything else, a /dev/null mask as an empty file.
 */
static inline bool policy_hides(const struct policy_found *found)
{
	if (found->state == POLICY_FOREIGN)
		return !found->dangling;
	return found->state == POLICY_NOT_FILE && !S_ISDIR(found->st.st_mode);
}

/* Does the state count as "the policy is there"? */
static inline bool policy_in_place(enum policy_state s)
{
	return s == POLICY_OURS || s == POLICY_EQUIVALENT || s == POLICY_LINK;
}

/*
 * Make F present beneath ROOTFD, creating its directory; under the directory
 * lock the path is examined again.  *RET_FOUND is what was there before
 * (POLICY_ABSENT when this call wrote it).  -EFOREIGN_DAXBUS if something
 * else is in the way; -ENOENT when the root lacks F's first directory.
 */
int policy_install(int rootfd, const struct policy_file *f, struct policy_found *ret_found);

/*
 * Remove F beneath ROOTFD if it is exactly ours (or daxctl's link).  *RET_FOUND
 * is what was there.  Absent is success; an equivalent file with other text
 * or anything foreign is -EFOREIGN_DAXBUS; -ECHANGED_DAXBUS if it changed
 * under us.
 */
int policy_remove(int rootfd, const struct policy_file *f, struct policy_found *ret_found);

const char *policy_state_to_string(enum policy_state s);

/*
 * Why FOUND is in the way of daxbus writing or removing the file, the words
 * after its path ("exists with other content; it belongs to the
 * administrator"), for messages and reports.  BUF holds it when it names a
 * link's target.
 */
const char *policy_refusal(const struct policy_found *found, char *buf, size_t size);

/*
 * The path of F as it is reached now, links in its directories resolved
 * ("/sysroot/usr/lib/modprobe.d/daxctl.conf" when etc/modprobe.d links
 * there), so a message names the file written; FALLBACK when that cannot be
 * told.  Malloc'ed; NULL without memory.
 */
char *policy_resolved_path(int rootfd, const struct policy_file *f, const char *fallback);

/* Whether installs first remove temporaries killed runs left (not needed in a fresh initramfs /run). */
extern bool policy_tidy;

/*
 * "ROOT/DIR/NAME" for messages (malloc'ed).  Never NULL: without memory for
 * it, it says so and exits 1, so callers name every file before writing any.
 */
char *policy_path(const char *root, const struct policy_file *f);
