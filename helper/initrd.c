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
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>

#include "chase.h"
#include "cli.h"
#include "cmdline.h"
#include "fileio.h"
#include "kmodq.h"
#include "log.h"
#include "migrate.h"
#include "modconf.h"
#include "policy.h"
#include "util.h"

/* Whatever a library or a file system does, a step ends within this. */
#define STEP_SECONDS 20
/* The early rescue's wait for devices on /sys/bus/dax, well inside STEP_SECONDS. */
#define RESCUE_WAIT_SECONDS 5

enum { OPT_SYSROOT = 0x100, OPT_LOG };

static int parse(int argc, char *argv[], struct cli_args *a)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "root", required_argument, NULL, 'r' },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "log", required_argument, NULL, OPT_LOG },
		{},
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "hr:", options, NULL)) != -1) {
		r = cli_common_option(&VERB_INITRD, c, argv, a);
		if (r != 0) {
			if (r == 1)
				continue;
			return r;
		}
		if (c == OPT_SYSROOT) {
			if (!*optarg)
				return cli_usage_error("initrd ", "--sysroot needs a directory");
			a->sysroot = optarg;
		} else if (c == OPT_LOG) {
			if (streq(optarg, "kmsg"))
				a->log = LOG_TARGET_KMSG;
			else if (streq(optarg, "stderr"))
				a->log = LOG_TARGET_STDERR;
			else
				return cli_usage_error("initrd ", "--log takes kmsg or stderr, not '%s'", optarg);
		}
	}
	if (optind >= argc)
		return cli_usage_error("initrd ", "initrd needs a step: early or root");
	if (optind + 1 < argc)
		return cli_usage_error("initrd ", "unexpected argument '%s'", argv[optind + 1]);
	a->step = argv[optind];
	if (!streq(a->step, "early") && !streq(a->step, "root"))
		return cli_usage_error("initrd ", "unknown initrd step '%s' (early or root)", a->step);
	return 0;
}

/* The optional part: what the running kernel's tree says, for people reading the log. */
static void log_kernel_kind(int rootfd, const char *where)
{
	_cleanup_close_ int conffd = -1;
	struct kernel_facts k = { 0 };
	struct modconf m = { 0 };
	struct utsname u;

	if (uname(&u) < 0 || modconf_scan(rootfd, &m) < 0)
		return;
	if (modconf_memfd(&m, &conffd) == 0 && kmodq_inspect(rootfd, u.release, conffd, &k) == 0) {
		log_info("kernel %s in the %s: %s (%s%s%s)", u.release, where, kernel_kind(&k), kernel_kind_text(&k),
			 k.index_error < 0 ? ": " : "", k.index_error < 0 ? errmsg(k.index_error) : "");
		if (k.n_resolved)
			log_info("%s resolves to %s with the %s's configuration", ND_DAX_MODALIAS, k.resolved[0], where);
	}
	modconf_free(&m);
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
	struct sigaction sa = { .sa_handler = on_alarm };

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
static void rescue_compat(int rootfd)
{
	struct migrate_plan p;

	migrate_read(live_sys(), &p);
	if (!p.needed)
		return;
	if (migrate_check_in_use(live_proc(), &p) < 0) {
		log_warning("dax_pmem_compat was loaded before the early step and a device is in use: left in the compat model");
		return;
	}
	if (migrate_apply(rootfd, live_sys(), &p, RESCUE_WAIT_SECONDS) < 0) {
		log_warning("dax_pmem_compat was loaded before the early step; migrating in place failed (see above)");
		return;
	}
	log_notice("dax_pmem_compat was loaded before the early step: migrated in place to the bus model (%u device%s moved)",
		   p.n_bound, p.n_bound == 1 ? "" : "s");
}

static int step_early(int rootfd, const char *root, const char *cmdline)
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
	if (policy_classify(rootfd, &POLICY_MODPROBE_ETC, &etc) == 0 && (etc.state == POLICY_FOREIGN || etc.state == POLICY_NOT_FILE))
		log_warning("the initramfs's own /etc/modprobe.d/daxctl.conf is not the policy and hides %s here; "
			    "it still applies after switch-root unless the root's /etc has a daxctl.conf too", path);
	else
		rescue_compat(rootfd);
	return 0;
}

enum remount_kind { REMOUNT_NONE, REMOUNT_SUPER, REMOUNT_BIND };

/* mountinfo escapes blanks and backslashes as \ooo */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else
			*w++ = *s;
	}
	*w = '\0';
}

static bool has_opt(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/*
 * Is MNT a mount point, and where is its read-only flag: on the mount (a
 * read-only bind mount) or on the super block (mount -o ro, as dracut does)?
 * The last matching line wins: it is the mount on top.
 */
static int mount_ro_state(const char *mnt, bool *ret_mnt_ro, bool *ret_sb_ro)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	char real[PATH_MAX];
	bool found = false;
	int r;

	if (!realpath(mnt, real))
		return -errno;
	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read_fd(fd, 4 * 1024 * 1024, &text, NULL);
	if (r < 0)
		return r;
	for (char *line = text, *next; line && *line; line = next) {
		char *field[6], *sep, *p = line;
		unsigned n = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* id parent major:minor root mount-point options [optional...] - fstype source super-options */
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		while (n < ELEMENTSOF(field) && p) {
			field[n++] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = '\0';
		}
		if (n < 6)
			continue;
		unescape_octal(field[4]);
		if (!streq(field[4], real))
			continue;
		/* after " - ": fstype, source, super options */
		p = strchr(sep + 3, ' ');
		p = p ? strchr(p + 1, ' ') : NULL;
		found = true;
		*ret_mnt_ro = has_opt(field[5], "ro");
		*ret_sb_ro = p && has_opt(p + 1, "ro");
	}
	return found ? 0 : -ENOTBLK;
}

