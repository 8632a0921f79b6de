/*
 * loop.c: the per-event loop every filter shares.
 *
 * Reads any stream of JSON values, with exact record boundaries and line
 * numbers, hands each to the tool, and holds what the tool emits until the
 * store has made the batch durable. A batch ends when the input has nothing
 * more ready (so one event at a time is answered at once, and a bulk stream
 * pays one sync per batch), or at BATCH_MAX events, 4 MiB of output or
 * one second. What cannot be parsed, and what the tool rejects, becomes an
 * "error" event on stderr and a file in rejects/: nothing is dropped. A
 * record that is not JSON, or reaches past byte DESK_MAX_RECORD of its line,
 * takes the rest of that line with it: reading resumes at the next newline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loop.h"

#define CHUNK 65536
/*
 * Into a store of 10^6 cases, 10,000 new messages in batches of 8192
 * make 5,959 writes of index buckets and 713 of slot runs, against 7,159
 * and 1,378 in batches of 4096: a user's messages fall into fewer batches.
 */
#define BATCH_MAX 8192
#define BATCH_BYTES (4u << 20)

struct desk_loop {
	struct desk_store *st;
	desk_handler h;
	desk_scrub scrub;
	void *ctx;

	const char *name;       /* input name as the user gave it */
	int fd;
	char *buf;
	size_t cap, start, end;
	int eof;
	long line;              /* line number at buf[start] */
	long col;               /* 0-based column at buf[start] */

	const char *rec;        /* the record being handled */
	size_t reclen;
	int canon;              /* its value prints back as its bytes */
	int members;            /* desk_emit_begin: members printed so far */
	long recline;
	long errcol;            /* column of a parse error, else 0 */

	struct desk_buf out, err;
	size_t nevents;
	double t0;
	int rejected;
	int sync_each;
	size_t maxrec;
	desk_wait wait;         /* work of the tool's own while input is idle */
	void *wctx;
	struct meter *meter;    /* the progress meter; NULL when off */
};

/* ---- the progress meter (--progress) ---- */

/*
 * On stderr, for people: events, events a second, rejects, and with
 * regular files for input the share read and the time left. On a
 * terminal one line redrawn in place at most 10 times a second, from half
 * a second in (a short run shows nothing), and cleared at the end and
 * before anything else is written; into a file (--progress forced) a line
 * a second and a last one at the end. Off, it costs the loop one test of
 * a pointer per event and per read.
 */
struct meter {
	int tty;
	double start, next;     /* monotonic; next: the earliest redraw */
	uint64_t events, rejects;
	uint64_t done, total;   /* bytes read, of total (0: not known) */
	uint64_t handled;       /* bytes read and handled */
	int drawn;              /* a line is on the terminal */
	int out_tty;            /* stdout is a terminal too */
	unsigned tick, stride;  /* events to the next look at the clock */
	double last;            /* when it was last looked at */
};

static int progress_forced = -1;    /* -1: when stderr is a terminal */

int
desk_progress_opt(int c)
{
	if (c != DESK_OPT_PROGRESS && c != DESK_OPT_NO_PROGRESS)
		return 0;
	progress_forced = c == DESK_OPT_PROGRESS;
	return 1;
}

/* The bytes of files when every one is a regular file, else 0. */
static uint64_t
input_size(char **files)
{
	uint64_t total = 0;
	struct stat sb;

	for (char **f = files; *f; f++) {
		int r = strcmp(*f, "-") ? stat(*f, &sb) : fstat(0, &sb);
		if (r < 0 || !S_ISREG(sb.st_mode))
			return 0;
		total += (uint64_t)sb.st_size;
	}
	return total;
}

static struct meter *
meter_new(char **files)
{
	int on = progress_forced;

	/* Not while someone types the input: the line would run through it. */
	if (on < 0) {
		int typed = 0;
		for (char **f = files; *f; f++)
			typed |= !strcmp(*f, "-") && isatty(0);
		on = isatty(2) && !typed;
	}
	if (!on)
		return NULL;
	struct meter *m = desk_xcalloc(1, sizeof *m);
	m->tty = isatty(2);
	m->out_tty = isatty(1);
	m->start = desk_mono();
	m->next = m->start + 0.5;
	m->last = m->start;
	m->tick = m->stride = 1;
	m->total = input_size(files);
	return m;
}

