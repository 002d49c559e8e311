// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxbus initrd early|root: the two initramfs steps (dracut's hooks and units,
 * initramfs-tools' scripts run them).  Each does what the boot needs first and
 * only then anything optional, logs one line per decision to the kernel log,
 * bounds its own run time, and cannot fail a boot: the callers ignore the exit
 * status, and every problem ends in "the runtime policy stays, the root is
 * left alone".
 *
 *   early  before udevd: policy into /run/modprobe.d, which kmod reads in the
 *          initramfs and which survives switch-root into the real root.
 *   root   after the real root is mounted: persist the policy into its
 *          /etc/modprobe.d, remounting it read-write only for that write.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/utsname.h>
#include <time.h>

#include "chase.h"
#include "cmdline.h"
#include "fileio.h"
#include "kmodq.h"
#include "log.h"
#include "migrate.h"
#include "modconf.h"
#include "mount-util.h"
#include "policy.h"
#include "util.h"
#include "verbs.h"

/* Whatever a library or a file system does, a step ends within this. */
#define STEP_SECONDS 20
/*
 * The early rescue (a migration in place) has a deadline of its own, well
 * inside the step's, so that its rollback always has time to run before
 * the step's alarm: every device ends bound to a driver.
 */
#define RESCUE_MS 12000
/* The rescue's wait for devices on /sys/bus/dax. */
#define RESCUE_WAIT_SECONDS 5

enum { OPT_SYSROOT, OPT_LOG };

struct initrd_args {
	struct cli_common c;
	const char *sysroot; /* --sysroot, default /sysroot */
	int log;             /* --log: -1 default (kmsg), else enum log_target */
	bool early;          /* the step: early, else root */
	const char *step;
};

static void defaults(void *args)
{
	struct initrd_args *a = args;

	a->sysroot = "/sysroot";
	a->log = -1;
}

static int option(void *args, int id, const char *value)
{
	struct initrd_args *a = args;

	if (id == OPT_SYSROOT) {
		if (!*value)
			return cli_usage_error(&VERB_INITRD, "--sysroot needs a directory");
		a->sysroot = value;
	} else if (id == OPT_LOG) {
		if (streq(value, "kmsg"))
			a->log = LOG_TARGET_KMSG;
		else if (streq(value, "stderr"))
			a->log = LOG_TARGET_STDERR;
		else
			return cli_usage_error(&VERB_INITRD, "--log takes kmsg or stderr, not '%s'", value);
	}
	return 0;
}

static int operands(void *args, int argc, char *argv[])
{
	struct initrd_args *a = args;

	if (argc < 1)
		return cli_usage_error(&VERB_INITRD, "initrd needs a step: early or root");
	if (argc > 1)
		return cli_usage_error(&VERB_INITRD, "unexpected argument '%s'", argv[1]);
	if (!streq(argv[0], "early") && !streq(argv[0], "root"))
		return cli_usage_error(&VERB_INITRD, "unknown initrd step '%s' (early or root)", argv[0]);
	a->step = argv[0];
	a->early = streq(argv[0], "early");
	return 0;
}

/* The optional part: what the running kernel's tree says, for people reading the log. */
static void log_kernel_kind(int rootfd, const char *where)
{
	_cleanup_close_ int conffd = -1;
	_cleanup_modconf_ struct modconf m = { 0 };
	struct kernel_facts k = { 0 };
	struct utsname u;

	if (uname(&u) < 0 || modconf_scan(rootfd, &m) < 0)
		return;
	if (modconf_memfd(&m, &conffd) == 0 && kmodq_inspect(rootfd, u.release, conffd, &k) == 0) {
		log_info("kernel %s in the %s: %s (%s%s%s)", u.release, where, kernel_kind(&k), kernel_kind_text(&k),
			 k.index_error < 0 ? ": " : "", k.index_error < 0 ? errmsg(k.index_error) : "");
		if (k.n_resolved)
			log_info("%s resolves to %s with the %s's configuration", ND_DAX_MODALIAS, k.resolved[0], where);
	}
}

