/*
 * serve.c: desk-webhook serve, the HTTP receiver (desk-webhook(1) SERVING).
 *
 * Three kinds of thread, so that neither a slow disk nor a slow downstream
 * can make a request fail:
 *
 *   HTTP threads (libmicrohttpd, one per connection) route, authenticate
 *   (the connector's auth, before the body is parsed), normalise (its
 *   inbound), then queue the request for the writer and wait.
 *
 *   The writer is the only thread that touches the store. It takes every
 *   request queued since its last batch, and under one hold of the lock
 *   records each (a hook record, or a quarantine for a body the normaliser
 *   refused) and how far stdout has got (an emitted record), syncs once,
 *   and only then wakes the requests to be answered: durable before 2xx,
 *   one sync for all that arrived while the previous sync ran (group
 *   commit). It also reloads the channels once a second, and refills the
 *   emitter from the store when the emitter fell behind.
 *
 *   The emitter writes the accepted events to stdout in arrival order and
 *   tells the writer how far it got. It alone blocks on stdout; past
 *   emit_buffer bytes the events wait in the store, not in memory.
 *
 * jv values are not shared between threads: each is built and consumed by
 * one, or handed over whole through a queue under the mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "loop.h"
#include "connect/connect.h"

#define MAX_DELIVERY_ID 256     /* bytes of a webhook-id */
#define MAX_HEADERS 100
#define CHANNEL_RELOAD 1.0      /* seconds between reloads of the channels */
#define MARK_EVERY 0.1          /* seconds an emitted mark may wait alone */

/* ---- the channels, as the writer last loaded them ---- */

struct chan {
	int refs;                         /* under srv.chan_mu */
	char name[65];
	char *conf;                       /* its configuration, JSON text */
	size_t conflen;
	int active;
	const struct desk_connector *conn;
	struct desk_secrets sec;          /* read-only once published */
};

/* ---- a request, from the HTTP thread to the writer and back ---- */

enum job { JOB_ACCEPT, JOB_REJECT };
enum outcome { OUT_NONE, OUT_ACCEPTED, OUT_REPEAT, OUT_REJECTED, OUT_TOOBIG,
	OUT_FAILED };

struct req {
	int route;                        /* first call done */
	int answered;                     /* refused before the body: drop it */
	int refused;
	int too_big;
	struct desk_buf body;
	struct chan *ch;
	/* For the writer: */
	struct req *next;
	enum job job;
	struct desk_hook hook;
	char delivery[MAX_DELIVERY_ID + 1];
	jv events;                        /* handed over to the writer */
	jv errev;                         /* JOB_REJECT: the error event */
	/* Set by the writer before done: */
	int done;
	enum outcome out;
	uint64_t seq;
	char *reject;                     /* rejects/NAME.raw */
	struct desk_err err;
};

/* An accepted delivery's events as JSON Lines, waiting for stdout. */
struct item {
	struct item *next;
	uint64_t seq;
	size_t nevents, len;
	char text[];
};

static struct srv {
	struct desk_store *st;    /* the writer's alone */
	const char *dir;
	int stuck;                /* a delivery the store cannot give back */
	const struct desk_serve_opts *o;

	pthread_mutex_t mu;
	pthread_cond_t work;      /* the writer: something to do */
	pthread_cond_t done;      /* the HTTP threads: a batch is durable */
	pthread_cond_t emit;      /* the emitter: items, or the end */
	struct req *pending, **pending_tail;
	struct item *q, **q_tail;
	size_t q_bytes;
	uint64_t head;            /* the last delivery accepted */
	uint64_t queued;          /* the last one handed to the emitter */
	uint64_t emitted;         /* the last one written to stdout */
	uint64_t marked;          /* the last emitted mark in the store */
	int draining;             /* no more requests: write everything out */
	int writer_done, emit_failed;

	pthread_mutex_t chan_mu;
	struct chan **chans;
	size_t nchans;

	atomic_int inflight;
	atomic_int stopping;
	atomic_ulong n_accepted, n_repeats, n_emitted, n_syncs;
	atomic_ulong n_status[6];     /* 400 401 404 405 413 503 */
	atomic_ulong n_skip_echo, n_skip_operator, n_skip_other;
} S = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.emit = PTHREAD_COND_INITIALIZER,
	.chan_mu = PTHREAD_MUTEX_INITIALIZER,
};

static const unsigned status_codes[6] = { 400, 401, 404, 405, 413, 503 };

