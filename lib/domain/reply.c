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
 * it instead of a lookup each time one is needed; the same walk checks
 * the sizes of all its members (desk_err_sizes_gets).
 */
enum { R_CASE, R_VIA, R_CONTENT, R_ATT, R_STAFF, R_RULE, R_ID, R_SOURCE,
	R_REOPEN, R_N };
static const char *const reply_keys[R_N] = { "case_id", "via", "content",
	"attachments", "staff_id", "rule", "id", "source_id", "reopen" };
struct reply_in {
	jv r;           /* the event; the members below are its (borrowed) */
	jv v[R_N];
	int sizes;      /* -1: a member too long, in the error reply_read had */
};

static void
reply_read(struct reply_in *in, jv r, struct desk_err *e)
{
	in->r = r;
	in->sizes = desk_err_sizes_gets(r, reply_keys, R_N, in->v, e);
}

static const char *
in_str(const struct reply_in *in, int i)
{
	jv v = in->v[i];

	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
}

/* The checks of desk_reply_check but the sizes, NULL or the reason with *field. */
static const char *
check(const struct reply_in *in, const char **field)
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
	return NULL;
}

/* The checks, the sizes last: *e is reply_read's, which found them. */
static int
check_err(const struct reply_in *in, struct desk_err *e)
{
	const char *field, *why = check(in, &field);

	return why ? desk_err_why(e, DESK_EX_DATA, field, why) : in->sizes;
}

