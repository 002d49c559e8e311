// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compat model to the bus model on a running system: the steps, and the
 * rollback that runs whenever one fails.  See migrate.h.
 *
 * Which modules must change (Debian 11, 5.10.0-32-amd64, checked in QEMU by
 * the boot cell migrate-live): only dax_pmem_compat goes, and dax_pmem comes.
 * dax_pmem_core (shared by both) and device_dax (the dax bus driver; compat
 * called its probe directly) stay loaded, and the new dev_dax on /sys/bus/dax
 * binds to device_dax at once, so `daxctl reconfigure-device` can hand it to
 * kmem.
 *
 * Every libnvdimm region has an idle seed dax device without a namespace,
 * bound to nothing in either model: only active devices are moved, waited
 * for and rolled back.
 */
#include <sys/utsname.h>
#include <time.h>

#include "inuse.h"
#include "kmodq.h"
#include "log.h"
#include "migrate.h"
#include "modconf.h"
#include "util.h"

#define COMPAT "dax_pmem_compat"

long migrate_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int migrate_read(const char *sys, struct migrate_plan *ret)
{
	_cleanup_migrate_plan_ struct migrate_plan p = { 0 };
	int r;

	r = sysfs_read_dax(sys, &p.l);
	if (r < 0)
		return r;
	p.bound = calloc(p.l.n_nd ? p.l.n_nd : 1, sizeof(*p.bound));
	if (!p.bound)
		return -ENOMEM;
	for (size_t i = 0; i < p.l.n_nd; i++)
		if (p.l.nd[i].active && streq(p.l.nd[i].driver, COMPAT))
			p.bound[p.n_bound++] = p.l.nd[i].name;
	p.needed = p.l.compat_loaded || p.n_bound > 0;
	*ret = p;
	p = (struct migrate_plan){ 0 };
	return 0;
}

void migrate_plan_free(struct migrate_plan *p)
{
	free(p->bound); /* the names belong to p->l */
	dax_live_free(&p->l);
	*p = (struct migrate_plan){ 0 };
}

int migrate_check_in_use(const char *proc, const char *dev, const struct migrate_plan *p)
{
	_cleanup_inuse_ struct inuse u = { 0 };
	int r;

	r = inuse_scan(proc, dev, &p->l, &u);
	if (r < 0)
		return log_error_errno(r, "cannot look at the processes in %s: %m", proc);
	return inuse_verdict(&u, &p->l);
}

void migrate_plan_steps(const struct migrate_plan *p, const char *sys, unsigned wait_s, struct report *rep)
{
	for (size_t i = 0; i < p->n_bound; i++) {
		report_add(rep, OBJECT_DEVICE, p->bound[i], "unbind", RESULT_WOULD, NULL);
		report_say(rep, "unbind %s from " COMPAT " (%s/bus/nd/drivers/" COMPAT "/unbind)", p->bound[i], sys);
	}
	if (p->l.compat_loaded) {
		report_add(rep, OBJECT_MODULE, COMPAT, "remove", RESULT_WOULD, NULL);
		report_say(rep, "remove module " COMPAT " (libkmod)");
	}
	if (p->n_bound == 0)
		return;
	report_add(rep, OBJECT_MODULE, "dax_pmem", "load", RESULT_WOULD, NULL);
	report_say(rep, "load what " ND_DAX_MODALIAS " resolves to under the policy, dax_pmem (libkmod)");
	for (size_t i = 0; i < p->n_bound; i++) {
		report_add(rep, OBJECT_DEVICE, p->bound[i], "probe", RESULT_WOULD, NULL);
		report_say(rep, "probe %s again (%s/bus/nd/drivers_probe)", p->bound[i], sys);
	}
	report_say(rep, "wait up to %u s until every device is on %s/bus/dax", wait_s, sys);
}

/* Every bound device on /sys/bus/dax, bound to dax_pmem, no compat instance left. */
static bool all_on_bus(const char *sys, const struct migrate_plan *p)
{
	_cleanup_dax_live_ struct dax_live l = { 0 };

	if (sysfs_read_dax(sys, &l) < 0 || l.n_class > 0 || l.n_bus < p->n_bound)
		return false;
	for (size_t i = 0; i < l.n_nd; i++)
		for (size_t j = 0; j < p->n_bound; j++)
			if (streq(l.nd[i].name, p->bound[j]) && !streq(l.nd[i].driver, "dax_pmem"))
				return false;
	return true;
}

/* Milliseconds left before O's deadline (0: none, so a library gets its default). */
static long left_ms(const struct migrate_opts *o)
{
	long left;

	if (!o->deadline_ms)
		return 0;
	left = o->deadline_ms - migrate_now_ms();
	return left > 1 ? left : 1;
}

static bool past_deadline(const struct migrate_opts *o)
{
	return o->deadline_ms && migrate_now_ms() >= o->deadline_ms;
}