static void
count_status(unsigned code)
{
	for (int i = 0; i < 6; i++)
		if (status_codes[i] == code)
			atomic_fetch_add(&S.n_status[i], 1);
}

static void
chan_unref(struct chan *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&S.chan_mu);
	int last = --c->refs == 0;
	pthread_mutex_unlock(&S.chan_mu);
	if (last) {
		desk_secrets_wipe(&c->sec);
		free(c->conf);
		free(c);
	}
}

/* The channel named name, referenced; NULL when there is none. */
static struct chan *
chan_ref(const char *name)
{
	struct chan *c = NULL;

	pthread_mutex_lock(&S.chan_mu);
	for (size_t i = 0; i < S.nchans; i++)
		if (!strcmp(S.chans[i]->name, name)) {
			c = S.chans[i];
			c->refs++;
			break;
		}
	pthread_mutex_unlock(&S.chan_mu);
	return c;
}

/* ---- the writer: the only thread that touches the store ---- */

/*
 * After the store failed (its error state: a full disk, a lock held past
 * DESK_LOCK_TIMEOUT), says why and opens it again, which is how a
 * long-running caller leaves that state (store.h). What the failed batch
 * appended is rolled forward by the next lock: not acknowledged, and
 * recognised as a duplicate when the sender tries again.
 */
static void
store_reset(void)
{
	struct desk_err e;

	desk_store_err(S.st, &e);
	desk_warn("serve: %s; requests are answered 503 until the store "
	    "takes writes again", e.msg);
	desk_store_close(S.st);
	S.st = desk_store_open(S.dir, 0, &desk_store_schema);
}

/*
 * Reads every channel and its secrets anew and publishes them. A channel
 * whose secrets cannot be read is left out (its requests get 404) and
 * said once per reload.
 */
static void
chan_reload(void)
{
	static int first = 1;
	jv list = desk_channel_list(S.st);
	struct chan **next = NULL;
	size_t n = 0;

	jv_array_foreach(list, i, ch) {
		const char *name = desk_jstr(ch, "name");
		const char *conn = desk_jstr(ch, "connector");
		struct desk_err e;
		struct chan *c = desk_xcalloc(1, sizeof *c);
		if (!name || strlen(name) >= sizeof c->name ||
		    desk_secrets_load(S.st, name, &c->sec, &e) < 0) {
			if (name)
				desk_warn("serve: channel %s: %s", name, e.msg);
			free(c);
			jv_free(ch);
			continue;
		}
		snprintf(c->name, sizeof c->name, "%s", name);
		c->conn = conn ? desk_connector(conn) : NULL;
		c->active = jv_get_kind(desk_jget(ch, "active")) == JV_KIND_TRUE;
		if (first && c->active && !c->sec.secret && !c->sec.token &&
		    !c->sec.signkey)
			desk_warn("serve: channel %s has no secret and no token: it "
			    "takes requests from anyone", name);
		c->conf = desk_json_text(ch);
		c->conflen = strlen(c->conf);
		c->refs = 1;
		next = desk_xrealloc(next, (n + 1) * sizeof *next);
		next[n++] = c;
		jv_free(ch);
	}
	jv_free(list);
	first = 0;
	pthread_mutex_lock(&S.chan_mu);
	struct chan **old = S.chans;
	size_t nold = S.nchans;
	S.chans = next;
	S.nchans = n;
	pthread_mutex_unlock(&S.chan_mu);
	for (size_t i = 0; i < nold; i++)
		chan_unref(old[i]);
	free(old);
}

static struct item *
item_make(uint64_t seq, jv events)
{
	struct desk_buf b = DESK_BUF_INIT;
	size_t n = 0;

	jv_array_foreach(events, i, ev) {
		desk_json_dump(&b, ev);
		desk_buf_addc(&b, '\n');
		n++;
		jv_free(ev);
	}
	jv_free(events);
	struct item *it = desk_xmalloc(sizeof *it + b.len);
	it->next = NULL;
	it->seq = seq;
	it->nevents = n;
	it->len = b.len;
	memcpy(it->text, b.p, b.len);
	desk_buf_free(&b);
	return it;
}

/* Under S.mu: hands it to the emitter. */
static void
item_queue(struct item *it)
{
	*S.q_tail = it;
	S.q_tail = &it->next;
	S.q_bytes += it->len;
	S.queued = it->seq;
}

