/*
 * send.c: the delivery engine of desk-webhook send (desk-webhook(1),
 * SENDING). The store's due list says what to deliver; this file decides
 * when, sends with libcurl's multi interface, and writes each attempt's
 * delivery records.
 *
 * An attempt is "inflight" in the log, committed, before its request goes
 * out, and its answer is recorded after: a sender killed in between finds
 * the entry in flight and sends it again with the same webhook-id (the
 * documented window of a second receipt). Both records are written in
 * batches, one commit for all the attempts a round starts and one for all
 * the answers a poll brings, so many deliveries in flight cost two syncs,
 * not two each.
 *
 * Order per case: an entry is started only when every earlier entry of its
 * case is delivered or dead. Only one sender works on a store at a time
 * (desk_sender_lock), so an entry found in flight is one a dead sender left.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "connect/http.h"

/* Delays before the 2nd, 3rd... attempt (REFERENCES §4): about 27 h. */
static const int64_t default_schedule[] = { 5, 300, 1800, 7200, 18000,
	36000, 36000 };
#define MAX_SCHEDULE 32
#define RETRY_AFTER_MAX 86400
#define RESCAN_EVERY 30.0     /* seconds: entries other tools queued again */

/* An outbox entry that is not final, as this sender knows it. */
struct item {
	uint64_t oid, case_id;
	int64_t due;
	uint64_t attempt;
	int busy;               /* an attempt of this process is in flight */
	int gone;               /* final now: dropped at the next compaction */
	char channel[72];
};

/* One attempt in flight: its requests go one after the other. */
struct job {
	uint64_t oid;
	char channel[72];
	jv msg;                 /* the message.out event */
	jv reqs;                /* the requests (desk_out_req) */
	int nreq, next;         /* how many, and the one in flight */
	int parts_done;         /* requests answered 2xx by earlier attempts too */
	uint64_t attempt;
	char wid[DESK_WEBHOOK_ID_LEN + 1];
	struct desk_http x;
	int in_multi;           /* x.h is in the sender's multi handle */
	struct desk_hdr hdr[16];
	int allow_private;
	jv schedule;            /* the channel's retry_schedule, or invalid */
	/* The outcome, once known. */
	enum desk_dstate state;
	long http_status;
	int64_t next_at;
	char error[300];
	jv remote;
	int gone;               /* 410: the channel is to be deactivated */
	struct job *done_next;
};

struct sender {
	struct desk_store *st;
	const struct desk_send_opts *o;
	CURLM *multi;
	struct item *items;
	size_t n, cap;
	int sorted;
	long running;
	struct job *done;       /* answered, not yet recorded */
	struct desk_buf out;    /* delivery events, written after their commit */
	double scanned;         /* desk_mono() of the last full scan */
	int lockfd;             /* the sender lock, or -1 */
	struct desk_secrets sec;      /* of sec_channel, during a pick */
	char sec_channel[72];
	size_t ngone;           /* items final, not yet compacted */
	int broken;             /* an exit status: stop delivering */
	int rejected;
	/* Easy handles done with, to reuse: curl_easy_init costs more than a reset. */
	CURL *idle[64];
	size_t nidle;
};

/* ---- the items ---- */

static int
by_oid(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return (x->oid > y->oid) - (x->oid < y->oid);
}

static struct item *
item_find(struct sender *s, uint64_t oid)
{
	if (!s->sorted) {
		qsort(s->items, s->n, sizeof *s->items, by_oid);
		s->sorted = 1;
	}
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->items[mid].oid == oid)
			return &s->items[mid];
		if (s->items[mid].oid < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Adds entry oid (o, not final) unless it is known already. */
static void
item_add(struct sender *s, uint64_t oid, const struct desk_out_slot *o)
{
	if (desk_dstate_final(o->state) || item_find(s, oid))
		return;
	jv m = desk_log_get(s->st, o->rec);
	int64_t cid = 0;
	const char *ch = desk_jstr(m, "channel");
	desk_jint(m, "case_id", &cid);
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->items = desk_xrealloc(s->items, s->cap * sizeof *s->items);
	}
	struct item *it = &s->items[s->n++];
	memset(it, 0, sizeof *it);
	it->oid = oid;
	it->case_id = (uint64_t)cid;
	it->due = o->state == DESK_DS_RETRY ? o->due : 0;
	it->attempt = o->attempt;
	snprintf(it->channel, sizeof it->channel, "%s", ch ? ch : "");
	if (s->n > 1 && s->items[s->n - 2].oid > oid)
		s->sorted = 0;
	jv_free(m);
}

