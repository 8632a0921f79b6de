/*
 * libFuzzer target: the stream loop (desk_loop_run), the real input
 * surface, over arbitrary bytes on a pipe, without a store (as a tool
 * without one runs it) and with a handler that emits each event, or
 * rejects it when it has a "reject" member. DESK_MAX_RECORD is 128, so
 * that the limit and the resynchronisation after it are reached often.
 * Each input runs twice: in one read, and cut in two reads at a point
 * taken from its bytes. Checks:
 *
 *  - the cut changes nothing: stdout, stderr and the exit status are the
 *    same bytes (the loop's promise, and t0122's, at every offset);
 *  - the exit status is 0, or 65 exactly when something was rejected;
 *  - every line on stdout is a JSON object, and every line on stderr an
 *    "error" event with a line number.
 *
 * Run it with -close_fd_mask=3: the loop writes to fds 1 and 2, which the
 * target points at files for the run (sanitizer reports go to the stderr
 * the process started with).
 */
#include <errno.h>
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "desk.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXLEN 4096    /* PIPE_BUF: one write is one read */

static int out_fd, err_fd, report_fd;
static sem_t go, gone;       /* a job for the feeder; it is done */
static void *feeder(void *);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("DESK_MAX_RECORD", "128", 1);
	unsetenv("DESK_SYNC");
	desk_setprog("fuzz-loop");
	/* Reports must not land in the files that stand in for fd 2. */
	report_fd = dup(2);
	__sanitizer_set_report_fd((void *)(intptr_t)report_fd);
	pthread_t t;
	if (sem_init(&go, 0, 0) || sem_init(&gone, 0, 0) ||
	    pthread_create(&t, NULL, feeder, NULL))
		abort();
	out_fd = memfd_create("stdout", 0);
	err_fd = memfd_create("stderr", 0);
	if (out_fd < 0 || err_fd < 0)
		abort();
	return 0;
}

static void
handler(struct desk_loop *l, jv ev, void *ctx)
{
	(void)ctx;
	if (desk_jhas(ev, "reject")) {
		desk_reject(l, ev, "reject", "asked to");
		jv_free(ev);
	} else
		desk_emit(l, ev);
}

/*
 * The second read's bytes come from a feeder thread, started once (a
 * thread per input costs more than the loop): each job writes its first
 * part, waits until the loop has read it, writes the rest and closes.
 */
struct feed {
	int fd;
	const char *p;
	size_t n, cut;
};
static struct feed job;

static void
write_part(int fd, const char *p, size_t n)
{
	if (n && write(fd, p, n) != (ssize_t)n)
		abort();
}

static void *
feeder(void *arg)
{
	int left;

	(void)arg;
	for (;;) {
		while (sem_wait(&go) < 0)
			;
		write_part(job.fd, job.p, job.cut);
		while (ioctl(job.fd, FIONREAD, &left) == 0 && left > 0)
			sched_yield();
		write_part(job.fd, job.p + job.cut, job.n - job.cut);
		close(job.fd);
		sem_post(&gone);
	}
	return NULL;
}

struct run {
	int status;
	char *out, *err;
	size_t outlen, errlen;
};

static char *
slurp(int fd, size_t *n)
{
	off_t len = lseek(fd, 0, SEEK_CUR);
	char *p = malloc((size_t)len + 1);

	if (pread(fd, p, (size_t)len, 0) != len)
		abort();
	p[len] = '\0';
	*n = (size_t)len;
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	return p;
}

/* The loop over p[0..n), read in two parts cut at cut (0: in one). */
static struct run
run(const char *p, size_t n, size_t cut)
{
	int pfd[2], save[3];
	struct run r;

	if (pipe(pfd) < 0)
		abort();
	for (int i = 0; i < 3; i++)
		save[i] = dup(i);
	dup2(pfd[0], 0);
	close(pfd[0]);
	dup2(out_fd, 1);
	dup2(err_fd, 2);
	if (cut) {
		job = (struct feed){ pfd[1], p, n, cut };
		sem_post(&go);
	} else {
		write_part(pfd[1], p, n);
		close(pfd[1]);
	}
	r.status = desk_loop_run(NULL, NULL, handler, desk_code_mask, NULL);
	if (cut)
		while (sem_wait(&gone) < 0)
			;
	for (int i = 0; i < 3; i++) {
		dup2(save[i], i);
		close(save[i]);
	}
	r.out = slurp(out_fd, &r.outlen);
	r.err = slurp(err_fd, &r.errlen);
	return r;
}

/* Every line of p[0..n) is a JSON object; with type, an error event. */
static void
lines(const char *p, size_t n, int errors)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		if (!nl)
			abort();           /* output ends with a newline */
		jv v = desk_json_parse_all(p, (size_t)(nl - p));
		if (jv_get_kind(v) != JV_KIND_OBJECT)
			abort();
		if (errors) {
			const char *type = desk_jstr(v, "type");
			int64_t line;
			if (!type || strcmp(type, "error") ||
			    !desk_jint(v, "line", &line) || line < 1 ||
			    !desk_jstr(v, "reason"))
				abort();
		}
		jv_free(v);
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
}

static size_t
split_at(const uint8_t *p, size_t n)
{
	return n > 1 ? 1 + desk_hash32((const char *)p, n) % (n - 1) : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAXLEN)
		return 0;
	const char *p = (const char *)data;
	struct run a = run(p, size, 0);

	if (a.status != 0 && a.status != DESK_EX_DATA)
		abort();
	if ((a.status == DESK_EX_DATA) != (a.errlen > 0))
		abort();
	lines(a.out, a.outlen, 0);
	lines(a.err, a.errlen, 1);
	size_t cut = split_at(data, size);
	if (cut) {
		struct run b = run(p, size, cut);
		if (b.status != a.status || b.outlen != a.outlen ||
		    b.errlen != a.errlen || memcmp(b.out, a.out, a.outlen) ||
		    memcmp(b.err, a.err, a.errlen)) {
			dprintf(report_fd, "cut at %zu: status %d, not %d\n"
			    "stdout, one read:\n%s\nstdout, cut:\n%s\n"
			    "stderr, one read:\n%s\nstderr, cut:\n%s\n", cut,
			    b.status, a.status, a.out, b.out, a.err, b.err);
			abort();
		}
		free(b.out);
		free(b.err);
	}
	free(a.out);
	free(a.err);
	return 0;
}