/*
 * Loads from the store the deliveries the emitter has not been handed
 * (those accepted while it was full, or before a restart), up to
 * emit_buffer bytes. Reads need no lock.
 */
static void
refill(void)
{
	for (;;) {
		pthread_mutex_lock(&S.mu);
		uint64_t next = S.queued + 1, head = S.head;
		int room = S.q_bytes < S.o->emit_buffer && !S.stuck;
		pthread_mutex_unlock(&S.mu);
		if (next > head || !room)
			return;
		jv evs = desk_hook_events(S.st, next);
		if (!jv_is_valid(evs)) {
			jv msg = jv_invalid_get_msg(evs);
			if (desk_store_error(S.st)) {
				jv_free(msg);
				store_reset();      /* tried again at the next round */
				return;
			}
			/* Damage: the rest waits for desk-case fsck and a restart. */
			desk_warn("serve: %s: %s; deliveries from %llu on are not "
			    "written out", desk_store_root(S.st),
			    jv_get_kind(msg) == JV_KIND_STRING ?
			    jv_string_value(msg) : "damaged", (unsigned long long)next);
			jv_free(msg);
			pthread_mutex_lock(&S.mu);
			S.stuck = 1;
			pthread_mutex_unlock(&S.mu);
			return;
		}
		struct item *it = item_make(next, evs);
		pthread_mutex_lock(&S.mu);
		item_queue(it);
		pthread_cond_signal(&S.emit);
		pthread_mutex_unlock(&S.mu);
	}
}

/* Under the store's lock: one request's record. */
static void
write_one(struct req *r, struct item **items, size_t *nitems)
{
	jv fresh;

	if (r->job == JOB_REJECT) {
		struct desk_err qe;
		r->reject = desk_quarantine_try(S.st, r->body.p ? r->body.p : "",
		    r->body.len, desk_code_mask, r->errev, &qe);
		r->errev = jv_invalid();
		/* Not quarantined is not answered 400: the batch fails, 503. */
		if (!r->reject)
			desk_store_fail(S.st, qe.code, "%s", qe.msg);
		r->out = OUT_REJECTED;
		return;
	}
	int got = desk_hook_accept(S.st, &r->hook, r->events, &r->seq, &fresh,
	    &r->err);
	r->events = jv_invalid();
	if (got < 0)
		r->out = OUT_TOOBIG;
	else if (got == 0)
		r->out = OUT_REPEAT;
	else {
		r->out = OUT_ACCEPTED;
		items[(*nitems)++] = item_make(r->seq, fresh);
	}
}

/* One batch: everything queued, one lock hold, one sync. */
static void
write_batch(struct req *batch, uint64_t mark)
{
	size_t n = 0, nitems = 0;

	for (struct req *r = batch; r; r = r->next)
		n++;
	struct item **items = desk_xcalloc(n ? n : 1, sizeof *items);
	uint64_t head, emitted;
	int failed = desk_store_lock(S.st) < 0;
	if (!failed) {
		for (struct req *r = batch; r; r = r->next)
			write_one(r, items, &nitems);
		if (mark > S.marked)
			desk_hook_emitted(S.st, mark);
		desk_hook_marks(S.st, &head, &emitted);
	}
	/* In the error state commit syncs nothing: nothing is acknowledged. */
	failed = desk_store_commit(S.st) < 0 || failed;
	if (failed) {
		for (struct req *r = batch; r; r = r->next)
			r->out = OUT_FAILED;
		for (size_t i = 0; i < nitems; i++)
			free(items[i]);
		nitems = 0;
		mark = 0;
		head = S.head;
		store_reset();
	} else
		atomic_fetch_add(&S.n_syncs, 1);

	pthread_mutex_lock(&S.mu);
	S.marked = mark > S.marked ? mark : S.marked;
	/*
	 * In order only: when the emitter was already behind, these wait in
	 * the store for refill.
	 */
	for (size_t i = 0; i < nitems; i++)
		if (items[i]->seq == S.queued + 1 &&
		    S.q_bytes < S.o->emit_buffer) {
			item_queue(items[i]);
			items[i] = NULL;
		}
	S.head = head;
	for (struct req *r = batch; r; r = r->next)
		r->done = 1;
	pthread_cond_broadcast(&S.done);
	pthread_cond_signal(&S.emit);
	pthread_mutex_unlock(&S.mu);
	for (size_t i = 0; i < nitems; i++)
		free(items[i]);
	free(items);
}

