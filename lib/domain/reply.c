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

/*
 * The members of a reply event that a reply reads, found in one walk over
 * it (desk_jgets) instead of a lookup each time one is needed.
 */
enum { R_CASE, R_VIA, R_CONTENT, R_ATT, R_STAFF, R_RULE, R_ID, R_SOURCE,
	R_REOPEN, R_N };
static const char *const reply_keys[R_N] = { "case_id", "via", "content",
	"attachments", "staff_id", "rule", "id", "source_id", "reopen" };
struct reply_in {
	jv r;           /* the event; the members below are its (borrowed) */
	jv v[R_N];
};

static void
reply_read(struct reply_in *in, jv r)
{
	in->r = r;
	desk_jgets(r, reply_keys, R_N, in->v);
}

static const char *
in_str(const struct reply_in *in, int i)
{
	jv v = in->v[i];

	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
}

/* The checks of desk_reply_check, NULL or the reason with *field. */
static const char *
check(const struct reply_in *in, const char **field, char *sizewhy,
    size_t whylen)
{
	int64_t cid;
	const char *via, *why;
	jv v;

	*field = "case_id";
	if (!desk_jint_of(in->v[R_CASE], &cid) || cid < 1)
		return jv_is_valid(in->v[R_CASE]) ? "must be a case id" : "missing";
	*field = "via";
	v = in->v[R_VIA];
	if (jv_is_valid(v)) {
		via = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "";
		if (strcmp(via, "agent") && strcmp(via, "api") && strcmp(via, "rule"))
			return "must be agent, api or rule";
	} else
		via = "agent";
	*field = "content";
	v = in->v[R_CONTENT];
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_STRING)
		return "must be a string";
	int text = jv_is_valid(v) && *jv_string_value(v);
	*field = "attachments";
	v = in->v[R_ATT];
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
	if ((why = check_staff(in->v[R_STAFF])))
		return why;
	*field = "rule";
	v = in->v[R_RULE];
	if (jv_is_valid(v) && (jv_get_kind(v) != JV_KIND_STRING || !*jv_string_value(v)))
		return "must be the rule's name";
	if (!strcmp(via, "rule") && !jv_is_valid(v))
		return "a rule reply names its rule";
	static const int ids[] = { R_ID, R_SOURCE };
	for (int i = 0; i < 2; i++) {
		const char *s;
		size_t n;
		*field = reply_keys[ids[i]];
		v = in->v[ids[i]];
		if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL)
			continue;
		if (!desk_jstrn_of(v, &s, &n) || !n || memchr(s, '\0', n))
			return "must be a non-empty string";
	}
	*field = "reopen";
	v = in->v[R_REOPEN];
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_TRUE &&
	    jv_get_kind(v) != JV_KIND_FALSE)
		return "must be true or false";
	return desk_check_sizes(in->r, field, sizewhy, whylen);
}

static int
check_err(const struct reply_in *in, struct desk_err *e)
{
	const char *field, *why = check(in, &field, e->msg, sizeof e->msg);

	return why ? desk_err_why(e, DESK_EX_DATA, field, why) : 0;
}

