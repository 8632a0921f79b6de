/*
 * webhook-recv.c: desk-webhook recv, raw webhook bodies to events through
 * desk_receive, the function serve calls for every request: for replays,
 * CGI set-ups and tests. Each FILE is one body; with --lines each line is
 * one; with --cgi the body and headers are the CGI request's.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webhook.h"

#define MAX_HDRS 64
#define CHUNK 65536

struct recv {
	struct desk_store *st;
	jv ch;
	struct desk_secrets sec;
	int auth;                 /* headers were given: authenticate */
	struct desk_hdr hdr[MAX_HDRS];
	size_t nhdr;
	int64_t now;
	struct desk_buf out;
	struct desk_skips skips;
	int status;
	int dirty;                /* quarantined since the last flush */
};

/* Rejects written durable first, then the events: as the loop does. */
static void
flush(struct recv *r)
{
	if (r->dirty)
		desk_store_commit(r->st);
	r->dirty = 0;
	desk_buf_write(&r->out, 1, "stdout");
}

static void
refuse(struct recv *r, const char *input, long line, const char *p, size_t n,
    const struct desk_err *e)
{
	char where[32] = "";

	if (line)
		snprintf(where, sizeof where, ":%ld", line);
	desk_warn("%s%s: %s%s%s", input, where, e->field ? e->field : "",
	    e->field ? ": " : "", e->msg);
	/* Unauthenticated bytes are not kept: only bodies that were let in. */
	if (e->code == DESK_EX_DATA) {
		jv ev = desk_jset_str(jv_object(), "type", "error");
		ev = desk_jset_str(ev, "prog", desk_prog);
		ev = desk_jset_str(ev, "input", input);
		if (line)
			ev = desk_jset_int(ev, "line", line);
		ev = desk_jset_str(ev, "field", e->field);
		ev = desk_jset_str(ev, "reason", e->msg);
		free(desk_quarantine(r->st, p, n, desk_code_mask, ev));
		r->dirty = 1;
		if (!r->status)
			r->status = DESK_EX_DATA;
	} else
		r->status = e->code;
}

static void
one(struct recv *r, const char *input, long line, const char *p, size_t n)
{
	struct desk_http_in in = { p, n, r->hdr, r->nhdr, r->now };
	struct desk_err e = { 0 };
	jv evs = jv_array();

	if (desk_receive(r->ch, r->auth ? &r->sec : NULL, &in, &evs, &r->skips,
	    &e) < 0) {
		jv_free(evs);
		refuse(r, input, line, p, n, &e);
		return;
	}
	int k = jv_array_length(jv_copy(evs));
	for (int i = 0; i < k; i++) {
		jv ev = jv_array_get(jv_copy(evs), i);
		desk_json_dump(&r->out, ev);
		desk_buf_addc(&r->out, '\n');
		jv_free(ev);
	}
	jv_free(evs);
	if (r->out.len >= (1u << 20))
		flush(r);
}

static int
open_input(const char *name)
{
	if (!strcmp(name, "-"))
		return 0;
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		desk_die_errno(DESK_EX_USAGE, "%s", name);
	return fd;
}

/* Reads a little more into b; 0 at the end of input. */
static size_t
more(int fd, struct desk_buf *b, const char *name)
{
	desk_buf_reserve(b, CHUNK);
	desk_input_taken();
	for (;;) {
		ssize_t got = read(fd, b->p + b->len, CHUNK);
		if (got >= 0) {
			b->len += (size_t)got;
			return (size_t)got;
		}
		if (errno != EINTR)
			desk_die_errno(DESK_EX_IOERR, "%s", name);
	}
}

static int
input_ready(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) > 0;
}

static int
blank(const char *p, size_t n)
{
	while (n && strchr(" \t\r", *p))
		p++, n--;
	return n == 0;
}

