/*
 * eval.c: the rules over one message event: each condition evaluated over
 * the event, the case and the user as the store has them, each matching
 * rule's actions applied through the domain's verbs (desk_case_set,
 * desk_user_update_event, desk_rotation_turn) and its replies handed back
 * as reply events for desk-reply. An action that would change nothing is
 * left out and writes nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rules/rules.h"
#include "rules/internal.h"

/* ---- what a condition looks at ---- */

/*
 * The case's and the user's records are read when a condition, an action
 * or a template first needs them, not for every event: many rules ask only
 * of the event or of what the slots hold (status, case.updated_at,
 * user.identified), and a record costs a read and a parse. Each is read at
 * most once per event, and again only after an action changed it, so when
 * it is read changes no result (and nothing --explain prints).
 */
/* *rec, read by get the first time; none is its kind when there is none. */
static jv
lazy(struct desk_route *x, int *have, jv *rec, jv (*get)(struct desk_store *,
    uint64_t), uint64_t id, jv_kind none)
{
	if (!*have) {
		*rec = get(x->st, id);
		if (!jv_is_valid(*rec))
			*rec = none == JV_KIND_OBJECT ? jv_object() : jv_null();
		*have = 1;
	}
	return *rec;
}

jv
desk_route_case(struct desk_route *x)
{
	return lazy(x, &x->have_case, &x->kase, desk_case_record, x->cid,
	    JV_KIND_NULL);
}

/*
 * Dressed only when jq asks: desk_case_get's changes copy
 * the record the store's cache shares, and no condition needs them.
 */
jv
desk_route_case_full(struct desk_route *x)
{
	struct desk_case_slot c;
	jv k = desk_route_case(x);

	if (!x->have_full) {
		x->full = jv_get_kind(k) == JV_KIND_OBJECT &&
		    desk_case_slot(x->st, x->cid, &c) ?
		    desk_case_dress(jv_copy(k), &c) : jv_copy(k);
		x->have_full = 1;
	}
	return x->full;
}

/* The case's records are read again when next asked. */
static void
case_drop(struct desk_route *x)
{
	if (x->have_case)
		jv_free(x->kase);
	if (x->have_full)
		jv_free(x->full);
	x->have_case = x->have_full = 0;
}

jv
desk_route_user(struct desk_route *x)
{
	return lazy(x, &x->have_user, &x->user, desk_user_get, x->uid, JV_KIND_OBJECT);
}

/* The case or the user changed: their records and slots are read again. */
static void
case_reread(struct desk_route *x)
{
	case_drop(x);
	desk_case_slot(x->st, x->cid, &x->cs);
	desk_route_forget(x);
}

static void
user_reread(struct desk_route *x)
{
	if (x->have_user)
		jv_free(x->user);
	x->have_user = 0;
	x->have_us = desk_user_slot(x->st, x->uid, &x->us);
	desk_route_forget(x);
}

/* s without the white space around it, in *n. */
static const char *
trimmed(const char *s, size_t *n)
{
	size_t len = strlen(s);

	while (len && strchr(" \t\r\n", *s)) {
		s++;
		len--;
	}
	while (len && strchr(" \t\r\n", s[len - 1]))
		len--;
	*n = len;
	return s;
}

/* o's member a (borrowed), null when o has none. */
static jv
at(jv o, const char *a)
{
	jv v = desk_jget(o, a);

	return jv_is_valid(v) ? v : jv_null();
}

/* user.name, user.email (the first), ...: owned. */
static jv
user_attr(struct desk_route *x, const char *name)
{
	if (!strcmp(name, "email") || !strcmp(name, "phone")) {
		jv list = desk_jget(desk_route_user(x), !strcmp(name, "email") ?
		    "emails" : "phones");
		if (jv_get_kind(list) == JV_KIND_ARRAY && jv_array_length(jv_copy(list)))
			return jv_array_get(jv_copy(list), 0);
		return jv_null();
	}
	return jv_copy(at(desk_route_user(x), name));
}