int
desk_reply_check(jv r, struct desk_err *e)
{
	struct reply_in in;

	reply_read(&in, r);
	return check_err(&in, e);
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
/* Their indexes, as a record is built. */
enum { F_OUT, F_CASE, F_MESSAGE, F_CHANNEL, F_CONTENT, F_ATT, F_STAFF,
	F_BYRULE, F_API, F_VIA, F_RULE, F_CREATED, F_TO };
enum { F_USER, F_UCID, F_CONNECTOR, F_EXTERNAL };
_Static_assert(F_TO == NTOP - 1 && F_EXTERNAL == NTO - 1, "the keys' indexes");
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

/* The idempotency key of a reply: its id, or a rule's name and source event. */
static int
reply_key(const struct reply_in *in, struct desk_buf *key)
{
	const char *id, *rule, *src;
	size_t n;

	key->len = 0;
	if (desk_jstrn_of(in->v[R_ID], &id, &n)) {
		desk_buf_add(key, "id:", 3);
		desk_buf_add(key, id, n);
	} else if ((rule = in_str(in, R_RULE)) &&
	    desk_jstrn_of(in->v[R_SOURCE], &src, &n)) {
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
 * Where each member of message.out's went is kept as it is printed, so
 * that message.out is printed from those bytes without a walk over them.
 */
struct rec_build {
	jv o;
	struct desk_buf b;      /* the print so far, without its '}' */
	int n;                  /* the members put */
	/* Where values went: offset and length (0: none), by their index in
	 * top_keys (in "to"'s build: to_keys); "to"'s members in the record. */
	size_t at[NTOP][2], sub[NTO][2];
	int subs;               /* sub is set */
};

static void
build_empty(struct rec_build *r)
{
	r->b = (struct desk_buf)DESK_BUF_INIT;
	desk_buf_addc(&r->b, '{');
	memset(r->at, 0, sizeof r->at);
	r->subs = r->n = 0;
	r->o = jv_object();
}

/*
 * Starts from o (consumed), printed whole: a message's first members
 * (desk_message_new), of which message.out has its ids. Any other of
 * top_keys there would be put again, and so printed from the value.
 */
static void
build_start(struct rec_build *r, jv o)
{
	static const char *const ids[] = { "message_id", "case_id" };
	static const int at[] = { F_MESSAGE, F_CASE };
	struct desk_jspan v[2];

	build_empty(r);
	r->b.len = 0;
	desk_json_dump(&r->b, o);
	r->n = jv_object_length(jv_copy(o));
	if (desk_json_members(r->b.p, r->b.len, ids, 2, v) == 0)
		for (size_t i = 0; i < 2; i++)
			if (v[i].p) {
				r->at[at[i]][0] = (size_t)(v[i].p - r->b.p);
				r->at[at[i]][1] = v[i].n;
			}
	r->b.len--;
	jv_free(r->o);
	r->o = o;
}

/* Prints key's part, ready for its value. */
static void
build_key(struct rec_build *r, const char *key)
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
}

/*
 * Adds key (one of ours, nothing to escape, not put before): v, consumed;
 * mark is key's index in the keys r keeps the places of, or -1.
 */
static void
build_put(struct rec_build *r, const char *key, int mark, jv v)
{
	build_key(r, key);
	size_t off = r->b.len;
	desk_json_dump(&r->b, v);
	if (mark >= 0) {
		r->at[mark][0] = off;
		r->at[mark][1] = r->b.len - off;
	}
	r->o = desk_jset(r->o, key, v);
}

/* Adds key: the object built in in (consumed), whose places are kept. */
static void
build_put_built(struct rec_build *r, const char *key, int mark,
    struct rec_build *in)
{
	build_key(r, key);
	size_t off = r->b.len;
	desk_buf_add(&r->b, in->b.p, in->b.len);
	desk_buf_addc(&r->b, '}');
	r->at[mark][0] = off;
	r->at[mark][1] = r->b.len - off;
	for (size_t i = 0; i < NTO; i++) {
		r->sub[i][0] = in->at[i][1] ? off + in->at[i][0] : 0;
		r->sub[i][1] = in->at[i][1];
	}
	r->subs = 1;
	r->o = desk_jset(r->o, key, in->o);
	desk_buf_free(&in->b);
}

static void
spans(const struct rec_build *r, const size_t (*at)[2], size_t n,
    struct desk_jspan *s)
{
	for (size_t i = 0; i < n; i++) {
		s[i].p = at[i][1] ? r->b.p + at[i][0] : NULL;
		s[i].n = at[i][1];
	}
}

/*
 * Appends the record to the log and, when out is given, its message.out
 * to out; the record, owned.
 */
static jv
build_add(struct desk_store *st, struct rec_build *r, struct desk_buf *out)
{
	struct out_from f = { jv_invalid(), jv_invalid(), 1, { { 0 } }, { { 0 } } };

	desk_buf_addc(&r->b, '}');
	/* A key put twice has one place in the value: it is printed again. */
	if (jv_object_length(jv_copy(r->o)) != r->n || !r->subs) {
		desk_log_add(st, r->o);
		if (out)
			desk_message_out_dump(out, r->o, 0);
	} else {
		desk_log_add_printed(st, r->o, r->b.p, r->b.len);
		if (out) {
			spans(r, r->at, NTOP, f.top);
			spans(r, r->sub, NTO, f.sub);
			out_dump(out, &f, 0);
		}
	}
	desk_buf_free(&r->b);
	return r->o;
}

/* What a reply reads of its case, not the whole record: values, owned. */
enum { K_USER, K_CHANNEL, K_STATUS, K_ASSIGNEE, K_EXTERNAL, K_N };
struct case_in {
	jv v[K_N];
};

static int
case_read(struct desk_store *st, uint64_t id, struct case_in *c)
{
	static const char *const keys[K_N] = { "user_id", "channel", "status",
		"assignee", "external" };

	return desk_record_values(st, DESK_T_CASE, id, keys, K_N, c->v);
}

static void
case_free(struct case_in *c)
{
	for (int i = 0; i < K_N; i++)
		jv_free(c->v[i]);
}

static const char *
case_str(const struct case_in *c, int i)
{
	return jv_get_kind(c->v[i]) == JV_KIND_STRING ?
	    jv_string_value(c->v[i]) : NULL;
}

/*
 * The user_custom_id of the first of custom_ids (the user record's bytes
 * at ids) on channel ch, as a parse of custom_ids would find it: in *ucid
 * (null: none), or -1 when the bytes are not as desk prints them (then
 * parse them). The channel and user_custom_id of each are parsed, so a
 * damaged one is not passed over.
 */
static int
ucid_scan(struct desk_jspan ids, const char *ch, jv *ucid)
{
	static const char *const keys[] = { "channel", "user_custom_id" };
	struct desk_jspan el[16], v[2];

	*ucid = jv_null();
	if (!ids.p)
		return 0;
	if (*ids.p != '[') {           /* not an array: none (if it is sound) */
		jv x = desk_json_span_parse(ids);
		int ok = jv_is_valid(x);
		jv_free(x);
		return ok ? 0 : -1;
	}
	int n = desk_json_elements(ids.p, ids.n, el, 16);
	for (int i = 0; i < n; i++) {
		if (*el[i].p != '{') {      /* desk_jstr of it: no channel */
			jv x = desk_json_span_parse(el[i]);
			int ok = jv_is_valid(x);
			jv_free(x);
			if (!ok)
				goto unsure;
			continue;
		}
		if (desk_json_members(el[i].p, el[i].n, keys, 2, v) < 0)
			goto unsure;
		jv c = v[0].p ? desk_json_span_parse(v[0]) : jv_null();
		jv u = v[1].p ? desk_json_span_parse(v[1]) : jv_null();
		if (!jv_is_valid(c) || !jv_is_valid(u)) {
			jv_free(c);
			jv_free(u);
			goto unsure;
		}
		if (jv_get_kind(*ucid) == JV_KIND_NULL && ch &&
		    jv_get_kind(c) == JV_KIND_STRING && !strcmp(jv_string_value(c), ch)) {
			/* None there: invalid, as desk_jget says; no more match. */
			*ucid = v[1].p ? u : jv_invalid();
		} else
			jv_free(u);
		jv_free(c);
	}
	if (n >= 0)
		return 0;
unsure:
	jv_free(*ucid);
	*ucid = jv_null();
	return -1;
}

/* The user's key on channel ch: as ucid_scan, from the record's bytes. */
static jv
user_ucid(struct desk_store *st, uint64_t uid, const char *ch)
{
	static const char *const ukeys[] = { "custom_ids" };
	struct desk_jspan v[2];
	struct desk_buf b = DESK_BUF_INIT;
	jv ucid = jv_null();
	int r = desk_record_spans(st, DESK_T_USER, uid, ukeys, 1, v, &b);

	if (r >= 0 && (r == 0 || ucid_scan(v[1], ch, &ucid) == 0)) {
		desk_buf_free(&b);
		return ucid;
	}
	desk_buf_free(&b);
	/* Not as desk prints it: parsed, and the whole record read if damaged. */
	jv u = desk_record_members(st, DESK_T_USER, uid, ukeys, 1);
	jv ids = desk_jget(u, "custom_ids");
	if (jv_get_kind(ids) == JV_KIND_ARRAY)
		jv_array_foreach(ids, i, p) {
			const char *pc = desk_jstr(p, "channel");
			if (jv_get_kind(ucid) == JV_KIND_NULL && pc && ch && !strcmp(pc, ch))
				ucid = jv_copy(desk_jget(p, "user_custom_id"));
			jv_free(p);
		}
	jv_free(u);
	return ucid;
}

/* The recipient: the case's user, their key on the case's channel, the
 * connector and the conversation's ids outside; built in to (to_keys). */
static void
recipient(struct desk_store *st, const struct case_in *kase, jv channel,
    struct rec_build *to)
{
	int64_t uid = 0;

	build_empty(to);
	desk_jint_of(kase->v[K_USER], &uid);
	build_put(to, "user_id", F_USER, jv_number((double)uid));
	build_put(to, "user_custom_id", F_UCID, user_ucid(st, (uint64_t)uid,
	    case_str(kase, K_CHANNEL)));
	const char *conn = desk_jstr(channel, "connector");
	build_put(to, "connector", F_CONNECTOR, conn ? jv_string(conn) : jv_null());
	jv ext = kase->v[K_EXTERNAL];
	build_put(to, "external", F_EXTERNAL, jv_get_kind(ext) == JV_KIND_OBJECT ?
	    jv_copy(ext) : jv_object());
}

/* The reply's record; its message.out to print too when print is given. */
static jv
reply_add_unchecked(struct desk_store *st, jv r, int64_t now, int *duplicate,
    struct desk_buf *print, struct desk_err *e)
{
	struct desk_buf key = DESK_BUF_INIT;
	struct reply_in in;
	int64_t cid;

	reply_read(&in, r);
	if (check_err(&in, e) < 0)
		return jv_invalid();
	const char *via = in_str(&in, R_VIA);
	if (!via)
		via = "agent";
	desk_store_lock(st);
	desk_jint_of(in.v[R_CASE], &cid);
	int keyed = reply_key(&in, &key);
	if (keyed) {
		jv seen = desk_event_seen(st, "reply", NULL, key.p, key.len, 0);
		if (jv_is_valid(seen)) {
			desk_buf_free(&key);
			*duplicate = 1;
			if (print)
				desk_message_out_dump(print, seen, 1);
			return seen;
		}
	}
	uint64_t id = desk_case_survivor(st, (uint64_t)cid);
	struct case_in kase;
	jv ch = jv_invalid(), assignee = jv_invalid();
	jv out = jv_invalid();
	if (!case_read(st, id, &kase)) {
		desk_err_set(e, DESK_EX_NO, "case_id", "no case %lld", (long long)cid);
		goto done;
	}
	const char *chname = case_str(&kase, K_CHANNEL) ? case_str(&kase, K_CHANNEL) : "";
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
	const char *status = case_str(&kase, K_STATUS);
	int closed = status && !strcmp(status, "closed");
	int reopen = jv_get_kind(in.v[R_REOPEN]) == JV_KIND_TRUE;
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
	jv staff = in.v[R_STAFF];
	int assign = !strcmp(via, "agent") && jv_is_valid(staff) &&
	    jv_get_kind(kase.v[K_ASSIGNEE]) == JV_KIND_NULL;
	if (closed || assign) {
		/* The whole record to save; kase has only what a reply reads. */
		jv k2 = desk_case_record(st, id);
		if (!jv_is_valid(k2)) {
			/* The store's failure, when it failed, is said instead. */
			desk_err_set(e, DESK_EX_NO, "case_id", "no case %llu",
			    (unsigned long long)id);
			goto done;
		}
		if (closed)
			k2 = desk_jset_str(k2, "status", "open");
		if (assign) {
			assignee = jv_get_kind(staff) == JV_KIND_STRING ?
			    jv_copy(staff) : jv_string_fmt("%lld",
			    (long long)jv_number_value(staff));
			k2 = desk_jset(k2, "assignee", jv_copy(assignee));
		}
		desk_case_save(st, k2, NULL, now);
		/*
		 * Before the reply, so the platform sees its agent first; only
		 * where it is mirrored, or the case would be read again for
		 * nothing.
		 */
		if (assign && desk_case_mirrored(conn, "assign"))
			desk_case_command(st, id, "assign", assignee, now);
	}
	/* Built once, in the record's order; message.out is made from it. */
	struct rec_build m;
	build_start(&m, desk_message_new(st, id));
	build_put(&m, "user_id", -1, jv_number(0));
	build_put(&m, "staff_id", F_STAFF, jv_is_valid(staff) ? jv_copy(staff) : jv_number(0));
	build_put(&m, "channel", F_CHANNEL, jv_string(chname));
	build_put(&m, "content", F_CONTENT, jv_copy(in.v[R_CONTENT]));
	jv att = in.v[R_ATT];
	if (jv_get_kind(att) == JV_KIND_ARRAY && jv_array_length(jv_copy(att)) > 0)
		build_put(&m, "attachments", F_ATT, jv_copy(att));
	build_put(&m, "sent_via_rule", F_BYRULE, jv_number(rule));
	build_put(&m, "b_from_api", F_API, jv_number(!strcmp(via, "api")));
	build_put(&m, "via", F_VIA, jv_string(via));
	if (rule)
		build_put(&m, "rule", F_RULE, jv_copy(in.v[R_RULE]));
	if (keyed) {
		build_put(&m, "event_id", -1, desk_jstring(key.p, key.len));
		build_put(&m, "event_scope", -1, jv_string("reply"));
	}
	uint64_t oid = desk_store_newid(st, DESK_OUT);
	build_put(&m, "out_id", F_OUT, jv_number((double)oid));
	struct rec_build to;
	recipient(st, &kase, ch, &to);
	build_put_built(&m, "to", F_TO, &to);
	/* As desk_message_put stamps a message. */
	build_put(&m, "created_at", F_CREATED, desk_jtime(now));
	out = build_add(st, &m, print);
done:
	case_free(&kase);
	jv_free(assignee);
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
	    NULL, e), e);
}

int
desk_reply_print(struct desk_store *st, jv r, int64_t now, struct desk_buf *out,
    struct desk_err *e)
{
	size_t len = out->len;
	int dup = 0;
	jv m = desk_store_result(st, reply_add_unchecked(st, r, now, &dup, out,
	    e), e);

	if (!jv_is_valid(m)) {
		out->len = len;      /* nothing of a reply that failed */
		jv_free(m);
		return -1;
	}
	jv_free(m);
	return 0;
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
