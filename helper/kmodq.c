// SPDX-License-Identifier: GPL-2.0-only
/* libkmod queries against a root's module tree, isolated in a child.  See kmodq.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <libkmod.h>

#include "chase.h"
#include "isolate.h"
#include "kmodq.h"
#include "log.h"
#include "util.h"

/* Limits for the child that runs libkmod.  A sanitizer build has reserved
 * terabytes of shadow address space before main(): an address-space limit
 * would make its every allocation fail, so that build keeps the CPU and wall
 * limits only. */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_MEMORY 0UL
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_MEMORY 0UL
#endif
#endif
#ifndef CHILD_MEMORY
#define CHILD_MEMORY (256UL << 20)
#endif
static const struct isolate_limits QUERY_LIMITS = { CHILD_MEMORY, 5, 5000 };
/* Loading a module runs its init (and the probes it triggers) in the child: more time. */
static const struct isolate_limits CHANGE_LIMITS = { CHILD_MEMORY, 5, 10000 };

/* The index files libkmod may open; each must be a plain regular file. */
static const char *const INDEX_FILES[] = {
	"modules.dep.bin", "modules.alias.bin", "modules.symbols.bin", "modules.builtin.alias.bin",
	"modules.builtin.bin", "modules.softdep", "modules.builtin.modinfo", "modules.devname", NULL,
};