static jv
connector(struct desk_route *x)
{
	const char *ch = desk_jstr(desk_route_case(x), "channel");

	if (!ch)
		return jv_null();
	if (!x->conn_name || strcmp(x->conn_name, ch)) {
		jv c = desk_channel_get(x->st, ch);
		free(x->conn_name);
		free(x->conn);
		x->conn_name = desk_xstrdup(ch);
		x->conn = desk_jstr(c, "connector") ? desk_xstrdup(desk_jstr(c,
		    "connector")) : NULL;
		jv_free(c);
	}
	return x->conn ? jv_string(x->conn) : jv_null();
}

/* The value subject s (field name) has now: owned, null when none. */
static jv
subject_read(struct desk_route *x, enum desk_subject s, const char *name)
{
	switch (s) {
	case DESK_S_USER_IDENTIFIED: {
		/* As desk-identify said for this message, which may be behind the store. */
		jv v = desk_jget(x->ev, "user_identified");
		if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
			return jv_copy(v);
		return jv_bool(x->have_us && x->us.identified);
	}
	case DESK_S_USER_CREATED: return jv_copy(at(desk_route_user(x), "created_at"));
	case DESK_S_USER_ATTR: return user_attr(x, name);
	case DESK_S_USER_FIELD:
		return jv_copy(at(desk_jget(desk_route_user(x), "fields"), name));
	case DESK_S_CASE_FIELD:
		return jv_copy(at(desk_jget(desk_route_case(x), "fields"), name));
	case DESK_S_CODE: return jv_copy(at(x->ev, "identification"));
	case DESK_S_CHANNEL: return jv_copy(at(desk_route_case(x), "channel"));
	case DESK_S_CONNECTOR: return connector(x);
	case DESK_S_STATUS: return jv_string(desk_status_name(x->cs.status));
	case DESK_S_ASSIGNEE: return jv_copy(at(desk_route_case(x), "assignee"));
	case DESK_S_TEAM: return jv_copy(at(desk_route_case(x), "team"));
	case DESK_S_LABEL: return jv_copy(at(desk_route_case(x), "labels"));
	case DESK_S_TEXT: return jv_copy(at(x->ev, "content"));
	case DESK_S_TRIGGER: return jv_copy(at(x->ev, "trigger"));
	case DESK_S_CASE_CREATED: return jv_copy(at(desk_route_case(x), "created_at"));
	case DESK_S_CASE_UPDATED:   /* the slot's: desk_cond_eval */
	case DESK_S_CLOCK:
	case DESK_S_JQ:
		break;
	}
	return jv_null();
}

/*
 * What condition c looks at: read once per event and kept
 * until an action changes the case or the user, so that 50 rules asking
 * of the channel read it once. A value belongs to the epoch it was read
 * in; desk_route_forget starts a new one.
 */
static const struct desk_val *
subject_value(struct desk_route *x, const struct desk_cond *c)
{
	struct desk_val *v = &x->val[c->slot];

	if (v->epoch != x->epoch) {
		if (v->epoch)
			jv_free(v->v);
		v->v = subject_read(x, c->subj, c->name);
		v->epoch = x->epoch;
		v->kind = jv_get_kind(v->v);
		if (v->kind == JV_KIND_STRING) {
			v->s = jv_string_value(v->v);
			/* A message's text is compared without the space around it. */
			if (c->subj == DESK_S_TEXT)
				v->t = trimmed(v->s, &v->tn);
			else {
				v->t = v->s;
				v->tn = strlen(v->s);
			}
		}
	}
	return v;
}

void
desk_route_forget(struct desk_route *x)
{
	x->epoch++;
}

/* The key of the changed set: what desk-rules(5) calls the field. */
static void
changed_key(const struct desk_cond *c, char *k, size_t n)
{
	const char *pre = c->subj == DESK_S_USER_FIELD ? "user.fields." :
	    c->subj == DESK_S_CASE_FIELD ? "case.fields." :
	    c->subj == DESK_S_USER_ATTR ? "user." : "";

	snprintf(k, n, "%s%s", pre, c->name);
}

void
desk_route_changed(struct desk_route *x, const char *key)
{
	x->changed = desk_jset(x->changed, key, jv_true());
}

/* ---- operators ---- */

