// SPDX-License-Identifier: GPL-2.0
/*
 * aim: run a command under ptrace and SIGKILL it on entering the Nth call
 * of one system call, before the kernel carries the call out.  The power-cut
 * instants of `make check-reliability` (tests/reliability/instants.sh) use it
 * inside a guest to stop the helper exactly before its rename, or between the
 * rename and the directory's fsync, with nothing added to the product.
 *
 *   aim SYSCALL N COMMAND [ARG...]
 *
 * SYSCALL is renameat2 or fsync (x86_64).  On a hit it prints one line,
 * "aim: killed on entering SYSCALL #N (fd F: PATH)", and exits 0 once the
 * command is dead; if the command ends without the Nth call it says so and
 * exits 2; usage and ptrace errors exit 1.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
	const char *name;
	long nr;
} calls[] = {
	{ "renameat2", SYS_renameat2 },
	{ "fsync", SYS_fsync },
};

int main(int argc, char **argv)
{
	struct user_regs_struct regs;
	long nr = -1, want, seen = 0;
	bool entering = false;
	int status, sig = 0;
	pid_t child;

	if (argc < 4) {
		fprintf(stderr, "usage: aim SYSCALL N COMMAND [ARG...]\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (strcmp(argv[1], calls[i].name) == 0)
			nr = calls[i].nr;
	want = strtol(argv[2], NULL, 10);
	if (nr < 0 || want < 1) {
		fprintf(stderr, "aim: SYSCALL must be renameat2 or fsync and N at least 1\n");
		return 1;
	}

	child = fork();
	if (child < 0) {
		perror("aim: fork");
		return 1;
	}
	if (child == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 || raise(SIGSTOP) < 0)
			_exit(127);
		execvp(argv[3], argv + 3);
		fprintf(stderr, "aim: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status) ||
	    ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)) < 0) {
		perror("aim: ptrace");
		return 1;
	}
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, child, NULL, (void *)(long)sig) < 0 || waitpid(child, &status, 0) < 0) {
			perror("aim: ptrace");
			return 1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			printf("aim: %s ended (status %d) before %s #%ld\n", argv[3], WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), argv[1], want);
			return 2;
		}
		sig = 0;
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 16)
			continue; /* the execve event: no signal to deliver */
		if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
			sig = WSTOPSIG(status); /* a signal for the command: deliver it */
			continue;
		}
		/* syscall-stops alternate, entry then exit, from the first one on */
		entering = !entering;
		if (!entering)
			continue;
		if (ptrace(PTRACE_GETREGS, child, NULL, &regs) < 0) {
			perror("aim: PTRACE_GETREGS");
			return 1;
		}
		if ((long)regs.orig_rax != nr || ++seen < want)
			continue;

		/* stopped on entry: the call has not happened, and now never will */
		char link[64], path[4096] = "?";
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)child, (int)regs.rdi);
		n = readlink(link, path, sizeof(path) - 1);
		if (n > 0)
			path[n] = '\0';
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		printf("aim: killed on entering %s #%ld (fd %d: %s)\n", argv[1], want, (int)regs.rdi, path);
		fflush(stdout);
		return 0;
	}
}