/*
 * SIGALRM: the first one interrupts whatever blocks (no SA_RESTART, so the
 * call fails with EINTR and the step winds down, restoring a read-only
 * root); a second one, seconds later, ends the process.
 */
static void on_alarm(int sig)
{
	static volatile sig_atomic_t fired;
	static const char msg[] = "<4>daxbus: step timed out\n";

	(void)sig;
	if (fired++) {
		_exit(EXIT_FAIL);
	}
	(void)!write(STDERR_FILENO, msg + 3, sizeof(msg) - 4);
	alarm(5);
}

static void bound_run_time(void)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */

	sigaction(SIGALRM, &sa, NULL);
	alarm(STEP_SECONDS);
}

/*
 * Something loaded dax_pmem_compat before this step (rd.driver.pre=, a
 * module another dracut module pulled in): with the policy now in place,
 * move to the bus model in place, with `daxbus migrate`'s code.  Usually no
 * nd dax device exists yet (udev has not run): removing the module is then
 * all it takes.  Failures are logged; the boot goes on in whatever model,
 * every device bound (migrate_apply rolls back).
 */
static void rescue_compat(int rootfd, long step_start_ms)
{
	_cleanup_migrate_plan_ struct migrate_plan p = { 0 };
	struct report rep = { .quiet = true };
	long deadline = migrate_now_ms() + RESCUE_MS;
	int r;

	/* never later than 6 s before the step's alarm: the rollback needs that */
	if (deadline > step_start_ms + (STEP_SECONDS - 6) * 1000L)
		deadline = step_start_ms + (STEP_SECONDS - 6) * 1000L;
	if (migrate_read(live_sys(), &p) < 0 || !p.needed)
		return;
	if (migrate_check_in_use(live_proc(), live_dev(), &p) < 0) {
		log_warning("dax_pmem_compat was loaded before the early step and a device is in use (or that cannot be told): "
			    "left in the compat model");
		return;
	}
	r = migrate_apply(rootfd, live_sys(), &p,
			  &(struct migrate_opts){ .wait_s = RESCUE_WAIT_SECONDS,
						  .deadline_ms = deadline,
						  .proc = live_proc(),
						  .dev = live_dev(),
						  .rep = &rep });
	report_free(&rep);
	if (r < 0) {
		log_warning("dax_pmem_compat was loaded before the early step; migrating in place failed (see above)");
		return;
	}
	log_notice("dax_pmem_compat was loaded before the early step: migrated in place to the bus model (%zu device%s moved)",
		   p.n_bound, p.n_bound == 1 ? "" : "s");
}

static int step_early(int rootfd, const char *root, const struct cmdline *cmdline, long start_ms)
{
	_cleanup_free_ char *path = policy_path(root, &POLICY_MODPROBE_RUN);
	struct policy_found found, etc;
	int r;

	if (!cmdline_get_bool(cmdline, "rd.daxbus", true)) {
		log_info("disabled by rd.daxbus=0: no policy installed");
		return 0;
	}
	r = policy_install(rootfd, &POLICY_MODPROBE_RUN, &found);
	if (r == -EFOREIGN_DAXBUS)
		return log_warning_errno(r, "%s exists and is not the daxbus policy; left alone", path);
	if (r < 0)
		return log_warning_errno(r, "failed to write %s: %m; no runtime policy", path);
	if (found.state == POLICY_ABSENT)
		log_info("runtime policy installed in %s (dax_pmem_compat blacklisted, nd:t7 -> dax_pmem)", path);
	else
		log_info("runtime policy %s already in place", path);
	/* a hostonly image carries the host's /etc/modprobe.d, which kmod reads first */
	if (policy_classify(rootfd, &POLICY_MODPROBE_ETC, &etc) == 0 && policy_hides(&etc))
		log_warning("the initramfs's own /etc/modprobe.d/daxctl.conf is not the policy and hides %s here; "
			    "it still applies after switch-root unless the root's /etc has a daxctl.conf too", path);
	else
		rescue_compat(rootfd, start_ms);
	return 0;
}

