// SPDX-License-Identifier: GPL-2.0-only
/*
 * status: where a root stands.  The text is for people; --json is a stable
 * interface (schema documented in man/daxbus.8, "version" bumps on change).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "commands.h"
#include "kmodq.h"
#include "modconf.h"
#include "policy.h"
#include "rootdir.h"
#include "sysfs.h"
#include "util.h"

static bool is_host_root(int rootfd)
{
	struct stat a, b;

	return fstat(rootfd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void json_str(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_names(char names[][64], unsigned n)
{
	putchar('[');
	for (unsigned i = 0; i < n; i++) {
		if (i)
			putchar(',');
		json_str(names[i]);
	}
	putchar(']');
}

static const char *conf_role(const struct modconf_entry *e)
{
	if (e->hidden_by)
		return "hidden";
	if (!e->content)
		return "masked";
	return "effective";
}

/* The policy as this root has it in effect, judged from the effective daxctl.conf. */
static const char *policy_summary(const struct modconf *m, const char **ret_where)
{
	const struct modconf_entry *e = modconf_find_effective(m, "daxctl.conf");

	*ret_where = e ? e->dir : NULL;
	if (!e)
		return "absent";
	if (!e->content)
		return "masked";
	return config_equivalent(e->content, POLICY_TEXT) ? (streq(e->dir, "run/modprobe.d") ? "runtime" : "enabled")
							  : "foreign";
}

