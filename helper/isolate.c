// SPDX-License-Identifier: GPL-2.0-only
/* A bounded child process.  See isolate.h. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "isolate.h"
#include "log.h"
#include "util.h"

/* How long a child that was killed, or that closed its pipe, may take to end. */
#define REAP_GRACE_MS 1000

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int isolate_run(void (*fn)(void *data, int outfd), void *data, const struct isolate_limits *limits, size_t max,
		char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, size = 4096;
	int pipefd[2], status, r = 0;
	long deadline;
	pid_t pid;

	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (pid == 0) {
		struct rlimit mem = { limits->memory, limits->memory };
		struct rlimit cpu = { limits->cpu_seconds, limits->cpu_seconds };

		close(pipefd[0]);
		/* the parent's SIGALRM handler (the initrd steps' bound) is not the child's business */
		signal(SIGALRM, SIG_DFL);
		alarm(0);
		if (limits->memory)
			(void)setrlimit(RLIMIT_AS, &mem);
		if (limits->cpu_seconds)
			(void)setrlimit(RLIMIT_CPU, &cpu);
		fn(data, pipefd[1]);
		_exit(0);
	}
	close(pipefd[1]);
	deadline = now_ms() + limits->wall_ms;
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (len + 1 >= size) {
			size_t nsize = size * 2;
			char *nb;

			if (nsize > max + 2)
				nsize = max + 2;
			if (nsize <= len + 1) { /* the child wrote more than asked: stop reading */
				r = -EFBIG;
				break;
			}
			nb = realloc(buf, nsize);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			size = nsize;
		}
		n = read(pipefd[0], buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF: the child is done (or died) */
		len += (size_t)n;
	}
	close(pipefd[0]);
	if (r < 0)
		(void)kill(pid, SIGKILL);
	/*
	 * A killed child stuck in the kernel (a hard NFS mount) may take long to
	 * die: after the grace, it is left to init to reap, and we go on.
	 */
	status = -1;
	for (long until = now_ms() + REAP_GRACE_MS, nap_us = 50;; nap_us = nap_us < 10000 ? nap_us * 2 : nap_us) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (now_ms() >= until) {
			if (r == 0)
				(void)kill(pid, SIGKILL);
			log_debug("child %d did not end within %d ms of its work; not waiting for it", (int)pid, REAP_GRACE_MS);
			status = -1;
			break;
		}
		(void)nanosleep(&(struct timespec){ 0, nap_us * 1000 }, NULL);
	}
	if (r == 0 && (status == -1 || !(WIFEXITED(status) && WEXITSTATUS(status) == 0)))
		r = -ELIBFAIL_DAXBUS;
	if (r == -EFBIG)
		r = -ELIBFAIL_DAXBUS;
	if (r == -ENOMEM)
		return r;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return r;
}