/* On SELinux systems a file created from the initramfs has no label yet. */
static void request_relabel(int initrdfd, const char *sysroot, int sysrootfd, bool made_dir)
{
	_cleanup_close_ int sefd = -1;
	static const struct policy_file relabel_base = {
		"run/systemd/relabel-extra.d", "daxbus.relabel", "/etc/modprobe.d/daxctl.conf\n", MEANING_BYTES, NULL,
	};
	static const struct policy_file relabel_dir = {
		"run/systemd/relabel-extra.d", "daxbus.relabel", "/etc/modprobe.d\n/etc/modprobe.d/daxctl.conf\n", MEANING_BYTES, NULL,
	};
	struct policy_found found;
	int r;

	if (chase_open(sysrootfd, "etc/selinux/config", 0, O_PATH, &sefd) < 0)
		return; /* no SELinux policy in this root: nothing to relabel */
	r = policy_install(initrdfd, made_dir ? &relabel_dir : &relabel_base, &found);
	if (r < 0 && r != -EFOREIGN_DAXBUS)
		log_warning_errno(r, "SELinux: cannot ask systemd to relabel %s/etc/modprobe.d/daxctl.conf: %m", sysroot);
	else
		log_info("SELinux: %s/etc/modprobe.d/daxctl.conf will be relabelled after switch-root", sysroot);
}

static int step_root(int rootfd, const char *sysroot, const struct cmdline *cmdline, int *ret_sysfd)
{
	_cleanup_free_ char *ostree = NULL, *path = NULL;
	_cleanup_close_ int sysfd = -1, modfd = -1;
	struct policy_found found;
	enum remount_kind how;
	bool persist, made_dir;
	int r, r2, in_ostree;

	if (!cmdline_get_bool(cmdline, "rd.daxbus", true)) {
		log_info("disabled by rd.daxbus=0: root left untouched");
		return 0;
	}
	/* OSTree/bootc: /etc is a deployment's, maybe transient; the runtime policy is enough */
	in_ostree = cmdline_get(cmdline, "ostree", &ostree);
	persist = cmdline_get_bool(cmdline, "rd.daxbus.persist", in_ostree <= 0);
	if (!persist) {
		log_info("%s: runtime policy only, %s left untouched",
			 in_ostree > 0 ? "OSTree deployment (ostree= given)" : "rd.daxbus.persist=0", sysroot);
		return 0;
	}
	r = root_open(sysroot, &sysfd);
	if (r < 0)
		return log_warning_errno(r, "cannot open %s: %m; runtime policy only", sysroot);
	path = policy_path(sysroot, &POLICY_MODPROBE_ETC);
	r = policy_classify(sysfd, &POLICY_MODPROBE_ETC, &found);
	if (r < 0)
		return log_warning_errno(r, "cannot inspect %s: %m; runtime policy only", path);
	if (policy_in_place(found.state)) {
		log_info("%s already in place: the root is opted in", path);
		*ret_sysfd = TAKE_FD(sysfd);
		return 0;
	}
	if (found.state != POLICY_ABSENT)
		return log_warning_errno(EFOREIGN_DAXBUS, "%s exists and is not the daxbus policy (administrator's file); "
							  "left alone, runtime policy only", path);

	r = mount_make_writable(sysroot, sysfd, &how);
	if (r < 0) {
		if (how != REMOUNT_NONE && (r2 = mount_restore_ro(sysroot, sysfd, how)) < 0)
			log_warning_errno(r2, "cannot remount %s read-only again: %m", sysroot);
		return log_warning_errno(r, "%s is read-only and cannot be remounted read-write (%m); runtime policy only", sysroot);
	}
	if (how != REMOUNT_NONE)
		log_info("remounted %s read-write for the write", sysroot);

	made_dir = chase_open(sysfd, "etc/modprobe.d", CHASE_DIRECTORY, O_PATH, &modfd) == -ENOENT;
	r = policy_install(sysfd, &POLICY_MODPROBE_ETC, &found);
	if (r < 0)
		log_warning_errno(r, "failed to write %s: %m; runtime policy only", path);
	else if (found.state != POLICY_ABSENT)
		log_info("%s already in place: the root is opted in", path);
	else {
		log_info("policy persisted in %s", path);
		request_relabel(rootfd, sysroot, sysfd, made_dir);
	}

	r2 = mount_restore_ro(sysroot, sysfd, how);
	if (r2 < 0)
		log_warning_errno(r2, "cannot remount %s read-only again: %m", sysroot);
	else if (how != REMOUNT_NONE)
		log_info("remounted %s read-only again", sysroot);
	*ret_sysfd = TAKE_FD(sysfd);
	return r < 0 ? r : r2;
}