static void *
writer(void *arg)
{
	double last_reload = desk_mono(), last_mark = desk_mono();

	sigset_t alrm;

	(void)arg;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	pthread_mutex_lock(&S.mu);
	for (;;) {
		double now = desk_mono();
		int mark_due = S.emitted > S.marked &&
		    (S.draining || S.emit_failed || now - last_mark >= MARK_EVERY);
		int refill_due = S.queued < S.head && S.q_bytes < S.o->emit_buffer / 2;
		int reload_due = now - last_reload >= CHANNEL_RELOAD;
		if (S.draining && !S.pending && !mark_due &&
		    (S.emit_failed || (S.emitted == S.head && S.marked == S.emitted) ||
		    (S.stuck && !S.q && S.marked == S.emitted)))
			break;
		if (!S.pending && !mark_due && !refill_due && !reload_due) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&S.work, &S.mu, &ts);
			continue;
		}
		struct req *batch = S.pending;
		uint64_t mark = S.emitted;
		S.pending = NULL;
		S.pending_tail = &S.pending;
		pthread_mutex_unlock(&S.mu);
		if (batch || mark_due) {
			write_batch(batch, mark > S.marked ? mark : 0);
			if (mark_due)
				last_mark = now;
		}
		if (refill_due)
			refill();
		if (reload_due) {
			chan_reload();
			last_reload = now;
		}
		pthread_mutex_lock(&S.mu);
	}
	S.writer_done = 1;
	pthread_cond_signal(&S.emit);
	pthread_mutex_unlock(&S.mu);
	return NULL;
}

/* ---- the emitter: stdout, in arrival order ---- */

static void *
emitter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&S.mu);
	for (;;) {
		if (!S.q) {
			if (S.writer_done || S.emit_failed)
				break;
			pthread_cond_wait(&S.emit, &S.mu);
			continue;
		}
		struct item *it = S.q;
		S.q = it->next;
		if (!S.q)
			S.q_tail = &S.q;
		pthread_mutex_unlock(&S.mu);
		int bad = desk_write_all(STDOUT_FILENO, it->text, it->len) < 0;
		int err = errno;
		pthread_mutex_lock(&S.mu);
		S.q_bytes -= it->len;
		if (bad) {
			desk_warn("serve: stdout: %s; the deliveries not written out "
			    "stay in the store for the next start", strerror(err));
			S.emit_failed = 1;
			free(it);
			kill(getpid(), SIGTERM);
			break;
		}
		S.emitted = it->seq;
		atomic_fetch_add(&S.n_emitted, it->nevents);
		free(it);
		pthread_cond_signal(&S.work);
	}
	/* What is left stays in the store: emitted at the next start. */
	while (S.q) {
		struct item *it = S.q;
		S.q = it->next;
		free(it);
	}
	S.q_tail = &S.q;
	pthread_mutex_unlock(&S.mu);
	return NULL;
}

/* ---- the HTTP side ---- */

struct hdrs {
	struct desk_hdr h[MAX_HEADERS];
	size_t n;
	struct desk_buf names;    /* the lower-cased names, NUL-separated */
	size_t off[MAX_HEADERS];
};

static enum MHD_Result
hdr_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hdrs *h = cls;

	(void)kind;
	if (h->n >= MAX_HEADERS || !key)
		return MHD_NO;
	h->off[h->n] = h->names.len;
	for (const char *p = key; *p; p++)
		desk_buf_addc(&h->names, (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
	desk_buf_addc(&h->names, '\0');
	h->h[h->n++].value = value ? value : "";
	return MHD_YES;
}

static void
hdrs_get(struct MHD_Connection *c, struct hdrs *h)
{
	h->n = 0;
	h->names = (struct desk_buf)DESK_BUF_INIT;
	MHD_get_connection_values(c, MHD_HEADER_KIND, hdr_one, h);
	for (size_t i = 0; i < h->n; i++)
		h->h[i].name = h->names.p + h->off[i];
}

static enum MHD_Result
answer(struct MHD_Connection *c, unsigned code, jv body)
{
	struct desk_buf b = DESK_BUF_INIT;

	desk_json_dump(&b, body);
	desk_buf_addc(&b, '\n');
	jv_free(body);
	struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.p,
	    MHD_RESPMEM_MUST_COPY);
	desk_buf_free(&b);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "POST");
	if (code == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r, "Retry-After", "5");
	if (atomic_load(&S.stopping))
		MHD_add_response_header(r, "Connection", "close");
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	if (code >= 400)
		count_status(code);
	return ret;
}

