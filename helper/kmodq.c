// SPDX-License-Identifier: GPL-2.0-only
/* libkmod queries against a root's module tree, isolated in a child.  See kmodq.h. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <libkmod.h>

#include "chase.h"
#include "kmodq.h"
#include "log.h"
#include "util.h"

/* Limits for the child that runs libkmod.  A sanitizer build has reserved
 * terabytes of shadow address space before main(): an address-space limit
 * would make its every allocation fail, so that build keeps the CPU and wall
 * limits only. */
#define CHILD_MEMORY (256UL << 20)
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_LIMIT_AS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_LIMIT_AS 0
#endif
#endif
#ifndef CHILD_LIMIT_AS
#define CHILD_LIMIT_AS 1
#endif
#define CHILD_CPU_SECONDS 5
#define CHILD_WALL_MS 5000
/* Loading a module runs its init (and the probes it triggers) in the child: more time. */
#define CHANGE_WALL_MS 10000

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

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Run FN(DATA) in a child with memory, CPU and wall-clock limits; DATA
 * (SIZE bytes, filled by FN) comes back through a pipe.  -ELIBFAIL_DAXBUS
 * when the child crashed or ran out of time: DATA is then left as it was.
 */
static int run_isolated(void (*fn)(void *data), void *data, size_t size, long wall_ms)
{
	int pipefd[2], status, r;
	char answer[sizeof(struct kernel_facts)];
	size_t got = 0;
	long deadline;
	pid_t pid;

	if (size > sizeof(answer))
		return -EINVAL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (pid == 0) {
		struct rlimit mem = { CHILD_MEMORY, CHILD_MEMORY }, cpu = { CHILD_CPU_SECONDS, CHILD_CPU_SECONDS };

		close(pipefd[0]);
		if (CHILD_LIMIT_AS)
			(void)setrlimit(RLIMIT_AS, &mem);
		(void)setrlimit(RLIMIT_CPU, &cpu);
		fn(data);
		_exit(write(pipefd[1], data, size) == (ssize_t)size ? 0 : 1);
	}
	close(pipefd[1]);
	deadline = now_ms() + wall_ms;
	while (got < size) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			break; /* hung: the kill below ends it */
		n = read(pipefd[0], answer + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(pipefd[0]);
	if (got < size)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got < size)
		return -ELIBFAIL_DAXBUS;
	memcpy(data, answer, size);
	return 0;
}

static struct {
	int treefd, conffd;
} ask_fds;

static void ask_child(void *data)
{
	struct kernel_facts *k = data;

	k->index_error = ask_libkmod(ask_fds.treefd, ask_fds.conffd, k);
}

static int ask_isolated(int treefd, int conffd, struct kernel_facts *k)
{
	ask_fds.treefd = treefd;
	ask_fds.conffd = conffd;
	if (run_isolated(ask_child, k, sizeof(*k), CHILD_WALL_MS) < 0)
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

const char *mod_presence_str(enum mod_presence p)
{
	return p == MOD_MODULE ? "module" : p == MOD_BUILTIN ? "builtin" : "absent";
}

const char *kernel_kind(const struct kernel_facts *k)
{
	if (!k->have_tree || !k->have_index || k->index_error < 0)
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
	if (k->index_error < 0)
		return "module index unreadable";
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
	return k->have_index && k->index_error == 0 && k->compat == MOD_MODULE;
}

int kmodq_newest_kver(int rootfd, char *buf, unsigned size)
{
	char *best = NULL;
	struct dirent *de;
	DIR *d;
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
	}
	closedir(d);
	if (!best)
		return -ENOENT;
	snprintf(buf, size, "%s", best);
	free(best);
	return 0;
}

/* A module change, asked of a child: the request in, the result out. */
struct change {
	int treefd, conffd, op;
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
			r = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
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
		r = kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST, NULL, NULL, NULL, NULL);
		if (r >= 0 && !c->done[0])
			snprintf(c->done, sizeof(c->done), "%s", kmod_module_get_name(mod));
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(allowed);
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return r < 0 ? r : 0;
}

static void change_child(void *data)
{
	struct change *c = data;

	c->result = change_libkmod(c);
}

int kmodq_change(int rootfd, const char *kver, int conffd, enum kmodq_op op, const char *what, char ret_done[64])
{
	struct change c = { .conffd = conffd, .op = op, .result = -ELIBFAIL_DAXBUS };
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
	r = run_isolated(change_child, &c, sizeof(c), CHANGE_WALL_MS);
	if (r < 0)
		return r;
	if (c.result == 0 && ret_done)
		snprintf(ret_done, 64, "%s", c.done);
	return c.result;
}