static void
meter_write(struct desk_buf *b)
{
	/* The meter is best effort: a full pipe or a closed stderr stops nothing. */
	if (b->len && desk_write_all(2, b->p, b->len) < 0)
		return;
}

static void
meter_clear(struct meter *m)
{
	struct desk_buf b = DESK_BUF_INIT;

	if (!m->drawn)
		return;
	desk_buf_adds(&b, "\r\033[K");
	meter_write(&b);
	desk_buf_free(&b);
	m->drawn = 0;
}

static void
meter_draw(struct meter *m, double now)
{
	struct desk_buf b = DESK_BUF_INIT;
	double secs = now - m->start;

	if (m->tty)
		desk_buf_adds(&b, "\r");
	desk_buf_addf(&b, "%s: %llu events, %.0f/s, %llu rejected", desk_prog,
	    (unsigned long long)m->events, secs > 0 ? (double)m->events / secs : 0,
	    (unsigned long long)m->rejects);
	if (m->total && m->handled <= m->total) {
		double frac = (double)m->handled / (double)m->total;
		desk_buf_addf(&b, ", %.0f%%", frac * 100);
		if (frac > 0 && frac < 1) {
			long left = (long)(secs / frac * (1 - frac) + 0.5);
			desk_buf_addf(&b, ", %ld:%02ld left", left / 60, left % 60);
		}
	}
	desk_buf_adds(&b, m->tty ? "\033[K" : "\n");
	meter_write(&b);
	desk_buf_free(&b);
	m->drawn = m->tty;
	m->next = now + (m->tty ? 0.1 : 1.0);
}

/*
 * Redraws when it is time. The clock is read at every read and every
 * stride events, the stride adapted so that it is read about every 20 ms
 * whether events take a microsecond or a millisecond. buffered: the bytes
 * read but not yet handled, not counted as done.
 */
static void
meter_tick(struct meter *m, int fresh, size_t buffered)
{
	if (!fresh && --m->tick)
		return;
	double now = desk_mono();
	if (!fresh) {
		if (now - m->last < 0.01 && m->stride < 4096)
			m->stride *= 2;
		else if (now - m->last > 0.04 && m->stride > 1)
			m->stride /= 2;
	}
	m->tick = m->stride;
	m->last = now;
	m->handled = m->done - buffered;
	if (now >= m->next)
		meter_draw(m, now);
}

/* The end: the terminal's line cleared, a file's last line written. */
static void
meter_end(struct meter *m)
{
	if (!m)
		return;
	m->handled = m->done;
	if (m->tty)
		meter_clear(m);
	else
		meter_draw(m, desk_mono());
	free(m);
}

/* Durable first, then acknowledged: the order DESIGN §4 promises. */
static void
commit(struct desk_loop *l)
{
	/* What is written to the terminal next starts a line of its own. */
	if (l->meter && (l->err.len || l->meter->out_tty))
		meter_clear(l->meter);
	desk_store_commit(l->st);
	desk_buf_write(&l->out, 1, "stdout");
	desk_buf_write(&l->err, 2, "stderr");
	l->nevents = 0;
}

void
desk_emit(struct desk_loop *l, jv ev)
{
	desk_json_dump(&l->out, ev);
	desk_buf_addc(&l->out, '\n');
	jv_free(ev);
}

struct desk_buf *
desk_emit_buf(struct desk_loop *l)
{
	return &l->out;
}

/*
 * The record's bytes are its value printed (desk_json_parse_canon), so an
 * event that only gains members is printed from them: no second walk over
 * a long text to print what was just read.
 */
int
desk_emit_begin(struct desk_loop *l)
{
	if (!l->canon || l->reclen < 2 || l->rec[l->reclen - 1] != '}')
		return 0;
	desk_buf_add(&l->out, l->rec, l->reclen - 1);
	l->members = l->reclen > 2;
	return 1;
}