static enum MHD_Result
refuse(struct MHD_Connection *c, unsigned code, const char *why)
{
	return answer(c, code, desk_jset_str(jv_object(), "error", why));
}

static enum MHD_Result
healthz(struct MHD_Connection *c)
{
	jv rej = jv_object(), skip = jv_object();
	char k[8];

	for (int i = 0; i < 6; i++) {
		snprintf(k, sizeof k, "%u", status_codes[i]);
		rej = desk_jset_int(rej, k, (int64_t)atomic_load(&S.n_status[i]));
	}
	skip = desk_jset_int(skip, "echo", (int64_t)atomic_load(&S.n_skip_echo));
	skip = desk_jset_int(skip, "operator",
	    (int64_t)atomic_load(&S.n_skip_operator));
	skip = desk_jset_int(skip, "other", (int64_t)atomic_load(&S.n_skip_other));
	pthread_mutex_lock(&S.mu);
	int64_t backlog = (int64_t)(S.head - S.emitted);
	pthread_mutex_unlock(&S.mu);
	jv h = jv_object();
	h = desk_jset_str(h, "status", "ok");
	h = desk_jset_int(h, "accepted", (int64_t)atomic_load(&S.n_accepted));
	h = desk_jset_int(h, "duplicates", (int64_t)atomic_load(&S.n_repeats));
	h = desk_jset(h, "rejected", rej);
	h = desk_jset(h, "skipped", skip);
	h = desk_jset_int(h, "emitted", (int64_t)atomic_load(&S.n_emitted));
	h = desk_jset_int(h, "backlog", backlog);
	h = desk_jset_int(h, "syncs", (int64_t)atomic_load(&S.n_syncs));
	return answer(c, MHD_HTTP_OK, h);
}

/* Queues r for the writer and waits until its batch is durable. */
static void
hand_to_writer(struct req *r)
{
	pthread_mutex_lock(&S.mu);
	r->next = NULL;
	*S.pending_tail = r;
	S.pending_tail = &r->next;
	pthread_cond_signal(&S.work);
	while (!r->done)
		pthread_cond_wait(&S.done, &S.mu);
	pthread_mutex_unlock(&S.mu);
}

/* A webhook-id is printable ASCII, so that its key is its bytes. */
static int
delivery_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_DELIVERY_ID)
		return 0;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

/*
 * Every event gets an id, the one serve made for the delivery when neither
 * the platform nor a webhook-id gave one (the normaliser takes the
 * webhook-id), so that the event is recognised downstream whatever
 * happens to serve; and its channel, should a normaliser not set it.
 */
static jv
events_fix(jv evs, const char *channel, const char *delivery)
{
	jv out = jv_array();
	int n = jv_array_length(jv_copy(evs));
	char id[MAX_DELIVERY_ID + 16];

	jv_array_foreach(evs, i, ev) {
		if (jv_get_kind(ev) == JV_KIND_OBJECT) {
			if (!desk_jstr(ev, "channel"))
				ev = desk_jset_str(ev, "channel", channel);
			if (!desk_jstr(ev, "id")) {
				if (n == 1)
					snprintf(id, sizeof id, "%s", delivery);
				else
					snprintf(id, sizeof id, "%s.%d", delivery, i);
				ev = desk_jset_str(ev, "id", id);
			}
		}
		out = jv_array_append(out, ev);
	}
	jv_free(evs);
	return out;
}

static enum MHD_Result
rejected(struct MHD_Connection *c, struct req *r, const char *url,
    const struct desk_err *e)
{
	jv ev = jv_object();

	ev = desk_jset_str(ev, "type", "error");
	ev = desk_jset_str(ev, "prog", desk_prog);
	ev = desk_jset_str(ev, "input", url);
	ev = desk_jset_str(ev, "channel", r->ch->name);
	if (e->field)
		ev = desk_jset_str(ev, "field", e->field);
	ev = desk_jset_str(ev, "reason", e->msg);
	r->job = JOB_REJECT;
	r->errev = ev;
	hand_to_writer(r);
	if (r->out == OUT_FAILED)
		return refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the store cannot "
		    "take it now: try again");
	desk_warn("serve: %s: 400: %s%s%s (%s)", url, e->field ? e->field : "",
	    e->field ? ": " : "", e->msg, r->reject);
	jv a = jv_object();
	a = desk_jset_str(a, "error", e->msg);
	if (e->field)
		a = desk_jset_str(a, "field", e->field);
	return answer(c, MHD_HTTP_BAD_REQUEST, a);
}

