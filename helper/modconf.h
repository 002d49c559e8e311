/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmod's configuration as a root will see it: every *.conf (and legacy
 * *.alias) file in kmod's search directories, in precedence order, which ones
 * are effective, and their contents, all read beneath the root without
 * blocking on anything that is not a regular file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* kmod's directories, highest precedence first. */
extern const char *const MODCONF_DIRS[];

struct modconf_entry {
	const char *dir; /* one of MODCONF_DIRS */
	char name[256];
	bool ignored;          /* a directory or a link to nothing: kmod skips it, it hides nothing */
	const char *hidden_by; /* earlier directory with the same name, or NULL */
	bool is_link;
	char link_target[256];
	char *content; /* what kmod reads; NULL: unreadable (reason in error) */
	size_t len;
	int error;
	bool mentions_dax;
	bool is_policy; /* the same directives as the daxbus policy */
};

struct modconf {
	struct modconf_entry *e;
	unsigned n;
};

int modconf_scan(int rootfd, struct modconf *ret);
void modconf_free(struct modconf *m);
#define _cleanup_modconf_ _cleanup_(modconf_free)

/* The effective entry called NAME, or NULL. */
const struct modconf_entry *modconf_find_effective(const struct modconf *m, const char *name);

/*
 * One in-memory file holding the effective entries in kmod's parse order
 * (by name), each normalised (kmodconf_normalize), so libkmod can be pointed
 * at a root's configuration without following any of its links outside the
 * root.
 */
int modconf_memfd(const struct modconf *m, int *ret_fd);
