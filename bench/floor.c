// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of the scale rows of `make bench`: one readlinkat per descriptor
 * link under PROC/<pid>/fd, and nothing else (no opens of fdinfo, no stats,
 * no maps).  Any scan that looks at every descriptor once costs at least
 * this on the machine at hand.  Prints the milliseconds it took and the
 * number of links read.
 *
 *   floor PROC
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	struct dirent *p, *e;
	char buf[PATH_MAX];
	long links = 0;
	DIR *proc, *fds;

	if (argc != 2 || !(proc = opendir(argv[1]))) {
		fprintf(stderr, "usage: floor PROC (a readable directory)\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	while ((p = readdir(proc))) {
		int pfd, fd;

		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		pfd = openat(dirfd(proc), p->d_name, O_RDONLY | O_DIRECTORY);
		fd = pfd < 0 ? -1 : openat(pfd, "fd", O_RDONLY | O_DIRECTORY);
		if (pfd >= 0)
			close(pfd);
		if (fd < 0 || !(fds = fdopendir(fd)))
			continue;
		while ((e = readdir(fds)))
			if (e->d_name[0] != '.' && readlinkat(fd, e->d_name, buf, sizeof(buf)) > 0)
				links++;
		closedir(fds);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%ld %ld\n", ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec)) / 1000000, links);
	return 0;
}
