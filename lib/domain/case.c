/*
 * case.c: cases, the last-chat rule that picks a user's case, messages, and
 * event idempotency.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/domain.h"

uint64_t
desk_case_survivor(struct desk_store *st, uint64_t id)
{
	struct desk_case_slot c;

	/* Bounded: merges cannot form a cycle, but a damaged store might. */
	for (int hops = 0; hops < 1000; hops++) {
		if (!desk_case_slot(st, id, &c) || !c.merged_into)
			return id;
		id = c.merged_into;
	}
	desk_store_fail(st, DESK_EX_IOERR, "%s: case %llu: merged_into forms a "
	    "cycle (run desk-case fsck)", desk_store_root(st),
	    (unsigned long long)id);
	return id;
}

jv
desk_case_record(struct desk_store *st, uint64_t id)
{
	return desk_record(st, DESK_T_CASE, id, NULL);
}

jv
desk_case_get(struct desk_store *st, uint64_t id)
{
	struct desk_case_slot c;
	struct desk_slot s;
	jv rec = desk_record(st, DESK_T_CASE, id, &s);

	if (!jv_is_valid(rec))
		return rec;
	desk_case_from_slot(&s, &c);
	return desk_case_dress(rec, &c);
}

jv
desk_case_dress(jv rec, const struct desk_case_slot *c)
{
	rec = desk_event_strip(rec);
	rec = desk_jset(rec, "updated_at", desk_jtime(c->updated_at));
	rec = desk_jset_int(rec, "message_count", c->count);
	return desk_jset(rec, "last_message_id",
	    c->head ? jv_number((double)c->head) : jv_null());
}

jv
desk_event_strip(jv rec)
{
	rec = desk_jdel(rec, "event_id");
	rec = desk_jdel(rec, "event_scope");
	return desk_jdel(rec, "event_channel");
}

void
desk_case_save(struct desk_store *st, jv rec, const struct desk_evid *ev,
    int64_t now)
{
	if (ev) {
		rec = desk_jset(rec, "event_id", desk_jstring(ev->id, ev->idlen));
		rec = desk_jset_str(rec, "event_scope", ev->scope);
		rec = ev->channel ? desk_jset_str(rec, "event_channel", ev->channel) :
		    desk_jdel(rec, "event_channel");
	} else
		rec = desk_event_strip(rec);
	rec = desk_jset(rec, "updated_at", desk_jtime(now));
	/* Stored "rec" first, then the fields in rec's order. */
	desk_log_add_as(st, "case", rec);
	jv_free(rec);
}

/* A new case's members, in the record's order; case_new sets its own values. */
static const char case_proto[] = "{\"case_id\":0,\"user_id\":0,"
    "\"channel\":null,\"status\":\"open\",\"subject\":null,"
    "\"assignee\":null,\"team\":null,\"fields\":{},"
    "\"merged_into\":null,\"created_at\":null,\"updated_at\":null}";

/*
 * A new case, its conversation's external ids (borrowed, or invalid) with
 * it: one record, as the one that recording them on the case right after
 * would write (note_external), and no version before it without them.
 * Printed from case_proto, as desk_log_add_as would print the proto's
 * copy with these set, and applied from them.
 */
static uint64_t
case_new(struct desk_store *st, uint64_t user_id, const char *channel,
    const char *subject, jv external, int64_t now)
{
	static const char *const keys[] = { "case_id", "user_id", "channel",
		"subject", "created_at", "updated_at" };
	uint64_t id = desk_store_newid(st, DESK_CASE);
	const char *when = desk_time_text(now);
	struct desk_jvals v = DESK_JVALS_INIT;
	struct desk_buf b = DESK_BUF_INIT;

	desk_jvals_int(&v, id);
	desk_jvals_int(&v, user_id);
	desk_jvals_str(&v, channel, strlen(channel));
	desk_jvals_str(&v, subject, subject ? strlen(subject) : 0);
	desk_jvals_str(&v, when, strlen(when));
	desk_jvals_str(&v, when, strlen(when));
	desk_jproto_print(&b, "case", case_proto, keys, &v);
	/* Within its limit (desk_err_sizes): a merge with nothing gives it. */
	if (jv_get_kind(external) == JV_KIND_OBJECT &&
	    jv_object_length(jv_copy(external))) {
		desk_buf_adds(&b, ",\"external\":");
		desk_json_dump(&b, external);
	}
	desk_buf_addc(&b, '}');
	struct desk_case_fields f = { .case_id = id, .user_id = user_id,
		.channel = channel, .status = DESK_OPEN, .updated_at = now };
	desk_log_add_bytes(st, "case", b.p, b.len, desk_apply_case, &f);
	desk_buf_free(&b);
	return id;
}

