/*
 * reply.c: agent, API and rule replies. A reply is one message record that
 * also carries its outbox entry (out_id and the recipient), so the message
 * and its queued delivery appear together or not at all. The message.out
 * event a connector needs is built from that record alone, so a replay
 * writes exactly what the first run wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/domain.h"

/* Rule replies a case may get: DESK_REPLY_LIMITS, or Zammad's defaults. */
struct limit {
	int count, seconds;
};

static int
limits(struct limit *l, int max)
{
	const struct desk_env *e = desk_env();   /* checked at start-up */
	int n = e->nlimits < max ? e->nlimits : max;

	for (int i = 0; i < n; i++) {
		l[i].count = e->limits[i].count;
		l[i].seconds = e->limits[i].seconds;
	}
	return n;
}

/*
 * Whether one more rule reply to case id would pass a limit; *why says
 * which. Walks the case's messages back through the longest window.
 */
static int
over_limit(struct desk_store *st, uint64_t id, int64_t now, char *why, size_t n)
{
	struct limit l[8];
	int nl = limits(l, 8), longest = 0, seen[8] = { 0 };
	struct desk_case_slot c;
	struct desk_message_slot m;

	for (int i = 0; i < nl; i++)
		if (l[i].seconds > longest)
			longest = l[i].seconds;
	if (!desk_case_slot(st, id, &c))
		return 0;
	for (uint64_t mid = c.head; mid && desk_message_slot(st, mid, &m);
	    mid = m.prev) {
		jv rec = desk_log_get(st, m.rec);
		const char *t = desk_jstr(rec, "created_at");
		int64_t at, rule = 0;
		int old = !t || !desk_time_parse(t, &at) || now - at >= longest;
		desk_jint(rec, "sent_via_rule", &rule);
		jv_free(rec);
		if (old)
			break;
		if (rule)
			for (int i = 0; i < nl; i++)
				if (now - at < l[i].seconds)
					seen[i]++;
	}
	for (int i = 0; i < nl; i++)
		if (seen[i] + 1 > l[i].count) {
			snprintf(why, n, "rule reply limit for case %llu reached: %d in "
			    "%d s (DESK_REPLY_LIMITS); dropped", (unsigned long long)id,
			    l[i].count, l[i].seconds);
			return 1;
		}
	return 0;
}

static const char *
check_staff(jv v)
{
	double d;

	if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL)
		return NULL;
	if (jv_get_kind(v) == JV_KIND_STRING)
		return *jv_string_value(v) ? NULL : "empty";
	if (jv_get_kind(v) == JV_KIND_NUMBER && (d = jv_number_value(v)) >= 1 &&
	    d == (double)(int64_t)d && d < 9007199254740992.0)
		return NULL;
	return "must be an agent's id: a positive whole number or a string";
}

/* The checks of desk_reply_check, NULL or the reason with *field. */
static const char *
check(jv r, const char **field, char *sizewhy, size_t whylen)
{
	int64_t cid;
	const char *via, *why;
	jv v;

	*field = "case_id";
	if (!desk_jint(r, "case_id", &cid) || cid < 1)
		return desk_jhas(r, "case_id") ? "must be a case id" : "missing";
	*field = "via";
	v = desk_jget(r, "via");
	if (jv_is_valid(v)) {
		via = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "";
		if (strcmp(via, "agent") && strcmp(via, "api") && strcmp(via, "rule"))
			return "must be agent, api or rule";
	} else
		via = "agent";
	*field = "content";
	v = desk_jget(r, "content");
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_STRING)
		return "must be a string";
	int text = jv_is_valid(v) && *jv_string_value(v);
	*field = "attachments";
	v = desk_jget(r, "attachments");
	int files = 0;
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		if (jv_get_kind(v) != JV_KIND_ARRAY)
			return "must be an array";
		jv_array_foreach(v, i, a) {
			const char *u = desk_jstr(a, "url");
			int ok = u && *u;
			jv_free(a);
			if (!ok)
				return "each needs a url";
			files++;
		}
	}
	if (!text && !files) {
		*field = "content";
		return "nothing to send: no content and no attachments";
	}
	*field = "staff_id";
	if ((why = check_staff(desk_jget(r, "staff_id"))))
		return why;
	*field = "rule";
	v = desk_jget(r, "rule");
	if (jv_is_valid(v) && (jv_get_kind(v) != JV_KIND_STRING || !*jv_string_value(v)))
		return "must be the rule's name";
	if (!strcmp(via, "rule") && !jv_is_valid(v))
		return "a rule reply names its rule";
	static const char *const ids[] = { "id", "source_id" };
	for (int i = 0; i < 2; i++) {
		const char *s;
		size_t n;
		*field = ids[i];
		v = desk_jget(r, ids[i]);
		if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL)
			continue;
		if (!desk_jstrn(r, ids[i], &s, &n) || !n || memchr(s, '\0', n))
			return "must be a non-empty string";
	}
	*field = "reopen";
	v = desk_jget(r, "reopen");
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_TRUE &&
	    jv_get_kind(v) != JV_KIND_FALSE)
		return "must be true or false";
	return desk_check_sizes(r, field, sizewhy, whylen);
}