static void
scan_one(uint64_t oid, const struct desk_out_slot *o, void *ctx)
{
	item_add(ctx, oid, o);
}

/* Everything on the due list; items in flight here are kept as they are. */
static void
scan(struct sender *s)
{
	/* Under the lock: a writer never leaves the list half-linked for us. */
	desk_store_lock(s->st);
	desk_due_each(s->st, scan_one, s);
	desk_store_commit(s->st);
	s->scanned = desk_mono();
}

/* Drops the items that became final (jobs find theirs by out_id). */
static void
compact(struct sender *s)
{
	size_t j = 0;

	/* Only once a good part is final: it walks every item. */
	if (s->ngone < 64 && s->ngone * 4 < s->n)
		return;
	s->ngone = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!s->items[i].gone)
			s->items[j++] = s->items[i];
	s->n = j;
}

/* ---- the schedule ---- */

/* The delay before attempt number next (2, 3, ...), or -1: no more. */
static int64_t
delay_before(jv schedule, uint64_t next)
{
	uint64_t k = next - 2;

	if (jv_get_kind(schedule) == JV_KIND_ARRAY) {
		int n = jv_array_length(jv_copy(schedule));
		if (k >= (uint64_t)n || k >= MAX_SCHEDULE)
			return -1;
		jv d = jv_array_get(jv_copy(schedule), (int)k);
		double v = jv_get_kind(d) == JV_KIND_NUMBER ? jv_number_value(d) : 0;
		jv_free(d);
		return v > 0 && v < 1e9 ? (int64_t)v : 0;
	}
	return k < sizeof default_schedule / sizeof *default_schedule ?
	    default_schedule[k] : -1;
}

/*
 * Up to a tenth more, the same for one entry and attempt wherever it is
 * computed (from the webhook-id), so retries of many entries spread out.
 */
static int64_t
jitter(const char *wid, uint64_t attempt, int64_t delay)
{
	uint32_t h = desk_hash32(wid, strlen(wid)) ^ (uint32_t)(attempt * 2654435761u);

	return delay / 10 * (int64_t)(h % 1000) / 1000;
}

/* Retry-After in seconds or as an HTTP date; 0 when absent or unreadable. */
static int64_t
retry_after(CURL *h, int64_t now)
{
	curl_off_t ra = 0;

	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK || ra <= 0)
		return 0;
	/* curl gives seconds from now, or a date as seconds since the epoch. */
	if (ra > 1000000000)
		ra -= now;
	return ra > 0 ? (ra > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (int64_t)ra) : 0;
}

/* ---- one attempt ---- */

/* Gives j's easy handle (in no multi handle) back to s, for the next job. */
static void
job_release(struct sender *s, struct job *j)
{
	if (j->x.h && !j->in_multi && s->nidle < sizeof s->idle / sizeof *s->idle)
		s->idle[s->nidle++] = desk_http_release(&j->x);
	else
		desk_http_free(&j->x);    /* and out of the multi handle, if in it */
}

static void
job_free(struct sender *s, struct job *j)
{
	job_release(s, j);
	jv_free(j->msg);
	jv_free(j->reqs);
	jv_free(j->schedule);
	jv_free(j->remote);
	free(j);
}

/* The outcome: state and what the delivery event and record say. */
static void
outcome(struct job *j, enum desk_dstate state, long status, const char *fmt, ...)
    DESK_PRINTF(4, 5);

static void
outcome(struct job *j, enum desk_dstate state, long status, const char *fmt, ...)
{
	va_list ap;

	j->state = state;
	j->http_status = status;
	j->error[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(j->error, sizeof j->error, fmt, ap);
		va_end(ap);
	}
}

