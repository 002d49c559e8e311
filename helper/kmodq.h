/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a kernel's module tree says about device-DAX, asked through libkmod
 * the way kmod's own tools ask: is the compat driver there, and what does
 * nd:t7 (ND_DEVICE_DAX_PMEM) resolve to under a given configuration.
 *
 * libkmod parses index files we do not control and, fed a corrupt one, has
 * crashed and grown without bound; so it runs in a child process with memory,
 * CPU and wall-clock limits, and any failure there is an answer ("index
 * unreadable"), never a crash or a hang of daxbus.
 */
#pragma once

#include <stdbool.h>

enum mod_presence { MOD_ABSENT, MOD_MODULE, MOD_BUILTIN };

struct kernel_facts {
	char kver[256];
	bool have_tree;  /* lib/modules/KVER exists */
	bool have_index; /* depmod has been run (modules.dep.bin, modules.alias.bin) */
	int index_error; /* <0: the index could not be used (errmsg), facts below unknown */
	enum mod_presence compat, dax_pmem, device_dax;
	char resolved[4][64]; /* nd:t7 after the blacklist, as udev would load it */
	unsigned n_resolved;
	char blocked[4][64]; /* matched nd:t7 but blacklisted */
	unsigned n_blocked;
};

/* The modalias of an nd device of type 7, ND_DEVICE_DAX_PMEM (not t5!). */
#define ND_DAX_MODALIAS "nd:t7"

/*
 * Inspect ROOT/lib/modules/KVER (resolved beneath the root) with the kmod
 * configuration in CONFFD (from modconf_memfd, or -1 for none).  Problems
 * with the tree or its index are reported in the facts, not as errors; an
 * error is returned only for lack of memory or file descriptors.
 */
int kmodq_inspect(int rootfd, const char *kver, int conffd, struct kernel_facts *ret);

/* "compat", "compat-builtin", "bus", "none" or "unknown" (no tree or index). */
const char *kernel_kind(const struct kernel_facts *k);
/* One sentence for people. */
const char *kernel_kind_text(const struct kernel_facts *k);
/* Does this kernel need the policy to use the bus model? */
bool kernel_needs_policy(const struct kernel_facts *k);
const char *mod_presence_to_string(enum mod_presence p);

/* Newest kernel under ROOT/lib/modules (version order), for a target root. */
int kmodq_newest_kver(int rootfd, char *buf, unsigned size);

/*
 * Change the running kernel's modules through libkmod, with ROOT/lib/modules/
 * KVER and the configuration in CONFFD (-1: none), in a child bounded like
 * the queries (a load gets 10 s: it runs the module's init).  With
 * IGNORE_COMMANDS the configuration's install commands are not run (a root
 * that is not the running system's must not run programs on it); WALL_MS,
 * when > 0, shortens the child's time:
 *   KMODQ_REMOVE      remove module WHAT (never waits for its users)
 *   KMODQ_LOAD_NAME   load module WHAT by name (the blacklist does not apply)
 *   KMODQ_LOAD_ALIAS  load what the modalias WHAT resolves to, blacklist
 *                     applied, as udev would
 * 0 with RET_DONE (64 bytes, may be NULL) naming the module, or -errno;
 * -ELIBFAIL_DAXBUS when the child crashed or ran out of time.
 */
enum kmodq_op { KMODQ_REMOVE, KMODQ_LOAD_NAME, KMODQ_LOAD_ALIAS };
int kmodq_change(int rootfd, const char *kver, int conffd, bool ignore_commands, long wall_ms, enum kmodq_op op,
		 const char *what, char ret_done[64]);