/* A whole input, one body: up to the largest record desk takes. */
static void
whole(struct recv *r, const char *name)
{
	struct desk_buf b = DESK_BUF_INIT;
	int fd = open_input(name);

	while (more(fd, &b, name) && b.len <= DESK_MAX_INPUT)
		;
	if (fd)
		close(fd);
	if (b.len > DESK_MAX_INPUT) {
		struct desk_err e = { .code = DESK_EX_DATA, .field = "body" };
		snprintf(e.msg, sizeof e.msg, "over %u bytes: not kept", DESK_MAX_INPUT);
		desk_warn("%s: body: %s", name, e.msg);
		r->status = r->status ? r->status : DESK_EX_DATA;
	} else
		one(r, strcmp(name, "-") ? name : "stdin", 0, b.p ? b.p : "", b.len);
	desk_buf_free(&b);
}

/* One body a line, answered as soon as the input pauses. */
static void
lines(struct recv *r, const char *name)
{
	struct desk_buf b = DESK_BUF_INIT;
	int fd = open_input(name), eof = 0;
	size_t start = 0, scan = 0;
	long line = 1;
	const char *label = strcmp(name, "-") ? name : "stdin";

	while (!eof) {
		eof = more(fd, &b, name) == 0;
		for (;;) {
			char *nl = memchr(b.p + scan, '\n', b.len - scan);
			size_t end = nl ? (size_t)(nl - b.p) : b.len;
			if (!nl && !(eof && end > start)) {
				scan = b.len;
				break;
			}
			if (end - start > DESK_MAX_INPUT) {
				desk_warn("%s:%ld: body: over %u bytes: not kept", label,
				    line, DESK_MAX_INPUT);
				r->status = r->status ? r->status : DESK_EX_DATA;
			} else if (!blank(b.p + start, end - start))
				one(r, label, line, b.p + start, end - start);
			line++;
			start = scan = nl ? end + 1 : end;
		}
		/* Keep only the line being read. */
		memmove(b.p, b.p + start, b.len - start);
		b.len -= start;
		scan -= start;
		start = 0;
		if (!eof && !input_ready(fd))
			flush(r);
	}
	if (fd)
		close(fd);
	desk_buf_free(&b);
}

static void
add_header(struct recv *r, const char *name, size_t nlen, const char *value)
{
	if (r->nhdr == MAX_HDRS)
		desk_die(DESK_EX_USAGE, "at most %d headers", MAX_HDRS);
	char *n = desk_xmalloc(nlen + 1);
	for (size_t i = 0; i < nlen; i++)
		n[i] = (char)tolower((unsigned char)name[i]);
	n[nlen] = '\0';
	while (*value == ' ' || *value == '\t')
		value++;
	r->hdr[r->nhdr++] = (struct desk_hdr){ n, value };
	r->auth = 1;
}

/* The CGI request's headers: HTTP_WEBHOOK_ID is webhook-id (RFC 3875 4.1.18). */
static void
cgi_headers(struct recv *r)
{
	extern char **environ;

	for (char **v = environ; *v; v++) {
		const char *eq = strchr(*v, '=');
		if (!eq || strncmp(*v, "HTTP_", 5))
			continue;
		char name[128];
		size_t n = (size_t)(eq - *v) - 5;
		if (n == 0 || n >= sizeof name)
			continue;
		for (size_t i = 0; i < n; i++)
			name[i] = (*v)[5 + i] == '_' ? '-' : (*v)[5 + i];
		add_header(r, name, n, eq + 1);
	}
	r->auth = 1;
}

