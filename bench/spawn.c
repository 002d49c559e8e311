// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark launcher for the A/B timing, built static with musl so it adds
 * next to nothing to what it measures: timing spawn-to-wait from C keeps a
 * shell's fork out of both sides.
 *
 *   spawn ab FILE N CMD_A -- CMD_B    median wall time (us) of each, N runs
 *                                     alternating, FILE removed before each
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long run(char **argv)
{
	struct timespec a, b;
	pid_t pid;
	int st;
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	posix_spawn_file_actions_destroy(&fa);
	return (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
}

static int cmp(const void *x, const void *y)
{
	long a = *(const long *)x, b = *(const long *)y;
	return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
	if (argc > 6 && !strcmp(argv[1], "ab")) {
		const char *file = argv[2];
		int n = atoi(argv[3]), sep;
		char **a = argv + 4, **b;
		long *ta = calloc(n, sizeof(long)), *tb = calloc(n, sizeof(long));

		for (sep = 4; sep < argc && strcmp(argv[sep], "--"); sep++)
			;
		if (sep >= argc - 1 || !ta || !tb || n < 1)
			return 2;
		argv[sep] = NULL;
		b = argv + sep + 1;
		for (int i = 0; i < n; i++) {
			unlink(file);
			ta[i] = run(a);
			unlink(file);
			tb[i] = run(b);
			if (ta[i] < 0 || tb[i] < 0)
				return 1;
		}
		qsort(ta, n, sizeof(long), cmp);
		qsort(tb, n, sizeof(long), cmp);
		printf("%ld %ld\n", ta[n / 2], tb[n / 2]);
		return 0;
	}
	fputs("usage: spawn ab FILE N CMD_A... -- CMD_B...\n", stderr);
	return 2;
}