uint64_t
desk_case_for(struct desk_store *st, uint64_t user_id, const char *channel,
    const char *subject, jv external, int64_t now, int *created)
{
	struct desk_case_slot c;
	struct desk_key k;
	uint64_t last;

	desk_key_last(st, &k, user_id, channel);
	if (desk_hx_get(st, &k, &last, NULL)) {
		uint64_t id = desk_case_survivor(st, last);
		if (desk_case_slot(st, id, &c) && c.status != DESK_CLOSED) {
			*created = 0;
			return id;
		}
	}
	*created = 1;
	return case_new(st, user_id, channel, subject, external, now);
}

/* Whether x (borrowed, an object) has an id that cur (borrowed) has not, or otherwise. */
static int
external_news(jv cur, jv x)
{
	int news = 0;

	jv_object_foreach(x, k, v) {
		if (!news) {
			jv have = jv_get_kind(cur) == JV_KIND_OBJECT ?
			    jv_object_get(jv_copy(cur), jv_copy(k)) : jv_invalid();
			news = !jv_equal(have, jv_copy(v));
		}
		jv_free(k);
		jv_free(v);
	}
	return news;
}

/*
 * The external ids a case with cur (borrowed) should have once x's
 * (borrowed) are noted, owned; invalid when it has them already.
 */
static jv
external_merged(jv cur, jv x)
{
	if (!external_news(cur, x))
		return jv_invalid();
	cur = jv_get_kind(cur) == JV_KIND_OBJECT ? jv_copy(cur) : jv_object();
	jv merged = jv_object_merge(jv_copy(cur), jv_copy(x));
	/* Ids pile up over a long conversation: past the limit, the latest win. */
	if (desk_json_size(merged) > DESK_MAX_EXTERNAL_SIZE) {
		jv_free(merged);
		merged = jv_copy(x);
	}
	if (jv_equal(jv_copy(merged), cur)) {
		jv_free(merged);
		return jv_invalid();
	}
	return merged;
}

/*
 * The splice of a case's save: the bytes of members keys[0..n) of case
 * cid's record in v[1..n], of its updated_at in v[n + 1], and the record's
 * in *rec: 1 when it has them all and no event's ids (which the save
 * strips) and is as desk prints it; else 0, and it is read whole.
 */
#define CASE_SET_MAX 2
static int
case_spans(struct desk_store *st, uint64_t cid, const char *const *keys,
    size_t n, struct desk_jspan *v, struct desk_buf *raw, struct desk_jspan *rec)
{
	static const char *const more[] = { "updated_at", "event_id",
		"event_scope", "event_channel" };
	const char *k[CASE_SET_MAX + 4];

	memcpy(k, keys, n * sizeof *keys);
	memcpy(k + n, more, sizeof more);
	if (!desk_splices(st) || desk_record_spans_all(st, DESK_T_CASE, cid, k,
	    n + 4, v, raw, rec) != 1)
		return 0;
	for (size_t i = 1; i <= n + 1; i++)
		if (!v[i].p)
			return 0;
	return !v[n + 2].p && !v[n + 3].p && !v[n + 4].p;
}

/*
 * The record rec (spans v, as case_spans found them) saved with members
 * 1..n set to vals (borrowed) and updated_at to now: printed from its old
 * bytes, only those printed anew, as desk_case_save would print its value.
 */
static void
case_put_spliced(struct desk_store *st, struct desk_jspan rec,
    const struct desk_jspan *v, const jv *vals, size_t n, int64_t now)
{
	struct desk_jsplice sp[CASE_SET_MAX + 1];
	struct desk_buf b = DESK_BUF_INIT;
	const char *when = desk_time_text(now);

	for (size_t i = 0; i <= n; i++) {
		sp[i].at = v[i + 1];
		sp[i].by = (struct desk_buf)DESK_BUF_INIT;
		if (i < n)
			desk_json_dump(&sp[i].by, vals[i]);
		else
			desk_json_dump_str(&sp[i].by, when, strlen(when));
	}
	desk_json_splice(&b, rec, sp, n + 1);
	struct desk_jspan all = { b.p, b.len };
	desk_log_add_bytes(st, "case", b.p, b.len, desk_apply_case_bytes, &all);
	for (size_t i = 0; i <= n; i++)
		desk_buf_free(&sp[i].by);
	desk_buf_free(&b);
}

