// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus status: where a root stands.  The text is for people; --json is a
 * stable interface (schema in man/daxbus.8; "version" bumps on an
 * incompatible change, new members may be added); -q answers by exit status
 * alone, as `systemctl is-enabled` does.
 */
#include <sys/stat.h>
#include <sys/utsname.h>

#include "chase.h"
#include "generator.h"
#include "json.h"
#include "kmodq.h"
#include "log.h"
#include "modconf.h"
#include "ostree.h"
#include "policy.h"
#include "sysfs.h"
#include "util.h"
#include "verbs.h"

/* The quiet form's answers (daxbus(8), EXIT STATUS); 1 and 2 stay failure and usage. */
enum {
	STATUS_EFFECTIVE = 0,    /* enabled, and the policy takes effect */
	STATUS_NOT_ENABLED = 3,  /* no daxctl.conf */
	STATUS_FOREIGN = 4,      /* a daxctl.conf that is not the policy (other text, a mask, unreadable) */
	STATUS_NOT_EFFECTIVE = 5 /* enabled, but nd:t7 or the running devices are not in the bus model (yet) */
};

enum { OPT_KVER };

struct status_args {
	struct cli_common c;
	const char *kver;
	bool json, quiet;
};

static int option(void *args, int id, const char *value)
{
	struct status_args *a = args;

	if (!*value || strchr(value, '/') || streq(value, "..") || streq(value, "."))
		return cli_usage_error(&VERB_STATUS, "--kver '%s' is not a kernel release", value);
	a->kver = value;
	return 0;
}

/* Everything status reports, gathered before anything is printed. */
struct status {
	const char *root;
	bool live;
	struct kernel_facts k;
	struct modconf m;
	struct policy_found dracut_dropin, itools_dropin;
	struct generators gen;
	char *stale_image; /* KVER's image, built by an old dracut before this module was installed */
	struct dax_live l;
	struct ostree_booted o;
};

static void status_free(struct status *s)
{
	modconf_free(&s->m);
	dax_live_free(&s->l);
	free(s->stale_image);
}

