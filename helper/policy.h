/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy files daxbus manages: what they must contain, what is found at
 * their paths, and installing or removing them without ever touching a file
 * that is not ours.
 */
#pragma once

#include <stdbool.h>

/* One file daxbus owns, e.g. etc/modprobe.d/daxctl.conf beneath a root. */
struct policy_file {
	const char *dir;     /* relative to the root */
	const char *name;
	const char *text;    /* exact content we write */
};

extern const struct policy_file POLICY_MODPROBE_ETC;
extern const struct policy_file POLICY_MODPROBE_RUN;
extern const struct policy_file POLICY_DRACUT_DROPIN;
extern const char POLICY_TEXT[];

enum policy_state {
	POLICY_ABSENT,
	POLICY_OURS,      /* regular file, equivalent content */
	POLICY_LINK,      /* symlink to an equivalent file inside the root (daxctl's style) */
	POLICY_FOREIGN,   /* other content, or a link elsewhere (/dev/null masks) */
	POLICY_NOT_FILE,  /* directory, FIFO, device, socket: never ours */
};

struct policy_found {
	enum policy_state state;
	char link_target[256]; /* for symlinks */
};

/* Same directives, ignoring comments, blank lines and spacing. */
bool config_equivalent(const char *a, const char *b);

/* Look at F beneath ROOTFD. */
int policy_classify(int rootfd, const struct policy_file *f, struct policy_found *ret);

/* Write F beneath ROOTFD (creating its directory); -EEXIST if something appeared. */
int policy_install(int rootfd, const struct policy_file *f);

/* Remove F beneath ROOTFD; the caller classified it as ours first. */
int policy_remove(int rootfd, const struct policy_file *f);

/* "ROOT/DIR/NAME" for messages, without doubled slashes. */
const char *policy_path(const char *root, const struct policy_file *f);

const char *policy_state_str(enum policy_state s);