int
desk_reply_check(jv r, struct desk_err *e)
{
	const char *field, *why = check(r, &field, e->msg, sizeof e->msg);

	return why ? desk_err_why(e, DESK_EX_DATA, field, why) : 0;
}


/* The recipient: the case's user, their key on the case's channel, the
 * connector and the conversation's ids outside. */
static jv
recipient(struct desk_store *st, jv kase, jv channel)
{
	int64_t uid = 0;
	const char *ch = desk_jstr(kase, "channel");
	jv to = jv_object();

	desk_jint(kase, "user_id", &uid);
	to = desk_jset_int(to, "user_id", uid);
	static const char *const ukeys[] = { "custom_ids" };
	jv u = desk_record_members(st, DESK_T_USER, (uint64_t)uid, ukeys, 1);
	jv ucid = jv_null();
	jv ids = desk_jget(u, "custom_ids");
	if (jv_get_kind(ids) == JV_KIND_ARRAY)
		jv_array_foreach(ids, i, p) {
			const char *pc = desk_jstr(p, "channel");
			if (jv_get_kind(ucid) == JV_KIND_NULL && pc && ch && !strcmp(pc, ch))
				ucid = jv_copy(desk_jget(p, "user_custom_id"));
			jv_free(p);
		}
	jv_free(u);
	to = desk_jset(to, "user_custom_id", ucid);
	to = desk_jset_str(to, "connector", desk_jstr(channel, "connector"));
	jv ext = desk_jget(kase, "external");
	to = desk_jset(to, "external", jv_get_kind(ext) == JV_KIND_OBJECT ?
	    jv_copy(ext) : jv_object());
	return to;
}

/*
 * Where the members of a message.out go: set in an object, or printed
 * straight after one another (a filter's output need not be built first).
 */
struct out_to {
	jv o;
	struct desk_buf *b;
	int n;
};

/*
 * Where they come from: the record as a value, or as the bytes the store
 * printed for it (a value found there is printed as it is: the same bytes
 * desk_json_dump of it gives, without building the record).
 */
static const char *const top_keys[] = { "out_id", "case_id", "message_id",
	"channel", "content", "attachments", "staff_id", "sent_via_rule",
	"b_from_api", "via", "rule", "created_at", "to" };
static const char *const to_keys[] = { "user_id", "user_custom_id",
	"connector", "external" };
#define NTOP (sizeof top_keys / sizeof *top_keys)
#define NTO (sizeof to_keys / sizeof *to_keys)
enum { F_TO = NTOP - 1 };
struct out_from {
	jv m, to;
	int raw;
	struct desk_jspan top[NTOP], sub[NTO];
};

/* A member's value: v, or its bytes p[0..n) (p NULL: none) when raw. */
struct out_val {
	jv v;
	const char *p;
	size_t n;
	int raw;
};

static struct out_val
from_get(const struct out_from *f, int to, size_t i)
{
	struct out_val x = { jv_invalid(), NULL, 0, f->raw };

	if (f->raw) {
		const struct desk_jspan *s = to ? &f->sub[i] : &f->top[i];
		x.p = s->p;
		x.n = s->n;
	} else
		x.v = desk_jget(to ? f->to : f->m, to ? to_keys[i] : top_keys[i]);
	return x;
}

static int
val_has(struct out_val x)
{
	return x.raw ? x.p != NULL : jv_is_valid(x.v);
}