int
desk_case_save_set(struct desk_store *st, uint64_t cid,
    const char *const *keys, const jv *vals, size_t n, int64_t now)
{
	struct desk_jspan v[CASE_SET_MAX + 5], rec;
	struct desk_buf raw = DESK_BUF_INIT;
	int r = 0;

	/* More members than a splice takes: the value path, which takes any. */
	if (n <= CASE_SET_MAX && case_spans(st, cid, keys, n, v, &raw, &rec))
		case_put_spliced(st, rec, v, vals, n, now);
	else {
		jv c = desk_case_record(st, cid);
		if (jv_is_valid(c)) {
			for (size_t i = 0; i < n; i++)
				c = desk_jset(c, keys[i], jv_copy(vals[i]));
			desk_case_save(st, c, NULL, now);
		} else {
			jv_free(c);
			r = -1;
		}
	}
	desk_buf_free(&raw);
	return r;
}

/*
 * Records a conversation's external ids on the case when they are news,
 * as desk_case_save_set would, spliced where it can be.
 */
static void
note_external(struct desk_store *st, uint64_t cid, jv x, int64_t now)
{
	static const char *const keys[] = { "external" };
	struct desk_jspan v[CASE_SET_MAX + 5], rec;
	struct desk_buf raw = DESK_BUF_INIT;

	if (jv_get_kind(x) != JV_KIND_OBJECT || !jv_object_length(jv_copy(x)))
		return;
	if (case_spans(st, cid, keys, 1, v, &raw, &rec)) {
		jv cur = desk_json_span_parse(v[1]);
		jv merged = external_merged(cur, x);
		jv_free(cur);
		if (jv_is_valid(merged))
			case_put_spliced(st, rec, v, &merged, 1, now);
		jv_free(merged);
	} else {
		jv r = desk_case_record(st, cid);
		jv merged = external_merged(desk_jget(r, "external"), x);
		if (jv_is_valid(merged))
			desk_case_save(st, desk_jset(r, "external", merged), NULL, now);
		else
			jv_free(r);
	}
	desk_buf_free(&raw);
}

/* The case a user's message goes to, its external ids noted, and its state in *mc. */
static uint64_t
message_case(struct desk_store *st, uint64_t uid, const char *channel,
    const char *subject, jv external, int64_t now, struct desk_msg_case *mc)
{
	struct desk_case_slot cs = { 0 };
	uint64_t cid = desk_case_for(st, uid, channel, subject, external, now,
	    &mc->created);

	if (!mc->created)
		note_external(st, cid, external, now);
	desk_case_slot(st, cid, &cs);
	mc->status = cs.status;
	return cid;
}

jv
desk_user_message_begin(struct desk_store *st, uint64_t uid,
    const char *channel, const char *subject, jv external, int64_t now,
    struct desk_msg_case *mc)
{
	uint64_t cid = message_case(st, uid, channel, subject, external, now, mc);

	/* Built once, in the record's order, and returned as stored. */
	jv m = desk_message_new(st, cid);
	m = desk_jset_int(m, "user_id", (int64_t)uid);
	m = desk_jset_int(m, "staff_id", 0);
	m = desk_jset_str(m, "channel", channel);
	return desk_jset_int(m, "sent_via_rule", 0);
}

/* Appends ,"key": (key one of ours: nothing to escape) to b. */
static void
put_key(struct desk_buf *b, const char *key)
{
	desk_buf_addc(b, ',');
	desk_json_dump_str(b, key, strlen(key));
	desk_buf_addc(b, ':');
}

static void
put_str(struct desk_buf *b, const char *key, const char *s, size_t n)
{
	put_key(b, key);
	desk_json_dump_str(b, s, n);
}

static void
put_int(struct desk_buf *b, const char *key, uint64_t v)
{
	put_key(b, key);
	desk_json_dump(b, jv_number((double)v));
}

