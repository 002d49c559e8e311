// SPDX-License-Identifier: GPL-2.0-only
/* Who holds a device-DAX character device, from /proc.  See inuse.h. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "fileio.h"
#include "inuse.h"
#include "isolate.h"
#include "log.h"
#include "mount-util.h"
#include "util.h"

#ifndef SYS_kcmp
#define SYS_kcmp 312
#endif
#ifndef SYS_statx
#define SYS_statx 332
#endif
#define KCMP_FILES 2
#define STATX_TYPE_MASK 0x0001U
#ifndef AT_STATX_DONT_SYNC
#define AT_STATX_DONT_SYNC 0x4000
#endif
#ifndef AT_NO_AUTOMOUNT
#define AT_NO_AUTOMOUNT 0x800
#endif

/* How long the candidates of one scan may take to answer, all together. */
#define CANDIDATE_MS 3000

/* The kernel's struct statx (musl 1.2.3 has no wrapper): the fields we read, at their offsets. */
struct kstatx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, pad1;
	uint64_t ino, size, blocks, attributes_mask;
	struct {
		int64_t sec;
		uint32_t nsec;
		int32_t pad;
	} atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t spare[14];
};

/* A device-DAX instance as the scan looks for it. */
struct target {
	dev_t rdev;
	bool have_node; /* its /dev node, for the mappings */
	unsigned node_major, node_minor;
	ino_t node_ino;
};

/* The mounts of one mount namespace, by mnt_id: can a descriptor on it be a device, can looking hang? */
enum mount_kind { MOUNT_LOCAL, MOUNT_NO_DEVICES, MOUNT_MAY_HANG };
struct mnt_rec {
	int id;
	enum mount_kind kind;
	char fstype[32];
};
struct mnt_ns {
	char key[64];
	bool known, may_hang;
	struct mnt_rec *m;
	size_t n;
};

struct candidate {
	pid_t pid;
	char *path; /* /proc/PID/[task/TID/]fd/N */
	char *what;
};

struct scan {
	const char *proc;
	int procfd;
	bool fake;
	pid_t self;
	const struct target *t;
	size_t n_t;
	struct mnt_ns *ns;
	size_t n_ns;
	struct candidate *c;
	size_t n_c;
	struct inuse *u;
};

/* File systems that can make a stat() wait for a server or a daemon that may never answer. */
static bool fstype_may_hang(const char *t)
{
	static const char *const types[] = { "nfs",  "nfs4",  "cifs",	  "smb3",     "smbfs", "ncpfs", "9p",
					     "ceph", "afs",   "coda",	  "lustre",   "gfs2",  "ocfs2", "orangefs",
					     "fuse", "fuseblk", "virtiofs", "glusterfs", NULL };

	if (startswith(t, "fuse."))
		return true;
	for (size_t i = 0; types[i]; i++)
		if (streq(t, types[i]))
			return true;
	return false;
}

/* File systems that hold no device node that could be opened as a device. */
static bool fstype_no_devices(const char *t)
{
	static const char *const types[] = { "proc",	   "sysfs",  "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs",
					     "pstore",	   "bpf",    "mqueue", "configfs", "fusectl", "binfmt_misc", "efivarfs",
					     "selinuxfs", "autofs", NULL };

	for (size_t i = 0; types[i]; i++)
		if (streq(t, types[i]))
			return true;
	return false;
}

static int add_mount(const struct mount_entry *e, void *userdata)
{
	struct mnt_ns *ns = userdata;
	struct mnt_rec *nm = realloc(ns->m, (ns->n + 1) * sizeof(*ns->m)), *r;

	if (!nm)
		return -ENOMEM;
	ns->m = nm;
	r = &ns->m[ns->n++];
	r->id = e->mnt_id;
	snprintf(r->fstype, sizeof(r->fstype), "%s", e->fstype);
	/* a nodev mount cannot open the device nodes it holds */
	if (mount_has_option(e->options, "nodev") || fstype_no_devices(e->fstype))
		r->kind = MOUNT_NO_DEVICES;
	else if (fstype_may_hang(e->fstype))
		r->kind = MOUNT_MAY_HANG;
	else
		r->kind = MOUNT_LOCAL;
	if (r->kind == MOUNT_MAY_HANG)
		ns->may_hang = true;
	return 0;
}