/* A failure to retry: on the schedule, or later when the receiver says so. */
static void
failed(struct job *j, long status, int64_t now, int64_t after, const char *why)
{
	int64_t d = delay_before(j->schedule, j->attempt + 1);

	if (d < 0) {
		outcome(j, DESK_DS_DEAD, status, "gave up after %llu attempts: %s",
		    (unsigned long long)j->attempt, why);
		return;
	}
	d += jitter(j->wid, j->attempt, d);
	if (after > d)
		d = after;
	outcome(j, DESK_DS_RETRY, status, "%s", why);
	j->next_at = now + d;
}

/* Starts request j->next of job j on the multi handle: 0, or -1 (outcome set). */
static int
job_start_req(struct sender *s, struct job *j)
{
	struct desk_err e;
	jv r = jv_array_get(jv_copy(j->reqs), j->next);
	jv h = desk_jget(r, "headers");
	size_t nh = 0;

	job_release(s, j);
	if (s->nidle)
		j->x.h = s->idle[--s->nidle];
	jv_object_foreach(h, k, v) {
		if (nh < sizeof j->hdr / sizeof *j->hdr &&
		    jv_get_kind(v) == JV_KIND_STRING) {
			/* Borrowed from j->reqs, which outlives the transfer. */
			j->hdr[nh].name = jv_string_value(k);
			j->hdr[nh++].value = jv_string_value(v);
		}
		jv_free(k);
		jv_free(v);
	}
	const char *body;
	size_t len;
	desk_jstrn(r, "body", &body, &len);
	struct desk_http_req req = { desk_jstr(r, "method"), desk_jstr(r, "url"),
		j->hdr, nh, body, len, 0, j->allow_private };
	int rc = desk_http_setup(&j->x, &req, &e);
	jv_free(r);    /* j->reqs still holds every string req points at */
	if (rc == 0) {
		curl_easy_setopt(j->x.h, CURLOPT_PRIVATE, j);
		if (curl_multi_add_handle(s->multi, j->x.h) == CURLM_OK) {
			j->in_multi = 1;
			s->running++;
			return 0;
		}
		snprintf(e.msg, sizeof e.msg, "curl_multi_add_handle failed");
	}
	outcome(j, DESK_DS_DEAD, 0, "%s", e.msg);
	return -1;
}

/* The parts an earlier attempt had delivered (a split text resumes after them). */
static int
parts_done(struct desk_store *st, uint64_t oid)
{
	jv last = desk_delivery_last(st, oid);
	int64_t n = 0;

	desk_jint(last, "parts_done", &n);
	jv_free(last);
	return n > 0 && n < 1000 ? (int)n : 0;
}

/*
 * The job of item it: the entry's message, its channel and the requests
 * its connector makes of it; NULL when the channel cannot be sent to now
 * (inactive: the entry waits). A job that cannot be sent at all comes back
 * with its outcome already set (dead, or retry for a configuration error).
 */
static struct job *
job_new(struct sender *s, struct item *it, int64_t now)
{
	struct desk_err e;
	jv ch = desk_channel_get(s->st, it->channel);

	/*
	 * Active means "active": true, as channel add and set write it (a file
	 * without it is a channel never activated): its entries wait.
	 */
	if (jv_is_valid(ch) && jv_get_kind(desk_jget(ch, "active")) != JV_KIND_TRUE) {
		jv_free(ch);
		return NULL;
	}
	struct job *j = desk_xcalloc(1, sizeof *j);
	j->oid = it->oid;
	memcpy(j->channel, it->channel, sizeof j->channel);
	j->attempt = it->attempt + 1;
	j->state = DESK_DS_INFLIGHT;
	j->reqs = jv_array();
	j->remote = jv_invalid();
	j->schedule = jv_copy(desk_jget(ch, "retry_schedule"));
	jv m = desk_outbox_message(s->st, it->oid, NULL);
	desk_webhook_id(m, it->oid, j->wid);
	j->msg = desk_outbox_event(m);
	jv_free(m);
	j->parts_done = parts_done(s->st, it->oid);
	const struct desk_connector *c = jv_is_valid(ch) ?
	    desk_connector(desk_jstr(ch, "connector")) : NULL;
	if (!jv_is_valid(ch)) {
		outcome(j, DESK_DS_DEAD, 0, "channel %s no longer exists", it->channel);
		return j;
	}
	if (!c || !c->outbound) {
		outcome(j, DESK_DS_DEAD, 0, "channel %s: connector %s cannot deliver",
		    it->channel, desk_jstr(ch, "connector"));
		jv_free(ch);
		return j;
	}
	j->allow_private = jv_get_kind(desk_jget(ch, "allow_private")) == JV_KIND_TRUE;
	/* Loaded once per channel in a step, and wiped at its end (pick). */
	if (strcmp(s->sec_channel, it->channel)) {
		desk_secrets_wipe(&s->sec);
		s->sec_channel[0] = '\0';
		if (desk_secrets_load(s->st, it->channel, &s->sec, &e) < 0) {
			failed(j, 0, now, 0, e.msg);
			jv_free(ch);
			return j;
		}
		memcpy(s->sec_channel, it->channel, sizeof s->sec_channel);
	}
	struct desk_outbound ob = { ch, &s->sec, j->msg, j->wid, now };
	int rc = c->outbound(&ob, &j->reqs, &e);
	jv_free(ch);
	if (rc < 0) {
		/* A channel's settings can be fixed; a message that cannot go, not. */
		if (e.code == DESK_EX_CONFIG)
			failed(j, 0, now, 0, e.msg);
		else
			outcome(j, DESK_DS_DEAD, 0, "%s", e.msg);
		return j;
	}
	j->nreq = jv_array_length(jv_copy(j->reqs));
	j->next = j->parts_done < j->nreq ? j->parts_done : 0;
	if (j->nreq == 0)
		outcome(j, DESK_DS_DELIVERED, 0, NULL);
	return j;
}