/* The text stored: an identification code in it masked (desk_code_mask_jv). */
static void
put_masked(struct desk_buf *b, const char *key, const char *s, size_t n)
{
	size_t off;

	if (!desk_code_find(s, n, &off)) {
		put_str(b, key, s, n);
		return;
	}
	char *c = desk_xmalloc(n + 1);
	memcpy(c, s, n);
	desk_code_mask(c, n);
	put_str(b, key, c, n);
	free(c);
}

/*
 * The record desk_user_message_begin and _end would build for m, printed
 * as desk_json_dump would print it, members in the same order, and
 * applied from what is known of it: no value built, dumped and read
 * again by apply.
 */
void
desk_user_message_print(struct desk_store *st, uint64_t uid,
    const struct desk_user_msg *m, int64_t now, struct desk_received *r)
{
	struct desk_msg_case mc;
	struct desk_buf b = DESK_BUF_INIT;
	uint64_t cid = message_case(st, uid, m->channel, m->subject, m->external,
	    now, &mc);
	uint64_t id = desk_store_newid(st, DESK_MESSAGE);
	const char *trigger = mc.created ? "new" : "updated";
	const char *status = desk_status_name(mc.status);

	desk_buf_adds(&b, "{\"rec\":\"message\"");
	put_int(&b, "message_id", id);
	put_int(&b, "case_id", cid);
	put_int(&b, "user_id", uid);
	put_int(&b, "staff_id", 0);
	put_str(&b, "channel", m->channel, strlen(m->channel));
	put_int(&b, "sent_via_rule", 0);
	if (m->conv) {
		put_str(&b, "conversation_id", m->conv, m->convlen);
		if (m->ucid)
			put_str(&b, "user_custom_id", m->ucid, m->ucidlen);
	}
	if (jv_is_valid(m->content))
		put_masked(&b, "content", jv_string_value(m->content),
		    (size_t)jv_string_length_bytes(jv_copy(m->content)));
	else
		put_str(&b, "content", "", 0);
	if (jv_is_valid(m->attachments)) {
		put_key(&b, "attachments");
		desk_json_dump(&b, m->attachments);
	}
	put_int(&b, "b_from_api", 0);
	if (m->id) {
		put_str(&b, "event_id", m->id, m->idlen);
		put_str(&b, "event_scope", "message", 7);
	}
	jv_object_foreach(m->report, k, v) {
		put_key(&b, jv_string_value(k));
		desk_json_dump(&b, v);
		jv_free(k);
		jv_free(v);
	}
	put_str(&b, "trigger", trigger, strlen(trigger));
	put_str(&b, "case_status", status, strlen(status));
	const char *when = desk_time_text(now);
	put_str(&b, "created_at", when, strlen(when));
	desk_buf_addc(&b, '}');
	struct desk_message_fields f = { .message_id = id, .case_id = cid,
		.user_id = (int64_t)uid, .created_at = now, .channel = m->channel,
		.conv = m->conv, .convlen = m->convlen,
		.event_scope = m->id ? "message" : NULL, .event_id = m->id,
		.event_idlen = m->idlen };
	desk_log_add_bytes(st, "message", b.p, b.len, desk_apply_message, &f);
	desk_buf_free(&b);

	/* What desk-case adds to the event, as the record has it. */
	r->v[DESK_ADD_USER_ID] = jv_number((double)uid);
	r->v[DESK_ADD_CASE_ID] = jv_number((double)cid);
	r->v[DESK_ADD_MESSAGE_ID] = jv_number((double)id);
	if (m->conv && m->ucid)
		r->v[DESK_ADD_UCID] = desk_jstring(m->ucid, m->ucidlen);
	r->v[DESK_ADD_TRIGGER] = jv_string(trigger);
	r->v[DESK_ADD_CASE_STATUS] = jv_string(status);
	r->v[DESK_ADD_LINKED_USERS] = jv_copy(desk_jget(m->report, "linked_users"));
	r->v[DESK_ADD_NOT_LINKED] = jv_copy(desk_jget(m->report, "not_linked"));
}

jv
desk_user_message_end(struct desk_store *st, jv m,
    const struct desk_msg_case *mc, int64_t now)
{
	m = desk_jset_str(m, "trigger", mc->created ? "new" : "updated");
	m = desk_jset_str(m, "case_status", desk_status_name(mc->status));
	return desk_message_put(st, m, now);
}