/* The whole body is in: authenticate, normalise, record, answer. */
static enum MHD_Result
deliver(struct MHD_Connection *c, struct req *r, const char *url)
{
	struct hdrs h;
	struct desk_err e = { 0 };
	struct desk_skips skips = { 0, 0, 0 };
	enum MHD_Result ret;

	hdrs_get(c, &h);
	struct desk_http_in in = { r->body.p ? r->body.p : "", r->body.len, h.h,
		h.n, desk_now() };
	jv ch = desk_json_parse_all(r->ch->conf, r->ch->conflen);
	jv evs = jv_array();
	/* The connector's auth before its normaliser reads a byte. */
	if (desk_receive(ch, &r->ch->sec, &in, &evs, &skips, &e) < 0) {
		jv_free(evs);
		if (e.code == DESK_EX_NOPERM) {
			desk_warn("serve: %s: 401: %s", url, e.msg);
			ret = refuse(c, MHD_HTTP_UNAUTHORIZED, "not authenticated");
		} else
			ret = rejected(c, r, url, &e);
		goto out;
	}
	const char *wid = desk_http_hdr(&in, "webhook-id");
	if (wid && !delivery_ok(wid)) {
		jv_free(evs);
		desk_err_set(&e, DESK_EX_DATA, "webhook-id", "must be 1 to %d "
		    "printable ASCII characters", MAX_DELIVERY_ID);
		ret = rejected(c, r, url, &e);
		goto out;
	}
	if (wid)
		snprintf(r->delivery, sizeof r->delivery, "%s", wid);
	else {
		unsigned char rnd[12];
		char hex[25];
		randombytes_buf(rnd, sizeof rnd);
		desk_hex(rnd, sizeof rnd, hex);
		snprintf(r->delivery, sizeof r->delivery, "serve-%lld-%s",
		    (long long)in.now, hex);
	}
	atomic_fetch_add(&S.n_skip_echo, skips.echo);
	atomic_fetch_add(&S.n_skip_operator, skips.operator);
	atomic_fetch_add(&S.n_skip_other, skips.other);
	evs = events_fix(evs, r->ch->name, r->delivery);
	if (jv_array_length(jv_copy(evs)) == 0) {
		jv_free(evs);
		ret = answer(c, MHD_HTTP_OK, desk_jset_str(jv_object(), "status",
		    "skipped"));
		goto out;
	}
	r->job = JOB_ACCEPT;
	r->hook = (struct desk_hook){ r->ch->name, r->delivery,
		strlen(r->delivery), in.now, in.body, in.len };
	r->events = evs;
	hand_to_writer(r);
	jv a = jv_object();
	switch (r->out) {
	case OUT_ACCEPTED:
		atomic_fetch_add(&S.n_accepted, 1);
		a = desk_jset_str(a, "status", "accepted");
		a = desk_jset_str(a, "delivery", r->delivery);
		a = desk_jset_int(a, "seq", (int64_t)r->seq);
		ret = answer(c, MHD_HTTP_OK, a);
		break;
	case OUT_REPEAT:
		atomic_fetch_add(&S.n_repeats, 1);
		a = desk_jset_str(a, "status", "duplicate");
		a = desk_jset_str(a, "delivery", r->delivery);
		ret = answer(c, MHD_HTTP_OK, a);
		break;
	case OUT_FAILED:
		jv_free(a);
		ret = refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the store cannot "
		    "take it now: try again");
		break;
	default:
		jv_free(a);
		desk_warn("serve: %s: 413: %s", url, r->err.msg);
		ret = refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, r->err.msg);
		break;
	}
out:
	jv_free(ch);
	desk_buf_free(&h.names);
	return ret;
}

