// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus migrate: a running system from the compat model to the bus model,
 * without a reboot.  The policy goes in first (as `enable` puts it), so that
 * nd:t7 resolves to dax_pmem; then the nd dax devices leave dax_pmem_compat,
 * the compat module is removed and the devices are probed again.
 *
 * Which modules must change (Debian 11, 5.10.0-32-amd64, checked in QEMU by
 * the boot cell migrate-live): only dax_pmem_compat goes, and dax_pmem comes.
 * dax_pmem_core (shared by both) and device_dax (the dax bus driver; compat
 * called its probe directly) stay loaded, and the new dev_dax on /sys/bus/dax
 * binds to device_dax at once, so `daxctl reconfigure-device` can hand it to
 * kmem.
 *
 * A device that is open or mapped would be torn down under its user by the
 * unbind, so the command refuses, changing nothing, while any is.  Every
 * failure after the first change binds what it left unbound to the compat
 * driver again, and says which model the system is in.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>

#include "cli.h"
#include "kmodq.h"
#include "log.h"
#include "migrate.h"
#include "modconf.h"
#include "policy.h"
#include "util.h"

/* How long `daxbus migrate` waits for the devices on /sys/bus/dax. */
#define MIGRATE_WAIT_SECONDS 10
#define COMPAT "dax_pmem_compat"

void migrate_read(const char *sys, struct migrate_plan *ret)
{
	struct migrate_plan p = { 0 };

	sysfs_read_dax(sys, &p.l);
	for (unsigned i = 0; i < p.l.n_nd; i++)
		if (streq(p.l.nd_driver[i], COMPAT))
			snprintf(p.bound[p.n_bound++], 64, "%s", p.l.nd_dax[i]);
	p.needed = p.l.compat_loaded || p.n_bound > 0;
	*ret = p;
}

/* The instance whose character device is RDEV, or NULL. */
static const struct dax_instance *dax_of(const struct migrate_plan *p, dev_t rdev)
{
	for (unsigned i = 0; i < p->l.n_inst; i++)
		if (p->l.inst[i].major && makedev(p->l.inst[i].major, p->l.inst[i].minor) == rdev)
			return &p->l.inst[i];
	return NULL;
}

static const struct dax_instance *dax_at(const struct migrate_plan *p, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
		return NULL;
	return dax_of(p, st.st_rdev);
}

/*
 * PATH held by process PID (HOW: "open" or "mapped"): if it is one of the
 * plan's instances not yet named for this process (SEEN), name it with the
 * process and return true.
 */
static bool note_user(const char *proc, const char *pid, const struct migrate_plan *p, bool *seen, const char *path_held,
		      const char *how)
{
	const struct dax_instance *d = dax_at(p, path_held);
	char path[PATH_MAX], comm[64] = "?";
	ssize_t n;
	int fd;

	if (!d || seen[d - p->l.inst])
		return false;
	seen[d - p->l.inst] = true;
	snprintf(path, sizeof(path), "%s/%s/comm", proc, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		close(fd);
	}
	log_error("%s (character device %u:%u) is %s by process %s (%s)", d->name, d->major, d->minor, how, pid, comm);
	return true;
}

/* Per process: which instances were already named, so each is logged once. */
static bool busy_pid(const char *proc, const char *pid, const struct migrate_plan *p)
{
	bool seen[ELEMENTSOF(p->l.inst)] = { false }, busy = false;
	char path[PATH_MAX], line[PATH_MAX + 128];
	struct dirent *de;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/fd", proc, pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/fd/%s", proc, pid, de->d_name);
		busy |= note_user(proc, pid, p, seen, path, "open");
	}
	if (dir)
		closedir(dir);
	/* a mapping outlives the close of its fd: address dev inode pathname */
	snprintf(path, sizeof(path), "%s/%s/maps", proc, pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *name = strchr(line, '/');

		if (!name)
			continue;
		name[strcspn(name, "\n")] = '\0';
		busy |= note_user(proc, pid, p, seen, name, "mapped");
	}
	if (f)
		fclose(f);
	return busy;
}