/* ---- recording ---- */

static jv
event_of(struct job *j, int64_t now)
{
	jv ev = jv_object();

	ev = desk_jset_str(ev, "type", "delivery");
	ev = desk_jset_int(ev, "out_id", (int64_t)j->oid);
	static const char *const keys[] = { "message_id", "case_id", "channel",
		"connector" };
	for (int i = 0; i < 4; i++)
		ev = desk_jset(ev, keys[i], jv_copy(desk_jget(j->msg, keys[i])));
	ev = desk_jset_str(ev, "webhook_id", j->wid);
	ev = desk_jset_str(ev, "status", desk_dstate_name(j->state));
	ev = desk_jset(ev, "http_status", j->http_status ?
	    jv_number((double)j->http_status) : jv_null());
	ev = desk_jset_int(ev, "attempt", (int64_t)j->attempt);
	ev = desk_jset(ev, "next_attempt_at", j->state == DESK_DS_RETRY ?
	    desk_jtime(j->next_at) : jv_null());
	ev = desk_jset(ev, "error", j->error[0] ? jv_string(j->error) : jv_null());
	if (jv_is_valid(j->remote))
		ev = desk_jset(ev, "remote_id", jv_copy(j->remote));
	return desk_jset(ev, "at", desk_jtime(now));
}

static jv
record_of(struct job *j)
{
	jv d = jv_object();

	d = desk_jset_int(d, "attempt", (int64_t)j->attempt);
	d = desk_jset_str(d, "webhook_id", j->wid);
	if (j->http_status)
		d = desk_jset_int(d, "http_status", j->http_status);
	if (j->state == DESK_DS_RETRY)
		d = desk_jset(d, "next_attempt_at", desk_jtime(j->next_at));
	if (j->error[0])
		d = desk_jset_str(d, "error", j->error);
	if (jv_is_valid(j->remote))
		d = desk_jset(d, "remote_id", jv_copy(j->remote));
	if (j->parts_done && j->state == DESK_DS_RETRY)
		d = desk_jset_int(d, "parts_done", j->parts_done);
	return d;
}

/* Writes out what was recorded (after its commit): the delivery events. */
static void
flush_out(struct sender *s)
{
	/* Recorded already: a sender that cannot say so stops (74). */
	if (s->out.len && desk_write_all(1, s->out.p, s->out.len) < 0) {
		desk_warn("stdout: %s", strerror(errno));
		s->broken = DESK_EX_IOERR;
	}
	s->out.len = 0;
}

/*
 * What the answered jobs mean for the items, before the next ones are
 * picked: their entries final, or due again; a 410's whole channel dead.
 */
