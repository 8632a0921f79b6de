/* rusage CMD [ARG...]: runs CMD and prints its wall time, CPU time, peak
 * RSS and what it wrote to stderr as one JSON line, passing stdin/stdout
 * through. write_bytes is ru_oublock * 512, /proc/PID/io's write_bytes:
 * Linux adds a folio's size each time the process dirties a clean one,
 * which with large folios is far more than reaches the disk; wchar is
 * what it passed to write(2) and its kin; both include its children's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	/* The child's /proc/PID/io while it is a zombie: wchar, and the
	 * dirtied pages that truncation or unlink cancelled before they
	 * were written. */
	siginfo_t si;
	long long wchar = -1, cancelled = -1;
	if (pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0) {
		char path[64], key[64];
		long long v;
		snprintf(path, sizeof path, "/proc/%ld/io", (long)pid);
		FILE *f = fopen(path, "r");
		while (f && fscanf(f, "%63[^:]: %lld\n", key, &v) == 2) {
			if (strcmp(key, "wchar") == 0)
				wchar = v;
			if (strcmp(key, "cancelled_write_bytes") == 0)
				cancelled = v;
		}
		if (f)
			fclose(f);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
		perror("rusage");
		return 70;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "{\"wall_s\":%.6f,\"user_s\":%.6f,\"sys_s\":%.6f,"
	    "\"maxrss_kb\":%ld,\"write_bytes\":%lld,\"cancelled_write_bytes\":%lld,"
	    "\"wchar\":%lld,\"status\":%d}\n",
	    (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss,
	    (long long)ru.ru_oublock * 512, cancelled, wchar,
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