int migrate_check_in_use(const char *proc, const struct migrate_plan *p)
{
	struct dirent *de;
	bool busy = false;
	DIR *dir;

	dir = opendir(proc);
	if (!dir)
		return log_error_errno(errno, "cannot list the processes in %s: %m", proc);
	while ((de = readdir(dir)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9' && de->d_name[strspn(de->d_name, "0123456789")] == '\0')
			busy |= busy_pid(proc, de->d_name, p);
	closedir(dir);
	return busy ? -EBUSY : 0;
}

void migrate_print_steps(const struct migrate_plan *p, const char *sys, unsigned wait_s)
{
	for (unsigned i = 0; i < p->n_bound; i++)
		printf("unbind %s from " COMPAT " (%s/bus/nd/drivers/" COMPAT "/unbind)\n", p->bound[i], sys);
	if (p->l.compat_loaded)
		printf("remove module " COMPAT " (libkmod)\n");
	if (p->n_bound == 0)
		return;
	printf("load what " ND_DAX_MODALIAS " resolves to under the policy, dax_pmem (libkmod)\n");
	for (unsigned i = 0; i < p->n_bound; i++)
		printf("probe %s again (%s/bus/nd/drivers_probe)\n", p->bound[i], sys);
	printf("wait up to %u s until every device is on %s/bus/dax\n", wait_s, sys);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static bool all_on_bus(const char *sys, const struct migrate_plan *p)
{
	struct dax_live l;

	sysfs_read_dax(sys, &l);
	if (l.n_class > 0 || l.n_bus < p->n_bound)
		return false;
	for (unsigned i = 0; i < l.n_nd; i++)
		for (unsigned j = 0; j < p->n_bound; j++)
			if (streq(l.nd_dax[i], p->bound[j]) && !streq(l.nd_driver[i], "dax_pmem"))
				return false;
	return true;
}

/* Bind every nd dax device without a driver to the compat driver again; logs the model. */
static void roll_back(int rootfd, const char *kver, const char *sys)
{
	struct dax_live l;
	unsigned loose = 0;
	int r;

	sysfs_read_dax(sys, &l);
	for (unsigned i = 0; i < l.n_nd; i++)
		loose += !l.nd_driver[i][0];
	if (loose && !l.compat_loaded) {
		/* by name: the policy's blacklist does not stop it; its driver binds what is unbound */
		r = kmodq_change(rootfd, kver, -1, KMODQ_LOAD_NAME, COMPAT, NULL);
		if (r < 0)
			log_error_errno(r, "rollback: cannot load " COMPAT " again: %m");
		else
			log_info("rollback: loaded " COMPAT " again");
	}
	for (unsigned i = 0; loose && i < l.n_nd; i++) {
		char rel[128];

		if (l.nd_driver[i][0])
			continue;
		snprintf(rel, sizeof(rel), "bus/nd/drivers/" COMPAT "/bind");
		r = sysfs_write(sys, rel, l.nd_dax[i]);
		if (r < 0)
			r = sysfs_write(sys, "bus/nd/drivers_probe", l.nd_dax[i]);
		if (r < 0)
			log_error_errno(r, "rollback: cannot bind %s again: %m", l.nd_dax[i]);
		else
			log_info("rollback: bound %s to " COMPAT " again", l.nd_dax[i]);
	}
	sysfs_read_dax(sys, &l);
	loose = 0;
	for (unsigned i = 0; i < l.n_nd; i++)
		if (!l.nd_driver[i][0]) {
			log_error("%s is left without a driver", l.nd_dax[i]);
			loose++;
		}
	log_error("migration failed; the system is in the %s model%s", sysfs_model(&l),
		  loose ? "" : ", every device bound to a working driver");
}

int migrate_apply(int rootfd, const char *sys, const struct migrate_plan *p, unsigned wait_s)
{
	_cleanup_close_ int conffd = -1;
	struct modconf m = { 0 };
	char done[64] = "", rel[128];
	struct utsname u;
	long deadline;
	int r;

	if (uname(&u) < 0)
		return log_error_errno(errno, "uname: %m; nothing changed");
	r = modconf_scan(rootfd, &m);
	if (r >= 0)
		r = modconf_memfd(&m, &conffd);
	modconf_free(&m);
	if (r < 0)
		return log_error_errno(r, "cannot read the kmod configuration: %m; nothing changed");

	snprintf(rel, sizeof(rel), "bus/nd/drivers/" COMPAT "/unbind");
	for (unsigned i = 0; i < p->n_bound; i++) {
		r = sysfs_write(sys, rel, p->bound[i]);
		if (r < 0) {
			log_error_errno(r, "cannot unbind %s from " COMPAT ": %m", p->bound[i]);
			goto fail;
		}
		log_info("unbound %s from " COMPAT, p->bound[i]);
	}
	if (p->l.compat_loaded) {
		r = kmodq_change(rootfd, u.release, conffd, KMODQ_REMOVE, COMPAT, NULL);
		if (r < 0) {
			log_error_errno(r, "cannot remove module " COMPAT ": %m");
			goto fail;
		}
		log_info("removed module " COMPAT);
	}
	/* nothing was bound: the next nd dax device loads dax_pmem through the policy, as udev does */
	if (p->n_bound == 0)
		return 0;
	r = kmodq_change(rootfd, u.release, conffd, KMODQ_LOAD_ALIAS, ND_DAX_MODALIAS, done);
	if (r < 0) {
		log_error_errno(r, "cannot load what " ND_DAX_MODALIAS " resolves to: %m");
		goto fail;
	}
	log_info("loaded %s (" ND_DAX_MODALIAS " under the policy)", done);
	/* loading the driver binds unbound devices; one already loaded needs asking */
	for (unsigned i = 0; i < p->n_bound; i++)
		(void)sysfs_write(sys, "bus/nd/drivers_probe", p->bound[i]);
	deadline = now_ms() + wait_s * 1000L;
	while (!all_on_bus(sys, p)) {
		if (now_ms() > deadline) {
			r = log_error_errno(ETIMEDOUT, "the devices did not reach %s/bus/dax within %u s", sys, wait_s);
			goto fail;
		}
		usleep(100 * 1000);
	}
	for (unsigned i = 0; i < p->n_bound; i++)
		log_info("%s is bound to %s", p->bound[i], done);
	return 0;
fail:
	roll_back(rootfd, u.release, sys);
	return r;
}

/* --- the command ---------------------------------------------------------- */

enum { OPT_RUNTIME = 0x100, OPT_DRY_RUN };

static int parse(int argc, char *argv[], struct cli_args *a)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "root", required_argument, NULL, 'r' },
		{ "runtime", no_argument, NULL, OPT_RUNTIME },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{},
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "hr:", options, NULL)) != -1) {
		r = cli_common_option(&VERB_MIGRATE, c, argv, a);
		if (r != 0) {
			if (r == 1)
				continue;
			return r;
		}
		if (c == OPT_RUNTIME)
			a->runtime = true;
		else if (c == OPT_DRY_RUN)
			a->dry_run = true;
	}
	if (optind < argc)
		return cli_usage_error("migrate ", "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Why there is nothing to migrate, for people. */
static void say_nothing(int rootfd, const struct migrate_plan *p)
{
	struct kernel_facts k = { 0 };
	struct utsname u;

	if (uname(&u) == 0 && kmodq_inspect(rootfd, u.release, -1, &k) == 0 && k.have_index && k.index_error == 0 &&
	    k.compat == MOD_ABSENT)
		printf("nothing to migrate: kernel %s has no " COMPAT " (bus model only)\n", u.release);
	else
		printf("nothing to migrate: " COMPAT " is not loaded (device model: %s)\n", sysfs_model(&p->l));
}

static int run(const struct cli_args *a)
{
	_cleanup_close_ int rootfd = -1;
	_cleanup_free_ char *path = NULL;
	const char *sys = live_sys();
	struct migrate_plan p;
	int r;

	r = cli_open_root(a->root, &rootfd);
	if (r < 0)
		return r;
	migrate_read(sys, &p);
	if (p.needed && migrate_check_in_use(live_proc(), &p) < 0)
		return log_error_errno(EBUSY, "refusing to migrate: unbinding would tear the device down under its user; "
					      "nothing changed (compat model)");
	if (a->dry_run) {
		path = policy_path(a->root, a->runtime ? &POLICY_MODPROBE_RUN : &POLICY_MODPROBE_ETC);
		printf("dry run, nothing is changed; the steps:\ninstall the policy as %s (unless already in place)\n", path);
		if (p.needed)
			migrate_print_steps(&p, sys, MIGRATE_WAIT_SECONDS);
		else
			say_nothing(rootfd, &p);
		return fflush(stdout) == 0 ? 0 : -EIO;
	}
	r = VERB_ENABLE.run(a); /* exactly what enable installs, refuses and takes back */
	if (r < 0)
		return log_error_errno(r, "policy not installed: nothing migrated (%s model)", sysfs_model(&p.l));
	if (!p.needed) {
		say_nothing(rootfd, &p);
		return 0;
	}
	r = migrate_apply(rootfd, sys, &p, MIGRATE_WAIT_SECONDS);
	if (r < 0)
		return r;
	printf("migrated to the bus model: %u device%s on %s/bus/dax\n", p.n_bound, p.n_bound == 1 ? "" : "s", sys);
	return 0;
}

const struct verb VERB_MIGRATE = {
	.name = "migrate",
	.synopsis = "[--root DIR] [--runtime] [--dry-run]",
	.help = "install the policy as enable does, then move the running system from dax_pmem_compat to the bus model "
		"without a reboot (refused while a device-DAX device is open or mapped)",
	.parse = parse,
	.run = run,
};
