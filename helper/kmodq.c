// SPDX-License-Identifier: GPL-2.0-only
/* libkmod queries against a root's module tree and configuration. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <libkmod.h>

#include "kmodq.h"
#include "rootdir.h"
#include "util.h"

/* libkmod would print to stderr; the caller reports what matters. */
static void kmod_log_silent(void *data, int priority, const char *file, int line, const char *fn,
			    const char *format, va_list args)
{
	(void)data, (void)priority, (void)file, (void)line, (void)fn, (void)format, (void)args;
}

static enum mod_presence presence(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_list *list = NULL, *l;
	enum mod_presence p = MOD_ABSENT;

	if (kmod_module_new_from_lookup(ctx, name, &list) < 0)
		return MOD_ABSENT;
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);

		/* a config alias could map the name elsewhere: only the module itself counts */
		if (streq(kmod_module_get_name(mod), name))
			p = kmod_module_get_path(mod) ? MOD_MODULE : MOD_BUILTIN;
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(list);
	return p;
}

static void names_of(struct kmod_list *list, char out[][64], unsigned max, unsigned *n)
{
	struct kmod_list *l;

	*n = 0;
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);

		if (*n < max)
			snprintf(out[(*n)++], 64, "%s", kmod_module_get_name(mod));
		kmod_module_unref(mod);
	}
}

int kmodq_inspect(int rootfd, const char *kver, int conffd, struct kernel_facts *ret)
{
	struct kernel_facts k = { 0 };
	_cleanup_close_ int treefd = -1;
	char rel[300], treepath[64], confpath[64];
	const char *config[2] = { NULL, NULL };
	struct kmod_ctx *ctx;
	struct kmod_list *list = NULL, *allowed = NULL;
	struct stat st;
	int r;

	snprintf(k.kver, sizeof(k.kver), "%s", kver);
	snprintf(rel, sizeof(rel), "lib/modules/%s", kver);
	r = root_openat(rootfd, rel, O_RDONLY | O_DIRECTORY, &treefd);
	if (r == -ENOENT || r == -ENOTDIR) {
		*ret = k;
		return 0;
	}
	if (r < 0)
		return r;
	k.have_tree = true;
	k.have_index = fstatat(treefd, "modules.dep.bin", &st, 0) == 0 &&
		       fstatat(treefd, "modules.alias.bin", &st, 0) == 0;
	if (!k.have_index) {
		*ret = k;
		return 0;
	}

	/* libkmod takes paths: name the already resolved fds, so no link is re-followed. */
	snprintf(treepath, sizeof(treepath), "/proc/self/fd/%d", treefd);
	if (conffd >= 0) {
		snprintf(confpath, sizeof(confpath), "/proc/self/fd/%d", conffd);
		config[0] = confpath;
	} else
		config[0] = "/dev/null";
	ctx = kmod_new(treepath, config);
	if (!ctx)
		return -ENOMEM;
	kmod_set_log_fn(ctx, kmod_log_silent, NULL);
	/* map each index once instead of reopening it for every lookup */
	(void)kmod_load_resources(ctx);

	k.compat = presence(ctx, "dax_pmem_compat");
	k.dax_pmem = presence(ctx, "dax_pmem");
	k.device_dax = presence(ctx, "device_dax");

	/* What udev does for the uevent: alias lookup, then the blacklist. */
	r = kmod_module_new_from_lookup(ctx, ND_DAX_MODALIAS, &list);
	if (r >= 0)
		r = kmod_module_apply_filter(ctx, KMOD_FILTER_BLACKLIST, list, &allowed);
	if (r >= 0) {
		struct kmod_list *l;

		names_of(allowed, k.resolved, ELEMENTSOF(k.resolved), &k.n_resolved);
		kmod_list_foreach(l, list) {
			struct kmod_module *mod = kmod_module_get_module(l);
			bool kept = false;

			for (unsigned i = 0; i < k.n_resolved; i++)
				kept |= streq(k.resolved[i], kmod_module_get_name(mod));
			if (!kept && k.n_blocked < ELEMENTSOF(k.blocked))
				snprintf(k.blocked[k.n_blocked++], 64, "%s", kmod_module_get_name(mod));
			kmod_module_unref(mod);
		}
	}
	kmod_module_unref_list(allowed);
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	if (r < 0)
		return r;
	*ret = k;
	return 0;
}

const char *mod_presence_str(enum mod_presence p)
{
	return p == MOD_MODULE ? "module" : p == MOD_BUILTIN ? "builtin" : "absent";
}

const char *kernel_kind(const struct kernel_facts *k)
{
	if (!k->have_tree || !k->have_index)
		return "unknown";
	if (k->compat == MOD_MODULE)
		return "compat";
	if (k->compat == MOD_BUILTIN)
		return "compat-builtin";
	if (k->dax_pmem != MOD_ABSENT || k->device_dax != MOD_ABSENT)
		return "bus";
	return "none";
}

const char *kernel_kind_text(const struct kernel_facts *k)
{
	if (!k->have_tree)
		return "no module tree for this kernel";
	if (!k->have_index)
		return "module tree has no index (run depmod)";
	if (k->compat == MOD_MODULE)
		return "compat driver present: the policy is needed for the bus model";
	if (k->compat == MOD_BUILTIN)
		return "compat driver built in: no modprobe policy can switch this kernel";
	if (k->dax_pmem != MOD_ABSENT || k->device_dax != MOD_ABSENT)
		return "bus model only: the policy is harmless";
	return "no device-DAX support";
}

bool kernel_needs_policy(const struct kernel_facts *k)
{
	return k->have_index && k->compat == MOD_MODULE;
}

/* strverscmp orders 5.10.0-9 before 5.10.0-32, as people expect. */
static int cmp_ver(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

int kmodq_newest_kver(int rootfd, char *buf, unsigned size)
{
	char *best = NULL;
	struct dirent *de;
	DIR *d;
	int r;

	r = root_opendir(rootfd, "lib/modules", &d);
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!best || cmp_ver(&best, &(char *){ de->d_name }) < 0) {
			free(best);
			best = strdup(de->d_name);
		}
	}
	closedir(d);
	if (!best)
		return -ENOENT;
	snprintf(buf, size, "%s", best);
	free(best);
	return 0;
}
