// SPDX-License-Identifier: GPL-2.0-only
/*
 * The two initramfs steps.  Both read options the way dracut does and log one
 * line per decision to the kernel log.  Neither can fail a boot: the dracut
 * hooks ignore the exit status, and every problem here ends in "the runtime
 * policy stays, the root is left alone".
 *
 *   early  before udevd: policy into /run/modprobe.d, which kmod reads in the
 *          initramfs and which survives switch-root into the real root.
 *   root   after /sysroot is mounted: persist the policy into the root's
 *          /etc/modprobe.d, remounting it read-write only for that write.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include "cmdline.h"
#include "commands.h"
#include "kmodq.h"
#include "modconf.h"
#include "policy.h"
#include "rootdir.h"
#include "util.h"

/* The kernel the root will run is the running one. */
static void log_kernel_kind(int rootfd, const char *where)
{
	_cleanup_close_ int conffd = -1;
	struct kernel_facts k = { 0 };
	struct modconf m = { 0 };
	struct utsname u;

	if (uname(&u) < 0 || modconf_scan(rootfd, &m) < 0)
		return;
	if (modconf_memfd(&m, &conffd) == 0 && kmodq_inspect(rootfd, u.release, conffd, &k) == 0) {
		if (k.have_index && k.compat == MOD_ABSENT && k.dax_pmem == MOD_ABSENT && k.device_dax == MOD_ABSENT &&
		    streq(where, "initramfs"))
			log_info("kernel %s: no DAX modules in the initramfs; the real root's udev binds the device",
				 u.release);
		else
			log_info("kernel %s in the %s: %s (%s)", u.release, where, kernel_kind(&k), kernel_kind_text(&k));
		if (k.n_resolved && streq(where, "initramfs"))
			log_info("%s now resolves to %s in the initramfs", ND_DAX_MODALIAS, k.resolved[0]);
		else if (k.n_resolved)
			log_info("the root's own configuration resolves %s to %s", ND_DAX_MODALIAS, k.resolved[0]);
	}
	modconf_free(&m);
}

static int read_options(int rootfd, char **ret_cmdline)
{
	int r = cmdline_read(rootfd, ret_cmdline);

	if (r < 0)
		log_warn("cannot read the kernel command line: %s; using the defaults", strerror(-r));
	return r;
}

int cmd_initrd_early(const char *root)
{
	_cleanup_close_ int rootfd = -1;
	_cleanup_free_ char *cmdline = NULL;
	struct policy_found found;
	const char *path;
	int r;

	r = open_root_or_log(root, &rootfd);
	if (r < 0)
		return r;
	if (read_options(rootfd, &cmdline) == 0 && !cmdline_get_bool(cmdline, "rd.daxbus", 1)) {
		log_info("disabled by rd.daxbus=0: no policy installed");
		return 0;
	}

	path = policy_path(root, &POLICY_MODPROBE_RUN);
	r = policy_classify(rootfd, &POLICY_MODPROBE_RUN, &found);
	if (r < 0) {
		log_warn("cannot inspect %s: %s; no runtime policy", path, strerror(-r));
		return r;
	}
	switch (found.state) {
	case POLICY_OURS:
	case POLICY_LINK:
		log_info("runtime policy %s already in place", path);
		break;
	case POLICY_FOREIGN:
	case POLICY_NOT_FILE:
		log_warn("%s exists and is not the daxbus policy; left alone", path);
		return -EEXIST;
	case POLICY_ABSENT:
		r = policy_install(rootfd, &POLICY_MODPROBE_RUN);
		if (r < 0) {
			log_warn("failed to write %s: %s; no runtime policy", path, strerror(-r));
			return r;
		}
		log_info("runtime policy installed in %s (dax_pmem_compat blacklisted, nd:t7 -> dax_pmem)", path);
		break;
	}
	log_kernel_kind(rootfd, "initramfs");
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
		"run/systemd/relabel-extra.d", "daxbus.relabel",
		"/etc/modprobe.d/daxctl.conf\n",
	};
	static const struct policy_file relabel_dir = {
		"run/systemd/relabel-extra.d", "daxbus.relabel",
		"/etc/modprobe.d\n/etc/modprobe.d/daxctl.conf\n",
	};
	const struct policy_file *f = made_dir ? &relabel_dir : &relabel_base;
	int r;

	if (root_openat(sysrootfd, "etc/selinux/config", O_RDONLY, &sefd) < 0)
		return; /* no SELinux policy in this root: nothing to relabel */
	r = policy_install(initrdfd, f);
	if (r < 0 && r != -EEXIST)
		log_warn("SELinux: cannot ask systemd to relabel %s/etc/modprobe.d/daxctl.conf: %s", sysroot, strerror(-r));
	else
		log_info("SELinux: %s/etc/modprobe.d/daxctl.conf will be relabelled after switch-root", sysroot);
}

