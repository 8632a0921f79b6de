/* util.c: program name, errors, memory and byte buffers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

const char *desk_prog = "desk";

void
desk_setprog(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;

	if (argv0 && *argv0)
		desk_prog = s ? s + 1 : argv0;
	/* Every tool calls this first: a bad DESK_* variable stops it here. */
	(void)desk_env();
}

/* The message; a usage error (code 64) adds the line that says where help is. */
static void
vmsg(int code, const char *fmt, va_list ap, int err)
{
	char line[2048];
	int n = snprintf(line, sizeof line, "%s: ", desk_prog);

	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof line)
		n += vsnprintf(line + n, sizeof line - n, fmt, ap);
	if ((size_t)n < sizeof line && err)
		n += snprintf(line + n, sizeof line - n, ": %s", strerror(err));
	if ((size_t)n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	if (code == DESK_EX_USAGE) {
		int k = snprintf(line + n, sizeof line - n, "%s\n", desk_usage_hint());
		if (k > 0 && (size_t)k < sizeof line - n)
			n += k;
	}
	/* One write, so lines from parallel tools do not interleave. */
	(void)desk_write_all(2, line, n);
}

/*
 * _exit, not exit: a tool that dies ends on an error with whatever it holds,
 * and nothing is buffered in stdio (output goes out with write(2)). So leak
 * checkers check the paths that finish normally, where leaks matter.
 */
void
desk_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(code, fmt, ap, 0);
	va_end(ap);
	_exit(code);
}

void
desk_die_errno(int code, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vmsg(code, fmt, ap, err);
	va_end(ap);
	_exit(code);
}

void
desk_die_err(const struct desk_err *e)
{
	desk_die(e->code ? e->code : DESK_EX_SOFTWARE, "%s", e->msg);
}

void
desk_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(0, fmt, ap, 0);
	va_end(ap);
}

int
desk_err_vset(struct desk_err *e, int code, const char *field,
    const char *fmt, va_list ap)
{
	e->code = code;
	e->field = field;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	return -1;
}

int
desk_err_set(struct desk_err *e, int code, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	desk_err_vset(e, code, field, fmt, ap);
	va_end(ap);
	return -1;
}

int
desk_err_why(struct desk_err *e, int code, const char *field, const char *why)
{
	if (why != e->msg)
		snprintf(e->msg, sizeof e->msg, "%s", why);
	e->code = code;
	e->field = field;
	return -1;
}

void *
desk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		desk_die(DESK_EX_SOFTWARE, "out of memory");
	return p;
}

void *
desk_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		desk_die(DESK_EX_SOFTWARE, "out of memory");
	return p;
}

void *
desk_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		desk_die(DESK_EX_SOFTWARE, "out of memory");
	return p;
}

char *
desk_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(desk_xmalloc(n), s, n);
}

int
desk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

void
desk_buf_reserve(struct desk_buf *b, size_t extra)
{
	size_t want = b->len + extra + 1;

	if (want <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	b->p = desk_xrealloc(b->p, cap);
	b->cap = cap;
}

void
desk_buf_add(struct desk_buf *b, const void *p, size_t n)
{
	desk_buf_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
desk_buf_adds(struct desk_buf *b, const char *s)
{
	desk_buf_add(b, s, strlen(s));
}

void
desk_buf_addc(struct desk_buf *b, char c)
{
	desk_buf_reserve(b, 1);
	b->p[b->len++] = c;
}

void
desk_buf_addf(struct desk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		desk_die(DESK_EX_SOFTWARE, "bad format");
	desk_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
desk_buf_free(struct desk_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *
desk_buf_str(struct desk_buf *b)
{
	desk_buf_reserve(b, 0);
	b->p[b->len] = '\0';
	return b->p;
}

/* What desk_again needs to know: may the command start over? */
static char **again_argv;
static int printed, consumed;

int
desk_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	if (fd == 1 && n)
		printed = 1;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

void
desk_again_arm(char **argv)
{
	size_t n = 0;

	/* A copy: getopt permutes argv as it goes. */
	while (argv[n])
		n++;
	again_argv = desk_xmalloc((n + 1) * sizeof *argv);
	memcpy(again_argv, argv, (n + 1) * sizeof *argv);
}

void
desk_input_taken(void)
{
	consumed = 1;
}

#define AGAIN_ENV "DESK_READ_AGAIN"
#define AGAIN_MAX 3

void
desk_again(void)
{
	const char *s = getenv(AGAIN_ENV);
	int n = s && *s >= '0' && *s <= '9' ? *s - '0' : 0;
	char v[2] = { (char)('0' + n + 1), '\0' };

	/* Only a command that has printed nothing and read nothing starts over. */
	if (!again_argv || printed || consumed || n >= AGAIN_MAX)
		return;
	if (setenv(AGAIN_ENV, v, 1) < 0)
		return;
	execv("/proc/self/exe", again_argv);
	unsetenv(AGAIN_ENV);      /* no /proc: the error as it is */
}

int
desk_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	size_t put = 0;

	/* A short write is retried, so a full disk says ENOSPC, not a stale errno. */
	while (put < n) {
		ssize_t w = pwrite(fd, (const char *)p + put, n - put, (off_t)(off + put));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		put += (size_t)w;
	}
	return 0;
}

ssize_t
desk_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

void
desk_buf_write(struct desk_buf *b, int fd, const char *what)
{
	if (b->len && desk_write_all(fd, b->p, b->len) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s", what);
	b->len = 0;
}