static bool is_host_root(int rootfd)
{
	struct stat a, b;

	return fstat(rootfd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* A modprobe.d entry as kmod will use it: one ladder, one table of words. */
enum conf_state { CONF_ABSENT, CONF_IGNORED, CONF_HIDDEN, CONF_MASKED, CONF_UNREADABLE, CONF_FOREIGN, CONF_RUNTIME, CONF_ENABLED };

static const struct {
	const char *role;    /* of a file in the list */
	const char *summary; /* of the policy, when this is the effective daxctl.conf */
	int quiet;           /* status -q's answer */
} conf_states[] = {
	[CONF_ABSENT] = { "absent", "absent", STATUS_NOT_ENABLED },
	[CONF_IGNORED] = { "ignored by kmod (a directory or a link to nothing)", "absent", STATUS_NOT_ENABLED },
	[CONF_HIDDEN] = { "hidden", "absent", STATUS_NOT_ENABLED },
	[CONF_MASKED] = { "masked", "masked", STATUS_FOREIGN },
	[CONF_UNREADABLE] = { "unreadable", "unreadable", STATUS_FOREIGN },
	[CONF_FOREIGN] = { "effective", "foreign", STATUS_FOREIGN },
	[CONF_RUNTIME] = { "effective", "runtime", STATUS_EFFECTIVE },
	[CONF_ENABLED] = { "effective", "enabled", STATUS_EFFECTIVE },
};

static enum conf_state conf_state(const struct modconf_entry *e)
{
	if (!e)
		return CONF_ABSENT;
	if (e->ignored)
		return CONF_IGNORED;
	if (e->hidden_by)
		return CONF_HIDDEN;
	if (e->is_link && streq(e->link_target, "/dev/null"))
		return CONF_MASKED;
	if (!e->content)
		return CONF_UNREADABLE;
	if (!e->is_policy)
		return CONF_FOREIGN;
	return streq(e->dir, "run/modprobe.d") ? CONF_RUNTIME : CONF_ENABLED;
}

/* The policy as this root has it in effect: the effective daxctl.conf. */
static enum conf_state policy_state(const struct status *s, const char **ret_where)
{
	const struct modconf_entry *e = modconf_find_effective(&s->m, "daxctl.conf");

	*ret_where = e ? e->dir : NULL;
	return conf_state(e);
}

static bool shown(const struct modconf_entry *e)
{
	return streq(e->name, "daxctl.conf") || e->mentions_dax;
}

/*
 * Does the policy take effect?  1 yes, 0 no, -1 cannot tell.  nd:t7 must
 * resolve to dax_pmem (never the compat driver) under the root's
 * configuration, and a running system must have no device in the compat
 * model.  A kernel without the compat driver needs no policy.
 */
static int policy_effective(const struct status *s)
{
	bool pmem = false, compat = false;

	if (s->live) {
		if (s->l.n_class > 0)
			return 0;
		for (size_t i = 0; i < s->l.n_nd; i++)
			if (s->l.nd[i].active && streq(s->l.nd[i].driver, "dax_pmem_compat"))
				return 0;
	}
	if (!s->k.have_tree || !s->k.have_index || s->k.index_error < 0)
		return s->live && s->l.n_bus > 0 ? 1 : -1;
	if (!kernel_needs_policy(&s->k))
		return 1;
	for (unsigned i = 0; i < s->k.n_resolved; i++) {
		pmem |= streq(s->k.resolved[i], "dax_pmem");
		compat |= streq(s->k.resolved[i], "dax_pmem_compat");
	}
	return pmem && !compat;
}

static int quiet_answer(const struct status *s)
{
	const char *where;
	int q = conf_states[policy_state(s, &where)].quiet;

	if (q == STATUS_EFFECTIVE && policy_effective(s) != 1)
		return STATUS_NOT_EFFECTIVE;
	return q;
}

static void json_names(struct json *j, const char *key, char names[][64], unsigned n)
{
	json_array_begin(j, key);
	for (unsigned i = 0; i < n; i++)
		json_string(j, NULL, names[i]);
	json_array_end(j);
}

/* system-ram: kmem has it, its memory handed to the kernel; devdax: a character device */
static const char *instance_mode(const struct dax_instance *d)
{
	return d->system_ram ? "system-ram" : "devdax";
}

/* Where the effective policy lives, for an OSTree deployment: "etc", "run", "usr" or NULL. */
static const char *ostree_policy_in(const char *where)
{
	if (!where)
		return NULL;
	if (strncmp(where, "etc/", 4) == 0)
		return "etc";
	if (strncmp(where, "run/", 4) == 0)
		return "run";
	return "usr";
}

static void print_json(const struct status *s)
{
	const char *where;
	enum conf_state state = policy_state(s, &where);
	int effective = policy_effective(s);
	char path[300];
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_int(&j, "version", 2);
	json_string(&j, "root", s->root);
	json_bool(&j, "live", s->live);
	if (s->o.booted) {
		json_object_begin(&j, "ostree");
		json_string(&j, "deployment", s->o.deployment[0] ? s->o.deployment : NULL);
		json_string(&j, "policy_in", ostree_policy_in(where));
		json_object_end(&j);
	} else
		json_null(&j, "ostree");

	json_object_begin(&j, "kernel");
	json_string(&j, "release", s->k.kver[0] ? s->k.kver : NULL);
	json_bool(&j, "modules", s->k.have_tree);
	json_bool(&j, "index", s->k.have_index && s->k.index_error == 0);
	json_string(&j, "index_error", s->k.index_error < 0 ? errmsg(s->k.index_error) : NULL);
	json_string(&j, "kind", kernel_kind(&s->k));
	json_bool(&j, "policy_needed", kernel_needs_policy(&s->k));
	json_string(&j, "dax_pmem_compat", mod_presence_to_string(s->k.compat));
	json_string(&j, "dax_pmem", mod_presence_to_string(s->k.dax_pmem));
	json_string(&j, "device_dax", mod_presence_to_string(s->k.device_dax));
	json_object_end(&j);

	json_object_begin(&j, "resolution");
	json_string(&j, "modalias", ND_DAX_MODALIAS);
	json_names(&j, "modules", (char (*)[64])s->k.resolved, s->k.n_resolved);
	json_names(&j, "blacklisted", (char (*)[64])s->k.blocked, s->k.n_blocked);
	json_object_end(&j);

	json_object_begin(&j, "policy");
	json_string(&j, "state", conf_states[state].summary);
	snprintf(path, sizeof(path), "/%s/daxctl.conf", where ? where : "");
	json_string(&j, "effective", where ? path : NULL);
	if (effective < 0)
		json_null(&j, "in_effect");
	else
		json_bool(&j, "in_effect", effective);
	json_int(&j, "quiet_exit_status", quiet_answer(s));
	json_string(&j, "dracut_dropin", policy_state_to_string(s->dracut_dropin.state));
	json_array_begin(&j, "files");
	for (unsigned i = 0; i < s->m.n; i++) {
		const struct modconf_entry *e = &s->m.e[i];
		char p[600];

		if (!shown(e))
			continue;
		snprintf(p, sizeof(p), "/%s/%s", e->dir, e->name);
		json_object_begin(&j, NULL);
		json_string(&j, "path", p);
		json_string(&j, "role", conf_states[conf_state(e)].role);
		json_string(&j, "link", e->is_link ? e->link_target : NULL);
		json_bool(&j, "is_policy", e->is_policy);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);

	json_object_begin(&j, "initramfs");
	json_bool(&j, "dracut", s->gen.dracut);
	json_bool(&j, "dracut_module", s->gen.dracut_module);
	json_bool(&j, "dracut_before_" DRACUT_FIRST_WITH_SYSTEMCTL, s->gen.dracut_old);
	json_string(&j, "dracut_image_to_rebuild", s->stale_image);
	json_string(&j, "dracut_opt_in", policy_state_to_string(s->dracut_dropin.state));
	json_bool(&j, "initramfs_tools", s->gen.itools);
	json_bool(&j, "initramfs_tools_hook", s->gen.itools_hook);
	json_string(&j, "initramfs_tools_opt_in", policy_state_to_string(s->itools_dropin.state));
	json_object_end(&j);

	if (s->live) {
		json_object_begin(&j, "devices");
		json_string(&j, "model", sysfs_model(&s->l));
		json_array_begin(&j, "nd_dax");
		for (size_t i = 0; i < s->l.n_nd; i++) {
			json_object_begin(&j, NULL);
			json_string(&j, "device", s->l.nd[i].name);
			json_string(&j, "driver", s->l.nd[i].driver[0] ? s->l.nd[i].driver : NULL);
			json_bool(&j, "active", s->l.nd[i].active);
			json_object_end(&j);
		}
		json_array_end(&j);
		/* member names as daxctl list has them, so the two can be joined */
		json_array_begin(&j, "instances");
		for (size_t i = 0; i < s->l.n_inst; i++) {
			const struct dax_instance *d = &s->l.inst[i];

			json_object_begin(&j, NULL);
			json_string(&j, "chardev", d->name);
			json_string(&j, "model", d->bus ? "bus" : "compat");
			json_string(&j, "driver", d->driver[0] ? d->driver : NULL);
			json_string(&j, "mode", instance_mode(d));
			if (d->have_size)
				json_int(&j, "size", (long long)d->size);
			else
				json_null(&j, "size");
			if (d->have_target_node)
				json_int(&j, "target_node", d->target_node);
			else
				json_null(&j, "target_node");
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
	} else
		json_null(&j, "devices");
	json_object_end(&j);
}

static void print_names(const char *label, char names[][64], unsigned n)
{
	printf("  %-22s", label);
	if (n == 0)
		printf(" (none)");
	for (unsigned i = 0; i < n; i++)
		printf(" %s", names[i]);
	putchar('\n');
}

static void print_instances(const struct dax_live *l, bool bus, const char *label)
{
	size_t n = 0;

	printf("  %-22s", label);
	for (size_t i = 0; i < l->n_inst; i++)
		if (l->inst[i].bus == bus) {
			printf(" %s", l->inst[i].name);
			n++;
		}
	printf("%s\n", n ? "" : " (none)");
}

static const char *opt_in_text(const struct policy_found *f)
{
	return policy_in_place(f->state) ? "opted in" : f->state == POLICY_ABSENT ? "not opted in" : "foreign drop-in in the way";
}

static void print_text(const struct status *s)
{
	const char *where;
	enum conf_state state = policy_state(s, &where);
	unsigned count = 0;

	printf("root: %s%s\n", s->root, s->live ? " (running system)" : "");
	if (s->o.booted)
		printf("ostree: booted deployment %s\n"
		       "  its /etc is its own and is merged into later deployments; /usr and the initramfs come from its commit\n",
		       s->o.deployment[0] ? s->o.deployment : "(ostree= does not name one)");
	printf("kernel: %s\n", s->k.kver[0] ? s->k.kver : "(none found)");
	printf("  kind:                  %s (%s%s%s)\n", kernel_kind(&s->k), kernel_kind_text(&s->k),
	       s->k.index_error < 0 ? ": " : "", s->k.index_error < 0 ? errmsg(s->k.index_error) : "");
	if (s->k.have_index && s->k.index_error == 0) {
		printf("  dax_pmem_compat:       %s\n", mod_presence_to_string(s->k.compat));
		printf("  dax_pmem:              %s\n", mod_presence_to_string(s->k.dax_pmem));
		print_names(ND_DAX_MODALIAS " loads:", (char (*)[64])s->k.resolved, s->k.n_resolved);
		if (s->k.n_blocked)
			print_names("blacklisted:", (char (*)[64])s->k.blocked, s->k.n_blocked);
	}
	printf("policy: %s", conf_states[state].summary);
	if (where)
		printf(" (/%s/daxctl.conf)", where);
	putchar('\n');
	if (s->o.booted && where) {
		const char *in = ostree_policy_in(where);

		printf("  %s\n", streq(in, "etc")   ? "in this deployment's /etc: later deployments merge it"
				 : streq(in, "run") ? "runtime only: not in this deployment's /etc, gone at the next boot"
						    : "from the commit's /usr");
	}
	for (unsigned i = 0; i < s->m.n; i++) {
		const struct modconf_entry *e = &s->m.e[i];

		if (!shown(e))
			continue;
		count++;
		printf("  /%s/%s: %s%s%s%s%s\n", e->dir, e->name, conf_states[conf_state(e)].role, e->hidden_by ? " by /" : "",
		       e->hidden_by ? e->hidden_by : "", e->is_policy ? ", the daxbus policy" : "",
		       e->is_link ? ", a link" : "");
	}
	if (!count)
		printf("  no modprobe.d file mentions device-DAX\n");
	printf("dracut drop-in: %s\n", policy_state_to_string(s->dracut_dropin.state));
	printf("initramfs: ");
	if (!s->gen.dracut && !s->gen.itools)
		printf("no generator found (neither dracut nor initramfs-tools)\n");
	if (s->gen.dracut)
		printf("dracut, %s%s\n", opt_in_text(&s->dracut_dropin),
		       s->gen.dracut_module ? "" : " (daxbus's dracut module is not installed)");
	if (s->stale_image)
		printf("  rebuild %s (dracut -f --kver %s): it is older than daxbus's dracut module, and this\n"
		       "  dracut (older than " DRACUT_FIRST_WITH_SYSTEMCTL ") left daxbus 0.1.0's units disabled\n",
		       s->stale_image, s->k.kver);
	if (s->gen.itools)
		printf("%sinitramfs-tools, %s%s\n", s->gen.dracut ? "           " : "", opt_in_text(&s->itools_dropin),
		       s->gen.itools_hook ? "" : " (daxbus's initramfs-tools hook is not installed)");
	if (s->live) {
		printf("devices: %s model\n", sysfs_model(&s->l));
		print_instances(&s->l, false, "/sys/class/dax:");
		print_instances(&s->l, true, "/sys/bus/dax/devices:");
		for (size_t i = 0; i < s->l.n_nd; i++)
			printf("  nd device %-11s bound to %s%s\n", s->l.nd[i].name, s->l.nd[i].driver[0] ? s->l.nd[i].driver : "(none)",
			       s->l.nd[i].active ? "" : " (idle seed)");
		for (size_t i = 0; i < s->l.n_inst; i++) {
			const struct dax_instance *d = &s->l.inst[i];
			char size[64] = "size unknown", node[32] = "target node unknown";

			if (d->have_size)
				snprintf(size, sizeof(size), "size %llu (%llu MiB)", d->size, d->size >> 20);
			if (d->have_target_node)
				snprintf(node, sizeof(node), "target node %ld", d->target_node);
			printf("  %s: %s model, driver %s, mode %s, %s, %s\n", d->name, d->bus ? "bus" : "compat",
			       d->driver[0] ? d->driver : "(none)", instance_mode(d), size, node);
		}
	}
}

/* Gather everything; 0, or -errno (logged) when there is no report to give. */
static int gather(const struct status_args *a, int rootfd, struct status *s)
{
	_cleanup_close_ int conffd = -1;
	char kver[256] = "";
	int r;

	s->live = is_host_root(rootfd) || live_faked(); /* a faked /sys stands for the running system (tests) */
	if (a->kver)
		snprintf(kver, sizeof(kver), "%s", a->kver);
	else if (s->live) {
		struct utsname u;

		if (uname(&u) == 0)
			snprintf(kver, sizeof(kver), "%s", u.release);
	} else if (kmodq_newest_kver(rootfd, kver, sizeof(kver)) < 0)
		kver[0] = '\0';

	r = modconf_scan(rootfd, &s->m);
	if (r < 0)
		return log_error_errno(r, "cannot read the modprobe.d directories of %s: %m", a->c.root);
	r = modconf_memfd(&s->m, &conffd);
	if (r >= 0 && kver[0])
		r = kmodq_inspect(rootfd, kver, conffd, &s->k);
	if (r < 0)
		return log_error_errno(r, "cannot query the module tree of %s for %s: %m", a->c.root, kver);
	if (a->kver && !s->k.have_tree)
		return log_error_errno(ENOENT, "%s/lib/modules/%s: no such module tree", streq(a->c.root, "/") ? "" : a->c.root,
				       kver);
	(void)policy_classify(rootfd, &POLICY_DRACUT_DROPIN, &s->dracut_dropin);
	(void)policy_classify(rootfd, &POLICY_ITOOLS_DROPIN, &s->itools_dropin);
	(void)generators_detect(rootfd, &s->gen);
	if (ostree_detect(rootfd, a->c.root, &s->o) < 0)
		return log_error_errno(ENOMEM, "cannot tell which OSTree deployment %s was booted from: %m", a->c.root);
	if (policy_in_place(s->dracut_dropin.state) && dracut_image_predates_module(rootfd, &s->gen, kver, &s->stale_image) < 0)
		return log_error_errno(ENOMEM, "cannot name the initramfs of %s: %m", kver);
	if (s->live) {
		r = sysfs_read_dax(live_sys(), &s->l);
		if (r < 0)
			return log_error_errno(r, "cannot read the devices in %s: %m", live_sys());
	}
	return 0;
}

static int run(const void *args)
{
	const struct status_args *a = args;
	_cleanup_close_ int rootfd = -1;
	struct status s = { .root = a->c.root };
	int r;

	r = cli_open_root(a->c.root, &rootfd);
	if (r < 0)
		return r;
	r = gather(a, rootfd, &s);
	if (r < 0) {
		status_free(&s);
		return r;
	}
	if (a->json)
		print_json(&s);
	else if (!a->quiet)
		print_text(&s);
	if (s.k.index_error < 0 && !a->quiet)
		log_warning_errno(s.k.index_error, "the module index of %s for %s could not be used: %m; kind unknown",
				  a->c.root, s.k.kver);
	if (a->quiet) {
		r = s.k.index_error < 0 ? log_error_errno(s.k.index_error, "cannot tell: the module index of %s for %s could not "
									   "be used: %m", a->c.root, s.k.kver)
					: quiet_answer(&s);
	} else
		r = 0;
	status_free(&s);
	if (fflush(stdout) != 0 || ferror(stdout))
		return log_error_errno(errno ? errno : EIO, "cannot write the status to standard output: %m");
	return r;
}

static const struct cli_option options[] = {
	CLI_OPTION_ROOT,
	{ "kver", 0, "VERSION", "look at this kernel's module tree (default: the running or newest one)", OPT_KVER, 0 },
	CLI_OPTION_FLAG("json", 0, "print the report as JSON (schema in daxbus(8))", struct status_args, json),
	CLI_OPTION_FLAG("quiet", 'q', "print nothing; answer by exit status: 0 enabled and in effect, 3 not enabled, "
				      "4 another daxctl.conf in the way, 5 enabled but not in effect",
			struct status_args, quiet),
	CLI_OPTION_VERBOSE,
	CLI_OPTION_HELP,
	{},
};

const struct verb VERB_STATUS = {
	.name = "status",
	.summary = "where DIR stands: kernel, policy, initramfs opt-in, devices",
	.description = "Reports the kernel's kind and what nd:t7 loads (libkmod, in a bounded child), the effective "
		       "daxctl.conf and every modprobe.d file that mentions device-DAX, the initramfs generator and "
		       "its opt-in, and on the running system every device-DAX instance. The report exits 0 "
		       "whenever it is printed.",
	.options = options,
	.args_size = sizeof(struct status_args),
	.option = option,
	.run = run,
};