int
desk_reply_check(jv r, struct desk_err *e)
{
	struct reply_in in;

	reply_read(&in, r, e);
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
 * desk_json_dump of its value would print, and no value built: the log
 * takes the bytes as they are, and the schema's apply what the reply
 * knows of it (desk_apply_message). Where each member of message.out's
 * went is kept as it is printed, so that message.out is printed from
 * those bytes without a walk over them.
 */
struct rec_build {
	struct desk_buf b;      /* the print so far */
	int n, nto;             /* the members put, in the record and in "to" */
	/* Where values went: offset and length (0: none), by their index in
	 * top_keys; "to"'s members by their index in to_keys. */
	size_t at[NTOP][2], sub[NTO][2];
};

static void
build_begin(struct rec_build *r)
{
	r->b = (struct desk_buf)DESK_BUF_INIT;
	desk_buf_addc(&r->b, '{');
	memset(r->at, 0, sizeof r->at);
	memset(r->sub, 0, sizeof r->sub);
	r->n = r->nto = 0;
}

/* Prints key's part (one of ours: nothing to escape), ready for its value. */
static void
build_key(struct rec_build *r, int *n, const char *key)
{
	size_t kn = strlen(key);

	desk_buf_reserve(&r->b, kn + 4);
	char *q = r->b.p + r->b.len;
	if ((*n)++)
		*q++ = ',';
	*q++ = '"';
	memcpy(q, key, kn);
	q += kn;
	*q++ = '"';
	*q++ = ':';
	r->b.len = (size_t)(q - r->b.p);
}

/* Where key's value, printed from off on, went (mark: its index in at). */
static void
build_mark(struct rec_build *r, size_t (*at)[2], int mark, size_t off)
{
	if (mark >= 0) {
		at[mark][0] = off;
		at[mark][1] = r->b.len - off;
	}
}

/* Adds key (not put before): v, borrowed; mark as for build_mark. */
static void
build_put(struct rec_build *r, const char *key, int mark, jv v)
{
	build_key(r, &r->n, key);
	size_t off = r->b.len;
	desk_json_dump(&r->b, v);
	build_mark(r, r->at, mark, off);
}

static void
build_int(struct rec_build *r, const char *key, int mark, int64_t v)
{
	build_put(r, key, mark, jv_number((double)v));
}

static void
build_str(struct rec_build *r, const char *key, int mark, const char *s,
    size_t n)
{
	build_key(r, &r->n, key);
	size_t off = r->b.len;
	desk_json_dump_str(&r->b, s, n);
	build_mark(r, r->at, mark, off);
}

/* In the object "to" (build_to_begin .. _end): key: v, borrowed. */
static void
build_to_put(struct rec_build *r, int mark, jv v)
{
	build_key(r, &r->nto, to_keys[mark]);
	size_t off = r->b.len;
	desk_json_dump(&r->b, v);
	build_mark(r, r->sub, mark, off);
}

static size_t
build_to_begin(struct rec_build *r)
{
	build_key(r, &r->n, "to");
	desk_buf_addc(&r->b, '{');
	return r->b.len - 1;
}

static void
build_to_end(struct rec_build *r, size_t off)
{
	desk_buf_addc(&r->b, '}');
	build_mark(r, r->at, F_TO, off);
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
 * Appends the record, applied from f, to the log and its message.out to
 * out; frees what r holds.
 */
static void
build_add(struct desk_store *st, struct rec_build *r,
    struct desk_message_fields *f, struct desk_buf *out)
{
	struct out_from of = { jv_invalid(), jv_invalid(), 1, { { 0 } }, { { 0 } } };

	desk_buf_addc(&r->b, '}');
	desk_log_add_bytes(st, "message", r->b.p, r->b.len, desk_apply_message, f);
	spans(r, r->at, NTOP, of.top);
	spans(r, r->sub, NTO, of.sub);
	out_dump(out, &of, 0);
	desk_buf_free(&r->b);
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
 * connector and the conversation's ids outside: "to" (to_keys). */
static void
recipient(struct desk_store *st, const struct case_in *kase, jv channel,
    struct rec_build *r)
{
	int64_t uid = 0;

	desk_jint_of(kase->v[K_USER], &uid);
	size_t off = build_to_begin(r);
	build_to_put(r, F_USER, jv_number((double)uid));
	jv ucid = user_ucid(st, (uint64_t)uid, case_str(kase, K_CHANNEL));
	build_to_put(r, F_UCID, ucid);
	jv_free(ucid);
	const char *conn = desk_jstr(channel, "connector");
	jv c = conn ? jv_string(conn) : jv_null();
	build_to_put(r, F_CONNECTOR, c);
	jv_free(c);
	jv ext = kase->v[K_EXTERNAL];
	if (jv_get_kind(ext) == JV_KIND_OBJECT)
		build_to_put(r, F_EXTERNAL, ext);
	else {
		jv none = jv_object();
		build_to_put(r, F_EXTERNAL, none);
		jv_free(none);
	}
	build_to_end(r, off);
}

/*
 * The reply's message record, of case id on channel chname, added; its
 * message.out printed to out.
 */
static void
reply_message(struct desk_store *st, const struct reply_in *in, uint64_t id,
    const struct case_in *kase, const char *chname, jv ch,
    const struct desk_buf *key, int64_t now, struct desk_buf *out)
{
	const char *via = in_str(in, R_VIA) ? in_str(in, R_VIA) : "agent";
	int rule = !strcmp(via, "rule");
	struct rec_build m;
	jv staff = in->v[R_STAFF], att = in->v[R_ATT];

	/* Printed once, in the record's order; message.out is made from it. */
	uint64_t mid = desk_store_newid(st, DESK_MESSAGE);
	build_begin(&m);
	build_str(&m, "rec", -1, "message", 7);
	build_int(&m, "message_id", F_MESSAGE, (int64_t)mid);
	build_int(&m, "case_id", F_CASE, (int64_t)id);
	build_int(&m, "user_id", -1, 0);
	if (jv_is_valid(staff))
		build_put(&m, "staff_id", F_STAFF, staff);
	else
		build_int(&m, "staff_id", F_STAFF, 0);
	build_str(&m, "channel", F_CHANNEL, chname, strlen(chname));
	build_put(&m, "content", F_CONTENT, in->v[R_CONTENT]);
	if (jv_get_kind(att) == JV_KIND_ARRAY && jv_array_length(jv_copy(att)) > 0)
		build_put(&m, "attachments", F_ATT, att);
	build_int(&m, "sent_via_rule", F_BYRULE, rule);
	build_int(&m, "b_from_api", F_API, !strcmp(via, "api"));
	build_str(&m, "via", F_VIA, via, strlen(via));
	if (rule)
		build_put(&m, "rule", F_RULE, in->v[R_RULE]);
	if (key->len) {
		build_str(&m, "event_id", -1, key->p, key->len);
		build_str(&m, "event_scope", -1, "reply", 5);
	}
	uint64_t oid = desk_store_newid(st, DESK_OUT);
	build_int(&m, "out_id", F_OUT, (int64_t)oid);
	recipient(st, kase, ch, &m);
	/* As desk_message_put stamps a message. */
	const char *when = desk_time_text(now);
	build_str(&m, "created_at", F_CREATED, when, strlen(when));
	/* What apply_message would read of the record. */
	struct desk_message_fields f = { .message_id = mid, .case_id = id,
		.out_id = oid, .user_id = 0, .created_at = now, .channel = chname,
		.event_scope = key->len ? "reply" : NULL,
		.event_id = key->len ? key->p : NULL, .event_idlen = key->len };
	build_add(st, &m, &f, out);
}

/* The reply added, its message.out printed to out: 0, or -1 with *e. */
static int
reply_add_unchecked(struct desk_store *st, jv r, int64_t now,
    struct desk_buf *out, struct desk_err *e)
{
	struct desk_buf key = DESK_BUF_INIT;
	struct reply_in in;
	int64_t cid;

	reply_read(&in, r, e);
	if (check_err(&in, e) < 0)
		return -1;
	const char *via = in_str(&in, R_VIA);
	if (!via)
		via = "agent";
	desk_store_lock(st);
	desk_jint_of(in.v[R_CASE], &cid);
	if (reply_key(&in, &key)) {
		jv seen = desk_event_seen(st, "reply", NULL, key.p, key.len, 0);
		if (jv_is_valid(seen)) {
			desk_buf_free(&key);
			desk_message_out_dump(out, seen, 1);
			jv_free(seen);
			return 0;
		}
	}
	uint64_t id = desk_case_survivor(st, (uint64_t)cid);
	struct case_in kase;
	jv ch = jv_invalid(), assignee = jv_invalid();
	int rc = -1;
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
	if (!strcmp(via, "rule") && over_limit(st, id, now, e->msg, sizeof e->msg)) {
		e->code = DESK_EX_DATA;
		e->field = "rule";
		goto done;
	}

	/* The case first, the message last: the message is the commit point. */
	jv staff = in.v[R_STAFF];
	int assign = !strcmp(via, "agent") && jv_is_valid(staff) &&
	    jv_get_kind(kase.v[K_ASSIGNEE]) == JV_KIND_NULL;
	if (closed || assign) {
		const char *keys[2];
		jv vals[2];
		size_t n = 0;
		if (closed) {
			keys[n] = "status";
			vals[n++] = jv_string("open");
		}
		if (assign) {
			assignee = jv_get_kind(staff) == JV_KIND_STRING ?
			    jv_copy(staff) : jv_string_fmt("%lld",
			    (long long)jv_number_value(staff));
			keys[n] = "assignee";
			vals[n++] = jv_copy(assignee);
		}
		int saved = desk_case_save_set(st, id, keys, vals, n, now);
		while (n)
			jv_free(vals[--n]);
		if (saved < 0) {
			/* The store's failure, when it failed, is said instead. */
			desk_err_set(e, DESK_EX_NO, "case_id", "no case %llu",
			    (unsigned long long)id);
			goto done;
		}
		/*
		 * Before the reply, so the platform sees its agent first; only
		 * where it is mirrored, or the case would be read again for
		 * nothing.
		 */
		if (assign && desk_case_mirrored(conn, "assign"))
			desk_case_command(st, id, "assign", assignee, now);
	}
	reply_message(st, &in, id, &kase, chname, ch, &key, now, out);
	rc = 0;
done:
	case_free(&kase);
	jv_free(assignee);
	jv_free(ch);
	desk_buf_free(&key);
	return rc;
}

int
desk_reply_print(struct desk_store *st, jv r, int64_t now, struct desk_buf *out,
    struct desk_err *e)
{
	size_t len = out->len;
	int rc = reply_add_unchecked(st, r, now, out, e);

	/* The store's failure, when it failed, is said instead. */
	if (desk_store_err(st, e) < 0 || rc < 0) {
		out->len = len;      /* nothing of a reply that failed */
		return -1;
	}
	return 0;
}

/* message.out as printed, read back: the same value, without a second build. */
jv
desk_reply_add(struct desk_store *st, jv r, int64_t now, struct desk_err *e)
{
	struct desk_buf b = DESK_BUF_INIT;
	jv o = desk_reply_print(st, r, now, &b, e) < 0 ? jv_invalid() :
	    desk_json_parse_all(b.p, b.len);

	desk_buf_free(&b);
	return o;
}
