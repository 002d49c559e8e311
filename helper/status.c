// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus status: where a root stands.  The text is for people; --json is a
 * stable interface (schema in man/daxbus.8; "version" bumps on an
 * incompatible change, new keys may be added).
 */
#include <getopt.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "chase.h"
#include "cli.h"
#include "generator.h"
#include "json.h"
#include "kmodq.h"
#include "log.h"
#include "modconf.h"
#include "policy.h"
#include "sysfs.h"
#include "util.h"

enum { OPT_KVER = 0x100, OPT_JSON };

static int parse(int argc, char *argv[], struct cli_args *a)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "root", required_argument, NULL, 'r' },
		{ "kver", required_argument, NULL, OPT_KVER },
		{ "json", no_argument, NULL, OPT_JSON },
		{},
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "hr:", options, NULL)) != -1) {
		r = cli_common_option(&VERB_STATUS, c, argv, a);
		if (r != 0) {
			if (r == 1)
				continue;
			return r;
		}
		if (c == OPT_KVER) {
			if (!*optarg || strchr(optarg, '/') || streq(optarg, "..") || streq(optarg, "."))
				return cli_usage_error("status ", "--kver '%s' is not a kernel release", optarg);
			a->kver = optarg;
		} else if (c == OPT_JSON)
			a->json = true;
	}
	if (optind < argc)
		return cli_usage_error("status ", "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Everything status reports, gathered before anything is printed. */
struct report {
	const char *root;
	bool live;
	struct kernel_facts k;
	struct modconf m;
	struct policy_found dracut_dropin, itools_dropin;
	struct generators gen;
	char *stale_image; /* KVER's image, built by an old dracut before this module was installed */
	struct dax_live l;
};

static bool is_host_root(int rootfd)
{
	struct stat a, b;

	return fstat(rootfd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static const char *conf_role(const struct modconf_entry *e)
{
	if (e->hidden_by)
		return "hidden";
	if (e->is_link && streq(e->link_target, "/dev/null"))
		return "masked";
	if (!e->content)
		return "unreadable";
	return "effective";
}

/* The policy as this root has it in effect, judged from the effective daxctl.conf. */
static const char *policy_summary(const struct modconf *m, const char **ret_where)
{
	const struct modconf_entry *e = modconf_find_effective(m, "daxctl.conf");

	*ret_where = e ? e->dir : NULL;
	if (!e)
		return "absent";
	if (e->is_link && streq(e->link_target, "/dev/null"))
		return "masked";
	if (!e->content)
		return "unreadable";
	if (!e->is_policy)
		return "foreign";
	return streq(e->dir, "run/modprobe.d") ? "runtime" : "enabled";
}

static bool shown(const struct modconf_entry *e)
{
	return streq(e->name, "daxctl.conf") || e->mentions_dax;
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

static void print_json(const struct report *s)
{
	const char *where, *summary = policy_summary(&s->m, &where);
	char path[300];
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_int(&j, "version", 1);
	json_string(&j, "root", s->root);
	json_bool(&j, "live", s->live);

	json_object_begin(&j, "kernel");
	json_string(&j, "release", s->k.kver[0] ? s->k.kver : NULL);
	json_bool(&j, "modules", s->k.have_tree);
	json_bool(&j, "index", s->k.have_index && s->k.index_error == 0);
	json_string(&j, "index_error", s->k.index_error < 0 ? errmsg(s->k.index_error) : NULL);
	json_string(&j, "kind", kernel_kind(&s->k));
	json_bool(&j, "policy_needed", kernel_needs_policy(&s->k));
	json_string(&j, "dax_pmem_compat", mod_presence_str(s->k.compat));
	json_string(&j, "dax_pmem", mod_presence_str(s->k.dax_pmem));
	json_string(&j, "device_dax", mod_presence_str(s->k.device_dax));
	json_object_end(&j);

	json_object_begin(&j, "resolution");
	json_string(&j, "modalias", ND_DAX_MODALIAS);
	json_names(&j, "modules", (char (*)[64])s->k.resolved, s->k.n_resolved);
	json_names(&j, "blacklisted", (char (*)[64])s->k.blocked, s->k.n_blocked);
	json_object_end(&j);

	json_object_begin(&j, "policy");
	json_string(&j, "state", summary);
	snprintf(path, sizeof(path), "/%s/daxctl.conf", where ? where : "");
	json_string(&j, "effective", where ? path : NULL);
	json_string(&j, "dracut_dropin", policy_state_str(s->dracut_dropin.state));
	json_array_begin(&j, "files");
	for (unsigned i = 0; i < s->m.n; i++) {
		const struct modconf_entry *e = &s->m.e[i];
		char p[600];

		if (!shown(e))
			continue;
		snprintf(p, sizeof(p), "/%s/%s", e->dir, e->name);
		json_object_begin(&j, NULL);
		json_string(&j, "path", p);
		json_string(&j, "role", conf_role(e));
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
	json_string(&j, "dracut_opt_in", policy_state_str(s->dracut_dropin.state));
	json_bool(&j, "initramfs_tools", s->gen.itools);
	json_bool(&j, "initramfs_tools_hook", s->gen.itools_hook);
	json_string(&j, "initramfs_tools_opt_in", policy_state_str(s->itools_dropin.state));
	json_object_end(&j);

	if (s->live) {
		json_object_begin(&j, "devices");
		json_string(&j, "model", sysfs_model(&s->l));
		json_names(&j, "class_dax", (char (*)[64])s->l.class_dax, s->l.n_class);
		json_names(&j, "bus_dax", (char (*)[64])s->l.bus_dax, s->l.n_bus);
		json_array_begin(&j, "nd_dax");
		for (unsigned i = 0; i < s->l.n_nd; i++) {
			json_object_begin(&j, NULL);
			json_string(&j, "device", s->l.nd_dax[i]);
			json_string(&j, "driver", s->l.nd_driver[i][0] ? s->l.nd_driver[i] : NULL);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_array_begin(&j, "instances");
		for (unsigned i = 0; i < s->l.n_inst; i++) {
			const struct dax_instance *d = &s->l.inst[i];

			json_object_begin(&j, NULL);
			json_string(&j, "device", d->name);
			json_string(&j, "model", d->bus ? "bus" : "compat");
			json_string(&j, "driver", d->driver[0] ? d->driver : NULL);
			json_string(&j, "mode", instance_mode(d));
			json_int(&j, "size", (long long)d->size);
			json_int(&j, "target_node", d->target_node);
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

static const char *opt_in_text(const struct policy_found *f)
{
	return policy_in_place(f->state) ? "opted in" : f->state == POLICY_ABSENT ? "not opted in" : "foreign drop-in in the way";
}

static void print_text(const struct report *s)
{
	const char *where, *summary = policy_summary(&s->m, &where);
	unsigned count = 0;

	printf("root: %s%s\n", s->root, s->live ? " (running system)" : "");
	printf("kernel: %s\n", s->k.kver[0] ? s->k.kver : "(none found)");
	printf("  kind:                  %s (%s%s%s)\n", kernel_kind(&s->k), kernel_kind_text(&s->k),
	       s->k.index_error < 0 ? ": " : "", s->k.index_error < 0 ? errmsg(s->k.index_error) : "");
	if (s->k.have_index && s->k.index_error == 0) {
		printf("  dax_pmem_compat:       %s\n", mod_presence_str(s->k.compat));
		printf("  dax_pmem:              %s\n", mod_presence_str(s->k.dax_pmem));
		print_names(ND_DAX_MODALIAS " loads:", (char (*)[64])s->k.resolved, s->k.n_resolved);
		if (s->k.n_blocked)
			print_names("blacklisted:", (char (*)[64])s->k.blocked, s->k.n_blocked);
	}
	printf("policy: %s", summary);
	if (where)
		printf(" (/%s/daxctl.conf)", where);
	putchar('\n');
	for (unsigned i = 0; i < s->m.n; i++) {
		const struct modconf_entry *e = &s->m.e[i];

		if (!shown(e))
			continue;
		count++;
		printf("  /%s/%s: %s%s%s%s%s\n", e->dir, e->name, conf_role(e), e->hidden_by ? " by /" : "",
		       e->hidden_by ? e->hidden_by : "", e->is_policy ? ", the daxbus policy" : "",
		       e->is_link ? ", a link" : "");
	}
	if (!count)
		printf("  no modprobe.d file mentions device-DAX\n");
	printf("dracut drop-in: %s\n", policy_state_str(s->dracut_dropin.state));
	printf("initramfs: ");
	if (!s->gen.dracut && !s->gen.itools)
		printf("no generator found (neither dracut nor initramfs-tools)\n");
	if (s->gen.dracut)
		printf("%sdracut, %s%s\n", "", opt_in_text(&s->dracut_dropin),
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
		print_names("/sys/class/dax:", (char (*)[64])s->l.class_dax, s->l.n_class);
		print_names("/sys/bus/dax/devices:", (char (*)[64])s->l.bus_dax, s->l.n_bus);
		for (unsigned i = 0; i < s->l.n_nd; i++)
			printf("  nd device %-11s bound to %s\n", s->l.nd_dax[i], s->l.nd_driver[i][0] ? s->l.nd_driver[i] : "(none)");
		for (unsigned i = 0; i < s->l.n_inst; i++) {
			const struct dax_instance *d = &s->l.inst[i];

			printf("  %s: %s model, driver %s, mode %s, size %llu (%llu MiB), target node %ld\n", d->name,
			       d->bus ? "bus" : "compat", d->driver[0] ? d->driver : "(none)", instance_mode(d), d->size,
			       d->size >> 20, d->target_node);
		}
	}
}

static int run(const struct cli_args *a)
{
	_cleanup_close_ int rootfd = -1, conffd = -1;
	struct report s = { .root = a->root };
	char kver[256] = "";
	int r;

	r = cli_open_root(a->root, &rootfd);
	if (r < 0)
		return r;
	s.live = is_host_root(rootfd) || live_faked(); /* a faked /sys stands for the running system (tests) */

	if (a->kver)
		snprintf(kver, sizeof(kver), "%s", a->kver);
	else if (s.live) {
		struct utsname u;

		if (uname(&u) == 0)
			snprintf(kver, sizeof(kver), "%s", u.release);
	} else if (kmodq_newest_kver(rootfd, kver, sizeof(kver)) < 0)
		kver[0] = '\0';

	r = modconf_scan(rootfd, &s.m);
	if (r < 0)
		return log_error_errno(r, "cannot read the modprobe.d directories of %s: %m", a->root);
	r = modconf_memfd(&s.m, &conffd);
	if (r >= 0 && kver[0])
		r = kmodq_inspect(rootfd, kver, conffd, &s.k);
	if (r < 0) {
		modconf_free(&s.m);
		return log_error_errno(r, "cannot query the module tree of %s for %s: %m", a->root, kver);
	}
	if (a->kver && !s.k.have_tree) {
		modconf_free(&s.m);
		return log_error_errno(ENOENT, "%s/lib/modules/%s: no such module tree", streq(a->root, "/") ? "" : a->root, kver);
	}
	(void)policy_classify(rootfd, &POLICY_DRACUT_DROPIN, &s.dracut_dropin);
	(void)policy_classify(rootfd, &POLICY_ITOOLS_DROPIN, &s.itools_dropin);
	(void)generators_detect(rootfd, &s.gen);
	if (policy_in_place(s.dracut_dropin.state) && dracut_image_predates_module(rootfd, &s.gen, kver, &s.stale_image) < 0) {
		modconf_free(&s.m);
		return log_error_errno(ENOMEM, "cannot name the initramfs of %s: %m", kver);
	}
	if (s.live)
		sysfs_read_dax(live_sys(), &s.l);

	if (a->json)
		print_json(&s);
	else
		print_text(&s);
	modconf_free(&s.m);
	free(s.stale_image);
	if (fflush(stdout) != 0 || ferror(stdout))
		return log_error_errno(errno ? errno : EIO, "cannot write the status to standard output: %m");
	if (s.k.index_error < 0)
		return log_error_errno(s.k.index_error, "the module index of %s for %s could not be used: %m", a->root, kver);
	return 0;
}

const struct verb VERB_STATUS = {
	.name = "status",
	.synopsis = "[--root DIR] [--kver VERSION] [--json]",
	.help = "kernel kind, effective policy, what nd:t7 loads, initramfs opt-in, live devices",
	.parse = parse,
	.run = run,
};