/* libkmod's messages, at their own syslog level, as ours. */
static void kmod_log_forward(void *data, int priority, const char *file, int line, const char *fn,
			     const char *format, va_list args)
{
	char msg[512];
	size_t n;

	(void)data, (void)file, (void)line, (void)fn;
	vsnprintf(msg, sizeof(msg), format, args);
	n = strlen(msg);
	if (n > 0 && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	log_full(priority, "libkmod: %s", msg);
}

static enum mod_presence presence(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_module *mod = NULL;
	enum mod_presence p = MOD_ABSENT;

	if (kmod_module_new_from_name_lookup(ctx, name, &mod) >= 0 && mod) {
		/* found by name: a .ko has a path, a built-in one has none */
		p = kmod_module_get_path(mod) ? MOD_MODULE : MOD_BUILTIN;
		kmod_module_unref(mod);
	}
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

/* In the child: ask libkmod.  Returns 0 or a negative error for the facts. */
static int ask_libkmod(int treefd, int conffd, struct kernel_facts *k)
{
	char treepath[64], confpath[64];
	const char *config[2] = { NULL, NULL };
	struct kmod_list *list = NULL, *allowed = NULL, *l;
	struct kmod_ctx *ctx;
	int r;

	/* libkmod takes paths: name the already resolved fds, so nothing is re-resolved */
	snprintf(treepath, sizeof(treepath), "/proc/self/fd/%d", treefd);
	if (conffd >= 0) {
		snprintf(confpath, sizeof(confpath), "/proc/self/fd/%d", conffd);
		config[0] = confpath;
	} else
		config[0] = "/dev/null";
	ctx = kmod_new(treepath, config);
	if (!ctx)
		return -ENOMEM;
	kmod_set_log_fn(ctx, kmod_log_forward, NULL);
	r = kmod_load_resources(ctx);
	if (r < 0) {
		kmod_unref(ctx);
		return -EINDEX_DAXBUS;
	}
	k->compat = presence(ctx, "dax_pmem_compat");
	k->dax_pmem = presence(ctx, "dax_pmem");
	k->device_dax = presence(ctx, "device_dax");

	/* what udev does with the uevent: alias lookup, then the blacklist */
	r = kmod_module_new_from_lookup(ctx, ND_DAX_MODALIAS, &list);
	if (r >= 0)
		r = kmod_module_apply_filter(ctx, KMOD_FILTER_BLACKLIST, list, &allowed);
	if (r >= 0) {
		names_of(allowed, k->resolved, ELEMENTSOF(k->resolved), &k->n_resolved);
		kmod_list_foreach(l, list) {
			struct kmod_module *mod = kmod_module_get_module(l);
			bool kept = false;

			for (unsigned i = 0; i < k->n_resolved; i++)
				kept |= streq(k->resolved[i], kmod_module_get_name(mod));
			if (!kept && k->n_blocked < ELEMENTSOF(k->blocked))
				snprintf(k->blocked[k->n_blocked++], 64, "%s", kmod_module_get_name(mod));
			kmod_module_unref(mod);
		}
	}
	kmod_module_unref_list(allowed);
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return r < 0 ? -EINDEX_DAXBUS : 0;
}

/* Run FN in a bounded child that writes DATA (SIZE bytes) back; DATA is left as it was unless the whole came back. */
static int ask_child(void (*fn)(void *data, int outfd), void *data, size_t size, const struct isolate_limits *limits)
{
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	int r;

	r = isolate_run(fn, data, limits, size, &out, &len);
	if (r == -ENOMEM || (r < 0 && !out))
		return r;
	if (r < 0 || len != size)
		return -ELIBFAIL_DAXBUS;
	memcpy(data, out, size);
	return 0;
}

static void write_all_or_fail(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		p += n;
		size -= (size_t)n;
	}
}

static struct {
	int treefd, conffd;
} ask_fds;

static void ask_fn(void *data, int outfd)
{
	struct kernel_facts *k = data;

	k->index_error = ask_libkmod(ask_fds.treefd, ask_fds.conffd, k);
	write_all_or_fail(outfd, k, sizeof(*k));
}

static int ask_isolated(int treefd, int conffd, struct kernel_facts *k)
{
	int r;

	ask_fds.treefd = treefd;
	ask_fds.conffd = conffd;
	r = ask_child(ask_fn, k, sizeof(*k), &QUERY_LIMITS);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		k->index_error = -ELIBFAIL_DAXBUS;
	return 0;
}

int kmodq_inspect(int rootfd, const char *kver, int conffd, struct kernel_facts *ret)
{
	struct kernel_facts k = { 0 };
	_cleanup_close_ int treefd = -1;
	_cleanup_free_ char *rel = NULL;
	bool missing = false;
	int r, err = 0;

	snprintf(k.kver, sizeof(k.kver), "%s", kver);
	if (asprintf(&rel, "lib/modules/%s", kver) < 0)
		return -ENOMEM;
	r = chase_open(rootfd, rel, CHASE_DIRECTORY, O_RDONLY, &treefd);
	if (r == -ENOENT || r == -ENOTDIR) {
		*ret = k;
		return 0;
	}
	if (r < 0) {
		k.have_tree = true;
		k.index_error = r;
		*ret = k;
		return 0;
	}
	k.have_tree = true;
	/* libkmod opens these by name in the tree: a link would be followed outside the root, a FIFO would block */
	for (unsigned i = 0; INDEX_FILES[i]; i++) {
		bool required = i < 2;
		struct stat st;

		if (fstatat(treefd, INDEX_FILES[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && required)
				missing = true;
			else if (errno != ENOENT && err == 0)
				err = -errno;
		} else if (!S_ISREG(st.st_mode)) {
			if (err == 0)
				err = -ENOTREG_DAXBUS;
		} else if (st.st_size == 0 && required && err == 0)
			err = -EINDEX_DAXBUS;
	}
	if (missing) { /* depmod was not run */
		*ret = k;
		return 0;
	}
	k.have_index = true;
	k.index_error = err;
	if (err == 0) {
		r = ask_isolated(treefd, conffd, &k);
		if (r < 0)
			return r;
	}
	*ret = k;
	return 0;
}

static const char *const mod_presence_table[] = {
	[MOD_ABSENT] = "absent",
	[MOD_MODULE] = "module",
	[MOD_BUILTIN] = "builtin",
};
DEFINE_STRING_TABLE_LOOKUP(mod_presence, enum mod_presence, mod_presence_table)

/* The classification: one ladder, one table of names and sentences. */
enum kernel_class {
	KERNEL_NO_TREE,
	KERNEL_NO_INDEX,
	KERNEL_INDEX_UNUSABLE,
	KERNEL_COMPAT,
	KERNEL_COMPAT_BUILTIN,
	KERNEL_BUS,
	KERNEL_NONE,
};

static const struct {
	const char *kind, *text;
} kernel_classes[] = {
	[KERNEL_NO_TREE] = { "unknown", "no module tree for this kernel" },
	[KERNEL_NO_INDEX] = { "unknown", "module tree has no index (run depmod)" },
	[KERNEL_INDEX_UNUSABLE] = { "unknown", "module index unreadable" },
	[KERNEL_COMPAT] = { "compat", "compat driver present: the policy is needed for the bus model" },
	[KERNEL_COMPAT_BUILTIN] = { "compat-builtin", "compat driver built in: no modprobe policy can switch this kernel" },
	[KERNEL_BUS] = { "bus", "bus model only: the policy is harmless" },
	[KERNEL_NONE] = { "none", "no device-DAX support" },
};

static enum kernel_class classify(const struct kernel_facts *k)
{
	if (!k->have_tree)
		return KERNEL_NO_TREE;
	if (!k->have_index)
		return KERNEL_NO_INDEX;
	if (k->index_error < 0)
		return KERNEL_INDEX_UNUSABLE;
	if (k->compat == MOD_MODULE)
		return KERNEL_COMPAT;
	if (k->compat == MOD_BUILTIN)
		return KERNEL_COMPAT_BUILTIN;
	if (k->dax_pmem != MOD_ABSENT || k->device_dax != MOD_ABSENT)
		return KERNEL_BUS;
	return KERNEL_NONE;
}

const char *kernel_kind(const struct kernel_facts *k)
{
	return kernel_classes[classify(k)].kind;
}

const char *kernel_kind_text(const struct kernel_facts *k)
{
	return kernel_classes[classify(k)].text;
}

bool kernel_needs_policy(const struct kernel_facts *k)
{
	return classify(k) == KERNEL_COMPAT;
}

int kmodq_newest_kver(int rootfd, char *buf, unsigned size)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ char *best = NULL;
	struct dirent *de;
	int r;

	r = chase_opendir(rootfd, "lib/modules", 0, &d);
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		_cleanup_free_ char *rel = NULL;
		_cleanup_close_ int fd = -1;

		if (de->d_name[0] == '.' || (best && strverscmp(best, de->d_name) >= 0))
			continue;
		/* a directory as the root sees it: links are followed inside the root only */
		if (asprintf(&rel, "lib/modules/%s", de->d_name) < 0 ||
		    chase_open(rootfd, rel, CHASE_DIRECTORY, O_RDONLY | O_PATH, &fd) < 0)
			continue;
		free(best);
		best = strdup(de->d_name);
		if (!best)
			return -ENOMEM;
	}
	if (!best)
		return -ENOENT;
	snprintf(buf, size, "%s", best);
	return 0;
}