void
desk_emit_member(struct desk_loop *l, const char *key, jv v)
{
	if (l->members++)
		desk_buf_addc(&l->out, ',');
	desk_json_dump_str(&l->out, key, strlen(key));
	desk_buf_addc(&l->out, ':');
	desk_json_dump(&l->out, v);
}

void
desk_emit_end(struct desk_loop *l)
{
	desk_buf_add(&l->out, "}\n", 2);
}

void
desk_emit_merged(struct desk_loop *l, jv ev, jv add)
{
	int fresh = 1;

	/* Only new members: a member replaced needs the object written anew. */
	jv_object_foreach(add, k, v) {
		fresh &= !desk_jhas(ev, jv_string_value(k));
		jv_free(k);
		jv_free(v);
	}
	if (!fresh || !desk_emit_begin(l)) {
		desk_emit(l, jv_object_merge(ev, add));
		return;
	}
	jv_object_foreach(add, k, v) {
		desk_emit_member(l, jv_string_value(k), v);
		jv_free(k);
		jv_free(v);
	}
	desk_emit_end(l);
	jv_free(ev);
	jv_free(add);
}

void
desk_reject_invalid(struct desk_loop *l, jv ev, const char *field, jv why)
{
	jv msg = jv_invalid_get_msg(why);

	desk_reject(l, ev, field, "%s", jv_get_kind(msg) == JV_KIND_STRING ?
	    jv_string_value(msg) : "rejected");
	jv_free(msg);
}

void
desk_reject_err(struct desk_loop *l, jv ev, const struct desk_err *e)
{
	desk_reject(l, ev, e->field, "%s", e->msg);
}

void
desk_loop_record(struct desk_loop *l, const char **p, size_t *n)
{
	*p = l->rec;
	*n = l->reclen;
}

struct desk_store *
desk_loop_store(struct desk_loop *l)
{
	return l->st;
}

void
desk_dispatch(struct desk_loop *l, jv ev, void *dispatch)
{
	const struct desk_dispatch *d = dispatch;
	jv t = desk_jget(ev, "type");
	const char *type = "message";

	if (jv_is_valid(t)) {
		if (jv_get_kind(t) != JV_KIND_STRING) {
			desk_reject(l, ev, "type", "must be a string");
			jv_free(ev);
			return;
		}
		type = jv_string_value(t);
	}
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->on[i].type, type)) {
			d->on[i].h(l, ev, d->ctx);
			return;
		}
	if (d->other)
		d->other(l, ev, d->ctx);
	else
		desk_emit(l, ev);
}

/* Every quarantine of this process gets its own sequence number. */
static _Atomic unsigned rejseq;

char *
desk_quarantine_try(struct desk_store *st, const char *p, size_t n,
    desk_scrub scrub, jv errev, struct desk_err *e)
{
	char stamp[32], name[96];
	struct desk_buf b = DESK_BUF_INIT;

	desk_time_fmt(desk_now(), stamp);
	for (char *s = stamp, *d = stamp;; s++) {   /* 2026-11-21T09:30:00Z -> 20261121T093000Z */
		if (*s != '-' && *s != ':')
			*d++ = *s;
		if (!*s)
			break;
	}
	for (int tries = 0;; tries++) {
		snprintf(name, sizeof name, "rejects/%s-%ld-%u.raw", stamp,
		    (long)getpid(), atomic_fetch_add(&rejseq, 1));
		if (desk_store_stat(st, name, &(struct stat){ 0 }) < 0)
			break;
		if (tries > 1000) {
			jv_free(errev);
			desk_err_set(e, DESK_EX_IOERR, "rejects", "%s/rejects/: no free "
			    "name", desk_store_root(st));
			return NULL;
		}
	}
	/* The bytes as they came, but for what the tool says is secret. */
	char *copy = desk_xmalloc(n ? n : 1);
	memcpy(copy, p, n);
	if (scrub)
		scrub(copy, n);
	int bad = desk_store_put(st, name, copy, n, 0600) < 0;
	free(copy);
	if (bad) {
		jv_free(errev);
		desk_err_set(e, DESK_EX_IOERR, "rejects", "%s/%s: %s",
		    desk_store_root(st), name, strerror(errno));
		return NULL;
	}
	errev = desk_jset_str(errev, "reject", name);
	desk_json_dump(&b, errev);
	desk_buf_addc(&b, '\n');
	strcpy(name + strlen(name) - 4, ".json");
	bad = desk_store_put(st, name, b.p, b.len, 0600) < 0;
	jv_free(errev);
	desk_buf_free(&b);
	if (bad) {
		desk_err_set(e, DESK_EX_IOERR, "rejects", "%s/%s: %s",
		    desk_store_root(st), name, strerror(errno));
		return NULL;
	}
	strcpy(name + strlen(name) - 5, ".raw");
	return desk_xstrdup(name);
}