static void
settle(struct sender *s)
{
	for (struct job *j = s->done; j; j = j->done_next) {
		struct item *it = item_find(s, j->oid);
		if (j->gone)
			for (size_t i = 0; i < s->n; i++)
				if (!strcmp(s->items[i].channel, j->channel) &&
				    !s->items[i].busy && !s->items[i].gone) {
					s->items[i].gone = 1;
					s->ngone++;
				}
		if (it) {
			it->busy = 0;
			it->attempt = j->attempt;
			if (desk_dstate_final(j->state)) {
				it->gone = 1;
				s->ngone++;
			} else
				it->due = j->next_at;
		}
	}
}

/* Writes the answered jobs' records (under the lock) and their events. */
static void
record_done(struct sender *s, int64_t now)
{
	struct desk_err e;

	for (struct job *j = s->done; j; j = j->done_next) {
		if (j->gone && desk_channel_gone(s->st, j->channel, 410, now, &e) < 0)
			desk_warn("%s", e.msg);
		struct desk_out_slot o;
		/*
		 * A 410 to another entry of the channel, or this one's, made it
		 * dead already: then it is dead but for an answer that delivered.
		 */
		if (desk_out_slot(s->st, j->oid, &o) && desk_dstate_final(o.state) &&
		    j->state != DESK_DS_DELIVERED) {
			if (!j->gone)
				outcome(j, o.state, j->http_status, "channel %s was "
				    "deactivated (410 Gone)", j->channel);
		} else
			desk_delivery_put(s->st, j->oid, j->state, record_of(j), now);
		jv ev = event_of(j, now);
		desk_json_dump(&s->out, ev);
		desk_buf_addc(&s->out, '\n');
		jv_free(ev);
	}
}

static void
finish(struct sender *s, struct job *j)
{
	struct job **p = &s->done;

	while (*p)
		p = &(*p)->done_next;
	j->done_next = NULL;
	*p = j;
}

/* What an answered request means; starts the next one of a split message. */
static void
answered(struct sender *s, struct job *j, CURLcode rc)
{
	struct desk_err e;
	int64_t now = desk_now();

	s->running--;
	curl_multi_remove_handle(s->multi, j->x.h);
	j->in_multi = 0;
	int ok = desk_http_done(&j->x, rc, &e);
	long st = j->x.status;
	if (rc != CURLE_OK) {
		if (j->x.refused[0])
			outcome(j, DESK_DS_DEAD, 0, "%s", e.msg);
		else
			failed(j, 0, now, 0, e.msg);
	} else if (ok == 0) {
		const struct desk_connector *c = desk_connector(desk_jstr(j->msg, "connector"));
		jv remote = jv_invalid();
		if (c && c->answer && c->answer(jv_null(), j->x.body.p ? j->x.body.p : "",
		    j->x.body.len, &remote, &e) < 0) {
			jv_free(remote);
			if (e.code == DESK_EX_TEMPFAIL)
				failed(j, st, now, 0, e.msg);
			else
				outcome(j, DESK_DS_DEAD, st, "%s", e.msg);
		} else {
			if (jv_is_valid(remote)) {
				jv_free(j->remote);
				j->remote = remote;
			}
			j->parts_done = ++j->next;
			if (j->next < j->nreq) {
				if (job_start_req(s, j) == 0)
					return;     /* the next part */
			} else
				outcome(j, DESK_DS_DELIVERED, st, NULL);
		}
	} else if (st == 410) {
		outcome(j, DESK_DS_DEAD, st, "%s: the receiver is gone; channel %s "
		    "deactivated", e.msg, j->channel);
		j->gone = 1;
	} else if (st == 429 || st == 502 || st == 503 || st == 504)
		failed(j, st, now, retry_after(j->x.h, now), e.msg);
	else if (st >= 400 && st < 500)
		outcome(j, DESK_DS_DEAD, st, "%s", e.msg);
	else
		failed(j, st, now, 0, e.msg);   /* 3xx and 5xx */
	finish(s, j);
}

/* ---- rounds ---- */

/* A set of case ids for one round: open addressing, cleared each round. */
struct caseset {
	uint64_t *v;
	size_t cap;
};

static int
caseset_add(struct caseset *c, uint64_t id)
{
	size_t i = (size_t)(id * 0x9e3779b97f4a7c15ull) & (c->cap - 1);

	for (; c->v[i]; i = (i + 1) & (c->cap - 1))
		if (c->v[i] == id)
			return 0;
	c->v[i] = id;
	return 1;
}