/* The first call, with the headers only: what can be refused unread. */
static enum MHD_Result
route(struct MHD_Connection *c, struct req *r, const char *url,
    const char *method)
{
	if (!strcmp(url, "/healthz")) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return refuse(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only");
		return healthz(c);
	}
	if (strncmp(url, "/hooks/", 7) || !desk_channel_name_ok(url + 7))
		return refuse(c, MHD_HTTP_NOT_FOUND, "no such endpoint");
	if (strcmp(method, "POST"))
		return refuse(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only");
	r->ch = chan_ref(url + 7);
	if (!r->ch || !r->ch->active || !r->ch->conn) {
		r->refused = 1;
		return refuse(c, MHD_HTTP_NOT_FOUND, "no such channel, or not active");
	}
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t len;
	if (cl && desk_parse_u64(cl, 0, UINT64_MAX, &len) &&
	    len > S.o->max_body) {
		r->refused = 1;
		return refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
	}
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)version;
	if (!r) {
		r = desk_xcalloc(1, sizeof *r);
		r->events = r->errev = jv_invalid();
		*con_cls = r;
		atomic_fetch_add(&S.inflight, 1);
	}
	if (!r->route) {
		r->route = 1;
		enum MHD_Result ret = route(c, r, url, method);
		/* Anything but a hook to read on has been answered already. */
		r->answered = !r->ch || r->refused || ret != MHD_YES;
		return ret;
	}
	if (r->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		/* Past the limit the rest is read and dropped: memory stays bounded. */
		if (!r->too_big && r->body.len + *upload_size > S.o->max_body)
			r->too_big = 1;
		if (!r->too_big)
			desk_buf_add(&r->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
	return deliver(c, r, url);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (!r)
		return;
	chan_unref(r->ch);
	desk_buf_free(&r->body);
	jv_free(r->events);
	jv_free(r->errev);
	free(r->reject);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&S.inflight, 1);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	desk_warn("serve: %s", msg);
}

/* ---- start and stop ---- */

/* ADDR:PORT or [ADDR6]:PORT into *ai; 0, or -1 with e (64). */
static int
listen_addr(const char *s, struct addrinfo **ai, struct desk_err *e)
{
	char host[256];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM };

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof host ||
	    !colon[1])
		return desk_err_set(e, DESK_EX_USAGE, "--listen", "%s: not "
		    "ADDR:PORT", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *h = host;
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	int rc = getaddrinfo(h, colon + 1, &hints, ai);
	if (rc)
		return desk_err_set(e, DESK_EX_USAGE, "--listen", "%s: %s", s,
		    gai_strerror(rc));
	return 0;
}

static int
port_file(const char *path, unsigned port, struct desk_err *e)
{
	char tmp[4096], text[16];
	int n = snprintf(text, sizeof text, "%u\n", port);

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return desk_err_set(e, DESK_EX_USAGE, "--port-file", "too long");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd < 0 || desk_write_all(fd, text, (size_t)n) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0)
		return desk_err_set(e, DESK_EX_IOERR, "--port-file", "%s: %s",
		    path, strerror(errno));
	return 0;
}

/* The marks as the store has them: what a restart must still write out. */
static int
resume(struct desk_err *e)
{
	uint64_t head, emitted;

	/* The lock rolls forward what a killed serve left. */
	if (desk_store_lock(S.st) < 0) {
		desk_store_commit(S.st);
		return desk_store_err(S.st, e);
	}
	desk_hook_marks(S.st, &head, &emitted);
	if (desk_store_commit(S.st) < 0)
		return desk_store_err(S.st, e);
	S.head = head;
	S.queued = S.emitted = S.marked = emitted;
	if (head > emitted)
		desk_warn("serve: %llu deliveries accepted before were not written "
		    "out; writing them out first",
		    (unsigned long long)(head - emitted));
	return 0;
}

static struct MHD_Daemon *
start(struct addrinfo *ai, struct desk_err *e)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC | MHD_USE_ERROR_LOG;

	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL,
	    on_request, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, S.o->max_conn,
	    MHD_OPTION_CONNECTION_TIMEOUT, S.o->timeout,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	    MHD_OPTION_END);

	if (!d)
		desk_err_set(e, DESK_EX_UNAVAILABLE, "--listen", "%s: cannot "
		    "listen: %s", S.o->listen, strerror(errno));
	return d;
}

/*
 * SIGTERM or SIGINT: stop taking requests, answer those in flight, write
 * out. 0, or -1 with e (75) on a second signal while stdout is stalled:
 * the threads still run then, and the caller ends the process.
 */