/* Mount flags that a remount must carry over, or they would be cleared. */
static unsigned long carried_flags(int fd)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (fstatvfs(fd, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/*
 * Make SYSROOT writable for the write, remembering how, so that
 * restore_ro() undoes exactly that and nothing more.  Only SYSROOT itself
 * is ever remounted, and only when it is a mount point.
 */
static int make_writable(const char *sysroot, int rootfd, enum remount_kind *ret)
{
	struct statvfs sv;
	bool mnt_ro = false, sb_ro = false;
	unsigned long carry;
	int r;

	*ret = REMOUNT_NONE;
	if (fstatvfs(rootfd, &sv) < 0)
		return -errno;
	if (!(sv.f_flag & ST_RDONLY))
		return 0;
	r = mount_ro_state(sysroot, &mnt_ro, &sb_ro);
	if (r == -ENOTBLK)
		return -EROFS; /* read-only through a mount above it: not ours to change */
	if (r < 0)
		return r;
	carry = carried_flags(rootfd);
	if (sb_ro) {
		if (mount(NULL, sysroot, NULL, MS_REMOUNT | carry, NULL) < 0)
			return -errno;
		*ret = REMOUNT_SUPER;
	} else {
		if (mount(NULL, sysroot, NULL, MS_REMOUNT | MS_BIND | carry, NULL) < 0)
			return -errno;
		*ret = REMOUNT_BIND;
	}
	if (fstatvfs(rootfd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return -EROFS;
	return 0;
}

static int restore_ro(const char *sysroot, int rootfd, enum remount_kind how)
{
	unsigned long flags = MS_REMOUNT | MS_RDONLY | carried_flags(rootfd);

	if (how == REMOUNT_NONE)
		return 0;
	if (how == REMOUNT_BIND)
		flags |= MS_BIND;
	if (mount(NULL, sysroot, NULL, flags, NULL) < 0)
		return -errno;
	return 0;
}


/* On SELinux systems a file created from the initramfs has no label yet. */
static void request_relabel(int initrdfd, const char *sysroot, int sysrootfd, bool made_dir)
{
	_cleanup_close_ int sefd = -1;
	static const struct policy_file relabel_base = {
		"run/systemd/relabel-extra.d", "daxbus.relabel", "/etc/modprobe.d/daxctl.conf\n", false,
	};
	static const struct policy_file relabel_dir = {
		"run/systemd/relabel-extra.d", "daxbus.relabel", "/etc/modprobe.d\n/etc/modprobe.d/daxctl.conf\n", false,
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

static int step_root(int rootfd, const char *sysroot, const char *cmdline, int *ret_sysfd)
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
		*ret_sysfd = take_fd(&sysfd);
		return 0;
	}
	if (found.state != POLICY_ABSENT)
		return log_warning_errno(EFOREIGN_DAXBUS, "%s exists and is not the daxbus policy (administrator's file); "
							  "left alone, runtime policy only", path);

	r = make_writable(sysroot, sysfd, &how);
	if (r < 0) {
		if (how != REMOUNT_NONE && (r2 = restore_ro(sysroot, sysfd, how)) < 0)
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

	r2 = restore_ro(sysroot, sysfd, how);
	if (r2 < 0)
		log_warning_errno(r2, "cannot remount %s read-only again: %m", sysroot);
	else if (how != REMOUNT_NONE)
		log_info("remounted %s read-only again", sysroot);
	*ret_sysfd = take_fd(&sysfd);
	return r < 0 ? r : r2;
}

static long elapsed_us(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)((t1.tv_sec - t0->tv_sec) * 1000000L + (t1.tv_nsec - t0->tv_nsec) / 1000);
}

static int run(const struct cli_args *a)
{
	/* no cleanup handlers: the process ends right after, every system call counts at boot */
	int rootfd = -1, sysfd = -1;
	char *cmdline = NULL;
	bool early = streq(a->step, "early");
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* in the initramfs the kernel log is where people look */
	log_set_target(a->log < 0 ? LOG_TARGET_KMSG : (enum log_target)a->log);
	/*
	 * The early step only writes to /run: the alarm's default action (the
	 * end of the process) is all it needs.  The root step may have a root
	 * to make read-only again, so it gets the handler.
	 */
	if (early) {
		alarm(STEP_SECONDS);
		policy_tidy = false; /* a fresh /run has no leftovers of killed runs */
	}
	else
		bound_run_time();

	r = cli_open_root(a->root, &rootfd);
	if (r < 0)
		return r;
	r = cmdline_read(rootfd, &cmdline);
	if (r < 0)
		return log_warning_errno(r, "cannot read the kernel command line: %m; nothing done");

	/* what the boot needs first ... */
	r = early ? step_early(rootfd, a->root, cmdline) : step_root(rootfd, a->sysroot, cmdline, &sysfd);
	/* ... then what only people need; the boot cost is in the log line either way */
	if (cmdline_get_bool(cmdline, "rd.daxbus.debug", false)) {
		if (early)
			log_kernel_kind(rootfd, "initramfs");
		else if (sysfd >= 0)
			log_kernel_kind(sysfd, "root");
	}
	log_info("%s step done in %ld us", a->step, elapsed_us(&t0));
	return r;
}

const struct verb VERB_INITRD = {
	.name = "initrd",
	.synopsis = "early|root [--root DIR] [--sysroot DIR] [--log kmsg|stderr]",
	.help = "the initramfs steps run by the dracut module and the initramfs-tools scripts",
	.parse = parse,
	.run = run,
};
