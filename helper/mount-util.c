// SPDX-License-Identifier: GPL-2.0-only
/* mountinfo, and remounting a root read-write for one write.  See mount-util.h. */
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "fileio.h"
#include "mount-util.h"
#include "util.h"

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

bool mount_has_option(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == '\0' || p[n] == ' ' || p[n] == '\n' ||
					   (opt[n - 1] == '=' && n > 0)))
			return true;
	return false;
}

/* The next space-separated field of *P (NUL-terminated in place), or NULL. */
static char *field(char **p)
{
	char *f = *p, *e;

	if (!f || !*f)
		return NULL;
	e = strchr(f, ' ');
	if (e) {
		*e = '\0';
		*p = e + 1;
	} else
		*p = NULL;
	return f;
}

/* "major:minor" in decimal */
static int parse_dev(const char *s, unsigned *ma, unsigned *mi)
{
	char *end;

	*ma = (unsigned)strtoul(s, &end, 10);
	if (end == s || *end != ':')
		return -EINVAL;
	s = end + 1;
	*mi = (unsigned)strtoul(s, &end, 10);
	return end == s || *end ? -EINVAL : 0;
}

int mountinfo_foreach(char *text, int (*fn)(const struct mount_entry *e, void *userdata), void *userdata)
{
	for (char *line = text, *next; line && *line; line = next) {
		/* id parent major:minor root mount-point options [optional...] - fstype source super-options */
		char *p = line, *id, *dev, *mp, *opts, *sep, *fstype, *source, *super;
		struct mount_entry e = { 0 };
		int r;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		p = sep + 3;
		fstype = field(&p);
		source = field(&p);
		super = p ? p : "";
		p = line;
		id = field(&p);
		(void)field(&p); /* parent */
		dev = field(&p);
		(void)field(&p); /* root */
		mp = field(&p);
		opts = field(&p);
		if (!id || !dev || !mp || !opts || !fstype || !source || parse_dev(dev, &e.major, &e.minor) < 0)
			continue;
		e.mnt_id = atoi(id);
		unescape_octal(mp);
		unescape_octal(source);
		e.mount_point = mp;
		e.options = opts;
		e.fstype = fstype;
		e.source = source;
		e.super_options = super;
		r = fn(&e, userdata);
		if (r != 0)
			return r;
	}
	return 0;
}

struct ro_state {
	const char *real;
	bool found, mnt_ro, sb_ro;
};

/* The last matching line wins: it is the mount on top. */
static int note_ro(const struct mount_entry *e, void *userdata)
{
	struct ro_state *s = userdata;

	if (streq(e->mount_point, s->real)) {
		s->found = true;
		s->mnt_ro = mount_has_option(e->options, "ro");
		s->sb_ro = mount_has_option(e->super_options, "ro");
	}
	return 0;
}

/*
 * Is MNT a mount point, and where is its read-only flag: on the mount (a
 * read-only bind mount) or on the super block (mount -o ro, as dracut does)?
 */
static int mount_ro_state(const char *mnt, bool *ret_mnt_ro, bool *ret_sb_ro)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	char real[PATH_MAX];
	struct ro_state s = { .real = real };
	int r;

	if (!realpath(mnt, real))
		return -errno;
	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read_fd(fd, 4 * 1024 * 1024, &text, NULL);
	if (r < 0)
		return r;
	(void)mountinfo_foreach(text, note_ro, &s);
	if (!s.found)
		return -ENOTBLK;
	*ret_mnt_ro = s.mnt_ro;
	*ret_sb_ro = s.sb_ro;
	return 0;
}

/* Mount flags that a remount must carry over, or they would be cleared. */
static unsigned long carried_flags(int fd)
{
	static const struct {
		unsigned long st, ms;
	} carry[] = {
		{ ST_NOSUID, MS_NOSUID },   { ST_NODEV, MS_NODEV },	    { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	struct statvfs sv;
	unsigned long f = 0;

	if (fstatvfs(fd, &sv) < 0)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(carry); i++)
		if (sv.f_flag & carry[i].st)
			f |= carry[i].ms;
	return f;
}

int mount_make_writable(const char *mnt, int fd, enum remount_kind *ret)
{
	struct statvfs sv;
	bool mnt_ro = false, sb_ro = false;
	unsigned long carry;
	int r;

	*ret = REMOUNT_NONE;
	if (fstatvfs(fd, &sv) < 0)
		return -errno;
	if (!(sv.f_flag & ST_RDONLY))
		return 0;
	r = mount_ro_state(mnt, &mnt_ro, &sb_ro);
	if (r == -ENOTBLK)
		return -EROFS; /* read-only through a mount above it: not ours to change */
	if (r < 0)
		return r;
	carry = carried_flags(fd);
	if (sb_ro) {
		if (mount(NULL, mnt, NULL, MS_REMOUNT | carry, NULL) < 0)
			return -errno;
		*ret = REMOUNT_SUPER;
	} else {
		if (mount(NULL, mnt, NULL, MS_REMOUNT | MS_BIND | carry, NULL) < 0)
			return -errno;
		*ret = REMOUNT_BIND;
	}
	if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return -EROFS;
	return 0;
}

int mount_restore_ro(const char *mnt, int fd, enum remount_kind how)
{
	unsigned long flags = MS_REMOUNT | MS_RDONLY | carried_flags(fd);

	if (how == REMOUNT_NONE)
		return 0;
	if (how == REMOUNT_BIND)
		flags |= MS_BIND;
	if (mount(NULL, mnt, NULL, flags, NULL) < 0)
		return -errno;
	return 0;
}