/* A module change, asked of a child: the request in, the result out. */
struct change {
	int treefd, conffd, op;
	bool ignore_commands;
	char what[64]; /* module name, or modalias for KMODQ_LOAD_ALIAS */
	char done[64]; /* the module loaded or removed */
	int result;
};

static int change_libkmod(struct change *c)
{
	char treepath[64], confpath[64];
	const char *config[2] = { confpath, NULL };
	struct kmod_list *list = NULL, *allowed = NULL, *l;
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int r;

	snprintf(treepath, sizeof(treepath), "/proc/self/fd/%d", c->treefd);
	if (c->conffd >= 0)
		snprintf(confpath, sizeof(confpath), "/proc/self/fd/%d", c->conffd);
	else
		snprintf(confpath, sizeof(confpath), "/dev/null");
	ctx = kmod_new(treepath, config);
	if (!ctx)
		return -ENOMEM;
	kmod_set_log_fn(ctx, kmod_log_forward, NULL);
	if (c->op != KMODQ_LOAD_ALIAS) {
		r = kmod_module_new_from_name(ctx, c->what, &mod);
		if (r >= 0 && c->op == KMODQ_REMOVE)
			r = kmod_module_remove_module(mod, 0); /* libkmod never waits: O_NONBLOCK */
		else if (r >= 0) /* by name: the blacklist does not apply, as with modprobe NAME */
			r = kmod_module_probe_insert_module(mod, c->ignore_commands ? KMOD_PROBE_IGNORE_COMMAND : 0, NULL,
							    NULL, NULL, NULL);
		snprintf(c->done, sizeof(c->done), "%s", c->what);
		kmod_module_unref(mod);
		kmod_unref(ctx);
		return r < 0 ? r : 0;
	}
	/* what udev does with the device's modalias: lookup, blacklist, load */
	r = kmod_module_new_from_lookup(ctx, c->what, &list);
	if (r >= 0)
		r = kmod_module_apply_filter(ctx, KMOD_FILTER_BLACKLIST, list, &allowed);
	if (r >= 0 && !allowed)
		r = -ENOENT;
	kmod_list_foreach(l, allowed) {
		if (r < 0)
			break;
		mod = kmod_module_get_module(l);
		r = kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST | (c->ignore_commands ? KMOD_PROBE_IGNORE_COMMAND : 0),
						    NULL, NULL, NULL, NULL);
		if (r >= 0 && !c->done[0])
			snprintf(c->done, sizeof(c->done), "%s", kmod_module_get_name(mod));
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(allowed);
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return r < 0 ? r : 0;
}

static void change_fn(void *data, int outfd)
{
	struct change *c = data;

	c->result = change_libkmod(c);
	write_all_or_fail(outfd, c, sizeof(*c));
}

int kmodq_change(int rootfd, const char *kver, int conffd, bool ignore_commands, long wall_ms, enum kmodq_op op,
		 const char *what, char ret_done[64])
{
	struct isolate_limits limits = CHANGE_LIMITS;
	struct change c = { .conffd = conffd, .op = op, .ignore_commands = ignore_commands, .result = -ELIBFAIL_DAXBUS };
	_cleanup_close_ int treefd = -1;
	_cleanup_free_ char *rel = NULL;
	int r;

	if (asprintf(&rel, "lib/modules/%s", kver) < 0)
		return -ENOMEM;
	r = chase_open(rootfd, rel, CHASE_DIRECTORY, O_RDONLY, &treefd);
	if (r < 0)
		return r;
	c.treefd = treefd;
	snprintf(c.what, sizeof(c.what), "%s", what);
	if (wall_ms > 0 && wall_ms < limits.wall_ms)
		limits.wall_ms = wall_ms;
	r = ask_child(change_fn, &c, sizeof(c), &limits);
	if (r < 0)
		return r;
	if (c.result == 0 && ret_done)
		snprintf(ret_done, 64, "%s", c.done);
	return c.result;
}