/* Whether the subject's value (with its string trimmed for text) is w. */
static int
same(const struct desk_cond *c, const struct desk_val *v, const struct desk_lit *w)
{
	if (v->kind == JV_KIND_STRING && w->kind == JV_KIND_STRING)
		return v->tn == w->n && (c->icase ? !strncasecmp(v->t, w->s, w->n) :
		    !memcmp(v->t, w->s, w->n));
	if (v->kind == JV_KIND_NUMBER && w->kind == JV_KIND_NUMBER)
		return jv_equal(jv_copy(v->v), jv_copy(w->v));
	/* Of different kinds, or true, false, null: equal when the same kind. */
	return v->kind == w->kind && v->kind != JV_KIND_STRING &&
	    v->kind != JV_KIND_NUMBER;
}

static int
any_same(const struct desk_cond *c, const struct desk_val *v)
{
	for (size_t i = 0; i < c->nlits; i++)
		if (same(c, v, &c->lits[i]))
			return 1;
	return 0;
}

static int
empty(const struct desk_val *v)
{
	switch (v->kind) {
	case JV_KIND_NULL:
	case JV_KIND_INVALID:
		return 1;
	case JV_KIND_STRING: {
		size_t n;
		trimmed(v->s, &n);
		return n == 0;
	}
	case JV_KIND_ARRAY:
		return !jv_array_length(jv_copy(v->v));
	case JV_KIND_OBJECT:
		return !jv_object_length(jv_copy(v->v));
	default:
		return 0;
	}
}

/*
 * strcasestr as the C locale has it (desk-route's), but faster: glibc's
 * prepares the needle for every call, ~800 instructions for a short text;
 * this one lets strpbrk find each place the needle's first byte, in either
 * case, could start.
 */
static const char *
find(const char *hay, const char *needle, size_t n, int icase)
{
	char first[3] = { needle[0], 0, 0 };

	if (!icase)
		return strstr(hay, needle);
	first[0] = (char)tolower((unsigned char)needle[0]);
	first[1] = (char)toupper((unsigned char)needle[0]);
	for (const char *p = hay; (p = strpbrk(p, first)); p++)
		if (!strncasecmp(p, needle, n))
			return p;
	return NULL;
}

static int
text_op(const struct desk_cond *c, const struct desk_val *v)
{
	if (v->kind != JV_KIND_STRING)
		return 0;
	const char *s = v->t, *w = c->lits[0].s;
	size_t n = v->tn, m = c->lits[0].n;

	switch (c->op) {
	case DESK_O_CONTAINS: return find(v->s, w, m, c->icase) != NULL;
	case DESK_O_STARTS:
		return n >= m && (c->icase ? !strncasecmp(s, w, m) : !memcmp(s, w, m));
	case DESK_O_ENDS:
		return n >= m && (c->icase ? !strncasecmp(s + n - m, w, m) :
		    !memcmp(s + n - m, w, m));
	case DESK_O_MATCHES:
		if (c->re_prefix && (c->icase ? strncasecmp : strncmp)(v->s,
		    c->re_prefix, c->re_plen))
			return 0;
		return regexec(&c->re, v->s, 0, NULL, 0) == 0;
	default: return 0;
	}
}

