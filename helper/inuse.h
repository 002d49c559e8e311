/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which processes hold a device-DAX character device, open or mapped, as
 * /proc tells it: every process, every thread with a file table of its own,
 * every mapping.  Before `migrate` unbinds a device, anyone found here would
 * lose memory under its feet.
 *
 * Nothing reaches the file system behind another process's descriptor
 * before it is known to be a candidate: a descriptor's mount (fdinfo's
 * mnt_id in the process's mountinfo) tells whether looking at it can hang
 * (a network or FUSE file system); only those are looked at, with
 * AT_STATX_DONT_SYNC, in a child with a deadline.  A mapping is judged by
 * the device and inode numbers the kernel prints beside it, compared with
 * those of the /dev nodes (devtmpfs always answers).
 *
 * What /proc cannot show is not seen: a descriptor in flight over a unix
 * socket, io_uring's fixed files, a mapping of a node other than /dev's
 * whose descriptor was closed.  And a process may open a device after the
 * scan: callers scan again right before acting.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sysfs.h"

struct inuse_holder {
	pid_t pid;
	char comm[32];
	size_t instance; /* index into the dax_live's instances */
	bool mapped;     /* else open */
};

/* Something that could not be judged: a candidate whose file system did not answer, a /proc we may not read. */
struct inuse_unjudged {
	pid_t pid;
	char comm[32];
	char *what; /* "fd 7 (/mnt/nfs/x, nfs4)" */
	char *why;
};

struct inuse {
	struct inuse_holder *holders;
	size_t n_holders;
	struct inuse_unjudged *unjudged;
	size_t n_unjudged;
	char *blind; /* why this process cannot see every process (hidepid, pid namespace), or NULL */
	/* what the scan looked at, for the benchmark */
	size_t processes, tables, descriptors, mappings, candidates;
};

/*
 * Scan PROC for holders of L's instances (their nodes in DEV, "/dev").
 * 0 with *RET filled (empty lists: nobody), -ENOMEM, or -errno when PROC
 * cannot be listed at all.
 */
int inuse_scan(const char *proc, const char *dev, const struct dax_live *l, struct inuse *ret);
void inuse_free(struct inuse *u);
#define _cleanup_inuse_ _cleanup_(inuse_free)

/*
 * Log each holder ("dax0.0 (character device 252:0) is open by process 4242
 * (holder)"), each unjudged candidate and the blindness; the verdict:
 * 0 nobody, -EBUSY held, -EDEADLK a candidate could not be judged,
 * -EACCES blind.
 */
int inuse_verdict(const struct inuse *u, const struct dax_live *l);