int cmd_initrd_root(const char *root, const char *sysroot)
{
	_cleanup_close_ int rootfd = -1, sysfd = -1, modfd = -1;
	_cleanup_free_ char *cmdline = NULL, *ostree = NULL;
	struct policy_found found;
	enum remount_kind how;
	const char *path;
	bool made_dir;
	int persist, r, r2;

	r = open_root_or_log(root, &rootfd);
	if (r < 0)
		return r;
	if (read_options(rootfd, &cmdline) == 0 && !cmdline_get_bool(cmdline, "rd.daxbus", 1)) {
		log_info("disabled by rd.daxbus=0: root left untouched");
		return 0;
	}
	/* OSTree/bootc: /etc is a deployment's, maybe transient; the runtime policy is enough. */
	r = cmdline ? cmdline_get(cmdline, "ostree", &ostree) : 0;
	persist = cmdline ? cmdline_get_bool(cmdline, "rd.daxbus.persist", r > 0 ? 0 : 1) : 1;
	if (!persist) {
		log_info("%s: runtime policy only, %s left untouched",
			 r > 0 ? "OSTree deployment (ostree= given)" : "rd.daxbus.persist=0", sysroot);
		return 0;
	}

	sysfd = open(sysroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sysfd < 0) {
		r = -errno;
		log_warn("cannot open %s: %s; runtime policy only", sysroot, strerror(-r));
		return r;
	}
	log_kernel_kind(sysfd, "root");

	path = policy_path(sysroot, &POLICY_MODPROBE_ETC);
	r = policy_classify(sysfd, &POLICY_MODPROBE_ETC, &found);
	if (r < 0) {
		log_warn("cannot inspect %s: %s; runtime policy only", path, strerror(-r));
		return r;
	}
	if (found.state == POLICY_OURS || found.state == POLICY_LINK) {
		log_info("%s already in place: the root is opted in", path);
		return 0;
	}
	if (found.state != POLICY_ABSENT) {
		log_warn("%s exists and is not the daxbus policy (administrator's file); left alone, "
			 "runtime policy only", path);
		return -EEXIST;
	}

	r = make_writable(sysroot, sysfd, &how);
	if (r < 0 && how != REMOUNT_NONE) {
		r2 = restore_ro(sysroot, sysfd, how);
		if (r2 < 0)
			log_warn("cannot remount %s read-only again: %s", sysroot, strerror(-r2));
	}
	if (r < 0) {
		log_warn("%s is read-only and cannot be remounted read-write (%s); runtime policy only",
			 sysroot, strerror(-r));
		return r;
	}
	if (how != REMOUNT_NONE)
		log_info("remounted %s read-write for the write", sysroot);

	made_dir = root_openat(sysfd, "etc/modprobe.d", O_RDONLY | O_DIRECTORY, &modfd) == -ENOENT;
	r = policy_install(sysfd, &POLICY_MODPROBE_ETC);
	if (r < 0)
		log_warn("failed to write %s: %s; runtime policy only", path, strerror(-r));
	else {
		log_info("policy persisted in %s", path);
		request_relabel(rootfd, sysroot, sysfd, made_dir);
	}

	r2 = restore_ro(sysroot, sysfd, how);
	if (r2 < 0)
		log_warn("cannot remount %s read-only again: %s", sysroot, strerror(-r2));
	else if (how != REMOUNT_NONE)
		log_info("remounted %s read-only again", sysroot);
	return r < 0 ? r : r2;
}