static int
has_label(jv labels, const char *l)
{
	int hit = 0;

	if (jv_get_kind(labels) != JV_KIND_ARRAY)
		return 0;
	jv_array_foreach(labels, i, a) {
		hit |= jv_get_kind(a) == JV_KIND_STRING && !strcmp(jv_string_value(a), l);
		jv_free(a);
	}
	return hit;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
desk_hours_within(const struct desk_hours *h, int64_t now)
{
	struct tm tm;
	time_t t = (time_t)now;

	/* The system's zoneinfo through TZ: tzset reloads only when it changes. */
	setenv("TZ", h->tz, 1);
	tzset();
	if (!localtime_r(&t, &tm))
		return 0;
	int64_t day = days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	for (size_t i = 0; i < h->nholidays; i++)
		if (h->holidays[i] == day)
			return 0;
	if (!(h->days & (1 << tm.tm_wday)))
		return 0;
	int m = tm.tm_hour * 60 + tm.tm_min;
	if (h->from == h->to)
		return 1;
	return h->from < h->to ? m >= h->from && m < h->to : m >= h->from || m < h->to;
}

/*
 * Whether the case slot's chan (desk_hash32 of the channel its record has)
 * says the channel is none of c's strings without reading the record: a
 * string equal to one hashes the same, so a different hash is exact; the
 * same hash may be a collision, and the record decides. 0 (a slot from
 * before chan was kept) says nothing.
 */
static int
chan_denies(const struct desk_route *x, const struct desk_cond *c)
{
	if (!x->cs.chan)
		return 0;
	for (size_t i = 0; i < c->nlits; i++)
		if (c->lits[i].h == x->cs.chan)
			return 0;
	return 1;
}

int
desk_cond_eval(struct desk_route *x, const struct desk_cond *c)
{
	char key[DESK_MAX_NAME + 16];
	int64_t t;
	int r = 0;

	if (c->op == DESK_O_JQ)
		return desk_rules_jq(x, c->jq);
	if (c->op == DESK_O_WITHIN || c->op == DESK_O_OUTSIDE)
		return desk_hours_within(&x->r->hours[c->hours], x->now) ==
		    (c->op == DESK_O_WITHIN);
	if (c->op == DESK_O_CHANGED) {
		changed_key(c, key, sizeof key);
		return desk_jhas(x->changed, key) == (jv_get_kind(c->val) == JV_KIND_TRUE);
	}
	if (c->by_chan && chan_denies(x, c))
		return c->op == DESK_O_IS_NOT || c->op == DESK_O_NONE_OF;
	const struct desk_val *v = subject_value(x, c);
	switch (c->op) {
	case DESK_O_IS: r = same(c, v, &c->lits[0]); break;
	case DESK_O_IS_NOT: r = !same(c, v, &c->lits[0]); break;
	case DESK_O_ANY_OF: r = any_same(c, v); break;
	case DESK_O_NONE_OF: r = !any_same(c, v); break;
	case DESK_O_EMPTY: r = empty(v) == (jv_get_kind(c->val) == JV_KIND_TRUE); break;
	case DESK_O_HAS:
	case DESK_O_HAS_NOT:
		r = has_label(v->v, c->lits[0].s) == (c->op == DESK_O_HAS);
		break;
	case DESK_O_BEFORE:
	case DESK_O_AFTER:
		/* case.updated_at is the slot's, as desk_case_get gives it too. */
		if (c->subj == DESK_S_CASE_UPDATED ? (t = x->cs.updated_at, 1) :
		    v->kind == JV_KIND_STRING && desk_time_parse(v->s, &t)) {
			int64_t when = c->rel ? x->now - c->t : c->t;
			r = c->op == DESK_O_BEFORE ? t < when : t > when;
		}
		break;
	default: r = text_op(c, v);
	}
	return r;
}

/* ---- rules ---- */

/* Whether rule matches; with explain, every condition's result in *why. */
int
desk_rule_matches(struct desk_route *x, const struct desk_rule *u, jv *why)
{
	int all = 1, any = u->nany == 0;
	jv a = why ? jv_array() : jv_invalid(), b = why ? jv_array() : jv_invalid();

	for (size_t i = 0; i < u->nall && (all || why); i++) {
		int r = desk_cond_eval(x, &u->all[i]);
		all &= r;
		if (why)
			a = jv_array_append(a, desk_jset(desk_jset_str(jv_object(), "if",
			    u->all[i].text), "result", jv_bool(r)));
	}
	for (size_t i = 0; i < u->nany && ((all && !any) || why); i++) {
		int r = desk_cond_eval(x, &u->any[i]);
		any |= r;
		if (why)
			b = jv_array_append(b, desk_jset(desk_jset_str(jv_object(), "if",
			    u->any[i].text), "result", jv_bool(r)));
	}
	if (why) {
		*why = desk_jset(desk_jset(jv_object(), "all", a), "any", b);
		*why = desk_jset(*why, "matched", jv_bool(all && any));
	} else {
		jv_free(a);
		jv_free(b);
	}
	return all && any;
}

static const struct desk_team *
team_of(const struct desk_rules *r, const char *name)
{
	for (size_t i = 0; i < r->nteams; i++)
		if (!strcmp(r->teams[i].name, name))
			return &r->teams[i];
	return NULL;
}

static int
is_member(const struct desk_team *t, const char *a)
{
	for (size_t i = 0; a && i < t->n; i++)
		if (!strcmp(t->members[i], a))
			return 1;
	return 0;
}

/* A reply's text: the template with its {{fields}} filled in. */
static jv
fill(struct desk_route *x, const char *t)
{
	struct desk_buf b = DESK_BUF_INIT;
	const char *a, *e;

	for (; (a = strstr(t, "{{")) && (e = strstr(a, "}}")); t = e + 2) {
		desk_buf_add(&b, t, (size_t)(a - t));
		char f[DESK_MAX_NAME + 16];
		snprintf(f, sizeof f, "%.*s", (int)(e - a - 2), a + 2);
		jv v = !strncmp(f, "user.fields.", 12) ?
		    subject_read(x, DESK_S_USER_FIELD, f + 12) :
		    !strncmp(f, "case.fields.", 12) ?
		    subject_read(x, DESK_S_CASE_FIELD, f + 12) :
		    !strncmp(f, "user.", 5) ? user_attr(x, f + 5) :
		    jv_copy(at(desk_route_case(x), !strcmp(f, "case.id") ? "case_id" :
		    !strncmp(f, "case.", 5) ? f + 5 : "channel"));
		if (jv_get_kind(v) == JV_KIND_STRING)
			desk_buf_adds(&b, jv_string_value(v));
		else if (jv_get_kind(v) != JV_KIND_NULL)
			desk_json_dump(&b, v);
		jv_free(v);
	}
	desk_buf_adds(&b, t);
	jv s = desk_jstring(b.p ? b.p : "", b.len);
	desk_buf_free(&b);
	return s;
}

static int
case_change(struct desk_route *x, jv changes, jv fields, struct desk_err *e)
{
	int r = 0;

	if (x->mode == DESK_ROUTE_APPLY) {
		r = desk_case_set(x->st, x->cid, changes, fields, x->now, e);
		if (r == 0) {
			case_reread(x);
			x->wrote = 1;
		}
	}
	jv_free(changes);
	jv_free(fields);
	return r;
}

static int
user_change(struct desk_route *x, const char *field, jv v, struct desk_err *e)
{
	if (x->mode != DESK_ROUTE_APPLY) {
		jv_free(v);
		return 0;
	}
	jv ev = desk_jset_int(jv_object(), "user_id", (int64_t)x->uid);
	ev = desk_jset(ev, "fields", desk_jset(jv_object(), field, v));
	jv r = desk_user_update_event(x->st, ev, e);
	jv_free(ev);
	if (!jv_is_valid(r))
		return -1;
	jv_free(r);
	user_reread(x);
	x->wrote = 1;
	return 0;
}

static jv
labels_with(jv cur, const char *l, int add)
{
	jv out = jv_array();

	if (jv_get_kind(cur) == JV_KIND_ARRAY)
		jv_array_foreach(cur, i, a) {
			if (jv_get_kind(a) == JV_KIND_STRING && !strcmp(jv_string_value(a), l))
				jv_free(a);
			else
				out = jv_array_append(out, a);
		}
	return add ? jv_array_append(out, jv_string(l)) : out;
}

static jv
one(const char *key, jv v)
{
	return desk_jset(jv_object(), key, v);
}

/*
 * A time rule's reply, added at once through desk-reply's verb, so that a
 * rule can reply and then close (desk-reply refuses a closed case). Its
 * key is the rule, the case and the case's state, so a rerun adds nothing.
 */
static int
tick_reply(struct desk_route *x, const struct desk_rule *u, jv text, int nreply,
    jv *done)
{
	struct desk_case_slot c = { 0 };
	struct desk_err e;
	char src[80];

	desk_case_slot(x->st, x->cid, &c);
	snprintf(src, sizeof src, "tick:%llu:%llu.%d", (unsigned long long)x->cid,
	    (unsigned long long)c.activity, nreply + 1);
	jv r = desk_jset_int(jv_object(), "case_id", (int64_t)x->cid);
	r = desk_jset(r, "content", text);
	r = desk_jset_str(r, "via", "rule");
	r = desk_jset_str(r, "rule", u->name);
	r = desk_jset_str(r, "source_id", src);
	jv out = desk_reply_add(x->st, r, x->now, &e);
	jv_free(r);
	if (!jv_is_valid(out)) {
		/* One refused reply (a rate limit) does not stop the other cases. */
		jv last = jv_array_get(jv_copy(*done), jv_array_length(jv_copy(*done)) - 1);
		*done = jv_array_set(*done, jv_array_length(jv_copy(*done)) - 1,
		    desk_jset_str(last, "refused", e.msg));
		return 0;
	}
	x->replies = jv_array_append(x->replies, out);
	x->wrote = 1;
	case_reread(x);
	return 0;
}

/*
 * Applies (or with DRY only lists) action a of rule u; appends what it did
 * to *done. 1 to stop after this rule, 0 to go on, -1 with *e.
 */
static int
act(struct desk_route *x, const struct desk_rule *u, const struct desk_action *a,
    int nreply, jv *done, struct desk_err *e)
{
	const char *cur;
	char key[DESK_MAX_NAME + 16];

	switch (a->kind) {
	case DESK_A_REPLY: {
		jv text = fill(x, jv_string_value(a->val));
		*done = jv_array_append(*done, one("reply", jv_copy(text)));
		if (x->mode != DESK_ROUTE_APPLY) {
			jv_free(text);
			return 0;
		}
		if (x->tick)
			return tick_reply(x, u, text, nreply, done);
		/* desk-reply's key: the rule and the source event, one per reply. */
		char src[48];
		if (nreply)
			snprintf(src, sizeof src, "%llu.%d", (unsigned long long)x->mid,
			    nreply + 1);
		else
			snprintf(src, sizeof src, "%llu", (unsigned long long)x->mid);
		jv r = desk_jset_str(jv_object(), "type", "reply");
		r = desk_jset_int(r, "case_id", (int64_t)x->cid);
		r = desk_jset(r, "content", text);
		r = desk_jset_str(r, "via", "rule");
		r = desk_jset_str(r, "rule", u->name);
		r = desk_jset_str(r, "source_id", src);
		x->replies = jv_array_append(x->replies, r);
		return 0;
	}
	case DESK_A_STATUS:
		cur = desk_jstr(desk_route_case(x), "status");
		if (cur && !strcmp(cur, a->name))
			return 0;
		*done = jv_array_append(*done, one("status", jv_string(a->name)));
		desk_route_changed(x, "status");
		return case_change(x, one("status", jv_string(a->name)), jv_invalid(), e);
	case DESK_A_ASSIGN:
		cur = desk_jstr(desk_route_case(x), "assignee");
		if (a->name ? cur && !strcmp(cur, a->name) : !cur)
			return 0;
		*done = jv_array_append(*done, one("assign", a->name ?
		    jv_string(a->name) : jv_null()));
		desk_route_changed(x, "assignee");
		return case_change(x, one("assignee", a->name ? jv_string(a->name) :
		    jv_null()), jv_invalid(), e);
	case DESK_A_TEAM: {
		const struct desk_team *t = team_of(x->r, a->name);
		const char *as = desk_jstr(desk_route_case(x), "assignee");
		cur = desk_jstr(desk_route_case(x), "team");
		int same_team = cur && !strcmp(cur, a->name);
		if (same_team && (!t || is_member(t, as)))
			return 0;
		jv ch = one("team", jv_string(a->name));
		jv d = one("team", jv_string(a->name));
		if (t && !is_member(t, as)) {
			/* A dry run takes no turn: it cannot say whose it would be. */
			if (x->mode == DESK_ROUTE_APPLY) {
				uint64_t turn = desk_rotation_turn(x->st, a->name, x->now);
				const char *who = t->members[turn % t->n];
				ch = desk_jset_str(ch, "assignee", who);
				d = desk_jset_str(d, "assignee", who);
				x->wrote = 1;
			} else
				d = desk_jset_str(d, "assignee", "(round-robin)");
			desk_route_changed(x, "assignee");
		}
		*done = jv_array_append(*done, d);
		if (!same_team)
			desk_route_changed(x, "team");
		return case_change(x, ch, jv_invalid(), e);
	}
	case DESK_A_SET_USER:
	case DESK_A_SET_CASE: {
		int user = a->kind == DESK_A_SET_USER;
		jv v = at(desk_jget(user ? desk_route_user(x) : desk_route_case(x),
		    "fields"), a->name);
		int noop = jv_equal(jv_copy(v), jv_copy(a->val));
		if (noop)
			return 0;
		snprintf(key, sizeof key, "%s.fields.%s", user ? "user" : "case", a->name);
		*done = jv_array_append(*done, one("set", one(key, jv_copy(a->val))));
		desk_route_changed(x, key);
		if (user)
			return user_change(x, a->name, jv_copy(a->val), e);
		return case_change(x, jv_object(), one(a->name, jv_copy(a->val)), e);
	}
	case DESK_A_LABEL:
	case DESK_A_UNLABEL: {
		int add = a->kind == DESK_A_LABEL;
		if (has_label(desk_jget(desk_route_case(x), "labels"), a->name) == add)
			return 0;
		*done = jv_array_append(*done, one(add ? "label" : "unlabel",
		    jv_string(a->name)));
		desk_route_changed(x, "label");
		return case_change(x, one("labels", labels_with(desk_jget(desk_route_case(x),
		    "labels"), a->name, add)), jv_invalid(), e);
	}
	case DESK_A_STOP:
		*done = jv_array_append(*done, one("stop", jv_true()));
		return 1;
	}
	return 0;
}

/* Runs rule u's actions; 1 to stop here, 0 to go on, -1 with *e. */
int
desk_rule_apply(struct desk_route *x, const struct desk_rule *u, struct desk_err *e)
{
	jv done = jv_array();
	int stop = u->stop, nreply = 0;

	for (size_t i = 0; i < u->nact; i++) {
		int r = act(x, u, &u->act[i], nreply, &done, e);
		if (r < 0) {
			jv_free(done);
			return -1;
		}
		nreply += u->act[i].kind == DESK_A_REPLY;
		stop |= r;
	}
	jv step = desk_jset_str(jv_object(), "rule", u->name);
	x->route = jv_array_append(x->route, desk_jset(step, "actions", done));
	return stop;
}

int
desk_rule_run(struct desk_route *x, const struct desk_rule *u, const char *skip,
    jv *explain, struct desk_err *e)
{
	jv why = jv_invalid();
	int hit = !skip && desk_rule_matches(x, u, x->mode == DESK_ROUTE_EXPLAIN ?
	    &why : NULL);

	if (x->mode == DESK_ROUTE_EXPLAIN) {
		jv w = desk_jset_str(jv_object(), "rule", u->name);
		*explain = jv_array_append(*explain, skip ? desk_jset_str(w, "skipped",
		    skip) : jv_object_merge(w, why));
	}
	/* Otherwise why is still jv_invalid(), no message: nothing to free. */
	if (!hit)
		return 0;
	int s = desk_rule_apply(x, u, e);
	return s < 0 ? -1 : s ? 2 : 1;
}

/* What the event brought: desk-rules(5)'s "changed" before any rule runs. */
static void
brought(struct desk_route *x)
{
	static const char *const attrs[] = { "name", "company", "email", "phone" };
	char key[DESK_MAX_NAME + 16];
	jv f = desk_jget(x->ev, "fields");
	const char *id = desk_jstr(x->ev, "identification");

	/* A valid code copied the account's data to the user. */
	if (id && !strcmp(id, "valid"))
		f = desk_jget(desk_route_user(x), "fields");
	if (jv_get_kind(f) == JV_KIND_OBJECT)
		jv_object_foreach(f, k, v) {
			snprintf(key, sizeof key, "user.fields.%s", jv_string_value(k));
			desk_route_changed(x, key);
			jv_free(k);
			jv_free(v);
		}
	for (int i = 0; i < 4; i++)
		if (desk_jhas(x->ev, attrs[i]) || (id && !strcmp(id, "valid") && i < 2)) {
			snprintf(key, sizeof key, "user.%s", attrs[i]);
			desk_route_changed(x, key);
		}
	const char *was = desk_jstr(x->ev, "case_status"),
	    *now = desk_status_name(x->cs.status);
	if (was && now && strcmp(was, now))
		desk_route_changed(x, "status");
}

void
desk_route_init(struct desk_route *x, struct desk_rules *r, struct desk_store *st,
    int mode)
{
	memset(x, 0, sizeof *x);
	x->r = r;
	x->st = st;
	x->mode = mode;
	x->now = desk_now();
	x->ev = jv_object();
	x->changed = jv_object();
	x->epoch = 1;
	x->val = desk_xcalloc(r->nvals + 1, sizeof *x->val);
	x->route = jv_array();
	x->replies = jv_array();
}

int
desk_route_load(struct desk_route *x, uint64_t cid, uint64_t uid)
{
	/* Only the slots: the records are read when first needed. */
	x->cid = cid;
	case_drop(x);
	desk_route_forget(x);
	if (!desk_case_slot(x->st, cid, &x->cs))
		return 0;
	x->uid = uid ? uid : x->cs.user_id;
	user_reread(x);
	return 1;
}

void
desk_route_done(struct desk_route *x)
{
	for (size_t i = 0; i < x->r->nvals; i++)
		if (x->val[i].epoch)
			jv_free(x->val[i].v);
	free(x->val);
	jv_free(x->ev);
	case_drop(x);
	if (x->have_user)
		jv_free(x->user);
	jv_free(x->changed);
	jv_free(x->route);
	jv_free(x->replies);
	free(x->conn_name);
	free(x->conn);
}

jv
desk_rules_message(struct desk_rules *r, struct desk_store *st, jv ev, int mode,
    jv *replies, struct desk_err *e)
{
	struct desk_route x;
	int64_t cid, mid, uid = 0;
	const char *trig = desk_jstr(ev, "trigger");
	int on = !trig ? 0 : !strcmp(trig, "new") ? DESK_ON_NEW :
	    !strcmp(trig, "updated") ? DESK_ON_UPDATED : 0;
	jv out = jv_object();

	*replies = jv_array();
	if (!desk_jint(ev, "case_id", &cid) || cid < 1 ||
	    !desk_jint(ev, "message_id", &mid) || mid < 1)
		return out;    /* not stored by desk-case: no case to route */
	if (mode == DESK_ROUTE_APPLY) {
		desk_store_lock(st);
		jv seen = desk_route_seen(st, (uint64_t)mid);
		if (jv_is_valid(seen)) {
			jv_free(*replies);
			*replies = jv_copy(desk_jget(seen, "replies"));
			out = desk_jset(out, "route", jv_copy(desk_jget(seen, "route")));
			jv_free(seen);
			return desk_jset(out, "duplicate", jv_true());
		}
	}
	desk_route_init(&x, r, st, mode);
	jv_free(x.ev);
	x.ev = jv_copy(ev);
	x.mid = (uint64_t)mid;
	desk_jint(ev, "user_id", &uid);
	if (!desk_route_load(&x, desk_case_survivor(st, (uint64_t)cid), (uint64_t)uid)) {
		desk_err_set(e, DESK_EX_DATA, "case_id", "no case %lld", (long long)cid);
		desk_route_done(&x);
		jv_free(out);
		return jv_invalid();
	}
	brought(&x);
	jv explain = jv_array();
	int stopped = 0;
	char skip[64];
	snprintf(skip, sizeof skip, "not a rule for %s cases", trig ? trig : "these");
	for (size_t i = 0; i < r->n; i++) {
		const struct desk_rule *u = &r->rule[i];
		int s = desk_rule_run(&x, u, !(u->on & on) ? skip : stopped ?
		    "an earlier rule stopped" : NULL, &explain, e);
		if (s < 0) {
			jv_free(explain);
			desk_route_done(&x);
			jv_free(out);
			return jv_invalid();
		}
		stopped |= s == 2;
	}
	/* A replay gets this answer, replies and all, whatever the store says then. */
	if (mode == DESK_ROUTE_APPLY && jv_array_length(jv_copy(x.route)))
		desk_route_save(st, x.cid, x.mid, jv_copy(x.route), jv_copy(x.replies),
		    x.now);
	out = desk_jset(out, "route", jv_copy(x.route));
	if (mode == DESK_ROUTE_EXPLAIN)
		out = desk_jset(out, "explain", explain);
	else
		jv_free(explain);
	jv_free(*replies);
	*replies = jv_copy(x.replies);
	desk_route_done(&x);
	return out;
}