static void print_json(const char *root, bool live, const struct kernel_facts *k, const struct modconf *m,
		       const struct policy_found *dropin, const struct dax_live *l)
{
	const char *where;
	const char *summary = policy_summary(m, &where);
	bool first = true;

	printf("{\"version\":1,\"root\":");
	json_str(root);
	printf(",\"live\":%s,\"kernel\":{\"release\":", live ? "true" : "false");
	json_str(k->kver[0] ? k->kver : NULL);
	printf(",\"modules\":%s,\"index\":%s,\"kind\":", k->have_tree ? "true" : "false",
	       k->have_index ? "true" : "false");
	json_str(kernel_kind(k));
	printf(",\"policy_needed\":%s,\"dax_pmem_compat\":", kernel_needs_policy(k) ? "true" : "false");
	json_str(mod_presence_str(k->compat));
	printf(",\"dax_pmem\":");
	json_str(mod_presence_str(k->dax_pmem));
	printf(",\"device_dax\":");
	json_str(mod_presence_str(k->device_dax));
	printf("},\"resolution\":{\"modalias\":\"" ND_DAX_MODALIAS "\",\"modules\":");
	json_names((char (*)[64])k->resolved, k->n_resolved);
	printf(",\"blacklisted\":");
	json_names((char (*)[64])k->blocked, k->n_blocked);
	printf("},\"policy\":{\"state\":");
	json_str(summary);
	printf(",\"effective\":");
	if (where) {
		char p[300];

		snprintf(p, sizeof(p), "/%s/daxctl.conf", where);
		json_str(p);
	} else
		json_str(NULL);
	printf(",\"dracut_dropin\":");
	json_str(policy_state_str(dropin->state));
	printf(",\"files\":[");
	for (unsigned i = 0; i < m->n; i++) {
		const struct modconf_entry *e = &m->e[i];
		char p[600];

		if (!streq(e->name, "daxctl.conf") && !e->mentions_dax)
			continue;
		if (!first)
			putchar(',');
		first = false;
		snprintf(p, sizeof(p), "/%s/%s", e->dir, e->name);
		printf("{\"path\":");
		json_str(p);
		printf(",\"role\":");
		json_str(conf_role(e));
		printf(",\"link\":");
		json_str(e->is_link ? e->link_target : NULL);
		printf(",\"is_policy\":%s}", e->content && config_equivalent(e->content, POLICY_TEXT) ? "true" : "false");
	}
	printf("]}");
	if (live) {
		printf(",\"devices\":{\"model\":");
		json_str(sysfs_model(l));
		printf(",\"class_dax\":");
		json_names((char (*)[64])l->class_dax, l->n_class);
		printf(",\"bus_dax\":");
		json_names((char (*)[64])l->bus_dax, l->n_bus);
		printf(",\"nd_dax\":[");
		for (unsigned i = 0; i < l->n_nd; i++) {
			printf("%s{\"device\":", i ? "," : "");
			json_str(l->nd_dax[i]);
			printf(",\"driver\":");
			json_str(l->nd_driver[i][0] ? l->nd_driver[i] : NULL);
			putchar('}');
		}
		printf("]}");
	} else
		printf(",\"devices\":null");
	printf("}\n");
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

static void print_text(const char *root, bool live, const struct kernel_facts *k, const struct modconf *m,
		       const struct policy_found *dropin, const struct dax_live *l)
{
	const char *where;
	const char *summary = policy_summary(m, &where);
	unsigned shown = 0;

	printf("root: %s%s\n", root, live ? " (running system)" : "");
	printf("kernel: %s\n", k->kver[0] ? k->kver : "(none found)");
	printf("  kind:                  %s (%s)\n", kernel_kind(k), kernel_kind_text(k));
	if (k->have_index) {
		printf("  dax_pmem_compat:       %s\n", mod_presence_str(k->compat));
		printf("  dax_pmem:              %s\n", mod_presence_str(k->dax_pmem));
		print_names(ND_DAX_MODALIAS " loads:", (char (*)[64])k->resolved, k->n_resolved);
		if (k->n_blocked)
			print_names("blacklisted:", (char (*)[64])k->blocked, k->n_blocked);
	}
	printf("policy: %s", summary);
	if (where)
		printf(" (/%s/daxctl.conf)", where);
	putchar('\n');
	for (unsigned i = 0; i < m->n; i++) {
		const struct modconf_entry *e = &m->e[i];

		if (!streq(e->name, "daxctl.conf") && !e->mentions_dax)
			continue;
		shown++;
		printf("  /%s/%s: %s%s%s%s%s\n", e->dir, e->name, conf_role(e),
		       e->hidden_by ? " by /" : "", e->hidden_by ? e->hidden_by : "",
		       e->content && config_equivalent(e->content, POLICY_TEXT) ? ", the daxbus policy" : "",
		       e->is_link ? ", a link" : "");
	}
	if (!shown)
		printf("  no modprobe.d file mentions device-DAX\n");
	printf("dracut drop-in: %s\n", dropin->state == POLICY_ABSENT ? "absent" : policy_state_str(dropin->state));
	if (live) {
		printf("devices: %s model\n", sysfs_model(l));
		print_names("/sys/class/dax:", (char (*)[64])l->class_dax, l->n_class);
		print_names("/sys/bus/dax/devices:", (char (*)[64])l->bus_dax, l->n_bus);
		for (unsigned i = 0; i < l->n_nd; i++)
			printf("  nd device %-11s bound to %s\n", l->nd_dax[i], l->nd_driver[i][0] ? l->nd_driver[i] : "(none)");
	}
}

int cmd_status(const char *root, const char *kver_opt, bool json)
{
	_cleanup_close_ int rootfd = -1, conffd = -1;
	struct kernel_facts k = { 0 };
	struct modconf m = { 0 };
	struct policy_found dropin = { 0 };
	struct dax_live l = { 0 };
	char kver[256] = "";
	bool live;
	int r;

	r = open_root_or_log(root, &rootfd);
	if (r < 0)
		return r;
	live = is_host_root(rootfd);

	if (kver_opt)
		snprintf(kver, sizeof(kver), "%s", kver_opt);
	else if (live) {
		struct utsname u;

		if (uname(&u) == 0)
			snprintf(kver, sizeof(kver), "%s", u.release);
	} else if (kmodq_newest_kver(rootfd, kver, sizeof(kver)) < 0)
		kver[0] = '\0';

	r = modconf_scan(rootfd, &m);
	if (r < 0) {
		log_error("cannot read the modprobe.d directories of %s: %s", root, strerror(-r));
		return r;
	}
	r = modconf_memfd(&m, &conffd);
	if (r >= 0 && kver[0])
		r = kmodq_inspect(rootfd, kver, conffd, &k);
	if (r < 0) {
		log_error("cannot query the module tree of %s for %s: %s", root, kver, strerror(-r));
		modconf_free(&m);
		return r;
	}
	if (kver_opt && !k.have_tree) {
		log_error("%s/lib/modules/%s: no such module tree", streq(root, "/") ? "" : root, kver);
		modconf_free(&m);
		return -ENOENT;
	}
	(void)policy_classify(rootfd, &POLICY_DRACUT_DROPIN, &dropin);
	if (live)
		sysfs_read_dax("/sys", &l);

	if (json)
		print_json(root, live, &k, &m, &dropin, &l);
	else
		print_text(root, live, &k, &m, &dropin, &l);
	modconf_free(&m);
	if (fflush(stdout) != 0 || ferror(stdout))
		return -EIO;
	return 0;
}