/*
 * The jobs that may start: for each case, its first entry not final, if
 * it is due, not in flight and its channel is active; at most in_flight
 * in all.
 */
static struct job *
pick(struct sender *s, int64_t now)
{
	struct job *start = NULL, **tail = &start;
	struct caseset cs;

	if (s->lockfd < 0 || s->running >= s->o->in_flight || !s->n)
		return NULL;
	if (!s->sorted)
		item_find(s, 0);
	cs.cap = 16;
	while (cs.cap < 2 * s->n)
		cs.cap *= 2;
	cs.v = desk_xcalloc(cs.cap, sizeof *cs.v);
	long room = s->o->in_flight - s->running;
	for (size_t i = 0; i < s->n && room > 0; i++) {
		struct item *it = &s->items[i];
		if (it->gone)
			continue;
		/* Case 0 (none recorded) orders nothing. */
		int first = it->case_id == 0 || caseset_add(&cs, it->case_id);
		if (!first || it->busy || it->due > now)
			continue;
		struct job *j = job_new(s, it, now);
		if (!j)
			continue;
		it->busy = 1;
		*tail = j;
		tail = &j->done_next;
		room--;
	}
	free(cs.v);
	desk_secrets_wipe(&s->sec);
	s->sec_channel[0] = '\0';
	return start;
}

/*
 * One step: the answers that came in and the attempts that may start,
 * recorded with one commit (the answers' records, and an "inflight" for
 * each attempt before its request goes out), then the answers' events
 * written and the new requests started.
 */
static void
step(struct sender *s)
{
	int64_t now = desk_now();

	settle(s);
	struct job *start = pick(s, now);
	if (!s->done && !start)
		return;
	desk_store_lock(s->st);
	record_done(s, now);
	for (struct job *j = start; j; j = j->done_next)
		if (j->state == DESK_DS_INFLIGHT) {
			jv d = desk_jset_int(jv_object(), "attempt", (int64_t)j->attempt);
			d = desk_jset_str(d, "webhook_id", j->wid);
			if (j->parts_done)
				d = desk_jset_int(d, "parts_done", j->parts_done);
			desk_delivery_put(s->st, j->oid, DESK_DS_INFLIGHT, d, now);
		}
	desk_store_commit(s->st);
	flush_out(s);
	for (struct job *j = s->done, *n; j; j = n) {
		n = j->done_next;
		job_free(s, j);
	}
	s->done = NULL;
	for (struct job *j = start, *n; j; j = n) {
		n = j->done_next;
		j->done_next = NULL;
		if (j->state != DESK_DS_INFLIGHT || job_start_req(s, j) < 0)
			finish(s, j);
	}
}

/* Hands each finished transfer to answered(); how many there were. */
static int
reap(struct sender *s)
{
	CURLMsg *m;
	int left, n = 0, still;

	curl_multi_perform(s->multi, &still);
	while ((m = curl_multi_info_read(s->multi, &left)))
		if (m->msg == CURLMSG_DONE) {
			struct job *j;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			answered(s, j, m->data.result);
			n++;
		}
	return n;
}

/*
 * Runs the transfers for at most ms (less when curl wants to act sooner,
 * none when some already finished), or until fd (unless -1) is readable;
 * what finished waits in s->done for the next step. 1 when fd is readable.
 */
static int
pump(struct sender *s, int fd, int ms)
{
	struct curl_waitfd w = { fd, CURL_WAIT_POLLIN, 0 };
	int numfds = 0, readable = 0;
	long t = -1;

	if (reap(s) || s->done)
		ms = 0;
	else if (curl_multi_timeout(s->multi, &t) == CURLM_OK && t >= 0 && t < ms)
		ms = (int)t;
	if (curl_multi_poll(s->multi, fd >= 0 ? &w : NULL, fd >= 0 ? 1 : 0, ms,
	    &numfds) != CURLM_OK) {
		desk_warn("curl_multi_poll failed");
		s->broken = DESK_EX_SOFTWARE;
		return 1;
	}
	if (fd >= 0 && (w.revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)))
		readable = 1;
	reap(s);
	return readable;
}