jv
desk_user_message(struct desk_store *st, uint64_t uid, const char *channel,
    const char *subject, jv external, jv msg, int64_t now)
{
	struct desk_msg_case mc;
	jv m = desk_user_message_begin(st, uid, channel, subject, external, now,
	    &mc);

	return desk_user_message_end(st, jv_object_merge(m, msg), &mc, now);
}

jv
desk_message_new(struct desk_store *st, uint64_t case_id)
{
	uint64_t id = desk_store_newid(st, DESK_MESSAGE);
	jv m = jv_object();

	m = desk_jset_str(m, "rec", "message");
	m = desk_jset_int(m, "message_id", (int64_t)id);
	return desk_jset_int(m, "case_id", (int64_t)case_id);
}

jv
desk_message_put(struct desk_store *st, jv m, int64_t now)
{
	m = desk_jset(m, "created_at", desk_jtime(now));
	desk_log_add(st, m);
	return m;
}

uint64_t
desk_message_add(struct desk_store *st, uint64_t case_id, jv msg, int64_t now)
{
	jv m = desk_message_put(st, jv_object_merge(desk_message_new(st, case_id),
	    msg), now);
	int64_t id = 0;

	desk_jint(m, "message_id", &id);
	jv_free(m);
	return (uint64_t)id;
}