/* The CGI request's body: exactly CONTENT_LENGTH bytes of stdin. */
static void
cgi(struct recv *r)
{
	const char *method = getenv("REQUEST_METHOD"), *cl = getenv("CONTENT_LENGTH");
	uint64_t len = 0;
	struct desk_buf b = DESK_BUF_INIT;

	if (method && strcmp(method, "POST"))
		desk_die(DESK_EX_USAGE, "REQUEST_METHOD is %s: a webhook is a POST",
		    method);
	if (cl && *cl && !desk_parse_u64(cl, 0, DESK_MAX_INPUT, &len))
		desk_die(DESK_EX_DATA, "CONTENT_LENGTH: not a length up to %u: %s",
		    DESK_MAX_INPUT, cl);
	cgi_headers(r);
	while (b.len < len && more(0, &b, "stdin"))
		;
	if (b.len < len)
		desk_die(DESK_EX_DATA, "stdin: %zu bytes of CONTENT_LENGTH %llu",
		    b.len, (unsigned long long)len);
	one(r, "stdin", 0, b.p ? b.p : "", (size_t)len);
	desk_buf_free(&b);
}

int
webhook_recv(int argc, char **argv)
{
	struct recv r = { .status = 0 };
	const char *name = NULL;
	int c, by_line = 0, is_cgi = 0;

	while ((c = desk_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'c':
			name = optarg;
			break;
		case 'H': {
			const char *colon = strchr(optarg, ':');
			if (!colon || colon == optarg)
				desk_die(DESK_EX_USAGE, "--header: not NAME: VALUE: %s",
				    optarg);
			add_header(&r, optarg, (size_t)(colon - optarg), colon + 1);
			break;
		}
		case 'l':
			by_line = 1;
			break;
		case 'G':
			is_cgi = 1;
			break;
		}
	}
	if (!name)
		desk_die(DESK_EX_USAGE, "recv: --channel NAME is required");
	if (is_cgi && (by_line || optind < argc))
		desk_die(DESK_EX_USAGE, "recv: --cgi reads one request: no FILE, "
		    "no --lines");
	if (!desk_channel_name_ok(name))
		desk_die(DESK_EX_USAGE, "--channel: not a channel name: %s", name);
	r.st = desk_open(0);
	struct desk_err e = { 0 };
	r.ch = desk_channel_lookup(r.st, name, &e);
	if (!jv_is_valid(r.ch) && e.code)
		desk_die(e.code, "channel %s: %s", name, e.msg);
	if (!jv_is_valid(r.ch))
		desk_die(DESK_EX_CONFIG, "channel %s: unknown channel (see "
		    "desk-webhook channel add)", name);
	r.now = desk_now();
	if (is_cgi)
		r.auth = 1;
	if (r.auth && desk_secrets_load(r.st, name, &r.sec, &e) < 0)
		desk_die(e.code, "%s", e.msg);

	if (is_cgi)
		cgi(&r);
	else if (optind == argc)
		(by_line ? lines : whole)(&r, "-");
	else
		for (int i = optind; i < argc; i++)
			(by_line ? lines : whole)(&r, argv[i]);
	flush(&r);

	struct desk_skips *s = &r.skips;
	if (s->echo + s->operator + s->other)
		desk_warn("recv: skipped %lu: %lu echoes of replies, %lu of other "
		    "operators, %lu not for desk", s->echo + s->operator + s->other,
		    s->echo, s->operator, s->other);
	desk_secrets_wipe(&r.sec);
	for (size_t i = 0; i < r.nhdr; i++)
		free((char *)r.hdr[i].name);
	desk_buf_free(&r.out);
	jv_free(r.ch);
	desk_store_close(r.st);
	return r.status;
}

const struct desk_opt webhook_recv_opts[] = {
	{ 'c', "channel", "NAME", "the channel the bodies came to (required)",
	    DESK_V_CHANNEL, 0 },
	{ 'H', "header", "HEADER", "a request header, 'NAME: VALUE'; with "
	    "headers, the request is authenticated (repeatable)", NULL, 0 },
	{ 'l', "lines", NULL, "one body a line, not one a file", NULL, 0 },
	{ 'G', "cgi", NULL, "the one request of a CGI script: body on stdin, "
	    "HTTP_* headers", NULL, 0 },
	DESK_OPT_END
};