static int
stop(struct MHD_Daemon *d, sigset_t *sigs, struct desk_err *e)
{
	int fd = MHD_quiesce_daemon(d);

	atomic_store(&S.stopping, 1);
	if (fd >= 0)
		close(fd);
	/* Requests in flight are answered; then the idle connections go. */
	double t0 = desk_mono();
	while (atomic_load(&S.inflight) > 0 && desk_mono() - t0 < S.o->timeout + 5)
		usleep(10000);
	MHD_stop_daemon(d);
	pthread_mutex_lock(&S.mu);
	S.draining = 1;
	pthread_cond_signal(&S.work);
	pthread_mutex_unlock(&S.mu);
	/* A second signal does not wait for a stalled stdout. */
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	for (;;) {
		pthread_mutex_lock(&S.mu);
		int done = S.writer_done;
		uint64_t left = S.head - S.emitted;
		pthread_mutex_unlock(&S.mu);
		if (done)
			return 0;
		if (sigtimedwait(sigs, NULL, &tick) > 0)
			return desk_err_set(e, DESK_EX_TEMPFAIL, NULL, "stopped with "
			    "%llu deliveries not written out; the next start writes "
			    "them out", (unsigned long long)left);
	}
}

int
desk_serve(const char *dir, const struct desk_serve_opts *o, struct desk_err *e)
{
	struct addrinfo *ai;
	sigset_t sigs;
	pthread_t wt, et;
	int sig;

	if (sodium_init() < 0)
		return desk_err_set(e, DESK_EX_SOFTWARE, NULL, "libsodium: cannot "
		    "initialise");
	(void)desk_env();          /* read once, before there are threads */
	if (listen_addr(o->listen, &ai, e) < 0)
		return -1;
	S.dir = dir;
	S.o = o;
	S.st = desk_store_open(dir, 0, &desk_store_schema);
	S.pending_tail = &S.pending;
	S.q_tail = &S.q;
	signal(SIGPIPE, SIG_IGN);
	/* While this is the only thread: */
	if (desk_store_err(S.st, e) < 0 || resume(e) < 0) {
		freeaddrinfo(ai);
		desk_store_close(S.st);
		return -1;
	}
	chan_reload();
	/*
	 * Only the main thread takes SIGTERM and SIGINT, by sigwait; only the
	 * writer SIGALRM, which the store's lock wait uses to give up (a
	 * SIGALRM another thread took after the wait ended would kill us).
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigset_t block = sigs;
	sigaddset(&block, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	struct MHD_Daemon *d = NULL;
	if (pthread_create(&wt, NULL, writer, NULL)) {
		freeaddrinfo(ai);
		desk_store_close(S.st);
		return desk_err_set(e, DESK_EX_SOFTWARE, NULL, "cannot start a "
		    "thread");
	}
	int no_emitter = pthread_create(&et, NULL, emitter, NULL) != 0;
	if (no_emitter)
		desk_err_set(e, DESK_EX_SOFTWARE, NULL, "cannot start a thread");
	else
		d = start(ai, e);
	freeaddrinfo(ai);
	if (!d) {
		/* Nothing was taken: the writer stops without writing anything out. */
		pthread_mutex_lock(&S.mu);
		S.draining = S.emit_failed = 1;
		pthread_cond_broadcast(&S.work);
		pthread_cond_broadcast(&S.emit);
		pthread_mutex_unlock(&S.mu);
		pthread_join(wt, NULL);
		if (!no_emitter)
			pthread_join(et, NULL);
		desk_store_close(S.st);
		return -1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d,
	    MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = info ? info->port : 0;
	int failed = o->port_file && port_file(o->port_file, port, e) < 0;
	if (!failed) {
		desk_warn("serve: listening on %s (port %u)", o->listen, port);
		while (sigwait(&sigs, &sig) != 0)
			;
	}
	if (stop(d, &sigs, e) < 0)
		return -1;
	pthread_join(wt, NULL);
	pthread_join(et, NULL);
	pthread_mutex_lock(&S.chan_mu);
	struct chan **chans = S.chans;
	size_t n = S.nchans;
	S.chans = NULL;
	S.nchans = 0;
	pthread_mutex_unlock(&S.chan_mu);
	for (size_t i = 0; i < n; i++)
		chan_unref(chans[i]);      /* wipes the secrets */
	free(chans);
	desk_store_close(S.st);
	/* What the emitter left when stdout failed waits in the store. */
	while (S.q) {
		struct item *it = S.q;
		S.q = it->next;
		free(it);
	}
	if (failed)
		return -1;
	return S.emit_failed ? desk_err_set(e, DESK_EX_IOERR, NULL,
	    "stdout: could not write every event") : 0;
}