char *
desk_quarantine(struct desk_store *st, const char *p, size_t n,
    desk_scrub scrub, jv errev)
{
	struct desk_err e;
	char *name = desk_quarantine_try(st, p, n, scrub, errev, &e);

	if (!name)
		desk_die(e.code, "%s", e.msg);
	return name;
}

/*
 * Writes the record's bytes to rejects/; returns the file's name in the
 * store (NULL without a store). Consumes errev either way.
 */
static char *
quarantine(struct desk_loop *l, const char *p, size_t n, jv errev)
{
	if (!l->st) {
		jv_free(errev);
		return NULL;
	}
	return desk_quarantine(l->st, p, n, l->scrub, errev);
}

static jv
error_event(struct desk_loop *l, long line, long col, const char *field,
    const char *reason)
{
	jv e = jv_object();

	e = desk_jset_str(e, "type", "error");
	e = desk_jset_str(e, "prog", desk_prog);
	e = desk_jset_str(e, "input", l->name);
	e = desk_jset_int(e, "line", line);
	if (col > 0)
		e = desk_jset_int(e, "column", col);
	if (field)
		e = desk_jset_str(e, "field", field);
	return desk_jset_str(e, "reason", reason);
}

static void
reject_bytes(struct desk_loop *l, const char *p, size_t n, long line, long col,
    const char *field, const char *reason, jv ev)
{
	jv e = error_event(l, line, col, field, reason);
	const char *id;
	size_t idlen;

	if (jv_get_kind(ev) == JV_KIND_OBJECT && desk_jstrn(ev, "id", &id, &idlen))
		e = desk_jset(e, "id", desk_jstring(id, idlen));
	char *where = quarantine(l, p, n, jv_copy(e));
	e = desk_jset_str(e, "reject", where);
	free(where);
	desk_json_dump(&l->err, e);
	desk_buf_addc(&l->err, '\n');
	jv_free(e);
	l->rejected = 1;
	if (l->meter)
		l->meter->rejects++;
}

void
desk_reject(struct desk_loop *l, jv ev, const char *field, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	reject_bytes(l, l->rec, l->reclen, l->recline, 0, field, reason, ev);
}

static int
input_ready(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) > 0;
}

/* Reads more input; compacts the buffer and grows it when a record needs room. */
static void
fill(struct desk_loop *l)
{
	if (l->start > 0 && (l->start == l->end || l->end + CHUNK > l->cap)) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	if (l->end + CHUNK > l->cap) {
		/* Doubling keeps a long record from being re-parsed too often. */
		l->cap = l->cap ? l->cap * 2 : 4 * CHUNK;
		l->buf = desk_xrealloc(l->buf, l->cap);
	}
	/* Before blocking for input, answer for what is done. */
	if ((l->nevents || l->out.len || l->err.len) && !input_ready(l->fd))
		commit(l);
	if (l->wait && !input_ready(l->fd))
		l->wait(l->fd, l->wctx);
	desk_input_taken();
	for (;;) {
		ssize_t r = read(l->fd, l->buf + l->end, l->cap - l->end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			desk_die_errno(DESK_EX_IOERR, "%s", l->name);
		if (r == 0)
			l->eof = 1;
		l->end += (size_t)r;
		if (l->meter) {
			l->meter->done += (uint64_t)r;
			meter_tick(l->meter, 1, l->end - l->start);
		}
		return;
	}
}

static void
advance(struct desk_loop *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (l->buf[l->start + i] == '\n') {
			l->line++;
			l->col = 0;
		} else
			l->col++;
	}
	l->start += n;
}