/* The mount namespace of the process PIDFD, read once per namespace. */
static int mount_ns(struct scan *s, int pidfd, struct mnt_ns **ret)
{
	_cleanup_free_ char *text = NULL;
	char key[64];
	ssize_t n;
	struct mnt_ns *nn, *ns;
	int fd, r;

	n = readlinkat(pidfd, "ns/mnt", key, sizeof(key) - 1);
	key[n > 0 ? n : 0] = '\0';
	for (size_t i = 0; i < s->n_ns; i++)
		if (streq(s->ns[i].key, key)) {
			*ret = &s->ns[i];
			return 0;
		}
	nn = realloc(s->ns, (s->n_ns + 1) * sizeof(*s->ns));
	if (!nn)
		return -ENOMEM;
	s->ns = nn;
	ns = &s->ns[s->n_ns++];
	*ns = (struct mnt_ns){ 0 };
	snprintf(ns->key, sizeof(ns->key), "%s", key);
	fd = openat(pidfd, "mountinfo", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		r = read_fd(fd, 64 * 1024 * 1024, &text, NULL);
		close(fd);
		if (r == -ENOMEM)
			return r;
		if (r == 0) {
			r = mountinfo_foreach(text, add_mount, ns);
			if (r < 0)
				return r;
			ns->known = true;
		}
	}
	/* a namespace whose mounts cannot be read: any descriptor could be anywhere */
	if (!ns->known) {
		ns->may_hang = true;
		ns->key[0] = '\001'; /* never shared with another process */
	}
	*ret = ns;
	return 0;
}

static const struct mnt_rec *find_mount(const struct mnt_ns *ns, int id)
{
	for (size_t i = 0; i < ns->n; i++)
		if (ns->m[i].id == id)
			return &ns->m[i];
	return NULL;
}