/* Bind every active nd dax device without a driver to the compat driver again; logs the model. */
static void roll_back(int rootfd, const char *kver, const char *sys, const struct migrate_opts *o)
{
	_cleanup_dax_live_ struct dax_live l = { 0 };
	size_t loose = 0;
	int r;

	if (sysfs_read_dax(sys, &l) < 0) {
		log_error("rollback: cannot read %s: the devices may be left without a driver", sys);
		return;
	}
	for (size_t i = 0; i < l.n_nd; i++)
		loose += l.nd[i].active && !l.nd[i].driver[0];
	if (loose && !l.compat_loaded) {
		/* by name: the policy's blacklist does not stop it; its driver binds what is unbound */
		r = kmodq_change(rootfd, kver, -1, o->ignore_commands, 0, KMODQ_LOAD_NAME, COMPAT, NULL);
		if (r < 0)
			log_error_errno(r, "rollback: cannot load " COMPAT " again: %m");
		else {
			log_info("rollback: loaded " COMPAT " again");
			report_add(o->rep, OBJECT_MODULE, COMPAT, "load", RESULT_DONE, "rollback");
		}
	}
	for (size_t i = 0; loose && i < l.n_nd; i++) {
		if (!l.nd[i].active || l.nd[i].driver[0])
			continue;
		r = sysfs_write(sys, "bus/nd/drivers/" COMPAT "/bind", l.nd[i].name);
		if (r < 0)
			r = sysfs_write(sys, "bus/nd/drivers_probe", l.nd[i].name);
		if (r < 0)
			log_error_errno(r, "rollback: cannot bind %s again: %m", l.nd[i].name);
		else {
			log_info("rollback: bound %s to " COMPAT " again", l.nd[i].name);
			report_add(o->rep, OBJECT_DEVICE, l.nd[i].name, "bind", RESULT_DONE, "rollback");
		}
	}
	dax_live_free(&l);
	if (sysfs_read_dax(sys, &l) < 0)
		return;
	loose = 0;
	for (size_t i = 0; i < l.n_nd; i++)
		if (l.nd[i].active && !l.nd[i].driver[0]) {
			log_error("%s is left without a driver", l.nd[i].name);
			loose++;
		}
	log_error("migration failed; the system is in the %s model%s", sysfs_model(&l),
		  loose ? "" : ", every device bound to a working driver");
}

/* A step failed or time ran out: say so, roll back, return R. */
static int fail_step(int rootfd, const char *kver, const char *sys, const struct migrate_opts *o, int index, int r)
{
	report_set(o->rep, index, RESULT_FAILED, errmsg(r));
	roll_back(rootfd, kver, sys, o);
	return r;
}

int migrate_apply(int rootfd, const char *sys, const struct migrate_plan *p, const struct migrate_opts *o)
{
	_cleanup_close_ int conffd = -1;
	struct modconf m = { 0 };
	char done[64] = "";
	struct utsname u;
	int r, index;

	if (uname(&u) < 0)
		return log_error_errno(errno, "uname: %m; nothing changed");
	r = modconf_scan(rootfd, &m);
	if (r >= 0)
		r = modconf_memfd(&m, &conffd);
	modconf_free(&m);
	if (r < 0)
		return log_error_errno(r, "cannot read the kmod configuration: %m; nothing changed");
	/* the window between the first look and the unbind, made as short as it can be */
	if (p->n_bound > 0 && o->proc) {
		r = migrate_check_in_use(o->proc, o->dev, p);
		if (r < 0)
			return log_error_errno(r, "a device-DAX device is in use now: nothing unbound (compat model; the "
						  "policy is installed, the next boot uses the bus model)");
	}

	for (size_t i = 0; i < p->n_bound; i++) {
		index = report_add(o->rep, OBJECT_DEVICE, p->bound[i], "unbind", RESULT_DONE, NULL);
		r = past_deadline(o) ? -ETIMEDOUT : sysfs_write(sys, "bus/nd/drivers/" COMPAT "/unbind", p->bound[i]);
		if (r < 0) {
			log_error_errno(r, "cannot unbind %s from " COMPAT ": %m", p->bound[i]);
			return fail_step(rootfd, u.release, sys, o, index, r);
		}
		log_info("unbound %s from " COMPAT, p->bound[i]);
	}
	if (p->l.compat_loaded) {
		index = report_add(o->rep, OBJECT_MODULE, COMPAT, "remove", RESULT_DONE, NULL);
		r = past_deadline(o) ? -ETIMEDOUT
				     : kmodq_change(rootfd, u.release, conffd, o->ignore_commands, left_ms(o), KMODQ_REMOVE,
						    COMPAT, NULL);
		if (r < 0) {
			log_error_errno(r, "cannot remove module " COMPAT ": %m");
			return fail_step(rootfd, u.release, sys, o, index, r);
		}
		log_info("removed module " COMPAT);
	}
	/* nothing was bound: the next nd dax device loads dax_pmem through the policy, as udev does */
	if (p->n_bound == 0)
		return 0;
	index = report_add(o->rep, OBJECT_MODULE, ND_DAX_MODALIAS, "load", RESULT_DONE, NULL);
	r = past_deadline(o) ? -ETIMEDOUT
			     : kmodq_change(rootfd, u.release, conffd, o->ignore_commands, left_ms(o), KMODQ_LOAD_ALIAS,
					    ND_DAX_MODALIAS, done);
	if (r < 0) {
		log_error_errno(r, "cannot load what " ND_DAX_MODALIAS " resolves to: %m");
		return fail_step(rootfd, u.release, sys, o, index, r);
	}
	log_info("loaded %s (" ND_DAX_MODALIAS " under the policy)", done);
	/* loading the driver binds unbound devices; one already loaded needs asking */
	for (size_t i = 0; i < p->n_bound; i++) {
		(void)sysfs_write(sys, "bus/nd/drivers_probe", p->bound[i]);
		report_add(o->rep, OBJECT_DEVICE, p->bound[i], "probe", RESULT_DONE, NULL);
	}
	{
		long deadline = migrate_now_ms() + (long)o->wait_s * 1000L;

		if (o->deadline_ms && o->deadline_ms < deadline)
			deadline = o->deadline_ms;
		while (!all_on_bus(sys, p)) {
			if (migrate_now_ms() > deadline) {
				r = log_error_errno(ETIMEDOUT, "the devices did not reach %s/bus/dax in time", sys);
				return fail_step(rootfd, u.release, sys, o, -1, r);
			}
			usleep(100 * 1000);
		}
	}
	for (size_t i = 0; i < p->n_bound; i++)
		log_info("%s is bound to %s", p->bound[i], done);
	return 0;
}