/* The time until the next item comes due, in ms, at most cap. */
static int
next_due_ms(struct sender *s, int cap)
{
	int64_t now = desk_now(), best = -1;

	for (size_t i = 0; i < s->n; i++)
		if (!s->items[i].gone && !s->items[i].busy &&
		    (best < 0 || s->items[i].due < best))
			best = s->items[i].due;
	if (best < 0)
		return cap;
	if (best <= now)
		return 0;
	return best - now > cap / 1000 ? cap : (int)(best - now) * 1000;
}

static void
try_lock(struct sender *s)
{
	struct desk_err e;

	if (s->lockfd < 0 && (s->lockfd = desk_sender_lock(s->st, &e)) >= 0)
		scan(s);
}

/* ---- the filter ---- */

static void
on_message_out(struct desk_loop *l, jv ev, void *ctx)
{
	struct sender *s = ctx;
	struct desk_out_slot o;
	int64_t oid;

	if (!desk_jint(ev, "out_id", &oid) || oid < 1)
		desk_reject(l, ev, "out_id", desk_jhas(ev, "out_id") ?
		    "must be an outbox id" : "missing");
	else if (!desk_out_slot(s->st, (uint64_t)oid, &o))
		desk_reject(l, ev, "out_id", "no outbox entry %lld in %s",
		    (long long)oid, desk_store_root(s->st));
	else
		item_add(s, (uint64_t)oid, &o);   /* final already: nothing to do */
	jv_free(ev);
}

/* While the input is idle: deliver, and wake for retries as they come due. */
static void
idle(int fd, void *ctx)
{
	struct sender *s = ctx;

	while (!s->broken) {
		try_lock(s);
		if (s->lockfd >= 0 && desk_mono() - s->scanned > RESCAN_EVERY)
			scan(s);
		compact(s);
		step(s);
		int ms = s->running ? 1000 : next_due_ms(s, 1000);
		if (pump(s, fd, ms))
			return;
	}
}

static int
sender_init(struct sender *s, struct desk_store *st, const struct desk_send_opts *o)
{
	memset(s, 0, sizeof *s);
	s->st = st;
	s->o = o;
	s->sorted = 1;
	s->lockfd = -1;
	s->scanned = -RESCAN_EVERY;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(s->multi = curl_multi_init())) {
		desk_warn("curl_multi_init failed");
		return -1;
	}
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, o->per_host);
	curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, o->in_flight);
	curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	return 0;
}

static void
sender_free(struct sender *s)
{
	while (s->nidle)
		curl_easy_cleanup(s->idle[--s->nidle]);
	curl_multi_cleanup(s->multi);
	free(s->items);
	desk_buf_free(&s->out);
	if (s->lockfd >= 0)
		close(s->lockfd);
}

/*
 * Delivers what is due now, each case's entries one after the other,
 * until nothing more can start: a drain, and the end of the filter's input.
 */
static void
run_due(struct sender *s)
{
	while (!s->broken) {
		compact(s);
		step(s);
		if (!s->running && !s->done)
			break;
		pump(s, -1, 1000);
	}
}

int
desk_send(const struct desk_send_opts *o)
{
	struct sender s;
	struct desk_err e;
	int status;

	struct desk_store *st = desk_open(o->drain ? 0 : DESK_ST_CREATE);
	if (sender_init(&s, st, o) < 0) {
		desk_store_close(st);
		return DESK_EX_SOFTWARE;
	}
	if (o->drain && (s.lockfd = desk_sender_lock(st, &e)) < 0) {
		desk_warn("%s", e.msg);
		status = e.code;
	} else if (o->drain) {
		scan(&s);
		run_due(&s);
		compact(&s);
		status = DESK_EX_OK;
		for (size_t i = 0; i < s.n; i++)
			if (!s.items[i].gone)
				status = DESK_EX_TEMPFAIL;    /* left for later */
	} else {
		static const struct desk_on on[] = { { "message.out", on_message_out } };
		struct desk_dispatch d = { on, 1, NULL, &s };
		status = desk_loop_run_wait(st, o->files, desk_dispatch,
		    desk_code_mask, &d, idle, &s);
		try_lock(&s);
		run_due(&s);
	}
	if (s.broken)
		status = s.broken;
	sender_free(&s);
	desk_store_close(st);
	return status;
}