/* Puts key: x (borrowed; none is null, as desk_jset would print it). */
static void
out_put(struct out_to *t, const char *key, struct out_val x)
{
	if (!t->b) {
		t->o = desk_jset(t->o, key, !x.raw ? jv_copy(x.v) : x.p ?
		    desk_json_span_parse((struct desk_jspan){ x.p, x.n }) : jv_null());
		return;
	}
	/* key is one of ours, with nothing to escape. */
	size_t kn = strlen(key);
	desk_buf_reserve(t->b, kn + 4);
	char *q = t->b->p + t->b->len;
	*q++ = t->n++ ? ',' : '{';
	*q++ = '"';
	memcpy(q, key, kn);
	q += kn;
	*q++ = '"';
	*q++ = ':';
	t->b->len = (size_t)(q - t->b->p);
	if (!x.raw)
		desk_json_dump(t->b, x.v);
	else if (x.p)
		desk_buf_add(t->b, x.p, x.n);
	else
		desk_buf_add(t->b, "null", 4);
}

static void
out_put_jv(struct out_to *t, const char *key, jv v)
{
	out_put(t, key, (struct out_val){ v, NULL, 0, 0 });
}

static void
message_out(const struct out_from *f, struct out_to *t)
{
	jv type = jv_string("message.out");

	out_put_jv(t, "type", type);
	jv_free(type);
	for (size_t i = 0; i < 3; i++)
		out_put(t, top_keys[i], from_get(f, 0, i));
	out_put(t, "user_id", from_get(f, 1, 0));
	out_put(t, "user_custom_id", from_get(f, 1, 1));
	out_put(t, "channel", from_get(f, 0, 3));
	out_put(t, "connector", from_get(f, 1, 2));
	out_put(t, "external", from_get(f, 1, 3));
	out_put(t, "content", from_get(f, 0, 4));
	struct out_val a = from_get(f, 0, 5);
	if (val_has(a))
		out_put(t, "attachments", a);
	else {
		jv none = jv_array();
		out_put_jv(t, "attachments", none);
		jv_free(none);
	}
	/* staff_id .. created_at: those the record has. */
	for (size_t i = 6; i < F_TO; i++) {
		struct out_val x = from_get(f, 0, i);
		if (val_has(x))
			out_put(t, top_keys[i], x);
	}
}

static void
from_value(struct out_from *f, jv m)
{
	f->m = m;
	f->to = desk_jget(m, "to");
	f->raw = 0;
}

/* From rec[0..n); 0, or -1 when its bytes are not as desk prints them. */
static int
from_bytes(struct out_from *f, const char *rec, size_t n)
{
	f->m = f->to = jv_invalid();
	f->raw = 1;
	if (desk_json_members(rec, n, top_keys, NTOP, f->top) < 0)
		return -1;
	for (size_t i = 0; i < NTO; i++)
		f->sub[i].p = NULL;
	const struct desk_jspan *to = &f->top[F_TO];
	/* "to" not an object is none of its members, as desk_jget says. */
	if (to->p && *to->p == '{' &&
	    desk_json_members(to->p, to->n, to_keys, NTO, f->sub) < 0)
		return -1;
	return 0;
}

jv
desk_message_out(jv m)
{
	struct out_to t = { jv_object(), NULL, 0 };
	struct out_from f;

	from_value(&f, m);
	message_out(&f, &t);
	return t.o;
}

static void
out_dump(struct desk_buf *b, const struct out_from *f, int duplicate)
{
	struct out_to t = { jv_invalid(), b, 0 };

	message_out(f, &t);
	if (duplicate)
		out_put_jv(&t, "duplicate", jv_true());
	desk_buf_addc(b, '}');
}

void
desk_message_out_dump(struct desk_buf *b, jv m, int duplicate)
{
	struct out_from f;

	from_value(&f, m);
	out_dump(b, &f, duplicate);
}

void
desk_reply_out_dump(struct desk_store *st, struct desk_buf *b, jv m,
    int duplicate)
{
	struct out_from f;
	const char *p;
	size_t n;
	int64_t id;
	char num[24];

	/* Only the record just added: a replay's was not printed here. */
	if (!duplicate && (p = desk_log_last(st, &n)) && from_bytes(&f, p, n) == 0 &&
	    desk_jint(m, "message_id", &id) && f.top[2].p &&
	    (size_t)snprintf(num, sizeof num, "%lld", (long long)id) == f.top[2].n &&
	    !memcmp(num, f.top[2].p, f.top[2].n)) {
		out_dump(b, &f, 0);
		return;
	}
	desk_message_out_dump(b, m, duplicate);
}

