// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus migrate: a running system from the compat model to the bus model,
 * without a reboot.  The policy goes in first (exactly as `enable` puts it),
 * so that nd:t7 resolves to dax_pmem; then migrate.c moves the devices.
 *
 * A device that is open or mapped would be torn down under its user by the
 * unbind, so the command refuses, changing nothing, while any is, or while
 * it cannot tell.  A dry run refuses exactly where the real run would.
 */
#include <sys/stat.h>
#include <sys/utsname.h>

#include "kmodq.h"
#include "log.h"
#include "migrate.h"
#include "policy.h"
#include "report.h"
#include "util.h"
#include "verbs.h"

/* How long `daxbus migrate` waits for the devices on /sys/bus/dax. */
#define MIGRATE_WAIT_SECONDS 10
#define COMPAT "dax_pmem_compat"

struct migrate_args {
	struct cli_common c;
	struct report r;
	bool runtime;
};

/* Why there is nothing to migrate, for people. */
static void say_nothing(const struct migrate_args *a, int rootfd, const struct migrate_plan *p)
{
	struct kernel_facts k = { 0 };
	struct utsname u;

	if (uname(&u) == 0 && kmodq_inspect(rootfd, u.release, -1, &k) == 0 && k.have_index && k.index_error == 0 &&
	    k.compat == MOD_ABSENT)
		report_say(&a->r, "nothing to migrate: kernel %s has no " COMPAT " (bus model only)", u.release);
	else
		report_say(&a->r, "nothing to migrate: " COMPAT " is not loaded (device model: %s)", sysfs_model(&p->l));
}

static bool is_host_root(int rootfd)
{
	struct stat a, b;

	return fstat(rootfd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int migrate(void *args, int rootfd)
{
	struct migrate_args *a = args;
	_cleanup_migrate_plan_ struct migrate_plan p = { 0 };
	const char *sys = live_sys();
	int r;

	r = migrate_read(sys, &p);
	if (r < 0)
		return log_error_errno(r, "cannot read the devices in %s: %m", sys);
	if (p.needed) {
		r = migrate_check_in_use(live_proc(), live_dev(), &p);
		if (r < 0) {
			for (size_t i = 0; i < p.n_bound; i++)
				report_add(&a->r, OBJECT_DEVICE, p.bound[i], "unbind", RESULT_REFUSED,
					   r == -EBUSY ? "in use" : "cannot tell whether it is in use");
			return log_error_errno(r, "refusing to migrate: %s; nothing changed (compat model)",
					       r == -EBUSY ? "unbinding would tear the device down under its user"
							   : "whether a device is in use cannot be told");
		}
	}
	r = enable_install(rootfd, a->c.root, a->runtime, &a->r);
	if (r < 0)
		return log_error_errno(r, "policy not installed: nothing migrated (%s model)", sysfs_model(&p.l));
	if (!p.needed) {
		say_nothing(a, rootfd, &p);
		return 0;
	}
	if (a->r.dry_run) {
		migrate_plan_steps(&p, sys, MIGRATE_WAIT_SECONDS, &a->r);
		return 0;
	}
	r = migrate_apply(rootfd, sys, &p,
			  &(struct migrate_opts){ .wait_s = MIGRATE_WAIT_SECONDS,
						  .ignore_commands = !is_host_root(rootfd),
						  .proc = live_proc(),
						  .dev = live_dev(),
						  .rep = &a->r });
	if (r < 0)
		return r;
	report_say(&a->r, "migrated to the bus model: %zu device%s on %s/bus/dax", p.n_bound, p.n_bound == 1 ? "" : "s", sys);
	return 0;
}

static int run(const void *args)
{
	struct migrate_args *a = (struct migrate_args *)args;

	return report_run(&a->r, VERB_MIGRATE.name, a->c.root, migrate, a);
}

static const struct cli_option options[] = {
	CLI_OPTION_ROOT,
	CLI_OPTION_FLAG("runtime", 0, "install the policy in DIR/run/modprobe.d only (this boot)", struct migrate_args, runtime),
	REPORT_OPTIONS(struct migrate_args, r),
	CLI_OPTION_VERBOSE,
	CLI_OPTION_HELP,
	{},
};

const struct verb VERB_MIGRATE = {
	.name = "migrate",
	.summary = "switch the running system to the bus model now, without a reboot",
	.description = "Installs the policy as enable does, then unbinds the nd dax devices from dax_pmem_compat, "
		       "removes it, loads dax_pmem and probes the devices again. Refused, changing nothing, while a "
		       "device-DAX device is open or mapped, or while that cannot be told; a failure part-way binds "
		       "every device to the compat driver again.",
	.options = options,
	.args_size = sizeof(struct migrate_args),
	.run = run,
};