static void read_comm(struct scan *s, pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(buf, size, "?");
	snprintf(path, sizeof(path), "%d/comm", (int)pid);
	fd = openat(s->procfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Each instance is named once per process and way (open, mapped). */
static int add_holder(struct scan *s, pid_t pid, size_t instance, bool mapped)
{
	struct inuse *u = s->u;
	struct inuse_holder *nh;

	for (size_t i = 0; i < u->n_holders; i++)
		if (u->holders[i].pid == pid && u->holders[i].instance == instance && u->holders[i].mapped == mapped)
			return 0;
	nh = realloc(u->holders, (u->n_holders + 1) * sizeof(*u->holders));
	if (!nh)
		return -ENOMEM;
	u->holders = nh;
	nh = &u->holders[u->n_holders++];
	*nh = (struct inuse_holder){ .pid = pid, .instance = instance, .mapped = mapped };
	read_comm(s, pid, nh->comm, sizeof(nh->comm));
	return 0;
}

static int add_unjudged(struct scan *s, pid_t pid, const char *what, const char *why)
{
	struct inuse *u = s->u;
	struct inuse_unjudged *nu;

	nu = realloc(u->unjudged, (u->n_unjudged + 1) * sizeof(*u->unjudged));
	if (!nu)
		return -ENOMEM;
	u->unjudged = nu;
	nu = &u->unjudged[u->n_unjudged];
	*nu = (struct inuse_unjudged){ .pid = pid, .what = strdup(what), .why = strdup(why) };
	if (!nu->what || !nu->why) {
		free(nu->what);
		free(nu->why);
		return -ENOMEM;
	}
	read_comm(s, pid, nu->comm, sizeof(nu->comm));
	u->n_unjudged++;
	return 0;
}

static int match_rdev(const struct scan *s, dev_t rdev)
{
	for (size_t i = 0; i < s->n_t; i++)
		if (s->t[i].rdev == rdev)
			return (int)i;
	return -1;
}

/* fdinfo's mnt_id of descriptor NAME in the table whose fdinfo directory is INFOFD; -1 unknown, -2 gone. */
static int fd_mnt_id(int infofd, const char *name)
{
	char buf[512];
	const char *p;
	ssize_t n;
	int fd;

	fd = openat(infofd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? -2 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "mnt_id:");
	return p ? atoi(p + 7) : -1;
}

static int add_candidate(struct scan *s, pid_t pid, const char *table, const char *name, const char *target,
			 const char *fstype)
{
	struct candidate *nc = realloc(s->c, (s->n_c + 1) * sizeof(*s->c));

	if (!nc)
		return -ENOMEM;
	s->c = nc;
	nc = &s->c[s->n_c];
	*nc = (struct candidate){ .pid = pid };
	if (asprintf(&nc->path, "%s/%d/%s/%s", s->proc, (int)pid, table, name) < 0) {
		nc->path = NULL;
		return -ENOMEM;
	}
	if (asprintf(&nc->what, "fd %s (%s, %s)", name, target, fstype) < 0) {
		free(nc->path);
		return -ENOMEM;
	}
	s->n_c++;
	s->u->candidates++;
	return 0;
}

/* One file table: /proc/PID/fd, or a thread's own. */
static int scan_table(struct scan *s, pid_t pid, int pidfd, struct mnt_ns *ns, const char *table)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_close_ int infofd = -1;
	char info[64], target[PATH_MAX];
	struct dirent *de;
	int tabfd, r;

	tabfd = openat(pidfd, table, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tabfd < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return 0; /* gone meanwhile, or a kernel thread */
		snprintf(info, sizeof(info), "%s", table);
		return add_unjudged(s, pid, info, strerror(errno));
	}
	d = fdopendir(tabfd);
	if (!d) {
		close(tabfd);
		return -ENOMEM;
	}
	s->u->tables++;
	snprintf(info, sizeof(info), "%.*sinfo", (int)strlen(table), table); /* fd -> fdinfo */
	while ((de = readdir(d))) {
		struct stat st;
		ssize_t n;
		int i;

		if (de->d_name[0] == '.')
			continue;
		s->u->descriptors++;
		n = readlinkat(tabfd, de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue; /* closed meanwhile */
		target[n] = '\0';
		/* pipes, sockets, anonymous inodes: no file system behind them, no device */
		if (target[0] != '/')
			continue;
		if (ns->may_hang) {
			const struct mnt_rec *m;
			int id;

			if (infofd < 0)
				infofd = openat(pidfd, info, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			id = infofd >= 0 ? fd_mnt_id(infofd, de->d_name) : -1;
			if (id == -2)
				continue;
			m = id >= 0 && ns->known ? find_mount(ns, id) : NULL;
			if (m && m->kind == MOUNT_NO_DEVICES)
				continue;
			if (!m || m->kind == MOUNT_MAY_HANG) {
				r = add_candidate(s, pid, table, de->d_name, target, m ? m->fstype : "unknown file system");
				if (r < 0)
					return r;
				continue;
			}
		}
		/* a local file system: looking cannot hang */
		if (fstatat(tabfd, de->d_name, &st, 0) < 0 || !S_ISCHR(st.st_mode))
			continue;
		i = match_rdev(s, st.st_rdev);
		if (i >= 0) {
			r = add_holder(s, pid, (size_t)i, false);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Does thread TID use the same file table as its process PID? */
static bool same_file_table(struct scan *s, int pidfd, pid_t pid, const char *tid)
{
	char path[64];

	if (s->fake) {
		/* a fake tree marks a shared table by linking the thread's fd directory to its process's */
		struct stat a, b;

		snprintf(path, sizeof(path), "task/%s/fd", tid);
		return fstatat(pidfd, "fd", &a, 0) == 0 && fstatat(pidfd, path, &b, 0) == 0 && a.st_dev == b.st_dev &&
		       a.st_ino == b.st_ino;
	}
	/* 0: the same table; anything else (another table, no kcmp): read it */
	return syscall(SYS_kcmp, pid, (pid_t)atoi(tid), KCMP_FILES, 0, 0) == 0;
}

/* The 4th and 5th fields of a maps line: "major:minor" in hex, the inode in decimal. */
static int parse_maps_dev_ino(const char *line, unsigned *ma, unsigned *mi, unsigned long long *ino)
{
	const char *p = line;
	char *end;

	for (int f = 0; f < 3; f++) {
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	*ma = (unsigned)strtoul(p, &end, 16);
	if (end == p || *end != ':')
		return -EINVAL;
	p = end + 1;
	*mi = (unsigned)strtoul(p, &end, 16);
	if (end == p || *end != ' ')
		return -EINVAL;
	p = end + strspn(end, " ");
	*ino = strtoull(p, &end, 10);
	return end == p ? -EINVAL : 0;
}

/* A mapping is the device's when its device and inode numbers are those of the device's /dev node. */
static int scan_maps(struct scan *s, pid_t pid, int pidfd)
{
	_cleanup_free_ char *text = NULL;
	int fd, r;

	fd = openat(pidfd, "maps", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	r = read_fd(fd, 256 * 1024 * 1024, &text, NULL);
	close(fd);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	for (char *line = text, *next; line && *line; line = next) {
		unsigned ma, mi;
		unsigned long long ino;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		s->u->mappings++;
		/* address perms offset dev inode pathname */
		if (parse_maps_dev_ino(line, &ma, &mi, &ino) < 0 || ino == 0)
			continue;
		for (size_t i = 0; i < s->n_t; i++)
			if (s->t[i].have_node && s->t[i].node_major == ma && s->t[i].node_minor == mi &&
			    s->t[i].node_ino == (ino_t)ino) {
				r = add_holder(s, pid, i, true);
				if (r < 0)
					return r;
			}
	}
	return 0;
}

static int scan_process(struct scan *s, pid_t pid)
{
	_cleanup_close_ int pidfd = -1;
	_cleanup_closedir_ DIR *tasks = NULL;
	struct mnt_ns *ns;
	struct dirent *de;
	char name[32];
	int r, tfd;

	snprintf(name, sizeof(name), "%d", (int)pid);
	pidfd = openat(s->procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pidfd < 0)
		return 0; /* gone */
	s->u->processes++;
	r = mount_ns(s, pidfd, &ns);
	if (r < 0)
		return r;
	r = scan_table(s, pid, pidfd, ns, "fd");
	if (r < 0)
		return r;
	/* threads with a file table of their own (clone without CLONE_FILES, unshare(CLONE_FILES)) */
	tfd = openat(pidfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd >= 0 && !(tasks = fdopendir(tfd)))
		close(tfd);
	while (tasks && (de = readdir(tasks))) {
		char table[64];

		if (de->d_name[0] == '.' || streq(de->d_name, name) || same_file_table(s, pidfd, pid, de->d_name))
			continue;
		snprintf(table, sizeof(table), "task/%s/fd", de->d_name);
		r = scan_table(s, pid, pidfd, ns, table);
		if (r < 0)
			return r;
	}
	return scan_maps(s, pid, pidfd);
}

/* In the child: statx each candidate without syncing; one int per candidate back (-1 not a target, -2 gone). */
struct judge {
	const struct scan *s;
};

static void judge_fn(void *data, int outfd)
{
	const struct scan *s = ((struct judge *)data)->s;

	for (size_t i = 0; i < s->n_c; i++) {
		struct kstatx stx;
		int v = -2;

		if (syscall(SYS_statx, AT_FDCWD, s->c[i].path, AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT, STATX_TYPE_MASK, &stx) == 0)
			v = S_ISCHR(stx.mode) ? match_rdev(s, makedev(stx.rdev_major, stx.rdev_minor)) : -1;
		if (write(outfd, &v, sizeof(v)) != sizeof(v))
			_exit(1);
	}
}

static int judge_candidates(struct scan *s)
{
	static const struct isolate_limits limits = { 0, 5, CANDIDATE_MS };
	_cleanup_free_ char *out = NULL;
	struct judge j = { s };
	size_t len = 0, got;
	int r;

	if (s->n_c == 0)
		return 0;
	r = isolate_run(judge_fn, &j, &limits, s->n_c * sizeof(int), &out, &len);
	if (r == -ENOMEM || (r < 0 && !out))
		return r == -ENOMEM ? r : log_error_errno(r, "cannot start the look at %zu descriptors: %m", s->n_c);
	got = len / sizeof(int);
	for (size_t i = 0; i < s->n_c; i++) {
		int v;

		if (i >= got) {
			r = add_unjudged(s, s->c[i].pid, s->c[i].what, "its file system did not answer within 3 s");
			if (r < 0)
				return r;
			continue;
		}
		memcpy(&v, out + i * sizeof(int), sizeof(int));
		if (v >= 0) {
			r = add_holder(s, s->c[i].pid, (size_t)v, false);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/*
 * The initial pid namespace's inode number, fixed by the kernel since 3.8
 * (PROC_PID_INIT_INO): "pid:[4026531836]" in /proc/PID/ns/pid.
 */
#define PID_NS_INITIAL "pid:[4026531836]"

/*
 * Does PROC show every process?  Not with hidepid unless this process has
 * CAP_SYS_PTRACE, nor when this process lives in a pid namespace other than
 * the initial one (a container: its /proc, or even the host's, is no view
 * of everything it could be judged against), nor when PROC does not show
 * this process at all (the /proc of a pid namespace below ours).
 */
static int check_sight(struct scan *s)
{
	_cleanup_free_ char *status = NULL, *mounts = NULL;
	_cleanup_close_ int fd = -1;
	const char *p;
	char why[320] = "";
	bool ptrace_cap = false;

	fd = openat(s->procfd, "self/status", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && read_fd(fd, 1024 * 1024, &status, NULL) == 0) {
		p = strstr(status, "\nCapEff:");
		if (p) {
			unsigned long long caps = strtoull(p + strlen("\nCapEff:"), NULL, 16);

			ptrace_cap = caps & (1ULL << 19); /* CAP_SYS_PTRACE */
		}
	}
	if (!why[0] && !ptrace_cap) {
		char real[PATH_MAX];

		if (fd >= 0)
			close(TAKE_FD(fd));
		fd = openat(s->procfd, "self/mountinfo", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && realpath(s->proc, real) && read_fd(fd, 16 * 1024 * 1024, &mounts, NULL) == 0) {
			for (char *line = mounts, *next; line && *line; line = next) {
				const char *h;

				next = strchr(line, '\n');
				if (next)
					*next++ = '\0';
				/* " /proc rw,... - proc proc rw,hidepid=2" */
				if (!strstr(line, " - proc ") || !(h = strstr(line, "hidepid=")))
					continue;
				if (strncmp(h, "hidepid=0", 9) && strncmp(h, "hidepid=off", 11)) {
					char mp[PATH_MAX + 2];

					snprintf(mp, sizeof(mp), " %s ", real);
					if (strstr(line, mp))
						snprintf(why, sizeof(why), "%s is mounted with %.*s and this process lacks "
									   "CAP_SYS_PTRACE",
							 s->proc, (int)strcspn(h, ", \n"), h);
				}
			}
		}
	}
	if (!why[0]) {
		char ns[64];
		ssize_t n = readlinkat(s->procfd, "self/ns/pid", ns, sizeof(ns) - 1);

		if (n >= 0)
			ns[n] = '\0';
		if (n < 0 && errno == ENOENT) {
			if (!s->fake) /* a fake tree may leave the namespaces out */
				snprintf(why, sizeof(why), "%s does not show this process: it belongs to another pid namespace",
					 s->proc);
		} else if (n < 0)
			snprintf(why, sizeof(why), "cannot tell its pid namespace from %s/self/ns/pid: %s", s->proc, strerror(errno));
		else if (!streq(ns, PID_NS_INITIAL))
			snprintf(why, sizeof(why), "it runs in a pid namespace other than the initial one (%s), whose /proc cannot "
						   "show the processes outside it", ns);
	}
	if (why[0]) {
		s->u->blind = strdup(why);
		if (!s->u->blind)
			return -ENOMEM;
	}
	return 0;
}

int inuse_scan(const char *proc, const char *dev, const struct dax_live *l, struct inuse *ret)
{
	_cleanup_free_ struct target *t = NULL;
	_cleanup_inuse_ struct inuse u = { 0 };
	_cleanup_closedir_ DIR *d = NULL;
	struct scan s = { .proc = proc, .u = &u };
	struct dirent *de;
	int r = 0;

	s.fake = live_faked();
	s.self = s.fake ? 0 : getpid();
	t = calloc(l->n_inst ? l->n_inst : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < l->n_inst; i++) {
		const struct dax_instance *x = &l->inst[i];
		char path[PATH_MAX];
		struct stat st;

		/* an instance whose numbers are unknown cannot be matched; it cannot be open either, without a node */
		t[i].rdev = x->have_dev ? makedev(x->major, x->minor) : (dev_t)-1;
		snprintf(path, sizeof(path), "%s/%s", dev, x->name);
		if (x->have_dev && stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == t[i].rdev) {
			t[i].have_node = true;
			t[i].node_major = major(st.st_dev);
			t[i].node_minor = minor(st.st_dev);
			t[i].node_ino = st.st_ino;
		}
	}
	s.t = t;
	s.n_t = l->n_inst;
	if (s.n_t == 0) {
		*ret = u;
		u = (struct inuse){ 0 };
		return 0;
	}
	s.procfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.procfd < 0)
		return -errno;
	d = fdopendir(s.procfd);
	if (!d) {
		r = -errno;
		close(s.procfd);
		return r;
	}
	r = check_sight(&s);
	while (r == 0 && (de = readdir(d))) {
		pid_t pid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' || de->d_name[strspn(de->d_name, "0123456789")] != '\0')
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (pid == s.self)
			continue;
		r = scan_process(&s, pid);
	}
	if (r == 0)
		r = judge_candidates(&s);
	for (size_t i = 0; i < s.n_c; i++) {
		free(s.c[i].path);
		free(s.c[i].what);
	}
	free(s.c);
	for (size_t i = 0; i < s.n_ns; i++)
		free(s.ns[i].m);
	free(s.ns);
	if (r < 0)
		return r;
	*ret = u;
	u = (struct inuse){ 0 };
	return 0;
}

void inuse_free(struct inuse *u)
{
	for (size_t i = 0; i < u->n_unjudged; i++) {
		free(u->unjudged[i].what);
		free(u->unjudged[i].why);
	}
	free(u->unjudged);
	free(u->holders);
	free(u->blind);
	*u = (struct inuse){ 0 };
}

int inuse_verdict(const struct inuse *u, const struct dax_live *l)
{
	for (size_t i = 0; i < u->n_holders; i++) {
		const struct inuse_holder *h = &u->holders[i];
		const struct dax_instance *x = &l->inst[h->instance];

		log_error("%s (character device %u:%u) is %s by process %d (%s)", x->name, x->major, x->minor,
			  h->mapped ? "mapped" : "open", (int)h->pid, h->comm);
	}
	for (size_t i = 0; i < u->n_unjudged; i++)
		log_error("cannot tell whether process %d (%s) holds a device-DAX device: %s: %s", (int)u->unjudged[i].pid,
			  u->unjudged[i].comm, u->unjudged[i].what, u->unjudged[i].why);
	if (u->blind)
		log_error("cannot see every process: %s", u->blind);
	if (u->n_holders)
		return -EBUSY;
	if (u->n_unjudged)
		return -EDEADLK;
	if (u->blind)
		return -EACCES;
	return 0;
}