static long elapsed_us(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)((t1.tv_sec - t0->tv_sec) * 1000000L + (t1.tv_nsec - t0->tv_nsec) / 1000);
}

static int run(const void *args)
{
	/* no cleanup handlers for the fds: the process ends right after, every system call counts at boot */
	const struct initrd_args *a = args;
	int rootfd = -1, sysfd = -1;
	struct cmdline cmdline = { 0 };
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* in the initramfs the kernel log is where people look */
	log_set_target(a->log < 0 ? LOG_TARGET_KMSG : (enum log_target)a->log);
	/* both steps may have something to finish (a rollback, a root to make read-only again) */
	bound_run_time();
	if (a->early)
		policy_tidy = false; /* a fresh /run has no leftovers of killed runs */

	r = cli_open_root(a->c.root, &rootfd);
	if (r < 0)
		return r;
	r = cmdline_read(rootfd, &cmdline);
	if (r < 0)
		return log_warning_errno(r, "cannot read the kernel command line: %m; nothing done");
	if (cmdline_get_bool(&cmdline, "rd.daxbus.debug", false))
		log_set_max_level(LOG_DEBUG);

	/* what the boot needs first ... */
	r = a->early ? step_early(rootfd, a->c.root, &cmdline, t0.tv_sec * 1000L + t0.tv_nsec / 1000000L)
		     : step_root(rootfd, a->sysroot, &cmdline, &sysfd);
	/* ... then what only people need; the boot cost is in the log line either way */
	if (cmdline_get_bool(&cmdline, "rd.daxbus.debug", false)) {
		if (a->early)
			log_kernel_kind(rootfd, "initramfs");
		else if (sysfd >= 0)
			log_kernel_kind(sysfd, "root");
	}
	log_info("%s step done in %ld us", a->step, elapsed_us(&t0));
	cmdline_free(&cmdline);
	return r < 0 ? r : 0;
}

static const struct cli_option options[] = {
	CLI_OPTION_ROOT,
	{ "sysroot", 0, "DIR", "the real root, mounted (root step; default /sysroot)", OPT_SYSROOT, 0 },
	{ "log", 0, "WHERE", "kmsg (the kernel log, default) or stderr", OPT_LOG, 0 },
	CLI_OPTION_VERBOSE,
	CLI_OPTION_HELP,
	{},
};

const struct verb VERB_INITRD = {
	.name = "initrd",
	.operands = "early|root",
	.summary = "the initramfs steps, run by the dracut module and the initramfs-tools scripts",
	.description = "early: before udevd starts, the policy goes to DIR/run/modprobe.d (this boot, also after "
		       "switch-root). root: after the real root is mounted, the policy is persisted in its "
		       "/etc/modprobe.d, a read-only root remounted read-write for the write only. Both log to the "
		       "kernel log, end within 20 s and never fail a boot (rd.daxbus=0 turns them off).",
	.options = options,
	.args_size = sizeof(struct initrd_args),
	.defaults = defaults,
	.option = option,
	.operands_parse = operands,
	.run = run,
};