/* Keeps the next n bytes for the quarantine, up to DESK_MAX_RECORD in all. */
static void
keep(struct desk_loop *l, struct desk_buf *b, size_t n)
{
	size_t room = b->len < l->maxrec ? l->maxrec - b->len : 0;

	desk_buf_add(b, l->buf + l->start, n < room ? n : room);
}

/*
 * Consumes the rest of the line, however long, up to its newline (left in
 * the buffer, so that l->col is the line's length); keeps what keep() will.
 * Returns the bytes consumed. Memory stays bounded: what is read is dropped.
 */
static size_t
skip_line(struct desk_loop *l, struct desk_buf *b)
{
	size_t total = 0;

	for (;;) {
		char *nl = memchr(l->buf + l->start, '\n', l->end - l->start);
		size_t n = (nl ? (size_t)(nl - l->buf) : l->end) - l->start;
		keep(l, b, n);
		total += n;
		l->start += n;
		l->col += (long)n;
		if (nl || l->eof)
			return total;
		fill(l);
	}
}

/*
 * Rejects the record at buf[start], whose first n bytes are buffered, with
 * the rest of the line it reaches: JSON Lines resynchronise at a newline, so
 * nothing inside a rejected line is ever taken. err is the JSON error at
 * byte n, or NULL for a record that reaches past byte DESK_MAX_RECORD of its
 * line. The reason says how long the line was when the copy is cut.
 */
static void
reject_line(struct desk_loop *l, size_t n, const struct desk_jerr *err)
{
	struct desk_buf b = DESK_BUF_INIT, why = DESK_BUF_INIT;
	long line = l->line, before = l->col;
	struct desk_jerr cut;
	const char *nl = err ? memchr(l->buf + l->start, '\n', n) : NULL;

	/*
	 * JSON Lines: a record ends with its line. An error found on a later
	 * line means this line was cut short; it is rejected alone (with the
	 * error its bytes give alone) and the next line is read, so a broken
	 * line never takes a whole one with it.
	 */
	if (nl) {
		size_t len = (size_t)(nl - (l->buf + l->start)), used;
		jv v;
		if (desk_json_parse(l->buf + l->start, len, 1, &v, &used, &cut) ==
		    DESK_JSON_OK) {
			jv_free(v);     /* cannot happen: it would have ended there */
			snprintf(cut.msg, sizeof cut.msg, "the line ends inside a record");
		}
		n = len;
		err = &cut;
	}

	keep(l, &b, n);
	advance(l, n);
	long eline = l->line, ecol = l->col + 1;
	size_t total = n + skip_line(l, &b);
	if (err) {
		desk_buf_addf(&why, "invalid JSON: %s", err->msg);
		if (b.len < total)
			desk_buf_addf(&why, "; a line of %ld bytes, the reject keeps "
			    "its first %zu", l->col, b.len);
	} else {
		desk_buf_addf(&why, "record longer than %zu bytes (DESK_MAX_RECORD)",
		    l->maxrec);
		if (before > 0)
			desk_buf_addf(&why, " counting the %ld before it on its line",
			    before);
		desk_buf_addf(&why, "; %zu bytes up to the end of its line, a line "
		    "of %ld bytes", total, l->col);
		if (b.len < total)
			desk_buf_addf(&why, "; the reject keeps its first %zu", b.len);
	}
	reject_bytes(l, b.p ? b.p : "", b.len, err ? eline : line,
	    err ? ecol : 0, NULL, desk_buf_str(&why), jv_invalid());
	desk_buf_free(&b);
	desk_buf_free(&why);
	if (l->start < l->end)
		advance(l, 1);
}