/* The idempotency key of a reply: its id, or a rule's name and source event. */
static int
reply_key(jv r, struct desk_buf *key)
{
	const char *id, *rule, *src;
	size_t n;

	key->len = 0;
	if (desk_jstrn(r, "id", &id, &n)) {
		desk_buf_add(key, "id:", 3);
		desk_buf_add(key, id, n);
	} else if ((rule = desk_jstr(r, "rule")) && desk_jstrn(r, "source_id", &src, &n)) {
		desk_buf_adds(key, "rule:");
		desk_buf_adds(key, rule);
		desk_buf_addc(key, '\0');
		desk_buf_add(key, src, n);
	} else
		return 0;
	return 1;
}

/*
 * A record printed as it is built, member by member, in the bytes
 * desk_json_dump of the value would print: the log takes them as they
 * are instead of walking the value again (a third of a reply's printing).
 */
struct rec_build {
	jv o;
	struct desk_buf b;      /* the print so far, without its '}' */
	int n;                  /* the members put */
};

/* Starts from o (consumed), printed whole. */
static void
build_start(struct rec_build *r, jv o)
{
	r->b = (struct desk_buf)DESK_BUF_INIT;
	desk_json_dump(&r->b, o);
	r->b.len--;
	r->n = jv_object_length(jv_copy(o));
	r->o = o;
}

/* Adds key (one of ours, nothing to escape, not put before): v, consumed. */
static void
build_put(struct rec_build *r, const char *key, jv v)
{
	size_t kn = strlen(key);

	desk_buf_reserve(&r->b, kn + 4);
	char *q = r->b.p + r->b.len;
	if (r->n++)
		*q++ = ',';
	*q++ = '"';
	memcpy(q, key, kn);
	q += kn;
	*q++ = '"';
	*q++ = ':';
	r->b.len = (size_t)(q - r->b.p);
	desk_json_dump(&r->b, v);
	r->o = desk_jset(r->o, key, v);
}

/* Appends the record to the log; the record, owned. */
static jv
build_add(struct desk_store *st, struct rec_build *r)
{
	desk_buf_addc(&r->b, '}');
	/* A key put twice has one place in the value: it is printed again. */
	if (jv_object_length(jv_copy(r->o)) == r->n)
		desk_log_add_printed(st, r->o, r->b.p, r->b.len);
	else
		desk_log_add(st, r->o);
	desk_buf_free(&r->b);
	return r->o;
}

/* What a reply reads of its case: not the whole record. */
static jv
case_members(struct desk_store *st, uint64_t id)
{
	static const char *const keys[] = { "user_id", "channel", "status",
		"assignee", "external" };

	return desk_record_members(st, DESK_T_CASE, id, keys, 5);
}

static jv
reply_add_unchecked(struct desk_store *st, jv r, int64_t now, int *duplicate,
    struct desk_err *e)
{
	struct desk_buf key = DESK_BUF_INIT;
	const char *via = desk_jstr(r, "via");
	int64_t cid;

	if (desk_reply_check(r, e) < 0)
		return jv_invalid();
	if (!via)
		via = "agent";
	desk_store_lock(st);
	desk_jint(r, "case_id", &cid);
	int keyed = reply_key(r, &key);
	if (keyed) {
		jv seen = desk_event_seen(st, "reply", NULL, key.p, key.len, 0);
		if (jv_is_valid(seen)) {
			desk_buf_free(&key);
			*duplicate = 1;
			return seen;
		}
	}
	uint64_t id = desk_case_survivor(st, (uint64_t)cid);
	jv kase = case_members(st, id);
	jv ch = jv_invalid();
	jv out = jv_invalid();
	char *chname = NULL;
	if (!jv_is_valid(kase)) {
		desk_err_set(e, DESK_EX_NO, "case_id", "no case %lld", (long long)cid);
		goto done;
	}
	/* A copy: kase is replaced below when the case changes. */
	chname = desk_xstrdup(desk_jstr(kase, "channel") ? desk_jstr(kase, "channel") : "");
	/*
	 * A reply on an inactive channel is queued all the same: only serve
	 * and send look at "active" (the channel is tried before activation,
	 * and send delivers what waits once it is active).
	 */
	ch = desk_channel_get(st, chname);
	if (!jv_is_valid(ch)) {
		desk_err_set(e, DESK_EX_CONFIG, "case_id", "case %llu is on channel "
		    "%s, which is gone", (unsigned long long)id, chname);
		goto done;
	}
	const char *status = desk_jstr(kase, "status");
	int closed = status && !strcmp(status, "closed");
	int reopen = jv_get_kind(desk_jget(r, "reopen")) == JV_KIND_TRUE;
	if (closed && !reopen) {
		desk_err_set(e, DESK_EX_DATA, "case_id", "case %llu is closed "
		    "(reopen it to reply)", (unsigned long long)id);
		goto done;
	}
	/* Closing a Blip case finalised its ticket (ClosedAttendant) for good. */
	const char *conn = desk_jstr(ch, "connector");
	if (closed && conn && !strcmp(conn, "blip")) {
		desk_err_set(e, DESK_EX_DATA, "case_id", "case %llu is closed and "
		    "its Blip ticket was finalised (ClosedAttendant): a finalised "
		    "ticket takes no more messages; the user's next message opens a "
		    "new case", (unsigned long long)id);
		goto done;
	}
	int rule = !strcmp(via, "rule");
	if (rule && over_limit(st, id, now, e->msg, sizeof e->msg)) {
		e->code = DESK_EX_DATA;
		e->field = "rule";
		goto done;
	}