jv
desk_message_get(struct desk_store *st, uint64_t id)
{
	return desk_record(st, DESK_T_MESSAGE, id, NULL);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Message ids of case id and of every case merged into it. */
static void
collect(struct desk_store *st, uint64_t id, uint64_t **ids, size_t *n,
    size_t *cap, int depth)
{
	struct desk_case_slot c;
	struct desk_message_slot m;

	if (depth > 1000 || !desk_case_slot(st, id, &c))
		return;
	for (uint64_t mid = c.head, left = c.count; mid && left;
	    mid = m.prev, left--) {
		/*
		 * The flush writes a message's slot before its case's head
		 * (desk_schema's write_order), so a chain that ends before its
		 * count is damage: said, not a case shown with messages missing.
		 */
		if (!desk_message_slot(st, mid, &m)) {
			if (!desk_store_error(st))
				desk_store_fail(st, DESK_EX_IOERR, "%s/index: case %llu: "
				    "message %llu, %llu from its newest, has no slot "
				    "(run desk-case fsck --repair)", desk_store_root(st),
				    (unsigned long long)id, (unsigned long long)mid,
				    (unsigned long long)(c.count - left + 1));
			return;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*ids = desk_xrealloc(*ids, *cap * sizeof **ids);
		}
		(*ids)[(*n)++] = mid;
	}
	jv rec = desk_case_record(st, id);
	jv from = desk_jget(rec, "merged_from");
	if (jv_get_kind(from) == JV_KIND_ARRAY)
		jv_array_foreach(from, i, f) {
			if (jv_get_kind(f) == JV_KIND_NUMBER && jv_number_value(f) >= 1 &&
			    jv_number_value(f) < 9007199254740992.0)
				collect(st, (uint64_t)jv_number_value(f), ids, n, cap,
				    depth + 1);
			jv_free(f);
		}
	jv_free(rec);
}

jv
desk_case_messages(struct desk_store *st, uint64_t id)
{
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	jv out = jv_array();

	collect(st, id, &ids, &n, &cap, 0);
	if (n)    /* qsort must not be given NULL, even for nothing */
		qsort(ids, n, sizeof *ids, cmp_u64);
	for (size_t i = 0; i < n; i++) {
		jv m = desk_message_get(st, ids[i]);
		if (jv_is_valid(m))
			out = jv_array_append(out, m);
	}
	free(ids);
	return out;
}


/* A case's labels: distinct non-empty strings, at most DESK_MAX_LABELS. */
static const char *
check_labels(jv v)
{
	if (jv_get_kind(v) == JV_KIND_NULL)
		return NULL;
	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return "must be an array of strings";
	int n = jv_array_length(jv_copy(v));
	if (n > DESK_MAX_LABELS)
		return "too many labels";
	for (int i = 0; i < n; i++) {
		jv a = jv_array_get(jv_copy(v), i);
		int ok = jv_get_kind(a) == JV_KIND_STRING && *jv_string_value(a) &&
		    jv_string_length_bytes(jv_copy(a)) <= DESK_MAX_NAME;
		for (int j = 0; ok && j < i; j++) {
			jv b = jv_array_get(jv_copy(v), j);
			ok = !jv_equal(jv_copy(a), jv_copy(b));
			jv_free(b);
		}
		jv_free(a);
		if (!ok)
			return "each label a distinct non-empty string";
	}
	return NULL;
}

/* The changes desk_case_set takes: strings, or null to clear; labels. */
static int
check_changes(jv changes, struct desk_err *e)
{
	static const char *const keys[] = { "status", "assignee", "team",
		"subject", "labels" };
	enum desk_status s;
	const char *why = NULL;

	if (jv_get_kind(changes) != JV_KIND_OBJECT)
		return desk_err_set(e, DESK_EX_DATA, NULL, "changes must be an object");
	jv_object_foreach(changes, k, v) {
		size_t i = 0;
		while (i < 5 && strcmp(jv_string_value(k), keys[i]))
			i++;
		int ok = i < 4 && (jv_get_kind(v) == JV_KIND_STRING ||
		    (i && jv_get_kind(v) == JV_KIND_NULL));
		if (i == 4 && !(why = check_labels(v)))
			ok = 1;
		jv_free(k);
		jv_free(v);
		if (!ok)
			return desk_err_set(e, DESK_EX_DATA, i < 5 ? keys[i] : NULL,
			    "%s", why ? why : i < 5 ? "must be a string" :
			    "not a field of a case");
	}
	const char *st = desk_jstr(changes, "status");
	if (st && !desk_status_parse(st, &s))
		return desk_err_set(e, DESK_EX_DATA, "status", "must be open, "
		    "pending or closed");
	return desk_err_sizes(changes, e);
}

static int
case_set_unchecked(struct desk_store *st, uint64_t id, jv changes, jv fields,
    int64_t now, struct desk_err *e)
{
	char why[160];
	const char *over;
	int64_t into;

	if (check_changes(changes, e) < 0)
		return -1;
	if (jv_is_valid(fields) && jv_get_kind(fields) != JV_KIND_OBJECT)
		return desk_err_set(e, DESK_EX_DATA, "fields", "must be an object");
	desk_store_lock(st);
	jv rec = desk_case_record(st, id);
	if (!jv_is_valid(rec))
		return desk_err_set(e, DESK_EX_NO, "case_id", "case %llu: no such "
		    "case", (unsigned long long)id);
	if (desk_jint(rec, "merged_into", &into)) {
		jv_free(rec);
		return desk_err_set(e, DESK_EX_DATA, "case_id", "case %llu was "
		    "merged into case %lld: change that one",
		    (unsigned long long)id, (long long)into);
	}
	/* What the case's platform mirrors (desk_case_command): closed, assigned. */
	const char *was = desk_jstr(rec, "status");
	int was_closed = was && !strcmp(was, "closed");
	jv was_agent = jv_copy(desk_jget(rec, "assignee"));
	rec = jv_object_merge(rec, jv_copy(changes));
	const char *now_status = desk_jstr(rec, "status");
	int closing = !was_closed && now_status && !strcmp(now_status, "closed");
	jv agent = jv_copy(desk_jget(rec, "assignee"));
	int assigning = jv_is_valid(agent) && jv_get_kind(agent) != JV_KIND_NULL &&
	    !(jv_is_valid(was_agent) && jv_equal(jv_copy(was_agent), jv_copy(agent)));
	jv_free(was_agent);
	if (jv_is_valid(fields)) {
		jv cur = jv_copy(desk_jget(rec, "fields"));
		if (jv_get_kind(cur) != JV_KIND_OBJECT) {
			jv_free(cur);
			cur = jv_object();
		}
		jv merged = desk_fields_merge(cur, jv_copy(fields));
		if ((over = desk_check_fields(merged, why, sizeof why))) {
			desk_err_set(e, DESK_EX_DATA, "fields", "%s", over);
			jv_free(merged);
			jv_free(rec);
			jv_free(agent);
			return -1;
		}
		rec = desk_jset(rec, "fields", merged);
	}
	desk_case_save(st, rec, NULL, now);
	if (assigning)
		desk_case_command(st, id, "assign", agent, now);
	if (closing)
		desk_case_command(st, id, "close", jv_null(), now);
	jv_free(agent);
	return 0;
}

/* The verb, with the store's error, when it failed, as its own. */
int
desk_case_set(struct desk_store *st, uint64_t id, jv changes, jv fields,
    int64_t now, struct desk_err *e)
{
	int r = case_set_unchecked(st, id, changes, fields, now, e);

	return desk_store_err(st, e) < 0 ? -1 : r;
}

/* Whether user a lists user b among its linked profiles. */
static int
users_linked(struct desk_store *st, int64_t a, int64_t b)
{
	jv u = desk_user_get(st, (uint64_t)a);
	jv lu = desk_jget(u, "linked_users");
	int linked = 0;

	if (jv_get_kind(lu) == JV_KIND_ARRAY)
		jv_array_foreach(lu, i, x) {
			linked |= jv_get_kind(x) == JV_KIND_NUMBER &&
			    jv_number_value(x) == (double)b;
			jv_free(x);
		}
	jv_free(u);
	return linked;
}

static jv
append_id(jv list, uint64_t id)
{
	if (jv_get_kind(list) != JV_KIND_ARRAY) {
		jv_free(list);
		list = jv_array();
	}
	return jv_array_append(list, jv_number((double)id));
}

/* Whether case from (record f) may be merged into case to (record t). */
static int
merge_check(struct desk_store *st, jv f, jv t, uint64_t from, uint64_t to,
    struct desk_err *e)
{
	int64_t already, fu = 0, tu = 0;

	if (desk_jint(f, "merged_into", &already))
		return desk_err_set(e, DESK_EX_DATA, "case_id", "case %llu is "
		    "already merged into case %lld", (unsigned long long)from,
		    (long long)already);
	if (to == from)
		return desk_err_set(e, DESK_EX_DATA, "case_id", "case %llu cannot "
		    "be merged into itself", (unsigned long long)from);
	desk_jint(f, "user_id", &fu);
	desk_jint(t, "user_id", &tu);
	if (fu != tu && !users_linked(st, fu, tu))
		return desk_err_set(e, DESK_EX_DATA, "case_id", "cases %llu and "
		    "%llu belong to different users (%lld, %lld) that are not "
		    "linked", (unsigned long long)from, (unsigned long long)to,
		    (long long)fu, (long long)tu);
	jv mf = desk_jget(t, "merged_from");
	if (jv_get_kind(mf) == JV_KIND_ARRAY &&
	    jv_array_length(jv_copy(mf)) >= DESK_MAX_MERGES)
		return desk_err_set(e, DESK_EX_DATA, "case_id", "case %llu has %d "
		    "cases merged into it already", (unsigned long long)to,
		    DESK_MAX_MERGES);
	return 0;
}

static uint64_t
case_merge_unchecked(struct desk_store *st, uint64_t from, uint64_t into,
    int64_t now, struct desk_err *e)
{
	desk_store_lock(st);
	jv f = desk_case_record(st, from);
	if (!jv_is_valid(f)) {
		desk_err_set(e, DESK_EX_NO, "case_id", "case %llu: no such case",
		    (unsigned long long)from);
		return 0;
	}
	uint64_t to = desk_case_survivor(st, into);
	jv t = desk_case_record(st, to);
	if (!jv_is_valid(t) || merge_check(st, f, t, from, to, e) < 0) {
		if (!jv_is_valid(t))
			desk_err_set(e, DESK_EX_NO, "case_id", "case %llu: no such "
			    "case", (unsigned long long)into);
		jv_free(f);
		jv_free(t);
		return 0;
	}
	/* The conversation goes on in the survivor: a live chat keeps it open. */
	const char *fs = desk_jstr(f, "status"), *ts = desk_jstr(t, "status");
	if (fs && ts && strcmp(fs, "closed") && !strcmp(ts, "closed"))
		t = desk_jset_str(t, "status", fs);
	desk_case_save(st, desk_jset_int(f, "merged_into", (int64_t)to), NULL, now);
	t = desk_jset(t, "merged_from",
	    append_id(jv_copy(desk_jget(t, "merged_from")), from));
	desk_case_save(st, t, NULL, now);
	return to;
}

/* The verb, with the store's error, when it failed, as its own. */
uint64_t
desk_case_merge(struct desk_store *st, uint64_t from, uint64_t into,
    int64_t now, struct desk_err *e)
{
	uint64_t r = case_merge_unchecked(st, from, into, now, e);

	return desk_store_err(st, e) < 0 ? 0 : r;
}