static void
one_input(struct desk_loop *l)
{
	for (;;) {
		while (l->start < l->end) {
			char c = l->buf[l->start];
			if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
				break;
			advance(l, 1);
		}
		if (l->start == l->end) {
			if (l->eof)
				return;
			fill(l);
			continue;
		}
		/*
		 * The limit counts from the start of the line, and the parser sees
		 * one byte past it and no more: whether a record fits depends on
		 * its bytes only, never on how the reads cut them.
		 */
		if ((size_t)l->col >= l->maxrec) {
			reject_line(l, 0, NULL);
			continue;
		}
		size_t lim = l->maxrec - (size_t)l->col;
		size_t have = l->end - l->start;
		size_t view = have > lim ? lim + 1 : have;
		struct desk_jerr err;
		size_t used;
		jv v;
		int r = desk_json_parse_canon(l->buf + l->start, view,
		    l->eof && view == have, &v, &used, &err, &l->canon);
		if (r == DESK_JSON_INCOMPLETE) {
			if (view > lim) {
				reject_line(l, view, NULL);
				continue;
			}
			/* A big record is parsed again only once its bytes doubled. */
			do
				fill(l);
			while (have > CHUNK && !l->eof && l->end - l->start < 2 * have &&
			    l->end - l->start <= lim);
			continue;
		}
		if (r == DESK_JSON_ERROR) {
			reject_line(l, err.off, &err);
			continue;
		}
		if (used > lim) {
			jv_free(v);
			reject_line(l, used, NULL);
			continue;
		}
		l->rec = l->buf + l->start;
		l->reclen = used;
		l->recline = l->line;
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			jv_free(v);
			desk_reject(l, jv_invalid(), NULL, "an event must be a JSON "
			    "object");
		} else
			l->h(l, v, l->ctx);
		advance(l, used);
		if (l->meter) {
			l->meter->events++;
			meter_tick(l->meter, 0, l->end - l->start);
		}
		if (++l->nevents == 1)
			l->t0 = desk_mono();
		if (l->sync_each || l->nevents >= BATCH_MAX ||
		    l->out.len >= BATCH_BYTES || desk_mono() - l->t0 > 1.0)
			commit(l);
	}
}

/* DESK_MAX_RECORD and DESK_SYNC, checked at start-up (env.c). */
static size_t
max_record(void)
{
	return desk_env()->max_record;
}

static int
sync_each(void)
{
	return desk_env()->sync_each;
}

int
desk_loop_run(struct desk_store *st, char **files, desk_handler h,
    desk_scrub scrub, void *ctx)
{
	return desk_loop_run_wait(st, files, h, scrub, ctx, NULL, NULL);
}

int
desk_loop_run_wait(struct desk_store *st, char **files, desk_handler h,
    desk_scrub scrub, void *ctx, desk_wait wait, void *wctx)
{
	static char *stdin_only[] = { "-", NULL };
	struct desk_loop l;

	memset(&l, 0, sizeof l);
	l.wait = wait;
	l.wctx = wctx;
	l.st = st;
	l.h = h;
	l.scrub = scrub;
	l.ctx = ctx;
	l.maxrec = max_record();
	l.sync_each = sync_each();
	if (!files || !*files)
		files = stdin_only;
	/* Fail before reading anything when an input cannot be opened. */
	for (char **f = files; *f; f++)
		if (strcmp(*f, "-") && access(*f, R_OK) < 0)
			desk_die_errno(DESK_EX_USAGE, "%s", *f);
	l.meter = meter_new(files);
	for (char **f = files; *f; f++) {
		l.name = *f;
		if (!strcmp(*f, "-"))
			l.fd = 0;
		else if ((l.fd = open(*f, O_RDONLY | O_CLOEXEC)) < 0)
			desk_die_errno(DESK_EX_USAGE, "%s", *f);
		l.start = l.end = 0;
		l.eof = 0;
		l.line = 1;
		l.col = 0;
		one_input(&l);
		if (l.fd != 0)
			close(l.fd);
	}
	commit(&l);
	meter_end(l.meter);
	free(l.buf);
	desk_buf_free(&l.out);
	desk_buf_free(&l.err);
	return l.rejected ? DESK_EX_DATA : DESK_EX_OK;
}