	/* The case first, the message last: the message is the commit point. */
	jv staff = desk_jget(r, "staff_id");
	int assign = !strcmp(via, "agent") && jv_is_valid(staff) &&
	    jv_get_kind(desk_jget(kase, "assignee")) == JV_KIND_NULL;
	if (closed || assign) {
		/* The whole record to save; kase has only what a reply reads. */
		jv k2 = desk_case_record(st, id);
		if (!jv_is_valid(k2)) {
			/* The store's failure, when it failed, is said instead. */
			desk_err_set(e, DESK_EX_NO, "case_id", "no case %llu",
			    (unsigned long long)id);
			goto done;
		}
		if (closed) {
			k2 = desk_jset_str(k2, "status", "open");
			kase = desk_jset_str(kase, "status", "open");
		}
		if (assign) {
			jv a = jv_get_kind(staff) == JV_KIND_STRING ? jv_copy(staff) :
			    jv_string_fmt("%lld", (long long)jv_number_value(staff));
			k2 = desk_jset(k2, "assignee", jv_copy(a));
			kase = desk_jset(kase, "assignee", a);
		}
		desk_case_save(st, k2, NULL, now);
		/* Before the reply, so the platform sees its agent first. */
		if (assign)
			desk_case_command(st, id, "assign", desk_jget(kase, "assignee"), now);
	}
	/* Built once, in the record's order; message.out is made from it. */
	struct rec_build m;
	build_start(&m, desk_message_new(st, id));
	build_put(&m, "user_id", jv_number(0));
	build_put(&m, "staff_id", jv_is_valid(staff) ? jv_copy(staff) : jv_number(0));
	build_put(&m, "channel", jv_string(chname));
	build_put(&m, "content", jv_copy(desk_jget(r, "content")));
	jv att = desk_jget(r, "attachments");
	if (jv_get_kind(att) == JV_KIND_ARRAY && jv_array_length(jv_copy(att)) > 0)
		build_put(&m, "attachments", jv_copy(att));
	build_put(&m, "sent_via_rule", jv_number(rule));
	build_put(&m, "b_from_api", jv_number(!strcmp(via, "api")));
	build_put(&m, "via", jv_string(via));
	if (rule)
		build_put(&m, "rule", jv_copy(desk_jget(r, "rule")));
	if (keyed) {
		build_put(&m, "event_id", desk_jstring(key.p, key.len));
		build_put(&m, "event_scope", jv_string("reply"));
	}
	uint64_t oid = desk_store_newid(st, DESK_OUT);
	build_put(&m, "out_id", jv_number((double)oid));
	build_put(&m, "to", recipient(st, kase, ch));
	/* As desk_message_put stamps a message. */
	build_put(&m, "created_at", desk_jtime(now));
	out = build_add(st, &m);
done:
	free(chname);
	jv_free(kase);
	jv_free(ch);
	desk_buf_free(&key);
	return out;
}

/* The verb, with the store's error, when it failed, as its own. */
jv
desk_reply_store(struct desk_store *st, jv r, int64_t now, int *duplicate,
    struct desk_err *e)
{
	*duplicate = 0;
	return desk_store_result(st, reply_add_unchecked(st, r, now, duplicate,
	    e), e);
}

jv
desk_reply_add(struct desk_store *st, jv r, int64_t now, struct desk_err *e)
{
	int dup;
	jv m = desk_reply_store(st, r, now, &dup, e);

	if (!jv_is_valid(m))
		return m;
	jv o = desk_message_out(m);
	jv_free(m);
	return dup ? desk_jset(o, "duplicate", jv_true()) : o;
}
