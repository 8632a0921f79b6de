/* rusage CMD [ARG...]: runs CMD and prints its wall time, CPU time, peak
 * RSS and the bytes it wrote to disk to stderr as one JSON line, passing
 * stdin/stdout through. write_bytes is ru_oublock * 512: Linux counts a
 * page (4 KiB) each time a process dirties a clean page of a file, which is
 * /proc/PID/io's write_bytes, so it is what the process made the kernel
 * write back, not the bytes it passed to write(2). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	int status;

	if (argc < 2) {
		fprintf(stderr, "usage: rusage CMD [ARG...]\n");
		return 64;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
		perror("rusage");
		return 70;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "{\"wall_s\":%.3f,\"user_s\":%.3f,\"sys_s\":%.3f,"
	    "\"maxrss_kb\":%ld,\"write_bytes\":%lld,\"status\":%d}\n",
	    (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss,
	    (long long)ru.ru_oublock * 512,
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
